"""What a reverse proxy needs to know about the Compose services of the audited tree.

The audit loads projects in worker processes, and a proxy host in one project forwards to a
container of another: so each worker sends back, per service, a small `Workload` (its
names, image, ports and `traefik.*` labels), and for a service that runs a known proxy a
`ProxySpec` (its mounts, environment, command and ports: where its configuration lives).
The parent reads the proxies' configuration once it has every workload (`discover.py`).

Imported by every Compose audit: it holds records and two cheap functions, nothing more.
"""

from __future__ import annotations

import os

from labwarden._record import Record, reduce_by_init
from labwarden.knowledge import images as _images
from labwarden.model import Location

# The proxies whose configuration labwarden reads, by image.
PROXY_IMAGES: dict[str, tuple[str, ...]] = {
    "npm": ("jc21/nginx-proxy-manager",),
    "traefik": ("traefik",),
    "caddy": ("caddy",),
}
ALL_INTERFACES = (None, "", "0.0.0.0", "::", "[::]")
# An image whose name holds none of theirs, as most do, runs none of these proxies.
_PROXY_NAMES = _images.name_search(image for images in PROXY_IMAGES.values()
                                   for image in images)


class Workload(Record):
    """One Compose service, as a proxy's upstream may name it."""

    __slots__ = ("directory", "project", "compose_name", "service", "container", "image",
                 "ports", "network_mode", "labels", "location")
    directory: str                  # the project directory, absolute (the checklist's origin)
    project: str                    # the project as labwarden names it (`compose:<project>`)
    compose_name: str               # Compose's own project name (default container names)
    service: str
    container: str | None           # container_name, when set
    image: str | None
    # (container port, host port or None, host address or None: every interface)
    ports: tuple[tuple[int, int | None, str | None], ...]
    network_mode: str
    labels: tuple[tuple[str, str, Location], ...]   # traefik.* labels: (name, value, where)
    location: Location

    def __init__(self, directory: str, project: str, compose_name: str, service: str,
                 container: str | None, image: str | None,
                 ports: tuple[tuple[int, int | None, str | None], ...] = (),
                 network_mode: str = "", labels: tuple[tuple[str, str, Location], ...] = (),
                 location: Location | None = None):
        self.directory = directory
        self.project = project
        self.compose_name = compose_name
        self.service = service
        self.container = container
        self.image = image
        self.ports = ports
        self.network_mode = network_mode
        self.labels = labels
        self.location = location or Location(directory)

    # Workers send thousands: unpickled by calling the class (its fields, in order).
    __reduce__ = reduce_by_init

    @property
    def asset(self) -> str:
        return f"compose:{self.project}/{self.service}"

    def names(self) -> set[str]:
        """The host names other containers reach it by: the service name, its container
        name, or the name Compose gives the container (`<project>-<service>-1`)."""
        found = {self.service.lower(), f"{self.compose_name}-{self.service}-1".lower(),
                 f"{self.compose_name}_{self.service}_1".lower()}
        if self.container:
            found.add(self.container.lower())
        return found

    def published(self, host_port: int) -> bool:
        """Whether the host port is published beyond loopback (reachable by the host's IP)."""
        return any(published == host_port and not _loopback(address)
                   for _, published, address in self.ports)

    def exposed_ports(self) -> list[tuple[int, int | None, str | None]]:
        """Its published ports not bound to loopback."""
        return [p for p in self.ports if p[1] is not None and not _loopback(p[2])]

    def belongs_to(self, service) -> bool:
        """Whether it is one of the Compose services of an inventory service."""
        directory = getattr(service, "compose_dir", None)
        if not directory or os.path.abspath(directory) != self.directory:
            return False
        wanted = getattr(service, "compose_services", ())
        return not wanted or self.service in wanted


def _loopback(address: str | None) -> bool:
    return address is not None and (address.startswith("127.") or address in ("::1", "[::1]",
                                                                                "localhost"))


