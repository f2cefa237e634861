"""The secret key and everything derived from it.

Every pseudonym, UID and date offset is an HMAC-SHA256 of the original value
under one secret key, so the same input maps to the same output on any machine,
in any run and any worker, with no shared state, and nobody without the key can
reverse or re-create the mapping.  Each derivation has its own domain label so
that a UID and a patient ID with the same text never share an output.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import DeidentifyError

KEY_ENV = "DEIDENTIFY_KEY_FILE"
#: Starts every pseudonym in outputs and output paths, so a patient's folder and PatientID read alike.
PSEUDONYM_PREFIX = "P"
_KEY_BYTES = 32


class KeyFileError(DeidentifyError, ValueError):
    """The key file exists but cannot be used."""


def default_key_path() -> Path:
    """The key location when no ``--key-file`` is given: ``$DEIDENTIFY_KEY_FILE``, else a per-user file."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "deidentify" / "key"


def load_or_create_key(path: Path, *, create_folder: bool = False, allow_open: bool = False) -> tuple[bytes, bool]:
    """Read the key at ``path``; if there is none, create one (mode 0600).  Returns (key, created).

    A new key is created only in a folder that exists, unless ``create_folder``
    (``--new-key``, or the default location): a mistyped path must not quietly
    start a new key and so new pseudonyms.  A key file that the group or others
    may read or write is refused unless ``allow_open``, as ssh refuses such keys.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return _create_key(path, create_folder), True
    except OSError as exc:
        raise KeyFileError(f"key file {path}: cannot read it ({exc.__class__.__name__})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path}: not a regular file")
        if info.st_mode & 0o077 and not allow_open:
            raise KeyFileError(
                f"key file {path}: others may read or change it (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"run 'chmod 600 {path}', or pass --allow-open-key")
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise KeyFileError(f"key file {path}: expected {_KEY_BYTES * 2} hex digits") from None
    if len(key) < 16:
        raise KeyFileError(f"key file {path}: a key needs at least 32 hex digits (128 bits)")
    return key, False


def _create_key(path: Path, create_folder: bool) -> bytes:
    if not path.parent.is_dir():
        if not create_folder:
            raise KeyFileError(f"key file {path}: its folder does not exist (create it, or pass --new-key)")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"key file {path}: cannot create it ({exc.__class__.__name__})") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key.hex() + "\n")
    return key


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: pseudonyms get read aloud and retyped


@dataclass(frozen=True)
class Keyring:
    """Keyed derivations from one secret key."""

    key: bytes

    def _digest(self, domain: str, value: str) -> bytes:
        message = domain.encode() + b"\0" + value.encode("utf-8", "surrogateescape")
        return hmac.new(self.key, message, hashlib.sha256).digest()

    # Files of one series follow each other and share most UIDs and the patient: a small memo
    # saves most HMACs, and its bound keeps memory flat.  That the memo keeps Keyrings alive
    # (B019) is harmless: it is bounded, and Keyrings of one key are equal and share entries.
    @lru_cache(maxsize=4096)  # noqa: B019
    def _repeated_digest(self, domain: str, value: str) -> bytes:
        return self._digest(domain, value)

    def uid(self, original: str) -> str:
        """``2.25.<integer>`` from 128 bits of HMAC(key, original UID): at most 44 characters."""
        return "2.25." + str(int.from_bytes(self._repeated_digest("uid", original.strip("\0 "))[:16], "big"))

    def pseudonym(self, original: str, length: int = 10) -> str:
        """A stable code of ``length`` letters and digits for an identifier or name."""
        digest = self._repeated_digest("pseudonym", original.strip())
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(length):
            number, r = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[r])
        return "".join(chars)

    def day_offset(self, patient: str, low: int, high: int) -> int:
        """A whole number of days in [low, high], never 0, the same for every study of the patient."""
        span = high - low + 1
        offset = low + int.from_bytes(self._repeated_digest("date-shift", patient.strip())[:8], "big") % span
        return offset if offset != 0 else (low if low != 0 else high)

    def fingerprint(self) -> str:
        """Sixteen hex digits that tell keys apart and reveal nothing of the key (a state folder keeps them)."""
        return self._digest("fingerprint", "").hex()[:16]

    def file_id(self, content_digest: bytes) -> str:
        """A short id for an input in logs and reports: keyed, so it cannot be matched to a known file."""
        return self._digest("file", content_digest.hex()).hex()[:16]
