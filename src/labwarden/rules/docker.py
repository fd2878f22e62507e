"""Rules about the containers a Docker Engine runs: how they run (privileges, capabilities,
mounts, namespaces, user, ports actually bound, restarts, health), and how they depart from
their Compose files (drift, services not running, containers no file describes).

They read `Container` (one container as inspected), `Deployment` (a Compose service paired
with the containers the engine runs for it) and `DockerEngine`. What Compose cannot see is
what these answer: the healthcheck an image brings, the user it runs as, a name held by
another container, a setting changed by hand or in Portainer. Environment values never reach
these rules: the facts hold keys only.
"""

from __future__ import annotations

import ipaddress

from labwarden.knowledge import images as _images
from labwarden.knowledge.ports import classify
from labwarden.knowledge.secrets import file_variant, is_secret_name
from labwarden.model import Hit, Impact, Severity
from labwarden.rules._prove import by_silence
from labwarden.rules.compose_mounts import sensitivity, socket_exposed
from labwarden.rules.compose_runtime import CAPABILITY_RISKS, _non_root_image, _puid_image
from labwarden.rules.registry import prover, rule
from labwarden.sources.docker.drift import compare
from labwarden.sources.docker.fact import Container, Deployment, DockerEngine

CIS = "CIS Docker Benchmark v1.6"
RECREATE = Impact("service", (1, 3))
RESTARTS_REPORTED = 3          # restarts by the restart policy that show a crash loop


def inspected(container: Container) -> bool:
    """The container's inspect document was read whole (what by_silence may trust)."""
    return container.error is None


def _recreate(container: Container, change: str) -> str:
    """The fix: what to change, and how to recreate the container with the change."""
    if container.project and container.service:
        return (f"{change} in the Compose service `{container.service}`, then `docker compose "
                f"-p {container.project} up -d --force-recreate {container.service}`")
    return (f"{change}, then recreate `{container.name}` (`docker rm -f {container.name}` and "
            "run it again, better from a Compose file)")


# --- DKR001 -------------------------------------------------------------------------------

@rule("DKR001", "running-privileged-container", Severity.CRITICAL,
      title="Container runs privileged", on=Container, checklist=["4.2.3"],
      refs=[f"{CIS} 5.4", "CWE-250"], impact=RECREATE)
def running_privileged(container: Container, settings):
    """Reports a container the engine runs (or has created) with `--privileged`, whatever
    its Compose file says: the engine's HostConfig is what the kernel gets.

    Why it matters:
    A privileged container has every capability and every host device and runs without
    seccomp or AppArmor: root in it is root on the host. A flag added by hand or in a
    management UI never shows in the Compose file that the review read.

    Example:
    ```
    docker run -d --privileged --name tools alpine:3.20 sleep infinity
    ```

    Fix:
    Recreate the container without `--privileged` (remove `privileged: true` from its
    Compose service and `docker compose up -d`); map the single device it needs and add
    the single capability it needs instead.
    """
    if container.privileged:
        yield Hit(f"{container.name} runs privileged ({container.state}): every "
                  "capability, every host device, no seccomp or AppArmor confinement",
                  container.location, resource="privileged", evidence="HostConfig.Privileged: "
                  "true", fix=_recreate(container, "remove `privileged: true` "
                                         "(`--privileged`)"))


by_silence("DKR001", "4.2.3", complete=inspected, note="the running container is not "
           "privileged")


# --- DKR002 -------------------------------------------------------------------------------

@rule("DKR002", "running-dangerous-capability", Severity.CRITICAL,
      title="Container runs with a dangerous capability", on=Container, checklist=["4.2.4"],
      refs=[f"{CIS} 5.3", "CWE-250"], impact=RECREATE)
def running_dangerous_capability(container: Container, settings):
    """Reports each capability added to a container that reaches beyond it (SYS_ADMIN,
    SYS_MODULE, NET_ADMIN, SYS_PTRACE…), graded as the Compose rule CMP011 grades them,
    from what the engine actually granted (`HostConfig.CapAdd`).

    Why it matters:
    Capabilities are slices of root: SYS_ADMIN is the basis of most container escapes,
    SYS_MODULE loads kernel code. An added capability is invisible in a file that never had
    it.

    Example:
    ```
    docker run -d --cap-add SYS_ADMIN --name fuse ghcr.io/example/fuse:1.0
    ```

    Fix:
    Recreate the container without the capability; start from `cap_drop: [ALL]` and add
    back only what the workload proves to need.
    """
    if container.privileged:
        return                              # DKR001's: privileged holds them all
    for name in dict.fromkeys(container.cap_add):
        risk = CAPABILITY_RISKS.get(name)
        if risk is None:
            continue
        severity, why = risk.severity, risk.why
        if risk.with_host:
            mode = {"network_mode": container.network_mode, "pid": container.pid_mode}.get(
                risk.with_host[0], "")
            if mode == "host":
                severity, why = risk.with_host[1], f"{why}; {risk.with_host[2]}"
        yield Hit(f"{container.name} runs with {name}: {why}", container.location,
                  resource=f"cap:{name}", evidence=f"HostConfig.CapAdd: {name}",
                  severity=severity,
                  fix=_recreate(container, f"remove {name} from `cap_add` (`--cap-add`)"))


