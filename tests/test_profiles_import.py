"""`deidentify profiles import`: deid recipes and CTP scripts (tests/profiles/imported/, excerpts of the
published ones and construct files written from their documentation) imported through the command
line, the written profile run over pydicom's test files, and each element of the outputs compared
with what the source says should happen to it."""

from __future__ import annotations

import csv
import datetime
import shutil
import stat
from pathlib import Path

import pydicom
import pytest
import yaml
from pydicom.data import get_testdata_file

from deidentify.cli import main
from deidentify.profile import load_profile

FIXTURES = Path(__file__).resolve().parent / "profiles" / "imported"


def _import(tmp_path: Path, fixture: str, *extra: str) -> tuple[int, Path]:
    target = tmp_path / f"{fixture.split('.')[0]}-imported.yaml"
    status = main(["profiles", "import", str(FIXTURES / fixture), "-o", str(target), *extra])
    return status, target


def _run(tmp_path: Path, profile: Path, expected: int = 0) -> dict[str, tuple[pydicom.Dataset, pydicom.Dataset]]:
    """Run the profile over pydicom's CT_small and MR_small; (input, output) by modality."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    inputs = {}
    for name in ("CT_small.dcm", "MR_small.dcm"):
        copy = src / name
        shutil.copy(get_testdata_file(name), copy)
        ds = pydicom.dcmread(copy)
        inputs[str(ds.Modality)] = ds
    dst = tmp_path / "dst"
    status = main(["run", str(src), str(dst), "--profile", str(profile), "--key-file", str(tmp_path / "key"),
                   "--new-key", "--quiet", "--workers", "1"])
    assert status == expected
    outputs = {str(ds.Modality): ds for ds in (pydicom.dcmread(p) for p in sorted(dst.rglob("*.dcm")))}
    return {modality: (inputs[modality], out) for modality, out in outputs.items()}


def _lines(capsys: pytest.CaptureFixture[str]) -> dict[int, str]:
    """The import report by source line number."""
    found = {}
    for line in capsys.readouterr().out.splitlines():
        head, _, rest = line.partition(": ")
        if ":" in head and head.rsplit(":", 1)[1].isdigit():
            found[int(head.rsplit(":", 1)[1])] = rest
    return found


def _same(before: pydicom.Dataset, after: pydicom.Dataset, keyword: str) -> None:
    assert keyword in after, keyword
    assert after[keyword].value == before[keyword].value, keyword


def _absent(after: pydicom.Dataset, *keywords: str) -> None:
    for keyword in keywords:
        assert keyword not in after, keyword


def _empty(after: pydicom.Dataset, *keywords: str) -> None:
    for keyword in keywords:
        assert keyword in after and after[keyword].value in ("", None, b""), keyword


def _days(before: str, after: str) -> int:
    as_date = lambda text: datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))  # noqa: E731
    return (as_date(after) - as_date(before)).days


def _rules(profile: Path) -> list[dict]:
    return list(yaml.safe_load(profile.read_text(encoding="utf-8"))["rules"])


# deid ------------------------------------------------------------------------------------------


def test_deid_recipe_excerpt_is_imported_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, profile = _import(tmp_path, "deid.dicom-excerpt")
    report = _lines(capsys)
    assert status == 1  # PatientsName (a keyword no dictionary has) and ADD IssuerOfPatientID
    assert report[20].startswith("not translated") and "misspelling" in report[20]
    assert report[26].startswith("not translated") and "adds a missing element" in report[26]
    assert report[27].startswith("translated") and "already done by the stamp" in report[27]
    assert all(report[n].startswith("translated") for n in (3, 5, 6, 7, 8, 9))  # the %filter label
    assert all(report[n].startswith("translated") for n in range(13, 25) if n != 20)
    text = profile.read_text(encoding="utf-8")
    assert "# NOT TRANSLATED" in text and "line 26: ADD IssuerOfPatientID STARR" in text
    pixels = profile.parent / f"{profile.stem}.pixels.deid"
    assert "LABEL LightSpeed Dose Report" in pixels.read_text(encoding="utf-8")
    assert "%header" not in pixels.read_text(encoding="utf-8")
    loaded = load_profile(profile)
    assert [s.written for s in loaded.pixels.sources] == ["deid:dicom", pixels.name]
    assert all(rule["note"].startswith("line ") for rule in _rules(profile))

    for modality, (before, after) in _run(tmp_path, profile).items():
        dated = [e.keyword for e in before if e.keyword.endswith(("Date", "Time", "DateTime"))]
        assert dated, modality
        _absent(after, *dated)  # REMOVE endswith:Time / endswith:Date, every one of them
        _absent(after, "AdditionalPatientHistory", "AccessionNumber", "OtherPatientIDsSequence", "PatientName",
                "ReferringPhysicianName", "OperatorsName", "NameOfPhysiciansReadingStudy")
        _absent(after, "IssuerOfPatientID")  # ADD was not translated: nothing is added
        assert after.PatientIdentityRemoved == "YES"
        for untouched in ("Rows", "Columns", "BitsStored", "PixelData"):  # named by no line: as basic keeps them
            _same(before, after, untouched)


def test_deid_precedence_and_expanders_element_by_element(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, profile = _import(tmp_path, "deid.dicom-constructs")
    report = _lines(capsys)
    assert status == 1
    not_translated = {n for n, line in report.items() if line.startswith("not translated")}
    assert not_translated == {25, 26, 27, 28}  # var: without a table, func:, a value test, ADD
    assert "--lookup" in report[25] and "Python code" in report[26] and "value test" in report[27]
    assert report[20].startswith("translated, differs") and "keyed offset" in report[20]  # JITTER
    assert report[24].startswith("translated, differs") and "keyed UIDs" in report[24]  # deid_func:pydicom_uuid
    assert report[29].startswith("translated") and "stamp" in report[29]
    assert report[7].startswith("translated") and "fields:kept_dates" in report[7]

    pairs = _run(tmp_path, profile)
    before, after = pairs["CT"]
    _absent(after, "StudyDescription")  # BLANK then REMOVE: REMOVE > BLANK
    assert after.InstitutionName == "ANONYMOUS HOSPITAL"  # REPLACE > REMOVE
    _same(before, after, "Manufacturer")  # KEEP > REPLACE
    for keyword in ("Rows", "Columns", "PixelSpacing", "BitsAllocated", "PixelRepresentation", "RescaleIntercept"):
        _same(before, after, keyword)  # KEEP select:group:0028
    for keyword in ("StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime", "InstanceCreationTime"):
        _same(before, after, keyword)  # KEEP select:VR:TM, over basic's dummy times
    for keyword in ("AcquisitionDate", "ContentDate"):
        _same(before, after, keyword)  # KEEP fields:kept_dates
    assert after.StudyDate != before.StudyDate and -3650 <= _days(before.StudyDate, after.StudyDate) < 0  # JITTER
    _empty(after, "ReferringPhysicianName")  # BLANK endswith:PhysicianName
    private = after.private_block(0x0009, "GEMS_IDEN_01")
    assert private[0x04].value in ("", None)  # BLANK (0009,"GEMS_IDEN_01",04): kept, emptied
    assert 0x00091001 not in after  # the rest of the private group: basic removes it
    assert after.SOPInstanceUID.startswith("2.25.") and after.SOPInstanceUID != before.SOPInstanceUID
    _absent(after, "ClinicalTrialSiteID")
    assert after.PatientIdentityRemoved == "NO"  # the recipe keeps times the Basic Profile removes: said truthfully
    assert after.PatientID != before.PatientID  # var: was not translated: basic's pseudonym
    mr_before, mr_after = pairs["MR"]
    assert mr_after.StudyDate != mr_before.StudyDate
    _same(mr_before, mr_after, "StudyTime")


def test_deid_groups_example_removes_what_deid_removes_and_lists_values_groups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, profile = _import(tmp_path, "deid.dicom-groups")
    report = _lines(capsys)
    assert status == 1
    assert report[4].startswith("not translated") and "values a file holds" in report[4]  # %values line
    assert report[15].startswith("not translated") and "values:cookie_names" in report[15]
    assert report[17].startswith("translated") and "contains:Instance" in report[17]
    assert report[10].startswith("translated") and "fields:instance_fields" in report[10]
    removed = {r["select"] for r in _rules(profile) if r["action"] == "remove"}
    assert {"SOPInstanceUID", "InstanceNumber", "InstanceCreationDate", "ReferencedSOPInstanceUID"} <= removed
    # deid's FIELD contains:Instance removes SOPInstanceUID: a file without it cannot be written, and is withheld
    _run(tmp_path, profile, expected=1)
    rows = list(csv.DictReader((tmp_path / "dst.state" / "report.csv").open(encoding="utf-8")))
    assert len(rows) == 2 and all("no SOP Class or Instance UID" in row["reason"] for row in rows)


def test_deid_private_creator_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, profile = _import(tmp_path, "deid.dicom-private-creator-syntax")
    assert status == 0
    assert _rules(profile)[0]["select"] == '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1e)'
    assert "translated" in _lines(capsys)[5]
    assert set(_run(tmp_path, profile)) == {"CT", "MR"}


def test_deid_shipped_recipe_keeps_its_filters_as_the_device_list(tmp_path: Path) -> None:
    from deidentify.pixels.rules.deid_recipe import builtin_recipe_path

    shipped = builtin_recipe_path("dicom")
    assert shipped is not None
    target = tmp_path / "deid-default.yaml"
    assert main(["profiles", "import", str(shipped), "--from", "deid", "-o", str(target)]) == 1
    assert [s.written for s in load_profile(target).pixels.sources] == ["deid:dicom"]
    assert not list(tmp_path.glob("*.pixels.deid"))


# CTP -------------------------------------------------------------------------------------------


def test_ctp_published_script_excerpt_is_imported_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, profile = _import(tmp_path, "ctp-dicom-anonymizer-excerpt.script")
    report = _lines(capsys)
    assert status == 0
    disabled = {n for n, line in report.items() if line.startswith("disabled")}
    assert disabled == {8, 10, 18, 35, 50, 51, 52, 56}
    assert "no rule needed" in report[47]  # @always()@process()
    assert all("stamp" in report[n] for n in (36, 37, 38))
    assert report[9].startswith("translated, differs") and "shift" in report[9]  # @incrementdate
    assert report[2].startswith("no effect")  # DATEINC: the keyed shift needs none
    for modality, (before, after) in _run(tmp_path, profile).items():
        for keyword in ("SOPClassUID", "Manufacturer", "ManufacturerModelName", "PatientSex", "PatientAge",
                        "PatientWeight", "StudyTime", "SoftwareVersions", "SpecificCharacterSet"):
            if keyword in before:
                _same(before, after, keyword)  # @keep(), over basic where basic differs (StudyTime)
        if modality == "MR":
            _same(before, after, "DeviceSerialNumber")  # @keep(): basic would remove it
        _absent(after, "InstitutionName", "StationName", "StudyDescription", "NameOfPhysiciansReadingStudy",
                "OperatorsName", "AdditionalPatientHistory", "ContrastBolusAgent", "ImageComments",
                "DataSetTrailingPadding")
        _empty(after, "ReferringPhysicianName", "PatientBirthDate", "StudyID")
        for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID",
                        "InstanceCreatorUID"):
            assert after[keyword].value.startswith("2.25.") and after[keyword].value != before[keyword].value
        offsets = {_days(before[k].value, after[k].value) for k in ("StudyDate", "InstanceCreationDate")}
        if before.SeriesDate:
            offsets.add(_days(before.SeriesDate, after.SeriesDate))
        assert len(offsets) == 1 and offsets.pop() < 0  # one per-patient shift for every @incrementdate
        assert after.PatientID.startswith("P") and after.PatientID != before.PatientID  # @hash
        assert str(after.PatientName) != str(before.PatientName)  # @hashname
        assert not [e for e in after if e.tag.is_private]  # <r t="privategroups">
        # the script keeps what the Basic Profile removes (DeviceSerialNumber, StudyTime...): the stamp says so
        assert after.PatientIdentityRemoved == "NO"
        assert "113100" not in [item.CodeValue for item in after.get("DeidentificationMethodCodeSequence", [])]
        _same(before, after, "PixelData")


def test_ctp_lookup_without_its_table_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, profile = _import(tmp_path, "ctp-lookup-filter.script")
    report = _lines(capsys)
    assert status == 1
    assert report[9].startswith("not translated") and "--lookup" in report[9]
    assert report[10].startswith("not translated") and "--lookup" in report[10]
    assert report[11].startswith("not translated") and "@require()" in report[11]
    assert report[6].startswith("translated") and "filter" in report[6]
    text = yaml.safe_load(profile.read_text(encoding="utf-8"))
    assert "lookup" not in text
    assert text["filter"] == [{"name": "line 6: Modality", "reject": {"Modality": {"equals": "MR"}}}]


def test_ctp_lookup_table_is_converted_and_never_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, profile = _import(tmp_path, "ctp-lookup-filter.script", "--lookup", str(FIXTURES / "ctp-lookup.properties"))
    out = capsys.readouterr().out
    assert status == 1  # @require() only
    assert "TRIAL-001" not in out and "1CT1" not in out and "TRIAL^ONE" not in out
    table = profile.parent / f"{profile.stem}.lookup.csv"
    assert stat.S_IMODE(table.stat().st_mode) == 0o600
    rows = list(csv.reader(table.open(encoding="utf-8")))
    assert rows[0] == ["PatientID", "ptname", "ptid"]
    assert sorted(rows[1:]) == [["1CT1", "TRIAL^ONE", "TRIAL-001"], ["4MR1", "TRIAL^TWO", "TRIAL-002"]]
    text = yaml.safe_load(profile.read_text(encoding="utf-8"))
    assert text["lookup"] == {"file": table.name, "key": "PatientID"}
    assert {"select": "PatientID", "action": "lookup", "column": "ptid"} in [
        {k: v for k, v in r.items() if k != "note"} for r in text["rules"]
    ]


def test_ctp_lookup_and_filter_run(tmp_path: Path) -> None:
    """Needs the loader's lookup table and filter sections (issue 15 items 1 and 2)."""
    status, profile = _import(tmp_path, "ctp-lookup-filter.script", "--lookup", str(FIXTURES / "ctp-lookup.properties"))
    assert status == 1
    pairs = _run(tmp_path, profile)  # the MR is rejected by the @if(...){@quarantine()}: filtered, not withheld
    assert set(pairs) == {"CT"}
    rows = list(csv.DictReader((tmp_path / "dst.state" / "report.csv").open(encoding="utf-8")))
    assert sorted(row["status"] for row in rows) == ["filtered", "written"]
    before, after = pairs["CT"]
    assert after.PatientID == "TRIAL-001" and str(after.PatientName) == "TRIAL^ONE"  # @lookup
    assert after.Manufacturer == "GE MS"  # @contents(this,"MEDICAL SYSTEMS","MS")
    assert after.StudyDescription == "ACME-TRIAL"  # @param(@TRIAL)
    for keyword in ("KVP", "SliceThickness", "ScanOptions", "ContrastBolusAgent"):
        _same(before, after, keyword)  # <k t="0018">
    for keyword in ("SOPClassUID", "Modality", "Rows", "PixelData"):
        _same(before, after, keyword)  # @keep(), and what CTP never removes as unspecified
    _absent(after, "InstitutionName", "StationName", "ImageComments", "PatientSex")  # unspecifiedelements
    assert not [e for e in after if e.tag.is_private]


