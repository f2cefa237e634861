"""Unattended runs: workers, kill -9 and resume, the state lock, changed inputs, linkage, report."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from deidentify.batch import RunError, Runner, run
from deidentify.profile import load_profile
from deidentify.sample import SampleManifest, write_sample

KEY = bytes(range(32))
# The mechanics of a run are tested without OCR: fast, and the images it would have to read
# (the capture images, and CTs deid's device list flags) are withheld, so every run here has
# written and withheld files alike.
NO_OCR = Path(__file__).resolve().parent / "profiles" / "no-ocr.yaml"
BURNT_IN = "burnt-in text not cleaned"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A larger synthetic archive (12 patients, 144 files) so a run lasts long enough to be killed."""
    base = tmp_path_factory.mktemp("corpus")
    write_sample(base, patients=12)
    return base


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    dst = tmp_path_factory.mktemp("reference") / "out"
    result = run(corpus / "studies", dst, load_profile(NO_OCR), KEY)
    assert set(result.report.status) == {"written", "withheld"}
    return dst, result.report


def test_two_workers_write_the_same_bytes_as_one(corpus: Path, reference: tuple[Path, pd.DataFrame],
                                                 tmp_path: Path) -> None:
    result = run(corpus / "studies", tmp_path / "out", load_profile(NO_OCR), KEY, workers=2)
    assert _tree(tmp_path / "out") == _tree(reference[0])
    assert result.report.drop(columns="seconds").equals(reference[1].drop(columns="seconds"))


