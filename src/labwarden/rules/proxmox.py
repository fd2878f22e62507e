"""Proxmox VE rules: containers and their isolation, guest and datacenter firewalls, backup
jobs (checklist 3.4, 4.2, 4.3, 5.1).

They read the facts of `labwarden.sources.proxmox.model`. What a file that was there but
could not be read would have said is unknown (None in the fact): no rule reports it and no
prover takes it for evidence (the probe reported it as a diagnostic).
"""

from __future__ import annotations

import posixpath

from labwarden.model import Hit, Impact, Location, Severity
from labwarden.rules._prove import by_silence
from labwarden.rules.registry import prover, rule
from labwarden.sources.proxmox.model import (
    NOWHERE,
    BackupJob,
    LxcContainer,
    Mount,
    ProxmoxCluster,
    ProxmoxGuest,
)

PCT = "pct.conf(5)"
GUIDE_CT = "Proxmox VE Administration Guide: Linux Container, Security Considerations"
FIREWALL = "pve-firewall(8)"
VZDUMP = "vzdump(1): Backup Retention"
BACKUP_JOBS = "Proxmox VE Administration Guide: Backup and Restore, Backup Jobs"
PBS = "Proxmox Backup Server documentation"
RECREATE = Impact("service", (15, 60))
CT_RESTART = Impact("service", (1, 5))
FIREWALL_ON = Impact("none", (0, 5))
JOB_EDIT = Impact("none", (0, 0))


# --- containers: privilege, features, mounts ----------------------------------------------

@rule("PVE001", "privileged-lxc", Severity.HIGH, title="Privileged LXC container",
      on=LxcContainer, checklist=["4.2.1", "4.2.3"], refs=[PCT, GUIDE_CT, "CWE-250"],
      impact=RECREATE)
def privileged_container(ct: LxcContainer, settings):
    """Reports a container that is not `unprivileged: 1`. pct.conf's default is a
    privileged container: a file without the line is one.

    Why it matters:
    In a privileged container, root is the host's root (uid 0 is not mapped): Proxmox's own
    guide calls such containers unsafe and meant only for trusted workloads. AppArmor and
    the dropped capabilities are the only barriers; one kernel bug or one writable host
    path and the container owns the node with every other guest on it. In an unprivileged
    container, root is uid 100000 on the host and owns nothing there.

    Example:
    ```
    # /etc/pve/lxc/101.conf
    hostname: media
    unprivileged: 0
    ```

    Fix:
    Make a new, unprivileged container from a backup: `vzdump 101` then
    `pct restore 101 <archive> --unprivileged 1 --force` (Proxmox shifts file ownership by
    100000). Only switching the flag in the file leaves every file owned by the wrong user.
    Bind mounts from the host then need ownership for uid 100000+ or an `lxc.idmap`.
    """
    if ct.error is not None:
        return
    if ct.unprivileged:
        return
    written = "unprivileged: 0" if ct.unprivileged_line else \
        "no `unprivileged: 1`, and pct.conf's default is privileged"
    yield Hit(f"{ct.what} is privileged ({written}): root in it is root on the node",
              ct.at(ct.unprivileged_line), resource="unprivileged", evidence=written)


@prover("PVE001", "4.2.1", "4.2.3")
def runs_unprivileged(ct: LxcContainer, settings):
    if not ct.complete or not ct.unprivileged:
        return None
    return f"{ct.what} is unprivileged (its root is an unprivileged user on the node)"


# feature → (severity on a privileged container, on an unprivileged one, why); None: fine
_FEATURES = {
    "nesting": (Severity.HIGH, None, "exposes the node's /proc and /sys to the container: with "
                "a privileged one, a known way out"),
    "keyctl": (Severity.MEDIUM, None, "the kernel keyring, meant for unprivileged containers "
               "running Docker: a privileged one shares the node's"),
    "fuse": (Severity.MEDIUM, Severity.LOW, "FUSE file systems served from the container "
             "to the node's kernel (and freezer deadlocks on backup)"),
    "mknod": (Severity.MEDIUM, Severity.MEDIUM, "creating device nodes (experimental)"),
}


