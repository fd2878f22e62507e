"""Rules about network exposure: published ports, LAN-attached networks and Traefik's
defaults.

Each published port gets at most one finding: NET002 when it is a database or broker,
NET003 when it is an administration interface, otherwise NET001. A port bound to loopback or
to a specific address is not reported; 80 and 443 on the reverse proxy are expected.
"""

from __future__ import annotations

import os

from labwarden.model import Hit, Impact, Location, Severity
from labwarden.knowledge import images as _images
from labwarden.knowledge.ports import PortClass, classify
from labwarden.redact import scrub
from labwarden.rules._shell import shell_words
from labwarden.rules._prove import by_silence, runnable
from labwarden.rules._memo import for_last
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import (
    ComposeProject, ComposeTree, Port, PortRef, Service, parse_bool)
from labwarden.sources.yamlfile import Map, Seq

DNAT = "Docker's iptables DNAT rules bypass the host firewall (ufw/firewalld do not block it)"


# --- published ports ------------------------------------------------------------------------

def _exposed_ports(service: Service) -> list[Port]:
    """Ports published on every interface of the host."""
    mode = str(service.get("network_mode", ""))
    if mode == "host" or mode == "none" or mode.startswith(("service:", "container:")):
        return []               # Docker ignores `ports:` there (the host network has its rule)
    # A target that is not a port number is a broken entry (Compose rejects it), not ours.
    return [p for p in service.ports if p.on_all_interfaces and p.target_ports]


@for_last       # NET001, NET002 and NET003 ask in turn about the same service
def _classified(service: Service) -> list[tuple[Port, PortClass | None]]:
    """The exposed ports with what listens there."""
    return [(p, classify(service.image, p.target_ports)) for p in _exposed_ports(service)]


def _describe(port: Port) -> str:
    """The port quoted, with which side is which: `8080:80` alone reads either way round."""
    proto = "" if port.protocol == "tcp" else f"/{port.protocol}"
    if port.published:
        return f"`{port.published}:{port.target}{proto}` (host {port.published} → container " \
               f"{port.target})"
    return f"`{port.target}{proto}` (container {port.target}, on a random host port)"


def _resource(port: Port) -> str:
    return f"port:{port.published or ''}:{port.target}/{port.protocol}"


def _bind_fix(port: Port, address: str = "127.0.0.1") -> str:
    if "target:" in port.spec:   # long syntax
        return f"add `host_ip: {address}` to this port"
    proto = "" if port.protocol == "tcp" else f"/{port.protocol}"
    return f"`{address}:{port.published or ''}:{port.target}{proto}`"


def _is_proxy(service: Service, settings) -> bool:
    return service.name in settings.proxy_services or \
        _images.matches(service.image, settings.proxy_images)


@rule("NET001", "port-on-all-interfaces", Severity.MEDIUM,
      title="Port published on all interfaces", on=Service, checklist=["3.1.1", "3.2.4"],
      refs=["CIS Docker Benchmark 5.14", "CWE-668"], impact=Impact("service", (1, 2)))
