"""The Python API, held to the command line: the docs' example runs, and the bytes are the same."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

import deidentify
from deidentify.cli import main

ROOT = Path(__file__).resolve().parent.parent
SERIES = "KOEHLER_LIESELOTTE_19830307/CT_20230514_ACC2257221/001_THORAX_5mm"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.dcm"))}


def test_the_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    (tmp_path / "sample_synthetic").symlink_to(ROOT / "sample_synthetic")
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "docs/api.md", "exec"), {})  # noqa: S102 (our own documentation)
    assert any((tmp_path / "shareable").rglob("*.dcm"))


def test_run_writes_what_the_command_line_writes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "sample_synthetic" / "studies" / SERIES, src)
    key = tmp_path / "project.key"
    result = deidentify.run(src, tmp_path / "api", profile="research", key=key)
    assert result.exit_code == 0 and set(result.report["status"]) == {"written"}
    assert main(["run", str(src), str(tmp_path / "cli"), "--profile", "research", "--key-file", str(key),
                 "--quiet"]) == 0
    assert _tree(tmp_path / "api") == _tree(tmp_path / "cli")


def test_a_dataset_is_deidentified_as_its_file_would_be(tmp_path: Path) -> None:
    path = Path(get_testdata_file("CT_small.dcm"))
    ds = pydicom.dcmread(path)
    before = ds.to_json()
    key = os.urandom(32)
    clean = deidentify.deidentify_dataset(ds, profile="basic", key=key)
    assert ds.to_json() == before  # the caller's dataset is not changed
    assert clean.PatientIdentityRemoved == "YES" and str(clean.PatientName) != str(ds.PatientName)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(path, src / "ct.dcm")
    assert deidentify.run(src, tmp_path / "out", key=key, workers=1).exit_code == 0
    written = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert clean == written  # the same elements and values as the run's output


def test_what_cannot_be_shared_raises_with_the_reason_only() -> None:
    with pytest.raises(deidentify.NotWritten) as caught:
        deidentify.deidentify_dataset(pydicom.Dataset(), key=os.urandom(32))
    assert caught.value.status in ("not DICOM", "error", "withheld")
    with pytest.raises(deidentify.DeidentifyError, match="a key is needed"):
        deidentify.deidentify_dataset(pydicom.dcmread(get_testdata_file("CT_small.dcm")))


def test_python_dash_m_is_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "deidentify", "--version"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"deidentify {deidentify.__version__}"


def test_linkage_states_each_patients_date_shift(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "sample_synthetic" / "studies" / SERIES, src)
    result = deidentify.run(src, tmp_path / "out", profile="research", key=os.urandom(32), linkage=True)
    assert result.exit_code == 0
    offsets = result.state / "date_offsets.csv"
    assert offsets.stat().st_mode & 0o777 == 0o600
    with open(offsets, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and set(rows[0]) == {"patient", "offset_days"}
    original = pydicom.dcmread(next(src.rglob("*.dcm")), stop_before_pixels=True)
    written = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")), stop_before_pixels=True)
    assert rows[0]["patient"] == written.PatientID != original.PatientID

    def day(text: str) -> date:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    assert (day(written.StudyDate) - day(original.StudyDate)).days == int(rows[0]["offset_days"])
