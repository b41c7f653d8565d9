"""Where outgoing HTTP may go: the addresses Trellis refuses, and the operator's allow-list.

Webhooks, SMS gateways and WeCom robots post records to URLs that tenant admins write. Left
alone, such a URL can point inside the installation (`http://127.0.0.1:5432/`, the cloud
metadata service at `http://169.254.169.254/`), and the server would fetch it for them. So a
destination is refused when its address is loopback, private, link-local, shared (CGNAT),
multicast, unspecified or otherwise reserved — also written in odd ways (`2130706433`,
`0x7f.1`, `::ffff:127.0.0.1`) — unless the installation's allow-list
(`TRELLIS_OUTBOUND_ALLOW`: CIDRs, addresses and host[:port], comma-separated) lets it through.

This module only classifies and parses (pure, but for `system_resolve`); the guard that resolves
a name once and connects to the address it checked is `trellis.runtime.channels.outbound`, and
the publish-time check of literal URLs in rules is in `trellis.metadata.workflow_rules`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: (host name, port) -> the addresses it resolves to, as text.
Resolver = Callable[[str, int], Sequence[str]]

ALLOW_SETTING = "TRELLIS_OUTBOUND_ALLOW"
SCHEMES = ("http", "https")

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
#: Refused IPv4 ranges, each with what it is (for reasons a human reads).
_REFUSED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "an unspecified address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("100.64.0.0/10"), "a shared (CGNAT) address"),
    (_V4("192.0.0.0/24"), "a reserved address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
)
_REFUSED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fc00::/7"), "a private address"),
    (_V6("fec0::/10"), "a private (site-local) address"),
    (_V6("64:ff9b:1::/48"), "a private (local NAT64) address"),
    (_V6("ff00::/8"), "a multicast address"),
)
#: IPv6 forms that carry an IPv4 address in their last 32 bits: it is the address reached.
_EMBEDDING_V4 = (_V6("::ffff:0:0/96"), _V6("::ffff:0:0:0/96"), _V6("64:ff9b::/96"))
_COMPATIBLE = _V6("::/96")  # deprecated IPv4-compatible form (::127.0.0.1): never public
_NUMBER = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$")  # hex, octal (0 alone too), decimal
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")


class AllowListError(ValueError):
    """An allow-list entry that is no CIDR, address or host[:port]; the message quotes it."""


def literal_address(host: str) -> Address | None:
    """The address a URL host spells literally, or None for a name.

    IPv4 is read the way `inet_aton` (and so the C library and browsers) reads it: one to four
    parts, each decimal, octal (`0177`) or hex (`0x7f`), the last filling the remaining bytes —
    so `2130706433`, `0x7f.1` and `127.1` are all 127.0.0.1. A host whose parts are all numbers
    but out of range is ValueError, never a name. IPv6 may come in brackets, with a zone.
    """
    text = host.strip().lower().removesuffix(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    parts = text.split(".")
    if not text or len(parts) > 4 or not all(_NUMBER.match(p) for p in parts):
        return None
    values = [int(p[2:] or "0", 16) if p.startswith("0x") else int(p, 8) if p.startswith("0") else int(p)
              for p in parts]
    last_bits = 8 * (5 - len(values))
    if any(v > 255 for v in values[:-1]) or values[-1] >= 1 << last_bits:
        raise ValueError(f"{host!r} looks like an IPv4 address but a part of it is out of range")
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number |= value << (24 - 8 * index)
    return ipaddress.IPv4Address(number)


def refused_kind(address: Address) -> str | None:
    """What makes an address unfit for outgoing requests ("a loopback address"), or None when
    it is public. An IPv6 form that carries an IPv4 address is judged by that IPv4 address."""
    if isinstance(address, ipaddress.IPv4Address):
        for network, kind in _REFUSED_V4:
            if address in network:
                return kind
        return None if address.is_global else "a reserved address"
    embedded = embedded_v4(address)
    if embedded is not None:
        carried = refused_kind(embedded)
        return f"{carried} (IPv4 {embedded} written as IPv6)" if carried else None
    for network6, kind in _REFUSED_V6:
        if address in network6:
            return kind
    if address in _COMPATIBLE:
        return "a reserved (IPv4-compatible) address"
    return None if address.is_global else "a reserved address"


def embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, translated, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if any(address in network for network in _EMBEDDING_V4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_local_name(host: str) -> bool:
    """`localhost` and names under it, which always mean this machine (RFC 6761)."""
    name = host.strip().lower().removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def literal_refusal(url: str) -> str | None:
    """Why a URL can be refused without resolving anything, or None: not http(s), no host, or a
    host that is `localhost` or an address literal in a refused range. Pure (no DNS): what a
    name resolves to is checked when a request is made."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError as error:
        return f"it is not a usable URL ({error})"
    if parts.scheme.lower() not in SCHEMES:
        return f"expected an http or https URL, got {parts.scheme or 'no'} scheme"
    if not host:
        return "the URL has no host"
    if is_local_name(host):
        return f"{host} is this machine (a loopback name)"
    try:
        address = literal_address(host)
    except ValueError as error:
        return str(error)
    kind = refused_kind(address) if address is not None else None
    return f"{_shown(host, address)} is {kind}" if address is not None and kind else None


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for a name (DNS, /etc/hosts), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: a network (any port unless `port`), or a host name as URLs spell it."""

    network: Network | None = None
    host: str | None = None
    port: int | None = None

    def allows(self, host: str, port: int, address: Address) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return _name(host) == self.host
        assert self.network is not None
        candidates = [address, *filter(None, [embedded_v4(address)])]
        return any(a.version == self.network.version and a in self.network for a in candidates)

    def __str__(self) -> str:
        where = self.host or str(self.network)
        if self.network is not None and self.network.prefixlen == self.network.max_prefixlen:
            where = str(self.network.network_address)
        if self.port is None:
            return where
        return f"[{where}]:{self.port}" if ":" in where else f"{where}:{self.port}"


@dataclass(frozen=True)
class OutboundPolicy:
    """The installation's rule for outgoing HTTP: refused address ranges, less what `allow`
    lets through, with `resolve` turning names into addresses (the system resolver unless a
    caller, such as a test, passes its own). Built once from settings and passed down."""

    allow: tuple[AllowEntry, ...] = ()
    resolve: Resolver = system_resolve
    source: str = ""  # the setting's text, to hand the same policy to worker processes

    @classmethod
    def parse(cls, text: str, resolve: Resolver = system_resolve) -> OutboundPolicy:
        """The policy an allow-list setting describes: entries separated by commas, each a CIDR
        (`10.0.0.0/8`), an address (`127.0.0.1`, `::1`) or host[:port] (`hooks.internal:8443`,
        `127.0.0.1:9099`, `[::1]:9099`). AllowListError names the entry that is none of these."""
        return cls(tuple(_entry(part.strip()) for part in text.split(",") if part.strip()), resolve, text.strip())

    def refusal(self, host: str, port: int, address: Address) -> str | None:
        """None when a request to `host:port` may connect to `address`, else the reason."""
        kind = refused_kind(address)
        if kind is None or any(entry.allows(host, port, address) for entry in self.allow):
            return None
        try:
            written = literal_address(host) == address
        except ValueError:
            written = False
        where = f"{_shown(host, address)} is" if written else f"{host} resolves to {address},"
        return f"{where} {kind}; allow it with {ALLOW_SETTING}"

    def url_refusal(self, url: str) -> str | None:
        """The literal check of `literal_refusal`, less what the allow-list lets through: for
        URLs an operator configures (channel settings), where the allow-list is known."""
        problem = literal_refusal(url)
        if problem is None:
            return None
        try:
            parts = urlsplit(url.strip())
            host, port = parts.hostname or "", parts.port or (443 if parts.scheme.lower() == "https" else 80)
            address = ipaddress.IPv4Address("127.0.0.1") if is_local_name(host) else literal_address(host)
        except ValueError:
            return problem  # no usable URL: nothing to allow
        if address is None or parts.scheme.lower() not in SCHEMES:
            return problem
        return None if self.refusal(host, port, address) is None else f"{problem}; allow it with {ALLOW_SETTING}"

    def __str__(self) -> str:
        return ", ".join(str(entry) for entry in self.allow) or "nothing"


def _entry(text: str) -> AllowEntry:
    lowered = text.lower()
    try:
        if "/" in lowered:
            return AllowEntry(network=ipaddress.ip_network(lowered, strict=False))
        if lowered.startswith("["):
            inner, _, rest = lowered[1:].partition("]")
            return AllowEntry(network=ipaddress.ip_network(inner), port=_port(rest.removeprefix(":")) if rest else None)
        if lowered.count(":") > 1:
            return AllowEntry(network=ipaddress.ip_network(lowered))
        host, _, port_text = lowered.partition(":")
        port = _port(port_text) if port_text else None
        address = literal_address(host)
        if address is not None:
            return AllowEntry(network=ipaddress.ip_network(address), port=port)
        if _HOST_NAME.match(_name(host)):
            return AllowEntry(host=_name(host), port=port)
    except ValueError:
        pass
    raise AllowListError(f"expected a CIDR (10.0.0.0/8), an address (127.0.0.1) or host[:port] "
                         f"(hooks.internal:8443), got {text!r}")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(text)
    return int(text)


def _name(host: str) -> str:
    return host.strip().lower().removesuffix(".")


def _shown(host: str, address: Address) -> str:
    """The host as written, with the address it spells when that differs (`0x7f.1 (127.0.0.1)`)."""
    written = host.strip("[]")
    return written if written == str(address) or ":" in written else f"{host} ({address})"
