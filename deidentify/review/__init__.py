"""``deidentify review``: the page a records officer reads before a release leaves.

:func:`build` gathers what the page shows from a state folder (its report and
run.json), DST (the outputs, for the "after" thumbnails), optionally the sources
and the run's key (source paths and "before" thumbnails, computed on the fly)
and a check's JSON findings; :func:`write_page` writes it (mode 0600 when it
holds source paths).  :mod:`.advice` says what would fix each file not written.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import DeidentifyError
from ..keys import Keyring
from ..outcome import Status
from ..release.layout import payload_folder
from ..report_html import read_report
from ..state import StateFolder
from .advice import FALLBACK, Advice, advice_for, families
from .page import MAX_THUMBNAILS, SENSITIVE, ReviewInput, render
from .sources import source_paths
from .thumbs import thumbnails

__all__ = ["FALLBACK", "SENSITIVE", "Advice", "ReviewError", "ReviewInput", "advice_for", "build", "families",
           "render", "write_page"]


class ReviewError(DeidentifyError, ValueError):
    """The page cannot be made: the message says why."""


def build(state: Path, *, dst: Path | None = None, src: Path | None = None, key: bytes | None = None,
          findings: Path | None = None, max_thumbnails: int = MAX_THUMBNAILS) -> ReviewInput:
    """Everything the page shows; raises :class:`ReviewError` (or ReportMissing) when it cannot be read.

    ``dst`` defaults to STATE without its ``.state`` suffix (the run's default); ``src``
    needs ``key``, the run's key, which must be the one the state folder recorded.
    """
    report = read_report(state)
    identity = StateFolder(state).identity()
    profile = f"{identity.profile_name} ({identity.profile})" if identity is not None else "(not recorded)"
    stamp = max((p.stat().st_mtime for p in (state / "report.parquet", state / "report.csv") if p.is_file()),
                default=0.0)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else "(unknown)"
    review = ReviewInput(report, profile, when, None, max_thumbnails=max_thumbnails)
    review.dst, review.dst_note = _dst(state, dst)
    if src is not None:
        if key is None:
            raise ReviewError("--src needs the run's key (--key-file)")
        if identity is not None and identity.key and Keyring(key).fingerprint() != identity.key:
            raise ReviewError("the key is not the one this state folder's run used (its fingerprint differs)")
        if not src.exists():
            raise ReviewError(f"SRC {src} does not exist")
        review.sources = source_paths(src, key, state)
        wanted = set(report["file_id"][report["status"] != Status.WRITTEN]) | set(
            report["file_id"][report["masked_regions"] > 0])
        missing = len(wanted - set(review.sources))
        if missing:
            review.sources_note = (f"{missing} of the files shown were not found under SRC: they were moved or "
                                   "removed since the run, or the run named SRC another way.")
    if findings is not None:
        review.findings_summary, review.findings = _findings(findings)
    review.thumbnails = thumbnails
    return review


def write_page(review: ReviewInput, target: Path) -> Path:
    """Write the page to ``target`` (under a temporary name, then renamed); mode 0600 when it holds source paths."""
    text = render(review)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if review.sensitive else 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        if review.sensitive:
            os.chmod(temp, 0o600)  # whatever the umask, and whatever an earlier page's mode
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def _dst(state: Path, dst: Path | None) -> tuple[Path | None, str]:
    if dst is None:
        if not state.name.endswith(".state"):
            return None, ("DST is not known (the state folder is not DST.state): pass --dst DST to draw the "
                          "masked outputs.")
        dst = state.with_name(state.name[: -len(".state")])
    if not dst.is_dir():
        return None, f"DST {dst} is not there: the masked outputs cannot be drawn (pass --dst DST)."
    return payload_folder(dst), ""


def _findings(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        summary, found = document.get("summary", {}), document["findings"]
        if not isinstance(found, list) or not all(isinstance(f, dict) for f in found):
            raise TypeError
    except OSError as exc:
        raise ReviewError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ReviewError(f"{path} is not the JSON of deidentify check --json") from None
    return dict(summary) if isinstance(summary, dict) else {}, found
