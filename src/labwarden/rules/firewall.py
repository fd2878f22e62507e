"""Rules about a host's firewall and what it lets in (checklist 3.1 and 3.4).

They read `HostFacts` (listening sockets and the firewall model of one host) and
`HostExposure` (that host with the ports its Compose projects publish) and ask the firewall
evaluator of `labwarden.sources.firewall` what happens to a new connection from the
Internet. Nothing is reported when the firewall could not be read (the probe reports that
as a diagnostic): a missing fact is not a finding.
"""

from __future__ import annotations

from labwarden.model import Hit, Impact, Severity
from labwarden.knowledge import images as _images
from labwarden.knowledge.ports import PortClass, classify
from labwarden.rules._prove import by_silence
from labwarden.rules.registry import prover, rule
from labwarden.sources.firewall import Decision, base_chains
from labwarden.sources.live.host import HostExposure, HostFacts, PublishedPort, published_by_docker
from labwarden.sources.live.ports import PortScan

FIREWALL_RELOAD = Impact("none", (0, 5))
SERVICE_RESTART = Impact("service", (1, 2))
DNAT = ("Docker publishes ports with DNAT in PREROUTING, so the packet goes through the "
        "FORWARD chain, never INPUT")
# UDP sockets of clients, not services: DHCP clients and mDNS (link-local by design).
CLIENT_SOCKETS = frozenset({("udp", 68), ("udp", 546), ("udp", 5353)})
_FAMILY_LABEL = {"ipv4": "IPv4", "ipv6": "IPv6"}


def _reason(decision: Decision) -> str:
    return decision.reasons[0] if decision.reasons else "no firewall rule on this path"


def _families(host: HostFacts) -> list[str]:
    return [f for f in host.families if host.firewall.has_family(f)]


def _iface(host: HostFacts) -> str:
    return host.default_interface or "eth0"


def _policy_location(host: HostFacts, family: str, hook: str):
    for table, chain in base_chains(host.firewall, family, hook):
        return host.location_of(table.source, chain.line)
    return host.location


# --- NET100 ----------------------------------------------------------------------------------

_DEFAULT_DENY_FIX = """Allow what the host needs first, then make the default a drop (as root,
from the console or with a rollback timer: a mistake locks you out):

iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -A INPUT -i lo -j ACCEPT
iptables -A INPUT -p tcp -s 192.168.2.0/24 --dport 22 -j ACCEPT   # your management network
iptables -A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT   # on the reverse proxy only
iptables -P INPUT DROP
iptables -P FORWARD DROP
netfilter-persistent save        # Debian: apt install iptables-persistent

The same for IPv6 with ip6tables (or one `table inet filter` in /etc/nftables.conf with
`policy drop;` on its input chain)."""


@rule("NET100", "firewall-default-allow", Severity.HIGH,
      title="Inbound traffic is allowed by default", on=HostFacts,
      checklist=["3.4.3", "3.4.4"], refs=["CIS Distribution Independent Linux 3.5",
                                          "NIST SP 800-41r1", "CWE-284"],
      impact=FIREWALL_RELOAD)
