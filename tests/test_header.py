"""Header stage through the real per-file path: bytes in, ``deidentify_bytes``, bytes out.

Every test builds real DICOM bytes (pydicom ``dcmwrite(enforce_file_format=True)``), or
takes pydicom's bundled test files or the project's synthetic sample, runs them through
:func:`deidentify.pipeline.deidentify_bytes` with a built-in or user profile, and reads
the output bytes back with pydicom.
"""

from __future__ import annotations

import json
import re
from functools import cache
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import dcmread, dcmwrite
from pydicom.charset import convert_encodings, encode_string
from pydicom.data import get_testdata_file
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import (
    BasicTextSRStorage,
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from deidentify import writer
from deidentify.actions.shift import shift_date
from deidentify.keys import Keyring
from deidentify.pipeline import Outcome, deidentify_bytes
from deidentify.plan import RuleBook
from deidentify.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_synthetic"
KEYRING = Keyring(b"k" * 32)

SOP_UID = "1.2.826.0.1.3680043.9.7433.1.1"
STUDY_UID = "1.2.826.0.1.3680043.9.7433.1.2"
SERIES_UID = "1.2.826.0.1.3680043.9.7433.1.3"
PATIENT_ID = "MRN-4711"
PIXEL_DATA = 0x7FE00010


# --- helpers -------------------------------------------------------------------------------------


@cache
def rules(profile: str, options: tuple[str, ...] = ()) -> RuleBook:
    return RuleBook(load_profile(profile, options=options))


def encode(ds: Dataset, transfer_syntax: str = ExplicitVRLittleEndian, meta: FileMetaDataset | None = None) -> bytes:
    """``ds`` as a DICOM file in ``transfer_syntax``, written by pydicom."""
    ds.file_meta = meta if meta is not None else FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def run(data: bytes, profile: str | RuleBook = "basic", options: tuple[str, ...] = ()) -> Outcome:
    book = profile if isinstance(profile, RuleBook) else rules(profile, options)
    return deidentify_bytes(data, book, KEYRING)


def written(data: bytes, profile: str | RuleBook = "basic", options: tuple[str, ...] = ()) -> tuple[bytes, Dataset]:
    outcome = run(data, profile, options)
    assert outcome.status == "written", outcome.reason
    assert outcome.data is not None
    return outcome.data, dcmread(BytesIO(outcome.data))


def raw_value(ds: Dataset, tag: int) -> bytes:
    """The bytes an element held in the file (``ds`` read by pydicom, element not yet decoded)."""
    value = ds.get_item(tag).value
    assert isinstance(value, bytes), f"({tag >> 16:04X},{tag & 0xFFFF:04X}) was decoded before the comparison"
    return value


def _insert_before(data: bytes, tag: int, element: bytes) -> bytes:
    """``data`` (explicit or implicit VR little endian) with ``element`` put in before ``tag``."""
    marker = (tag >> 16).to_bytes(2, "little") + (tag & 0xFFFF).to_bytes(2, "little")
    assert data.count(marker) == 1
    return data.replace(marker, element + marker)


def implicit_le(ds: Dataset) -> bytes:
    """``ds`` encoded as Implicit VR Little Endian (the encoding of a UN value)."""
    buffer = DicomBytesIO()
    buffer.is_implicit_VR = True
    buffer.is_little_endian = True
    write_dataset(buffer, ds)
    return buffer.getvalue()


def image(**values: object) -> Dataset:
    """A small CT header (no pixel data) with the top-level identifiers the tests compare with."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = SOP_UID
    ds.StudyInstanceUID = STUDY_UID
    ds.SeriesInstanceUID = SERIES_UID
    ds.Modality = "CT"
    ds.PatientID = PATIENT_ID
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def item(**values: object) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def day_offset(profile: str) -> int:
    low, high = load_profile(profile).settings.date_shift_days
    return KEYRING.day_offset(PATIENT_ID, low, high)


def all_tags(ds: Dataset) -> list[int]:
    return [int(elem.tag) for elem in ds.iterall()]


def without_pixels(data: bytes, ds: Dataset) -> bytes:
    """The file's bytes with the pixel data cut out (its values may match short text by chance)."""
    if PIXEL_DATA not in ds:
        return data
    pixels = ds.get_item(PIXEL_DATA).value
    return data.replace(pixels, b"") if isinstance(pixels, bytes) and pixels else data


# --- 1. sequences three levels deep --------------------------------------------------------------

#: What each deep item holds, and the same elements at top level.
DEEP = dict(
    PatientName="Doe^Jane",
    EvaluatorName="Roe^Richard",  # PN no table row names: the VR:PN safety net
    AccessionNumber="ACC0042",
    StudyDate="20200315",
    SecondaryReviewDate="20200316",  # DA no table row names: the VR:DA safety net
    StudyInstanceUID=STUDY_UID,
)

CHAINS = {
    # three sequences no rule names
    "unnamed": ("StudiesContainingOtherReferencedInstancesSequence", "ReferencedSeriesSequence", "ReferencedInstanceSequence"),
    # named (X/Z, X/Z/U*) around an unnamed one: the named ones are kept and their items cleaned
    "named": ("ReferencedStudySequence", "ReferencedSeriesSequence", "SourceImageSequence"),
    # named X/Z/D and X/Z/U* with an unnamed one inside
    "mixed": ("ReferencedPerformedProcedureStepSequence", "ReferencedImageSequence", "ReferencedSeriesSequence"),
}


def deep_dataset(chain: tuple[str, str, str]) -> Dataset:
    leaf = item(**DEEP, ReferencedSOPClassUID=CTImageStorage, ReferencedSOPInstanceUID=SOP_UID)
    middle = item(**{chain[2]: [leaf]})
    outer = item(**{chain[1]: [middle]})
    return image(**DEEP, **{chain[0]: [outer]})


def leaf_of(ds: Dataset, chain: tuple[str, str, str]) -> Dataset:
    seq0 = ds[chain[0]].value
    assert len(seq0) == 1
    seq1 = seq0[0][chain[1]].value
    assert len(seq1) == 1
    seq2 = seq1[0][chain[2]].value
    assert len(seq2) == 1
    return seq2[0]


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
@pytest.mark.parametrize("chain", list(CHAINS.values()), ids=list(CHAINS))
@pytest.mark.parametrize("profile", ["basic", "research"])
def test_depth_three_is_handled_as_top_level(profile: str, chain: tuple[str, str, str], transfer_syntax: str) -> None:
    data, out = written(encode(deep_dataset(chain), transfer_syntax), profile)
    leaf = leaf_of(out, chain)

    # The same element gets the same value at depth 3 as at top level.
    for keyword in DEEP:
        assert keyword in leaf, keyword
        assert leaf[keyword].value == out[keyword].value, keyword

    # ... and that value is the profile's, not the original.
    for name in (b"Doe", b"Jane", b"Roe", b"Richard"):
        assert name not in data
    assert str(leaf.PatientName).startswith("P") and str(leaf.PatientName) == str(out.PatientID)
    assert leaf.EvaluatorName in ("", None)
    assert leaf.AccessionNumber in ("", None)
    assert b"ACC0042" not in data
    assert leaf.StudyInstanceUID != STUDY_UID and leaf.StudyInstanceUID == KEYRING.uid(STUDY_UID)
    # A reference to this instance at depth 3 is remapped to this instance's new UID.
    assert leaf.ReferencedSOPInstanceUID == out.SOPInstanceUID == KEYRING.uid(SOP_UID)
    assert leaf.ReferencedSOPClassUID == CTImageStorage  # well-known UIDs stay
    if profile == "basic":
        assert leaf.StudyDate in ("", None)  # Z
        assert leaf.SecondaryReviewDate == "19000101"  # D
        assert b"2020031" not in data
    else:
        offset = day_offset("research")
        assert leaf.StudyDate == shift_date("20200315", offset)
        assert leaf.SecondaryReviewDate == shift_date("20200316", offset)
        assert leaf.StudyDate != "20200315"


def test_a_sequence_the_profile_removes_takes_its_deep_items_along() -> None:
    # RequestAttributesSequence is X under basic and C (clean) under clean-descriptors.
    chain = ("RequestAttributesSequence", "ReferencedStudySequence", "ReferencedInstanceSequence")
    source = encode(deep_dataset(chain))
    data, out = written(source, "basic")
    assert "RequestAttributesSequence" not in out
    assert b"ACC0042" not in data and b"Doe" not in data

    data, out = written(source, "research")
    leaf = leaf_of(out, chain)
    assert leaf.AccessionNumber in ("", None)
    assert leaf.PatientName == out.PatientName and b"Doe" not in data
    assert leaf.ReferencedSOPInstanceUID == out.SOPInstanceUID


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_a_public_sequence_written_as_un_is_still_cleaned_inside(profile: str) -> None:
    # A sequence with VR UN (as written by a system that did not know it) holds an implicit
    # VR little endian encoding of its items; its deep values must not pass as one blob.
    leaf = item(PatientName="Doe^Jane", AccessionNumber="ACC0042", ReferencedSOPInstanceUID=SOP_UID)
    inner = item(ReferencedInstanceSequence=[leaf])
    body = implicit_le(inner)
    item_bytes = b"\xfe\xff\x00\xe0" + len(body).to_bytes(4, "little") + body
    # ReferencedSeriesSequence as UN, put in by hand: pydicom writes a known tag's UN as SQ.
    element = b"\x08\x00\x15\x11UN\x00\x00" + len(item_bytes).to_bytes(4, "little") + item_bytes
    source = _insert_before(encode(image(PatientName="Doe^Jane")), 0x00100010, element)
    assert dcmread(BytesIO(source)).get_item(0x00081115).VR == "UN"
    data, out = written(source, profile)
    assert b"Doe" not in data and b"ACC0042" not in data
    deep = out.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]
    assert deep.ReferencedSOPInstanceUID == out.SOPInstanceUID
    assert deep.PatientName == out.PatientName


