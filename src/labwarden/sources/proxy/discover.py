"""Read the reverse proxies a Compose project of the audited tree runs, through its mounts,
and the proxies a target names (`npm:PATH`, `traefik:PATH`, `caddy:PATH`).

A proxy's configuration is where its Compose service mounts it from the project directory:
NPM's database at `DB_SQLITE_FILE` (default `/data/database.sqlite`, usually `./data`),
Traefik's static file (`--configFile`, or `/etc/traefik/traefik.yml` and the other default
places) and its file provider's `filename`/`directory`, Caddy's `--config` (default
`/etc/caddy/Caddyfile`). What lives in a named volume is not in the tree: the proxy is then
reported as not read, with how to name its configuration instead.
"""

from __future__ import annotations

import os

from labwarden.model import Diagnostic, Location
from labwarden.sources.proxy import caddy, traefik
from labwarden.sources.proxy.model import ProxyRoute, ProxyServer
from labwarden.sources.proxy.npm import read_npm
from labwarden.sources.proxy.resolve import Index, Resolver
from labwarden.sources.proxy.workload import ALL_INTERFACES, ProxySpec, Workload, _loopback

NPM_DATABASE = "/data/database.sqlite"
NPM_ADMIN_PORT = 81
CADDY_CONFIG = "/etc/caddy/Caddyfile"


class Reading:
    """What reading proxies gave: facts, diagnostics, and the files read (so that a target
    naming the same file is not read twice)."""

    def __init__(self) -> None:
        self.facts: list = []
        self.diagnostics: list[Diagnostic] = []
        self.files: set[str] = set()

    def add(self, server: ProxyServer, routes: list[ProxyRoute]) -> None:
        self.diagnostics += server.diagnostics
        server.diagnostics = []
        self.facts.append(server)
        self.facts.extend(routes)


def read_tree(specs: list[ProxySpec], workloads: list[Workload]) -> Reading:
    reading = Reading()
    labels: dict[str, int] = {}
    labels_used = False
    index = Index(workloads)              # one index for every proxy of the tree
    for spec in specs:
        label = spec.workload.project
        labels[label] = labels.get(label, 0) + 1
        if labels[label] > 1:
            label = f"{label}-{spec.workload.service}"
        server = ProxyServer(spec.kind, label, origin=spec.workload.location,
                             workload=spec.workload)
        resolver = Resolver(index, home=spec.workload)
        try:
            if spec.kind == "npm":
                routes = _npm(spec, server, resolver, reading)
            elif spec.kind == "traefik":
                routes = _traefik(spec, server, resolver, reading,
                                  [] if labels_used else workloads)
                labels_used = labels_used or any(r.name.endswith("@docker") for r in routes)
            else:
                routes = _caddy(spec, server, resolver, reading)
        except Exception as exc:  # noqa: BLE001 - one proxy's odd configuration is a
            # diagnostic; the rest of the audit goes on (the exception may quote the input:
            # only its type is named)
            server.error = f"its configuration could not be read ({type(exc).__name__})"
            reading.diagnostics.append(Diagnostic(
                "error", "proxy-unreadable", f"{spec.kind} ({label}): {server.error}; not "
                "judged", spec.workload.location))
            routes = []
        reading.add(server, routes)
    return reading


def _not_in_tree(server: ProxyServer, reading: Reading, what: str, container_path: str,
                 volume: str | None, target: str, where: Location) -> None:
    if volume:
        why = f"is in the volume {volume!r}, outside the tree"
    else:
        why = "is not in the tree (no bind mount of it)"
    server.error = f"{what} ({container_path}) {why}: not read"
    reading.diagnostics.append(Diagnostic(
        "info", "proxy-not-read", f"{what} ({container_path}) {why}; copy it into the tree or "
        f"name it in labwarden.yaml (`proxies: [{target}:PATH]`) to judge its routes", where))