@prover("DKR002", "4.2.4")
def capabilities_dropped(container: Container, settings):
    if not inspected(container) or container.privileged or "ALL" not in container.cap_drop:
        return None
    if any(name in CAPABILITY_RISKS for name in container.cap_add):
        return None
    added = sorted(set(container.cap_add))
    return "runs with CapDrop ALL" + (f", adds back {', '.join(added)}" if added else "")


# --- DKR003 -------------------------------------------------------------------------------

@rule("DKR003", "running-engine-socket-mounted", Severity.CRITICAL,
      title="Running container has the engine's socket", on=Container,
      checklist=["4.3.3", "4.3.4"], refs=[f"{CIS} 5.31", "CWE-250"], impact=RECREATE)
def running_socket_mounted(container: Container, settings):
    """Reports a container that has the Docker (or Podman, containerd) API socket, or a
    directory holding it, bind-mounted from the host, read-only or not.

    Why it matters:
    Whoever controls a process in that container can ask the engine to start a privileged
    container with the host's root mounted: the socket is root on the host. `:ro` does not
    help, a socket is not a file that is written.

    Example:
    ```
    docker run -d -v /var/run/docker.sock:/var/run/docker.sock portainer/agent:2.21.0
    ```

    Fix:
    Give the container a filtering proxy instead (tecnativa/docker-socket-proxy with only
    the API sections it reads), or remove the mount.
    """
    for mount in container.binds:
        what = socket_exposed(mount.source)
        if what:
            yield Hit(f"{container.name} has {what} mounted at {mount.destination}: control "
                      "of the engine, so of the host", container.location,
                      resource=f"mount:{mount.destination}",
                      evidence=f"bind {mount.source} -> {mount.destination}"
                               + (" (ro)" if mount.read_only else ""),
                      fix="mount a docker-socket-proxy's endpoint instead, allowing only the "
                          "API sections the service reads: " + _recreate(
                              container, f"replace the mount of {mount.source}"))


by_silence("DKR003", "4.3.3", complete=inspected, note="no engine socket mounted in the "
           "running container")
by_silence("DKR003", "4.3.4", complete=inspected, note="no engine socket mounted in the "
           "running container: nothing to proxy")


# --- DKR004 -------------------------------------------------------------------------------

@rule("DKR004", "running-sensitive-host-path", Severity.HIGH,
      title="Running container mounts a sensitive host path", on=Container,
      checklist=["4.3.1", "4.3.2", "4.3.5"], refs=[f"{CIS} 5.5", "CWE-552"],
      impact=RECREATE)
def running_sensitive_host_path(container: Container, settings):
    """Reports bind mounts the engine gave a container of the host's root, `/etc`, home
    directories and the credentials in them, `/boot`, `/proc`, `/sys`, the engine's store,
    `/run`'s sockets and the trees root executes, graded as the Compose rules CMP051 and
    CMP052 grade them (writable is worse; `/etc/localtime` read-only is fine).

    Why it matters:
    What a container mounts is what an attacker in it gets. A mount added with `docker run
    -v` or in a management UI is in no file a review reads.

    Example:
    ```
    docker run -d -v /:/host --name debug alpine:3.20 sleep infinity
    ```

    Fix:
    Recreate the container with only the directories it needs, read-only where it only
    reads, kept with its stack rather than in the host's system directories.
    """
    for mount in container.binds:
        if mount.source == "/":
            yield Hit(f"{container.name} mounts the host's root filesystem at "
                      f"{mount.destination}" + (" read-only: every host secret is readable"
                                                if mount.read_only else
                                                " writable: the host is the container's"),
                      container.location, resource=f"mount:{mount.destination}",
                      evidence=f"bind / -> {mount.destination}" + (" (ro)" if mount.read_only
                                                                   else ""),
                      severity=Severity.HIGH if mount.read_only else Severity.CRITICAL,
                      checklist=("4.3.1",) if mount.read_only else ("4.3.1", "4.3.5"),
                      fix=_recreate(container, "mount only the directories it needs"))
            continue
        found = sensitivity(mount.source)
        if found is None:
            continue
        grade, entry = found
        severity = grade.read_only if mount.read_only else grade.writable
        if severity is None:
            continue
        yield Hit(f"{container.name} mounts {mount.source} at {mount.destination}"
                  f"{' read-only' if mount.read_only else ' writable'}: {grade.why}",
                  container.location, resource=f"mount:{mount.destination}",
                  evidence=f"bind {mount.source} -> {mount.destination}"
                           + (" (ro)" if mount.read_only else ""), severity=severity,
                  checklist=("4.3.2",) if mount.read_only else ("4.3.2", "4.3.5"),
                  fix=_recreate(container, f"remove the mount of {mount.source} (or make it "
                                           "`:ro` and narrower)"))


