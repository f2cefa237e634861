"""Code items: text typed into a local scheme's codes, or into a public code's meaning, is
cleaned under every built-in; the standard's own codes and meanings stay to the byte.

Issue 19: "chest CT ordered by <referrer>" under a ``99`` scheme left the research profile
(RequestAttributesSequence), and "<referrer> protocol" both built-ins (ProcedureCodeSequence).
Through the front door: ``deidentify run`` and ``deidentify check`` on real files.
"""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from deidentify.cli import main
from deidentify.header import is_public_scheme, is_standard_meaning
from deidentify.profile import load_profile
from deidentify.profile.model import CLEAN_PIXEL_DATA_CODE

SURNAME, GIVEN = "Grabowski", "Helena"
PLANTED = (SURNAME, GIVEN, "ACC99123")  # the referrer's name parts, the accession number
# Standard codes, written with PS3.16's meanings: they must come out byte for byte.
CHEST = ("816094009", "SCT", "Chest")
BASIC_PROFILE = ("113100", "DCM", "Basic Application Confidentiality Profile")


def _code(*values: str) -> Dataset:
    """A code item of (value, scheme, meaning[, version])."""
    item = Dataset()
    for keyword, value in zip(("CodeValue", "CodingSchemeDesignator", "CodeMeaning", "CodingSchemeVersion"), values,
                              strict=False):
        setattr(item, keyword, value)
    return item


