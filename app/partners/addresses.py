"""Where a webhook may go: one lookup, every address it gives checked, and only those connected to.

A check that resolves a name and a connection that resolves it again can be told two different
things (DNS rebinding: a public address for the check, 127.0.0.1 for the connection), so a
delivery never lets its HTTP client look the name up: `resolve_webhook` resolves once, refuses
the URL if any address is not public, and the sender connects to those addresses, sending the
name in the Host header and TLS SNI and verifying the certificate against it.

"Public" is stricter than `ipaddress.is_global`, which (Python 3.11) calls `64:ff9b::7f00:1`
global: IPv6 spellings that carry an IPv4 address (IPv4-mapped and -translated, NAT64, 6to4,
Teredo) reach that IPv4 address through the kernel or a gateway, so it must be public too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import PartnerError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Host name and port to the addresses to connect to, in the order to try them.
Resolver = Callable[[str, int], list[str]]

_V6 = ipaddress.IPv6Network
# Never a destination on the Internet, whatever they embed: IPv4-compatible addresses (::/96,
# deprecated by RFC 4291; `is_global` says True), site-local (fec0::/10, deprecated, still
# routed inside some networks) and the local-use NAT64 prefix (RFC 8215), which a network
# maps to whatever it likes.
NEVER = (_V6("::/96"), _V6("fec0::/10"), _V6("64:ff9b:1::/48"))
# Forms whose last 32 bits are the IPv4 address they reach.
IPV4_IN_LOW_BITS = (
    _V6("::ffff:0:0/96"),  # IPv4-mapped: a dual-stack socket connects to the IPv4 address
    _V6("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 6145)
    _V6("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, translated, NAT64, 6to4 (2002::/16)
    and Teredo (2001::/32: its server and its client)."""
    found = []
    if any(ip in net for net in IPV4_IN_LOW_BITS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def refusal(address: str | IPAddress) -> str | None:
    """Why a webhook may not connect to `address` (a phrase naming it), or None when it is a
    public unicast address and so is every IPv4 address it embeds."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in NEVER):
            return str(ip)
        for inner in embedded_ipv4(ip):
            if refusal(inner) is not None:
                return f"{ip}, which leads to {inner}"
    if not ip.is_global or ip.is_multicast:
        return str(ip)
    return None


def is_public(address: str | IPAddress) -> bool:
    return refusal(address) is None


def system_resolver(host: str, port: int) -> list[str]:
    """The system's lookup, each address once, in the order it gives (RFC 6724's preference)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A webhook URL with the addresses it was checked against."""

    url: str
    # The host as sent: IDNA-encoded as httpx encodes it, which is also the name looked up.
    host: str
    port: int
    # The Host header: the host, and the port when the URL names one.
    host_header: str
    # Every address the one lookup gave, all checked; a delivery connects to these only.
    addresses: tuple[str, ...]
    # The URL names an address itself: nothing was looked up, and there is no name for SNI.
    literal: bool


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    import idna  # httpx's own dependency, and how httpx encodes the name it sends

    return str(idna.encode(host).decode("ascii"))


def resolve_webhook(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> Target:
    """Refuse what could turn webhooks against our own network (SSRF): only https to public
    addresses, unless `allow_private` (development and tests), which also allows plain http.
    The name is looked up once, here; the answer is what the delivery connects to."""
    clean = url.strip()
    parts = urlsplit(clean)
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise PartnerError(f"webhook URL '{url}' has a bad port") from exc
    if parts.scheme not in ("https", "http") or not hostname:
        raise PartnerError(f"webhook URL '{url}' is not an http(s) URL")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(hostname)
    except ValueError:
        literal = None
    if literal is not None:
        host, addresses = hostname, [str(literal)]
    else:
        try:
            host = _ascii_host(hostname)
            addresses = resolver(host, port)
        except (OSError, UnicodeError, ValueError) as exc:  # gaierror is an OSError
            raise PartnerError(f"webhook host '{hostname}' does not resolve") from exc
        if not addresses:
            raise PartnerError(f"webhook host '{hostname}' does not resolve")
    refused = [why for a in addresses if (why := _refusal_of(a)) is not None]
    if refused and not allow_private:
        raise PartnerError(
            f"webhook host '{hostname}' resolves to a private or loopback address "
            f"({'; '.join(sorted(refused))}); set WEBHOOK_ALLOW_PRIVATE=true for tests"
        )
    if parts.scheme != "https" and not (allow_private and refused):
        raise PartnerError(f"webhook URL '{url}' must use https")
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    return Target(clean, host, port, host_header, tuple(addresses), literal is not None)


def _refusal_of(address: str) -> str | None:
    try:
        return refusal(address)
    except ValueError:  # a resolver's answer that is no address at all
        return f"'{address}', not an address"
