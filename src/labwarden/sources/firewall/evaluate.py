"""The packet-path evaluator: what netfilter does to one packet, walking every base chain of
the hooks it crosses with jumps, gotos and returns, under the attacker model of the package
docstring. A condition it cannot decide makes a rule match "maybe": both outcomes are kept
and the answer is `uncertain` unless the other path agrees."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from labwarden.sources.firewall._ports import nft_ports, span_bounds
from labwarden.sources.firewall.model import Cond, Firewall, FwRule, FwTable

YES, NO, MAYBE = "yes", "no", "maybe"
ACCEPT, DROP, UNCERTAIN = "accept", "drop", "uncertain"

_INTERNAL_IFACES = re.compile(
    r"^(lo|docker\d*|br-[0-9a-f]+|veth.*|virbr.*|lxcbr.*|lxdbr.*|incusbr.*|cni.*|flannel.*|"
    r"cali.*|vxlan.*|podman.*|kube.*|tun.*|tap.*|wg.*|tailscale.*|zt.*|nebula.*|fwbr.*|"
    r"fwpr.*|fwln.*|dummy.*|ip6tnl.*|sit\d*|gre.*|gretap.*|erspan.*|ipip.*|vti.*|"
    r"cilium.*|weave.*|netmaker.*|nm-.*|ifb\d*)$")
_DOCKER_BRIDGE = re.compile(r"^(docker\d*|br-[0-9a-f]+)\+?$")


def is_internal_interface(name: str) -> bool:
    return bool(_INTERNAL_IFACES.match(name.rstrip("+")))


@dataclass(frozen=True, slots=True)
class Packet:
    """A packet as the evaluator sees it at one hook.

    `src` is "internet" (an arbitrary outside address) or an address; `iif` an interface
    name or None for "the external interface"; `daddr` None means "one of the host's own
    addresses"; `container` is set on the forward path after Docker's DNAT."""

    family: str                         # ipv4 | ipv6
    proto: str                          # tcp | udp
    dport: int
    src: str = "internet"
    iif: str | None = None
    oif: str | None = None
    daddr: str | None = None
    states: frozenset = frozenset({"NEW"})
    statuses: frozenset = frozenset()
    orig_dport: int | None = None       # before DNAT (ct original proto-dst)
    forward: bool = False
    reply: bool = False                 # a reply to a connection the host opened
    local_addrs: tuple[str, ...] | None = None      # the host's addresses, when known
    container_addrs: frozenset = frozenset()        # Docker's DNAT targets
    sets: dict | None = None            # named nft sets of the table being walked


@dataclass(slots=True)
class Decision:
    verdict: str                        # accept | drop | uncertain
    reasons: list[str] = field(default_factory=list)   # the deciding rules or policies
    rules: list[FwRule] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPT

    @property
    def dropped(self) -> bool:
        return self.verdict == DROP


def _in_ranges(address: str, ranges: tuple[str, ...]) -> str:
    """YES/NO/MAYBE: is the concrete address inside any of the ranges?"""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return MAYBE
    for text in ranges:
        if "-" in text and "/" not in text:
            low, _, high = text.partition("-")
            try:
                if ipaddress.ip_address(low) <= ip <= ipaddress.ip_address(high):
                    return YES
            except (ValueError, TypeError):
                return MAYBE
            continue
        try:
            if ip in ipaddress.ip_network(text, strict=False):
                return YES
        except (ValueError, TypeError):
            return MAYBE
    return NO


def _is_everything(ranges: tuple[str, ...]) -> bool:
    return any(r in ("0.0.0.0/0", "::/0", "0/0") for r in ranges)


_SPECIAL_DESTINATIONS = ("127.0.0.0/8", "::1/128", "224.0.0.0/4", "255.255.255.255/32",
                         "ff00::/8")


def _not(result: str) -> str:
    return {YES: NO, NO: YES}.get(result, MAYBE)


def _port_in(port: int | None, spans: tuple[str, ...]) -> str:
    if port is None:
        return MAYBE
    unknown = False
    for span in spans:
        if span.startswith("?"):
            unknown = True
            continue
        low, high = span_bounds(span)
        if low <= port <= high:
            return YES
    return MAYBE if unknown else NO


