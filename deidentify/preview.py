"""Previews of pixel cleaning: what a records officer looks at before trusting a device rule.

One PNG per image: the original frame with every masked region outlined and
labelled (rule name, or "text" and the class OCR recognised), beside the
cleaned result.  The original is shown, so previews hold PHI and stay with the
originals, never in DST.
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pydicom

from .errors import DeidentifyError
from .keys import Keyring
from .outcome import Outcome
from .pipeline import deidentify_bytes
from .pixels import render_preview
from .plan import RuleBook
from .profile import Profile

# Keyed values do not show in a preview; any key gives the same masks.
_PREVIEW_KEY = b"\0" * 32


class PreviewError(DeidentifyError, ValueError):
    """The file cannot be previewed; the message says why without quoting values."""


def preview_file(path: Path, profile: Profile, destination: Path, frame: int | None = None) -> Outcome:
    """Clean ``path``'s pixels as a run would and draw the preview to ``destination``."""
    data = path.read_bytes()
    outcome = deidentify_bytes(data, RuleBook(profile), Keyring(_PREVIEW_KEY))
    if outcome.data is None:
        raise PreviewError(f"nothing to preview: {outcome.status}: {outcome.reason}")
    if outcome.pixels is None or outcome.pixels.reason == "no pixel data":
        raise PreviewError("nothing to preview: no pixel data")
    write_preview(data, outcome, destination, frame)
    return outcome


def write_preview(source: bytes, outcome: Outcome, destination: Path, frame: int | None = None) -> None:
    """Draw ``outcome``'s masks over the ``source`` image beside the cleaned output (atomically)."""
    assert outcome.data is not None
    original = pydicom.dcmread(BytesIO(source), force=True)
    cleaned = pydicom.dcmread(BytesIO(outcome.data))
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    with open(temp, "wb") as handle:
        render_preview(original, outcome.pixels, handle, cleaned=cleaned, frame=frame)
    os.chmod(temp, 0o600)
    os.replace(temp, destination)
