"""The datasets of the sample: one builder per IOD on top of shared module builders.

Identifying values are recorded with the :class:`Planter` at the moment they
are written, so ``planted.json`` lists exactly what the files contain.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from pydicom.dataset import Dataset

from . import _pixels
from ._identities import Patient, PersonName
from ._manifest import Planter
from ._plan import CT, MR, SC, SR, US, US_MULTIFRAME, PatientPlan, Series, Study

# Retired "Detached Study Management" class: what RIS systems still put in
# ReferencedStudySequence.
_STUDY_REFERENCE_CLASS = "1.2.840.10008.3.1.2.3.1"

_EQUIPMENT = {
    CT: ("GE MEDICAL SYSTEMS", "LightSpeed VCT", "07MW18.4"),
    MR: ("SIEMENS", "Avanto", "syngo MR B17"),
    US: ("ACME Sonics", "EchoStar 5", "3.2.1"),
    US_MULTIFRAME: ("ACME Sonics", "EchoStar 5", "3.2.1"),
    SC: ("ScreenGrab Systems", "SG-Capture", "2.0"),
    SR: ("Reportix", "Reportix RIS", "11.4"),
}


@dataclass(frozen=True)
class Instance:
    """One SOP instance to build: where it sits in the plan, and where to record what it plants."""

    plan: PatientPlan
    study: Study
    series: Series
    number: int
    planter: Planter

    @property
    def patient(self) -> Patient:
        return self.plan.patient

    @property
    def uid(self) -> str:
        return self.series.instance_uids[self.number - 1]

    @property
    def time(self) -> datetime:
        return self.series.start + timedelta(seconds=7 * self.number)

    def plant(self, value: str, kind: str, where: str, *, site: bool = False) -> str:
        """Record ``value`` as identifying this patient (or, with ``site``, the hospital)."""
        return self.planter.add(value, kind, None if site else self.patient.index, where)

    def put(self, ds: Dataset, keyword: str, value: str, kind: str, *, site: bool = False) -> None:
        setattr(ds, keyword, self.plant(value, kind, keyword, site=site))

    def put_name(self, ds: Dataset, keyword: str, name: PersonName, *, site: bool = False) -> None:
        self.put(ds, keyword, name.dicom, "name", site=site)
        self.planter.add_all(name.parts(), "name-part", None if site else self.patient.index, keyword)


def _da(moment: date | datetime) -> str:
    return f"{moment:%Y%m%d}"


def _tm(moment: datetime) -> str:
    return f"{moment:%H%M%S}"


def _code(value: str, scheme: str, meaning: str, version: str = "") -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    if version:
        item.CodingSchemeVersion = version
    item.CodeMeaning = meaning
    return item


def _local_scheme(inst: Instance, suffix: str = "") -> str:
    """A site's own coding scheme: PS3.16 leaves designators starting with ``99`` to private use."""
    return f"99{inst.patient.hospital.issuer}{suffix}"


def _content_item(value_type: str, concept: Dataset, relationship: str = "", **values: object) -> Dataset:
    """An SR content item, or (without ``relationship``) a protocol context item."""
    item = Dataset()
    if relationship:
        item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [concept]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _instance_reference(sop_class: str, sop_instance: str, inst: Instance) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    inst.put(item, "ReferencedSOPInstanceUID", sop_instance, "uid")
    return item


# --- modules every IOD shares -------------------------------------------------------------


