"""Profiles for real projects, through the command line: lookup tables, filters, suggestions,
and the PatientIdentityRemoved a partial profile owes its receivers."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pydicom
import pytest

from deidentify.cli import main
from deidentify.profile import ProfileError, load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "sample_synthetic" / "studies"
# Two CT series and one MR series of three made-up patients: no burnt-in text to read, so the runs are quick.
SERIES = ["KOEHLER_LIESELOTTE_19830307/CT_20230514_ACC2257221/001_THORAX_5mm",
          "OESTBY_AASE_19650618/CT_20230303_ACC9904882/001_ABD_PORTAL_5mm",
          "YAMADA_TAROU_19730312/MR_20240815_ACC3722088/002_T1_COR"]


def _inputs(tmp_path: Path) -> tuple[Path, dict[str, list[Path]]]:
    """SERIES copied into ``tmp_path/src``; the copies by PatientID."""
    src = tmp_path / "src"
    by_patient: dict[str, list[Path]] = {}
    for series in SERIES:
        shutil.copytree(SAMPLE / series, src / series.replace("/", "_"))
    for path in sorted(src.rglob("*")):
        if path.is_file():
            by_patient.setdefault(str(pydicom.dcmread(path, stop_before_pixels=True).PatientID), []).append(path)
    return src, by_patient


def _run(tmp_path: Path, src: Path, *extra: str, dst: str = "dst") -> int:
    return main(["run", str(src), str(tmp_path / dst), "--key-file", str(tmp_path / "key"), "--new-key", "--quiet",
                 *extra])


def _outputs(tmp_path: Path, dst: str = "dst") -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p) for p in sorted((tmp_path / dst).rglob("*.dcm"))]


def _report(tmp_path: Path, dst: str = "dst") -> list[dict[str, str]]:
    with open(tmp_path / f"{dst}.state" / "report.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


TRIAL = """\
name: trial
extends: basic
lookup: {file: subjects.csv, key: PatientID}
rules:
  - {select: PatientID, action: lookup, column: SubjectID}
  - {select: PatientName, action: lookup, column: SubjectName}
