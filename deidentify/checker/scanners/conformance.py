"""Does the file already obey the profile?  De-identify it again and compare.

The header stage is applied to the checked file twice, under two throwaway
keys.  An element the profile allows comes out unchanged; so a difference is
a finding, with no second copy of the profile's rules to drift out of step:

* present in the file, absent after the second pass: an element the profile
  removes (a patient's address, a private element it does not allow);
* changed by the second pass the same way under both keys: a value the
  profile empties, dummies or replaces (``Köhler^Lieselotte`` where the
  profile wants ``ANONYMIZED``);
* changed differently under the two keys: a *keyed* value (UID, pseudonym,
  shifted date).  Its original cannot be known without the key, so only its
  form is checked -- a UID must be ``2.25.<integer>`` as the ``uid`` action
  writes it, a pseudonym must look like one.

Free text the profile cleans is left to the text scanner, which says where in
the text the problem is; the marks that the stamp stage adds are the
structure scanner's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as PydicomSequence

from ...header import HeaderError, clean_header
from ...header.sources.dataset import DatasetSource
from ...keys import Keyring
from ...plan import RuleBook, make_plan, patient_key
from ...writer import as_dataset
from ..elements import element_name, tag_label
from ..findings import FILE_ELEMENT, Finding
from .base import FileContext, finding

# Written by the stamp stage after the header; the structure scanner checks them.
_STAMP_TAGS = frozenset({0x00120062, 0x00120063, 0x00120064, 0x00280303})
_KEYED_UID = re.compile(r"2\.25\.\d{1,39}")
_KEY_A = bytes(range(32))


def _key_b(ds: Dataset, rules: RuleBook) -> bytes:
    """A second key whose date offset for this patient differs from the first key's,
    so a shifted date always shows as keyed."""
    patient = patient_key(ds)
    low, high = rules.profile.settings.date_shift_days
    offset = Keyring(_KEY_A).day_offset(patient, low, high)
    for n in range(1, 64):
        key = bytes([n]) * 32
        if low == high or Keyring(key).day_offset(patient, low, high) != offset:
            return key
    return bytes([64]) * 32


def reapply(ds: Dataset, rules: RuleBook, key: bytes) -> Dataset:
    """``ds`` de-identified (header stage only) under ``key``."""
    written, _ = clean_header(DatasetSource(ds), make_plan(ds, rules, Keyring(key)))
    return as_dataset(written)


def _values(ds: Dataset, tag: int) -> tuple[object, ...]:
    """The element's values, comparable whether they were read from a file or just written
    (an empty value may be ``None``, ``""`` or an empty list)."""
    value = ds[tag].value
    items = value if isinstance(value, (MultiValue, list, tuple)) else [value]
    found = tuple(v if isinstance(v, (bytes, int, float)) else str(v).strip("\0 ") for v in items if v is not None)
    return () if found in ((), ("",), (b"",)) else found


def _shape(value: object) -> re.Pattern[str]:
    """A pattern for values written like ``value``: letters and digits stand for any."""
    text = str(value)
    if _KEYED_UID.fullmatch(text):
        return _KEYED_UID
    return re.compile("".join("[A-Z0-9]" if c.isupper() or c.isdigit() else
                              "[a-z0-9]" if c.islower() else re.escape(c) for c in text))


class ConformanceScanner:
    """Elements the profile would remove or change, and keyed values of the wrong form."""

    name = "conformance"

    def scan(self, file: FileContext) -> Iterator[Finding]:
        ds = file.dataset
        if ds is None:
            return
        try:
            first = reapply(ds, file.rules, _KEY_A)
            second = reapply(ds, file.rules, _key_b(ds, file.rules))
        except HeaderError as exc:
            yield finding(self.name, FILE_ELEMENT, "profile-not-applicable", "error", "file", 0, str(exc))
            return
        found = list(self._compare(ds, first, second, "", file.rules))
        yield from found
        yield from self._file_meta(ds, found)

    def _file_meta(self, ds: Dataset, found: list[Finding]) -> Iterator[Finding]:
        """The file meta repeats the SOP instance UID, so it shares that element's verdict."""
        meta = getattr(ds, "file_meta", None)
        stored = str(meta.get("MediaStorageSOPInstanceUID", "") or "").strip("\0 ") if meta is not None else ""
        if stored and stored == str(ds.get("SOPInstanceUID", "") or "").strip("\0 "):
            for f in found:
                if f.element == "SOPInstanceUID":
                    yield replace(f, element="FileMeta.MediaStorageSOPInstanceUID")

    def _compare(self, ds: Dataset, first: Dataset, second: Dataset, prefix: str,
                 rules: RuleBook) -> Iterator[Finding]:
        for tag in sorted(ds.keys()):
            if tag in _STAMP_TAGS and not prefix:
                continue
            try:
                elem = ds[tag]
            except Exception:
                yield finding(self.name, prefix + tag_label(tag), "undecodable", "error", "element", 0,
                              "the element cannot be decoded")
                continue
            path = prefix + element_name(elem)
            private = "private element" if tag >> 16 & 1 else "element"
            if tag not in first:
                yield finding(self.name, path, "removed-by-profile", "medium", elem.VR, _length(elem),
                              f"the profile {rules.profile.name} does not allow this {private}")
                continue
            if elem.VR == "SQ":
                yield from self._compare_items(elem.value, first[tag].value, second[tag].value, path, rules)
                continue
            yield from self._compare_values(ds, first, second, tag, path, rules)

    def _compare_items(self, items: PydicomSequence, first: PydicomSequence, second: PydicomSequence,
                       path: str, rules: RuleBook) -> Iterator[Finding]:
        if not (len(items) == len(first) == len(second)):
            yield finding(self.name, path, "items-removed-by-profile", "medium", "SQ", len(items),
                          f"the profile {rules.profile.name} removes items of this sequence")
            return
        for index, (item, a, b) in enumerate(zip(items, first, second, strict=False)):
            yield from self._compare(item, a, b, f"{path}[{index}].", rules)

    def _compare_values(self, ds: Dataset, first: Dataset, second: Dataset, tag: int, path: str,
                        rules: RuleBook) -> Iterator[Finding]:
        mine, a, b = _values(ds, tag), _values(first, tag), _values(second, tag)
        vr = ds[tag].VR
        if a == b:
            if mine != a:
                yield finding(self.name, path, "changed-by-profile", "medium", vr, _length(ds[tag]),
                              f"the profile {rules.profile.name} replaces this value")
            return
        if len(mine) != len(a) or not all(
            isinstance(m, str) and _shape(k).fullmatch(m) for m, k in zip(mine, a, strict=True)
        ):
            yield finding(self.name, path, "not-keyed-form", "medium", vr, _length(ds[tag]),
                          "the profile replaces this value by a keyed one; it does not have that form")

    def finish(self) -> Iterable[Finding]:
        return ()


def _length(elem: DataElement) -> int:
    value = elem.value
    if value is None:
        return 0
    if isinstance(value, (bytes, str)):
        return len(value)
    return len(str(value))
