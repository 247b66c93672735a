"""A DNS resolver for tests: fixed answers for made-up names, the system's for the rest.

    Fetcher(resolver=StaticResolver({"metadata.test": "169.254.169.254"}))
    StaticResolver({"rebind.test": ["127.0.0.2", "127.0.0.1"]})   # successive answers, the last repeats
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver


class StaticResolver(AbstractResolver):
    def __init__(self, names: dict[str, str | list[str]]) -> None:
        self.names = {name: [a] if isinstance(a, str) else list(a) for name, a in names.items()}
        self.asked: list[str] = []
        self._system: ThreadedResolver | None = None

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.names:
            self._system = self._system or ThreadedResolver()
            return await self._system.resolve(host, port, family)
        answers = self.names[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [{"hostname": host, "host": address, "port": port, "proto": 0, "flags": 0,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET}]

    async def close(self) -> None:
        if self._system is not None:
            await self._system.close()
