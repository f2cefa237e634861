"""The HTML report opens in headless Chromium: a screenshot of it shows the page."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deidentify.checker import check_folder
from deidentify.checker.render import to_html
from deidentify.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "sample_synthetic" / "studies"
WIDTH, HEIGHT = 1280, 2000


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
        pytest.fail("chromium is required (DEIDENTIFY_REQUIRE_TOOLS is set)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def screenshot(page: Path, png: Path, profile_dir: Path, size: tuple[int, int] = (WIDTH, HEIGHT)) -> None:
    """Render ``page`` with headless Chromium into ``png`` (no network, a throwaway profile), ``size`` pixels."""
    subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile_dir}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
            "--hide-scrollbars",
            page.resolve().as_uri(),
        ],
        capture_output=True, timeout=180, check=False,
    )


def test_html_report_renders_with_its_thumbnails(tmp_path: Path) -> None:
    chromium = _chromium()
    assert chromium
    report = check_folder(STUDIES, load_profile("basic"), skip=["validity"], thumbnails=True)
    page = tmp_path / "report.html"
    page.write_text(to_html(report), encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path / "chromium-profile")
    assert png.is_file(), "chromium wrote no screenshot"
    image = Image.open(png).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    assert png.stat().st_size > 20_000
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the page is (almost) one colour"
    # The status badge ("findings", orange) and the blurred grey ultrasound thumbnails are drawn.
    r, g, b = (np.asarray(image, dtype=np.int16)[..., i] for i in range(3))
    orange = int(((r > 150) & (g > 60) & (g < 120) & (b < 40)).sum())
    grey = int(((r > 40) & (r < 200) & (abs(r - g) < 8) & (abs(g - b) < 8)).sum())
    assert orange > 500 and grey > 5_000
