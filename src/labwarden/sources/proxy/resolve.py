"""Which Compose service of the tree a proxy's upstream is.

An upstream names a container the way Docker's DNS does (the service name, the container
name, Compose's `<project>-<service>-1`), or reaches a port the host publishes (an IP
address, `host.docker.internal`, the Docker bridge's gateway). A name several projects use
is taken as the proxy's own project's, as Docker's DNS would within that project's network;
otherwise it stays unresolved rather than guessed.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from urllib.parse import urlsplit

from labwarden.sources.proxy.model import Upstream
from labwarden.sources.proxy.workload import Workload

# Names a container uses for the Docker host itself.
HOST_NAMES = {"host.docker.internal", "gateway.docker.internal", "localhost", "127.0.0.1",
              "172.17.0.1", "::1"}


class Index:
    """The tree's Compose services by every name Docker's DNS gives them and by the host
    ports they publish: built once per audit, shared by every proxy's resolver."""

    def __init__(self, workloads: list[Workload]):
        self.workloads = workloads
        by_name: dict[str, list[Workload]] = {}
        self.by_name = by_name
        for workload in workloads:
            # A list made only for a name not seen yet: most names are one service's.
            for name in workload.names():
                found = by_name.get(name)
                if found is None:
                    by_name[name] = [workload]
                else:
                    found.append(workload)

    @cached_property
    def by_host_port(self) -> dict[int, list[Workload]]:
        """Made on the first upstream that names the host itself (an IP address,
        `host.docker.internal`): few proxies have one, and the tree publishes ~1,300 ports."""
        by_host_port: dict[int, list[Workload]] = {}
        seen: set[tuple[int, int]] = set()           # (port, id(workload)): once each
        for workload in self.workloads:
            if not workload.ports:                   # as most services: nothing published
                continue
            for _, published, _address in workload.exposed_ports():
                if published is not None and (published, id(workload)) not in seen:
                    seen.add((published, id(workload)))
                    by_host_port.setdefault(published, []).append(workload)
        return by_host_port


class Resolver:
    def __init__(self, workloads: list[Workload] | Index, home: Workload | None = None):
        self.home = home                     # the proxy's own Compose service, if known
        self.index = workloads if isinstance(workloads, Index) else Index(workloads)
        self.by_name = self.index.by_name
        # What each URL resolved to: routers often share a service, and its URL is parsed
        # and looked up once (the resolver lives as long as one proxy's reading).
        self.resolved: dict[tuple[str, str], tuple] = {}

    def upstream(self, url: str, default_scheme: str = "http") -> Upstream:
        """An upstream written as a URL (`http://grafana:3000`) or `host:port`: a new one
        each call (a route may complete it)."""
        key = (url, default_scheme)
        found = self.resolved.get(key)
        if found is None:
            found = self.resolved[key] = self._resolve(url, default_scheme)
        return Upstream(url, *found)

    def _resolve(self, url: str, default_scheme: str) -> tuple:
        """(host, port, workload, via) of an upstream's URL; () when it cannot be parsed."""
        text = url if "://" in url else f"{default_scheme}://{url}"
        try:
            parts = urlsplit(text)
            host, port = (parts.hostname or ""), parts.port
        except ValueError:
            return ()
        if port is None:
            port = {"https": 443, "http": 80}.get(parts.scheme)
        workload, via = self.find(host, port)
        return host, port, workload, via

    def find(self, host: str, port: int | None) -> tuple[Workload | None, str]:
        name = host.lower().rstrip(".")
        candidates = self.by_name.get(name, [])
        if len(candidates) > 1 and self.home is not None:
            own = [w for w in candidates if w.directory == self.home.directory]
            candidates = own or candidates
        if len(candidates) == 1:
            workload = candidates[0]
            return workload, ("container name" if name == (workload.container or "").lower()
                              else "service name")
        if candidates or port is None:
            return None, ""
        if name in HOST_NAMES or _is_ip(name):
            published = self.index.by_host_port.get(port, [])
            if len(published) == 1:
                return published[0], f"host port {port}"
        return None, ""


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