def _patient(ds: Dataset, inst: Instance) -> None:
    """Patient and Patient Study modules, with every contact detail a RIS would copy in."""
    p = inst.patient
    inst.put_name(ds, "PatientName", p.name)
    inst.put(ds, "PatientID", p.patient_id, "id")
    ds.IssuerOfPatientID = p.hospital.issuer
    inst.put(ds, "PatientBirthDate", _da(p.birth_date), "date")
    ds.PatientSex = p.sex
    others = []
    for national in p.national_ids:
        item = Dataset()
        item.PatientID = inst.plant(national.value, "national-id", "OtherPatientIDsSequence")
        item.IssuerOfPatientID = national.issuer
        item.TypeOfPatientID = "TEXT"
        others.append(item)
    ds.OtherPatientIDsSequence = others
    if inst.series.recipe.legacy:
        ds.OtherPatientIDs = [n.value for n in p.national_ids]
    if p.birth_name:
        inst.put_name(ds, "PatientBirthName", p.birth_name)
    inst.put_name(ds, "PatientMotherBirthName", p.mother_birth_name)
    inst.put(ds, "PatientAddress", p.address.line, "address")
    inst.planter.add_all(p.address.parts(), "address", p.index, "PatientAddress")
    ds.CountryOfResidence = p.address.country
    inst.put(ds, "PatientTelephoneNumbers", p.phone, "phone")
    inst.put(ds, "PatientTelecomInformation", p.email, "email")
    where = "PatientComments"
    ids = ", ".join(f"{n.kind} {inst.plant(n.formatted, 'national-id', where)}" for n in p.national_ids)
    name, born = inst.plant(p.name.natural, "name", where), inst.plant(p.date_text(p.birth_date), "date", where)
    ds.PatientComments = f"{name}, born {born}. {ids}. Contact {p.phone}, {p.email}."
    on, born_on = inst.study.start.date(), p.birth_date
    ds.PatientAge = f"{on.year - born_on.year - ((on.month, on.day) < (born_on.month, born_on.day)):03d}Y"
    ds.PatientSize = "1.72" if p.sex == "M" else "1.64"
    ds.PatientWeight = "78" if p.sex == "M" else "61"
    where = "AdditionalPatientHistory"
    prior = inst.plant(p.date_text(inst.plan.prior_date), "date", where)
    referrer = inst.plant(p.referring.natural, "name", where, site=True)
    mother = inst.plant(p.mother_birth_name.natural, "name", where)
    ds.AdditionalPatientHistory = (
        f"Previous {inst.study.recipe.modality} on {prior} at {p.hospital.name}. Referred by {referrer}."
        f" Mother ({mother}) had similar complaints."
    )


def _study(ds: Dataset, inst: Instance) -> None:
    """General Study module."""
    study, p = inst.study, inst.patient
    inst.put(ds, "StudyInstanceUID", study.uid, "uid")
    inst.put(ds, "StudyDate", _da(study.start), "date")
    ds.StudyTime = _tm(study.start)
    inst.put(ds, "AccessionNumber", study.accession, "id")
    inst.put(ds, "StudyID", study.study_id, "id")
    inst.put_name(ds, "ReferringPhysicianName", p.referring, site=True)
    inst.put(ds, "ReferringPhysicianAddress", p.hospital.address.line, "address", site=True)
    inst.put(ds, "ReferringPhysicianTelephoneNumbers", p.hospital.phone, "phone", site=True)
    inst.put_name(ds, "NameOfPhysiciansReadingStudy", p.reading, site=True)
    ds.StudyDescription = f"{study.recipe.description} - {p.name.natural}"


def _equipment(ds: Dataset, inst: Instance) -> None:
    """General Equipment module."""
    series, hospital = inst.series, inst.patient.hospital
    ds.Manufacturer, ds.ManufacturerModelName, ds.SoftwareVersions = _EQUIPMENT[series.recipe.kind]
    inst.put(ds, "InstitutionName", hospital.name, "institution", site=True)
    inst.put(ds, "InstitutionAddress", hospital.address.line, "address", site=True)
    inst.planter.add_all(hospital.address.parts(), "address", None, "InstitutionAddress")
    ds.InstitutionalDepartmentName = hospital.department
    inst.put(ds, "StationName", series.station, "device", site=True)
    inst.put(ds, "DeviceSerialNumber", series.serial, "device", site=True)
    inst.put(ds, "DeviceUID", series.device_uid, "uid", site=True)


