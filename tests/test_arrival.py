"""`arrival.not_whole`: a file cut short anywhere is told from a whole one, before anything is written.

Real files of every syntax the pipeline reads (the synthetic sample and pydicom's
test files), cut at every element boundary, inside every element header and value,
and at steps through the pixel data.  What the check must guarantee: no cut of an
image is written or withheld (an outcome the watcher takes as final) unless the
check flags it first or nothing the data set needs is missing; for a non-image, only a cut exactly between two top-level
elements, which no structure shows (the module says so), may pass.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from deidentify.arrival import CUT_SHORT, NO_PIXELS, WAITING, not_whole
from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes
from deidentify.plan import RuleBook
from deidentify.profile import load_profile
from deidentify.rawscan import read_group, scan
from deidentify.source import walk

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "sample_synthetic" / "studies"
RULES = RuleBook(load_profile(ROOT / "tests" / "profiles" / "no-ocr.yaml"))
KEYRING = Keyring(bytes(range(32)))
FINAL = ("written", "withheld")


def _sample(modality: str, syntax: str) -> Path:
    for path in walk(STUDIES):
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        if ds.get("Modality") == modality and str(ds.file_meta.get("TransferSyntaxUID", "")) == syntax:
            return path
    raise LookupError((modality, syntax))


IMAGES = {
    "explicit VR LE (sample CT)": lambda: _sample("CT", "1.2.840.10008.1.2.1"),
    "implicit VR LE (sample MR)": lambda: _sample("MR", "1.2.840.10008.1.2"),
    "explicit VR BE": lambda: Path(get_testdata_file("MR_small_bigendian.dcm")),
    "RLE, encapsulated": lambda: Path(get_testdata_file("MR_small_RLE.dcm")),
    "JPEG 2000, encapsulated": lambda: Path(get_testdata_file("JPEG2000.dcm")),
    "deflated": lambda: Path(get_testdata_file("image_dfl.dcm")),
}


def _pixel_start(data: bytes) -> int:
    """Where the Pixel Data element's header begins (pydicom knows where its value does)."""
    ds = pydicom.dcmread(BytesIO(data), force=True)
    syntax = ds.file_meta.TransferSyntaxUID
    header = 8 if syntax.is_implicit_VR else 12
    return ds.get_item(0x7FE00010).value_tell - header


def _cuts(data: bytes) -> list[int]:
    """Every byte up to a little way into the pixel data (every boundary, header and value of the
    header elements), then steps through the pixel data, and the last few bytes."""
    edge = min(_pixel_start(data) + 40, len(data))
    return sorted({*range(1, edge), *range(edge, len(data), 97), *range(len(data) - 12, len(data))})


@pytest.mark.parametrize("name", IMAGES)
def test_no_cut_of_an_image_passes_as_final(name: str) -> None:
    data = IMAGES[name]().read_bytes()
    assert not_whole(data) is None
    whole = deidentify_bytes(data, RULES, KEYRING)
    assert whole.status in FINAL
    pixels = _pixel_start(data)
    flagged = {}
    for cut in _cuts(data):
        reason = not_whole(data[:cut])
        if reason is None:
            outcome = deidentify_bytes(data[:cut], RULES, KEYRING)
            # Final only where nothing the data set needs was missing (the deflated file's last
            # bytes come after the end of its deflate stream).
            assert outcome.status not in FINAL or (outcome.status, outcome.reason, outcome.data) == (
                whole.status, whole.reason, whole.data), (name, cut, outcome.status)
        else:
            assert reason.startswith(WAITING)
            flagged[cut] = reason
    if not name.startswith("deflated"):  # a deflated stream cut short is not readable at all
        assert flagged[pixels] == NO_PIXELS, "cut just before its pixel data, an image has none"
        assert flagged[pixels + 20] == CUT_SHORT
        assert flagged[len(data) - 1] == CUT_SHORT


def _report(undefined_lengths: bool) -> bytes:
    """A small SR-like instance with a nested sequence, of undefined lengths or not."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "SR"
    ds.PatientName = "Cut^Short"
    inner = Dataset()
    inner.TextValue = "finding " * 8
    item = Dataset()
    item.ValueType = "CONTAINER"
    item.ContentSequence = Sequence([inner])
    ds.ContentSequence = Sequence([item])
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if undefined_lengths:
        for sequence in (ds["ContentSequence"], item["ContentSequence"]):
            sequence.is_undefined_length = True
            for entry in sequence.value:
                entry.is_undefined_length_sequence_item = True
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize("undefined_lengths", [True, False], ids=["undefined lengths", "defined lengths"])
def test_a_non_image_passes_only_when_cut_between_two_top_level_elements(undefined_lengths: bool) -> None:
    data = _report(undefined_lengths)
    assert not_whole(data) is None and deidentify_bytes(data, RULES, KEYRING).status == "written"
    buf = memoryview(data)
    _, start = read_group(buf, 132, 0x0002)
    boundaries = {element.end for element in scan(buf, start, len(buf))}
    sequence_start = max(element.start for element in scan(buf, start, len(buf)))
    passed = set()
    for cut in range(1, len(data)):
        if not_whole(data[:cut]) is None and deidentify_bytes(data[:cut], RULES, KEYRING).status in FINAL:
            passed.add(cut)
    assert passed and passed <= boundaries
    # Cut anywhere inside the content sequence (pydicom reads an open undefined-length one as whole).
    assert all(not_whole(data[:cut]) == CUT_SHORT for cut in range(sequence_start + 1, len(data)))


def test_every_whole_file_of_the_sample_is_whole() -> None:
    assert [path.name for path in walk(STUDIES) if not_whole(path.read_bytes()) is not None] == []


def test_files_the_source_stage_refuses_for_another_reason_are_not_judged(tmp_path: Path) -> None:
    assert not_whole(b"%PDF-1.7 not an image") is None
    assert not_whole(b"") is None
    data = _sample("CT", "1.2.840.10008.1.2.1").read_bytes()
    assert not_whole(data[:140]) == CUT_SHORT  # the file meta cut short
