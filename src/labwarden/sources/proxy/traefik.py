"""Traefik's HTTP routers, from its configuration files and Compose labels or from its API.

Both ways end in the same model (`TraefikConfig`): entry points (address, TLS, the
redirection to HTTPS, their middlewares), routers (rule, entry points, middlewares,
service, TLS, whether Traefik serves them), middlewares (one type each, as Traefik writes
them: `basicAuth`, `headers`, `chain`…) and services (their servers' URLs). Names are
qualified by provider as Traefik does (`auth@file`, `grafana@docker`); a router's
unqualified reference is to its own provider.

- Files: the static configuration (`traefik.yml`/`.toml`, else the command-line flags or
  `TRAEFIK_*` variables of its Compose service), then the file provider's `filename` or
  `directory` (YAML or TOML), and, when the Docker provider is on, the `traefik.http.*`
  labels of the tree's Compose services (routers defined by labels; the default router
  `exposedByDefault` gives a container is NET005's).
- API: `/api/http/routers`, `/api/http/middlewares`, `/api/http/services` and
  `/api/entrypoints`, which also say whether Traefik serves each router (`status`,
  `error`).

Keys are matched without regard to case, as Traefik reads them.
"""

from __future__ import annotations

import os
import re

from labwarden._record import Record
from labwarden.model import Diagnostic, Location
from labwarden.sources.proxy.model import Hsts, ProxyRoute, ProxyServer, Upstream
from labwarden.sources.proxy.resolve import Resolver
from labwarden.sources.proxy.workload import Workload

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_DYNAMIC_FILES = 200
STATIC_PATHS = ("/etc/traefik/traefik.yml", "/etc/traefik/traefik.yaml",
                "/etc/traefik/traefik.toml", "/traefik.yml", "/traefik.yaml", "/traefik.toml")
AUTH_TYPES = {"basicauth": "basicAuth", "digestauth": "digestAuth", "forwardauth": "forwardAuth"}
ALLOW_TYPES = {"ipallowlist": "ipAllowList", "ipwhitelist": "ipWhiteList"}
# headers middleware options -> the response header they set
HEADER_OPTIONS = {"stsseconds": "strict-transport-security", "framedeny": "x-frame-options",
                  "customframeoptionsvalue": "x-frame-options",
                  "contenttypenosniff": "x-content-type-options",
                  "browserxssfilter": "x-xss-protection",
                  "contentsecuritypolicy": "content-security-policy",
                  "referrerpolicy": "referrer-policy", "permissionspolicy": "permissions-policy"}
_HOSTS = re.compile(r"Host\s*\(([^)]*)\)")
_QUOTED = re.compile(r"[`\"']([^`\"']+)[`\"']")


# --- the model ----------------------------------------------------------------------------

class EntryPoint(Record):
    __slots__ = ("name", "address", "tls", "redirect", "middlewares")
    name: str
    address: str
    tls: bool
    redirect: str | None             # the entry point plain HTTP is redirected to (https)
    middlewares: list[str]

    def __init__(self, name: str, address: str = "", tls: bool = False,
                 redirect: str | None = None, middlewares: list[str] | None = None):
        self.name = name
        self.address = address
        self.tls = tls
        self.redirect = redirect
        self.middlewares = [] if middlewares is None else middlewares


class Router(Record):
    __slots__ = ("name", "rule", "entrypoints", "middlewares", "service", "tls", "error", "where",
                 "workload")
    name: str                        # qualified: grafana@file
    rule: str
    entrypoints: list[str]
    middlewares: list[str]                                 # qualified
    service: str                     # qualified
    tls: bool
    error: str | None                # why Traefik does not serve it
    where: Location | None
    workload: Workload | None         # the container whose labels define it

    def __init__(self, name: str, rule: str = "", entrypoints: list[str] | None = None,
                 middlewares: list[str] | None = None, service: str = "", tls: bool = False,
                 error: str | None = None, where: Location | None = None,
                 workload: Workload | None = None):
        self.name = name
        self.rule = rule
        self.entrypoints = [] if entrypoints is None else entrypoints
        self.middlewares = [] if middlewares is None else middlewares
        self.service = service
        self.tls = tls
        self.error = error
        self.where = where
        self.workload = workload


