"""The facts about reverse proxies: routes, the proxies themselves, and a route paired with
the live answer of its URL.

A route is what one proxy host (NPM), router (Traefik) or site (Caddy) is configured to do.
Unknown is not "off": a field is None when the configuration read does not say (Traefik's
routers from labels without the static configuration, a Caddy feature not modelled), and
the rules judge only what is known.
"""

from __future__ import annotations

import datetime as dt

from labwarden._record import Record
from labwarden.model import Location
from labwarden.sources.proxy.workload import Workload

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:                    # the HTTP probe's module loads only with live targets
    from labwarden.sources.live.http import HttpFact

SIX_MONTHS = 15_768_000          # HSTS max-age the seed and the HTTP rules ask for


class Hsts(Record):
    """HSTS as the proxy will send it."""

    __slots__ = ("max_age", "subdomains", "preload")
    max_age: int
    subdomains: bool
    preload: bool

    def __init__(self, max_age: int, subdomains: bool = False, preload: bool = False):
        self.max_age = max_age
        self.subdomains = subdomains
        self.preload = preload


class Certificate(Record):
    __slots__ = ("name", "provider", "expires")
    name: str
    provider: str                    # letsencrypt | other (uploaded) | internal | acme …
    expires: dt.datetime | None

    def __init__(self, name: str, provider: str = "", expires: dt.datetime | None = None):
        self.name = name
        self.provider = provider
        self.expires = expires


class Upstream(Record):
    """Where a route forwards to, and the Compose service that is, when the tree shows it."""

    __slots__ = ("url", "host", "port", "workload", "via")
    url: str                         # as configured: http://monitoring-grafana:3000
    host: str
    port: int | None
    workload: Workload | None
    via: str                         # how it was matched: container name, host port…

    def __init__(self, url: str, host: str = "", port: int | None = None,
                 workload: Workload | None = None, via: str = ""):
        self.url = url
        self.host = host
        self.port = port
        self.workload = workload
        self.via = via

    @property
    def shown(self) -> str:
        if self.workload is not None:
            return f"{self.url} ({self.workload.asset})"
        return self.url


def url_hosts(urls) -> set[str]:
    from urllib.parse import urlsplit

    found = set()
    for url in urls:
        try:
            host = urlsplit(str(url)).hostname
        except ValueError:
            continue
        if host:
            found.add(host.lower().rstrip("."))
    return found


def domain_matches(pattern: str, host: str) -> bool:
    """A proxy's domain (`grafana.lab.example`, `*.lab.example`) against a host name."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") == pattern.count(".")
    return pattern == host


# What each proxy calls a route, in the rules' messages (`ProxyRoute.title`).
_ROUTE_KINDS = {"npm": "proxy host", "traefik": "router", "caddy": "site"}


class ProxyRoute(Record):
    __slots__ = ("proxy", "label", "name", "source", "origin", "domains", "upstreams", "not_served",
                 "tls", "force_https", "force_note", "hsts", "hsts_note", "hsts_known", "http2",
                 "block_exploits", "websockets", "auth", "sso", "headers", "certificate",
                 "read_at")
    proxy: str                       # npm | traefik | caddy
    label: str                       # which proxy: its Compose project, or the target
    name: str                        # the proxy host's first domain, the router's name…
    source: str                      # what was read: the database, a file, an API
    origin: Location | None
    domains: tuple[str, ...]
    upstreams: list[Upstream]
    not_served: str | None           # why the proxy does not serve it: an error
    tls: bool | None                 # served over HTTPS
    force_https: bool | None         # plain HTTP redirected to HTTPS
    force_note: str                  # what shows it, or why not
    hsts: Hsts | None                # as sent; None: not sent
    hsts_note: str                   # HSTS configured but not sent, and why
    hsts_known: bool                 # False: the configuration read cannot tell
    http2: bool | None
    block_exploits: bool | None
    websockets: bool | None
    auth: str | None                 # what authenticates or restricts clients, in words
    sso: bool                        # the authentication is a forward-auth gateway
    headers: tuple[str, ...] | None          # security response headers it sets (lower-case)
    certificate: Certificate | None
    read_at: dt.datetime

    def __init__(self, proxy: str, label: str, name: str, source: str = "",
                 origin: Location | None = None, domains: tuple[str, ...] = (),
                 upstreams: list[Upstream] | None = None, not_served: str | None = None,
                 tls: bool | None = None, force_https: bool | None = None, force_note: str = "",
                 hsts: Hsts | None = None, hsts_note: str = "", hsts_known: bool = True,
                 http2: bool | None = None, block_exploits: bool | None = None,
                 websockets: bool | None = None, auth: str | None = None, sso: bool = False,
                 headers: tuple[str, ...] | None = None, certificate: Certificate | None = None,
                 read_at: dt.datetime | None = None):
        self.proxy = proxy
        self.label = label
        self.name = name
        self.source = source
        self.origin = origin
        self.domains = domains
        self.upstreams = [] if upstreams is None else upstreams
        self.not_served = not_served
        self.tls = tls
        self.force_https = force_https
        self.force_note = force_note
        self.hsts = hsts
        self.hsts_note = hsts_note
        self.hsts_known = hsts_known
        self.http2 = http2
        self.block_exploits = block_exploits
        self.websockets = websockets
        self.auth = auth
        self.sso = sso
        self.headers = headers
        self.certificate = certificate
        self.read_at = dt.datetime.now(dt.timezone.utc) if read_at is None else read_at

    @property
    def asset(self) -> str:
        return f"{self.proxy}:{self.label}/{self.name}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.source)

    @property
    def title(self) -> str:
        return f"{_ROUTE_KINDS.get(self.proxy, 'route')} {self.name}"

    def belongs_to(self, service) -> bool:
        """The inventory service it serves: one of the service's URLs is among its domains,
        or it forwards to one of the service's Compose services."""
        hosts = url_hosts(getattr(service, "urls", ()))
        if any(domain_matches(d, h) for d in self.domains for h in hosts):
            return True
        return any(u.workload is not None and u.workload.belongs_to(service)
                   for u in self.upstreams)

    def served_workloads(self) -> list[Workload]:
        return [u.workload for u in self.upstreams if u.workload is not None]


