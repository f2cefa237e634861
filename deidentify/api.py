"""The Python API: what the command line does, for notebooks and scripts.

>>> import deidentify
>>> result = deidentify.run("studies", "shareable", profile="research", key="project.key")
>>> result.report.status.value_counts()                              # doctest: +SKIP
>>> clean = deidentify.deidentify_dataset(ds, profile="basic", key="project.key")  # doctest: +SKIP

``key`` is a key file's path (created, mode 0600, when missing in a folder that
exists, as ``deidentify run`` does) or the key's bytes.  ``profile`` is a
built-in name, a profile file's path or a loaded :class:`~deidentify.profile.Profile`.
Every call goes through the same per-file path as the command line.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from .batch import RunResult, default_workers
from .batch import run as _run
from .checker.runner import CheckReport, check_folder
from .errors import DeidentifyError
from .keys import Keyring, load_or_create_key
from .outcome import Outcome, Status
from .pipeline import deidentify_bytes
from .plan import RuleBook
from .profile import Profile, load_profile

KeyLike = str | os.PathLike[str] | bytes
ProfileLike = str | os.PathLike[str] | Profile


class NotWritten(DeidentifyError):
    """A dataset that cannot be shared: withheld, filtered or in error, with the reason (never a value)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status, self.reason = status, reason


def run(src: str | os.PathLike[str], dst: str | os.PathLike[str], profile: ProfileLike = "basic",
        key: KeyLike | None = None, *, options: Iterable[str] = (), workers: int | None = None,
        progress: str = "none", **settings: Any) -> RunResult:
    """De-identify every file under ``src`` into ``dst``, as ``deidentify run`` does.

    ``settings`` are :func:`deidentify.batch.run`'s keywords (``state``, ``linkage``,
    ``verify``, ``restart``, ``retry_withheld``, ``limits``...).  The result's
    ``report`` is the run's report as a pandas DataFrame; ``exit_code`` is the
    command line's exit status.
    """
    return _run(Path(src), Path(dst), _profile(profile, options), _key(key),
                workers=workers or default_workers(), progress=progress, **settings)


class Deidentifier:
    """One compiled profile and key, for many datasets (compiling costs more than one dataset)."""

    def __init__(self, profile: ProfileLike = "basic", key: KeyLike | None = None,
                 options: Iterable[str] = ()) -> None:
        self.rules = RuleBook(_profile(profile, options))
        self.keyring = Keyring(_key(key))

    def outcome(self, data: bytes) -> Outcome:
        """What becomes of one file's bytes (status, reason, the output's bytes and name)."""
        return deidentify_bytes(data, self.rules, self.keyring)

    def dataset(self, ds: Dataset) -> Dataset:
        """A de-identified copy of ``ds``; :class:`NotWritten` when it cannot be shared."""
        outcome = self.outcome(_file_bytes(ds))
        if outcome.status != Status.WRITTEN or outcome.data is None:
            raise NotWritten(str(outcome.status), outcome.reason)
        return pydicom.dcmread(io.BytesIO(outcome.data))


def _file_bytes(ds: Dataset) -> bytes:
    """``ds`` as a DICOM file; a dataset that says nothing of its encoding is written explicit VR little endian."""
    for encoding in ({}, {"implicit_vr": False, "little_endian": True}):
        buffer = io.BytesIO()
        try:
            pydicom.dcmwrite(buffer, ds, enforce_file_format=True, **encoding)
            return buffer.getvalue()
        except ValueError:
            continue
        except Exception as exc:  # pydicom's messages may quote values
            raise NotWritten(str(Status.ERROR), f"cannot be written as DICOM ({type(exc).__name__})") from None
    raise NotWritten(str(Status.ERROR), "cannot be written as DICOM (no transfer syntax, and no SOP Class)")


def deidentify_dataset(ds: Dataset, profile: ProfileLike = "basic", key: KeyLike | None = None,
                       options: Iterable[str] = ()) -> Dataset:
    """A de-identified copy of one pydicom Dataset (``ds`` is not changed); :class:`NotWritten` when
    it is withheld.  For many datasets, build one :class:`Deidentifier`."""
    return Deidentifier(profile, key, options).dataset(ds)


def check(path: str | os.PathLike[str], profile: ProfileLike = "basic", against: str | os.PathLike[str] | None = None,
          options: Iterable[str] = (), **settings: Any) -> CheckReport:
    """Look for residual PHI and invalid DICOM in a folder, as ``deidentify check`` does; ``against``:
    the originals, so that their own values are looked for in the outputs.  ``settings`` are
    :func:`~deidentify.checker.check_folder`'s keywords (``accept``, ``fail_on``, ``skip``...)."""
    return check_folder(Path(path), _profile(profile, options), Path(against) if against is not None else None,
                        **settings)


def _profile(profile: ProfileLike, options: Iterable[str]) -> Profile:
    if not isinstance(profile, Profile):
        return load_profile(os.fspath(profile), options=tuple(options))
    if tuple(options):
        raise DeidentifyError("a loaded profile takes its options when loading: load_profile(name, options=...)")
    return profile


def _key(key: KeyLike | None) -> bytes:
    if isinstance(key, bytes):
        if len(key) < 16:
            raise DeidentifyError("a key needs at least 16 bytes (128 bits)")
        return key
    if key is None:
        raise DeidentifyError("a key is needed: a key file's path (created when missing) or the key's bytes")
    return load_or_create_key(Path(key))[0]