def port_on_all_interfaces(service: Service, settings):
    """Reports a published port (short or long syntax, a range, or a bare container port that
    gets a random host port) bound to every interface: no host IP, `0.0.0.0` or `::`.

    Ports bound to 127.0.0.1, ::1 or a specific address are not reported. The internet-facing
    ports (80 and 443 by default) of the reverse proxy are exempt by design: they get an INFO
    finding that records the exemption and fails no checklist item. Databases and
    administration interfaces are NET002's and NET003's. A `ports:` entry Compose would
    refuse (a host address inside `published`, a name for a port) is an input error at its
    line, not a port.

    Why it matters:
    Docker publishes ports with its own iptables DNAT rules, ahead of the host firewall, so
    `ufw deny` does not close them: the service is reachable from every network the host is
    on, bypassing the reverse proxy with its TLS and authentication.

    Example:
    ```yaml
    services:
      app:
        image: ghcr.io/example/app:1.4
        ports:
          - "8080:8080"
    ```

    Fix:
    Route the service through the reverse proxy and drop `ports:`, or bind it to loopback or
    one LAN address: `"127.0.0.1:8080:8080"` (long syntax: `host_ip: 127.0.0.1`).
    """
    classified = _classified(service)
    if not classified:
        return                  # most services publish nothing on all interfaces
    proxy = _is_proxy(service, settings)
    facing = set(settings.internet_facing_ports)
    for port, kind in classified:
        if kind is not None:
            continue
        numbers = port.published_ports or port.target_ports
        if proxy and numbers and all(n in facing for n in numbers):
            # Exempt by design, and said so: the audit records what it decided. INFO and
            # failing no checklist item, so the proxy's own items are still proven.
            yield Hit(f"port {_describe(port)} of the reverse proxy is published on all "
                      "interfaces by design (an internet-facing port, policy "
                      "`internet_facing_ports`): exempt from this rule",
                      port.location, resource=_resource(port), evidence=port.spec,
                      severity=Severity.INFO, checklist=(),
                      fix="nothing to do; keep the proxy's other ports (dashboards, admin "
                          "UIs) off the public interfaces")
            continue
        yield Hit(f"port {_describe(port)} is published on all interfaces: {DNAT}",
                  port.location, resource=_resource(port), evidence=port.spec,
                  fix=f"serve it through the reverse proxy and remove the port, or bind it to "
                      f"loopback or one LAN address: {_bind_fix(port)}")


@rule("NET002", "database-port-exposed", Severity.CRITICAL,
      title="Database port published on all interfaces", on=Service,
      checklist=["3.1.5", "3.5.2"], refs=["CIS Docker Benchmark 5.14", "CWE-668"],
      impact=Impact("service", (1, 2)))
def database_port_exposed(service: Service, settings):
    """Reports a database, cache or message-broker port (PostgreSQL 5432, MySQL/MariaDB 3306,
    MongoDB 27017, Redis 6379, Elasticsearch 9200, Memcached 11211, InfluxDB 8086, …)
    published on all interfaces, recognised by the image or by the container port. Message
    brokers (AMQP, MQTT, NATS, Kafka) are HIGH: they often serve LAN clients.

    Why it matters:
    Database ports are scanned for continuously; many images start without a password or
    with a weak one, and Docker's DNAT rules bypass the host firewall. The application's
    containers reach the database over the Compose network without any published port.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16
        ports:
          - "5432:5432"
    ```

    Fix:
    Remove the `ports:` entry (other containers use `db:5432` on the project network), or
    bind it to loopback for local tools: `"127.0.0.1:5432:5432"`.
    """
    for port, kind in _classified(service):
        if kind is None or kind.kind == "admin":
            continue
        what = "message broker" if kind.kind == "broker" else "database"
        yield Hit(f"{kind.label} ({what}) port {_describe(port)} is published on all "
                  f"interfaces: {DNAT}", port.location, resource=_resource(port),
                  evidence=port.spec, severity=kind.severity,
                  fix=f"remove the port (containers reach it on the Compose network by service "
                      f"name) or bind it to loopback: {_bind_fix(port)}")


@rule("NET003", "admin-port-exposed", Severity.HIGH,
      title="Administration interface published on all interfaces", on=Service,
      checklist=["3.1.4"], refs=["CIS Docker Benchmark 5.14", "CIS Docker Benchmark 2.6",
                                 "CWE-668"],
      impact=Impact("service", (1, 2)))
def admin_port_exposed(service: Service, settings):
    """Reports an administration panel or API published on all interfaces: the Docker Engine
    API (2375 is CRITICAL: unauthenticated root), Portainer and its agent, Nginx Proxy
    Manager's admin port 81, the Traefik dashboard, Proxmox, Grafana, Prometheus,
    Alertmanager, Home Assistant, cAdvisor, node-exporter, Loki, Netdata, pgAdmin, Adminer,
    n8n, … recognised by the image and the container port.

    Why it matters:
    An administration interface controls the other services (Portainer and the Docker API
    are root on the host). Published on every interface it bypasses the host firewall and
    the proxy's authentication, and a single weak or default password hands it over.

    Example:
    ```yaml
    services:
      npm:
        image: jc21/nginx-proxy-manager:2.12.3
        ports:
          - "80:80"
          - "443:443"
          - "81:81"
    ```

    Fix:
    Bind it to loopback or the management LAN address (`"192.168.10.5:81:81"`) and reach it
    over a VPN or SSH tunnel, or put it behind the proxy with authentication and remove the
    port.
    """
    for port, kind in _classified(service):
        if kind is None or kind.kind != "admin":
            continue
        yield Hit(f"{kind.label} (port {_describe(port)}) is published on all interfaces: {DNAT}",
                  port.location, resource=_resource(port), evidence=port.spec,
                  severity=kind.severity,
                  fix=f"bind it to loopback or the management LAN address ({_bind_fix(port)}) "
                      "and reach it over a VPN or SSH tunnel, or route it through the proxy "
                      "with authentication")