def _coded_file(path: Path, syntax: str) -> None:
    """pydicom's CT_small with the issue's code items (and a few more) written into it."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.ReferringPhysicianName = f"{SURNAME}^{GIVEN}"
    ds.AccessionNumber = "ACC99123"
    request = Dataset()
    request.RequestedProcedureCodeSequence = Sequence([_code("LCT01", "99LOCAL", f"chest CT ordered by {SURNAME}")])
    request.ScheduledProcedureStepID = "SPS1"
    ds.RequestAttributesSequence = Sequence([request])
    ds.ProcedureCodeSequence = Sequence([_code("ACC99123", "99ORDERS", f"{SURNAME} protocol", f"{GIVEN} 2")])
    ds.AnatomicRegionSequence = Sequence([_code(*CHEST)])
    # A public code whose meaning someone retyped, with a name in it.
    ds.PrimaryAnatomicStructureSequence = Sequence([_code("816094009", "SCT", f"Chest ({GIVEN} {SURNAME})")])
    ds.PerformedProtocolCodeSequence = Sequence([_code(*BASIC_PROFILE)])
    # An unknown vendor's private sequence (removed) and a safe private one (kept by research).
    ds.private_block(0x0009, "ACME", create=True).add_new(0x01, "SQ", [_code("X1", "99ACME", f"seen by Dr {SURNAME}")])
    philips = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
    philips.add_new(0x6B, "SQ", [_code("EE1", "99PHI", f"preset of Dr {SURNAME}")])
    ds.file_meta.TransferSyntaxUID = syntax
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, implicit_vr=syntax == ImplicitVRLittleEndian, little_endian=True, enforce_file_format=True)


def _element(tag: int, vr: str, text: str, explicit: bool) -> bytes:
    """How an element is encoded in a little endian file: what a byte-identical copy holds."""
    value = text.encode("ascii")
    value += b" " * (len(value) % 2)
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    return head + (vr.encode() + struct.pack("<H", len(value)) if explicit else struct.pack("<I", len(value))) + value


def _run(tmp_path: Path, profile: str, syntax: str) -> tuple[Path, Path, dict[str, str]]:
    src = tmp_path / "in"
    _coded_file(src / "a.dcm", syntax)
    key = tmp_path / "key"
    assert main(["run", str(src), str(tmp_path / "out"), "--profile", profile, "--key-file", str(key),
                 "--new-key", "--quiet"]) == 0
    outputs = list((tmp_path / "out").rglob("*.dcm"))
    assert len(outputs) == 1
    with open(tmp_path / "out.state" / "report.csv", newline="", encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    return src, outputs[0], row


SYNTAXES = [pytest.param(ExplicitVRLittleEndian, id="raw-source"), pytest.param(ImplicitVRLittleEndian, id="dataset")]


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("profile", ["basic", "research"])
def test_no_name_survives_in_any_code_item_and_standard_codes_stay_byte_identical(
        tmp_path: Path, profile: str, syntax: str) -> None:
    _, output, row = _run(tmp_path, profile, syntax)
    data = output.read_bytes()
    relative = str(output.relative_to(tmp_path / "out"))
    for value in PLANTED:
        for form in {value, value.upper(), value.lower()}:
            assert form.encode() not in data and form not in relative, (profile, form)
    explicit = syntax == ExplicitVRLittleEndian
    for value, scheme, meaning in (CHEST, BASIC_PROFILE):
        item = b"".join(_element(tag, vr, text, explicit) for tag, vr, text in
                        ((0x00080100, "SH", value), (0x00080102, "SH", scheme), (0x00080104, "LO", meaning)))
        assert item in data
    ds = pydicom.dcmread(output)
    assert ds.AnatomicRegionSequence[0].CodeMeaning == "Chest"
    # The name goes, the concept stays: a public code's own value is kept.
    retyped = ds.PrimaryAnatomicStructureSequence[0]
    assert (retyped.CodeValue, retyped.CodeMeaning) == ("816094009", "Chest (***)")
    local = ds.ProcedureCodeSequence[0]
    assert (local.CodeValue, local.CodingSchemeVersion, local.CodeMeaning) == ("***", "*** 2", "*** protocol")
    stamp = ds.DeidentificationMethodCodeSequence[0]
    assert (stamp.CodeValue, stamp.CodingSchemeDesignator, stamp.CodeMeaning) == BASIC_PROFILE
    # Nothing silent: the report counts the code items cleaned, and their elements.
    research = profile == "research"
    assert int(row["codes_cleaned"]) == (4 if research else 2)
    assert int(row["cleaned"]) >= 4
    if research:
        requested = ds.RequestAttributesSequence[0].RequestedProcedureCodeSequence[0]
        assert requested.CodeMeaning == "chest CT ordered by ***"
        philips = ds.private_block(0x2001, "Philips Imaging DD 001")[0x6B].value[0]
        assert philips.CodeMeaning == "preset of Dr ***"
    else:
        assert "RequestAttributesSequence" not in ds and 0x20010010 not in ds


def test_codes_the_stamp_writes_are_standard_and_kept() -> None:
    for name in ("basic", "research"):
        for value, meaning in [*load_profile(name).method_codes, CLEAN_PIXEL_DATA_CODE]:
            assert is_public_scheme("DCM") and is_standard_meaning("DCM", value, meaning), (value, meaning)
    assert is_standard_meaning("SRT", "T-D3000", "Thoracic structure (body structure)")  # SRT read as SCT
    assert not is_standard_meaning("DCM", "113100", "Basic Application Confidentiality Profile (Dr X)")
    assert not is_public_scheme("99LOCAL") and not is_public_scheme("DCMLOCAL") and is_public_scheme("ncit")


def test_an_already_de_identified_file_keeps_its_method_codes_to_the_byte(tmp_path: Path) -> None:
    _, output, _ = _run(tmp_path, "research", ExplicitVRLittleEndian)
    again = tmp_path / "again"
    again.mkdir()
    (again / "a.dcm").write_bytes(output.read_bytes())
    assert main(["run", str(again), str(tmp_path / "out2"), "--profile", "research", "--key-file",
                 str(tmp_path / "key"), "--quiet"]) == 0
    (second,) = (tmp_path / "out2").rglob("*.dcm")
    with open(tmp_path / "out2.state" / "report.csv", newline="", encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    first, then = pydicom.dcmread(output), pydicom.dcmread(second)
    assert then.DeidentificationMethodCodeSequence == first.DeidentificationMethodCodeSequence
    assert then.AnatomicRegionSequence == first.AnatomicRegionSequence
    # What was cleaned is cleaned text now: local codes still go through the clean step, unchanged.
    assert then.ProcedureCodeSequence == first.ProcedureCodeSequence
    assert int(row["codes_cleaned"]) == 4


def _findings(tmp_path: Path, folder: Path, against: Path | None) -> list[dict[str, object]]:
    report = tmp_path / f"findings-{len(list(tmp_path.glob('findings-*')))}.json"
    argv = ["check", str(folder), "--json", str(report), "--quiet", "--skip", "validity"]
    assert main([*argv, *(["--against", str(against)] if against else [])]) == 1
    return json.loads(report.read_text(encoding="utf-8"))["findings"]


def test_check_reports_a_name_left_in_a_code_meaning(tmp_path: Path) -> None:
    """An output whose code meaning still names someone: ``check`` finds it like any leak."""
    src, output, _ = _run(tmp_path, "research", ExplicitVRLittleEndian)
    leaked = tmp_path / "leaked"
    leaked.mkdir()
    ds = pydicom.dcmread(output)
    ds.ProcedureCodeSequence[0].CodeMeaning = f"{SURNAME} protocol"
    ds.AnatomicRegionSequence[0].CodeMeaning = f"Chest, seen by Dr {SURNAME}"
    ds.save_as(leaked / "a.dcm")
    against = {(f["element"], f["detector"]) for f in _findings(tmp_path, leaked, src)}
    assert ("ProcedureCodeSequence[0].CodeMeaning", "source-name") in against
    assert ("AnatomicRegionSequence[0].CodeMeaning", "source-name") in against
    # Without the source, the patterns see the titled name, and the profile would clean both.
    alone = {(f["element"], f["detector"]) for f in _findings(tmp_path, leaked, None)}
    assert ("AnatomicRegionSequence[0].CodeMeaning", "person-name") in alone
    # The clean output itself has nothing to report in its codes.
    clean = _findings_or_none(tmp_path, output.parent, src)
    assert not [f for f in clean if "Code" in str(f["element"]) and f["severity"] == "high"]


def _findings_or_none(tmp_path: Path, folder: Path, against: Path) -> list[dict[str, object]]:
    report = tmp_path / "clean.json"
    assert main(["check", str(folder), "--json", str(report), "--quiet", "--skip", "validity",
                 "--against", str(against)]) in (0, 1)
    return json.loads(report.read_text(encoding="utf-8"))["findings"]


def test_sample_plants_code_items_the_leak_tests_search_for() -> None:
    """planted.json lists what the sample hides in code items, so the sample's leak tests cover them."""
    planted = json.loads((Path(__file__).resolve().parent.parent / "sample_synthetic" / "planted.json")
                         .read_text(encoding="utf-8"))
    places = {entry["where"] for entry in planted}
    assert {"RequestedProcedureCodeSequence", "ProcedureCodeSequence", "PerformedProtocolCodeSequence",
            "CodingSchemeVersion", "ConceptNameCodeSequence", "Philips Imaging DD 001"} <= places