def _npm(spec: ProxySpec, server: ProxyServer, resolver: Resolver,
         reading: Reading) -> list[ProxyRoute]:
    where = spec.workload.location
    for address_spec, target, host_ip, location in spec.ports:
        if target == NPM_ADMIN_PORT and host_ip not in ALL_INTERFACES and not _loopback(host_ip):
            server.admin_ports.append((address_spec, location))
    if spec.env("DB_MYSQL_HOST") and not spec.env("DB_SQLITE_FILE"):
        server.error = "NPM keeps its proxy hosts in MySQL/MariaDB: not read"
        reading.diagnostics.append(Diagnostic(
            "warning", "proxy-not-read", "Nginx Proxy Manager uses MySQL/MariaDB "
            "(DB_MYSQL_HOST): labwarden reads only its SQLite database, so its proxy hosts "
            "are not judged", where))
        return []
    container_path = spec.env("DB_SQLITE_FILE") or NPM_DATABASE
    path, volume = spec.host_path(container_path)
    if path is None or not os.path.exists(path):
        _not_in_tree(server, reading, "NPM's database", container_path, volume, "npm", where)
        return []
    server.source = path
    reading.files.add(os.path.realpath(path))
    return read_npm(path, server.label, resolver, server)


def traefik_flags(words: list[str]) -> list[tuple[str, str | None]]:
    """`--a.b=value` words (and `--configFile PATH`) as (name, value or None)."""
    flags: list[tuple[str, str | None]] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-"):
            continue
        name, eq, value = word.lstrip("-").partition("=")
        if not eq and name.lower() == "configfile" and index < len(words):
            value, eq = words[index], "="
            index += 1
        flags.append((name, value if eq else None))
    return flags


def _traefik(spec: ProxySpec, server: ProxyServer, resolver: Resolver, reading: Reading,
             workloads: list[Workload]) -> list[ProxyRoute]:
    where = spec.workload.location
    flags = traefik_flags([word for word, _ in spec.command])
    named = next((value for name, value in flags if name.lower() == "configfile"), None)
    candidates = [named] if named else list(traefik.STATIC_PATHS)
    static_path = None
    for candidate in candidates:
        path, _ = spec.host_path(candidate)
        if path is not None and os.path.isfile(path):
            static_path = path
            break
    config = traefik.TraefikConfig(static_path or spec.workload.asset)
    data = None
    if static_path is not None:
        data, text, problem = traefik.load_file(static_path)
        if problem is not None:
            server.error = problem.message
            reading.diagnostics.append(problem)
            return []
        reading.files.add(os.path.realpath(static_path))
        traefik.static_from_file(config, data or {}, static_path, text)
        server.source = static_path
    elif named:
        _not_in_tree(server, reading, "Traefik's static configuration", named,
                     spec.host_path(named)[1], "traefik", where)
        return []
    else:
        if not flags:
            flags = [(name[len("TRAEFIK_"):].lower().replace("_", "."), value)
                     for name, value, _ in spec.environment
                     if name.upper().startswith("TRAEFIK_")]
        traefik.static_from_flags(config, flags)
    filename, directory = traefik.file_provider(data, flags)
    for container_path, is_dir in ((filename, False), (directory, True)):
        if not container_path:
            continue
        path, volume = spec.host_path(str(container_path))
        if path is None or not os.path.exists(path):
            _not_in_tree(server, reading, "Traefik's dynamic configuration",
                         str(container_path), volume, "traefik", where)
            continue
        files = traefik.dynamic_paths(path, reading.diagnostics) if is_dir else [path]
        _read_dynamic(config, files, reading)
    if config.docker and workloads:
        traefik.dynamic_from_labels(config, workloads)
    reading.diagnostics += config.diagnostics
    return traefik.routes(config, server.label, resolver, server)


def _read_dynamic(config: traefik.TraefikConfig, files: list[str], reading: Reading) -> None:
    for path in files:
        data, text, problem = traefik.load_file(path)
        if problem is not None:
            reading.diagnostics.append(problem)
            continue
        reading.files.add(os.path.realpath(path))
        traefik.dynamic_from_file(config, data or {}, path, text)


