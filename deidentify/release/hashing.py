"""SHA-256 of many files at once: streamed reads, several threads.

Each file is read in 1 MiB chunks into one reused buffer per thread, so memory
stays flat whatever the file sizes; hashlib releases the GIL while it hashes, so
threads use every core and overlap reads with hashing.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

CHUNK = 1 << 20
_buffers = threading.local()


def default_workers() -> int:
    """Two threads per core: one can wait on the disk while the other hashes."""
    return 2 * (os.cpu_count() or 1)


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of the file at ``path``, read in chunks; OSError if it cannot be read."""
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
    return digest.hexdigest()


def hash_files(root: Path, paths: Iterable[str], workers: int | None = None) -> Iterator[tuple[str, str | None]]:
    """``(path, hex SHA-256)`` for each of ``paths`` (relative to ``root``), in their order.

    The digest is None for a file that cannot be read.  At most a few files per
    thread are in flight, so a release of a million files needs no million futures.
    """
    count = workers or default_workers()
    window: deque[tuple[str, Future[str | None]]] = deque()
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="sha256") as pool:
        for path in paths:
            window.append((path, pool.submit(_digest_or_none, os.path.join(root, path))))
            if len(window) >= 4 * count:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()


def _digest_or_none(path: str) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None
