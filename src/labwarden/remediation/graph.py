"""The lab as the plan sees it: its Compose services, what each depends on, where it runs.

A restart graph over units (a Compose service's asset, `proxy:<label>` for a proxy read from
outside the tree, `host:<name>` for host-level work). An edge `dependant -> dependency`
means the dependant must not restart before the dependency has reached its final state.
Edges come from:

- `depends_on` (the Compose project's own order);
- a service naming another by host name in its environment or command, within its
  project or across projects over a shared (external) network: `DB_HOST: db`,
  `redis://broker:6379` — dependencies Compose was never told about;
- the reverse proxy's upstreams (the proxy facts: a route forwards to a Compose service):
  the proxy resolves its upstreams when it (re)starts, so it goes after them;
- the inventory's hosts: a host-level restart (a reboot, a Docker daemon restart)
  restarts every container on it, so those containers' stacks go after it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from labwarden.knowledge import images as _images
from labwarden.knowledge.ports import MYSQL, POSTGRES, REDIS

NAME_CHARS = re.compile(r"[a-z0-9][a-z0-9_.-]*")


@dataclass
class LabService:
    """One Compose service, with what the plan needs beyond its findings."""

    asset: str                    # compose:<project>/<service>
    project: str                  # compose:<project>
    name: str
    directory: str                # the project directory
    files: list[str]
    image: str | None
    kind: str                     # database | cache | proxy | agent | application
    engine: str | None = None     # postgres | mysql | redis, for password rotation
    depends_on: list[str] = field(default_factory=list)
    networks: set[str] = field(default_factory=set)          # as Docker names them
    names: set[str] = field(default_factory=set)             # host names it answers to
    environment: dict[str, str] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)    # as written, before ${…}
    places: dict[str, str] = field(default_factory=dict)     # the file that sets each
    env_files: list[str] = field(default_factory=list)       # absolute paths
    mentions: str = ""            # its environment and command, lower-cased
    mounted: set[str] = field(default_factory=set)   # real paths of the files it mounts
    host: str | None = None       # the inventory host it runs on
    urls: tuple[str, ...] = ()    # from the inventory


@dataclass
class Lab:
    services: dict[str, LabService] = field(default_factory=dict)
    # unit -> the units it depends on
    edges: dict[str, set[str]] = field(default_factory=dict)
    # why an edge exists, for the plan's notes: (dependant, dependency) -> reason
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    hosts: dict[str, str | None] = field(default_factory=dict)   # name -> address
    # proxy label (npm:<label>…) -> the Compose service that runs the proxy
    proxies: dict[str, str] = field(default_factory=dict)

    def add_edge(self, dependant: str, dependency: str, reason: str) -> None:
        if dependant == dependency:
            return
        self.edges.setdefault(dependant, set()).add(dependency)
        self.reasons.setdefault((dependant, dependency), reason)

    def dependencies(self, unit: str) -> set[str]:
        return self.edges.get(unit, set())

    def stack_services(self, project: str) -> list[LabService]:
        # by project, built again only when services were added (asked once per step)
        cached = self.__dict__.get("_by_project")
        if cached is None or cached[0] != len(self.services):
            index: dict[str, list[LabService]] = {}
            for service in self.services.values():
                index.setdefault(service.project, []).append(service)
            cached = self.__dict__["_by_project"] = (len(self.services), index)
        return list(cached[1].get(project, ()))

    def dependants(self, unit: str) -> list[str]:
        return [u for u, dependencies in self.edges.items() if unit in dependencies]

    def host_of(self, unit: str) -> str | None:
        service = self.services.get(unit)
        return service.host if service else None


def image_kind(image: str | None, name: str, proxy: bool = False) -> tuple[str, str | None]:
    """(kind, database engine): what restarting a container of this image costs depends
    on what it is, and rotating its password on which engine it runs."""
    if proxy:
        return "proxy", None
    if _images.matches(image, POSTGRES):
        return "database", "postgres"
    if _images.matches(image, MYSQL):
        return "database", "mysql"
    if _images.matches(image, REDIS):
        return "cache", "redis"
    from labwarden.knowledge.ports import classify

    entry = classify(image, [])
    if entry is not None and entry.kind == "database":
        return "database", None
    if _images.matches(image, AGENTS):
        return "agent", None
    if _images.matches(image, ("memcached", "rabbitmq", "eclipse-mosquitto", "nats")):
        return "cache", None
    return "application", None


# Collectors and exporters: nobody uses them directly, a restart loses a scrape or two.
AGENTS = ("node-exporter", "cadvisor", "promtail", "grafana/alloy", "telegraf", "watchtower",
          "autoheal", "fluent-bit", "vector", "blackbox-exporter", "postgres-exporter")


def load_lab(paths: list[str], config, facts=()) -> Lab:
    """The lab's services and restart graph. Projects are loaded again (cheap, and the
    audit's workers do not keep them); `facts` are the audit's kept facts, when it kept
    them (the proxy routes' upstreams)."""
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import load_project

    settings = config.settings
    lab = Lab()
    inventory = _inventory(config)
    compose_hosts: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {}
    if inventory is not None:
        lab.hosts = {name: host.address for name, host in inventory.hosts.items()}
        for entry in inventory.services.values():
            if entry.compose_dir:
                compose_hosts[os.path.realpath(entry.compose_dir)] = (
                    entry.host.name if entry.host else None, entry.urls,
                    entry.compose_services)
    networks_owner: dict[str, str] = {}
    for spec in discover(paths, []):
        project = load_project(spec, [])
        if project is None:
            continue
        host, urls, named = compose_hosts.get(os.path.realpath(project.directory),
                                              (None, (), ()))
        declared = project.section("networks")
        for service in project.services.values():
            is_proxy = service.name in settings.proxy_services or _images.matches(
                service.image, settings.proxy_images)
            kind, engine = image_kind(service.image, service.name, is_proxy)
            depends = service.raw.get("depends_on") or {}
            info = LabService(
                asset=service.asset, project=project.asset, name=service.name,
                directory=project.directory, files=list(project.files), image=service.image,
                kind=kind, engine=engine,
                depends_on=[f"{project.asset}/{d}" for d in depends],
                networks=_networks(service, project, declared),
                names=_names(service, project),
                environment={k: v.value or "" for k, v in service.environment.items()},
                written={k: v.written or "" for k, v in service.environment.items()},
                places={k: v.location.path for k, v in service.environment.items()},
                env_files=list(service.env_files), mentions=_mentions(service),
                mounted=_mounted(service, project.directory),
                host=host, urls=tuple(urls) if not named or service.name in named else ())
            lab.services[info.asset] = info
            if is_proxy:
                lab.proxies.setdefault(project.name, info.asset)
        for key, network in declared.items():
            external = hasattr(network, "get") and network.get("external")
            if not external:
                networks_owner.setdefault(_network_name(project, key, network), project.asset)
    _edges(lab)
    _proxy_edges(lab, facts)
    return lab


def _inventory(config):
    if not config.path:
        return None
    from labwarden.config import ConfigError
    from labwarden.inventory import load_inventory

    try:
        return load_inventory(config)
    except ConfigError:
        return None          # the audit already said what is wrong with it


def _network_name(project, key: str, network) -> str:
    name = network.get("name") if hasattr(network, "get") else None
    return str(name) if name else f"{project.compose_name or project.name}_{key}"


def _networks(service, project, declared) -> set[str]:
    """The Docker networks the service joins, by their Docker name (an external network
    keeps its own name, so two projects joining `proxy` meet on it)."""
    raw = service.raw.get("networks")
    keys = list(raw) if raw else ([] if service.raw.get("network_mode") else ["default"])
    names = set()
    for key in keys:
        network = declared.get(key)
        if hasattr(network, "get") and network.get("external"):
            names.add(str(network.get("name") or key))
        else:
            names.add(_network_name(project, str(key), network))
    return names


def _names(service, project) -> set[str]:
    names = {service.name.lower(), f"{project.compose_name or project.name}-{service.name}-1"}
    container = service.raw.get("container_name")
    if container:
        names.add(str(container).lower())
    for alias_list in (service.raw.get("networks") or {}).values() \
            if hasattr(service.raw.get("networks"), "values") else ():
        for alias in (alias_list.get("aliases") or []) if hasattr(alias_list, "get") else ():
            names.add(str(alias).lower())
    return names


def _mounted(service, directory: str) -> set[str]:
    found = set()
    for mount in service.mounts:
        if mount.type == "bind" and mount.source and not mount.source.startswith(("$", "~")):
            found.add(os.path.realpath(os.path.join(directory, mount.source)))
    return found


def _mentions(service) -> str:
    """Its environment (`KEY=value`) and command words, one per line, lower-cased: where it
    names the hosts it connects to."""
    parts = [f"{k}={v.value or ''}" for k, v in service.environment.items()]
    command = service.raw.get("command")
    if command:
        words = [str(c) for c in command] if isinstance(command, list) else str(command).split()
        parts += [f"={word}" for word in words]
    return "\n".join(parts).lower()


HOST_KEY = re.compile(r"host|addr|server|url|uri|endpoint|broker|dsn", re.I)


# A host a value connects to: after `//` or `@` (`redis://broker:6379`, `user@db/app`), or
# before a port (`db:5432`, `--host=db:5432`).
HOST_IN_VALUE = re.compile(r"(?://|@)([a-z0-9][a-z0-9_.-]*)(?=$|[:/?])"
                           r"|(?:^|[=\s,])([a-z0-9][a-z0-9_.-]*):\d")


def hosts_named(text: str) -> set[str]:
    """The host names a service's environment and command use: the whole value of a host
    variable (`DB_HOST: db`), and hosts in URLs and `host:port`. A database *named* like a
    service (`POSTGRES_USER: authentik`) is not a connection to it."""
    found: set[str] = set()
    for line in text.split("\n"):
        key, _, value = line.partition("=")
        if value and HOST_KEY.search(key):
            found.add(value)
        for match in HOST_IN_VALUE.finditer(value):
            found.add(match.group(1) or match.group(2))
    return found


def _edges(lab: Lab) -> None:
    services = list(lab.services.values())
    for service in services:
        for dependency in service.depends_on:
            if dependency in lab.services:
                lab.add_edge(service.asset, dependency, "depends_on")
    # Each name once, to the services that answer to it: a lookup per host a service
    # names, not a comparison of every pair of services (a thousand in a large tree).
    by_name: dict[str, list[LabService]] = {}
    for service in services:
        for name in service.names:
            by_name.setdefault(name, []).append(service)
    for service in services:
        if not service.mentions:
            continue
        for host in sorted(hosts_named(service.mentions)):
            for other in by_name.get(host, ()):
                if other is service or other.asset in lab.dependencies(service.asset):
                    continue
                shared = sorted(service.networks & other.networks)
                if other.project == service.project:
                    lab.add_edge(service.asset, other.asset, "names it in its environment")
                elif shared:
                    lab.add_edge(service.asset, other.asset,
                                 f"names it over the shared network {shared[0]}")


def _proxy_edges(lab: Lab, facts) -> None:
    """The proxy goes after the services it forwards to: it resolves them when it starts."""
    for _, _, fact in facts:
        upstreams = getattr(fact, "upstreams", None)
        proxy = getattr(fact, "proxy", None)
        if upstreams is None or proxy is None:
            continue
        label = getattr(fact, "label", "")
        proxy_unit = lab.proxies.get(label, f"proxy:{proxy}:{label}")   # as units.py names it
        for upstream in upstreams:
            workload = upstream.workload
            if workload is not None and workload.asset in lab.services:
                lab.add_edge(proxy_unit, workload.asset,
                             f"the proxy forwards {getattr(fact, 'name', '')} to it")
