"""``deidentify check DIR``: arguments, and the call into :func:`~deidentify.checker.check_folder`.

Exit status: 0 clean (or only findings below --fail-on, validity notes or
accepted ones), 1 findings, 2 errors (bad arguments, profile or accept-list, a
folder that does not exist, a file that could not be checked).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checker import SCANNER_NAMES, check_folder
from ..checker.accept import AcceptList, AcceptListError
from ..checker.findings import Severity
from ..checker.render import terminal, write
from ..profile import ProfileError
from . import COMMANDS
from .config import add_config_argument
from .options import add_profile_arguments, profile_of, refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``check`` command to ``deidentify``'s sub-commands."""
    parser = subparsers.add_parser(
        "check",
        help=COMMANDS["check"],
        description="Scan every element of every file under DIR (sequences, private and UN elements, "
        "file meta, paths) for identifying values, elements the profile does not allow and DICOM "
        "errors. Values are never shown, only their class and length. Exit status: 0 clean, "
        "1 findings at --fail-on or above (validity notes only with --fail-on-validity; accepted findings "
        "never), 2 errors.",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder (or one file) to check, e.g. a run's DST")
    parser.add_argument("--against", type=Path, metavar="SRC",
                        help="the source DIR was made from: find its names, IDs, dates, addresses, "
                             "phones and UIDs anywhere in DIR, and count only DICOM errors it did not have")
    add_profile_arguments(parser, "the profile DIR should obey (with the options it was run with)")
    add_config_argument(parser)
    parser.add_argument("--html", type=Path, metavar="FILE", help="write an HTML report (with thumbnails)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the findings as JSON")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write the findings as CSV")
    parser.add_argument("--skip", action="append", default=[], choices=SCANNER_NAMES, metavar="SCANNER",
                        help=f"do not run a scanner ({', '.join(SCANNER_NAMES)}); repeatable")
    parser.add_argument("--limit", type=int, default=200, metavar="N",
                        help="show at most N findings on the terminal (default 200; files get all)")
    parser.add_argument("--fail-on", choices=[s.value for s in Severity if s is not Severity.ERROR],
                        default=Severity.MEDIUM.value,
                        help="the least serious finding that makes the exit status 1 (default: medium)")
    parser.add_argument("--fail-on-validity", action="store_true",
                        help="let DICOM validity notes (dciodvfy's) fail the check too")
    parser.add_argument("--accept", type=Path, metavar="FILE",
                        help="a YAML accept-list of findings the site has reviewed (element, detector, reason): "
                             "they are shown as accepted and fail nothing")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``deidentify check`` for parsed ``args``; returns the exit status."""
    for label, path in (("DIR", args.dir), ("SRC", args.against)):
        if path is not None and not path.exists():
            return refuse(f"{label} does not exist", "check")
    try:
        profile = profile_of(args)
        accept = AcceptList.load(args.accept) if args.accept is not None else None
    except (ProfileError, AcceptListError) as exc:
        return refuse(exc, "check")
    report = check_folder(args.dir, profile, args.against, skip=args.skip, thumbnails=args.html is not None,
                          progress=not args.quiet and sys.stderr.isatty(), accept=accept,
                          fail_on=Severity(args.fail_on), fail_on_validity=args.fail_on_validity)
    for form in ("json", "csv", "html"):
        target = getattr(args, form)
        if target is not None:
            write(report, target, form)
    print(terminal(report, limit=0 if args.quiet else args.limit))
    return report.exit_code