def _bind_note(container: Container) -> str:
    paths = [m.source for m in container.binds]
    if not paths:
        return "the running container mounts no host path"
    return "host paths mounted: " + ", ".join(paths[:4]) + (" …" if len(paths) > 4 else "")


by_silence("DKR004", "4.3.1", complete=inspected, note=_bind_note)
by_silence("DKR004", "4.3.2", complete=inspected, note=_bind_note)


@prover("DKR004", "4.3.5")
def binds_read_only(container: Container, settings):
    if not inspected(container) or any(not m.read_only for m in container.binds):
        return None
    return "every host path mounted read-only" if container.binds else \
        "the running container mounts no host path"


# --- DKR005 -------------------------------------------------------------------------------

_NAMESPACES = (
    ("network_mode", "network", Severity.HIGH, "3.5.4", "the host's interfaces and every "
     "service listening on its loopback"),
    ("pid_mode", "PID", Severity.HIGH, "4.2.5", "every process of the host, to signal and "
     "(with SYS_PTRACE) to read"),
    ("ipc_mode", "IPC", Severity.MEDIUM, "4.2.5", "the host's shared memory segments"),
    ("uts_mode", "UTS", Severity.MEDIUM, "4.2.5", "the host's hostname, to change"),
    ("userns_mode", "user", Severity.MEDIUM, "4.2.1", "no user-namespace remapping: root in "
     "the container is the host's root"),
)


@rule("DKR005", "running-host-namespace", Severity.HIGH,
      title="Running container shares a host namespace", on=Container,
      checklist=["3.5.4", "4.2.1", "4.2.5"], refs=[f"{CIS} 5.9", f"{CIS} 5.15",
                                                  f"{CIS} 5.16", f"{CIS} 5.20", f"{CIS} 5.30"],
      impact=RECREATE)
def running_host_namespace(container: Container, settings):
    """Reports each host namespace a container shares: network, PID, IPC, UTS, and user
    (`--userns=host` where the daemon remaps users), one finding each.

    Why it matters:
    Namespaces are the container's walls. On the host network it reaches every service
    bound to the host's loopback; with the host's PIDs it signals and inspects every host
    process.

    Example:
    ```
    docker run -d --network host --pid host --name agent ghcr.io/example/agent:2.0
    ```

    Fix:
    Recreate the container on its stack's own network, with its own PID, IPC and UTS
    namespaces; publish the ports it serves instead of using the host's network.
    """
    for attribute, label, severity, item, why in _NAMESPACES:
        if getattr(container, attribute) == "host":
            yield Hit(f"{container.name} shares the host's {label} namespace: {why}",
                      container.location, resource=f"namespace:{label.lower()}",
                      evidence=f"HostConfig.{_FIELDS[attribute]}: host", severity=severity,
                      checklist=(item,),
                      fix=_recreate(container, f"remove `{_COMPOSE_KEYS[attribute]}: host`"))


_FIELDS = {"network_mode": "NetworkMode", "pid_mode": "PidMode", "ipc_mode": "IpcMode",
           "uts_mode": "UTSMode", "userns_mode": "UsernsMode"}
_COMPOSE_KEYS = {"network_mode": "network_mode", "pid_mode": "pid", "ipc_mode": "ipc",
                 "uts_mode": "uts", "userns_mode": "userns_mode"}
by_silence("DKR005", "3.5.4", complete=inspected, note=lambda c: "runs on the network "
           f"{c.network_mode or 'default'}, not the host's")


# --- DKR006 -------------------------------------------------------------------------------

def _is_root(user: str) -> bool:
    name = user.partition(":")[0].strip()
    return name in ("", "root") or (name.lstrip("+-").isdigit() and not name.strip("+-0"))


def _drops_root_itself(container: Container) -> bool:
    """Images known to start as root and switch to their own user (postgres, redis…, and
    PUID images, whose PUID value is not read: values are never collected)."""
    return _non_root_image(container.image) or (
        _puid_image(container.image) and "PUID" in container.env_keys)


@rule("DKR006", "running-as-root", Severity.MEDIUM, title="Container runs as root",
      on=Container, checklist=["4.2.1"], refs=[f"{CIS} 4.1", "CWE-250"], impact=RECREATE)
def running_as_root(container: Container, settings):
    """Reports a container whose process starts as root: its effective user (`--user`, else
    the image's `USER`) is empty, `root` or UID 0. Images known to switch to their own user
    at start (the official database images, linuxserver.io's with PUID) are not reported.

    Why it matters:
    Root in the container is root on the host's kernel, one bug away from an escape, and
    owns every file on its bind mounts. What the image's USER is shows only in the image,
    never in the Compose file.

    Example:
    ```
    docker run -d --name app ghcr.io/example/app:1.4     # the image has no USER
    ```

    Fix:
    Run it as the UID/GID that owns its data: `user: "1000:1000"` in its Compose service
    (or `--user 1000:1000`), after `chown -R 1000:1000` of its data once.
    """
    if container.privileged or not _is_root(container.user) or _drops_root_itself(container):
        return
    shown = container.user or "(none: root)"
    yield Hit(f"{container.name} runs as root (user {shown})", container.location,
              resource="user", evidence=f"Config.User: {container.user or '(empty)'}",
              fix=_recreate(container, 'set `user: "1000:1000"` (the owner of its data)'))


