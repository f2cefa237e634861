"""`deidentify run` end to end, on the committed synthetic sample and pydicom's own test files."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zlib
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

from deidentify.batch import RunError, run
from deidentify.cli import main
from deidentify.keys import Keyring
from deidentify.profile import load_profile
from deidentify.sample import SampleManifest
from deidentify.writer import IMPLEMENTATION_CLASS_UID

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_synthetic"
STUDIES = SAMPLE / "studies"
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in _tree(folder).items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample de-identified with each built-in profile (and basic twice, and with another key)."""
    base = tmp_path_factory.mktemp("runs")
    before = _digests(STUDIES)
    out = {}
    for label, profile, key in [
        ("basic", "basic", KEY),
        ("basic-again", "basic", KEY),
        ("basic-other-key", "basic", OTHER_KEY),
        ("research", "research", KEY),
    ]:
        result = run(STUDIES, base / label, load_profile(profile), key, workers=2)
        assert result.exit_code == 0, result.summary  # burnt-in banners are masked, nothing withheld
        out[label] = base / label
    assert _digests(STUDIES) == before, "inputs must never be modified"
    return out


def _dataset_bytes(path: Path) -> bytes:
    """The file's bytes with a deflated dataset inflated, so a search sees every value."""
    data = path.read_bytes()
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    if ds.file_meta.TransferSyntaxUID != DeflatedExplicitVRLittleEndian:
        return data
    meta_end = 132 + 12 + int(ds.file_meta.FileMetaInformationGroupLength)
    return data[:meta_end] + zlib.decompress(data[meta_end:], -zlib.MAX_WBITS)


def _forms(value: str) -> set[str]:
    forms = {value, value.upper(), value.lower(), value.replace("^", " ")}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6:
        forms.add(digits)
    return {f for f in forms if len(f) >= 3}


def _encodings(text: str) -> set[bytes]:
    found = set()
    for encoding in ("utf-8", "latin-1", "iso2022_jp", "shift_jis", "utf-16-le"):
        with contextlib.suppress(UnicodeEncodeError):
            found.add(text.encode(encoding))
    return found


@pytest.mark.parametrize("label", ["basic", "research"])
def test_no_planted_value_in_any_output_byte_or_path(runs: dict[str, Path], label: str) -> None:
    planted = SampleManifest.load(SAMPLE).planted
    outputs = [(str(p.relative_to(runs[label])), _dataset_bytes(p)) for p in runs[label].rglob("*.dcm")]
    assert len(outputs) == 48
    leaks = []
    for entry in planted:
        for form in _forms(entry.value):
            needles = _encodings(form)
            for path, data in outputs:
                if form in path or any(n in data for n in needles):
                    leaks.append((entry.kind, entry.where, path))
    assert leaks == []


def test_dst_holds_only_dicom_named_by_pseudonym_and_uids(runs: dict[str, Path]) -> None:
    pattern = re.compile(r"^P[A-Z2-9]{10}/[0-9.]+/[0-9.]+/[0-9.]+\.dcm$")
    names = [str(p.relative_to(runs["basic"])) for p in runs["basic"].rglob("*") if p.is_file()]
    assert names and all(pattern.match(name) for name in names), names


def test_every_output_reads_back_marked_and_with_its_own_file_meta(runs: dict[str, Path]) -> None:
    for path in runs["basic"].rglob("*.dcm"):
        raw = path.read_bytes()
        assert raw[:128] == b"\0" * 128 and raw[128:132] == b"DICM"
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == "REMOVED"
        codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
        # 113101 (Clean Pixel Data) only on images the pixel stage assessed (capture images, and
        # CTs of a model deid's device list flags), which then say BurnedInAnnotation NO.
        assert codes in (["113100"], ["113100", "113101"])
        assert ("113101" in codes) == (ds.get("BurnedInAnnotation") == "NO")
        if ds.Modality in ("US", "OT"):
            assert "113101" in codes
        if ds.Modality in ("SR", "MR"):
            assert codes == ["113100"]
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
        assert "SourceApplicationEntityTitle" not in ds.file_meta
        assert not [e for e in ds.iterall() if e.tag.group in (0x0002, 0x0004) or e.tag.element == 0]
        assert ds.SOPInstanceUID.startswith("2.25.") and ds.StudyInstanceUID.startswith("2.25.")
        assert ds.PatientID.startswith("P") and str(ds.PatientName) == ds.PatientID
        assert path.parts[-4] == ds.PatientID


