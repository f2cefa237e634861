"""What the run and watch commands share: loading the profile and the key the same way."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from .keys import default_key_path, load_or_create_key
from .profile import Profile, load_profile


def profile_and_key(profile: str, options: Sequence[str], key_file: Path | None) -> tuple[Profile, bytes]:
    """The profile with its extra options, and the key (created, and said so, when missing).

    Raises ProfileError or KeyFileError; the caller exits with status 2.
    """
    loaded = load_profile(profile, options=tuple(options))
    key_path = key_file or default_key_path()
    key, created = load_or_create_key(key_path)
    if created:
        print(f"deidentify: created a new secret key at {key_path}; keep it safe: the same key "
              "gives the same pseudonyms", file=sys.stderr)
    return loaded, key
