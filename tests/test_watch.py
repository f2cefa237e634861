"""`deidentify watch`: files de-identified as they arrive, once settled, one watcher per inbox.

Real files (the committed synthetic sample), real threads, subprocesses and signals.
Waits have timeouts; nothing asserts how long something took.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from deidentify.arrival import NO_PIXELS, WAITING
from deidentify.batch import RunResult, run
from deidentify.cli import main as cli_main
from deidentify.cli.watch import add_parser
from deidentify.cli.watch import main as watch_main
from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes
from deidentify.plan import RuleBook
from deidentify.profile import Profile, load_profile
from deidentify.report_html import read_report
from deidentify.source import walk
from deidentify.watch import StopOnSignals, Watcher, watch

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "sample_synthetic" / "studies"
KEY = bytes(range(32))
SETTLE = 0.3
INTERVAL = 0.1
FILES = 48
# Watching is tested without OCR: fast, and the images OCR would read (the capture images, and
# the CTs deid's device list flags) are withheld, so the inbox gives written and withheld files.
NO_OCR = ROOT / "tests" / "profiles" / "no-ocr.yaml"
BURNT_IN = "burnt-in text not cleaned"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in _tree(folder).items()}


def _key_file(folder: Path) -> Path:
    path = folder / "key"
    path.write_text(KEY.hex() + "\n")
    path.chmod(0o600)
    return path


def _args(*argv: object) -> argparse.Namespace:
    """``deidentify watch ARGV``, with the no-OCR test profile unless ARGV names one."""
    parser = argparse.ArgumentParser(prog="deidentify")
    add_parser(parser.add_subparsers(dest="command"))
    profile = [] if "--profile" in map(str, argv) else ["--profile", str(NO_OCR)]
    return parser.parse_args(["watch", *map(str, argv), *profile])


def _profile() -> Profile:
    return load_profile(NO_OCR)


def _manifest(state: Path) -> list[dict]:
    path = state / "manifest.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _without_timings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["seconds"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """``run`` on the sample with the test key: the outputs every watch must match byte for byte."""
    dst = tmp_path_factory.mktemp("reference") / "out"
    result = run(STUDIES, dst, _profile(), KEY)
    assert result.exit_code == 1  # without OCR, the images it would read are withheld
    withheld = result.report[result.report.status == "withheld"]
    assert len(withheld) and withheld.reason.str.startswith(BURNT_IN).all()
    assert set(withheld.modality) >= {"US", "OT"}
    return dst, result.report


def _pixel_start(data: bytes) -> int:
    """Where the Pixel Data element's header begins: a copy stalled there leaves whole elements only."""
    ds = pydicom.dcmread(BytesIO(data), force=True)
    return ds.get_item(0x7FE00010).value_tell - (8 if ds.file_meta.TransferSyntaxUID.is_implicit_VR else 12)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _growing_file() -> Path:
    """The sample's largest MR image (written by a run without OCR): the file copied in slowly, in chunks."""
    images = [p for p in walk(STUDIES)
              if pydicom.dcmread(p, stop_before_pixels=True, force=True).get("Modality") == "MR"]
    return max(images, key=lambda p: p.stat().st_size)


