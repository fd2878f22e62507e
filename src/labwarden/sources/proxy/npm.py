"""Nginx Proxy Manager's proxy hosts, read from its SQLite database, read-only.

Table and column names are NPM's own (backend/migrations): `proxy_host` (domain_names as
JSON, forward_scheme/forward_host/forward_port, certificate_id, ssl_forced, hsts_enabled,
hsts_subdomains, http2_support, block_exploits, allow_websocket_upgrade, access_list_id,
advanced_config, locations, enabled, is_deleted, meta), `certificate` (nice_name,
provider, expires_on), `access_list` (name, satisfy_any), `access_list_auth` (one row per
user: only counted, never read beyond that) and `access_list_client` (address, directive).
Columns a migration added later are read only when present, so an old database is read as
far as it goes.

A disabled proxy host (`enabled` 0) serves nothing and is not read: it is no evidence about
the service it once served, either way.

What NPM does with them is its templates' (backend/templates): HSTS is sent only on a host
with a certificate *and* Force SSL (`_hsts.conf`), with max-age=31536000 and
includeSubDomains when "HSTS Subdomains" is on; Force SSL needs a certificate
(`_forced_ssl.conf`); an access list denies every client it does not allow once it has a
client rule, and asks for a password when it has users.

The database is opened with SQLite's `mode=ro` URI and `query_only`: NPM may be running and
writing it, and an audit takes no write lock on it. MariaDB/MySQL (NPM's optional backend)
is not read: a Compose service that uses it gets a warning instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from urllib.parse import quote

from labwarden.model import Diagnostic, Location
from labwarden.sources.proxy.model import Certificate, Hsts, ProxyRoute, ProxyServer
from labwarden.sources.proxy.resolve import Resolver

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

MAX_DATABASE_BYTES = 512 * 1024 * 1024
NPM_HSTS_MAX_AGE = 31_536_000        # _hsts.conf
_HSTS_HEADER = re.compile(r"add_header\s+Strict-Transport-Security\s+[\"']?([^\"';]*(?:;[^\"']*)?)",
                          re.I)


class NpmError(Exception):
    pass


def connect(path: str) -> sqlite3.Connection:
    """The database at `path`, opened read-only: a regular file (checked by the one reader)
    opened with `mode=ro`, queries only, a short busy timeout."""
    import sqlite3

    from labwarden.sources._read import open_regular

    with open_regular(path, MAX_DATABASE_BYTES):    # a FIFO or device is refused here
        pass
    uri = "file:" + quote(os.path.abspath(path)) + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
    connection.execute("PRAGMA query_only = ON")
    return connection


def read_npm(path: str, label: str, resolver: Resolver, server: ProxyServer) -> list[ProxyRoute]:
    """The proxy hosts of NPM's database at `path`; a problem reading it is the server's
    error and diagnostic, never an exception."""
    # Here, not with the module: the proxy stage imports this reader whenever the tree runs
    # a proxy, and reads a database only for an NPM whose data directory is there.
    import sqlite3

    where = Location(path)
    try:
        connection = connect(path)
    except (OSError, sqlite3.Error) as exc:
        _fail(server, f"cannot open NPM's database: {_why(exc)}", where)
        return []
    try:
        return _read(connection, path, label, resolver, server)
    except NpmError as exc:
        _fail(server, str(exc), where)
    except sqlite3.Error as exc:
        _fail(server, f"cannot read NPM's database: {_why(exc)}", where)
    finally:
        connection.close()
    return []


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _fail(server: ProxyServer, message: str, where: Location) -> None:
    server.error = message
    server.diagnostics.append(Diagnostic("error", "proxy-unreadable", message, where))


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info('{table}')")}


def _rows(connection: sqlite3.Connection, table: str, wanted: tuple[str, ...],
          deleted: bool = True) -> list[dict]:
    """Rows of `table` with the `wanted` columns it has (the others None), not deleted."""
    present = _columns(connection, table)
    if not present:
        return []
    chosen = [c for c in wanted if c in present]
    where = " WHERE is_deleted = 0" if deleted and "is_deleted" in present else ""
    query = f"SELECT {', '.join(chosen)} FROM {table}{where} ORDER BY id"
    return [{**dict.fromkeys(wanted), **dict(zip(chosen, row))}
            for row in connection.execute(query)]


PROXY_HOST = ("id", "domain_names", "forward_scheme", "forward_host", "forward_ip",
              "forward_port", "certificate_id", "ssl_forced", "hsts_enabled", "hsts_subdomains",
              "http2_support", "block_exploits", "allow_websocket_upgrade", "access_list_id",
              "advanced_config", "locations", "enabled", "meta")


def _read(connection, path: str, label: str, resolver: Resolver,
          server: ProxyServer) -> list[ProxyRoute]:
    columns = _columns(connection, "proxy_host")
    if not columns:
        raise NpmError("not an Nginx Proxy Manager database: it has no proxy_host table")
    hsts_known = "hsts_enabled" in columns
    certificates = {row["id"]: row for row in _rows(
        connection, "certificate", ("id", "nice_name", "provider", "expires_on",
                                    "domain_names"))}
    lists = {row["id"]: row for row in _rows(connection, "access_list",
                                             ("id", "name", "satisfy_any"))}
    users: dict[int, int] = {}
    for row in _rows(connection, "access_list_auth", ("access_list_id",), deleted=False):
        users[row["access_list_id"]] = users.get(row["access_list_id"], 0) + 1
    clients: dict[int, list[tuple[str, str]]] = {}
    for row in _rows(connection, "access_list_client", ("access_list_id", "address",
                                                        "directive"), deleted=False):
        clients.setdefault(row["access_list_id"], []).append(
            (str(row["directive"] or ""), str(row["address"] or "")))
    read_at = dt.datetime.now(dt.timezone.utc)
    routes: list[ProxyRoute] = []
    names: set[str] = set()
    for row in _rows(connection, "proxy_host", PROXY_HOST):
        if row["enabled"] is not None and not _flag(row["enabled"]):
            continue
        domains = tuple(str(d) for d in _json(row["domain_names"], []) if d)
        name = domains[0] if domains else f"#{row['id']}"
        if name in names:
            name = f"{name}#{row['id']}"
        names.add(name)
        route = ProxyRoute("npm", label, name, source=path, origin=Location(path),
                           domains=domains, hsts_known=hsts_known, read_at=read_at)
        _forwarding(route, row, resolver)
        _served(route, row)
        _tls(route, row, certificates)
        _access(route, row, lists, users, clients)
        routes.append(route)
    server.routes = len(routes)
    return routes


def _json(value, default):
    if value is None or value == "":
        return default
    try:
        return json.loads(value) if isinstance(value, (str, bytes)) else value
    except ValueError:
        return default


def _flag(value) -> bool:
    try:
        return int(value or 0) != 0
    except (TypeError, ValueError):
        return str(value).lower() == "true"


def _forwarding(route: ProxyRoute, row: dict, resolver: Resolver) -> None:
    host = row["forward_host"] if row["forward_host"] is not None else row["forward_ip"]
    scheme = str(row["forward_scheme"] or "http")
    if host:
        suffix = f":{row['forward_port']}" if row["forward_port"] not in (None, "") else ""
        route.upstreams.append(resolver.upstream(f"{scheme}://{host}{suffix}"))
    for location in _json(row["locations"], []) or []:
        if isinstance(location, dict) and location.get("forward_host"):
            scheme = str(location.get("forward_scheme") or "http")
            port = location.get("forward_port")
            target = f"{scheme}://{location['forward_host']}" + (f":{port}" if port else "")
            route.upstreams.append(resolver.upstream(target))
    route.websockets = _flag(row["allow_websocket_upgrade"])
    route.block_exploits = _flag(row["block_exploits"])


def _served(route: ProxyRoute, row: dict) -> None:
    meta = _json(row["meta"], {}) or {}
    if isinstance(meta, dict) and meta.get("nginx_online") is False:
        error = str(meta.get("nginx_err") or "").strip().splitlines()
        route.not_served = ("Nginx Proxy Manager could not apply its configuration"
                            + (f": {error[0][:160]}" if error else ""))


def _tls(route: ProxyRoute, row: dict, certificates: dict) -> None:
    certificate = certificates.get(row["certificate_id"]) if row["certificate_id"] else None
    route.tls = certificate is not None
    if certificate is not None:
        route.certificate = Certificate(
            str(certificate["nice_name"] or ", ".join(_json(certificate["domain_names"], []))
                or f"#{certificate['id']}"),
            str(certificate["provider"] or ""), _expiry(certificate["expires_on"]))
    forced = _flag(row["ssl_forced"])
    route.force_https = route.tls and forced
    if forced and not route.tls:
        route.force_note = "Force SSL is on, but the host has no certificate: NPM ignores it"
    elif route.force_https:
        route.force_note = "Force SSL: http:// answers 301 to https://"
    route.http2 = _flag(row["http2_support"]) if route.tls else None
    advanced = str(row["advanced_config"] or "")
    if _flag(row["hsts_enabled"]):
        if route.force_https:
            route.hsts = Hsts(NPM_HSTS_MAX_AGE, _flag(row["hsts_subdomains"]), True)
        else:
            route.hsts_note = ("HSTS Enabled is on, but NPM sends the header only with a "
                               "certificate and Force SSL")
    if route.hsts is None and route.tls:
        match = _HSTS_HEADER.search(advanced)
        if match:
            from labwarden.sources.live.http import parse_hsts

            parsed = parse_hsts(match.group(1))
            if not parsed.error and parsed.max_age:
                route.hsts = Hsts(parsed.max_age, parsed.include_subdomains, parsed.preload)
                route.hsts_note = "set in the host's advanced configuration"
    if re.search(r"^\s*auth_request\s", advanced, re.M):
        route.auth = "auth_request (a forward-auth gateway) in the advanced configuration"
        route.sso = True


def _expiry(value) -> dt.datetime | None:
    if not value:
        return None
    text = str(value).strip().replace("T", " ").rstrip("Z")
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, layout).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    try:                                  # a knex timestamp in milliseconds
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _access(route: ProxyRoute, row: dict, lists: dict, users: dict, clients: dict) -> None:
    """What the host's access list does: a password (its users), an address allow-list
    (client rules: NPM denies everyone else once there is one), or nothing (no list, or a
    list that only allows everyone)."""
    if route.auth:                       # auth_request already
        return
    list_id = row["access_list_id"]
    found = lists.get(list_id) if list_id else None
    if found is None:
        return
    name = str(found["name"] or f"#{list_id}")
    count = users.get(list_id, 0)
    rules = clients.get(list_id, [])
    restricting = [address for directive, address in rules
                   if not (directive == "allow" and address.lower() in ("all", "0.0.0.0/0"))]
    parts = []
    if count:
        parts.append(f"{count} user{'s' if count != 1 else ''} with a password")
    if restricting:
        parts.append(f"{len(rules)} address rule{'s' if len(rules) != 1 else ''}")
    if not parts:
        return                            # a list that lets everyone in
    satisfy = " (either suffices)" if count and restricting and _flag(found["satisfy_any"]) \
        else ""
    route.auth = f"access list '{name}': {' and '.join(parts)}{satisfy}"
