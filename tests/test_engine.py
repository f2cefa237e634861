"""One header engine, two element sources: the raw reader and pydicom's give the same bytes.

The differential test runs every file of pydicom's test files, pydicom-data,
deid-data and the sample through both sources under the built-in profiles, and
through at least 200 profiles hypothesis generates (options, VR, keyword,
private and clean rules mixed); the outputs must be byte-identical.  The
scanner the raw source stands on agrees with pydicom and survives fuzzing.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement

from deidentify.header import Declined
from deidentify.keys import Keyring
from deidentify.outcome import Outcome
from deidentify.pipeline import Reader, deidentify_bytes
from deidentify.plan import RuleBook
from deidentify.profile import load_profile
from deidentify.rawscan import ScanError, scan

ROOT = Path(__file__).resolve().parent.parent
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _corpus() -> list[Path]:
    folders = [PYDICOM_FILES, ROOT / "sample_synthetic" / "studies"]
    for module in ("data_store", "deid_data"):
        folders.append(Path(importlib.import_module(module).__file__).parent / "data")  # type: ignore[arg-type]
    return sorted(p for folder in folders for p in folder.rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".pyc"))


FILES = _corpus()
DATA = {path: path.read_bytes() for path in FILES}
KEYRING = Keyring(bytes(range(32)))

USER_PROFILE = """
name: fast-user
extends: basic
options: [retain-safe-private, retain-uids]
rules:
  - {select: StudyDescription, action: replace, value: "TRIAL"}
  - {select: SeriesDescription, action: regex, pattern: "[0-9]+", repl: "#"}
  - {select: "VR:SH", action: keep}
  - {select: AccessionNumber, action: pseudonym}
  - {select: "(0008,0090)", action: dummy}
"""


# Issue 12's reproduction: Table E.3.4-1's content-item rules, and a rule that keeps the profile
# away from the built-in shapes (the old fast path took the SR then, and kept what these remove).
SR_PROFILE = f"""
name: sr-content-items
extends: {ROOT / "profiles" / "_ps3.15-e3.4-1.yaml"}
options: [clean-structured-content]
rules:
  - {{select: "VR:UI", action: uid}}
