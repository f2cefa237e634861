"""``deidentify sample DIR``: synthetic studies full of planted (fake) PHI, to try the other commands on."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COMMANDS
from .options import refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sample`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser("sample", help=COMMANDS["sample"])
    cmd.add_argument("dir", type=Path, metavar="DIR", help="a new folder for the studies and planted.json")
    cmd.add_argument("--seed", type=int, default=0,
                     help="another seed gives other made-up patients (default: %(default)s)")
    cmd.add_argument("--patients", type=int, default=4, help="how many made-up patients (default: %(default)s)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Write the sample; 2 when DIR already holds studies."""
    from ..sample import write_sample

    try:
        manifest = write_sample(args.dir, seed=args.seed, patients=args.patients)
    except FileExistsError:
        return refuse("the sample folder already holds studies")
    print(f"wrote {args.patients} patients' studies to {args.dir} ({len(manifest.planted)} planted values)")
    return 0