@prover("DKR006", "4.2.1")
def runs_as_non_root(container: Container, settings):
    if not inspected(container) or container.privileged or _is_root(container.user):
        return None
    if container.userns_mode == "host":
        return None
    return f"runs as user {container.user}"


# --- DKR007 -------------------------------------------------------------------------------

def _reachable(host_ip: str) -> bool:
    if host_ip in ("", "0.0.0.0", "::", "[::]"):
        return True
    try:
        return not ipaddress.ip_address(host_ip.strip("[]")).is_loopback
    except ValueError:
        return host_ip != "localhost"


@rule("DKR007", "running-port-on-all-interfaces", Severity.MEDIUM,
      title="Container port bound on every interface", on=Container,
      checklist=["3.1.1", "3.1.4", "3.1.5"], refs=[f"{CIS} 5.14", "CWE-668"],
      impact=RECREATE)
def running_port_on_all_interfaces(container: Container, settings):
    """Reports a port the engine binds on every address of the host (HostIp 0.0.0.0 or ::):
    what is bound now for a running container, what it asks for otherwise. A database or
    broker port is CRITICAL, an administration interface HIGH. Ports the reverse proxy
    serves to the Internet (`policy.internet_facing_ports` on `policy.proxy_services`) are
    expected.

    Why it matters:
    A port on every interface is on the LAN, the VPN and, behind a port forward, the
    Internet; Docker's DNAT rules bypass ufw and firewalld. A `-p 5432:5432` added while
    debugging stays there until someone looks at what runs.

    Example:
    ```
    docker run -d -p 5432:5432 --name db postgres:16.4
    ```

    Fix:
    Publish on loopback (`127.0.0.1:5432:5432`) or not at all (a shared network with the
    services that use it), and recreate the container.
    """
    proxy = container.service in settings.proxy_services or container.name in \
        settings.proxy_services or _images.matches(container.image, settings.proxy_images)
    facing = set(settings.internet_facing_ports)
    seen: set[tuple[int, str, int | None]] = set()
    for binding in container.published:
        if not _reachable(binding.host_ip):
            continue
        if binding.host_ip not in ("", "0.0.0.0", "::", "[::]"):
            continue                        # one chosen address: the operator's decision
        key = (binding.port, binding.protocol, binding.host_port)
        if key in seen:
            continue                        # 0.0.0.0 and :: for one port: one finding
        seen.add(key)
        if proxy and binding.host_port in facing:
            continue
        kind = classify(container.image, [binding.port])
        severity, item = Severity.MEDIUM, "3.1.1"
        what = ""
        if kind is not None and kind.kind in ("database", "broker"):
            severity, item, what = kind.severity or Severity.CRITICAL, "3.1.5", kind.label
        elif kind is not None:
            severity, item, what = kind.severity or Severity.HIGH, "3.1.4", kind.label
        when = "" if container.running else " once it starts"
        yield Hit(f"{container.name} publishes {binding}{f' ({what})' if what else ''} on "
                  f"every interface of the host{when}", container.location,
                  resource=f"port:{binding.host_port or ''}:{binding.port}/{binding.protocol}",
                  evidence=f"HostIp {binding.host_ip or '(all)'} HostPort "
                           f"{binding.host_port or '(random)'} -> {binding.port}/"
                           f"{binding.protocol}", severity=severity,
                  checklist=("3.1.1", item) if item != "3.1.1" else ("3.1.1",),
                  fix=_recreate(container, "publish it as `127.0.0.1:"
                                f"{binding.host_port or ''}:{binding.port}` (or not at all)"))


# --- DKR008 -------------------------------------------------------------------------------

@rule("DKR008", "container-unhealthy-or-restarting", Severity.MEDIUM,
      title="Container unhealthy or restarting", on=Container, checklist=["9.1.1"],
      refs=["Docker docs: restart policies", "Docker docs: HEALTHCHECK"],
      impact=Impact("service", (5, 60)))
