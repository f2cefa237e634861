"""The gateway's settings, as ``deidentify serve`` parses them (its ``[serve]`` table of a
``--config`` file included: :mod:`deidentify.cli.config` reads it, as for ``run`` and ``watch``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