def _series_description(inst: Instance) -> str:
    """The series label, with the kind of identifier operators type into it."""
    p, series = inst.patient, inst.series
    extra = (f"DOB {_da(p.birth_date)}", f"MRN {p.patient_id}", p.name.natural)[series.number % 3]
    return f"{series.recipe.description} {extra}"


def _common(inst: Instance) -> Dataset:
    """SOP Common plus every module of the Patient, Study and Equipment IEs."""
    ds = Dataset()
    p = inst.patient
    ds.SpecificCharacterSet = list(p.charset) if isinstance(p.charset, tuple) else p.charset
    _patient(ds, inst)
    _study(ds, inst)
    _equipment(ds, inst)
    ds.SOPClassUID = inst.series.sop_class
    inst.put(ds, "SOPInstanceUID", inst.uid, "uid")
    inst.put(ds, "InstanceCreationDate", _da(inst.time), "date")
    ds.InstanceCreationTime = _tm(inst.time)
    ds.Modality = inst.series.modality
    inst.put(ds, "SeriesInstanceUID", inst.series.uid, "uid")
    ds.SeriesNumber = inst.series.number
    inst.put(ds, "SeriesDate", _da(inst.series.start), "date")
    ds.SeriesTime = _tm(inst.series.start)
    ds.SeriesDescription = _series_description(inst)
    ds.InstanceNumber = inst.number
    inst.put(ds, "ContentDate", _da(inst.time), "date")
    ds.ContentTime = _tm(inst.time)
    return ds


# --- modules of the image IODs ---------------------------------------------------------


def _request_attributes(inst: Instance) -> Dataset:
    """One RequestAttributesSequence item, with identifiers three sequences deep."""
    study, p = inst.study, inst.patient
    item = Dataset()
    inst.put(item, "RequestedProcedureID", study.requested_procedure_id, "id")
    inst.put(item, "ScheduledProcedureStepID", study.step_id, "id")
    item.AccessionNumber = study.accession
    item.StudyInstanceUID = study.uid
    item.RequestedProcedureDescription = study.recipe.description
    item.ReasonForTheRequestedProcedure = f"Follow-up {p.name.natural}, DOB {_da(p.birth_date)}"
    item.ReferencedStudySequence = [_instance_reference(_STUDY_REFERENCE_CLASS, study.other_study_uid, inst)]
    recipe = study.recipe
    protocol = _code(recipe.modality + recipe.body_part[:4], "99" + p.hospital.issuer, recipe.description)
    subject_name = _content_item("PNAME", _code("121029", "DCM", "Subject Name"))
    inst.put_name(subject_name, "PersonName", p.name)
    protocol.ProtocolContextSequence = [
        subject_name,
        _content_item("TEXT", _code("121030", "DCM", "Subject ID"), TextValue=p.patient_id),
        _content_item("TEXT", _code("121106", "DCM", "Comment"), TextValue=f"Call {p.phone} the day before."),
    ]
    item.ScheduledProtocolCodeSequence = [protocol]
    # A RIS's local procedure code, typed with the name of whoever ordered it.
    referrer = inst.plant(f"{p.referring.prefix} {p.referring.family}", "name", "RequestedProcedureCodeSequence",
                          site=True)
    item.RequestedProcedureCodeSequence = [
        _code(f"{recipe.modality}{recipe.body_part[:4]}R", _local_scheme(inst),
              f"{recipe.description} ordered by {referrer}")
    ]
    return item


def _local_codes(ds: Dataset, inst: Instance) -> None:
    """Procedure and protocol codes of the site's own schemes, with the text people type into them."""
    study, series, p = inst.study, inst.series, inst.patient
    # An order-entry scheme whose code is the accession number and whose meaning names the patient.
    code = inst.plant(f"{study.accession}-{series.modality}", "id", "ProcedureCodeSequence")
    patient = inst.plant(f"{p.name.family}, {p.name.given}", "name", "ProcedureCodeSequence")
    ds.ProcedureCodeSequence = [_code(code, _local_scheme(inst, "ORD"), f"{study.recipe.description} for {patient}")]
    # A protocol the operator set up: named, and versioned, after them.
    operator = inst.plant(f"{p.operator.family}, {p.operator.given}", "name", "PerformedProtocolCodeSequence",
                          site=True)
    version = inst.plant(p.operator.family, "name", "CodingSchemeVersion", site=True)
    ds.PerformedProtocolCodeSequence = [
        _code(f"{series.modality}{series.number:02d}", _local_scheme(inst, "PRT"),
              f"{series.recipe.description} ({operator})", version)
    ]


