"""Host firewall rulesets: `iptables-save`, `ip6tables-save` and `nft list ruleset`, parsed
into one model, and a small packet-path evaluator that answers "what happens to this packet"
the way netfilter would.

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

This module computes and never judges: `rules/firewall.py` decides what is a finding.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field

# --- the model -------------------------------------------------------------------------------


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


# --- iptables-save ---------------------------------------------------------------------------

_BUILTIN_HOOKS = {
    "PREROUTING": "prerouting", "INPUT": "input", "FORWARD": "forward", "OUTPUT": "output",
    "POSTROUTING": "postrouting",
}
_TABLE_TYPES = {"filter": "filter", "raw": "filter", "mangle": "filter", "security": "filter",
                "nat": "nat"}
_VERDICT_TARGETS = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "reject", "RETURN": "return",
                    "NFQUEUE": "queue", "QUEUE": "queue"}
_NAT_TARGETS = frozenset({"SNAT", "MASQUERADE", "REDIRECT", "NETMAP"})


def _ports(text: str) -> tuple[str, ...]:
    """`22`, `1000:2000`, `80,443` → ("22-22", "1000-2000", "80-80", "443-443")."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.replace("-", ":").partition(":")
        low_n, high_n = _port_number(low or "0"), _port_number(high or "65535") if sep else None
        if low_n is None:
            out.append(f"?{part}")
            continue
        out.append(f"{low_n}-{high_n if high_n is not None else low_n}")
    return tuple(out)


_SERVICES = {"ssh": 22, "http": 80, "https": 443, "domain": 53, "smtp": 25, "ftp": 21,
             "telnet": 23, "ntp": 123, "bootps": 67, "bootpc": 68, "dhcpv6-client": 546,
             "dhcpv6-server": 547, "mdns": 5353, "postgresql": 5432, "mysql": 3306,
             "http-alt": 8080, "imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995,
             "submission": 587, "smtps": 465, "microsoft-ds": 445, "netbios-ssn": 139,
             "snmp": 161, "rsync": 873, "ldap": 389, "ldaps": 636, "syslog": 514,
             "sunrpc": 111, "nfs": 2049, "openvpn": 1194, "ms-wbt-server": 3389,
             "redis": 6379, "isakmp": 500, "ipsec-nat-t": 4500}


def _port_number(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return _SERVICES.get(text.lower())


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
                name, hook, _TABLE_TYPES.get(table.name, "other"),
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
                                                       _TABLE_TYPES.get(table.name, "other"))
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
        add(Cond("dport", _ports(first), negate))
    elif option in ("--sport", "--source-port", "--sports", "--source-ports"):
        add(Cond("sport", _ports(first), negate))
    elif option == "--ports":
        add(Cond("anyport", _ports(first), negate))
    elif option in ("--state", "--ctstate"):
        add(Cond("ctstate", tuple(s.upper() for s in first.split(",")), negate))
    elif option == "--ctstatus":
        add(Cond("ctstatus", tuple(s.upper() for s in first.split(",")), negate))
    elif option == "--ctorigdstport":
        add(Cond("ctorigdport", _ports(first), negate))
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
                    low, high = _span(span)
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


def _span(text: str) -> tuple[int | None, int]:
    if text.startswith("?"):
        return None, 0
    low, _, high = text.partition("-")
    return int(low), int(high or low)


# --- nft list ruleset ------------------------------------------------------------------------

_NFT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\{|\}|[^\s{}]+')
_NFT_VERDICTS = {"accept": "accept", "drop": "drop", "reject": "reject", "return": "return",
                 "continue": "continue", "queue": "queue"}
_IPTABLES_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})


def _brace_delta(line: str) -> int:
    depth = 0
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            depth += (char == "{") - (char == "}")
    return depth


