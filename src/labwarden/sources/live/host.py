"""The `host` probe: what a host listens on and how its firewall filters, collected through
a `Transport` (this machine, a remote host over SSH, or a saved snapshot) with read-only
commands and file reads only.

Facts:
  * `HostFacts`   listening sockets (`ss -tulpn`), the firewall model (`iptables-save`,
                  `ip6tables-save`, `nft -j list ruleset` or else `nft list ruleset`), the
                  interfaces, addresses and default route, IP forwarding; the sshd
                  configuration (`sshd -T`) goes to `labwarden.sources.sshd_config` and is
                  returned as that module's fact;
  * `HostExposure` a host paired with the ports the Compose projects deployed on it
                  publish: `build_exposure(host, services)`; the engine builds it.

This module depends on `labwarden.sources.firewall` (the rulesets and the evaluator), never
the other way round.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from dataclasses import dataclass, field

from labwarden.model import Diagnostic, Location
from labwarden.sources.firewall import Dnat, Firewall, NftJsonError, PathQuery, parse_rulesets
from labwarden.sources.live.transport import (
    NOT_FOUND,
    CommandResult,
    HostKeyError,
    LocalTransport,
    SnapshotError,
    SnapshotTransport,
    SshTransport,
    Transport,
    snapshot_name,
)
from labwarden.sources.sockets import Listener, parse_ss

FIREWALL_COMMANDS = (("iptables-save", ["iptables-save"]),
                     ("ip6tables-save", ["ip6tables-save"]),
                     ("nft", ["nft", "list", "ruleset"]))
# nftables as JSON: read instead of the text where the host (or the snapshot) has it
NFT_JSON_COMMAND = ["nft", "-j", "list", "ruleset"]


@dataclass(slots=True)
class HostFacts:
    target: str                                  # as the user wrote it
    name: str = ""                               # the host's name in the asset
    transport: str = "local"                     # local | ssh | snapshot
    listeners: list[Listener] | None = None      # None: ss could not be read
    firewall: Firewall = field(default_factory=Firewall)
    interfaces: tuple[str, ...] | None = None    # from /proc/net/dev
    default_interface: str | None = None         # from /proc/net/route
    addresses: tuple[str, ...] | None = None     # the host's own addresses
    ip_forward: bool | None = None
    ipv6_disabled: bool | None = None
    hostname: str | None = None
    # openssh-server as the package manager reports it: "dpkg 1:9.2p1-2+deb12u3",
    # "rpm 8.7p1-38.el9"; "" when neither knows it
    ssh_package: str = ""
    error: str | None = None
    diagnostics: list = field(default_factory=list)
    origin: Location | None = None               # where the facts were described (fixtures)

    @property
    def asset(self) -> str:
        return f"host:{self.name or self.hostname or self.target}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)

    def query(self) -> PathQuery:
        return PathQuery(self.firewall, self.interfaces, self.addresses)

    def location_of(self, command: str, line: int) -> Location:
        """Where a rule came from: the snapshot file and line, else the target."""
        path = self.firewall.paths.get(command)
        return Location(path, line) if path else self.location

    @property
    def families(self) -> tuple[str, ...]:
        return ("ipv4",) if self.ipv6_disabled else ("ipv4", "ipv6")


@dataclass(slots=True)
class PublishedPort:
    """A host port a container publishes on a non-loopback address."""

    port: int | None                 # the host port; None: Docker picks one
    target: int                      # the container port
    protocol: str
    host_ip: str | None              # None: every address
    location: Location
    asset: str                       # the Compose service's asset, or the host's
    service: str = ""                # Compose service name ("" when only the DNAT is known)
    image: str | None = None
    spec: str = ""
    container_ip: str | None = None  # from Docker's DNAT rule, when found
    bridge: str | None = None

    @property
    def resource(self) -> str:
        return f"published:{self.port or ''}:{self.target}/{self.protocol}"

    def __str__(self) -> str:
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        where = f"{self.host_ip}:" if self.host_ip and self.host_ip not in ("0.0.0.0", "::") \
            else ""
        return f"{where}{self.port or '(random)'}:{self.target}{proto}"


@dataclass(slots=True)
class HostExposure:
    """A host and the ports the Compose projects deployed on it publish (plus the ports its
    Docker publishes that no audited Compose file accounts for)."""

    host: HostFacts
    ports: list[PublishedPort] = field(default_factory=list)
    diagnostics: list = field(default_factory=list)

    @property
    def asset(self) -> str:
        return self.host.asset

    @property
    def location(self) -> Location:
        return self.host.location


# --- collection ------------------------------------------------------------------------------

def transport_for(target, options) -> Transport:
    given = getattr(options, "transport", None)
    if given is not None:           # `labwarden collect` records what the probes run
        return given
    timeout = max(float(getattr(options, "timeout", 5.0)), 1.0)
    if target.scheme == "local":
        return LocalTransport(timeout=timeout * 2)
    if target.scheme == "snapshot":
        return SnapshotTransport(target.path)
    if target.scheme == "ssh":
        return SshTransport(target.host, target.port or 22, target.user,
                            key_path=options.ssh_key, known_hosts=options.ssh_known_hosts,
                            accept_unknown_host=getattr(options, "ssh_accept_unknown_host",
                                                        False),
                            timeout=timeout, sudo=getattr(options, "ssh_sudo", False))
    raise ValueError(f"no host transport for {target.scheme}://")


def _name(target, options=None) -> str:
    """The host's name in its assets: the inventory's name for it when the audit took it
    from the inventory (`ProbeOptions.host_names`), else what the target says."""
    named = (getattr(options, "host_names", None) or {}).get(target.raw)
    if named:
        return named
    if target.scheme == "snapshot":
        return snapshot_name(target.path)
    if target.scheme == "local":
        return "local"
    return target.host


async def probe(target, options):
    """HostFacts for local://, snapshot:DIR, ssh:// (with options.ssh_key); plus the sshd
    configuration fact when `labwarden.sources.sshd_config` is available. Never raises."""
    location = target.location
    facts = HostFacts(target.raw, _name(target, options), target.scheme)
    try:
        transport = transport_for(target, options)
    except SnapshotError as exc:
        return _failed(facts, "not-found", str(exc), location)
    except ValueError as exc:
        return _failed(facts, "unsupported", str(exc), location)
    try:
        async with transport:
            return await collect(transport, facts, location)
    except HostKeyError as exc:
        return _failed(facts, "host-key", str(exc), location)
    except (TimeoutError, OSError) as exc:
        return _failed(facts, "unreachable", f"cannot reach the host: "
                       f"{exc.strerror if getattr(exc, 'strerror', None) else type(exc).__name__}",
                       location)
    except Exception as exc:  # noqa: BLE001 - asyncssh errors and the like: never raise
        reason = getattr(exc, "reason", "") or type(exc).__name__
        code = "auth-failed" if type(exc).__name__ == "PermissionDenied" else "unreachable"
        return _failed(facts, code, f"cannot collect from the host: {reason}", location)


def _failed(facts: HostFacts, code: str, message: str, location: Location) -> HostFacts:
    facts.error = message
    facts.diagnostics.append(Diagnostic("error", code, message, location))
    return facts


# Which openssh-server is installed, per package manager (the first that knows it wins):
# the banner may hide the distribution build (`DebianBanner no`), the package cannot.
PACKAGE_MANAGERS = (("dpkg", ["dpkg-query", "-W", "-f=${Version}", "openssh-server"]),
                    ("rpm", ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "openssh-server"]),
                    ("apk", ["apk", "list", "--installed", "openssh-server"]))
PACKAGE_COMMANDS = [argv for _, argv in PACKAGE_MANAGERS]


def package_version(manager: str, output: str) -> str:
    """The version a package manager printed for openssh-server; "" for anything else.
    dpkg-query and rpm print the version alone; Alpine's `apk list --installed` prints
    `openssh-server-9.7_p1-r4 x86_64 {openssh} (…) [installed]`."""
    text = output.strip()
    if manager == "apk":
        first = text.split("\n", 1)[0].split(" ", 1)[0]
        if "[installed]" not in text or not first.startswith("openssh-server-"):
            return ""
        text = first[len("openssh-server-"):]
        if not text[:1].isdigit():      # openssh-server-pam-…: another package
            return ""
    if not text or len(text) >= 100 or "\n" in text or " " in text:
        return ""
    return text


async def collect(transport: Transport, facts: HostFacts, location: Location | None = None):
    """Fill `facts` through `transport`; returns [facts] or [facts, sshd fact]."""
    location = location or facts.location
    commands = ([["ss", "-tulpn"]] + [argv for _, argv in FIREWALL_COMMANDS] +
                [NFT_JSON_COMMAND, ["sshd", "-T"], ["sshd", "-t"], *PACKAGE_COMMANDS])
    files = ["/proc/net/dev", "/proc/net/route", "/proc/net/fib_trie", "/proc/net/if_inet6",
             "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/disable_ipv6",
             "/etc/hostname", "/etc/ssh/sshd_config"]
    # Over SSH, the connection is opened first and then every command and file read goes
    # at once, each on its own channel: a host costs one round of shell start-ups (its
    # login shell runs each command, rc files and all), not one per command.
    connect = getattr(transport, "connect", None)
    if callable(connect):
        await connect()
    results, contents = await asyncio.gather(
        asyncio.gather(*(transport.run(argv) for argv in commands)),
        asyncio.gather(*(transport.read_file(path) for path in files)))
    by_file = dict(zip(files, contents))

    ss, iptables, ip6tables, nft, nft_json, sshd, sshd_t, *packages = results
    # From a snapshot, what it does not hold was not collected there: a coverage gap, and
    # the rest is audited; unless it holds none of the host's outputs and files at all.
    partial_snapshot = getattr(transport, "name", "") == "snapshot" and (
        any(r.ok for r in results) or any(c is not None for c in contents))

    def level(*failed: CommandResult) -> str:
        return "gap" if partial_snapshot and all(_absent(r) for r in failed) else "error"

    for (manager, _), result in zip(PACKAGE_MANAGERS, packages):
        version = package_version(manager, result.stdout) if result.ok else ""
        if version:
            facts.ssh_package = f"{manager} {version}"
            break
    if ss.ok:
        facts.listeners = parse_ss(ss.stdout)
    else:
        facts.diagnostics.append(Diagnostic(
            level(ss), "not-collected", f"listening sockets not read: ss {_why(ss)}",
            location))

    facts.firewall, problems = _firewall(transport, (iptables, ip6tables, nft), nft_json,
                                         location)
    if not facts.firewall.available:
        why = "; ".join(f"{c} {_why(r)}" for (c, _), r in
                        zip(FIREWALL_COMMANDS, (iptables, ip6tables, nft)))
        gap = level(iptables, ip6tables, nft) == "gap"
        facts.diagnostics.append(Diagnostic(
            "gap" if gap else "error", "not-collected", f"the firewall could not be read "
            f"({why}): firewall rules not checked"
            f"{'' if gap else ' (reading rules needs root)'}", location))
    elif not facts.firewall.has_family("ipv6") and iptables.ok:
        facts.diagnostics.append(Diagnostic(
            "warning", "not-collected", f"IPv6 rules not read: ip6tables-save {_why(ip6tables)}",
            location))
    for warning in facts.firewall.warnings:
        facts.diagnostics.append(Diagnostic("warning", "partial", warning, location))
    facts.diagnostics.extend(problems)

    facts.interfaces = _interfaces(by_file["/proc/net/dev"])
    facts.default_interface = _default_interface(by_file["/proc/net/route"])
    facts.addresses = _addresses(by_file["/proc/net/fib_trie"], by_file["/proc/net/if_inet6"])
    facts.ip_forward = _flag(by_file["/proc/sys/net/ipv4/ip_forward"])
    facts.ipv6_disabled = _flag(by_file["/proc/sys/net/ipv6/conf/all/disable_ipv6"])
    hostname = by_file["/etc/hostname"]
    if hostname:
        facts.hostname = hostname.decode("utf-8", "replace").strip() or None

    found: list = [facts]
    if sshd.ok or by_file["/etc/ssh/sshd_config"] is not None:   # the host runs sshd
        sshd_fact = await _sshd_fact(transport, sshd, sshd_t, facts, location)
        if sshd_fact is not None:
            found.append(sshd_fact)
    for path, why in getattr(transport, "skipped", ()):
        facts.diagnostics.append(Diagnostic("error", "not-a-file", f"not read: {why}",
                                            Location(path)))
    return found


def _firewall(transport: Transport, results: tuple[CommandResult, ...],
              nft_json: CommandResult, location: Location) -> tuple[Firewall, list]:
    """The firewall model from the commands' outputs, and what went wrong reading them:
    nftables from its JSON when the host (or the snapshot) has it, else from the text; JSON
    that is not nft's is reported where it was read, and the text is read instead."""
    texts = {command: result.stdout if result.ok else None
             for (command, _), result in zip(FIREWALL_COMMANDS, results)}
    files = {command: os.path.join(transport.directory, name)
             for command, name in SnapshotTransport.FILES.items()} \
        if isinstance(transport, SnapshotTransport) else {}
    diagnostics: list = []
    firewall = None
    if nft_json.ok:
        try:
            firewall = parse_rulesets(texts["iptables-save"], texts["ip6tables-save"],
                                      nft_json=nft_json.stdout)
        except NftJsonError as exc:
            instead = "read nft list ruleset instead" if texts["nft"] is not None else \
                "nftables rules not read"
            diagnostics.append(Diagnostic(
                "warning", "parse-failed", f"nft -j list ruleset: {exc}; {instead}",
                Location(files["nft -j"]) if files else location))
        else:
            texts["nft"], files["nft"] = nft_json.stdout, files.get("nft -j")
    if firewall is None:
        firewall = parse_rulesets(texts["iptables-save"], texts["ip6tables-save"], texts["nft"])
    for (command, _), result in zip(FIREWALL_COMMANDS, results):
        read = texts[command] is not None
        firewall.collected[command] = read
        if read and files.get(command):
            firewall.paths[command] = files[command]
        if read and "legacy tables present" in result.stderr:
            firewall.warnings.append(f"{command}: iptables-legacy tables are present and "
                                     "were not read")
    return firewall, diagnostics