# --- 2. private elements -------------------------------------------------------------------------

SAFE_PRIVATE_YAML = ROOT / "profiles" / "_ps3.15-e3.10-1.yaml"
SAFE_GROUP, SAFE_CREATOR, SAFE_OFFSET = 0x0019, "GEMS_ACQU_01", 0x23  # a row of Table E.3.10-1


def test_the_safe_element_used_here_is_a_row_of_the_safe_private_table() -> None:
    text = SAFE_PRIVATE_YAML.read_text(encoding="utf-8")
    assert f'({SAFE_GROUP:04X},\\"{SAFE_CREATOR}\\",{SAFE_OFFSET:02X})' in text
    assert f'({SAFE_GROUP:04X},\\"{SAFE_CREATOR}\\",01)' not in text  # the offset used as "not safe" below


def private_dataset() -> Dataset:
    ds = image(PatientName="Doe^Jane")
    # Block 0x10 of group 0019: a safe element and one the table does not list.
    ds.add_new(0x00190010, "LO", SAFE_CREATOR)
    ds.add_new(0x00191023, "DS", "1.5")  # safe
    ds.add_new(0x00191001, "LO", "Doe Jane scan")  # same creator, not listed
    # Block 0x11 of the same group: another vendor, nothing safe.
    ds.add_new(0x00190011, "LO", "ACME SECRET")
    ds.add_new(0x00191101, "LO", "Jane Doe home 555 0101")
    ds.add_new(0x00191124, "UN", b"ACME-UN-BLOB")
    # Another group whose only element has VR UN.
    ds.add_new(0x00210010, "LO", "OTHER VENDOR")
    ds.add_new(0x00211010, "UN", b"OTHER-UN-1.5")
    # An element with the safe offset whose block has no creator.
    ds.add_new(0x00231023, "DS", "2.5")
    ds.add_new(0x00231001, "LO", "orphan Jane Doe")
    # The same safe element one level down, in an item of a sequence no rule names.
    nested = Dataset()
    nested.add_new(0x00190010, "LO", SAFE_CREATOR)
    nested.add_new(0x00191023, "DS", "3.25")
    nested.add_new(0x00191001, "LO", "nested Doe")
    ds.ReferencedSeriesSequence = [nested]
    return ds


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
def test_basic_removes_every_private_element_and_creator(transfer_syntax: str) -> None:
    data, out = written(encode(private_dataset(), transfer_syntax), "basic")
    assert [hex(t) for t in all_tags(out) if (t >> 16) & 1] == []
    for text in (b"GEMS_ACQU_01", b"ACME", b"OTHER", b"Doe", b"orphan"):
        assert text not in data


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
@pytest.mark.parametrize("profile", ["basic+retain-safe-private", "research"])
def test_retain_safe_private_keeps_exactly_the_safe_element_and_its_creator(profile: str, transfer_syntax: str) -> None:
    book = rules("basic", ("retain-safe-private",)) if profile.startswith("basic") else rules("research")
    source = encode(private_dataset(), transfer_syntax)
    data, out = written(source, book)
    original = dcmread(BytesIO(source))

    private_top = sorted(t for t in out.keys() if (t >> 16) & 1)  # noqa: SIM118 (iterating gives elements)
    assert private_top == [0x00190010, 0x00191023]
    for tag in private_top:
        assert raw_value(out, tag) == raw_value(original, tag)  # byte for byte
    assert raw_value(out, 0x00191023) == b"1.5 "
    assert raw_value(out, 0x00190010) == b"GEMS_ACQU_01"

    nested = out.ReferencedSeriesSequence[0]
    assert sorted(nested.keys()) == [0x00190010, 0x00191023]
    assert raw_value(nested, 0x00191023) == raw_value(original.ReferencedSeriesSequence[0], 0x00191023)

    # Other elements of the safe block, other blocks, UN elements and orphans are gone,
    # and so are the creators of the blocks that lost all their elements.
    for text in (b"ACME", b"OTHER", b"Doe", b"orphan", b"2.5"):
        assert text not in data


