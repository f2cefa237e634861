"""Who may send to the gateway, and the TLS contexts it listens and forwards with.

An :class:`AllowList` holds ``CALLER_AE@HOST`` entries: the calling AE title
(``*`` any) and the peer's address (an IP address, a network such as
``10.1.0.0/16``, a host name resolved when the list is made, or ``*``).  An
association is accepted only when one entry matches both; anything else is
rejected at association (A-ASSOCIATE-RJ), before a byte of data is read.

TLS follows PS3.15 Annex B's secure transport connection profiles in today's
terms: TLS 1.2 or later and, on the listening side, a client certificate that
the given CA signed (``CERT_REQUIRED``).  The server context performs each
handshake in the connection's own thread, not in the accepting loop, so a
client that connects and stays silent holds up nobody else.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DeidentifyError

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SecurityError(DeidentifyError):
    """An allow-list entry or a TLS file that cannot be used."""


@dataclass(frozen=True)
class _Entry:
    ae_title: str  # "*" matches any
    networks: tuple[_Network, ...]  # empty: any address

    def matches(self, ae_title: str, address: str) -> bool:
        if self.ae_title != "*" and self.ae_title != ae_title:
            return False
        if not self.networks:
            return True
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
            peer = peer.ipv4_mapped
        return any(peer in network for network in self.networks)


class AllowList:
    """Calling AE titles and source addresses allowed to associate."""

    def __init__(self, entries: list[str]) -> None:
        self.entries = tuple(_parse(text) for text in entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def allows(self, ae_title: str, address: str) -> bool:
        """Whether a caller with this (stripped) AE title from this address may associate."""
        return any(entry.matches(ae_title.strip(), address) for entry in self.entries)

    @property
    def ae_titles(self) -> list[str] | None:
        """The AE titles named, for pynetdicom's own check; ``None`` when an entry allows any."""
        titles = [entry.ae_title for entry in self.entries]
        return None if "*" in titles else sorted(set(titles))


def _parse(text: str) -> _Entry:
    ae_title, at, host = text.rpartition("@")
    ae_title = ae_title.strip()
    if not at or not ae_title or not host:
        raise SecurityError(f"an --allow entry must be CALLER_AE@HOST (HOST an address, a network or *): {text!r}")
    if ae_title != "*" and (len(ae_title) > 16 or "\\" in ae_title):
        raise SecurityError(f"not an AE title (1-16 characters, no backslash): {ae_title!r}")
    if host == "*":
        return _Entry(ae_title, ())
    try:
        return _Entry(ae_title, (ipaddress.ip_network(host, strict=False),))
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        raise SecurityError(f"the host of an --allow entry cannot be resolved: {host!r}") from None
    return _Entry(ae_title, tuple(ipaddress.ip_network(str(address).split("%")[0]) for address in sorted(found)))


class _HandshakeInThread(ssl.SSLContext):
    """A server context whose sockets shake hands on their first read, in the connection's thread.

    pynetdicom wraps each accepted socket in its accepting loop; a handshake there
    would let one silent client stop every other from connecting.
    """

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **kwargs)


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """TLS 1.2+ for listening: our certificate and key, and client certificates the CA signed, required."""
    context = _HandshakeInThread(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    _load(context, cert, key, ca)
    return context


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ for forwarding: the destination's certificate checked against ``ca`` (and its host name);
    our own certificate when the destination asks for one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load(context, cert, key, ca)
    return context


def _load(context: ssl.SSLContext, cert: Path | None, key: Path | None, ca: Path) -> None:
    try:
        if cert is not None:
            context.load_cert_chain(cert, key)
        context.load_verify_locations(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise SecurityError(f"the TLS certificate, key or CA file cannot be used: {exc}") from None
