"""Manifest files as RFC 8493 writes them: ``<sha256>  <path>`` a line, paths percent-encoded where they must be."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from .errors import ReleaseError

_LINE = re.compile(r"^([0-9a-fA-F]{64})[ \t]+(\S.*)$")


def encode_path(path: str) -> str:
    """RFC 8493 §2.1.3: percent, CR and LF (and only those) are percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_path(text: str) -> str:
    return re.sub(r"%(25|0[dD]|0[aA])", lambda m: {"25": "%", "0D": "\r", "0A": "\n"}[m.group(1).upper()], text)


def format_manifest(entries: Iterable[tuple[str, str]]) -> bytes:
    """``(path, hex digest)`` pairs as manifest text, one line each, in the order given."""
    return "".join(f"{digest}  {encode_path(path)}\n" for path, digest in entries).encode("utf-8")


def parse_manifest(data: bytes, name: str) -> dict[str, str]:
    """A manifest's ``{path: lower-case hex digest}``; raises ReleaseError naming ``name`` if malformed.

    A path must be relative, normalised and inside the bag: no ``..``, no leading ``/``.
    """
    entries: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReleaseError(f"{name} is not UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise ReleaseError(f"{name} line {number} is not '<sha256>  <path>'")
        path = decode_path(match.group(2))
        if path.startswith("/") or posixpath.normpath(path) != path or path.split("/")[0] == "..":
            raise ReleaseError(f"{name} line {number} names a path outside the bag or not normalised")
        if path in entries:
            raise ReleaseError(f"{name} line {number} lists a path twice")
        entries[path] = match.group(1).lower()
    return entries
