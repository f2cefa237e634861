"""``deidentify run SRC DST``: a folder of studies in, a folder that can be shared out."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from ..batch import DEFAULT_MAX_SECONDS, RunError, default_workers, progress_mode, run
from ..keys import KeyFileError
from ..limits import Limits
from ..profile import ProfileError
from . import COMMANDS
from .options import add_linkage_argument, add_profile_and_key_arguments, profile_and_key, refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``run`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser("run", help=COMMANDS["run"])
    cmd.add_argument("src", type=Path, metavar="SRC")
    cmd.add_argument("dst", type=Path, metavar="DST")
    add_profile_and_key_arguments(cmd)
    cmd.add_argument("--workers", type=int, default=default_workers(),
                     help="worker processes (default: every core, here %(default)s)")
    add_linkage_argument(cmd)
    cmd.add_argument("--verify", action="store_true",
                     help="check each output against its input (as `check` does); withhold any with findings")
    cmd.add_argument("--preview-dir", type=Path, metavar="DIR",
                     help="write one before/after picture per series whose pixels were cleaned "
                          "(they show the original image: keep DIR with the originals)")
    cmd.add_argument("--restart", action="store_true",
                     help="start over: remove the outputs of earlier runs on this state folder from DST first "
                          "(needed to re-run with another profile or key)")
    cmd.add_argument("--retry-withheld", action="store_true",
                     help="redo inputs an earlier run withheld or failed (e.g. once a missing tool is installed)")
    cmd.add_argument("--max-memory-per-worker", type=_size, metavar="SIZE",
                     help="address space a worker may use, e.g. 4G (default: its share of available memory); "
                          "a file that needs more is an error row")
    cmd.add_argument("--max-seconds-per-file", type=float, default=DEFAULT_MAX_SECONDS, metavar="S",
                     help="stop a worker that spends longer on one file; the file is an error row "
                          "(default: %(default)g)")
    cmd.add_argument("--max-file-size", type=_size, default=Limits.max_file_bytes, metavar="SIZE",
                     help="larger inputs are error rows, never read (default: 2G)")
    cmd.add_argument("--limit", action="append", default=[], type=_limit, metavar="NAME=N",
                     help="another bound on one input's work: " + ", ".join(
                         f"{f.name}={f.default}" for f in fields(Limits) if f.name != "max_file_bytes")
                     + " (defaults shown); a file over one is an error row naming it")
    cmd.add_argument("--quiet", action="store_true", help="no progress and no summary")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Run ``deidentify run`` for parsed ``args``; the exit status is :attr:`RunResult.exit_code`'s."""
    try:
        profile, key = profile_and_key(args)
        if args.workers < 1:
            raise RunError("--workers must be at least 1")
        result = run(args.src, args.dst, profile, key, args.state, workers=args.workers,
                     progress=progress_mode(args.quiet), linkage=args.linkage, verify=args.verify,
                     preview_dir=args.preview_dir, restart=args.restart, retry_withheld=args.retry_withheld,
                     limits=Limits(max_file_bytes=args.max_file_size, **dict(args.limit)),
                     memory_limit=args.max_memory_per_worker,
                     max_seconds=args.max_seconds_per_file)
    except (ProfileError, KeyFileError, RunError) as exc:
        return refuse(exc)
    if not args.quiet:
        print(result.summary)
        print(f"report and quarantine: {result.state}")
    if result.stopped is not None:  # said even with --quiet: the run did not finish
        print(f"deidentify: the run stopped early: {result.stopped.reason}", file=sys.stderr)
    return result.exit_code


def _limit(text: str) -> tuple[str, int]:
    name, _, number = text.partition("=")
    known = {f.name for f in fields(Limits)} - {"max_file_bytes"}
    if name not in known:
        raise argparse.ArgumentTypeError(f"no bound {name!r}; known: {', '.join(sorted(known))}")
    return name, _size(number)


def _size(text: str) -> int:
    """``4G``, ``800M``, ``65536``: a size in bytes (binary units)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = (text[:-1], units[text[-1].upper()]) if text and text[-1].upper() in units else (text, 1)
    try:
        value = int(float(number) * unit)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 4G, 800M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("a size must be more than 0")
    return value
