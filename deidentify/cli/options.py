"""Options more than one command takes, parsed and loaded the same way everywhere."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..batch import DEFAULT_MAX_SECONDS, EXECUTORS, ExecutorSpec, RunError
from ..batch.executors.base import CHUNK_BYTES, CHUNK_FILES
from ..batch.logfile import FORMATS, LEVELS, LogSettings
from ..keys import KEY_ENV, default_key_path, load_or_create_key
from ..limits import Limits
from ..profile import Profile, ProfileError, builtin_names, load_profile

#: Bad arguments, profile or key, or a folder in use: nothing was done.
EXIT_USAGE = 2


def add_profile_arguments(cmd: argparse.ArgumentParser, purpose: str = "the profile") -> None:
    """--profile and --option; ``purpose`` says what the profile is for in this command."""
    cmd.add_argument("--profile", default="basic",
                     help=f"{purpose}: a built-in ({', '.join(builtin_names())}) or a YAML file (default: basic)")
    cmd.add_argument("--option", action="append", default=[], metavar="NAME",
                     help="add a PS3.15 Annex E option to the profile (repeatable)")
    cmd.add_argument("--lookup", type=Path, metavar="CSV",
                     help="the table the profile's lookup rules read (in place of its lookup.file), keyed by "
                          "the profile's lookup.key (default PatientID); a file whose key is not in it is withheld")


def add_profile_and_key_arguments(cmd: argparse.ArgumentParser) -> None:
    """--profile, --option, --key-file, --new-key, --allow-open-key and --state, as run and watch take them."""
    add_profile_arguments(cmd)
    cmd.add_argument("--key-file", type=Path,
                     help=f"secret key file, created if missing (default: ${KEY_ENV} or {default_key_path()})")
    cmd.add_argument("--new-key", action="store_true",
                     help="create the key file's folder if it does not exist (a new key means new pseudonyms)")
    cmd.add_argument("--allow-open-key", action="store_true",
                     help="use a key file that the group or others may read (refused by default)")
    cmd.add_argument("--state", type=Path, help="state folder (default: DST.state beside DST)")


def add_logging_arguments(cmd: argparse.ArgumentParser) -> None:
    """--log-level and --log-format, for run.log (``run`` and ``watch``)."""
    cmd.add_argument("--log-level", choices=LEVELS, default="info",
                     help="run.log's least level: info lists every input (keyed id, status, seconds), warning "
                          "only those not written (default: %(default)s)")
    cmd.add_argument("--log-format", choices=FORMATS, default="text",
                     help="run.log as text lines or as JSON lines for a log collector (default: %(default)s)")


def log_settings(args: argparse.Namespace) -> LogSettings:
    """The parsed --log-level and --log-format."""
    return LogSettings(args.log_level, args.log_format)


def add_linkage_argument(cmd: argparse.ArgumentParser) -> None:
    """--linkage, as run and watch take it."""
    cmd.add_argument("--linkage", action="store_true",
                     help="write original -> new UID and PatientID maps (mode 0600) into the state folder")


def profile_of(args: argparse.Namespace) -> Profile:
    """The profile named by --profile, with the --option extras; raises ProfileError.

    A deid recipe or a CTP script given as the profile is refused with the command that turns it
    into one: read as it is, most of what it says would not be honoured."""
    from ..profile.importers import sniff

    path = Path(args.profile)
    kind = sniff(path) if path.suffix not in (".yaml", ".yml") and path.is_file() else None
    if kind is not None:
        what = "a deid recipe" if kind == "deid" else "a CTP DicomAnonymizer script"
        raise ProfileError(f"{path} is {what}, not a profile: turn it into one with `deidentify profiles import "
                           f"{path} --from {kind} -o profile.yaml`, read the report of what it could not translate, "
                           "and run with --profile profile.yaml")
    return load_profile(args.profile, options=tuple(args.option), lookup=getattr(args, "lookup", None))


def profile_and_key(args: argparse.Namespace) -> tuple[Profile, bytes]:
    """The profile with its extra options, and the key (created, and said so, when missing).

    Raises ProfileError or KeyFileError; the caller exits with :data:`EXIT_USAGE`.
    """
    loaded = profile_of(args)
    key_path = args.key_file or default_key_path()
    # The default location is ours to create; a folder the user named must exist unless --new-key.
    key, created = load_or_create_key(key_path, create_folder=args.new_key or args.key_file is None,
                                      allow_open=args.allow_open_key)
    if created:
        print(f"deidentify: created a new secret key at {key_path}; keep it safe: the same key "
              "gives the same pseudonyms", file=sys.stderr)
    return loaded, key


def refuse(reason: object, command: str = "") -> int:
    """Say on stderr why nothing was done; returns :data:`EXIT_USAGE`."""
    print(f"deidentify{' ' + command if command else ''}: {reason}", file=sys.stderr)
    return EXIT_USAGE


def add_limit_arguments(cmd: argparse.ArgumentParser) -> None:
    """The bounds on one input's work (``run`` and ``watch`` take the same)."""
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


def limit_options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed bounds, as the keyword arguments of :func:`~deidentify.batch.run` and the Watcher."""
    return {"limits": Limits(max_file_bytes=args.max_file_size, **dict(args.limit)),
            "memory_limit": args.max_memory_per_worker, "max_seconds": args.max_seconds_per_file}


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


def add_executor_arguments(cmd: argparse.ArgumentParser) -> None:
    """--executor and --scheduler: where the files are de-identified."""
    cmd.add_argument("--executor", choices=EXECUTORS, default="local",
                     help="local: this machine's worker pool (default); dask: the Dask cluster at --scheduler "
                          "(SRC, DST and the state folder on storage every worker sees at the same paths); "
                          "dask-local: a Dask LocalCluster of --workers processes on loopback")
    cmd.add_argument("--scheduler", metavar="ADDRESS",
                     help="the Dask scheduler for --executor dask, e.g. tcp://10.0.0.5:8786 (use tls:// "
                          "between hosts: the run's key travels to the workers)")
    cmd.add_argument("--task-size", type=_size, default=CHUNK_BYTES, metavar="SIZE",
                     help=f"Dask only: input bytes per Dask task (default: 64M; at most {CHUNK_FILES} files a task)")


def executor_of(args: argparse.Namespace) -> ExecutorSpec:
    """The parsed executor; raises RunError for a --scheduler without --executor dask or the reverse."""
    if args.executor == "dask" and not args.scheduler:
        raise RunError("--executor dask needs --scheduler ADDRESS (or --executor dask-local)")
    if args.scheduler and args.executor != "dask":
        raise RunError("--scheduler is for --executor dask")
    return ExecutorSpec(args.executor, args.scheduler or "", chunk_bytes=args.task_size)
