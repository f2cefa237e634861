"""Generators of hostile (and of large but honest) DICOM files, for the bounds tests.

Each function writes one small file into ``folder`` and returns its path.
Bombs are small on disk: what they claim (an inflated size, a depth, an image
size) is far larger than what they hold.  Structures pydicom's own writer would
recurse on are written as raw bytes, level by level in a loop.

``python tests/hostile.py`` writes every case into a temporary folder and
measures each one through ``deidentify_bytes`` in a process of its own: wall
time and peak RSS.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
)

CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
US_CLASS = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME_CLASS = "1.2.840.10008.5.1.4.1.1.3.1"
SR_CLASS = "1.2.840.10008.5.1.4.1.1.88.33"
RTSTRUCT_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
CONTENT_SEQUENCE = 0x0040A730
ROI_CONTOUR_SEQUENCE = 0x30060039
CONTOUR_SEQUENCE = 0x30060040
_ITEM, _ITEM_END, _SEQ_END = 0xE000, 0xE00D, 0xE0DD
UNDEFINED = 0xFFFFFFFF


# --- building blocks -------------------------------------------------------------------------------------------


def _dataset_bytes(ds: Dataset, implicit: bool = False) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, implicit
    write_dataset(buffer, ds)
    return buffer.getvalue()


def _meta(sop_class: str, syntax: UID, instance: str) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = instance
    meta.TransferSyntaxUID = syntax
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return b"\0" * 128 + b"DICM" + buffer.getvalue()


def _head(sop_class: str, instance: str, modality: str) -> Dataset:
    """The elements every case carries before its hostile part (all below group 0028)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = instance
    ds.StudyDate = "20240102"
    ds.Modality = modality
    ds.PatientName = "HOSTILE^CASE"
    ds.PatientID = "HOSTILE-1"
    ds.StudyInstanceUID = instance + ".1"
    ds.SeriesInstanceUID = instance + ".2"
    if modality == "CT":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]  # deid's device list flags a CT without one
    return ds


def _image(rows: int, columns: int, frames: int = 1, samples: int = 1, bits: int = 8) -> Dataset:
    ds = Dataset()
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "MONOCHROME2" if samples == 1 else "RGB"
    if samples > 1:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    return ds


def _element(tag: int, vr: bytes, value: bytes, implicit: bool = False) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if implicit:
        return head + struct.pack("<I", len(value)) + value
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR"):
        return head + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + vr + struct.pack("<H", len(value)) + value


def _pixel_element(value: bytes, encapsulated: bool) -> bytes:
    if not encapsulated:
        return _element(0x7FE00010, b"OB", value)
    return struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, UNDEFINED) + value + _delimiter(_SEQ_END)


def _fragment(data: bytes) -> bytes:
    data = data + b"\0" * (len(data) % 2)
    return struct.pack("<HHI", 0xFFFE, _ITEM, len(data)) + data


def _delimiter(which: int) -> bytes:
    return struct.pack("<HHI", 0xFFFE, which, 0)


def _write(folder: Path, name: str, sop_class: str, body: bytes, syntax: UID = ExplicitVRLittleEndian,
           instance: str = "1.2.826.0.1.3680043.8.498.1") -> Path:
    path = folder / name
    path.write_bytes(_meta(sop_class, syntax, instance) + body)
    return path


def _uid(name: str) -> str:
    return "1.2.826.0.1.3680043.8.498." + str(zlib.crc32(name.encode()))


# --- honest files ----------------------------------------------------------------------------------------------


def plain_ct(folder: Path, name: str = "plain_ct.dcm") -> Path:
    """An ordinary 64×64 CT slice: the file a run must still write beside the hostile ones."""
    instance = _uid(name)
    body = _dataset_bytes(_head(CT_CLASS, instance, "CT")) + _dataset_bytes(_image(64, 64))
    return _write(folder, name, CT_CLASS, body + _pixel_element(bytes(range(256)) * 16, False), instance=instance)


# --- structure -------------------------------------------------------------------------------------------------