@rule("PVE002", "container-risky-features", Severity.HIGH,
      title="Container with risky features or raw LXC settings", on=LxcContainer,
      checklist=["4.2.4", "4.2.5"], refs=[PCT, GUIDE_CT, "CWE-250"], impact=CT_RESTART)
def container_risky_features(ct: LxcContainer, settings):
    """Reports, in one finding per container, the features and raw `lxc.*` settings that
    widen what it can reach on the node: `nesting=1` or `keyctl=1` on a privileged
    container, `fuse=1`, `mknod=1`, `mount=<fstypes>`, `lxc.apparmor.profile: unconfined`,
    and an empty `lxc.cap.drop:` (keeps every capability). `nesting=1` on an unprivileged
    container is what Proxmox sets by default for systemd and is not reported.

    Why it matters:
    Each one removes part of what keeps a compromised container inside: nesting mounts the
    node's /proc and /sys, an unconfined profile removes AppArmor, an empty cap.drop hands
    back CAP_SYS_ADMIN and CAP_SYS_MODULE, `mount=nfs` lets the container hang the node's
    I/O. On a privileged container these are the short way to the node's root.

    Example:
    ```
    unprivileged: 0
    features: nesting=1,keyctl=1
    lxc.apparmor.profile: unconfined
    ```

    Fix:
    Remove the features the workload does not need (`pct set 101 --features nesting=0`),
    delete the raw lines, and run what needs nesting (Docker) in an unprivileged container
    (`unprivileged: 1`, `features: nesting=1,keyctl=1`) or a VM.
    """
    if ct.error is not None:
        return
    found: list[tuple[Severity, str, str, str]] = []   # severity, what, why, item
    for name, (on_privileged, on_unprivileged, why) in _FEATURES.items():
        if ct.features.get(name, "0").strip() in ("1", "yes", "on", "true"):
            severity = on_unprivileged if ct.unprivileged else on_privileged
            if severity is not None:
                found.append((severity, f"{name}=1", why, "4.2.5"))
    if ct.features.get("mount", "").strip():
        found.append((Severity.MEDIUM, f"mount={ct.features['mount']}", "mounting file "
                      "systems from the container (a loop device bypasses the devices "
                      "cgroup; NFS can block the node)", "4.2.5"))
    for entry in ct.raw:
        if entry.key == "lxc.apparmor.profile" and entry.value.strip() == "unconfined":
            found.append((Severity.HIGH, "lxc.apparmor.profile: unconfined", "no AppArmor "
                          "confinement", "4.2.5"))
        elif entry.key == "lxc.cap.drop" and not entry.value.strip():
            found.append((Severity.HIGH, "lxc.cap.drop: (empty)", "keeps every capability, "
                          "CAP_SYS_ADMIN and CAP_SYS_MODULE included", "4.2.4"))
    if not found:
        return
    worst = max(f[0] for f in found)
    listed = "; ".join(f"{what} ({why})" for _, what, why, _ in found)
    kind = "privileged" if not ct.unprivileged else "unprivileged"
    line = ct.features_line or next((e.line for e in ct.raw), 0)
    yield Hit(f"{kind} {ct.what} has {listed}", ct.at(line), resource="features",
              evidence=", ".join(what for _, what, _, _ in found), severity=worst,
              checklist=tuple(sorted({item for *_, item in found})))


