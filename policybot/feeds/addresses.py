"""Which addresses belong to the host's own network, and a DNS resolver that refuses them.

A feed on the public internet must not steer the bot into the network it runs in: a redirect
from a public address to localhost, a private range or a link-local one (169.254.169.254 is
the cloud metadata service) is refused. The check applies to every address a name resolves
to, so a public name pointing at 10.0.0.5 is refused as well as the literal address.
"""

from __future__ import annotations

import socket
from collections import OrderedDict
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = IPv4Address | IPv6Address
AddressCheck = Callable[[IPAddress], bool]

# Beyond Python's is_private (10/8, 172.16/12, 192.168/16, 127/8, 169.254/16, fc00::/7, ...):
# the shared address space, where some clouds keep their metadata service (100.100.100.200).
SHARED_SPACE = ip_network("100.64.0.0/10")
MAX_RECORDED_HOSTS = 4096  # host names whose DNS answers are remembered (oldest forgotten first)


def is_internal(address: IPAddress) -> bool:
    """True for loopback, private, link-local, unspecified and similar non-public addresses,
    also when an IPv6 address embeds one (::ffff:127.0.0.1, 6to4)."""
    if isinstance(address, IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and is_internal(embedded):
            return True
        if address.is_site_local:
            return True
    return (address.is_private or address.is_loopback or address.is_link_local
            or address.is_unspecified or address.is_multicast
            or (isinstance(address, IPv4Address) and address in SHARED_SPACE))


def literal_address(host: str | None) -> IPAddress | None:
    """The IP address `host` is written as, or None for a name."""
    try:
        return ip_address((host or "").strip("[]"))
    except ValueError:
        return None


class PrivateAddressError(OSError):
    """A name resolved to an address of the host's own network where only public ones may go."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}")
        self.host = host
        self.address = address


class GuardedResolver(AbstractResolver):
    """Resolves through `inner` and refuses a name when any of its addresses is internal."""

    def __init__(self, check: AddressCheck, inner: AbstractResolver | None = None) -> None:
        self.check = check
        self.inner = inner or DefaultResolver()
        self._owns_inner = inner is None

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            address = literal_address(result["host"])
            if address is None or self.check(address):
                raise PrivateAddressError(host, result["host"])
        return results

    async def close(self) -> None:
        if self._owns_inner:
            await self.inner.close()


class RecordingResolver(AbstractResolver):
    """Resolves through `inner` and remembers the answers: which addresses a connection to a
    host was made with (asking DNS again could get another answer: DNS rebinding)."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self.inner = inner or DefaultResolver()
        self._owns_inner = inner is None
        self._answers: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        self._answers[host] = tuple(r["host"] for r in results)
        self._answers.move_to_end(host)
        while len(self._answers) > MAX_RECORDED_HOSTS:
            self._answers.popitem(last=False)
        return results

    def answers(self, host: str) -> tuple[str, ...]:
        """The addresses `host` last resolved to here, or () when it was never resolved here."""
        return self._answers.get(host, ())

    async def close(self) -> None:
        if self._owns_inner:
            await self.inner.close()
