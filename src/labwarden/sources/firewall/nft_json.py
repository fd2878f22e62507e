"""`nft -j list ruleset` (libnftables' JSON) parsed into the firewall model: the same tables,
chains, sets and conditions `nft_text` reads from `nft list ruleset`, from a structure
instead of a text whose spelling changes between nftables versions.

The JSON carries no line numbers: a rule's `line` is 0 and its `text` is written back in
nft's syntax from the expressions, for the evidence. An expression this module does not know
becomes an `unknown` condition (the evaluator then answers "maybe"), never a guess; a document
that is not nft's JSON raises `NftJsonError` with where it went wrong."""

from __future__ import annotations

import json

from labwarden.sources.firewall.model import Cond, FwChain, FwRule, FwTable
from labwarden.sources.firewall.nft_common import (
    FAMILY_OF_SELECTOR,
    PROTO_OF_SELECTOR,
    SELECTORS,
    VMAP_SELECTORS,
    match_conds,
)


class NftJsonError(ValueError):
    """The text is not the JSON `nft -j list ruleset` prints."""


_VERDICTS = ("accept", "drop", "return", "continue")
_NAT_STATEMENTS = ("snat", "masquerade", "redirect")
# statements that change nothing the evaluator decides on
_SILENT_STATEMENTS = frozenset({"counter", "mangle", "notrack", "set", "map", "quota", "ct helper",
                                "ct timeout", "ct expectation", "dup", "fwd", "synproxy",
                                "tproxy", "secmark", "flow", "meter"})
_OPERATORS = {"==": False, "in": False, "!=": True}
# `ct original ip daddr` and friends: the key → the condition kind
_CT_ORIGINAL = {"proto-dst": "ctorigdport", "ip daddr": "ctorigdst", "ip6 daddr": "ctorigdst",
                "ip saddr": "saddr", "ip6 saddr": "saddr"}
# meta keys nft prints without their `meta` prefix
_BARE_META = frozenset({"iifname", "oifname", "iif", "oif"})


def parse_nft_json(text: str) -> list[FwTable]:
    """The tables of a `nft -j list ruleset` document."""
    objects = _objects(text)
    tables: dict[tuple[str, str], FwTable] = {}
    for index, item in enumerate(objects):
        if not isinstance(item, dict) or len(item) != 1:
            raise NftJsonError(f"nftables[{index}]: not a one-key object")
        kind, body = next(iter(item.items()))
        if kind == "metainfo":
            continue
        if not isinstance(body, dict):
            raise NftJsonError(f"nftables[{index}].{kind}: not an object")
        try:
            _add(kind, body, tables)
        except (KeyError, TypeError, AttributeError) as exc:
            raise NftJsonError(f"nftables[{index}].{kind}: unexpected shape "
                               f"({type(exc).__name__}: {exc})") from None
    return list(tables.values())


def _objects(text: str) -> list:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NftJsonError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    except RecursionError:
        raise NftJsonError("not JSON nft prints: nested too deeply") from None
    objects = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(objects, list):
        raise NftJsonError('not the output of `nft -j list ruleset`: no "nftables" list')
    return objects


def _add(kind: str, body: dict, tables: dict[tuple[str, str], FwTable]) -> None:
    if kind == "table":
        key = (body["family"], body["name"])
        tables.setdefault(key, FwTable(key[0], key[1], "nft"))
        return
    if kind not in ("chain", "rule", "set"):
        return                           # maps, flowtables, counters, quotas, ct helpers…
    table = tables.get((body["family"], body["table"]))
    if table is None:
        table = tables[(body["family"], body["table"])] = FwTable(
            body["family"], body["table"], "nft")
    if kind == "set":
        table.sets[body["name"]] = tuple(_text(e) for e in body.get("elem") or ())
    elif kind == "chain":
        chain = table.chains.setdefault(body["name"], FwChain(body["name"], None, "filter"))
        if body.get("hook"):
            chain.type = body.get("type", "filter")
            chain.hook = body["hook"]
            chain.policy = body.get("policy", "accept")
    else:
        name = body["chain"]
        chain = table.chains.setdefault(name, FwChain(name, None, "filter"))
        chain.rules.append(_rule(name, body.get("expr") or [], body.get("comment")))


