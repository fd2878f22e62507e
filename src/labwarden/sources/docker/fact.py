"""The facts of a Docker Engine: containers as they run, the engine, and Compose services
paired with their containers.

`parse_container(inspect, image)` reads one container from the engine's inspect document
(`GET /containers/{id}/json`, or an element of `docker inspect`'s array) and, when it was
read, its image's (`GET /images/{id}/json`). What could hold a secret is dropped here, at
parse time, and never reaches a rule, a report or the history:

- environment values: only the keys are kept (`Config.Env` is `KEY=value`);
- labels other than Compose's own (Traefik's basic-auth hashes live in labels);
- the command, entrypoint and healthcheck command (a `curl -u user:pass`): only the
  healthcheck's kind (CMD, CMD-SHELL, NONE) is kept;
- a custom seccomp profile's body (`seccomp=<JSON>`): kept as `seccomp=custom`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from labwarden.model import Location
from labwarden.sources.docker.intent import Intent, intent_from_mapping

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_WORKING_DIR = "com.docker.compose.project.working_dir"
COMPOSE_CONFIG_FILES = "com.docker.compose.project.config_files"
COMPOSE_NUMBER = "com.docker.compose.container-number"
COMPOSE_ONEOFF = "com.docker.compose.oneoff"           # `docker compose run`: "True"
SWARM_SERVICE = "com.docker.swarm.service.name"
KEPT_LABELS = (COMPOSE_PROJECT, COMPOSE_SERVICE, COMPOSE_WORKING_DIR, COMPOSE_CONFIG_FILES,
               COMPOSE_NUMBER, COMPOSE_ONEOFF, SWARM_SERVICE)
ALL_ADDRESSES = ("", "0.0.0.0", "::", "[::]")


@dataclass(slots=True)
class MountInfo:
    """One mount of a container (`Mounts` of inspect)."""

    type: str                 # bind | volume | tmpfs | npipe
    source: str               # the host path of a bind, the volume's name for a volume
    destination: str
    read_only: bool
    propagation: str = ""


@dataclass(slots=True)
class PortBinding:
    """A container port published on the host."""

    port: int                 # the container port
    protocol: str
    host_ip: str              # "" (or 0.0.0.0, ::): every address
    host_port: int | None     # None: Docker picks one

    @property
    def on_all_interfaces(self) -> bool:
        return self.host_ip in ALL_ADDRESSES

    def __str__(self) -> str:
        where = "" if self.on_all_interfaces else (
            f"[{self.host_ip}]:" if ":" in self.host_ip else f"{self.host_ip}:")
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{where}{self.host_port or '(random)'}:{self.port}{proto}"


@dataclass(slots=True)
class Container:
    """One container as the engine runs it (or would, for one created and not started)."""

    engine: str                                  # the engine's name, in the asset
    target: str                                  # as the user wrote it
    id: str
    name: str
    image: str = ""                              # as asked for (`Config.Image`)
    image_id: str = ""                           # sha256:… of the image it runs
    # Of the image it runs, when that image was read (None: not read)
    image_digests: tuple[str, ...] | None = None     # RepoDigests: repo@sha256:…
    image_tags: tuple[str, ...] | None = None        # RepoTags
    image_env_keys: tuple[str, ...] = ()             # keys the image's own ENV sets
    labels: dict[str, str] = field(default_factory=dict)   # Compose's labels only
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    read_only_rootfs: bool = False
    mounts: tuple[MountInfo, ...] = ()
    network_mode: str = ""
    pid_mode: str = ""
    ipc_mode: str = ""
    uts_mode: str = ""
    userns_mode: str = ""
    user: str = ""                               # effective (the image's USER if not set)
    ports: tuple[PortBinding, ...] = ()          # bound now (NetworkSettings.Ports)
    port_bindings: tuple[PortBinding, ...] = ()  # asked for (HostConfig.PortBindings)
    restart_policy: str = ""                     # "" | no | always | unless-stopped | on-failure
    restart_count: int = 0
    state: str = ""             # created, running, restarting, exited, paused, dead
    exit_code: int = 0
    oom_killed: bool = False
    health: str | None = None                    # starting | healthy | unhealthy; None: no check
    healthcheck: str | None = None               # CMD | CMD-SHELL | NONE; None: none defined
    env_keys: tuple[str, ...] = ()               # never the values
    error: str | None = None                     # what could not be read of it
    origin: Location | None = None
    # Set when the audit pairs the engine's containers with its Compose files (drift.pair):
    # "service" (a service of an audited project), "orphan" (an audited project that no
    # longer defines its service), "unaudited" (a project no audited file defines); None:
    # not paired (no Compose files audited).
    paired: str | None = None

    @property
    def asset(self) -> str:
        return f"docker:{self.engine}/{self.name}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)

    @property
    def project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT) or None

    @property
    def service(self) -> str | None:
        return self.labels.get(COMPOSE_SERVICE) or None

    @property
    def working_dir(self) -> str | None:
        return self.labels.get(COMPOSE_WORKING_DIR) or None

    @property
    def config_files(self) -> tuple[str, ...]:
        text = self.labels.get(COMPOSE_CONFIG_FILES) or ""
        return tuple(p for p in text.split(",") if p)

    @property
    def one_off(self) -> bool:
        return self.labels.get(COMPOSE_ONEOFF, "").lower() == "true"

    @property
    def swarm(self) -> bool:
        return bool(self.labels.get(SWARM_SERVICE))

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def published(self) -> tuple[PortBinding, ...]:
        """What the container exposes on the host: the ports bound now when it runs; the
        ports it asks for otherwise (what it binds once started)."""
        return self.ports if self.running else self.port_bindings

    @property
    def binds(self) -> tuple[MountInfo, ...]:
        return tuple(m for m in self.mounts if m.type == "bind")

    def belongs_to(self, service) -> bool:
        """Whether this container is one of an inventory service's: its Compose project
        label is the service's project (the name Compose gives the project: `name:`,
        COMPOSE_PROJECT_NAME in its .env, or the directory's name) and, when the service
        names `compose_services`, its service label is one of them. A service without a
        Compose project owns the containers of a project named as the service (a stack
        deployed from elsewhere) and, without Compose labels, the container of its name."""
        return _belongs(self.project, self.service, self.name, service)


def _belongs(project: str | None, compose_service: str | None, name: str | None,
             service) -> bool:
    compose = getattr(service, "compose", None)
    if compose is None:
        if project is not None:
            return project == _normalise_project(service.name)
        return name == service.name
    if project is None or project != compose_project_name(compose):
        return False
    wanted = tuple(getattr(service, "compose_services", ()) or ())
    return not wanted or compose_service in wanted


def _normalise_project(name: str) -> str:
    """compose-go's NormalizeProjectName: lower case, only [a-z0-9_-], no leading _ or -."""
    from labwarden.sources.compose.loader import _PROJECT_NAME

    return _PROJECT_NAME.sub("", str(name).lower()).lstrip("_-")


