"""The facts the Proxmox rules judge, made from what was read from a node (its files or its
API), and their fixture reader.

  ProxmoxCluster  the datacenter firewall (cluster.fw) and each node's (host.fw): one per
                  collected node; about every service the cluster hosts
  ProxmoxGuest    one guest as the hypervisor sees it: its firewall (<vmid>.fw, the `firewall=1`
                  of its network devices, the datacenter's switch), the backup jobs that
                  cover it; about the service on that guest
  LxcContainer    one container as a runtime: privileged or not, its features, raw `lxc.*`
                  settings, bind mounts of host paths and the node's devices it reaches;
                  about the service only when the
                  service *is* that container (deployment_type lxc): an unprivileged LXC does
                  not make the Docker containers inside it run as non-root
  BackupJob       one vzdump job: what it covers, where it writes, what it keeps; about the
                  services on the guests it covers

A fact says whose it is with `belongs_to(service)`: the guest's vmid is the one the
inventory gives the service's host (`hosts: {docker-01: {proxmox: {node: pve1, vmid: 101}}}`).

"Not read" is never "absent": a file that is listed but could not be read leaves what it
holds unknown (None), and nothing unknown is judged or proven.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labwarden.model import Location
from labwarden.sources.proxmox.backup import (
    JobSpec,
    Retention,
    StorageSpec,
    retention_of,
)
from labwarden.sources.proxmox.conf import Entry, GuestConfig, boolean, property_string
from labwarden.sources.proxmox.fw import POLICIES
from labwarden.sources.proxmox.state import PVE, PveConfig, guest_path

# Defaults of pve-firewall: the datacenter and each guest are off unless enabled; a node's
# host firewall is on unless disabled; what nothing accepts is dropped.
CLUSTER_ENABLE_DEFAULT = False
HOST_ENABLE_DEFAULT = True
GUEST_ENABLE_DEFAULT = False
POLICY_IN_DEFAULT = "DROP"
NOWHERE = "nowhere"          # a retention no place sets: vzdump keeps every backup


# --- facts ------------------------------------------------------------------------------------

@dataclass(slots=True)
class NodeFirewall:
    node: str
    enabled: bool | None            # None: host.fw there but not read
    location: Location


@dataclass(slots=True)
class ProxmoxCluster:
    target: str
    name: str
    nodes: tuple[str, ...] = ()
    firewall_enabled: bool | None = None     # the datacenter switch; None: not read
    policy_in: str | None = POLICY_IN_DEFAULT
    firewall_at: Location | None = None      # cluster.fw (its `enable:` line when set)
    policy_at: Location | None = None
    host_firewalls: list[NodeFirewall] = field(default_factory=list)
    guests: int = 0
    diagnostics: list = field(default_factory=list)
    error: str | None = None

    @property
    def asset(self) -> str:
        return f"pve:{self.name}"

    @property
    def location(self) -> Location:
        return self.firewall_at or Location(self.target)

    def belongs_to(self, service) -> bool:
        """The datacenter and its nodes' firewalls are every hosted service's concern."""
        return True


@dataclass(frozen=True, slots=True)
class Nic:
    key: str                 # net0
    firewall: bool           # `firewall=1`: the guest's rules apply to this device
    bridge: str
    line: int


@dataclass(frozen=True, slots=True)
class Passthrough:
    key: str                 # dev0, hostpci0, usb1, scsi2, lxc.cgroup2.devices.allow…
    what: str                # the host device, PCI address, USB id or rule
    kind: str                # device | pci | usb | disk | cgroup | mount
    line: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """A job that names a guest, and whether it backs it up."""

    job: str
    runs: bool                      # enabled, and runs on the guest's node
    why_not: str                    # "disabled", "runs only on pve2" (when it does not)
    storage: str
    backup_server: bool | None      # the storage is a Proxmox Backup Server; None: unknown
    location: Location


@dataclass(slots=True)
class ProxmoxGuest:
    target: str
    cluster: str
    node: str
    vmid: int
    kind: str                          # lxc | qemu
    name: str = ""
    path: str = ""
    template: bool = False
    protection: bool = False
    nics: list[Nic] = field(default_factory=list)
    firewall_path: str = ""
    firewall_file: bool = False               # <vmid>.fw exists
    firewall_enabled: bool | None = None      # the guest's own switch; None: not read
    policy_in: str | None = None              # None: not read
    enable_line: int = 0                      # in firewall_path (0: not set: the default)
    policy_line: int = 0
    datacenter_firewall: bool | None = None
    datacenter_at: Location | None = None
    # A VM's host devices (hostpciN, usbN, whole host disks). Not judged: no checklist item
    # is about a VM's devices (a container's are LxcContainer.devices, PVE004's).
    passthrough: list[Passthrough] = field(default_factory=list)
    jobs: list[Coverage] = field(default_factory=list)
    jobs_known: bool = True
    error: str | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def asset(self) -> str:
        return f"pve:{self.node}/{self.vmid}"

    @property
    def location(self) -> Location:
        return Location(self.path)

    @property
    def what(self) -> str:
        word = "container" if self.kind == "lxc" else "VM"
        return f"{word} {self.vmid}" + (f" ({self.name})" if self.name else "")

    @property
    def complete(self) -> bool:
        return self.error is None and not self.problems

    def at(self, line: int) -> Location:
        return Location(self.path, line) if line else self.location

    def fw_at(self, line: int) -> Location:
        """In the guest's firewall file; the guest's configuration when it has none."""
        if not self.firewall_file:
            return self.location
        return Location(self.firewall_path, line) if line else Location(self.firewall_path)

    def belongs_to(self, service) -> bool:
        return guest_of(service) == self.vmid


@dataclass(frozen=True, slots=True)
class Mount:
    key: str                 # mp0 or lxc.mount.entry
    source: str              # the host path
    target: str              # where the container sees it
    read_only: bool
    line: int


@dataclass(slots=True)
class LxcContainer:
    target: str
    cluster: str
    node: str
    vmid: int
    name: str = ""
    path: str = ""
    unprivileged: bool = False         # pct.conf: absent means privileged
    unprivileged_line: int = 0
    features: dict[str, str] = field(default_factory=dict)
    features_line: int = 0
    mounts: list[Mount] = field(default_factory=list)
    devices: list[Passthrough] = field(default_factory=list)   # the node's devices it reaches
    raw: list[Entry] = field(default_factory=list)
    error: str | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def asset(self) -> str:
        return f"pve:{self.node}/{self.vmid}"

    @property
    def location(self) -> Location:
        return Location(self.path)

    @property
    def what(self) -> str:
        return f"container {self.vmid}" + (f" ({self.name})" if self.name else "")

    @property
    def complete(self) -> bool:
        return self.error is None and not self.problems

    def at(self, line: int) -> Location:
        return Location(self.path, line) if line else self.location

    def belongs_to(self, service) -> bool:
        return guest_of(service) == self.vmid and service.deployment_type == "lxc"


@dataclass(slots=True)
class BackupJob:
    target: str
    cluster: str
    id: str
    path: str
    line: int
    enabled: bool = True
    schedule: str = ""
    selection: str = ""                 # "all but 105", "101, 102", "pool web"
    nodes: tuple[str, ...] = ()
    storage: str = "local"
    storage_type: str | None = None     # None: storage.cfg not read, or no such storage
    retention: Retention | None = None  # None: not known (a file that decides it not read)
    covers: frozenset[int] = frozenset()     # the guests it backs up when it runs
    named: frozenset[int] = frozenset()      # the guests it selects, on any node
    excluded: frozenset[int] = frozenset()   # `exclude` of an `all` job
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def asset(self) -> str:
        return f"pve:{self.cluster}/job/{self.id}"

    @property
    def location(self) -> Location:
        return Location(self.path, self.line) if self.line else Location(self.path)

    @property
    def backup_server(self) -> bool | None:
        return None if self.storage_type is None else self.storage_type == "pbs"

    def belongs_to(self, service) -> bool:
        vmid = guest_of(service)
        return self.enabled and vmid is not None and vmid in self.covers


def guest_of(service) -> int | None:
    """The vmid of the guest the service's host is, from the inventory; None when its host
    is not a Proxmox guest."""
    host = getattr(service, "host", None)
    guest = getattr(host, "proxmox", None)
    return getattr(guest, "vmid", None)


# --- building the facts -------------------------------------------------------------------

def build_facts(config: PveConfig) -> list:
    """The cluster fact first (it carries the diagnostics), then each guest's facts, then
    each job's."""
    cluster = _cluster(config)
    facts: list = [cluster]
    name = config.label
    on_node = {g.vmid: g.node for g in config.guests}
    on_node.update({vmid: node for node, vmid, _ in config.unread_guests})
    jobs = [_job(config, spec, on_node) for spec in config.jobs]
    for guest in config.guests:
        facts.append(_guest(config, guest, cluster, jobs, name))
        if guest.kind == "lxc":
            facts.append(_container(config, guest))
    for node, vmid, kind in config.unread_guests:
        path = config.where(guest_path(node, vmid, kind))
        facts.append(ProxmoxGuest(config.target, name, node, vmid, kind, path=path,
                                  error="configuration not read"))
        if kind == "lxc":
            facts.append(LxcContainer(config.target, name, node, vmid, path=path,
                                      error="configuration not read"))
    facts.extend(jobs)
    return facts


