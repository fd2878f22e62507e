"""Rules about what a service takes from the host's filesystem: the container engine's API
socket, the host's root, sensitive host directories, and shared mount propagation.

Host paths are judged after normalisation (`/var/run/../run/docker.sock`), in every form
Compose accepts: short and long `volumes:` syntax, named volumes that are binds in disguise
(`driver_opts: {type: none, o: bind, device: /etc}`), and for sockets also `secrets:` and
`configs:` backed by a host `file:`. `/var/run` is read as `/run`, the directory it links to
on every current distribution.
"""

from __future__ import annotations

import posixpath
import re

from labwarden._record import FrozenRecord, Record, set_frozen
from labwarden.model import Hit, Impact, Location, Severity
from labwarden.redact import redact_url
from labwarden.rules._prove import by_silence, runnable
from labwarden.rules._memo import for_last
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import (
    ComposeProject, Mount, Service, parse_bool, parse_mount)
from labwarden.sources.yamlfile import Map, Seq

CIS_SOCKET = "CIS Docker Benchmark 5.31 (Docker socket not mounted inside containers)"
CIS_SENSITIVE = "CIS Docker Benchmark 5.5 (sensitive host system directories not mounted)"
CIS_PROPAGATION = "CIS Docker Benchmark 5.19 (mount propagation mode not shared)"
OWASP_SOCKET = "OWASP Docker Security Cheat Sheet, rule 1 (do not expose the Docker daemon socket)"
OWASP_READ_ONLY = "OWASP Docker Security Cheat Sheet, rule 8 (filesystem and volumes read-only)"

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

# --- where host paths come from ------------------------------------------------------------


class HostBind(Record):
    """A host path a service sees, wherever in the file it was declared."""

    __slots__ = ("path", "known", "read_only", "target", "location", "spec", "via")

    def __init__(self, path: str, known: bool, read_only: bool, target: str, location: Location,
                 spec: str, via: str = ""):
        self.path = path                  # normalised; `~…` kept as written; `/var/run` kept
        self.known = known                # False: an unset variable decided where the path starts
        self.read_only = read_only
        self.target = target
        self.location = location          # the most precise line: `source:` in long syntax
        self.spec = spec                  # as written, for evidence
        self.via = via                    # "" or "volume NAME" / "secret NAME" / "config NAME"


_LEADING_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def normalise(path: str) -> str:
    """`/var/run/../run/docker.sock` → `/var/run/docker.sock`; `//x` → `/x`."""
    if path.startswith("/"):
        path = posixpath.normpath(path)
        return "/" + path.lstrip("/") if path.startswith("//") else path
    if path.startswith("~"):
        head, _, tail = path.partition("/")
        tail = posixpath.normpath(tail) if tail else ""
        return head if tail in ("", ".") else f"{head}/{tail}"
    return path


def canonical(path: str) -> str:
    """`/var/run` is a symbolic link to `/run`; Docker resolves it when it mounts."""
    if path == "/var/run" or path.startswith("/var/run/"):
        return "/run" + path[len("/var/run"):]
    return path


def _unset_prefix(resolved: str, written: str | None) -> str | None:
    """What an unset variable at the start of the text stood for: "" when nothing did,
    `~` for `$HOME` and `.` for `$PWD` (what they are on the host that runs Compose), and
    None when the path's start is unknown: `${DATA}/etc/app` is not `/etc/app` (no `.env`
    came with the file)."""
    if not written:
        return ""
    match = _LEADING_VAR.match(written)
    if not match:
        return ""
    rest = written[match.end():]
    if "$" in rest or resolved != rest:
        return ""                   # the variable had a value (or the text is too clever)
    name = match.group(1) or match.group(2)
    return {"HOME": "~", "PWD": "."}.get(name)


def _bind_backed_volumes(project: ComposeProject) -> dict[str, tuple[str, bool, Location]]:
    """Named volumes of the local driver that bind a host path: {name: (path, ro, where)}."""
    found = {}
    for name, spec in project.section("volumes").items():
        if not isinstance(spec, Map) or parse_bool(spec.get("external")) is True:
            continue
        if spec.get("driver") not in (None, "local"):
            continue                # another driver reads `device` as something else
        opts = spec.get("driver_opts")
        if not isinstance(opts, Map):
            continue
        device = opts.get("device")
        flags = {f.strip().lower() for f in str(opts.get("o") or "").split(",")}
        kind = str(opts.get("type") or "").strip().lower()
        if isinstance(device, str) and device.startswith(("/", "~")) and \
                (kind == "none" or flags & {"bind", "rbind"}):
            found[str(name)] = (device, "ro" in flags, opts.loc_of("device") or spec.loc)
    return found


def host_binds(service: Service, files: bool = False) -> list[HostBind]:
    """Every host path the service mounts. With `files`, also host files handed over as
    `secrets:`/`configs:` (Compose bind-mounts those read-only)."""
    binds = list(_volume_binds(service))
    if files:
        binds.extend(_file_backed(service))
    return binds


