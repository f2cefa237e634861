"""The README's demo on a machine without Tesseract: the default profile's text detector
ships with the package, so every sample file is written and none withheld."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "sample_synthetic" / "studies"


def test_the_demo_writes_every_sample_file_without_tesseract(tmp_path: Path) -> None:
    # An empty PATH: no tesseract program to find.
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    done = subprocess.run(
        [sys.executable, "-m", "deidentify.cli", "run", str(STUDIES), str(tmp_path / "out"),
         "--key-file", str(tmp_path / "demo.key"), "--workers", "2", "--quiet"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = pd.read_csv(tmp_path / "out.state" / "report.csv")
    inputs = sorted(p for p in STUDIES.rglob("*") if p.is_file())
    assert len(inputs) == 48 and len(report) == 48
    assert set(report["status"]) == {"written"}, report["status"].value_counts().to_dict()
    assert len([p for p in (tmp_path / "out").rglob("*.dcm")]) == 48
    # The images the text detector read say so in the report, by class, never by value.
    masked_by = report["masked_by"].fillna("").astype(str)
    # Every ultrasound and secondary capture of the sample has a banner burnt in (test_sample).
    banners = report[report["modality"].isin(["US", "OT"])]
    assert len(banners) >= 8 and (banners["masked_regions"] > 0).all()
    assert masked_by.str.contains("text:name").any() and masked_by.str.contains("text:date").any()
