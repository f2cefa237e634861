"""Plan: PS3.15 codes resolved per VR, rule look-up order, options, and the VR rules select by."""

from __future__ import annotations

import pytest
from pydicom import config
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pydicom.valuerep import validate_value

from deidentify.actions import ACTIONS, ElementContext
from deidentify.keys import Keyring
from deidentify.plan import PATIENT_ID, Detectors, RuleBook, element_vr, make_plan, plan_for, step_for_code
from deidentify.profile import Profile, Rule, Settings, load_profile, parse_selector
from deidentify.profile.model import CODES

UNKNOWN_PUBLIC = 0x0018FFF0  # an even-group tag the DICOM dictionary does not define
PRIVATE_TAG = 0x00291010  # block 0x10 of group 0029, element offset 0x10


def rule(select: str, action: str, *, value: str | None = None, options: dict[str, str] | None = None,
         when: str | None = None) -> Rule:
    return Rule(
        selector=parse_selector(select),
        action=action,
        origin=f"test:{select}",
        args={"value": value} if value is not None else {},
        options=options or {},
        when=when,
    )


def book(*rules: Rule, options: tuple[str, ...] = ()) -> RuleBook:
    profile = Profile(
        name="test", description="", options=frozenset(options), settings=Settings(),
        rules=tuple(rules), content_items=(), files=(),
    )
    return RuleBook(profile)


@pytest.fixture(scope="module")
def basic() -> RuleBook:
    return RuleBook(load_profile("basic"))


@pytest.fixture(scope="module")
def research() -> RuleBook:
    return RuleBook(load_profile("research"))


# --- step_for_code ----------------------------------------------------------------------------

STEPS = [
    # code, vr, private, kind, name
    ("X", "LO", False, "remove", "remove"),
    ("X", "SQ", False, "remove", "remove"),
    ("X", "UI", False, "remove", "remove"),
    ("Z", "LO", False, "apply", "empty"),
    ("Z", "DA", False, "apply", "empty"),
    ("Z", "UI", False, "apply", "empty"),
    ("Z", "SQ", False, "apply", "empty"),
    ("D", "LO", False, "apply", "dummy"),
    ("D", "DA", False, "apply", "dummy"),
    ("D", "US", False, "apply", "dummy"),
    ("D", "UI", False, "apply", "uid"),
    ("D", "SQ", False, "recurse", "D"),
    ("K", "LO", False, "keep", "keep"),
    ("K", "UI", False, "keep", "keep"),
    ("K", "SQ", False, "recurse", "keep"),
    ("C", "LO", False, "apply", "clean"),
    ("C", "PN", False, "apply", "clean"),
    ("C", "AE", False, "apply", "clean"),
    ("C", "DA", False, "apply", "shift"),
    ("C", "DT", False, "apply", "shift"),
    ("C", "TM", False, "keep", "keep"),  # whole-day shifts leave the time of day
    ("C", "AS", False, "apply", "age-cap"),
    ("C", "UI", False, "apply", "uid"),
    ("C", "US", False, "remove", "remove"),  # only text, dates and ages can be cleaned
    ("C", "SQ", False, "recurse", "C"),
    ("U", "UI", False, "apply", "uid"),
    ("U", "SQ", False, "recurse", "U"),
    ("Z/D", "LO", False, "apply", "dummy"),
    ("Z/D", "UI", False, "apply", "uid"),
    ("Z/D", "SQ", False, "recurse", "Z/D"),
    ("X/Z", "LO", False, "apply", "empty"),
    ("X/Z", "SQ", False, "recurse", "X/Z"),  # only Z empties a sequence
    ("X/D", "LO", False, "apply", "dummy"),
    ("X/D", "UI", False, "apply", "uid"),
    ("X/D", "SQ", False, "recurse", "X/D"),
    ("X/Z/D", "LO", False, "apply", "dummy"),
    ("X/Z/D", "DA", False, "apply", "dummy"),
    ("X/Z/D", "SQ", False, "recurse", "X/Z/D"),
    ("X/Z/U*", "SQ", False, "recurse", "X/Z/U*"),
    ("X/Z/U*", "UI", False, "apply", "uid"),
    ("X/Z/U*", "LO", False, "apply", "empty"),
    # Private elements: "clean" means "keep only if a safe-private rule names it", so C removes.
    ("C", "LO", True, "remove", "remove"),
    ("C", "SQ", True, "remove", "remove"),
    ("C", "UN", True, "remove", "remove"),
    ("X", "LO", True, "remove", "remove"),
    ("K", "DS", True, "keep", "keep"),
    ("K", "SQ", True, "recurse", "keep"),
    # Action names from user profiles.
    ("keep", "LO", False, "keep", "keep"),
    ("keep", "SQ", False, "recurse", "keep"),
    ("clean", "SQ", False, "recurse", "clean"),
    ("clean", "LO", False, "apply", "clean"),
    ("remove", "SQ", False, "remove", "remove"),
    ("pseudonym", "LO", False, "apply", "pseudonym"),
    ("year-only", "DA", False, "apply", "year-only"),
]


