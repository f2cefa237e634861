"""``deidentify explain FILE``: what each element of one file becomes, and which rule decided it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import COMMANDS
from .options import add_profile_arguments, profile_of, refuse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``explain`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "explain", help=COMMANDS["explain"],
        description="List every element of FILE (at every depth of sequences) with what `run` does to it, the "
                    "profile rule that decides it and why that rule wins over others. Values are shown as VR and "
                    "length only, unless --show-values. Nothing is written.")
    cmd.add_argument("file", type=Path, metavar="FILE", help="one DICOM file")
    add_profile_arguments(cmd)
    cmd.add_argument("--key-file", type=Path,
                     help="the secret key of your runs, for pseudonyms as they would be (default: a throwaway "
                          "key; only --show-values shows pseudonyms)")
    cmd.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    cmd.add_argument("--show-values", action="store_true",
                     help="print values before and after (they may identify the patient: keep the output private)")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Print the explanation; 2 when the file, the profile or the key cannot be used."""
    import secrets

    from ..errors import DeidentifyError
    from ..explain import explain
    from ..keys import load_or_create_key

    try:
        profile = profile_of(args)
        key = load_or_create_key(args.key_file)[0] if args.key_file else secrets.token_bytes(32)
        data = args.file.read_bytes()
    except DeidentifyError as exc:
        return refuse(exc, "explain")
    except OSError as exc:
        return refuse(f"cannot read {args.file}: {exc.strerror or type(exc).__name__}", "explain")
    if args.show_values:
        print("deidentify explain: --show-values prints the file's values, which may identify the patient",
              file=sys.stderr)
    found = explain(data, profile, key, show_values=args.show_values)
    if args.json:
        print(json.dumps(found.as_dict(), indent=1, ensure_ascii=False))
        return 0
    print(f"profile {found.profile}: {found.status}" + (f" ({found.reason})" if found.reason else ""))
    if found.pixels:
        print(f"pixels: {found.pixels}")
    for d in found.decisions:
        value = f"{d.value} -> {d.result}" if args.show_values else d.value
        print(f"{d.path:<56} {d.tag} {d.vr:<2} {d.action:<16} {d.rule:<24} {value}")
        print(f"{'':<56} why: {d.why}")
    if found.added:
        print("added by the stamp: " + ", ".join(found.added))
    return 0
