"""Bounded work per file: hostile inputs are per-file errors naming the bound, honest large ones pass.

The files come from :mod:`hostile`; each claims far more than it holds.  Both
header paths must give the same verdict, and a run over a folder of them must
write the honest files beside them.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest

import hostile
from deidentify.completeness import NO_PIXEL_DATA
from deidentify.keys import Keyring
from deidentify.limits import Limits
from deidentify.pipeline import Reader, deidentify_bytes
from deidentify.pixels.codestream import DISAGREES
from deidentify.plan import RuleBook
from deidentify.profile import load_profile

KEYRING = Keyring(bytes(range(32)))
RULES = RuleBook(load_profile("basic"))
ROOT = Path(__file__).resolve().parent.parent
NOT_CLEANED = "burnt-in text not cleaned"

# (generator, status, the reason's start): every case is the file's verdict on both paths.
CASES: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "deflate bomb": (hostile.deflate_bomb, "error", "over the limit: deflated data inflating to more than 128 MiB"),
    "deep undefined": (lambda f: hostile.deep_sequence(f, 5000, True), "error",
                       "over the limit: sequences nested deeper than 64"),
    "deep defined": (lambda f: hostile.deep_sequence(f, 5000, False), "error",
                     "over the limit: sequences nested deeper than 64"),
    "deep implicit": (lambda f: hostile.deep_sequence(f, 5000, True, implicit=True), "error",
                      "over the limit: sequences nested deeper than 64"),
    "many items": (hostile.many_items, "error", "over the limit: a sequence holds more than 50,000 items"),
    "many items undefined": (lambda f: hostile.many_items(f, 200_000, True), "error",
                             "over the limit: a sequence holds more than 50,000 items"),
    "huge JPEG to clean": (hostile.huge_jpeg, "withheld", f"{NOT_CLEANED} ({DISAGREES})"),
    "huge JPEG passed on": (lambda f: hostile.huge_jpeg(f, "CT"), "error", DISAGREES),
    "huge J2K to clean": (hostile.huge_j2k, "withheld", f"{NOT_CLEANED} ({DISAGREES})"),
    "huge J2K passed on": (lambda f: hostile.huge_j2k(f, "CT"), "error", DISAGREES),
    "huge claimed image": (hostile.huge_claimed_encapsulated, "withheld",
                           f"{NOT_CLEANED} (over the limit: an image decoding to more than 1 GiB)"),
    # Native data shorter than its frames is refused before any decoding is tried (pixels/native.py).
    "huge native image": (hostile.huge_native, "error", "pixel data is shorter than its rows, columns and frames need"),
    "cut before pixels": (hostile.cut_before_pixels, "error", NO_PIXEL_DATA),
    "lying length": (hostile.lying_length, "error", "truncated: element (0008,1030) is shorter than its length"),
    "lying item": (hostile.lying_item, "error", "structure cannot be read (an item runs past the end"),
    "name after the data set": (hostile.name_after_data_set, "error",
                                "truncated: a private element is shorter than its length"),
}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_file_is_a_per_file_verdict_naming_the_bound_on_both_paths(case: str, tmp_path: Path) -> None:
    make, status, reason = CASES[case]
    data = make(tmp_path).read_bytes()
    for reader in (None, Reader.DATASET):
        outcome = deidentify_bytes(data, RULES, KEYRING, reader=reader)
        assert (outcome.status, outcome.reason[:len(reason)]) == (status, reason)
        assert outcome.data is None


@pytest.mark.parametrize("make", [
    lambda f: hostile.deep_sequence(f, 20, True),
    lambda f: hostile.deep_sequence(f, 64, True),
    lambda f: hostile.deep_sequence(f, 64, False),
    lambda f: hostile.deep_sequence(f, 64, True, implicit=True),
    lambda f: hostile.many_items(f, 50_000),
    lambda f: hostile.rtstruct(f, 30_000),
    hostile.deflated_ct,
    hostile.plain_ct,
], ids=["SR depth 20", "depth 64 undefined", "depth 64 defined", "depth 64 implicit", "50,000 items",
        "RT Structure Set 30,000 contours", "deflated", "plain"])
def test_files_at_the_bounds_and_real_large_ones_are_written(make: Callable[[Path], Path], tmp_path: Path) -> None:
    outcome = deidentify_bytes(make(tmp_path).read_bytes(), RULES, KEYRING)
    assert outcome.status == "written", outcome.reason
    assert pydicom.dcmread(pydicom.filebase.DicomBytesIO(outcome.data)).PatientIdentityRemoved == "YES"


def test_the_raw_reader_takes_files_at_the_bounds_and_gives_the_dataset_readers_bytes(tmp_path: Path) -> None:
    for data in (hostile.deep_sequence(tmp_path, 64, False).read_bytes(),
                 hostile.many_items(tmp_path, 50_000, True).read_bytes()):
        raw = deidentify_bytes(data, RULES, KEYRING, reader=Reader.RAW)
        assert raw.status == "written"
        assert raw.data == deidentify_bytes(data, RULES, KEYRING, reader=Reader.DATASET).data


def test_every_bound_is_read_from_the_limits_given(tmp_path: Path) -> None:
    def verdict(path: Path, limits: Limits) -> tuple[str, str]:
        data = path.read_bytes()
        either, dataset = (deidentify_bytes(data, RULES, KEYRING, limits=limits),
                           deidentify_bytes(data, RULES, KEYRING, limits=limits, reader=Reader.DATASET))
        assert (either.status, either.reason) == (dataset.status, dataset.reason)
        return dataset.status, dataset.reason

    deep, items, ct = (hostile.deep_sequence(tmp_path, 4, False), hostile.many_items(tmp_path, 12),
                       hostile.plain_ct(tmp_path))
    assert verdict(deep, Limits(max_depth=4))[0] == "written"
    assert verdict(deep, Limits(max_depth=3)) == ("error", "over the limit: sequences nested deeper than 3")
    assert verdict(items, Limits(max_items=12))[0] == "written"
    assert verdict(items, Limits(max_items=11)) == ("error", "over the limit: a sequence holds more than 11 items")
    assert verdict(items, Limits(max_elements=20)) == (
        "error", "over the limit: more than 20 data elements and items")
    assert verdict(ct, Limits(max_file_bytes=1000)) == ("error", "over the limit: a file larger than 1000 bytes")
    deflated = hostile.deflated_ct(tmp_path)
    assert verdict(deflated, Limits(max_inflated_bytes=4096)) == (
        "error", "over the limit: deflated data inflating to more than 4096 bytes")
    us = hostile.huge_jpeg(tmp_path, claimed=64, name="honest_us.dcm")  # its frame says 64×64, as the header does
    assert verdict(us, Limits(max_pixel_bytes=4095)) == (
        "withheld", f"{NOT_CLEANED} (over the limit: an image decoding to more than 4095 bytes)")
    with pytest.raises(ValueError):
        Limits(max_depth=0)


def test_no_pixel_data_where_the_image_pixel_module_promises_it_is_an_error_in_every_encoding(tmp_path: Path) -> None:
    ds = pydicom.dcmread(hostile.plain_ct(tmp_path))
    del ds.PixelData
    path = tmp_path / "no_pixels.dcm"
    for syntax in (pydicom.uid.ExplicitVRLittleEndian, pydicom.uid.ImplicitVRLittleEndian,
                   pydicom.uid.ExplicitVRBigEndian):
        ds.file_meta.TransferSyntaxUID = syntax
        pydicom.dcmwrite(path, ds, implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian,
                         enforce_file_format=True)
        assert deidentify_bytes(path.read_bytes(), RULES, KEYRING).reason == NO_PIXEL_DATA
    # Without the Image Pixel module nothing promises pixels: a header-only copy of an image passes.
    for keyword in ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "PhotometricInterpretation",
                    "BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, keyword)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=True, enforce_file_format=True)
    assert deidentify_bytes(path.read_bytes(), RULES, KEYRING).status == "written"


def test_a_run_over_hostile_files_writes_the_honest_ones_and_reports_each_bound(tmp_path: Path) -> None:
    src, dst, key = tmp_path / "src", tmp_path / "dst", tmp_path / "key"
    src.mkdir()
    honest = [hostile.plain_ct(src), hostile.deflated_ct(src), hostile.deep_sequence(src, 20, True)]
    for make, _, _ in CASES.values():
        make(src)
    for linkage in ([], ["--linkage"]):  # with linkage every file takes the full path
        done = subprocess.run([sys.executable, "-m", "deidentify.cli", "run", str(src), str(dst), "--key-file",
                               str(key), "--quiet", "--workers", "1", *linkage],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert done.returncode == 1, done.stderr
        with open(dst.with_name("dst.state") / "report.csv", newline="") as report:
            rows = list(csv.DictReader(report))
        assert len(rows) == len(list(src.iterdir()))
        assert sum(row["status"] == "written" for row in rows) == len(honest)
        assert len(list(dst.rglob("*.dcm"))) == len(honest)
        reasons = {row["reason"] for row in rows if row["status"] != "written"}
        assert reasons == {reason if not reason.endswith("end") else reason + " of its sequence)"
                           for _, _, reason in CASES.values()}
        dst_state = dst.with_name("dst.state")
        for path in (dst, dst_state):
            subprocess.run(["rm", "-rf", str(path)], check=True)