@pytest.mark.parametrize("profile", ["basic+retain-safe-private", "research"])
@pytest.mark.parametrize("creator", ["gems_acqu_01", "  GEMS_ACQU_01 "])
def test_a_safe_private_creator_matches_without_case_and_blanks(creator: str, profile: str) -> None:
    book = rules("basic", ("retain-safe-private",)) if profile.startswith("basic") else rules("research")
    ds = image()
    ds.add_new(0x00190010, "LO", creator)
    ds.add_new(0x00191023, "DS", "1.5")
    _, out = written(encode(ds), book)
    assert raw_value(out, 0x00191023) == b"1.5 "
    assert out[0x00190010].value.strip() == creator.strip()


def test_a_safe_offset_under_another_creator_is_removed() -> None:
    ds = image()
    ds.add_new(0x00190010, "LO", "NOT GEMS")
    ds.add_new(0x00191023, "DS", "1.5")
    data, out = written(encode(ds), "research")
    assert not [t for t in all_tags(out) if (t >> 16) & 1]
    assert b"NOT GEMS" not in data


# --- 3. unknown public elements ------------------------------------------------------------------

UNKNOWN_PUBLIC = 0x0018FFF0  # even group, not in pydicom's dictionary


@pytest.mark.parametrize(
    ("transfer_syntax", "vr"),
    [(ExplicitVRLittleEndian, "LO"), (ExplicitVRLittleEndian, "UN"), (ImplicitVRLittleEndian, "LO")],
    ids=["explicit-LO", "explicit-UN", "implicit"],
)
@pytest.mark.parametrize("profile", ["basic", "research"])
def test_a_public_element_unknown_to_the_dictionary_is_removed(profile: str, transfer_syntax: str, vr: str) -> None:
    ds = image()
    ds.add_new(UNKNOWN_PUBLIC, vr, "Jane Doe 555-0101" if vr == "LO" else b"Jane Doe 555-0101 ")
    ds.ReferencedSeriesSequence = [Dataset()]
    ds.ReferencedSeriesSequence[0].add_new(UNKNOWN_PUBLIC, vr, "nested Doe" if vr == "LO" else b"nested Doe")
    data, out = written(encode(ds, transfer_syntax), profile)
    assert UNKNOWN_PUBLIC not in all_tags(out)
    assert b"Doe" not in data


