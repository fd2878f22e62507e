"""Answer every checklist item for one service from the audit's evidence and the attestations.

An item is
- N/A when it does not apply to the service's deployment type, or a person said so (only for
  items the seed marks optional, with a reason);
- FAIL when a rule that evidences it reported an active finding for the service;
- PASS when at least one such rule ran on the service's facts and reported nothing;
- ATTESTED when a person vouched for it (unexpired), or a waiver accepted its findings;
- OPEN otherwise: nobody answered yet, or the attestation expired, or the evidence is
  incomplete because part of the service's input could not be read.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from labwarden.checklist.attest import Attestation, ServiceRecord
from labwarden.checklist.catalog import Catalog, Item
from labwarden.checklist.score import Score, Status, compute
from labwarden.inventory import InventoryService
from labwarden.model import AuditResult, Finding, Rule, Severity
from labwarden.rules.registry import all_rules


@dataclass
class ItemResult:
    item: Item
    status: Status
    findings: list[Finding] = field(default_factory=list)
    attestation: Attestation | None = None
    note: str = ""                 # what answered it, in a few words
    rules: tuple[str, ...] = ()    # the rules that evidence it and ran


@dataclass
class Evaluation:
    service: InventoryService
    items: list[ItemResult]
    score: Score
    record: ServiceRecord
    findings: list[Finding]
    evaluated: str                 # when (ISO date)

    def by_id(self) -> dict[str, ItemResult]:
        return {r.item.id: r for r in self.items}


def compose_facts() -> set[type]:
    """The fact types an audit of the service's Compose files examines."""
    from labwarden.sources.registry import get

    return set(get("compose").fact_types())


def project_key(service: InventoryService, audit_root: str) -> str | None:
    """The asset key the audit gives the service's Compose project when auditing the root."""
    directory = service.compose_dir
    if directory is None:
        return None
    rel = os.path.relpath(directory, audit_root)
    return os.path.basename(os.path.abspath(directory)) if rel == "." else rel


def live_hosts(service: InventoryService) -> set[str]:
    """The host names the service's URLs and host address point at."""
    from urllib.parse import urlsplit

    hosts = {urlsplit(url).hostname for url in service.urls}
    if service.host is not None:
        if service.host.address:
            hosts.add(urlsplit(service.host.address).hostname)
        hosts.add(service.host.name)
    return {h for h in hosts if h}


def _is_live_asset_of(asset: str, hosts: set[str]) -> bool:
    """`tls:grafana.lab:443`, `http:grafana.lab:443/`, `ssh:10.0.0.5:22`, `host:docker-01`…"""
    _, _, rest = asset.partition(":")
    return any(rest == h or rest.startswith((h + ":", h + "/")) for h in hosts)


def live_coverage(service: InventoryService, result: AuditResult, targets: list,
                  options) -> set[type]:
    """Fact types the live probes collected for the service: a probe whose target was
    unreachable (an error diagnostic at the target) covers nothing."""
    from labwarden.sources.live.collect import fact_types, probes_for

    hosts = live_hosts(service)
    failed = {d.location.path for d in result.errors if d.location}
    covered: set[type] = set()
    for target in targets:
        if target.host not in hosts and target.scheme not in ("local", "snapshot"):
            continue
        if target.raw in failed:
            continue
        for kind in probes_for(target, options):
            covered |= fact_types(kind)
    return covered


def service_findings(service: InventoryService, result: AuditResult,
                     audit_root: str) -> list[Finding]:
    key = project_key(service, audit_root)
    hosts = live_hosts(service)
    found = [f for f in result.findings if hosts and _is_live_asset_of(f.asset, hosts)]
    if key is None:
        return found
    project = f"compose:{key}"
    wanted = set(service.compose_services)
    for finding in result.findings:
        asset = finding.asset
        if asset == project or asset.startswith(project + ":"):
            found.append(finding)
        elif asset.startswith(project + "/"):
            if not wanted or asset[len(project) + 1:] in wanted:
                found.append(finding)
    return found


def input_errors(service: InventoryService, result: AuditResult) -> list[str]:
    directory = service.compose_dir
    if directory is None:
        return []
    prefix = os.path.abspath(directory) + os.sep
    return [str(d) for d in result.errors
            if d.location and os.path.abspath(d.location.path).startswith(prefix)]


