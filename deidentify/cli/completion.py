"""``deidentify completion bash|zsh|tcsh``: a shell completion script for every command and option."""

from __future__ import annotations

import argparse

from . import COMMANDS


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``completion`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "completion", help=COMMANDS["completion"],
        description="Print a completion script for your shell, generated from the commands' own arguments "
                    "(shtab), so it always matches this version.")
    cmd.add_argument("shell", choices=["bash", "zsh", "tcsh"], help="the shell to complete in")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Print the script."""
    import shtab

    from . import full_parser

    print(shtab.complete(full_parser(), shell=args.shell))
    return 0
