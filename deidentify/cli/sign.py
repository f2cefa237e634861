"""``deidentify sign DST --key F``: make a finished DST a signed release."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import COMMANDS
from .options import refuse

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sign`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "sign", help=COMMANDS["sign"],
        description="Make DST a BagIt bag (outputs move under DST/data/) with manifest-sha256.txt, bag-info.txt "
                    "and release.sig, an Ed25519 signature the partner checks with 'deidentify verify-release'. "
                    "Every file DST holds is hashed and signed, also when DST was signed before.")
    cmd.add_argument("dst", type=Path, metavar="DST", help="a finished run's DST")
    cmd.add_argument("--key", type=Path, required=True, metavar="F", help="the private signing key (deidentify keygen)")
    cmd.add_argument("--state", type=Path, help="the run's state folder, for bag-info.txt's profile and counts "
                                               "(default: DST.state beside DST)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Sign DST; 2 when the key, DST or the writing fails."""
    from ..release import ReleaseError
    from ..release.signing_keys import load_private_key

    try:
        key = load_private_key(args.key)
    except ReleaseError as exc:
        return refuse(exc, "sign")
    return sign_and_say(args.dst, key, args.state, "sign")


def sign_and_say(dst: Path, key: Ed25519PrivateKey, state: Path | None, command: str) -> int:
    """Sign ``dst`` with ``key`` (loaded by the caller), say what was done; 0, or 2 when it fails.

    ``run --sign`` calls this too, once its run has finished writing.
    """
    from ..batch import default_state
    from ..release import ReleaseError
    from ..release.info import ReleaseInfo, record_signer
    from ..release.sign import sign_release

    state = state or default_state(dst)
    try:
        result = sign_release(dst, key, ReleaseInfo.from_state(state))
    except ReleaseError as exc:
        return refuse(exc, command)
    except OSError as exc:
        return refuse(f"cannot sign {dst}: {exc.strerror or exc}", command)
    if result.moved:
        print(f"{dst} is now a BagIt bag: its outputs moved under {dst / 'data'}")
    if result.resigned:
        other = "" if result.previous_key == result.key else f" (signed before with another key, {result.previous_key})"
        print(f"{dst} held a signed release{other}: signed again over everything it holds now; "
              "the new signature replaces the old one")
    for warning in result.warnings:
        print(f"deidentify {command}: {warning}", file=sys.stderr)
    if state.is_dir():
        try:
            record_signer(state, result.key, result.files)
        except OSError as exc:
            print(f"deidentify {command}: the state folder could not record the signing ({exc.strerror or exc})",
                  file=sys.stderr)
    print(f"signed {dst}: {result.files} files, {result.bytes / 1e6:.1f} MB")
    print(f"signing key fingerprint: {result.key} (read it out to the partner)")
    return 0
