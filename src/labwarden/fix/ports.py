"""NET001/NET002/NET003 → bind the published port to 127.0.0.1 (behaviour-changing: the
port is no longer reachable from other hosts; applied only with `--rule`).

Short syntax gains the address (`"5432:5432"` → `"127.0.0.1:5432:5432"`, `"5432"` →
`"127.0.0.1::5432"`, `"0.0.0.0:…"` and `"[::]:…"` → `"127.0.0.1:…"`), keeping its quotes and
protocol; long syntax gains `host_ip: 127.0.0.1` (or has its `host_ip` replaced). A host
address that comes from a variable is left: the variable is where to change it.
"""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from labwarden.fix._common import has_variable, service_of
from labwarden.fix.yamledit import (
    Document,
    Skip,
    describe_merge,
    has_own,
    insert_after,
    merged_from,
    own,
    same_style,
)
from labwarden.sources.compose.model import split_short_port

LOOPBACK = "127.0.0.1"
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def _parts(body: str) -> int:
    if body.startswith("["):
        return 1 + body[body.find("]") + 1:].count(":")
    return min(body.count(":") + 1, 3)


def bind_short(text: str, resolved: str | None = None) -> str:
    """`[ip:][published:]target[/proto]` bound to loopback. Variables (`${PORT:-80}`) may
    hold colons, so they are masked while the address is split off; when `resolved` (the
    entry after interpolation) has another shape than the masked text, a variable holds
    more than one part and the entry is left."""
    variables: list[str] = []

    def mask(match: re.Match) -> str:
        variables.append(match.group(0))
        return f"\x00{len(variables) - 1}\x00"

    def unmask(part: str) -> str:
        return re.sub("\x00(\\d+)\x00", lambda m: variables[int(m.group(1))], part)

    masked = _VARIABLE.sub(mask, text.strip())
    body, slash, protocol = masked.partition("/")
    if resolved is not None and variables and \
            _parts(body) != _parts(resolved.strip().partition("/")[0]):
        raise Skip(f"a variable in `{text}` holds more than a port number; bind it where the "
                   "variable is set")
    host, ports = split_short_port(body)
    if "\x00" in host:
        raise Skip(f"the host address of `{text}` comes from a variable; set it there")
    if host not in ("", "0.0.0.0", "::", "*"):
        raise Skip(f"`{text}` is already bound to {host}")
    return unmask(f"{LOOPBACK}:{ports[0]}:{ports[1]}" + (slash + protocol if slash else ""))


def _entries(doc: Document, ports: CommentedSeq, finding) -> list[int]:
    line = finding.location.line
    at_line = [i for i in range(len(ports)) if doc.item_line(ports, i) == line]
    if len(at_line) > 1:        # a flow list on one line: tell them apart by what they say
        at_line = [i for i in at_line if not isinstance(ports[i], CommentedMap)
                   and str(ports[i]).strip() == finding.evidence.strip()]
    return at_line


def fix(doc: Document, finding, context) -> str:
    name, service = service_of(doc, finding)
    if not has_own(service, "ports"):
        if merged_from(service, "ports") is not None:
            raise Skip(f"`ports` comes from {describe_merge(service, 'ports')}, shared with "
                       "other services; bind the port there by hand")
        raise Skip(f"service `{name}` has no `ports:` in this file")
    ports = own(service, "ports")
    if not isinstance(ports, CommentedSeq):
        raise Skip("`ports` is not a list")
    if doc.index.shared(ports):
        raise Skip("`ports` is an anchor used elsewhere; bind the port there by hand")
    entries = _entries(doc, ports, finding)
    if len(entries) != 1:
        raise Skip(f"no single port entry at line {finding.location.line} matches "
                   f"`{finding.evidence}`")
    index = entries[0]
    item = ports[index]
    if isinstance(item, CommentedMap):
        if doc.index.shared(item):
            raise Skip("the port entry is an anchor used elsewhere; bind it there by hand")
        if has_own(item, "host_ip"):
            current = own(item, "host_ip")
            if has_variable(current):
                raise Skip(f"`host_ip: {current}` comes from a variable; set it there")
            item["host_ip"] = same_style(current, LOOPBACK)
            done = f"set `host_ip: {LOOPBACK}` (was `{current}`)"
        else:
            insert_after(doc, item, ("published", "target"), "host_ip", LOOPBACK)
            done = f"added `host_ip: {LOOPBACK}`"
    elif isinstance(item, (str, int)) and not isinstance(item, bool):
        text = str(item)
        bound = bind_short(text, finding.evidence)
        ports[index] = same_style(item, bound)
        done = f"bound `{text}` to {LOOPBACK}: `{bound}`"
    else:
        raise Skip("the port entry is neither short nor long syntax")
    doc.touch_node(ports)
    return done + " (reachable from this host only: use the reverse proxy, a VPN or an SSH " \
                  "tunnel from elsewhere)"
