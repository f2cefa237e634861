"""``deidentify review STATE``: one HTML page a records officer reads before a release leaves."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import COMMANDS
from .options import refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``review`` command to ``deidentify``'s sub-commands."""
    from ..review.page import MAX_THUMBNAILS

    cmd = subparsers.add_parser(
        "review", help=COMMANDS["review"],
        description="Write one self-contained HTML page of a run: its summary, a thumbnail of every image whose "
                    "burnt-in text was masked, every file not written with what would fix it, and (with "
                    "--check-findings) a check's findings by file and severity. With --src and the run's key it "
                    "also shows each such file's source path and the original beside each masked image: the "
                    "page then holds PHI (mode 0600).",
        epilog="example: deidentify review out.state --src studies --key-file project.key "
               "--check-findings check.json -o review.html")
    cmd.add_argument("state", type=Path, metavar="STATE", help="the state folder of a run or watch")
    cmd.add_argument("-o", "--output", type=Path, default=Path("review.html"), metavar="FILE",
                     help="where to write the page (default: review.html)")
    cmd.add_argument("--dst", type=Path, metavar="DST",
                     help="the run's output folder (default: STATE without its .state suffix)")
    cmd.add_argument("--src", type=Path, metavar="SRC",
                     help="the run's source folder: shows source paths and originals (the page then holds PHI)")
    cmd.add_argument("--key-file", type=Path, metavar="F",
                     help="the run's secret key, which --src needs to find each file (default: as run)")
    cmd.add_argument("--allow-open-key", action="store_true",
                     help="use a key file that the group or others may read (refused by default)")
    cmd.add_argument("--check-findings", type=Path, metavar="JSON",
                     help="the findings of 'deidentify check DST --json JSON', shown by file and severity")
    cmd.add_argument("--max-thumbnails", type=int, default=MAX_THUMBNAILS, metavar="N",
                     help="masked images drawn at most; the page says how many are left out (default: %(default)s)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Write the page; 2 when the state folder, key, sources or findings cannot be used."""
    from ..errors import DeidentifyError
    from ..keys import default_key_path, load_or_create_key
    from ..review import SENSITIVE, build, write_page

    key = None
    if args.src is not None:
        key_path = args.key_file or default_key_path()
        if not key_path.is_file():  # never create one: a new key finds nothing
            return refuse(f"--src needs the run's key, and there is no key file at {key_path} (--key-file)", "review")
        try:
            key = load_or_create_key(key_path, allow_open=args.allow_open_key)[0]
        except DeidentifyError as exc:
            return refuse(exc, "review")
    if args.max_thumbnails < 0:
        return refuse("--max-thumbnails must be 0 or more", "review")
    try:
        review = build(args.state, dst=args.dst, src=args.src, key=key, findings=args.check_findings,
                       max_thumbnails=args.max_thumbnails)
    except (DeidentifyError, OSError) as exc:
        return refuse(exc, "review")
    if review.sensitive:
        print(f"deidentify review: {SENSITIVE}", file=sys.stderr)
    try:
        write_page(review, args.output)
    except OSError as exc:
        return refuse(f"cannot write the page: {exc.strerror or exc}", "review")
    print(f"review page: {args.output}" + (" (holds PHI: mode 0600)" if review.sensitive else ""))
    return 0