# --- host ports claimed twice --------------------------------------------------------------

def _clash(a: PortRef, b: PortRef, hosts: dict[str, str] | None = None) -> bool:
    """Whether Docker could not bind both on one host: the same protocol and overlapping
    numbers (the caller's grouping), different services, on one machine as far as the
    inventory says (`hosts`: project directory → host), and addresses that meet (the same,
    or one of them every interface of its family)."""
    if a.asset == b.asset:
        return False            # one service: Compose reports its own duplicates
    if hosts:
        host_a = hosts.get(os.path.dirname(os.path.abspath(a.location.path)))
        host_b = hosts.get(os.path.dirname(os.path.abspath(b.location.path)))
        if host_a and host_b and host_a != host_b:
            return False        # stacks of two machines: each binds its own ports
    x, y = a.host_ip, b.host_ip
    if x and y and x != y and not (
            x == "0.0.0.0" and ":" not in y or y == "0.0.0.0" and ":" not in x
            or x == "::" and ":" in y or y == "::" and ":" in x):
        return False
    if a.profiles and b.profiles and not set(a.profiles) & set(b.profiles) and \
            a.asset.rpartition("/")[0] == b.asset.rpartition("/")[0]:
        return False            # alternatives of one project that never run together
    return True


def _clashing(refs: list[PortRef], hosts: dict[str, str] | None) -> list[list[PortRef]]:
    """For each ref of a group, in order, the others of the group it clashes with. A clash
    is symmetric: each pair is judged once (a group may hold dozens of refs)."""
    others: list[list[PortRef]] = [[] for _ in refs]
    for i, ref in enumerate(refs):
        for j in range(i + 1, len(refs)):
            if _clash(ref, refs[j], hosts):
                others[i].append(refs[j])
                others[j].append(ref)
    return others


def _port_text(ref: PortRef) -> str:
    number = str(ref.low) if ref.low == ref.high else f"{ref.low}-{ref.high}"
    return f"{ref.host_ip + ':' if ref.host_ip else ''}{number}/{ref.protocol}"


@rule("NET008", "host-port-conflict", Severity.MEDIUM,
      title="Host port published by two services", on=ComposeTree, checklist=["9.1.1"],
      refs=["Docker documentation: published ports (a host port binds once per address)"],
      impact=Impact("service", (1, 3)))
def host_port_conflict(tree: ComposeTree, settings):
    """Reports a host port that two services of the audited tree publish on addresses that
    meet: the same address, or one of them on every interface (`8080:80` and
    `127.0.0.1:8080:80` clash; `127.0.0.1:8080` and `192.168.1.5:8080` do not), with the
    same protocol, in two stacks or in one. Each service is reported, naming the other's
    file and line. Services of one project in disjoint profiles never run together, and
    stacks the inventory puts on different hosts (`services:` with `compose:` and `host:`)
    bind different machines' ports: neither is reported.

    Why it matters:
    A host port binds once per address. Whichever stack starts second fails ("port is
    already allocated"), often at a reboot or an unrelated update, and which one wins
    depends on start order.

    Example:
    ```yaml
    # media/compose.yaml
    services:
      jellyfin:
        ports: ["8096:8096"]
    # tools/compose.yaml
    services:
      dashboard:
        ports: ["8096:8080"]
    ```

    Fix:
    Publish one of them on another host port, or bind each to a different address; better,
    serve both through the reverse proxy and publish neither.
    """
    ports = tree.ports
    if len(ports) < 2:
        return
    hosts = settings.compose_hosts
    by_number: dict[tuple[str, int], list[PortRef]] = {}
    for ref in ports:
        for number in range(ref.low, min(ref.high, ref.low + 1024) + 1):
            by_number.setdefault((ref.protocol, number), []).append(ref)
    reported: set[int] = set()
    shown: dict[int, str] = {}          # each ref's text in other refs' messages, made once
    for refs in by_number.values():
        if len(refs) < 2:
            continue
        for ref, others in zip(refs, _clashing(refs, hosts)):
            if not others or id(ref) in reported:
                continue
            reported.add(id(ref))
            texts = []
            for other in others[:5]:
                text = shown.get(id(other))
                if text is None:
                    text = shown[id(other)] = f"`{_port_text(other)}` at " \
                        f"{_tree_where(other, tree.root)}"
                texts.append(text)
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            port = _port_text(ref)
            yield Hit(f"host port `{port}` is also published by {'; '.join(texts)}{more}: "
                      "Docker binds a host port once per address, so whichever starts second "
                      "fails", ref.location, resource=f"host-port:{port}",
                      asset=ref.asset, evidence=ref.spec,
                      fix="publish one of them on another host port or address, or serve both "
                          "through the reverse proxy and publish neither")