@pytest.mark.parametrize(("code", "vr", "private", "kind", "name"), STEPS)
def test_step_for_code(code: str, vr: str, private: bool, kind: str, name: str) -> None:
    step = step_for_code(code, vr, private=private)
    assert (step.kind, step.name) == (kind, name)
    if kind == "apply":
        assert step.action is ACTIONS[name]
    else:
        assert step.action is None


def test_every_code_of_the_standard_is_resolved_for_every_kind_of_element() -> None:
    assert {code for code, *_ in STEPS} >= CODES
    for code in CODES:
        for vr in ("LO", "PN", "DA", "DT", "TM", "UI", "US", "OB", "UN", "SQ"):
            assert step_for_code(code, vr).kind in ("keep", "remove", "recurse", "apply")


@pytest.mark.parametrize(
    ("code", "vr", "value"),
    [("D", "DA", "20240131"), ("D", "TM", "101500"), ("D", "DT", "20240131101500"), ("D", "PN", "Doe^Jane"),
     ("D", "UI", "1.2.3.4"), ("Z/D", "LO", "St. Elsewhere"), ("X/D", "DS", "71.5"), ("U", "UI", "1.2.3.4"),
     ("C", "DA", "20240131"), ("C", "AS", "095Y")],
)
def test_resolved_steps_write_valid_values_of_the_vr(make_ctx, code: str, vr: str, value: str) -> None:
    step = step_for_code(code, vr)
    assert step.kind == "apply" and step.action is not None
    new = step.action(value, make_ctx(vr))
    assert new not in (None, "", value)
    validate_value(vr, new, config.RAISE)
    if vr == "UI":
        assert UID(new).is_valid


def test_a_step_carries_its_rules_arguments_and_origin() -> None:
    r = rule("InstitutionName", "replace", value="SITE")
    step = step_for_code("replace", "LO", r)
    assert step.args == {"value": "SITE"} and step.origin == "test:InstitutionName"
    assert step.args is not r.args  # a copy: nobody changes the profile through a step
    assert step_for_code("X", "LO", r).origin == "test:InstitutionName"


# --- RuleBook: look-up order ------------------------------------------------------------------

PRIVATE_RULES = [
    rule("0029,1010", "replace", value="exact"),
    rule('(0029,"ACME",10)', "replace", value="creator"),
    rule("0029,xxxx", "replace", value="wildcard"),
    rule("private", "replace", value="class"),
    rule("VR:LO", "replace", value="vr"),
]


def chosen(b: RuleBook, tag: int, vr: str, creator: str | None = None) -> str:
    step = b.step(tag, vr, creator)
    return step.args["value"] if step.kind == "apply" else step.kind


def test_lookup_order_for_a_private_element() -> None:
    expected = ["exact", "creator", "wildcard", "class", "vr", "keep"]
    for dropped in range(len(PRIVATE_RULES) + 1):
        rules = PRIVATE_RULES[dropped:]
        assert chosen(book(*rules), PRIVATE_TAG, "LO", "ACME") == expected[dropped]
        # The order the rules are written in does not change which kind wins.
        assert chosen(book(*reversed(rules)), PRIVATE_TAG, "LO", "ACME") == expected[dropped]


def test_a_creator_rule_needs_that_creator() -> None:
    b = book(*PRIVATE_RULES[1:])
    assert chosen(b, PRIVATE_TAG, "LO", "ACME") == "creator"
    assert chosen(b, PRIVATE_TAG, "LO", "OTHER VENDOR") == "wildcard"
    assert chosen(b, PRIVATE_TAG, "LO", None) == "wildcard"
    assert chosen(book(*PRIVATE_RULES[3:]), PRIVATE_TAG, "LO", "OTHER VENDOR") == "class"