def _caddy(spec: ProxySpec, server: ProxyServer, resolver: Resolver,
           reading: Reading) -> list[ProxyRoute]:
    where = spec.workload.location
    words = [word for word, _ in spec.command]
    container_path = CADDY_CONFIG
    adapter = "caddyfile"
    for index, word in enumerate(words[:-1]):
        if word == "--config":
            container_path = words[index + 1]
        elif word == "--adapter":
            adapter = words[index + 1]
    path, volume = spec.host_path(container_path)
    if path is None or not os.path.isfile(path):
        _not_in_tree(server, reading, "Caddy's configuration", container_path, volume, "caddy",
                     where)
        return []
    return read_caddy_file(path, server, resolver, reading,
                           as_json=adapter == "json" or path.lower().endswith(".json"))


def read_caddy_file(path: str, server: ProxyServer, resolver: Resolver, reading: Reading,
                    as_json: bool = False) -> list[ProxyRoute]:
    config, problem = caddy.load_json(path) if as_json else caddy.adapt(path)
    server.source = path
    if problem is not None:
        reading.diagnostics.append(problem)
        if problem.level == "error" or config is None:
            server.error = problem.message
            return []
    reading.files.add(os.path.realpath(path))
    return caddy.routes(config or {}, server.label, path, Location(path), resolver, server)


# --- a target that names the configuration ------------------------------------------------

def read_target_file(kind: str, path: str, label: str, resolver: Resolver,
                     location: Location) -> Reading:
    """A proxy's configuration named by a target (`npm:PATH`, `traefik:PATH`,
    `caddy:PATH`), read the way the proxy would."""
    reading = Reading()
    server = ProxyServer(kind, label, source=path, origin=location)
    if not os.path.exists(path):
        server.error = f"no such file: {path}"
        server.diagnostics.append(Diagnostic("error", "proxy-unreadable", server.error,
                                             location))
        reading.add(server, [])
        return reading
    if kind == "npm":
        routes = read_npm(path, label, resolver, server)
        reading.files.add(os.path.realpath(path))
    elif kind == "caddy":
        routes = read_caddy_file(path, server, resolver, reading,
                                 as_json=path.lower().endswith(".json"))
    else:
        routes = _traefik_target(path, server, resolver, reading)
    reading.add(server, routes)
    return reading


def _traefik_target(path: str, server: ProxyServer, resolver: Resolver,
                    reading: Reading) -> list[ProxyRoute]:
    config = traefik.TraefikConfig(path)
    if os.path.isdir(path):
        _read_dynamic(config, traefik.dynamic_paths(path, reading.diagnostics), reading)
        return traefik.routes(config, server.label, resolver, server)
    data, text, problem = traefik.load_file(path)
    if problem is not None:
        reading.diagnostics.append(problem)
        server.error = problem.message
        return []
    reading.files.add(os.path.realpath(path))
    if any(traefik._get(data, key) is not None for key in ("entryPoints", "providers", "api")):
        traefik.static_from_file(config, data or {}, path, text)
        filename, directory = traefik.file_provider(data, [])
        base = os.path.dirname(os.path.abspath(path))
        for written, is_dir in ((filename, False), (directory, True)):
            if not written:
                continue
            # The static file names container paths: look there, then next to the file.
            found = next((p for p in (str(written), os.path.join(base, os.path.basename(
                str(written).rstrip("/")))) if os.path.exists(p)), None)
            if found is None:
                reading.diagnostics.append(Diagnostic(
                    "warning", "proxy-not-read", f"the file provider's {written} is not here "
                    "nor next to the static file: its routers are not read", Location(path)))
                continue
            files = traefik.dynamic_paths(found, reading.diagnostics) if is_dir else [found]
            _read_dynamic(config, files, reading)
    traefik.dynamic_from_file(config, data or {}, path, text)
    return traefik.routes(config, server.label, resolver, server)