def test_a_known_element_written_as_un_is_handled_by_its_dictionary_vr() -> None:
    ds = image()
    ds.add_new(0x00100010, "UN", b"Doe^Jane")  # PatientName
    ds.add_new(0x00080050, "UN", b"ACC0042 ")  # AccessionNumber
    data, out = written(encode(ds))
    assert b"Doe" not in data and b"ACC0042" not in data
    assert out.PatientName == out.PatientID
    assert out.AccessionNumber in ("", None)


# --- 4. non-ASCII character sets -----------------------------------------------------------------

LATIN1_NAMES = ["Müller", "Jürgen", "Weiß", "Jörg", "Østergård"]
LATIN1_FOLDED = [b"muller", b"mueller", b"jurgen", b"juergen", b"weiss", b"joerg", b"ostergard"]


def latin1_dataset() -> Dataset:
    ds = image(
        SpecificCharacterSet="ISO_IR 100",
        PatientName="Müller^Jürgen",
        OperatorsName="Weiß^Jörg",
        ReferringPhysicianName="Østergård^Søren",
        Manufacturer="Société Générale d'Imagerie Médicale",  # no rule: kept raw
        StudyDescription="Röntgen Thorax für Jürgen Müller",  # X, or C under clean-descriptors
    )
    ds.ReferencedSeriesSequence = [item(Manufacturer="Gerätebau Süd", OperatorsName="Weiß^Jörg")]
    return ds


JAPANESE = ["", "ISO 2022 IR 87"]


def japanese_dataset() -> Dataset:
    ds = image(
        SpecificCharacterSet=JAPANESE,
        PatientName="Yamada^Tarou=山田^太郎=やまだ^たろう",
        OperatorsName="Suzuki^Hanako=鈴木^花子=すずき^はなこ",
        ManufacturerModelName="東芝アクイリオン",  # no rule: kept raw
        StudyDescription="頭部CT 山田太郎",
    )
    ds.ReferencedSeriesSequence = [item(ManufacturerModelName="アクイリオン ワン")]
    return ds


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
@pytest.mark.parametrize("profile", ["basic", "research"])
@pytest.mark.parametrize(
    ("build", "kept"),
    [(latin1_dataset, "Manufacturer"), (japanese_dataset, "ManufacturerModelName")],
    ids=["latin1", "iso2022-jp"],
)
def test_kept_text_keeps_its_raw_bytes_in_any_character_set(build, kept: str, profile: str, transfer_syntax: str) -> None:
    source = encode(build(), transfer_syntax)
    data, out = written(source, profile)
    original = dcmread(BytesIO(source))
    tag = tag_for_keyword(kept)
    assert raw_value(out, tag) == raw_value(original, tag)
    assert raw_value(out.ReferencedSeriesSequence[0], tag) == raw_value(original.ReferencedSeriesSequence[0], tag)
    assert out.SpecificCharacterSet == original.SpecificCharacterSet  # pydicom decodes it on read
    # ... and reads back as the same text.
    assert out[kept].value == build()[kept].value


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
@pytest.mark.parametrize("profile", ["basic", "research"])
def test_latin1_names_are_gone_in_every_encoding(profile: str, transfer_syntax: str) -> None:
    data, out = written(encode(latin1_dataset(), transfer_syntax), profile)
    for name in LATIN1_NAMES:
        for codec in ("latin-1", "utf-8"):
            assert name.encode(codec) not in data, (name, codec)
    lowered = data.lower()
    for folded in LATIN1_FOLDED:
        assert folded not in lowered, folded
    if profile == "research":
        # Cleaned, not removed: the clinical words stay, re-encoded in the dataset's character set.
        assert out.StudyDescription.startswith("Röntgen Thorax")
        assert "Röntgen Thorax".encode("latin-1") in data
    else:
        assert "StudyDescription" not in out


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_japanese_names_are_gone_in_every_encoding(profile: str) -> None:
    data, out = written(encode(japanese_dataset()), profile)
    encodings = convert_encodings(JAPANESE)
    for word in ["Yamada", "Tarou", "山田", "太郎", "やまだ", "たろう", "Suzuki", "Hanako", "鈴木", "花子", "すずき", "はなこ"]:
        for needle in _needles(word, encodings):
            assert needle not in data, (word, needle)
        if word.isascii():
            assert word.lower().encode() not in data.lower(), word
    if profile == "research":
        assert out.StudyDescription.startswith("頭部CT")
        assert "山田" not in out.StudyDescription