def _general_series(ds: Dataset, inst: Instance) -> None:
    """The General Series attributes beyond those :func:`_common` sets."""
    study, series, p = inst.study, inst.series, inst.patient
    ds.ProtocolName = series.recipe.description
    ds.BodyPartExamined = study.recipe.body_part
    if study.recipe.laterality:
        ds.Laterality = study.recipe.laterality
    if series.recipe.kind in (CT, MR):
        ds.PatientPosition = "FFS" if study.recipe.body_part == "KNEE" else "HFS"
    inst.put_name(ds, "PerformingPhysicianName", p.reading, site=True)
    inst.put_name(ds, "OperatorsName", p.operator, site=True)
    ds.PerformedProcedureStepStartDate = _da(study.start)
    ds.PerformedProcedureStepStartTime = _tm(study.start)
    ds.PerformedProcedureStepDescription = study.recipe.description
    ds.RequestAttributesSequence = [_request_attributes(inst)]
    _local_codes(ds, inst)
    if series.recipe.legacy:
        ds.RequestedProcedureComments = (
            f"{p.name.natural} ({p.patient_id}) is claustrophobic; call {p.phone} or write to {p.email}."
        )


def _general_image(ds: Dataset, inst: Instance) -> None:
    """General Image and the references to other instances of the study."""
    p, series = inst.patient, inst.series
    ds.AcquisitionDate = _da(inst.time)
    ds.AcquisitionTime = _tm(inst.time)
    ds.ImageComments = f"{p.name.natural}, MRN {p.patient_id}, tel. {p.phone}"
    if series.recipe.burned_in:
        ds.BurnedInAnnotation = "YES"
    first = inst.study.series[0]
    if series is first:
        return
    if series.recipe.kind == SC:
        ds.SourceImageSequence = [_instance_reference(first.sop_class, uid, inst) for uid in first.instance_uids[:3]]
        ds.DerivationDescription = f"Screen capture of series {first.number}"
    else:
        ds.ReferencedImageSequence = [_instance_reference(first.sop_class, first.instance_uids[0], inst)]


def _image_pixel(ds: Dataset, pixels: np.ndarray, bits_stored: int) -> None:
    """Image Pixel module for a native (uncompressed) array: frames × rows × columns [× RGB]."""
    colour = pixels.shape[-1] == 3
    rows, columns = pixels.shape[-3:-1] if colour else pixels.shape[-2:]
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else "MONOCHROME2"
    if colour:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = pixels.itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.tobytes()


def _image(inst: Instance) -> Dataset:
    ds = _common(inst)
    _general_series(ds, inst)
    _general_image(ds, inst)
    return ds


def _cross_sectional(inst: Instance, ds: Dataset, position: float, spacing: float) -> None:
    """Frame of Reference and Image Plane modules for an axial stack."""
    inst.put(ds, "FrameOfReferenceUID", inst.series.frame_of_reference_uid, "uid")
    ds.PositionReferenceIndicator = ""
    ds.PixelSpacing = [spacing, spacing]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-32 * spacing, -32 * spacing, position]
    ds.SliceThickness = 5
    ds.SliceLocation = position


def _pixel_seed(inst: Instance) -> int:
    return zlib.crc32(inst.uid.encode())


def _banner(inst: Instance) -> list[str]:
    """The header lines a modality prints over its images; each is planted as pixel text."""
    p = inst.patient
    family, given = p.name.ascii_upper
    lines = [
        f"{family}, {given}",
        f"ID {p.patient_id}  DOB {p.birth_date.isoformat()}",
        f"{p.hospital.name}  {inst.study.start.date().isoformat()}",
    ]
    return [inst.plant(line, "pixel-text", "pixels") for line in lines]


