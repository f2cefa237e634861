"""``--config FILE`` (or ``$DEIDENTIFY_CONFIG``): a command's options from a TOML file.

One table per command, its keys the command's long option names (``key-file`` or
``key_file``); what the command line says wins over the file::

    [run]
    profile = "research"
    key-file = "/etc/deidentify/project.key"
    workers = 4

    [watch]
    processed = "/srv/done"
    poll = true

Values go through the same types and choices as on the command line; an unknown
key or a wrong value is an error naming the file and the key.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import DeidentifyError
from ..profile.suggest import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover (3.10)
    import tomli as tomllib

CONFIG_ENV = "DEIDENTIFY_CONFIG"
#: Commands that take --config (those a service runs).
CONFIGURABLE = ("run", "watch", "check", "serve")


class ConfigError(DeidentifyError, ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


def add_config_argument(cmd: argparse.ArgumentParser) -> None:
    """--config, for the commands a service runs."""
    cmd.add_argument("--config", type=Path, metavar="FILE",
                     help=f"read this command's options from the [{cmd.prog.split()[-1]}] table of a TOML file "
                          f"(default: ${CONFIG_ENV} when set); options given here win")


def config_defaults(parser: argparse.ArgumentParser, command: str, path: Path) -> dict[str, Any]:
    """The [command] table of ``path`` as defaults for ``parser`` (already converted and checked)."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown_tables = sorted(set(document) - set(CONFIGURABLE))
    if unknown_tables:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown_tables)}; tables: {', '.join(CONFIGURABLE)}")
    table = document.get(command, {})
    options = {a.option_strings[-1][2:]: a for a in parser._actions
               if a.option_strings and a.option_strings[-1].startswith("--") and a.dest not in ("help", "config")}
    defaults: dict[str, Any] = {}
    for key, value in table.items():
        action = options.get(key.replace("_", "-"))
        if action is None:
            raise ConfigError(f"{path}: [{command}] has no option {key!r}{did_you_mean(key, options)}")
        defaults[action.dest] = _value(action, value, f"{path}: [{command}] {key}")
    return defaults


def _value(action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: true or false")
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(action, argparse._AppendAction):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: a list, like [\"a\", \"b\"]")
        return [_one(action, item, where) for item in value]
    return _one(action, value, where)


def _one(action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{where}: one value, not a table or a list")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        converted = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if action.choices is not None and converted not in action.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return converted


def config_path(args: argparse.Namespace) -> Path | None:
    """The file --config names, else $DEIDENTIFY_CONFIG's, else None."""
    given = getattr(args, "config", None)
    if given is not None:
        return Path(given)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else None