def _needles(word: str, encodings: list[str]) -> list[bytes]:
    """Byte strings whose presence would mean ``word`` survived: its ISO 2022 code without the
    escape sequences (they may sit elsewhere in a longer run of text) and its UTF-8 (for a word in
    Latin letters, its ASCII)."""
    encoded = encode_string(word, encodings)
    needles = [part for part in re.split(rb"\x1b(?:\$B|\$@|\(B|\(J)", encoded) if len(part) >= 4]
    needles.append(word.encode("utf-8"))
    return needles


def _yamada_files() -> list[Path]:
    return sorted(p for p in (SAMPLE / "studies" / "YAMADA_TAROU_19730312").rglob("*") if p.is_file())


def _planted_names(patient: int) -> list[str]:
    planted = json.loads((SAMPLE / "planted.json").read_text(encoding="utf-8"))
    return sorted({p["value"] for p in planted if p["patient"] == patient and p["kind"] in ("name", "name-part")})


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_the_samples_japanese_patient_leaves_no_name_in_any_encoding(profile: str) -> None:
    files = _yamada_files()
    names = _planted_names(3)
    assert files and "Yamada^Tarou=山田^太郎=やまだ^たろう" in names
    encodings = convert_encodings(JAPANESE)
    written_count = 0
    for path in files:
        source = path.read_bytes()
        original = dcmread(BytesIO(source))
        assert list(original.SpecificCharacterSet) == JAPANESE
        outcome = run(source, profile)
        if outcome.status != "written":
            assert outcome.status == "withheld" and outcome.reason
            continue
        written_count += 1
        assert outcome.data is not None
        out = dcmread(BytesIO(outcome.data))
        haystack = without_pixels(outcome.data, out)
        lowered = haystack.lower()
        for name in names:
            for part in re.split(r"[\^=]", name) + [name]:
                if not part:
                    continue
                for needle in _needles(part, encodings):
                    assert needle not in haystack, (path.name, part, needle)
                if part.isascii() and len(part) >= 4:
                    assert part.lower().encode() not in lowered, (path.name, part)
        # A kept text element of the input stays byte for byte (BodyPartExamined, CS, no rule).
        if "BodyPartExamined" in original:
            assert raw_value(out, 0x00180015) == raw_value(original, 0x00180015)
        assert out.SpecificCharacterSet == original.SpecificCharacterSet
    assert written_count >= 5


@pytest.mark.parametrize("build", [latin1_dataset, japanese_dataset], ids=["latin1", "iso2022-jp"])
def test_a_user_profile_that_keeps_a_description_keeps_its_raw_bytes(build, tmp_path: Path) -> None:
    profile = tmp_path / "keep-description.yaml"
    profile.write_text("extends: basic\nrules:\n  - {select: StudyDescription, action: keep}\n", encoding="utf-8")
    source = encode(build())
    _, out = written(source, RuleBook(load_profile(profile)))
    original = dcmread(BytesIO(source))
    assert raw_value(out, 0x00081030) == raw_value(original, 0x00081030)
    assert out.StudyDescription == build().StudyDescription


# --- 5. kept elements are copied raw; transfer syntax and byte order stay --------------------------


def raw_copy_input() -> bytes:
    """Kept elements whose bytes do not survive pydicom's decode and encode: text that is not
    valid in its character set (UTF-8 here) with trailing blanks, and a padded private creator."""
    ds = image(SpecificCharacterSet="ISO_IR 192", PatientName="Doe^Jane", Manufacturer="Acme Imaging    X")
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01 ")
    ds.add_new(0x00191023, "DS", "1.5")
    data = encode(ds)
    good = b"Acme Imaging    X "
    assert data.count(good) == 1
    return data.replace(good, b"Acme \xff\xfeImaging    ")