def unhealthy_or_restarting(container: Container, settings):
    """Reports a container the engine is restarting, one its healthcheck reports unhealthy,
    one restarted three times or more by its restart policy, and one killed for lack of
    memory.

    Why it matters:
    A crash loop or a failing healthcheck means the service is not running as deployed,
    whatever the gate said; restart loops also hide behind a `restart: unless-stopped` that
    keeps the container "up" in the listing.

    Example:
    ```
    $ docker ps
    NAMES   STATUS
    app     Restarting (1) 5 seconds ago
    ```

    Fix:
    Read its logs (`docker logs --tail 100 NAME`) and its health log (`docker inspect
    --format '{{json .State.Health}}' NAME`), fix the cause, then recreate it.
    """
    problems = []
    if container.state == "restarting":
        problems.append(f"restarting (exit code {container.exit_code})")
    if container.health == "unhealthy":
        problems.append("its healthcheck reports unhealthy")
    if container.restart_count >= RESTARTS_REPORTED:
        problems.append(f"restarted {container.restart_count} times by its restart policy")
    if container.oom_killed:
        problems.append("killed for lack of memory (OOM)")
    if problems:
        yield Hit(f"{container.name}: " + "; ".join(problems), container.location,
                  resource="state", evidence=f"State.Status {container.state}, health "
                  f"{container.health or 'none'}, RestartCount {container.restart_count}",
                  fix=f"`docker logs --tail 100 {container.name}`, fix the cause, recreate it")


def _starts(container: Container) -> bool:
    return (inspected(container) and container.running and container.health != "unhealthy"
            and container.health != "starting"
            and container.restart_count < RESTARTS_REPORTED and not container.oom_killed)


@prover("DKR008", "9.1.1")
def container_runs(container: Container, settings):
    if not _starts(container):
        return None
    return f"{container.name} running" + (f" ({container.health})" if container.health
                                          else "")


# --- DKR009 -------------------------------------------------------------------------------

def _opt(entry: str) -> tuple[str, str]:
    separator = "=" if "=" in entry else ":"
    key, _, value = entry.partition(separator)
    return key.strip().lower(), value.strip().lower()


@rule("DKR009", "running-security-profile-disabled", Severity.HIGH,
      title="Running container without its security profile", on=Container,
      checklist=["4.2.5"], refs=[f"{CIS} 5.1", f"{CIS} 5.2", f"{CIS} 5.21", "CWE-693"],
      impact=RECREATE)
def running_security_profile_disabled(container: Container, settings):
    """Reports a container the engine runs with seccomp, AppArmor, SELinux labelling or the
    masking of /proc and /sys switched off (`HostConfig.SecurityOpt`). A privileged
    container is DKR001's (the engine switches them off for it).

    Why it matters:
    These profiles block the system calls and paths most container escapes need (seccomp
    alone blocks `unshare`, `keyctl`, `bpf` for an unprivileged process).

    Example:
    ```
    docker run -d --security-opt seccomp=unconfined --name app ghcr.io/example/app:1.4
    ```

    Fix:
    Recreate the container without the option; if a system call is genuinely needed, use
    a custom seccomp profile that allows only it.
    """
    if container.privileged:
        return
    for entry in container.security_opt:
        key, value = _opt(entry)
        if (key in ("seccomp", "apparmor", "systempaths") and value == "unconfined") or \
                (key == "label" and value in ("disable", "type:unconfined_t")):
            yield Hit(f"{container.name} runs with {entry}: its {key} confinement is off",
                      container.location, resource=f"security_opt:{key}",
                      evidence=f"HostConfig.SecurityOpt: {entry}",
                      fix=_recreate(container, f"remove `{entry}` from `security_opt`"))


@prover("DKR009", "4.2.5")
def security_options_set(container: Container, settings):
    if not inspected(container) or container.privileged:
        return None
    opts = [_opt(e) for e in container.security_opt]
    if any(v == "unconfined" or (k == "label" and v == "disable") for k, v in opts):
        return None
    if any(container_mode == "host" for container_mode in
           (container.pid_mode, container.ipc_mode, container.uts_mode)):
        return None
    if not any(k == "no-new-privileges" and v in ("", "true", "1", "t") for k, v in opts):
        return None
    return "runs with no-new-privileges"


# --- DKR010 -------------------------------------------------------------------------------

@rule("DKR010", "container-outside-compose", Severity.MEDIUM,
      title="Container started outside Compose", on=Container, checklist=["8.1.2"],
      refs=["OWASP Docker Security Cheat Sheet"], impact=Impact("service", (5, 30)))
def container_outside_compose(container: Container, settings):
    """Reports a container that no Compose project started: it has no
    `com.docker.compose.project` label (`docker run` by hand, a script, a management UI's
    single-container form). Swarm tasks are not reported.

    Why it matters:
    Nothing describes it: no file in version control says which image, ports, mounts and
    privileges it should have, so no review saw it and nobody can recreate it the same way
    after a failure.

    Example:
    ```
    docker run -d -p 8080:80 --name test-nginx nginx:1.27
    ```

    Fix:
    Write its Compose service (image, ports, volumes, environment as it runs now: `docker
    inspect NAME`), commit it, then replace the container with `docker compose up -d`; or
    remove it if it is not needed any more.
    """
    if container.project is None and not container.swarm:
        yield Hit(f"{container.name} ({container.image or 'unknown image'}, "
                  f"{container.state}) was not started by Compose: no file describes it",
                  container.location, resource="compose", evidence="no "
                  "com.docker.compose.project label",
                  fix="describe it in a Compose file under version control and recreate it "
                      "with `docker compose up -d`, or remove it")


