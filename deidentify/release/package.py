"""``package``: a signed release as one zip file, what a records officer sends or burns.

The release is checked against its own manifests first (a file changed since
signing is never packed), then every file is streamed into the zip, stored
uncompressed (DICOM pixel data gains little) under one folder named after the
zip, with a fixed date on every entry so the zip says nothing of when files were
made.  The zip is written under a temporary name and linked into place; an
existing zip is never replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import ReleaseError
from .layout import BAG_FILES, SIGNATURE, TAG_MANIFEST, is_bag, payload
from .verify import VerifyStatus, verify_release

_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    """What :func:`package_zip` wrote."""

    path: Path
    files: int
    """Every file in the zip, tag files included."""
    bytes: int


def package_zip(bag: Path, out: Path, public: Ed25519PublicKey | None = None) -> Package:
    """Zip the signed release ``bag`` into the new file ``out`` (``.zip``).

    With ``public``, the signature is checked too.  Raises :class:`ReleaseError`
    when ``bag`` is not a signed release, does not match its manifests, or ``out``
    exists or cannot be written.
    """
    if out.suffix.lower() != ".zip":
        raise ReleaseError("the package must be a .zip file")
    if os.path.lexists(out):
        raise ReleaseError(f"{out} exists: a package is never overwritten (remove it or name another)")
    if not out.parent.is_dir():
        raise ReleaseError(f"the folder of {out} does not exist")
    if not is_bag(bag) or not (bag / SIGNATURE).is_file():
        raise ReleaseError(f"{bag} is not a signed release (sign it with 'deidentify sign' or 'run --sign')")
    if bag.resolve() in out.resolve().parents:
        raise ReleaseError("the package must not be inside the release")
    verdict = verify_release(bag, public)
    if verdict.status is not VerifyStatus.VERIFIED:
        detail = verdict.reason or "; ".join(verdict.lines()[:5] + ([verdict.note] if verdict.note else []))
        raise ReleaseError(f"the release does not match what was signed: {detail}")
    names = sorted(BAG_FILES & set(os.listdir(bag)), key=lambda n: (n in (TAG_MANIFEST, SIGNATURE), n))
    entries = [(name, os.path.getsize(bag / name)) for name in names]
    entries += [(f.path, f.size) for f in payload(bag).files]
    temp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, size in entries:
                info = zipfile.ZipInfo(f"{out.stem}/{name}", _EPOCH)
                info.external_attr = 0o644 << 16
                info.file_size = size
                with open(bag / name, "rb") as source, archive.open(info, "w", force_zip64=size > 1 << 31) as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.link(temp, out)
    except FileExistsError:
        raise ReleaseError(f"{out} appeared while the package was being written; it was left alone") from None
    except OSError as exc:
        raise ReleaseError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return Package(out, len(entries), sum(size for _, size in entries))