@lru_cache(maxsize=256)
def compose_project_name(path: str) -> str:
    """The name Compose gives the project at `path` (a directory or a Compose file), as the
    loader computes it; the directory's name, normalised, when it cannot be loaded."""
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import LoadOptions, load_project

    directory = path if os.path.isdir(path) else os.path.dirname(path)
    fallback = _normalise_project(os.path.basename(os.path.abspath(directory))) or "default"
    try:
        specs = discover([path], [])
    except OSError:
        return fallback
    chosen = next((s for s in specs if os.path.abspath(s.directory) ==
                   os.path.abspath(directory)), None)
    if chosen is None:
        return fallback
    project = load_project(chosen, [], LoadOptions())
    return (project.compose_name if project is not None else "") or fallback


@dataclass(slots=True)
class DockerEngine:
    """One engine that was read: its name and how many containers it runs. An engine that
    could not be read holds nothing of anyone's (`belongs_to` is False): its services' items
    stay "not examined", and the diagnostic says why."""

    target: str
    name: str
    via: str = "api"                     # api | local | ssh | snapshot
    address: str = ""                    # the API's address (unix:///…, tcp://…), for api
    version: str | None = None
    containers: int = 0
    error: str | None = None
    diagnostics: list = field(default_factory=list)
    origin: Location | None = None
    # On TCP: "" plain HTTP; "mutual": TLS that refuses a client without a certificate;
    # "any-client": TLS that answered this client without one (it only encrypts).
    tls: str = ""

    @property
    def asset(self) -> str:
        return f"docker:{self.name}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)

    def belongs_to(self, service) -> bool:
        return self.error is None