def parse_nft(text: str) -> list[FwTable]:
    tables: list[FwTable] = []
    table: FwTable | None = None
    chain: FwChain | None = None
    skip_depth = 0                  # inside a set/map/flowtable/… block
    set_name: str | None = None
    set_text: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if skip_depth:
            skip_depth += _brace_delta(line)
            if set_name is not None:
                set_text.append(line)
            if skip_depth <= 0:
                skip_depth = 0
                if set_name is not None and table is not None:
                    table.sets[set_name] = _set_elements(" ".join(set_text))
                set_name = None
            continue
        words = line.split()
        if table is None:
            if words[0] == "table" and len(words) >= 3:
                family, name = words[1], words[2]
                if name == "{":                  # "table filter {": family ip by default
                    family, name = "ip", words[1]
                table = FwTable(family, name.strip('"'), "nft")
                tables.append(table)
            continue
        if chain is None:
            if line == "}":
                table = None
                continue
            if words[0] == "chain" and len(words) >= 2:
                chain = FwChain(words[1].strip('"'), None, "filter", None, line=number)
                table.chains[chain.name] = chain
                if _brace_delta(line) <= 0:       # "chain x { }" on one line
                    chain = None
                continue
            if words[0] in ("set", "map") and len(words) >= 2:
                set_name = words[1].strip('"') if words[0] == "set" else None
                set_text = [line]
                skip_depth = _brace_delta(line)
                if skip_depth <= 0:
                    skip_depth = 0
                    if set_name is not None:
                        table.sets[set_name] = _set_elements(line)
                    set_name = None
                continue
            # flowtable, ct helper, counter, quota, limit, secmark, synproxy objects
            depth = _brace_delta(line)
            if depth > 0:
                skip_depth = depth
                set_name = None
            continue
        # inside a chain
        if line == "}":
            chain = None
            continue
        if words[0] == "type" and "hook" in words:
            chain.type = words[1]
            chain.hook = words[words.index("hook") + 1].rstrip(";")
            policy = re.search(r"\bpolicy\s+(\w+)", line)
            chain.policy = policy.group(1) if policy else "accept"
            continue
        if words[0] in ("comment", "devices", "policy"):   # chain comments, netdev devices
            continue
        rule = _parse_nft_rule(chain.name, line, number)
        if rule is not None:
            chain.rules.append(rule)
    return tables


def _set_elements(text: str) -> tuple[str, ...]:
    match = re.search(r"elements\s*=\s*\{([^}]*)\}", text)
    if not match:
        return ()
    return tuple(e.strip().strip('"') for e in match.group(1).replace("\n", " ").split(",")
                 if e.strip())


def _nft_tokens(line: str) -> list[str]:
    tokens: list[str] = []
    raw = _NFT_TOKEN.findall(line)
    i = 0
    while i < len(raw):
        if raw[i] == "{":
            depth, j, items = 1, i + 1, []
            while j < len(raw) and depth:
                if raw[j] == "{":
                    depth += 1
                elif raw[j] == "}":
                    depth -= 1
                    if not depth:
                        break
                items.append(raw[j])
                j += 1
            tokens.append("{" + " ".join(items) + "}")
            i = j + 1
        else:
            tokens.append(raw[i])
            i += 1
    return tokens


def _nft_values(token: str) -> tuple[str, ...]:
    """`{ 80, 443 }` → ("80", "443"); `"lo"` → ("lo",); `established,related` → (…)."""
    if token.startswith("{"):
        inner = token[1:-1]
        return tuple(v.strip().strip('"') for v in inner.split(",") if v.strip())
    return tuple(v.strip('"') for v in token.split(",") if v)


