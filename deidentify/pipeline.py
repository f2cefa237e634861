"""One file through the stages: source → plan → header → pixels → stamp.

:func:`deidentify_bytes` is the whole per-file path; it does no I/O, so the run,
the folder watcher and tests all share it.  What cannot be de-identified with
certainty comes back as a withheld :class:`Outcome` with a reason that quotes
no value.
"""

from __future__ import annotations


from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from . import pixels
from .actions import is_well_known
from .header import HeaderError, clean_header
from .keys import Keyring
from .limits import Limits
from .plan import RuleBook, make_plan
from .fastpath import deidentify_fast
from .outcome import Outcome, output_name
from .pixels.base import PixelError
from .pixels.frames import codestream_reason
from .pixels.layout import PIXEL_DATA
from .pixels.native import settle
from .pixels.stage import clean_image, tools_for
from .source import SourceError, digest_of, parse_source
from .stamp import encode, stamp


_NAME_KEYWORDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


def deidentify_bytes(data: bytes, rules: RuleBook, keyring: Keyring, linkage: bool = False,
                     limits: Limits = Limits()) -> Outcome:
    """De-identify one file's bytes, or say why they are withheld.

    The fast path takes the files it can; the full path below takes the rest and
    gives the same bytes.  With ``linkage``, the outcome also lists original →
    new UIDs and PatientID, for the crosswalk; without it no original identifier
    leaves this function.  A file over one of ``limits`` is an error naming the bound.
    """
    if not linkage:
        fast = deidentify_fast(data, rules, keyring, limits)
        if fast is not None:
            return fast
    return deidentify_full(data, rules, keyring, linkage, limits)


def deidentify_full(data: bytes, rules: RuleBook, keyring: Keyring, linkage: bool = False,
                    limits: Limits = Limits()) -> Outcome:
    """The full path: pydicom parses the whole file."""
    try:
        source = parse_source(data, limits)
    except SourceError as exc:
        return Outcome(keyring.file_id(digest_of(data)), exc.status, exc.reason)
    ds = source.dataset
    outcome = Outcome(
        keyring.file_id(source.digest),
        "withheld",
        modality=_plain(ds, "Modality"),
        sop_class=_plain(ds, "SOPClassUID"),
        transfer_syntax=source.transfer_syntax,
    )
    settings = rules.profile.settings
    # With pixel cleaning off, every image that may carry burnt-in text is withheld.
    reason = pixels.document_reason(ds) if settings.clean_pixel_data else pixels.withhold_reason(ds)
    if reason is not None:
        outcome.reason = reason
        return outcome
    try:
        plan = make_plan(ds, rules, keyring)
        out, outcome.counts = clean_header(ds, plan, source.raw_elements)
    except HeaderError as exc:
        outcome.status, outcome.reason = "error", str(exc)
        return outcome
    except Exception as exc:  # fail closed; pydicom's messages may quote values, so name only the type
        outcome.status, outcome.reason = "error", f"cannot be de-identified ({type(exc).__name__})"
        return outcome
    syntax, cleaned = source.transfer_syntax or "1.2.840.10008.1.2", False
    try:
        # Bytes after the last frame and bits outside BitsStored go before anything is written.
        outcome.counts += settle(out, UID(syntax))
    except PixelError as exc:
        outcome.status, outcome.reason = "error", str(exc)
        return outcome
    if settings.clean_pixel_data:
        try:
            px = clean_image(ds, out, tools_for(rules.profile), limits)
        except Exception as exc:  # fail closed; the message may quote values, so name only the type
            outcome.reason = f"burnt-in text not cleaned (the pixel stage failed: {type(exc).__name__})"
            return outcome
        if px.status == "withheld":
            outcome.reason = px.reason
            return outcome
        syntax, cleaned = px.transfer_syntax or syntax, px.clean_pixel_data
        outcome.pixels = px
        if px.status == "cleaned":
            # What the stage wrote natively is masked input or decoded frames, which may hold
            # the same extra bytes and bits again (counted above, from the input).
            try:
                settle(out, UID(syntax))
            except PixelError as exc:
                outcome.status, outcome.reason = "error", str(exc)
                return outcome
    if syntax == source.transfer_syntax:
        reason = _frames_reason(ds, syntax)
        if reason is not None:  # passed on undecoded, the frames must still be the image the header describes
            outcome.status, outcome.reason = "error", reason
            return outcome
    stamp(out, rules.profile, pixels_cleaned=cleaned)
    outcome.transfer_syntax_out = syntax
    try:
        outcome.data = encode(out, syntax)
        outcome.name = output_name({k: _plain(out, k) for k in _NAME_KEYWORDS}, plan.patient.key, keyring)
    except Exception as exc:  # a value an action produced that pydicom cannot encode
        outcome.status, outcome.reason = "error", f"cannot be written as DICOM ({type(exc).__name__})"
        return outcome
    outcome.status = "written"
    if linkage:
        _link(ds, out, keyring, rules, outcome)
    return outcome


def _frames_reason(ds: Dataset, syntax: str) -> str | None:
    uid = UID(syntax)
    if PIXEL_DATA not in ds or not (uid.is_transfer_syntax and uid.is_encapsulated):
        return None
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples, bits = int(ds.get("SamplesPerPixel", 1) or 1), int(ds.BitsAllocated)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        pixel_data = ds.PixelData
    except Exception:  # an incomplete Image Pixel module is copied as it is, as ever
        return None
    return codestream_reason(pixel_data, syntax, rows, columns, samples, bits, frames, strict=False)


def _link(ds: Dataset, out: Dataset, keyring: Keyring, rules: RuleBook, outcome: Outcome) -> None:
    original_id, new_id = _plain(ds, "PatientID"), _plain(out, "PatientID")
    if original_id and new_id and original_id != new_id:
        outcome.patient_pair = (original_id, new_id)
    if "retain-uids" in rules.profile.options:
        return
    uids = {str(v) for elem in ds.iterall() if elem.VR == "UI" for v in _values(elem.value)}
    outcome.uid_pairs = sorted((uid, keyring.uid(uid)) for uid in uids if uid and not is_well_known(uid))


def _values(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]


def _plain(ds: Dataset, keyword: str) -> str:
    try:
        return str(ds.get(keyword, "") or "").strip()
    except Exception:
        return ""


