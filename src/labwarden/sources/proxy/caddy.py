"""Caddy's sites, from its JSON configuration: a Caddyfile adapted by `caddy adapt` (Caddy's
own parser: Debian's `caddy` package), a JSON file, or the admin API's `/config/`.

In that JSON a site is a top-level route of an HTTP server, matched by host. What it does:

- TLS: a server that listens on a port other than the HTTP port (80) gets automatic HTTPS
  (a public or `tls internal` certificate) unless `automatic_https.disable`; an
  `http://` site becomes a route of a server on port 80 only, without TLS;
- the redirect to HTTPS: automatic HTTPS adds it for its hosts unless `disable` or
  `disable_redirects` (`auto_https off|disable_redirects`); a `redir https://…` on the
  plain port counts too;
- headers: `headers` handlers' response `set`/`add` (the `header` directive), HSTS among
  them;
- authentication: an `authentication` handler (`basicauth`/`basic_auth`), or a
  `reverse_proxy` with `handle_response` and a `rewrite` (what `forward_auth` adapts to);
- upstreams: the other `reverse_proxy` handlers' `dial` addresses.

The admin API's address is `admin.listen` (default `localhost:2019`; `admin off` disables
it). `caddy adapt` runs with an empty environment, so `{$VAR}` placeholders do not depend on
the auditor's shell (they adapt to empty, as in a shell without them).
"""

from __future__ import annotations

import json
import os
import re

from labwarden.model import Diagnostic, Location
from labwarden.sources.proxy.model import Hsts, ProxyRoute, ProxyServer
from labwarden.sources.proxy.resolve import Resolver

MAX_CONFIG_BYTES = 4 * 1024 * 1024
ADAPT_SECONDS = 20
DEFAULT_ADMIN = "localhost:2019"
SECURITY_HEADERS = ("strict-transport-security", "content-security-policy", "x-frame-options",
                    "x-content-type-options", "referrer-policy", "permissions-policy",
                    "x-xss-protection")
_ERROR_LINE = re.compile(r"(?:^|\s)(?:Error: )?(?:adapting config using caddyfile: )?"
                         r"(?P<file>[^\s:]*[Cc]addyfile[^\s:]*):(?P<line>\d+)")


def adapt(path: str) -> tuple[dict | None, Diagnostic | None]:
    """The JSON configuration of a Caddyfile, through `caddy adapt`; or a diagnostic."""
    # Here, not with the module: the proxy stage imports this reader whenever the tree runs
    # a proxy, and subprocess with shutil is 10 ms of imports, for a Caddyfile only.
    import shutil
    import subprocess

    from labwarden.sources._read import open_regular

    where = Location(path)
    try:
        with open_regular(path, MAX_CONFIG_BYTES):
            pass
    except OSError as exc:
        return None, Diagnostic("error", "proxy-unreadable",
                                f"cannot read the Caddyfile: {exc.strerror or exc}", where)
    binary = shutil.which("caddy")
    if binary is None:
        return None, Diagnostic("warning", "proxy-tool-missing", "`caddy` is not on PATH: "
                                "the Caddyfile is not read (install Caddy, e.g. Debian's "
                                "`caddy` package, or name its admin API with --live)", where)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        done = subprocess.run([binary, "adapt", "--config", os.path.basename(path),
                               "--adapter", "caddyfile"], cwd=directory,
                              capture_output=True, timeout=ADAPT_SECONDS,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                   "HOME": directory}, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, Diagnostic("error", "proxy-unreadable", f"`caddy adapt` gave no answer "
                                f"within {ADAPT_SECONDS} s", where)
    except OSError as exc:
        return None, Diagnostic("error", "proxy-unreadable",
                                f"cannot run caddy: {exc.strerror or exc}", where)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        text = next((line for line in reversed(message) if "rror" in line),
                    message[-1] if message else "caddy adapt failed")
        line = _ERROR_LINE.search(text)
        at = Location(path, int(line.group("line"))) if line else where
        text = re.sub(r"^Error:\s*", "", text)[:300]
        return None, Diagnostic("error", "proxy-unreadable", f"invalid Caddyfile: {text}", at)
    try:
        return json.loads(done.stdout), None
    except ValueError:
        return None, Diagnostic("error", "proxy-unreadable", "`caddy adapt` printed no JSON",
                                where)


