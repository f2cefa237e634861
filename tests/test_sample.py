"""The synthetic sample: deterministic, readable, varied, and honest about what it planted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from deidentify.detect import is_valid_aadhaar, is_valid_nhs, is_valid_ssn, is_valid_za_id
from deidentify.sample import PlantedValue, SampleManifest, write_sample
from deidentify.sample._identities import make_patient
from deidentify.sample._pixels import text_mask

COMMITTED = Path(__file__).resolve().parent.parent / "sample_synthetic"
KINDS = {"name", "name-part", "id", "national-id", "date", "phone", "email", "address", "uid",
         "institution", "device", "pixel-text"}
# Pixel and overlay bits are not text: a digit run found there would prove nothing.
BINARY_TAGS = {0x7FE00010, 0x60003000}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample(out)


@pytest.fixture(scope="module")
def datasets(sample: tuple[Path, SampleManifest]) -> dict[str, pydicom.Dataset]:
    root = sample[0]
    read = {f.relative_to(root).as_posix(): pydicom.dcmread(f, force=True) for f in _files(root / "studies")}
    for ds in read.values():
        # A file without meta has no transfer syntax to name; pydicom found the
        # encoding while reading but needs it named to decode the pixels.
        if "TransferSyntaxUID" not in ds.file_meta:
            assert ds.original_encoding == (True, True)
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return read


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _tree(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in _files(root) if p.name not in skip}


def _texts(ds: pydicom.Dataset) -> list[str]:
    """Every decoded value in ``ds``, nested and private ones included, as text."""
    texts = []
    for elem in ds.iterall():
        if elem.VR == "SQ" or elem.tag in BINARY_TAGS:
            continue
        value = elem.value
        if isinstance(value, bytes):
            texts.append(value.decode("latin-1"))
        elif isinstance(value, (list, MultiValue)):
            texts.extend(str(v) for v in value)
        elif value is not None:
            texts.append(str(value))
    return texts


def test_generation_is_deterministic(sample: tuple[Path, SampleManifest], tmp_path: Path) -> None:
    again = write_sample(tmp_path)
    assert _tree(tmp_path) == _tree(sample[0])
    assert again == sample[1]


def test_committed_sample_is_a_fresh_generation(sample: tuple[Path, SampleManifest]) -> None:
    committed = _tree(COMMITTED, skip=frozenset({"README.md"}))
    fresh = _tree(sample[0])
    assert sorted(committed) == sorted(fresh)
    assert [p for p in fresh if committed[p] != fresh[p]] == []


def test_other_seeds_give_other_values(sample: tuple[Path, SampleManifest], tmp_path: Path) -> None:
    other = write_sample(tmp_path, seed=7, patients=1)
    assert {p.patient for p in other.planted} == {0, None}
    ours = set(sample[1].values("uid", "id", "national-id"))
    assert ours.isdisjoint(other.values("uid", "id", "national-id"))


def test_refuses_to_write_over_an_existing_sample(tmp_path: Path) -> None:
    (tmp_path / "studies").mkdir()
    with pytest.raises(FileExistsError):
        write_sample(tmp_path)


def test_size_and_count_stay_small(sample: tuple[Path, SampleManifest]) -> None:
    files = _files(sample[0] / "studies")
    assert 40 <= len(files) <= 80
    assert sum(f.stat().st_size for f in files) <= 6 * 1024 * 1024


def test_every_file_reads_back(datasets: dict[str, pydicom.Dataset]) -> None:
    for name, ds in datasets.items():
        assert ds.SOPInstanceUID and ds.StudyInstanceUID and ds.PatientID, name
        assert str(ds.PatientName), name
        if ds.Modality == "SR":
            assert ds.ContentSequence, name
        else:
            pixels = ds.pixel_array
            assert (ds.Rows, ds.Columns) in (pixels.shape[-2:], pixels.shape[-3:-1]), name
            assert np.ptp(pixels) > 0, name


def test_odd_encodings_are_there(sample: tuple[Path, SampleManifest], datasets: dict[str, pydicom.Dataset]) -> None:
    syntaxes = {ds.file_meta.TransferSyntaxUID for ds in datasets.values()}
    assert {ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian} <= syntaxes
    bare = [n for n in datasets if (sample[0] / n).read_bytes()[128:132] != b"DICM"]
    assert len(bare) == 1
    assert (sample[0] / bare[0]).read_bytes()[:2] == b"\x08\x00"  # straight into group 0008
    with pytest.raises(InvalidDicomError):
        pydicom.dcmread(sample[0] / bare[0])
    assert any(int(ds.get("NumberOfFrames", 1)) > 1 for ds in datasets.values())
    assert any(not n.endswith(".dcm") for n in datasets) and any(n.endswith(".dcm") for n in datasets)


def test_iods_character_sets_and_traps(datasets: dict[str, pydicom.Dataset]) -> None:
    all_ds = list(datasets.values())
    assert {ds.Modality for ds in all_ds} == {"CT", "MR", "US", "OT", "SR"}
    charsets = {tuple(ds.SpecificCharacterSet) if ds["SpecificCharacterSet"].VM > 1 else ds.SpecificCharacterSet
                for ds in all_ds}
    assert {"ISO_IR 100", "ISO_IR 192", ("", "ISO 2022 IR 87")} <= charsets
    japanese = next(ds for ds in all_ds if ds["SpecificCharacterSet"].VM > 1)
    assert japanese.PatientName.ideographic and japanese.PatientName.phonetic
    assert any(0x60003000 in ds for ds in all_ds)
    assert any(ds.get("BurnedInAnnotation") == "YES" for ds in all_ds)
    assert any(ds.Modality in ("US", "OT") and "BurnedInAnnotation" not in ds for ds in all_ds)
    explicit_un = [ds for ds in all_ds if ds.file_meta.get("TransferSyntaxUID") == ExplicitVRLittleEndian
                   and any(e.VR == "UN" and e.tag.is_private for e in ds)]
    assert explicit_un
    creators = {e.value for ds in all_ds for e in ds if e.tag.is_private_creator}
    assert {"GEMS_IDEN_01", "SIEMENS CM VA0  CMS", "ACME HOSPITAL 1.0"} <= creators


def test_references_point_at_instances_in_the_sample(datasets: dict[str, pydicom.Dataset]) -> None:
    uids = {ds.SOPInstanceUID for ds in datasets.values()}
    referenced = set()
    for ds in datasets.values():
        for keyword in ("ReferencedImageSequence", "SourceImageSequence"):
            referenced |= {item.ReferencedSOPInstanceUID for item in ds.get(keyword, [])}
        for evidence in ds.get("CurrentRequestedProcedureEvidenceSequence", []):
            for series in evidence.ReferencedSeriesSequence:
                referenced |= {item.ReferencedSOPInstanceUID for item in series.ReferencedSOPSequence}
    assert len(referenced) >= 10
    assert referenced <= uids


def test_identifiers_sit_three_sequences_deep(datasets: dict[str, pydicom.Dataset]) -> None:
    ds = next(ds for ds in datasets.values() if "RequestAttributesSequence" in ds)
    context = ds.RequestAttributesSequence[0].ScheduledProtocolCodeSequence[0].ProtocolContextSequence
    assert str(context[0].PersonName) == str(ds.PatientName)


def test_manifest_round_trips_and_is_well_formed(sample: tuple[Path, SampleManifest]) -> None:
    root, manifest = sample
    assert SampleManifest.load(root) == manifest == SampleManifest.load(root / "planted.json")
    entries = json.loads((root / "planted.json").read_text(encoding="utf-8"))
    assert isinstance(entries, list) and set(entries[0]) == {"value", "kind", "patient", "where"}
    assert {p.kind for p in manifest.planted} == KINDS
    assert len({(p.value, p.kind, p.patient) for p in manifest.planted}) == len(manifest.planted)
    for patient in range(4):
        kinds = {p.kind for p in manifest.for_patient(patient)}
        assert {"name", "name-part", "id", "national-id", "date", "phone", "email", "address", "uid"} <= kinds
    names = manifest.values("name-part")
    for letter in "üñø山":
        assert any(letter in n for n in names), letter


def test_every_planted_value_is_in_the_files(sample: tuple[Path, SampleManifest],
                                             datasets: dict[str, pydicom.Dataset]) -> None:
    haystack = "\n".join([*datasets, *(t for ds in datasets.values() for t in _texts(ds))])
    missing = [p for p in sample[1].planted if p.kind != "pixel-text" and p.value not in haystack]
    assert missing == []


def _drawn(text: np.ndarray, line: str, slot: int) -> bool:
    """Whether ``text`` (a mask of text-coloured pixels) shows ``line`` in banner line ``slot``."""
    expected = text_mask([""] * slot + [line], text.shape)
    band = slice(1 + 12 * slot, 13 + 12 * slot)
    return np.array_equal(expected[band], text[band])


def test_pixel_text_is_burnt_into_the_images(sample: tuple[Path, SampleManifest],
                                            datasets: dict[str, pydicom.Dataset]) -> None:
    manifest = sample[1]
    patient_of = {p.value: p.patient for p in manifest.planted if p.where == "PatientID"}
    checked = 0
    for name, ds in datasets.items():
        if ds.Modality not in ("US", "OT"):
            continue
        frame = ds.pixel_array[0] if int(ds.get("NumberOfFrames", 1)) > 1 else ds.pixel_array
        text = np.all(frame == (255, 255, 160), axis=-1) if frame.ndim == 3 else frame == 235
        lines = [p.value for p in manifest.for_patient(patient_of[ds.PatientID])
                 if p.kind == "pixel-text" and p.where == "pixels"]
        drawn = {line for line in lines for slot in range(5) if _drawn(text, line, slot)}
        assert len(drawn) >= 3, name
        checked += 1
    assert checked >= 8
    overlaid = next(ds for ds in datasets.values() if 0x60003000 in ds)
    bits = overlaid.overlay_array(0x6000).astype(bool)
    assert np.array_equal(bits[-14:], text_mask([str(overlaid.PatientID)], (14, overlaid.Columns)))
    assert str(overlaid.PatientID) in manifest.values("pixel-text")


# The sample plants these kinds; each is told apart by its compact length.
NATIONAL_ID_VALIDATORS = {9: is_valid_ssn, 10: is_valid_nhs, 12: is_valid_aadhaar, 13: is_valid_za_id}


def test_every_planted_national_id_is_valid(sample: tuple[Path, SampleManifest]) -> None:
    planted = sample[1].values("national-id")
    compact = {value: re.sub(r"[ -]", "", value) for value in planted}
    assert all(c.isdigit() for c in compact.values()), compact
    assert {len(c) for c in compact.values()} == set(NATIONAL_ID_VALIDATORS)
    invalid = [v for v, c in compact.items() if not NATIONAL_ID_VALIDATORS[len(c)](c)]
    assert invalid == []
    # Each number is planted both bare and formatted.
    assert set(compact.values()) == {v for v in planted if v.isdigit()}


def test_south_african_ids_encode_the_patient(sample: tuple[Path, SampleManifest]) -> None:
    checked = 0
    for index in range(4):
        patient = make_patient(0, index)
        for national in patient.national_ids:
            if national.kind == "ZA-ID":
                assert national.value in sample[1].values("national-id")
                assert national.value[:6] == patient.birth_date.strftime("%y%m%d")
                assert (int(national.value[6:10]) >= 5000) == (patient.sex == "M")
                checked += 1
    assert checked == 2


def test_planted_value_is_a_plain_record() -> None:
    entry = PlantedValue("Müller", "name-part", 0, "PatientName")
    assert json.loads(SampleManifest((entry,)).to_json()) == [
        {"value": "Müller", "kind": "name-part", "patient": 0, "where": "PatientName"}
    ]