def test_lookup_order_for_a_public_element() -> None:
    rules = [
        rule("PatientName", "replace", value="exact"),
        rule("0010,xxxx", "replace", value="wildcard"),
        rule("private", "replace", value="private"),
        rule("unknown", "replace", value="unknown"),
        rule("VR:PN", "replace", value="vr"),
    ]
    assert chosen(book(*rules), 0x00100010, "PN") == "exact"
    assert chosen(book(*rules[1:]), 0x00100010, "PN") == "wildcard"
    # Classes are for private and unknown elements; a known public element falls to its VR.
    assert chosen(book(*rules[2:]), 0x00100010, "PN") == "vr"
    assert chosen(book(*rules[2:4]), 0x00100010, "PN") == "keep"


def test_lookup_order_for_an_unknown_public_element() -> None:
    rules = [
        rule("0018,fff0", "replace", value="exact"),
        rule("0018,fxxx", "replace", value="wildcard"),
        rule("unknown", "replace", value="unknown"),
        rule("private", "replace", value="private"),
    ]
    assert chosen(book(*rules), UNKNOWN_PUBLIC, "") == "exact"
    assert chosen(book(*rules[1:]), UNKNOWN_PUBLIC, "") == "wildcard"
    assert chosen(book(*rules[2:]), UNKNOWN_PUBLIC, "") == "unknown"
    assert chosen(book(*rules[3:]), UNKNOWN_PUBLIC, "") == "keep"


def test_a_later_rule_for_the_same_selector_wins() -> None:
    b = book(rule("PatientName", "replace", value="first"), rule("(0010,0010)", "replace", value="second"))
    assert chosen(b, 0x00100010, "PN") == "second"
    w = book(rule("60xx,xxxx", "replace", value="broad"), rule("60xx,3000", "replace", value="narrow"))
    assert chosen(w, 0x60003000, "OB") == "narrow"
    assert chosen(w, 0x60004000, "LT") == "broad"


def test_rules_apply_at_their_vr() -> None:
    b = book(rule("VR:DA", "X"), rule("VR:SQ", "K"))
    assert b.step(0x00080020, "DA").kind == "remove"
    assert b.step(0x00080030, "TM").kind == "keep"
    assert b.step(0x00081110, "SQ").kind == "recurse"


# --- RuleBook: options ------------------------------------------------------------------------


def test_an_option_replaces_the_basic_code() -> None:
    r = rule("StudyDescription", "X", options={"clean-descriptors": "C"})
    assert book(r).step(0x00081030, "LO").kind == "remove"
    assert book(r, options=("clean-descriptors",)).step(0x00081030, "LO").name == "clean"
    assert book(r, options=("retain-uids",)).step(0x00081030, "LO").kind == "remove"


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ((), "remove"),
        (("retain-long-modified-dates",), "shift"),
        (("retain-device-identity",), "keep"),
        (("retain-long-full-dates",), "keep"),
        (("retain-device-identity", "retain-long-modified-dates"), "keep"),  # K wins over C
    ],
)
def test_options_on_a_real_row(options: tuple[str, ...], name: str) -> None:
    # CalibrationDate (0014,407E): X; Retain Device Identity K, Full Dates K, Modified Dates C.
    b = RuleBook(load_profile("basic", options=options))
    assert b.step(0x0014407E, "DA").name == name


def test_k_wins_over_c_whatever_the_order_of_options() -> None:
    r = rule("StationName", "X", options={"clean-descriptors": "C", "retain-device-identity": "K"})
    for options in (("clean-descriptors", "retain-device-identity"), ("retain-device-identity", "clean-descriptors")):
        assert book(r, options=options).code(r) == "K"


def test_a_when_rule_applies_only_under_its_option(basic: RuleBook) -> None:
    philips_suv = 0x70531000  # (7053,xx00) in block 0x10
    assert basic.step(philips_suv, "DS", "PHILIPS PET PRIVATE GROUP").kind == "remove"
    safe = RuleBook(load_profile("basic", options=("retain-safe-private",)))
    assert safe.step(philips_suv, "DS", "PHILIPS PET PRIVATE GROUP").kind == "keep"
    # Other private elements are still removed under the option.
    assert safe.step(philips_suv, "DS", "SOMEONE ELSE").kind == "remove"
    assert safe.step(0x70531001, "DS", "PHILIPS PET PRIVATE GROUP").kind == "remove"