class ProxyServer(Record):
    """A reverse proxy itself: its admin interface, and what could not be read of it."""

    __slots__ = ("proxy", "label", "source", "origin", "workload", "routes", "dashboard_open",
                 "dashboard_known", "admin_listen", "admin_known", "admin_ports", "error",
                 "diagnostics")
    proxy: str
    label: str
    source: str
    origin: Location | None
    workload: Workload | None          # its own Compose service, when in the tree
    routes: int                      # routes read
    # Traefik: the API and dashboard served without authentication, and where.
    dashboard_open: str | None
    dashboard_known: bool
    # Caddy: the admin API's listen address; None when it is off or not read.
    admin_listen: str | None
    admin_known: bool
    # NPM: its admin port published on a specific non-loopback address: (spec, where).
    admin_ports: list[tuple[str, Location]]
    error: str | None
    diagnostics: list

    def __init__(self, proxy: str, label: str, source: str = "", origin: Location | None = None,
                 workload: Workload | None = None, routes: int = 0,
                 dashboard_open: str | None = None, dashboard_known: bool = False,
                 admin_listen: str | None = None, admin_known: bool = False,
                 admin_ports: list[tuple[str, Location]] | None = None, error: str | None = None,
                 diagnostics: list | None = None):
        self.proxy = proxy
        self.label = label
        self.source = source
        self.origin = origin
        self.workload = workload
        self.routes = routes
        self.dashboard_open = dashboard_open
        self.dashboard_known = dashboard_known
        self.admin_listen = admin_listen
        self.admin_known = admin_known
        self.admin_ports = [] if admin_ports is None else admin_ports
        self.error = error
        self.diagnostics = [] if diagnostics is None else diagnostics

    @property
    def asset(self) -> str:
        return f"{self.proxy}:{self.label}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.source)

    def belongs_to(self, service) -> bool:
        """The inventory service that runs this proxy (by its Compose service)."""
        return self.workload is not None and self.workload.belongs_to(service)


class ProxyLiveCheck(Record):
    """A route paired with the live HTTP answer of one of its domains: what the proxy is
    configured to do against what the site does."""

    __slots__ = ("route", "http")
    route: ProxyRoute
    http: HttpFact

    def __init__(self, route: ProxyRoute, http: HttpFact):
        self.route = route
        self.http = http

    @property
    def asset(self) -> str:
        return self.http.asset

    @property
    def location(self) -> Location:
        return self.route.location


def pair_with_answers(routes: list[ProxyRoute], answers: list) -> list[ProxyLiveCheck]:
    """Each route paired with each live HTTP answer of one of its domains."""
    checks = []
    for answer in answers:
        host = getattr(answer, "host", "")
        if not host:
            continue
        for route in routes:
            if any(domain_matches(d, host) for d in route.domains):
                checks.append(ProxyLiveCheck(route, answer))
    return checks


# --- facts written in YAML (rule fixtures, the checklist's evidence cases) ----------------

