"""The writer gives the bytes pydicom's ``dcmwrite`` gives, for files as read and as the header walk leaves them."""

from __future__ import annotations

import warnings
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom import dcmread, dcmwrite
from pydicom.dataset import FileMetaDataset

from deidentify.header import Written, clean_header
from deidentify.header.sources.dataset import DatasetSource
from deidentify.keys import Keyring
from deidentify.pipeline import deidentify_bytes
from deidentify.plan import RuleBook, make_plan
from deidentify.profile import load_profile
from deidentify.writer import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, as_dataset, encode_file

PYDICOM_FILES = sorted((Path(pydicom.__file__).parent / "data" / "test_files").rglob("*.dcm"))
SAMPLE = sorted((Path(__file__).parent.parent / "sample_synthetic" / "studies").rglob("*.dcm"))
RULES = RuleBook(load_profile("basic"))


def _instances(paths: list[Path]) -> list[Path]:
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            try:
                ds = dcmread(path)
                ds.SOPClassUID, ds.SOPInstanceUID, ds.file_meta.TransferSyntaxUID  # noqa: B018
            except Exception:
                continue
            found.append(path)
    return found


INSTANCES = _instances(PYDICOM_FILES) + SAMPLE[::4]


def _pydicom_bytes(ds: pydicom.Dataset, syntax: str) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.file_meta, ds.preamble = meta, b"\0" * 128
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _as_read(ds: pydicom.Dataset) -> Written:
    """Every element as read, but group lengths (retired: the walk drops them, and so does dcmwrite)."""
    source = DatasetSource(ds)
    return source.written([(tag, source.kept(handle)) for tag, _, handle in source.entries() if tag & 0xFFFF])


def _cleaned(ds: pydicom.Dataset) -> Written:
    return clean_header(DatasetSource(ds), make_plan(ds, RULES, Keyring(b"k" * 32)))[0]


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.name)
def test_encode_file_gives_the_bytes_dcmwrite_gives(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        syntax = str(dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        cleaned = _cleaned(dcmread(path))
        # As read, pydicom writes the dataset it read; cleaned, the dataset the pieces stand for.
        for written, reference in ((_as_read(dcmread(path)), dcmread(path)), (cleaned, as_dataset(cleaned))):
            # pydicom reads a data set in the VR form it finds and tells the syntax's (SC_rgb_jpeg:
            # implicit VR under JPEG Baseline); told how it was read, it writes it.
            reference.set_original_encoding(written.implicit, written.little, reference.original_character_set)
            try:
                expected = _pydicom_bytes(reference, syntax)
            except Exception as exc:  # pydicom cannot write it: neither may the writer
                with pytest.raises(type(exc)):
                    encode_file(written, syntax)
                continue
            assert encode_file(written, syntax) == expected


def test_a_data_set_read_in_implicit_vr_under_an_explicit_syntax_is_written_explicit() -> None:
    """pydicom's SC_rgb_jpeg.dcm says JPEG Baseline (explicit VR) and holds implicit VR elements:
    pydicom reads them by the dictionary, and the output names every VR, as its syntax says."""
    path = next(p for p in PYDICOM_FILES if p.name == "SC_rgb_jpeg.dcm")
    outcome = deidentify_bytes(path.read_bytes(), RULES, Keyring(bytes(32)))
    assert (outcome.status, outcome.reason) == ("written", "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Expected explicit VR, but found implicit VR" no more
        out = dcmread(BytesIO(outcome.data))
        out.ConversionType  # noqa: B018
    source = dcmread(path)
    assert out.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    assert (out.ConversionType, out.PixelData) == (source.ConversionType, source.PixelData)
    assert all(element.VR for element in out.iterall())