# --- the built-in profiles compiled -----------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "vr", "kind", "name"),
    [
        (0x00100010, "PN", "apply", "pseudonym"),  # PatientName
        (0x00100020, "LO", "apply", "pseudonym"),  # PatientID
        (0x0020000D, "UI", "apply", "uid"),  # StudyInstanceUID
        (0x00080016, "UI", "apply", "uid"),  # SOPClassUID: not in the table, VR:UI; uid() leaves it
        (0x00080020, "DA", "apply", "empty"),  # StudyDate: Z
        (0x00080030, "TM", "apply", "empty"),  # StudyTime: Z
        (0x00101010, "AS", "remove", "remove"),  # PatientAge: X
        (0x00081030, "LO", "remove", "remove"),  # StudyDescription: X
        (0x0040A730, "SQ", "recurse", "D"),  # ContentSequence: D
        (0x00080060, "CS", "keep", "keep"),  # Modality: not named
        (0x7FE00010, "OB", "keep", "keep"),  # PixelData: pixels are the pixel stage's
        (0x60003000, "OB", "remove", "remove"),  # OverlayData, wildcard 60xx,3000
        (0x50000010, "US", "remove", "remove"),  # curve data, wildcard 50xx,xxxx
        (0x0040A160, "UT", "apply", "dummy"),  # TextValue: basic's own rule
        (0x00321032, "PN", "remove", "remove"),  # RequestingPhysician: X
        (0x00142006, "PN", "apply", "empty"),  # EvaluatorName: not named, VR:PN Z
        (0x00081050, "PN", "remove", "remove"),  # PerformingPhysicianName: X
        (0x00400244, "DA", "remove", "remove"),  # PerformedProcedureStepStartDate: X
        (0x00141020, "DA", "apply", "dummy"),  # ExpiryDate: not named, VR:DA D
        (0x00080051, "SQ", "recurse", "keep"),  # IssuerOfAccessionNumberSequence: not named, items cleaned
        (UNKNOWN_PUBLIC, "", "remove", "remove"),
        (PRIVATE_TAG, "LO", "remove", "remove"),
    ],
)
def test_basic_steps(basic: RuleBook, tag: int, vr: str, kind: str, name: str) -> None:
    step = basic.step(tag, vr, "ACME" if tag & 0x10000 else None)
    assert (step.kind, step.name) == (kind, name)


def test_basic_pseudonym_of_the_name_derives_from_patient_id(basic: RuleBook) -> None:
    assert basic.step(0x00100010, "PN").args == {"from": "PatientID"}
    assert basic.from_tags == {PATIENT_ID}


@pytest.mark.parametrize(
    ("tag", "vr", "name"),
    [
        (0x00080020, "DA", "shift"),  # StudyDate: C under modified dates
        (0x0008002A, "DT", "shift"),  # AcquisitionDateTime
        (0x00080030, "TM", "keep"),  # StudyTime: C on a time keeps it
        (0x00400244, "DA", "shift"),  # PerformedProcedureStepStartDate: modified dates C
        (0x00141020, "DA", "shift"),  # ExpiryDate: VR:DA rule, modified dates C
        (0x00101010, "AS", "age-cap"),  # PatientAge: research's own rule
        (0x00101030, "DS", "keep"),  # PatientWeight: retain-patient-characteristics K
        (0x00081030, "LO", "clean"),  # StudyDescription: clean-descriptors C
        (0x0040A160, "UT", "clean"),  # TextValue under clean-structured-content
        (0x00100010, "PN", "pseudonym"),
    ],
)
def test_research_steps(research: RuleBook, tag: int, vr: str, name: str) -> None:
    assert research.step(tag, vr).name == name


def test_detectors_are_built_only_when_a_value_is_cleaned(basic: RuleBook, research: RuleBook) -> None:
    ds = Dataset()
    ds.PatientID = "MRN-123456"
    ds.PatientName = "Doe^Jane"
    keyring = Keyring(bytes(range(32)))
    reads = []
    for rules in (basic, research):  # basic cleans too: a local code's meaning
        detectors = plan_for("MRN-123456", {}, rules, keyring, lambda: reads.append(1) or ds).detectors
        assert isinstance(detectors, Detectors) and not detectors.built and reads == []
        assert any(f.kind == "name" for d in detectors for f in d.find("seen by Jane Doe"))
        assert detectors.built and reads == [1]
        reads.clear()
    plan = make_plan(ds, research, keyring)
    low, high = research.profile.settings.date_shift_days
    assert low <= plan.patient.day_offset <= high
    assert plan.patient.key == "MRN-123456"
    assert plan.patient.originals == {PATIENT_ID: "MRN-123456"}


def test_content_items_only_under_clean_structured_content(basic: RuleBook, research: RuleBook) -> None:
    assert basic.content_item_step("DCM", "121022", "TEXT", "UT") is None
    assert research.content_item_step("DCM", "121022", "TEXT", "UT").kind == "remove"  # Accession Number: X
    assert research.content_item_step("dcm", "126201", "DATE", "DA").name == "shift"  # Acquisition Date: C
    assert research.content_item_step("DCM", "121106", "TEXT", "UT").name == "clean"  # Comment: clean-descriptors C
    assert research.content_item_step("DCM", "999999", "TEXT", "UT") is None


