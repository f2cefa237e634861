"""The fast path gives the full path's bytes, and its scanner agrees with pydicom and survives fuzzing."""

from __future__ import annotations

import warnings
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement

from deidentify.fastpath import deidentify_fast
from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes, deidentify_full
from deidentify.plan import RuleBook
from deidentify.profile import load_profile
from deidentify.rawscan import ScanError, scan

ROOT = Path(__file__).resolve().parent.parent
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
FILES = sorted(p for p in PYDICOM_FILES.rglob("*") if p.is_file()) + sorted(
    p for p in (ROOT / "sample_synthetic" / "studies").rglob("*") if p.is_file()
)
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
# shape away from "clean" (so the fast path would otherwise take the SR).
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


def _profiles(tmp: Path) -> list[RuleBook]:
    user = tmp / "fast-user.yaml"
    user.write_text(USER_PROFILE)
    sr = tmp / "sr-content-items.yaml"
    sr.write_text(SR_PROFILE)
    return [RuleBook(load_profile("basic")), RuleBook(load_profile(user)), RuleBook(load_profile(sr))]


def test_fast_path_output_is_byte_identical_to_the_full_path(tmp_path: Path) -> None:
    for rules in _profiles(tmp_path):
        taken = 0
        for path in FILES:
            data = path.read_bytes()
            fast = deidentify_fast(data, rules, KEYRING)
            if fast is None:
                continue
            taken += 1
            full = deidentify_full(data, rules, KEYRING)
            assert full.status == "written", (path.name, full.reason)
            assert fast.data == full.data, path.name
            assert (fast.name, fast.counts, fast.modality, fast.sop_class, fast.transfer_syntax) == (
                full.name, full.counts, full.modality, full.sop_class, full.transfer_syntax), path.name
        assert taken > 80, f"{rules.profile.name}: the fast path should take most explicit VR files"


def test_sr_content_item_rules_hold_whichever_engine_could_take_the_file(tmp_path: Path) -> None:
    """The content-item overrides live in one place; a file that may hold SR content goes there."""
    profile = tmp_path / "sr.yaml"
    profile.write_text(SR_PROFILE)
    rules = RuleBook(load_profile(profile))
    data = REPORT.read_bytes()
    assert deidentify_fast(data, rules, KEYRING) is None
    outcome = deidentify_bytes(data, rules, KEYRING)
    assert outcome.status == "written" and outcome.data is not None
    assert outcome.data == deidentify_full(data, rules, KEYRING).data
    # The table's rows for the subject: its name is dummied, its birth date removed (the profile
    # names no rule for the observer, so that name is the profile's business, not this test's).
    subject = next(str(item.PersonName) for item in pydicom.dcmread(REPORT).ContentSequence
                   if item.ConceptNameCodeSequence[0].CodeMeaning == "Subject Name")
    out = pydicom.dcmread(BytesIO(outcome.data))
    meanings = [item.ConceptNameCodeSequence[0].CodeMeaning for item in out.ContentSequence
                if "ConceptNameCodeSequence" in item]
    assert "Subject Birth Date" not in meanings
    kept = [str(item.PersonName) for item in out.ContentSequence if "PersonName" in item
            and item.ConceptNameCodeSequence[0].CodeMeaning == "Subject Name"]
    assert kept and subject not in kept


def test_files_the_fast_path_declines_still_go_through_the_full_path() -> None:
    rules = RuleBook(load_profile("basic"))
    implicit = (PYDICOM_FILES / "MR_small_implicit.dcm").read_bytes()
    assert deidentify_fast(implicit, rules, KEYRING) is None
    assert deidentify_bytes(implicit, rules, KEYRING).status == "written"
    # A profile that cleans free text needs the dataset's own values: full path.
    research = RuleBook(load_profile("research"))
    ct = (PYDICOM_FILES / "CT_small.dcm").read_bytes()
    assert deidentify_fast(ct, research, KEYRING) is None


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
def test_mangled_files_never_crash_and_never_pass_unreadable(seed: Path, edits: list[tuple[int, int]],
                                                           cut: int) -> None:
    data = bytearray(seed.read_bytes())
    for position, value in edits:
        data[132 + position % (len(data) - 132)] = value
    mangled = bytes(data[: len(data) - cut])
    rules = RuleBook(load_profile("basic"))
    try:
        scan(mangled, 132, len(mangled))
    except ScanError:
        pass
    outcome = deidentify_bytes(mangled, rules, KEYRING)
    assert outcome.status in {"written", "withheld", "not DICOM", "error"}
    if outcome.status == "written":
        assert outcome.data is not None
        pydicom.dcmread(BytesIO(outcome.data))
