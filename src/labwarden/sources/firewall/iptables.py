"""`iptables-save` and `ip6tables-save` output parsed into the firewall model: one table per
`*table` block, its chains with their policies, and each `-A` rule's matches as conditions
(a match the evaluator cannot decide becomes an `unknown` condition, never dropped)."""

from __future__ import annotations

import re
import shlex

from labwarden.sources.firewall._ports import iptables_ports
from labwarden.sources.firewall.model import Cond, FwChain, FwRule, FwTable

_BUILTIN_HOOKS = {
    "PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward", "OUTPUT": "output",
    "POSTROUTING": "postrouting",
}
TABLE_TYPES = {"filter": "filter", "raw": "filter", "mangle": "filter", "security": "filter",
                "nat": "nat"}
_VERDICT_TARGETS = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return",
                    "NFQUEUE": "queue", "QUEUE": "queue"}
_NAT_TARGETS = frozenset({"SNAT", "MASQUERADE", "REDIRECT", "NETMAP"})


def parse_iptables_save(text: str, command: str = "iptables-save") -> list[FwTable]:
    family = "ip6" if command.startswith("ip6") else "ip"
    tables: list[FwTable] = []
    table: FwTable | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = FwTable(family, line[1:].strip(), command)
            tables.append(table)
            continue
        if table is None:
            continue
        if line == "COMMIT":
            table = None
            continue
        if line.startswith(":"):
            name, _, rest = line[1:].partition(" ")
            policy = rest.split()[0] if rest.split() else "-"
            hook = _BUILTIN_HOOKS.get(name) if policy != "-" else None
            table.chains[name] = FwChain(
                name, hook, TABLE_TYPES.get(table.name, "other"),
                None if policy == "-" else policy.lower(), line=number)
            continue
        if line.startswith("["):          # iptables-save -c: "[packets:bytes] -A …"
            line = line.partition("]")[2].strip()
        if not line.startswith("-A "):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        rule = _parse_iptables_rule(tokens, number, line, table.chains)
        if rule is None:
            continue
        chain = table.chains.get(rule.chain)
        if chain is None:
            chain = table.chains[rule.chain] = FwChain(rule.chain, None,
                                                       TABLE_TYPES.get(table.name, "other"))
        chain.rules.append(rule)
    return tables


# Options taking no value (flags) in the modules iptables-save prints.
_FLAGS = frozenset({"--syn", "--rcheck", "--update", "--set", "--remove", "--rsource",
                    "--rdest", "--reap", "--limit-iface-in", "--limit-iface-out",
                    "--return-nomatch", "--update-counters", "--update-subcounters",
                    "--kerneltz", "--invert", "--nodst", "--physdev-is-in", "--physdev-is-out",
                    "--physdev-is-bridged", "--socket-exact", "--transparent", "--nowildcard",
                    "--restore-skgid", "--ipv4", "--ipv6", "-4", "-6", "--fragment",
                    "--dst-group", "--log-uid", "--log-tcp-sequence", "--log-tcp-options",
                    "--log-ip-options", "--log-macdecode", "--random", "--random-fully",
                    "--persistent", "--notrack", "--rttl", "--ctstate-inv", "--fragres",
                    "--fragfirst", "--fragmore", "--fraglast"})
# Matches whose conditions the evaluator cannot decide.
_UNDECIDABLE_MODULES = frozenset({
    "limit", "hashlimit", "recent", "connlimit", "connbytes", "string", "length", "ttl", "hl",
    "mark", "connmark", "owner", "physdev", "u32", "bpf", "time", "statistic", "policy",
    "socket", "helper", "quota", "realm", "dscp", "tos", "ecn", "cgroup", "devgroup", "rpfilter",
    "nfacct", "cpu", "cluster", "ipvs", "osf", "rateest", "ipcomp", "esp", "ah", "frag", "rt",
    "hbh", "dst", "mh", "ipv6header", "eui64", "tcpmss", "l2tp", "sctp", "dccp", "udplite",
    "set_counters", "connlabel", "comment_none"})


