"""``deidentify keygen DIR``: a new key pair for signing releases."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COMMANDS
from .options import refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``keygen`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "keygen", help=COMMANDS["keygen"],
        description="Write DIR/release.key (the private signing key, mode 0600: keep it with the records officer) "
                    "and DIR/release.pub (give it to the partner). Existing keys are never overwritten. "
                    "This is not the pseudonym key: it signs releases and decides nothing in them.")
    cmd.add_argument("dir", type=Path, metavar="DIR", help="folder for the two files (created, mode 0700, if missing)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Write the key pair; 2 when a key exists or the folder cannot be written."""
    from ..release import ReleaseError
    from ..release.signing_keys import generate_key_pair

    try:
        pair = generate_key_pair(args.dir)
    except ReleaseError as exc:
        return refuse(exc, "keygen")
    print(f"private signing key: {pair.private} (keep it secret; sign with --sign {pair.private})")
    print(f"public key: {pair.public} (give it to the partner)")
    print(f"fingerprint: {pair.fingerprint} (read it out to the partner)")
    return 0