def firewall_default_allow(host: HostFacts, settings):
    """Reports a host whose firewall lets in a new connection from the Internet to a port
    that no rule names: the INPUT path (every base chain of the prerouting and input hooks,
    iptables and nftables together) ends in ACCEPT, by policy or by a catch-all rule. The
    FORWARD path is checked too when the host forwards packets (ip_forward=1). IPv4 and
    IPv6 are checked apart: an IPv6 side left open is a common hole.

    A default DROP or REJECT, a final catch-all drop (firewalld's `reject with icmpx`) or a
    frontend such as ufw with `default deny incoming` all pass.

    Why it matters:
    With a default allow, every service started later is reachable from every network the
    host is on, unnoticed: a test database, a debug port, a new container in host network
    mode. Default deny makes exposure a decision.

    Example:
    ```
    *filter
    :INPUT ACCEPT [0:0]
    :FORWARD ACCEPT [0:0]
    :OUTPUT ACCEPT [0:0]
    COMMIT
    ```

    Fix:
    Accept established traffic, loopback and the services the host offers, then set the
    default to drop: `iptables -P INPUT DROP` (and `ip6tables -P INPUT DROP`), or `policy
    drop;` on the input chain of an nftables `table inet filter`; persist the rules.
    """
    firewall = host.firewall
    if not firewall.available:
        return
    query = host.query()
    for family in _families(host):
        decision = query.default(family, "input")
        if not decision.accepted:
            continue
        label = _FAMILY_LABEL[family]
        empty = not any(chain.rules or chain.policy == "drop"
                        for hook in ("prerouting", "input")
                        for _, chain in base_chains(firewall, family, hook))
        if empty:
            message = f"no firewall rules ({label}): every port of the host accepts new " \
                      "connections from any address"
        else:
            message = f"new inbound {label} connections to ports no rule names are " \
                      f"accepted: the input path ends in {_reason(decision)}"
        yield Hit(message, _policy_location(host, family, "input"),
                  resource=f"input/{family}", evidence=_reason(decision),
                  fix=_DEFAULT_DENY_FIX, checklist=("3.4.3", "3.4.4") if empty else ("3.4.4",))
    if host.ip_forward and firewall.has_family("ipv4"):
        decision = query.default("ipv4", "forward")
        if decision.accepted:
            yield Hit("the host forwards packets (ip_forward=1) and new forwarded connections "
                      f"are accepted by default: {_reason(decision)}",
                      _policy_location(host, "ipv4", "forward"), resource="forward/ipv4",
                      evidence=_reason(decision),
                      fix="`iptables -P FORWARD DROP` (Docker sets this itself when it starts; "
                          "accept only the forwarding you need), or `policy drop;` on the "
                          "forward chain of your nftables table",
                      checklist=("3.4.4",))


# --- NET101 ----------------------------------------------------------------------------------

@rule("NET101", "firewall-drops-loopback-or-replies", Severity.MEDIUM,
      title="Default-deny firewall drops loopback traffic or replies", on=HostFacts,
      checklist=["3.4.3"], refs=["NIST SP 800-41r1"], impact=FIREWALL_RELOAD)
def firewall_drops_loopback_or_replies(host: HostFacts, settings):
    """Reports a default-deny firewall that lacks one of the two rules that must come before
    the drop: accept loopback traffic (`-i lo -j ACCEPT`), and accept the replies to
    connections the host opened (`-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`).
    The check follows the packet through every chain, so a rule in a user chain (ufw's
    `ufw-before-input`, firewalld's zones) counts.

    Why it matters:
    Without the loopback rule, services that talk to each other over 127.0.0.1 (a database
    and its application, a local DNS resolver) fail; without the state rule, replies to the
    host's own connections (package updates, DNS, NTP, outgoing API calls) are dropped.
    Such breakage is usually "fixed" by switching the firewall off.

    Example:
    ```
    table inet filter {
      chain input {
        type filter hook input priority filter; policy drop;
        tcp dport 22 accept
      }
    }
    ```

    Fix:
    Put these first in the input chain: `iptables -I INPUT 1 -i lo -j ACCEPT` and
    `iptables -I INPUT 2 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` (nftables:
    `iif "lo" accept` and `ct state established,related accept`).
    """
    if not host.firewall.available:
        return
    query = host.query()
    for family in _families(host):
        if not query.default(family, "input").dropped:
            continue                      # NET100's business
        label = _FAMILY_LABEL[family]
        where = _policy_location(host, family, "input")
        loop = query.loopback(family, 5432)
        if loop.dropped:
            yield Hit(f"{label} loopback traffic is dropped by the default-deny input path "
                      f"({_reason(loop)}): local services cannot reach each other",
                      where, resource=f"loopback/{family}", evidence=_reason(loop),
                      fix=("iptables" if family == "ipv4" else "ip6tables") +
                      " -I INPUT 1 -i lo -j ACCEPT   (nftables: iif \"lo\" accept)")
        reply = query.established_reply(family)
        if reply.dropped:
            yield Hit(f"{label} replies to the host's own connections are dropped "
                      f"({_reason(reply)}): no accept for established/related traffic before "
                      "the default drop", where, resource=f"established/{family}",
                      evidence=_reason(reply),
                      fix=("iptables" if family == "ipv4" else "ip6tables") +
                      " -I INPUT 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT   "
                      "(nftables: ct state established,related accept)")


# --- NET102 ----------------------------------------------------------------------------------

def _port_class(port: int, image: str | None = None) -> PortClass | None:
    return classify(image, [port])


