"""Checks on URLs the API itself calls (alert channels): a tenant must not reach the operator's
internal network. Pure apart from name resolution, which is passed in so tests can drive it."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Iterable[str]]


class RefusedTarget(ValueError):
    """The URL is malformed, or leads to an address a tenant may not reach."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedTarget(f"host {host!r} does not resolve ({exc.strerror})") from exc
    return [str(info[4][0]) for info in infos]


def _forbidden(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for label, hit in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("private", ip.is_private), ("multicast", ip.is_multicast),
                       ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if hit:
            return label
    return None if ip.is_global else "non-public"


def check_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
    """Raise RefusedTarget unless `url` is http(s) with a host that resolves only to public addresses
    (every address counts: a name with one private address among public ones is refused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedTarget("url must start with http:// or https://")
    if not parts.hostname:
        raise RefusedTarget("url has no host")
    if parts.username or parts.password:
        raise RefusedTarget("url must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget(f"url has a bad port ({exc})") from exc
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = list(resolve(host, port))
    if not addresses:
        raise RefusedTarget(f"host {host!r} does not resolve")
    for address in addresses:
        label = _forbidden(address)
        if label:
            raise RefusedTarget(f"host {host!r} resolves to {address}, a {label} address; alert targets must be "
                                "public (set LLMOBSERVE_ALERT_ALLOW_PRIVATE_TARGETS=1 for local work)")