def _tree_where(ref: PortRef, root: str) -> str:
    path = ref.location.path
    for base in root.split(","):
        base = base.rstrip("/")
        if base and path.startswith(base + "/"):
            path = path[len(base) + 1:]
            break
    return f"{Location(path, ref.location.line)} (service {ref.asset.rsplit('/', 1)[-1]})"


# --- networks -------------------------------------------------------------------------------

LAN_DRIVERS = frozenset({"macvlan", "ipvlan"})


@rule("NET004", "macvlan-network", Severity.MEDIUM, title="Network attached directly to the LAN",
      on=ComposeProject, checklist=["3.5.4"], refs=["Docker docs: macvlan network driver"],
      impact=Impact("project", (5, 15)))
def macvlan_network(project: ComposeProject, settings):
    """Reports a top-level network with the `macvlan` or `ipvlan` driver.

    Why it matters:
    Containers on such a network get their own address on the LAN: every port they listen
    on is reachable from the LAN without being published, the host firewall and Docker's
    DOCKER-USER chain do not see the traffic, and the reverse proxy is bypassed.

    Example:
    ```yaml
    networks:
      lan:
        driver: macvlan
        driver_opts:
          parent: eth0
    ```

    Fix:
    Use a bridge network and publish only what is needed through the proxy. Where a
    container needs its own LAN address (DHCP, mDNS discovery), isolate it on its own VLAN
    and filter it on the router.
    """
    for name, network in project.section("networks").items():
        if not isinstance(network, Map):
            continue
        driver = str(network.get("driver") or "").strip().lower()
        if driver not in LAN_DRIVERS:
            continue
        users = [s.name for s in project.services.values()
                 if isinstance(s.raw.get("networks"), Map) and name in s.raw["networks"]]
        who = f" (used by {', '.join(users)})" if users else ""
        yield Hit(f"network `{name}` uses the {driver} driver{who}: its containers sit directly "
                  "on the LAN, bypassing the host firewall and the reverse proxy",
                  network.key_locs.get("driver") or project.loc("networks", name),
                  resource=f"network:{name}", evidence=f"driver: {driver}")


# --- Traefik --------------------------------------------------------------------------------

def _is_traefik(service: Service) -> bool:
    return _images.name(service.image) == "traefik"


_CONFIG_FILES = ("/etc/traefik/traefik.yml", "/etc/traefik/traefik.yaml",
                 "/etc/traefik/traefik.toml", "/traefik.yml", "/traefik.yaml", "/traefik.toml")