# Host paths a container must not see: (path, why). An entry covers the path, what is
# below it, and a mount of a folder that contains it (`/var` holds /var/lib/vz).
_SENSITIVE = (
    ("/etc", "the node's configuration: password hashes, keys, cron, sudoers"),
    ("/etc/pve", "the cluster file system: every guest's configuration and the cluster's "
                 "private keys and API secrets"),
    ("/root", "root's home: SSH keys and credentials"),
    ("/home", "every user's home: SSH keys and credentials"),
    ("/boot", "the kernel and boot loader"),
    ("/proc", "kernel interfaces"), ("/sys", "kernel interfaces"),
    ("/dev", "every device of the node, raw disks included"),
    ("/usr", "programs the node's root runs"), ("/bin", "programs the node's root runs"),
    ("/sbin", "programs the node's root runs"), ("/lib", "libraries the node's root loads"),
    ("/lib64", "libraries the node's root loads"),
    ("/run", "the node's runtime sockets (systemd, D-Bus)"),
    ("/var/run", "the node's runtime sockets (systemd, D-Bus)"),
    ("/var/lib/vz", "every guest's disk images, templates and local backups"),
    ("/var/lib/pve-cluster", "the cluster database behind /etc/pve"),
    ("/var/lib/docker", "the node's container engine store"),
)


def _sensitive(source: str) -> tuple[str, str] | None:
    path = posixpath.normpath(source)
    if path == "/":
        return "/", "the node's whole file system"
    for base, why in sorted(_SENSITIVE, key=lambda entry: -len(entry[0])):   # most specific
        if path == base or path.startswith(base + "/"):
            return base, why
    inside = [base for base, _ in _SENSITIVE if base.startswith(path.rstrip("/") + "/")]
    if inside:
        return path, "it contains " + ", ".join(inside[:4]) + (" …" if len(inside) > 4 else "")
    return None


@rule("PVE003", "host-path-in-container", Severity.HIGH,
      title="Sensitive host path bind-mounted into a container", on=LxcContainer,
      checklist=["4.3.1", "4.3.2", "4.3.5"], refs=[PCT, GUIDE_CT, "CWE-552"],
      impact=CT_RESTART)
def host_path_in_container(ct: LxcContainer, settings):
    """Reports bind mounts (`mpN: /host/path,mp=/in/ct` or `lxc.mount.entry … bind`) of the
    node's root file system or of a sensitive folder: /etc, /etc/pve, /root, /home, /boot,
    /proc, /sys, /dev, the program folders, /run, /var/lib/vz (guest images and backups),
    /var/lib/pve-cluster. Data folders (/mnt/media, /srv, /tank) are not reported. Severity
    follows what the container can do there: writable in a privileged container is
    CRITICAL; in an unprivileged one the node's files belong to nobody it knows, so only
    what is world-readable is exposed.

    Why it matters:
    A bind mount hands the container the host folder itself. /etc/pve holds the cluster's
    keys and every guest's configuration; /var/lib/vz every disk image; / everything.
    Written from a privileged container, any of these is the node.

    Example:
    ```
    mp0: /etc/pve,mp=/mnt/pve
    mp1: /,mp=/host,ro=1
    ```

    Fix:
    Mount only the data folder the service needs (`mp0: /tank/media,mp=/media`), read-only
    where it only reads (`,ro=1`), into an unprivileged container.
    """
    if ct.error is not None:
        return
    for mount in ct.mounts:
        if mount.source.startswith("/dev/") and mount.source != "/dev/":
            continue                         # one device: a passthrough (PVE004)
        hit = _sensitive(mount.source)
        if hit is None:
            continue
        base, why = hit
        yield Hit(f"{ct.what} has the node's {mount.source} mounted at {mount.target or '?'}"
                  f"{' read-only' if mount.read_only else ''}: {why}",
                  ct.at(mount.line), resource=f"mount:{mount.source}",
                  evidence=f"{mount.key}: {mount.source} -> {mount.target}"
                           + (" (ro)" if mount.read_only else ""),
                  severity=_mount_severity(ct, mount, base),
                  checklist=("4.3.1",) if base == "/" else
                  ("4.3.2",) if mount.read_only else ("4.3.2", "4.3.5"))


def _mount_severity(ct: LxcContainer, mount: Mount, base: str) -> Severity:
    if not ct.unprivileged:
        return Severity.HIGH if mount.read_only else Severity.CRITICAL
    # unprivileged: the node's root-owned files map to nobody; what is world-readable leaks
    return Severity.MEDIUM if mount.read_only or base not in ("/", "/etc/pve") else \
        Severity.HIGH


