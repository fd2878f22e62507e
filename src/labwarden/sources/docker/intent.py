"""What a Compose service's file asks the engine for (`Intent`), in the engine's terms:
ports as bindings, bind sources as written, environment keys (never values). Built from a
loaded Compose `Service` (`intent_of`) or, for rule fixtures, from a service written as a
mapping (`intent_from_mapping`)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from labwarden.model import Location

ALL = ("", "0.0.0.0", "::", "[::]", "*")


@dataclass(slots=True)
class IntendedPort:
    host_ip: str          # "" : every address
    host_port: int | None
    port: int
    protocol: str
    location: Location
    spec: str


@dataclass(slots=True)
class IntendedBind:
    source: str           # as resolved: absolute, or "~…"
    destination: str
    read_only: bool
    location: Location
    spec: str


@dataclass(slots=True)
class Intent:
    """What a Compose service's file asks the engine for, in the engine's terms."""

    project: str                             # the Compose project name
    service: str
    location: Location                       # the service's line in its file
    asset: str = ""                          # the Compose service's asset
    image: str | None = None
    image_location: Location | None = None
    build: bool = False
    container_name: str | None = None
    privileged: bool = False
    privileged_location: Location | None = None
    ports: tuple[IntendedPort, ...] = ()
    ports_known: bool = True                 # no port the loader could not read
    binds: tuple[IntendedBind, ...] = ()
    binds_known: bool = True                 # every bind's source is a known path
    file_mounts: tuple[str, ...] = ()        # secret and config targets Compose binds itself
    env_keys: dict[str, Location] = field(default_factory=dict)
    env_optional: tuple[str, ...] = ()       # `- KEY` with no value: set only if the shell has it
    directory: str = ""                      # the project directory, as audited
    profiles: tuple[str, ...] = ()
    replicas: int | None = None              # deploy.replicas / scale, when written

    @property
    def default_name(self) -> str:
        return f"{self.project}-{self.service}-1"


def host_path(path: str) -> str:
    """A host path normalised as the engine reports it (`/srv/app/./data` → `/srv/app/data`)."""
    if not path.startswith("/"):
        return path
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/")


def intent_of(service) -> Intent:
    """The Intent of a loaded Compose `Service`."""
    from labwarden.sources.compose.model import parse_bool

    project = service.project.compose_name or service.project.name
    raw = service.raw
    mode = str(raw.get("network_mode") or "")
    ports, ports_known = _ports(service.ports, mode)
    binds = tuple(IntendedBind(_source(m.source or ""), m.target, m.read_only, m.location,
                               m.spec) for m in service.mounts if m.type == "bind")
    name = raw.get("container_name")
    env = {key: value.location for key, value in service.environment.items()}
    optional = tuple(key for key, value in service.environment.items() if value.value is None)
    return Intent(
        project=project, service=service.name, location=service.location,
        asset=service.asset, image=service.image, image_location=service.loc("image"),
        build=raw.get("build") is not None,
        container_name=str(name) if isinstance(name, (str, int)) and str(name) else None,
        privileged=parse_bool(raw.get("privileged")) is True,
        privileged_location=service.loc("privileged"), ports=ports, ports_known=ports_known,
        binds=binds, binds_known=all(b.source and "$" not in b.source for b in binds),
        file_mounts=_file_mounts(raw), env_keys=env, env_optional=optional,
        directory=service.project.directory, profiles=tuple(service.profiles),
        replicas=_replicas(raw))


def intent_from_mapping(project: str, service: str, spec: dict, where: Location,
                        directory: str = "/srv/app") -> Intent:
    """An Intent from a Compose service written as a mapping (rule fixtures): the keys
    `image`, `build`, `container_name`, `privileged`, `ports`, `volumes` (short syntax),
    `environment` (a list of KEY or KEY=value, or a mapping), `profiles`, `secrets`."""
    from labwarden.sources.compose.model import parse_mount, parse_port

    ports, known = _ports([p for p in (parse_port(item, where) for item in
                                       spec.get("ports") or []) if p is not None],
                          str(spec.get("network_mode") or ""))
    binds = []
    for item in spec.get("volumes") or []:
        mount = parse_mount(item, where)
        if mount is not None and mount.type == "bind":
            binds.append(IntendedBind(_source(mount.source or ""), mount.target,
                                      mount.read_only, where, mount.spec))
    environment = spec.get("environment") or {}
    if isinstance(environment, dict):
        pairs = [(str(k), None if v is None else str(v)) for k, v in environment.items()]
    else:
        pairs = [(k, v if sep else None) for k, sep, v in
                 (str(e).partition("=") for e in environment)]
    return Intent(project=project, service=service, location=where,
                  asset=f"compose:{project}/{service}", image=spec.get("image"),
                  image_location=where, build=spec.get("build") is not None,
                  container_name=spec.get("container_name"),
                  privileged=spec.get("privileged") is True, privileged_location=where,
                  ports=ports, ports_known=known, binds=tuple(binds),
                  binds_known=all(b.source and "$" not in b.source for b in binds),
                  file_mounts=_file_mounts(spec),
                  env_keys={k: where for k, _ in pairs},
                  env_optional=tuple(k for k, v in pairs if v is None),
                  directory=directory, profiles=tuple(spec.get("profiles") or ()),
                  replicas=_replicas(spec))


def _ports(ports, network_mode: str) -> tuple[tuple[IntendedPort, ...], bool]:
    """One IntendedPort per published port number (ranges expanded); whether all could be
    read. On `network_mode: host` (or none, or another container's) Docker ignores them."""
    if network_mode == "host" or network_mode == "none" or \
            network_mode.startswith(("service:", "container:")):
        return (), False
    found: list[IntendedPort] = []
    known = True
    for port in ports:
        targets, published = port.target_ports, port.published_ports
        if not targets or (port.published and not published):
            known = False                      # `${PORT}:80` unset, or not a number
            continue
        host_ip = (port.host_ip or "").strip("[]")
        host_ip = "" if host_ip in ALL else host_ip
        if not published:
            pairs = [(None, t) for t in targets]
        elif len(published) == len(targets):
            pairs = list(zip(published, targets))
        elif len(targets) == 1:                # 8000-8010:80: one of them; count the first
            pairs = [(published[0], targets[0])]
        else:
            pairs = list(zip(published, targets))
        for host_port, target in pairs:
            found.append(IntendedPort(host_ip, host_port, target, port.protocol.lower(),
                                      port.location, port.spec))
    return tuple(found), known


def _source(path: str) -> str:
    path = path.strip()
    if path.startswith("/"):
        return host_path(path)
    return path


def _file_mounts(raw) -> tuple[str, ...]:
    """Where Compose itself bind-mounts the service's `secrets:` and `configs:`."""
    targets: list[str] = []
    for key, default in (("secrets", "/run/secrets/{}"), ("configs", "/{}")):
        for item in raw.get(key) or []:
            if isinstance(item, str):
                targets.append(default.format(item))
            elif hasattr(item, "get"):
                target, source = item.get("target"), item.get("source")
                if target:
                    text = str(target)
                    targets.append(text if text.startswith("/") or key == "configs"
                                   else f"/run/secrets/{text}")
                elif source:
                    targets.append(default.format(source))
    return tuple(targets)


def _replicas(raw) -> int | None:
    deploy = raw.get("deploy")
    for value in ((deploy.get("replicas") if hasattr(deploy, "get") else None),
                  raw.get("scale")):
        try:
            if value is not None:
                return int(value)
        except (TypeError, ValueError):
            continue
    return None