def _absent(result: CommandResult) -> bool:
    """The command's output is not in the snapshot (as opposed to there and unreadable)."""
    return result.rc == NOT_FOUND and result.stderr.rstrip().endswith("not in the snapshot")


def _why(result: CommandResult) -> str:
    message = (result.stderr.strip().splitlines() or [""])[-1][:160]
    if result.rc == NOT_FOUND:
        return "not available" + (f" ({message})" if message else "")
    return f"failed (exit {result.rc}{': ' + message if message else ''})"


async def _sshd_fact(transport: Transport, sshd: CommandResult, sshd_t: CommandResult,
                     facts: HostFacts, location: Location):
    """The sshd configuration fact, from `labwarden.sources.sshd_config`: its collector
    (sshd -T, sshd -t and the files, over the same transport) when it has one, else its
    `sshd -T` parser. None when that module is absent."""
    try:
        from labwarden.sources import sshd_config
    except ImportError:
        return None
    try:
        collector = getattr(sshd_config, "collect_sshd", None)
        if collector is not None:     # both ran already: one run each per host, not two
            return await collector(transport, host=facts.name, sshd_T=sshd, sshd_t=sshd_t)
        parse = getattr(sshd_config, "parse_sshd_T", None)
        if parse is not None and sshd.ok:
            return parse(sshd.stdout, host=facts.name)
    except Exception as exc:  # noqa: BLE001 - another module's bug must not end the probe
        facts.diagnostics.append(Diagnostic(
            "warning", "parse-failed", f"sshd configuration not read ({type(exc).__name__})",
            location))
    return None


