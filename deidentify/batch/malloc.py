"""glibc malloc tuning for the large, short-lived buffers of a run."""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def reuse_large_buffers() -> None:
    """Have glibc's malloc serve buffers up to 4 MiB from its heap instead of fresh mappings.

    Each input and output of a CT-sized file is half a megabyte; by default every one
    is a new mapping whose pages fault in one by one, which cost more than hashing
    the file.  Reused heap memory is already mapped.  Elsewhere (musl, macOS) nothing
    changes.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(_M_MMAP_THRESHOLD, 4 << 20)
    mallopt(_M_TRIM_THRESHOLD, 16 << 20)  # keep that much free heap rather than unmap and fault it in again
