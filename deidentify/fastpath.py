"""The fast path: source, header and stamp stages over raw bytes, for the common case.

Most files are explicit VR little endian (native or encapsulated) and need only
header actions.  For those, :func:`deidentify_fast` scans the element headers
(:mod:`deidentify.rawscan`), copies kept elements as slices of the input,
decodes and re-encodes with pydicom only the elements an action touches, and
writes the file meta itself.  It makes the same decisions as the full path
(:func:`deidentify.header.decide`, :func:`~deidentify.header.apply_step`) and
its output is byte-identical to it; a test proves that on every test file.

Anything else — another transfer syntax, no preamble, pixels that may need
cleaning, a profile that cleans free text, linkage, or bytes the scanner does
not expect — returns None and the caller takes the full path, which also owns
every per-file error message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from struct import Struct
from typing import Any, Mapping, Sequence

from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_dataset
from pydicom.uid import ExplicitVRLittleEndian

from .actions import ACTIONS, REMOVE
from .completeness import missing_pixels_reason
from .header import CODING_SCHEME_DESIGNATOR, act, decide, dummies_inside, is_public_scheme
from .keys import Keyring
from .limits import LimitError, Limits
from .outcome import Outcome, output_name
from .pixels import document_reason
from .pixels.frames import codestream_reason
from .pixels.gate import GATE_TAGS
from .pixels.base import PixelError
from .pixels.layout import FLOAT_PIXEL_TAGS, PIXEL_DATA
from .pixels.native import FORMAT_TAGS, NativeFormat, canonical, format_of
from .pixels.stage import needs_cleaning, tools_for
from .plan import PATIENT_ID, Plan, RuleBook, element_vr, plan_for
from .profile import normalise_creator
from .rawscan import RawElement, ScanError, items, read_group, scan
from .source import DICOMDIR_CLASS, digest_of
from .stamp import PREAMBLE, element_bytes, file_meta_bytes, stamp

_ENCAPSULATED_PREFIX = "1.2.840.10008.1.2.4."
_NATIVE_SYNTAX = "1.2.840.10008.1.2.1"
_FAST_SYNTAXES = frozenset({_NATIVE_SYNTAX, "1.2.840.10008.1.2.5"})
_PIXEL_TAGS = (PIXEL_DATA, *FLOAT_PIXEL_TAGS)
_ENCAPSULATED_DOCUMENT = 0x00420011
_CHARSET = 0x00080005
_PATIENT_NAME = 0x00100010
_NAME_TAGS = (0x0020000D, 0x0020000E, 0x00080018, 0x00080016)
_ITEM = Struct("<HHI")
VALUE_FREE = frozenset({ACTIONS["remove"], ACTIONS["empty"], ACTIONS["dummy"]})
_U32 = Struct("<I")
# ContentSequence's tag as little endian writes it; found anywhere (whatever the VR after it) means
# "maybe SR content": a false match in other bytes only costs the full path.
_CONTENT_SEQUENCE_TAG = b"\x40\x00\x30\xa7"
_LONG_HEADER = Struct("<HH2s2xI")
_PIXEL_VRS = frozenset({"OB", "OW", "OF", "OD"})


class _Fallback(Exception):
    """This file needs the full path."""


def deidentify_fast(data: bytes, rules: RuleBook, keyring: Keyring, limits: Limits = Limits()) -> Outcome | None:
    """De-identify ``data`` on the fast path, or None when the full path must do it.

    A file over one of ``limits``, or incomplete, goes to the full path too,
    which says why it is an error.
    """
    if rules.uses_clean or len(data) < 144 or data[128:132] != b"DICM" or len(data) > limits.max_file_bytes:
        return None
    if rules.content_items and _CONTENT_SEQUENCE_TAG in data:
        # Table E.3.4-1's content-item rules live only in the full path's header stage (one
        # implementation); a file that may hold SR content items goes there.
        return None
    buf = memoryview(data)
    try:
        return _deidentify(buf, data, rules, keyring, limits)
    except (_Fallback, ScanError, LimitError):
        return None


def _deidentify(buf: memoryview, data: bytes, rules: RuleBook, keyring: Keyring, limits: Limits) -> Outcome | None:
    meta, meta_end = read_group(buf, 132, 0x0002)
    syntax = _text(buf, meta.get(0x00020010))
    if not (syntax in _FAST_SYNTAXES or syntax.startswith(_ENCAPSULATED_PREFIX)):
        return None
    if _text(buf, meta.get(0x00020002)) == DICOMDIR_CLASS:
        return None
    elements = scan(buf, meta_end, len(buf), limits)  # walks every depth, within the limits
    top = _index(elements)
    if 0x00080016 not in top or 0x00080018 not in top or 0x00041220 in top:
        return None
    if missing_pixels_reason(top) is not None:
        return None
    charset = _charset(buf, top.get(_CHARSET), default_encoding)
    if _ENCAPSULATED_DOCUMENT in top:
        return None
    verdict = _verdict(buf, top, rules, charset)
    if verdict.full_path:
        return None
    if syntax.startswith(_ENCAPSULATED_PREFIX) and PIXEL_DATA in top and not _frames_agree(buf, top, syntax, charset):
        return None
    plan = plan_for(_patient_key(buf, top, charset), _originals(buf, top, rules, charset), rules, keyring)
    counts: Counter[str] = Counter()
    body = _clean(buf, elements, plan, counts, charset, False)
    if syntax == _NATIVE_SYNTAX and any(tag in top for tag in _PIXEL_TAGS):
        body = _settle_pixels(buf, top, body, counts, plan, charset)
    marks = _stamp_bytes(rules)
    merged = dict(body)
    merged.update(marks)
    produced = {tag: merged[tag] for tag in _NAME_TAGS if tag in merged}
    values = {tag: _element_text(piece) for tag, piece in produced.items()}
    instance, sop_class = values.get(0x00080018, ""), values.get(0x00080016, "")
    if not instance or not sop_class:
        return None
    # One join of slices of the input: pixel data is copied once, into the output.
    out = b"".join([PREAMBLE, file_meta_bytes(sop_class, instance, syntax), *(merged[tag] for tag in sorted(merged))])
    outcome = Outcome(
        keyring.file_id(digest_of(data)),
        "written",
        data=out,
        modality=verdict.modality,
        sop_class=verdict.sop_class,
        transfer_syntax=syntax,
        transfer_syntax_out=syntax,
        counts=counts,
    )
    outcome.name = output_name(
        {"StudyInstanceUID": values.get(0x0020000D, ""), "SeriesInstanceUID": values.get(0x0020000E, ""),
         "SOPInstanceUID": instance}, plan.patient.key, keyring)
    return outcome


# --- the gate, memoised -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    full_path: bool  # a document, or pixels that may need cleaning
    modality: str
    sop_class: str


# Verdicts by the raw bytes of the elements they read.  An archive holds few kinds of
# image (device, size, class), so most files need none of those elements decoded.
_verdicts: dict[tuple[Any, ...], _Verdict] = {}
_VERDICTS_KEPT = 4096
_GATE_ORDER = tuple(sorted(GATE_TAGS))


def _verdict(buf: memoryview, top: Mapping[int, RawElement], rules: RuleBook, charset: Any) -> _Verdict:
    pixels = any(t in top for t in _PIXEL_TAGS)
    tools = tools_for(rules.profile) if pixels else None
    tags = tools.ordered_tags if tools is not None else _GATE_ORDER
    key = (rules, pixels, str(charset), *(_raw_key(buf, top.get(tag)) for tag in tags))
    found = _verdicts.get(key)
    if found is None:
        found = _judge(buf, top, tools, tags, charset)
        if len(_verdicts) >= _VERDICTS_KEPT:
            _verdicts.clear()
        _verdicts[key] = found
    return found


def _raw_key(buf: memoryview, element: RawElement | None) -> tuple[str, bytes] | None:
    return None if element is None else (element.vr, bytes(buf[element.value:element.value_end]))


def _judge(buf: memoryview, top: Mapping[int, RawElement], tools: Any, tags: Sequence[int],
           charset: Any) -> _Verdict:
    """What the full path's gate and pixel stage would decide, from the elements they read."""
    gate = Dataset()
    for tag in tags:
        if tag in top:
            gate.add(_decode(buf, top[tag], charset))
    full_path = document_reason(gate) is not None
    if not full_path and tools is not None:
        gate.add(DataElement(PIXEL_DATA, "OB", b""))  # present; its bytes are not read here
        full_path = needs_cleaning(gate, tools)
    return _Verdict(full_path, str(gate.get("Modality", "") or "").strip(),
                    str(gate.get("SOPClassUID", "") or "").strip())


