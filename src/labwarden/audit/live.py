"""The live part of an audit: probe the named targets, then judge their facts with the same
rule runner as the files, so findings share IDs, suppressions (waivers), reports and exit
codes. Host facts are paired with the Compose projects deployed on that host (from the
inventory) to check every published port against the firewall.
"""

from __future__ import annotations

import sys

from labwarden.model import Diagnostic, Finding
from labwarden.sources.live.collect import ProbeOptions, collect_sync
from labwarden.sources.live.targets import Target, TargetError, parse_target


def parse_targets(texts: list[str]) -> list[Target]:
    """Parse target strings; a bad one is a usage error (TargetError) naming it."""
    return [parse_target(text) for text in texts]


def inventory_targets(inventory) -> list[str]:
    """The URLs, host addresses and backup repositories the inventory names (and the Proxmox
    nodes of hosts that are guests), and its reverse proxy's targets (`proxies:`), each once,
    in a stable order."""
    seen: dict[str, None] = {}
    for service in inventory.services.values():
        for url in service.urls:
            seen.setdefault(url, None)
        if service.host is not None and service.host.address:
            seen.setdefault(service.host.address, None)
        for repository in service.backups:
            seen.setdefault(repository, None)
        if service.host is not None and getattr(service.host, "docker", None):
            seen.setdefault(service.host.docker, None)
        guest = getattr(service.host, "proxmox", None)
        if guest is not None and guest.address:      # the Proxmox node of the service's guest
            seen.setdefault(guest.address, None)
    for api in inventory.monitoring_targets:   # the lab's Prometheus and Alertmanager APIs
        seen.setdefault(api, None)
    for target in getattr(inventory, "proxies", ()):   # the reverse proxy's files and APIs
        seen.setdefault(target, None)
    return list(seen)


def run_live(targets: list[Target], options: ProbeOptions, runner, findings: list[Finding],
             diagnostics: list[Diagnostic], compose_paths: list[str] | tuple[str, ...] = (),
             load_options=None, kept: list | None = None, proxies=None) -> int:
    """Probe, then run the rules on every fact. Returns how many facts were collected.
    With `kept`, each fact examined is appended to it as (the target as written, its
    asset, the fact).

    A host audited together with Compose paths is taken to run those stacks: its firewall
    is reconciled with every port they publish. With the reverse-proxy stage (`proxies`),
    the routes of proxy targets are matched to the tree's services, and every route is
    paired with the live answer of its URL."""
    origins: dict[int, str] = {}
    aliases: dict[int, list[str]] = {}     # a shared probe's other targets (collect)
    facts, problems = collect_sync(_distinct(targets), options, origins, aliases)
    diagnostics.extend(problems)
    if proxies is not None:
        facts = proxies.adopt(facts)
    loaded: list = []           # the audited Compose services, loaded once on first use

    def services() -> list:
        if not loaded:
            loaded.append(_compose_services(compose_paths, load_options))
        return loaded[0]

    facts += _docker_deployments(facts, origins, services, runner.config)
    _ssh_packages(facts, origins)
    _identified_ports(facts)
    for fact in facts:
        runner.run(fact, fact.asset, findings, diagnostics)
        if kept is not None:
            for origin in (origins[id(fact)], *aliases.get(id(fact), ())):
                kept.append((origin, fact.asset, fact))
    if proxies is not None:
        # Each pairing reaches the service of the URL answered, as the HTTP fact does.
        for check in proxies.checks(facts):
            runner.run(check, check.asset, findings, diagnostics)
            if kept is not None:
                kept.append((origins[id(check.http)], check.asset, check))
    hosts = _host_facts(facts)
    if hosts:
        from labwarden.sources.live.host import build_exposure

        for host in hosts:
            exposure = build_exposure(host, services())
            runner.run(exposure, exposure.asset, findings, diagnostics)
            if kept is not None:
                kept.append((origins[id(host)], exposure.asset, exposure))
    return len(facts)


def _distinct(targets: list[Target]) -> list[Target]:
    """Each target once, as first written (the command line and the inventory may both
    name it)."""
    seen: dict[str, Target] = {}
    for target in targets:
        seen.setdefault(target.raw, target)
    return list(seen.values())


def _compose_services(paths, load_options) -> list:
    """The audited Compose services, loaded again here: the audit's own copies live in worker
    processes, and a lab is small."""
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import load_project

    services: list = []
    for spec in discover(list(paths), []):
        project = load_project(spec, [], load_options)
        if project is not None:
            services.extend(project.services.values())
    return services


def _docker_deployments(facts: list, origins: dict[int, str], services, config) -> list:
    """The Compose services expected on each Docker Engine read, paired with the containers
    it runs for them (drift, services not running), each kept with its engine's origin; the
    containers are marked with how they relate to the audited files. Loaded only when an
    engine was read."""
    if "labwarden.sources.docker.fact" not in sys.modules:
        return []
    from labwarden.sources.docker.drift import deployments

    found = deployments(facts, services, config)
    for deployment, engine in found:
        origins[id(deployment)] = origins[id(engine)]
    return [deployment for deployment, _ in found]


def _ssh_packages(facts: list, origins: dict[int, str]) -> None:
    """An SSH server read as a host too (the same target: `ssh://host --ssh-key`) gets the
    host's openssh-server package version: its banner may hide the distribution build."""
    if "labwarden.sources.live.host" not in sys.modules or \
            "labwarden.sources.live.ssh_wire" not in sys.modules:
        return
    from labwarden.sources.live.host import HostFacts
    from labwarden.sources.live.ssh_wire import SshServer

    packages = {origins.get(id(f)): f.ssh_package for f in facts
                if isinstance(f, HostFacts) and f.ssh_package}
    for fact in facts:
        if isinstance(fact, SshServer) and not fact.package:
            fact.package = packages.get(origins.get(id(fact)), "")


def _identified_ports(facts: list) -> None:
    """A port the credential check heard a service's protocol on (PostgreSQL on 15432) is
    that service's port in the scan of the same host, whatever its number."""
    if "labwarden.sources.live.ports" not in sys.modules or \
            "labwarden.sources.live.creds" not in sys.modules:
        return
    from labwarden.sources.live.creds import CredentialCheck
    from labwarden.sources.live.ports import PortScan

    heard: dict[tuple[str, int], str] = {}
    for fact in facts:
        if isinstance(fact, CredentialCheck) and fact.endpoint.startswith("tcp://") and \
                fact.attempts and (fact.accepted or fact.rejected or fact.no_password):
            where, _, number = fact.endpoint[len("tcp://"):].rstrip("/").rpartition(":")
            if number.isdigit():
                heard[(where.strip("[]").lower(), int(number))] = fact.service
    for scan in facts:
        if isinstance(scan, PortScan):
            for port in scan.open:
                service = heard.get((scan.host.lower(), port))
                if service:
                    scan.identified.setdefault(port, service)


def _host_facts(facts: list) -> list:
    """The facts of host collectors, each to be paired with the Compose services deployed on
    that host to check every published port against its firewall; a host with none is still
    judged (ports Docker publishes that no audited file explains). The host module is
    imported only when a host was probed: a TLS or SSH run never loads it."""
    if "labwarden.sources.live.host" not in sys.modules:
        return []
    from labwarden.sources.live.host import HostFacts

    return [f for f in facts if isinstance(f, HostFacts)]


__all__ = ["ProbeOptions", "TargetError", "inventory_targets", "parse_targets", "run_live"]
