"""The `deidentify` command: parses arguments and calls the library."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

from . import __version__
from ._commands import add_profile_and_key_arguments, profile_and_key
from .keys import KeyFileError
from .profile import ProfileError, load_profile
from .limits import Limits
from .batch import DEFAULT_MAX_SECONDS, RunError, default_workers, progress_mode, run


def _add_run_parser(commands: Any) -> None:
    run_cmd = commands.add_parser("run", help=_HELP["run"])
    run_cmd.add_argument("src", type=Path, metavar="SRC")
    run_cmd.add_argument("dst", type=Path, metavar="DST")
    add_profile_and_key_arguments(run_cmd)
    run_cmd.add_argument("--workers", type=int, default=default_workers(),
                         help="worker processes (default: every core, here %(default)s)")
    run_cmd.add_argument("--linkage", action="store_true",
                         help="write original -> new UID and PatientID maps (mode 0600) into the state folder")
    run_cmd.add_argument("--verify", action="store_true",
                         help="check each output against its input (as `check` does); withhold any with findings")
    run_cmd.add_argument("--preview-dir", type=Path, metavar="DIR",
                         help="write one before/after picture per series whose pixels were cleaned "
                              "(they show the original image: keep DIR with the originals)")
    run_cmd.add_argument("--restart", action="store_true",
                         help="start over: remove the outputs of earlier runs on this state folder from DST first "
                              "(needed to re-run with another profile or key)")
    run_cmd.add_argument("--retry-withheld", action="store_true",
                         help="redo inputs an earlier run withheld or failed (e.g. once a missing tool is installed)")
    run_cmd.add_argument("--max-memory-per-worker", type=_size, metavar="SIZE",
                         help="address space a worker may use, e.g. 4G (default: its share of available memory); "
                              "a file that needs more is an error row")
    run_cmd.add_argument("--max-seconds-per-file", type=float, default=DEFAULT_MAX_SECONDS, metavar="S",
                         help="stop a worker that spends longer on one file; the file is an error row "
                              "(default: %(default)g)")
    run_cmd.add_argument("--max-file-size", type=_size, default=Limits.max_file_bytes, metavar="SIZE",
                         help="larger inputs are error rows, never read (default: 2G)")
    run_cmd.add_argument("--limit", action="append", default=[], type=_limit, metavar="NAME=N",
                         help="another bound on one input's work: " + ", ".join(
                             f"{f.name}={f.default}" for f in fields(Limits) if f.name != "max_file_bytes")
                         + " (defaults shown); a file over one is an error row naming it")
    run_cmd.add_argument("--quiet", action="store_true", help="no progress and no summary")


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


def _add_sample_parser(commands: Any) -> None:
    sample_cmd = commands.add_parser("sample", help=_HELP["sample"])
    sample_cmd.add_argument("dir", type=Path, metavar="DIR")
    sample_cmd.add_argument("--seed", type=int, default=0)
    sample_cmd.add_argument("--patients", type=int, default=4)


def _add_preview_parser(commands: Any) -> None:
    preview = commands.add_parser("preview", help=_HELP["preview"])
    preview.add_argument("file", type=Path, metavar="FILE")
    preview.add_argument("-o", "--output", type=Path, default=Path("preview.png"), metavar="PNG")
    preview.add_argument("--profile", default="basic")
    preview.add_argument("--option", action="append", default=[], metavar="NAME")
    preview.add_argument("--frame", type=int, default=None, help="which frame (default: the first masked one)")


def _preview(args: argparse.Namespace) -> int:
    from .preview import PreviewError, preview_file

    try:
        profile = load_profile(args.profile, options=tuple(args.option))
        preview_file(args.file, profile, args.output, frame=args.frame)
    except (ProfileError, PreviewError) as exc:
        print(f"deidentify: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .sample import write_sample

    try:
        manifest = write_sample(args.dir, seed=args.seed, patients=args.patients)
    except FileExistsError:
        print("deidentify: the sample folder already holds studies", file=sys.stderr)
        return 2
    print(f"wrote {args.patients} patients' studies to {args.dir} ({len(manifest.planted)} planted values)")
    return 0


_HELP = {
    "run": "de-identify every file under SRC into DST",
    "sample": "write synthetic studies full of planted (fake) PHI",
    "watch": "de-identify files as they arrive in INBOX, into DST",
    "report": "print a state folder's summary again and write it as an HTML page",
    "check": "prove that a folder holds nothing identifying and is valid DICOM",
    "preview": "draw what pixel cleaning masks in one file: the original outlined, beside the result",
}


def _command(name: str) -> tuple[Callable[[Any], None], Callable[[argparse.Namespace], int]]:
    """A command's parser and entry point, imported only when that command runs (start-up time counts)."""
    if name == "run":
        return _add_run_parser, _run
    if name == "sample":
        return _add_sample_parser, _sample
    if name == "preview":
        return _add_preview_parser, _preview
    if name == "watch":
        from .watch import add_watch_parser, watch_main

        return add_watch_parser, watch_main
    if name == "report":
        from .report_html import add_report_parser, report_main

        return add_report_parser, report_main
    from .check import cli as check_cli

    return check_cli.add_parser, check_cli.main


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deidentify", description="Remove patient identity from DICOM studies.")
    parser.add_argument("--version", action="version", version=f"deidentify {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, text in _HELP.items():
        if chosen in _HELP and name != chosen:
            commands.add_parser(name, help=text)
        else:
            _command(name)[0](commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = _parser(argv).parse_args(argv)
        return _command(args.command)[1](args)
    except KeyboardInterrupt:  # before a command took over its signals: nothing was written
        print("deidentify: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
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
        print(f"deidentify: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(result.summary)
        print(f"report and quarantine: {result.state}")
    if result.stopped is not None:  # said even with --quiet: the run did not finish
        print(f"deidentify: the run stopped early: {result.stopped.reason}", file=sys.stderr)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
