"""Checking a release as the partner receives it: the signature first, then every file.

Exit statuses (:class:`VerifyStatus`): 0 every file present and byte-identical
and nothing added; 1 some file missing, extra or changed (each listed by its path
in the release, which holds only pseudonyms and new UIDs); 2 no signature, a bad
one, or one made with another key than the one given — then nothing in the
release can be trusted, and nothing else is checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import signature
from .errors import ReleaseError
from .hashing import hash_files, sha256_file
from .layout import MANIFEST, PAYLOAD, SIGNATURE, TAG_FILES, TAG_MANIFEST, payload, strays
from .manifest import parse_manifest
from .signing_keys import fingerprint


class VerifyStatus(IntEnum):
    """What a check of a release found; the value is ``verify-release``'s exit status."""

    VERIFIED = 0
    """Signed by the key given; every file present, byte-identical, nothing added."""
    CHANGED = 1
    """The signature holds, but files are missing, extra or changed."""
    UNSIGNED = 2
    """No signature, a bad one, or another key's: nothing in the release can be trusted."""


@dataclass
class Verdict:
    """The outcome of :func:`verify_release`: a status, why, and the paths that differ."""

    status: VerifyStatus
    reason: str = ""
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    note: str = ""
    """Said beside the lists, e.g. that the payload could not be checked."""
    files: int = 0
    """Payload files hashed."""
    bytes: int = 0
    seconds: float = 0.0
    key: str = ""
    """The fingerprint of the public key the signature was checked with."""

    def lines(self) -> list[str]:
        """``missing: PATH``, ``extra: PATH``, ``changed: PATH``, one a line, each group sorted."""
        return [f"{kind}: {path}" for kind, paths in (("missing", self.missing), ("extra", self.extra),
                                                      ("changed", self.changed)) for path in sorted(paths)]


def verify_release(bag: Path, public: Ed25519PublicKey | None, *, workers: int | None = None) -> Verdict:
    """Check the release in folder ``bag`` against ``public`` (the sender's key).

    ``public`` None checks the files against the manifests only, without the
    signature (``package`` does so before zipping); a partner always gives a key.
    Files are hashed by ``workers`` threads, each read streamed.  Raises
    :class:`ReleaseError` only when ``bag`` is not a folder.
    """
    started = time.perf_counter()
    if not bag.is_dir():
        raise ReleaseError(f"{bag} is not a folder")
    key = fingerprint(public) if public is not None else ""
    tag_manifest = _read(bag / TAG_MANIFEST)
    if public is not None:
        signed = _read(bag / SIGNATURE)
        if signed is None:
            return Verdict(VerifyStatus.UNSIGNED, f"no signature: {SIGNATURE} is missing", key=key)
        if tag_manifest is None:
            return Verdict(VerifyStatus.UNSIGNED, f"no signed manifest: {TAG_MANIFEST}, which {SIGNATURE} signs, "
                                                  "is missing", key=key)
        why = signature.problem(public, signed, tag_manifest)
        if why is not None:
            return Verdict(VerifyStatus.UNSIGNED, why, key=key)
    elif tag_manifest is None:
        return Verdict(VerifyStatus.UNSIGNED, f"not a release: {TAG_MANIFEST} is missing")
    try:
        tags = parse_manifest(tag_manifest, TAG_MANIFEST)
        uncovered = [name for name in TAG_FILES if name not in tags]
        if uncovered:
            raise ReleaseError(f"{TAG_MANIFEST} does not list {', '.join(uncovered)}")
    except ReleaseError as exc:
        return Verdict(VerifyStatus.UNSIGNED, f"the signed manifest is not a release's: {exc}", key=key)

    verdict = Verdict(VerifyStatus.CHANGED, key=key, extra=strays(bag))
    for name, digest in sorted(tags.items()):
        found = _digest(bag / name)
        if found is None:
            verdict.missing.append(name)
        elif found != digest:
            verdict.changed.append(name)
    manifest = _read(bag / MANIFEST)
    if manifest is None or MANIFEST in verdict.changed:
        verdict.note = f"the payload was not checked: {MANIFEST} is not the one signed"
    else:
        try:
            _check_payload(bag, parse_manifest(manifest, MANIFEST), verdict, workers)
        except ReleaseError as exc:
            return Verdict(VerifyStatus.UNSIGNED, f"the signed manifest is not a release's: {exc}", key=key)
    if not (verdict.missing or verdict.extra or verdict.changed or verdict.note):
        verdict.status = VerifyStatus.VERIFIED
    verdict.seconds = time.perf_counter() - started
    return verdict


def _check_payload(bag: Path, entries: dict[str, str], verdict: Verdict, workers: int | None) -> None:
    outside = [path for path in entries if not path.startswith(PAYLOAD + "/")]
    if outside:
        raise ReleaseError(f"{MANIFEST} lists files outside {PAYLOAD}/")
    content = payload(bag)
    on_disk = {f.path: f.size for f in content.files}
    verdict.missing += sorted(path for path in entries if path not in on_disk)
    verdict.extra += sorted([path for path in on_disk if path not in entries] + content.others)
    present = sorted(path for path in entries if path in on_disk)
    for path, digest in hash_files(bag, present, workers):
        verdict.files += 1
        verdict.bytes += on_disk[path]
        if digest != entries[path]:
            verdict.changed.append(path)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return sha256_file(path)
    except OSError:
        return None