def _frames_agree(buf: memoryview, top: Mapping[int, RawElement], syntax: str, charset: Any) -> bool:
    """Whether encapsulated frames passed on undecoded are the image the header describes (as the full path asks)."""
    try:
        rows, columns, bits = (int(_decode(buf, top[tag], charset).value) for tag in (0x00280010, 0x00280011,
                                                                                       0x00280100))
        samples, frames = (int(_decode(buf, top[tag], charset).value or 1) if tag in top else 1
                           for tag in (0x00280002, 0x00280008))
    except (KeyError, TypeError, ValueError):
        raise _Fallback from None  # an incomplete Image Pixel module: the full path decides
    pixels = top[PIXEL_DATA]
    return codestream_reason(buf[pixels.value:pixels.value_end], syntax, rows, columns, samples, bits, frames,
                             strict=False) is None


# --- reading -----------------------------------------------------------------------------------


def _index(elements: Sequence[RawElement]) -> dict[int, RawElement]:
    index = {e.tag: e for e in elements}
    tags = list(index)
    if len(index) != len(elements) or tags != sorted(tags):
        raise _Fallback  # duplicate or unsorted tags: let pydicom decide what they mean
    return index


def _text(buf: memoryview, element: RawElement | None) -> str:
    if element is None:
        return ""
    return bytes(buf[element.value:element.value_end]).decode("ascii", "replace").strip("\0 ")