def test_research_marks_modified_dates_and_its_options(runs: dict[str, Path]) -> None:
    for path in runs["research"].rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
        codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
        assert codes - {"113101"} == {"113100", "113104", "113105", "113107", "113108", "113111"}
        assert ("113101" in codes) == (ds.get("BurnedInAnnotation") == "NO")


def _ocr_words(ds: pydicom.Dataset) -> list[str]:
    """What the text detector's recogniser reads in every line it finds, however doubtful, and
    what Tesseract reads (where installed), in every frame rendered as the pixel stage renders it."""
    from deidentify.pixels.detectors import TesseractDetector, TextDetector
    from deidentify.pixels.frames import decode_frames
    from deidentify.pixels.layout import read_layout, transfer_syntax_of
    from deidentify.pixels.render import to_gray

    text_detector = TextDetector()
    tesseract = TesseractDetector(confidence=0) if shutil.which("tesseract") else None
    layout = read_layout(ds, transfer_syntax_of(ds))
    words = []
    for frame in decode_frames(ds, layout):
        gray = to_gray(frame, ds)
        lines = [box for box, _ in text_detector.detect(gray)]
        words += [text for text, _ in text_detector.recognise(gray, lines)]
        words += [word.text for word in tesseract.read(gray)] if tesseract else []
    return words