def _container_read(ct: LxcContainer) -> bool:
    return ct.complete


by_silence("PVE003", "4.3.1", "4.3.2", complete=_container_read,
           note=lambda ct: f"{ct.what}: no bind mount of the node's / or sensitive folders "
                           f"({len(ct.mounts)} bind mount(s) of data folders)")


# --- containers: devices ----------------------------------------------------------------

_DEVICE_SEVERITY = {"device": Severity.MEDIUM, "mount": Severity.MEDIUM,
                    "cgroup": Severity.MEDIUM}


@rule("PVE004", "container-device-passthrough", Severity.MEDIUM,
      title="Host device passed through to a container", on=LxcContainer,
      checklist=["4.2.4"], refs=[PCT, GUIDE_CT, "CWE-250"], impact=CT_RESTART)
def container_device_passthrough(ct: LxcContainer, settings):
    """Reports, in one finding per container, the node's devices it reaches directly:
    `devN:` entries, a device mount point (`mp0: /dev/sdb1,…`) and raw
    `lxc.cgroup2.devices.allow` / `lxc.mount.entry /dev/…` lines; HIGH when every device is
    allowed (`devices.allow: a`).

    Why it matters:
    A passed-through device is the node's, not an emulation: a container with a raw disk
    reads every guest's data on it, `devices.allow: a` lets it create and use any device
    node. Often needed (a GPU for transcoding, a Zigbee stick): then it should be one
    device node, decided and written down.

    Example:
    ```
    dev0: /dev/dri/renderD128,gid=104
    lxc.cgroup2.devices.allow: a
    ```

    Fix:
    Pass only the device node needed (`pct set 101 --dev0 /dev/dri/renderD128,gid=104`),
    never `devices.allow: a` or a whole disk; document the passthrough with the service
    (4.3.6).
    """
    if ct.error is not None or not ct.devices:
        return
    severity = max(_DEVICE_SEVERITY[d.kind] for d in ct.devices)
    if any(d.kind == "cgroup" and d.what.split()[:1] == ["a"] for d in ct.devices):
        severity = Severity.HIGH
    listed = ", ".join(f"{d.key}: {d.what}" for d in ct.devices)
    yield Hit(f"{ct.what} reaches the node's devices directly: {listed}",
              ct.at(ct.devices[0].line), resource="devices", evidence=listed,
              severity=severity)


# --- firewall -----------------------------------------------------------------------------

@rule("PVE010", "guest-firewall-off", Severity.HIGH, title="Guest firewall off",
      on=ProxmoxGuest, checklist=["3.4.2"], refs=[FIREWALL, "CWE-284"], impact=FIREWALL_ON)
def guest_firewall_off(guest: ProxmoxGuest, settings):
    """Reports a guest whose Proxmox firewall does not filter its traffic: its
    `/etc/pve/firewall/<vmid>.fw` lacks `enable: 1` under [OPTIONS] (off is the default),
    or a network device lacks `firewall=1` (the guest's rules do not apply to that device).
    Templates are skipped. The datacenter switch is PVE012's.

    Why it matters:
    The guest firewall filters on the node, before the traffic reaches the guest: a
    compromised or misconfigured guest cannot turn it off, and it keeps a guest's
    forgotten listeners (a database, an admin port) away from the rest of the network.
    Without it every port the guest opens is reachable from everything on its bridge.

    Example:
    ```
    # /etc/pve/lxc/101.conf
    net0: name=eth0,bridge=vmbr0,ip=dhcp,type=veth
    # /etc/pve/firewall/101.fw
    [OPTIONS]
    enable: 0
    ```

    Fix:
    Set `enable: 1` (and keep `policy_in: DROP`) in the guest's firewall options, add IN
    rules for the ports it serves, and `firewall=1` on each network device
    (`pct set 101 --net0 name=eth0,bridge=vmbr0,ip=dhcp,firewall=1`).
    """
    if guest.error is not None or guest.template or guest.firewall_enabled is None:
        return
    if not guest.firewall_enabled:
        written = "enable: 0" if guest.enable_line else "no `enable: 1`"
        yield Hit(f"the firewall of {guest.what} is off ({written} in its firewall "
                  "options): nothing filters its traffic on the node",
                  guest.fw_at(guest.enable_line), resource="firewall", evidence=written)
        return
    unfiltered = [nic for nic in guest.nics if not nic.firewall]
    if unfiltered:
        keys = ", ".join(n.key for n in unfiltered)
        yield Hit(f"the firewall of {guest.what} is on but {keys} "
                  f"{'lacks' if len(unfiltered) == 1 else 'lack'} `firewall=1`: the guest's "
                  "rules do not apply to that traffic", guest.at(unfiltered[0].line),
                  resource=f"firewall:{keys}", evidence=f"{keys} without firewall=1")


