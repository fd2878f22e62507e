"""NET001/NET002/NET003 → keep the port reachable by whoever needs it, and by nobody else
(behaviour-changing; applied only with `--rule`). What fits is the lab's (`reach.py`):

- the reverse proxy forwards to the service and is a Compose service on the same host: the
  service joins the proxy's network (declared `external` when the proxy is another project)
  and its `ports:` entry becomes `expose:`;
- the proxy is on another host: the port is bound to the host's LAN address from the
  inventory, and the message names the DOCKER-USER rule that lets only the proxy in;
- nothing else needs it (no route forwards to it, a database, the proxy's own admin port):
  the port is bound to 127.0.0.1.

Each message says what changes and what to check afterwards. For the loopback and LAN
bindings: short syntax gains the address (`"5432:5432"` → `"127.0.0.1:5432:5432"`, `"5432"` →
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
    append_item,
    describe_merge,
    has_own,
    insert_after,
    merged_from,
    own,
    rename_key,
    same_style,
)
from labwarden.sources.compose.model import split_short_port

LOOPBACK = "127.0.0.1"
_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def _parts(body: str) -> int:
    if body.startswith("["):
        return 1 + body[body.find("]") + 1:].count(":")
    return min(body.count(":") + 1, 3)


def bind_short(text: str, resolved: str | None = None, address: str = LOOPBACK) -> str:
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
    host = f"[{address}]" if ":" in address else address
    return unmask(f"{host}:{ports[0]}:{ports[1]}" + (slash + protocol if slash else ""))


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
    if isinstance(item, CommentedMap) and doc.index.shared(item):
        raise Skip("the port entry is an anchor used elsewhere; bind it there by hand")
    choice = choose(finding, getattr(context, "layout", None))
    if choice.kind == "network":
        return _behind_proxy(doc, name, service, ports, index, choice)
    address = choice.address or LOOPBACK
    done = _bind(doc, ports, index, finding, address)
    return f"{done}; {choice.why}"


def _bind(doc: Document, ports: CommentedSeq, index: int, finding, address: str) -> str:
    item = ports[index]
    if isinstance(item, CommentedMap):
        if has_own(item, "host_ip"):
            current = own(item, "host_ip")
            if has_variable(current):
                raise Skip(f"`host_ip: {current}` comes from a variable; set it there")
            item["host_ip"] = same_style(current, address)
            done = f"set `host_ip: {address}` (was `{current}`)"
        else:
            insert_after(doc, item, ("published", "target"), "host_ip", address)
            done = f"added `host_ip: {address}`"
    elif isinstance(item, (str, int)) and not isinstance(item, bool):
        text = str(item)
        bound = bind_short(text, finding.evidence, address)
        ports[index] = same_style(item, bound)
        done = f"bound `{text}` to {address}: `{bound}`"
    else:
        raise Skip("the port entry is neither short nor long syntax")
    doc.touch_node(ports)
    return done


# --- which fix fits the lab ------------------------------------------------------------

class Choice:
    """loopback | lan (bind to `address`) | network (join the proxy's network)."""

    __slots__ = ("kind", "address", "why", "route", "proxy_key", "service_key", "layout")

    def __init__(self, kind: str, why: str, address: str | None = None, route=None,
                 proxy_key=None, service_key=None, layout=None):
        self.layout = layout
        self.kind = kind
        self.why = why
        self.address = address
        self.route = route
        self.proxy_key = proxy_key
        self.service_key = service_key


_LOCAL_ONLY = "reachable from this host only (an SSH tunnel or a VPN from elsewhere); " \
    "check afterwards that nothing on another host used it"


def choose(finding, layout) -> Choice:
    """The fix that keeps what needs the port working (module docstring)."""
    if layout is None:
        return Choice("loopback", _LOCAL_ONLY + " (the lab's reverse proxy was not read)")
    key = layout.by_asset.get(finding.asset)
    if key is None:
        return Choice("loopback", _LOCAL_ONLY)
    if layout.is_proxy(key):
        return Choice("loopback", "the reverse proxy's own port: " + _LOCAL_ONLY)
    if finding.rule.id == "NET002":
        return Choice("loopback", "a database is reached by its stack over the Compose "
                      "network, so the host port serves only local tools; " + _LOCAL_ONLY)
    routes = layout.routes.get(key, [])
    if not routes:
        unread = f" (the routes of {', '.join(layout.unread)} could not be read: check them)" \
            if layout.unread else ""
        return Choice("loopback", "no reverse-proxy route of the lab forwards to it; "
                      + _LOCAL_ONLY + unread)
    route = routes[0]
    directory = key[0]
    if route.proxy_key is not None and layout.same_host(route.proxy_key[0], directory):
        return Choice("network", "", route=route, proxy_key=route.proxy_key, service_key=key,
                      layout=layout)
    host = layout.host_of(directory)
    from labwarden.fix.reach import lan_address

    address = lan_address(host)
    where = f"on host `{layout.host_of(route.proxy_key[0]).name}`" if route.proxy_key and \
        layout.host_of(route.proxy_key[0]) is not None else "outside the audited tree"
    if address is None:
        named = f"`hosts.{host.name}.lan_address`" if host is not None else \
            "the service's host and its `lan_address` under `hosts:`"
        raise Skip(f"the reverse proxy ({route.proxy}) that serves {route.shown} is {where}: "
                   f"binding to 127.0.0.1 would take the site down; name {named} in "
                   "labwarden.yaml and run the fix again")
    proxy_host = layout.host_of(route.proxy_key[0]) if route.proxy_key else None
    proxy_ip = lan_address(proxy_host) or "<the proxy's address>"
    return Choice("lan", f"the reverse proxy ({route.proxy}, {where}) serves {route.shown} "
                  f"through it, so it stays on the LAN address of host `{host.name}`; add the "
                  f"firewall rule that lets only the proxy in (Docker's DNAT bypasses INPUT): "
                  f"`iptables -I DOCKER-USER -p tcp -m conntrack --ctorigdstport "
                  f"{_published(finding)} ! -s {proxy_ip} -j DROP`; check afterwards that "
                  f"{route.shown} still answers", address=address, route=route)


def _published(finding) -> str:
    try:
        _, ports = split_short_port(finding.evidence.strip().partition("/")[0])
        return ports[0] or ports[1]
    except Exception:  # noqa: BLE001 - long syntax evidence: the message only
        return "<port>"


# --- behind a proxy on the same host: join its network, expose instead of publish ----

def _target(item) -> str:
    if isinstance(item, CommentedMap):
        target = item.get("target")
        protocol = item.get("protocol")
        if target is None or has_variable(target):
            raise Skip("the port entry has no literal `target`")
        return f"{target}/{protocol}" if protocol and protocol != "tcp" else str(target)
    text = str(item)
    if has_variable(text):
        raise Skip(f"`{text}` holds a variable; move it to `expose:` by hand")
    body, slash, protocol = text.strip().partition("/")
    _, ports = split_short_port(body)
    target = ports[1]
    if not target:
        raise Skip(f"`{text}` has no container port")
    return target + (f"/{protocol}" if slash and protocol != "tcp" else "")


def _behind_proxy(doc: Document, name: str, service: CommentedMap, ports: CommentedSeq,
                  index: int, choice: Choice) -> str:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    layout_key, proxy_key, route = choice.service_key, choice.proxy_key, choice.route
    if has_own(service, "network_mode") or merged_from(service, "network_mode") is not None:
        raise Skip(f"service `{name}` sets `network_mode`: it cannot join the proxy's "
                   "network; fix it by hand")
    layout = choice.layout
    item = ports[index]
    target = _target(item)
    notes = []
    mine = dict(layout.network_names(layout_key))
    theirs = layout.network_names(proxy_key)
    shared = set(mine.values()) & {d for _, d in theirs}
    if not shared:
        if not theirs:
            raise Skip("the proxy's networks are not known; attach the service by hand")
        _join(doc, name, service, layout_key, proxy_key, theirs[0], mine)
        notes.append(f"joins the proxy's network `{theirs[0][1]}`")
        if layout_key[0] != proxy_key[0]:
            notes.append("declared `external`: start the proxy's stack first")
    # ports → expose
    exposed = same_style(item, target) if not isinstance(item, CommentedMap) else \
        DoubleQuotedScalarString(target)
    if len(ports) == 1 and not has_own(service, "expose") and \
            merged_from(service, "expose") is None:
        ports[0] = exposed
        rename_key(service, "ports", "expose")
        doc.touch("services", name, "ports")
        doc.touch("services", name, "expose")
    else:
        # Other ports stay published: this entry leaves `ports:` for `expose:`.
        if len(ports) > 1 and index != len(ports) - 1:
            raise Skip(f"service `{name}` publishes other ports after `{item}`: move it to "
                       "`expose:` and join the proxy's network by hand")
        del ports[index]
        doc.touch_node(ports)
        if has_own(service, "expose"):
            expose = own(service, "expose")
            if not isinstance(expose, CommentedSeq) or doc.index.shared(expose):
                raise Skip("`expose` is not a list of its own; move the port by hand")
            append_item(doc, expose, exposed)
        elif merged_from(service, "expose") is not None:
            raise Skip(f"`expose` comes from {describe_merge(service, 'expose')}; move the "
                       "port by hand")
        else:
            value = CommentedSeq([exposed])
            value.fa.set_flow_style()
            insert_after(doc, service, ("ports",), "expose", value)
        doc.touch("services", name, "expose")
    old = str(item)
    change = f"no longer publishes `{old}` on the host: `expose: [\"{target}\"]`"
    if notes:
        change += " and " + ", ".join(notes)
    reached = route.via or "its upstream"
    if route.via.startswith("host port"):
        container = _container_of(layout, layout_key)
        check = (f"the proxy reaches it by {reached}: change {route.shown}'s upstream "
                 f"`{route.url}` to `{container}:{target.split('/')[0]}` in the proxy "
                 f"({route.proxy}) when you apply this")
    else:
        check = f"the proxy ({route.proxy}) reaches it by {reached} (`{route.url}`)"
    return f"{change}; {check}; check afterwards that {route.shown} answers through " \
           "the proxy and that the port no longer answers on the host's address"


def _container_of(layout, key) -> str:
    service = layout.services.get(key)
    if service is None:
        return key[1]
    explicit = service.raw.get("container_name")
    if explicit:
        return str(explicit)
    project = service.project
    return f"{project.compose_name or project.name}-{service.name}-1"


def _join(doc: Document, name: str, service: CommentedMap, mine_key, proxy_key,
          network: tuple[str, str], mine: dict[str, str]) -> None:
    """Put the service on the proxy's network: in the proxy's own project by its key,
    from another project as an external network declared at the file's top level."""
    proxy_file_key, docker_name = network
    same_project = mine_key[0] == proxy_key[0]
    key = proxy_file_key if same_project else docker_name
    if has_own(service, "networks"):
        networks = own(service, "networks")
        if doc.index.shared(networks):
            raise Skip("`networks` is an anchor used elsewhere; attach the service by hand")
        if isinstance(networks, CommentedSeq):
            append_item(doc, networks, key)
        elif isinstance(networks, CommentedMap):
            insert_after(doc, networks, (), key, None)
        else:
            raise Skip("`networks` is neither a list nor a mapping")
        doc.touch("services", name, "networks")
    else:
        if merged_from(service, "networks") is not None:
            raise Skip(f"`networks` comes from {describe_merge(service, 'networks')}; attach "
                       "the service there by hand")
        value = CommentedSeq(["default", key])
        value.fa.set_flow_style()
        insert_after(doc, service, ("ports", "restart", "container_name", "image"),
                     "networks", value)
        doc.touch("services", name, "networks")
    if same_project:
        return
    root = doc.root
    declared = own(root, "networks")
    spec = CommentedMap([("external", True)])
    if declared is None:
        if has_own(root, "networks"):
            raise Skip("the top-level `networks:` is empty; declare the network by hand")
        top = CommentedMap([(key, spec)])
        insert_after(doc, root, (), "networks", top)
        doc.touch("networks")
        return
    if not isinstance(declared, CommentedMap):
        raise Skip("the top-level `networks` is not a mapping")
    if key in declared:
        raise Skip(f"the file already declares a network `{key}`; attach the service by hand")
    insert_after(doc, declared, (), key, spec)
    doc.touch("networks", key)
