"""Writing the sample to disk: the files, then ``planted.json``."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

from ._datasets import Instance, build_instance
from ._manifest import MANIFEST_NAME, Planter, SampleManifest
from ._plan import UID_ROOT, plan_patient

# Our own implementation identity: pydicom's default names its version, which
# would change the bytes of the sample with every pydicom release.
IMPLEMENTATION_CLASS_UID = UID(f"{UID_ROOT}.0.1")
IMPLEMENTATION_VERSION_NAME = "DEIDSAMPLE_1"


def _write(ds: Dataset, path: Path, syntax: str | None) -> None:
    """Write ``ds`` as a DICOM file in ``syntax``; with ``None``, as a bare dataset.

    A bare dataset has no preamble, "DICM" prefix or meta (and so is implicit VR
    little endian), as files from old archives often are.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if syntax is None:
        dcmwrite(path, ds, implicit_vr=True, little_endian=True)
        return
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.file_meta = meta
    dcmwrite(path, ds, enforce_file_format=True)


def write_sample(out_dir: Path, *, seed: int = 0, patients: int = 4) -> SampleManifest:
    """Write a synthetic study archive full of planted identifying data.

    The files go under ``out_dir/studies/<patient>/<study>/<series>/`` with names
    that themselves contain PHI, and the list of everything planted goes to
    ``out_dir/planted.json``.  The output depends only on ``seed`` and
    ``patients``: the same arguments give the same bytes, and a larger
    ``patients`` only adds patients.  The first four patients between them
    cover every IOD, character set, transfer syntax and oddity of the sample.

    Returns the manifest it wrote.  Raises :class:`FileExistsError` if
    ``out_dir/studies`` already exists, so a stale file from an earlier run can
    never pass for part of this one.
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    out_dir = Path(out_dir)
    studies_dir = out_dir / "studies"
    if studies_dir.exists():
        raise FileExistsError(f"{studies_dir} already exists")
    planter = Planter()
    for index in range(patients):
        plan = plan_patient(seed, index)
        planter.add_all(plan.patient.name.ascii_parts(), "name-part", index, "path")
        for study in plan.studies:
            for series in study.series:
                for number in range(1, len(series.instance_uids) + 1):
                    path = studies_dir / plan.directory / study.directory / series.directory
                    path /= f"IM{number:04d}{study.recipe.suffix}"
                    ds = build_instance(Instance(plan, study, series, number, planter))
                    bare = number == series.recipe.bare_instance
                    _write(ds, path, None if bare else series.recipe.syntax)
    manifest = planter.manifest()
    (out_dir / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest
