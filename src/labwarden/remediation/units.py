"""Which unit a finding's fix restarts, and how: the map from a finding's asset to what
the operator actually restarts or reloads.

An asset names what a finding is about, not what restarts: a proxy route
(`npm:proxy/portainer.lab.example`) is fixed in the proxy, which reloads; an env file
(`compose:paperless:.env`) is read by the services of its project; an sshd finding reloads
sshd on its host. Each finding lands in a *stack* (the group one step handles: a Compose
project, a host, a proxy outside the tree) and names the units it touches with an action:

    none      nothing restarts (a file mode, a git index, a monitoring rule)
    reload    the process re-reads its configuration, no connection is dropped
              (sshd, a firewall, a proxy's routes)
    recreate  `docker compose up -d` recreates the container (its definition changed)
    daemon    the Docker daemon restarts: every container on the host with it
    reboot    the host restarts
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS = ("none", "reload", "recreate", "daemon", "reboot")


@dataclass
class Placement:
    stack: str                                    # compose:<project>, host:<name>, proxy:…
    units: dict[str, str] = field(default_factory=dict)   # unit -> action
    host: str | None = None


def stronger(a: str, b: str) -> str:
    return a if ACTIONS.index(a) >= ACTIONS.index(b) else b


def place(finding, lab) -> Placement:
    """Where the finding's fix happens. `lab` is a `graph.Lab`."""
    asset, restarts = finding.asset, finding.rule.impact.restarts
    kind, _, rest = asset.partition(":")
    if kind == "compose":
        return _compose(rest, restarts, finding, lab)
    if kind in ("npm", "traefik", "caddy"):
        return _proxy(kind, rest, restarts, lab)
    if kind == "docker":
        return _docker(rest, restarts, lab)
    if kind in ("sshd", "ssh", "host", "pve"):
        return _host(kind, rest, restarts, finding, lab)
    if kind in ("tls", "http"):
        return _endpoint(rest, restarts, lab)
    # monitoring:, logs:, prometheus:, script:, backups…: a file or a setting elsewhere
    return _config_file(finding, lab)


def _config_file(finding, lab) -> Placement:
    """A finding in a configuration file: the stack whose directory holds it, and the
    service that mounts it, which reads it again (Prometheus on SIGHUP, others restart)."""
    import os

    path = os.path.realpath(finding.location.path)
    for service in lab.services.values():
        if path in service.mounted:
            return Placement(service.project, {service.asset: "reload"}, service.host)
    for service in lab.services.values():
        if path.startswith(os.path.realpath(service.directory) + os.sep):
            return Placement(service.project, host=service.host)
    asset, restarts = finding.asset, finding.rule.impact.restarts
    return Placement(asset, {} if restarts == "none" else {asset: "reload"})


def _compose(rest: str, restarts: str, finding, lab) -> Placement:
    if ":" in rest:                                      # compose:<project>:<env file>
        project, env_file = rest.split(":", 1)
        stack = f"compose:{project}"
        if restarts == "none":
            return Placement(stack, host=_stack_host(stack, lab))
        users = [s.asset for s in lab.stack_services(stack)
                 if env_file == ".env" or any(p.endswith("/" + env_file) or p == env_file
                                              for p in s.env_files)]
        return Placement(stack, {u: "recreate" for u in users}, _stack_host(stack, lab))
    # A project's name may hold slashes (a nested directory, a file of its own name:
    # `app/docker-compose-mariadb.yml`): the service is what the lab knows by the asset.
    known = lab.services.get(f"compose:{rest}")
    if known is not None:
        stack, service = known.project, known.name
    elif lab.stack_services(f"compose:{rest}") or "/" not in rest:
        stack, service = f"compose:{rest}", ""               # a project-level finding
    else:                                                    # a service the lab lacks
        project, _, service = rest.rpartition("/")
        stack = f"compose:{project}"
    host = _stack_host(stack, lab)
    if restarts == "none":
        return Placement(stack, host=host)
    if restarts == "host":
        return _host_for_stack(stack, host, restarts)
    if service and restarts == "service":
        return Placement(stack, {f"{stack}/{service}": "recreate"}, host)
    named = finding.resource.split(":", 1)[0].removeprefix("service ").strip()
    if not service and f"{stack}/{named}" in lab.services and restarts == "service":
        return Placement(stack, {f"{stack}/{named}": "recreate"}, host)
    # a project-level change (a network, a top-level key): every service of it
    return Placement(stack, {s.asset: "recreate" for s in lab.stack_services(stack)}, host)


def _proxy(kind: str, rest: str, restarts: str, lab) -> Placement:
    """A route or the proxy itself. Route edits reload the proxy (NPM reloads nginx when a
    proxy host is saved, Traefik watches its files, Caddy has `caddy reload`); the proxy's
    own definition recreates its container."""
    label, _, route = rest.partition("/")
    service = lab.proxies.get(label)
    action = "none" if restarts == "none" else ("reload" if route else "recreate")
    if service is None:
        unit = f"proxy:{kind}:{label}"
        return Placement(unit, {} if action == "none" else {unit: action})
    info = lab.services[service]
    return Placement(info.project, {} if action == "none" else {service: action}, info.host)


def _docker(rest: str, restarts: str, lab) -> Placement:
    parts = rest.split("/")
    if len(parts) >= 3 and f"compose:{rest.split('/', 1)[1]}" in lab.services:
        service = lab.services[f"compose:{rest.split('/', 1)[1]}"]
        return Placement(service.project, {} if restarts == "none"
                         else {service.asset: "recreate"}, service.host)
    engine = parts[0]
    stack = f"host:{engine}"
    if restarts == "none":
        return Placement(stack, host=engine)
    if len(parts) == 1:                                  # the daemon's own settings
        return Placement(stack, {stack: "daemon"}, engine)
    return Placement(stack, {f"docker:{rest}": "recreate"}, engine)


def _host(kind: str, rest: str, restarts: str, finding, lab) -> Placement:
    name = _host_name(rest.split(":")[0].strip("[]"), lab)
    stack = f"host:{name}"
    if restarts == "none":
        return Placement(stack, host=name)
    if restarts == "host":
        return Placement(stack, {stack: "reboot"}, name)
    area = finding.rule.area
    if kind in ("sshd", "ssh") or area == "SSH":
        return Placement(stack, {f"sshd:{name}": "reload"}, name)
    if "firewall" in finding.resource or area == "NET":
        return Placement(stack, {f"firewall:{name}": "reload"}, name)
    return Placement(stack, {stack: "reload"}, name)


def _endpoint(rest: str, restarts: str, lab) -> Placement:
    """A live TLS or HTTP endpoint: what serves it is the proxy when one proxy runs in the
    lab, else the endpoint itself (reloaded by whoever runs it)."""
    unit = f"endpoint:{rest}"
    if restarts == "none":
        return Placement(unit)
    if len(lab.proxies) == 1:
        service = lab.services[next(iter(lab.proxies.values()))]
        return Placement(service.project, {service.asset: "reload"}, service.host)
    return Placement(unit, {unit: "reload"})


def _stack_host(stack: str, lab) -> str | None:
    return next((s.host for s in lab.stack_services(stack) if s.host), None)


def _host_for_stack(stack: str, host: str | None, restarts: str) -> Placement:
    if host is None:
        return Placement(stack, {stack: "reboot"})
    return Placement(f"host:{host}", {f"host:{host}": "reboot"}, host)


def _host_name(text: str, lab) -> str:
    """The inventory's name for a host written as its name or its address."""
    if text in lab.hosts:
        return text
    for name, address in lab.hosts.items():
        if address and text and (address.endswith("@" + text) or address.endswith("//" + text)
                                 or f"@{text}:" in address or f"//{text}:" in address
                                 or address == text):
            return name
    for name in lab.hosts:            # a saved snapshot: hosts/docker-01/sshd_config
        if f"/{name}/" in f"/{text}/":
            return name
    return text or "unknown"
