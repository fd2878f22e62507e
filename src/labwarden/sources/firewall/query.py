"""Questions about one host's firewall (`PathQuery`): what happens to a new connection from
the Internet to the host, to a port Docker publishes, over loopback, to a reply, or to a
port nobody planned for; each asked on every external interface of the host."""

from __future__ import annotations

from dataclasses import dataclass

from labwarden.sources.firewall._ports import span_bounds
from labwarden.sources.firewall.evaluate import (
    Decision,
    Packet,
    combine,
    evaluate,
    external_interfaces,
    family_tables,
)
from labwarden.sources.firewall.model import Firewall, FwChain, FwTable


@dataclass(slots=True)
class PathQuery:
    """Questions about one host's firewall, with what is known of the host: its interfaces
    (an outside packet is tried on each external one) and its own addresses."""

    firewall: Firewall
    interfaces: tuple[str, ...] | None = None
    local_addrs: tuple[str, ...] | None = None

    def _packet(self, family: str, proto: str, port: int, iface: str | None,
                **more) -> Packet:
        containers = frozenset(d.to_addr for d in self.firewall.dnats if d.to_addr)
        addrs = self.local_addrs
        if addrs is not None:
            addrs = tuple(a for a in addrs if (":" in a) == (family == "ipv6"))
        return Packet(family, proto, port, iif=iface, local_addrs=addrs,
                      container_addrs=containers, **more)

    def inbound(self, family: str, proto: str, port: int) -> Decision:
        """A new connection from the Internet to a port of the host itself."""
        return combine([evaluate(self.firewall, self._packet(family, proto, port, iface))
                        for iface in external_interfaces(self.interfaces)])

    def forwarded(self, family: str, proto: str, published: int | None, container_port: int,
                  container_ip: str | None = None, bridge: str | None = None) -> Decision:
        """A new connection from the Internet to a port Docker publishes: raw and mangle
        PREROUTING see it before DNAT, FORWARD (DOCKER-USER first) after; Docker's own
        chains accept it."""
        decisions = []
        for iface in external_interfaces(self.interfaces):
            before = self._packet(family, proto, published or container_port, iface)
            after = self._packet(family, proto, container_port, iface, oif=bridge,
                                 daddr=container_ip, forward=True, orig_dport=published,
                                 statuses=frozenset({"DNAT"}))
            decisions.append(evaluate(self.firewall, after,
                                      prerouting=before if published else None,
                                      docker_chains_accept=True))
        return combine(decisions)

    def loopback(self, family: str, port: int) -> Decision:
        """A new connection from the host to itself over lo."""
        address = "127.0.0.1" if family == "ipv4" else "::1"
        return evaluate(self.firewall, Packet(family, "tcp", port, src=address, iif="lo",
                                              daddr=address))

    def established_reply(self, family: str) -> Decision:
        """The reply to a connection the host opened (to an ephemeral port)."""
        return combine([evaluate(self.firewall, self._packet(
            family, "tcp", 45678, iface, states=frozenset({"ESTABLISHED"}), reply=True))
            for iface in external_interfaces(self.interfaces)])

    def default(self, family: str, hook: str = "input") -> Decision:
        """What happens to a new connection from the Internet to a port nobody planned for:
        the effective default of the input (or forward) path."""
        port = unused_port(self.firewall)
        decisions = []
        for iface in external_interfaces(self.interfaces):
            if hook == "forward":
                pkt = self._packet(family, "tcp", port, iface, forward=True)
            else:
                pkt = self._packet(family, "tcp", port, iface)
            decisions.append(evaluate(self.firewall, pkt))
        return combine(decisions)


def unused_port(firewall: Firewall) -> int:
    """A port no rule names, to ask what happens to traffic nobody planned for."""
    named: set[int] = set()
    for table in firewall.tables:
        for chain in table.chains.values():
            for rule in chain.rules:
                for cond in rule.conds:
                    if cond.kind in ("dport", "ctorigdport", "anyport"):
                        for span in cond.values:
                            low, high = span_bounds(span)
                            if low is not None and high - low < 4096:
                                named.update(range(low, high + 1))
    for candidate in (47321, 51789, 39017, 28733, 61001, 12989, 33441):
        if candidate not in named:
            return candidate
    return next(p for p in range(20000, 65535) if p not in named)


def base_chains(firewall: Firewall, family: str, hook: str) -> list[tuple[FwTable, FwChain]]:
    return [(t, c) for t in family_tables(firewall, family) for c in t.chains.values()
            if c.hook == hook and c.type == "filter" and not t.docker_managed]
