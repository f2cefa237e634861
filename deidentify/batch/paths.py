"""Where a run reads and writes: the default state folder, and the layouts refused before anything is written."""

from __future__ import annotations

from pathlib import Path

from .errors import RunError


def default_state(dst: Path) -> Path:
    """DST with ``.state`` appended, beside DST."""
    return dst.with_name(dst.name + ".state")


def inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or somewhere under it (both resolved by the caller)."""
    return path == folder or folder in path.parents


def check_paths(src: Path, dst: Path, state: Path) -> None:
    """Refuse layouts where a run would read its own output or write into its input."""
    if not src.exists():
        raise RunError("the source does not exist")
    src, dst, state = src.resolve(), dst.resolve(), state.resolve()
    if inside(dst, src) or inside(src, dst):
        raise RunError("DST must not be inside SRC, nor SRC inside DST")
    if inside(state, src) or inside(state, dst) or inside(dst, state):
        raise RunError("the state folder must be outside SRC and DST")
    if dst.exists() and not dst.is_dir():
        raise RunError("DST exists and is not a folder")