# --- private blocks ----------------------------------------------------------------------


def _private_gems(ds: Dataset, inst: Instance) -> None:
    """GE's identification group: a creator de-identifiers know, holding the name in free text."""
    block = ds.private_block(0x0009, "GEMS_IDEN_01", create=True)
    block.add_new(0x01, "LO", "GE_GENESIS_FF")
    block.add_new(0x02, "SH", inst.series.station)
    block.add_new(0x04, "SH", "CT99")
    block.add_new(0x17, "LT", f"{inst.series.recipe.description} {inst.patient.name.dicom}")
    block.add_new(0xE3, "UI", inst.series.device_uid)


def _private_siemens(ds: Dataset, inst: Instance) -> None:
    """Siemens' patient group, which repeats name, ID and birth date in ASCII."""
    p = inst.patient
    block = ds.private_block(0x0013, "SIEMENS CM VA0  CMS", create=True)
    block.add_new(0x20, "PN", inst.plant(p.name.ascii_dicom, "name", "SIEMENS CM VA0  CMS"))
    inst.planter.add_all(p.name.ascii_parts(), "name-part", p.index, "SIEMENS CM VA0  CMS")
    block.add_new(0x22, "LO", p.patient_id)
    block.add_new(0x30, "DA", _da(p.birth_date))


def _private_acme(ds: Dataset, inst: Instance) -> None:
    """A hospital's own block: a creator no dictionary knows, so nothing in it can be judged safe."""
    p = inst.patient
    block = ds.private_block(0x0071, "ACME HOSPITAL 1.0", create=True)
    block.add_new(0x01, "LO", p.name.natural)
    block.add_new(0x02, "SH", p.phone)
    block.add_new(0x03, "DA", _da(p.birth_date))
    block.add_new(0x04, "LT", f"Billing: {p.national_ids[-1].formatted}, {p.email}, {p.address.line}")
    # Exported through a system that lost the VR: explicit-VR files carry it as UN.
    raw = f"PID={p.patient_id}\\NAME={p.name.ascii_dicom}\\NID={p.national_ids[0].value}".encode("ascii")
    block.add_new(0x10, "UN", raw + b" " * (len(raw) % 2))


def _private_philips(ds: Dataset, inst: Instance) -> None:
    """A sequence of Table E.3.10-1's safe private attributes, holding a site's code item:
    retain-safe-private keeps the sequence, and so the code's text, which names the patient."""
    p = inst.patient
    block = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
    mrn = inst.plant(f"MRN {p.patient_id}", "id", "Philips Imaging DD 001")
    item = _code("EE1", _local_scheme(inst), f"Edge enhancement preset for {mrn}")
    block.add_new(0x6B, "SQ", [item])  # Edge Enhancement Sequence


def _overlay(ds: Dataset, inst: Instance) -> None:
    """Overlay plane 6000 with the patient ID drawn into its bitmap."""
    p = inst.patient
    ds.add_new(0x60000010, "US", ds.Rows)
    ds.add_new(0x60000011, "US", ds.Columns)
    ds.add_new(0x60000022, "LO", f"ROI for {p.name.natural}")
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60001500, "LO", f"Marked by {inst.plant(p.operator.natural, 'name', 'OverlayLabel', site=True)}")
    text = inst.plant(p.patient_id, "pixel-text", "OverlayData")
    ds.add_new(0x60003000, "OW", _pixels.overlay_bits(text, (ds.Rows, ds.Columns)))


# --- the IODs ------------------------------------------------------------------------------


