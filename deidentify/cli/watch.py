"""``deidentify watch INBOX DST``: de-identify files as they arrive; :mod:`deidentify.watch` does the work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch import RunError, progress_mode
from ..keys import KeyFileError
from ..profile import ProfileError
from ..watch import DEFAULT_INTERVAL, DEFAULT_SETTLE, StopOnSignals, Watcher
from . import COMMANDS
from .config import add_config_argument
from .options import (
    add_limit_arguments,
    add_linkage_argument,
    add_logging_arguments,
    add_profile_and_key_arguments,
    limit_options,
    log_settings,
    profile_and_key,
    refuse,
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``watch`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "watch", help=COMMANDS["watch"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="De-identify each file that arrives in INBOX once it has stopped changing for the\n"
                    "settle time and is whole (a file cut short is reported, left in INBOX and read\n"
                    "again when it changes). Runs until SIGTERM or Ctrl-C (which finish the file in\n"
                    "hand and write the report), or with --once processes what is there and exits.",
        epilog="exit status:\n"
               "  watching:  0 stopped by SIGTERM or Ctrl-C, whatever the files' outcomes;\n"
               "             130 a second Ctrl-C aborted it (no report written)\n"
               "  --once:    0 every file written; 1 some withheld, with errors or not whole yet\n"
               "  both:      2 bad arguments, profile or key, or the inbox or state folder is in use")
    cmd.add_argument("inbox", type=Path, metavar="INBOX", help="the folder files arrive in (moved out once done)")
    cmd.add_argument("dst", type=Path, metavar="DST", help="where de-identified files go")
    add_profile_and_key_arguments(cmd)
    add_config_argument(cmd)
    cmd.add_argument("--once", action="store_true", help="process the settled files that are there, then exit")
    cmd.add_argument("--workers", type=int, default=1,
                     help="worker processes de-identifying settled files side by side (default: %(default)s)")
    cmd.add_argument("--settle", type=float, default=DEFAULT_SETTLE, metavar="SECONDS",
                     help="a file is read only after its size and time stayed unchanged this long "
                          "(default: %(default)s)")
    cmd.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, metavar="SECONDS",
                     help="how often waiting files are looked at, and the inbox rescanned with --poll "
                          "(default: %(default)s)")
    cmd.add_argument("--poll", action="store_true",
                     help="rescan the inbox every interval instead of waiting for events (network file systems)")
    cmd.add_argument("--processed", type=Path, metavar="DIR",
                     help="move each original here once it is written or withheld; files with errors, not "
                          "DICOM or not whole stay in INBOX (default: leave every original)")
    add_linkage_argument(cmd)
    add_limit_arguments(cmd)
    add_logging_arguments(cmd)
    cmd.add_argument("--quiet", action="store_true", help="no progress and no summary")
    return cmd


def main(args: argparse.Namespace) -> int:
    """The ``watch`` command; its exit statuses are in the parser's epilog."""
    try:
        with StopOnSignals() as signals:
            return _watch(args, signals)
    except KeyboardInterrupt:  # a second Ctrl-C
        print("deidentify: interrupted; no report written", file=sys.stderr)
        return 130


def _watch(args: argparse.Namespace, signals: StopOnSignals) -> int:
    try:
        profile, key = profile_and_key(args)
        watcher = signals.attach(Watcher(args.inbox, args.dst, profile, key, args.state, settle=args.settle,
                                         interval=args.interval, processed=args.processed, poll=args.poll,
                                         workers=args.workers,
                                         progress=progress_mode(args.quiet), linkage=args.linkage,
                                         log_settings=log_settings(args), **limit_options(args)))
    except (ProfileError, KeyFileError, RunError) as exc:
        return refuse(exc)
    if not args.quiet and not args.once:
        how = f"polling every {args.interval:g} s" if args.poll else "waiting for file events"
        print(f"deidentify: watching {args.inbox} ({how}; files are read {args.settle:g} s after their last "
              "change); SIGTERM or Ctrl-C stops after the file in hand", file=sys.stderr)
    result = watcher.once() if args.once else watcher.serve()
    if watcher.stopped_by_signal:  # one line, also with --quiet: it says why the command ended
        print("deidentify: stopped as asked; report written", file=sys.stderr)
    if not args.quiet:
        if watcher.left_changing:
            print(f"deidentify: {watcher.left_changing} file(s) still changing, left for the next time",
                  file=sys.stderr)
        if watcher.waiting:
            print(f"deidentify: {len(watcher.waiting)} file(s) not whole yet, left in the inbox",
                  file=sys.stderr)
        print(result.summary)
        print(f"report and quarantine: {result.state}")
    # Serving ends only when asked to, and a withheld file is a normal outcome for a service.
    return result.exit_code if args.once else 0

