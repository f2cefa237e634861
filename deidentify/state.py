"""The state folder: everything a run keeps besides its outputs.

It holds the lock (one run per state folder), the manifest that lets a killed
run resume, the quarantine of withheld inputs, the report and log, and — only
with ``--linkage`` — the crosswalk from original to new identifiers.  Inputs are
named by keyed ids, never by their paths; the quarantine and the linkage files
hold PHI, so the folder is created private (0700) and stays in the hospital.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import DeidentifyError


class StateLocked(DeidentifyError, RuntimeError):
    """Another live process holds the state folder."""


@dataclass(frozen=True)
class RunIdentity:
    """What decides a state folder's outputs: a re-run must use the same, or start over."""

    profile_name: str
    profile: str
    """The profile's fingerprint (:func:`deidentify.profile.fingerprint`)."""
    key: str
    """The key's fingerprint (:meth:`deidentify.keys.Keyring.fingerprint`)."""

    def differences(self, other: RunIdentity) -> list[str]:
        found = []
        if (self.profile_name, self.profile) != (other.profile_name, other.profile):
            same_name = self.profile_name == other.profile_name
            found.append(f"profile {other.profile_name!r}" + (" (since changed)" if same_name else ""))
        if self.key != other.key:
            found.append("another key")
        return found


@dataclass(frozen=True)
class Seen:
    """What the manifest knows of one input path."""

    size: int
    mtime_ns: int
    row: dict[str, Any]


def read_manifest(path: Path) -> dict[str, Seen]:
    """The manifest at ``path`` by path id (the last line of an input wins); read-only, no lock needed."""
    seen: dict[str, Seen] = {}
    if not path.exists():
        return seen
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
                seen[entry["path_id"]] = Seen(entry["size"], entry["mtime_ns"], entry["row"])
            except (ValueError, KeyError, TypeError):
                continue
    return seen


class StateFolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.quarantine = path / "quarantine"
        self.manifest_path = path / "manifest.jsonl"
        self.report_csv = path / "report.csv"
        self.report_parquet = path / "report.parquet"
        self.log_path = path / "run.log"
        self.identity_path = path / "run.json"
        self._lock: IO[str] | None = None
        self._manifest: IO[str] | None = None

    # --- lock -----------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the folder for this process; the kernel drops the lock when the process dies."""
        handle = open(self.path / "lock", "a+")  # noqa: SIM115 (held, and the lock with it, until unlock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateLocked(f"another deidentify process is using the state folder {self.path}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        if self._manifest is not None:
            # A full disk: the lines that made it are whole, the last one is ignored on load.
            with contextlib.suppress(OSError):
                self._manifest.close()
            self._manifest = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    @property
    def lock_fd(self) -> int | None:
        """The lock's descriptor, which forked workers must close (the lock dies with the run)."""
        return self._lock.fileno() if self._lock is not None else None

    # --- identity -------------------------------------------------------------------------
    def identity(self) -> RunIdentity | None:
        """The profile and key of the outputs this folder describes, if a run recorded them."""
        try:
            entry = json.loads(self.identity_path.read_text(encoding="utf-8"))
            return RunIdentity(entry["profile_name"], entry["profile"], entry["key"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return RunIdentity("(unreadable)", "", "")

    def record_identity(self, identity: RunIdentity) -> None:
        temp = self.identity_path.with_suffix(".json.partial")
        temp.write_text(json.dumps(identity.__dict__) + "\n", encoding="utf-8")
        os.replace(temp, self.identity_path)

    def clear(self) -> None:
        """Forget every earlier run (``--restart``): manifest, report, quarantine and linkage files."""
        for name in ("manifest.jsonl", "report.csv", "report.parquet", "uid_mapping.csv", "patid_mapping.csv",
                     "date_offsets.csv"):
            (self.path / name).unlink(missing_ok=True)
        if self.quarantine.is_dir():
            for entry in self.quarantine.iterdir():
                entry.unlink()

    # --- manifest -------------------------------------------------------------------------
    def load_manifest(self) -> dict[str, Seen]:
        """Finished inputs by path id; a line cut short by a kill is ignored (that input is redone)."""
        return read_manifest(self.manifest_path)

    def record(self, path_id: str, size: int, mtime_ns: int, row: dict[str, Any]) -> None:
        """Append one finished input; a whole line per write, so a kill cuts at most the last one."""
        if self._manifest is None:
            self._manifest = open(self.manifest_path, "a", encoding="utf-8")  # noqa: SIM115 (closed by unlock)
        line = json.dumps({"path_id": path_id, "size": size, "mtime_ns": mtime_ns, "row": row})
        self._manifest.write(line + "\n")
        self._manifest.flush()

    # --- quarantine -----------------------------------------------------------------------
    def hold(self, file_id: str, status: str, reason: str, data: bytes | Path | None) -> str:
        """Keep a copy of a withheld input and its reason; returns where, relative to the folder.

        ``data`` is the input's bytes, or its path when they are not at hand (its worker
        died): then the copy is streamed, a regular file only, so no input can block or
        fill this process.
        """
        self.quarantine.mkdir(exist_ok=True, mode=0o700)
        copy = self.quarantine / f"{file_id}.bin"
        if data is not None and not copy.exists():
            temp = copy.with_suffix(f".{_unique()}.partial")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, Path):
                    _copy_regular(data, out)
                else:
                    out.write(data)
            os.replace(temp, copy)
        note = self.quarantine / f"{file_id}.reason.txt"
        temp_note = note.with_suffix(f".{_unique()}.partial")
        temp_note.write_text(f"{status}: {reason}\n")
        os.replace(temp_note, note)
        return f"quarantine/{copy.name}"


def _unique() -> str:
    """A temporary name's part no other writer has: pids repeat across the hosts of a Dask cluster."""
    return f"{os.getpid()}.{secrets.token_hex(4)}"


def _copy_regular(path: Path, out: IO[bytes]) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    with os.fdopen(fd, "rb") as source:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            shutil.copyfileobj(source, out, 1 << 20)


class Linkage:
    """Original → new identifiers, for authorised re-identification (``--linkage`` only).

    Two CSV files with ``id_old`` and ``id_new`` columns, as the MIDI-B challenge's
    validation reads them: ``uid_mapping.csv`` and ``patid_mapping.csv``; and
    ``date_offsets.csv``, each patient's date shift in days by the output's
    PatientID, which a research team states in its methods.  Mode 0600.
    """

    _HEADERS = {"uid": "id_old,id_new", "patient": "id_old,id_new", "date_offset": "patient,offset_days"}

    def __init__(self, folder: Path) -> None:
        self.files = {"uid": folder / "uid_mapping.csv", "patient": folder / "patid_mapping.csv",
                      "date_offset": folder / "date_offsets.csv"}
        self._seen: dict[str, set[tuple[str, str]]] = {kind: set() for kind in self.files}
        for kind, path in self.files.items():
            if path.exists():
                self._seen[kind] = set(_read_pairs(path))
            else:
                path.touch(mode=0o600)
                path.write_text(self._HEADERS[kind] + "\n")
            os.chmod(path, 0o600)

    def add(self, kind: str, pairs: Iterable[tuple[str, str]]) -> None:
        new = [pair for pair in pairs if pair not in self._seen[kind]]
        if not new:
            return
        with open(self.files[kind], "a", newline="") as handle:
            writer = csv.writer(handle)
            for pair in new:
                self._seen[kind].add(pair)
                writer.writerow(pair)


def _read_pairs(path: Path) -> Iterator[tuple[str, str]]:
    with open(path, newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)  # the header
        for row in rows:
            if len(row) >= 2:
                yield row[0], row[1]