@prover("PVE010", "3.4.2")
def guest_firewall_filters(guest: ProxmoxGuest, settings):
    if not guest.complete or guest.template or not guest.nics:
        return None
    if guest.datacenter_firewall is not True or guest.firewall_enabled is not True:
        return None
    if guest.policy_in not in ("DROP", "REJECT") or not all(n.firewall for n in guest.nics):
        return None
    return (f"{guest.what}: firewall enabled, policy_in {guest.policy_in}, "
            f"{', '.join(n.key for n in guest.nics)} with firewall=1")


@rule("PVE011", "guest-firewall-accepts", Severity.MEDIUM,
      title="Guest firewall accepts by default", on=ProxmoxGuest, checklist=["3.4.2"],
      refs=[FIREWALL, "CWE-284"], impact=FIREWALL_ON)
def guest_firewall_accepts(guest: ProxmoxGuest, settings):
    """Reports a guest whose firewall is on with `policy_in: ACCEPT`: inbound traffic no
    rule names is let in (the default is DROP).

    Why it matters:
    With an accepting default the firewall only stops what a rule names: a port opened
    later is reachable from the whole bridge without anyone deciding it. Default deny makes
    exposure a decision.

    Example:
    ```
    [OPTIONS]
    enable: 1
    policy_in: ACCEPT
    ```

    Fix:
    Add IN rules (or a security group) for what the guest serves, then `policy_in: DROP`.
    """
    if guest.error is not None or guest.template or guest.firewall_enabled is not True:
        return
    if guest.policy_in == "ACCEPT":
        yield Hit(f"the firewall of {guest.what} accepts inbound traffic no rule names "
                  "(policy_in: ACCEPT)", guest.fw_at(guest.policy_line),
                  resource="policy_in", evidence="policy_in: ACCEPT")


@rule("PVE012", "datacenter-firewall-off", Severity.HIGH,
      title="Datacenter firewall off", on=ProxmoxCluster, checklist=["3.4.1", "3.4.2"],
      refs=[FIREWALL, "CWE-284"], impact=FIREWALL_ON)
def datacenter_firewall_off(cluster: ProxmoxCluster, settings):
    """Reports a cluster whose datacenter firewall is off: `/etc/pve/firewall/cluster.fw`
    has no `enable: 1` under [OPTIONS] (or no file at all: off is the default). Then no
    node's and no guest's firewall rule is applied, whatever their own settings say.

    Why it matters:
    The datacenter switch is the one the others hang on: with it off, a guest showing
    "Firewall: yes" filters nothing, and the node's web interface (8006) and SSH answer
    every network that reaches it.

    Example:
    ```
    # /etc/pve/firewall/cluster.fw
    [OPTIONS]
    enable: 0
    ```

    Fix:
    Add rules that let your management network reach 8006 and 22 (or fill the
    `management` IP set), open a console as a fallback, then set `enable: 1` in
    cluster.fw (Datacenter → Firewall → Options).
    """
    if cluster.error is not None or cluster.firewall_enabled is not False:
        return
    yield Hit(f"the datacenter firewall of {cluster.name} is off: no node or guest "
              "firewall rule is applied", cluster.location, resource="datacenter",
              evidence="cluster.fw: no `enable: 1`")


