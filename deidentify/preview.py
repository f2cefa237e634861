"""Previews of pixel cleaning: what a records officer looks at before trusting a device rule.

One PNG per image: the original frame with every masked region outlined and
numbered, a legend saying what each number is (rule name, or "text" and the
class OCR recognised), beside the cleaned result.  The original is shown, so
previews hold PHI and stay with the originals, never in DST.  Nothing is
created but the PNG: not its folder, and no temporary file outlives the write.
"""

from __future__ import annotations

import os
import stat
import tempfile
from io import BytesIO
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from .errors import DeidentifyError
from .keys import Keyring
from .outcome import Outcome
from .pipeline import deidentify_bytes
from .pixels import PixelError, render_preview
from .pixels.clean import NO_PIXEL_DATA
from .pixels.layout import has_pixel_data
from .pixels.preview import check_frame
from .plan import RuleBook
from .profile import Profile
from .source import SourceError, parse_source, quiet_pydicom

# Keyed values do not show in a preview; any key gives the same masks.
_PREVIEW_KEY = b"\0" * 32


class PreviewError(DeidentifyError, ValueError):
    """The file cannot be previewed; the message says why without quoting values."""


def preview_file(path: Path, profile: Profile, destination: Path, frame: int | None = None) -> Outcome:
    """Clean ``path``'s pixels as a run would and draw the preview of ``frame`` (from 0) to ``destination``.

    Raises :class:`PreviewError` for a file that is missing, a folder or not a
    DICOM image, a frame it does not have, a destination whose folder does not
    exist, and a preview that cannot be drawn or written; all but the last
    before the (slow) cleaning starts.
    """
    _check_destination(destination)
    data = _read(path)
    with quiet_pydicom():
        try:
            original = parse_source(data).dataset
        except SourceError as exc:
            raise PreviewError(f"nothing to preview: {exc.reason}") from None
        if not has_pixel_data(original):
            raise PreviewError("nothing to preview: no pixel data")
        if frame is not None:
            try:
                check_frame(original, frame)
            except PixelError as exc:
                raise PreviewError(str(exc)) from None
        outcome = deidentify_bytes(data, RuleBook(profile), Keyring(_PREVIEW_KEY))
        if outcome.data is None:
            raise PreviewError(f"nothing to preview: {outcome.status}: {outcome.reason}")
        if outcome.pixels is None or outcome.pixels.reason == NO_PIXEL_DATA:
            raise PreviewError("nothing to preview: pixel cleaning does not apply to this image")
        try:
            _write(original, outcome, destination, frame)
        except PixelError as exc:
            raise PreviewError(f"cannot draw the preview: {exc}") from None
        except OSError as exc:
            raise PreviewError(f"cannot write the PNG ({exc.strerror or type(exc).__name__})") from None
    return outcome


def write_preview(source: bytes, outcome: Outcome, destination: Path, frame: int | None = None) -> None:
    """Draw ``outcome``'s masks over the ``source`` image beside the cleaned output (atomically).

    ``destination``'s folder must exist.
    """
    _write(pydicom.dcmread(BytesIO(source), force=True), outcome, destination, frame)


def _check_destination(destination: Path) -> None:
    if destination.is_dir():
        raise PreviewError("PNG is a folder: name the file to write")
    if not destination.parent.is_dir():
        raise PreviewError("the PNG's folder does not exist (only the PNG is created, never a folder)")


def _read(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise PreviewError("FILE is a folder: name one DICOM file")
        if not stat.S_ISREG(mode):  # a FIFO or a device would block or never end
            raise PreviewError("FILE is not a regular file")
        return path.read_bytes()
    except FileNotFoundError:
        raise PreviewError("FILE does not exist") from None
    except OSError as exc:
        raise PreviewError(f"FILE cannot be read ({exc.strerror or type(exc).__name__})") from None


def _write(original: Dataset, outcome: Outcome, destination: Path, frame: int | None) -> None:
    """Render in memory, then write beside ``destination`` and rename: a reader never sees half a PNG."""
    if outcome.data is None or outcome.pixels is None:
        raise PreviewError("nothing to preview: the image has no cleaned output")
    picture = BytesIO()
    render_preview(original, outcome.pixels, picture, cleaned=pydicom.dcmread(BytesIO(outcome.data)), frame=frame)
    # mkstemp's file is mode 0600: the preview shows the original image.
    handle, temp = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(picture.getbuffer())
        os.replace(temp, destination)
    except BaseException:
        os.unlink(temp)
        raise