def _ct(inst: Instance) -> Dataset:
    ds = _image(inst)
    position = -40.0 + 5 * inst.number
    _cross_sectional(inst, ds, position, 350 / 64)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionNumber = 1
    ds.KVP = 120
    ds.DataCollectionDiameter = 500
    ds.ReconstructionDiameter = 350
    ds.GantryDetectorTilt = 0
    ds.TableHeight = 160
    ds.RotationDirection = "CW"
    ds.XRayTubeCurrent = 200
    ds.ConvolutionKernel = "STANDARD"
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    _image_pixel(ds, _pixels.ct_slice(_pixel_seed(inst), position), 12)
    if inst.number == inst.series.recipe.overlay_instance:
        _overlay(ds, inst)
    _private_gems(ds, inst)
    _private_acme(ds, inst)
    _private_philips(ds, inst)
    return ds


def _mr(inst: Instance) -> Dataset:
    ds = _image(inst)
    position = -12.0 + 6 * inst.number
    _cross_sectional(inst, ds, position, 230 / 64)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.AcquisitionNumber = 1
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "SK"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = "se2d1"
    ds.AngioFlag = "N"
    ds.RepetitionTime = 500
    ds.EchoTime = 14
    ds.EchoTrainLength = 1
    ds.NumberOfAverages = 2
    ds.ImagingFrequency = 63.68
    ds.ImagedNucleus = "1H"
    ds.MagneticFieldStrength = 1.5
    ds.SpacingBetweenSlices = 6
    ds.WindowCenter = 800
    ds.WindowWidth = 1600
    _image_pixel(ds, _pixels.mr_slice(_pixel_seed(inst), position), 12)
    _private_siemens(ds, inst)
    return ds


def _us(inst: Instance) -> Dataset:
    ds = _image(inst)
    ds.PatientOrientation = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL"]
    banner = _banner(inst)
    seed = _pixel_seed(inst)
    frames = inst.series.recipe.frames
    if inst.series.recipe.kind == US_MULTIFRAME:
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = 0x00181063  # FrameTime
        ds.FrameTime = 40
        ds.CineRate = 25
        pixels = np.stack([_pixels.us_frame(seed, banner, phase=f / frames * 2 * np.pi) for f in range(frames)])
    else:
        pixels = _pixels.us_frame(seed, banner)
    region = Dataset()
    region.RegionSpatialFormat = 1
    region.RegionDataType = 1
    region.RegionFlags = 0
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 40, 40
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 280, 237
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
    region.PhysicalDeltaX = region.PhysicalDeltaY = 0.05
    ds.SequenceOfUltrasoundRegions = [region]
    _image_pixel(ds, pixels, 8)
    _private_acme(ds, inst)
    return ds


def _sc(inst: Instance) -> Dataset:
    ds = _image(inst)
    study = inst.study
    ds.PatientOrientation = ""
    ds.ConversionType = "WSD"
    ds.DateOfSecondaryCapture = _da(inst.time)
    ds.TimeOfSecondaryCapture = _tm(inst.time)
    banner = _banner(inst)
    table = [f"SE{s.number:>3}  {s.modality:<3} {len(s.instance_uids):>3} img" for s in study.series]
    accession = inst.plant(f"Acc {study.accession}", "pixel-text", "pixels")
    lines = [f"{study.recipe.modality} EXAM SUMMARY", *banner, accession, "", *table]
    _image_pixel(ds, _pixels.screen(lines), 8)
    return ds