@prover("PVE012", "3.4.1")
def hypervisor_firewall_on(cluster: ProxmoxCluster, settings):
    if cluster.error is not None or cluster.firewall_enabled is not True:
        return None
    if cluster.policy_in not in ("DROP", "REJECT"):
        return None
    if not cluster.host_firewalls or not all(n.enabled for n in cluster.host_firewalls):
        return None
    nodes = ", ".join(n.node for n in cluster.host_firewalls)
    return f"datacenter firewall on (policy_in {cluster.policy_in}), host firewall on {nodes}"


@rule("PVE013", "node-firewall-open", Severity.MEDIUM,
      title="Node firewall off or accepting by default", on=ProxmoxCluster,
      checklist=["3.4.1"], refs=[FIREWALL, "CWE-284"], impact=FIREWALL_ON)
def node_firewall_open(cluster: ProxmoxCluster, settings):
    """Reports, with the datacenter firewall on, a node whose host firewall is disabled
    (`enable: 0` in `/etc/pve/nodes/<node>/host.fw`), and a datacenter `policy_in: ACCEPT`
    (the node accepts inbound traffic no rule names).

    Why it matters:
    The node runs the web interface, the API and SSH with root's power over every guest:
    it is the most valuable host of the lab. Its firewall keeps those ports to the
    management network.

    Example:
    ```
    # /etc/pve/nodes/pve1/host.fw
    [OPTIONS]
    enable: 0
    ```

    Fix:
    Remove `enable: 0` from host.fw (on is the default) and set `policy_in: DROP` in
    cluster.fw, after rules or the `management` IP set let your admin hosts in.
    """
    if cluster.error is not None or cluster.firewall_enabled is not True:
        return
    for node in cluster.host_firewalls:
        if node.enabled is False:
            yield Hit(f"the host firewall of node {node.node} is off (enable: 0): its web "
                      "interface, API and SSH are not filtered", node.location,
                      resource=f"host:{node.node}", evidence="host.fw: enable: 0")
    if cluster.policy_in == "ACCEPT":
        yield Hit(f"the datacenter firewall of {cluster.name} accepts inbound traffic to "
                  "the nodes that no rule names (policy_in: ACCEPT)",
                  cluster.policy_at or cluster.location, resource="policy_in",
                  evidence="policy_in: ACCEPT")


# --- backups ----------------------------------------------------------------------------------

@rule("PVE020", "guest-not-backed-up", Severity.HIGH, title="Guest in no backup job",
      on=ProxmoxGuest, checklist=["5.1.1"], refs=[BACKUP_JOBS, "CIS Controls v8 11.2"],
      impact=JOB_EDIT)
def guest_not_backed_up(guest: ProxmoxGuest, settings):
    """Reports a guest that no enabled vzdump job backs up: not named by `vmid`, excluded
    from an `all` job, in no pool a job selects, or named only by jobs that are disabled or
    run on another node (`node`). Jobs come from /etc/pve/jobs.cfg and the legacy
    /etc/pve/vzdump.cron. Templates are skipped.

    Why it matters:
    A guest outside every job has no restore point: a failed disk, a bad upgrade or
    ransomware loses it for good. New guests are the usual case: a job with a `vmid` list
    does not pick them up.

    Example:
    ```
    # /etc/pve/jobs.cfg
    vzdump: backup-nightly
            schedule 02:00
            vmid 100,102
            storage pbs
    ```

    Fix:
    Add the guest to a job (`vmid`), or back up `all 1` with an `exclude` list, or a pool
    the guest is in (`pvesh set /pools/web --vms 101`).
    """
    if guest.error is not None or guest.template or not guest.jobs_known:
        return
    if any(c.runs for c in guest.jobs):
        return
    named = "; ".join(f"{c.job} ({c.why_not})" for c in guest.jobs)
    yield Hit(f"{guest.what} is in no backup job that runs"
              + (f": only in {named}" if named else ""), guest.location,
              resource="backup", evidence=named or "no vzdump job selects it")