def deep_sequence(folder: Path, depth: int = 5000, undefined: bool = True, implicit: bool = False,
                  name: str | None = None) -> Path:
    """An SR whose ContentSequence holds a ContentSequence … ``depth`` levels deep.

    ``undefined``: every sequence and item has undefined length (closed by
    delimiters); else every length is given, computed from the inside out.
    """
    name = name or f"deep_{depth}_{'undefined' if undefined else 'defined'}{'_implicit' if implicit else ''}.dcm"
    leaf = _element(0x0040A040, b"CS", b"TEXT", implicit) + _element(0x0040A160, b"UT", b"INNERMOST ", implicit)
    tag = struct.pack("<HH", CONTENT_SEQUENCE >> 16, CONTENT_SEQUENCE & 0xFFFF)
    sq_head = tag + (b"" if implicit else b"SQ\0\0")
    container = _element(0x0040A040, b"CS", b"CONTAINER ", implicit)
    if undefined:
        opening = sq_head + struct.pack("<I", UNDEFINED) + struct.pack("<HHI", 0xFFFE, _ITEM, UNDEFINED)
        closing = _delimiter(_ITEM_END) + _delimiter(_SEQ_END)
        nested = (opening + container) * (depth - 1) + opening + leaf + closing * depth
    else:
        content = leaf
        for _ in range(depth):  # from the inside out, each level's lengths are known
            item = struct.pack("<HHI", 0xFFFE, _ITEM, len(content)) + content
            nested = sq_head + struct.pack("<I", len(item)) + item
            content = container + nested
    instance = _uid(name)
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    body = _dataset_bytes(_head(SR_CLASS, instance, "SR"), implicit) + nested
    return _write(folder, name, SR_CLASS, body, syntax, instance)


def many_items(folder: Path, count: int = 200_000, undefined: bool = False, name: str | None = None) -> Path:
    """An RT Structure Set whose ROIContourSequence holds ``count`` items of one element each."""
    name = name or f"items_{count}{'_undefined' if undefined else ''}.dcm"
    one = _element(0x30060084, b"IS", b"1 ")
    if undefined:
        item = struct.pack("<HHI", 0xFFFE, _ITEM, UNDEFINED) + one + _delimiter(_ITEM_END)
    else:
        item = struct.pack("<HHI", 0xFFFE, _ITEM, len(one)) + one
    value = item * count
    instance = _uid(name)
    body = _dataset_bytes(_head(RTSTRUCT_CLASS, instance, "RTSTRUCT")) + _element(ROI_CONTOUR_SEQUENCE, b"SQ", value)
    return _write(folder, name, RTSTRUCT_CLASS, body, instance=instance)


def rtstruct(folder: Path, contours: int = 30_000, rois: int = 30, name: str | None = None) -> Path:
    """A realistic large RT Structure Set: ``rois`` ROIs sharing ``contours`` contours of 32 points."""
    name = name or f"rtstruct_{contours}.dcm"
    points = "\\".join(f"{x}.5\\{x}.25\\-12.5" for x in range(32)).encode()
    points += b" " * (len(points) % 2)
    contour = (_element(0x30060042, b"CS", b"CLOSED_PLANAR ") + _element(0x30060046, b"IS", b"32")
               + _element(0x30060050, b"DS", points))
    contour_item = struct.pack("<HHI", 0xFFFE, _ITEM, len(contour)) + contour
    per_roi = contours // rois
    rois_value = b""
    for number in range(rois):
        sequence = _element(CONTOUR_SEQUENCE, b"SQ", contour_item * per_roi)
        roi = sequence + _element(0x30060084, b"IS", str(number + 1).encode().ljust(2))
        rois_value += struct.pack("<HHI", 0xFFFE, _ITEM, len(roi)) + roi
    instance = _uid(name)
    body = _dataset_bytes(_head(RTSTRUCT_CLASS, instance, "RTSTRUCT")) + _element(ROI_CONTOUR_SEQUENCE, b"SQ",
                                                                                   rois_value)
    return _write(folder, name, RTSTRUCT_CLASS, body, instance=instance)


