"""Through the front door: one run of the whole CLI over real corpora no one here wrote.

pydicom's test files, pydicom-data, deid-data, Debian's octave-dicom samples (which
`make test` takes out of the Debian package into .corpora) and the hostile files of
``hostile.py`` go into one SRC, and ``deidentify run`` takes them all in one run,
with the built-in default profile (pixel cleaning and OCR on), as a new user's
first try would.  Every input must end as a report row, the run must finish
(exit 0 or 1) without a traceback, and no process of the run may grow past
1 GB.  A per-function test cannot see a run-level crash; this one can.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from hostile import HOSTILE

KEY = bytes(range(32))
# What the hostile files are refused for (tests/test_bounds.py checks each one's exact reason).
_HOSTILE_REASONS = ("truncated", "structure cannot be read", "no pixel data", "pixel data is shorter",
                    "a frame's codestream header", "burnt-in text not cleaned (a frame's codestream header")
STATUSES = {"written", "withheld", "not DICOM", "error"}


def _corpora() -> dict[str, Path]:
    found = {"pydicom": Path(pydicom.__file__).parent / "data" / "test_files"}
    for name, module, inner in (("pydicom-data", "data_store", "data"), ("deid-data", "deid_data", "data")):
        try:
            found[name] = Path(importlib.import_module(module).__file__).parent / inner  # type: ignore[arg-type]
        except ImportError:
            pytest.fail(f"the test dependencies include {name}; reinstall with make test")
    octave = Path(__file__).resolve().parent.parent / ".corpora" / "octave-dicom"
    if octave.is_dir():
        found["octave-dicom"] = octave
    elif os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
        pytest.fail("Debian's octave-dicom samples are missing from .corpora (make test fetches them)")
    return found


# Measures the run from outside: the largest resident size of any process of the run's tree
# (workers and the Tesseract processes they start are reaped inside it, so they count).
_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"status": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "peak": peak}))
"""


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path, int]:
    base = tmp_path_factory.mktemp("corpora")
    src = base / "src"
    for name, folder in _corpora().items():
        shutil.copytree(folder, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.pyc"))
    (src / "hostile").mkdir()
    for make in HOSTILE.values():
        make(src / "hostile")
    assert len(list((src / "hostile").iterdir())) == len(HOSTILE)  # one file per case, none overwritten
    inputs = sum(1 for p in src.rglob("*") if p.is_file())
    key = base / "key"
    key.write_text(KEY.hex() + "\n")
    key.chmod(0o600)
    command = [sys.executable, "-m", "deidentify.cli", "run", str(src), str(base / "dst"), "--key-file", str(key),
               "--workers", "2", "--quiet"]
    measured = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True,
                              timeout=3600)
    (base / "measured.json").write_text(measured.stdout)  # kept with the run, for whoever reads the figures
    return json.loads(measured.stdout), base / "dst.state", inputs


def test_the_run_finishes_without_a_traceback(corpus_run: tuple[dict[str, object], Path, int]) -> None:
    result, _, _ = corpus_run
    assert result["status"] in (0, 1), result["stderr"]
    assert "Traceback" not in str(result["stderr"]) + str(result["stdout"])


def test_every_input_is_a_report_row_with_a_status_and_a_reason(
        corpus_run: tuple[dict[str, object], Path, int]) -> None:
    _, state, inputs = corpus_run
    report = pd.read_csv(state / "report.csv", keep_default_na=False)
    assert len(report) == inputs
    assert set(report.status) <= STATUSES
    assert (report[report.status != "written"].reason != "").all()
    assert report.file_id.is_unique or len(set(report.file_id)) > inputs * 0.9  # identical copies share an id
    assert (report.status == "written").sum() > inputs // 3


def test_hostile_files_are_rows_that_name_their_bound(corpus_run: tuple[dict[str, object], Path, int]) -> None:
    _, state, _ = corpus_run
    report = pd.read_csv(state / "report.csv", keep_default_na=False)
    refused = report[report.reason.str.startswith(_HOSTILE_REASONS) | report.reason.str.contains("over the limit")]
    assert len(refused) >= len(HOSTILE)


def test_no_process_of_the_run_grows_past_1_gb(corpus_run: tuple[dict[str, object], Path, int]) -> None:
    result, _, _ = corpus_run
    assert int(result["peak"]) < 1 << 30  # type: ignore[call-overload]