# --- DKR011 -------------------------------------------------------------------------------

@rule("DKR011", "running-without-healthcheck", Severity.LOW,
      title="Running container has no healthcheck", on=Container, checklist=["10.1.1"],
      refs=[f"{CIS} 4.6", "Docker docs: HEALTHCHECK"], impact=RECREATE)
def running_without_healthcheck(container: Container, settings):
    """Reports a running container with no healthcheck at all: neither its image's
    `HEALTHCHECK` nor one set at run time, or one switched off (`NONE`). The image's own
    healthcheck counts, which the Compose file cannot show.

    Why it matters:
    Without a healthcheck the engine reports a hung or broken service as "Up", restart
    policies and `depends_on: condition: service_healthy` cannot act on it, and monitoring
    has nothing to alert on.

    Example:
    ```
    $ docker inspect --format '{{json .Config.Healthcheck}}' app
    null
    ```

    Fix:
    Add a `healthcheck:` to its Compose service (a command the image has: `wget -q
    --spider http://localhost:8080/health`, `pg_isready`), then recreate it.
    """
    if container.running and container.healthcheck in (None, "NONE"):
        yield Hit(f"{container.name} runs with no healthcheck"
                  + (" (switched off)" if container.healthcheck == "NONE" else
                     " (none in its image, none set)"), container.location,
                  resource="healthcheck", evidence="Config.Healthcheck: "
                  + ("NONE" if container.healthcheck else "null"),
                  fix=_recreate(container, "add a `healthcheck:` with a command the image "
                                           "has"))


@prover("DKR011", "10.1.1")
def healthcheck_configured(container: Container, settings):
    if not inspected(container) or container.healthcheck not in ("CMD", "CMD-SHELL"):
        return None
    return f"healthcheck ({container.healthcheck})" + (
        f", {container.health}" if container.health else "")


# --- DKR012 -------------------------------------------------------------------------------

def _secret_keys(container: Container) -> list[str]:
    """Secret-named keys the container's environment has that its image does not set
    itself (an image's ENV is public: GPG_KEY in the python images is a fingerprint)."""
    own = set(container.image_env_keys)
    return [key for key in container.env_keys if key not in own and is_secret_name(key)]


@rule("DKR012", "secret-in-container-environment", Severity.MEDIUM,
      title="Secret in a running container's environment", on=Container,
      checklist=["2.1.2"], refs=["CWE-526", "CWE-214", f"{CIS} 4.10"],
      impact=Impact("service", (1, 5)))
def secret_in_container_environment(container: Container, settings):
    """Reports a secret-named variable (`*_PASSWORD`, `*_TOKEN`, `*_SECRET`, API keys) in a
    container's environment, by its name only: labwarden never reads the value. Keys the
    image's own ENV sets are not the operator's secrets. MEDIUM when the image can read the
    secret from a file instead (`POSTGRES_PASSWORD_FILE`…), LOW when it cannot; either way
    checklist 2.1.2 does not hold: the secret is what `docker inspect` shows (waive it with
    the reason when the image offers no other way).

    Why it matters:
    A container's environment is shown by `docker inspect` to everything with access to the
    engine (monitoring agents, dashboards, a mounted socket), is readable in
    /proc/PID/environ and is inherited by every child process.

    Example:
    ```
    $ docker inspect --format '{{json .Config.Env}}' db     # keys only shown here
    ["POSTGRES_PASSWORD=…", "PGDATA=…"]
    ```

    Fix:
    Pass it as a file: a Compose `secrets:` entry mounted at /run/secrets/NAME and the
    image's `NAME_FILE` variable (`POSTGRES_PASSWORD_FILE=/run/secrets/db_password`).
    """
    for key in _secret_keys(container):
        variant = file_variant(container.image, key)
        if variant is not None and variant in container.env_keys:
            continue                        # both set: the image reads the file
        yield Hit(f"{container.name} has the secret {key} in its environment, shown by "
                  "docker inspect" + (f"; the image can read it from a file ({variant})"
                                      if variant else ""), container.location,
                  resource=f"env:{key}", evidence=f"Config.Env has {key} (value not read)",
                  severity=None if variant else Severity.LOW,
                  fix=f"a Compose `secrets:` entry and `{variant or key + '_FILE'}="
                      f"/run/secrets/{key.lower()}`" + ("" if variant else
                                                         " if the image supports it"))


@prover("DKR012", "2.1.2")
def no_secret_in_environment(container: Container, settings):
    if not inspected(container) or _secret_keys(container):
        return None
    return f"no secret-named variable among its {len(container.env_keys)} environment keys"


# --- DKR013 -------------------------------------------------------------------------------