@for_last       # the host paths (CMP050-052) and the propagation rule (CMP053) read them
def _volume_mounts(service: Service) -> list[tuple[int, object, Location, Mount]]:
    """(index, item as written, line, parsed mount) per `volumes:` entry."""
    mounts = []
    volumes = service.raw.get("volumes")
    if isinstance(volumes, Seq):
        for index, item in enumerate(volumes):
            loc = volumes.loc_of(index) or service.loc("volumes")
            mount = parse_mount(item, loc)
            if mount is not None:
                mounts.append((index, item, loc, mount))
    return mounts


@for_last       # four rules ask in turn about the same service: its mounts are read once
def _volume_binds(service: Service) -> list[HostBind]:
    binds: list[HostBind] = []
    mounts = _volume_mounts(service)
    named = None
    if mounts:
        written_items = service.raw["volumes"].written or {}
        for index, item, loc, mount in mounts:
            if not mount.source:
                continue
            source = mount.source
            if isinstance(item, Map):
                loc = item.key_locs.get("source", loc)
                resolved, written = source, (item.written or {}).get("source")
            else:
                resolved, written = str(item), written_items.get(index)
            if mount.type == "npipe":
                binds.append(HostBind(source, True, mount.read_only, mount.target, loc,
                                      mount.spec))
                continue
            # Without `type:`, an absolute source can only be a bind: no volume name starts
            # with `/`.
            if mount.type == "bind" or (mount.type == "volume" and source.startswith("/")):
                prefix = _unset_prefix(resolved, written)
                spec = f"{mount.spec} (written `{written}`)" if written else mount.spec
                binds.append(HostBind(normalise((prefix or "") + source), prefix is not None,
                                      mount.read_only, mount.target, loc, spec))
            elif mount.type == "volume":
                if named is None:
                    named = _bind_backed_volumes(service.project)
                if source in named:
                    device, ro, where = named[source]
                    binds.append(HostBind(normalise(device), True, mount.read_only or ro,
                                          mount.target, loc, f"{mount.spec} (volume {source}"
                                          f": device {device}, {posixpath.basename(where.path)}"
                                          f":{where.line})",
                                          via=f"volume {source}"))
    return binds


def _file_backed(service: Service) -> list[HostBind]:
    found = []
    for channel in ("secrets", "configs"):
        refs = service.raw.get(channel)
        if not isinstance(refs, Seq):
            continue
        top = service.project.section(channel)
        for index, ref in enumerate(refs):
            name = ref.get("source") if isinstance(ref, Map) else ref
            spec = top.get(name) if isinstance(name, str) else None
            if not isinstance(spec, Map) or parse_bool(spec.get("external")) is True:
                continue
            path = spec.get("file")
            if isinstance(path, str) and path.startswith(("/", "~")):
                found.append(HostBind(normalise(path), True, True, str(name),
                                      refs.loc_of(index) or service.loc(channel),
                                      f"{channel[:-1]} {name}: file {path}",
                                      via=f"{channel[:-1]} {name}"))
    return found


# --- the container engine's API socket -------------------------------------------------------

SOCKET_FILES = {"docker.sock": "Docker", "podman.sock": "Podman",
                "containerd.sock": "containerd", "crio.sock": "CRI-O",
                "docker_engine": "Docker"}      # the last: the Windows named pipe
# Directories that hold an engine socket (canonical form). `/` holds them all, but a root
# mount is CMP051's, which says so.
SOCKET_DIRS = {"/run": "the Docker and containerd sockets",
               "/run/docker": "Docker's runtime state and plugin sockets",
               "/run/containerd": "the containerd socket",
               "/run/podman": "the Podman socket",
               "/run/crio": "the CRI-O socket"}
PROXY_IMAGES = ("docker-socket-proxy", "socket-proxy")   # tecnativa/, linuxserver/, wollomatic/…


_SEPARATORS = re.compile(r"[\\/]")


def socket_exposed(path: str, known: bool = True) -> str | None:
    """What engine socket this host path exposes, or None. A socket's file name says what
    it is wherever it lives (`/run/user/1000/docker.sock`, rootless); a directory counts
    only when we know the path (not `${DATA}/run` with DATA unset)."""
    name = _SEPARATORS.split(path)[-1].lower()
    if name in SOCKET_FILES:
        return f"the {SOCKET_FILES[name]} API socket"
    directory = SOCKET_DIRS.get(canonical(path)) if known else None
    return f"a directory holding {directory}" if directory else None


def _image_name(image: str | None) -> str:
    """`ghcr.io/tecnativa/docker-socket-proxy:0.3@sha…` → `docker-socket-proxy`."""
    if not image:
        return ""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0].lower()


def _names_of(service: Service) -> set[str]:
    """The names other containers of the project reach this service by."""
    names = {service.name}
    for key in ("container_name", "hostname"):
        value = service.raw.get(key)
        if isinstance(value, str) and value:
            names.add(value)
    networks = service.raw.get("networks")
    if isinstance(networks, Map):
        for net in networks.values():
            aliases = net.get("aliases") if isinstance(net, Map) else None
            if isinstance(aliases, Seq):
                names.update(str(a) for a in aliases if a is not None)
    return {n.lower() for n in names}


