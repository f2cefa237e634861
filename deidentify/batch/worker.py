"""The per-file work, in a worker process or in the runner's: read, de-identify, stage the output.

Whatever happens to an input becomes its outcome, never an exception, so one
file cannot end a run.  :func:`init_worker`, :func:`work` and :func:`failed` are
the :class:`~deidentify.batch.pool.WorkerSetup` of a run.
"""

from __future__ import annotations

import math
import os
import pickle
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..detect.names_data import name_lists
from ..errors import DeidentifyError
from ..keys import Keyring
from ..limits import Limits, over, size_text
from ..outcome import Outcome, Status
from ..pipeline import deidentify_bytes
from ..pixels.base import Box, FrameReader
from ..pixels.clean import PixelStatus
from ..pixels.stage import read_frames, tools_for
from ..plan import RuleBook
from ..profile import Profile
from ..sinks import FolderSink, Staged
from ..source import digest_of, parse_source, silence_pydicom
from ..state import StateFolder
from .malloc import reuse_large_buffers
from .sharing import MAX_PARTS, Board
from .verify import withhold_unverified

# What init_worker sets up once per process, for every work() call after it.
_worker: dict[str, Any] = {}
# An image with fewer frames is read by its worker alone; a part is at least this many frames
# (a 640 x 480 frame takes the detector 0.05-0.09 s, and a helper first reads and parses the file).
_SHARED_FRAMES = 8
_PART_FRAMES = 4


@dataclass
class Done:
    """What a worker sends back for one input."""

    path_id: str
    size: int
    mtime_ns: int
    outcome: Outcome
    seconds: float
    quarantined: str = ""
    staged: Staged | None = None
    path: Path | None = None
    """Set when the input's copy is still to be quarantined (its worker could not)."""
    fatal: str = ""
    """Set when the output or state storage failed: the run must stop, not go on file by file."""


def init_worker(profile: Profile, key: bytes, state: Path, dst: Path, linkage: bool, verify: bool = False,
                preview_dir: Path | None = None, limits: Limits = Limits(), accept: Any = None) -> None:
    """Set up a worker process for :func:`work`; ``accept``: the site's accept-list for ``verify``."""
    silence_pydicom()
    reuse_large_buffers()
    tools_for(profile)  # compiled before forking, so every worker starts with the pixel rules
    if profile.pixels.ocr.enabled:
        # Every text line read is checked for names: built here, once, the lists are shared by
        # the forked workers instead of costing each one half a second on its first image.
        name_lists()
    _worker.update(rules=RuleBook(profile), keyring=Keyring(key), state=StateFolder(state), sink=FolderSink(dst),
                   linkage=linkage, verify=verify, preview_dir=preview_dir, limits=limits, accept=accept,
                   # In staging names beside the pid: processes on two hosts of a cluster may share a pid,
                   # and a retried input must never write into the temporary file of an earlier attempt.
                   tag=secrets.token_hex(4))


def attach_board(board: Board, slot: int) -> None:
    """Have this worker's images read in parts by the pool's workers (its slot on ``board``)."""
    _worker["rules"].pixel_tools.sharing = _BoardSharing(board, slot)


def help_read(spec: bytes, part: int) -> list[tuple[Box, ...]]:
    """Part ``part`` of another worker's image, described by ``spec``: read from its path, as that
    worker read it (the bytes must be those it read).  Read anew for each part (20 ms for a
    6 MB cine): a helper holds no file between parts."""
    path, digest, frames, size = pickle.loads(spec)
    data, _, _ = read_input(Path(path), _worker["limits"].max_file_bytes)
    if digest_of(data) != digest:
        raise DeidentifyError("the file changed since its worker read it")
    source = parse_source(data, _worker["limits"]).dataset
    return read_frames(source, _worker["rules"].pixel_tools, _part(part, size, frames))


class _BoardSharing:
    """The frames of a long image cut into parts that the pool's other workers take too.

    The helpers read the image from its path (:func:`help_read`), so the
    frames and the text read in them never leave a worker's memory.
    """

    def __init__(self, board: Board, slot: int) -> None:
        self.board = board
        self.slot = slot
        self.task: tuple[Path, bytes] | None = None
        """The input whose image is being cleaned and its bytes, set for as long as the pipeline cleans it."""

    def read(self, frames: int, reader: FrameReader) -> list[tuple[Box, ...]]:
        if self.task is None or frames < _SHARED_FRAMES:
            return reader(range(frames))
        path, data = self.task
        size = max(_PART_FRAMES, math.ceil(frames / MAX_PARTS))
        spec = pickle.dumps((str(path), digest_of(data), frames, size))
        parts = self.board.share(self.slot, spec, math.ceil(frames / size),
                                 lambda part: reader(_part(part, size, frames)))
        return [boxes for part in parts for boxes in part]


def _part(part: int, size: int, frames: int) -> range:
    """The frames of part ``part`` of an image of ``frames`` frames cut in parts of ``size``."""
    return range(part * size, min(frames, (part + 1) * size))


def path_id_of(path: Path, keyring: Keyring) -> str:
    """Keyed id of an input's path: stable across runs, says nothing about the name."""
    return keyring.file_id(digest_of(os.fsencode(path)))