def _rule(chain: str, exprs: list, comment: str | None = None) -> FwRule:
    conds: list[Cond] = []
    action, target = "continue", ""
    for expr in exprs:
        if not isinstance(expr, dict) or len(expr) != 1:
            conds.append(Cond("unknown", ("expression",)))
            continue
        kind, body = next(iter(expr.items()))
        if kind == "match":
            conds.extend(_match_conds(body))
        elif kind in _VERDICTS:
            action, target = kind, kind
        elif kind in ("jump", "goto"):
            action, target = kind, str(body.get("target", ""))
        elif kind in ("reject", "queue"):
            action, target = kind, kind
            break
        elif kind == "dnat":
            action, target = "dnat", _dnat_target(body)
            break
        elif kind in _NAT_STATEMENTS:
            action, target = "nat", kind
            break
        elif kind == "vmap":
            selector, pairs = _vmap(body)
            proto = _proto_of(body.get("key"))
            if proto:
                conds.append(Cond("proto", (proto,)))
            conds.append(Cond("vmap", (selector,) + tuple(f"{k}={v}" for k, v in pairs)))
            action, target = "vmap", selector
            break
        elif kind == "log":
            if action == "continue":
                action, target = "log", "log"
        elif kind == "limit":
            conds.append(Cond("unknown", ("limit",)))
        elif kind == "xt":               # an iptables match nft cannot translate: undecidable
            if isinstance(body, dict) and body.get("type") == "match":
                conds.append(Cond("unknown", (f"xt {body.get('name', '')}",)))
        elif kind not in _SILENT_STATEMENTS:
            conds.append(Cond("unknown", (kind,)))
    return FwRule(chain, conds, action, target, render(exprs, comment), 0)


def _match_conds(body: dict) -> list[Cond]:
    op, left, right = body.get("op", "=="), body.get("left"), body.get("right")
    negated = _OPERATORS.get(op)
    field = _field(left)
    if negated is None:                  # `<`, `>`…: a comparison the model does not hold
        return [Cond("unknown", (field or "match",))]
    if isinstance(left, dict) and "fib" in left:
        return _fib_conds(left["fib"], right, negated)
    if isinstance(left, dict) and "&" in left:
        return _flags_conds(left["&"], right, negated)
    if field in ("tcp flags",):
        return _flags_conds([left, None], right, negated)
    protocol, _, name = field.partition(" ")
    if protocol in ("icmp", "icmpv6") and name in ("type", "code"):
        return [Cond("proto", ("icmp" if protocol == "icmp" else "ipv6-icmp",))]
    selector = _selector(left)
    if selector is None:
        return [Cond("unknown", (_unknown_name(left),))]
    family = FAMILY_OF_SELECTOR.get(protocol) if "payload" in left else None
    proto = PROTO_OF_SELECTOR.get(protocol) if "payload" in left else None
    if isinstance(right, str) and right.startswith("@"):
        return match_conds(selector, (), negated, family=family, proto=proto,
                           set_name=right[1:])
    return match_conds(selector, _values(right), negated, family=family, proto=proto)


def _selector(left) -> str | None:
    """The condition kind of a match's left side, or None when the model has none."""
    if not isinstance(left, dict):
        return None
    if "payload" in left:
        payload = left["payload"]
        return SELECTORS.get((payload.get("protocol"), payload.get("field")))
    if "meta" in left:
        return SELECTORS.get(("meta", left["meta"].get("key")))
    if "ct" in left:
        ct = left["ct"]
        if ct.get("dir") == "original":
            return _CT_ORIGINAL.get(ct.get("key"))
        if ct.get("dir") is None:
            return SELECTORS.get(("ct", ct.get("key")))
    return None