def _sr_content(inst: Instance) -> list[Dataset]:
    """The report tree: observation context naming the patient, findings with a key image, impressions."""
    p, study, images = inst.patient, inst.study, inst.study.series[0]
    context, contains = "HAS OBS CONTEXT", "CONTAINS"
    observer = _content_item("PNAME", _code("121008", "DCM", "Person Observer Name"), context)
    inst.put_name(observer, "PersonName", p.reading, site=True)
    subject = _content_item("PNAME", _code("121029", "DCM", "Subject Name"), context)
    inst.put_name(subject, "PersonName", p.name)
    finding = (
        f"{p.name.natural} (DOB {p.date_text(p.birth_date)}, MRN {p.patient_id}) was examined on "
        f"{p.date_text(study.start.date())}. No focal lesion compared with the study of "
        f"{p.date_text(inst.plan.prior_date)}."
    )
    impression = f"Unremarkable. Discussed with {p.referring.natural} by phone; patient reachable at {p.phone}."
    key_image = _instance_reference(images.sop_class, images.instance_uids[len(images.instance_uids) // 2], inst)
    findings = [
        _content_item("TEXT", _code("121071", "DCM", "Finding"), contains, TextValue=finding),
        _content_item("IMAGE", _code("121180", "DCM", "Key Images"), contains, ReferencedSOPSequence=[key_image]),
    ]
    # A concept of the site's own report template, named after the radiologist who added it.
    reader = inst.plant(f"{p.reading.prefix} {p.reading.family}", "name", "ConceptNameCodeSequence", site=True)
    second_reading = _code("RPT2R", _local_scheme(inst, "RPT"), f"Second reading ({reader})")
    impressions = [
        _content_item("TEXT", _code("121073", "DCM", "Impression"), contains, TextValue=impression),
        _content_item("DATE", _code("111060", "DCM", "Study Date"), contains, Date=_da(study.start)),
        _content_item("TEXT", second_reading, contains, TextValue="Concur."),
    ]
    return [
        observer,
        subject,
        _content_item("TEXT", _code("121030", "DCM", "Subject ID"), context, TextValue=p.patient_id),
        _content_item("DATE", _code("121031", "DCM", "Subject Birth Date"), context, Date=_da(p.birth_date)),
        _content_item("CONTAINER", _code("121070", "DCM", "Findings"), contains,
                      ContinuityOfContent="SEPARATE", ContentSequence=findings),
        _content_item("CONTAINER", _code("121072", "DCM", "Impressions"), contains,
                      ContinuityOfContent="SEPARATE", ContentSequence=impressions),
    ]


def _sr(inst: Instance) -> Dataset:
    """Basic Text SR: verified, fulfilling the study's request, with the study's images as evidence."""
    ds = _common(inst)
    p, study, images = inst.patient, inst.study, inst.study.series[0]
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    verifier = Dataset()
    inst.put_name(verifier, "VerifyingObserverName", p.reading, site=True)
    verifier.VerifyingObserverIdentificationCodeSequence = []
    verifier.VerifyingOrganization = p.hospital.name
    verifier.VerificationDateTime = f"{inst.time + timedelta(hours=3):%Y%m%d%H%M%S}"
    ds.VerifyingObserverSequence = [verifier]
    request = Dataset()
    request.StudyInstanceUID = study.uid
    request.AccessionNumber = study.accession
    request.ReferencedStudySequence = []
    request.RequestedProcedureDescription = study.recipe.description
    request.RequestedProcedureCodeSequence = []
    request.RequestedProcedureID = study.requested_procedure_id
    inst.put(request, "PlacerOrderNumberImagingServiceRequest", study.placer_order, "id")
    inst.put(request, "FillerOrderNumberImagingServiceRequest", study.filler_order, "id")
    ds.ReferencedRequestSequence = [request]
    ds.PerformedProcedureCodeSequence = []
    evidence_series = Dataset()
    evidence_series.SeriesInstanceUID = images.uid
    evidence_series.ReferencedSOPSequence = [
        _instance_reference(images.sop_class, uid, inst) for uid in images.instance_uids
    ]
    evidence = Dataset()
    evidence.StudyInstanceUID = study.uid
    evidence.ReferencedSeriesSequence = [evidence_series]
    ds.CurrentRequestedProcedureEvidenceSequence = [evidence]
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.ContinuityOfContent = "SEPARATE"
    ds.ContentSequence = _sr_content(inst)
    return ds


_BUILDERS = {CT: _ct, MR: _mr, US: _us, US_MULTIFRAME: _us, SC: _sc, SR: _sr}


def build_instance(inst: Instance) -> Dataset:
    """The complete dataset (without file meta) of ``inst``."""
    return _BUILDERS[inst.series.recipe.kind](inst)