def _interfaces(data: bytes | None) -> tuple[str, ...] | None:
    if not data:
        return None
    names = []
    for line in data.decode("utf-8", "replace").splitlines()[2:]:
        name, sep, _ = line.partition(":")
        if sep and name.strip():
            names.append(name.strip())
    return tuple(names) or None


def _default_interface(data: bytes | None) -> str | None:
    if not data:
        return None
    for line in data.decode("utf-8", "replace").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            return fields[0]
    return None


def _addresses(fib_trie: bytes | None, if_inet6: bytes | None) -> tuple[str, ...] | None:
    if fib_trie is None and if_inet6 is None:
        return None
    found: list[str] = []
    if fib_trie:
        previous = None
        for line in fib_trie.decode("utf-8", "replace").splitlines():
            text = line.strip()
            if text.startswith("|--"):
                previous = text[3:].strip()
            elif text.startswith("/32 host LOCAL") and previous and previous not in found:
                found.append(previous)
    if if_inet6:
        for line in if_inet6.decode("utf-8", "replace").splitlines():
            fields = line.split()
            if fields and len(fields[0]) == 32:
                try:
                    address = str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
                except ValueError:
                    continue
                if address not in found:
                    found.append(address)
    return tuple(found)


def _flag(data: bytes | None) -> bool | None:
    if data is None:
        return None
    text = data.decode("utf-8", "replace").strip()
    return None if text not in ("0", "1") else text == "1"