def _docker_host(service: Service) -> list[tuple[str, str, str, str, Location]]:
    """(variable, scheme, host, port-or-path, location) for DOCKER_HOST / CONTAINER_HOST."""
    found = []
    for var in ("DOCKER_HOST", "CONTAINER_HOST"):
        env = service.environment.get(var)
        value = (env.value or "").strip() if env else ""
        if not value:
            continue
        scheme, sep, rest = value.partition("://")
        if not sep:
            scheme, rest = ("unix", value) if value.startswith("/") else ("tcp", value)
        scheme = scheme.lower()
        if scheme in ("unix", "npipe"):
            found.append((var, scheme, "", "/" + rest.lstrip("/"), env.location))
            continue
        hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        if hostport.startswith("["):
            host, _, port = hostport[1:].partition("]")
            port = port.lstrip(":")
        else:
            host, _, port = hostport.partition(":")
        found.append((var, scheme, host.lower(), port or ("22" if scheme == "ssh" else "2375"),
                      env.location))
    return found


@for_last
def _hosts(project: ComposeProject) -> dict[str, set[str]]:
    """Each name a container of the project is reached by -> the services it names.

    Built once per project: asked for every service, a scan of all the others each time
    made the rules quadratic in services."""
    index: dict[str, set[str]] = {}
    for svc in project.services.values():
        for name in _names_of(svc):
            index.setdefault(name, set()).add(svc.name)
    return index


@for_last       # asked for each service of the project in turn, and it reads every service
def _proxies(project: ComposeProject) -> frozenset[str]:
    """Services that are the project's socket proxy: a proxy image, or the service another
    one's DOCKER_HOST names."""
    return frozenset(_find_proxies(project))


def _find_proxies(project: ComposeProject) -> set[str]:
    proxies = {name for name, svc in project.services.items()
               if _image_name(svc.image) in PROXY_IMAGES}
    hosts = _hosts(project)
    for svc in project.services.values():
        for _, scheme, host, _, _ in _docker_host(svc):
            if scheme in ("tcp", "http", "https"):
                proxies.update(name for name in hosts.get(host, ()) if name != svc.name)
    return proxies


def _proxy_allows_create(service: Service) -> bool:
    """tecnativa/linuxserver proxies: POST plus CONTAINERS lets a client create a container
    with any bind mount, which is the raw socket again."""
    def on(name: str) -> bool:
        env = service.environment.get(name)
        return bool(env and env.value and env.value.strip().lower() in ("1", "true", "yes"))
    return on("POST") and on("CONTAINERS")


_LOOPBACK = ("localhost", "127.", "::1")
_HOST_GATEWAYS = ("host.docker.internal", "gateway.docker.internal", "host-gateway",
                  "172.17.0.1")


def _reaches_another(project: ComposeProject, host: str, service: Service) -> bool:
    """Whether `host` names a container of the project other than `service`."""
    return any(name != service.name for name in _hosts(project).get(host, ()))


@rule("CMP050", "docker-socket-mounted", Severity.CRITICAL,
      title="Container engine API socket reachable from the container", on=Service,
      checklist=["4.3.3", "4.3.4"],
      refs=[CIS_SOCKET, OWASP_SOCKET, "CWE-250", "CWE-269"],
      impact=Impact("service", (2, 10)))
def docker_socket_mounted(service: Service, settings):
    """Reports a service that can drive the host's container engine: a bind mount of the
    Docker, Podman, containerd or CRI-O socket (or of a directory holding one, such as
    `/run`), read-only or not; the socket handed over as a secret or config file, through
    `volumes_from` or `use_api_socket`; and `DOCKER_HOST` pointing at the host's Docker API
    over TCP. A docker-socket-proxy in the same project is the recommended pattern: the
    services that use it are not reported, and the proxy itself is reported as HIGH.

    Why it matters:
    Whoever talks to the engine's API can start a privileged container that mounts the
    host's `/`: the socket is root on the host. `:ro` does not help, because it only stops
    the container from replacing the socket file, not from connecting to it. A compromised
    dashboard or updater with the socket takes the whole host.

    Example:
    ```yaml
    services:
      traefik:
        image: traefik:v3.1
        volumes:
          - /var/run/docker.sock:/var/run/docker.sock:ro   # read-only changes nothing
    ```

    Fix:
    Remove the mount if the service can work without it. If it needs the API (Traefik,
    Portainer, Watchtower, Homepage), put a socket proxy in front of it that allows only
    the endpoints it uses, on an internal network:
    ```yaml
    services:
      socket-proxy:
        image: tecnativa/docker-socket-proxy:0.3
        environment: {CONTAINERS: 1, POST: 0}
        volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
        networks: [socket]
      traefik:
        environment: {DOCKER_HOST: "tcp://socket-proxy:2375"}
        networks: [socket, web]
    networks:
      socket: {internal: true}
    ```
    """
    project = service.project
    # Whether it is the project's proxy reads every service of the project: asked only once
    # a socket is mounted, which few services do.
    is_proxy: bool | None = None
    unix_host = False
    for bind in host_binds(service, files=True):
        what = socket_exposed(bind.path, bind.known)
        if what is None:
            continue
        if is_proxy is None:
            is_proxy = service.name in _proxies(project)
            unix_host = any(scheme in ("unix", "npipe")
                            for _, scheme, *_ in _docker_host(service))
        via = f" (through {bind.via})" if bind.via else ""
        ro = " Read-only does not help: it protects the socket file, not the API behind it." \
            if bind.read_only else ""
        if is_proxy and not _proxy_allows_create(service):
            yield Hit(f"`{bind.path}` ({what}) is mounted into `{service.name}`, the project's "
                      f"socket proxy{via}: the recommended pattern, but the proxy holds full "
                      f"control of the host's engine.{ro} Keep it on an internal network and "
                      "allow only the endpoints its clients use (POST=0 unless needed)",
                      bind.location, resource=f"mount:{bind.path}", evidence=bind.spec,
                      severity=Severity.HIGH,
                      fix="keep the proxy's network `internal: true`, publish no ports, and "
                          "grant only the API sections its clients need")
            continue
        extra = " (a socket proxy that allows POST and CONTAINERS is as powerful as the " \
                "raw socket)" if is_proxy else ""
        also = " DOCKER_HOST points the client at it." if unix_host else ""
        yield Hit(f"`{bind.path}` ({what}) is mounted into the container{via}: whoever "
                  "controls the container controls the host's container engine, and through "
                  f"it the host.{ro}{also}{extra}",
                  bind.location, resource=f"mount:{bind.path}", evidence=bind.spec,
                  fix="remove the mount; if the service needs the Docker API, give it "
                      "DOCKER_HOST=tcp://socket-proxy:2375 and run "
                      "tecnativa/docker-socket-proxy with only the sections it needs")
    if service.flag("use_api_socket") is True:
        yield Hit("`use_api_socket: true` hands the container the engine's API socket and "
                  "your registry credentials: it can take the host",
                  service.loc("use_api_socket"), resource="use_api_socket",
                  evidence="use_api_socket: true", fix="remove `use_api_socket`, or use a "
                  "socket proxy that allows only the endpoints the service needs")
    yield from _volumes_from_socket(service)
    yield from _docker_host_hits(service, project)


