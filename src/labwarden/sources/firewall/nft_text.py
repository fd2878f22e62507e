"""`nft list ruleset` (the text nftables prints) parsed into the firewall model: tables,
chains with their hooks and policies, named sets, and each rule's expressions as conditions.
Kept for snapshots that hold only the text; a host that has `nft -j` is read through
`nft_json`, which yields the same model."""

from __future__ import annotations

import re

from labwarden.sources.firewall.model import Cond, FwChain, FwRule, FwTable
from labwarden.sources.firewall.nft_common import (
    FAMILY_OF_SELECTOR,
    PROTO_OF_SELECTOR,
    SELECTORS,
    VMAP_SELECTORS,
    match_conds,
)

_NFT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\{|\}|[^\s{}]+')
_NFT_VERDICTS = {"accept": "accept", "drop": "drop", "reject": "reject", "return": "return",
                 "continue": "continue", "queue": "queue"}


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


# selectors nft prints without their `meta` prefix
_NFT_SINGLE = {"iifname": "iif", "oifname": "oif", "iif": "iif", "oif": "oif",
               "pkttype": "pkttype", "l4proto": "proto"}
_OPERATORS = {"==": False, "!=": True, "eq": False, "ne": True}


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
        if token == "notrack":           # a statement: changes nothing the evaluator decides
            i += 1
            continue
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
        if (token, nxt) in SELECTORS:
            selector = SELECTORS[(token, nxt)]
            family = FAMILY_OF_SELECTOR.get(token)
            proto = PROTO_OF_SELECTOR.get(token)
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
            # `& (fin|syn|rst|ack) == syn` as written, `syn / fin,syn,rst,ack` as nft prints it
            if re.fullmatch(r"(& \(?[a-z|, ]+\)? )?== syn|syn( / [a-z,|]*syn[a-z,|]*)?", text):
                conds.append(Cond("syn", ()))
            elif re.fullmatch(r"(& \(?[a-z|, ]+\)? )?!= syn|!= syn / [a-z,|]*syn[a-z,|]*", text):
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
        if value == "vmap":
            if proto:
                conds.append(Cond("proto", (proto,)))
            break
        set_name = value[1:] if value.startswith("@") else None
        conds.extend(match_conds(selector, _nft_values(value) if set_name is None else (),
                                 negated, family=family, proto=proto, set_name=set_name))
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
    selector = VMAP_SELECTORS.get(tuple(before))
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