# --- pairing a host with the Compose projects deployed on it ---------------------------------

def _port_numbers(port) -> list[tuple[int | None, int]]:
    targets = port.target_ports
    published = port.published_ports
    if not targets:
        return []
    if not published:
        return [(None, t) for t in targets]
    if len(published) == len(targets):
        return list(zip(published, targets))
    if len(targets) == 1:                      # "8000-8010:80": one of the range, to 80
        return [(p, targets[0]) for p in published]
    return list(zip(published, targets))


def _reachable_ip(host_ip: str | None) -> bool:
    if host_ip in (None, "", "0.0.0.0", "::", "[::]", "*"):
        return True
    try:
        return not ipaddress.ip_address(host_ip.strip("[]")).is_loopback
    except ValueError:
        return host_ip != "localhost"


def build_exposure(host: HostFacts, services) -> HostExposure:
    """Pair a host with the Compose services deployed on it: every port a service publishes
    on a non-loopback address, with the container address from Docker's DNAT rule when the
    host's nat table shows it; plus the ports Docker publishes that none of these services
    accounts for (containers started another way), located at the host."""
    exposure = HostExposure(host)
    dnats = {(d.proto, d.dport): d for d in host.firewall.dnats if d.family == "ipv4"}
    used: set[tuple[str, int]] = set()
    for service in services:
        mode = str(service.get("network_mode", "") or "")
        if mode == "host" or mode == "none" or mode.startswith(("service:", "container:")):
            continue                  # Docker ignores `ports:` there
        for port in service.ports:
            if not _reachable_ip(port.host_ip):
                continue
            for published, target in _port_numbers(port):
                dnat = dnats.get((port.protocol, published)) if published else None
                if dnat is not None:
                    used.add((dnat.proto, dnat.dport))
                exposure.ports.append(PublishedPort(
                    published, target, port.protocol, port.host_ip, port.location,
                    service.asset, service.name, service.image, port.spec,
                    dnat.to_addr if dnat else None, dnat.bridge if dnat else None))
    for dnat in host.firewall.dnats:
        if dnat.family != "ipv4" or (dnat.proto, dnat.dport) in used:
            continue
        if not _reachable_ip(dnat.host_ip) or dnat.to_port is None:
            continue
        used.add((dnat.proto, dnat.dport))
        exposure.ports.append(PublishedPort(
            dnat.dport, dnat.to_port, dnat.proto, dnat.host_ip,
            host.location_of(dnat.source, dnat.line), host.asset, "", None,
            f"DNAT {dnat.proto} {dnat.dport} -> {dnat.to_addr}:{dnat.to_port}",
            dnat.to_addr, dnat.bridge))
    return exposure


