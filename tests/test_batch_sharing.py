"""The parts of a long task done by the pool's other workers (deidentify.batch.sharing).

Real worker processes on a real board: a helper that takes a part, one that
raises, one killed by SIGKILL in the middle of a part, one that overruns the
time limit, and an owner killed while a helper holds one of its parts.
Whatever happens to the helpers, the owner gets every part's result, in order,
and no task of the run fails for it; a dead owner costs its own task only.  Then the whole CLI:
a cine read by two workers is written byte for byte as one worker writes it.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pydicom
import pytest

from deidentify.batch.pool import WorkerPool, WorkerSetup
from deidentify.batch.sharing import Board

PARTS = 6
_here: dict[str, Any] = {}


def _init() -> None:
    pass


def _attach(board: Board, slot: int) -> None:
    _here.update(board=board, slot=slot)


def _work(task: tuple[str, Path]) -> list[tuple[int, str, int]]:
    """A long task: its parts, each done here or by a helper, as (part, who, pid)."""
    how, folder = task
    taken = folder / "taken"

    def do(part: int) -> tuple[int, str, int]:
        if part == 0:
            # The owner holds on to its first part until a helper has taken one, so that
            # every test has a helper at work, however the two processes are scheduled.
            deadline = time.monotonic() + 30
            while not taken.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            if how == "owner dies":
                os.kill(os.getpid(), signal.SIGKILL)
        return part, "owner", os.getpid()

    return _here["board"].share(_here["slot"], pickle.dumps((how, str(folder))), PARTS, do)


def _help(spec: bytes, part: int) -> tuple[int, str, int]:
    how, folder = pickle.loads(spec)
    Path(folder, "taken").touch()
    if how == "raise":
        raise ValueError("a helper that cannot do its part")
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "hang":
        time.sleep(600)
    return part, "helper", os.getpid()


def _fail(task: Any, reason: str) -> str:
    return reason


def _run(tmp_path: Path, *hows: str, **options: Any) -> tuple[list[Any], WorkerPool[Any, Any]]:
    pool: WorkerPool[Any, Any] = WorkerPool(2, WorkerSetup(_init, (), _work, _fail, _attach, _help), **options)
    tasks = []
    for number, how in enumerate(hows):
        (tmp_path / str(number)).mkdir()
        tasks.append((how, tmp_path / str(number)))
    try:
        results = list(pool.map(iter(tasks)))
    finally:
        pool.close()
    return results, pool


def test_an_idle_worker_does_parts_of_the_other_workers_task(tmp_path: Path) -> None:
    [result], pool = _run(tmp_path, "help")
    assert [part for part, _, _ in result] == list(range(PARTS))
    owners = {pid for _, who, pid in result if who == "owner"}
    helpers = {pid for _, who, pid in result if who == "helper"}
    assert len(owners) == 1 and len(helpers) == 1 and owners != helpers
    assert pool.deaths == 0


def test_a_part_the_helper_cannot_do_is_done_by_its_owner(tmp_path: Path) -> None:
    [result], pool = _run(tmp_path, "raise")
    assert [part for part, _, _ in result] == list(range(PARTS))
    assert {who for _, who, _ in result} == {"owner"}
    assert pool.deaths == 0


def test_a_helper_killed_mid_part_costs_no_task_and_its_part_is_done_again(tmp_path: Path) -> None:
    [result], pool = _run(tmp_path, "kill")
    assert isinstance(result, list), result  # the task's own result, not a failure
    assert [part for part, _, _ in result] == list(range(PARTS))
    assert {who for _, who, _ in result} == {"owner"}
    assert pool.deaths >= 1


def test_a_part_over_the_time_limit_stops_its_task_and_its_helper_and_the_run_goes_on(tmp_path: Path) -> None:
    # The owner waits for the part as long as the helper takes, so the task overruns as it would
    # have doing the part itself; the helper is stopped too, not left to hang for ever.
    (hung, after), pool = _run(tmp_path, "hang", "help", max_seconds=2)
    assert hung == "over the limit: took longer than 2 s (its worker was stopped)"
    assert [part for part, _, _ in after] == list(range(PARTS))
    assert pool.deaths == 2


def test_an_owner_killed_mid_task_costs_its_task_only_and_the_board_serves_the_next(tmp_path: Path) -> None:
    (killed, after), pool = _run(tmp_path, "owner dies", "help")
    assert killed == "its worker process died (SIGKILL)"
    assert [part for part, _, _ in after] == list(range(PARTS))
    assert {who for _, who, _ in after} == {"owner", "helper"}
    assert pool.deaths == 1


def test_a_task_that_fails_takes_its_posted_parts_off_the_board(tmp_path: Path) -> None:
    board = Board(2)

    def fail(part: int) -> None:
        raise ValueError("the owner's own part fails")

    with pytest.raises(ValueError):
        board.share(0, b"spec", PARTS, fail)
    assert board.help(1, lambda spec, part: part, lambda on: None) == 0  # nothing left to take


# --- through the front door ------------------------------------------------------------------------

CINE = Path(pydicom.__file__).parent / "data" / "test_files" / "examples_ybr_color.dcm"


def test_a_cine_read_by_two_workers_is_written_as_one_worker_writes_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(CINE, src / "cine.dcm")  # 30 frames: read in parts by both workers
    key = tmp_path / "key"
    key.write_text(bytes(range(32)).hex() + "\n")
    key.chmod(0o600)
    outputs = []
    for workers in (1, 2):
        dst = tmp_path / f"dst{workers}"
        result = subprocess.run([sys.executable, "-m", "deidentify.cli", "run", src, dst, "--key-file", key,
                                 "--workers", str(workers), "--quiet"], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        [written] = sorted(dst.rglob("*.dcm"))
        outputs.append((written.relative_to(dst), written.read_bytes()))
    assert outputs[0] == outputs[1]
    assert pydicom.dcmread(tmp_path / "dst2" / outputs[1][0]).BurnedInAnnotation == "NO"


def test_the_workers_folders_of_runs_killed_whole_are_removed_by_the_next_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run killed with kill -9 cannot remove its workers' folder: the next pool removes the
    # folders of processes that are gone, and leaves those of live ones and anything else.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / f"deidentify-workers-{gone.pid}-abc"
    (dead / "deidentify-ocr-x").mkdir(parents=True)
    live = tmp_path / f"deidentify-workers-{os.getppid()}-def"
    live.mkdir()
    others = [tmp_path / "deidentify-workers-notapid", tmp_path / f"deidentify-workers-{10**30}-x"]
    for other in others:
        other.mkdir()
    pool: WorkerPool[Any, Any] = WorkerPool(2, WorkerSetup(_init, (), _work, _fail, _attach, _help))
    try:
        assert pool.scratch is not None and Path(pool.scratch).parent == tmp_path
        assert not dead.exists()
        assert live.is_dir() and all(other.is_dir() for other in others)
    finally:
        pool.close()
    assert not any(path.name.startswith(f"deidentify-workers-{os.getpid()}-") for path in tmp_path.iterdir())
