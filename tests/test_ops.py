"""What ops sees of a run: run.log with one line per input (text or JSON lines, by level), and
`report` on a state folder a watcher is still writing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deidentify.cli import main

ROOT = Path(__file__).resolve().parent.parent
SERIES = ROOT / "sample_synthetic" / "studies" / "KOEHLER_LIESELOTTE_19830307" / "CT_20230514_ACC2257221"


def _run(tmp_path: Path, *extra: str) -> Path:
    src = tmp_path / "src"
    if not src.exists():
        shutil.copytree(SERIES, src)
    dst = tmp_path / f"dst{len(list(tmp_path.glob('dst*.state')))}"
    assert main(["run", str(src), str(dst), "--key-file", str(tmp_path / "key"), "--new-key", "--quiet",
                 *extra]) == 0
    return Path(f"{dst}.state")


def test_run_log_has_a_line_per_input_and_no_path(tmp_path: Path) -> None:
    state = _run(tmp_path)
    lines = (state / "run.log").read_text(encoding="utf-8").splitlines()
    written = [line for line in lines if " written in " in line]
    assert len(written) == sum(1 for p in (tmp_path / "src").rglob("*") if p.is_file())
    text = "\n".join(lines)
    assert "KOEHLER" not in text and str(tmp_path) not in text


def test_run_log_as_json_lines_and_by_level(tmp_path: Path) -> None:
    state = _run(tmp_path, "--log-format", "json")
    rows = [json.loads(line) for line in (state / "run.log").read_text(encoding="utf-8").splitlines()]
    files = [r for r in rows if "file_id" in r]
    assert files and all(r["status"] == "written" and r["seconds"] >= 0 and r["level"] == "info" for r in files)
    assert rows[0]["message"].startswith("run started")
    quiet = _run(tmp_path, "--log-level", "warning")
    assert " written in " not in (quiet / "run.log").read_text(encoding="utf-8")


def test_report_reads_a_state_folder_a_watcher_is_still_writing(tmp_path: Path) -> None:
    inbox, dst = tmp_path / "inbox", tmp_path / "dst"
    inbox.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "deidentify", "watch", str(inbox), str(dst), "--key-file", str(tmp_path / "key"),
         "--new-key", "--settle", "0", "--interval", "0.2", "--poll", "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        files = sorted(p for p in SERIES.rglob("*") if p.is_file())[:3]
        for n, path in enumerate(files):
            shutil.copy(path, inbox / f"{n}.dcm")
        manifest = tmp_path / "dst.state" / "manifest.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if manifest.exists() and len(manifest.read_text().splitlines()) >= len(files):
                break
            time.sleep(0.2)
        done = subprocess.run([sys.executable, "-m", "deidentify", "report", str(tmp_path / "dst.state"),
                               "--html", str(tmp_path / "live.html")], env=env, capture_output=True, text=True,
                              check=False)
        assert watcher.poll() is None  # still watching
        assert done.returncode == 0, done.stderr
        assert "live:" in done.stdout and f"{len(files)} files" in done.stdout
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=60)
    assert watcher.returncode == 0


@pytest.mark.parametrize("flag", ["--log-level", "--log-format"])
def test_bad_log_settings_are_refused(tmp_path: Path, flag: str) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", str(tmp_path), str(tmp_path / "d"), flag, "loud"])
    assert done.value.code == 2