def published_by_docker(host: HostFacts, listener: Listener) -> bool:
    """A listener that is Docker's port publication (docker-proxy, or a DNATed port):
    judged with the forward path by the exposure rule, not with INPUT."""
    if listener.process in ("docker-proxy", "rootlesskit", "rootlessport"):
        return True
    return any(d.proto == listener.proto and d.dport == listener.port
               for d in host.firewall.dnats)


# --- facts from YAML (rule fixtures) ---------------------------------------------------------

def facts_from_yaml(path: str) -> list:
    """Facts described in a fixture file: a YAML list; each item is a host
    (`kind: host`, the default) or an exposure (`kind: exposure`)::

        - target: snapshot:web1          # ruleid: NET100
          iptables: |                    # iptables-save output (omit: not collected)
            *filter
            :INPUT ACCEPT [0:0]
            COMMIT
          ip6tables: ...                 # ip6tables-save output
          nft: ...                       # nft list ruleset output
          nft_json: ...                  # nft -j list ruleset output (read instead of nft)
          ss: |                          # ss -tulpn output
            tcp LISTEN 0 4096 0.0.0.0:5432 0.0.0.0:* users:(("postgres",pid=9,fd=5))
          interfaces: [lo, eth0]
          addresses: [192.168.2.10]
          ip_forward: true
          ipv6_disabled: true
        - kind: exposure                 # ruleid: NET103
          target: snapshot:docker1
          iptables: ...
          ports:
            - {port: 5432, target: 5432, protocol: tcp, service: db, image: postgres:16}

    Each fact's `location` is the file and the line of its item (where the marker is)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    items = yaml.safe_load(text) or []
    lines = _item_lines(text)
    facts = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else 0
        where = Location(path, line)
        host = _host_from_item(item, where)
        if item.get("kind", "host") == "exposure":
            exposure = HostExposure(host)
            for spec in item.get("ports") or []:
                exposure.ports.append(PublishedPort(
                    spec.get("port"), int(spec["target"]), spec.get("protocol", "tcp"),
                    spec.get("host_ip"), where, f"compose:{spec.get('project', 'fixture')}/"
                    f"{spec.get('service', 'app')}", spec.get("service", "app"),
                    spec.get("image"), spec.get("spec", ""), spec.get("container_ip"),
                    spec.get("bridge")))
            if item.get("with_dnats", True):
                exposure = _merge_dnats(exposure, where)
            facts.append(exposure)
        else:
            facts.append(host)
    return facts


def _merge_dnats(exposure: HostExposure, where: Location) -> HostExposure:
    known = {(p.protocol, p.port) for p in exposure.ports}
    for port in exposure.ports:
        for dnat in exposure.host.firewall.dnats:
            if (dnat.proto, dnat.dport) == (port.protocol, port.port):
                port.container_ip = port.container_ip or dnat.to_addr
                port.bridge = port.bridge or dnat.bridge
    for dnat in exposure.host.firewall.dnats:
        if dnat.family == "ipv4" and (dnat.proto, dnat.dport) not in known and \
                _reachable_ip(dnat.host_ip) and dnat.to_port is not None:
            exposure.ports.append(PublishedPort(dnat.dport, dnat.to_port, dnat.proto,
                                                dnat.host_ip, where, exposure.host.asset,
                                                container_ip=dnat.to_addr, bridge=dnat.bridge))
    return exposure


def _host_from_item(item: dict, where: Location) -> HostFacts:
    target = str(item.get("target", "snapshot:fixture"))
    host = HostFacts(target, item.get("name", target.split(":", 1)[-1]), "snapshot",
                     origin=where)
    iptables, ip6tables, nft = item.get("iptables"), item.get("ip6tables"), item.get("nft")
    host.firewall = parse_rulesets(iptables, ip6tables, nft, nft_json=item.get("nft_json"))
    for command, text in (("iptables-save", iptables), ("ip6tables-save", ip6tables),
                          ("nft", nft if item.get("nft_json") is None else item["nft_json"])):
        if text is not None:
            host.firewall.collected[command] = True
    if item.get("ss") is not None:
        host.listeners = parse_ss(item["ss"])
    for key in ("interfaces", "addresses"):
        if item.get(key) is not None:
            setattr(host, key, tuple(item[key]))
    host.default_interface = item.get("default_interface")
    host.ip_forward = item.get("ip_forward")
    host.ipv6_disabled = item.get("ipv6_disabled")
    host.hostname = item.get("hostname")
    return host


def _item_lines(text: str) -> list[int]:
    """The 1-based line of each top-level `- ` item of a YAML list."""
    return [number for number, line in enumerate(text.splitlines(), start=1)
            if line.startswith("- ")]


__all__ = [
    "Dnat",
    "HostExposure",
    "HostFacts",
    "PublishedPort",
    "build_exposure",
    "collect",
    "facts_from_yaml",
    "probe",
    "published_by_docker",
]