class ProxySpec(Record):
    """A Compose service that runs a reverse proxy labwarden reads, and where its
    configuration is: mounts (host paths absolute), environment, command."""

    __slots__ = ("kind", "workload", "mounts", "environment", "command", "ports")
    kind: str                                        # npm | traefik | caddy
    workload: Workload
    mounts: tuple[tuple[str, str | None, str, Location], ...]  # (type, host path, target, where)
    environment: tuple[tuple[str, str | None, Location], ...]
    command: tuple[tuple[str, Location], ...]        # words of `command:`, each with its line
    # (as written, container port, host address or None, where) of each published port
    ports: tuple[tuple[str, int, str | None, Location], ...]

    def __init__(self, kind: str, workload: Workload,
                 mounts: tuple[tuple[str, str | None, str, Location], ...] = (),
                 environment: tuple[tuple[str, str | None, Location], ...] = (),
                 command: tuple[tuple[str, Location], ...] = (),
                 ports: tuple[tuple[str, int, str | None, Location], ...] = ()):
        self.kind = kind
        self.workload = workload
        self.mounts = mounts
        self.environment = environment
        self.command = command
        self.ports = ports

    # Workers send thousands: unpickled by calling the class (its fields, in order).
    __reduce__ = reduce_by_init

    def env(self, name: str) -> str | None:
        return next((value for key, value, _ in self.environment if key == name), None)

    def host_path(self, container_path: str) -> tuple[str | None, str | None]:
        """The host path behind a path inside the container, through its bind mounts (the
        longest mount target that holds it); or (None, the named volume that holds it)."""
        best: tuple[str, str | None, str] | None = None
        for kind, source, target, _ in self.mounts:
            target = target.rstrip("/") or "/"
            if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
                if best is None or len(target) > len(best[2]):
                    best = (kind, source, target)
        if best is None:
            return None, None
        kind, source, target = best
        if kind != "bind" or not source:
            return None, source or "an anonymous volume"
        rest = container_path[len(target):].lstrip("/")
        return (os.path.join(source, rest) if rest else source), None


def proxy_kind(image: str | None) -> str | None:
    if not image or _PROXY_NAMES.search(str(image).lower()) is None:
        return None
    for kind, images in PROXY_IMAGES.items():
        if _images.matches(image, images):
            return kind
    return None


def workload_of(service, directory: str) -> Workload:
    """The Workload of a Compose service (`labwarden.sources.compose.model.Service`)."""
    ports = []
    for port in service.ports:
        targets, published = port.target_ports, port.published_ports
        for index, target in enumerate(targets):
            host = published[index] if index < len(published) else None
            ports.append((target, host, port.host_ip))
    container = service.raw.get("container_name")
    return Workload(directory, service.project.name, service.project.compose_name or
                    service.project.name, service.name,
                    None if container is None else str(container), service.image, tuple(ports),
                    str(service.raw.get("network_mode") or ""), _traefik_labels(service),
                    service.location)


def _traefik_labels(service) -> tuple[tuple[str, str, Location], ...]:
    labels = service.raw.get("labels")
    if not labels:
        return ()
    found = []
    if hasattr(labels, "key_locs"):                       # a mapping
        for key, value in labels.items():
            if str(key).lower().startswith("traefik."):
                found.append((str(key), "" if value is None else str(value),
                              labels.key_locs.get(key, service.location)))
    elif isinstance(labels, list):                        # ["key=value", …]
        for index, item in enumerate(labels):
            key, _, value = str(item).partition("=")
            if key.strip().lower().startswith("traefik."):
                where = labels.loc_of(index) if hasattr(labels, "loc_of") else None
                found.append((key.strip(), value, where or service.location))
    return tuple(found)


def spec_of(kind: str, service, workload: Workload) -> ProxySpec:
    """Where a proxy service's configuration lives: its mounts, environment and command."""
    # Host paths as the project directory is written (relative to where the audit runs, as
    # Compose files' own locations are), not the absolute origin.
    directory = service.project.directory or workload.directory
    mounts = []
    for mount in service.mounts:
        source = mount.host_path
        if source is not None and not os.path.isabs(source) and not source.startswith("~"):
            source = os.path.normpath(os.path.join(directory, source))
        mounts.append((mount.type, source if mount.type == "bind" else mount.source,
                       mount.target, mount.location))
    environment = tuple((env.name, env.value, env.location)
                        for env in service.environment.values())
    command = []
    raw = service.raw.get("command")
    if isinstance(raw, list):
        for index, word in enumerate(raw):
            if word is not None:
                where = raw.loc_of(index) if hasattr(raw, "loc_of") else None
                command.append((str(word), where or service.loc("command")))
    elif raw is not None:
        import shlex

        try:
            words = shlex.split(str(raw))
        except ValueError:
            words = str(raw).split()
        command = [(word, service.loc("command")) for word in words]
    ports = tuple((port.spec, target, port.host_ip, port.location)
                  for port in service.ports for target in port.target_ports)
    return ProxySpec(kind, workload, tuple(mounts), environment, tuple(command), ports)