def test_deid_var_with_a_table_becomes_a_lookup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run needs the loader's lookup table (issue 15 item 1)."""
    table = tmp_path / "subjects.csv"
    table.write_text("PatientID,subject\n1CT1,SUBJ-01\n4MR1,SUBJ-02\n", encoding="utf-8")
    status, profile = _import(tmp_path, "deid.dicom-constructs", "--lookup", str(table))
    report = _lines(capsys)
    assert status == 1 and report[25].startswith("translated") and "subjects.csv" in report[25]
    assert "SUBJ-01" not in "".join(report.values())
    text = yaml.safe_load(profile.read_text(encoding="utf-8"))
    assert text["lookup"] == {"file": "subjects.csv", "key": "PatientID"}
    pairs = _run(tmp_path, profile)
    assert pairs["CT"][1].PatientID == "SUBJ-01" and pairs["MR"][1].PatientID == "SUBJ-02"


# the command -----------------------------------------------------------------------------------


def test_unreadable_input_and_refusals_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "p.yaml"
    assert main(["profiles", "import", str(tmp_path / "missing.deid"), "-o", str(target)]) == 2
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    assert main(["profiles", "import", str(tmp_path / "notes.txt"), "-o", str(target)]) == 2
    assert main(["profiles", "import", str(tmp_path / "notes.txt"), "--from", "deid", "-o", str(target)]) == 2
    (tmp_path / "broken.script").write_text("<script><e t='00100010'>@keep()</script>", encoding="utf-8")
    assert main(["profiles", "import", str(tmp_path / "broken.script"), "--from", "ctp", "-o", str(target)]) == 2
    assert not target.exists()
    target.write_text("name: mine\n", encoding="utf-8")
    assert main(["profiles", "import", str(FIXTURES / "deid.dicom-private-creator-syntax"), "-o", str(target)]) == 2
    assert target.read_text(encoding="utf-8") == "name: mine\n"
    err = capsys.readouterr().err
    assert "not well-formed" in err and "exists; use --force" in err


def test_run_with_a_recipe_as_the_profile_says_to_import_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), src)
    for fixture, kind in (("deid.dicom-excerpt", "deid"), ("ctp-dicom-anonymizer-excerpt.script", "ctp")):
        status = main(["run", str(src), str(tmp_path / "dst"), "--profile", str(FIXTURES / fixture),
                       "--key-file", str(tmp_path / "key"), "--new-key", "--quiet"])
        assert status == 2
        assert f"deidentify profiles import {FIXTURES / fixture} --from {kind}" in capsys.readouterr().err
    assert not (tmp_path / "dst").exists()
