"""``deidentify report STATE``: a state folder's summary again, and an HTML page of its report."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COMMANDS
from .options import refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "report", help=COMMANDS["report"],
        description="Print the summary of the report in STATE (report.parquet or report.csv) and write an "
                    "HTML page of it with tables and charts. The page holds only what the report holds, and the "
                    "signing key's fingerprint when DST was signed.")
    cmd.add_argument("state", type=Path, metavar="STATE", help="the state folder of a run or watch")
    cmd.add_argument("--html", type=Path, metavar="FILE", help="where to write the page (default: STATE/report.html)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Print the summary and write the page; 2 when there is no report or the page cannot be written."""
    from ..release.info import signer
    from ..report_html import ReportMissing, read_report, report_summary, write_html  # pandas loads here

    try:
        frame = read_report(args.state)
    except (ReportMissing, OSError, ValueError) as exc:
        return refuse(exc)
    target = args.html or args.state / "report.html"
    try:
        write_html(frame, target, signer=signer(args.state))
    except OSError as exc:
        return refuse(f"cannot write the HTML page: {exc.strerror or exc}")
    if frame.attrs.get("live"):
        print("live: a run or watcher is still writing this state folder (or stopped before its report); "
              "these are the inputs finished so far")
    print(report_summary(frame))
    print(f"HTML report: {target}")
    return 0
