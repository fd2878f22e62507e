"""What the user asked to probe: URLs, hosts and snapshots, parsed once.

    https://grafana.lab.example[:443][/path]   TLS + HTTP headers (+ plain-HTTP redirect)
    http://host[:port][/path]                  HTTP headers
    ssh://[user@]host[:port]                   SSH server (banner, algorithms, auth methods);
                                               host collectors too with --ssh-key
    tcp://host[:port]                          TCP connect scan (port list from policy)
    local://                                   host collectors on this machine
    snapshot:DIR                               host collectors reading saved command output
    docker+unix:///path/docker.sock            a Docker Engine's containers (its API)
    docker+tcp://host:port                     the same over TCP (no TLS)
    docker:                                    the engine DOCKER_HOST names (default: the
                                               local socket)
    pve://node[:8006]                          the Proxmox VE API (read-only, API token)
    prometheus://host[:9090][/prefix]          Prometheus's API (targets, rules, alertmanagers)
    alertmanager://host[:9093][/prefix]        Alertmanager's API (its configuration)
                                               (plain HTTP; `prometheus+https://` for TLS)
    restic:LOCATION, borg:LOCATION             a backup repository (sources.backup)
    npm:PATH                                   Nginx Proxy Manager's SQLite database
    traefik:PATH | traefik:http://host:port    Traefik's configuration, or its API
    caddy:PATH | caddy:http://host:port        a Caddyfile or Caddy's JSON, or its admin API

Probes touch only these targets: nothing follows a redirect to another host.
"""

from __future__ import annotations

from labwarden._record import FrozenRecord, set_frozen
from labwarden.model import Location

# Reverse proxies whose configuration a target names: a path, or the URL of their API.
PROXY_SCHEMES = ("npm", "traefik", "caddy")
SCHEMES = ("https", "http", "ssh", "tcp", "local", "snapshot", "docker", "pve", "prometheus",
           "alertmanager", "restic", "borg") + PROXY_SCHEMES
DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "pve": 8006, "prometheus": 9090,
                 "alertmanager": 9093}
# An API read over HTTP: `prometheus+https://` is the same target over TLS.
API_SCHEMES = {f"{api}+{web}": api for api in ("prometheus", "alertmanager")
               for web in ("http", "https")}


class TargetError(ValueError):
    pass


class Target(FrozenRecord):
    __slots__ = ("raw", "scheme", "host", "port", "user", "path")
    raw: str
    scheme: str
    host: str
    port: int | None
    user: str | None
    path: str

    def __init__(self, raw: str, scheme: str, host: str = "", port: int | None = None,
                 user: str | None = None, path: str = "/"):
        set_frozen(self, "raw", raw)
        set_frozen(self, "scheme", scheme)
        set_frozen(self, "host", host)
        set_frozen(self, "port", port)
        set_frozen(self, "user", user)
        set_frozen(self, "path", path)

    @property
    def address(self) -> str:
        """host:port, with brackets for IPv6."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    @property
    def location(self) -> Location:
        return Location(self.raw)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}{self.path}"


# What a target starts with; a path given on the command line does not.
_TARGET_PREFIXES = tuple(f"{s}:" for s in (*SCHEMES, *API_SCHEMES)) + ("docker+",)


def looks_like_target(text: str) -> bool:
    # Asked of every path of an audit (a thousand files in a CI job): no ":", no target.
    return ":" in text and text.startswith(_TARGET_PREFIXES)


def parse_target(text: str) -> Target:
    if text.startswith(("docker:", "docker+")):
        # A Docker Engine: `path` holds its API address (unix:///… or tcp://host:port).
        from labwarden.sources.docker.address import engine_tls, engine_url

        try:
            engine_tls(text)                 # a bad `?tls=` is an error here, not later
            return Target(text, "docker", path=engine_url(text))
        except ValueError as exc:
            raise TargetError(str(exc)) from None
    if text.startswith("snapshot:"):
        directory = text[len("snapshot:"):]
        if not directory:
            raise TargetError("snapshot: needs a directory, e.g. snapshot:./host-dump")
        return Target(text, "snapshot", path=directory)
    if text.startswith(("restic:", "borg:")):
        from labwarden.sources.backup.config import split

        try:
            tool, location = split(text)
        except ValueError as exc:
            raise TargetError(str(exc)) from None
        return Target(text, tool, path=location)
    scheme = text.partition(":")[0]
    if scheme in PROXY_SCHEMES:
        return _proxy_target(text, scheme)
    if text.rstrip("/") == "local:":
        return Target(text, "local")
    from urllib.parse import urlsplit  # here: `audit` of files asks only looks_like_target

    parts = urlsplit(text)
    scheme = API_SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in SCHEMES:
        raise TargetError(f"{text}: unknown scheme (use one of {', '.join(SCHEMES)})")
    if scheme == "local":
        return Target(text, "local")
    if scheme == "pve" and "@" in parts.netloc:
        # a token written into the target would be printed with every finding: refuse it,
        # without quoting the text
        raise TargetError("pve:// takes no user or token in the address: put the API token "
                          "in LABWARDEN_PVE_TOKEN")
    if not parts.hostname:
        raise TargetError(f"{text}: no host")
    try:
        port = parts.port
    except ValueError:
        raise TargetError(f"{text}: invalid port") from None
    if port is not None and not 0 < port < 65536:
        raise TargetError(f"{text}: invalid port")
    return Target(text, scheme, parts.hostname, port or DEFAULT_PORTS.get(scheme),
                  parts.username, parts.path or "/")


def _proxy_target(text: str, scheme: str) -> Target:
    rest = text[len(scheme) + 1:]
    if not rest:
        raise TargetError(f"{scheme}: needs a path or an API URL, e.g. {scheme}:./config or "
                          f"{scheme}:http://127.0.0.1:8080")
    if not rest.startswith(("http://", "https://")):
        return Target(text, scheme, path=rest)
    from urllib.parse import urlsplit  # here, as in parse_target

    parts = urlsplit(rest)
    try:
        port = parts.port
    except ValueError:
        raise TargetError(f"{text}: invalid port") from None
    if not parts.hostname:
        raise TargetError(f"{text}: no host")
    return Target(text, scheme, parts.hostname, port or DEFAULT_PORTS.get(parts.scheme),
                  parts.username, rest)
