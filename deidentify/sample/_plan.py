"""What the sample contains: studies, series and instances with their UIDs, dates and paths.

Everything is fixed before any dataset is built, so an instance can reference
instances of other series and studies (and the SR its evidence) by UID.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydicom.uid import (
    BasicTextSRStorage,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
)

from ._identities import Patient, make_patient

# The fake hospital's root.  Arcs under 2.25 are UUIDs and need no registration;
# this small one belongs to no real organisation.  (2.999, the arc for examples,
# would be more honest, but validators reject it as unfit for real objects.)
UID_ROOT = "2.25.31415926535897932384"

# Series kinds: a kind fixes the IOD, the modality and the pixel layout.
CT, MR, US, US_MULTIFRAME, SC, SR = "CT", "MR", "US", "US-MF", "SC", "SR"

SOP_CLASS = {
    CT: CTImageStorage,
    MR: MRImageStorage,
    US: UltrasoundImageStorage,
    US_MULTIFRAME: UltrasoundMultiFrameImageStorage,
    SC: SecondaryCaptureImageStorage,
    SR: BasicTextSRStorage,
}
MODALITY = {CT: "CT", MR: "MR", US: "US", US_MULTIFRAME: "US", SC: "OT", SR: "SR"}


def make_uid(seed: int, *key: object) -> str:
    """A UID under :data:`UID_ROOT` that depends only on ``seed`` and ``key``.

    Hashing rather than counting keeps UIDs from being prefixes of one another
    and makes them look like the opaque numbers real devices produce.
    """
    digest = hashlib.sha256(repr((seed, *key)).encode()).digest()
    return f"{UID_ROOT}.{int.from_bytes(digest[:10], 'big')}"


@dataclass(frozen=True)
class SeriesRecipe:
    """The shape of one series; the seed fills in the values."""

    kind: str
    count: int
    description: str
    syntax: str = ExplicitVRLittleEndian
    # Written like an older system would: retired OtherPatientIDs, request
    # comments at the top level, an ASCII-only copy of the name in private tags.
    legacy: bool = False
    # 1-based instance written as a bare dataset (no preamble, "DICM" or meta); 0 for none.
    bare_instance: int = 0
    # 1-based instance that carries an overlay plane; 0 for none.
    overlay_instance: int = 0
    # BurnedInAnnotation is YES when set and absent otherwise, as in real archives.
    burned_in: bool = False
    frames: int = 1


@dataclass(frozen=True)
class StudyRecipe:
    modality: str
    description: str
    body_part: str
    series: tuple[SeriesRecipe, ...]
    laterality: str = ""
    suffix: str = ".dcm"


# One tuple of studies per patient, used in turn.  Between them the four cover
# every IOD, transfer syntax and oddity the sample promises, so the default
# four patients contain all of them.
_RECIPES: tuple[tuple[StudyRecipe, ...], ...] = (
    (
        StudyRecipe("CT", "CT THORAX W/O", "CHEST", (
            SeriesRecipe(CT, 6, "THORAX 5mm", legacy=True, overlay_instance=3),
            SeriesRecipe(SC, 1, "Dose Report", burned_in=True),
            SeriesRecipe(SR, 1, "Radiology Report", syntax=DeflatedExplicitVRLittleEndian),
        )),
        StudyRecipe("US", "US ABDOMEN", "ABDOMEN", (
            SeriesRecipe(US, 2, "Liver", burned_in=True),
            SeriesRecipe(US_MULTIFRAME, 1, "Liver cine", frames=5),
        )),
    ),
    (
        StudyRecipe("MR", "MR HEAD W/O", "HEAD", (
            SeriesRecipe(MR, 5, "T1 SE SAG"),
            SeriesRecipe(MR, 5, "T2 TSE AX", syntax=ImplicitVRLittleEndian, legacy=True, bare_instance=2),
            SeriesRecipe(SC, 1, "Screen Save"),
        ), suffix=""),
    ),
    (
        StudyRecipe("CT", "CT ABDOMEN", "ABDOMEN", (
            SeriesRecipe(CT, 6, "ABD PORTAL 5mm", legacy=True),
            SeriesRecipe(SR, 1, "Radiology Report"),
        )),
        StudyRecipe("US", "US NECK", "NECK", (
            SeriesRecipe(US, 2, "Thyroid right", burned_in=True),
            SeriesRecipe(US, 1, "Thyroid left"),
        ), suffix=""),
    ),
    (
        StudyRecipe("MR", "MR KNEE", "KNEE", (
            SeriesRecipe(MR, 5, "PD FS SAG"),
            SeriesRecipe(MR, 4, "T1 COR"),
            SeriesRecipe(SC, 1, "Key Image", burned_in=True),
        ), laterality="R"),
        StudyRecipe("CT", "CT HEAD", "HEAD", (
            SeriesRecipe(CT, 5, "HEAD 5mm"),
            SeriesRecipe(SR, 1, "Radiology Report"),
        ), suffix=""),
    ),
)


@dataclass(frozen=True)
class Series:
    recipe: SeriesRecipe
    number: int
    uid: str
    frame_of_reference_uid: str
    instance_uids: tuple[str, ...]
    start: datetime
    station: str
    serial: str
    device_uid: str
    directory: str

    @property
    def sop_class(self) -> str:
        return SOP_CLASS[self.recipe.kind]

    @property
    def modality(self) -> str:
        return MODALITY[self.recipe.kind]


@dataclass(frozen=True)
class Study:
    recipe: StudyRecipe
    uid: str
    start: datetime
    accession: str
    study_id: str
    requested_procedure_id: str
    step_id: str
    placer_order: str
    filler_order: str
    # Another study of the same patient, referenced from the request: the
    # patient's other study in the sample, or an earlier one that is not.
    other_study_uid: str
    directory: str
    series: tuple[Series, ...]


@dataclass(frozen=True)
class PatientPlan:
    patient: Patient
    directory: str
    prior_date: date
    studies: tuple[Study, ...]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _number(rng: random.Random, prefix: str, digits: int) -> str:
    return f"{prefix}{rng.randrange(10 ** (digits - 1), 10**digits)}"


def plan_patient(seed: int, index: int) -> PatientPlan:
    """Everything about patient ``index`` except the datasets themselves."""
    patient = make_patient(seed, index)
    rng = random.Random(f"deidentify-sample:{seed}:{index}:studies")
    recipes = _RECIPES[index % len(_RECIPES)]
    first = datetime(2023, 1, 2, 7, 0) + timedelta(days=rng.randrange(700), minutes=rng.randrange(0, 600))
    starts = [first + timedelta(days=rng.randrange(14, 120) * i, minutes=rng.randrange(-60, 60) * i)
              for i in range(len(recipes))]
    study_uids = [make_uid(seed, index, s, "study") for s in range(len(recipes))]
    prior_uid = make_uid(seed, index, "prior-study")
    family, given = patient.name.ascii_upper
    patient_dir = f"{_slug(family)}_{_slug(given)}_{patient.birth_date:%Y%m%d}"
    studies = []
    for s, (recipe, start) in enumerate(zip(recipes, starts, strict=True)):
        accession = _number(rng, "ACC", 7)
        station = patient.hospital.stations[("CT", "MR", "US").index(recipe.modality)]
        serial = _number(rng, "SN", 6)
        device_uid = make_uid(seed, index, s, "device")
        series = []
        for n, series_recipe in enumerate(recipe.series, start=1):
            count = series_recipe.count
            series.append(Series(
                recipe=series_recipe,
                number=n,
                uid=make_uid(seed, index, s, n, "series"),
                frame_of_reference_uid=make_uid(seed, index, s, n, "frame-of-reference"),
                instance_uids=tuple(make_uid(seed, index, s, n, i, "instance") for i in range(1, count + 1)),
                start=start + timedelta(minutes=4 * n),
                station=station,
                serial=serial,
                device_uid=device_uid,
                directory=f"{n:03d}_{_slug(series_recipe.description)}",
            ))
        others = [uid for uid in study_uids if uid != study_uids[s]]
        studies.append(Study(
            recipe=recipe,
            uid=study_uids[s],
            start=start,
            accession=accession,
            study_id=_number(rng, "E", 5),
            requested_procedure_id=_number(rng, "RP", 6),
            step_id=_number(rng, "SPS", 6),
            placer_order=_number(rng, "PO", 8),
            filler_order=_number(rng, "FO", 8),
            other_study_uid=others[0] if others else prior_uid,
            directory=f"{recipe.modality}_{start:%Y%m%d}_{accession}",
            series=tuple(series),
        ))
    prior_date = first.date() - timedelta(days=rng.randrange(200, 900))
    return PatientPlan(patient, patient_dir, prior_date, tuple(studies))