def _parse_iptables_rule(tokens: list[str], number: int, line: str,
                         chains: dict[str, FwChain]) -> FwRule | None:
    if len(tokens) < 2:
        return None
    chain = tokens[1]
    conds: list[Cond] = []
    action, target = "continue", ""
    module = ""
    i = 2
    negate = False
    while i < len(tokens):
        token = tokens[i]
        if token == "!":
            negate = True
            i += 1
            continue
        if token in ("-j", "--jump", "-g", "--goto"):
            name = tokens[i + 1] if i + 1 < len(tokens) else ""
            i += 2
            if token in ("-g", "--goto"):
                action, target = "goto", name
            elif name in _VERDICT_TARGETS:
                action, target = _VERDICT_TARGETS[name], name
            elif name == "DNAT":
                action, target = "dnat", _option_value(tokens, "--to-destination") or ""
            elif name in _NAT_TARGETS:
                action, target = "nat", name
            elif name in chains:
                action, target = "jump", name
            elif name in ("LOG", "NFLOG", "ULOG"):
                action, target = "log", name
            else:                         # an extension target (MARK, CT, TCPMSS…)
                action, target = "other", name
            break                     # the target's own options follow
        # value(s) of this option: tokens up to the next option or "!"
        j = i + 1
        start = j
        if token not in _FLAGS:
            if j < len(tokens) and tokens[j] == "!":      # old syntax: "-s ! 1.2.3.4"
                negate, j, start = True, j + 1, j + 1
            while j < len(tokens) and tokens[j] != "!" and not _is_option(tokens[j]):
                j += 1
        values = tokens[start:j]
        _iptables_condition(conds, module, token, values, negate)
        if token in ("-m", "--match"):
            module = values[0] if values else ""
        negate = False
        i = j
    return FwRule(chain, conds, action, target, line, number)


def _is_option(token: str) -> bool:
    if not token.startswith("-") or token == "-":
        return False
    return not re.match(r"^-\d", token)


def _option_value(tokens: list[str], option: str) -> str | None:
    for index, token in enumerate(tokens[:-1]):
        if token == option:
            return tokens[index + 1]
    return None


def _iptables_condition(conds: list[Cond], module: str, option: str, values: list[str],
                        negate: bool) -> None:
    first = values[0] if values else ""
    add = conds.append
    if option in ("-m", "--match"):
        if first in _UNDECIDABLE_MODULES:
            add(Cond("unknown", (first,)))
        return
    if option in ("-p", "--protocol"):
        add(Cond("proto", (first.lower(),), negate))
    elif option in ("-s", "--source", "--src"):
        add(Cond("saddr", tuple(first.split(",")), negate))
    elif option in ("-d", "--destination", "--dst"):
        add(Cond("daddr", tuple(first.split(",")), negate))
    elif option in ("-i", "--in-interface"):
        add(Cond("iif", (first,), negate))
    elif option in ("-o", "--out-interface"):
        add(Cond("oif", (first,), negate))
    elif option in ("-f", "--fragment"):
        add(Cond("unknown", ("fragment",), negate))
    elif option in ("--dport", "--destination-port", "--dports", "--destination-ports"):
        add(Cond("dport", iptables_ports(first), negate))
    elif option in ("--sport", "--source-port", "--sports", "--source-ports"):
        add(Cond("sport", iptables_ports(first), negate))
    elif option == "--ports":
        add(Cond("anyport", iptables_ports(first), negate))
    elif option in ("--state", "--ctstate"):
        add(Cond("ctstate", tuple(s.upper() for s in first.split(",")), negate))
    elif option == "--ctstatus":
        add(Cond("ctstatus", tuple(s.upper() for s in first.split(",")), negate))
    elif option == "--ctorigdstport":
        add(Cond("ctorigdport", iptables_ports(first), negate))
    elif option == "--ctorigdst":
        add(Cond("ctorigdst", tuple(first.split(",")), negate))
    elif option == "--ctorigsrc":
        add(Cond("saddr", tuple(first.split(",")), negate))
    elif option == "--ctdir":
        add(Cond("ctdir", (first.upper(),), negate))
    elif option == "--ctproto":
        add(Cond("proto", (first.lower(),), negate))
    elif option == "--src-type":
        add(Cond("addrtype_src", tuple(first.upper().split(",")), negate))
    elif option == "--dst-type":
        add(Cond("addrtype_dst", tuple(first.upper().split(",")), negate))
    elif option == "--match-set":
        direction = values[1] if len(values) > 1 else "src"
        kind = "srcset" if direction.split(",")[0] == "src" else "dstset"
        add(Cond(kind, (first,), negate))
    elif option == "--src-range":
        add(Cond("saddr", (first,), negate))
    elif option == "--dst-range":
        add(Cond("daddr", (first,), negate))
    elif option == "--mac-source":
        add(Cond("srcset", (f"mac:{first}",), negate))
    elif option in ("--src-cc", "--source-country"):
        add(Cond("srcset", (f"geoip:{first}",), negate))
    elif option == "--dst-cc":
        add(Cond("dstset", (f"geoip:{first}",), negate))
    elif option == "--pkt-type":
        add(Cond("pkttype", (first.lower(),), negate))
    elif option == "--syn":
        add(Cond("syn", (), negate))
    elif option == "--tcp-flags":
        mask, comp = (values + ["", ""])[:2]
        syn_only = set(comp.upper().split(",")) == {"SYN"} and "SYN" in mask.upper()
        add(Cond("syn", (), negate) if syn_only else Cond("unknown", ("tcp-flags",)))
    elif option in ("--icmp-type", "--icmpv6-type"):
        pass                             # the protocol condition decides for tcp/udp
    elif option in ("--comment",):
        pass
    else:                                # an option the evaluator cannot decide
        add(Cond("unknown", (option,)))