def _volumes_from_socket(service: Service):
    """`volumes_from: [other]` inherits every mount of `other`, the socket included."""
    for text, loc in service.items("volumes_from"):
        name = text.split(":", 1)[0] if not text.startswith("container:") else None
        other = service.project.services.get(name) if name else None
        if other is None or other is service:
            continue
        for bind in host_binds(other):
            what = socket_exposed(bind.path, bind.known)
            if what:
                yield Hit(f"`volumes_from: {text}` inherits `{bind.path}` ({what}) from "
                          f"`{name}`: this container can take the host too",
                          loc, resource=f"volumes_from:{name}:{bind.path}",
                          evidence=f"volumes_from: {text}",
                          fix=f"mount only the volumes needed from `{name}`, by name, "
                              "instead of `volumes_from`")
                break


def _docker_host_hits(service: Service, project: ComposeProject):
    for var, scheme, host, port, loc in _docker_host(service):
        if scheme in ("unix", "npipe"):
            continue    # a socket path does nothing without a mount, reported above
        if not host or host.isdigit():
            continue    # not an address Docker could use
        if scheme == "ssh":
            yield Hit(f"{var} gives the container control of the Docker daemon on `{host}` "
                      "over SSH: whoever holds the container holds that host",
                      loc, resource=f"env:{var}", severity=Severity.HIGH,
                      evidence=redact_url(f"{var}={service.environment[var].value}"),
                      fix="use a socket proxy that allows only the endpoints needed")
            continue
        if _reaches_another(project, host, service):
            continue    # a socket proxy or dind of this project: the recommended pattern
        if "proxy" in host:
            continue    # a socket proxy of another stack, reached over a shared network
        loopback = host.startswith(_LOOPBACK)
        if loopback and service.raw.get("network_mode") != "host":
            continue    # the container's own loopback: a sidecar sharing its network
        gateway = host.endswith(".1") and host.replace(".", "").isdigit()  # e.g. 172.18.0.1
        host_api = loopback or host in _HOST_GATEWAYS or gateway
        unauthenticated = port == "2375"
        if host_api or unauthenticated:
            where = "the host's Docker API" if host_api else f"the Docker API at `{host}`"
            auth = " on the unauthenticated port 2375" if unauthenticated else ""
            yield Hit(f"{var} points the container at {where}{auth}: the container "
                      "controls that engine, and through it that host", loc,
                      resource=f"env:{var}",
                      evidence=redact_url(f"{var}={service.environment[var].value}"),
                      fix="run tecnativa/docker-socket-proxy in this project and set "
                          f"{var}=tcp://socket-proxy:2375; never expose the daemon on TCP")
        else:
            yield Hit(f"{var} points the container at a Docker API at `{host}:{port}` that "
                      "is not a service of this project: if it is a daemon rather than a "
                      "restricted socket proxy, the container controls that host", loc,
                      resource=f"env:{var}", severity=Severity.HIGH,
                      evidence=redact_url(f"{var}={service.environment[var].value}"),
                      fix="point it at a socket proxy that allows only the endpoints needed")


# --- the host's root -------------------------------------------------------------------------

