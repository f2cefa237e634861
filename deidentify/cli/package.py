"""``deidentify package DST --zip OUT.zip``: a signed release as one file to send or burn."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COMMANDS
from .options import refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``package`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "package", help=COMMANDS["package"],
        description="Check the signed release DST against its manifests (and, with --public-key, its signature), "
                    "then write it, signature inside, as OUT.zip (never overwritten). The partner unzips it and "
                    "runs 'deidentify verify-release'.")
    cmd.add_argument("dst", type=Path, metavar="DST", help="a signed release (run --sign, or sign)")
    cmd.add_argument("--zip", type=Path, required=True, metavar="OUT.zip", dest="out",
                     help="the zip file to write (the release with its signature inside)")
    cmd.add_argument("--public-key", type=Path, metavar="F", help="check the signature with this key too")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Write the zip; 2 when DST is not a signed release that matches its manifests, or OUT cannot be written."""
    from ..release import ReleaseError
    from ..release.package import package_zip
    from ..release.signing_keys import load_public_key

    try:
        public = load_public_key(args.public_key) if args.public_key is not None else None
        written = package_zip(args.dst, args.out, public)
    except ReleaseError as exc:
        return refuse(exc, "package")
    print(f"wrote {written.path}: {written.files} files, {written.bytes / 1e6:.1f} MB")
    return 0