class TraefikConfig(Record):
    __slots__ = ("source", "entrypoints", "entrypoints_known", "routers", "middlewares", "services",
                 "api_insecure", "api_where", "docker", "exposed_by_default", "diagnostics")
    source: str
    entrypoints: dict[str, EntryPoint]
    entrypoints_known: bool          # the static configuration was read
    routers: dict[str, Router]
    middlewares: dict[str, tuple[str, dict, Location | None]]
    services: dict[str, tuple[list[str], list[str]]]                                # urls, children
    api_insecure: bool               # from a static file (the command line is NET006's)
    api_where: Location | None
    docker: bool                     # the Docker provider is on
    exposed_by_default: bool
    diagnostics: list[Diagnostic]

    def __init__(self, source: str, entrypoints: dict[str, EntryPoint] | None = None,
                 entrypoints_known: bool = False, routers: dict[str, Router] | None = None,
                 middlewares: dict[str, tuple[str, dict, Location | None]] | None = None,
                 services: dict[str, tuple[list[str], list[str]]] | None = None,
                 api_insecure: bool = False, api_where: Location | None = None,
                 docker: bool = False, exposed_by_default: bool = True,
                 diagnostics: list[Diagnostic] | None = None):
        self.source = source
        self.entrypoints = {} if entrypoints is None else entrypoints
        self.entrypoints_known = entrypoints_known
        self.routers = {} if routers is None else routers
        self.middlewares = {} if middlewares is None else middlewares
        self.services = {} if services is None else services
        self.api_insecure = api_insecure
        self.api_where = api_where
        self.docker = docker
        self.exposed_by_default = exposed_by_default
        self.diagnostics = [] if diagnostics is None else diagnostics


def _get(mapping, *keys, default=None):
    """A nested value, each key matched without regard to case."""
    node = mapping
    for key in keys:
        if not isinstance(node, dict):
            return default
        # Labels are read lower-cased, and most files spell keys as documented: a direct
        # look-up first; the scan (the first key equal but for case) only when it misses.
        # A key written in two cases (`Rule:` and `rule:`, which Traefik does not define)
        # is read in the spelling asked for.
        found = node.get(key)
        if found is None:
            lowered = key.lower()
            if lowered != key:
                found = node.get(lowered)
            if found is None:
                found = next((v for k, v in node.items() if str(k).lower() == lowered), None)
        node = found
        if node is None:
            return default
    return node


def _get_lowered(mapping, *keys, default=None):
    """`_get` for a mapping made from labels, whose keys are all lower-case: a direct
    look-up of each key lower-cased (the scan could find no other)."""
    node = mapping
    for key in keys:
        if not isinstance(node, dict):
            return default
        node = node.get(key.lower())
        if node is None:
            return default
    return node


def _key_loc(mapping, key: str) -> Location | None:
    locs = getattr(mapping, "key_locs", None)
    return locs.get(key) if locs else None


def _truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "")


