"""Listening sockets from `ss -tulpn` (iproute2), parsed into `Listener`s.

Handles the header or its absence (`-H`), IPv4, bracketed IPv6, `*` (dual-stack), an
interface scope (`127.0.0.53%lo:53`, `[fe80::1%eth0]:123`), IPv4-mapped IPv6 addresses and
the process column, present only when ss ran as root (`users:(("sshd",pid=1,fd=3))`).
Sockets that are not listening (established TCP, when -a was given) are skipped.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_PROCESS = re.compile(r'\(\("([^"]*)"')
_LISTENING_STATES = frozenset({"LISTEN", "UNCONN"})
_ANY = frozenset({"*", "0.0.0.0", "::", "[::]"})


@dataclass(frozen=True, slots=True)
class Listener:
    proto: str                   # tcp | udp
    address: str                 # as ss shows it, without brackets or scope: 0.0.0.0, ::, *
    port: int
    process: str | None = None   # None when ss could not tell (not run as root)
    interface: str | None = None  # the `%eth0` scope, when bound to one interface
    line: int = 0                # the line in ss's output

    @property
    def family(self) -> str:
        """ipv4 | ipv6 | any (`*`: dual-stack, both families)."""
        if self.address == "*":
            return "any"
        return "ipv6" if ":" in self.address else "ipv4"

    @property
    def on_all_interfaces(self) -> bool:
        return self.address in _ANY and self.interface is None

    @property
    def on_loopback(self) -> bool:
        if self.interface == "lo":
            return True
        try:
            address = ipaddress.ip_address(self.address)
        except ValueError:
            return False
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address).is_loopback

    @property
    def reachable_from_network(self) -> bool:
        """Bound to every interface, or to a non-loopback address or interface."""
        return not self.on_loopback

    def __str__(self) -> str:
        scope = f"%{self.interface}" if self.interface else ""
        host = f"[{self.address}{scope}]" if ":" in self.address else f"{self.address}{scope}"
        return f"{self.proto} {host}:{self.port}"


def _split_endpoint(text: str) -> tuple[str, str | None, str] | None:
    """`[::ffff:127.0.0.1]:8080` → ("::ffff:127.0.0.1", None, "8080")."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return None
    scope = None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if "%" in host:
        host, _, scope = host.partition("%")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, scope or None, port


def parse_ss(text: str) -> list[Listener]:
    listeners: list[Listener] = []
    seen: set[tuple] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if len(fields) < 5 or fields[0] == "Netid" or fields[0] == "State":
            continue
        netid = fields[0].lower()
        if netid not in ("tcp", "udp", "tcp6", "udp6"):
            continue
        state = fields[1]
        if state not in _LISTENING_STATES:
            continue
        # Netid State Recv-Q Send-Q Local Peer [Process]
        if len(fields) < 6:
            continue
        endpoint = _split_endpoint(fields[4])
        if endpoint is None:
            continue
        address, scope, port_text = endpoint
        if not port_text.isdigit():
            continue
        rest = " ".join(fields[6:])
        match = _PROCESS.search(rest)
        process = match.group(1) if match else None
        listener = Listener(netid[:3], address, int(port_text), process, scope, number)
        key = (listener.proto, listener.address, listener.port, listener.interface)
        if key in seen:      # SO_REUSEPORT: one line per socket, one listener for us
            continue
        seen.add(key)
        listeners.append(listener)
    return listeners
