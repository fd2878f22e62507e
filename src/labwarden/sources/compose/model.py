"""Typed facts of a resolved Compose project: what rules read.

Everything here is already merged (override files, `-f` stacks, `extends`, `include`) and
interpolated; every value remembers the file and line it was written at, so a finding
points at the line to change even when that line is in another file.
"""

from __future__ import annotations

import re

from labwarden._record import Record, reduce_by_init
from labwarden.model import Location
from labwarden.sources.envfile import EnvFile
from labwarden.sources.yamlfile import Map, Seq

ALL_INTERFACES = frozenset({None, "", "0.0.0.0", "::", "[::]", "*"})
LOOPBACK_PREFIXES = ("127.", "::1", "[::1]", "localhost")
PROPAGATIONS = frozenset({"shared", "rshared", "slave", "rslave", "private", "rprivate"})


def parse_bool(value) -> bool | None:
    """Compose casts strings (from interpolation) with Go's strconv.ParseBool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if value in ("0", "f", "F", "FALSE", "false", "False"):
            return False
    return None


class Port(Record):
    __slots__ = ("target", "published", "host_ip", "protocol", "location", "spec")
    target: str
    published: str | None
    host_ip: str | None
    protocol: str
    location: Location
    spec: str

    def __init__(self, target: str,
                 published: str | None,      # None: Docker picks an ephemeral host port
                 host_ip: str | None,        # None: all interfaces
                 protocol: str, location: Location, spec: str):
        self.target = target
        self.published = published
        self.host_ip = host_ip
        self.protocol = protocol
        self.location = location
        self.spec = spec

    @property
    def on_all_interfaces(self) -> bool:
        return self.host_ip in ALL_INTERFACES

    @property
    def on_loopback(self) -> bool:
        return self.host_ip is not None and self.host_ip.startswith(LOOPBACK_PREFIXES)

    @property
    def target_ports(self) -> list[int]:
        return _port_range(self.target)

    @property
    def published_ports(self) -> list[int]:
        return _port_range(self.published) if self.published else []


def _port_range(text: str | None) -> list[int]:
    if not text:
        return []
    first, _, last = text.partition("-")
    try:
        low = int(first)
        high = int(last) if last else low
    except ValueError:
        return []
    return list(range(low, min(high, low + 1024) + 1))


def parse_port(item, location: Location) -> Port | None:
    """Short (`127.0.0.1:8080:80/tcp`) or long syntax; None when unparseable."""
    if item is None or isinstance(item, (Seq, bool)):
        return None
    if isinstance(item, Map):
        if item.get("target") in (None, ""):
            return None
        host_ip = item.get("host_ip")
        published = item.get("published")
        return Port(target=str(item.get("target", "")),
                    published=None if published in (None, "") else str(published),
                    host_ip=None if host_ip is None else str(host_ip),
                    protocol=str(item.get("protocol") or "tcp"), location=location,
                    spec=long_port_spec(item))
    text = str(item).strip()
    if not text:
        return None
    body, _, protocol = text.partition("/")
    ip, parts = split_short_port(body)
    published, target = parts
    if not target:
        return None
    return Port(target=target, published=published or None, host_ip=ip or None,
                protocol=protocol or "tcp", location=location, spec=text)


# What `docker compose config` accepts (compose-go's ParsePortConfig, docker/go-connections'
# nat.ParsePortSpec): a port or a range of 16-bit numbers, a protocol Docker knows, a host
# address that is an IP address. The common forms pass the first pattern and cost no more.
_PLAIN_SHORT = re.compile(
    r"(?:(?:127\.0\.0\.1|0\.0\.0\.0):)?(?:\d{1,4}:)?\d{1,4}(?:/(?:tcp|udp))?\Z")
_RANGE = re.compile(r"(\d+)(?:-(\d+))?\Z")
PROTOCOLS = frozenset({"tcp", "udp", "sctp"})


def _range_problem(text: str, label: str) -> tuple[str | None, int]:
    """(why `text` is not a port or range, else None; the number of ports in it). `label`
    names the text in the message (host port `x`, `published: x`)."""
    match = _RANGE.match(text)
    if match is None:
        return f"{label} is not a port number or range", 0
    first, last = match.group(1), match.group(2) or match.group(1)
    if len(first) > 5 or len(last) > 5 or int(first) > 65535 or int(last) > 65535:
        return f"{label} is beyond 65535", 0
    if int(last) < int(first):
        return f"{label} is a range that ends before it starts", 0
    return None, int(last) - int(first) + 1


def _ip_problem(host: str) -> str | None:
    if host in ("0.0.0.0", "127.0.0.1", "::", "::1"):
        return None
    import ipaddress        # rare: most host addresses are the two above

    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return f"host address `{host}` is not an IP address"
    return None


def port_problem(item) -> str | None:
    """Why Compose would refuse this `ports:` entry (short or long syntax), or None."""
    if isinstance(item, bool) or item is None or isinstance(item, Seq):
        return "a port entry must be a number, a string or a mapping"
    if isinstance(item, int):
        return None if 0 <= item <= 65535 else f"`{item}` is beyond 65535"
    if isinstance(item, float):
        return f"`{item}` is not a port number"
    if isinstance(item, Map):
        return _long_port_problem(item)
    text = str(item).strip()
    if _PLAIN_SHORT.match(text):
        return None
    if not text:
        return "the entry is empty"
    body, slash, protocol = text.partition("/")
    if slash and protocol.lower() not in PROTOCOLS:
        return f"protocol `{protocol}` is none of tcp, udp, sctp"
    host, (published, target) = split_short_port(body)
    if host:
        problem = _ip_problem(host)
        if problem:
            return problem
    if not target:
        return "no container port"
    problem, targets = _range_problem(target, f"container port `{target}`")
    if problem:
        return problem
    if published:
        problem, published_count = _range_problem(published, f"host port `{published}`")
        if problem:
            return problem
        if published_count != targets and targets != 1:
            return f"host ports `{published}` and container ports `{target}` are ranges " \
                   "of different lengths"
    return None


def _long_port_problem(item: Map) -> str | None:
    for key in item:
        if key not in _LONG_KEYS and not str(key).startswith("x-"):
            return f"`{key}` is not a port setting (target, published, host_ip, protocol, " \
                   "mode, name, app_protocol)"
    target = item.get("target")
    if target in (None, ""):
        return "`target` (the container port) is missing"
    if isinstance(target, bool) or not (isinstance(target, int) or str(target).isdigit()):
        return f"`target: {target}` is not a port number"
    if len(str(target)) > 5 or int(str(target)) > 65535:
        return f"`target: {target}` is beyond 65535"
    published = item.get("published")
    if published not in (None, "") and not isinstance(published, int):
        text = str(published)
        if ":" in text:
            return f"`published: {text}` holds a host address: write it in `host_ip`, and " \
                   "only the port in `published`"
        problem, _ = _range_problem(text, f"`published: {text}`")
        if problem:
            return problem
    elif isinstance(published, int) and not 0 <= published <= 65535:
        return f"`published: {published}` is beyond 65535"
    host_ip = item.get("host_ip")
    if host_ip not in (None, ""):
        problem = _ip_problem(str(host_ip))
        if problem:
            return problem
    protocol = item.get("protocol")
    if protocol not in (None, "") and str(protocol).lower() not in PROTOCOLS:
        return f"`protocol: {protocol}` is none of tcp, udp, sctp"
    return None


_LONG_KEYS = frozenset({"target", "published", "host_ip", "protocol", "mode", "name",
                        "app_protocol"})


def split_short_port(body: str) -> tuple[str, list[str]]:
    """`[HOST_IP:][HOST_PORT:]CONTAINER_PORT` (no protocol) as (host IP or "", [published or
    "", target]); IPv6 hosts may be bracketed (`[::1]:8080:80`) or not."""
    host = ""
    if body.startswith("["):
        close = body.find("]")
        host, body = body[1:close], body[close + 2:]
        parts = body.split(":")
    else:
        parts = body.split(":")
        if len(parts) > 3:                        # an unbracketed IPv6 address
            host, parts = ":".join(parts[:-2]), parts[-2:]
        elif len(parts) == 3:
            host, parts = parts[0], parts[1:]
    if len(parts) == 1:
        parts = ["", parts[0]]
    return host, parts[-2:]


def long_port_spec(item: Map) -> str:
    return ", ".join(f"{k}: {v}" for k, v in item.items())


class Mount(Record):
    __slots__ = ("type", "source", "target", "read_only", "propagation", "location", "spec")
    type: str
    source: str | None
    target: str
    read_only: bool
    propagation: str | None
    location: Location
    spec: str

    def __init__(self, type: str,           # bind | volume | tmpfs | npipe | image
                 source: str | None, target: str, read_only: bool, propagation: str | None,
                 location: Location, spec: str):
        self.type = type
        self.source = source
        self.target = target
        self.read_only = read_only
        self.propagation = propagation
        self.location = location
        self.spec = spec

    @property
    def host_path(self) -> str | None:
        """The host path of a bind mount, normalised (`/var/run/../run` → `/run`)."""
        if self.type != "bind" or not self.source:
            return None
        source = self.source
        if source.startswith("/"):
            import posixpath
            return posixpath.normpath(source).replace("//", "/")
        return source


def parse_mount(item, location: Location) -> Mount | None:
    if isinstance(item, Map):
        kind = str(item.get("type") or "volume")
        bind = item.get("bind") if isinstance(item.get("bind"), Map) else {}
        return Mount(type=kind, source=None if item.get("source") is None else str(item["source"]),
                     target=str(item.get("target", "")),
                     read_only=parse_bool(item.get("read_only")) is True,
                     propagation=bind.get("propagation"), location=location,
                     spec=long_port_spec(item))
    if item is None:
        return None
    text = str(item)
    parts = text.split(":")
    if len(parts) >= 2 and len(parts[0]) == 1 and parts[0].isalpha():  # C:\path on Windows
        parts = [parts[0] + ":" + parts[1]] + parts[2:]
    if len(parts) == 1:
        return Mount("volume", None, parts[0], False, None, location, text)
    source, target = parts[0], parts[1]
    options = set(parts[2].split(",")) if len(parts) > 2 else set()
    is_path = source.startswith(("/", ".", "~", "$")) or "/" in source or "\\" in source
    propagation = next((o for o in options if o in PROPAGATIONS), None)
    return Mount("bind" if is_path else "volume", source, target, "ro" in options,
                 propagation, location, text)


class EnvValue(Record):
    __slots__ = ("name", "value", "location", "origin", "written")
    name: str
    value: str | None
    location: Location
    origin: str
    written: str | None

    def __init__(self, name: str,
                 value: str | None,            # None: passed through from the shell
                 location: Location,
                 origin: str = "environment",  # environment | env_file
                 written: str | None = None):  # the text before interpolation, if it had `$`
        self.name = name
        self.value = value
        self.location = location
        self.origin = origin
        self.written = written

    @property
    def from_variable(self) -> bool:
        """The value comes from a ${VARIABLE} (kept in .env or the shell), not written here."""
        return self.written is not None and "$" in self.written.replace("$$", "")


class Service(Record):
    __slots__ = ("project", "name", "raw", "location", "ports", "mounts", "environment",
                 "env_files", "profiles")
    project: ComposeProject
    name: str
    raw: Map
    location: Location
    ports: list[Port]
    mounts: list[Mount]
    environment: dict[str, EnvValue]
    env_files: list[str]
    profiles: tuple[str, ...]

    def __init__(self, project: ComposeProject, name: str, raw: Map, location: Location,
                 ports: list[Port] | None = None, mounts: list[Mount] | None = None,
                 environment: dict[str, EnvValue] | None = None,
                 env_files: list[str] | None = None, profiles: tuple[str, ...] = ()):
        self.project = project
        self.name = name
        self.raw = raw
        self.location = location
        self.ports = [] if ports is None else ports
        self.mounts = [] if mounts is None else mounts
        self.environment = {} if environment is None else environment
        self.env_files = [] if env_files is None else env_files
        self.profiles = profiles

    @property
    def asset(self) -> str:
        return f"compose:{self.project.name}/{self.name}"

    @property
    def image(self) -> str | None:
        value = self.raw.get("image")
        return None if value is None else str(value)

    def get(self, key: str, default=None):
        value = self.raw.get(key, default)
        return default if value is None else value

    def path(self, *keys):
        """The value at a nested key path, or None."""
        node = self.raw
        for key in keys:
            if isinstance(node, Map):
                node = node.get(key)
            elif isinstance(node, Seq) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                return None
        return node

    def loc(self, *keys) -> Location:
        """The location of a (nested) key, falling back to its nearest parent's."""
        node, best = self.raw, self.location
        for key in keys:
            if isinstance(node, Map) and key in node:
                best = node.key_locs.get(key, best)
                node = node[key]
            elif isinstance(node, Seq) and isinstance(key, int) and key < len(node):
                best = node.loc_of(key) or best
                node = node[key]
            else:
                break
        return best

    def items(self, key: str) -> list[tuple[str, Location]]:
        """A list-valued key as (text, location) pairs; a scalar counts as one item."""
        value = self.raw.get(key)
        if value is None:
            return []
        if isinstance(value, Seq):
            return [(str(v), value.loc_of(i)) for i, v in enumerate(value) if v is not None]
        if isinstance(value, Map):
            return [(str(k), value.key_locs.get(k, self.loc(key))) for k in value]
        return [(str(value), self.loc(key))]

    def flag(self, key: str) -> bool | None:
        return parse_bool(self.raw.get(key))

    def label(self, name: str) -> str | None:
        labels = self.raw.get("labels")
        if isinstance(labels, Map) and name in labels:
            value = labels[name]
            return "" if value is None else str(value)
        return None


