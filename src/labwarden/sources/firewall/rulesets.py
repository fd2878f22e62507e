"""The collected rulesets put together: one `Firewall` from whatever outputs were read, with
the iptables-nft copies counted once, and the ports Docker publishes read from the DNAT
rules."""

from __future__ import annotations

from labwarden.sources.firewall._ports import span_bounds
from labwarden.sources.firewall.iptables import parse_iptables_save
from labwarden.sources.firewall.model import Dnat, Firewall, FwTable
from labwarden.sources.firewall.nft_json import parse_nft_json
from labwarden.sources.firewall.nft_text import parse_nft

# The tables iptables-nft creates: `nft list ruleset` shows them beside native tables.
_IPTABLES_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})


def parse_rulesets(iptables: str | None = None, ip6tables: str | None = None,
                   nft: str | None = None, *, nft_json: str | None = None) -> Firewall:
    """The model from whatever outputs were collected (None: that command was not read).
    `nft_json` (`nft -j list ruleset`) is read instead of the text `nft` when both are
    given; it raises `NftJsonError` when it is not nft's JSON.

    With iptables-nft, `nft list ruleset` shows the iptables tables a second time (tables
    `ip filter`, `ip6 nat`…); those copies are dropped when iptables-save was read, so a
    rule counts once."""
    firewall = Firewall()
    for text, command in ((iptables, "iptables-save"), (ip6tables, "ip6tables-save")):
        if text is not None:
            firewall.tables.extend(parse_iptables_save(text, command))
    nft_tables = parse_nft_json(nft_json) if nft_json is not None else (
        parse_nft(nft) if nft is not None else None)
    if nft_tables is not None:
        seen = {(t.family, t.name) for t in firewall.tables}
        for table in nft_tables:
            if table.name in _IPTABLES_TABLES and (table.family, table.name) in seen:
                continue
            firewall.tables.append(table)
    firewall.dnats = docker_dnats(firewall.tables)
    return firewall


def docker_dnats(tables: list[FwTable]) -> list[Dnat]:
    """Ports published by DNAT in the nat tables (iptables or native nftables)."""
    found: list[Dnat] = []
    for table in tables:
        if table.name != "nat" and not table.docker_managed:
            continue
        family = "ipv6" if table.family == "ip6" else "ipv4"
        for chain in table.chains.values():
            for rule in chain.rules:
                if rule.action != "dnat":
                    continue
                proto = next((c.values[0] for c in rule.conds
                              if c.kind == "proto" and not c.negated), "tcp")
                dport = next((c.values for c in rule.conds
                              if c.kind == "dport" and not c.negated), ())
                host_ip = next((c.values[0].split("/")[0] for c in rule.conds
                                if c.kind == "daddr" and not c.negated), None)
                bridge = next((c.values[0] for c in rule.conds
                               if c.kind == "iif" and c.negated), None)
                to_addr, to_port = _split_hostport(rule.target)
                for span in dport:
                    low, high = span_bounds(span)
                    if low is None or high - low > 1024:
                        continue
                    for port in range(low, high + 1):
                        dest = None if to_port is None else to_port + (port - low)
                        found.append(Dnat(family, proto, port, to_addr, dest, host_ip, bridge,
                                          rule.line, table.source))
    return found


def _split_hostport(text: str) -> tuple[str | None, int | None]:
    text = text.strip()
    if not text:
        return None, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":").split("-")[0]
        return host, int(port) if port.isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        port = port.split("-")[0]
        return host or None, int(port) if port.isdigit() else None
    return text, None