def _cluster(config: PveConfig) -> ProxmoxCluster:
    cluster = ProxmoxCluster(config.target, config.label, diagnostics=config.diagnostics)
    path = config.where(f"{PVE}/firewall/cluster.fw")
    cluster.nodes = tuple(sorted({g.node for g in config.guests} | set(config.host_fw)
                                 | config.unread_host_fw | set(config.nodes)))
    cluster.guests = len(config.guests) + len(config.unread_guests)
    if not config.cluster_fw_read or not config.firewall_listed:
        cluster.firewall_enabled = cluster.policy_in = None
        cluster.firewall_at = Location(path)
    else:
        fw = config.cluster_fw
        enable = fw.option("enable") if fw else None
        # cluster.fw's `enable` is an integer: 0 is off, anything else on
        cluster.firewall_enabled = CLUSTER_ENABLE_DEFAULT if enable is None else \
            enable.value.strip() not in ("0", "")
        # the `enable:` line, else the file, else (no cluster.fw) the target
        cluster.firewall_at = Location(path, enable.line) if enable else \
            Location(path) if fw else Location(config.target)
        policy = fw.option("policy_in") if fw else None
        cluster.policy_in = _policy(policy)
        cluster.policy_at = Location(path, policy.line) if policy else cluster.firewall_at
    for node in cluster.nodes:
        host_path = config.where(f"{PVE}/nodes/{node}/host.fw")
        if node in config.unread_host_fw:
            cluster.host_firewalls.append(NodeFirewall(node, None, Location(host_path)))
            continue
        fw = config.host_fw.get(node)
        enable = fw.option("enable") if fw else None
        parsed = boolean(enable.value) if enable else None
        cluster.host_firewalls.append(NodeFirewall(
            node, HOST_ENABLE_DEFAULT if parsed is None else parsed,
            Location(host_path, enable.line) if enable else Location(host_path)))
    return cluster