def _class_severity(kind: PortClass | None, default: Severity) -> Severity | None:
    if kind is None:
        return None
    if kind.severity is not None:
        return kind.severity
    return default


def _class_items(kind: PortClass | None) -> tuple[str, ...]:
    if kind is None:
        return ()
    return ("3.1.5",) if kind.kind in ("database", "broker") else ("3.1.4",)


@rule("NET102", "listener-not-firewalled", Severity.MEDIUM,
      title="Service listening on the network is not firewalled", on=HostFacts,
      checklist=["3.1.1", "3.1.2", "3.1.4", "3.1.5"],
      refs=["CIS Distribution Independent Linux 3.5", "CWE-668"], impact=FIREWALL_RELOAD)
def listener_not_firewalled(host: HostFacts, settings):
    """Reports a service listening on every interface (or on a non-loopback address) that
    the firewall lets anyone reach: a new connection from the Internet to its port is
    accepted on the input path. The internet-facing ports of the policy (80 and 443 by
    default) are expected. Databases and administration interfaces (PostgreSQL, MySQL,
    Redis, the Docker API, Proxmox…) are HIGH, the Docker API without TLS CRITICAL.

    Ports Docker publishes (docker-proxy, or a DNAT rule in the nat table) are not judged
    here: their packets never see INPUT, NET103 judges them. DHCP client and mDNS sockets
    are not services and are skipped.

    Why it matters:
    A service bound to 0.0.0.0 with no firewall rule in front of it is one
    misconfiguration away from the Internet (a port forward, a moved VM, IPv6); databases
    and admin panels are scanned for continuously.

    Example:
    ```
    tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:* users:(("postgres",pid=812,fd=6))
    ```
    with `:INPUT ACCEPT` and no rule for 5432.

    Fix:
    Bind the service to 127.0.0.1 (or the one address its clients use), or allow only its
    clients and drop the rest: `iptables -A INPUT -p tcp -s 192.168.2.101 --dport 5432 -j
    ACCEPT` before a default `iptables -P INPUT DROP`.
    """
    if host.listeners is None or not host.firewall.available:
        return
    facing = set(settings.internet_facing_ports)
    families = set(_families(host))
    groups: dict[tuple[str, int], list] = {}
    for listener in host.listeners:
        if not listener.reachable_from_network or listener.port in facing:
            continue
        if (listener.proto, listener.port) in CLIENT_SOCKETS:
            continue
        if published_by_docker(host, listener):
            continue
        groups.setdefault((listener.proto, listener.port), []).append(listener)
    query = host.query()
    for (proto, port), listeners in sorted(groups.items()):
        wanted = set()
        for listener in listeners:
            wanted |= {"ipv4", "ipv6"} if listener.family == "any" else {listener.family}
        decision = None
        for family in sorted(wanted & families):
            result = query.inbound(family, proto, port)
            if result.accepted:
                decision = (family, result)
                break
        if decision is None:
            continue
        family, result = decision
        kind = _port_class(port)
        processes = sorted({x.process for x in listeners if x.process})
        what = f"{kind.label} " if kind else ""
        who = f" ({', '.join(processes)})" if processes else ""
        where = ", ".join(sorted({str(x).split(" ", 1)[1] for x in listeners}))
        severity = _class_severity(kind, Severity.HIGH)
        yield Hit(f"{what}{proto}/{port}{who} listens on {where} and the firewall accepts new "
                  f"{_FAMILY_LABEL[family]} connections to it from any address: "
                  f"{_reason(result)}", host.location, resource=f"listen:{proto}/{port}",
                  evidence=_reason(result), severity=severity,
                  fix=f"bind it to 127.0.0.1 if only this host uses it; otherwise allow its "
                      f"clients only: `iptables -A INPUT -p {proto} -s <client network> "
                      f"--dport {port} -j ACCEPT` before a default `iptables -P INPUT DROP`",
                  checklist=("3.1.1", "3.1.2") + _class_items(kind))


# --- NET103 ----------------------------------------------------------------------------------

def _is_proxy(port: PublishedPort, settings) -> bool:
    return bool(port.service) and (port.service in settings.proxy_services or
                                   _images.matches(port.image, settings.proxy_images))