def _raw(buf: memoryview, element: RawElement) -> RawDataElement:
    return RawDataElement(element.tag, element.vr, element.value_end - element.value,
                          bytes(buf[element.value:element.value_end]), element.value, False, True)


def _decode(buf: memoryview, element: RawElement, charset: Any) -> DataElement:
    try:
        return convert_raw_data_element(_raw(buf, element), encoding=charset)
    except Exception as exc:
        raise _Fallback from exc  # the full path reports which element cannot be decoded


_charsets: dict[tuple[str, bytes, str], Any] = {}


def _charset(buf: memoryview, element: RawElement | None, default: Any) -> Any:
    """SpecificCharacterSet's value (``default`` when absent or empty), decoded once per spelling."""
    if element is None:
        return default
    key = (element.vr, bytes(buf[element.value:element.value_end]), str(default))
    found = _charsets.get(key)
    if found is None:
        found = _decode(buf, element, default).value or default
        try:
            convert_encodings(found)  # what pydicom's reader does with it: a spelling it refuses goes the full way
        except Exception as exc:
            raise _Fallback from exc
        if len(_charsets) < _VERDICTS_KEPT:
            _charsets[key] = found
    return found


# Text VRs whose values pydicom splits on backslashes (multi-valued) or not.  pydicom gives a
# PN a PersonName, but its str() is this text, and actions read values only as text.
_SPLIT_TEXT_VRS = frozenset({"LO", "SH", "UC", "PN"})
_WHOLE_TEXT_VRS = frozenset({"LT", "ST", "UT"})


def _plain_text(buf: memoryview, element: RawElement) -> str | None:
    """The text of a single-valued LO, SH, UC, PN, LT, ST or UT in ASCII, without pydicom; else None.

    ASCII without ESC reads the same in every character set DICOM allows.
    """
    vr = element.vr
    if vr not in _SPLIT_TEXT_VRS and vr not in _WHOLE_TEXT_VRS:
        return None
    raw = bytes(buf[element.value:element.value_end])
    if not raw.isascii() or b"\x1b" in raw or (vr in _SPLIT_TEXT_VRS and b"\\" in raw):
        return None
    return raw.decode("ascii").rstrip("\0 ")


def _string(buf: memoryview, element: RawElement, charset: Any) -> str:
    """``str()`` of the element's value as pydicom decodes it."""
    text = _plain_text(buf, element)
    return text if text is not None else str(_decode(buf, element, charset).value)


def _read(buf: memoryview, element: RawElement, vr: str, charset: Any) -> tuple[str, Any]:
    """The VR to write and the value an action reads, as the full path's ``src[tag]`` gives them."""
    if element.vr == "UI" and _dictionary_vr(element.tag) == "UI":
        try:
            text = bytes(buf[element.value:element.value_end]).decode("ascii").rstrip("\0 ")
        except UnicodeDecodeError:
            pass
        else:
            # Multi-valued UIDs reach actions as a list; each_value treats it as pydicom's MultiValue.
            return "UI", (text.split("\\") if "\\" in text else text)
    text = _plain_text(buf, element)
    if text is not None:
        return element.vr, text
    decoded = _decode(buf, element, charset)
    return (decoded.VR if len(decoded.VR) == 2 else vr), decoded.value


def _patient_key(buf: memoryview, top: Mapping[int, RawElement], charset: Any) -> str:
    for tag in (PATIENT_ID, _PATIENT_NAME):
        if tag in top:
            value = _string(buf, top[tag], charset).strip()
            if value:
                return value
    return ""


