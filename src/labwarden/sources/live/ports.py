"""The `ports` probe: a TCP connect scan of `tcp://host[:port]` (seed 3.1.3 and 9.2.1).

Each port is one `connect()`: an accepted connection is open (closed again at once, nothing
is sent), a refusal is closed, silence until the timeout (or an ICMP unreachable) is
filtered. Connections run concurrently, bounded in number, and each is bounded by
`options.timeout`, so a black-holed host costs one timeout per batch, not per port.
Only the host the user named is touched, only on the ports asked for: the one in the
target, or `options.scan_ports`.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import dataclass, field

from labwarden.model import Diagnostic, Location

MAX_CONNECTIONS = 256        # connection attempts in flight for one host


@dataclass(slots=True)
class PortScan:
    target: str
    host: str
    address: str | None = None          # the address scanned (the name resolved once)
    open: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    filtered: list[int] = field(default_factory=list)
    # Ports whose service another probe recognised by its protocol (the credential check
    # spoke PostgreSQL there): port -> the service's key ("postgresql")
    identified: dict[int, str] = field(default_factory=dict)
    error: str | None = None
    diagnostics: list = field(default_factory=list)
    origin: Location | None = None

    @property
    def asset(self) -> str:
        return f"host:{self.host}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)

    @property
    def scanned(self) -> int:
        return len(self.open) + len(self.closed) + len(self.filtered)


async def _resolve(host: str, timeout: float) -> str:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout)
    # IPv4 first: what a homelab's firewall rules are usually written for
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return infos[0][4][0]


async def _connect(address: str, port: int, timeout: float) -> str:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except TimeoutError:
        return "filtered"
    except ConnectionRefusedError:
        return "closed"
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED,):
            return "closed"
        return "filtered"          # host/network unreachable, prohibited: no answer
    writer.transport.abort()        # close at once, without waiting for the peer
    return "open"


async def scan(address: str, ports: list[int], timeout: float,
               limit: int = MAX_CONNECTIONS) -> dict[int, str]:
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(port: int) -> tuple[int, str]:
        async with semaphore:
            return port, await _connect(address, port, timeout)

    return dict(await asyncio.gather(*(one(p) for p in ports)))


async def probe(target, options) -> PortScan:
    result = PortScan(target.raw, target.host)
    ports = [target.port] if target.port else sorted(set(options.scan_ports))
    timeout = float(options.timeout)
    try:
        result.address = await _resolve(target.host, timeout)
    except (TimeoutError, OSError, UnicodeError) as exc:
        message = f"cannot resolve {target.host}: {type(exc).__name__}"
        result.error = message
        result.diagnostics.append(Diagnostic("error", "unreachable", message, target.location))
        return result
    states = await scan(result.address, ports, timeout)
    for port in ports:
        getattr(result, states[port]).append(port)
    if not result.open and not result.closed:
        message = (f"no answer from {target.host} on any of {len(ports)} port(s) within "
                   f"{timeout:g} s: the host is down or drops everything; nothing to judge")
        result.error = message
        result.diagnostics.append(Diagnostic("error", "unreachable", message, target.location))
    return result


def facts_from_yaml(path: str) -> list[PortScan]:
    """Port scans described in a fixture: a YAML list of
    `{target: tcp://host, open: [..], closed: [..], filtered: [..]}`; each fact is located
    at its item's line."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("- ")]
    facts = []
    for index, item in enumerate(yaml.safe_load(text) or []):
        target = str(item.get("target", "tcp://host.lab"))
        host = target.split("://", 1)[-1].split(":")[0].strip("/")
        facts.append(PortScan(target, host, item.get("address"), list(item.get("open") or []),
                              list(item.get("closed") or []), list(item.get("filtered") or []),
                              {int(k): str(v) for k, v in (item.get("identified") or {}).items()},
                              item.get("error"),
                              origin=Location(path, lines[index] if index < len(lines) else 0)))
    return facts