@rule("CMP051", "host-root-mounted", Severity.CRITICAL, title="Host root filesystem mounted",
      on=Service, checklist=["4.3.1"],
      refs=[CIS_SENSITIVE, OWASP_READ_ONLY, "CWE-250", "CWE-732"],
      impact=Impact("service", (1, 5)))
def host_root_mounted(service: Service, settings):
    """Reports a bind mount of the host's `/` (in any spelling: `/.`, `//`, `/etc/..`),
    wherever it lands in the container. Writable it is CRITICAL; read-only, HIGH.

    Why it matters:
    Writable, the container owns the host: it can add a cron job, an SSH key or a systemd
    unit. Read-only it still reads `/etc/shadow`, every private key and every other
    container's data, and reaches the Docker socket under `/run`, which read-only does not
    protect.

    Example:
    ```yaml
    services:
      backup:
        image: restic/restic:0.17.0
        volumes:
          - /:/host    # the whole host, writable
    ```

    Fix:
    Mount only the directories the service needs, read-only where it only reads:
    `/srv/data:/data:ro`. Monitoring agents that need the host's view (node-exporter) take
    `/:/host:ro,rslave` and run as a non-root user.
    """
    for bind in host_binds(service):
        if not bind.known or canonical(bind.path) != "/":
            continue
        if bind.read_only:
            yield Hit(f"the host's root filesystem is mounted read-only at `{bind.target}`: "
                      "the container reads every host secret (/etc/shadow, keys, other "
                      "containers' data) and can reach the Docker socket under /run",
                      bind.location, resource="mount:/", evidence=bind.spec,
                      severity=Severity.HIGH,
                      fix="mount only the directories the service reads; for node-exporter "
                          "style agents keep `:ro` and run as a non-root `user:`")
        else:
            yield Hit(f"the host's root filesystem is mounted writable at `{bind.target}`: "
                      "the container can rewrite any host file and take the host",
                      bind.location, resource="mount:/", evidence=bind.spec,
                      fix="mount only the directories the service needs, `:ro` where it "
                          "only reads")


# --- sensitive host paths ----------------------------------------------------------------------

class Sensitivity(FrozenRecord):
    __slots__ = ("read_only", "writable", "why")
    read_only: Severity | None
    writable: Severity | None
    why: str

    def __init__(self, read_only: Severity | None, writable: Severity | None, why: str):
        set_frozen(self, "read_only", read_only)  # None: no finding in that mode
        set_frozen(self, "writable", writable)
        set_frozen(self, "why", why)


_ETC_ROOT = Sensitivity(H, C, "host configuration: /etc/shadow and private keys to read, cron, "
                              "sudoers and systemd units to write (host root)")
_ETC_KEYS = Sensitivity(H, H, "private keys")
_ETC_ROOTISH = Sensitivity(H, C, "configuration that the host's root trusts (sudo, cron, "
                                 "systemd, SSH, the loader, the engine): read, it maps the "
                                 "host's defences; written, it is host root")
_INFO = Sensitivity(None, L, "public facts about the host, harmless read-only")
_RESOLVER = Sensitivity(None, M, "the host's name resolution, harmless read-only; written, the "
                                 "container redirects the host's traffic")
_TRUST = Sensitivity(None, H, "the host's trusted certificate authorities, harmless read-only; "
                              "written, the container can add its own and intercept the host's "
                              "TLS")
_EXEC = Sensitivity(None, C, "programs and libraries that host root runs: harmless read-only, "
                             "written it is host root")
_PROC = Sensitivity(M, H, "kernel interfaces: read-only they disclose the host's processes, "
                          "their command lines and hardware; writable they reach kernel "
                          "settings (core_pattern, cgroups) and a container escape")
_RUN = Sensitivity(H, H, "the host's runtime sockets (D-Bus, systemd, libvirt): read-only does "
                         "not protect a socket")
_ENGINE = Sensitivity(H, C, "the container engine's store: every container's files, volumes "
                            "and environment (secrets)")

