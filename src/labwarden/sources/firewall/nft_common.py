"""The nftables vocabulary both nftables readers share (`nft_text` for `nft list ruleset`,
`nft_json` for `nft -j list ruleset`): which selector becomes which condition, and how one
`selector [!=] value` match becomes conditions. One table and one function for both, so the
two readers cannot drift apart."""

from __future__ import annotations

from labwarden.sources.firewall._ports import nft_ports
from labwarden.sources.firewall.model import Cond

# nft selector (one or two words) → condition kind
SELECTORS = {
    ("ip", "saddr"): "saddr", ("ip6", "saddr"): "saddr", ("ip", "daddr"): "daddr",
    ("ip6", "daddr"): "daddr", ("tcp", "dport"): "dport", ("udp", "dport"): "dport",
    ("sctp", "dport"): "dport", ("th", "dport"): "dport", ("udplite", "dport"): "dport",
    ("tcp", "sport"): "sport", ("udp", "sport"): "sport", ("th", "sport"): "sport",
    ("meta", "l4proto"): "proto", ("ip", "protocol"): "proto", ("ip6", "nexthdr"): "proto",
    ("meta", "iifname"): "iif", ("meta", "oifname"): "oif", ("meta", "iif"): "iif",
    ("meta", "oif"): "oif", ("meta", "nfproto"): "nfproto", ("meta", "pkttype"): "pkttype",
    ("ct", "state"): "ctstate", ("ct", "status"): "ctstatus", ("ct", "direction"): "ctdir",
    ("meta", "protocol"): "nfproto_ether",
}
PROTO_OF_SELECTOR = {"tcp": "tcp", "udp": "udp", "sctp": "sctp", "udplite": "udplite"}
FAMILY_OF_SELECTOR = {"ip": "ipv4", "ip6": "ipv6", "icmp": "ipv4", "icmpv6": "ipv6"}
# the selector in front of a verdict map
VMAP_SELECTORS = {("ct", "state"): "ctstate", ("tcp", "dport"): "dport",
                  ("udp", "dport"): "dport", ("th", "dport"): "dport",
                  ("meta", "iifname"): "iif", ("meta", "l4proto"): "proto",
                  ("ip", "protocol"): "proto"}
_FAMILIES = {"ip": "ipv4", "ip6": "ipv6"}


def match_conds(selector: str, values: tuple[str, ...], negated: bool, *,
                family: str | None = None, proto: str | None = None,
                set_name: str | None = None) -> list[Cond]:
    """The conditions of one match: the protocol its header implies (`tcp dport` → tcp), the
    family (`ip saddr` → ipv4), then the match itself on the values (or the named set)."""
    conds = []
    if proto:
        conds.append(Cond("proto", (proto,)))
    if family and selector in ("saddr", "daddr", "proto"):
        conds.append(Cond("nfproto", (family,)))
    if set_name is not None:             # a named set: of addresses, ports, names…
        if selector in ("saddr", "daddr"):
            kind = "srcset" if selector == "saddr" else "dstset"
            conds.append(Cond(kind, (set_name,), negated))
        else:
            conds.append(Cond("namedset", (selector, set_name), negated))
        return conds
    if selector in ("dport", "sport", "ctorigdport"):
        values = nft_ports(values)
    elif selector in ("ctstate", "ctstatus", "ctdir"):
        values = tuple(v.upper() for v in values)
    elif selector in ("iif", "oif"):
        values = tuple(v[:-1] + "+" if v.endswith("*") else v for v in values)
    elif selector == "nfproto":
        values = tuple(_FAMILIES.get(v, v) for v in values)
    elif selector == "nfproto_ether":
        selector = "nfproto"
        values = tuple(_FAMILIES.get(v, v) for v in values)
    elif selector == "proto":
        values = tuple(v.lower() for v in values)
    conds.append(Cond(selector, values, negated))
    return conds