def _field(expr) -> str:
    """`tcp dport`, `meta mark`, `ct state`: a header field or key as nft names it."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return ""
    kind, body = next(iter(expr.items()))
    if not isinstance(body, dict):
        return kind
    if kind == "payload":
        if "protocol" in body:
            return f"{body['protocol']} {body.get('field', '')}"
        return f"@{body.get('base', '')},{body.get('offset', '')},{body.get('len', '')}"
    if kind in ("meta", "ct", "rt", "socket", "osf", "ipsec"):
        key = body.get("key", "")
        return f"{kind} {body['dir']} {key}" if body.get("dir") else f"{kind} {key}"
    return kind


def _unknown_name(left) -> str:
    """How `nft_text` names the undecidable match it meets (`meta mark`, `ct original`)."""
    field = _field(left)
    words = field.split(" ")
    if words[0] == "ct" and len(words) > 2:
        return f"ct {words[1]}"
    if words[0] in ("meta", "ct") or len(words) == 2:
        return " ".join(words[:2])
    return field or "match"


def _fib_conds(fib: dict, right, negated: bool) -> list[Cond]:
    flags = list(fib.get("flags") or ())
    result = fib.get("result")
    if result == "type" and flags == ["daddr"]:
        return [Cond("addrtype_dst", tuple(v.upper() for v in _values(right)), negated)]
    if result == "oif" and flags[:1] == ["saddr"] and isinstance(right, bool):
        if right is False and not negated:           # `oif missing`: no route back
            return [Cond("rpf_fail", ())]
        return []                        # the reverse path check passes for a routed source
    return [Cond("unknown", ("fib",))]


def _flags_conds(operands: list, right, negated: bool) -> list[Cond]:
    """`tcp flags & (fin|syn|rst|ack) == syn` (or `tcp flags syn`): a SYN, or undecidable."""
    left = operands[0] if operands else None
    if _field(left) != "tcp flags":
        return [Cond("unknown", (_unknown_name(left),))]
    mask = operands[1] if len(operands) > 1 else None
    wanted = _values(right)
    in_mask = mask is None or "syn" in _values(mask)
    if wanted == ("syn",) and in_mask:
        return [Cond("proto", ("tcp",)), Cond("syn", (), negated)]
    return [Cond("proto", ("tcp",)), Cond("unknown", ("tcp flags",))]


def _proto_of(key) -> str | None:
    """The protocol a known header field implies (`tcp dport` → tcp)."""
    if not isinstance(key, dict) or not isinstance(key.get("payload"), dict):
        return None
    payload = key["payload"]
    if (payload.get("protocol"), payload.get("field")) not in SELECTORS:
        return None
    return PROTO_OF_SELECTOR.get(payload.get("protocol"))


def _vmap(body: dict) -> tuple[str, list[tuple[str, str]]]:
    key = body.get("key")
    selector = "unknown"
    if isinstance(key, dict) and len(key) == 1:
        kind, inner = next(iter(key.items()))
        if isinstance(inner, dict):
            name = inner.get("protocol") if kind == "payload" else kind
            field = inner.get("field") if kind == "payload" else inner.get("key")
            selector = VMAP_SELECTORS.get((name, field)) or (
                "iif" if kind == "meta" and field in ("iifname", "iif") else "unknown")
    data = body.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("set"), list):
        return "unknown", []                 # a named map: its verdicts are not known here
    pairs = []
    for pair in data["set"]:
        if isinstance(pair, list) and len(pair) == 2:
            pairs.append((_text(pair[0]), _verdict(pair[1])))
    return selector, pairs


def _verdict(expr) -> str:
    if isinstance(expr, dict) and len(expr) == 1:
        kind, body = next(iter(expr.items()))
        if kind in ("jump", "goto") and isinstance(body, dict):
            return f"{kind} {body.get('target', '')}"
        return kind
    return str(expr)


def _dnat_target(body: dict) -> str:
    """`172.17.0.2:80`, `[fd00::2]:80` or the bare address, as `nft_text` reads `dnat to`."""
    address = _text(body.get("addr", ""))
    port = body.get("port")
    if port is None:
        return address
    if ":" in address:
        address = f"[{address}]"
    return f"{address}:{_text(port)}"


def _values(right) -> tuple[str, ...]:
    if isinstance(right, dict) and "set" in right:
        right = right["set"]
    elif isinstance(right, dict) and "|" in right:          # flags written `fin | syn`
        right = right["|"]
    if isinstance(right, list):
        return tuple(_text(v) for v in right)
    return (_text(right),)


def _text(value) -> str:
    """One value as nft prints it: 22, 8000-8100, 10.0.0.0/8, "eth0", a . b."""
    if isinstance(value, bool):
        return "exists" if value else "missing"
    if isinstance(value, dict):
        if "range" in value:
            low, high = value["range"]
            return f"{_text(low)}-{_text(high)}"
        if "prefix" in value:
            return f"{value['prefix']['addr']}/{value['prefix']['len']}"
        if "elem" in value:              # an element with a timeout, counter or comment
            return _text(value["elem"].get("val"))
        if "concat" in value:
            return " . ".join(_text(v) for v in value["concat"])
        if "set" in value:
            return "{ " + ", ".join(_text(v) for v in value["set"]) + " }"
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


# --- the rule written back in nft's syntax, for the evidence --------------------------------

def render(exprs: list, comment: str | None = None) -> str:
    """A rule's expressions in (close to) the syntax `nft list ruleset` prints."""
    parts = [part for part in (_render(e) for e in exprs) if part]
    if comment:
        parts.append(f'comment "{comment}"')
    return " ".join(parts)


