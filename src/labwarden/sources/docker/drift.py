"""Compose files and the engine side by side: which containers each Compose service runs as
(`pair`), and where a container departs from its service's file (`compare`).

What a file asks for is read into an `Intent` in the engine's terms (ports as bindings, bind
sources as host paths, environment keys); the comparison then needs no Compose knowledge:

- image: the reference (registry, repository, tag; the digest when the file pins one), and
  whether the tag still names the image the container runs (a newer pull leaves a running
  container on the old one until it is recreated);
- published ports (HostConfig.PortBindings: what the container asks for, running or not);
- bind mounts by destination: the host path (a relative one is resolved against the
  project's directory on the Docker host, from Compose's working_dir label) and read-only;
  Compose's own binds for `secrets:` and `configs:` are not the file's volumes;
- privileged;
- environment keys, never values: keys the container has that neither the file nor the
  image's own ENV set, and keys the file sets that the container lacks.

A service is expected on an engine when the inventory places its project there (a service
whose `host:` is the engine's target) or the engine runs any container of its project.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from labwarden.model import Location
from labwarden.sources.docker.fact import Container, Deployment, DockerEngine
from labwarden.sources.docker.intent import ALL, Intent, host_path, intent_of

# --- pairing -------------------------------------------------------------------------------

def pair(engine: DockerEngine, containers: list[Container], intents: list[Intent],
         placed: set[str] | frozenset[str] = frozenset()) -> list[Deployment]:
    """Mark each container of `engine` with how it relates to the audited Compose files
    (`Container.paired`) and return a Deployment for every service expected on it. `placed`:
    the Compose project names the inventory places on this engine."""
    audited = {i.project for i in intents}
    defined = {(i.project, i.service) for i in intents}
    running_projects = {c.project for c in containers if c.project}
    for container in containers:
        if container.project is None:
            continue
        if container.project not in audited:
            container.paired = "unaudited"
        elif (container.project, container.service) in defined:
            container.paired = "service"
        else:
            container.paired = "orphan"
    deployments: list[Deployment] = []
    by_name = {c.name: c for c in containers}
    for intent in intents:
        if intent.project not in placed and intent.project not in running_projects:
            continue                       # not deployed on this engine
        own = [c for c in containers if c.project == intent.project and
               c.service == intent.service and not c.one_off]
        if not own and (intent.profiles or intent.replicas == 0):
            continue                       # a profile not switched on, or scaled to zero
        deployment = Deployment(engine.name, engine.target, intent, own,
                                expected="inventory" if intent.project in placed
                                else "containers")
        for name in deployment.wanted_names():
            holder = by_name.get(name)
            if holder is not None and holder not in own:
                deployment.name_holder = holder
                break
        deployments.append(deployment)
    return deployments


# --- comparing -----------------------------------------------------------------------------

@dataclass(slots=True)
class Difference:
    aspect: str            # image | ports | mounts | privileged | environment
    text: str              # what differs, never a value of the environment
    location: Location     # where the file says it


def compare(intent: Intent, container: Container) -> list[Difference]:
    """Where `container` departs from what `intent` asks for."""
    found: list[Difference] = []
    found += _image(intent, container)
    if intent.ports_known:
        found += _port_differences(intent, container)
    found += _bind_differences(intent, container)
    if intent.privileged != container.privileged:
        found.append(Difference(
            "privileged", "runs privileged; the file does not ask for it" if container.privileged
            else "the file asks for privileged; the container is not",
            intent.privileged_location or intent.location))
    found += _env_differences(intent, container)
    return found


def _image(intent: Intent, container: Container) -> list[Difference]:
    from labwarden.knowledge.imageref import parse_image

    if not intent.image or not container.image:
        return []                          # built locally: Compose names it itself
    wanted, running = parse_image(intent.image), parse_image(container.image)
    where = intent.image_location or intent.location
    if wanted is None or running is None:
        return []
    if wanted.digest:
        digests = {d.rpartition("@")[2] for d in container.image_digests or ()}
        if container.image_digests is None and running.digest is None:
            return []                      # the running image's digest was not read
        if wanted.digest != running.digest and wanted.digest not in digests:
            return [Difference("image", f"the file pins {intent.image}; the container runs "
                               f"{container.image} ({_short(container.image_id)}), another "
                               "digest", where)]
        return []
    if _ref(wanted) != _ref(running):
        return [Difference("image", f"the file says {intent.image}; the container runs "
                           f"{container.image}", where)]
    if container.image_tags is not None:
        tags = {_ref(t) for t in (parse_image(x) for x in container.image_tags) if t}
        if _ref(wanted) not in tags:
            return [Difference("image", f"{intent.image} now names another image than the "
                               f"one the container runs ({_short(container.image_id)}): "
                               "pulled or built after the container was created; recreate "
                               "it to run what the file says", where)]
    return []


def _ref(ref) -> tuple[str, str, str]:
    return ref.registry, ref.repository, ref.tag or ("" if ref.digest else "latest")


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12] or "unknown image"


def _port_key(host_ip: str, host_port: int | None, port: int, protocol: str):
    host_ip = host_ip.strip("[]")
    return ("" if host_ip in ALL else host_ip, host_port, port, protocol.lower())


def _port_text(key) -> str:
    host_ip, host_port, port, protocol = key
    where = f"{host_ip}:" if host_ip else ""
    return f"{where}{host_port or '(random)'}:{port}" + ("" if protocol == "tcp"
                                                          else f"/{protocol}")


def _port_differences(intent: Intent, container: Container) -> list[Difference]:
    wanted = {_port_key(p.host_ip, p.host_port, p.port, p.protocol): p for p in intent.ports}
    actual = {_port_key(b.host_ip, b.host_port, b.port, b.protocol)
              for b in container.port_bindings}
    missing = [key for key in wanted if key not in actual]
    extra = sorted(key for key in actual if key not in wanted)
    if not missing and not extra:
        return []
    parts = []
    if extra:
        parts.append("publishes " + ", ".join(_port_text(k) for k in extra))
    if missing:
        parts.append("the file's " + ", ".join(_port_text(k) for k in missing) +
                     " not published")
    where = wanted[missing[0]].location if missing else intent.location
    return [Difference("ports", "; ".join(parts), where)]


def _bind_differences(intent: Intent, container: Container) -> list[Difference]:
    ignored = set(intent.file_mounts)
    actual = {m.destination: m for m in container.binds
              if m.destination not in ignored and not m.destination.startswith("/run/secrets/")}
    base = container.working_dir or intent.directory
    found: list[Difference] = []
    seen: set[str] = set()
    for bind in intent.binds:
        seen.add(bind.destination)
        mount = actual.get(bind.destination)
        if mount is None:
            found.append(Difference("mounts", f"the file mounts {bind.source} at "
                                    f"{bind.destination}; the container does not",
                                    bind.location))
            continue
        expected = _resolve(bind.source, base)
        if expected is not None and intent.binds_known and host_path(mount.source) != expected:
            found.append(Difference("mounts", f"at {bind.destination} the container mounts "
                                    f"{mount.source}; the file mounts {bind.source}"
                                    + ("" if expected == bind.source else f" ({expected})"),
                                    bind.location))
        if bind.read_only != mount.read_only:
            found.append(Difference("mounts", f"{bind.destination} is "
                                    + ("writable in the container; read-only in the file"
                                       if bind.read_only else
                                       "read-only in the container; writable in the file"),
                                    bind.location))
    if intent.binds_known:
        for destination, mount in sorted(actual.items()):
            if destination not in seen:
                found.append(Difference("mounts", f"the container mounts {mount.source} at "
                                        f"{destination}" + (" read-only" if mount.read_only
                                                            else "") + "; the file does not",
                                        intent.location))
    return found


def _resolve(source: str, base: str) -> str | None:
    """The host path a bind source names; None when it depends on a home directory."""
    if source.startswith("/"):
        return host_path(source)
    if source.startswith("~") or not base:
        return None
    return host_path(posixpath.join(base, source))


def _env_differences(intent: Intent, container: Container) -> list[Difference]:
    keys = set(container.env_keys)
    missing = sorted(k for k in intent.env_keys if k not in keys and
                     k not in intent.env_optional)
    found: list[Difference] = []
    if missing:
        found.append(Difference("environment", "the file sets " + ", ".join(missing) +
                                "; the container does not have " +
                                ("it" if len(missing) == 1 else "them"),
                                intent.env_keys[missing[0]]))
    if container.image_digests is not None or container.image_tags is not None:
        # The image was read, so its own ENV keys are known and not the file's to set.
        extra = sorted(keys - set(intent.env_keys) - set(container.image_env_keys))
        if extra:
            found.append(Difference("environment", "the container has " + ", ".join(extra) +
                                    ", which neither the file nor the image sets",
                                    intent.location))
    return found


# --- the audit's entry ---------------------------------------------------------------------

def deployments(facts: list, services, config=None) -> list[tuple[Deployment, DockerEngine]]:
    """For every engine read among `facts`: its containers paired with the audited Compose
    services (`services()` loads them, only when an engine was read) and a Deployment per
    service expected there, with the engine it is on."""
    engines = [f for f in facts if isinstance(f, DockerEngine) and f.error is None]
    if not engines:
        return []
    compose = services()
    if not compose:
        return []
    intents = [intent_of(service) for service in compose]
    placed = placements(config)
    found: list[tuple[Deployment, DockerEngine]] = []
    for engine in engines:
        own = [f for f in facts if isinstance(f, Container) and f.target == engine.target
               and f.engine == engine.name]
        for deployment in pair(engine, own, intents, placed.get(engine.target, set())):
            found.append((deployment, engine))
    return found


def placements(config) -> dict[str, set[str]]:
    """target (a host's `address:` or `docker:`, as written) -> the Compose project names
    the inventory deploys there."""
    if config is None or not getattr(config, "path", None):
        return {}
    from labwarden.config import ConfigError
    from labwarden.inventory import load_inventory
    from labwarden.sources.docker.fact import compose_project_name

    try:
        inventory = load_inventory(config)
    except ConfigError:
        return {}                 # the command that loads the inventory reports it
    placed: dict[str, set[str]] = {}
    for service in inventory.services.values():
        if service.compose is None or service.host is None:
            continue
        name = compose_project_name(service.compose)
        for address in (service.host.address, getattr(service.host, "docker", None)):
            if address:
                placed.setdefault(address, set()).add(name)
    return placed