# Keyed by canonical host path. An entry applies to the path itself; `CHILDREN` says what
# applies below it (an entry without one covers its whole tree).
SENSITIVE: dict[str, Sensitivity] = {
    "/etc": _ETC_ROOT,
    "/etc/localtime": Sensitivity(None, L, "the host's time zone file"),
    "/etc/timezone": Sensitivity(None, L, "the host's time zone file"),
    **dict.fromkeys(("/etc/passwd", "/etc/group"), Sensitivity(
        None, C, "the host's accounts: world-readable, but written it adds a root account")),
    **dict.fromkeys(("/etc/os-release", "/etc/lsb-release", "/etc/hostname",
                     "/etc/machine-id"), _INFO),
    **dict.fromkeys(("/etc/hosts", "/etc/resolv.conf"), _RESOLVER),
    **dict.fromkeys(("/etc/ssl/certs", "/etc/ca-certificates", "/etc/pki/ca-trust",
                     "/etc/pki/tls/certs"), _TRUST),
    **dict.fromkeys(("/etc/shadow", "/etc/gshadow"), Sensitivity(
        H, C, "the host's password hashes: read, they can be cracked offline; written, a "
              "root password of the attacker's choosing")),
    **dict.fromkeys(("/etc/sudoers", "/etc/sudoers.d",
                     "/etc/crontab", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily",
                     "/etc/cron.weekly", "/etc/cron.monthly", "/etc/systemd", "/etc/ssh",
                     "/etc/docker", "/etc/containerd", "/etc/kubernetes", "/etc/ld.so.preload",
                     "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/profile", "/etc/profile.d",
                     "/etc/bash.bashrc", "/etc/environment", "/etc/pam.d", "/etc/security",
                     "/etc/udev", "/etc/init.d", "/etc/rc.local", "/etc/modprobe.d",
                     "/etc/modules-load.d", "/etc/apt", "/etc/yum.repos.d", "/etc/polkit-1",
                     "/etc/sysctl.conf", "/etc/sysctl.d", "/etc/fstab"), _ETC_ROOTISH),
    **dict.fromkeys(("/etc/ssl/private", "/etc/pki/tls/private", "/etc/letsencrypt",
                     "/etc/wireguard", "/etc/ipsec.d", "/etc/openvpn"), _ETC_KEYS),
    "/home": Sensitivity(H, H, "every user's home: SSH keys, credentials, shell start-up files"),
    "/boot": Sensitivity(H, C, "the kernel, the boot loader and the initramfs (which may hold "
                               "disk keys): written, a rootkit that survives reboots"),
    "/dev": Sensitivity(H, H, "every host device node, raw disks included"),
    "/proc": _PROC,
    "/sys": _PROC,
    "/usr": _EXEC,
    **dict.fromkeys(("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/usr/lib",
                     "/usr/lib64", "/usr/libexec", "/bin", "/sbin", "/lib", "/lib64"), _EXEC),
    "/var/lib/docker": _ENGINE,
    "/var/lib/docker/containers": Sensitivity(M, C, "every container's logs and its "
                                                    "config.v2.json with its environment "
                                                    "(secrets), read by log collectors"),
    "/var/lib/docker/volumes": _ENGINE,
    "/var/lib/containerd": _ENGINE,
    "/var/lib/kubelet": Sensitivity(H, C, "the kubelet's credentials and every pod's volumes"),
    "/run/udev": Sensitivity(M, H, "the host's device database (read by media and home "
                                   "automation servers)"),
    "/run/log/journal": Sensitivity(M, H, "the host's system journal"),
    "/run/utmp": Sensitivity(None, M, "who is logged in to the host"),
    "/run/libvirt": Sensitivity(C, C, "libvirt's socket: a VM with the host's disks attached "
                                      "is one call away; read-only does not protect a socket"),
    "/run/systemd": Sensitivity(C, C, "systemd's private socket: it starts any command as "
                                      "root; read-only does not protect a socket"),
    "/run/systemd/private": Sensitivity(C, C, "systemd's private socket: it starts any "
                                              "command as root; read-only does not protect a "
                                              "socket"),
    "/run/systemd/resolve": _RESOLVER,
    "/run/systemd/journal": Sensitivity(M, M, "the host's journal sockets: the container can "
                                              "read or forge system log entries"),
    "/run/user": Sensitivity(H, H, "every user session's sockets (D-Bus, systemd --user, a "
                                   "rootless engine)"),
}
# What applies below an entry, when it differs from the entry itself (None: nothing).
CHILDREN: dict[str, Sensitivity | None] = {
    "/etc": Sensitivity(None, L, "a host configuration directory: if a host service reads it, "
                                 "the container can reconfigure that service (keep an app's own "
                                 "data with its stack instead)"),
    "/dev": None,                   # single devices: passing them through is `devices:`' job
    "/usr": None,                   # /usr/share, /usr/src: data, not what root executes
    "/var/lib/docker/volumes": None,    # one volume's own data, reached by its host path
    "/run": _RUN,
    "/run/systemd": _RUN,
}


def _inside() -> dict[str, tuple[str, ...]]:
    """Each proper ancestor of a SENSITIVE path -> the SENSITIVE paths below it, in table
    order: the paths `p` with `p.startswith(ancestor + "/")`, looked up rather than scanned
    for every mount."""
    below: dict[str, list[str]] = {}
    for path in SENSITIVE:
        for index, char in enumerate(path):
            if char == "/":
                below.setdefault(path[:index], []).append(path)
    return {ancestor: tuple(paths) for ancestor, paths in below.items()}


_INSIDE = _inside()
_AUDIO = re.compile(r"^/run/user/\d+/(pulse|pipewire-\d+)(/|$)")
# Credentials and start-up files in a home directory; the rest of a home is user data.
HOME_SECRETS = frozenset({
    ".ssh", ".gnupg", ".docker", ".kube", ".aws", ".azure", ".gcloud", ".password-store",
    ".netrc", ".git-credentials", ".pgpass", ".bashrc", ".bash_profile", ".profile", ".zshrc",
    ".config/gcloud", ".config/systemd", ".config/autostart", ".local/bin",
})


