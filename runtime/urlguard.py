"""The one guard for every URL the platform fetches on a tenant's behalf (SSRF).

A tenant names a URL (an execution's `webhook_url`, later workflow tools and channels) and
our processes POST to it from inside the deployment, where loopback, the private networks,
link-local (cloud metadata at 169.254.169.254) and the like reach things no tenant should.
So such addresses are refused twice:

- at submit time (`check_url`): the scheme, a literal address, and every address the name
  resolves to now, so the caller gets a 422 with a code instead of a silent failure later;
- at connect time (`guarded_transport`): the name is resolved again, every address is
  checked, and the connection goes to the checked address itself, so a name that resolved
  to a public address at submit time and to 127.0.0.1 now (DNS rebinding) is still refused.
  TLS keeps the name for SNI and certificate checks.

`HB_URL_ALLOWLIST` (comma separated host names and CIDRs) lets a deployment reach named
internal receivers on purpose; the tests allow loopback this way for their local servers.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWLIST_ENV = "HB_URL_ALLOWLIST"
SCHEMES = ("http", "https")
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "192.0.0.192")
)
"""Cloud metadata endpoints (AWS, ECS, Alibaba, AWS IPv6, Oracle); all already non-global,
named so the refusal says what they are."""


class UnsafeUrl(ValueError):
    """A URL the guard refuses; `code` is stable for clients, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Allowlist:
    """Hosts and networks a deployment explicitly lets the platform reach."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> Allowlist:
        """`"hooks.internal, 10.1.0.0/16, 127.0.0.1"` -> hosts and networks."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_ip(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks if net.version == ip.version)


@functools.cache
def configured_allowlist() -> Allowlist:
    """The deployment's allowlist (`HB_URL_ALLOWLIST`), read once per process."""
    return Allowlist.parse(os.environ.get(ALLOWLIST_ENV, ""))


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` must not be reached, or None when it is a public unicast address."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "not a public address (unspecified)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


def check_ips(host: str, ips: Iterable[IPAddress], allow: Allowlist) -> None:
    """Raise `UnsafeUrl` when any address of `host` is refused and not allowlisted."""
    for ip in ips:
        why = refusal(ip)
        if why and not allow.allows_ip(ip):
            message = f"{host} resolves to {ip}, {why}; the platform does not call it."
            raise UnsafeUrl("url_not_allowed", message)


def _parts(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[" : an unclosed IPv6 literal (found by fuzzing)
        raise UnsafeUrl("url_invalid", f"The URL cannot be read: {exc}.") from exc
    if parts.scheme not in SCHEMES:
        raise UnsafeUrl("url_scheme_not_allowed", "Only http and https URLs are called.")
    if not parts.hostname:
        raise UnsafeUrl("url_invalid", "The URL names no host.")
    if parts.username or parts.password:
        message = "Credentials in the URL are not accepted; receivers verify the signature instead."
        raise UnsafeUrl("url_invalid", message)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("url_invalid", "The URL's port is not a number in range.") from exc
    return parts.hostname, port


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to now (a literal resolves to itself)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl("url_unresolvable", f"{host} does not resolve.") from exc
    ips = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not ips:
        raise UnsafeUrl("url_unresolvable", f"{host} does not resolve.")
    return ips


async def checked_addresses(host: str, port: int, allow: Allowlist | None = None) -> list[IPAddress]:
    """Resolve `host` and return its addresses once every one of them passed the guard."""
    allow = configured_allowlist() if allow is None else allow
    ips = await resolve(host, port)
    if not allow.allows_host(host):
        check_ips(host, ips, allow)
    return ips


async def check_url(url: str, allow: Allowlist | None = None) -> None:
    """Submit-time check of a URL a tenant gives us; raises `UnsafeUrl`."""
    host, port = _parts(url)
    await checked_addresses(host, port, allow)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, but every TCP connect goes through the guard first.

    httpcore asks us for `host`; we resolve it, check every address and connect to the first
    checked one. The TLS layer above still uses `host` (SNI, certificate name).
    """

    def __init__(self, allow: Allowlist | None) -> None:
        self._allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            ips = await checked_addresses(host, port, self._allow)
        except UnsafeUrl as exc:
            raise httpcore.ConnectError(f"{exc.code}: {exc}") from exc
        return await self._inner.connect_tcp(
            str(ips[0]), port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("url_not_allowed: unix sockets are never called")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(allow: Allowlist | None = None) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections pass the guard at connect time (no proxies)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx builds its httpcore pool without a way to pass a network backend; rebuilt here
    # with httpx's own TLS context (tests/test_urlguard.py fails if this stops working).
    ssl_context = transport._pool._ssl_context
    backend = _GuardedBackend(allow)
    transport._pool = httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=backend)
    return transport