"""


# --- lookup -----------------------------------------------------------------------------------


def test_lookup_maps_each_patient_to_the_trial_subject_and_withholds_the_unlisted(tmp_path: Path) -> None:
    src, by_patient = _inputs(tmp_path)
    listed, unlisted = sorted(by_patient)[:2], sorted(by_patient)[2]
    table = _write(tmp_path / "subjects.csv", "PatientID,SubjectID,SubjectName\n"
                   + "".join(f"{pid},TRIAL-{n:03d},Subject^{n}\n" for n, pid in enumerate(listed, 1)))
    profile = _write(tmp_path / "trial.yaml", TRIAL)
    assert _run(tmp_path, src, "--profile", str(profile)) == 1  # the unlisted patient's files are withheld

    outputs = _outputs(tmp_path)
    assert len(outputs) == sum(len(by_patient[p]) for p in listed)
    assert {(str(ds.PatientID), str(ds.PatientName)) for ds in outputs} == {("TRIAL-001", "Subject^1"),
                                                                            ("TRIAL-002", "Subject^2")}
    rows = _report(tmp_path)
    held = [r for r in rows if r["status"] == "withheld"]
    assert len(held) == len(by_patient[unlisted])
    assert {r["reason"] for r in held} == {"PatientID not in the lookup table subjects.csv"}
    # The table is named by its digest; no identifier it holds reaches the log or the report.
    log = (tmp_path / "dst.state" / "run.log").read_text(encoding="utf-8")
    assert hashlib.sha256(table.read_bytes()).hexdigest() in log
    reports = log + (tmp_path / "dst.state" / "report.csv").read_text(encoding="utf-8")
    for pid in by_patient:
        assert pid not in reports


def test_lookup_table_on_the_command_line_replaces_the_profiles(tmp_path: Path) -> None:
    src, by_patient = _inputs(tmp_path)
    _write(tmp_path / "subjects.csv", "PatientID,SubjectID,SubjectName\n")  # the profile's own: empty, unusable
    other = _write(tmp_path / "other.csv", "PatientID,SubjectID,SubjectName\n"
                   + "".join(f"{pid},S{n},S^{n}\n" for n, pid in enumerate(sorted(by_patient))))
    profile = _write(tmp_path / "trial.yaml", TRIAL)
    assert _run(tmp_path, src, "--profile", str(profile)) == 2  # the profile's table has no rows
    assert _run(tmp_path, src, "--profile", str(profile), "--lookup", str(other)) == 0
    assert {str(ds.PatientID) for ds in _outputs(tmp_path)} == {"S0", "S1", "S2"}


def test_a_new_lookup_table_is_a_new_profile_for_a_rerun(tmp_path: Path) -> None:
    src, by_patient = _inputs(tmp_path)
    rows = "".join(f"{pid},S{n},S^{n}\n" for n, pid in enumerate(sorted(by_patient)))
    table = _write(tmp_path / "subjects.csv", "PatientID,SubjectID,SubjectName\n" + rows)
    profile = _write(tmp_path / "trial.yaml", TRIAL)
    assert _run(tmp_path, src, "--profile", str(profile)) == 0
    table.write_text("PatientID,SubjectID,SubjectName\n" + rows.replace(",S", ",T"), encoding="utf-8")
    assert _run(tmp_path, src, "--profile", str(profile)) == 2  # refused: outputs of two tables would mix
    assert _run(tmp_path, src, "--profile", str(profile), "--restart") == 0
    assert {str(ds.PatientID) for ds in _outputs(tmp_path)} == {"T0", "T1", "T2"}


@pytest.mark.parametrize(
    ("table", "rules", "fragments"),
    [
        ("PatientID,SubjectID\nA,1\nA,2\n", "", ["subjects.csv", "line 3", "repeats the key of line 2"]),
        ("PatientID,SubjectID\n,1\n", "", ["line 2", "empty key"]),
        ("MRN,SubjectID\nA,1\n", "", ["names no column 'PatientID'"]),
        ("PatientID,SubjectID\nA,1,2\n", "", ["line 2", "3 cells"]),
        ("PatientID,SubjectID\nA,1\n", "  - {select: PatientID, action: lookup, column: SubjectId}\n",
         ["trial.yaml:", "SubjectId", "did you mean 'SubjectID'"]),
        ("PatientID,SubjectID\nA,1\n", "  - {select: PatientID, action: lookup}\n", ["needs column"]),
    ],
)
def test_a_broken_lookup_table_or_rule_is_refused_naming_the_place(tmp_path: Path, table: str, rules: str,
                                                                   fragments: list[str]) -> None:
    _write(tmp_path / "subjects.csv", table)
    profile = _write(tmp_path / "trial.yaml", "name: trial\nextends: basic\n"
                     "lookup: {file: subjects.csv}\nrules:\n" + (rules or "  - {select: PatientID, action: K}\n"))
    with pytest.raises(ProfileError) as caught:
        load_profile(profile)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_a_lookup_rule_without_a_table_is_refused(tmp_path: Path) -> None:
    profile = _write(tmp_path / "p.yaml", "name: p\nextends: basic\nrules:\n"
                     "  - {select: PatientID, action: lookup, column: SubjectID}\n")
    with pytest.raises(ProfileError, match=r"p\.yaml:4: rule 'PatientID' looks values up, but no lookup table"):
        load_profile(profile)


# --- filters ----------------------------------------------------------------------------------


def test_filters_accept_and_reject_and_leave_the_rest_out_without_a_copy(tmp_path: Path) -> None:
    src, _ = _inputs(tmp_path)
    profile = _write(tmp_path / "ct.yaml", """\
name: ct-only
extends: basic
filter:
  - {name: CT only, accept: {Modality: CT}}
  - {name: no portal phase, reject: {SeriesDescription: {contains: PORTAL}}}
