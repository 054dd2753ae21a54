"""Where the Triton backends are: a fixed list of gRPC addresses, or one DNS name re-resolved.

``GATEWAY_TRITON_URLS`` holds either several ``host:port`` addresses (used as given; gRPC resolves
a name among them itself, to one server) or exactly one ``name:port`` whose host is a DNS name
rather than an IP literal: a Kubernetes headless Service, whose A records are the Triton pods.
That name is resolved again every ``GATEWAY_TRITON_DNS_REFRESH_S``; each address is a backend.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class BackendAddresses:
    """The configured backends: ``fixed`` addresses, or a ``dns_name`` and ``port`` to resolve."""

    fixed: tuple[str, ...] = ()
    dns_name: str | None = None
    port: int = 0

    @property
    def dynamic(self) -> bool:
        return self.dns_name is not None


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) -> (host, port); ValueError naming a malformed one."""
    host, separator, port = address.strip().rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Triton address {address!r} is not host:port (GATEWAY_TRITON_URLS)")
    return host.strip("[]"), int(port)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_addresses(addresses: Sequence[str]) -> BackendAddresses:
    """One DNS name -> resolve it (its A records are the backends); else the addresses as given."""
    cleaned = list(dict.fromkeys(address.strip() for address in addresses if address.strip()))
    if not cleaned:
        raise ValueError("no Triton address configured (GATEWAY_TRITON_URLS, GATEWAY_TRITON_URL)")
    hosts = [split_address(address) for address in cleaned]
    if len(hosts) == 1 and not is_ip(hosts[0][0]):
        return BackendAddresses(dns_name=hosts[0][0], port=hosts[0][1])
    return BackendAddresses(fixed=tuple(cleaned))


async def resolve_a_records(name: str, port: int) -> list[str]:
    """Every IPv4 address ``name`` resolves to, as sorted ``ip:port``; OSError when it does not resolve."""
    infos = await asyncio.get_running_loop().getaddrinfo(name, port, family=socket.AF_INET, type=socket.SOCK_STREAM)
    return sorted({f"{info[4][0]}:{port}" for info in infos})