def _ineffective_hint(host: HostFacts, port: PublishedPort) -> str:
    """A DOCKER-USER rule that names the published port with --dport although the chain sees
    the container port, or a drop placed after an unconditional RETURN."""
    chain = host.firewall.docker_user("ipv4")
    if chain is None:
        return " There is no DOCKER-USER chain in the ruleset."
    hints = []
    returned = False
    for fw_rule in chain.rules:
        if fw_rule.action == "return" and not fw_rule.conds:
            returned = True
            continue
        if fw_rule.action not in ("drop", "reject"):
            continue
        names_port = any(c.kind == "dport" and not c.negated and _covers(c.values, port.port)
                         for c in fw_rule.conds)
        if not names_port:
            continue
        if returned:
            hints.append(f" `{fw_rule.text}` comes after an unconditional RETURN and is never "
                         "reached.")
        elif port.port != port.target:
            hints.append(f" `{fw_rule.text}` matches --dport {port.port}, but DOCKER-USER sees "
                         f"the packet after DNAT, addressed to container port {port.target}: "
                         f"match the published port with `-m conntrack --ctorigdstport "
                         f"{port.port} --ctdir ORIGINAL`.")
    return "".join(hints[:2])


def _covers(spans: tuple[str, ...], number: int | None) -> bool:
    if number is None:
        return False
    for span in spans:
        if span.startswith("?"):
            continue
        low, _, high = span.partition("-")
        if int(low) <= number <= int(high or low):
            return True
    return False


def _docker_user_fix(host: HostFacts, port: PublishedPort) -> str:
    iface = _iface(host)
    proto = port.protocol
    published = port.port or "<published port>"
    bind = f"\"127.0.0.1:{port.port or ''}:{port.target}{'' if proto == 'tcp' else '/' + proto}\""
    return (
        f"Drop it in DOCKER-USER, matching the published port (DOCKER-USER sees the container "
        f"port after DNAT):\n"
        f"iptables -I DOCKER-USER -i {iface} -p {proto} -m conntrack --ctorigdstport "
        f"{published} --ctdir ORIGINAL -j DROP\n"
        f"or, to keep it reachable from the LAN only:\n"
        f"iptables -I DOCKER-USER -i {iface} ! -s 192.168.2.0/24 -p {proto} -m conntrack "
        f"--ctorigdstport {published} --ctdir ORIGINAL -j DROP\n"
        f"and persist the rules (netfilter-persistent save). Better still, publish it on "
        f"loopback only ({bind}) and reach it through the reverse proxy or an SSH tunnel. "
        f"Do not set `\"iptables\": false` in daemon.json: it breaks container networking and "
        f"removes the isolation rules.")


@rule("NET103", "published-port-bypasses-firewall", Severity.HIGH,
      title="Published container port exposed despite the host firewall", on=HostExposure,
      checklist=["3.1.1", "3.1.2", "3.1.4", "3.1.5", "3.4.3"],
      refs=["Docker docs: Packet filtering and firewalls", "CIS Docker Benchmark 5.14",
            "CWE-668"], impact=FIREWALL_RELOAD)
