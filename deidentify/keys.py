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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

KEY_ENV = "DEIDENTIFY_KEY_FILE"
_KEY_BYTES = 32


class KeyFileError(ValueError):
    """The key file exists but cannot be used."""


def default_key_path() -> Path:
    """The key location when no ``--key-file`` is given: ``$DEIDENTIFY_KEY_FILE``, else a per-user file."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "deidentify" / "key"


def load_or_create_key(path: Path) -> tuple[bytes, bool]:
    """Read the key at ``path``; if there is none, create one (mode 0600).  Returns (key, created)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(_KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key.hex() + "\n")
        return key, True
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"key file {path}: cannot read it ({exc.__class__.__name__})") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"key file {path}: expected {_KEY_BYTES * 2} hex digits") from None
    if len(key) < 16:
        raise KeyFileError(f"key file {path}: a key needs at least 32 hex digits (128 bits)")
    return key, False


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: pseudonyms get read aloud and retyped


@dataclass(frozen=True)
class Keyring:
    """Keyed derivations from one secret key."""

    key: bytes

    def _digest(self, domain: str, value: str) -> bytes:
        return hmac.new(self.key, domain.encode() + b"\0" + value.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()

    # Files of one series follow each other and share most UIDs and the patient: a small memo
    # saves most HMACs, and its bound keeps memory flat.
    @lru_cache(maxsize=4096)
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

    def file_id(self, content_digest: bytes) -> str:
        """A short id for an input in logs and reports: keyed, so it cannot be matched to a known file."""
        return self._digest("file", content_digest.hex()).hex()[:16]