def load_json(path: str) -> tuple[dict | None, Diagnostic | None]:
    from labwarden.sources._read import DecodeError, decode_text, read_regular

    try:
        data = json.loads(decode_text(read_regular(path, MAX_CONFIG_BYTES)))
    except (OSError, DecodeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        return None, Diagnostic("error", "proxy-unreadable",
                                f"cannot read Caddy's JSON configuration: {why}",
                                Location(path))
    return (data, None) if isinstance(data, dict) else (None, Diagnostic(
        "error", "proxy-unreadable", "expected a JSON object", Location(path)))


def admin_address(config: dict) -> str | None:
    admin = config.get("admin")
    if not isinstance(admin, dict):
        return DEFAULT_ADMIN
    if admin.get("disabled"):
        return None
    return str(admin.get("listen") or DEFAULT_ADMIN)


def routes(config: dict, label: str, source: str, where: Location, resolver: Resolver,
           server: ProxyServer) -> list[ProxyRoute]:
    server.admin_known = True
    server.admin_listen = admin_address(config)
    http = (config.get("apps") or {}).get("http") or {}
    http_port = int(http.get("http_port") or 80)
    servers = http.get("servers") or {}
    redirected: set[str] = set()
    for spec in servers.values():
        if isinstance(spec, dict) and _ports(spec) == {http_port}:
            redirected |= _redirect_hosts(spec)
    found: list[ProxyRoute] = []
    names: set[str] = set()
    for server_name, spec in servers.items():
        if not isinstance(spec, dict):
            continue
        ports = _ports(spec)
        automatic = spec.get("automatic_https") or {}
        plain_only = bool(ports) and ports == {http_port}
        tls = not plain_only and (not automatic.get("disable") or
                                  bool(spec.get("tls_connection_policies")))
        skipped = {str(h).lower() for h in automatic.get("skip") or []}
        redirects = tls and not automatic.get("disable") and \
            not automatic.get("disable_redirects")
        for index, top in enumerate(spec.get("routes") or []):
            if not isinstance(top, dict):
                continue
            hosts = _hosts(top)
            walk = _Walk()
            walk.handlers(top.get("handle") or [])
            if not walk.upstreams and not walk.auth:
                if plain_only and walk.redirects:
                    continue                  # a redirect to https, not a site
                if not hosts:
                    continue
            name = hosts[0] if hosts else f"{server_name}#{index}"
            if name in names:
                name = f"{name}@{server_name}"
            names.add(name)
            route = ProxyRoute("caddy", label, name, source=source, origin=where,
                               domains=tuple(hosts))
            route.tls = tls and not (hosts and all(h in skipped for h in hosts))
            if route.tls:
                route.force_https = bool(redirects) or bool(hosts) and all(
                    h in redirected for h in hosts)
                route.force_note = ("automatic HTTPS redirects http:// to https://"
                                    if redirects else "redirected by a route on the HTTP port"
                                    if route.force_https else
                                    "automatic HTTPS redirects are off (auto_https)")
            route.upstreams = [resolver.upstream(u) for u in walk.upstreams]
            route.auth, route.sso = walk.auth, walk.sso
            route.headers = tuple(sorted(h for h in walk.headers if h in SECURITY_HEADERS))
            if walk.hsts is not None:
                from labwarden.sources.live.http import parse_hsts

                parsed = parse_hsts(walk.hsts)
                if not parsed.error and parsed.max_age:
                    route.hsts = Hsts(parsed.max_age, parsed.include_subdomains,
                                      parsed.preload)
                elif parsed.error or parsed.max_age == 0:
                    route.hsts_note = f"Strict-Transport-Security {walk.hsts!r} is not valid"
                if route.hsts is not None and not route.tls:
                    route.hsts_note = "HSTS is set on a site without TLS: browsers ignore it"
                    route.hsts = None
            found.append(route)
    server.routes = len(found)
    return found


def _ports(spec: dict) -> set[int]:
    ports = set()
    for address in spec.get("listen") or []:
        text = str(address).rpartition("/")[2]
        port = text.rpartition(":")[2]
        if port.isdigit():
            ports.add(int(port))
        elif "-" in port and port.replace("-", "").isdigit():
            low, high = port.split("-", 1)
            ports.update(range(int(low), int(high) + 1))
    return ports


def _hosts(route: dict) -> list[str]:
    hosts: list[str] = []
    for matcher in route.get("match") or []:
        if isinstance(matcher, dict):
            hosts += [str(h).lower() for h in matcher.get("host") or []]
    return list(dict.fromkeys(hosts))


def _redirect_hosts(spec: dict) -> set[str]:
    found: set[str] = set()
    for top in spec.get("routes") or []:
        if isinstance(top, dict):
            walk = _Walk()
            walk.handlers(top.get("handle") or [])
            if walk.redirects:
                found.update(_hosts(top) or ["*"])
    return found


class _Walk:
    """What a route's handlers do, subroutes included."""

    def __init__(self):
        self.upstreams: list[str] = []
        self.auth: str | None = None
        self.sso = False
        self.headers: set[str] = set()
        self.hsts: str | None = None
        self.redirects = False

    def handlers(self, handlers: list, depth: int = 0) -> None:
        if depth > 20:
            return
        for handler in handlers:
            if not isinstance(handler, dict):
                continue
            kind = handler.get("handler")
            if kind == "subroute":
                for route in handler.get("routes") or []:
                    if isinstance(route, dict):
                        self.handlers(route.get("handle") or [], depth + 1)
            elif kind == "reverse_proxy":
                dials = [str(u.get("dial")) for u in handler.get("upstreams") or []
                         if isinstance(u, dict) and u.get("dial")]
                if handler.get("handle_response") and handler.get("rewrite"):
                    if self.auth is None:        # forward_auth: ask the gateway first
                        self.auth = f"forward_auth to {', '.join(dials) or 'a gateway'}"
                        self.sso = True
                    continue
                scheme = "https" if (handler.get("transport") or {}).get("tls") is not None \
                    else "http"
                self.upstreams += [f"{scheme}://{d}" for d in dials]
            elif kind == "authentication":
                providers = handler.get("providers") or {}
                basic = providers.get("http_basic") or {}
                users = len(basic.get("accounts") or [])
                if self.auth is None:
                    self.auth = (f"basic_auth ({users} user{'s' if users != 1 else ''})"
                                 if basic else "authentication handler")
            elif kind == "headers":
                response = handler.get("response") or {}
                for op in ("set", "add"):
                    for name, values in (response.get(op) or {}).items():
                        self.headers.add(str(name).lower())
                        if str(name).lower() == "strict-transport-security" and values:
                            self.hsts = str(values[0])
            elif kind == "static_response":
                location = ((handler.get("headers") or {}).get("Location") or [""])[0]
                if str(location).lower().startswith("https://"):
                    self.redirects = True