def published_port_bypasses_firewall(exposure: HostExposure, settings):
    """Reconciles the ports Compose publishes with the host's real firewall: every port
    bound to a non-loopback address must either be on the internet-facing allow-list of
    the reverse proxy (80 and 443 by default) or be dropped by an effective DOCKER-USER
    rule (or another rule on the forward path, e.g. an nftables forward chain). INPUT rules
    do not count: Docker's DNAT sends the packet through FORWARD. HIGH; CRITICAL for a
    database or the Docker API.

    The evaluator follows the DNATed packet as netfilter does: a DOCKER-USER rule on
    `--dport` sees the container port, `-m conntrack --ctorigdstport` the published one; a
    rule after an unconditional RETURN is never reached; a rule limited to some source
    addresses does not stop the rest of the Internet. Ports Docker publishes that no audited
    Compose file accounts for are judged too, located at the host. Both address families:
    an IPv6 DNAT rule is followed like the IPv4 one; without one, docker-proxy listening on
    `[::]` answers IPv6 itself, on ip6tables' INPUT path, which DOCKER-USER (IPv4) never
    sees: reported when the host has a global IPv6 address and that path accepts the port.

    Why it matters:
    This is the classic Docker hole: the host firewall says DROP, `ufw status` looks right,
    and the database published with `5432:5432` is reachable from everywhere, because the
    published port never goes through INPUT.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16
        ports:
          - "5432:5432"     # with INPUT policy DROP and an empty DOCKER-USER chain
    ```

    Fix:
    Publish on loopback (`"127.0.0.1:5432:5432"`) or not at all, or drop it in DOCKER-USER
    on the published port: `iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack
    --ctorigdstport 5432 --ctdir ORIGINAL -j DROP`. Never `"iptables": false`.
    """
    host = exposure.host
    firewall = host.firewall
    if not firewall.has_family("ipv4"):
        return
    facing = set(settings.internet_facing_ports)
    query = host.query()
    v6_published = {(d.proto, d.dport) for d in firewall.dnats if d.family == "ipv6"}
    # Without an IPv6 DNAT rule, Docker's userland proxy answers IPv6 itself: docker-proxy
    # listening on [::] takes the connection on the INPUT path of ip6tables, which
    # DOCKER-USER (an IPv4 chain) never sees. Judged when the host has a global IPv6
    # address to be reached on and its IPv6 rules were read.
    v6_proxied = _docker_proxy_v6(host) if firewall.has_family("ipv6") else {}
    # Without any Docker DNAT rule or DOCKER-USER chain in the ruleset, the ports are not
    # published by rootful Docker's iptables rules (rootless Docker and Podman forward them
    # through a host process): then INPUT is the path that filters them.
    dnat = bool(firewall.dnats) or firewall.docker_user("ipv4") is not None
    for port in exposure.ports:
        if port.port is not None and port.port in facing and (
                _is_proxy(port, settings) or not port.service):
            continue
        if not dnat:
            if port.port is None:
                continue
            decision = query.inbound("ipv4", port.protocol, port.port)
            over = ""
            if decision.dropped:
                # The host process (rootlesskit, rootlessport, pasta) may listen on [::] as
                # well: IPv6 then goes through ip6tables' INPUT, which may not drop it.
                listening = _host_v6_listeners(host).get((port.protocol, port.port)) \
                    if firewall.has_family("ipv6") else None
                if listening is None:
                    continue
                decision = query.inbound("ipv6", port.protocol, port.port)
                if decision.dropped:
                    continue
                over = f" over IPv6 at {listening[1]} ({listening[0]})"
            kind = _port_class(port.target, port.image) or _port_class(port.port)
            yield Hit(f"service {port.service or '?'} publishes {port}, and no Docker DNAT "
                      f"rule is in this host's firewall (rootless Docker or Podman forward "
                      f"through a host process): the input path{over} "
                      f"{'accepts' if decision.accepted else 'may accept'} it "
                      f"({_reason(decision)})", port.location,
                      resource=f"{port.asset}:{port.resource}", evidence=port.spec or str(port),
                      severity=None if decision.accepted else Severity.MEDIUM,
                      fix=f"publish it on 127.0.0.1 only, or drop it on INPUT: `iptables -A "
                          f"INPUT -p {port.protocol} --dport {port.port} -j DROP` (after the "
                          f"rules that allow its clients)",
                      checklist=("3.1.1", "3.1.2", "3.4.3") + _class_items(kind))
            continue
        decisions = [("ipv4", query.forwarded("ipv4", port.protocol, port.port, port.target,
                                               port.container_ip, port.bridge))]
        if (port.protocol, port.port) in v6_published and firewall.has_family("ipv6"):
            decisions.append(("ipv6", query.forwarded("ipv6", port.protocol, port.port,
                                                      port.target)))
        elif port.port is not None and (port.protocol, port.port) in v6_proxied:
            decisions.append(("ipv6-proxy", query.inbound("ipv6", port.protocol, port.port)))
        accepted = [(f, d) for f, d in decisions if d.accepted]
        uncertain = [(f, d) for f, d in decisions if not d.accepted and not d.dropped]
        if not accepted and not uncertain:
            continue
        kind = _port_class(port.target, port.image)
        if kind is None and port.port:
            kind = _port_class(port.port)
        what = f"{kind.label} port" if kind else "port"
        owner = f"service {port.service}" if port.service else "a container (no audited " \
            "Compose file publishes it)"
        input_drops = port.port is not None and query.inbound(
            "ipv4", port.protocol, port.port).dropped
        despite = " although the INPUT chain would drop it" if input_drops else ""
        if accepted:
            family, decision = accepted[0]
            severity = Severity.CRITICAL if kind is not None and (
                kind.kind == "database" or kind.severity == Severity.CRITICAL) else None
            if family == "ipv6-proxy" and port.port is not None:
                listener, address = v6_proxied[(port.protocol, port.port)]
                message = (f"{owner} publishes {what} {port}, and it is reachable over IPv6 "
                           f"at {address}: docker-proxy listens on {listener} and the IPv6 "
                           f"input path accepts it ({_reason(decision)}); DOCKER-USER filters "
                           f"IPv4 only. {DNAT}.")
            else:
                message = (f"{owner} publishes {what} {port} on a non-loopback address and "
                           f"nothing on the forward path drops it: it is reachable from any "
                           f"address{despite}. {DNAT}." + _ineffective_hint(host, port))
        else:
            decision = uncertain[0][1]
            severity = Severity.MEDIUM
            message = (f"{owner} publishes {what} {port}; whether the forward path drops it "
                       f"depends on conditions the audit cannot decide "
                       f"({'; '.join(decision.reasons[:2])}). {DNAT}.")
        yield Hit(message, port.location, resource=f"{port.asset}:{port.resource}",
                  evidence=port.spec or str(port), severity=severity,
                  fix=_docker_user_fix(host, port),
                  checklist=("3.1.1", "3.1.2", "3.4.3") + _class_items(kind))


