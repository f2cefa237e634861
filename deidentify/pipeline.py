"""One file through the stages: source → plan → header → pixels → stamp → writer.

:func:`deidentify_bytes` is the whole per-file path; it does no I/O, so the run,
the folder watcher and tests all share it.  The file is read by the raw
element source when it can be (:mod:`deidentify.header.sources.raw`), else by
the dataset source; from there on the path is the same.  What cannot be
de-identified with certainty comes back as a withheld :class:`Outcome` with a
reason that quotes no value.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID

from .actions import Withheld, is_well_known
from .header import Declined, HeaderError, NewValue, Written, clean_header
from .header.sources.dataset import DatasetFile
from .header.sources.raw import RawFile
from .keys import Keyring
from .limits import Limits
from .outcome import Outcome, Status, output_name
from .pixels.base import PixelError
from .pixels.clean import PixelStatus
from .pixels.codestream import METADATA_DROPPED, MetadataError, codestream_reason, without_metadata
from .pixels.layout import FLOAT_PIXEL_TAGS, PIXEL_DATA
from .pixels.native import canonical, format_of, written_vr
from .pixels.stage import clean_image
from .plan import RuleBook, Tracer, plain_value, plan_for
from .source import SourceError, digest_of, parse_source
from .writer import as_dataset, as_element, encode_file, slice_parts, text_of

_PIXEL_TAGS = (PIXEL_DATA, *FLOAT_PIXEL_TAGS)
_EXTENDED_OFFSETS = 0x7FE00001
_IMAGE_TAGS = (0x00280010, 0x00280011, 0x00280100, 0x00280002, 0x00280008)
_SOP_CLASS, _SOP_INSTANCE = 0x00080016, 0x00080018
_NAME_TAGS = {"StudyInstanceUID": 0x0020000D, "SeriesInstanceUID": 0x0020000E, "SOPInstanceUID": _SOP_INSTANCE}
_IMPLICIT_VR_LE = "1.2.840.10008.1.2"

SourceFile = RawFile | DatasetFile


class Reader(Enum):
    """Which element source reads a file (tests force one to hold the two to the same bytes)."""

    RAW = "raw"
    DATASET = "dataset"


def deidentify_bytes(data: bytes, rules: RuleBook, keyring: Keyring, linkage: bool = False,
                     limits: Limits = Limits(), reader: Reader | None = None, trace: Tracer | None = None) -> Outcome:
    """De-identify one file's bytes, or say why they are withheld.

    With ``linkage``, the outcome also lists original → new UIDs and PatientID,
    for the crosswalk; without it no original identifier leaves this function.
    A file over one of ``limits`` is an error naming the bound.  ``reader``
    forces an element source; :class:`~deidentify.header.Declined` when the raw
    one does not read the file.  ``trace`` is told of every header decision.
    """
    if reader is not Reader.DATASET:
        try:
            return _deidentify(RawFile(data, rules, limits), rules, keyring, linkage, limits, trace)
        except Declined:
            if reader is Reader.RAW:
                raise
    try:
        source = parse_source(data, limits)
    except SourceError as exc:
        return Outcome(keyring.file_id(digest_of(data)), exc.status, exc.reason)
    return _deidentify(DatasetFile(source, rules), rules, keyring, linkage, limits, trace)


def _deidentify(file: SourceFile, rules: RuleBook, keyring: Keyring, linkage: bool, limits: Limits,
                trace: Tracer | None = None) -> Outcome:
    verdict = file.verdict()
    syntax = file.transfer_syntax or _IMPLICIT_VR_LE
    outcome = Outcome(keyring.file_id(digest_of(file.data)), Status.WITHHELD, modality=verdict.modality,
                      sop_class=verdict.sop_class, transfer_syntax=file.transfer_syntax)
    if verdict.filtered is not None:
        outcome.status, outcome.reason = Status.FILTERED, verdict.filtered
        return outcome
    if verdict.reason is not None:
        outcome.reason = verdict.reason
        return outcome
    try:
        plan = plan_for(file.patient_key(), file.originals(rules.from_tags), rules, keyring,
                        lambda: file.dataset.dataset, trace)
        top, outcome.counts = clean_header(file.top, plan)
    except (Declined, HeaderError) as exc:
        if isinstance(exc, Declined):
            raise
        outcome.status, outcome.reason = Status.ERROR, str(exc)
        return outcome
    except Withheld as exc:
        outcome.reason = str(exc)
        return outcome
    except Exception as exc:  # fail closed; pydicom's messages may quote values, so name only the type
        outcome.status, outcome.reason = Status.ERROR, f"cannot be de-identified ({type(exc).__name__})"
        return outcome
    cleaned = False
    try:
        # Bytes after the last frame, bits outside BitsStored and codestream metadata go before
        # anything is written.
        outcome.counts += _settle(top, UID(syntax), file.native_format)
    except PixelError as exc:
        outcome.status, outcome.reason = Status.ERROR, str(exc)
        return outcome
    if verdict.needs_cleaning:
        try:
            view = as_dataset(top)
            placed = {tag: view.get_item(tag) for tag in view.keys()}  # noqa: SIM118 (iterating gives elements)
            px = clean_image(file.dataset.dataset, view, rules.pixel_tools, limits)
        except Declined:
            raise
        except Exception as exc:  # fail closed; the message may quote values, so name only the type
            outcome.reason = f"burnt-in text not cleaned (the pixel stage failed: {type(exc).__name__})"
            return outcome
        if px.status is PixelStatus.WITHHELD:
            outcome.reason = px.reason
            return outcome
        syntax, cleaned = px.transfer_syntax or syntax, px.clean_pixel_data
        outcome.pixels = px
        if px.status is PixelStatus.CLEANED or cleaned:
            # Masked, or assessed clean as it is: either way the stage marked the image
            # (BurnedInAnnotation NO) and replaced its icon, which the output must carry.
            top = _taken_back(top, view, placed)
            # What the stage wrote natively is masked input or decoded frames, which may hold
            # the same extra bytes and bits again (counted above, from the input).
            try:
                _settle(top, UID(syntax), lambda tag, vr, uid: format_of(view, tag, uid, vr))
            except PixelError as exc:
                outcome.status, outcome.reason = Status.ERROR, str(exc)
                return outcome
    if syntax == file.transfer_syntax:
        reason = _frames_reason(top, file, syntax)
        if reason is not None:  # passed on undecoded, the frames must still be the image the header describes
            outcome.status, outcome.reason = Status.ERROR, reason
            return outcome
    top.pieces = _merged(top.pieces, rules.stamp(cleaned))
    outcome.transfer_syntax_out = syntax
    if not text_of(top, _SOP_INSTANCE) or not text_of(top, _SOP_CLASS):
        # The file meta and the output's name are made of them: a profile that removes them
        # writes nothing rather than an instance no receiver can store.
        outcome.status, outcome.reason = Status.ERROR, "cannot be written as DICOM (no SOP Class or Instance UID left)"
        return outcome
    try:
        outcome.data = encode_file(top, syntax)
        outcome.name = output_name({k: text_of(top, tag) for k, tag in _NAME_TAGS.items()}, plan.patient.key,
                                   keyring)
    except Exception as exc:  # a value an action produced that pydicom cannot encode
        outcome.status, outcome.reason = Status.ERROR, f"cannot be written as DICOM ({type(exc).__name__})"
        return outcome
    outcome.status = Status.WRITTEN
    if linkage:
        _link(file, top, keyring, rules, outcome, plan.patient.day_offset)
    return outcome


def _settle(top: Written, syntax: UID, native_format: Any) -> Counter[str]:
    """Make every native pixel element of ``top`` canonical, and take the metadata out of its
    codestreams, in place; what was taken out, counted.

    Raises :class:`PixelError` for pixel data shorter than its frames,
    undescribed, or encapsulated under a native transfer syntax.
    """
    counts: Counter[str] = Counter()
    found = [(i, tag, piece) for i, (tag, piece) in enumerate(top.pieces) if tag in _PIXEL_TAGS]
    if not found:
        return counts
    if not syntax.is_transfer_syntax:
        raise PixelError("pixel data in an unknown transfer syntax cannot be checked")
    if syntax.is_encapsulated:
        for index, tag, piece in found:
            _, data, _ = _pixel_value(tag, piece)
            try:
                stripped = without_metadata(data, syntax)
            except MetadataError as exc:
                raise PixelError(str(exc)) from None
            except ValueError:  # what cannot be followed cannot be shown free of metadata
                raise PixelError("encapsulated pixel data cannot be parsed") from None
            if stripped is not None:
                if any(other == _EXTENDED_OFFSETS for other, _ in top.pieces):
                    raise PixelError("codestream metadata cannot be taken out of frames an extended offset "
                                     "table points at")
                top.pieces[index] = (tag, DataElement(tag, "OB", stripped.value, is_undefined_length=True))
                counts[METADATA_DROPPED] += stripped.dropped
        return counts
    for index, tag, piece in found:
        vr, value, undefined = _pixel_value(tag, piece)
        if undefined:
            raise PixelError("pixel data is encapsulated but the transfer syntax is native")
        fmt = native_format(tag, vr, syntax)
        settled = canonical(value, fmt)
        if settled.changed:
            top.pieces[index] = (tag, NewValue(written_vr(tag, vr, fmt), settled.value))
            counts += settled.counts()
    return counts


def _pixel_value(tag: int, piece: Any) -> tuple[str | None, bytes | memoryview, bool]:
    """A pixel element's VR, value (empty when a rule made it anything but bytes) and whether its
    length is undefined; a slice of the input is looked at, not copied."""
    if isinstance(piece, (bytes, memoryview)):
        vr, length, value = slice_parts(piece)
        return vr, value, length == 0xFFFFFFFF
    element = as_element(tag, piece)
    undefined = element.is_undefined_length if isinstance(element, DataElement) else element.length == 0xFFFFFFFF
    data = element.value
    return element.VR, data if isinstance(data, (bytes, memoryview)) else b"", undefined


def _taken_back(top: Written, view: Dataset, placed: dict[Any, Any]) -> Written:
    """``top`` with what the pixel stage wrote into ``view`` (new, replaced and removed elements).

    An element the stage only read may have been decoded in place; it is written as decoded,
    which gives the bytes it was read from.
    """
    before = dict(top.pieces)
    pieces = []
    for tag in sorted(view.keys()):
        element = view.get_item(tag)
        pieces.append((int(tag), before[tag] if element is placed.get(tag) else element))
    return Written(pieces, top.charset, top.implicit, top.little, top.character_set)


def _merged(pieces: list[tuple[int, Any]], extra: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    merged = dict(pieces)
    merged.update(extra)
    return sorted(merged.items(), key=lambda pair: pair[0])


def _frames_reason(top: Written, file: SourceFile, syntax: str) -> str | None:
    uid = UID(syntax)
    if not (uid.is_transfer_syntax and uid.is_encapsulated):
        return None
    pixels = next((piece for tag, piece in top.pieces if tag == PIXEL_DATA), None)
    if pixels is None:
        return None
    try:
        image = file.decoded(_IMAGE_TAGS)
        rows, columns, bits = int(image.Rows), int(image.Columns), int(image.BitsAllocated)
        samples, frames = int(image.get("SamplesPerPixel", 1) or 1), int(image.get("NumberOfFrames", 1) or 1)
        _, value, _ = _pixel_value(PIXEL_DATA, pixels)
    except Exception:  # an incomplete Image Pixel module is copied as it is, as ever
        return None
    if not value:
        return None
    return codestream_reason(value, syntax, rows, columns, samples, bits, frames, strict=False)


def _link(file: SourceFile, top: Written, keyring: Keyring, rules: RuleBook, outcome: Outcome,
          day_offset: int) -> None:
    ds = file.dataset.dataset
    original_id, new_id = plain_value(ds, "PatientID"), text_of(top, 0x00100020)
    if original_id and new_id and original_id != new_id:
        outcome.patient_pair = (original_id, new_id)
    if outcome.counts.get("shift") and outcome.name is not None:
        # The shift a team must state in its methods, by the patient's pseudonymous id only.
        outcome.date_offset = (new_id or outcome.name.patient, day_offset)
    if "retain-uids" in rules.profile.options:
        return
    uids = {str(v) for elem in ds.iterall() if elem.VR == "UI" for v in _values(elem.value)}
    outcome.uid_pairs = sorted((uid, keyring.uid(uid)) for uid in uids if uid and not is_well_known(uid))


def _values(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]