def _traefik_options(service: Service) -> list[tuple[str, str | None, Location, str]] | None:
    """Traefik's static options as (lower-cased name, value or None, location, as shown).

    Traefik reads its static configuration from exactly one source: a configuration file if
    one is found, else the command-line flags, else TRAEFIK_* variables. None means a file
    is in use and we cannot see the options.
    """
    flags: list[tuple[str, str | None, Location, str]] = []
    raw = service.raw.get("command")
    if isinstance(raw, Seq):
        items = [(str(v), raw.loc_of(i)) for i, v in enumerate(raw) if v is not None]
    elif raw is not None:
        items = [(str(raw), service.loc("command"))]
    else:
        items = []
    for text, loc in items:
        for token in shell_words(text):
            if token.startswith("-"):
                name, eq, value = token.lstrip("-").partition("=")
                # as shown: an endpoint's `user:password@`, a `…password=` never is
                flags.append((name.lower(), value if eq else None, loc, scrub(token)))
    if any(name == "configfile" for name, *_ in flags) or \
            any(m.target in _CONFIG_FILES for m in service.mounts):
        return None
    if flags:
        return flags
    options = []
    for env in service.environment.values():
        if env.name.upper().startswith("TRAEFIK_"):
            name = env.name[len("TRAEFIK_"):].lower().replace("_", ".")
            options.append((name, env.value, env.location,
                            scrub(f"{env.name}={env.value or ''}")))
    return options


def _true(value: str | None) -> bool:
    return value is None or parse_bool(value.strip()) is True


def _false(value: str | None) -> bool:
    return value is not None and parse_bool(value.strip()) is False


@rule("NET005", "traefik-exposed-by-default", Severity.MEDIUM,
      title="Traefik exposes every container by default", on=Service, checklist=["3.1.1"],
      refs=["Traefik docs: Docker provider exposedByDefault"],
      impact=Impact("project", (2, 10)))
def traefik_exposed_by_default(service: Service, settings):
    """Reports a Traefik service whose Docker (or Swarm) provider is enabled on the command
    line without `--providers.docker.exposedbydefault=false`.

    When Traefik reads a static configuration file (`--configFile`, or a mounted
    `traefik.yml`), the command line is ignored and nothing is reported: that file is not
    read here.

    Why it matters:
    With the default `exposedByDefault=true`, every container on Traefik's networks gets a
    router, including databases and admin tools nobody meant to publish, as soon as it
    starts, with a default rule built from the container's name.

    Example:
    ```yaml
    services:
      traefik:
        image: traefik:v3.3
        command:
          - --providers.docker=true
          - --entrypoints.websecure.address=:443
    ```

    Fix:
    Add `--providers.docker.exposedbydefault=false` and label only the services to publish
    with `traefik.enable=true`.
    """
    if not _is_traefik(service):
        return
    options = _traefik_options(service)
    if not options:
        return
    for provider in ("providers.docker", "providers.swarm"):
        own = [o for o in options if o[0] == provider or o[0].startswith(provider + ".")]
        if not own or any(n == provider and _false(v) for n, v, *_ in own):
            continue
        if any(n == provider + ".exposedbydefault" and _false(v) for n, v, *_ in own):
            continue
        # The option that enables the provider, rather than the first of its settings.
        shown = next((o for o in own if o[0] == provider), own[0])
        yield Hit(f"Traefik's {provider.split('.')[1]} provider exposes every container on its "
                  f"networks: `--{provider}.exposedbydefault=false` is missing", shown[2],
                  resource=f"traefik:{provider}.exposedbydefault", evidence=shown[3],
                  fix=f"add `--{provider}.exposedbydefault=false` and the label "
                      "`traefik.enable=true` on each service to publish")


@rule("NET006", "traefik-api-insecure", Severity.HIGH,
      title="Traefik dashboard without authentication", on=Service, checklist=["3.1.4"],
      refs=["Traefik docs: API insecure mode", "CWE-306"], impact=Impact("service", (1, 2)))
def traefik_api_insecure(service: Service, settings):
    """Reports Traefik started with `--api.insecure=true` (or `TRAEFIK_API_INSECURE=true`),
    which serves the dashboard and API on port 8080 without authentication. HIGH when port
    8080 is published beyond loopback or the host network is used, MEDIUM otherwise.

    Why it matters:
    The API lists every router, service, middleware and backend address of the lab, the
    map an attacker needs; anyone who reaches port 8080 reads it without a password.

    Example:
    ```yaml
    services:
      traefik:
        image: traefik:v3.3
        command:
          - --api.insecure=true
        ports:
          - "8080:8080"
    ```

    Fix:
    Remove `--api.insecure`, enable `--api.dashboard=true` and route the dashboard through
    a router on `api@internal` with an authentication middleware.
    """
    if not _is_traefik(service):
        return
    for name, value, loc, shown in _traefik_options(service) or ():
        if name != "api.insecure" or not _true(value):
            continue
        exposed = str(service.get("network_mode", "")) == "host" or any(
            8080 in p.target_ports and not p.on_loopback for p in service.ports)
        where = "and port 8080 is published" if exposed else \
            "(only this host and the containers on its networks reach port 8080)"
        yield Hit(f"Traefik's dashboard and API are served without authentication {where}",
                  loc, resource="traefik:api.insecure", evidence=shown,
                  severity=None if exposed else Severity.MEDIUM,
                  fix="remove `--api.insecure` and serve `api@internal` through a router with "
                      "an authentication middleware")