# --- a Compose service paired with its containers --------------------------------------

@dataclass(slots=True)
class Deployment:
    """One Compose service of an audited file on one engine: the containers the engine runs
    for it, and the container (if any) holding the name the file gives it."""

    engine: str
    target: str
    intent: Intent
    containers: list[Container] = field(default_factory=list)
    name_holder: Container | None = None     # holds the service's name, not its own
    expected: str = "containers"             # why it is expected there: inventory | containers
    origin: Location | None = None

    @property
    def asset(self) -> str:
        return f"docker:{self.engine}/{self.intent.project}/{self.intent.service}"

    @property
    def location(self) -> Location:
        return self.origin or self.intent.location

    @property
    def name(self) -> str:
        return f"{self.intent.project}/{self.intent.service}"

    def belongs_to(self, service) -> bool:
        return _belongs(self.intent.project, self.intent.service, None, service)

    def wanted_names(self) -> tuple[str, ...]:
        """The names Compose gives the service's container: `container_name:`, or
        `<project>-<service>-1` (Compose v2) and `<project>_<service>_1` (v1)."""
        if self.intent.container_name:
            return (self.intent.container_name,)
        return (self.intent.default_name,
                f"{self.intent.project}_{self.intent.service}_1")


# --- parsing -----------------------------------------------------------------------------

def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _strings(value) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def env_keys(entries) -> tuple[str, ...]:
    """The keys of `KEY=value` entries, in order, each once; the values are dropped here."""
    keys: dict[str, None] = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, str):
            key = entry.partition("=")[0]
            if key:
                keys.setdefault(key, None)
    return tuple(keys)


def _security_opt(entry: str) -> str:
    """`seccomp=<a whole JSON profile>` is kept as `seccomp=custom`."""
    key, sep, value = entry.partition("=")
    if not sep:
        key, sep, value = entry.partition(":")
    if key.strip().lower() == "seccomp" and value.strip().lower() not in ("unconfined", ""):
        return "seccomp=custom"
    return entry[:200]


def _bindings(ports) -> tuple[PortBinding, ...]:
    """Docker's `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`; null entries are
    exposed ports that publish nothing."""
    found: list[PortBinding] = []
    for key, bindings in _mapping(ports).items():
        number, _, protocol = str(key).partition("/")
        try:
            port = int(number)
        except ValueError:
            continue
        for binding in bindings if isinstance(bindings, list) else ():
            binding = _mapping(binding)
            try:
                host_port = int(binding.get("HostPort") or 0) or None
            except ValueError:
                host_port = None
            found.append(PortBinding(port, protocol or "tcp", _text(binding.get("HostIp")),
                                     host_port))
    return tuple(sorted(found, key=lambda b: (b.port, b.protocol, b.host_ip,
                                              b.host_port or 0)))


def _mounts(mounts) -> tuple[MountInfo, ...]:
    found = []
    for mount in mounts if isinstance(mounts, list) else ():
        mount = _mapping(mount)
        kind = _text(mount.get("Type")) or "volume"
        source = _text(mount.get("Source")) if kind == "bind" else \
            _text(mount.get("Name")) or _text(mount.get("Source"))
        found.append(MountInfo(kind, source, _text(mount.get("Destination")),
                               mount.get("RW") is False, _text(mount.get("Propagation"))))
    return tuple(found)


def _healthcheck(config: dict) -> str | None:
    test = _strings(_mapping(config.get("Healthcheck")).get("Test"))
    if not test:
        return None
    kind = test[0].upper()
    return kind if kind in ("NONE", "CMD", "CMD-SHELL") else "CMD"