@pytest.mark.parametrize(
    ("profile", "options"),
    [
        ("basic", ()),
        ("basic", ("retain-long-full-dates", "retain-uids")),  # options that only keep
        pytest.param("basic", ("retain-safe-private",)),
        pytest.param("research", ()),
    ],
)
def test_kept_elements_are_the_files_bytes_whatever_the_profile(profile: str, options: tuple[str, ...]) -> None:
    source = raw_copy_input()
    original = dcmread(BytesIO(source))
    _, out = written(source, profile, options)
    assert raw_value(out, 0x00080070) == raw_value(original, 0x00080070) == b"Acme \xff\xfeImaging    "
    if 0x00190010 in out:
        assert raw_value(out, 0x00190010) == raw_value(original, 0x00190010) == b"GEMS_ACQU_01  "
        assert raw_value(out, 0x00191023) == raw_value(original, 0x00191023)
    else:
        assert "retain-safe-private" not in rules(profile, options).profile.options


@pytest.mark.parametrize(
    ("name", "transfer_syntax", "encoding"),
    [
        ("MR_small.dcm", ExplicitVRLittleEndian, (False, True)),
        ("MR_small_implicit.dcm", ImplicitVRLittleEndian, (True, True)),
        ("MR_small_bigendian.dcm", ExplicitVRBigEndian, (False, False)),
        ("CT_small.dcm", ExplicitVRLittleEndian, (False, True)),
    ],
)
@pytest.mark.parametrize("profile", ["basic", "research"])
def test_pixel_data_and_encoding_pass_through_unchanged(profile: str, name: str, transfer_syntax: str, encoding) -> None:
    source = Path(get_testdata_file(name)).read_bytes()
    original = dcmread(BytesIO(source))
    assert original.file_meta.TransferSyntaxUID == transfer_syntax
    _, out = written(source, profile)
    assert out.file_meta.TransferSyntaxUID == transfer_syntax
    assert out.original_encoding == encoding  # the dataset really is written in that encoding
    assert raw_value(out, PIXEL_DATA) == raw_value(original, PIXEL_DATA)
    # Kept numeric elements are the file's bytes too, in the file's byte order.
    for tag in (0x00280010, 0x00280011, 0x00280100):  # Rows, Columns, BitsAllocated
        assert raw_value(out, tag) == raw_value(original, tag)
    # ... and they still mean the same image.
    assert (out.pixel_array == original.pixel_array).all()
    assert out.Rows == original.Rows and out.PatientName != original.PatientName


def test_big_endian_input_is_written_big_endian_with_changed_values_readable() -> None:
    source = Path(get_testdata_file("MR_small_bigendian.dcm")).read_bytes()
    original = dcmread(BytesIO(source))
    data, out = written(source, "research")
    assert out.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    # Values the profile changed were encoded big endian too: they read back as valid values.
    assert out.SOPInstanceUID == KEYRING.uid(str(original.SOPInstanceUID))
    assert out.StudyInstanceUID == KEYRING.uid(str(original.StudyInstanceUID))
    assert str(out.PatientName).startswith("P")
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    # A kept multi-byte number keeps its big-endian bytes.
    assert raw_value(out, 0x00280010) == int(original.Rows).to_bytes(2, "big")
    assert data[128:132] == b"DICM"


# --- 6. stamp and file meta ----------------------------------------------------------------------


def _group_length(group: int, implicit: bool) -> bytes:
    """A (gggg,0000) UL element as a file would hold it (pydicom no longer writes them itself)."""
    head = group.to_bytes(2, "little") + b"\x00\x00"
    return head + (b"\x04\x00\x00\x00" if implicit else b"UL\x04\x00") + (1234).to_bytes(4, "little")