""")
    assert _run(tmp_path, src, "--profile", str(profile)) == 0  # filtered on purpose is no failure
    rows = _report(tmp_path)
    written = [r for r in rows if r["status"] == "written"]
    assert written and {r["modality"] for r in written} == {"CT"}
    reasons = {r["reason"] for r in rows if r["status"] == "filtered"}
    assert reasons == {"rejected by filter 'no portal phase'", "accepted by no filter ('CT only')"}
    assert {ds.Modality for ds in _outputs(tmp_path)} == {"CT"}
    assert not any("PORTAL" in str(ds.get("SeriesDescription", "")) for ds in _outputs(tmp_path))
    quarantine = tmp_path / "dst.state" / "quarantine"
    assert not quarantine.exists() or not any(p.is_file() for p in quarantine.rglob("*"))


def test_a_filter_condition_is_checked_when_the_profile_loads(tmp_path: Path) -> None:
    profile = _write(tmp_path / "f.yaml", "name: f\nextends: basic\nfilter:\n"
                     "  - {name: bad, accept: {Modalty: CT}}\n")
    with pytest.raises(ProfileError, match=r"f\.yaml:4: filter 1 \('bad'\)"):
        load_profile(profile)
    both = _write(tmp_path / "g.yaml", "name: g\nextends: basic\nfilter:\n"
                  "  - {name: both, accept: {Modality: CT}, reject: {Modality: MR}}\n")
    with pytest.raises(ProfileError, match="either accept or reject"):
        load_profile(both)


# --- suggestions and where mistakes are ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "suggestion"),
    [
        ("{select: PatientsName, action: Z}", "did you mean 'PatientName'?"),
        ("{select: PatientName, action: remov}", "did you mean 'remove'?"),
        ("{select: PatientName, action: Z, when: clean-descriptor}", "did you mean 'clean-descriptors'?"),
        ("{select: PatientName, action: Z, optoins: {}}", "did you mean 'options'?"),
    ],
)
def test_misspelt_names_get_a_suggestion(tmp_path: Path, rule: str, suggestion: str) -> None:
    profile = _write(tmp_path / "p.yaml", f"name: p\nextends: basic\nrules:\n  - {rule}\n")
    with pytest.raises(ProfileError, match="p.yaml:4") as caught:
        load_profile(profile)
    assert suggestion in str(caught.value)


def test_unknown_profile_names_and_options_on_the_command_line(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    src, _ = _inputs(tmp_path)
    assert _run(tmp_path, src, "--profile", "reserach") == 2
    assert "did you mean 'research'?" in capsys.readouterr().err
    assert _run(tmp_path, src, "--option", "clean-descriptor") == 2
    err = capsys.readouterr().err
    assert "--option: unknown option 'clean-descriptor' (did you mean 'clean-descriptors'?)" in err
    assert "basic.yaml" not in err  # the mistake is on the command line, not in the built-in profile
    extends = _write(tmp_path / "e.yaml", "name: e\nextends: basc\n")
    assert _run(tmp_path, src, "--profile", str(extends)) == 2
    assert "did you mean 'basic'?" in capsys.readouterr().err


# --- PatientIdentityRemoved ---------------------------------------------------------------------


def test_a_profile_that_keeps_identifying_attributes_says_NO_and_the_report_says_why(tmp_path: Path) -> None:
    src, by_patient = _inputs(tmp_path)
    partial = _write(tmp_path / "partial.yaml", "name: partial\nrules:\n  - {select: PatientName, action: Z}\n")
    assert _run(tmp_path, src, "--profile", str(partial)) == 0
    outputs = _outputs(tmp_path)
    assert outputs and {ds.PatientIdentityRemoved for ds in outputs} == {"NO"}
    assert not any("DeidentificationMethodCodeSequence" in ds for ds in outputs)  # it conforms to no profile
    assert {str(ds.PatientID) for ds in outputs} == set(by_patient)  # kept, as the profile says
    log = (tmp_path / "dst.state" / "run.log").read_text(encoding="utf-8")
    assert "profile partial keeps" in log and "PatientIdentityRemoved NO" in log and "PatientID" in log

    assert _run(tmp_path, src, "--profile", "research", dst="full") == 0
    assert {ds.PatientIdentityRemoved for ds in _outputs(tmp_path, "full")} == {"YES"}
    assert "PatientIdentityRemoved NO" not in (tmp_path / "full.state" / "run.log").read_text(encoding="utf-8")