def many_elements(folder: Path, count: int, name: str | None = None) -> Path:
    """A CT slice whose private group 0009 holds ``count`` small elements, spread over private blocks."""
    name = name or f"elements_{count}.dcm"
    blocks = -(-count // 256)
    if blocks > 0xF0:
        raise ValueError("at most 61,440 private elements fit in one group; use more groups")
    creators = b"".join(_element(0x00090010 + b, b"LO", b"HOSTILE ") for b in range(blocks))
    elements = b"".join(_element(0x00090000 | ((0x10 + i // 256) << 8) | (i % 256), b"US", b"\1\0")
                        for i in range(count))
    instance = _uid(name)
    body = _dataset_bytes(_head(CT_CLASS, instance, "CT"))
    split = _after_group(body, 0x0008)
    pixels = _dataset_bytes(_image(64, 64)) + _pixel_element(bytes(64 * 64), False)
    return _write(folder, name, CT_CLASS, body[:split] + creators + elements + body[split:] + pixels,
                  instance=instance)


def _after_group(body: bytes, group: int) -> int:
    """Offset of the first explicit VR LE element after ``group`` (elements are in tag order)."""
    position = 0
    while position < len(body):
        current, _, vr = struct.unpack_from("<HH2s", body, position)
        if current > group:
            return position
        if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC", b"UR"):
            position += 12 + struct.unpack_from("<I", body, position + 8)[0]
        else:
            position += 8 + struct.unpack_from("<H", body, position + 6)[0]
    return position


def deflate_bomb(folder: Path, inflated: int = 4 << 30, name: str = "deflate_bomb.dcm") -> Path:
    """A deflated file whose dataset inflates to ``inflated`` bytes (zeros in a private OB), a few MB on disk."""
    instance = _uid(name)
    head = _dataset_bytes(_head(CT_CLASS, instance, "CT"))
    split = _after_group(head, 0x0008)
    padding = inflated - len(head) - 12 - 18
    private = _element(0x00090010, b"LO", b"HOSTILE ") + struct.pack("<HH2sHI", 0x0009, 0x1000, b"OB", 0, padding)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunks = [deflater.compress(head[:split] + private)]
    zeros = bytes(1 << 24)
    remaining = padding
    while remaining:
        piece = min(remaining, len(zeros))
        chunks.append(deflater.compress(zeros[:piece]))
        remaining -= piece
    chunks.append(deflater.compress(head[split:]))
    chunks.append(deflater.flush())
    return _write(folder, name, CT_CLASS, b"".join(chunks), DeflatedExplicitVRLittleEndian, instance)


def deflated_ct(folder: Path, name: str = "deflated_ct.dcm") -> Path:
    """An honest deflated CT slice."""
    instance = _uid(name)
    body = (_dataset_bytes(_head(CT_CLASS, instance, "CT")) + _dataset_bytes(_image(64, 64))
            + _pixel_element(bytes(range(256)) * 16, False))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return _write(folder, name, CT_CLASS, deflater.compress(body) + deflater.flush(), DeflatedExplicitVRLittleEndian,
                  instance)


# --- cut and lying files ---------------------------------------------------------------------------------------


def cut_before_pixels(folder: Path, name: str = "cut_before_pixels.dcm") -> Path:
    """A CT slice cut at the element boundary just before Pixel Data: every element left is whole."""
    whole = plain_ct(folder, name).read_bytes()
    cut = whole.rindex(struct.pack("<HH", 0x7FE0, 0x0010) + b"OB")
    (folder / name).write_bytes(whole[:cut])
    return folder / name


def lying_length(folder: Path, name: str = "lying_length.dcm") -> Path:
    """A CT slice whose Study Description claims a length of 4 GB - 2 bytes, far past the end of the file."""
    instance = _uid(name)
    head = _dataset_bytes(_head(CT_CLASS, instance, "CT"))
    split = _after_group(head, 0x0008)
    lie = struct.pack("<HH2sHI", 0x0008, 0x1030, b"UT", 0, 0xFFFFFFFE) + b"CT HEAD"
    return _write(folder, name, CT_CLASS, head[:split] + lie, instance=instance)


def name_after_data_set(folder: Path, name: str = "name_after_data_set.dcm") -> Path:
    """A CT slice with a name appended after its last element: read as an element, its first four
    bytes are a tag ("MUEL" is (554D,4C45)) that a reason must not spell out."""
    (folder / name).write_bytes(plain_ct(folder, name).read_bytes() + b"MUELLER^HANS PID4711 ")
    return folder / name


def lying_item(folder: Path, name: str = "lying_item.dcm") -> Path:
    """An SR whose one sequence item claims to be longer than its sequence."""
    instance = _uid(name)
    inner = _element(0x0040A040, b"CS", b"TEXT")
    item = struct.pack("<HHI", 0xFFFE, _ITEM, 4000) + inner
    body = _dataset_bytes(_head(SR_CLASS, instance, "SR")) + _element(CONTENT_SEQUENCE, b"SQ", item)
    return _write(folder, name, SR_CLASS, body + _element(0x0040A491, b"CS", b"COMPLETE"), instance=instance)


# --- pixels ----------------------------------------------------------------------------------------------------


def jpeg_header(height: int, width: int, components: int = 1) -> bytes:
    """The start of a baseline JPEG codestream up to its frame header (SOF0)."""
    sof = struct.pack(">BHHB", 8, height, width, components) + b"".join(
        bytes((i + 1, 0x11, 0)) for i in range(components))
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def j2k_header(height: int, width: int, components: int = 1) -> bytes:
    """The start of a JPEG 2000 codestream: SOC and SIZ."""
    siz = struct.pack(">HIIIIIIIIH", 0, width, height, 0, 0, width, height, 0, 0, components)
    siz += b"".join(bytes((7, 1, 1)) for _ in range(components))
    return b"\xff\x4f" + b"\xff\x51" + struct.pack(">H", len(siz) + 2) + siz + b"\xff\xd9"


def huge_jpeg(folder: Path, modality: str = "US", claimed: int = 60000, name: str | None = None) -> Path:
    """A 64×64 JPEG Baseline image whose one frame's header claims ``claimed`` × ``claimed`` pixels."""
    return _encapsulated(folder, name or f"huge_jpeg_{modality}.dcm", modality, JPEGBaseline8Bit,
                         jpeg_header(claimed, claimed))


def huge_j2k(folder: Path, modality: str = "US", claimed: int = 60000, name: str | None = None) -> Path:
    """A 64×64 JPEG 2000 image whose one frame's SIZ claims ``claimed`` × ``claimed`` pixels."""
    return _encapsulated(folder, name or f"huge_j2k_{modality}.dcm", modality, JPEG2000Lossless,
                         j2k_header(claimed, claimed))


def _encapsulated(folder: Path, name: str, modality: str, syntax: UID, frame: bytes, rows: int = 64,
                  columns: int = 64, frames: int = 1) -> Path:
    instance = _uid(name)
    sop_class = US_CLASS if modality == "US" else CT_CLASS
    body = _dataset_bytes(_head(sop_class, instance, modality)) + _dataset_bytes(_image(rows, columns, frames))
    pixels = _fragment(b"") + _fragment(frame) * frames
    return _write(folder, name, sop_class, body + _pixel_element(pixels, True), syntax, instance)


def huge_claimed_encapsulated(folder: Path, modality: str = "US", name: str | None = None) -> Path:
    """An image claiming 65535 × 65535 × 1000 frames whose frames' headers agree: a bomb by its own header."""
    name = name or f"huge_claimed_{modality}.dcm"
    return _encapsulated(folder, name, modality, JPEGBaseline8Bit, jpeg_header(65535, 65535), 65535, 65535, 1000)


def huge_native(folder: Path, modality: str = "US", name: str | None = None) -> Path:
    """A native image claiming 65535 × 65535 × 1000 frames of 16 bits, holding 128 bytes of pixel data."""
    name = name or f"huge_native_{modality}.dcm"
    instance = _uid(name)
    sop_class = US_CLASS if modality == "US" else CT_CLASS
    body = _dataset_bytes(_head(sop_class, instance, modality)) + _dataset_bytes(_image(65535, 65535, 1000, bits=16))
    return _write(folder, name, sop_class, body + _pixel_element(bytes(128), False), instance=instance)


def large_cine(folder: Path, side: int = 8192, frames: int = 3, name: str = "large_cine.dcm") -> Path:
    """An ultrasound cine of ``frames`` frames of noise, ``side`` pixels square: every frame is read
    for text, and the frames read together (pixels.cine)."""
    import numpy as np

    instance = _uid(name)
    pixels = np.random.default_rng(0).integers(0, 256, (frames, side, side), dtype=np.uint8)
    body = _dataset_bytes(_head(US_MULTIFRAME_CLASS, instance, "US")) + _dataset_bytes(_image(side, side, frames))
    return _write(folder, name, US_MULTIFRAME_CLASS, body + _pixel_element(pixels.tobytes(), False), instance=instance)


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "deflate bomb (4 GiB)": deflate_bomb,
    "deep 5,000, undefined lengths": lambda f: deep_sequence(f, 5000, True),
    "deep 5,000, defined lengths": lambda f: deep_sequence(f, 5000, False),
    "deep 5,000, implicit VR": lambda f: deep_sequence(f, 5000, True, implicit=True),
    "200,000 items": lambda f: many_items(f, 200_000),
    "200,000 items, undefined lengths": lambda f: many_items(f, 200_000, True),
    "JPEG frame claiming 60000x60000 (US)": huge_jpeg,
    "JPEG frame claiming 60000x60000 (CT)": lambda f: huge_jpeg(f, "CT"),
    "J2K frame claiming 60000x60000 (US)": huge_j2k,
    "65535x65535x1000 encapsulated (US)": huge_claimed_encapsulated,
    "65535x65535x1000 native, 128 bytes (US)": huge_native,
    "65535x65535x1000 native, 128 bytes (CT)": lambda f: huge_native(f, "CT"),
    "cut before Pixel Data": cut_before_pixels,
    "lying element length": lying_length,
    "lying item length": lying_item,
}


def _measure(path: str, full: bool) -> None:
    """Run one file through deidentify_bytes (or the full path) here; print status, reason, seconds, peak RSS."""
    import resource
    import time

    from deidentify.keys import Keyring
    from deidentify.pipeline import Reader, deidentify_bytes
    from deidentify.plan import RuleBook
    from deidentify.profile import load_profile

    # A bomb that gets past the bounds must fail here, not take the machine down.
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    rules = RuleBook(load_profile("basic"))
    data = Path(path).read_bytes()
    began = time.perf_counter()
    outcome = deidentify_bytes(data, rules, Keyring(bytes(32)), reader=Reader.DATASET if full else None)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{outcome.status}\t{outcome.reason}\t{seconds:.2f}\t{peak:.0f}")


def main() -> None:
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = dict(HOSTILE)
        cases.update(_AT_THE_BOUNDS)
        print("| file | size on disk | status | reason | seconds | peak RSS MiB | full path: seconds | peak RSS MiB |")
        print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
        for label, make in cases.items():
            path = make(folder)
            row = []
            for how in ("--measure", "--measure-full"):
                done = subprocess.run([sys.executable, __file__, how, str(path)], capture_output=True, text=True)
                fields = (done.stdout.strip() or f"crashed\t{done.stderr.strip().splitlines()[-1:]}\t\t").split("\t")
                row.extend(fields if how == "--measure" else fields[2:])
            print(f"| {label} | {path.stat().st_size:,} | " + " | ".join(row) + " |")


_AT_THE_BOUNDS: dict[str, Callable[[Path], Path]] = {
    "plain CT": plain_ct,
    "deflated CT": deflated_ct,
    "deep SR 20, undefined": lambda f: deep_sequence(f, 20, True),
    "deep 64 (the bound), undefined": lambda f: deep_sequence(f, 64, True),
    "deep 64 (the bound), defined": lambda f: deep_sequence(f, 64, False),
    "deep 64 (the bound), implicit": lambda f: deep_sequence(f, 64, True, implicit=True),
    "50,000 items (the bound)": lambda f: many_items(f, 50_000),
    "50,000 items (the bound), undefined": lambda f: many_items(f, 50_000, True),
    "RT Structure Set, 37,000 contours (148,000 elements and items)": lambda f: rtstruct(f, 37_000, 37),
    "RT Structure Set, 30,000 contours": rtstruct,
    "60,000 private elements": lambda f: many_elements(f, 60_000),
    "deflated, 128 MiB inflated (the bound)": lambda f: deflate_bomb(f, 128 << 20, "deflate_128.dcm"),
    "US cine, 3 frames of 8192x8192 noise": large_cine,
}


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] in (["--measure"], ["--measure-full"]):
        _measure(sys.argv[2], sys.argv[1] == "--measure-full")
    else:
        main()
