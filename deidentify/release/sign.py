"""Signing a DST: make it a bag, hash its payload, write the manifests, sign the tag manifest.

Everything in the payload is hashed again at every signing, so a signature always
covers all that DST holds, whatever earlier runs and signings did.  The old
``release.sig`` is removed first, so a signing stopped half-way leaves a release
that says "no signature" rather than one whose signature no longer fits.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..sinks import FolderSink, SinkLocked
from . import signature
from ._atomic import write_atomic
from .errors import ReleaseError
from .hashing import hash_files, sha256_file
from .info import ReleaseInfo
from .layout import (
    BAG_INFO,
    BAGIT_DECLARATION,
    BAGIT_TXT,
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    TAG_FILES,
    TAG_MANIFEST,
    is_bag,
    payload,
    strays,
)
from .manifest import format_manifest
from .signing_keys import fingerprint


@dataclass
class SignResult:
    """What :func:`sign_release` did."""

    files: int
    bytes: int
    key: str
    """The signing key's fingerprint."""
    moved: int = 0
    """Entries moved from the top of DST into ``data/`` (DST became a bag)."""
    previous_key: str | None = None
    """The key of the signature this one replaced, if DST was signed before."""
    warnings: list[str] = field(default_factory=list)

    @property
    def resigned(self) -> bool:
        return self.previous_key is not None


def sign_release(dst: Path, private: Ed25519PrivateKey, info: ReleaseInfo | None = None, *,
                 workers: int | None = None, today: date | None = None) -> SignResult:
    """Make ``dst`` a signed bag over every file it holds; see :mod:`deidentify.release.layout`.

    Takes DST's lock as a run does, so no run or watch writes into it meanwhile.
    ``info``: what ``bag-info.txt`` says besides size and key (:meth:`ReleaseInfo.from_state`).
    Raises :class:`ReleaseError` when DST is missing, in use, or holds something
    that is not a regular file.
    """
    if not dst.is_dir():
        raise ReleaseError(f"{dst} is not a folder")
    info = info or ReleaseInfo()
    with _locked(dst):
        previous = _previous_signer(dst)
        moved = _make_bag(dst)
        with _locked(dst / PAYLOAD) as sink:
            sink.sweep()  # temporary files a killed run left: never part of a release
            (dst / SIGNATURE).unlink(missing_ok=True)
            content = payload(dst)
            if content.others:
                raise ReleaseError(f"{dst} holds what is not a regular file (a link, a device), which a release "
                                   f"cannot carry: {', '.join(content.others[:5])}")
            digests = list(hash_files(dst, (f.path for f in content.files), workers))
            unread = [path for path, digest in digests if digest is None]
            if unread:
                raise ReleaseError(f"cannot read {len(unread)} file(s) of the payload: {', '.join(unread[:5])}")
            key = fingerprint(private.public_key())
            write_atomic(dst / MANIFEST, format_manifest((path, digest or "") for path, digest in digests))
            write_atomic(dst / BAG_INFO, info.text(octets=content.bytes, files=len(content.files), key=key,
                                                   today=today))
            write_atomic(dst / BAGIT_TXT, BAGIT_DECLARATION)
            tag_manifest = format_manifest((name, sha256_file(dst / name)) for name in TAG_FILES)
            write_atomic(dst / TAG_MANIFEST, tag_manifest)
            write_atomic(dst / SIGNATURE, signature.sign(private, tag_manifest))
    result = SignResult(len(content.files), content.bytes, key, moved, previous)
    if info.written is not None and info.written != result.files:
        result.warnings.append(f"DST holds {result.files} files but the report counts {info.written} written: "
                               "the signature covers every file DST holds")
    return result


def _make_bag(dst: Path) -> int:
    """Give ``dst`` the bag layout (``bagit.txt``, outputs under ``data/``); returns the entries moved.

    ``bagit.txt`` is written before anything moves, so once it exists runs write into
    ``data/``; an entry left at the top by a signing stopped half-way is moved by the next.
    """
    (dst / PAYLOAD).mkdir(exist_ok=True)
    if not is_bag(dst):
        write_atomic(dst / BAGIT_TXT, BAGIT_DECLARATION)
    moved = 0
    for name in strays(dst):
        target = dst / PAYLOAD / name
        if os.path.lexists(target):
            raise ReleaseError(f"{dst} holds {name} both at its top and under {PAYLOAD}/; move one away")
        os.rename(dst / name, target)
        moved += 1
    return moved


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[FolderSink]:
    sink = FolderSink(folder)
    try:
        sink.lock()
    except SinkLocked:
        raise ReleaseError("another deidentify process is writing into DST; sign it when that has finished") from None
    try:
        yield sink
    finally:
        sink.close()


def _previous_signer(dst: Path) -> str | None:
    try:
        data = (dst / SIGNATURE).read_bytes()
    except OSError:
        return None
    return signature.signer(data) or "(unreadable)"