def _iface_matches(name: str, pattern: str) -> bool:
    if pattern.endswith("+"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _host_address(ranges: tuple[str, ...], pkt: Packet) -> str:
    """Is a packet addressed to one of the host's own (non-loopback) addresses inside
    `ranges`? Exact when the host's addresses are known; otherwise an address that Docker
    gave a container is not the host's, loopback and multicast are not where an outside
    packet goes, and any other address is assumed to be the host's (a rule naming an
    address is written for the host's address)."""
    if _is_everything(ranges):
        return YES
    if pkt.local_addrs is not None:
        results = {_in_ranges(a, ranges) for a in pkt.local_addrs}
        return YES if YES in results else (MAYBE if MAYBE in results else NO)
    for text in ranges:
        base = text.split("/")[0].split("-")[0]
        if _in_ranges(base, _SPECIAL_DESTINATIONS) == YES:
            continue
        if pkt.container_addrs and any(_in_ranges(c, (text,)) == YES
                                       for c in pkt.container_addrs):
            continue
        return YES
    return NO


def _cond(cond: Cond, pkt: Packet) -> str:
    kind, values = cond.kind, cond.values
    if kind == "proto":
        aliases = {"6": "tcp", "17": "udp"}
        wanted = {aliases.get(v, v) for v in values}
        result = YES if ("all" in wanted or "0" in wanted or pkt.proto in wanted) else NO
    elif kind == "nfproto":
        result = YES if pkt.family in values else NO
    elif kind == "saddr":
        if pkt.src == "internet":
            # an arbitrary outside address is in no named range, unless it is everything
            result = YES if _is_everything(values) else NO
        else:
            result = _in_ranges(pkt.src, values)
    elif kind == "daddr":
        if pkt.daddr is not None:
            result = _in_ranges(pkt.daddr, values)
        elif pkt.forward:
            result = MAYBE                  # a container whose address is not known
        else:
            result = _host_address(values, pkt)
    elif kind == "ctorigdst":
        if not pkt.forward and pkt.daddr is not None:
            result = _in_ranges(pkt.daddr, values)
        else:
            result = _host_address(values, pkt)
    elif kind in ("iif", "oif"):
        name = pkt.iif if kind == "iif" else pkt.oif
        if name is not None:
            result = YES if any(_iface_matches(name, v) for v in values) else NO
        elif kind == "oif":
            # forward path, the container's bridge unknown: a Docker bridge "maybe"
            result = MAYBE if any(_DOCKER_BRIDGE.match(v) for v in values) else NO
        elif any(v in ("+", "*") for v in values):
            result = YES
        else:
            # "the external interface": any name that is not internal
            result = NO if all(is_internal_interface(v) for v in values) else YES
    elif kind == "dport":
        result = _port_in(pkt.dport, values)
    elif kind == "sport":
        result = MAYBE                      # the attacker picks the source port
    elif kind == "anyport":
        result = YES if _port_in(pkt.dport, values) == YES else MAYBE
    elif kind == "ctorigdport":
        result = _port_in(pkt.orig_dport if pkt.forward else pkt.dport, values)
    elif kind == "ctstate":
        result = YES if set(values) & set(pkt.states) else NO
    elif kind == "ctstatus":
        result = YES if set(values) & set(pkt.statuses) else NO
    elif kind == "ctdir":
        result = YES if ("REPLY" if pkt.reply else "ORIGINAL") in values else NO
    elif kind == "srcset":
        result = NO if pkt.src == "internet" else MAYBE   # an arbitrary address: no list
    elif kind == "dstset":
        result = MAYBE
    elif kind == "namedset":
        selector, name = values[0], values[1]
        elements = (pkt.sets or {}).get(name)
        if elements is None:
            result = MAYBE
        elif selector in ("dport", "ctorigdport"):
            port = pkt.orig_dport if selector == "ctorigdport" and pkt.forward else pkt.dport
            result = _port_in(port, nft_ports(elements))
        elif selector in ("iif", "oif", "proto"):
            result = _cond(Cond(selector, elements), pkt)
        elif selector == "ctstate":
            result = _cond(Cond(selector, tuple(e.upper() for e in elements)), pkt)
        else:
            result = MAYBE
    elif kind == "addrtype_src":
        if pkt.iif == "lo" and pkt.src != "internet":
            result = YES if ("LOCAL" in values or "UNICAST" in values) else NO
        else:
            result = YES if "UNICAST" in values else NO
    elif kind == "addrtype_dst":
        if pkt.forward:
            result = YES if "UNICAST" in values else NO
        else:
            result = YES if ("LOCAL" in values or "UNICAST" in values) else NO
    elif kind == "pkttype":
        result = YES if ("unicast" in values or "host" in values) else NO
    elif kind == "syn":
        result = YES if (pkt.proto == "tcp" and not pkt.reply
                         and "NEW" in pkt.states) else NO
    elif kind == "rpf_fail":
        result = NO                         # a routed outside source passes the check
    elif kind == "vmap":
        return YES                          # the action carries the decision
    else:
        return MAYBE
    return _not(result) if cond.negated else result


def _match(rule: FwRule, pkt: Packet) -> str:
    overall = YES
    for cond in rule.conds:
        if cond.kind == "vmap":
            continue
        result = _cond(cond, pkt)
        if result == NO:
            return NO
        if result == MAYBE:
            overall = MAYBE
    return overall


_DOCKER_CHAIN = re.compile(r"^DOCKER(?!-USER$)")


class _Walker:
    def __init__(self, table: FwTable, pkt: Packet, docker_chains_accept: bool):
        self.table = table
        self.pkt = pkt
        self.docker_chains_accept = docker_chains_accept

    def walk(self, name: str, depth: int = 0) -> dict[str, FwRule | str]:
        """outcome → the first rule (or text) that produced it; outcomes: accept, drop,
        return (fell off the end or RETURN)."""
        outcomes: dict[str, FwRule | str] = {}
        chain = self.table.chains.get(name)
        if chain is None or depth > 32:
            outcomes["return"] = f"chain {name} not found"
            return outcomes
        for rule in chain.rules:
            matched = _match(rule, self.pkt)
            if matched == NO:
                continue
            results = self._action(rule, depth)
            if matched == MAYBE:
                results.setdefault("continue", rule)
            for outcome, why in results.items():
                if outcome != "continue":
                    outcomes.setdefault(outcome, why)
            if "continue" not in results:
                return outcomes
        outcomes.setdefault("return", f"end of chain {name}")
        return outcomes

    def _action(self, rule: FwRule, depth: int) -> dict[str, FwRule | str]:
        action = rule.action
        if action == "accept":
            return {"accept": rule}
        if action in ("drop", "reject"):
            return {"drop": rule}
        if action == "return":
            return {"return": rule}
        if action == "queue":
            return {"accept": rule, "drop": rule}
        if action == "vmap":
            return self._vmap(rule, depth)
        if action in ("jump", "goto"):
            if self.docker_chains_accept and _DOCKER_CHAIN.match(rule.target):
                return {"accept": f"Docker's chain {rule.target} accepts published ports"}
            if rule.target not in self.table.chains:
                return {"continue": rule}
            sub = self.walk(rule.target, depth + 1)
            out: dict[str, FwRule | str] = {}
            after_user = "continue" if action == "jump" else "return"
            if self.docker_chains_accept and rule.target == "DOCKER-USER":
                after_user = "accept"     # what DOCKER-USER lets through, Docker accepts
            for outcome, why in sub.items():
                if outcome == "return":
                    out[after_user] = (why if after_user != "accept" else
                                       "DOCKER-USER lets it through (nothing in it drops it), "
                                       "then Docker's rules accept it")
                else:
                    out[outcome] = why
            return out
        return {"continue": rule}

    def _vmap(self, rule: FwRule, depth: int) -> dict[str, FwRule | str]:
        cond = next(c for c in rule.conds if c.kind == "vmap")
        selector, pairs = cond.values[0], [p.partition("=")[::2] for p in cond.values[1:]]
        if selector == "unknown":
            return {"continue": rule, "accept": rule, "drop": rule}
        out: dict[str, FwRule | str] = {}
        matched_any = False
        for key, verdict in pairs:
            probe = Cond(selector, nft_ports((key,)) if selector == "dport" else
                         ((key.upper(),) if selector == "ctstate" else (key,)))
            result = _cond(probe, self.pkt)
            if result == NO:
                continue
            words = verdict.split()
            sub = FwRule(rule.chain, [], words[0], words[1] if len(words) > 1 else "",
                         rule.text, rule.line)
            for outcome, why in self._action(sub, depth).items():
                out.setdefault(outcome, why if not isinstance(why, FwRule) or why is not sub
                               else rule)
            if result == YES:
                matched_any = True
                break
        if not matched_any:
            out.setdefault("continue", rule)
        return out


def family_tables(firewall: Firewall, family: str) -> list[FwTable]:
    """The tables an `ipv4`/`ipv6` packet traverses: its own family's and `inet`."""
    wanted = ("ip", "inet") if family == "ipv4" else ("ip6", "inet")
    return [t for t in firewall.tables if t.family in wanted]


def _describe(why: FwRule | str, table: FwTable) -> str:
    if isinstance(why, FwRule):
        where = f"{table.source} line {why.line}" if why.line else table.source
        return f"{why.text} ({where})"
    return f"{why} ({table.source})"


def evaluate(firewall: Firewall, pkt: Packet, *, prerouting: Packet | None = None,
             docker_chains_accept: bool = False) -> Decision:
    """The fate of `pkt` through every base chain of its hooks. On the forward path,
    `prerouting` is the same packet before DNAT (what raw/mangle PREROUTING see)."""
    steps: list[tuple[Packet, str]] = []
    if pkt.forward:
        if prerouting is not None:
            steps.append((prerouting, "prerouting"))
        steps.append((pkt, "forward"))
    else:
        steps.extend(((pkt, "prerouting"), (pkt, "input")))
    possible: set[str] = set()
    reasons: list[str] = []
    deciding: list[FwRule] = []
    passes = True
    accept_reasons: list[str] = []
    for packet, hook in steps:
        for table in family_tables(firewall, packet.family):
            if table.docker_managed:
                continue              # Docker's own nftables rules accept what it publishes
            for chain in table.chains.values():
                if chain.hook != hook or chain.type != "filter":
                    continue
                walker = _Walker(table, _with_sets(packet, table), docker_chains_accept)
                outcomes = walker.walk(chain.name)
                if "return" in outcomes:
                    policy = chain.policy or "accept"
                    why = outcomes.pop("return")
                    policy_text = f"{table.name} {chain.name} policy {policy.upper()}"
                    outcomes.setdefault("drop" if policy == "drop" else "accept", policy_text)
                if "drop" in outcomes:
                    why = outcomes["drop"]
                    possible.add(DROP)
                    reasons.append(_describe(why, table))
                    if isinstance(why, FwRule):
                        deciding.append(why)
                if "accept" not in outcomes:
                    passes = False
                    break
                why = outcomes["accept"]
                accept_reasons.append(_describe(why, table))
                if isinstance(why, FwRule):
                    deciding.append(why)
            if not passes:
                break
        if not passes:
            break
    if passes:
        possible.add(ACCEPT)
    if possible == {DROP}:
        return Decision(DROP, reasons, deciding)
    if possible == {ACCEPT}:
        # the last hook's reason first: the input/forward chain, not a prerouting pass-through
        return Decision(ACCEPT, accept_reasons[::-1] or ["no firewall rule on this path"],
                        deciding)
    return Decision(UNCERTAIN, reasons + accept_reasons, deciding)


def _with_sets(pkt: Packet, table: FwTable) -> Packet:
    if not table.sets:
        return pkt if pkt.sets is None else replace(pkt, sets=None)
    return replace(pkt, sets=table.sets)


def external_interfaces(interfaces: tuple[str, ...] | None) -> list[str | None]:
    """The interfaces an outside packet may arrive on: the host's non-internal ones, or
    [None] ("the external interface") when they are unknown."""
    if not interfaces:
        return [None]
    found = [i for i in interfaces if not is_internal_interface(i)]
    return found or [None]


def combine(decisions: list[Decision]) -> Decision:
    """Over several interfaces: accepted if any accepts, dropped only if all drop."""
    if any(d.accepted for d in decisions):
        return next(d for d in decisions if d.accepted)
    if all(d.dropped for d in decisions):
        return decisions[0]
    return next(d for d in decisions if d.verdict == UNCERTAIN)