def _policy(entry: Entry | None) -> str:
    value = entry.value.strip().upper() if entry else ""
    return value if value in POLICIES else POLICY_IN_DEFAULT


def _guest(config: PveConfig, conf: GuestConfig, cluster: ProxmoxCluster,
           jobs: list[BackupJob], name: str) -> ProxmoxGuest:
    guest = ProxmoxGuest(config.target, name, conf.node, conf.vmid, conf.kind,
                         name=conf.value("hostname") or conf.value("name") or "",
                         path=conf.path, problems=list(conf.problems))
    guest.template = conf.flag("template", False)
    guest.protection = conf.flag("protection", False)
    for entry in conf.indexed("net"):
        props = property_string(entry.value, "model" if conf.kind == "qemu" else None)
        guest.nics.append(Nic(entry.key, boolean(props.get("firewall")) is True,
                              props.get("bridge", ""), entry.line))
    guest.firewall_path = config.where(f"{PVE}/firewall/{conf.vmid}.fw")
    if conf.vmid in config.unread_fw or not config.firewall_listed:
        guest.firewall_enabled = guest.policy_in = None
    else:
        fw = config.guest_fw.get(conf.vmid)
        guest.firewall_file = fw is not None
        enable = fw.option("enable") if fw else None
        parsed = boolean(enable.value) if enable else None
        guest.firewall_enabled = GUEST_ENABLE_DEFAULT if parsed is None else parsed
        guest.enable_line = enable.line if enable else 0
        policy = fw.option("policy_in") if fw else None
        guest.policy_in = _policy(policy)
        guest.policy_line = policy.line if policy else 0
    guest.datacenter_firewall = cluster.firewall_enabled
    guest.datacenter_at = cluster.firewall_at
    if conf.kind == "qemu":
        guest.passthrough = _passthrough(conf)
    # Coverage is unknown when a job file was not read, or a job selects a pool whose
    # members were not read.
    guest.jobs_known = config.jobs_read and not (
        config.pools is None and any(spec.pool for spec in config.jobs))
    for job in jobs:
        if conf.vmid in job.excluded:
            guest.jobs.append(Coverage(job.id, False, "excludes it", job.storage,
                                       job.backup_server, job.location))
        elif conf.vmid in job.named:
            why = "" if job.enabled and conf.vmid in job.covers else \
                "disabled" if not job.enabled else f"runs only on {', '.join(job.nodes)}"
            guest.jobs.append(Coverage(job.id, not why, why, job.storage, job.backup_server,
                                       job.location))
    return guest