@rule("DKR013", "orphan-compose-container", Severity.LOW,
      title="Container of a service its file no longer defines", on=Container,
      checklist=["8.1.2"], refs=["Docker docs: docker compose up --remove-orphans"],
      impact=Impact("service", (0, 1)))
def orphan_compose_container(container: Container, settings):
    """Reports a container labelled with an audited Compose project whose file no longer
    defines its service: a service renamed or removed without `--remove-orphans`.

    Why it matters:
    It keeps running with the old image, ports and privileges, unreviewed and unpatched,
    and the file in version control no longer says it exists.

    Example:
    ```
    # compose.yaml renamed `web` to `frontend`; `shop-web-1` still runs
    ```

    Fix:
    `docker compose -p PROJECT up -d --remove-orphans`, or put the service back in the file
    if it is still needed.
    """
    if container.paired == "orphan":
        yield Hit(f"{container.name} belongs to the Compose project {container.project}, "
                  f"whose file no longer defines the service {container.service}",
                  container.location, resource="compose",
                  evidence=f"labels: project {container.project}, service "
                           f"{container.service}",
                  fix=f"`docker compose -p {container.project} up -d --remove-orphans`")


# --- DKR040 -------------------------------------------------------------------------------

@rule("DKR040", "engine-api-without-tls", Severity.CRITICAL,
      title="Docker Engine API on TCP without TLS", on=DockerEngine, checklist=["3.1.4"],
      refs=[f"{CIS} 2.6", "CWE-306"], impact=Impact("host", (5, 15)))
def engine_api_without_tls(engine: DockerEngine, settings):
    """Reports a Docker Engine that answered its API over plain TCP (`-H tcp://…:2375`),
    or over TLS without asking for a client certificate (`--tls` without `--tlsverify`):
    either way anyone who reaches the port controls the engine, without a password. On a
    loopback address it is HIGH (every local user and process is then root). An engine that
    refuses a client without a certificate (mutual TLS) is not reported.

    Why it matters:
    The Engine API is root on the host: one request starts a privileged container with the
    host's disk mounted. Exposed 2375 ports are scanned for and exploited within minutes
    (cryptominers).

    Example:
    ```
    # /etc/docker/daemon.json
    {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}
    ```

    Fix:
    Remove the TCP listener and reach the engine over SSH (`DOCKER_HOST=ssh://user@host`);
    if TCP is needed, require mutual TLS (`tlsverify`, port 2376, client certificates).
    """
    if engine.error is None and engine.address.startswith("tcp://") and \
            engine.tls in ("", "any-client"):
        host = engine.address[len("tcp://"):].rpartition(":")[0].strip("[]")
        loopback = not _reachable(host)
        if engine.tls:
            said = ("answered over TLS without asking for a client certificate: TLS only "
                    "encrypts, and whoever reaches it controls the host")
            evidence = f"GET /_ping over TLS to {engine.address}, no client certificate: OK"
            fix = ("require client certificates: run dockerd with --tlsverify and "
                   "--tlscacert (tlsverify: true in daemon.json)")
        else:
            said = "answered without TLS: whoever reaches it controls the host"
            evidence = f"GET /_ping over {engine.address}: OK"
            fix = ("remove the tcp:// listener (use ssh:// to reach the engine) or require "
                   "mutual TLS on 2376")
        yield Hit(f"the Docker Engine at {engine.address} {said}", engine.location,
                  resource="api", evidence=evidence,
                  severity=Severity.HIGH if loopback else None, fix=fix)


# --- DKR050 -------------------------------------------------------------------------------

def _completed(container: Container) -> bool:
    """A one-shot container that ran to completion (exit 0, no restart policy)."""
    return container.state == "exited" and container.exit_code == 0 and \
        container.restart_policy in ("", "no")


@rule("DKR050", "compose-service-not-running", Severity.MEDIUM,
      title="Compose service not running", on=Deployment, checklist=["9.1.1"],
      refs=["Docker docs: docker compose ps"], impact=Impact("service", (1, 30)))
def compose_service_not_running(deployment: Deployment, settings):
    """Reports a service of an audited Compose file that its engine does not run: no
    container at all, or containers created, exited or dead. The service is expected on
    the engine when the inventory deploys its project there (its `host:`) or the engine
    runs other containers of its project. A one-shot service that exited 0 without a
    restart policy has done its job and is not reported; nor is a service whose profile is
    not switched on.

    Why it matters:
    What the review approved is not what runs: the service is down, or something else
    serves in its place, and a gate on the file alone says GO.

    Example:
    ```
    $ docker compose -p shop ps -a
    NAME           STATUS
    shop-web-1     Up 2 days
    shop-worker-1  Exited (1) 3 hours ago
    ```

    Fix:
    `docker compose -p PROJECT logs SERVICE` to see why it stopped, then `docker compose -p
    PROJECT up -d SERVICE`; remove the service from the file if it is retired.
    """
    containers = deployment.containers
    if any(c.running or c.state in ("restarting", "paused") for c in containers):
        return
    if containers and all(_completed(c) for c in containers):
        return
    if not containers:
        why = "no container" + (f" ({deployment.name_holder.name} holds its name)"
                                if deployment.name_holder else "")
    else:
        why = ", ".join(f"{c.name} {c.state}" + (f" ({c.exit_code})" if c.state == "exited"
                                                 else "") for c in containers)
    where = "the inventory deploys it there" if deployment.expected == "inventory" else \
        "other services of its project run there"
    yield Hit(f"{deployment.name} is not running on {deployment.engine}: {why} ({where})",
              deployment.intent.location, resource="running", evidence=why,
              fix=f"`docker compose -p {deployment.intent.project} up -d "
                  f"{deployment.intent.service}` (see its logs first), or remove the "
                  "service from the file if it is retired")