def evaluate(service: InventoryService, result: AuditResult, record: ServiceRecord,
             catalog: Catalog, audit_root: str, disabled: set[str] = frozenset(),
             covered: set[type] | None = None, today: dt.date | None = None) -> Evaluation:
    today = today or dt.date.today()
    covered = covered if covered is not None else (
        compose_facts() if service.compose_dir else set())
    findings = service_findings(service, result, audit_root)
    incomplete = input_errors(service, result)
    rules_by_item: dict[str, list[Rule]] = {}
    for rule in all_rules():
        if rule.fact in covered and rule.id not in disabled:
            for item_id in rule.checklist:
                rules_by_item.setdefault(item_id, []).append(rule)
    results = [_answer(item, service, findings, rules_by_item.get(item.id, []), record,
                       incomplete, today) for item in catalog.items]
    score = compute(catalog, {r.item.id: r.status for r in results})
    return Evaluation(service, results, score, record, findings, today.isoformat())


# Final-review items the record itself answers: the audit's open findings by severity and
# the recorded sign-offs (seed 11.1 and 11.2).
FINDINGS_ADDRESSED = {"11.1.1": Severity.CRITICAL, "11.1.2": Severity.HIGH}
SIGNOFFS = {"11.1.4": "security_reviewer", "11.2.1": "infrastructure_owner",
            "11.2.3": "service_owner"}


def _derived(item: Item, findings: list[Finding], record: ServiceRecord,
             covered: bool) -> ItemResult | None:
    if item.id in FINDINGS_ADDRESSED and covered:
        severity = FINDINGS_ADDRESSED[item.id]
        open_ = [f for f in findings if f.severity == severity and not f.waived]
        if open_:
            return ItemResult(item, Status.FAIL, open_, note=f"{len(open_)} open "
                              f"{severity.name} finding(s)")
        return ItemResult(item, Status.PASS, note=f"no open {severity.name} finding")
    if item.id in SIGNOFFS:
        approval = record.approvals.get(SIGNOFFS[item.id])
        if approval is not None:
            return ItemResult(item, Status.ATTESTED, note=f"signed off by {approval.name} on "
                              f"{approval.date}")
    return None


def _answer(item: Item, service: InventoryService, findings: list[Finding], rules: list[Rule],
            record: ServiceRecord, incomplete: list[str], today: dt.date) -> ItemResult:
    if not item.applies(service.deployment_type):
        return ItemResult(item, Status.NA, note=f"does not apply to {service.deployment_type} "
                          f"(applies to {', '.join(item.applies_to)})")
    derived = _derived(item, findings, record, service.compose_dir is not None and
                       not incomplete)
    if derived is not None:
        return derived
    ids = tuple(r.id for r in rules)
    if rules:
        failing = [f for f in findings if f.rule.id in ids and item.id in f.checklist]
        active = [f for f in failing if not f.waived]
        if active:
            return ItemResult(item, Status.FAIL, active, rules=ids,
                              note=f"{len(active)} finding(s): "
                                   + ", ".join(sorted({f.id for f in active})))
        if failing:
            waiver = failing[0].suppression
            return ItemResult(item, Status.ATTESTED, failing, rules=ids,
                              note=f"findings accepted: {waiver.justification}"
                                   + (f" ({waiver.owner}, until {waiver.expires})"
                                      if waiver.owner else ""))
        if not incomplete:
            return ItemResult(item, Status.PASS, rules=ids,
                              note=f"checked by {', '.join(ids)}: no finding")
    attestation = record.items.get(item.id)
    if attestation is not None:
        if attestation.expired(today):
            return ItemResult(item, Status.OPEN, attestation=attestation, rules=ids,
                              note=f"attestation by {attestation.by} expired on "
                                   f"{attestation.expires}")
        if attestation.na:
            return ItemResult(item, Status.NA, attestation=attestation, rules=ids,
                              note=f"N/A ({attestation.by}): {attestation.na}")
        return ItemResult(item, Status.ATTESTED, attestation=attestation, rules=ids,
                          note=f"attested by {attestation.by} on {attestation.date}"
                               + (f": {attestation.note}" if attestation.note else ""))
    if rules and incomplete:
        return ItemResult(item, Status.OPEN, rules=ids,
                          note="evidence incomplete: " + "; ".join(incomplete[:2]))
    return ItemResult(item, Status.OPEN, rules=ids, note="not answered yet")