# --- databases on shared networks -----------------------------------------------------------

def _is_database(image: str | None) -> PortClass | None:
    """A database or cache recognised by its image (any port: it is the service we care about)."""
    entry = classify(image, [])
    return entry if entry is not None and entry.kind == "database" and entry.images else None


def _external_networks(project: ComposeProject) -> set[str]:
    networks = project.section("networks")
    return {name for name, spec in networks.items()
            if isinstance(spec, Map) and parse_bool(spec.get("external")) is True}


@rule("NET007", "database-on-shared-network", Severity.MEDIUM,
      title="Database attached to a network shared with other stacks", on=Service,
      checklist=["3.5.2", "3.5.4"], refs=["OWASP Docker Security Cheat Sheet, rule 10",
                                          "CWE-923"],
      impact=Impact("service", (1, 2)))
def database_on_shared_network(service: Service, settings):
    """Reports a database or cache attached to an external network, the kind a reverse proxy
    and other stacks join.

    Why it matters:
    A database should be reachable only by the application that owns it. On a network shared
    with the reverse proxy or other stacks, every container there (the internet-facing proxy
    included) can reach the database port directly, so one compromised web container is one
    hop from the data, bypassing the application's authentication.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16.4
        networks: [proxy]       # shared with the reverse proxy stack
    networks:
      proxy:
        external: true
    ```

    Fix:
    Keep the database on the stack's own network and put only the web-facing service on the
    shared one:
    ```yaml
    services:
      app:
        networks: [proxy, backend]
      db:
        networks: [backend]
    networks:
      backend: {}
      proxy:
        external: true
    ```
    """
    database = _is_database(service.image)
    if database is None:
        return
    networks = service.raw.get("networks")
    if not isinstance(networks, Map):
        return
    shared = _external_networks(service.project)
    for name in networks:
        if name in shared:
            yield Hit(f"{database.label} joins the external network `{name}`: every container "
                      "on it can reach the database directly", networks.loc_of(name),
                      resource=f"network:{name}", evidence=f"networks: {name}",
                      fix=f"remove `{name}` from this service's networks; keep it on a "
                          "stack-internal network that only its application joins")


# --- provers: what shows the items hold ---------------------------------------------------

def _published_beyond_loopback(service: Service) -> list[Port] | None:
    """The ports the service publishes on other addresses than loopback; None when a port
    entry could not be read (its address or number unknown)."""
    mode = str(service.get("network_mode", ""))
    if mode == "host":
        return None              # every listening port is on the host's own interfaces
    ports = []
    for port in service.ports:
        if not port.target_ports or (port.host_ip and "$" in port.host_ip):
            return None
        if not port.on_loopback:
            ports.append(port)
    return ports


def _nothing_published(service: Service, settings):
    if not runnable(service):
        return None
    ports = _published_beyond_loopback(service)
    if ports is None:
        return None
    if not ports:
        return "publishes no port beyond loopback" if service.ports else "publishes no port"
    if _is_proxy(service, settings):
        facing = set(settings.internet_facing_ports)
        if all(set(p.published_ports) <= facing for p in ports if p.published):
            return "the reverse proxy publishes only " + ", ".join(
                sorted({str(n) for p in ports for n in p.published_ports}))
    return None


prover("NET001", "3.1.1")(_nothing_published)
prover("NET001", "3.2.4")(_nothing_published)
prover("NET003", "3.1.4")(_nothing_published)
by_silence("NET002", "3.1.5", complete=runnable,
           note="no database port published on every interface")