def stamp_input(transfer_syntax: str) -> bytes:
    ds = image(PatientName="Doe^Jane", StudyDate="20200315")
    ds.add_new(0x00041130, "CS", "FILESET1")  # a directory element that has no place in an instance
    nested = item(ReferencedSOPInstanceUID=SOP_UID)
    nested.is_undefined_length_sequence_item = True  # so that bytes can go into the item
    ds.ReferencedSeriesSequence = [nested]
    ds["ReferencedSeriesSequence"].is_undefined_length = True
    meta = FileMetaDataset()
    meta.SourceApplicationEntityTitle = "SENDER_AE_7"
    meta.ImplementationVersionName = "SENDER_1"
    data = encode(ds, transfer_syntax, meta)
    implicit = transfer_syntax == ImplicitVRLittleEndian
    data = _insert_before(data, 0x00080016, _group_length(0x0008, implicit))  # top level
    data = _insert_before(data, 0x00081155, _group_length(0x0008, implicit))  # in the item
    return data


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
@pytest.mark.parametrize(
    ("profile", "options", "codes", "temporal"),
    [
        ("basic", (), ["113100"], "REMOVED"),
        ("research", (), ["113100", "113104", "113105", "113107", "113108", "113111"], "MODIFIED"),
        ("basic", ("retain-long-full-dates",), ["113100", "113106"], "UNMODIFIED"),
        ("basic", ("retain-long-modified-dates", "retain-uids"), ["113100", "113107", "113110"], "MODIFIED"),
    ],
)
def test_stamp_and_own_file_meta(profile: str, options, codes: list[str], temporal: str, transfer_syntax: str) -> None:
    source = stamp_input(transfer_syntax)
    original = dcmread(BytesIO(source))
    assert b"SENDER_AE_7" in source and 0x00080000 in original and 0x00041130 in original
    assert 0x00080000 in original.ReferencedSeriesSequence[0]
    assert original.ReferencedSeriesSequence[0].ReferencedSOPInstanceUID == SOP_UID
    data, out = written(source, profile, options)

    assert out.PatientIdentityRemoved == "YES"
    method = out.DeidentificationMethodCodeSequence
    assert [c.CodeValue for c in method][0] == "113100"
    assert sorted(c.CodeValue for c in method) == sorted(codes)
    assert {c.CodingSchemeDesignator for c in method} == {"DCM"}
    assert all(c.CodeMeaning for c in method)
    assert out.LongitudinalTemporalInformationModified == temporal
    assert out.DeidentificationMethod

    meta = out.file_meta
    assert meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert meta.MediaStorageSOPClassUID == out.SOPClassUID
    assert meta.ImplementationClassUID == writer.IMPLEMENTATION_CLASS_UID
    assert meta.ImplementationVersionName == writer.IMPLEMENTATION_VERSION_NAME
    assert meta.TransferSyntaxUID == transfer_syntax
    assert "SourceApplicationEntityTitle" not in meta and b"SENDER" not in data
    assert data[:128] == b"\0" * 128 and data[128:132] == b"DICM"
    if "retain-uids" in options:
        assert out.SOPInstanceUID == SOP_UID
    else:
        assert out.SOPInstanceUID == KEYRING.uid(SOP_UID)

    tags = all_tags(out)
    assert [hex(t) for t in tags if t >> 16 == 0x0004] == []
    assert [hex(t) for t in tags if t & 0xFFFF == 0] == []
    assert [hex(t) for t in tags if t >> 16 == 0x0002] == []


# --- 7. structured reports -----------------------------------------------------------------------


def code(value: str, scheme: str, meaning: str) -> Dataset:
    return item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def text_item(concept: Dataset, text: str) -> Dataset:
    return item(RelationshipType="CONTAINS", ValueType="TEXT", ConceptNameCodeSequence=[concept], TextValue=text)


SR_FINDING = "Jane Doe (MRN-4711) has a 6 mm nodule in the right upper lobe."
SR_DEEP_FINDING = "Compared with prior of Doe: stable nodule."


def sr_dataset() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = BasicTextSRStorage
    ds.SOPInstanceUID = SOP_UID
    ds.StudyInstanceUID = STUDY_UID
    ds.SeriesInstanceUID = SERIES_UID
    ds.Modality = "SR"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = PATIENT_ID
    ds.AccessionNumber = "ACC0042"
    ds.ContentDate = "20200315"
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    findings = item(
        RelationshipType="CONTAINS",
        ValueType="CONTAINER",
        ContinuityOfContent="SEPARATE",
        ConceptNameCodeSequence=[code("121070", "DCM", "Findings")],
        ContentSequence=[text_item(code("121071", "DCM", "Finding"), SR_DEEP_FINDING)],
    )
    ds.ContentSequence = [
        text_item(code("121071", "DCM", "Finding"), SR_FINDING),
        text_item(code("121022", "DCM", "Accession Number"), "ACC0042"),  # X in Table E.3.4-1
        item(
            RelationshipType="HAS OBS CONTEXT",
            ValueType="PNAME",
            ConceptNameCodeSequence=[code("121088", "DCM", "Fellow")],  # X in Table E.3.4-1
            PersonName="Roe^Richard",
        ),
        findings,
    ]
    return ds


def _concepts(items) -> list[str]:
    return [i.ConceptNameCodeSequence[0].CodeValue for i in items]


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
def test_research_cleans_sr_text_and_drops_the_items_table_e3_4_1_removes(transfer_syntax: str) -> None:
    data, out = written(encode(sr_dataset(), transfer_syntax), "research")
    content = out.ContentSequence
    # The Accession Number and Fellow items (X) are gone; the others stay, in order.
    assert _concepts(content) == ["121071", "121070"]
    finding = content[0].TextValue
    assert "nodule" in finding and "right upper lobe" in finding
    assert "Jane" not in finding and "Doe" not in finding and "4711" not in finding
    deep = content[1].ContentSequence[0].TextValue
    assert "stable nodule" in deep and "Doe" not in deep
    for text in (b"Doe", b"Jane", b"Roe", b"Richard", b"ACC0042", b"4711"):
        assert text not in data
    # The concept names are codes of a public scheme and stay.
    assert content[0].ConceptNameCodeSequence[0].CodeMeaning == "Finding"


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"])
def test_basic_replaces_sr_text_with_a_dummy(transfer_syntax: str) -> None:
    data, out = written(encode(sr_dataset(), transfer_syntax), "basic")
    content = out.ContentSequence
    texts = [i.TextValue for i in content if "TextValue" in i]
    texts.append(content[3].ContentSequence[0].TextValue)
    assert texts and all(t == "ANONYMIZED" for t in texts)
    assert b"nodule" not in data
    for text in (b"Doe", b"Jane", b"Roe", b"Richard", b"ACC0042", b"4711"):
        assert text not in data