def sensitivity(path: str) -> tuple[Sensitivity, str] | None:
    """How sensitive a host path is, and the entry that says so (for the message)."""
    path = canonical(path)
    if path == "/" or not path.startswith(("/", "~")) or socket_exposed(path):
        return None                 # `/` and sockets: CMP051 and CMP050
    home = _in_home(path)
    if home is not None:
        base, rest = home
        root_home = base == "/root"
        if not rest:
            return Sensitivity(H, C if root_home else H, "a home directory: SSH keys, "
                               "credentials and shell start-up files"), base
        first_two = "/".join(rest.split("/")[:2])
        if rest.split("/")[0] in HOME_SECRETS or first_two in HOME_SECRETS:
            return Sensitivity(H, C if root_home else H, "credentials or start-up files in a "
                               "home directory"), f"{base}/{rest}"
        return None
    if _AUDIO.match(path):
        return Sensitivity(M, M, "the user's audio server: the container can record the "
                                 "microphone"), path
    if path in SENSITIVE:
        return SENSITIVE[path], path
    # An ancestor of a sensitive path (`/var`, `/var/lib`, `/usr/local`) exposes it.
    inside = _INSIDE.get(path)
    if inside:
        worst = max(inside, key=lambda p: (SENSITIVE[p].writable or 0, SENSITIVE[p].read_only
                                           or 0))
        s = SENSITIVE[worst]
        return Sensitivity(max((e for e in (SENSITIVE[p].read_only for p in inside) if e),
                               default=None), s.writable, f"it contains {worst}: {s.why}"), path
    parent = path
    while parent not in ("/", ""):
        parent = posixpath.dirname(parent)
        if parent in CHILDREN:
            child = CHILDREN[parent]
            if child is _RUN:
                plain = _plain_run_file(path)
                if plain is not None:
                    return plain, path
            return (child, parent) if child else None
        if parent in SENSITIVE:
            return SENSITIVE[parent], parent
    return None


# Under /run, a name with one of these endings is a socket (or a directory of them), and is
# judged as one; another extension names an ordinary file that only lives beside sockets.
_SOCKET_ENDINGS = (".sock", ".socket", ".ctl", ".ctrl", ".s")
_RUN_FILE_KINDS = {
    "pid": "a PID file", "lock": "a lock file", "lck": "a lock file",
    "conf": "a configuration file", "cfg": "a configuration file", "ini": "a configuration file",
    "toml": "a configuration file", "yaml": "a configuration file", "yml": "a configuration file",
    "json": "a configuration or state file", "env": "an environment file", "txt": "a text file",
    "log": "a log file", "db": "a database file", "state": "a state file",
}
_RUN_SOCKET = Sensitivity(H, H, "a host service's socket: whoever connects talks to that "
                                "service with the rights it grants; read-only does not protect "
                                "a socket")
_RUN_FILE = re.compile(r"[^/]*[^/.]\.([A-Za-z0-9]{1,8})\Z")