def _render(expr) -> str:
    if not isinstance(expr, dict) or len(expr) != 1:
        return json.dumps(expr, sort_keys=True)
    kind, body = next(iter(expr.items()))
    if kind == "match" and isinstance(body, dict):
        left, op = body.get("left"), body.get("op", "==")
        right = _render_value(body.get("right"), quote=_quoted(left))
        if isinstance(left, dict) and isinstance(left.get("&"), list) and len(left["&"]) == 2:
            flags, mask = left["&"]          # nft prints `tcp flags syn / fin,syn,rst,ack`
            right = f"{right} / {','.join(_values(mask))}"
            left = flags
        left = _render_operand(left)
        return f"{left} {right}" if op in ("==", "in") else f"{left} {op} {right}"
    if body is None:
        return kind                                  # accept, drop, masquerade…
    if kind in ("jump", "goto") and isinstance(body, dict):
        return f"{kind} {body.get('target', '')}"
    if kind == "dnat" and isinstance(body, dict):
        return f"dnat to {_dnat_target(body)}"
    if kind == "counter":
        return "counter"
    if kind == "mangle" and isinstance(body, dict):
        return f"{_render_operand(body.get('key'))} set {_text(body.get('value'))}"
    if kind == "limit" and isinstance(body, dict) and "rate" in body:
        return f"limit rate {body['rate']}/{body.get('per', 'second')}"
    if kind == "log" and isinstance(body, dict) and "prefix" in body:
        return f'log prefix "{body["prefix"]}"'
    if kind == "vmap" and isinstance(body, dict):
        data = body.get("data")
        pairs = data.get("set") if isinstance(data, dict) else None
        inner = _text(data) if pairs is None else ", ".join(
            f"{_text(p[0])} : {_verdict(p[1])}" for p in pairs
            if isinstance(p, list) and len(p) == 2)
        return f"{_render_operand(body.get('key'))} vmap {{ {inner} }}"
    if kind == "reject" and isinstance(body, dict) and body.get("type"):
        return f"reject with {body['type']}" + (f" {body['expr']}" if body.get("expr") else "")
    return kind


def _render_operand(expr) -> str:
    if isinstance(expr, dict) and "&" in expr and isinstance(expr["&"], list):
        left, mask = (expr["&"] + [None, None])[:2]
        return f"{_render_operand(left)} & ({'|'.join(_values(mask))})"
    if isinstance(expr, dict) and "fib" in expr and isinstance(expr["fib"], dict):
        fib = expr["fib"]
        return f"fib {' . '.join(fib.get('flags') or ())} {fib.get('result', '')}"
    field = _field(expr)
    if field.startswith("meta ") and field[5:] in _BARE_META:
        return field[5:]
    return field or _text(expr)


def _quoted(left) -> bool:
    return _field(left) in {f"meta {k}" for k in _BARE_META}


def _render_value(value, *, quote: bool) -> str:
    if isinstance(value, dict) and "set" in value:
        return "{ " + ", ".join(_render_value(v, quote=quote) for v in value["set"]) + " }"
    text = _text(value)
    return f'"{text}"' if quote and not text.startswith("@") else text