def _docker_proxy_v6(host: HostFacts) -> dict[tuple[str, int], tuple[str, str]]:
    """(proto, port) -> (the docker-proxy socket, a global IPv6 address of the host) for the
    ports docker-proxy accepts IPv6 on, when the host has such an address and IPv6 on."""
    return _host_v6_listeners(host, "docker-proxy")


def _host_v6_listeners(host: HostFacts, process: str | None = None
                       ) -> dict[tuple[str, int], tuple[str, str]]:
    """(proto, port) -> (the listening socket, a global IPv6 address of the host) for the
    ports a host process (`process`, or any) accepts IPv6 on from the network, when the host
    has such an address and IPv6 on."""
    if host.ipv6_disabled or not host.listeners:
        return {}
    address = next((a for a in host.addresses or () if _global_v6(a)), None)
    if address is None:
        return {}
    return {(x.proto, x.port): (str(x).split(" ", 1)[1], address) for x in host.listeners
            if (process is None or x.process == process) and x.family in ("ipv6", "any")
            and x.reachable_from_network}


def _global_v6(text: str) -> bool:
    import ipaddress

    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == 6 and address.is_global


# --- NET104 / NET105: what a port scan finds open --------------------------------------------

DEFAULT_EXPECTED_OPEN = (22,)      # SSH: expected on the management network (seed 3.1)


def _expected_open(settings) -> set[int]:
    extra = getattr(settings, "expected_open_ports", None)
    return set(settings.internet_facing_ports) | set(
        DEFAULT_EXPECTED_OPEN if extra is None else extra)


@rule("NET104", "scan-database-or-admin-port-open", Severity.HIGH,
      title="Port scan finds a database or administration port open", on=PortScan,
      checklist=["3.1.3", "3.1.4", "3.1.5", "9.2.1"], refs=["CWE-668", "OWASP ASVS 14.1"],
      impact=FIREWALL_RELOAD)