def work(task: tuple[Path, str]) -> Done:
    """One input, start to end; whatever happens becomes the input's outcome, never an exception."""
    path, path_id = task
    began = time.perf_counter()
    data = b""
    try:
        data, size, mtime_ns = read_input(path, _worker["limits"].max_file_bytes)
        outcome = _deidentify(path, data)
    except UnreadableInput as exc:
        return Done(path_id, *_version(path), Outcome(path_id, Status.ERROR, exc.reason), 0.0)
    except OSError as exc:
        reason = f"cannot read the file ({type(exc).__name__}{': ' + os.strerror(exc.errno) if exc.errno else ''})"
        return Done(path_id, *_version(path), Outcome(path_id, Status.ERROR, reason), 0.0)
    except MemoryError:
        data = b""  # let go of what can be, then say why; the copy is made from the path
        reason = "over the limit: needs more memory than a worker may use"
        return Done(path_id, *_version(path), Outcome(path_id, Status.ERROR, reason), 0.0, path=path)
    except Exception as exc:  # fail closed; the message may quote values, so name only the type
        outcome = Outcome(_keyring().file_id(digest_of(data)), Status.ERROR,
                          f"cannot be de-identified ({type(exc).__name__})")
    done = Done(path_id, size, mtime_ns, outcome, 0.0)
    try:
        if outcome.status == Status.WRITTEN:
            assert outcome.name is not None and outcome.data is not None
            # The output goes to its folder here; only its name travels back to be committed in order.
            done.staged = _worker["sink"].stage(outcome.name, outcome.data, f"{path_id}.{_worker['tag']}")
            outcome.data = None
        elif outcome.status != Status.FILTERED:  # left out on purpose: nothing to hold for review
            done.quarantined = _worker["state"].hold(outcome.file_id, outcome.status, outcome.reason, data)
    except OSError as exc:
        done.fatal = storage_reason(exc)
    done.seconds = time.perf_counter() - began
    return done


def failed(task: tuple[Path, str], reason: str) -> Done:
    """The outcome of an input whose worker died (or was stopped) while it held it."""
    path, path_id = task
    return Done(path_id, *_version(path), Outcome(path_id, Status.ERROR, reason), 0.0, path=path)


def task_bytes(task: tuple[Path, str]) -> int:
    """An input's size, for cutting the work list into tasks by bytes (0 when it cannot be looked at)."""
    try:
        return task[0].stat().st_size
    except OSError:
        return 0


def _version(path: Path) -> tuple[int, int]:
    """Size and mtime of an input that failed, so that a re-run redoes it only when asked
    (--retry-withheld) or when it changed; (-1, -1), always redone, when it cannot be looked at."""
    try:
        info = path.stat()
    except OSError:
        return -1, -1
    return info.st_size, info.st_mtime_ns


def storage_reason(exc: OSError) -> str:
    """The reason a run stops when its output or state storage fails."""
    return f"writing the output or state failed ({os.strerror(exc.errno) if exc.errno else type(exc).__name__})"


def _deidentify(path: Path, data: bytes) -> Outcome:
    sharing = _worker["rules"].pixel_tools.sharing
    # Other workers may read frames of this file's image, and of nothing else: the image
    # the pipeline cleans is the one these bytes hold.
    if isinstance(sharing, _BoardSharing):
        sharing.task = (path, data)
    try:
        outcome = deidentify_bytes(data, _worker["rules"], _worker["keyring"], _worker["linkage"], _worker["limits"])
    finally:
        if isinstance(sharing, _BoardSharing):
            sharing.task = None
    if _worker["verify"] and outcome.status == Status.WRITTEN:
        withhold_unverified(outcome, data, _worker["rules"], _worker["accept"])
    if _worker["preview_dir"] is not None and outcome.status == Status.WRITTEN:
        _preview(outcome, data, _worker["preview_dir"])
    return outcome


def _keyring() -> Keyring:
    keyring: Keyring = _worker["keyring"]
    return keyring


class UnreadableInput(DeidentifyError):
    """An input that is not read at all: not a regular file, or over the size limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_input(path: Path, max_bytes: int) -> tuple[bytes, int, int]:
    """The file's bytes, size and mtime, from one open (the stat is of the file that was read).

    Opened without blocking and checked to be a regular file before a byte is read: a
    FIFO put in a file's place must not hang a worker, and a file larger than
    ``max_bytes`` is refused before any memory is taken for it.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableInput("not a regular file (a FIFO, socket or device is never read)")
        if info.st_size > max_bytes:
            raise UnreadableInput(over(f"a file larger than {size_text(max_bytes)}"))
        chunks = []
        while chunk := os.read(fd, max(info.st_size + 1, 1 << 16)):
            chunks.append(chunk)
            if sum(map(len, chunks)) > max_bytes:  # it grew while being read
                raise UnreadableInput(over(f"a file larger than {size_text(max_bytes)}"))
    finally:
        os.close(fd)
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), info.st_size, info.st_mtime_ns


def _preview(outcome: Outcome, data: bytes, folder: Path) -> None:
    """One picture per series whose pixels were cleaned, named by the series' new UID."""
    if outcome.pixels is None or outcome.pixels.status is not PixelStatus.CLEANED or outcome.name is None:
        return
    target = folder / f"{outcome.name.patient}_{outcome.name.series}.png"
    if not target.exists():
        from ..preview import write_preview

        write_preview(data, outcome, target)