def _originals(buf: memoryview, top: Mapping[int, RawElement], rules: RuleBook, charset: Any) -> dict[int, str]:
    return {tag: _string(buf, top[tag], charset) for tag in rules.from_tags if tag in top}


# --- the header stage over raw elements --------------------------------------------------------


def _clean(buf: memoryview, elements: Sequence[RawElement], plan: Plan, counts: Counter[str], charset: Any,
           dummy: bool) -> list[tuple[int, bytes | memoryview]]:
    """(tag, encoded element) pairs, as :func:`deidentify.header._clean` would write them."""
    index = _index(elements)
    charset = _charset(buf, index.get(_CHARSET), charset)
    public_code = dummy and CODING_SCHEME_DESIGNATOR in index and is_public_scheme(
        str(_decode(buf, index[CODING_SCHEME_DESIGNATOR], charset).value or ""))
    out: list[tuple[int, bytes | memoryview]] = []
    creators: dict[int, RawElement] = {}
    kept_blocks: set[int] = set()
    blocks: dict[int, str | None] = {}
    names: list[str] = []  # the steps taken, counted once at the end
    step_of = plan.rules.step
    for element in elements:
        tag = element.tag
        group, number = tag >> 16, tag & 0xFFFF
        if number == 0 or group == 0x0002 or group == 0x0004:
            names.append("remove")
            continue
        private = group & 1
        creator = None
        if private:
            if 0x0010 <= number <= 0x00FF:
                creators[tag] = element
                continue
            if number >= 0x1000:
                block = (group << 16) | (number >> 8)
                if block not in blocks:
                    # Only rules for this group need the creator's name; else its presence is enough.
                    blocks[block] = (_creator(buf, index.get(block), charset) if group in plan.rules.private_groups
                                     else ("" if block in index else None))
                creator = blocks[block]
        vr = element.vr if element.vr != "UN" else element_vr(tag, "UN")
        step = decide(tag, vr, creator, plan, {}, dummy, public_code) if dummy else step_of(tag, vr, creator)
        names.append(step.name)
        kind = step.kind
        if kind == "keep":
            out.append((tag, buf[element.start:element.end]))
        elif kind == "remove":
            continue
        elif kind == "recurse":
            if element.vr != "SQ":
                raise _Fallback  # a sequence hidden behind UN: pydicom knows how to read it
            inner = dummy or dummies_inside(step)
            out.append((tag, _sequence(buf, element, plan, counts, charset, inner)))
        elif step.action in VALUE_FREE and element.vr == _dictionary_vr(tag) and _well_sized(element):
            # The value is not read, but a VR other than the dictionary's may hide one pydicom
            # cannot decode, which the full path reports as an error: decode those below.
            encoded = _value_free(tag, element.vr, step, plan, charset)
            if encoded is None:
                continue
            out.append((tag, encoded))
        else:
            write_vr, value = _read(buf, element, vr, charset)
            value = act(step, value, write_vr, plan)
            if value is REMOVE:
                continue
            out.append((tag, _encode_value(tag, write_vr, value, charset)))
        if private and creator is not None:
            kept_blocks.add((group << 16) | (number >> 8))
    counts.update(names)
    kept_creators = False
    for tag, element in creators.items():
        if tag in kept_blocks:
            out.append((tag, buf[element.start:element.end]))
            kept_creators = True
        else:
            counts["remove"] += 1
    if kept_creators:  # else the output is in the input's order, which _index found sorted
        out.sort(key=_first)
    return out


# Remove, empty and dummy give the same bytes for a tag and VR in every file (their values are
# ASCII constants, numbers or nothing, whatever the character set): encode them once.
_value_free_memo: dict[tuple[int, str, Any], bytes | None] = {}


def _value_free(tag: int, vr: str, step: Any, plan: Plan, charset: Any) -> bytes | None:
    """The encoded element a value-free step writes, or None when it removes the element."""
    key = (tag, vr, step.action)
    if key not in _value_free_memo:
        value = act(step, None, vr, plan)
        if len(_value_free_memo) >= _VERDICTS_KEPT:
            _value_free_memo.clear()
        _value_free_memo[key] = None if value is REMOVE else _encode_value(tag, vr, value, charset)
    return _value_free_memo[key]


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _creator(buf: memoryview, element: RawElement | None, charset: Any) -> str | None:
    if element is None:
        return None
    try:
        value = convert_raw_data_element(_raw(buf, element), encoding=charset).value
    except Exception:
        return None
    return normalise_creator(str(value)) if value else None