def test_burnt_in_banners_are_masked_so_ocr_reads_no_identifying_word(runs: dict[str, Path]) -> None:
    if os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
        assert shutil.which("tesseract"), "CI reads the outputs with both engines"
    planted = [e for e in SampleManifest.load(SAMPLE).planted if e.kind == "pixel-text" and e.where == "pixels"]
    words = {w.upper() for e in planted for w in re.findall(r"[\w-]{4,}", e.value) if not w.isdigit() or len(w) >= 6}
    assert words
    cleaned = 0
    for path in runs["basic"].rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        if ds.Modality not in ("US", "OT"):
            continue
        assert ds.BurnedInAnnotation == "NO"
        assert "113101" in {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
        read = " ".join(_ocr_words(ds)).upper()
        assert not [w for w in words if w in read], path.name
        cleaned += 1
    assert cleaned == 9
    report = pd.read_csv(runs["basic"].with_name("basic.state") / "report.csv", keep_default_na=False)
    masked = report[report.masked_regions > 0]
    assert set(masked.modality) == {"US", "OT"} and masked.masked_by.str.contains("text").all()


def test_report_and_log_hold_no_planted_value(runs: dict[str, Path]) -> None:
    state = runs["basic"].with_name("basic.state")
    texts = [(state / "report.csv").read_text(), (state / "run.log").read_text()]
    for entry in SampleManifest.load(SAMPLE).planted:
        for form in _forms(entry.value):
            assert not any(form in text for text in texts), (entry.kind, entry.where)
    assert "studies" not in texts[1] and str(STUDIES) not in texts[0] + texts[1]


def test_same_key_gives_identical_bytes_and_another_key_other_uids(runs: dict[str, Path]) -> None:
    assert _tree(runs["basic"]) == _tree(runs["basic-again"])
    uids = {p.stem for p in runs["basic"].rglob("*.dcm")}
    other = {p.stem for p in runs["basic-other-key"].rglob("*.dcm")}
    assert len(uids) == len(other) == 48 and not uids & other


def test_rerun_into_the_same_folder_changes_nothing(runs: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    shutil.copytree(runs["basic"], dst)
    result = run(STUDIES, dst, load_profile("basic"), KEY)
    assert result.exit_code == 0
    assert _tree(dst) == _tree(runs["basic"])


def _by_original_uid(src: Path, out: Path) -> tuple[dict[str, pydicom.Dataset], dict[str, pydicom.Dataset]]:
    inputs = {}
    for path in src.rglob("*"):
        if path.is_file():
            ds = pydicom.dcmread(path, force=True)
            inputs[ds.SOPInstanceUID] = ds
    outputs = {}
    for path in out.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        outputs[ds.SOPInstanceUID] = ds
    return inputs, outputs


def test_references_between_files_stay_intact(runs: dict[str, Path]) -> None:
    inputs, outputs = _by_original_uid(STUDIES, runs["basic"])
    referenced = 0
    for ds in outputs.values():
        for elem in ds.iterall():
            if elem.keyword == "ReferencedSOPInstanceUID" and elem.value in outputs:
                referenced += 1
    assert referenced > 0, "the sample's references should point at instances that were written"
    # Every input reference to an instance that was written points at that instance's new UID.
    in_refs = sum(
        1
        for ds in inputs.values()
        for elem in ds.iterall()
        if elem.keyword == "ReferencedSOPInstanceUID" and elem.value in inputs
    )
    assert referenced == in_refs
    studies = defaultdict(set)
    for ds in outputs.values():
        studies[ds.PatientID].add(ds.StudyInstanceUID)
    assert len(studies) == 4 and all(len(s) >= 1 for s in studies.values())
    frames = defaultdict(set)
    for ds in outputs.values():
        if "FrameOfReferenceUID" in ds:
            frames[ds.SeriesInstanceUID].add(ds.FrameOfReferenceUID)
    assert frames and all(len(f) == 1 for f in frames.values())


def _pairs(out: Path) -> list[tuple[Path, pydicom.Dataset, pydicom.Dataset]]:
    """(input path, input, output) for every written instance, matched through the keyed UID map."""
    keyring = Keyring(KEY)
    outputs = {}
    for path in out.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        outputs[ds.SOPInstanceUID] = ds
    pairs = []
    for path in sorted(STUDIES.rglob("*")):
        if path.is_file():
            original = pydicom.dcmread(path, force=True)
            new = outputs.get(keyring.uid(original.SOPInstanceUID))
            if new is not None:
                pairs.append((path, original, new))
    assert len(pairs) == len(outputs)
    return pairs


def test_research_shifts_each_patients_dates_by_one_offset(runs: dict[str, Path]) -> None:
    offsets = defaultdict(set)
    for _, original, new in _pairs(runs["research"]):
        for keyword in ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate"):
            if original.get(keyword) and new.get(keyword):
                before = datetime.datetime.strptime(original[keyword].value, "%Y%m%d")
                after = datetime.datetime.strptime(new[keyword].value, "%Y%m%d")
                offsets[new.PatientID].add((after - before).days)
    assert len(offsets) == 4
    for days in offsets.values():
        assert len(days) == 1 and -1095 <= next(iter(days)) <= -30
    assert len({next(iter(d)) for d in offsets.values()}) > 1, "offsets are per patient"


def _dciodvfy_errors(path: Path) -> set[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace")
    return {line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")}


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("DEIDENTIFY_REQUIRE_TOOLS"):
            pytest.fail(f"{tool} is required (DEIDENTIFY_REQUIRE_TOOLS is set)")
        pytest.skip(f"{tool} is not installed (apt-get install dicom3tools)")


@pytest.mark.parametrize("label", ["basic", "research"])
def test_dciodvfy_finds_no_error_the_input_did_not_have(runs: dict[str, Path], label: str, tmp_path: Path) -> None:
    _require("dciodvfy")
    checked = 0
    for source, original, ds in _pairs(runs[label]):
        path = ds.filename
        if ds.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian:
            # dciodvfy cannot read deflate: compare both in explicit VR little endian.
            source, path = tmp_path / "in.dcm", _inflated(ds, tmp_path / "out.dcm")
            _inflated(original, source)
        new = _dciodvfy_errors(Path(path)) - _dciodvfy_errors(source)
        assert not new, (ds.Modality, sorted(new))
        checked += 1
    assert checked == 48


def _inflated(ds: pydicom.Dataset, path: Path) -> Path:
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return path


# --- pydicom's bundled test files: odd, broken and exotic inputs ------------------------------


@pytest.fixture(scope="module")
def pydicom_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    dst = tmp_path_factory.mktemp("pydicom") / "out"
    before = _digests(PYDICOM_FILES)
    result = run(PYDICOM_FILES, dst, load_profile("basic"), KEY)
    assert _digests(PYDICOM_FILES) == before
    return dst, result.report


def test_every_pydicom_test_file_is_written_or_withheld_with_a_reason(pydicom_run: tuple[Path, pd.DataFrame]) -> None:
    dst, report = pydicom_run
    files = [p for p in PYDICOM_FILES.rglob("*") if p.is_file()]
    assert len(report) == len(files)
    assert set(report.status) <= {"written", "withheld", "not DICOM", "error"}
    held = report[report.status != "written"]
    assert held.reason.str.len().min() > 0
    # Two inputs that differ only in what de-identification removes give one output.
    written = report[report.status == "written"]
    assert written.output.nunique() == len(list(dst.rglob("*.dcm"))) > 50
    state = dst.with_name("out.state")
    for file_id in held.file_id:
        assert (state / "quarantine" / f"{file_id}.reason.txt").is_file()
    reasons = set(held.reason)
    assert "truncated: element (7FE0,0010) is shorter than its length" in reasons
    assert "DICOMDIR is a file-set index, not an instance" in reasons


def test_pydicom_outputs_read_back_with_pixel_bytes_unchanged(pydicom_run: tuple[Path, pd.DataFrame]) -> None:
    dst, report = pydicom_run
    input_pixels: set[bytes] = set()
    for path in PYDICOM_FILES.rglob("*"):
        if not path.is_file():
            continue
        try:
            ds = pydicom.dcmread(path)
        except Exception:
            continue
        if "PixelData" in ds:
            input_pixels.add(hashlib.sha256(ds.PixelData).digest())
    masked = dict(zip(report.output, report.masked_regions, strict=True))
    # Bytes after the last frame and bits outside BitsStored are dropped (tests/test_pixel_leaks.py).
    settled = dict(zip(report.output, report.pixel_trailing_dropped + report.pixel_high_bits_cleared, strict=True))
    compared = 0
    for path in dst.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        if "PixelData" not in ds:
            continue
        if settled[str(path.relative_to(dst))]:
            continue
        if masked[str(path.relative_to(dst))] == 0:
            # Pixels that needed no masking are the input's bytes.
            assert hashlib.sha256(ds.PixelData).digest() in input_pixels
            compared += 1
        else:
            assert ds.BurnedInAnnotation == "NO"
            assert ds.pixel_array.size > 0  # the masked pixels decode
    assert compared > 30


# --- arguments, bad inputs and exit status ----------------------------------------------------------


def _one_good_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "ct.dcm"
    shutil.copy(PYDICOM_FILES / "CT_small.dcm", target)
    return target


def test_bad_inputs_get_a_reason_each_and_the_run_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "src"
    good = _one_good_file(src)
    (src / "empty.dcm").write_bytes(b"")
    (src / "notes.txt").write_text("Patient Jane Roe, 555-0100")
    (src / "cut.dcm").write_bytes(good.read_bytes()[:-1000])
    result = run(src, tmp_path / "dst", load_profile("basic"), KEY)
    assert result.exit_code == 1
    reasons = dict(zip(result.report.status + ":" + result.report.reason, result.report.file_id, strict=True))
    assert set(result.report.status) == {"written", "not DICOM", "error"}
    assert any(r.startswith("not DICOM:empty file") for r in reasons)
    assert any(r.startswith("error:truncated") for r in reasons)
    assert len(list((tmp_path / "dst").rglob("*.dcm"))) == 1


def test_dst_inside_src_or_src_inside_dst_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _one_good_file(src)
    with pytest.raises(RunError):
        run(src, src / "out", load_profile("basic"), KEY)
    with pytest.raises(RunError):
        run(src, tmp_path, load_profile("basic"), KEY)
    assert not (src / "out").exists()


def test_cli_exit_status_and_key_creation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    _one_good_file(src)
    key = tmp_path / "keys" / "key"
    # A mistyped folder must not quietly start a new key (and so new pseudonyms).
    assert main(["run", str(src), str(tmp_path / "dst"), "--key-file", str(key), "--quiet"]) == 2
    assert "folder does not exist" in capsys.readouterr().err
    assert not key.parent.exists() and not (tmp_path / "dst").exists()
    assert main(["run", str(src), str(tmp_path / "dst"), "--key-file", str(key), "--new-key", "--quiet"]) == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert "created a new secret key" in capsys.readouterr().err
    assert main(["run", str(src), str(tmp_path / "bad"), "--profile", "no-such", "--key-file", str(key)]) == 2
    assert main(["run", str(src), str(src / "inside"), "--key-file", str(key)]) == 2
    assert not (tmp_path / "bad").exists() and not (src / "inside").exists()
    (tmp_path / "broken-key").write_text("not a key")
    assert main(["run", str(src), str(tmp_path / "d2"), "--key-file", str(tmp_path / "broken-key")]) == 2
    assert not (tmp_path / "d2").exists()


def test_console_script_runs_the_sample(tmp_path: Path) -> None:
    env = dict(os.environ, DEIDENTIFY_KEY_FILE=str(tmp_path / "key"))
    result = subprocess.run(
        [sys.executable, "-m", "deidentify.cli", "run", str(STUDIES), str(tmp_path / "out")],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"written\s+48\n", result.stdout)
    assert (tmp_path / "out.state" / "report.csv").is_file()


def test_sample_command_writes_the_committed_sample(tmp_path: Path) -> None:
    assert main(["sample", str(tmp_path / "s")]) == 0
    assert _tree(tmp_path / "s" / "studies") == _tree(STUDIES)
    assert (tmp_path / "s" / "planted.json").read_bytes() == (SAMPLE / "planted.json").read_bytes()
    assert main(["sample", str(tmp_path / "s")]) == 2  # never mixes with an earlier sample