class ComposeProject(Record):
    __slots__ = ("name", "directory", "files", "raw", "services", "dotenv", "env_files",
                 "legacy", "unknown_keys", "compose_name", "included_files")
    name: str
    directory: str
    files: list[str]
    raw: Map
    services: dict[str, Service]
    dotenv: EnvFile | None
    env_files: dict[str, EnvFile]
    legacy: bool
    unknown_keys: list[UnknownKey]
    compose_name: str
    included_files: list[str]

    def __init__(self, name: str, directory: str, files: list[str], raw: Map,
                 services: dict[str, Service] | None = None, dotenv: EnvFile | None = None,
                 env_files: dict[str, EnvFile] | None = None, legacy: bool = False,
                 unknown_keys: list[UnknownKey] | None = None,
                 compose_name: str = "",       # Compose's own name (COMPOSE_PROJECT_NAME, name:)
                 included_files: list[str] | None = None):  # absolute paths, via `include`
        self.name = name
        self.directory = directory
        self.files = files
        self.raw = raw
        self.services = {} if services is None else services
        self.dotenv = dotenv
        self.env_files = {} if env_files is None else env_files
        self.legacy = legacy
        self.unknown_keys = [] if unknown_keys is None else unknown_keys
        self.compose_name = compose_name
        self.included_files = [] if included_files is None else included_files

    @property
    def asset(self) -> str:
        return f"compose:{self.name}"

    def section(self, key: str) -> Map:
        value = self.raw.get(key)
        return value if isinstance(value, Map) else Map()

    def loc(self, *keys) -> Location:
        node, best = self.raw, Location(self.files[0], 1) if self.files else Location("")
        for key in keys:
            if isinstance(node, Map) and key in node:
                best = node.key_locs.get(key, best)
                node = node[key]
            else:
                break
        return best


