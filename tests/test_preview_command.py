"""`deidentify preview` and `run --preview-dir`: pictures of what pixel cleaning masked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from PIL import Image

from deidentify.batch import RunError, run
from deidentify.cli import main
from deidentify.profile import load_profile
from test_pixels_support import preview_panels

STUDIES = Path(__file__).resolve().parent.parent / "sample_synthetic" / "studies"


def _ultrasound_files() -> list[Path]:
    found = []
    for path in sorted(STUDIES.rglob("*")):
        if path.is_file() and pydicom.dcmread(path, stop_before_pixels=True, force=True).get("Modality") == "US":
            found.append(path)
    return found


@pytest.fixture(autouse=True)
def _tesseract() -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")


def test_preview_draws_the_original_with_masks_beside_the_result(tmp_path: Path) -> None:
    source = _ultrasound_files()[0]
    header = pydicom.dcmread(source, stop_before_pixels=True)
    assert main(["preview", str(source), "-o", str(tmp_path / "p.png")]) == 0
    original, cleaned, _ = preview_panels(Image.open(tmp_path / "p.png"), header.Rows, header.Columns)
    red = lambda panel: (panel[..., 0] > 200) & (panel[..., 1] < 80) & (panel[..., 2] < 80)  # noqa: E731
    assert red(original).sum() > 100  # outlines and numbers on the original
    assert red(cleaned).sum() == 0


def test_preview_of_a_file_without_pixels_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sr = next(p for p in sorted(STUDIES.rglob("*")) if p.is_file()
              and pydicom.dcmread(p, stop_before_pixels=True, force=True).get("Modality") == "SR")
    assert main(["preview", str(sr), "-o", str(tmp_path / "p.png")]) == 2
    assert "nothing to preview" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_run_writes_one_preview_per_cleaned_series_outside_dst(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for index, path in enumerate(_ultrasound_files()[:3]):
        shutil.copy(path, src / f"{index}.dcm")
    series = {pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID for p in src.iterdir()}
    result = run(src, tmp_path / "out", load_profile("basic"), bytes(range(32)), preview_dir=tmp_path / "previews")
    assert result.exit_code == 0
    previews = sorted((tmp_path / "previews").glob("*.png"))
    assert len(previews) == len(series)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in previews)
    assert [p.suffix for p in (tmp_path / "out").rglob("*") if p.is_file()] == [".dcm"] * 3
    with pytest.raises(RunError, match="preview"):
        run(src, tmp_path / "out2", load_profile("basic"), bytes(range(32)),
            preview_dir=tmp_path / "out2" / "previews")
