"""The `deidentify` command: parses arguments and calls the library.

One module per command, each with ``add_parser(subparsers)`` and
``main(args) -> int`` (the exit status); :data:`COMMANDS` lists them (a ``-``
in a command's name is ``_`` in its module's).  Only the
command being run is imported (start-up time counts); options several
commands take are in :mod:`.options`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from .. import __version__

#: Every command, with its one-line help; its module here has the same name.
COMMANDS = {
    "run": "de-identify every file under SRC into DST",
    "sample": "write synthetic studies full of planted (fake) PHI",
    "watch": "de-identify files as they arrive in INBOX, into DST",
    "serve": "a DICOM node: receive studies by C-STORE, de-identify them, file them or forward them",
    "report": "print a state folder's summary again and write it as an HTML page",
    "check": "prove that a folder holds nothing identifying and is valid DICOM",
    "preview": "draw what pixel cleaning masks in one file: the original outlined, beside the result",
    "explain": "list what each element of one file becomes, and the rule that decides it",
    "review": "write one HTML page to review a run: masked images, files not written and what would fix them",
    "keygen": "make a key pair for signing releases",
    "sign": "make a finished DST a signed release (a BagIt bag with a detached signature)",
    "verify-release": "check a signed release: every file present, unchanged, nothing added",
    "package": "write a signed release as one zip file, signature inside",
    "completion": "print a shell completion script (bash, zsh, tcsh)",
    "profiles": "work on profiles: import a deid recipe or a CTP DicomAnonymizer script, diff two profiles",
}


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names (default: the process's arguments); returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = _parser(argv)
        args = parser.parse_args(argv)
        from .config import CONFIGURABLE, ConfigError, config_defaults, config_path

        if args.command in CONFIGURABLE:
            path = config_path(args)
            if path is not None:
                command = _subparsers(parser)[args.command]
                try:
                    command.set_defaults(**config_defaults(command, args.command, path))
                except ConfigError as exc:
                    print(f"deidentify {args.command}: {exc}", file=sys.stderr)
                    return 2
                args = parser.parse_args(argv)  # the command line over the file
        status: int = _command(args.command).main(args)
        return status
    except KeyboardInterrupt:  # before a command took over its signals: nothing was written
        print("deidentify: interrupted", file=sys.stderr)
        return 130


#: Examples at the foot of each command's --help.
EXAMPLES = {
    "run": ["deidentify run /data/export /data/shareable",
            "deidentify run studies shareable --profile research --key-file ~/project.key --linkage",
            "deidentify run studies shareable --profile trial.yaml --lookup subjects.csv --verify"],
    "sample": ["deidentify sample sample_studies --patients 8"],
    "watch": ["deidentify watch /srv/inbox /srv/shareable --processed /srv/done"],
    "serve": ["deidentify serve --ae-title DEID_GW --allow CT1@10.1.4.21 --forward RESEARCH@10.2.0.15:104 "
              "--state /var/lib/deid-gw"],
    "report": ["deidentify report shareable.state --html report.html"],
    "check": ["deidentify check shareable --against studies --html check.html",
              "deidentify check shareable --fail-on high --accept reviewed.yaml"],
    "preview": ["deidentify preview us.dcm -o us.png --frame 3"],
    "explain": ["deidentify explain ct.dcm --profile research",
                "deidentify explain ct.dcm --profile trial.yaml --json"],
    "keygen": ["deidentify keygen ~/release-keys"],
    "sign": ["deidentify sign shareable --key ~/release-keys/release.key"],
    "verify-release": ["deidentify verify-release received/ --public-key release.pub"],
    "package": ["deidentify package shareable --zip release.zip"],
    "completion": ["deidentify completion bash > ~/.local/share/bash-completion/completions/deidentify"],
    "review": ["deidentify review shareable.state -o review.html",
               "deidentify review shareable.state --src studies --key-file ~/project.key -o private-review.html"],
    "profiles": ["deidentify profiles import deid.dicom --from deid -o trial.yaml",
                 "deidentify profiles import anonymizer.script --from ctp -o trial.yaml --lookup lookup.properties",
                 "deidentify profiles diff basic trial.yaml"],
}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def full_parser() -> argparse.ArgumentParser:
    """The parser with every command's arguments (for completion scripts)."""
    return _parser([])


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}")


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deidentify", description="Remove patient identity from DICOM studies.")
    parser.add_argument("--version", action="version", version=f"deidentify {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, text in COMMANDS.items():
        if chosen in COMMANDS and name != chosen:
            commands.add_parser(name, help=text)  # listed in the help, not imported
        else:
            sub = _command(name).add_parser(commands)
            if name in EXAMPLES:
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
                sub.epilog = (sub.epilog + "\n\n" if sub.epilog else "") + "examples:\n" + "\n".join(
                    f"  {line}" for line in EXAMPLES[name])
    return parser