def test_kill_9_at_random_moments_then_rerun_gives_the_uninterrupted_result(
    corpus: Path, reference: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY.hex() + "\n")
    key_file.chmod(0o600)
    dst = tmp_path / "out"
    command = [sys.executable, "-m", "deidentify.cli", "run", str(corpus / "studies"), str(dst),
               "--key-file", str(key_file), "--workers", "2", "--quiet", "--profile", str(NO_OCR)]
    rng = random.Random(20261129)
    killed = 0
    for _ in range(4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
    assert killed >= 1, "the run should have been killed at least once"
    final = subprocess.run(command, capture_output=True, text=True)
    assert final.returncode == 1, final.stderr  # images that need OCR are withheld without it
    assert _tree(dst) == _tree(reference[0])
    assert not [p for p in dst.rglob("*") if p.name.startswith(".")]
    report = pd.read_csv(dst.with_name("out.state") / "report.csv", keep_default_na=False)
    assert len(report) == len(reference[1]) == sum(1 for p in (corpus / "studies").rglob("*") if p.is_file())
    assert (report.status == "written").sum() == len(list(dst.rglob("*.dcm")))


def test_a_second_run_on_a_locked_state_folder_is_refused(corpus: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    holder = Runner(tmp_path / "a", load_profile(NO_OCR), KEY, state)
    try:
        with pytest.raises(RunError, match="another deidentify process"):
            run(corpus / "studies", tmp_path / "b", load_profile(NO_OCR), KEY, state)
        assert not (tmp_path / "b").exists() or not list((tmp_path / "b").rglob("*.dcm"))
    finally:
        holder.close()
    # Released with its holder: the next run goes ahead (and withholds what needs OCR).
    again = run(corpus / "studies", tmp_path / "b", load_profile(NO_OCR), KEY, state)
    assert again.exit_code == 1
    assert len(again.report) == sum(1 for p in (corpus / "studies").rglob("*") if p.is_file())


def test_finished_inputs_are_not_redone_and_changed_ones_are(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    ct = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    mr = Path(pydicom.data.get_testdata_file("MR_small.dcm"))
    (src / "a.dcm").write_bytes(ct.read_bytes())
    (src / "b.dcm").write_bytes(mr.read_bytes())
    first = run(src, tmp_path / "out", load_profile("basic"), KEY)
    assert first.exit_code == 0
    state = tmp_path / "out.state"
    lines = (state / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 2

    again = run(src, tmp_path / "out", load_profile("basic"), KEY)
    assert len((state / "manifest.jsonl").read_text().splitlines()) == 2, "nothing redone"
    assert again.report.drop(columns="seconds").equals(first.report.drop(columns="seconds"))

    # Change one input's instance: the old output goes, the new one comes, nothing doubles.
    ds = pydicom.dcmread(src / "b.dcm")
    ds.SOPInstanceUID = "1.2.3.4.5.6.7.8.9"
    ds.save_as(src / "b.dcm")
    os.utime(src / "b.dcm", ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = run(src, tmp_path / "out", load_profile("basic"), KEY)
    assert changed.exit_code == 0
    assert len((state / "manifest.jsonl").read_text().splitlines()) == 3
    outputs = sorted(p.stem for p in (tmp_path / "out").rglob("*.dcm"))
    assert len(outputs) == 2 and set(changed.report.output.str.split("/").str[-1].str[:-4]) == set(outputs)


def test_linkage_maps_original_to_new_identifiers_privately(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    original = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    (src / "ct.dcm").write_bytes(Path(original.filename).read_bytes())
    run(src, tmp_path / "out", load_profile("basic"), KEY, linkage=True)
    state = tmp_path / "out.state"
    uids = pd.read_csv(state / "uid_mapping.csv", dtype=str)
    patients = pd.read_csv(state / "patid_mapping.csv", dtype=str)
    assert list(uids.columns) == ["id_old", "id_new"] == list(patients.columns)
    for name in ("uid_mapping.csv", "patid_mapping.csv"):
        assert (state / name).stat().st_mode & 0o777 == 0o600
    written = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    mapping = dict(zip(uids.id_old, uids.id_new, strict=True))
    assert mapping[original.SOPInstanceUID] == written.SOPInstanceUID
    assert mapping[original.StudyInstanceUID] == written.StudyInstanceUID
    assert dict(zip(patients.id_old, patients.id_new, strict=True)) == {original.PatientID: written.PatientID}
    # Never into DST, and without --linkage no original identifier is stored anywhere.
    assert [p.suffix for p in (tmp_path / "out").rglob("*") if p.is_file()] == [".dcm"]
    run(src, tmp_path / "plain", load_profile("basic"), KEY)
    for path in (tmp_path / "plain.state").rglob("*"):
        if path.is_file():
            assert original.SOPInstanceUID.encode() not in path.read_bytes()
            assert original.PatientID.encode() not in path.read_bytes()


def test_report_is_csv_and_parquet_with_no_planted_value(corpus: Path, reference: tuple[Path, pd.DataFrame]) -> None:
    state = reference[0].with_name("out.state")
    csv = pd.read_csv(state / "report.csv", keep_default_na=False, dtype=str)
    parquet = pd.read_parquet(state / "report.parquet").astype(str)
    assert list(csv.columns) == list(parquet.columns)
    assert csv.file_id.tolist() == parquet.file_id.tolist()
    text = (state / "report.csv").read_text() + (state / "run.log").read_text() + (
        state / "manifest.jsonl").read_text()
    for entry in SampleManifest.load(corpus).planted:
        if len(entry.value) >= 4:
            assert entry.value not in text, (entry.kind, entry.where)
    counts = csv.status.value_counts()
    assert counts["written"] == len({*csv[csv.status == "written"].output}) == len(list(reference[0].rglob("*.dcm")))
    assert counts["withheld"] == len(list((state / "quarantine").glob("*.reason.txt")))
    assert csv[csv.status == "withheld"].reason.str.startswith(BURNT_IN).all()


def test_verify_withholds_an_output_the_check_finds_identifying(tmp_path: Path) -> None:
    # A careless user profile keeps a free-text comment that names the patient (OCR off: this
    # is about --verify, not about pixels).
    profile = tmp_path / "careless.yaml"
    profile.write_text(f"name: careless\nextends: {NO_OCR}\nrules:\n  - {{select: PatientComments, action: keep}}\n")
    studies = Path(__file__).resolve().parent.parent / "sample_synthetic" / "studies"
    careless = run(studies, tmp_path / "plain", load_profile(profile), KEY)
    verified = run(studies, tmp_path / "verified", load_profile(profile), KEY, verify=True)
    leaked = set(careless.report.output[careless.report.status == "written"])
    caught = verified.report[verified.report.reason.str.startswith("verify:")]
    assert len(caught) > 0 and all("PatientComments" in reason for reason in caught.reason)
    assert len(verified.report[verified.report.status == "written"]) == len(leaked) - len(caught)
    # Verify withholds only what it checks: the images withheld before it are withheld for their own reason.
    for report in (careless.report, verified.report):
        assert report[report.status == "withheld"].reason.str.startswith(("verify:", BURNT_IN)).all()
    withheld = careless.report[careless.report.status == "withheld"]
    assert len(withheld) > 0 and withheld.file_id.isin(
        verified.report[verified.report.reason.str.startswith(BURNT_IN)].file_id).all()
    for path in (tmp_path / "verified").rglob("*.dcm"):
        assert "PatientComments" not in pydicom.dcmread(path) or not pydicom.dcmread(path).PatientComments