def _container(config: PveConfig, conf: GuestConfig) -> LxcContainer:
    container = LxcContainer(config.target, config.label, conf.node, conf.vmid,
                             name=conf.value("hostname") or "", path=conf.path,
                             problems=list(conf.problems))
    unprivileged = conf.get("unprivileged")
    container.unprivileged = conf.flag("unprivileged", False)
    container.unprivileged_line = unprivileged.line if unprivileged else 0
    features = conf.get("features")
    if features is not None:
        container.features = property_string(features.value)
        container.features_line = features.line
    for entry in conf.indexed("mp"):
        props = property_string(entry.value, "volume")
        volume = props.get("volume", "")
        if volume.startswith("/"):          # a host path: a bind (or device) mount
            container.mounts.append(Mount(entry.key, volume, props.get("mp", ""),
                                          boolean(props.get("ro")) is True, entry.line))
    for entry in conf.raw("lxc.mount.entry"):
        words = entry.value.split()
        if len(words) >= 4 and words[0].startswith("/") and "bind" in words[3]:
            container.mounts.append(Mount(entry.key, words[0], "/" + words[1].lstrip("/"),
                                          "ro" in words[3].split(","), entry.line))
    container.raw = conf.raw("lxc.")
    container.devices = _passthrough(conf)
    return container


_DISKS = ("scsi", "virtio", "sata", "ide")


def _passthrough(conf: GuestConfig) -> list[Passthrough]:
    """Host devices a guest reaches directly: `devN` and raw cgroup/mount rules of a
    container; `hostpciN`, `usbN` (not SPICE redirection) and whole host disks of a VM."""
    found = []
    if conf.kind == "lxc":
        for entry in conf.indexed("dev"):
            found.append(Passthrough(entry.key, property_string(entry.value, "path")
                                     .get("path", entry.value), "device", entry.line))
        for entry in conf.raw("lxc.cgroup"):
            if entry.key.endswith("devices.allow"):
                found.append(Passthrough(entry.key, entry.value, "cgroup", entry.line))
        for entry in conf.raw("lxc.mount.entry"):
            source = entry.value.split()[0] if entry.value.split() else ""
            if source.startswith("/dev"):
                found.append(Passthrough(entry.key, source, "mount", entry.line))
        for entry in conf.indexed("mp"):
            volume = property_string(entry.value, "volume").get("volume", "")
            if volume.startswith("/dev/"):
                found.append(Passthrough(entry.key, volume, "device", entry.line))
        return found
    for entry in conf.indexed("hostpci"):
        found.append(Passthrough(entry.key, property_string(entry.value, "host")
                                 .get("host", entry.value), "pci", entry.line))
    for entry in conf.indexed("usb"):
        host = property_string(entry.value, "host").get("host", "")
        if host and host != "spice":
            found.append(Passthrough(entry.key, host, "usb", entry.line))
    for entry in conf.entries:
        name = entry.key.rstrip("0123456789")
        if name in _DISKS and entry.key != name:
            volume = property_string(entry.value, "file").get("file", "")
            if volume.startswith("/dev/"):
                found.append(Passthrough(entry.key, volume, "disk", entry.line))
    return found