def scan_database_or_admin_port_open(scan: PortScan, settings):
    """Reports each port of a TCP connect scan (`tcp://host`) that accepts connections and
    is a database, cache, message broker or administration interface by its number
    (PostgreSQL 5432, MySQL 3306, MongoDB 27017, Redis 6379, Elasticsearch 9200, Proxmox
    8006, the Docker API 2375/2376…), or by the protocol another probe heard there (the
    default-credential check speaking PostgreSQL on any port). Databases and the Docker API
    without TLS are CRITICAL, the rest HIGH.

    Why it matters:
    The scan shows what is actually reachable from where it ran, whatever the Compose files
    and firewall rules intend. Databases and admin interfaces are the first thing attackers
    look for; the seed requires them to be unreachable from the network.

    Example:
    `labwarden audit tcp://db.lab` finds 5432 open.

    Fix:
    Bind the service to loopback or to the one address its clients use, or drop the port in
    the firewall (for a Docker-published port in DOCKER-USER: `iptables -I DOCKER-USER -p
    tcp -m conntrack --ctorigdstport 5432 --ctdir ORIGINAL -j DROP`), then scan again.
    """
    for port in scan.open:
        # the number, or what answered there (PostgreSQL on 15432 is still a database)
        kind = _port_class(port, scan.identified.get(port))
        if kind is None:
            continue
        severity = kind.severity or (Severity.CRITICAL if kind.kind == "database" else None)
        yield Hit(f"{kind.label} port {port} is open on {scan.host}"
                  f"{f' ({scan.address})' if scan.address and scan.address != scan.host else ''}"
                  f": reachable from where the scan ran", scan.location,
                  resource=f"open:{port}", evidence=f"tcp/{port} open", severity=severity,
                  fix=f"bind the {kind.label} service to 127.0.0.1 or the one address its "
                      f"clients use, or drop tcp/{port} in the host firewall (DOCKER-USER for a "
                      f"published container port)",
                  checklist=("3.1.3", "9.2.1") + _class_items(kind))


@rule("NET105", "scan-unexpected-open-port", Severity.MEDIUM,
      title="Port scan finds unexpected open ports", on=PortScan,
      checklist=["3.1.1", "3.1.2", "3.1.3", "9.2.1"], refs=["CWE-1327"],
      impact=FIREWALL_RELOAD)
def scan_unexpected_open_port(scan: PortScan, settings):
    """Reports the open ports of a TCP connect scan that the policy does not expect: not
    internet-facing (80 and 443 by default), not SSH (22, expected on the management
    network; `expected_open_ports` in the policy changes the list), and not a database or
    admin port (NET104's). All of one host's unexpected ports make one finding.

    Why it matters:
    Every open port is attack surface; the seed asks that a port scan show no unexpected
    open port before a service is deployed. An unexpected port is often a forgotten test
    container, a debug endpoint or a service published with `ports:` instead of going
    through the reverse proxy.

    Example:
    `labwarden audit tcp://app.lab` finds 8080 and 9000 open.

    Fix:
    Close each port that is not needed (remove the `ports:` entry, bind to 127.0.0.1, stop
    the service) or drop it in the firewall; list the ones that are intended in the policy's
    `expected_open_ports`.
    """
    expected = _expected_open(settings)
    unexpected = [p for p in scan.open if p not in expected
                  and _port_class(p, scan.identified.get(p)) is None]
    if not unexpected:
        return
    listed = ", ".join(str(p) for p in unexpected)
    yield Hit(f"{len(unexpected)} unexpected open port(s) on {scan.host}: {listed}",
              scan.location, resource="unexpected-open", evidence=f"open: {listed}",
              fix="close the ports that are not needed (remove `ports:`, bind to 127.0.0.1, or "
                  "drop them in the firewall) and list the intended ones in the policy's "
                  "`expected_open_ports`")


# --- provers: what shows the items hold ---------------------------------------------------

def _firewall_read(host: HostFacts) -> bool:
    """Both address families' rules were read (an empty ruleset counts: it is a fact)."""
    return host.error is None and host.firewall.has_family("ipv4") and (
        host.ipv6_disabled is True or host.firewall.has_family("ipv6"))


def _rules_read(host: HostFacts) -> str:
    read = [command for command, ok in host.firewall.collected.items() if ok]
    return "read from " + ", ".join(read)


by_silence("NET100", "3.4.4", complete=_firewall_read,
           note=lambda host: f"inbound default deny ({_rules_read(host)})")


@prover("NET100", "3.4.3")
def firewall_rules_present(host: HostFacts, settings):
    if not _firewall_read(host) or not any(chain.rules for table in host.firewall.tables
                                           for chain in table.chains.values()):
        return None
    return f"firewall rules present ({_rules_read(host)})"


by_silence("NET102", "3.1.2", complete=lambda host: _firewall_read(host) and
           host.listeners is not None,
           note="every listening port is on loopback or firewalled")


def _scanned(scan: PortScan) -> bool:
    return scan.error is None


by_silence("NET105", "3.1.3", "9.2.1", also=("NET104",), complete=_scanned,
           note=lambda scan: f"TCP scan of {scan.host}: open "
           + (", ".join(map(str, scan.open)) or "none") + ", none unexpected")