@prover("DKR050", "9.1.1")
def service_runs(deployment: Deployment, settings):
    running = [c for c in deployment.containers if c.running]
    if not running or not all(_starts(c) for c in running):
        return None
    return f"{deployment.name}: " + ", ".join(c.name for c in running) + " running"


# --- DKR051 -------------------------------------------------------------------------------

@rule("DKR051", "container-drifted-from-compose", Severity.MEDIUM,
      title="Running container differs from its Compose file", on=Deployment,
      checklist=["8.1.2"], refs=["Docker docs: docker compose up (recreates on change)"],
      impact=Impact("service", (1, 3)))
def container_drifted(deployment: Deployment, settings):
    """Reports, once per container, where what the engine runs departs from its Compose
    service: another image (or a tag that now names another image: a newer pull not yet
    applied), other published ports, other bind mounts (host path, read-only), privileged,
    and environment keys added or missing (never values). HIGH when the difference made it
    privileged.

    Why it matters:
    The review and the gate judged the file; the engine runs something else: a port opened
    by hand, a mount added in a management UI, an image updated without the file. The next
    `docker compose up` silently reverts it, or worse, it is the only copy of a change.

    Example:
    ```
    # compose.yaml says "8080:80" and ./data:/data; the container was run with
    docker run -d -p 0.0.0.0:8081:80 -v /tmp:/data ...
    ```

    Fix:
    Decide which is right. If the file is, `docker compose -p PROJECT up -d
    --force-recreate SERVICE`; if the running container is, write its settings into the
    file, commit, then recreate so that both agree.
    """
    for container in deployment.containers:
        differences = compare(deployment.intent, container)
        if not differences:
            continue
        privileged = any(d.aspect == "privileged" and container.privileged
                         for d in differences)
        aspects = ", ".join(dict.fromkeys(d.aspect for d in differences))
        yield Hit(f"{container.name} differs from {deployment.name} in its file ({aspects}): "
                  + "; ".join(d.text for d in differences), differences[0].location,
                  resource=f"drift:{container.name}",
                  evidence="; ".join(f"{d.aspect}: {d.text}" for d in differences),
                  severity=Severity.HIGH if privileged else None,
                  fix=f"`docker compose -p {deployment.intent.project} up -d "
                      f"--force-recreate {deployment.intent.service}` if the file is right; "
                      "otherwise write the running settings into the file first")


# --- DKR052 -------------------------------------------------------------------------------

@rule("DKR052", "container-name-taken", Severity.HIGH,
      title="Another container holds the service's name", on=Deployment,
      checklist=["4.5.3"], refs=["Docker docs: container_name"],
      impact=Impact("service", (1, 5)))
def container_name_taken(deployment: Deployment, settings):
    """Reports a Compose service whose container name (`container_name:`, or the name
    Compose gives it) is held on the engine by a container that is not the service's:
    started by hand, or by another project.

    Why it matters:
    `docker compose up` fails on the conflict, or the stranger is taken for the service:
    scripts, backups and monitoring that address the name reach the wrong container.

    Example:
    ```
    # compose.yaml: container_name: grafana
    docker run -d --name grafana grafana/grafana:11.2.0   # started by hand earlier
    ```

    Fix:
    Remove or rename the other container (`docker rename grafana grafana-old`), or give the
    service another `container_name:`.
    """
    holder = deployment.name_holder
    if holder is not None:
        owner = f"project {holder.project}" if holder.project else "no Compose project"
        yield Hit(f"the name {holder.name} that {deployment.name} uses is held by another "
                  f"container ({owner}, {holder.image or 'unknown image'}, {holder.state})",
                  deployment.intent.location, resource="name",
                  evidence=f"container {holder.name}: {owner}",
                  fix=f"`docker rename {holder.name} {holder.name}-old` (or remove it), "
                      "or give the service another container_name")


@prover("DKR052", "4.5.3")
def name_unique(deployment: Deployment, settings):
    if deployment.name_holder is not None:
        return None
    wanted = deployment.wanted_names()
    own = [c.name for c in deployment.containers if c.name in wanted]
    if not own:
        return None
    return f"{own[0]} is the service's own container; no other container holds the name"