def facts_from_yaml(path: str) -> list:
    """Facts described in a fixture file: a YAML list; each item is a route (`kind: route`,
    the default), a proxy (`kind: server`) or a route with the live answer of its URL
    (`kind: check`, with `http:` in the HTTP source's fixture format)::

        - proxy: npm                       # ruleid: PRX002
          name: grafana.lab.example
          domains: [grafana.lab.example]
          upstreams: [{url: "http://monitoring-grafana:3000", image: grafana/grafana}]
          tls: true
          force_https: false
          hsts: {max_age: 31536000, subdomains: true}
          certificate: {name: lab, provider: other, expires: 2027-01-01}
          read_at: 2026-06-01
        - kind: server                     # ok: PRX009
          proxy: caddy
          admin_listen: localhost:2019

    Each fact's `location` is the file and the line of its item (where the marker is)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    items = yaml.safe_load(text) or []
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("- ")]
    facts: list = []
    for index, item in enumerate(items):
        where = Location(path, lines[index] if index < len(lines) else 0)
        kind = item.get("kind", "route")
        if kind == "server":
            facts.append(_server(item, where))
        elif kind == "check":
            facts.append(_check(item, where))
        else:
            facts.append(_route(item, where))
    return facts


_ROUTE_FIELDS = {"kind", "proxy", "label", "name", "source", "domains", "upstreams",
                 "not_served", "tls", "force_https", "force_note", "hsts", "hsts_note",
                 "hsts_known", "http2", "block_exploits", "websockets", "auth", "sso",
                 "headers", "certificate", "read_at"}


def _route(item: dict, where: Location) -> ProxyRoute:
    unknown = set(item) - _ROUTE_FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown route fields: {', '.join(sorted(unknown))}")
    route = ProxyRoute(str(item.get("proxy", "npm")), str(item.get("label", "fixture")),
                       str(item.get("name", "app.lab.example")), source=str(
                           item.get("source", where.path)), origin=where)
    route.domains = tuple(str(d) for d in item.get("domains", [route.name]))
    for spec in item.get("upstreams") or []:
        route.upstreams.append(_upstream(spec, where))
    for key in ("hsts_known", "sso"):
        if key in item:
            setattr(route, key, bool(item[key]))
    for key in ("tls", "force_https", "http2", "block_exploits", "websockets"):
        if key in item:
            setattr(route, key, None if item[key] is None else bool(item[key]))
    for key in ("not_served", "auth", "force_note", "hsts_note"):
        if item.get(key) is not None:
            setattr(route, key, str(item[key]))
    if item.get("hsts"):
        spec = item["hsts"]
        route.hsts = Hsts(int(spec["max_age"]), bool(spec.get("subdomains", False)),
                          bool(spec.get("preload", False)))
    if item.get("headers") is not None:
        route.headers = tuple(str(h).lower() for h in item["headers"])
    if item.get("certificate"):
        spec = item["certificate"]
        route.certificate = Certificate(str(spec.get("name", "")), str(spec.get("provider", "")),
                                        _when(spec.get("expires")))
    if item.get("read_at") is not None:
        route.read_at = _when(item["read_at"]) or route.read_at
    return route


def _upstream(spec: dict, where: Location) -> Upstream:
    from urllib.parse import urlsplit

    url = str(spec.get("url", "http://app:80"))
    parts = urlsplit(url)
    workload = None
    if spec.get("image") or spec.get("service"):
        workload = Workload(str(spec.get("directory", "/fixture")), str(spec.get("project",
                                                                             "fixture")),
                            str(spec.get("project", "fixture")), str(spec.get("service", "app")),
                            spec.get("container"), spec.get("image"),
                            tuple(tuple(p) for p in spec.get("ports", [])),  # type: ignore[misc]
                            str(spec.get("network_mode", "")), location=where)
    return Upstream(url, parts.hostname or "", parts.port, workload,
                    str(spec.get("via", "container name" if workload else "")))


def _server(item: dict, where: Location) -> ProxyServer:
    server = ProxyServer(str(item.get("proxy", "caddy")), str(item.get("label", "fixture")),
                         source=str(item.get("source", where.path)), origin=where)
    if "dashboard_open" in item:
        server.dashboard_known = True
        server.dashboard_open = item["dashboard_open"]
    if "admin_listen" in item:
        server.admin_known = True
        server.admin_listen = item["admin_listen"]
    for spec in item.get("admin_ports") or []:
        server.admin_ports.append((str(spec), where))
    if item.get("error"):
        server.error = str(item["error"])
    return server


def _check(item: dict, where: Location) -> ProxyLiveCheck:
    from labwarden.sources.live.http import fact_from_mapping

    route = _route({k: v for k, v in item.items() if k != "http"}, where)
    return ProxyLiveCheck(route, fact_from_mapping(item["http"], where))


def _when(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