class UnknownKey(Record):
    """A key the Compose Specification does not define, with the likely intended one."""

    __slots__ = ("key", "where", "location", "suggestion")
    key: str
    where: str
    location: Location
    suggestion: str | None

    def __init__(self, key: str,
                 where: str,          # "service web", "top level", "service web: deploy"
                 location: Location, suggestion: str | None):
        self.key = key
        self.where = where
        self.location = location
        self.suggestion = suggestion


class ContainerRef(Record):
    """One container of the tree, for rules that compare projects (duplicate names)."""

    __slots__ = ("name", "explicit", "location", "asset")
    name: str
    explicit: bool
    location: Location
    asset: str

    def __init__(self, name: str,       # container_name, or what Compose would name it
                 explicit: bool,         # set with container_name
                 location: Location, asset: str):
        self.name = name
        self.explicit = explicit
        self.location = location
        self.asset = asset

    # Workers send thousands: unpickled by calling the class (its fields, in order).
    __reduce__ = reduce_by_init


class PortRef(Record):
    """One published host port (or range) of the tree, for rules that compare projects."""

    __slots__ = ("host_ip", "low", "high", "protocol", "location", "asset", "profiles", "spec")
    host_ip: str
    low: int
    high: int
    protocol: str
    location: Location
    asset: str
    profiles: tuple[str, ...]
    spec: str

    def __init__(self, host_ip: str,            # "" for every interface of both families
                 low: int, high: int, protocol: str, location: Location, asset: str,
                 profiles: tuple[str, ...] = (), spec: str = ""):
        self.host_ip = host_ip
        self.low = low
        self.high = high
        self.protocol = protocol
        self.location = location
        self.asset = asset
        self.profiles = profiles
        self.spec = spec

    # Workers send thousands: unpickled by calling the class (its fields, in order).
    __reduce__ = reduce_by_init


class ComposeTree(Record):
    """A summary of every project found under the audited paths.

    A summary rather than the projects themselves: projects are loaded in parallel worker
    processes and only this small inventory crosses back to the parent.
    """

    __slots__ = ("containers", "root", "ports")
    containers: list[ContainerRef]
    root: str
    ports: list[PortRef]

    def __init__(self, containers: list[ContainerRef], root: str = "",
                 ports: list[PortRef] | None = None):
        self.containers = containers
        self.root = root
        self.ports = [] if ports is None else ports

    @property
    def asset(self) -> str:
        return f"compose-tree:{self.root}"
