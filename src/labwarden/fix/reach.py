"""Who needs a published port: the lab's layout as the port fix (NET001-NET003) sees it.

Binding a port to 127.0.0.1 is only right when nothing outside the host needs it. When the
lab's reverse proxy forwards to the service, the fix must keep that path working:

- the proxy is a Compose service on the same host → the service joins the proxy's network
  and `ports:` becomes `expose:` (the proxy reaches it by container name, the host publishes
  nothing);
- the proxy is on another host (the inventory puts its stack elsewhere, or it is a
  `proxies:` target outside the tree) → the port is bound to the service host's LAN address
  from the inventory, and a DOCKER-USER firewall rule lets only the proxy in;
- nothing forwards to it (or it is the proxy's own admin port, or a database) → loopback.

The layout is read from the audit's kept facts (Compose services, proxy servers and their
routes with the workload each upstream resolved to) and the inventory's hosts.
"""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from labwarden.sources.compose.model import Service

# Which host a service runs on is the inventory's; a host's LAN address is its `lan_address`,
# else the address it is reached at when that is an IP or a name (ssh://admin@10.0.0.5).
_NOT_LAN_SCHEMES = ("snapshot:", "local:", "local://", "docker:", "docker+")


def lan_address(host) -> str | None:
    """The host's LAN address from the inventory, or None when it does not say."""
    if host is None:
        return None
    explicit = getattr(host, "lan_address", None)
    if explicit:
        return str(explicit)
    address = getattr(host, "address", None)
    if not address or address.startswith(_NOT_LAN_SCHEMES):
        return None
    text = address if "://" in address else f"ssh://{address}"
    try:
        name = urlsplit(text).hostname
    except ValueError:
        return None
    if not name:
        return None
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return None                     # a DNS name: a port binds to an address, not a name
    return None if ip.is_loopback or ip.is_unspecified else str(ip)


class Route:
    """A proxy route that forwards to a service: which proxy, and how it finds it."""

    __slots__ = ("proxy", "domains", "url", "via", "proxy_key")

    def __init__(self, proxy: str, domains: tuple[str, ...], url: str, via: str,
                 proxy_key: tuple[str, str] | None):
        self.proxy = proxy              # the proxy's label (its Compose project, or target)
        self.domains = domains
        self.url = url                  # the upstream as configured
        self.via = via                  # container name | host port … (proxy.resolve)
        self.proxy_key = proxy_key      # (directory, service) of the proxy; None: outside

    @property
    def shown(self) -> str:
        return self.domains[0] if self.domains else self.proxy


class Layout:
    """The Compose services, proxies and hosts of the audited lab."""

    def __init__(self) -> None:
        self.services: dict[tuple[str, str], Service] = {}  # (directory, name) -> Service
        self.by_asset: dict[str, tuple[str, str]] = {}      # compose:<project>/<service>
        self.proxies: dict[tuple[str, str], str] = {}       # (directory, service) -> kind
        self.routes: dict[tuple[str, str], list[Route]] = {}
        self.unread: list[str] = []      # proxies whose routes could not be read
        self.host_of_dir: dict[str, Any] = {}                # project directory -> Host
        self.proxy_names: tuple[str, ...] = ()               # policy.proxy_services

    # --- reading ----------------------------------------------------------------------

    @classmethod
    def from_facts(cls, facts, inventory=None, settings=None) -> Layout:
        from labwarden.sources.compose.model import Service
        from labwarden.sources.proxy.model import ProxyRoute, ProxyServer

        layout = cls()
        layout.proxy_names = tuple(getattr(settings, "proxy_services", ()) or ())
        servers: dict[str, tuple[str, str] | None] = {}
        routes = []
        for _, _, fact in facts or ():
            if isinstance(fact, Service):
                key = (_abs(fact.project.directory), fact.name)
                layout.services[key] = fact
                layout.by_asset.setdefault(fact.asset, key)
            elif isinstance(fact, ProxyServer):
                key = None
                if fact.workload is not None:
                    key = (_abs(fact.workload.directory), fact.workload.service)
                    layout.proxies[key] = fact.proxy
                servers[fact.label] = key
                if fact.error:
                    layout.unread.append(fact.label)
            elif isinstance(fact, ProxyRoute):
                routes.append(fact)
        for route in routes:
            if route.not_served:
                continue
            for upstream in route.upstreams:
                workload = upstream.workload
                if workload is None:
                    continue
                key = (_abs(workload.directory), workload.service)
                layout.routes.setdefault(key, []).append(Route(
                    route.label, tuple(route.domains), upstream.url, upstream.via,
                    servers.get(route.label)))
        for key, service in layout.services.items():
            if key not in layout.proxies and service.name in layout.proxy_names:
                layout.proxies[key] = "proxy"
        if inventory is not None:
            for entry in inventory.services.values():
                directory = entry.compose_dir
                if directory and entry.host is not None:
                    layout.host_of_dir.setdefault(_abs(directory), entry.host)
        return layout

    # --- questions --------------------------------------------------------------------

    def is_proxy(self, key: tuple[str, str]) -> bool:
        return key in self.proxies

    def host_of(self, directory: str):
        return self.host_of_dir.get(_abs(directory))

    def same_host(self, a: str, b: str) -> bool:
        """Whether two project directories run on one host. Without the inventory saying
        otherwise, stacks of one tree are taken to share it."""
        host_a, host_b = self.host_of(a), self.host_of(b)
        if host_a is None or host_b is None:
            return True
        return host_a.name == host_b.name

    def network_names(self, key: tuple[str, str]) -> list[tuple[str, str]]:
        """(key in its file, the network's name in Docker) of each network the service is on,
        in the order written; a service without `networks:` is on the project's default."""
        service = self.services.get(key)
        if service is None:
            return []
        written = service.raw.get("networks")
        if isinstance(written, dict):
            keys = [str(k) for k in written]
        elif isinstance(written, list):
            keys = [str(k) for k in written]
        else:
            keys = ["default"]
        project = service.project
        section = project.section("networks")
        compose_name = project.compose_name or project.name
        found = []
        for name in keys:
            spec = section.get(name)
            spec = spec if isinstance(spec, dict) else {}
            if spec.get("name"):
                docker = str(spec["name"])
            elif spec.get("external") in (True, "true"):
                docker = name
            else:
                docker = f"{compose_name}_{name}"
            found.append((name, docker))
        return found


def _abs(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))
