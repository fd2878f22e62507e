"""The probe for targets that name a reverse proxy's configuration or API:

    npm:PATH                     Nginx Proxy Manager's SQLite database (read-only)
    traefik:PATH                 Traefik's static file (and its file provider), or a dynamic
                                 file or directory
    traefik:http://HOST:PORT     Traefik's API (/api/http/routers, …/middlewares, …/services,
                                 /api/entrypoints)
    caddy:PATH                   a Caddyfile (through `caddy adapt`) or Caddy's JSON config
    caddy:http://HOST:PORT       Caddy's admin API (/config/)

A proxy in a Compose project of the audited tree needs none of these: it is found there
(`labwarden.sources.proxy.discover`). Files are read in a thread (SQLite and `caddy adapt`
block); the APIs with one bounded GET each. Upstreams are matched to the tree's Compose
services afterwards, by the audit (`labwarden.audit.proxies`).
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from labwarden.model import Diagnostic
from labwarden.sources.proxy.discover import Reading, read_target_file
from labwarden.sources.proxy.model import ProxyServer
from labwarden.sources.proxy.resolve import Resolver

MAX_API_BYTES = 8 * 1024 * 1024
MAX_PAGES = 20


def is_api(target) -> bool:
    return target.path.startswith(("http://", "https://"))


def label_of(target) -> str:
    if is_api(target):
        parts = urlsplit(target.path)
        return parts.netloc or target.path
    return os.path.basename(os.path.normpath(target.path)) or target.path


async def probe(target, options):
    label = label_of(target)
    if not is_api(target):
        reading = await asyncio.to_thread(read_target_file, target.scheme, target.path, label,
                                          Resolver([]), target.location)
        return _facts(reading)
    server = ProxyServer(target.scheme, label, source=target.path, origin=target.location)
    try:
        if target.scheme == "traefik":
            routes = await _traefik_api(target.path.rstrip("/"), options, label, server)
        elif target.scheme == "caddy":
            routes = await _caddy_api(target.path.rstrip("/"), options, label, server)
        else:
            server.error = "Nginx Proxy Manager is read from its database: npm:PATH"
            server.diagnostics.append(Diagnostic("error", "proxy-unsupported", server.error,
                                                 target.location))
            routes = []
    except _ApiError as exc:
        server.error = str(exc)
        server.diagnostics.append(Diagnostic("error", "proxy-unreachable", str(exc),
                                             target.location))
        routes = []
    reading = Reading()
    reading.add(server, routes)
    return _facts(reading)


def _facts(reading: Reading) -> list:
    # The probe's collector gathers diagnostics from each fact: hand them back on the server.
    server = next((f for f in reading.facts if isinstance(f, ProxyServer)), None)
    if server is not None:
        server.diagnostics = reading.diagnostics
    return reading.facts


class _ApiError(Exception):
    pass


async def _get(client, url: str):
    import httpx

    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise _ApiError(f"{_shown(url)} answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_API_BYTES:
                    raise _ApiError(f"{_shown(url)}: answer over {MAX_API_BYTES} bytes")
            headers = response.headers
    except httpx.HTTPError as exc:
        raise _ApiError(f"cannot reach {_shown(url)}: {type(exc).__name__}") from None
    import json

    try:
        return json.loads(bytes(body)), headers
    except ValueError:
        raise _ApiError(f"{_shown(url)} did not answer JSON") from None


def _shown(url: str) -> str:
    from labwarden.sources.live.http import safe_url

    return safe_url(url)


def _client(options):
    import httpx

    from labwarden.sources.live.http import _verified_context

    return httpx.AsyncClient(timeout=getattr(options, "timeout", 5.0), follow_redirects=False,
                             verify=_verified_context(getattr(options, "ca_file", None)))


async def _traefik_api(base: str, options, label: str, server: ProxyServer) -> list:
    from labwarden.sources.proxy import traefik

    async def listing(path: str) -> list:
        items: list = []
        page = "1"
        for _ in range(MAX_PAGES):
            data, headers = await _get(client, f"{base}{path}?per_page=1000&page={page}")
            if not isinstance(data, list):
                raise _ApiError(f"{_shown(base + path)} did not answer a list")
            items += data
            page = headers.get("x-next-page", "1")
            if page in ("", "1"):
                break
        return items

    async with _client(options) as client:
        entrypoints = await listing("/api/entrypoints")
        routers = await listing("/api/http/routers")
        middlewares = await listing("/api/http/middlewares")
        services = await listing("/api/http/services")
    config = traefik.TraefikConfig(base)
    traefik.from_api(config, routers, middlewares, services, entrypoints)
    return traefik.routes(config, label, Resolver([]), server)


async def _caddy_api(base: str, options, label: str, server: ProxyServer) -> list:
    from labwarden.model import Location
    from labwarden.sources.proxy import caddy

    async with _client(options) as client:
        data, _ = await _get(client, f"{base}/config/")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _ApiError(f"{_shown(base)}/config/ did not answer a JSON object")
    return caddy.routes(data, label, base, Location(base), Resolver([]), server)
