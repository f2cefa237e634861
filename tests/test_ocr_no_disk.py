"""OCR never leaves a copy of an image on disk (issue 20, item 1).

Tesseract gets the image on its standard input and gives its words on standard
output; it runs with a private, empty TMPDIR.  The proof is a real run, with
real Tesseract, killed with SIGKILL while Tesseract is reading: nothing under
TMPDIR, and nothing new in /tmp, holds image data.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deidentify.pixels.detectors import DetectorError, TesseractDetector

ROOT = Path(__file__).resolve().parent.parent
# A multi-frame ultrasound of the synthetic sample with a burnt-in banner (patient name, ID, birth date).
CINE = ROOT / "sample_synthetic/studies/KOEHLER_LIESELOTTE_19830307/US_20230727_ACC3636987/002_Liver_cine/IM0001.dcm"
TESSERACT = shutil.which("tesseract")

needs_tesseract = pytest.mark.skipif(TESSERACT is None, reason="Debian's tesseract-ocr is not installed")

# How the image files an OCR engine might be handed start: PNG, TIFF (both byte orders),
# JPEG, JPEG 2000, BMP, GIF, PNM.
_IMAGE_MAGIC = (b"\x89PNG", b"II*\x00", b"MM\x00*", b"\xff\xd8\xff", b"\x00\x00\x00\x0cjP", b"\xffO\xffQ", b"BM",
                b"GIF8", b"P5", b"P6", b"P4")


def _holds_image(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:  # gone again, or another user's
        return False
    return head.startswith(_IMAGE_MAGIC)


def _files_under(folder: Path, skip: str = "") -> set[Path]:
    """Every file under ``folder``, but not in its subfolders whose names start with ``skip``."""
    found: set[Path] = set()
    for top, dirs, files in os.walk(folder, onerror=lambda _: None):
        if skip and Path(top) == folder:
            dirs[:] = [d for d in dirs if not d.startswith(skip)]
        found.update(Path(top, name) for name in files)
    return found


def _reading_tesseract(group: int) -> int | None:
    """The pid of a Tesseract of process group ``group`` that is reading an image (not the version probe)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        probe = b"--version" in command or b"--list-langs" in command
        if int(fields[2]) == group and Path(os.fsdecode(command[0])).name == "tesseract" and not probe:
            return int(entry.name)
    return None


@needs_tesseract
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the Tesseract child")
def test_a_run_killed_while_tesseract_reads_leaves_no_image_on_disk(tmp_path: Path) -> None:
    src, private_tmp = tmp_path / "src", tmp_path / "tmp"
    src.mkdir()
    private_tmp.mkdir()
    shutil.copy(CINE, src / "cine.dcm")
    # pytest's own folders are left out of /tmp: this test's (which holds the input and the
    # output) and those of any other test session on the machine, which may write images.
    system_tmp = Path("/tmp")
    before = _files_under(system_tmp, skip="pytest-of-")
    run = subprocess.Popen(
        [sys.executable, "-m", "deidentify.cli", "run", str(src), str(tmp_path / "dst"),
         "--key-file", str(tmp_path / "key"), "--workers", "1", "--quiet",
         "--profile", str(ROOT / "tests/profiles/tesseract.yaml")],
        env={**os.environ, "TMPDIR": str(private_tmp)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes Tesseract too
    )
    try:
        deadline = time.monotonic() + 120
        reading = None
        while reading is None and run.poll() is None and time.monotonic() < deadline:
            reading = _reading_tesseract(run.pid)
            time.sleep(0.002)
        assert reading is not None, "the run ended before Tesseract was seen reading the image"
        os.killpg(run.pid, signal.SIGKILL)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    assert run.returncode == -signal.SIGKILL

    left = _files_under(private_tmp)
    assert not left, f"{len(left)} file(s) left under TMPDIR: {sorted(p.name for p in left)}"
    # What a run killed whole leaves: the pool's folder for its workers' temporary files and, in
    # it, Tesseract's own scratch folder if the kill came before its removal; folders only, private.
    for folder in private_tmp.rglob("*"):
        assert folder.is_dir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # pytesseract's tess_* files are left out of /tmp too: a copy made through Python's
    # tempfile honours TMPDIR, so one of this run's would be under the private TMPDIR,
    # checked above; in /tmp they are other processes' on a shared machine.
    new = _files_under(system_tmp, skip="pytest-of-") - before
    assert not [path for path in new if _holds_image(path) and not path.name.startswith("tess_")]


def _wrapper(tmp_path: Path, body: str) -> str:
    """A program in place of tesseract: answers the version probe with the real one, runs ``body`` otherwise."""
    script = tmp_path / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in --version|--list-langs) exec {TESSERACT} "$@";; esac\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return str(script)


def _frame() -> np.ndarray:
    frame = np.full((60, 200), 255, np.uint8)
    frame[20:40, 20:180] = 0
    return frame


@needs_tesseract
def test_tesseract_runs_with_a_private_empty_tmpdir_that_is_removed(tmp_path: Path) -> None:
    log = tmp_path / "seen.txt"
    command = _wrapper(
        tmp_path,
        f'{{ echo "$TMPDIR"; stat -c %a "$TMPDIR"; ls -A "$TMPDIR" | wc -l; }} >> {log}\n'
        f'exec {TESSERACT} "$@"',
    )
    TesseractDetector(tesseract_cmd=command).find(_frame())
    lines = log.read_text().split()
    assert len(lines) % 3 == 0 and lines  # one record per reading
    for folder, mode, entries in zip(lines[0::3], lines[1::3], lines[2::3], strict=True):
        assert mode == "700" and entries == "0"
        assert not Path(folder).exists()  # removed once Tesseract ended
    assert len(set(lines[0::3])) == len(lines) // 3  # a new one each time


@needs_tesseract
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_tesseract_reading_from_stdin_opens_no_file_for_writing(tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    command = _wrapper(
        tmp_path,
        f'exec strace -f -qq -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,memfd_create '
        f'-o {trace} {TESSERACT} "$@"',
    )
    try:
        TesseractDetector(tesseract_cmd=command).find(_frame())
    except DetectorError:
        pytest.skip("strace cannot trace here (ptrace not permitted)")
    calls = [line for line in trace.read_text().splitlines() if "(" in line]
    assert any("traineddata" in line for line in calls)  # the trace saw Tesseract at work
    writes = [line for line in calls
              if not line.split("(", 1)[0].split()[-1].startswith("open") or "O_RDONLY" not in line]
    assert not writes


@needs_tesseract
def test_a_tesseract_that_writes_no_tsv_is_an_error(tmp_path: Path) -> None:
    command = _wrapper(tmp_path, "cat > /dev/null; echo 'not a table'")
    with pytest.raises(DetectorError, match="OCR failed: tesseract did not write the expected TSV"):
        TesseractDetector(tesseract_cmd=command).find(_frame())


@needs_tesseract
def test_a_failing_tesseract_is_an_error_with_its_status(tmp_path: Path) -> None:
    command = _wrapper(tmp_path, "cat > /dev/null; echo 'some complaint' >&2; exit 7")
    with pytest.raises(DetectorError, match="OCR failed: tesseract exited with status 7"):
        TesseractDetector(tesseract_cmd=command).find(_frame())


@needs_tesseract
def test_a_tesseract_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    command = _wrapper(tmp_path, "exec sleep 60")
    with pytest.raises(DetectorError, match="OCR failed: tesseract took longer than 1 s"):
        TesseractDetector(tesseract_cmd=command, timeout=1).find(_frame())