"""
REPORT = ROOT / "sample_synthetic" / "studies" / "OESTBY_AASE_19650618" / "CT_20230303_ACC9904882" / (
    "002_Radiology_Report") / "IM0001.dcm"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


def _both(data: bytes, rules: RuleBook) -> tuple[Outcome | None, Outcome]:
    """The file through the raw source (None where it declines) and through the dataset source."""
    try:
        raw = deidentify_bytes(data, rules, KEYRING, linkage=True, reader=Reader.RAW)
    except Declined:
        raw = None
    return raw, deidentify_bytes(data, rules, KEYRING, linkage=True, reader=Reader.DATASET)


def _agree(raw: Outcome | None, dataset: Outcome, label: str) -> None:
    if raw is None:
        return
    assert (raw.status, raw.reason) == (dataset.status, dataset.reason), label
    assert raw.data == dataset.data, label
    assert (raw.name, raw.counts, raw.modality, raw.sop_class, raw.transfer_syntax, raw.transfer_syntax_out) == (
        dataset.name, dataset.counts, dataset.modality, dataset.sop_class, dataset.transfer_syntax,
        dataset.transfer_syntax_out), label
    assert (raw.uid_pairs, raw.patient_pair) == (dataset.uid_pairs, dataset.patient_pair), label


def _named(tmp: Path, text: str, name: str) -> RuleBook:
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return RuleBook(load_profile(path))


def _without_ocr(tmp: Path, base: str) -> RuleBook:
    """``base`` with OCR off: images it would read are withheld alike, and the corpus runs in minutes."""
    return _named(tmp, f"name: {Path(base).stem}-no-ocr\nextends: {base}\npixels: {{ocr: {{enabled: false}}}}\n",
                  f"{Path(base).stem}-no-ocr")


@pytest.mark.parametrize("profile", ["basic", "research", "user", "sr"])
def test_both_sources_give_the_same_bytes_for_every_corpus_file(profile: str, tmp_path: Path) -> None:
    base = {"user": str(tmp_path / "fast-user.yaml"), "sr": str(tmp_path / "sr.yaml")}.get(profile, profile)
    (tmp_path / "fast-user.yaml").write_text(USER_PROFILE)
    (tmp_path / "sr.yaml").write_text(SR_PROFILE)
    rules = _without_ocr(tmp_path, base)
    taken = 0
    for path in FILES:
        raw, dataset = _both(DATA[path], rules)
        _agree(raw, dataset, path.name)
        taken += raw is not None and raw.status == "written"
    assert taken > 90, f"{profile}: the raw source should take most explicit VR files"


# Images OCR reads under the built-in profiles as shipped: masked, assessed clean, withheld.
_READ_BY_OCR = [PYDICOM_FILES / "MR_small.dcm", PYDICOM_FILES / "SC_rgb_small_odd.dcm",
                PYDICOM_FILES / "rtdose_1frame.dcm", PYDICOM_FILES / "SC_rgb_rle_2frame.dcm",
                ROOT / "sample_synthetic" / "studies" / "KOEHLER_LIESELOTTE_19830307" / "US_20230727_ACC3636987" / (
                    "001_Liver") / "IM0001.dcm"]


@pytest.mark.parametrize("profile", ["basic", "research"])
def test_both_sources_give_the_same_bytes_where_ocr_reads_the_image(profile: str) -> None:
    rules = RuleBook(load_profile(profile))
    for path in _READ_BY_OCR:
        raw, dataset = _both(path.read_bytes(), rules)
        assert dataset.pixels is not None, path.name
        _agree(raw, dataset, path.name)


def test_sr_content_item_rules_hold_whichever_source_reads_the_file(tmp_path: Path) -> None:
    """The content-item overrides live in the one walk; both sources go through it."""
    rules = _named(tmp_path, SR_PROFILE, "sr")
    raw, dataset = _both(REPORT.read_bytes(), rules)
    assert raw is not None and raw.status == "written" and raw.data is not None
    assert raw.data == dataset.data
    # The table's rows for the subject: its name is dummied, its birth date removed (the profile
    # names no rule for the observer, so that name is the profile's business, not this test's).
    subject = next(str(item.PersonName) for item in pydicom.dcmread(REPORT).ContentSequence
                   if item.ConceptNameCodeSequence[0].CodeMeaning == "Subject Name")
    out = pydicom.dcmread(BytesIO(raw.data))
    meanings = [item.ConceptNameCodeSequence[0].CodeMeaning for item in out.ContentSequence
                if "ConceptNameCodeSequence" in item]
    assert "Subject Birth Date" not in meanings
    kept = [str(item.PersonName) for item in out.ContentSequence if "PersonName" in item
            and item.ConceptNameCodeSequence[0].CodeMeaning == "Subject Name"]
    assert kept and subject not in kept


def test_files_the_raw_source_declines_are_read_by_pydicom() -> None:
    rules = RuleBook(load_profile("basic"))
    implicit = (PYDICOM_FILES / "MR_small_implicit.dcm").read_bytes()
    with pytest.raises(Declined):
        deidentify_bytes(implicit, rules, KEYRING, reader=Reader.RAW)
    assert deidentify_bytes(implicit, rules, KEYRING).status == "written"
    # A profile that cleans free text reads its detectors from the dataset, and still takes the raw source.
    research = RuleBook(load_profile("research"))
    ct = (PYDICOM_FILES / "CT_small.dcm").read_bytes()
    assert deidentify_bytes(ct, research, KEYRING, reader=Reader.RAW).status == "written"


def test_an_image_assessed_clean_carries_the_pixel_stages_marks_from_either_source() -> None:
    """OCR read it and found no text: the pixels stay as they were, and the image says it is clean."""
    data = (PYDICOM_FILES / "MR_small.dcm").read_bytes()
    assert "BurnedInAnnotation" not in pydicom.dcmread(BytesIO(data))
    raw, dataset = _both(data, RuleBook(load_profile("basic")))
    _agree(raw, dataset, "MR_small.dcm")
    assert dataset.pixels is not None and dataset.pixels.clean_pixel_data and dataset.data is not None
    out = pydicom.dcmread(BytesIO(dataset.data))
    assert out.BurnedInAnnotation == "NO" and out.PixelData == pydicom.dcmread(BytesIO(data)).PixelData
    assert "113101" in [code.CodeValue for code in out.DeidentificationMethodCodeSequence]


def test_text_in_a_declared_character_set_is_read_as_that_set_by_the_raw_source(tmp_path: Path) -> None:
    """A UTF-8 surname in a description is found and cleaned: read as Latin-1 it would pass unrecognised."""
    ds = pydicom.dcmread(PYDICOM_FILES / "CT_small.dcm")
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Østby^Åse"
    ds.StudyDescription = "CT thorax for Åse Østby"
    ds.save_as(tmp_path / "utf8.dcm", enforce_file_format=True)
    raw, dataset = _both((tmp_path / "utf8.dcm").read_bytes(), RuleBook(load_profile("research")))
    assert raw is not None and raw.data is not None, "explicit VR little endian: the raw source reads it"
    _agree(raw, dataset, "utf8.dcm")
    out = pydicom.dcmread(BytesIO(raw.data))
    assert "Østby" not in out.StudyDescription and "Ã" not in out.StudyDescription
    assert "Østby".encode() not in raw.data and "Østby".encode("latin-1") not in raw.data


# --- generated profiles ------------------------------------------------------------------------------

_BASES = ["basic", "research", str(ROOT / "profiles" / "_ps3.15-e3.4-1.yaml")]
_OPTIONS = ["clean-graphics", "clean-structured-content", "clean-descriptors", "retain-long-full-dates",
            "retain-patient-characteristics", "retain-device-identity", "retain-uids", "retain-safe-private",
            "retain-institution-identity"]
_SELECTORS = ["VR:PN", "VR:LO", "VR:SH", "VR:DA", "VR:TM", "VR:DT", "VR:UI", "VR:CS", "VR:LT", "VR:ST", "VR:UT",
              "VR:AS", "VR:IS", "VR:DS", "VR:OB", "VR:UN", "VR:SQ", "PatientName", "PatientID", "StudyDescription",
              "SeriesDescription", "InstitutionName", "AccessionNumber", "StudyDate", "ContentDate",
              "PatientBirthDate", "ReferringPhysicianName", "ImageComments", "(0008,0090)", "0010,0040",
              "50xx,xxxx", "60xx,3000", "private", "unknown", '(0029,"SIEMENS CSA HEADER",10)',
              '(0009,"GEMS_IDEN_01",01)', "ContentSequence", "ReferencedImageSequence", "TextValue", "PersonName",
              "CodeMeaning", "SOPInstanceUID"]
_ACTIONS = ["remove", "empty", "dummy", "keep", "clean", "uid", "pseudonym", "shift", "year-only", "age-cap",
            '{action: replace, value: "X"}', '{action: regex, pattern: "[0-9]", repl: "#"}', "X", "Z", "D", "K",
            "U", "X/Z/D"]
# Each generated profile runs over these, and over files hypothesis draws from the whole corpus.
_ALWAYS = [REPORT, PYDICOM_FILES / "CT_small.dcm", PYDICOM_FILES / "rtplan.dcm",
           PYDICOM_FILES / "waveform_ecg.dcm", PYDICOM_FILES / "MR_small.dcm"]


def _rule(selector: str, action: str) -> str:
    if action.startswith("{"):
        return f"  - {{select: '{selector}', {action[1:]}"
    return f"  - {{select: '{selector}', action: {action}}}"


@st.composite
def _profiles(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(_BASES))
    options = draw(st.lists(st.sampled_from(_OPTIONS), unique=True, max_size=4))
    if {"retain-long-full-dates"} & set(options) and base == "research":
        options.remove("retain-long-full-dates")  # research has the modified-dates option; the two exclude
    rules = draw(st.lists(st.tuples(st.sampled_from(_SELECTORS), st.sampled_from(_ACTIONS)), max_size=8))
    lines = [f"name: generated\nextends: {base}", f"options: [{', '.join(options)}]",
             # Images that may carry burnt-in text are withheld alike without OCR; the built-in
             # profiles above clean them on both sources.
             "settings: {clean_pixel_data: false}", "rules:" if rules else "rules: []"]
    lines += [_rule(selector, action) for selector, action in rules]
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=_profiles(), drawn=st.lists(st.sampled_from(FILES), min_size=8, max_size=8, unique=True))
def test_both_sources_give_the_same_bytes_under_generated_profiles(profile: str, drawn: list[Path],
                                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("profile") / "generated.yaml"
    path.write_text(profile)
    try:
        rules = RuleBook(load_profile(path))
    except Exception as exc:  # a rule the profile loader refuses (an action a VR cannot take): no profile
        assert "generated.yaml" in str(exc)
        return
    for file in _ALWAYS + drawn:
        raw, dataset = _both(DATA.get(file) or file.read_bytes(), rules)
        _agree(raw, dataset, f"{file.name} under\n{profile}")


def _explicit_little(path: Path) -> pydicom.Dataset | None:
    try:
        ds = pydicom.dcmread(path)
    except Exception:
        return None
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if path.read_bytes()[128:132] != b"DICM" or not (
        syntax == "1.2.840.10008.1.2.1" or syntax.startswith(("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5"))
    ):
        return None
    return ds


def test_scanner_finds_what_pydicom_reads_in_every_explicit_vr_file() -> None:
    compared = 0
    for path in FILES:
        ds = _explicit_little(path)
        if ds is None:
            continue
        data = path.read_bytes()
        start = 132 + 12 + int(ds.file_meta.FileMetaInformationGroupLength)
        try:
            elements = scan(data, start, len(data))
        except ScanError:
            continue  # declined: the full path reads it
        assert [e.tag for e in elements] == list(ds.keys()), path.name
        for element in elements:
            raw = ds.get_item(element.tag)
            if isinstance(raw, RawDataElement) and not element.undefined:
                assert data[element.value:element.value_end] == raw.value, (path.name, element.tag)
        compared += 1
    assert compared > 80


_SEEDS = [PYDICOM_FILES / "CT_small.dcm", PYDICOM_FILES / "MR_small.dcm", PYDICOM_FILES / "SC_rgb_rle.dcm"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=8),
    cut=st.integers(min_value=0, max_value=4000),
)
# SOPClassUID's VR turned into "AI": the gate read it straight from the dataset and pydicom raised.
@example(seed=PYDICOM_FILES / "MR_small.dcm", edits=[(294, 65)], cut=0)
def test_mangled_files_never_crash_and_never_pass_unreadable(seed: Path, edits: list[tuple[int, int]],
                                                           cut: int) -> None:
    data = bytearray(seed.read_bytes())
    for position, value in edits:
        data[132 + position % (len(data) - 132)] = value
    mangled = bytes(data[: len(data) - cut])
    rules = RuleBook(load_profile("basic"))
    with contextlib.suppress(ScanError):
        scan(mangled, 132, len(mangled))
    outcome = deidentify_bytes(mangled, rules, KEYRING)
    assert outcome.status in {"written", "withheld", "not DICOM", "error"}
    if outcome.status == "written":
        assert outcome.data is not None
        pydicom.dcmread(BytesIO(outcome.data))