def parse_container(inspect: dict, image: dict | None, *, engine: str, target: str,
                    origin: Location | None = None) -> Container:
    """A `Container` from its inspect document and its image's (None: not read)."""
    config = _mapping(inspect.get("Config"))
    host = _mapping(inspect.get("HostConfig"))
    state = _mapping(inspect.get("State"))
    network = _mapping(inspect.get("NetworkSettings"))
    labels = {k: str(v) for k, v in _mapping(config.get("Labels")).items()
              if k in KEPT_LABELS and v is not None}
    restart = _mapping(host.get("RestartPolicy"))
    health = _mapping(state.get("Health"))
    image_config = _mapping((image or {}).get("Config"))
    container = Container(
        engine=engine, target=target, id=_text(inspect.get("Id")),
        name=_text(inspect.get("Name")).lstrip("/") or _text(inspect.get("Id"))[:12],
        image=_text(config.get("Image")), image_id=_text(inspect.get("Image")),
        image_digests=_strings(image.get("RepoDigests")) if image is not None else None,
        image_tags=_strings(image.get("RepoTags")) if image is not None else None,
        image_env_keys=env_keys(image_config.get("Env")),
        labels=labels, privileged=host.get("Privileged") is True,
        cap_add=tuple(c.upper().removeprefix("CAP_") for c in _strings(host.get("CapAdd"))),
        cap_drop=tuple(c.upper().removeprefix("CAP_") for c in _strings(host.get("CapDrop"))),
        security_opt=tuple(_security_opt(s) for s in _strings(host.get("SecurityOpt"))),
        read_only_rootfs=host.get("ReadonlyRootfs") is True,
        mounts=_mounts(inspect.get("Mounts")),
        network_mode=_text(host.get("NetworkMode")), pid_mode=_text(host.get("PidMode")),
        ipc_mode=_text(host.get("IpcMode")), uts_mode=_text(host.get("UTSMode")),
        userns_mode=_text(host.get("UsernsMode")), user=_text(config.get("User")),
        ports=_bindings(network.get("Ports")), port_bindings=_bindings(host.get("PortBindings")),
        restart_policy=_text(restart.get("Name")),
        restart_count=_int(inspect.get("RestartCount")),
        state=_text(state.get("Status")),
        exit_code=_int(state.get("ExitCode")),
        oom_killed=state.get("OOMKilled") is True,
        health=_text(health.get("Status")) or None,
        healthcheck=_healthcheck(config) or _healthcheck(image_config),
        env_keys=env_keys(config.get("Env")), origin=origin)
    if not container.id or not isinstance(inspect.get("Config"), dict) or \
            not isinstance(inspect.get("HostConfig"), dict):
        container.error = "incomplete inspect document (no Id, Config or HostConfig)"
    return container


# --- facts from YAML (rule fixtures) -----------------------------------------------------

# A container with nothing wrong, in the shape of `docker inspect`: fixtures change only
# what their case is about (mappings merge key by key; null removes a key).
BASE_INSPECT: dict = {
    "Id": "0" * 64, "Name": "/app", "Image": "sha256:" + "1" * 64, "RestartCount": 0,
    "State": {"Status": "running", "Running": True, "ExitCode": 0, "OOMKilled": False,
              "Health": {"Status": "healthy", "FailingStreak": 0}},
    "Config": {"Image": "ghcr.io/example/app:1.4", "User": "1000:1000",
               "Env": ["PATH=/usr/bin:/bin", "APP_PORT=8080"],
               "Labels": {COMPOSE_PROJECT: "app", COMPOSE_SERVICE: "app",
                          COMPOSE_WORKING_DIR: "/srv/app",
                          COMPOSE_CONFIG_FILES: "/srv/app/compose.yaml",
                          COMPOSE_NUMBER: "1", COMPOSE_ONEOFF: "False"},
               "Healthcheck": {"Test": ["CMD", "true"]}},
    "HostConfig": {"Privileged": False, "CapAdd": None, "CapDrop": ["ALL"],
                   "SecurityOpt": ["no-new-privileges:true"], "ReadonlyRootfs": True,
                   "NetworkMode": "app_default", "PidMode": "", "IpcMode": "private",
                   "UTSMode": "", "UsernsMode": "",
                   "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                   "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1",
                                                  "HostPort": "8080"}]}},
    "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}},
    "Mounts": [],
}
BASE_IMAGE: dict = {"Id": "sha256:" + "1" * 64, "RepoTags": ["ghcr.io/example/app:1.4"],
                    "RepoDigests": ["ghcr.io/example/app@sha256:" + "2" * 64],
                    "Config": {"Env": ["PATH=/usr/bin:/bin"]}}