def _plain_run_file(path: str) -> Sensitivity | None:
    """A single ordinary file under /run (`/run/app/app.pid`, `/var/run/app/config.json`):
    not a socket and no directory of sockets, so at most LOW, saying what it is. A name with
    no extension, or a socket's, stays a socket: a directory (`/run/mysqld`) and a socket
    (`/run/php/php-fpm.sock`, `/run/dbus/system_bus_socket`) are judged as sockets."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(_SOCKET_ENDINGS):
        return _RUN_SOCKET
    if "sock" in name or "bus" in name:
        return None
    match = _RUN_FILE.match(name)
    if match is None:
        return None
    kind = _RUN_FILE_KINDS.get(match.group(1), "a plain file")
    return Sensitivity(L, L, f"{kind} under /run, not a socket: the container sees (or, "
                             "writable, changes) that one file only")


def _in_home(path: str) -> tuple[str, str] | None:
    """(home, rest) for `/root/…`, `/home/<user>/…` and `~…`; None otherwise."""
    if path.startswith("~"):
        head, _, rest = path.partition("/")
        return head, rest
    if path == "/root" or path.startswith("/root/"):
        return "/root", path[len("/root/"):]
    if path.startswith("/home/"):
        parts = path.split("/", 3)
        return "/".join(parts[:3]), parts[3] if len(parts) > 3 else ""
    return None


@rule("CMP052", "sensitive-host-path-mounted", Severity.HIGH,
      title="Sensitive host directory mounted", on=Service, checklist=["4.3.2", "4.3.5"],
      refs=[CIS_SENSITIVE, OWASP_READ_ONLY, "CWE-552", "CWE-732"],
      impact=Impact("service", (1, 2)))
def sensitive_host_path_mounted(service: Service, settings):
    """Reports bind mounts of sensitive host paths: `/etc` and the files in it that hold
    secrets or that root executes, home directories and the credentials in them, `/boot`,
    `/dev`, `/proc`, `/sys`, the engine's store (`/var/lib/docker`), `/run`'s sockets, and
    the trees of programs root runs (`/usr/bin`, `/lib`). Severity follows what the mount
    grants: writing where root executes is CRITICAL; read-only `/proc` and `/sys` for
    monitoring agents, MEDIUM. Under `/run`, directories and sockets (`*.sock`, known socket
    names) are judged as sockets; a single ordinary file there (`/run/app/app.pid`,
    `/var/run/app/config.json`) is LOW and the message says what it is. The common safe cases
    are not reported: `/etc/localtime` and
    `/etc/timezone` read-only, the CA bundle read-only, application data kept in a home
    directory, single device nodes under `/dev`.

    Why it matters:
    A container is one exploit away from being the attacker's. What it mounts is what they
    get: `/etc` read-only hands them the password hashes and private keys, `/root/.ssh`
    writable a root login, `/var/lib/docker` every other container's secrets.

    Example:
    ```yaml
    services:
      filebrowser:
        image: filebrowser/filebrowser:v2.31.2
        volumes:
          - /etc:/srv/etc          # the host's configuration, writable
          - /root:/srv/root        # root's SSH keys
    ```

    Fix:
    Mount only the application's own data (`./data:/data`), read-only where the service only
    reads. For the host's time zone, `/etc/localtime:/etc/localtime:ro` is fine; for
    monitoring agents, mount `/proc` and `/sys` read-only under `/host`.
    """
    for bind in host_binds(service):
        if not bind.known:
            continue                # the path's start came from an unset variable
        found = sensitivity(bind.path)
        if found is None:
            continue
        level, entry = found
        severity = level.read_only if bind.read_only else level.writable
        if severity is None:
            continue
        mode = "read-only" if bind.read_only else "writable"
        under = "" if entry in (bind.path, canonical(bind.path)) else f" (under {entry})"
        via = f" through {bind.via}" if bind.via else ""
        if bind.read_only or level.read_only == severity:
            fix = f"remove the mount of `{bind.path}`, or narrow it to the files the service " \
                  "needs, read-only"
        elif level.read_only is None:
            fix = f"add `:ro` (`{bind.path}:{bind.target}:ro`): read-only, this mount is fine"
        else:
            fix = f"add `:ro` at the least (`{bind.path}:{bind.target}:ro`); better, mount " \
                  "only the files the service needs"
        yield Hit(f"`{bind.path}` is mounted {mode}{via}{under}: {level.why}",
                  bind.location, resource=f"mount:{bind.path}", evidence=bind.spec,
                  severity=severity, fix=fix)


# --- mount propagation ---------------------------------------------------------------------------

SHARED = frozenset({"shared", "rshared"})


@rule("CMP053", "mount-propagation-shared", Severity.MEDIUM,
      title="Bind mount with shared propagation", on=Service, checklist=["4.3.5"],
      refs=[CIS_PROPAGATION, "CWE-668"], impact=Impact("service", (1, 2)))
def mount_propagation_shared(service: Service, settings):
    """Reports bind mounts whose propagation is `shared` or `rshared`, in short syntax
    (`/mnt/media:/media:rshared`) or long syntax (`bind: {propagation: shared}`).

    Why it matters:
    With shared propagation, mounts the container makes under that path appear on the host
    too (and the other way round). A compromised container can then mount over host
    directories that host services read, or hide files from them.

    Example:
    ```yaml
    services:
      app:
        image: nginx:1.27
        volumes:
          - /srv/data:/data:rshared
    ```

    Fix:
    Drop the propagation option: the default `rprivate` is what almost every service needs,
    and `rslave` lets the container see host mounts without pushing its own back. Only a
    container that must publish a FUSE mount to the host (rclone, mergerfs) needs `rshared`,
    on that one narrow path.
    """
    for _, item, loc, mount in _volume_mounts(service):
        if not isinstance(mount.propagation, str):
            continue
        propagation = mount.propagation.strip().lower()
        if propagation not in SHARED:
            continue
        if isinstance(item, Map) and isinstance(item.get("bind"), Map):
            loc = item["bind"].key_locs.get("propagation", loc)
        yield Hit(f"`{mount.source}` is mounted at `{mount.target}` with `{propagation}` "
                  "propagation: mounts made in the container appear on the host",
                  loc, resource=f"mount:{mount.target}", evidence=mount.spec,
                  fix="remove the propagation option (default rprivate), or use `rslave` if "
                      "the container only needs to see host mounts")


# --- provers: what shows the items hold ---------------------------------------------------

def _mounts_known(service: Service) -> bool:
    """Every bind mount's host path is known (no variable Compose could not resolve)."""
    return runnable(service) and all(
        m.source and "$" not in m.source for m in service.mounts if m.type == "bind")


def _binds(service: Service) -> str:
    paths = [m.host_path or "" for m in service.mounts if m.type == "bind"]
    if not paths:
        return "no host path mounted"
    return "host paths mounted: " + ", ".join(paths[:4]) + (" …" if len(paths) > 4 else "")


by_silence("CMP050", "4.3.3", note="no container engine socket mounted",
           complete=_mounts_known)
by_silence("CMP050", "4.3.4", note="no container engine socket mounted: nothing to proxy",
           complete=_mounts_known)
by_silence("CMP051", "4.3.1", note=_binds, complete=_mounts_known)
by_silence("CMP052", "4.3.2", note=_binds, complete=_mounts_known)


@prover("CMP052", "4.3.5")
def bind_mounts_read_only(service: Service, settings):
    """Least privilege shown: every host path is mounted read-only (named volumes are the
    service's own data)."""
    if not _mounts_known(service):
        return None
    binds = [m for m in service.mounts if m.type == "bind"]
    if any(not m.read_only for m in binds):
        return None
    return "every host path mounted read-only" if binds else "no host path mounted"
