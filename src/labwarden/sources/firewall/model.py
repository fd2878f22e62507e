"""The firewall model every parser fills: tables, chains (with their hook and default policy),
rules (conditions, verdict, the line they came from), sets, and the ports Docker publishes by
DNAT. Plain data: the parsers build it, the evaluator reads it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Cond:
    """One condition of a rule. `kind` is one of: proto, saddr, daddr, iif, oif, dport,
    sport, ctorigdport, ctorigdst, ctstate, ctstatus, ctdir, srcset, dstset, addrtype_src,
    addrtype_dst, nfproto, pkttype, syn, unknown. `values` are strings; ports are "lo-hi"."""

    kind: str
    values: tuple[str, ...]
    negated: bool = False


@dataclass(slots=True)
class FwRule:
    chain: str
    conds: list[Cond]
    action: str            # accept | drop | reject | return | jump | goto | continue | queue
    #                        | dnat | nat | log | other
    target: str = ""       # the chain of a jump/goto; the address of a DNAT; the raw target
    text: str = ""         # the rule as written in the output
    line: int = 0          # 1-based line in the command output

    @property
    def is_verdict(self) -> bool:
        return self.action in ("accept", "drop", "reject", "return", "jump", "goto", "queue")


@dataclass(slots=True)
class FwChain:
    name: str
    hook: str | None = None        # prerouting | input | forward | output | postrouting
    type: str = "filter"           # filter | nat | route
    policy: str | None = None      # accept | drop (base chains only)
    rules: list[FwRule] = field(default_factory=list)
    line: int = 0


@dataclass(slots=True)
class FwTable:
    family: str                    # ip | ip6 | inet | arp | bridge | netdev
    name: str
    source: str                    # iptables-save | ip6tables-save | nft
    chains: dict[str, FwChain] = field(default_factory=dict)
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def docker_managed(self) -> bool:
        """A native nftables table of Docker's own (its nftables firewall backend)."""
        return self.source == "nft" and self.name.startswith("docker")


@dataclass(frozen=True, slots=True)
class Dnat:
    """A port published by DNAT (Docker's `-A DOCKER … -j DNAT --to-destination …`)."""

    family: str                    # ipv4 | ipv6
    proto: str
    dport: int                     # the published host port
    to_addr: str | None
    to_port: int | None
    host_ip: str | None = None     # `-d 127.0.0.1/32` when published on one address
    bridge: str | None = None      # from `! -i br-…`: the container's network bridge
    line: int = 0
    source: str = ""


@dataclass(slots=True)
class Firewall:
    tables: list[FwTable] = field(default_factory=list)
    # command → True (its output was read), False (failed or absent); missing = not asked
    collected: dict[str, bool] = field(default_factory=dict)
    dnats: list[Dnat] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)   # command → file (snapshots)

    @property
    def available(self) -> bool:
        """Some ruleset could be read (an empty one counts: it is a fact about the host)."""
        return any(self.collected.values())

    def has_family(self, family: str) -> bool:
        """Whether the rules for `ipv4`/`ipv6` were read (iptables-save or nft)."""
        command = "iptables-save" if family == "ipv4" else "ip6tables-save"
        return bool(self.collected.get(command) or self.collected.get("nft"))

    def chain(self, family: str, table: str, name: str) -> FwChain | None:
        for t in self.tables:
            if t.family == family and t.name == table and name in t.chains:
                return t.chains[name]
        return None

    @property
    def has_rules(self) -> bool:
        return any(c.rules or (c.policy and c.policy != "accept")
                   for t in self.tables for c in t.chains.values())

    def docker_user(self, family: str = "ipv4") -> FwChain | None:
        return self.chain("ip" if family == "ipv4" else "ip6", "filter", "DOCKER-USER")
