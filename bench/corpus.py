"""Deterministic benchmark corpora: made-up patients, realistic headers, synthetic pixels.

    python bench/corpus.py WORK_DIR [--scale 1.0] [--force]

writes under WORK_DIR/corpora/ (one flat folder each, unique file names, as some peers
read one folder level only):

small/      2,000 MR images 64x64 16-bit, ~65 header elements each (names, IDs, dates,
            UIDs, two sequences, a private block), explicit VR little endian (~20 MB)
ct/         1,000 CT images 512x512 16-bit, same header family (~526 MB)
us/         200 ultrasound images 640x480 RGB, native, Philips iU22, a 44-pixel top
            banner of burnt-in text (name, ID, birth date, institution) drawn with Pillow;
            no BurnedInAnnotation element (the modality alone makes them suspect; deid's
            blacklist would flag a YES as text at unknown places, which only OCR can clean)
us-header/  the same 200 images relabelled MR (no burnt-in flag): deidentify's
            header-only path over the same bytes, the baseline of the pixel-cleaning goal
j2k/        the 200 ultrasound images, JPEG 2000 lossless (needs pylibjpeg-openjpeg;
            skipped with a note in the manifest when it cannot encode)
us1024/     20 ultrasound images 1024x768 RGB, native, iU22 again, the same generator with a
            larger frame and a 70-pixel banner in a larger font: the text detectors' second
            frame size.  deid's iU22 rule for this width says Rows 786, not 768, so no
            device rule matches: only OCR cleans them
busy/       a 120-frame ultrasound cine, 640x480 8-bit grey, native (the us generator's
            frames, the speckle new in each), named to be walked first, then links to the
            first 40 us images: a long image read by a pool whose other worker is busy

Sizes scale with --scale (at least one file each).  Every value comes from a seeded
generator, so the same scale gives byte-identical corpora.  WORK_DIR/corpora/manifest.json
records the scale, counts and bytes; the corpora are rebuilt when the scale changes.
Runs in the bench environment (pydicom, numpy, Pillow, pylibjpeg-openjpeg).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
)

BASE_COUNTS = {"small": 2000, "ct": 1000, "us": 200, "j2k": 200, "us1024": 20, "busy": 41}
CINE_FRAMES = 120
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
US_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"
STUDY_ROOT = "1.2.840.10008.3.1.2.3.1"  # Detached Study Management SOP Class, as ReferencedSOPClassUID
US_BANNER_ROWS = 44  # inside deid's "Philips IU22" rule for 640x480 (ctpcoordinates 0,0,640,47)
# Frame size -> (banner font px, line spacing px, side-scale font px): the banner fills the top
# US_BANNER_ROWS rows at 640x480 and about 70 rows at 1024x768.
US_TEXT = {(480, 640): (14, 20, 11), (768, 1024): (22, 32, 17)}

GIVEN = ["Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kira", "Liam", "Maya", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tove"]
FAMILY = ["Andersen", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen",
          "Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Olsen", "Petrov",
          "Quist", "Rossi", "Schmidt", "Tanaka"]
STREETS = ["Elm Street", "Harbour Road", "Mill Lane", "Station Road", "Kings Avenue"]
CITIES = ["Springfield", "Rivertown", "Lakeside", "Hillview", "Brookfield"]
HOSPITALS = ["St. Example Hospital", "Rivertown General", "Lakeside Medical Centre"]


def uid(*parts: object) -> str:
    """A deterministic 2.25 UID from ``parts`` (128 bits of their SHA-256)."""
    digest = hashlib.sha256("\0".join(["deidentify-bench", *map(str, parts)]).encode()).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def counts(scale: float) -> dict[str, int]:
    return {name: max(1, round(n * scale)) for name, n in BASE_COUNTS.items()}


class Patient:
    def __init__(self, index: int):
        rnd = random.Random(f"patient-{index}")
        self.index = index
        self.given = rnd.choice(GIVEN)
        self.family = rnd.choice(FAMILY)
        self.name = f"{self.family}^{self.given}^{rnd.choice('ABCDEFGH')}"
        self.id = f"MRN{rnd.randrange(10**7, 10**8)}"
        self.birth = f"{rnd.randrange(1930, 2005)}{rnd.randrange(1, 13):02d}{rnd.randrange(1, 29):02d}"
        self.sex = rnd.choice("MF")
        self.age = f"{2024 - int(self.birth[:4]):03d}Y"
        self.address = f"{rnd.randrange(1, 200)} {rnd.choice(STREETS)}, {rnd.choice(CITIES)}"
        self.phone = f"+1 555 {rnd.randrange(100, 999)} {rnd.randrange(1000, 9999)}"
        self.size = round(rnd.uniform(1.5, 2.0), 2)
        self.weight = rnd.randrange(45, 120)
        self.other_id = f"SSN {rnd.randrange(100, 899)}-{rnd.randrange(10, 99)}-{rnd.randrange(1000, 9999)}"


def header(kind: str, i: int, per_series: int, modality: str, sop_class: str) -> Dataset:
    """About 65 elements of a realistic image header; study/series/patient from ``i``."""
    series_no = i // per_series
    study_no = series_no // 2
    patient = Patient(study_no // 2)
    rnd = random.Random(f"{kind}-{i}")
    day = f"2024{(study_no % 12) + 1:02d}{(study_no % 28) + 1:02d}"
    time = f"{8 + study_no % 10:02d}{study_no % 60:02d}{i % 60:02d}.{i % 1000:03d}"
    hospital = HOSPITALS[study_no % len(HOSPITALS)]
    physician = f"{FAMILY[(study_no + 3) % 20]}^{GIVEN[(study_no + 5) % 20]}^^Dr."
    study_uid, series_uid = uid(kind, "study", study_no), uid(kind, "series", series_no)
    sop_uid = uid(kind, "sop", i)

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if modality == "CT" else "OTHER"]
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = day
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
    ds.AccessionNumber = f"ACC{study_no:07d}"
    ds.Modality = modality
    ds.Manufacturer = {"US": "Philips Medical Systems", "CT": "SIEMENS"}.get(modality, "GE MEDICAL SYSTEMS")
    ds.InstitutionName = hospital
    ds.InstitutionAddress = f"1 Hospital Way, {CITIES[study_no % 5]}"
    ds.ReferringPhysicianName = physician
    ds.StationName = f"STATION{study_no % 7}"
    ds.StudyDescription = f"{modality} study for {patient.given} {patient.family}"
    ds.SeriesDescription = f"Series {series_no % 10} {patient.id}"
    ds.PerformingPhysicianName = f"{FAMILY[(study_no + 7) % 20]}^{GIVEN[(study_no + 1) % 20]}"
    ds.OperatorsName = f"{FAMILY[(study_no + 11) % 20]}^{GIVEN[(study_no + 9) % 20]}"
    ds.ManufacturerModelName = {"US": "iU22", "CT": "SOMATOM Force"}.get(modality, "SIGNA Premier")
    ref = Dataset()
    ref.ReferencedSOPClassUID = STUDY_ROOT
    ref.ReferencedSOPInstanceUID = uid(kind, "ref", study_no)
    ds.ReferencedStudySequence = Sequence([ref])
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "RPID17", "RADLEX", f"{modality} head"
    ds.ProcedureCodeSequence = Sequence([code])
    ds.PatientName = patient.name
    ds.PatientID = patient.id
    ds.IssuerOfPatientID = hospital
    ds.PatientBirthDate = patient.birth
    ds.PatientSex = patient.sex
    ds.OtherPatientIDs = patient.other_id
    ds.PatientAge = patient.age
    ds.PatientSize = str(patient.size)
    ds.PatientWeight = str(patient.weight)
    ds.PatientAddress = patient.address
    ds.PatientTelephoneNumbers = patient.phone
    ds.PatientComments = f"Call {patient.phone} before the visit"
    ds.BodyPartExamined = "HEAD"
    ds.DeviceSerialNumber = f"SN{study_no % 13:05d}"
    ds.ProtocolName = f"{modality} routine"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.StudyID = f"S{study_no:05d}"
    ds.SeriesNumber = series_no % 10 + 1
    ds.InstanceNumber = i % per_series + 1
    if modality != "US":
        ds.ImagePositionPatient = [-125.0, -125.0, float(i % per_series) * 1.25]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.FrameOfReferenceUID = uid(kind, "for", study_no)
        ds.SliceThickness = 1.25
    ds.ImageComments = f"{patient.name.replace('^', ' ')} seen {day}"
    req = Dataset()
    req.RequestedProcedureID = f"RP{study_no:06d}"
    req.ScheduledProcedureStepID = f"SPS{study_no:06d}"
    req.RequestedProcedureDescription = f"{modality} routine"
    ds.RequestAttributesSequence = Sequence([req])
    block = ds.private_block(0x0009, "ACME_BENCH 1.0", create=True)
    block.add_new(0x10, "LO", patient.id)
    block.add_new(0x11, "PN", patient.name)
    block.add_new(0x12, "DA", day)
    block.add_new(0x13, "DS", f"{rnd.uniform(0, 100):.3f}")
    return ds


def image_module(ds: Dataset, rows: int, columns: int, samples: int, bits: int, photometric: str) -> None:
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, (12 if bits == 16 else 8), (11 if bits == 16 else 7)
    ds.PixelRepresentation = 0


def save(ds: Dataset, path: Path, syntax: str = ExplicitVRLittleEndian) -> int:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1499.1"  # a fixed made-up one
    meta.ImplementationVersionName = "BENCHGEN_1"
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.save_as(path, enforce_file_format=True)
    return path.stat().st_size


def make_small(folder: Path, n: int) -> int:
    total = 0
    for i in range(n):
        ds = header("small", i, 20, "MR", MR_STORAGE)
        image_module(ds, 64, 64, 1, 16, "MONOCHROME2")
        ds.PixelSpacing = [3.9, 3.9]
        ds.RepetitionTime, ds.EchoTime, ds.MagneticFieldStrength = 500, 15, 3
        ds.WindowCenter, ds.WindowWidth = 600, 1200
        ds.PixelData = np.random.default_rng(i).integers(0, 4096, (64, 64), dtype=np.uint16).tobytes()
        total += save(ds, folder / f"IM{i:06d}.dcm")
    return total


def make_ct(folder: Path, n: int) -> int:
    yy, xx = np.mgrid[:512, :512]
    r2 = (yy - 256) ** 2 + (xx - 256) ** 2
    phantom = np.where(r2 < 230**2, 1040, 24).astype(np.int32) + np.where(r2 < 90**2, 60, 0)
    total = 0
    for i in range(n):
        ds = header("ct", i, 100, "CT", CT_STORAGE)
        image_module(ds, 512, 512, 1, 16, "MONOCHROME2")
        ds.PixelSpacing = [0.49, 0.49]
        ds.KVP, ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 120, -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 400
        noise = np.random.default_rng(10_000 + i).integers(0, 40, (512, 512), dtype=np.int32)
        ds.PixelData = np.clip(phantom + noise, 0, 4095).astype(np.uint16).tobytes()
        total += save(ds, folder / f"CT{i:06d}.dcm")
    return total


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 or no FreeType: the bitmap font
        return ImageFont.load_default()


def us_frame(ds: Dataset, i: int, rows: int = 480, columns: int = 640, seed: int = 20_000) -> np.ndarray:
    """RGB rows x columns (640x480 or 1024x768): speckle in a sector, the burnt-in banner on top,
    a scale on the side.  At 640x480 the pixels are those of the original generator."""
    rng = np.random.default_rng(seed + i)
    k = rows / 480  # geometry scales with the frame
    big, step, small = US_TEXT[(rows, columns)]
    yy, xx = np.mgrid[:rows, :columns]
    angle = np.abs(np.arctan2(xx - columns / 2, yy + 40 * k))
    sector = (angle < 0.7) & (yy > 60 * k) & (yy < rows - 20 * k)
    gray = np.where(sector, rng.integers(20, 200, (rows, columns)), 0).astype(np.uint8)
    image = Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB")
    draw = ImageDraw.Draw(image)
    font = _font(big)
    name = str(ds.PatientName).replace("^", " ").strip()
    top = round(4 * k)
    draw.text((6, top), f"{name}   ID {ds.PatientID}   DOB {ds.PatientBirthDate}", fill=(255, 255, 255), font=font)
    draw.text((6, top + step), f"{ds.InstitutionName}   {ds.StudyDate} {str(ds.StudyTime)[:6]}   iU22 L12-5",
              fill=(255, 255, 0), font=font)
    draw.text((columns - round(40 * k), rows // 2), "MI 1.1", fill=(200, 200, 200), font=_font(small))
    return np.asarray(image)


def make_us(folder: Path, twin: Path, j2k: Path | None, n: int, n_j2k: int) -> tuple[int, int, int, str]:
    total = total_twin = total_j2k = 0
    note = ""
    for i in range(n if j2k is None else max(n, n_j2k)):
        ds = header("us", i, 25, "US", US_STORAGE)
        image_module(ds, 480, 640, 3, 8, "RGB")
        frame = us_frame(ds, i)
        ds.PixelData = frame.tobytes()
        if i < n:
            total += save(ds, folder / f"US{i:06d}.dcm")
            relabelled = copy.deepcopy(ds)
            relabelled.Modality, relabelled.SOPClassUID = "MR", MR_STORAGE
            relabelled.ManufacturerModelName = "iU22 (relabelled MR for the header-only baseline)"
            total_twin += save(relabelled, twin / f"USH{i:06d}.dcm")
        if j2k is not None and i < n_j2k:
            try:
                ds.compress(JPEG2000Lossless, frame, generate_instance_uid=False)
            except Exception as exc:  # no encoder: skip the set, say why
                note = f"JPEG 2000 set skipped: {type(exc).__name__}: {exc}"
                shutil.rmtree(j2k, ignore_errors=True)
                j2k = None
                continue
            total_j2k += save(ds, j2k / f"J2K{i:06d}.dcm", JPEG2000Lossless)
    return total, total_twin, total_j2k, note


def make_us1024(folder: Path, n: int) -> int:
    """The larger ultrasound frame: its own studies and patients (kind "us1024"), same header family."""
    total = 0
    for i in range(n):
        ds = header("us1024", i, 10, "US", US_STORAGE)
        image_module(ds, 768, 1024, 3, 8, "RGB")
        ds.PixelData = us_frame(ds, i, 768, 1024, seed=30_000).tobytes()
        total += save(ds, folder / f"UL{i:06d}.dcm")
    return total


def make_busy(folder: Path, us: Path, n: int) -> int:
    """One cine walked first (``CINE`` sorts before ``US``), then links to the first ``n - 1`` us images."""
    ds = header("busy", 0, 1, "US", US_MULTIFRAME_STORAGE)
    image_module(ds, 480, 640, 1, 8, "MONOCHROME2")
    ds.NumberOfFrames = CINE_FRAMES
    ds.FrameTime = 33.3
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.PixelData = b"".join(us_frame(ds, f, seed=40_000)[..., 0].tobytes() for f in range(CINE_FRAMES))
    total = save(ds, folder / "CINE000000.dcm")
    for path in sorted(us.iterdir())[: n - 1]:
        try:
            (folder / path.name).hardlink_to(path)
        except OSError:  # another file system
            shutil.copy(path, folder / path.name)
        total += path.stat().st_size
    return total


def build(work: Path, scale: float, force: bool = False) -> dict:
    root = work / "corpora"
    manifest_path = root / "manifest.json"
    want = counts(scale)
    code_hash = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("scale") == scale and manifest.get("generator") == code_hash:
            return manifest
    shutil.rmtree(root, ignore_errors=True)
    folders = {name: root / name for name in ("small", "ct", "us", "us-header", "j2k", "us1024", "busy")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    print(f"bench: generating corpora at scale {scale} in {root}", flush=True)
    sizes = {"small": make_small(folders["small"], want["small"])}
    print(f"bench:   small {want['small']} files", flush=True)
    sizes["ct"] = make_ct(folders["ct"], want["ct"])
    print(f"bench:   ct {want['ct']} files", flush=True)
    us, twin, j2k, note = make_us(folders["us"], folders["us-header"], folders["j2k"], want["us"], want["j2k"])
    sizes.update({"us": us, "us-header": twin})
    files = {"small": want["small"], "ct": want["ct"], "us": want["us"], "us-header": want["us"]}
    if not note:
        sizes["j2k"], files["j2k"] = j2k, want["j2k"]
    print(f"bench:   us, us-header {want['us']} files; j2k {files.get('j2k', 0)} files {note}", flush=True)
    sizes["us1024"], files["us1024"] = make_us1024(folders["us1024"], want["us1024"]), want["us1024"]
    print(f"bench:   us1024 {want['us1024']} files", flush=True)
    busy = min(want["busy"], want["us"] + 1)
    sizes["busy"], files["busy"] = make_busy(folders["busy"], folders["us"], busy), busy
    print(f"bench:   busy {busy} files (a {CINE_FRAMES}-frame cine first)", flush=True)
    manifest = {"scale": scale, "generator": code_hash, "files": files, "bytes": sizes, "notes": [note] if note else []}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(build(args.work, args.scale, args.force), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
