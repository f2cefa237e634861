"""``deidentify serve``: a DICOM node that de-identifies what it receives; :mod:`deidentify.gateway` does the work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..batch import RunError, default_state
from ..keys import KeyFileError
from ..profile import ProfileError
from . import COMMANDS
from .config import add_config_argument
from .options import (
    _size,
    add_limit_arguments,
    add_linkage_argument,
    add_profile_and_key_arguments,
    limit_options,
    profile_and_key,
    refuse,
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``serve`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser(
        "serve", help=COMMANDS["serve"], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Listen for C-STORE (and C-ECHO) from allowed callers; acknowledge each instance once it is\n"
                    "on disk in the spool; de-identify it as `run` does; file the result into --dst (run's\n"
                    "layout) or send it on to --forward by C-STORE, retrying until the destination acknowledges\n"
                    "it. SIGTERM stops listening, finishes what is in hand and exits 0; a restart resumes.",
        epilog="exit status: 0 stopped by SIGTERM or Ctrl-C; 2 bad arguments, profile, key or settings file,\n"
               "  the port or state folder in use, or the pipeline's storage failed")
    _add_arguments(cmd)
    return cmd


def _add_arguments(cmd: argparse.ArgumentParser) -> None:
    add_config_argument(cmd)
    cmd.add_argument("--ae-title", default="DEIDENTIFY", metavar="AE", help="our AE title (default: %(default)s)")
    cmd.add_argument("--port", type=int, default=11112, help="port to listen on (default: %(default)s)")
    cmd.add_argument("--bind", default="0.0.0.0", metavar="ADDRESS",
                     help="address to listen on (default: %(default)s, every interface)")
    where = cmd.add_mutually_exclusive_group()
    where.add_argument("--dst", type=Path, metavar="DIR", help="file de-identified instances here, as run does")
    where.add_argument("--forward", metavar="AE@HOST:PORT",
                       help="send de-identified instances to this DICOM node by C-STORE (queued until acknowledged)")
    cmd.add_argument("--allow", action="append", default=[], metavar="CALLER_AE@HOST",
                     help="a caller allowed to associate: its AE title (* any) and address (an IP address, a "
                          "network such as 10.1.0.0/16, a host name, or *); repeatable; every other is refused")
    cmd.add_argument("--tls-cert", type=Path, metavar="FILE", help="our certificate (PEM): listen with TLS 1.2+")
    cmd.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key (PEM)")
    cmd.add_argument("--tls-ca", type=Path, metavar="FILE",
                     help="CA certificates (PEM) a caller's certificate must be signed by (required of every caller)")
    cmd.add_argument("--forward-tls-ca", type=Path, metavar="FILE",
                     help="forward over TLS 1.2+, checking the destination's certificate against these CAs")
    cmd.add_argument("--forward-tls-cert", type=Path, metavar="FILE",
                     help="our client certificate for the destination (PEM)")
    cmd.add_argument("--forward-tls-key", type=Path, metavar="FILE", help="its private key (PEM)")
    cmd.add_argument("--max-associations", type=int, default=10, metavar="N",
                     help="associations at once; more are refused (default: %(default)s)")
    cmd.add_argument("--max-pdu", type=int, default=262_144, metavar="BYTES",
                     help="largest PDU we receive (default: %(default)s; 0 unlimited)")
    cmd.add_argument("--max-spool", type=_size, metavar="SIZE",
                     help="refuse instances (status 0xA700) while the spool holds this much, e.g. 20G "
                          "(default: only a full disk refuses)")
    cmd.add_argument("--drain-seconds", type=float, default=30.0, metavar="S",
                     help="at SIGTERM: time for open associations to end, then for queued instances to be "
                          "forwarded (default: %(default)g)")
    cmd.add_argument("--workers", type=int, default=1, help="worker processes (default: %(default)s)")
    add_profile_and_key_arguments(cmd)
    add_linkage_argument(cmd)
    cmd.add_argument("--verify", action="store_true",
                     help="check each output against its input (as `check` does); withhold any with findings")
    add_limit_arguments(cmd)
    cmd.add_argument("--quiet", action="store_true", help="no start and stop lines")


def main(args: argparse.Namespace) -> int:
    """The ``serve`` command; its exit statuses are in the parser's epilog."""
    try:
        from ..gateway import GatewaySettings, SecurityError, serve
        from ..gateway.forward import DestinationError
    except ImportError as exc:  # pynetdicom is an extra
        return refuse(f"serve needs pynetdicom: pip install 'deidentify[network]' ({exc})")
    try:
        if args.dst is None and args.forward is None:
            raise RunError("give --dst DIR (file the instances) or --forward AE@HOST:PORT (send them on)")
        state = args.state or (default_state(args.dst) if args.dst is not None else None)
        if state is None:
            raise RunError("with --forward, give --state DIR (the spool, the queue, the report and quarantine)")
        if args.workers < 1:
            raise RunError("--workers must be at least 1")
        settings = GatewaySettings(
            ae_title=args.ae_title, port=args.port, state=state, dst=args.dst, forward=args.forward, bind=args.bind,
            allow=args.allow, tls_cert=args.tls_cert, tls_key=args.tls_key, tls_ca=args.tls_ca,
            forward_tls_ca=args.forward_tls_ca, forward_tls_cert=args.forward_tls_cert,
            forward_tls_key=args.forward_tls_key, max_associations=args.max_associations, max_pdu=args.max_pdu,
            max_spool=args.max_spool, workers=args.workers, verify=args.verify, linkage=args.linkage,
            drain_seconds=args.drain_seconds)
        profile, key = profile_and_key(args)
        ready = None if args.quiet else _say_ready(settings)
        result = serve(settings, profile, key, ready=ready, **limit_options(args))
    except (ProfileError, KeyFileError, RunError, SecurityError, DestinationError) as exc:
        return refuse(exc, "serve")
    if not args.quiet:
        print(result.run.summary)
        print(f"received {result.received}, refused {result.refused}, forwarded {result.forwarded}; "
              f"{result.queued} queued and {result.spooled} in the spool for the next start")
        print(f"report and quarantine: {result.run.state}")
    if result.run.stopped is not None:
        print(f"deidentify serve: the pipeline stopped: {result.run.stopped.reason}", file=sys.stderr)
    return result.exit_code


def _say_ready(settings: Any) -> Any:
    def ready(port: int) -> None:
        where = f"forwarding to {settings.forward}" if settings.forward else f"filing into {settings.dst}"
        print(f"deidentify serve: {settings.ae_title} listening on {settings.bind}:{port}"
              f"{' (TLS)' if settings.tls_cert else ''}, {where}; SIGTERM or Ctrl-C stops", file=sys.stderr,
              flush=True)
    return ready
