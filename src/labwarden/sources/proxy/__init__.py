"""Reverse proxies: what Nginx Proxy Manager, Traefik and Caddy are configured to do.

Each proxy host, router or site becomes a `ProxyRoute` (its domains, its upstreams, TLS,
the HTTP-to-HTTPS redirect, HSTS, authentication…), each proxy a `ProxyServer` (its admin
interface), and a route paired with the live answer of the same URL a `ProxyLiveCheck`
(`model.py`). Nothing here judges: `labwarden.rules.proxy` does.

Where they are read (`discover.py`): a proxy run by a Compose project of the audited tree
is found by its image, and its configuration through the project's bind mounts (NPM's
SQLite database, Traefik's static and dynamic files and the `traefik.*` labels of the other
services, the Caddyfile through `caddy adapt`); elsewhere, a target names it
(`npm:PATH`, `traefik:PATH|URL`, `caddy:PATH|URL`, `labwarden.sources.live.proxy`).
"""
