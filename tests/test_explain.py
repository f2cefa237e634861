"""`deidentify explain`, through the command line, held to what `deidentify run` does to the same file."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidentify.cli import main
from deidentify.explain import profile_differences
from deidentify.profile import load_profile

NAME, MEANING = "Grabowski^Helena", "chest CT ordered by Dr Grabowski"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    """pydicom's CT_small with a referring physician, a nested request and a private element."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.ReferringPhysicianName = NAME
    request = Dataset()
    request.RequestedProcedureCodeSequence = Sequence([_code("LCT01", "99LOCAL", MEANING)])
    request.ScheduledProcedureStepID = "SPS1"
    ds.RequestAttributesSequence = Sequence([request])
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "LO", "private note")
    path = tmp_path / "in" / "a.dcm"
    path.parent.mkdir()
    ds.save_as(path)
    return path


def _explain(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> dict:
    assert main(["explain", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _by_path(found: dict) -> dict[str, dict]:
    return {d["path"]: d for d in found["decisions"]}


def test_explain_names_the_action_the_rule_and_why(study_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _explain(capsys, study_file)
    assert found["status"] == "written" and found["profile"] == "basic"
    rows = _by_path(found)
    assert rows["PatientName"]["action"] == "pseudonym" and rows["PatientName"]["rule"].startswith("basic.yaml:")
    assert rows["AccessionNumber"]["action"] == "empty"
    assert rows["AccessionNumber"]["rule"].startswith("_ps3.15-e1-1.yaml:")
    assert "exact tag" in rows["AccessionNumber"]["why"]
    assert rows["Modality"]["action"] == "keep" and rows["Modality"]["why"] == "no rule names it: kept"
    assert rows["SOPClassUID"]["why"].startswith("the rule for every element of its VR")
    assert "PatientIdentityRemoved" in found["added"]
    assert rows["RequestAttributesSequence"]["action"] == "remove"  # and so nothing inside it is listed
    assert not any(p.startswith("RequestAttributesSequence[") for p in rows)
    # Private creators and elements are listed too.
    assert rows["(0009,0010)"]["action"] == "keep if its block is kept"
    assert rows["(0009,1001)"]["action"] == "remove"


def test_explain_says_when_an_option_or_a_later_rule_decides(study_file: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rows = _by_path(_explain(capsys, study_file, "--profile", "research"))
    # Nested elements are listed with their path through the sequences.
    assert rows["RequestAttributesSequence"]["action"] == "recurse (C)"
    assert rows["RequestAttributesSequence[1] > ScheduledProcedureStepID"]["action"] != "keep"
    assert "RequestAttributesSequence[1] > RequestedProcedureCodeSequence[1] > CodeMeaning" in rows
    assert rows["StudyDate"]["action"] == "shift"
    assert "option retain-long-modified-dates turns Z into C" in rows["StudyDate"]["why"]
    profile = tmp_path / "ours.yaml"
    profile.write_text("name: ours\nextends: basic\nrules:\n  - {select: AccessionNumber, action: keep}\n",
                       encoding="utf-8")
    rows = _by_path(_explain(capsys, study_file, "--profile", str(profile)))
    assert rows["AccessionNumber"]["action"] == "keep" and rows["AccessionNumber"]["rule"] == "ours.yaml:4"
    assert "overrides _ps3.15-e1-1.yaml:" in rows["AccessionNumber"]["why"]


def test_explain_agrees_with_run_element_by_element(study_file: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key"
    assert main(["run", str(study_file.parent), str(tmp_path / "out"), "--key-file", str(key), "--new-key",
                 "--quiet"]) == 0
    capsys.readouterr()
    found = _explain(capsys, study_file, "--key-file", str(key), "--show-values")
    source = pydicom.dcmread(study_file)
    written = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    checked = 0
    for row in found["decisions"]:
        if " > " in row["path"] or not row["tag"].startswith("(") or row["path"].startswith("("):
            continue
        tag = int(row["tag"][1:5] + row["tag"][6:10], 16)
        if row["action"] == "remove":
            assert tag not in written, row["path"]
        elif row["action"] == "keep":
            assert written[tag].value == source[tag].value, row["path"]
        elif not row["action"].startswith("recurse"):
            # What explain shows as the result is what run wrote.
            assert row["result"] == repr(str(written[tag].value)), row["path"]
        checked += 1
    assert checked > 40


def test_explain_shows_no_value_unless_asked(study_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(study_file)]) == 0
    plain = capsys.readouterr().out
    shown = _explain(capsys, study_file, "--show-values")
    for value in (NAME, MEANING, "CompressedSamples^CT1", "1CT1"):
        assert value not in plain
        assert value not in json.dumps(_explain(capsys, study_file))
    assert NAME in json.dumps(shown, ensure_ascii=False)
    assert main(["explain", str(study_file), "--show-values"]) == 0
    assert "may identify the patient" in capsys.readouterr().err


def test_explain_refuses_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(tmp_path / "missing.dcm")]) == 2
    assert "cannot read" in capsys.readouterr().err
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    found = _explain(capsys, junk)
    assert found["status"] == "not DICOM" and found["decisions"] == []


def test_profile_differences_are_the_steps_a_run_would_take() -> None:
    basic, research = load_profile("basic"), load_profile("research")
    found = {d.element: d for d in profile_differences(basic, research)}
    assert found["StudyDate"].first.startswith("empty") and found["StudyDate"].second.startswith("shift")
    assert "PatientName" not in found  # both pseudonymise it
    assert profile_differences(basic, basic) == []


def test_profiles_diff_lists_what_two_profiles_do_differently(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ours = tmp_path / "ours.yaml"
    ours.write_text("name: ours\nextends: basic\nrules:\n  - {select: AccessionNumber, action: keep}\n"
                    '  - {select: \'(0019,"ACME 1.0",10)\', action: keep}\n', encoding="utf-8")
    assert main(["profiles", "diff", "basic", str(ours), "--json"]) == 1
    found = {d["element"]: d for d in json.loads(capsys.readouterr().out)}
    assert set(found) == {"AccessionNumber", '(0019,"ACME 1.0",10)'}
    assert found["AccessionNumber"]["first"].startswith("empty (_ps3.15-e1-1.yaml:")
    assert found["AccessionNumber"]["second"] == "keep (ours.yaml:4)"
    assert main(["profiles", "diff", "research", "research"]) == 0
    assert "0 element(s) treated differently" in capsys.readouterr().out
    assert main(["profiles", "diff", "basic", "reserach"]) == 2
    assert "did you mean 'research'?" in capsys.readouterr().err
