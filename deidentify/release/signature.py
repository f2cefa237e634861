"""``release.sig``: a detached Ed25519 signature of ``tagmanifest-sha256.txt``.

The tag manifest holds the SHA-256 of ``manifest-sha256.txt`` (every payload
file's digest), ``bag-info.txt`` and ``bagit.txt``, so signing it signs them all.
The file is text::

    deidentify-release-signature: 1
    signed-file: tagmanifest-sha256.txt
    key: SHA256:....      (the signer's fingerprint: says which key, proves nothing)
    ed25519: <base64 of the 64-byte signature>

The signature is over the tag manifest's bytes alone, so OpenSSL can check it
too (``openssl pkeyutl -verify -rawin``, after base64-decoding the last line).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .layout import TAG_MANIFEST
from .signing_keys import fingerprint

_VERSION = "1"


@dataclass(frozen=True)
class Signature:
    """A parsed ``release.sig``."""

    key: str
    """The fingerprint the file names (unchecked: only the signature proves anything)."""
    value: bytes


def sign(private: Ed25519PrivateKey, tag_manifest: bytes) -> bytes:
    """The text of ``release.sig`` for ``tag_manifest``."""
    value = base64.b64encode(private.sign(tag_manifest)).decode("ascii")
    return (f"deidentify-release-signature: {_VERSION}\nsigned-file: {TAG_MANIFEST}\n"
            f"key: {fingerprint(private.public_key())}\ned25519: {value}\n").encode("ascii")


def parse(data: bytes) -> Signature | None:
    """The signature in ``release.sig``'s text, or None when it is not one."""
    try:
        fields = dict(line.split(": ", 1) for line in data.decode("ascii").splitlines() if ": " in line)
        value = base64.b64decode(fields["ed25519"], validate=True)
    except (UnicodeDecodeError, KeyError, ValueError, binascii.Error):
        return None
    if fields.get("deidentify-release-signature") != _VERSION or fields.get("signed-file") != TAG_MANIFEST:
        return None
    if len(value) != 64:
        return None
    return Signature(fields.get("key", ""), value)


def problem(public: Ed25519PublicKey, data: bytes, tag_manifest: bytes) -> str | None:
    """Why ``data`` (release.sig) is not ``public``'s signature of ``tag_manifest``; None when it is."""
    parsed = parse(data)
    if parsed is None:
        return f"bad signature: release.sig is not a deidentify release signature of {TAG_MANIFEST}"
    try:
        public.verify(parsed.value, tag_manifest)
        return None
    except InvalidSignature:
        pass
    expected = fingerprint(public)
    if parsed.key != expected:
        return (f"wrong key: release.sig names the signing key {parsed.key or '(none)'}, "
                f"not the public key given ({expected})")
    return (f"bad signature: release.sig does not match {TAG_MANIFEST} under the public key given "
            "(the manifest or the signature was changed, or the signature is another release's)")


def signer(data: bytes) -> str | None:
    """The key fingerprint an existing ``release.sig`` names, if it is one."""
    parsed = parse(data)
    return parsed.key if parsed is not None else None