# --- 8. a user profile's VR rule applies at depth -------------------------------------------------


def test_a_user_vr_rule_applies_at_depth_two(tmp_path: Path) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        "name: mine\n"
        "extends: basic\n"
        "rules:\n"
        '  - {select: "VR:LO", action: replace, value: "REDACTED"}\n',
        encoding="utf-8",
    )
    book = RuleBook(load_profile(profile))
    ds = image(PatientName="Doe^Jane", Manufacturer="Acme Imaging")
    depth2 = item(Manufacturer="Acme Deep", ReferencedSOPInstanceUID=SOP_UID)
    ds.StudiesContainingOtherReferencedInstancesSequence = [item(Manufacturer="Acme One", ReferencedSeriesSequence=[depth2])]
    # ... and inside a sequence the table names (whose unnamed text would otherwise be dummied)
    ds.ReferencedStudySequence = [item(ReferencedSeriesSequence=[item(Manufacturer="Acme Named")])]
    data, out = written(encode(ds), book)

    assert out.Manufacturer == "REDACTED"
    depth1 = out.StudiesContainingOtherReferencedInstancesSequence[0]
    assert depth1.Manufacturer == "REDACTED"
    assert depth1.ReferencedSeriesSequence[0].Manufacturer == "REDACTED"
    assert out.ReferencedStudySequence[0].ReferencedSeriesSequence[0].Manufacturer == "REDACTED"
    assert b"Acme" not in data
    # A rule naming the tag still wins over the VR rule (PatientID is LO).
    assert out.PatientID != "REDACTED" and out.PatientID.startswith("P")
    assert depth1.ReferencedSeriesSequence[0].ReferencedSOPInstanceUID == out.SOPInstanceUID


# --- 9. values pydicom cannot decode ---------------------------------------------------------------


def _bad_study_date(ds: Dataset) -> bytes:
    """``ds`` (with StudyDate 2020.03.15) as bytes whose StudyDate says VR FL with 10 bytes: no
    whole number of floats, so pydicom cannot decode it.  The element keeps its length, so an
    enclosing sequence's length stays right."""
    data = encode(ds)
    good = b"\x08\x00\x20\x00DA\x0a\x002020.03.15"
    bad = b"\x08\x00\x20\x00FL\x0a\x002020.03.15"
    assert data.count(good) == 1
    return data.replace(good, bad)


@pytest.mark.parametrize("depth", [0, 2])
def test_an_undecodable_value_an_action_reads_is_an_error_naming_the_tag_not_the_value(depth: int) -> None:
    if depth == 0:
        ds = image(PatientName="Doe^Jane", StudyDate="2020.03.15")
    else:
        inner = item(StudyDate="2020.03.15")
        ds = image(PatientName="Doe^Jane", ReferencedStudySequence=[item(ReferencedSeriesSequence=[inner])])
    outcome = run(_bad_study_date(ds), "basic")
    assert outcome.status == "error"
    assert outcome.data is None
    assert "(0008,0020)" in outcome.reason
    assert "2020" not in outcome.reason and "Doe" not in outcome.reason


def test_an_undecodable_value_no_action_reads_is_kept_raw_under_basic() -> None:
    # Rows (US) with 3 bytes: kept elements are never decoded, so basic passes it on as it was.
    ds = image(PatientName="Doe^Jane")
    ds.add_new(0x00280010, "US", 64)
    data = encode(ds)
    good = b"\x28\x00\x10\x00US\x02\x00\x40\x00"
    assert data.count(good) == 1
    source = data.replace(good, b"\x28\x00\x10\x00US\x03\x00\x40\x00\x00")
    out_data, out = written(source, "basic")
    assert out.get_item(0x00280010).value == b"\x40\x00\x00"
    assert b"Doe" not in out_data


@pytest.mark.parametrize("case", ["action-reads-it", "kept-element"])
def test_research_reports_an_undecodable_value_as_an_error_without_the_value(case: str) -> None:
    if case == "action-reads-it":
        source = _bad_study_date(image(PatientName="Doe^Jane", StudyDate="2020.03.15"))
        tag = "(0008,0020)"
    else:
        ds = image(PatientName="Doe^Jane")
        ds.add_new(0x00180088, "DS", "1.25")  # SpacingBetweenSlices: kept under every profile
        data = encode(ds)
        good = b"\x18\x00\x88\x00DS\x04\x001.25"
        assert data.count(good) == 1
        source = data.replace(good, b"\x18\x00\x88\x00FD\x04\x001.25")
        tag = "(0018,0088)"
    try:
        outcome = run(source, "research")
    except Exception as exc:  # what a run's log would show
        assert "2020" not in str(exc) and "1.25" not in str(exc)
        raise
    assert outcome.status in ("error", "written")
    if outcome.status == "error":
        assert tag in outcome.reason and "2020" not in outcome.reason
