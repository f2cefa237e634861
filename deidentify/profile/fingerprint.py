"""A profile's fingerprint: what a state folder remembers of the profile its outputs were made with.

It changes when anything that decides output bytes changes: the profile's name
and options, the text of every profile file in its ``extends`` chain, and the
pixel sources it reads (their text, for files), and the lookup table's digest (a
new subject list changes what is written).  File locations do not count,
so a project moved to another folder keeps its fingerprint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .model import Profile


def fingerprint(profile: Profile) -> str:
    """Sixteen hex digits of SHA-256 over what decides the profile's output."""
    digest = hashlib.sha256()
    for part in (profile.name, *sorted(profile.options)):
        digest.update(part.encode() + b"\0")
    for file in profile.files:
        digest.update(Path(file).name.encode() + b"\0" + _contents(Path(file)) + b"\0")
    for source in profile.pixels.sources:
        digest.update(f"{source.kind}:{Path(source.ref).name}".encode() + b"\0")
        ref = Path(source.ref)
        if ref.is_absolute():
            digest.update(_contents(ref) + b"\0")
    if profile.lookup is not None:
        digest.update(f"lookup:{profile.lookup.key}:{profile.lookup.digest}".encode() + b"\0")
    return digest.hexdigest()[:16]


def _contents(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"(unreadable)"