@prover("PVE020", "5.1.1")
def backed_up(guest: ProxmoxGuest, settings):
    if not guest.complete or not guest.jobs_known:
        return None
    running = [c for c in guest.jobs if c.runs]
    if not running:
        return None
    return f"{guest.what} backed up by " + ", ".join(
        f"{c.job} (to {c.storage})" for c in running)


# Storage types that live on the node itself (unless a network file system is mounted
# there, which storage.cfg does not say).
_LOCAL_TYPES = frozenset({"dir", "lvm", "lvmthin", "zfspool", "btrfs"})


@rule("PVE021", "backup-not-on-backup-server", Severity.MEDIUM,
      title="Backups not stored on a backup server", on=BackupJob, checklist=["5.1.1"],
      refs=[VZDUMP, PBS, "CIS Controls v8 11.3"], impact=JOB_EDIT)
def backup_not_on_backup_server(job: BackupJob, settings):
    """Reports an enabled job whose storage is not a Proxmox Backup Server (`pbs:` in
    storage.cfg). HIGH when the storage is on the node itself (`dir`, `lvmthin`,
    `zfspool`…: `local` is the default when a job names none), MEDIUM on a network share
    (NFS, CIFS).

    Why it matters:
    Backups on the node die with its disk and are wiped by whoever owns the node; a share
    the node writes to is reached by the same ransomware. A backup server keeps
    deduplicated, verifiable, optionally client-side-encrypted snapshots the node cannot
    delete (with a restricted API token).

    Example:
    ```
    vzdump: backup-nightly
            schedule 02:00
            all 1
            storage local
    ```

    Fix:
    Add the backup server (`pvesm add pbs pbs1 --server … --datastore …`) and point the job
    at it (`storage pbs1`); keep a second copy off-site (a PBS sync job).
    """
    if not job.enabled or job.storage_type is None or job.storage_type == "pbs":
        return
    local = job.storage_type in _LOCAL_TYPES
    yield Hit(f"job {job.id} writes to storage {job.storage} ({job.storage_type}"
              f"{', on the node itself' if local else ''}), not to a backup server",
              job.location, resource="storage", evidence=f"storage {job.storage}: "
              f"{job.storage_type}", severity=Severity.HIGH if local else None)


@rule("PVE022", "backup-no-retention", Severity.MEDIUM, title="Backup job keeps everything",
      on=BackupJob, checklist=["5.1.3"], refs=[VZDUMP], impact=JOB_EDIT)
def backup_no_retention(job: BackupJob, settings):
    """Reports an enabled job whose backups are never pruned: no `prune-backups` (or
    `maxfiles`) on the job, its storage or the node's /etc/vzdump.conf, or `keep-all=1`.
    A job writing to a Proxmox Backup Server is not reported: its datastore may prune on
    the server's side, which the node's files do not show.

    Why it matters:
    Without retention the storage fills up and the next backups fail, usually unnoticed;
    or someone deletes by hand and removes the one restore point that predates a
    compromise. A retention policy keeps restore points old enough and the disk usable.

    Example:
    ```
    vzdump: backup-nightly
            schedule 02:00
            all 1
            storage nas
    ```

    Fix:
    `prune-backups keep-daily=7,keep-weekly=4,keep-monthly=6` on the job (or on the
    storage: Datacenter → Storage → Backup Retention).
    """
    if not job.enabled or job.retention is None or not job.retention.keeps_all:
        return
    if job.storage_type in (None, "pbs"):
        return
    retention = job.retention
    if retention.where == NOWHERE:
        why, at = "no prune-backups on the job, its storage or /etc/vzdump.conf", job.location
    else:
        why, at = f"keep-all, set on {retention.where}", Location(retention.path, retention.line)
    yield Hit(f"job {job.id} keeps every backup on {job.storage} ({why})", at,
              resource="retention", evidence=f"{retention} ({retention.where})")


@prover("PVE022", "5.1.3")
def retention_set(job: BackupJob, settings):
    if not job.enabled or job.problems or job.retention is None or job.retention.keeps_all:
        return None
    return f"job {job.id}: {job.retention} (set on {job.retention.where})"

