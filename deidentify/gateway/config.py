"""The gateway's settings, from the command line and from a TOML file (``--config F``).

The file's keys are the long option names of ``deidentify serve`` without the
dashes in front (``ae-title``, ``allow``, ``tls-cert``...; ``_`` works for
``-``); a list gives a repeatable option several times, ``true`` sets a flag::

    ae-title = "DEID_GW"
    port = 11112
    forward = "PACS_RESEARCH@10.2.0.15:104"
    state = "/var/lib/deidentify/gateway"
    allow = ["CT_SCANNER_1@10.1.4.21", "PACS@10.1.0.0/24"]
    tls-cert = "/etc/deidentify/gateway.crt"
    tls-key = "/etc/deidentify/gateway.key"
    tls-ca = "/etc/deidentify/hospital-ca.crt"

:func:`toml_arguments` turns the file into arguments that go before the
command line's, so both are checked by the same parser and the command line
wins (a repeatable option adds to the file's list).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DeidentifyError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(DeidentifyError):
    """A settings file that cannot be read, or a key no option has."""


def toml_arguments(path: Path, options: Iterable[str], flags: Iterable[str] = ()) -> list[str]:
    """The settings of ``path`` as command-line arguments (``--name value``...).

    ``options``: the long option names (without dashes) a file may set; ``flags``:
    those among them that take no value.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"the settings file cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from None
    known, flags = set(options), set(flags)
    argv: list[str] = []
    for raw_key, value in data.items():
        key = raw_key.replace("_", "-")
        if key not in known or key == "config":
            raise ConfigError(f"{path}: no setting {raw_key!r}; the keys are serve's long option names: "
                              + ", ".join(sorted(known - {"config"})))
        if key in flags:
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {raw_key} is true or false")
            if value:
                argv.append(f"--{key}")
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (dict, list, bool)):
                raise ConfigError(f"{path}: {raw_key} takes a string or a number")
            argv += [f"--{key}", str(item)]
    return argv


@dataclass
class GatewaySettings:
    """Everything the gateway needs besides the profile and the key (see ``deidentify serve --help``)."""

    ae_title: str
    port: int
    state: Path
    dst: Path | None = None
    forward: str | None = None
    bind: str = "0.0.0.0"
    allow: list[str] = field(default_factory=list)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    forward_tls_ca: Path | None = None
    forward_tls_cert: Path | None = None
    forward_tls_key: Path | None = None
    max_associations: int = 10
    max_pdu: int = 262_144
    max_spool: int | None = None
    workers: int = 1
    verify: bool = False
    linkage: bool = False
    drain_seconds: float = 30.0
    """At SIGTERM: how long to wait for associations in progress, and then to forward what is queued."""