def test_content_items_are_told_apart_by_value_type(research: RuleBook) -> None:
    # Table E.3.4-1 names 121112 twice: D for IMAGE, X for WAVEFORM.
    assert research.content_item_step("DCM", "121112", "WAVEFORM", "SQ").kind == "remove"
    assert research.content_item_step("DCM", "121112", "IMAGE", "SQ").kind != "remove"
    # A value type the table does not name for a concept named several times: no table row applies.
    assert research.content_item_step("DCM", "121112", "TEXT", "UT") is None


# --- element_vr -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "raw_vr", "expected"),
    [
        (0x00100010, "PN", "PN"),
        (0x00100010, None, "PN"),  # implicit VR: the dictionary's
        (0x00100010, "UN", "PN"),  # UN: the dictionary's
        (0x00280106, None, "US"),  # "US or SS": the first
        (0x7FE00010, None, "OB"),  # "OB or OW"
        (0x60003000, None, "OB"),  # repeating group
        (0x60023000, "OW", "OW"),
        (PRIVATE_TAG, None, "UN"),
        (PRIVATE_TAG, "UN", "UN"),
        (PRIVATE_TAG, "DS", "DS"),
        (UNKNOWN_PUBLIC, None, ""),
        (UNKNOWN_PUBLIC, "UN", ""),
    ],
)
def test_element_vr(tag: int, raw_vr: str | None, expected: str) -> None:
    assert element_vr(tag, raw_vr) == expected


# --- bugs once documented here, now fixed in plan.py --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "raw_vr"),
    [
        (0x0016002B, "OB"),  # MakerNote, C under clean-descriptors
        (0x0016004B, "OB"),  # DeviceSettingDescription, C under clean-descriptors
        (0x00340007, "OB"),  # FrameOriginTimestamp, C under retain-long-modified-dates
        (0x04000310, "OB"),  # CertifiedTimestamp, C under retain-long-modified-dates
        (0x0040A034, None),  # EffectiveStartDateTime (DT, unknown to pydicom 3.0), implicit VR
        (0x00100045, None),  # GenderIdentityComment (unknown to pydicom 3.0), implicit VR
    ],
)
def test_clean_never_keeps_what_it_cannot_clean(research: RuleBook, tag: int, raw_vr: str | None) -> None:
    assert research.step(tag, element_vr(tag, raw_vr)).kind != "keep"


def test_unknown_public_element_in_explicit_vr_is_removed(basic: RuleBook) -> None:
    assert basic.step(UNKNOWN_PUBLIC, element_vr(UNKNOWN_PUBLIC, "LO")).kind == "remove"


def test_a_wildcard_clean_rule_gets_detectors(make_ctx) -> None:
    b = book(rule("60xx,4000", "clean"))
    ds = Dataset()
    ds.PatientID = "MRN-123456"
    ds.PatientName = "Doe^Jane"
    ds.add_new(0x60004000, "LT", "overlay drawn for Jane Doe MRN-123456")
    plan = make_plan(ds, b, Keyring(bytes(range(32))))
    step = b.step(0x60004000, "LT")
    assert step.name == "clean"
    ctx: ElementContext = make_ctx("LT", detectors=plan.detectors)
    cleaned = step.action(ds[0x60004000].value, ctx)
    assert "Doe" not in cleaned and "123456" not in cleaned


@pytest.mark.parametrize(
    ("keyword", "meaning"),
    [("InstitutionCodeSequence", "St. Elsewhere General Hospital"),
     ("PersonIdentificationCodeSequence", "Dr. John Smith")],
)
def test_identifying_code_sequences_lose_their_codes(basic: RuleBook, keyword: str, meaning: str) -> None:
    from deidentify.header import clean_header
    from deidentify.header.sources.dataset import DatasetSource
    from deidentify.writer import as_dataset

    ds = Dataset()
    ds.PatientID = "MRN-123456"
    item = Dataset()
    item.CodeValue = "LOCAL-4711"
    item.CodingSchemeDesignator = "L"
    item.CodeMeaning = meaning
    setattr(ds, keyword, [item])
    out, _ = clean_header(DatasetSource(ds), make_plan(ds, basic, Keyring(bytes(range(32)))))
    assert meaning not in str(as_dataset(out)) and "LOCAL-4711" not in str(out)
