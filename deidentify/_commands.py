"""What the run and watch commands share: loading the profile and the key the same way."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from .keys import KEY_ENV, default_key_path, load_or_create_key
from .profile import Profile, builtin_names, load_profile


def add_profile_and_key_arguments(cmd: argparse.ArgumentParser) -> None:
    """--profile, --option, --key-file and --state, as run and watch take them."""
    cmd.add_argument("--profile", default="basic",
                     help=f"a built-in ({', '.join(builtin_names())}) or a YAML file (default: basic)")
    cmd.add_argument("--option", action="append", default=[], metavar="NAME",
                     help="add a PS3.15 Annex E option to the profile (repeatable)")
    cmd.add_argument("--key-file", type=Path,
                     help=f"secret key file, created if missing (default: ${KEY_ENV} or {default_key_path()})")
    cmd.add_argument("--new-key", action="store_true",
                     help="create the key file's folder if it does not exist (a new key means new pseudonyms)")
    cmd.add_argument("--allow-open-key", action="store_true",
                     help="use a key file that the group or others may read (refused by default)")
    cmd.add_argument("--state", type=Path, help="state folder (default: DST.state beside DST)")


def profile_and_key(args: argparse.Namespace) -> tuple[Profile, bytes]:
    """The profile with its extra options, and the key (created, and said so, when missing).

    Raises ProfileError or KeyFileError; the caller exits with status 2.
    """
    loaded = load_profile(args.profile, options=tuple(args.option))
    key_path = args.key_file or default_key_path()
    # The default location is ours to create; a folder the user named must exist unless --new-key.
    key, created = load_or_create_key(key_path, create_folder=args.new_key or args.key_file is None,
                                      allow_open=args.allow_open_key)
    if created:
        print(f"deidentify: created a new secret key at {key_path}; keep it safe: the same key "
              "gives the same pseudonyms", file=sys.stderr)
    return loaded, key
