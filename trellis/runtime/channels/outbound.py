"""The outbound guard: every outgoing HTTP request connects only where the policy allows.

A check made on a name and a connection made to the name again can meet two different
addresses (DNS rebinding: public when checked, 127.0.0.1 when connected). So the check lives in
the one place that opens connections, an httpcore network backend: its `connect_tcp` resolves
the host once, refuses the request if any address is refused (`OutboundPolicy.refusal`), and
opens the socket to a checked address itself. The URL is not rewritten, so the Host header and
the TLS server name (SNI, certificate check) stay the host name the URL gives.

Proxies from the environment are ignored (`trust_env=False`): through a proxy the connection we
check would not be the one that reaches the receiver. Redirects are not followed either: a
receiver could otherwise send us anywhere.
"""

from __future__ import annotations

import ipaddress
import ssl
import typing

import httpcore
import httpx

from trellis.platform.outbound import Address, OutboundPolicy, literal_address
from trellis.runtime.channels.base import DeliveryError

USER_AGENT = "Trellis"


class OutboundRefused(DeliveryError):
    """The policy refuses the destination: no retry will change that, only the allow-list.
    `why` is the policy's sentence; the reason adds the receiver when it is known."""

    def __init__(self, why: str, target: str | None = None):
        super().__init__(f"refused to send to {target}: {why}" if target else f"refused: {why}", retryable=False)
        self.why = why


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's blocking backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in self.addresses(host, port):
            try:  # the checked address itself: nothing resolves the name again
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None  # addresses() returns at least one
        raise failure

    def addresses(self, host: str, port: int) -> list[Address]:
        """The addresses to try, resolved once; OutboundRefused when any of them is refused (a
        name that points inside is no public receiver, whatever else it points to)."""
        try:
            literal = literal_address(host)
        except ValueError as error:
            raise OutboundRefused(str(error)) from None
        if literal is not None:
            found = [literal]
        else:
            try:
                answers = self.policy.resolve(host, port)
                found = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
            except (OSError, UnicodeError, ValueError) as error:
                raise httpcore.ConnectError(f"could not resolve {host}: {error}") from error
            if not found:
                raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in found:
            reason = self.policy.refusal(host, port, address)
            if reason is not None:
                raise OutboundRefused(reason)
        return found


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose network backend is the guard."""

    def __init__(self, policy: OutboundPolicy, ssl_context: ssl.SSLContext | None = None):
        super().__init__(trust_env=False)
        # HTTPTransport has no parameter for a network backend: its pool is replaced by an
        # identical one that has ours (httpx's request/response mapping and errors are kept).
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context or httpx.create_ssl_context(),
                                             network_backend=GuardedBackend(policy))


def client(policy: OutboundPolicy, timeout: float, *, ssl_context: ssl.SSLContext | None = None) -> httpx.Client:
    """An HTTP client that goes only where `policy` allows, follows no redirect, uses no proxy."""
    return httpx.Client(transport=GuardedTransport(policy, ssl_context), timeout=timeout, follow_redirects=False,
                        trust_env=False, headers={"User-Agent": USER_AGENT})
