"""Every action of the registry, fed the value types pydicom really produces."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from pydicom import config, dcmread
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.multival import MultiValue
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian
from pydicom.valuerep import PersonName, validate_value

from deidentify.actions import ACTIONS, REMOVE, Withheld, code_for, is_well_known
from deidentify.actions.base import MAX_LENGTH
from deidentify.detect import OwnValuesDetector, default_detectors
from deidentify.profile import Settings
from deidentify.profile.load import ACTION_ARGS

OTHER_KEY = bytes(range(1, 33))  # any key but the one make_ctx uses by default

PATIENT_ID = 0x00100020


def multi(*values: str) -> MultiValue:
    return MultiValue(str, list(values))


def tag_of(vr: str) -> int:
    """A current public tag of ``vr`` from the DICOM dictionary, single-valued where there is one."""
    tags = [
        (vm != "1", tag)
        for tag, (entry_vr, vm, _name, retired, keyword) in DicomDictionary.items()
        if entry_vr == vr and not retired and keyword and tag >> 16 not in (0x0000, 0x0002)
    ]
    return min(tags)[1]


def roundtrip(vr: str, value: object) -> DataElement:
    """Write ``value`` as an element of ``vr`` to an explicit-VR file and read it back."""
    ds = Dataset()
    tag = tag_of(vr)
    ds[tag] = DataElement(tag, vr, value)
    buffer = BytesIO()
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)
    buffer.seek(0)
    back = dcmread(buffer, force=True)
    return back[tag]


# --- the registry -----------------------------------------------------------------------------


def test_registry_names_match_what_profiles_may_use() -> None:
    assert set(ACTIONS) == set(ACTION_ARGS)


# --- remove, empty, keep ----------------------------------------------------------------------

VALUES = [
    ("LO", "St. Elsewhere"),
    ("PN", PersonName("Doe^Jane")),
    ("LO", multi("ALPHA", "BETA")),
    ("OB", b"\x01\x02\x03\x04"),
    ("US", 512),
    ("SQ", [Dataset()]),
]


@pytest.mark.parametrize(("vr", "value"), VALUES)
def test_remove_always_removes(make_ctx, vr, value) -> None:
    assert ACTIONS["remove"](value, make_ctx(vr)) is REMOVE


@pytest.mark.parametrize(("vr", "value"), VALUES)
def test_keep_returns_the_very_value(make_ctx, vr, value) -> None:
    assert ACTIONS["keep"](value, make_ctx(vr)) is value


@pytest.mark.parametrize(
    ("vr", "value"),
    [("LO", "St. Elsewhere"), ("PN", PersonName("Doe^Jane")), ("LO", multi("A", "B")), ("OB", b"\x01\x02"),
     ("SQ", [Dataset()]), ("DA", "20240131"), ("UI", "1.2.3.4")],
)
def test_empty_gives_a_zero_length_value_of_the_vr(make_ctx, vr, value) -> None:
    new = ACTIONS["empty"](value, make_ctx(vr))
    assert new is not REMOVE
    elem = DataElement(tag_of(vr), vr, new)
    assert elem.is_empty
    assert roundtrip(vr, new).is_empty


# --- dummy ------------------------------------------------------------------------------------

DUMMY_VRS = ["AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT",
             "FD", "FL", "SL", "SS", "SV", "UL", "US", "UV"]


@pytest.mark.parametrize("vr", DUMMY_VRS)
def test_dummy_is_non_empty_and_valid_for_the_vr(make_ctx, vr) -> None:
    new = ACTIONS["dummy"]("original value", make_ctx(vr))
    assert new is not None and new != ""
    validate_value(vr, new, config.RAISE)  # pydicom's own VR rules
    if vr in MAX_LENGTH:
        assert len(str(new)) <= MAX_LENGTH[vr]
    back = roundtrip(vr, new)
    assert not back.is_empty


def test_dummy_dates_and_times_parse() -> None:
    from deidentify.actions.dummy import _DUMMY

    assert date(int(_DUMMY["DA"][:4]), int(_DUMMY["DA"][4:6]), int(_DUMMY["DA"][6:8]))
    assert re.fullmatch(r"([01]\d|2[0-3])[0-5]\d[0-5]\d", _DUMMY["TM"])
    assert re.fullmatch(r"\d{3}[DWMY]", _DUMMY["AS"])


def test_dummy_uid_is_a_valid_uid(make_ctx) -> None:
    new = ACTIONS["dummy"]("1.2.3.4.5", make_ctx("UI"))
    assert UID(new).is_valid
    assert new != "1.2.3.4.5"


def test_dummy_person_name_hides_the_name(make_ctx) -> None:
    new = ACTIONS["dummy"](PersonName("Doe^Jane"), make_ctx("PN"))
    assert "Doe" not in str(new) and "Jane" not in str(new)
    assert str(roundtrip("PN", new).value) == str(new)


@pytest.mark.parametrize("vr", ["OB", "OW", "UN"])
def test_dummy_binary_is_even_non_zero_length(make_ctx, vr) -> None:
    new = ACTIONS["dummy"](b"secret bytes", make_ctx(vr))
    assert isinstance(new, bytes) and len(new) > 0 and len(new) % 2 == 0
    assert b"secret" not in new


def test_dummy_sequence_is_a_sequence_with_an_item(make_ctx) -> None:
    item = Dataset()
    item.PatientName = "Doe^Jane"
    new = ACTIONS["dummy"]([item], make_ctx("SQ"))
    assert len(new) >= 1 and all(isinstance(i, Dataset) for i in new)
    assert all("PatientName" not in i for i in new)
    assert len(roundtrip("SQ", new).value) == len(new)


# --- clean ------------------------------------------------------------------------------------


@pytest.fixture
def clean_detectors():
    ds = Dataset()
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "MRN-123456"
    return [OwnValuesDetector.from_dataset(ds), *default_detectors()]


NOTE = "Jürgen Müller (MRN-123456) called 555-0199, mail j.doe@example.org. CT chest with contrast."
SECRETS = ["Müller", "Jürgen", "MRN-123456", "123456", "555-0199", "j.doe@example.org"]


def test_clean_removes_own_values_and_patterns(make_ctx, clean_detectors) -> None:
    cleaned = ACTIONS["clean"](NOTE, make_ctx("LT", detectors=clean_detectors))
    assert not [s for s in SECRETS if s in cleaned]
    assert cleaned == "*** (***) called ***, mail ***. CT chest with contrast."


def test_clean_handles_person_name_and_multivalue(make_ctx, clean_detectors) -> None:
    name = ACTIONS["clean"](PersonName("Müller^Jürgen"), make_ctx("PN", detectors=clean_detectors))
    assert "Müller" not in str(name) and "Jürgen" not in str(name)
    values = ACTIONS["clean"](multi("ref MRN-123456", "CT HEAD"), make_ctx("LO", detectors=clean_detectors))
    assert len(values) == 2
    assert "123456" not in values[0] and values[1] == "CT HEAD"


def test_clean_without_findings_leaves_text_and_fits_the_vr(make_ctx, clean_detectors) -> None:
    assert ACTIONS["clean"]("CT HEAD W/O", make_ctx("LO", detectors=clean_detectors)) == "CT HEAD W/O"
    long = ACTIONS["clean"]("A" * 40, make_ctx("SH", detectors=clean_detectors))
    assert len(long) == MAX_LENGTH["SH"]


# --- uid --------------------------------------------------------------------------------------


def test_uid_maps_deterministically_to_a_valid_2_25_uid(make_ctx) -> None:
    original = "1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345678901"
    first = ACTIONS["uid"](original, make_ctx("UI"))
    assert first == ACTIONS["uid"](original, make_ctx("UI"))
    assert re.fullmatch(r"2\.25\.(0|[1-9]\d*)", first)
    assert len(first) <= 64 and UID(first).is_valid
    assert first != ACTIONS["uid"](original + "1", make_ctx("UI"))
    # Trailing padding of the encoded value does not change the mapping.
    assert ACTIONS["uid"](original + "\0", make_ctx("UI")) == first
    # Another key, another mapping.
    assert ACTIONS["uid"](original, make_ctx("UI", key=OTHER_KEY)) != first


@pytest.mark.parametrize("known", [ExplicitVRLittleEndian, CTImageStorage, "1.2.840.10008.1.1", "1.2.840.10008.2.16.4"])
def test_uid_leaves_well_known_uids_alone(make_ctx, known) -> None:
    assert is_well_known(known)
    assert ACTIONS["uid"](known, make_ctx("UI")) == known


def test_uid_maps_each_value_of_a_multivalue(make_ctx) -> None:
    ctx = make_ctx("UI")
    values = ACTIONS["uid"](multi("1.2.3.4", CTImageStorage), ctx)
    assert values == [ACTIONS["uid"]("1.2.3.4", ctx), CTImageStorage]


# --- pseudonym --------------------------------------------------------------------------------


def test_pseudonym_is_stable_keyed_and_fits_the_vr(make_ctx) -> None:
    first = ACTIONS["pseudonym"]("MRN-123456", make_ctx("LO"))
    assert first == ACTIONS["pseudonym"]("MRN-123456", make_ctx("LO"))
    assert first != ACTIONS["pseudonym"]("MRN-123457", make_ctx("LO"))
    assert first != ACTIONS["pseudonym"]("MRN-123456", make_ctx("LO", key=OTHER_KEY))
    assert "123456" not in first
    for vr in ("AE", "CS", "SH", "LO", "PN"):
        assert len(ACTIONS["pseudonym"]("MRN-123456", make_ctx(vr))) <= MAX_LENGTH[vr]
    validate_value("SH", ACTIONS["pseudonym"]("MRN-123456", make_ctx("SH")), config.RAISE)


def test_pseudonym_of_a_name_from_patient_id_matches_the_id(make_ctx) -> None:
    id_code = ACTIONS["pseudonym"]("MRN-123456", make_ctx("LO"))
    ctx = make_ctx("PN", args={"from": "PatientID"}, originals={PATIENT_ID: "MRN-123456"})
    name_code = ACTIONS["pseudonym"](PersonName("Doe^Jane"), ctx)
    assert name_code == id_code == code_for("MRN-123456", ctx)
    assert "Doe" not in name_code


def test_pseudonym_from_a_missing_element_uses_the_patient_key(make_ctx) -> None:
    ctx = make_ctx("PN", args={"from": "PatientID"}, patient_key="Doe^Jane", originals={})
    assert ACTIONS["pseudonym"]("Doe^Jane", ctx) == code_for("Doe^Jane", ctx)


def test_pseudonym_of_person_name_and_multivalue(make_ctx) -> None:
    ctx = make_ctx("PN")
    assert ACTIONS["pseudonym"](PersonName("Doe^Jane"), ctx) == ACTIONS["pseudonym"]("Doe^Jane", ctx)
    assert ACTIONS["pseudonym"](multi("A1", "B2"), make_ctx("LO")) == [
        ACTIONS["pseudonym"]("A1", make_ctx("LO")),
        ACTIONS["pseudonym"]("B2", make_ctx("LO")),
    ]


# --- shift ------------------------------------------------------------------------------------


def shifted(text: str, days: int) -> str:
    moved = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    return moved.strftime("%Y%m%d")


def test_shift_moves_a_date_by_the_patient_offset(make_ctx) -> None:
    assert ACTIONS["shift"]("20240131", make_ctx("DA", day_offset=-100)) == shifted("20240131", -100)
    assert ACTIONS["shift"]("20240301", make_ctx("DA", day_offset=-1)) == "20240229"  # leap year
    assert ACTIONS["shift"]("2024.03.01", make_ctx("DA", day_offset=-1)) == "20240229"  # ACR-NEMA form


def test_shift_keeps_intervals(make_ctx) -> None:
    ctx = make_ctx("DA", day_offset=-1234)
    a, b = ACTIONS["shift"]("20200115", ctx), ACTIONS["shift"]("20230607", ctx)
    span = date(int(b[:4]), int(b[4:6]), int(b[6:])) - date(int(a[:4]), int(a[4:6]), int(a[6:]))
    assert span == date(2023, 6, 7) - date(2020, 1, 15)


def test_shift_datetime_moves_the_date_and_keeps_time_and_offset(make_ctx) -> None:
    ctx = make_ctx("DT", day_offset=-40)
    assert ACTIONS["shift"]("20240131123456.789012+0100", ctx) == shifted("20240131", -40) + "123456.789012+0100"
    assert ACTIONS["shift"]("20240131", ctx) == shifted("20240131", -40)


def test_shift_each_value_of_a_multivalue(make_ctx) -> None:
    ctx = make_ctx("DA", day_offset=-7)
    assert ACTIONS["shift"](multi("20240131", "20240201"), ctx) == [shifted("20240131", -7), shifted("20240201", -7)]


@pytest.mark.parametrize(("vr", "value"), [("DA", "20240231"), ("DA", "not a date"), ("DT", "2024"), ("DT", "202401")])
def test_shift_replaces_what_it_cannot_shift(make_ctx, vr, value) -> None:
    new = ACTIONS["shift"](value, make_ctx(vr))
    assert new == "19000101"
    validate_value(vr, new, config.RAISE)


def test_shift_leaves_a_time_of_day_valid(make_ctx) -> None:
    # Whole-day shifts do not move the time of day; a date in a TM would be invalid.
    assert ACTIONS["shift"]("123456", make_ctx("TM")) == "123456"


def test_shift_of_empty_value_stays_empty(make_ctx) -> None:
    assert ACTIONS["shift"]("", make_ctx("DA")) == ""
    assert ACTIONS["shift"](None, make_ctx("DA")) is None


# --- year-only --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vr", "value", "expected"),
    [("DA", "20240131", "20240101"), ("DT", "20240131123456", "2024"), ("DA", "garbage", "19000101"),
     ("DT", "", "")],
)
def test_year_only(make_ctx, vr, value, expected) -> None:
    assert ACTIONS["year-only"](value, make_ctx(vr)) == expected


def test_year_only_multivalue(make_ctx) -> None:
    assert ACTIONS["year-only"](multi("19991231", "20000101"), make_ctx("DA")) == ["19990101", "20000101"]


# --- age-cap ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("045Y", "045Y"),
        ("089Y", "089Y"),
        ("090Y", "090Y"),
        ("095Y", "090Y"),
        ("120Y", "090Y"),
        ("030D", "030D"),
        ("010W", "010W"),
        ("011M", "011M"),
        ("999M", "999M"),  # 83 years
        ("999W", "999W"),  # 19 years
        ("45", "090Y"),  # unreadable: cannot be shown to be under the cap
    ],
)
def test_age_cap(make_ctx, value, expected) -> None:
    assert ACTIONS["age-cap"](value, make_ctx("AS")) == expected


def test_age_cap_follows_the_setting_in_every_unit(make_ctx) -> None:
    ctx = make_ctx("AS", settings=Settings(age_cap_years=50))
    assert ACTIONS["age-cap"]("050Y", ctx) == "050Y"
    assert ACTIONS["age-cap"]("051Y", ctx) == "051Y"
    assert ACTIONS["age-cap"]("612M", ctx) == "051Y"  # 51 years in months
    assert ACTIONS["age-cap"]("600M", ctx) == "600M"  # exactly 50 years
    assert ACTIONS["age-cap"](multi("030Y", "070Y"), ctx) == ["030Y", "051Y"]


# --- replace and regex ------------------------------------------------------------------------


def test_replace_puts_the_literal_and_fits_the_vr(make_ctx) -> None:
    assert ACTIONS["replace"]("St. Elsewhere", make_ctx("LO", args={"value": "REDACTED"})) == "REDACTED"
    assert ACTIONS["replace"](PersonName("Doe^Jane"), make_ctx("PN", args={"value": "Anon^Patient"})) == "Anon^Patient"
    long = ACTIONS["replace"]("x", make_ctx("SH", args={"value": "A very long replacement text"}))
    assert long == "A very long repl" and len(long) == MAX_LENGTH["SH"]
    assert ACTIONS["replace"](512, make_ctx("US", args={"value": 0})) == 0


def test_regex_substitutes_in_each_value_and_fits(make_ctx) -> None:
    ctx = make_ctx("LO", args={"pattern": r"\d{3}-\d{4}", "repl": "XXX-XXXX"})
    assert ACTIONS["regex"]("call 555-0199 now", ctx) == "call XXX-XXXX now"
    assert ACTIONS["regex"](multi("555-0199", "none"), ctx) == ["XXX-XXXX", "none"]
    grown = ACTIONS["regex"]("a" * 10, make_ctx("SH", args={"pattern": "a", "repl": "bb"}))
    assert grown == "b" * 16
    named = ACTIONS["regex"](PersonName("Doe^Jane"), make_ctx("PN", args={"pattern": r"\^.*", "repl": ""}))
    assert named == "Doe"


@pytest.mark.parametrize("name", ["clean", "regex"])
@pytest.mark.parametrize("vr", ["OB", "UN"])
def test_a_text_action_on_bytes_withholds_rather_than_write_their_repr(name: str, vr: str, make_ctx) -> None:
    """Read as text, b"MUELLER" is "b'MUELLER'": written back into the element, every byte would leave."""
    ctx = make_ctx(vr, args={"pattern": "x", "repl": "y"})
    with pytest.raises(Withheld, match=f"a {name} rule reads text, and {vr} values are bytes"):
        ACTIONS[name](b"MUELLER^HANS", ctx)
