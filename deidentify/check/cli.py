"""``deidentify check DIR``: arguments, and the call into :func:`check_folder`.

Wired into ``deidentify.cli`` with :func:`add_parser` and :func:`main`.
Exit status: 0 clean, 1 findings, 2 errors (bad arguments or profile, a
folder that does not exist, a file that could not be checked).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..profile import ProfileError, builtin_names, load_profile
from .findings import EXIT_ERROR
from .render import terminal, write
from .runner import check_folder
from .scanners import SCANNER_NAMES


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``check`` command to ``deidentify``'s sub-commands."""
    parser = subparsers.add_parser(
        "check",
        help="show that a folder holds nothing identifying and valid DICOM",
        description="Scan every element of every file under DIR (sequences, private and UN elements, "
        "file meta, paths) for identifying values, elements the profile does not allow and DICOM "
        "errors. Values are never shown, only their class and length. Exit status: 0 clean, "
        "1 findings, 2 errors.",
    )
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.add_argument("--against", type=Path, metavar="SRC",
                        help="the source DIR was made from: find its names, IDs, dates, addresses, "
                             "phones and UIDs anywhere in DIR, and count only DICOM errors it did not have")
    parser.add_argument("--profile", default="basic",
                        help=f"the profile DIR should obey: a built-in ({', '.join(builtin_names())}) "
                             "or a YAML file (default: basic)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME",
                        help="a PS3.15 Annex E option the profile was run with (repeatable)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write an HTML report (with thumbnails)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the findings as JSON")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write the findings as CSV")
    parser.add_argument("--skip", action="append", default=[], choices=SCANNER_NAMES, metavar="SCANNER",
                        help=f"do not run a scanner ({', '.join(SCANNER_NAMES)}); repeatable")
    parser.add_argument("--limit", type=int, default=200, metavar="N",
                        help="show at most N findings on the terminal (default 200; files get all)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``deidentify check`` for parsed ``args``; returns the exit status."""
    for label, path in (("DIR", args.dir), ("SRC", args.against)):
        if path is not None and not path.exists():
            print(f"deidentify check: {label} does not exist", file=sys.stderr)
            return EXIT_ERROR
    try:
        profile = load_profile(args.profile, options=tuple(args.option))
    except ProfileError as exc:
        print(f"deidentify check: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report = check_folder(args.dir, profile, args.against, skip=args.skip, thumbnails=args.html is not None,
                          progress=not args.quiet and sys.stderr.isatty())
    for form in ("json", "csv", "html"):
        target = getattr(args, form)
        if target is not None:
            write(report, target, form)
    print(terminal(report, limit=0 if args.quiet else args.limit))
    return report.exit_code
