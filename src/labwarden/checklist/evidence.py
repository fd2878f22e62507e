"""What the audit examined for one service, and what it showed.

The checklist needs more than the findings: "nothing found" by a check that did not look at
the thing is no answer. So the checklist's audit keeps its facts (`AuditOptions.keep_facts`,
each with its origin: the project directory of Compose facts, the target as written of
live ones), and this module picks the service's share:

- its Compose services (all of its project's, or those `compose_services` names), the
  project and its env files;
- the facts of every target the service names (its URLs, its host's address in whatever
  form: `ssh://`, `local://`, `snapshot:`): host evidence reaches every service on the host
  because it is matched by where it came from, never by the name a fact calls itself; a
  fact about one of several tenants of a host (a container) says whose it is with a
  `belongs_to(service)` method;
- the facts about it found anywhere in the lab: those read in the audited tree about one of
  its services (origin `LAB_ORIGIN`: a proxy host of the lab's reverse proxy) and those of
  the targets the inventory ties to every service (`lab_targets`: the proxy's database or
  API), each taken only where its `belongs_to(service)` says so;
- the findings on those facts;
- the proofs: what each rule's provers (`rules.registry.prover`) say positively holds.

An item is proven by a kind of fact when *every* fact of that kind the service has shows
it (both containers of a stack run unprivileged, every URL sends HSTS).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from labwarden.inventory import InventoryService
from labwarden.model import LAB_ORIGIN, AuditResult, Finding


@dataclass(frozen=True)
class Proof:
    item: str
    rule: str
    note: str          # what shows it, in a few words
    asset: str


@dataclass
class ServiceEvidence:
    facts: list = field(default_factory=list)                  # the service's facts
    assets: list[str] = field(default_factory=list)            # each fact's asset
    findings: list[Finding] = field(default_factory=list)
    # item -> fact type -> [(asset, proof or None)]: one entry per fact of that type
    proofs: dict[str, dict[type, list[tuple[str, Proof | None]]]] = field(default_factory=dict)
    # Input errors in the service's Compose project, as text: its facts may lack what an
    # unreadable file held, so they prove nothing. (A live fact says itself whether it is
    # complete, and its provers judge that.)
    incomplete: list[str] = field(default_factory=list)
    missing_services: tuple[str, ...] = ()                     # named, not in the project

    @property
    def examined(self) -> set[type]:
        return {type(fact) for fact in self.facts}

    def proven(self, item: str, all_of: tuple[type, ...] = ()) -> tuple[bool, str, list[str]]:
        """Whether the facts prove `item`: some kind of fact (or, with `all_of`, each of
        those kinds) examined and every fact of it proving it. Returns (proven, the notes
        that prove it, the assets whose facts did not show it)."""
        kinds = self.proofs.get(item, {})
        complete = {kind: rows for kind, rows in kinds.items()
                    if rows and all(proof is not None for _, proof in rows)}
        unproven = [asset for rows in kinds.values() for asset, proof in rows if proof is None]
        if all_of:
            held = all(kind in complete for kind in all_of)
            chosen = [complete[k] for k in all_of if k in complete]
        else:
            held = bool(complete)
            chosen = list(complete.values())
        notes = list(dict.fromkeys(p.note for rows in chosen for _, p in rows if p))
        if self.incomplete and any(_is_compose(kind) for kind in kinds):
            held = False
        return held, "; ".join(notes), unproven


def _is_compose(kind: type) -> bool:
    return kind.__module__.startswith(("labwarden.sources.compose", "labwarden.sources.envfile"))


def service_origins(service: InventoryService) -> tuple[str | None, set[str]]:
    """The project directory of the service's Compose facts, and the targets (as written)
    of its live ones: its URLs, its host's address and, when its host is a Proxmox guest,
    the node's address (whose facts count only where they say they are the guest's)."""
    from labwarden.sources.monitoring.facts import MONITORING_ORIGIN

    directory = service.compose_dir
    targets = set(service.urls)
    if service.host is not None and service.host.address:
        targets.add(service.host.address)
    # The backup repositories it names (`backups:`, restic:/… or borg:/…) are targets too:
    # what reading each showed is about this service's backups.
    targets.update(service.backups)
    # A host's Docker Engine read through its API rather than its address: its containers
    # say whose they are (belongs_to), like those read through the address.
    docker = getattr(service.host, "docker", None) if service.host is not None else None
    if docker:
        targets.add(docker)
    # The lab's monitoring stack watches every service: its facts (sources/monitoring) are
    # kept with this origin, and each per-service one says whose it is (belongs_to).
    targets.add(MONITORING_ORIGIN)
    node = _proxmox_node(service)
    if node:
        targets.add(node)
    # Lab-wide evidence: facts found in the tree about one of its services, and the targets
    # every service shares (the reverse proxy's configuration). Each such fact names its
    # service with belongs_to(), which `gather` asks.
    targets.add(LAB_ORIGIN)
    targets.update(service.lab_targets)
    return (os.path.abspath(directory) if directory else None), targets


def _proxmox_node(service: InventoryService) -> str | None:
    guest = getattr(service.host, "proxmox", None)
    return getattr(guest, "address", None)


def gather(service: InventoryService, result: AuditResult, settings) -> ServiceEvidence:
    from labwarden.sources.compose.model import Service

    directory, targets = service_origins(service)
    # The Proxmox node of the service's guest is another machine: of its facts, only those
    # that say whose they are (the guest's config, its backup jobs) are the service's; the
    # node's own sshd and iptables are not.
    node_only = {_proxmox_node(service)} - {service.host.address if service.host else None,
                                            *service.urls}
    wanted = set(service.compose_services)
    evidence = ServiceEvidence()
    seen_services: set[str] = set()
    for origin, asset, fact in result.facts:
        if origin == directory:
            if isinstance(fact, Service):
                if wanted and fact.name not in wanted:
                    continue
                seen_services.add(fact.name)
        elif origin not in targets:
            continue
        elif not _belongs(fact, service, strict=origin in node_only):
            continue
        evidence.facts.append(fact)
        evidence.assets.append(asset)
    evidence.missing_services = tuple(sorted(wanted - seen_services)) if directory else ()
    evidence.findings = _findings(evidence, result.findings)
    evidence.incomplete = _input_errors(directory, result)
    if evidence.missing_services:
        evidence.incomplete.append("compose_services names what the project does not "
                                   "define: " + ", ".join(evidence.missing_services))
    _prove(evidence, settings)
    return evidence


def _belongs(fact, service: InventoryService, strict: bool = False) -> bool:
    """A fact from one of the service's targets is the service's, unless the fact says whose
    it is: a container on a shared Docker host answers `belongs_to(service)` from its
    Compose labels. Host-wide facts (sshd, firewall) have no such method: every service on
    the host gets them, unless `strict` (a target that is not the service's host: only
    facts that say they are the service's count)."""
    belongs_to = getattr(fact, "belongs_to", None)
    if belongs_to is None:
        return not strict
    return bool(belongs_to(service))


def _findings(evidence: ServiceEvidence, findings: list[Finding]) -> list[Finding]:
    """The findings on the service's facts (by their assets: `compose:p`, `compose:p/web`,
    `compose:p:.env`, `host:pve1`, `tls:grafana.lab:443`…); the other services of its
    project are not its own."""
    assets = set(evidence.assets)
    return [finding for finding in findings if finding.asset in assets]


def _input_errors(directory: str | None, result: AuditResult) -> list[str]:
    if directory is None:
        return []
    prefix = directory + os.sep
    return [str(d) for d in result.errors
            if d.location and os.path.abspath(d.location.path).startswith(prefix)]


def _prove(evidence: ServiceEvidence, settings) -> None:
    from labwarden.rules.registry import provers_for

    for fact, asset in zip(evidence.facts, evidence.assets):
        for rule, items, prove in provers_for(type(fact)):
            try:
                note = prove(fact, settings)
            except Exception:  # noqa: BLE001 - a prover's bug proves nothing, loses nothing
                note = None
            for item in items:
                rows = evidence.proofs.setdefault(item, {}).setdefault(type(fact), [])
                existing = next((i for i, (seen, _) in enumerate(rows) if seen == asset),
                                None)
                proof = Proof(item, rule.id, note, asset) if note else None
                if existing is None:
                    rows.append((asset, proof))
                elif proof is not None and rows[existing][1] is None:
                    rows[existing] = (asset, proof)   # another rule's prover shows it
