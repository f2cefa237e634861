"""The Ed25519 key pair a records officer signs releases with, and its fingerprint.

This key is not the pseudonym key (:mod:`deidentify.keys`): it only signs, it
decides nothing in the outputs, and its public half goes to the partner.  Files
are PEM (PKCS#8 private key, SubjectPublicKeyInfo public key), so OpenSSL reads them too.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._atomic import create_atomic
from .errors import ReleaseError

PRIVATE_NAME = "release.key"
PUBLIC_NAME = "release.pub"


@dataclass(frozen=True)
class KeyPair:
    """Where :func:`generate_key_pair` wrote the two halves, and the public key's fingerprint."""

    private: Path
    public: Path
    fingerprint: str


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in sixteen groups of four hex digits: short to read out, long to forge."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return "SHA256:" + "-".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def generate_key_pair(folder: Path) -> KeyPair:
    """A new key pair in ``folder`` (created 0700 if missing): ``release.key`` (0600) and ``release.pub``.

    Refuses, writing nothing, when either file exists: a signing key is never replaced.
    """
    private_path, public_path = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    if not folder.parent.is_dir():
        raise ReleaseError(f"the folder above {folder} does not exist")
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ReleaseError(f"cannot create {folder}: {exc.strerror or exc}") from None
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise ReleaseError(f"{path} exists: a signing key is never overwritten (move it away first)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        create_atomic(private_path, private_pem, 0o600)
        try:
            create_atomic(public_path, public_pem, 0o644)
        except BaseException:
            private_path.unlink()
            raise
    except FileExistsError:
        raise ReleaseError("a key file appeared while the key was being written; nothing was kept") from None
    except OSError as exc:
        raise ReleaseError(f"cannot write the key files: {exc.strerror or exc}") from None
    return KeyPair(private_path, public_path, fingerprint(key.public_key()))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in ``path``; refused when it is not an Ed25519 PEM key or others may read it."""
    try:
        info = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise ReleaseError(f"signing key {path}: {exc.strerror or exc}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ReleaseError(f"signing key {path}: the group or others may read or change it "
                           f"(mode {stat.S_IMODE(info.st_mode):04o}); run 'chmod 600 {path}'")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReleaseError(f"signing key {path}: not an unencrypted Ed25519 private key in PEM "
                           "(make one with 'deidentify keygen DIR')")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The public key in ``path`` (PEM); ReleaseError if it cannot be read or is not Ed25519."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReleaseError(f"public key {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise ReleaseError(f"public key {path}: not an Ed25519 public key in PEM (the sender's release.pub)")
    return key