def merged(base, change):
    """`change` laid over `base`: mappings key by key, null removes a key, the rest
    replaces."""
    if not isinstance(base, dict) or not isinstance(change, dict):
        return change
    out = dict(base)
    for key, value in change.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def facts_from_yaml(path: str) -> list:
    """Facts described in a fixture file: a YAML list; each item is a container (`kind:
    container`, the default), an engine (`kind: engine`) or a Compose service paired with
    its containers (`kind: deployment`)::

        - inspect: {HostConfig: {Privileged: true}}     # ruleid: DKR001
          image: {RepoDigests: []}                       # over BASE_IMAGE; null: not read
          paired: service                                # as drift.pair would set it
        - kind: deployment                               # ruleid: DKR050
          project: app
          service: web
          compose: {image: "nginx:1.27", ports: ["8080:80"]}   # the service in its file
          containers:                                    # each an `inspect:` over the base
            - {inspect: {State: {Status: exited, ExitCode: 1}}}
          name_holder: {inspect: {Name: /web}}           # a foreign container holding its name

    Each fact's location is the file and the line of its item."""
    import yaml

    from labwarden.sources._read import read_regular

    text = read_regular(path, 1 << 20).decode("utf-8")
    items = yaml.safe_load(text) or []
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("- ")]
    facts: list = []
    for index, item in enumerate(items):
        where = Location(path, lines[index] if index < len(lines) else 0)
        kind = item.get("kind", "container")
        target = str(item.get("target", "snapshot:app-host"))
        engine = str(item.get("engine", "app-host"))
        if kind == "engine":
            address = str(item.get("address", ""))
            facts.append(DockerEngine(target, engine, "api" if address else "snapshot",
                                      address=address,
                                      containers=int(item.get("containers", 0)),
                                      error=item.get("error"), origin=where,
                                      tls=str(item.get("tls", ""))))
        elif kind == "deployment":
            facts.append(_deployment_from_item(item, where, engine, target))
        else:
            facts.append(_container_from_item(item, where, engine, target))
    return facts


def _container_from_item(item: dict, where: Location, engine: str, target: str) -> Container:
    inspect = merged(BASE_INSPECT, item.get("inspect") or {})
    image = None if "image" in item and item["image"] is None else \
        merged(BASE_IMAGE, item.get("image") or {})
    container = parse_container(inspect, image, engine=engine, target=target, origin=where)
    container.paired = item.get("paired", "service" if container.project else None)
    return container


def _deployment_from_item(item: dict, where: Location, engine: str,
                          target: str) -> Deployment:
    project, service = str(item.get("project", "app")), str(item.get("service", "app"))
    intent = intent_from_mapping(project, service, item.get("compose") or {}, where,
                                 directory=str(item.get("directory", "/srv/app")))
    labels = {"Config": {"Labels": {COMPOSE_PROJECT: project, COMPOSE_SERVICE: service}}}
    containers = []
    for number, spec in enumerate(item.get("containers") or [], start=1):
        spec = dict(spec or {})
        spec["inspect"] = merged(merged(labels, {"Name": f"/{project}-{service}-{number}",
                                                 "Id": f"{number:064x}"}),
                                 spec.get("inspect") or {})
        containers.append(_container_from_item(spec, where, engine, target))
    holder = item.get("name_holder")
    name_holder = None
    if holder is not None:
        spec = dict(holder)
        spec["inspect"] = merged({"Config": {"Labels": None}, "Id": "f" * 64},
                                 spec.get("inspect") or {})
        name_holder = _container_from_item(spec, where, engine, target)
    return Deployment(engine, target, intent, containers, name_holder,
                      str(item.get("expected", "inventory")), origin=where)


__all__ = ["Container", "Deployment", "DockerEngine", "Intent", "MountInfo", "PortBinding",
           "compose_project_name", "env_keys", "facts_from_yaml", "parse_container"]