def _job(config: PveConfig, spec: JobSpec, on_node: dict[int, str]) -> BackupJob:
    job = BackupJob(config.target, config.label, spec.id, config.where(spec.path), spec.line,
                    enabled=spec.enabled, schedule=spec.schedule, nodes=spec.nodes,
                    problems=list(spec.problems))
    defaults = config.defaults or {}
    storage = spec.storage or defaults.get("storage")
    job.storage = storage.value if storage else "local"
    known = config.storages is not None and job.storage in config.storages
    store = config.storages.get(job.storage) if config.storages is not None else None
    job.storage_type = store.type if store else None
    job.retention = _retention(config, spec, store, known)
    job.named, job.covers = _covered(spec, on_node, config.pools)
    job.excluded = frozenset(spec.exclude) if spec.all else frozenset()
    job.selection = _selection(spec)
    return job


def _retention(config: PveConfig, spec: JobSpec, store: StorageSpec | None,
               known: bool) -> Retention | None:
    """Job, else storage, else the node's vzdump.conf, else keep-all; None when a place
    that could decide it was not read."""
    mine = retention_of(spec.prune, spec.maxfiles, f"job {spec.id}", config.where(spec.path))
    if mine is not None:
        return mine
    if not known:
        return None
    assert store is not None
    stored = retention_of(store.prune, store.maxfiles, f"storage {store.id}",
                          config.where(store.path))
    if stored is not None:
        return stored
    if config.defaults is None:
        return None
    conf_path = config.where("/etc/vzdump.conf")
    node = retention_of(config.defaults.get("prune-backups"), config.defaults.get("maxfiles"),
                        "/etc/vzdump.conf", conf_path)
    return node or Retention((), NOWHERE, config.where(spec.path), spec.line)


def _covered(spec: JobSpec, on_node: dict[int, str],
             pools: dict[str, set[int]] | None) -> tuple[frozenset[int], frozenset[int]]:
    """The existing guests a job selects (those it names with `vmid`, every guest but
    `exclude` with `all`, or a pool's members), and of those the ones on the nodes it runs
    on (`node`; vzdump backs up the selected guests of the node it runs on)."""
    if spec.all:
        chosen = set(on_node) - set(spec.exclude)
    elif spec.pool:
        chosen = set((pools or {}).get(spec.pool, set()))
    else:
        chosen = set(spec.vmids)
    named = {v for v in chosen if v in on_node}
    if spec.nodes:
        return frozenset(named), frozenset(v for v in named if on_node[v] in spec.nodes)
    return frozenset(named), frozenset(named)


def _selection(spec: JobSpec) -> str:
    if spec.all:
        return "every guest" + (f" but {', '.join(map(str, spec.exclude))}"
                                if spec.exclude else "")
    if spec.pool:
        return f"pool {spec.pool}"
    return ", ".join(map(str, spec.vmids)) or "no guest"



# --- facts from YAML (rule fixtures, checklist evidence cases) --------------------------------

def facts_from_yaml(path: str) -> list:
    """One fact per item of a YAML list; each item is a node's files and the fact wanted::

        - kind: container           # ruleid: PVE001  (cluster | guest | container | job)
          vmid: 101                 # guest, container: which guest (default: the first)
          job: backup-nightly       # job: which job (default: the first)
          files:                    # absolute path on the node: its text, real format
            /etc/pve/nodes/pve1/lxc/101.conf: |
              hostname: media
              unprivileged: 0
            /etc/pve/firewall/cluster.fw: |
              [OPTIONS]
              enable: 1
          unread: [/etc/pve/jobs.cfg]   # there, but not readable

    The files are read by the same collector as a node's (`files.read_config`)."""
    from labwarden.sources.proxmox.fixtures import configs_from_items

    return [_chosen(item, build_facts(config)) for item, config in configs_from_items(path)]


_KINDS = {"cluster": ProxmoxCluster, "guest": ProxmoxGuest, "container": LxcContainer,
          "job": BackupJob}


def _chosen(item: dict, facts: list):
    kind = _KINDS[str(item.get("kind", "cluster"))]
    chosen = [f for f in facts if isinstance(f, kind)]
    if kind in (ProxmoxGuest, LxcContainer) and item.get("vmid") is not None:
        chosen = [f for f in chosen if getattr(f, "vmid", None) == int(item["vmid"])]
    if kind is BackupJob and item.get("job") is not None:
        chosen = [f for f in chosen if getattr(f, "id", None) == str(item["job"])]
    if not chosen:
        raise ValueError(f"no {kind.__name__} in the fixture item")
    return chosen[0]
