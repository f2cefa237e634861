"""The BagIt layout (RFC 8493) a signed release has, and how a DST folder takes it.

A signed DST is a bag::

    DST/bagit.txt                 BagIt 1.0, UTF-8
    DST/bag-info.txt              profile, counts, tool version, date (no PHI)
    DST/manifest-sha256.txt       SHA-256 of every payload file
    DST/tagmanifest-sha256.txt    SHA-256 of the three files above
    DST/release.sig               Ed25519 signature of tagmanifest-sha256.txt
    DST/data/<patient>/<study>/<series>/<instance>.dcm

Outputs go to the *payload folder*: ``DST/data`` once DST is a bag (it holds
``bagit.txt``), else DST itself, so later runs into a signed DST keep its layout.
Only this module decides where the payload is.  It imports nothing heavy: the
batch runner asks it where to write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE = "release.sig"
PAYLOAD = "data"

#: The tag files the tag manifest lists (so the signature covers them).
TAG_FILES = (BAGIT_TXT, BAG_INFO, MANIFEST)
#: Every name a bag holds at its top besides the payload folder.
BAG_FILES = frozenset({*TAG_FILES, TAG_MANIFEST, SIGNATURE})

BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def is_bag(folder: Path) -> bool:
    """``folder`` has the BagIt declaration at its top."""
    return (folder / BAGIT_TXT).is_file()


def payload_folder(dst: Path) -> Path:
    """Where outputs go: ``dst/data`` when ``dst`` is a bag, else ``dst``."""
    return dst / PAYLOAD if is_bag(dst) else dst


def strays(bag: Path) -> list[str]:
    """Names at the top of ``bag`` that are neither its tag files nor its payload folder, sorted."""
    return sorted(name for name in os.listdir(bag) if name not in BAG_FILES and name != PAYLOAD)


@dataclass(frozen=True)
class PayloadFile:
    """One regular file under ``data/``: its path in the bag (``data/...``, ``/``-separated) and size."""

    path: str
    size: int


@dataclass(frozen=True)
class Payload:
    """What is under ``data/``: regular files, and anything else (links, devices), each sorted by path."""

    files: list[PayloadFile]
    others: list[str]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def payload(bag: Path) -> Payload:
    """Walk ``bag/data`` without following links (a link is an *other*, never read through)."""
    files: list[PayloadFile] = []
    others: list[str] = []
    pending = [(os.path.join(bag, PAYLOAD), PAYLOAD)]
    while pending:
        folder, relative = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            path = f"{relative}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, path))
            elif entry.is_file(follow_symlinks=False):
                try:
                    files.append(PayloadFile(path, entry.stat(follow_symlinks=False).st_size))
                except FileNotFoundError:  # gone since the folder was listed
                    continue
            else:
                others.append(path)
    files.sort(key=lambda f: f.path)
    others.sort()
    return Payload(files, others)