def _words(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [w.strip() for w in str(value).split(",") if w.strip()]


def _qualify(name: str, provider: str) -> str:
    return name if "@" in name else f"{name}@{provider}"


# --- reading files ------------------------------------------------------------------------

def load_file(path: str) -> tuple[dict | None, str, Diagnostic | None]:
    """A YAML or TOML configuration file: (its data, its text, a diagnostic when it could
    not be read)."""
    from labwarden.sources._read import DecodeError, decode_text, read_regular

    where = Location(path)
    try:
        text = decode_text(read_regular(path, MAX_CONFIG_BYTES))
    except (OSError, DecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        return None, "", Diagnostic("error", "proxy-unreadable",
                                    f"cannot read Traefik's configuration: {why}", where)
    if "{{" in text:
        return None, text, Diagnostic("warning", "proxy-template", "a Go template (Traefik "
                                      "renders `{{ }}` itself): not read", where)
    if path.lower().endswith(".toml"):
        import tomllib

        try:
            return tomllib.loads(text), text, None
        except tomllib.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            return None, text, Diagnostic("error", "proxy-unreadable", f"invalid TOML: {exc}",
                                          Location(path, int(line.group(1)) if line else 0))
    from labwarden.sources.yamlfile import YamlLoadError, parse_yaml

    try:
        documents, _ = parse_yaml(text, path)
    except YamlLoadError as exc:
        return None, text, Diagnostic("error", "proxy-unreadable", exc.message, exc.location)
    data = documents[0] if documents else {}
    if not isinstance(data, dict):
        return None, text, Diagnostic("error", "proxy-unreadable", "expected a mapping", where)
    return data, text, None


def _toml_line(text: str, *names: str) -> int:
    """The line of a TOML table header or key that names `names` (best effort)."""
    if not text:
        return 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if all(name.lower() in stripped.lower() for name in names) and \
                (stripped.startswith("[") or "=" in stripped):
            return number
    return 0


def static_from_file(config: TraefikConfig, data: dict, path: str, text: str) -> None:
    config.entrypoints_known = True
    points = _get(data, "entryPoints") or {}
    for name, spec in points.items():
        config.entrypoints[str(name)] = _entrypoint(str(name), spec if isinstance(spec, dict)
                                                    else {}, "file")
    api = _get(data, "api")
    if isinstance(api, dict) and _truthy(_get(api, "insecure", default=False)):
        config.api_insecure = True
        line = (_key_loc(api, next((k for k in api if str(k).lower() == "insecure"), ""))
                or (Location(path, _toml_line(text, "insecure")) if text else None))
        config.api_where = line or Location(path)
        if "traefik" not in {n.lower() for n in config.entrypoints}:
            config.entrypoints["traefik"] = EntryPoint("traefik", ":8080")
    docker = _get(data, "providers", "docker")
    if docker is not None:
        config.docker = True
        config.exposed_by_default = _truthy(_get(docker, "exposedByDefault", default=True)) \
            if isinstance(docker, dict) else True


def static_from_flags(config: TraefikConfig, flags: list[tuple[str, str | None]]) -> None:
    """The static configuration from `--a.b.c=value` flags or TRAEFIK_A_B_C variables (as
    lower-cased dotted names). `api.insecure` there is NET006's to report."""
    tree: dict = {}
    for name, value in flags:
        node = tree
        parts = name.lower().split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = "true" if value is None else value
    config.entrypoints_known = True
    for name, spec in (tree.get("entrypoints") or {}).items():
        config.entrypoints[name] = _entrypoint(name, spec if isinstance(spec, dict) else {},
                                               "file")
    if _truthy(_get(tree, "api", "insecure", default="false")) and \
            "traefik" not in config.entrypoints:
        config.entrypoints["traefik"] = EntryPoint("traefik", ":8080")
    docker = _get(tree, "providers", "docker")
    if docker is not None and (not isinstance(docker, str) or _truthy(docker)):
        config.docker = True
        config.exposed_by_default = _truthy(_get(docker, "exposedbydefault", default="true")) \
            if isinstance(docker, dict) else True
    return None


def file_provider(data: dict | None, flags: list[tuple[str, str | None]]) -> tuple[str | None,
                                                                                   str | None]:
    """The file provider's (filename, directory) as the static configuration writes them."""
    if data is not None:
        spec = _get(data, "providers", "file")
        if isinstance(spec, dict):
            return _get(spec, "filename"), _get(spec, "directory")
        return None, None
    found = {name.lower(): value for name, value in flags}
    return found.get("providers.file.filename"), found.get("providers.file.directory")


def _entrypoint(name: str, spec: dict, provider: str) -> EntryPoint:
    http = _get(spec, "http") or {}
    to = _get(http, "redirections", "entryPoint", "to")
    scheme = str(_get(http, "redirections", "entryPoint", "scheme", default="https")).lower()
    return EntryPoint(name, str(_get(spec, "address", default="") or ""),
                      tls=_get(http, "tls") is not None,
                      redirect=str(to) if to and scheme == "https" else None,
                      middlewares=[_qualify(m, provider) for m in
                                   _words(_get(http, "middlewares"))])


def dynamic_from_file(config: TraefikConfig, data: dict, path: str, text: str,
                      provider: str = "file") -> None:
    http = _get(data, "http") or {}
    routers = _get(http, "routers") or {}
    for name, spec in routers.items():
        if not isinstance(spec, dict):
            continue
        where = _key_loc(routers, name) or Location(path, _toml_line(text, "routers", str(name)))
        config.routers[_qualify(str(name), provider)] = _router(
            _qualify(str(name), provider), spec, provider, where)
    middlewares = _get(http, "middlewares") or {}
    for name, spec in middlewares.items():
        if isinstance(spec, dict) and spec:
            where = _key_loc(middlewares, name) or Location(
                path, _toml_line(text, "middlewares", str(name)))
            kind = next(iter(spec))
            config.middlewares[_qualify(str(name), provider)] = (str(kind), _get(spec, kind)
                                                                 or {}, where)
    services = _get(http, "services") or {}
    for name, spec in services.items():
        if isinstance(spec, dict):
            config.services[_qualify(str(name), provider)] = _service(spec, provider)


def _router(name: str, spec: dict, provider: str, where: Location | None) -> Router:
    return _router_of(name, provider, where, _get(spec, "rule", default=""),
                      _get(spec, "entryPoints"), _get(spec, "middlewares"),
                      _get(spec, "service"), _get(spec, "tls"))


def _label_router(name: str, spec: dict, where: Location | None) -> Router:
    """A router of the Docker provider, from its labels' table: its keys are lower-cased
    (read directly: the corpus's labels define 900 routers)."""
    return _router_of(name, "docker", where, spec.get("rule", ""), spec.get("entrypoints"),
                      spec.get("middlewares"), spec.get("service"), spec.get("tls"))


def _router_of(name: str, provider: str, where: Location | None, rule, entrypoints,
               middlewares, service, tls) -> Router:
    """A router from the values its configuration writes."""
    return Router(name, str(rule), _words(entrypoints),
                  [_qualify(m, provider) for m in _words(middlewares)],
                  _qualify(str(service), provider) if service else "",
                  tls=_tls_on(tls), where=where)


def _tls_on(value) -> bool:
    """A router's `tls`: a mapping (`tls: {}`, `tls.certresolver=le`) or true turns it on."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, dict):
        return True
    return str(value).strip().lower() in ("true", "1")


def _service(spec: dict, provider: str) -> tuple[list[str], list[str]]:
    servers = _get(spec, "loadBalancer", "servers") or []
    urls = [str(_get(s, "url")) for s in servers if isinstance(s, dict) and _get(s, "url")]
    children: list[str] = []
    for kind in ("weighted", "mirroring", "failover"):
        inner = _get(spec, kind)
        if isinstance(inner, dict):
            for key in ("services", "mirrors"):
                for child in _get(inner, key) or []:
                    if isinstance(child, dict) and _get(child, "name"):
                        children.append(_qualify(str(_get(child, "name")), provider))
            for key in ("service", "fallback"):
                if _get(inner, key):
                    children.append(_qualify(str(_get(inner, key)), provider))
    return urls, children


def dynamic_from_labels(config: TraefikConfig, workloads: list[Workload]) -> None:
    """Routers, middlewares and services the Compose services define with `traefik.http.*`
    labels (the Docker provider). A container with `traefik.enable=false`, or without
    `traefik.enable=true` when exposedByDefault is off, is ignored, as Traefik does."""
    for workload in workloads:
        if not workload.labels:
            continue
        labels = {name.lower(): (value, where) for name, value, where in workload.labels}
        enable = labels.get("traefik.enable")
        if enable is not None and not _truthy(enable[0]):
            continue
        if enable is None and not config.exposed_by_default:
            continue
        routers, middlewares, services = _label_tables(labels)
        for name, spec in middlewares.items():
            spec.pop("@where", None)
            if spec:
                kind = next(iter(spec))
                config.middlewares[f"{name}@docker"] = (kind, spec[kind],
                                                        labels_where(workload, name))
        own_services = list(services)
        for name, spec in services.items():
            spec.pop("@where", None)
            port = _get_lowered(spec, "loadbalancer", "server", "port")
            scheme = _get_lowered(spec, "loadbalancer", "server", "scheme", default="http")
            host = workload.container or f"{workload.compose_name}-{workload.service}-1"
            url = f"{scheme}://{host}" + (f":{port}" if port else "")
            config.services[f"{name}@docker"] = ([url], [])
        for name, spec in routers.items():
            where = spec.pop("@where", None)
            router = _label_router(f"{name}@docker", spec, where)
            router.workload = workload
            if not router.service:
                if len(own_services) == 1:
                    router.service = f"{own_services[0]}@docker"
                else:
                    implicit = f"{workload.service}-{workload.compose_name}@docker"
                    host = workload.container or f"{workload.compose_name}-{workload.service}-1"
                    config.services.setdefault(implicit, ([f"http://{host}"], []))
                    router.service = implicit
            config.routers[router.name] = router


_LABEL_TABLES = ("routers", "middlewares", "services")


def _label_tables(labels: dict[str, tuple[str, Location]]) -> tuple[dict, dict, dict]:
    """The `traefik.http.{routers,middlewares,services}.NAME.KEY…` labels (lower-cased) as
    nested dicts by NAME, the way a file writes them; each NAME's `@where` is the place of
    its first label."""
    tables: dict[str, dict[str, dict]] = {kind: {} for kind in _LABEL_TABLES}
    for name, (value, where) in labels.items():
        parts = name.split(".")
        if len(parts) < 5 or parts[1] != "http":
            continue
        table = tables.get(parts[2])
        if table is None:
            continue
        node = table.get(parts[3])
        if node is None:
            node = table[parts[3]] = {"@where": where}
        if len(parts) > 5:                      # a nested key: `tls.certresolver`
            node = _label_table_of(node, parts[4:-1])
            if node is None:
                continue
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
    return tables["routers"], tables["middlewares"], tables["services"]


def _label_table_of(node: dict, path: list[str]) -> dict | None:
    """The table of a nested label key, made as needed; None when a label gave one of its
    parents a value (`a.b=x` and `a.b.c=y` both written: Traefik itself rejects the pair)."""
    for part in path:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            return None
        node = child
    return node


def labels_where(workload: Workload, middleware: str) -> Location | None:
    prefix = f"traefik.http.middlewares.{middleware}.".lower()
    return next((where for name, _, where in workload.labels
                 if name.lower().startswith(prefix)), workload.location)


# --- reading the API ----------------------------------------------------------------------

def from_api(config: TraefikConfig, routers: list, middlewares: list, services: list,
             entrypoints: list) -> None:
    """The model from the API's lists (each item as Traefik returns it)."""
    config.entrypoints_known = True
    for item in entrypoints:
        if isinstance(item, dict) and item.get("name"):
            config.entrypoints[str(item["name"])] = _entrypoint(str(item["name"]), item,
                                                                "file")
    for item in middlewares:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        kind = str(item.get("type", ""))
        spec: object = next((v for k, v in item.items() if k.lower() == kind.lower()), {})
        config.middlewares[str(item["name"])] = (kind, spec if isinstance(spec, dict) else {},
                                                 None)
    for item in services:
        if isinstance(item, dict) and item.get("name"):
            provider = str(item.get("provider", "file"))
            config.services[str(item["name"])] = _service(item, provider)
    for item in routers:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        name = str(item["name"])
        provider = str(item.get("provider") or name.partition("@")[2] or "file")
        router = _router(name, item, provider, None)
        router.entrypoints = [str(e) for e in item.get("using") or item.get("entryPoints") or []]
        status = str(item.get("status", "enabled"))
        if status != "enabled":
            errors = item.get("error") or []
            router.error = "; ".join(str(e) for e in errors) or f"status {status}"
        config.routers[name] = router


# --- from the model to routes -------------------------------------------------------------

def _flatten(config: TraefikConfig, names: list[str], seen: set[str] | None = None
             ) -> tuple[list[tuple[str, str, dict]], list[str]]:
    """The middlewares named, with chains expanded: ([(name, type lower-cased, spec)],
    [names that do not exist])."""
    if not names:                       # as half the routers and most entry points
        return [], []
    seen = set() if seen is None else seen
    found, missing = [], []
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        entry = config.middlewares.get(name)
        if entry is None:
            missing.append(name)
            continue
        kind, spec, _ = entry
        if kind.lower() == "chain":
            provider = name.partition("@")[2] or "file"
            inner = [_qualify(m, provider) for m in _words(_get(spec, "middlewares"))]
            more, gone = _flatten(config, inner, seen)
            found += more
            missing += gone
        else:
            found.append((name, kind.lower(), spec))
    return found, missing


def _hosts(rule: str) -> tuple[str, ...]:
    hosts = []
    for match in _HOSTS.finditer(rule):
        hosts += _QUOTED.findall(match.group(1))
    return tuple(dict.fromkeys(h.strip().lower() for h in hosts if h.strip()))


def _hosts_of(rule: str, known: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """`_hosts`, once per rule (`known`, by rule): a router that redirects to HTTPS and the
    one it redirects to usually have the same rule."""
    found = known.get(rule)
    if found is None:
        found = known[rule] = _hosts(rule)
    return found


def _redirects_to_https(middlewares: list[tuple[str, str, dict]]) -> bool:
    for _, kind, spec in middlewares:
        if kind == "redirectscheme" and str(_get(spec, "scheme", default="")).lower() == "https":
            return True
    return False


def _endpoints(config: TraefikConfig, router: Router) -> list[EntryPoint]:
    names = router.entrypoints or list(config.entrypoints)
    return [config.entrypoints.get(n) or EntryPoint(n) for n in names]


def _upstreams(config: TraefikConfig, service: str, resolver: Resolver,
               workload: Workload | None, depth: int = 0) -> list[Upstream]:
    urls, children = config.services.get(service, ([], []))
    found = []
    for url in urls:
        upstream = resolver.upstream(url)
        if workload is not None and upstream.workload is None:
            upstream.workload, upstream.via = workload, "Compose labels"
        found.append(upstream)
    if depth < 5:
        for child in children:
            found += _upstreams(config, child, resolver, workload, depth + 1)
    return found


def routes(config: TraefikConfig, label: str, resolver: Resolver,
           server: ProxyServer) -> list[ProxyRoute]:
    """A route per router that forwards to a service; the dashboard's routers set the
    server's `dashboard_open`; routers that only redirect to HTTPS tell which hosts are."""
    redirected: set[str] = set()            # hosts some router redirects to https
    plain_points = _http_doors(config)
    judged: list[tuple[Router, list[tuple[str, str, dict]], list[EntryPoint]]] = []
    hosts: dict[str, tuple[str, ...]] = {}
    for router in config.routers.values():
        middlewares, missing = _flatten(config, router.middlewares)
        if router.error is None and missing:
            router.error = f"middleware {missing[0]} does not exist"
        if router.error is None and router.service and not router.service.endswith(
                "@internal") and router.service not in config.services:
            router.error = f"service {router.service} does not exist"
        if _redirects_to_https(middlewares) and router.error is None:
            redirected.update(_hosts_of(router.rule, hosts) or {"*"})
            continue
        points = _endpoints(config, router)
        if config.entrypoints_known and points and not router.tls and \
                all(not p.tls and p.redirect for p in points):
            continue            # its entry points redirect every request before it matches
        judged.append((router, middlewares, points))
    server.dashboard_known = config.entrypoints_known
    found: list[ProxyRoute] = []
    for router, middlewares, points in judged:
        if router.service in ("api@internal", "dashboard@internal"):
            _dashboard(config, router, middlewares, points, server)
            continue
        if router.service.endswith("@internal"):
            continue
        found.append(_route(config, router, middlewares, points,
                            _hosts_of(router.rule, hosts), label, resolver, redirected,
                            plain_points))
    if config.api_insecure and server.dashboard_open is None:
        point = config.entrypoints.get("traefik") or EntryPoint("traefik", ":8080")
        if not _loopback(point.address):
            server.dashboard_open = (f"api.insecure: the API and dashboard on entry point "
                                     f"traefik ({point.address or ':8080'}) without "
                                     "authentication")
            server.origin = config.api_where or server.origin
    server.routes = len(found)
    return found


def _port(address: str) -> int | None:
    text = address.rpartition(":")[2].partition("/")[0]
    return int(text) if text.isdigit() else None


def _http_doors(config: TraefikConfig) -> set[str]:
    """The plain-HTTP entry points a browser's `http://` reaches: those on port 80 when
    there are any; else those that redirect to HTTPS (the operator's HTTP entry point: a
    router-level `tls` makes any other one an HTTPS entry point); else every entry point
    without TLS but the API's own (`traefik`)."""
    plain = {n: ep for n, ep in config.entrypoints.items()
             if not ep.tls and n != "traefik"}
    on_80 = {n for n, ep in plain.items() if _port(ep.address) == 80}
    redirecting = {n for n, ep in plain.items() if ep.redirect}
    return on_80 or redirecting or set(plain)


def _loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def _dashboard(config: TraefikConfig, router: Router, middlewares, points: list[EntryPoint],
               server: ProxyServer) -> None:
    """`points`: the router's entry points (`_endpoints`)."""
    if router.error is not None or server.dashboard_open is not None:
        return
    if any(kind in AUTH_TYPES for _, kind, _ in middlewares):
        return
    if points and all(_loopback(p.address) for p in points):
        return
    shown = ", ".join(f"{p.name} ({p.address})" if p.address else p.name for p in points)
    server.dashboard_open = (f"router {router.name} serves the API and dashboard on {shown} "
                             "without an authentication middleware")
    if router.where is not None:
        server.origin = router.where


def _route(config: TraefikConfig, router: Router, middlewares, points: list[EntryPoint],
           domains: tuple[str, ...], label: str, resolver: Resolver, redirected: set[str],
           plain_points: set[str]) -> ProxyRoute:
    """`points`: the router's entry points (`_endpoints`), `domains` the hosts of its rule
    (`_hosts`), both made once per router."""
    for point in points:                   # an entry point's middlewares apply first
        if point.middlewares:
            more, _ = _flatten(config, point.middlewares)
            middlewares = more + middlewares
    route = ProxyRoute("traefik", label, router.name, source=config.source,
                       origin=router.where, domains=domains)
    route.not_served = router.error
    route.upstreams = _upstreams(config, router.service, resolver, router.workload)
    secure = [p for p in points if router.tls or p.tls]
    plain = [p for p in points if not (router.tls or p.tls)]
    route.tls = bool(secure)
    if config.entrypoints_known:
        if plain:
            unredirected = [p for p in plain if not p.redirect]
            route.force_https = not unredirected
            route.force_note = (f"also served over plain HTTP on entry point "
                                f"{unredirected[0].name}" if unredirected else
                                f"entry point {plain[0].name} redirects to {plain[0].redirect}")
        else:
            doors = [config.entrypoints[n] for n in plain_points]
            open_doors = [p for p in doors if not p.redirect]
            hosts = set(route.domains)
            by_router = "*" in redirected or (hosts and hosts <= redirected)
            route.force_https = not open_doors or bool(by_router)
            route.force_note = (
                "a router redirects its hosts to https" if by_router else
                f"entry point {open_doors[0].name} does not redirect to https" if open_doors
                else f"entry point {doors[0].name} redirects to {doors[0].redirect}" if doors
                else "no plain-HTTP entry point")
    route.headers = ()
    sets: set[str] = set()
    for name, kind, spec in middlewares:
        if kind in AUTH_TYPES and route.auth is None:
            route.auth = f"{AUTH_TYPES[kind]} middleware {name}"
            if kind == "forwardauth":
                address = _get(spec, "address")
                route.auth += f" ({address})" if address else ""
                route.sso = True
        elif kind in ALLOW_TYPES and route.auth is None:
            ranges = _words(_get(spec, "sourceRange"))
            route.auth = f"{ALLOW_TYPES[kind]} middleware {name}: {', '.join(ranges[:4])}"
        elif kind == "headers":
            for option, header in HEADER_OPTIONS.items():
                value = _get(spec, option)
                if value not in (None, False, 0, "", "false", "0"):
                    sets.add(header)
            custom = _get(spec, "customResponseHeaders") or {}
            if isinstance(custom, dict):
                sets.update(str(k).lower() for k, v in custom.items() if v)
            seconds = _get(spec, "stsSeconds")
            try:
                seconds = int(seconds or 0)
            except (TypeError, ValueError):
                seconds = 0
            if seconds > 0 and route.hsts is None:
                route.hsts = Hsts(seconds,
                                  _truthy(_get(spec, "stsIncludeSubdomains", default=False)),
                                  _truthy(_get(spec, "stsPreload", default=False)))
    route.headers = tuple(sorted(sets))
    if route.hsts is not None and not route.tls:
        route.hsts_note = "stsSeconds is set, but browsers ignore HSTS sent over plain HTTP"
        route.hsts = None
    if any(kind == "plugin" or "@" in name and name.endswith("@plugin") for name, kind, _ in
           middlewares):
        route.hsts_known = route.hsts is not None
    return route


def dynamic_paths(directory: str, diagnostics: list[Diagnostic]) -> list[str]:
    """The configuration files of the file provider's directory (YAML and TOML), sorted."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith((".yml", ".yaml", ".toml")):
                found.append(os.path.join(root, name))
        if len(found) > MAX_DYNAMIC_FILES:
            diagnostics.append(Diagnostic("warning", "proxy-too-many-files",
                                          f"more than {MAX_DYNAMIC_FILES} files: the rest "
                                          "are not read", Location(directory)))
            return found[:MAX_DYNAMIC_FILES]
    return found
