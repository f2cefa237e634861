"""``deidentify verify-release DIR --public-key F``: is this release the one the sender signed?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import COMMANDS
from .options import refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``verify-release`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "verify-release", help=COMMANDS["verify-release"],
        description="Check release.sig against the sender's public key, then every file against the signed "
                    "manifest. Exit status: 0 verified; 1 files missing, extra or changed (listed by path); "
                    "2 no signature, a bad one, or another key's (nothing in the release can be trusted).")
    cmd.add_argument("dir", type=Path, metavar="DIR", help="the release folder (a signed DST, or an unzipped package)")
    cmd.add_argument("--public-key", type=Path, required=True, metavar="F",
                     help="the sender's release.pub, received apart from the release (check its fingerprint)")
    cmd.add_argument("--workers", type=int, default=None, metavar="N",
                     help="threads hashing files (default: two per core)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """0 verified, 1 files differ, 2 signature or key problems (and bad arguments)."""
    from ..release import ReleaseError
    from ..release.signing_keys import load_public_key
    from ..release.verify import VerifyStatus, verify_release

    name = "verify-release"
    try:
        if args.workers is not None and args.workers < 1:
            raise ReleaseError("--workers must be at least 1")
        verdict = verify_release(args.dir, load_public_key(args.public_key), workers=args.workers)
    except ReleaseError as exc:
        return refuse(exc, name)
    if verdict.status is VerifyStatus.UNSIGNED:
        print(f"deidentify {name}: NOT VERIFIED: {verdict.reason}", file=sys.stderr)
        return int(verdict.status)
    for line in verdict.lines():
        print(line)
    rate = f"{verdict.bytes / 1e6 / verdict.seconds:.0f} MB/s" if verdict.seconds > 0 else "-"
    if verdict.status is VerifyStatus.CHANGED:
        counts = ", ".join(f"{len(paths)} {kind}" for kind, paths in (
            ("missing", verdict.missing), ("extra", verdict.extra), ("changed", verdict.changed)) if paths)
        note = f"; {verdict.note}" if verdict.note else ""
        print(f"deidentify {name}: NOT VERIFIED: the signature holds but {counts or 'files differ'}{note}",
              file=sys.stderr)
    else:
        print(f"verified: {verdict.files} files, {verdict.bytes / 1e6:.1f} MB, all as signed by {verdict.key} "
              f"({verdict.seconds:.1f} s, {rate})")
    return int(verdict.status)