def _sequence(buf: memoryview, element: RawElement, plan: Plan, counts: Counter[str], charset: Any,
              dummy: bool) -> bytes:
    """A recursed sequence as pydicom writes a new one: defined lengths for it and its items."""
    pieces = []
    for start, stop in items(buf, element):
        body = b"".join(bytes(piece) for _, piece in _clean(buf, scan(buf, start, stop), plan, counts, charset,
                                                             dummy))
        pieces.append(_ITEM.pack(0xFFFE, 0xE000, len(body)) + body)
    content = b"".join(pieces)
    tag = element.tag
    return Struct("<HH").pack(tag >> 16, tag & 0xFFFF) + b"SQ\0\0" + _U32.pack(len(content)) + content


_FIXED_SIZES = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "AT": 4, "FD": 8, "SV": 8, "UV": 8}


def _well_sized(element: RawElement) -> bool:
    size = _FIXED_SIZES.get(element.vr)
    return size is None or (element.value_end - element.value) % size == 0


@lru_cache(maxsize=8192)
def _dictionary_vr(tag: int) -> str:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return ""


def _encode_value(tag: int, vr: str, value: Any, charset: Any) -> bytes:
    """An element as pydicom would write it; empty and plain ASCII text values without pydicom."""
    quick = element_bytes(tag, vr, value)
    return quick if quick is not None else _encode(DataElement(tag, vr, value), charset)


def _encode(element: DataElement, charset: Any) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    write_data_element(buffer, element, charset)
    return buffer.getvalue()


# --- native pixel data -------------------------------------------------------------------------


def _settle_pixels(buf: memoryview, top: Mapping[int, RawElement], body: list[tuple[int, bytes | memoryview]],
                   counts: Counter[str], plan: Plan, charset: Any) -> list[tuple[int, bytes | memoryview]]:
    """``body`` with its native pixel elements canonical (:func:`~deidentify.pixels.native.canonical`)."""
    settled = dict(body)
    for tag in _PIXEL_TAGS:
        element = top.get(tag)
        if element is None or tag not in settled:
            continue
        vr = element.vr
        if element.undefined or vr not in _PIXEL_VRS or plan.rules.step(tag, vr, None).kind != "keep":
            raise _Fallback  # the full path says what an undefined length, a UN or another action means
        try:
            found = canonical(buf[element.value:element.value_end], _native_format(buf, top, tag, vr, charset))
        except PixelError as exc:
            raise _Fallback from exc  # the full path reports it as an error
        if found.changed:
            settled[tag] = _LONG_HEADER.pack(tag >> 16, tag & 0xFFFF, vr.encode(), len(found.value)) + found.value
            counts.update(found.counts())
    return list(settled.items())


# Formats by the raw bytes of the Image Pixel elements: an archive holds few kinds of image.
_formats: dict[tuple[Any, ...], NativeFormat] = {}


def _native_format(buf: memoryview, top: Mapping[int, RawElement], tag: int, vr: str, charset: Any) -> NativeFormat:
    key = (tag, vr, *(_raw_key(buf, top.get(t)) for t in FORMAT_TAGS))
    found = _formats.get(key)
    if found is None:
        values = Dataset()
        for t in FORMAT_TAGS:
            if t in top:
                values.add(_decode(buf, top[t], charset))
        found = format_of(values, tag, ExplicitVRLittleEndian, vr)
        if len(_formats) >= _VERDICTS_KEPT:
            _formats.clear()
        _formats[key] = found
    return found


# --- stamp and file meta ----------------------------------------------------------------------


@dataclass
class _StampCache:
    rules: RuleBook
    pieces: list[tuple[int, bytes]]


_stamps: dict[int, _StampCache] = {}


def _stamp_bytes(rules: RuleBook) -> list[tuple[int, bytes]]:
    """The stamp's elements, encoded once per profile (they are the same for every file)."""
    cached = _stamps.get(id(rules))
    if cached is None or cached.rules is not rules:
        marks = Dataset()
        stamp(marks, rules.profile)
        buffer = DicomBytesIO()
        buffer.is_little_endian = True
        buffer.is_implicit_VR = False
        write_dataset(buffer, marks)
        encoded = buffer.getvalue()
        cached = _StampCache(rules, [(e.tag, encoded[e.start:e.end]) for e in scan(encoded, 0, len(encoded))])
        _stamps[id(rules)] = cached
    return cached.pieces


def _element_text(piece: bytes | memoryview) -> str:
    """The value of one encoded explicit VR little endian element with a short header (UI)."""
    return bytes(piece[8:]).decode("ascii", "replace").strip("\0 ")
