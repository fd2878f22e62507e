"""Host firewall rulesets: `iptables-save`, `ip6tables-save` and `nft list ruleset` (text or
JSON), parsed into one model, and a small packet-path evaluator that answers "what happens to
this packet" the way netfilter would.

The model keeps every table, chain (with its hook and default policy) and rule (with its
conditions: protocol, source, destination, interfaces, ports, conntrack state, the original
destination port of a DNATed packet, address types, sets…; its verdict, jump or goto; the
line it came from). Docker's port publications are read from the nat table's DNAT rules.

The evaluator follows a packet through every base chain of the hooks it traverses
(prerouting, then input or forward), walking jumps, gotos and returns. A packet is dropped
when any base chain drops it and accepted when every one accepts it, as in netfilter. A
condition the evaluator cannot decide (a rate limit, a mark, an ipset of destinations) makes
the rule match "maybe": both outcomes are kept and the answer is `uncertain` unless the
other path agrees. The attacker model is fixed and documented:

  * an inbound packet comes from an arbitrary Internet address: it is inside no positively
    named source range, set or country, and outside every negated one (a rule `-s
    192.168.0.0/16 -j ACCEPT` does not let it in; `! -s 192.168.0.0/16 -j DROP` drops it);
  * it arrives on an external interface: when the host's interfaces are known, on each of
    them in turn (lo, Docker bridges, veths, VPN tunnels… are not external); when they are
    not, on "the" external interface, which every interface name that is not internal
    matches;
  * its source port is the attacker's choice (a rule on the source port matches "maybe").

One module per job: `model` (the facts), `iptables` (iptables-save), `nft_text` (`nft list
ruleset`), `nft_json` (`nft -j list ruleset`, preferred where the host has it), `rulesets`
(the outputs put together, Docker's DNATs), `evaluate` (the packet path) and `query` (the
questions the rules ask). This package computes and never judges: `rules/firewall.py`
decides what is a finding. Pairing a host's firewall with the ports its Compose projects
publish is `labwarden.sources.live.host.build_exposure`: the host collectors import this
package, never the other way round.
"""

from labwarden.sources.firewall.evaluate import (
    ACCEPT,
    DROP,
    MAYBE,
    NO,
    UNCERTAIN,
    YES,
    Decision,
    Packet,
    combine,
    evaluate,
    external_interfaces,
    is_internal_interface,
)
from labwarden.sources.firewall.iptables import parse_iptables_save
from labwarden.sources.firewall.model import Cond, Dnat, Firewall, FwChain, FwRule, FwTable
from labwarden.sources.firewall.nft_json import NftJsonError, parse_nft_json
from labwarden.sources.firewall.nft_text import parse_nft
from labwarden.sources.firewall.query import PathQuery, base_chains, unused_port
from labwarden.sources.firewall.rulesets import docker_dnats, parse_rulesets

__all__ = [
    "ACCEPT", "DROP", "MAYBE", "NO", "UNCERTAIN", "YES",
    "Cond", "Decision", "Dnat", "Firewall", "FwChain", "FwRule", "FwTable",
    "NftJsonError", "Packet", "PathQuery",
    "base_chains", "combine", "docker_dnats", "evaluate",
    "external_interfaces", "is_internal_interface", "parse_iptables_save", "parse_nft",
    "parse_nft_json", "parse_rulesets", "published_by_docker", "unused_port",
]