class _Background:
    """A Watcher serving in a thread, stopped with :meth:`Watcher.stop`."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.result = self.watcher.serve()
        except BaseException as exc:  # re-raised in the test
            self.error = exc

    def stop(self) -> RunResult:
        self.watcher.stop()
        self.thread.join(timeout=90)
        assert not self.thread.is_alive(), "the watcher did not stop"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


# --- --once -----------------------------------------------------------------------------------


def test_once_gives_the_same_outputs_as_run_and_a_restart_redoes_nothing(
        tmp_path: Path, reference: tuple[Path, pd.DataFrame], capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(STUDIES, inbox)
    before = _digests(inbox)
    key = _key_file(tmp_path)
    argv = [inbox, tmp_path / "dst", "--key-file", key, "--once", "--settle", SETTLE, "--interval", INTERVAL]
    assert watch_main(_args(*argv)) == 1
    out = capsys.readouterr().out
    assert f"{FILES} files" in out and BURNT_IN in out

    assert _tree(tmp_path / "dst") == _tree(reference[0])
    state = tmp_path / "dst.state"
    report = pd.read_csv(state / "report.csv", keep_default_na=False)
    assert _without_timings(report).equals(_without_timings(pd.read_csv(
        reference[0].with_name("out.state") / "report.csv", keep_default_na=False)))
    assert _digests(inbox) == before, "originals stay in place, unchanged"
    assert len(_manifest(state)) == FILES

    # A restart resumes from the manifest: nothing is redone, the report still lists every input.
    assert watch_main(_args(*argv, "--quiet")) == 1
    assert len(_manifest(state)) == FILES
    assert len(read_report(state)) == FILES
    assert _tree(tmp_path / "dst") == _tree(reference[0])


def test_once_leaves_a_file_still_being_copied_for_the_next_time(tmp_path: Path) -> None:
    source = _growing_file()
    data = source.read_bytes()
    inbox, dst = tmp_path / "inbox", tmp_path / "dst"
    inbox.mkdir()
    target = inbox / "incoming.dcm"
    target.write_bytes(data[:1000])
    settle, pause, chunk = 0.5, 0.03, max((len(data) - 1000) // 80, 1)
    assert (len(data) - 1000) // chunk * pause > 3 * settle  # still growing after the settle time

    def copy_slowly() -> None:
        with open(target, "ab") as handle:
            for start in range(1000, len(data), chunk):
                time.sleep(pause)
                handle.write(data[start:start + chunk])
                handle.flush()

    writer = threading.Thread(target=copy_slowly)
    writer.start()
    try:
        result = Watcher(inbox, dst, _profile(), KEY, settle=settle, interval=INTERVAL).once()
    finally:
        writer.join(timeout=60)
    assert len(result.report) == 0, "a file that was still growing was read"
    assert not dst.exists() or not list(dst.rglob("*.dcm"))
    assert target.read_bytes() == data

    result = Watcher(inbox, dst, _profile(), KEY, settle=SETTLE, interval=INTERVAL).once()
    assert result.report["status"].tolist() == ["written"]
    written = pydicom.dcmread(next(dst.rglob("*.dcm")))
    alone = run(source, tmp_path / "alone", _profile(), KEY)
    assert alone.report["status"].tolist() == ["written"]
    assert written.PixelData == pydicom.dcmread(next((tmp_path / "alone").rglob("*.dcm"))).PixelData


# --- serving: files arriving one at a time ------------------------------------------------------


@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
def test_files_arriving_one_at_a_time_are_each_processed_once_and_only_when_complete(
        tmp_path: Path, reference: tuple[Path, pd.DataFrame], poll: bool) -> None:
    inbox, dst, state = tmp_path / "inbox", tmp_path / "dst", tmp_path / "dst.state"
    inbox.mkdir()
    growing = _growing_file()
    others = [p for p in walk(STUDIES) if p != growing]
    settle = 0.5
    watcher = Watcher(inbox, dst, _profile(), KEY, settle=settle, interval=INTERVAL, poll=poll)
    background = _Background(watcher)

    # One file written in chunks, growing for several settle times before it completes.
    data = growing.read_bytes()
    chunk = max(len(data) // 40, 1)

    def grow() -> None:
        target = inbox / growing.relative_to(STUDIES)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            for start in range(0, len(data), chunk):
                handle.write(data[start:start + chunk])
                handle.flush()
                time.sleep(0.04)

    assert (len(data) // chunk) * 0.04 > 2 * settle
    grower = threading.Thread(target=grow)
    grower.start()
    try:
        for path in others:  # the rest one at a time
            target = inbox / path.relative_to(STUDIES)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            time.sleep(0.02)
    finally:
        grower.join(timeout=60)
    try:
        _wait_for(lambda: len(_manifest(state)) >= FILES, "every file to be processed")
    finally:
        result = background.stop()

    assert watcher.mode == ("polling" if poll else "events")
    lines = _manifest(state)
    assert len(lines) == FILES and len({line["path_id"] for line in lines}) == FILES, "each file exactly once"
    assert len(result.report) == FILES
    assert set(result.report["status"]) == {"written", "withheld"}, "nothing read half-written"
    assert _tree(dst) == _tree(reference[0])
    # The growing file in particular: its output is what a run on the complete file gives.
    alone = run(growing, tmp_path / "alone", _profile(), KEY)
    [output] = alone.report["output"]
    mine = pydicom.dcmread(dst / output)
    assert mine.PixelData == pydicom.dcmread(tmp_path / "alone" / output).PixelData
    assert (dst / output).read_bytes() == (tmp_path / "alone" / output).read_bytes()


# --- one watcher per inbox ----------------------------------------------------------------------


def _start(argv: list[object], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "deidentify.cli", "watch", *map(str, argv)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _holds_state(process: subprocess.Popen[str], state: Path) -> Callable[[], bool]:
    def check() -> bool:
        assert process.poll() is None, process.communicate()
        lock = state / "lock"
        return lock.exists() and lock.read_text().strip() == str(process.pid)
    return check


def test_a_second_watcher_on_the_same_inbox_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    key = _key_file(tmp_path)
    first = _start([inbox, tmp_path / "a", "--key-file", key, "--settle", SETTLE, "--interval", INTERVAL,
                    "--profile", NO_OCR], tmp_path)
    try:
        _wait_for(_holds_state(first, tmp_path / "a.state"), "the first watcher to start")
        # Another state folder and DST, the same inbox (named differently): refused, nothing written.
        same = tmp_path / "link"
        same.symlink_to(inbox)
        status = watch_main(_args(same, tmp_path / "b", "--state", tmp_path / "b-state", "--key-file", key,
                                  "--once", "--settle", 0))
        assert status == 2
        err = capsys.readouterr().err
        assert "another deidentify watch is already watching the inbox" in err
        assert not (tmp_path / "b").exists()
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0
    # The lock went with the process.
    assert watch_main(_args(inbox, tmp_path / "b", "--key-file", key, "--once", "--settle", 0, "--quiet")) == 0


def test_the_state_folder_lock_still_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    watcher = Watcher(one, tmp_path / "dst", _profile(), KEY, settle=0)
    try:
        assert watch_main(_args(two, tmp_path / "dst", "--key-file", _key_file(tmp_path), "--once")) == 2
        assert "state folder" in capsys.readouterr().err
    finally:
        watcher.once()


# --- stopping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_finishes_the_file_in_hand_and_writes_the_report(
        tmp_path: Path, reference: tuple[Path, pd.DataFrame], signum: int) -> None:
    inbox, dst, state = tmp_path / "inbox", tmp_path / "dst", tmp_path / "dst.state"
    shutil.copytree(STUDIES, inbox)
    key = _key_file(tmp_path)
    argv = [inbox, dst, "--key-file", key, "--settle", SETTLE, "--interval", INTERVAL, "--profile", NO_OCR]
    process = _start(argv, tmp_path)
    try:
        _wait_for(lambda: len(_manifest(state)) >= 10 or process.poll() is not None, "files to be processed")
    finally:
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    # Stopped as asked: 0, though files were withheld (a normal outcome for a service).
    assert process.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped as asked; report written" in err and "files" in out
    report = pd.read_csv(state / "report.csv", keep_default_na=False)
    assert len(report) == len(_manifest(state)) >= 10
    assert (report["status"] == "withheld").any()
    # No partial file: DST holds whole DICOM files only, each one a run writes too.
    names = [p for p in dst.rglob("*") if p.is_file()]
    assert names and all(p.suffix == ".dcm" and not p.name.startswith(".") for p in names)
    expected = _tree(reference[0])
    for path in names:
        assert path.read_bytes() == expected[str(path.relative_to(dst))]
        pydicom.dcmread(path)
    assert not list(state.rglob("*.partial"))
    # Started again, it does the rest and ends where an uninterrupted run ends.
    assert watch_main(_args(*argv, "--once", "--quiet")) == 1
    assert _tree(dst) == expected
    assert len(_manifest(state)) == FILES


def test_a_signal_while_the_watcher_starts_stops_it_once_started(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(STUDIES / "YAMADA_TAROU_19730312", inbox)
    with StopOnSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)  # before the watcher exists: neither killed nor lost
        watcher = signals.attach(Watcher(inbox, tmp_path / "dst", _profile(), KEY, settle=SETTLE,
                                         interval=INTERVAL))
        result = watcher.serve()
    assert watcher.stopped_by_signal
    assert len(result.report) == 0 and (tmp_path / "dst.state" / "report.csv").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# --- --processed ---------------------------------------------------------------------------------


def test_processed_moves_originals_and_a_reused_name_is_a_new_input(
        tmp_path: Path, reference: tuple[Path, pd.DataFrame]) -> None:
    inbox, dst, done = tmp_path / "inbox", tmp_path / "dst", tmp_path / "done"
    shutil.copytree(STUDIES, inbox)
    key = _key_file(tmp_path)
    argv = [inbox, dst, "--key-file", key, "--once", "--settle", SETTLE, "--processed", done, "--quiet"]
    assert watch_main(_args(*argv)) == 1
    assert [p for p in inbox.rglob("*") if p.is_file()] == []
    assert _digests(done) == _digests(STUDIES), "every original moved, written and withheld alike"
    assert _tree(dst) == _tree(reference[0])

    # A sender reusing a name: a new input, and the earlier one's output stays.
    first, second = [p for p in walk(STUDIES) if "/MR_" in str(p)][:2]
    reused = inbox / first.relative_to(STUDIES)
    reused.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(second, reused)
    os.utime(reused, ns=(1, 1))
    shutil.rmtree(dst / next(iter(_tree(dst))).split("/")[0])  # outputs of one patient gone ...
    assert watch_main(_args(*argv)) == 1
    moved = done / first.relative_to(STUDIES)
    assert moved.read_bytes() == first.read_bytes()
    assert moved.with_name(f"{moved.stem}.1{moved.suffix}").read_bytes() == second.read_bytes()
    report = read_report(tmp_path / "dst.state")
    assert len(report) == FILES + 1, "the report keeps the history of earlier sessions"

    # ... and a restart on an empty inbox still reports everything finished before.
    assert watch_main(_args(*argv)) == 1
    assert len(read_report(tmp_path / "dst.state")) == FILES + 1


# --- refusals -----------------------------------------------------------------------------------


def test_the_same_path_refusals_as_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    key = _key_file(tmp_path)
    cases = [
        ([inbox, inbox / "out"], "DST must not be inside SRC"),
        ([inbox, tmp_path / "out", "--state", inbox / "state"], "state folder must be outside"),
        ([inbox, tmp_path / "out", "--processed", inbox / "done"], "processed folder must be outside"),
        ([inbox, tmp_path / "out", "--processed", tmp_path / "out" / "done"], "processed folder must be outside"),
        ([tmp_path / "missing", tmp_path / "out"], "inbox does not exist"),
        ([inbox, tmp_path / "out", "--interval", 0], "--interval"),
        ([inbox, tmp_path / "out", "--profile", "no-such-profile"], ""),
    ]
    for argv, message in cases:
        assert watch_main(_args(*argv, "--key-file", key, "--once")) == 2, argv
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and [p.name for p in inbox.iterdir()] == []


def test_hidden_and_empty_files_are_left_alone(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(STUDIES / "YAMADA_TAROU_19730312", inbox)
    source = next(walk(inbox))
    shutil.copyfile(source, inbox / ".rsync-temp.XXXXXX")
    (inbox / ".snapshot").mkdir()
    shutil.copyfile(source, inbox / ".snapshot" / "copy")
    (inbox / "empty").touch()
    count = sum(1 for p in walk(inbox) if not any(part.startswith(".") for part in p.relative_to(inbox).parts))
    result = watch(inbox, tmp_path / "dst", _profile(), KEY, once=True, settle=0)
    assert len(result.report) == count - 1  # not the empty file
    assert (inbox / "empty").exists()


# --- files that stopped changing but are not whole ---------------------------------------------


@pytest.mark.parametrize("where", ["in the pixel data", "before the pixel data"])
def test_a_copy_stalled_longer_than_settle_is_done_when_whole_and_only_then_moved(
        tmp_path: Path, where: str) -> None:
    source = _growing_file()
    data = source.read_bytes()
    # Before the pixel data, the part is a valid data set of whole elements: pydicom reads it as whole.
    cut = (_pixel_start(data) + len(data)) // 2 if where == "in the pixel data" else _pixel_start(data)
    inbox, dst, done, state = tmp_path / "inbox", tmp_path / "dst", tmp_path / "done", tmp_path / "dst.state"
    inbox.mkdir()
    target = inbox / "incoming.dcm"
    argv = [inbox, dst, "--key-file", _key_file(tmp_path), "--settle", SETTLE, "--interval", INTERVAL,
            "--processed", done, "--profile", NO_OCR]
    process = _start(argv, tmp_path)
    try:
        _wait_for(_holds_state(process, state), "the watcher to start")
        target.write_bytes(data[:cut])
        # The manifest has a line once the part has been settled for the settle time: the copy has
        # stalled longer than that.
        _wait_for(lambda: len(_manifest(state)) >= 1, "the stalled copy to be looked at")
        [line] = _manifest(state)
        assert line["row"]["status"] == "error" and line["row"]["reason"].startswith(WAITING)
        if where == "before the pixel data":
            assert line["row"]["reason"] == NO_PIXELS
        assert line["row"]["output"] == "", "nothing quarantined"
        assert target.read_bytes() == data[:cut], "a file not whole is not moved"
        assert _files(done) == [] and _files(dst) == []
        with open(target, "ab") as handle:  # the copy goes on (into a new file, had the part been moved)
            handle.write(data[cut:])
        _wait_for(lambda: (done / "incoming.dcm").exists(), "the whole file to be moved")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "not whole yet" in err
    assert (done / "incoming.dcm").read_bytes() == data and not target.exists()
    # The waiting row was replaced; the output is the one a run on the whole file gives.
    report = pd.read_csv(state / "report.csv", keep_default_na=False)
    assert report["status"].tolist() == ["written"]
    alone = run(source, tmp_path / "alone", _profile(), KEY)
    [output] = alone.report["output"]
    assert _files(dst) == [dst / output]
    assert (dst / output).read_bytes() == (tmp_path / "alone" / output).read_bytes()


def test_only_written_and_withheld_originals_move_and_a_file_never_whole_keeps_its_row(tmp_path: Path) -> None:
    inbox, dst, done = tmp_path / "inbox", tmp_path / "dst", tmp_path / "done"
    inbox.mkdir()
    mr = _growing_file().read_bytes()
    withheld = next(p for p in walk(STUDIES) if "/US_" in str(p)).read_bytes()
    (inbox / "whole.dcm").write_bytes(mr)
    (inbox / "withheld.dcm").write_bytes(withheld)
    (inbox / "cut.dcm").write_bytes(mr[:len(mr) - 100])
    (inbox / "notes.txt").write_text("not an image\n")

    def once() -> pd.DataFrame:
        result = Watcher(inbox, dst, _profile(), KEY, settle=0, processed=done).once()
        assert result.exit_code == 1
        return result.report

    report = once()
    assert sorted(report["status"]) == ["error", "not DICOM", "withheld", "written"]
    assert report[report.status == "error"].reason.str.startswith(WAITING).all()
    assert sorted(p.name for p in _files(done)) == ["whole.dcm", "withheld.dcm"]
    assert sorted(p.name for p in _files(inbox)) == ["cut.dcm", "notes.txt"]
    lines = len(_manifest(tmp_path / "dst.state"))

    # Never completed: at each start it is still there with its row, and is not read again.
    again = once()
    assert _without_timings(again).sort_values("file_id").reset_index(drop=True).equals(
        _without_timings(report).sort_values("file_id").reset_index(drop=True))
    assert len(_manifest(tmp_path / "dst.state")) == lines
    assert sorted(p.name for p in _files(inbox)) == ["cut.dcm", "notes.txt"]

    # Completed at last: redone, its row replaced, and moved.
    with open(inbox / "cut.dcm", "ab") as handle:
        handle.write(mr[len(mr) - 100:])
    final = once()
    assert sorted(final["status"]) == ["not DICOM", "withheld", "written", "written"]
    assert sorted(p.name for p in _files(inbox)) == ["notes.txt"]
    assert (done / "cut.dcm").read_bytes() == mr


def test_a_written_file_overwritten_by_a_stalled_copy_loses_its_output_until_whole(tmp_path: Path) -> None:
    inbox, dst = tmp_path / "inbox", tmp_path / "dst"
    inbox.mkdir()
    first, second = [p.read_bytes() for p in walk(STUDIES) if "/MR_" in str(p)][:2]
    target = inbox / "image.dcm"
    target.write_bytes(first)

    def once() -> pd.DataFrame:
        return Watcher(inbox, dst, _profile(), KEY, settle=0).once().report

    assert once()["status"].tolist() == ["written"]
    [earlier] = _files(dst)
    target.write_bytes(second[:_pixel_start(second)])
    report = once()
    assert report["reason"].tolist() == [NO_PIXELS]
    assert _files(dst) == [], "the output of content no longer in the inbox is removed, as run does"
    target.write_bytes(second)
    report = once()
    assert report["status"].tolist() == ["written"]
    [now] = _files(dst)
    assert now != earlier and pydicom.dcmread(now).PixelData == pydicom.dcmread(BytesIO(
        deidentify_bytes(second, RuleBook(_profile()), Keyring(KEY)).data)).PixelData


def test_a_fifo_in_a_settled_files_place_does_not_block_the_watcher(tmp_path: Path) -> None:
    from deidentify.limits import Limits
    from deidentify.watch import _waiting

    fifo = tmp_path / "incoming.dcm"
    os.mkfifo(fifo)
    found: list[object] = []
    reader = threading.Thread(target=lambda: found.append(_waiting(fifo, lambda data: "id", Limits())), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "the whole-file check opened a FIFO for reading and waits for a writer"
    assert found == [None]  # not judged here: the Runner reports it as not a regular file


def test_watch_takes_runs_bounds_on_one_inputs_work(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    small = Path(pydicom.__file__).parent / "data" / "test_files"
    shutil.copy(small / "CT_small.dcm", inbox / "ct.dcm")  # 39 KB
    shutil.copy(small / "MR_small.dcm", inbox / "mr.dcm")  # 9.8 KB
    key = _key_file(tmp_path)
    assert watch_main(_args(inbox, tmp_path / "dst", "--key-file", key, "--once", "--settle", 0, "--quiet",
                            "--max-file-size", "20K")) == 1
    report = read_report(tmp_path / "dst.state")
    assert len(report) == 2  # the other file is read, and judged as ever
    assert report[report.status == "error"].reason.tolist() == ["over the limit: a file larger than 20480 bytes"]


def test_workers_de_identify_settled_files_side_by_side_with_the_bytes_of_run(tmp_path: Path) -> None:
    series = Path(__file__).resolve().parent.parent / "sample_synthetic" / "studies" / "KOEHLER_LIESELOTTE_19830307"
    inbox = tmp_path / "inbox"
    shutil.copytree(series / "CT_20230514_ACC2257221", inbox)
    key = tmp_path / "key"
    assert cli_main(["run", str(inbox), str(tmp_path / "ran"), "--key-file", str(key), "--new-key", "--quiet"]) == 0
    assert cli_main(["watch", str(inbox), str(tmp_path / "watched"), "--key-file", str(key), "--once",
                     "--settle", "0", "--workers", "2", "--quiet"]) == 0
    tree = {str(p.relative_to(tmp_path / "ran")): p.read_bytes() for p in (tmp_path / "ran").rglob("*.dcm")}
    assert tree and tree == {str(p.relative_to(tmp_path / "watched")): p.read_bytes()
                             for p in (tmp_path / "watched").rglob("*.dcm")}
    with open(tmp_path / "watched.state" / "report.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(tree) and {r["status"] for r in rows} == {"written"}  # one row per input
