"""Rules about how a service's container runs: privileges, capabilities, the user, security
profiles, host namespaces and host devices (checklist 4.2)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from functools import lru_cache

from labwarden._record import FrozenRecord, set_frozen
from labwarden.model import Hit, Impact, Location, Severity
from labwarden.knowledge.imageref import parse_image
from labwarden.rules._prove import by_silence, runnable
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import Service
from labwarden.sources.yamlfile import Map, Seq

CIS = "CIS Docker Benchmark v1.6"
OWASP = "OWASP Docker Security Cheat Sheet"
SERVICE_RESTART = Impact("service", (1, 2))


# --- reading values as Compose does ------------------------------------------------------

# compose-go casts boolean fields (after interpolation) with YAML 1.1's spellings, in any
# case: `privileged: yes` and `privileged: "${PRIV:-on}"` both start a privileged container.
_TRUE_WORDS = frozenset({"y", "yes", "true", "on"})
# Moby reads the value of `no-new-privileges:<v>` with Go's strconv.ParseBool.
_PARSEBOOL_TRUE = frozenset({"1", "t", "true"})
_PARSEBOOL_FALSE = frozenset({"0", "f", "false"})
_ATOI = re.compile(r"[+-]?[0-9]+")


def _enabled(value) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in _TRUE_WORDS


def _scalar(value) -> str | None:
    """A scalar as text; None for missing values and for mappings or lists."""
    if value is None or isinstance(value, (Map, Seq, list, dict)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _list(service: Service, key: str) -> Iterator[tuple[str, Location]]:
    """The scalar items of a list-valued key with their lines (a lone scalar counts as one;
    empty items, left by unset variables, are skipped)."""
    value = service.raw.get(key)
    if isinstance(value, Seq):
        for index, item in enumerate(value):
            text = _scalar(item)
            if text and text.strip():
                yield text.strip(), value.loc_of(index) or service.loc(key)
    else:
        text = _scalar(value)
        if text and text.strip():
            yield text.strip(), service.loc(key)


def _is_zero_id(text: str) -> bool:
    """`root` or UID 0 as runc reads a number (Atoi: `000`, `+0` are 0 too)."""
    text = text.strip()
    return text.lower() == "root" or (bool(_ATOI.fullmatch(text)) and not text.strip("+-0"))


def _user(service: Service) -> str | None:
    """The `user` part of `user: user[:group]`; None when unset or emptied by interpolation."""
    text = _scalar(service.raw.get("user"))
    if text is None:
        return None
    name = text.partition(":")[0].strip()
    return name or None


def _security_opts(service: Service) -> Iterator[tuple[str, str, str, Location]]:
    """(key, value, as written, line) per security_opt entry. Docker accepts `=` and the
    deprecated `:` as separator; keys and values are compared in lower case."""
    for text, loc in _list(service, "security_opt"):
        separator = "=" if "=" in text else ":"
        key, _, value = text.partition(separator)
        yield key.strip().lower(), value.strip().lower(), text, loc


def _no_new_privileges(service: Service) -> bool:
    """Whether the container starts with no-new-privileges: Moby applies the entries in
    order, so the last one naming it wins; the bare form sets it."""
    effective = False
    for key, value, text, _ in _security_opts(service):
        if key != "no-new-privileges":
            continue
        bare = text.strip().lower() == "no-new-privileges"
        if bare or value in _PARSEBOOL_TRUE:
            effective = True
        elif value in _PARSEBOOL_FALSE:
            effective = False
    return effective


def _cap_names(service: Service, key: str) -> set[str]:
    """Capability names as Docker normalises them: any case, optional `CAP_` prefix; but
    `CAP_ALL` is not `ALL` (Docker refuses it), so it is kept apart."""
    names = set()
    for text, _ in _list(service, key):
        upper = text.upper()
        names.add(upper if upper == "CAP_ALL" else upper.removeprefix("CAP_"))
    return names


def _env_value(service: Service, name: str) -> str | None:
    var = service.environment.get(name)
    return None if var is None or var.value is None else var.value.strip()


# --- images that leave root by themselves ------------------------------------------------

# Images whose entrypoint starts as root, then runs the service under the UID given in
# PUID/PGID (s6-overlay in linuxserver.io images; hotio's init likewise). LinuxServer's
# default PUID is 911 and hotio's 1000, so only PUID=0 keeps them root.
_PUID_NAMESPACES = (("lscr.io", "linuxserver/"), ("ghcr.io", "linuxserver/"),
                    ("docker.io", "linuxserver/"), ("ghcr.io", "hotio/"),
                    ("docker.io", "hotio/"))
# Images that run their service as an unprivileged user without being told: a `USER` in the
# Dockerfile, or an entrypoint that switches user (gosu/su-exec) when started as root.
_NON_ROOT_IMAGES = frozenset({
    "docker.io/library/postgres", "docker.io/library/redis", "docker.io/library/mariadb",
    "docker.io/library/mysql", "docker.io/library/mongo", "docker.io/library/memcached",
    "docker.io/library/rabbitmq", "docker.io/grafana/grafana",
    "docker.io/grafana/grafana-oss", "docker.io/grafana/grafana-enterprise",
    "docker.io/grafana/loki", "docker.io/prom/prometheus", "docker.io/prom/alertmanager",
    "docker.io/prom/node-exporter", "quay.io/prometheus/prometheus",
    "quay.io/prometheus/alertmanager", "quay.io/prometheus/node-exporter",
    "docker.io/nginxinc/nginx-unprivileged",
    "docker.elastic.co/elasticsearch/elasticsearch", "docker.elastic.co/kibana/kibana",
})
_NON_ROOT_NAMESPACES = (("docker.io", "bitnami/"),)


def _image(service: Service) -> str | None:
    image = service.raw.get("image")
    return image if isinstance(image, str) else None   # anything else is no reference


def _takes_puid(service: Service) -> bool:
    return _puid_image(_image(service))


def _runs_as_non_root(service: Service) -> bool:
    """The image is known to run its service unprivileged when `user` is not set."""
    image = _image(service)
    if _puid_image(image):
        return not _is_zero_id(_env_value(service, "PUID") or "911")
    return _non_root_image(image)


# Rules ask about the same few hundred images for every service: answers are cached.

@lru_cache(maxsize=4096)
def _puid_image(image: str | None) -> bool:
    ref = parse_image(image)
    return ref is not None and any(ref.registry == registry and ref.repository.startswith(prefix)
                                   for registry, prefix in _PUID_NAMESPACES)


@lru_cache(maxsize=4096)
def _non_root_image(image: str | None) -> bool:
    ref = parse_image(image)
    if ref is None:
        return False
    return f"{ref.registry}/{ref.repository}" in _NON_ROOT_IMAGES or any(
        ref.registry == registry and ref.repository.startswith(prefix)
        for registry, prefix in _NON_ROOT_NAMESPACES)


# --- CMP010 -------------------------------------------------------------------------------

@rule("CMP010", "privileged-container", Severity.CRITICAL, title="Privileged container",
      on=Service, checklist=["4.2.3"], refs=[f"{CIS} 5.4", OWASP, "CWE-250"],
      impact=SERVICE_RESTART)
def privileged_container(service: Service, settings):
    """Reports services that run with `privileged: true`.

    Why it matters:
    A privileged container has every capability, sees every host device and runs without
    seccomp, AppArmor or SELinux confinement: root inside it is root on the host (mount the
    host disk, load a kernel module). Any flaw in the service becomes a host compromise.

    Example:
    ```yaml
    services:
      homeassistant:
        image: ghcr.io/home-assistant/home-assistant:2024.10
        privileged: true
    ```

    Fix:
    Remove `privileged: true` and grant only what the workload needs: the device it uses
    (`devices: [/dev/ttyUSB0:/dev/ttyUSB0]`) and the capability it needs (`cap_add:
    [NET_ADMIN]`), after `cap_drop: [ALL]`.
    """
    value = service.raw.get("privileged")
    if _enabled(value):
        yield Hit("runs privileged: every capability, every host device, no seccomp or "
                  "AppArmor confinement; root in the container is root on the host",
                  service.loc("privileged"), resource="privileged",
                  evidence=f"privileged: {_scalar(value)}",
                  fix="remove `privileged: true`; map only the devices the service uses "
                      "(`devices:`) and add only the capabilities it needs (`cap_add:`)")


# --- CMP011 -------------------------------------------------------------------------------

class CapabilityRisk(FrozenRecord):
    __slots__ = ("severity", "why", "with_host")
    severity: Severity
    why: str
    with_host: tuple[str, Severity, str] | None

    def __init__(self, severity: Severity, why: str,
                 with_host: tuple[str, Severity, str] | None = None):
        set_frozen(self, "severity", severity)
        set_frozen(self, "why", why)
        # A host namespace that makes the capability reach the host: (key, severity, why).
        set_frozen(self, "with_host", with_host)


# What each capability hands a container, graded by where its reach ends. Capabilities in
# Docker's default set (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
# SETFCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE) are deliberately
# absent: every container holds them unless dropped, so adding one back after
# `cap_drop: [ALL]` still leaves the container below Docker's default; CMP012 asks for the
# drop. NET_BROADCAST, WAKE_ALARM and BLOCK_SUSPEND grant nothing worth a finding.
CAPABILITY_RISKS: dict[str, CapabilityRisk] = {
    "ALL": CapabilityRisk(
        Severity.CRITICAL, "every Linux capability: the capability half of `privileged`"),
    "SYS_ADMIN": CapabilityRisk(
        Severity.CRITICAL, "mount filesystems and configure namespaces: the basis of most "
        "known container escapes"),
    "SYS_MODULE": CapabilityRisk(
        Severity.CRITICAL, "load kernel modules: arbitrary code in the host kernel"),
    "SYS_RAWIO": CapabilityRisk(
        Severity.CRITICAL, "raw I/O ports (iopl/ioperm) and physical memory through device "
        "nodes: direct hardware access below the kernel's checks"),
    "DAC_READ_SEARCH": CapabilityRisk(
        Severity.HIGH, "open_by_handle_at reads any host file through the bind mounts "
        "Docker always adds (/etc/hosts): the 'Shocker' escape"),
    "BPF": CapabilityRisk(
        Severity.HIGH, "load eBPF programs: kernel memory reads and a recurring source of "
        "kernel privilege escalations"),
    "PERFMON": CapabilityRisk(
        Severity.HIGH, "system-wide perf events: kernel addresses and side channels on "
        "every process of the host"),
    "SYS_TIME": CapabilityRisk(
        Severity.HIGH, "set the host clock (time is not namespaced): breaks TLS validation, "
        "TOTP and log timelines for the whole host"),
    "SYSLOG": CapabilityRisk(
        Severity.HIGH, "read and clear the host kernel log (not namespaced), kernel "
        "addresses included"),
    "MAC_ADMIN": CapabilityRisk(
        Severity.HIGH, "change the host's AppArmor/SELinux policy, which confines every "
        "container"),
    "MAC_OVERRIDE": CapabilityRisk(
        Severity.HIGH, "override mandatory access control (Smack) decisions"),
    "AUDIT_CONTROL": CapabilityRisk(
        Severity.HIGH, "change or disable the host's audit rules (audit is not "
        "namespaced), hiding activity"),
    "NET_ADMIN": CapabilityRisk(
        Severity.HIGH, "reconfigure interfaces, routes and firewall rules, and reach the "
        "nf_tables code behind many kernel privilege escalations",
        ("network_mode", Severity.HIGH, "on `network_mode: host` these are the host's own "
         "interfaces, routes and firewall")),
    "SYS_PTRACE": CapabilityRisk(
        Severity.MEDIUM, "trace and read the memory of any process in the container",
        ("pid", Severity.CRITICAL, "with `pid: host` it can inject code into host "
         "processes running as root: a direct escape")),
    "SYS_BOOT": CapabilityRisk(
        Severity.MEDIUM, "reboot(2): ends the container's init",
        ("pid", Severity.HIGH, "with `pid: host` it reboots or powers off the host")),
    "AUDIT_READ": CapabilityRisk(
        Severity.MEDIUM, "read the host's audit log over netlink"),
    "SYS_RESOURCE": CapabilityRisk(
        Severity.MEDIUM, "override resource limits, disk quotas and reserved blocks: can "
        "exhaust the host's disk and kernel memory"),
    "SYS_NICE": CapabilityRisk(
        Severity.MEDIUM, "real-time scheduling above every host process (the scheduler is "
        "not namespaced)"),
    "IPC_LOCK": CapabilityRisk(
        Severity.LOW, "lock memory beyond RLIMIT_MEMLOCK: host RAM that cannot be swapped "
        "unless a memory limit bounds it"),
    "LINUX_IMMUTABLE": CapabilityRisk(
        Severity.LOW, "set immutable/append-only flags, which the host's own tools then "
        "cannot remove from bind-mounted files without root"),
    "LEASE": CapabilityRisk(
        Severity.LOW, "file leases that stall the host's own opens of bind-mounted files"),
}


@rule("CMP011", "dangerous-capability-added", Severity.CRITICAL,
      title="Dangerous capability added", on=Service, checklist=["4.2.4"],
      refs=[f"{CIS} 5.3", OWASP, "CWE-250"], impact=SERVICE_RESTART)
def dangerous_capability_added(service: Service, settings):
    """Reports each `cap_add` entry that grants more than a container needs, graded by what
    the capability reaches: ALL, SYS_ADMIN, SYS_MODULE and SYS_RAWIO are host takeovers
    (critical); NET_ADMIN, DAC_READ_SEARCH, BPF, SYS_TIME, SYSLOG and similar reach the host
    kernel or host-wide state (high); SYS_PTRACE is critical with `pid: host`. Capabilities
    in Docker's default set (NET_BIND_SERVICE, CHOWN, SETUID…) are not reported.

    Why it matters:
    Capabilities are slices of root. The dangerous ones let a compromised service leave the
    container (SYS_ADMIN mounts, SYS_MODULE loads kernel code) or tamper with the whole host
    (SYS_TIME sets its clock, NET_ADMIN on the host network rewrites its firewall).

    Example:
    ```yaml
    services:
      vpn:
        image: qmcgaw/gluetun:v3.39
        cap_add:
          - NET_ADMIN    # needed by a VPN client: suppress with a reason
          - SYS_ADMIN    # not needed: remove
    ```

    Fix:
    Remove capabilities the workload does not need; start from `cap_drop: [ALL]` and add
    back one at a time until it works. A capability that is genuinely required (NET_ADMIN
    for a VPN client) stays, with an inline suppression stating why.
    """
    seen: set[str] = set()
    for text, loc in _list(service, "cap_add"):
        written = text.upper()
        bare = written.removeprefix("CAP_")
        if bare == "ALL" and written != "ALL":
            continue  # Docker refuses `CAP_ALL`: the container never starts
        risk = CAPABILITY_RISKS.get(bare)
        if risk is None or bare in seen:
            continue
        seen.add(bare)
        severity, why = risk.severity, risk.why
        if risk.with_host and _scalar(service.raw.get(risk.with_host[0])) == "host":
            severity, why = risk.with_host[1], f"{why}; {risk.with_host[2]}"
        yield Hit(f"adds {bare}: {why}", loc, resource=f"cap:{bare}", evidence=f"cap_add: {text}",
                  severity=severity,
                  fix=f"remove `{text}` from cap_add; if the service truly needs it, keep it "
                      "with an inline suppression that says why")


# --- CMP012 -------------------------------------------------------------------------------

@rule("CMP012", "hardening-options-missing", Severity.MEDIUM,
      title="Container hardening options missing", on=Service,
      checklist=["4.2.1", "4.2.2", "4.2.4", "4.2.5"],
      refs=[f"{CIS} 5.3", f"{CIS} 5.12", f"{CIS} 5.25", f"{CIS} 4.1", OWASP, "CWE-250"],
      impact=Impact("service", (2, 30)))
def hardening_options_missing(service: Service, settings):
    """Reports, in one finding per service, which of the baseline hardening options it
    lacks: `cap_drop: [ALL]`, `no-new-privileges`, `read_only: true` and a non-root `user`.
    Images known to leave root by themselves satisfy the last one: linuxserver.io and hotio
    images (PUID/PGID), the official database images (which switch user at start) and images
    built with a non-root `USER`. Privileged services are CMP010's.

    Why it matters:
    These options bound what an attacker gets from a compromised service: without them a
    root process keeps Docker's default capabilities (NET_RAW for spoofing, DAC_OVERRIDE
    to ignore file permissions), setuid binaries can raise privileges, and the attacker can
    rewrite the container's own binaries to persist.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
    ```

    Fix:
    Add what is missing, then test the service; give it writable scratch space with `tmpfs`
    and add back only the capabilities it proves to need:
    ```yaml
    cap_drop: [ALL]
    security_opt:
      - no-new-privileges:true
    read_only: true
    tmpfs: [/tmp]
    user: "1000:1000"
    ```
    """
    if _enabled(service.raw.get("privileged")):
        return
    missing: list[tuple[str, str]] = []     # (what, the checklist item it answers)
    fix: list[str] = []
    takes_puid = _takes_puid(service)
    runs_as_non_root = _runs_as_non_root(service)
    switches_user = takes_puid or runs_as_non_root
    dropped = _cap_names(service, "cap_drop")
    if "ALL" not in dropped:
        missing.append(("cap_drop: [ALL]" + (" (drops only some)" if dropped else ""),
                        "4.2.4"))
        fix += ["cap_drop:", "  - ALL"]
        if switches_user:
            fix += ["cap_add:      # what the entrypoint needs to switch user",
                    "  - CHOWN", "  - SETGID", "  - SETUID"]
    if not _no_new_privileges(service):
        named = any(key == "no-new-privileges" for key, _, _, _ in _security_opts(service))
        missing.append(("no-new-privileges" + (" (set to false)" if named else ""), "4.2.5"))
        fix += ["security_opt:", "  - no-new-privileges:true"]
    if not _enabled(service.raw.get("read_only")):
        missing.append(("read_only: true", "4.2.2"))
        fix += ["read_only: true", "tmpfs:       # the paths it writes at run time",
                "  - /tmp"]
    user = _user(service)
    puid = _env_value(service, "PUID")
    # Explicit root (`user: root`, PUID=0) is CMP013's finding, not a missing option.
    root_elsewhere = (user is not None and _is_zero_id(user)) or \
        (takes_puid and puid is not None and _is_zero_id(puid))
    if user is None and not root_elsewhere and not runs_as_non_root:
        missing.append(("a non-root user", "4.2.1"))
        fix += ['user: "1000:1000"   # a UID/GID that owns the data volumes']
        if puid is not None:
            fix += ["# PUID/PGID drop root only in images built for them (linuxserver.io, "
                    "hotio); check that this one is"]
    if not missing:
        return
    message, evidence, items, fix_text = _hardening_texts(tuple(missing), tuple(fix))
    # One finding, but it fails only the checklist items this service actually misses.
    yield Hit(message, service.location, resource="hardening", evidence=evidence,
              checklist=items, severity=Severity.LOW if items == ("4.2.2",) else None,
              fix=fix_text)


@lru_cache(maxsize=256)     # a handful of combinations, for most of the services
def _hardening_texts(missing: tuple[tuple[str, str], ...],
                     fix: tuple[str, ...]) -> tuple[str, str, tuple[str, ...], str]:
    """CMP012's message, evidence, checklist items and fix for what a service lacks."""
    return (f"lacks {', '.join(what for what, _ in missing)}",
            "missing: " + "; ".join(f"{what} [{item}]" for what, item in missing),
            tuple(item for _, item in missing),
            "add to the service (merge with existing lists), then test it:\n" + "\n".join(fix))


# --- CMP013 -------------------------------------------------------------------------------

@rule("CMP013", "container-runs-as-root", Severity.MEDIUM, title="Container runs as root",
      on=Service, checklist=["4.2.1"], refs=[f"{CIS} 4.1", OWASP, "CWE-250"],
      impact=SERVICE_RESTART)
def container_runs_as_root(service: Service, settings):
    """Reports services told to run as root: `user: root`, `user: "0"`, `user: "0:0"`, and
    `PUID=0` or `PGID=0` in the environment or an env_file, which make images such as
    linuxserver.io's skip the step where they drop root (PUID=0 is high severity).

    Why it matters:
    Root in the container is root on the host's kernel, one bug away from an escape; it owns
    every file on the bind mounts and undoes the non-root `USER` the image author chose.

    Example:
    ```yaml
    services:
      sonarr:
        image: lscr.io/linuxserver/sonarr:4.0.9
        environment:
          - PUID=0
          - PGID=0
    ```

    Fix:
    Run as the UID/GID that owns the service's data: `user: "1000:1000"`, or for PUID images
    `PUID=1000` and `PGID=1000`. Fix the ownership of existing data once with
    `chown -R 1000:1000 ./data`.
    """
    user = _user(service)
    if user is not None and _is_zero_id(user):
        text = _scalar(service.raw.get("user"))
        yield Hit(f"runs as root (`user: {text}`), overriding any non-root user the image "
                  "sets", service.loc("user"), resource="user", evidence=f"user: {text}",
                  fix='set `user:` to the UID/GID that owns the data (e.g. `user: "1000:1000"`)'
                      ", or remove it to keep the image's own user")
    for name, severity, effect in (
            ("PUID", Severity.HIGH, "the image runs its service as root instead of dropping "
             "to an unprivileged user"),
            ("PGID", None, "the service runs with the root group and can use every "
             "root-group file")):
        var = service.environment.get(name)
        value = _env_value(service, name)
        if var is None or value is None or not _is_zero_id(value):
            continue
        yield Hit(f"{name}={value}: {effect}", var.location, resource=f"env:{name}",
                  evidence=f"{name}={value}", severity=severity,
                  fix=f"set {name} to the ID that owns the service's data (e.g. 1000), "
                      "never 0")


# --- CMP014 -------------------------------------------------------------------------------

_PROFILES = {
    "seccomp": ("unconfined", "seccomp syscall filtering"),
    "apparmor": ("unconfined", "the AppArmor profile"),
    "systempaths": ("unconfined", "the masking of /proc and /sys paths (/proc/sysrq-trigger "
                    "can reboot the host)"),
}


@rule("CMP014", "security-profile-disabled", Severity.HIGH, title="Security profile disabled",
      on=Service, checklist=["4.2.5"],
      refs=[f"{CIS} 5.1", f"{CIS} 5.2", f"{CIS} 5.21", OWASP, "CWE-693"],
      impact=SERVICE_RESTART)
def security_profile_disabled(service: Service, settings):
    """Reports `security_opt` entries that turn confinement off: `seccomp:unconfined`,
    `apparmor:unconfined`, `label:disable` (SELinux), `label:type:unconfined_t` and
    `systempaths=unconfined`, with `:` or `=`. One finding per entry. A seccomp or AppArmor
    entry that a later entry for the same key overrides is not in force and not reported.

    Why it matters:
    seccomp blocks the syscalls most kernel exploits need, AppArmor and SELinux stop a
    process from touching host files even when it escapes its namespaces, and the masked
    /proc paths keep the host's kernel knobs out of reach. Turning them off removes the
    layers that make a kernel bug or a mount mistake survivable.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        security_opt:
          - seccomp:unconfined
          - apparmor=unconfined
    ```

    Fix:
    Remove the entry: Docker applies its default profiles. If a syscall is really blocked,
    write a custom seccomp profile that allows only that call
    (`seccomp=./seccomp-app.json`).
    """
    options = list(_security_opts(service))
    last = {key: value for key, value, _, _ in options if key in ("seccomp", "apparmor")}
    for key, value, text, loc in options:
        if key == "label":
            if value == "disable":
                what = "SELinux labelling"
            elif value.replace("=", ":") == "type:unconfined_t":
                what = "SELinux confinement (unconfined_t)"
            else:
                continue
        elif key in _PROFILES and value == _PROFILES[key][0]:
            if key in last and last[key] != value:
                continue  # a later entry for the same key wins
            what = _PROFILES[key][1]
        else:
            continue
        yield Hit(f"`{text}` turns off {what}", loc, resource=f"security_opt:{key}",
                  evidence=f"security_opt: {text}",
                  fix=f"remove `{text}`; if the default profile blocks something the service "
                      "needs, allow just that in a custom profile")


# --- CMP021 -------------------------------------------------------------------------------

# What Moby's parseSecurityOpt (daemon_unix.go) accepts; anything else fails `docker run`
# with "invalid --security-opt".
_BOOL_OPTS = frozenset({"no-new-privileges", "writable-cgroups"})
_LABEL_KEYS = frozenset({"user", "role", "type", "level", "disable", "filetype", "nested"})
_OPT_KEYS = frozenset({"label", "apparmor", "seccomp", "systempaths", "mask", "unmask",
                       "proc-opts", "privileged-without-host-devices"}) | _BOOL_OPTS


def _security_opt_problem(text: str) -> str | None:
    """Why Docker refuses this `security_opt` entry, or None (Moby's parseSecurityOpt)."""
    if text in ("no-new-privileges", "disable"):
        return None
    separator = "=" if "=" in text else ":"
    key, sep, value = text.partition(separator)
    if not sep:
        return "it has no `=`: Docker reads `KEY=VALUE` (or the bare `no-new-privileges`)"
    if key not in _OPT_KEYS:
        near = " (`no-new-privileges`?)" if key.lower().replace("_", "-").replace(" ", "") \
            in ("no-new-privileges", "nonewprivileges") else ""
        return f"`{key}` is not a security option Docker knows{near}"
    if key in _BOOL_OPTS and value not in _PARSEBOOL_TRUE | _PARSEBOOL_FALSE | {
            "TRUE", "True", "FALSE", "False", "T", "F"}:
        return f"`{value}` is not a boolean (Docker reads it with Go's ParseBool: true/false)"
    if key == "label":
        sub = value.replace("=", ":").partition(":")[0]
        if sub not in _LABEL_KEYS:
            return f"`label` takes user:, role:, type:, level:, filetype: or disable, not `{sub}`"
    if key == "systempaths" and value != "unconfined":
        return "`systempaths` takes only `unconfined`"
    if key in ("seccomp", "apparmor") and not value.strip():
        return f"`{key}` has no profile"
    return None


@rule("CMP021", "security-opt-malformed", Severity.MEDIUM, title="Malformed security_opt entry",
      on=Service, checklist=["4.2.5"], refs=[f"{CIS} 5.25", "CWE-1188"],
      impact=SERVICE_RESTART)
def security_opt_malformed(service: Service, settings):
    """Reports a `security_opt` entry Docker does not accept: an unknown option
    (`no_new_privileges:true`, `seccomp-unconfined`), no `=` or `:` separator, a value that is
    not a boolean where Docker wants one (`no-new-privileges: true` with a space, `=yes`), an
    unknown `label` part, or `systempaths` with anything but `unconfined`.

    Why it matters:
    Docker refuses to create the container ("invalid --security-opt"), so the service does
    not start; and the hardening the entry meant to add (most often no-new-privileges) is
    not in force in any copy of the file that someone "fixes" by deleting the line.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        security_opt:
          - no_new_privileges:true
          - "no-new-privileges: true"
    ```

    Fix:
    Write the option as Docker spells it: `no-new-privileges:true` (or `=true`),
    `seccomp=./profile.json`, `apparmor=docker-default`, `label=type:container_t`.
    """
    value = service.raw.get("security_opt")
    if value is None:
        return                   # most services: no such key
    for text, loc in _list(service, "security_opt"):
        problem = _security_opt_problem(text)
        if problem is None:
            continue
        yield Hit(f"`security_opt` entry `{text}` is malformed: {problem}; Docker refuses to "
                  "create the container", loc, resource=f"security_opt:{text}",
                  evidence=f"security_opt: {text}",
                  fix="write it as Docker spells it: `no-new-privileges:true`, "
                      "`seccomp=./profile.json`, `apparmor=docker-default`, "
                      "`label=type:container_t`")


# --- CMP015 to CMP019: host namespaces --------------------------------------------------------

def _host_namespace(service: Service, *keys: str) -> tuple[str, Location] | None:
    for key in keys:
        if _scalar(service.raw.get(key)) == "host":   # Docker accepts only lower-case `host`
            return key, service.loc(key)
    return None


@rule("CMP015", "host-network-mode", Severity.HIGH, title="Host network namespace",
      on=Service, checklist=["3.5.4"], refs=[f"{CIS} 5.9", OWASP],
      impact=Impact("service", (1, 5)))
def host_network_mode(service: Service, settings):
    """Reports services on the host's network stack: `network_mode: host` (or the legacy
    `net: host`).

    Why it matters:
    The container shares the host's interfaces: every port it listens on is open on the
    host, bypassing `ports:` and Docker's published-port rules, it reaches services bound to
    the host's 127.0.0.1 (Docker API on TCP, databases, admin panels), and it sits outside
    any per-stack network isolation.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        network_mode: host
    ```

    Fix:
    Put the service on a user-defined network and publish only the ports it serves
    (`ports: ["127.0.0.1:8080:8080"]` behind the reverse proxy). Discovery protocols
    (mDNS, DLNA, DHCP) that truly need the host network can keep it, with a suppression
    saying so.
    """
    found = _host_namespace(service, "network_mode", "net")
    if found:
        key, loc = found
        yield Hit(f"`{key}: host` shares the host's network stack: every listening port is "
                  "open on the host and the host's loopback services are reachable", loc,
                  resource="namespace:network", evidence=f"{key}: host",
                  fix=f"remove `{key}: host`; join a user-defined network and publish only "
                      "the needed ports")


@rule("CMP016", "host-pid-namespace", Severity.HIGH, title="Host PID namespace", on=Service,
      checklist=["4.2.5"], refs=[f"{CIS} 5.15", OWASP], impact=SERVICE_RESTART)
def host_pid_namespace(service: Service, settings):
    """Reports services that share the host's process namespace (`pid: host`).

    Why it matters:
    The container sees every host process, their command lines and environments (often
    holding secrets), can signal them, and with a ptrace-capable user can inject code into
    them.

    Example:
    ```yaml
    services:
      monitor:
        image: ghcr.io/example/monitor:1.4
        pid: host
    ```

    Fix:
    Remove `pid: host`. Host monitoring agents that need it (node-exporter, cAdvisor) can keep
    it with a suppression, read-only mounts and no added capabilities.
    """
    found = _host_namespace(service, "pid")
    if found:
        yield Hit("`pid: host` shares the host's process namespace: every host process is "
                  "visible and can be signalled", found[1], resource="namespace:pid",
                  evidence="pid: host", fix="remove `pid: host`")


@rule("CMP017", "host-ipc-namespace", Severity.MEDIUM, title="Host IPC namespace", on=Service,
      checklist=["4.2.5"], refs=[f"{CIS} 5.16", OWASP], impact=SERVICE_RESTART)
def host_ipc_namespace(service: Service, settings):
    """Reports services that share the host's IPC namespace (`ipc: host`).

    Why it matters:
    The container can read and write the host's shared-memory segments, semaphores and
    message queues, which host processes use to pass data (sometimes credentials) to each
    other.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        ipc: host
    ```

    Fix:
    Remove `ipc: host`. Containers that share memory with each other can use
    `ipc: shareable` on one and `ipc: "service:<name>"` on the other.
    """
    found = _host_namespace(service, "ipc")
    if found:
        yield Hit("`ipc: host` shares the host's shared memory and IPC objects", found[1],
                  resource="namespace:ipc", evidence="ipc: host",
                  fix='remove `ipc: host`; share IPC between containers with '
                      '`ipc: shareable` / `ipc: "service:<name>"`')


@rule("CMP018", "host-uts-namespace", Severity.MEDIUM, title="Host UTS namespace", on=Service,
      checklist=["4.2.5"], refs=[f"{CIS} 5.20"], impact=SERVICE_RESTART)
def host_uts_namespace(service: Service, settings):
    """Reports services that share the host's UTS namespace (`uts: host`). Without
    CAP_SYS_ADMIN the container can only read the host name, so the finding is then low.

    Why it matters:
    With the host's UTS namespace, a container holding CAP_SYS_ADMIN (or privileged) changes
    the host's own hostname and domain name, which breaks logging, TLS names and monitoring
    for the whole machine; without it, the container still learns the host's name.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        uts: host
    ```

    Fix:
    Remove `uts: host`; set the container's own name with `hostname:` if it needs one.
    """
    found = _host_namespace(service, "uts")
    if not found:
        return
    can_write = _enabled(service.raw.get("privileged")) or \
        _cap_names(service, "cap_add") & {"SYS_ADMIN", "ALL"}
    effect = "and, with CAP_SYS_ADMIN, can change it" if can_write else \
        "(read-only without CAP_SYS_ADMIN)"
    yield Hit(f"`uts: host` shares the host's hostname {effect}", found[1],
              resource="namespace:uts", evidence="uts: host",
              severity=None if can_write else Severity.LOW,
              fix="remove `uts: host`; use `hostname:` for the container's own name")


@rule("CMP019", "host-userns-mode", Severity.MEDIUM, title="User namespace remapping disabled",
      on=Service, checklist=["4.2.1"], refs=[f"{CIS} 5.30", f"{CIS} 2.8"],
      impact=SERVICE_RESTART)
def host_userns_mode(service: Service, settings):
    """Reports services that opt out of the daemon's user-namespace remapping
    (`userns_mode: host`).

    Why it matters:
    With `userns-remap`, root in a container is an unprivileged UID on the host, so an
    escape lands as nobody. `userns_mode: host` switches that off for this service: its root
    is the host's root again, and it is usually written precisely because remapping is on.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        userns_mode: host
    ```

    Fix:
    Remove `userns_mode: host`, and fix what remapping broke (usually the ownership of bind
    mounted data) instead.
    """
    found = _host_namespace(service, "userns_mode")
    if found:
        yield Hit("`userns_mode: host` disables user-namespace remapping: root in this "
                  "container is root on the host", found[1], resource="namespace:user",
                  evidence="userns_mode: host", fix="remove `userns_mode: host`")


# --- CMP020 -------------------------------------------------------------------------------

# Raw storage and memory: reading them bypasses every file permission on the host.
_RAW_DEVICES = re.compile(
    r"^/dev(/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|md/|dm-\d|loop\d|"
    r"disk/|mapper/|block/|zd\d|zvol/|nbd\d|rbd\d|mem$|kmem$|port$|zfs$))")
# Devices that reach the host's own console, input or log: worth naming in the message.
_HOST_INTERFACES = (
    (re.compile(r"^/dev/kmsg$"), "read and forge the host's kernel log"),
    (re.compile(r"^/dev/uinput$"), "inject keystrokes and mouse input into the host"),
    (re.compile(r"^/dev/input(/|$)"), "read the host's keyboard and mouse"),
    (re.compile(r"^/dev/(tty\d*|console)$"), "the host's terminals"),
)
# Common homelab passthrough: GPUs for transcoding, serial radios (Zigbee, Z-Wave), USB,
# TUN for VPNs, tuners, cameras, sound, optical drives and the Raspberry Pi's VideoCore.
_PASSTHROUGH = re.compile(
    r"^/dev/(dri(/|$)|ttyUSB\d*$|ttyACM\d*$|ttyAMA\d*$|ttyS\d+$|serial/|net/tun$|"
    r"bus/usb(/|$)|snd(/|$)|video\d+$|dvb(/|$)|kfd$|nvidia|apex_\d+$|vchiq$|vcsm|vcio$|"
    r"gpiomem$|i2c-\d+$|hidraw\d+$|sr\d+$|kvm$|fuse$|hwrng$|zigbee|zwave)")


def _device(item) -> tuple[str, str | None] | None:
    """(host path or CDI name, permissions) of a `devices` entry; None when unusable."""
    if isinstance(item, Map):
        source, permissions = _scalar(item.get("source")), _scalar(item.get("permissions"))
    else:
        text = _scalar(item)
        if text is None:
            return None
        if "=" in text and not text.startswith("/"):
            return text.strip(), None          # a CDI name: vendor.com/class=name
        parts = text.split(":")
        source, permissions = parts[0], parts[2] if len(parts) >= 3 else None
    if not source or not source.strip():
        return None                            # emptied by an unset variable
    source = source.strip()
    if source.startswith("/"):
        source = "/" + posixpath.normpath(source).lstrip("/")
    return source, permissions


def _device_risk(path: str) -> tuple[Severity, str]:
    if "=" in path and not path.startswith("/"):
        return Severity.LOW, "an accelerator through the Container Device Interface"
    if path == "/dev":
        return Severity.HIGH, "every host device node, the disks included"
    if _PASSTHROUGH.match(path):
        return Severity.LOW, "hardware passthrough; it widens the kernel attack surface"
    if _RAW_DEVICES.match(path):
        return Severity.HIGH, ("raw disk or memory access: it bypasses every file "
                               "permission on the host")
    for pattern, why in _HOST_INTERFACES:
        if pattern.match(path):
            return Severity.MEDIUM, why
    return Severity.MEDIUM, "direct access to a host device driver"


@rule("CMP020", "host-device-mapped", Severity.MEDIUM, title="Host device mapped",
      on=Service, checklist=["4.2.4"], refs=[f"{CIS} 5.17", OWASP, "CWE-250"],
      impact=SERVICE_RESTART)
def host_device_mapped(service: Service, settings):
    """Reports each host device mapped into the container with `devices` (short and long
    syntax, CDI names): raw disks and memory (/dev/sd*, /dev/nvme*, /dev/mem, /dev/disk/*,
    /dev/mapper/*, /dev itself) are high; common homelab passthrough (/dev/dri,
    /dev/ttyUSB*, /dev/ttyACM*, /dev/net/tun, /dev/bus/usb, tuners, cameras) is low; any
    other device is medium. An entry granting neither read nor write (`m` only) is skipped.

    Why it matters:
    A device node talks to a kernel driver directly, outside the namespaces: a raw disk can
    be read and written below the host's filesystem permissions, and every driver exposed
    is attack surface for a kernel exploit. Passthrough devices are usually needed, but each
    should be the narrowest one.

    Example:
    ```yaml
    services:
      jellyfin:
        image: jellyfin/jellyfin:10.9.11
        devices:
          - /dev/dri/renderD128:/dev/dri/renderD128   # low: GPU transcoding
      backup:
        image: ghcr.io/example/backup:1.4
        devices:
          - /dev/sda:/dev/sda                         # high: the raw disk
    ```

    Fix:
    Remove devices the service does not use and map the narrowest node (a single render
    node, a `/dev/serial/by-id/…` link) rather than a whole directory. Back up a disk from
    the host, not through a container holding the raw device.
    """
    devices = service.raw.get("devices")
    if not isinstance(devices, Seq):
        return
    seen: set[str] = set()
    for index, item in enumerate(devices):
        parsed = _device(item)
        if parsed is None:
            continue
        path, permissions = parsed
        if permissions and not set(permissions) & {"r", "w", "W"}:
            continue                           # `m` alone opens nothing
        if path in seen:
            continue
        seen.add(path)
        severity, why = _device_risk(path)
        spec = _scalar(item) if not isinstance(item, Map) else \
            ", ".join(f"{k}: {v}" for k, v in item.items())
        yield Hit(f"maps host device `{path}`: {why}",
                  devices.loc_of(index) or service.loc("devices"), resource=f"device:{path}",
                  evidence=f"devices: {spec}", severity=severity,
                  fix=f"remove `{path}` if unused; otherwise map the narrowest device node "
                      "the service needs")


# --- provers: what shows the items hold ---------------------------------------------------
# The hardening options are read here, with the helpers the rules read them with.

def _unprivileged(service: Service) -> bool:
    return runnable(service) and not _enabled(service.raw.get("privileged"))


by_silence("CMP010", "4.2.3", note="not privileged", complete=runnable)


@prover("CMP012", "4.2.1")
def runs_as_non_root(service: Service, settings):
    if not _unprivileged(service):
        return None
    user = _user(service)
    if user is not None:
        return None if _is_zero_id(user) or user == "root" else f"user: {user}"
    if _runs_as_non_root(service):
        return "the image runs its service unprivileged"
    return None


@prover("CMP012", "4.2.2")
def read_only_root(service: Service, settings):
    return "read_only: true" if _unprivileged(service) and \
        _enabled(service.raw.get("read_only")) else None


@prover("CMP012", "4.2.4")
def capabilities_dropped(service: Service, settings):
    if not _unprivileged(service) or "ALL" not in _cap_names(service, "cap_drop"):
        return None
    added = sorted(_cap_names(service, "cap_add"))
    return "cap_drop: [ALL]" + (f", adds back {', '.join(added)}" if added else "")


@prover("CMP012", "4.2.5")
def security_options_set(service: Service, settings):
    return "no-new-privileges:true" if _unprivileged(service) and \
        _no_new_privileges(service) else None


by_silence("CMP015", "3.5.4", note="on the stack's own networks (no host network)",
           complete=runnable)
