"""``deidentify profiles ...``: work on profiles.  ``profiles import`` turns a deid recipe or a CTP
DicomAnonymizer script into a profile, with a report of what became of every source line;
``profiles diff`` lists the elements two profiles treat differently."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COMMANDS
from .options import refuse

#: The sub-commands of ``profiles``, each handled by ``_<name>`` here.
SUBCOMMANDS = {"import": "turn a deid recipe or a CTP DicomAnonymizer script into a profile",
               "diff": "list the elements two profiles treat differently, and the rules that decide them"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``profiles`` command and its sub-commands to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser("profiles", help=COMMANDS["profiles"], description=COMMANDS["profiles"])
    subs = cmd.add_subparsers(dest="profiles_command", required=True, metavar="SUBCOMMAND",
                              help="; ".join(f"{name}: {text}" for name, text in SUBCOMMANDS.items()))
    imp = subs.add_parser(
        "import", help=SUBCOMMANDS["import"],
        description="Translate FILE into a profile (YAML). Every line of FILE is reported: translated (its rule's "
                    "note names the line), translated with a difference (said), not translated (with the reason), "
                    "or disabled. Exit status 0 when everything was translated, 1 when something was not (the "
                    "profile is written all the same, listing what is missing), 2 when FILE cannot be read.")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--from", dest="source", choices=("deid", "ctp"),
                     help="the format of FILE (default: told from its content)")
    imp.add_argument("-o", "--output", type=Path, required=True, metavar="PROFILE.yaml",
                     help="the profile to write; a lookup table or pixels recipe it needs is written beside it")
    imp.add_argument("--base", choices=("none", "basic", "research"), default="basic",
                     help="the profile it extends, deciding every element FILE does not name (default: basic, the "
                          "safest; none: such elements are kept, as deid and CTP keep them)")
    imp.add_argument("--lookup", type=Path, metavar="TABLE",
                     help="the table lookups read: for CTP, its lookup properties file (keyType/key=value), "
                          "converted to a CSV beside the profile; for deid, a CSV whose columns are named by "
                          "--lookup-key and by the var: names")
    imp.add_argument("--lookup-key", default="PatientID", metavar="KEYWORD",
                     help="deid: the element whose value is looked up in --lookup's table (default: PatientID)")
    imp.add_argument("--force", action="store_true", help="overwrite the output profile if it exists")
    diff = subs.add_parser(
        "diff", help=SUBCOMMANDS["diff"],
        description="Ask both compiled profiles what they do to every element of the DICOM dictionary, the "
                    "private elements either names, and one private and one unknown element for the class "
                    "rules (as a run asks them), and list where the answers differ. Exit status 0 when they "
                    "agree everywhere, 1 when they differ, 2 when a profile cannot be loaded.")
    diff.add_argument("first", metavar="A", help="a built-in profile name or a profile file")
    diff.add_argument("second", metavar="B", help="the other profile")
    diff.add_argument("--option", action="append", default=[], metavar="NAME",
                      help="add a PS3.15 Annex E option to both profiles (repeatable)")
    diff.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Run the chosen ``profiles`` sub-command."""
    return _diff(args) if args.profiles_command == "diff" else _import(args)


def _diff(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from ..explain import profile_differences
    from ..profile import ProfileError, load_profile

    try:
        first, second = (load_profile(ref, options=tuple(args.option)) for ref in (args.first, args.second))
    except ProfileError as exc:
        return refuse(exc, "profiles diff")
    found = profile_differences(first, second)
    if args.json:
        print(json.dumps([asdict(d) for d in found], indent=1))
    else:
        width = max((len(d.element) for d in found), default=0)
        for d in found:
            print(f"{d.element:<{width}} {d.tag}  {first.name}: {d.first}  |  {second.name}: {d.second}")
        print(f"{len(found)} element(s) treated differently by {first.name} and {second.name}")
    return 1 if found else 0


def _import(args: argparse.Namespace) -> int:
    from ..profile.importers import ImportFailed, ImportOptions, import_file, sniff, write_import

    if not args.file.is_file():
        return refuse(f"no file {args.file}", "profiles import")
    source = args.source or sniff(args.file)
    if source is None:
        return refuse(f"{args.file}: neither a deid recipe (FORMAT dicom) nor a CTP script (<script>); "
                      "say which with --from", "profiles import")
    if args.output.exists() and not args.force:
        return refuse(f"{args.output} exists; use --force to overwrite it", "profiles import")
    if not args.output.parent.is_dir():
        return refuse(f"no folder {args.output.parent} for the profile", "profiles import")
    if args.lookup is not None and not args.lookup.is_file():
        return refuse(f"no lookup table {args.lookup}", "profiles import")
    options = ImportOptions(output=args.output, base=args.base, lookup=args.lookup, lookup_key=args.lookup_key)
    try:
        result = import_file(args.file, source, options)
        written = write_import(result, args.output)
    except ImportFailed as exc:
        return refuse(exc, "profiles import")
    except OSError as exc:
        return refuse(f"cannot write {args.output}: {exc.strerror or exc}", "profiles import")
    width = max((len(r.status.value) for r in result.lines), default=0)
    for report in result.lines:
        detail = f"  {report.detail}" if report.detail else ""
        print(f"{args.file.name}:{report.line}: {report.status.value:<{width}}  {report.text}{detail}")
    counts: dict[str, int] = {}
    for report in result.lines:
        counts[report.status.value] = counts.get(report.status.value, 0) + 1
    print(f"{len(result.lines)} lines: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    for note in result.notes:
        print(note)
    print("wrote " + ", ".join(str(p) for p in written) + f" ({len(result.rules)} rules, extends {args.base})")
    if result.failed:
        print(f"{len(result.failed)} line(s) not translated: the profile does not do what they did (listed above "
              "and at the top of the profile)")
        return 1
    return 0