def _nft_ports(values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        low, sep, high = value.partition("-")
        low_n = _port_number(low)
        high_n = _port_number(high) if sep else low_n
        out.append(f"{low_n}-{high_n}" if low_n is not None and high_n is not None
                   else f"?{value}")
    return tuple(out)


# nft selector (one or two words) → condition kind
_NFT_SELECTORS = {
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
_NFT_SINGLE = {"iifname": "iif", "oifname": "oif", "iif": "iif", "oif": "oif",
               "pkttype": "pkttype", "l4proto": "proto"}
_PROTO_OF_SELECTOR = {"tcp": "tcp", "udp": "udp", "sctp": "sctp", "udplite": "udplite"}
_FAMILY_OF_SELECTOR = {"ip": "ipv4", "ip6": "ipv6", "icmp": "ipv4", "icmpv6": "ipv6"}
_OPERATORS = {"==": False, "!=": True, "eq": False, "ne": True}
_NON_TERMINAL_STATEMENTS = frozenset({"counter", "log", "notrack", "meta", "ct", "mark",
                                      "nftrace", "flow", "dup", "fwd", "synproxy", "set",
                                      "update", "add", "tproxy", "secmark", "xt"})


def _parse_nft_rule(chain: str, line: str, number: int) -> FwRule | None:
    tokens = _nft_tokens(line)
    # drop trailing `comment "…"` and handles
    cleaned: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in ("comment",) and i + 1 < len(tokens):
            i += 2
            continue
        if tokens[i] == "#":
            break
        cleaned.append(tokens[i])
        i += 1
    tokens = cleaned
    conds: list[Cond] = []
    action, target = "continue", ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        # verdicts
        if token in _NFT_VERDICTS:
            action, target = _NFT_VERDICTS[token], token
            if token in ("reject", "queue"):
                break
            i += 1
            continue
        if token in ("jump", "goto") and nxt:
            action, target = token, nxt.strip('"')
            i += 2
            continue
        if token == "dnat":
            rest = tokens[i + 1:]
            if rest[:1] in (["ip"], ["ip6"]):
                rest = rest[1:]
            if rest[:1] == ["to"]:
                rest = rest[1:]
            action, target = "dnat", rest[0] if rest else ""
            break
        if token in ("snat", "masquerade", "redirect"):
            action, target = "nat", token
            break
        if token == "counter":
            i += 1
            while i < len(tokens) and tokens[i] in ("packets", "bytes"):
                i += 2
            continue
        if token == "log":
            i += 1
            while i < len(tokens) and tokens[i] in ("prefix", "level", "flags", "group",
                                                    "snaplen", "queue-threshold"):
                i += 2
            if action == "continue":
                action, target = "log", "log"
            continue
        if token == "limit":
            conds.append(Cond("unknown", ("limit",)))
            i += 1
            while i < len(tokens) and tokens[i] not in _NFT_VERDICTS and \
                    tokens[i] not in ("counter", "log", "jump", "goto"):
                i += 1
            continue
        if token == "vmap" or nxt == "vmap":
            break                         # handled by the caller through _nft_vmap
        # two-word selectors, e.g. "tcp dport", "ct state", "ip saddr"
        selector = None
        if (token, nxt) in _NFT_SELECTORS:
            selector = _NFT_SELECTORS[(token, nxt)]
            family = _FAMILY_OF_SELECTOR.get(token)
            proto = _PROTO_OF_SELECTOR.get(token)
            i += 2
        elif token in _NFT_SINGLE:
            selector = _NFT_SINGLE[token]
            family = proto = None
            i += 1
        elif token == "ct" and nxt == "original":
            # ct original ip daddr X | ct original proto-dst P
            rest = tokens[i + 2:i + 4]
            if rest[:1] == ["proto-dst"]:
                selector, i = "ctorigdport", i + 3
            elif rest[:2] in (["ip", "daddr"], ["ip6", "daddr"]):
                selector, i = "ctorigdst", i + 4
            elif rest[:2] in (["ip", "saddr"], ["ip6", "saddr"]):
                selector, i = "saddr", i + 4
            else:
                conds.append(Cond("unknown", ("ct original",)))
                i += 3
                continue
            family = proto = None
        elif token == "fib":
            # fib daddr type local | fib saddr . iif oif missing
            j = i + 1
            words = []
            while j < len(tokens) and tokens[j] not in _NFT_VERDICTS and \
                    tokens[j] not in ("counter", "log", "jump", "goto"):
                words.append(tokens[j])
                j += 1
            text = " ".join(words)
            match = re.fullmatch(r"daddr type (!= )?(\{[^}]*\}|\S+)", text)
            if match:
                conds.append(Cond("addrtype_dst", tuple(v.upper() for v in _nft_values(
                    match.group(2))), bool(match.group(1))))
            elif re.fullmatch(r"saddr( \. \w+)* oif (missing|0)", text):
                conds.append(Cond("rpf_fail", ()))
            elif re.fullmatch(r"saddr( \. \w+)* oif (!= )?(missing|0)", text) or \
                    re.fullmatch(r"saddr( \. iif)? oif exists", text):
                pass                       # reverse path check passes for a routed source
            else:
                conds.append(Cond("unknown", ("fib",)))
            i = j
            continue
        elif token in ("icmp", "icmpv6") and nxt in ("type", "code"):
            conds.append(Cond("proto", ("icmp" if token == "icmp" else "ipv6-icmp",)))
            i += 3
            continue
        elif token in ("tcp",) and nxt == "flags":
            j = i + 2
            words = []
            while j < len(tokens) and tokens[j] not in _NFT_VERDICTS and tokens[j] not in (
                    "counter", "log", "jump", "goto", "ct", "ip", "ip6", "meta", "tcp", "udp",
                    "limit", "iifname", "oifname"):
                words.append(tokens[j])
                j += 1
            text = " ".join(words)
            conds.append(Cond("proto", ("tcp",)))
            if re.fullmatch(r"(& \(?[a-z|, ]+\)? )?== syn", text) or text == "syn":
                conds.append(Cond("syn", ()))
            elif re.fullmatch(r"(& \(?[a-z|, ]+\)? )?!= syn", text):
                conds.append(Cond("syn", (), True))
            else:
                conds.append(Cond("unknown", ("tcp flags",)))
            i = j
            continue
        elif token in ("meta", "ct") and nxt in ("mark", "skuid", "skgid", "cgroup",
                                                 "helper", "count", "label", "expiration",
                                                 "zone", "cpu", "length", "priority",
                                                 "random", "time", "day", "hour"):
            # a mark/owner/… match, or a `… set …` statement
            j = i + 2
            is_statement = j < len(tokens) and tokens[j] == "set"
            while j < len(tokens) and tokens[j] not in _NFT_VERDICTS and tokens[j] not in (
                    "counter", "log", "jump", "goto"):
                j += 1
            if not is_statement:
                conds.append(Cond("unknown", (f"{token} {nxt}",)))
            i = j
            continue
        elif token in ("ip", "ip6", "tcp", "udp", "th", "meta", "ct", "ether", "vlan",
                       "arp", "rt", "exthdr", "frag", "ah", "esp", "comp", "sctp", "dccp",
                       "icmp", "icmpv6", "igmp", "osf", "socket", "ipsec", "numgen",
                       "jhash", "symhash", "dscp", "xt", "ip6exthdr", "hbh", "dst", "mh",
                       "srh", "tunnel", "@nh", "@th", "@ll", "@ih"):
            # another header field: undecidable; skip its operands
            conds.append(Cond("unknown", (f"{token} {nxt}",)))
            j = i + 2
            while j < len(tokens) and tokens[j] not in _NFT_VERDICTS and tokens[j] not in (
                    "counter", "log", "jump", "goto", "ct", "ip", "ip6", "meta", "tcp", "udp",
                    "th", "limit", "iifname", "oifname", "iif", "oif", "fib", "dnat", "snat",
                    "masquerade"):
                j += 1
            i = j
            continue
        else:
            conds.append(Cond("unknown", (token,)))
            i += 1
            continue
        # operator and value
        negated = False
        if i < len(tokens) and tokens[i] in _OPERATORS:
            negated = _OPERATORS[tokens[i]]
            i += 1
        if i >= len(tokens):
            break
        value = tokens[i]
        i += 1
        if proto:
            conds.append(Cond("proto", (proto,)))
        if value == "vmap":
            break
        if family and selector in ("saddr", "daddr", "proto"):
            conds.append(Cond("nfproto", (family,)))
        if value.startswith("@"):            # a named set: of addresses, ports, names…
            if selector in ("saddr", "daddr"):
                kind = "srcset" if selector == "saddr" else "dstset"
                conds.append(Cond(kind, (value[1:],), negated))
            else:
                conds.append(Cond("namedset", (selector, value[1:]), negated))
            continue
        values = _nft_values(value)
        if selector in ("dport", "sport", "ctorigdport"):
            values = _nft_ports(values)
        elif selector in ("ctstate", "ctstatus", "ctdir"):
            values = tuple(v.upper() for v in values)
        elif selector in ("iif", "oif"):
            values = tuple(v[:-1] + "+" if v.endswith("*") else v for v in values)
        elif selector == "nfproto":
            values = tuple({"ip": "ipv4", "ip6": "ipv6"}.get(v, v) for v in values)
        elif selector == "nfproto_ether":
            selector = "nfproto"
            values = tuple({"ip": "ipv4", "ip6": "ipv6"}.get(v, v) for v in values)
        elif selector == "proto":
            values = tuple(v.lower() for v in values)
        conds.append(Cond(selector, values, negated))
    vmap = _nft_vmap(tokens)
    if vmap is not None:
        selector, pairs = vmap
        conds.append(Cond("vmap", (selector,) + tuple(f"{k}={v}" for k, v in pairs)))
        action, target = "vmap", selector
    return FwRule(chain, conds, action, target, line, number)


def _nft_vmap(tokens: list[str]) -> tuple[str, list[tuple[str, str]]] | None:
    if "vmap" not in tokens:
        return None
    index = tokens.index("vmap")
    if index + 1 >= len(tokens):
        return None
    before = tokens[max(0, index - 2):index]
    selector = {("ct", "state"): "ctstate", ("tcp", "dport"): "dport",
                ("udp", "dport"): "dport", ("th", "dport"): "dport",
                ("meta", "iifname"): "iif", ("meta", "l4proto"): "proto",
                ("ip", "protocol"): "proto"}.get(tuple(before))
    if selector is None and before[-1:] in (["iifname"], ["iif"]):
        selector = "iif"
    body = tokens[index + 1]
    if not body.startswith("{"):
        return ("unknown", [])
    pairs = []
    for item in body[1:-1].split(","):
        key, sep, verdict = item.partition(":")
        if sep:
            pairs.append((key.strip().strip('"'), verdict.strip()))
    return (selector or "unknown", pairs)


def parse_rulesets(iptables: str | None = None, ip6tables: str | None = None,
                   nft: str | None = None) -> Firewall:
    """The model from whatever outputs were collected (None: that command was not read).

    With iptables-nft, `nft list ruleset` shows the iptables tables a second time (tables
    `ip filter`, `ip6 nat`…); those copies are dropped when iptables-save was read, so a
    rule counts once."""
    firewall = Firewall()
    for text, command in ((iptables, "iptables-save"), (ip6tables, "ip6tables-save")):
        if text is not None:
            firewall.tables.extend(parse_iptables_save(text, command))
    if nft is not None:
        seen = {(t.family, t.name) for t in firewall.tables}
        for table in parse_nft(nft):
            if table.name in _IPTABLES_TABLES and (table.family, table.name) in seen:
                continue
            firewall.tables.append(table)
    firewall.dnats = docker_dnats(firewall.tables)
    return firewall


# --- the packet-path evaluator ---------------------------------------------------------------

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
        low, high = _span(span)
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
            result = _port_in(port, _nft_ports(elements))
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
            probe = Cond(selector, _nft_ports((key,)) if selector == "dport" else
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


def _family_tables(firewall: Firewall, family: str) -> list[FwTable]:
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
        for table in _family_tables(firewall, packet.family):
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
        return pkt if pkt.sets is None else _replace(pkt, sets=None)
    return _replace(pkt, sets=table.sets)


def _replace(pkt: Packet, **changes) -> Packet:
    from dataclasses import replace
    return replace(pkt, **changes)


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
                            low, high = _span(span)
                            if low is not None and high - low < 4096:
                                named.update(range(low, high + 1))
    for candidate in (47321, 51789, 39017, 28733, 61001, 12989, 33441):
        if candidate not in named:
            return candidate
    return next(p for p in range(20000, 65535) if p not in named)


def base_chains(firewall: Firewall, family: str, hook: str) -> list[tuple[FwTable, FwChain]]:
    return [(t, c) for t in _family_tables(firewall, family) for c in t.chains.values()
            if c.hook == hook and c.type == "filter" and not t.docker_managed]


def build_exposure(host_fact, services):
    """`labwarden.sources.live.host.build_exposure`, importable from here too (the host
    module imports this one, so the call is resolved when made)."""
    from labwarden.sources.live.host import build_exposure as build
    return build(host_fact, services)
