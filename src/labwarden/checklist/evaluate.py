"""Answer every checklist item for one service from the audit's evidence and from people.

An item is, in this order:
- N/A when it does not apply: the service's deployment type; a code-level item of software
  the operator does not develop (`source: third_party`); an item the checklist overlay
  disables; an optional item a person answered N/A (with a reason);
- answered by what the record and the inventory already say (open findings by severity,
  sign-offs, the owner, the criticality);
- FAIL when a rule that can disprove it reported an active finding on the service's facts
  (a grouped finding fails only the items its evidence is about); ATTESTED when a waiver
  accepted those findings;
- PASS when the facts positively show it: a prover of its rules examined every fact of
  the kind the item is about and each shows it holds (`evidence.ServiceEvidence.proven`).
  "No finding" alone is never a PASS;
- ATTESTED when a person vouched for it (unexpired), at the service's scope or a wider one;
- OPEN otherwise, with what would answer it: the source that was not collected, the fact
  that did not show it, or the attestation only a person can give.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from labwarden.checklist.attest import Attestation, ServiceRecord
from labwarden.checklist.catalog import Catalog, Item
from labwarden.checklist.evidence import ServiceEvidence, gather
from labwarden.checklist.score import Score, Status, compute
from labwarden.checklist.signoff import SIGNOFF_ITEMS
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
    rules: tuple[str, ...] = ()    # the rules that evidence it
    # How it was (or could be) answered: evidence (facts, findings, the record, the
    # inventory), source (needs evidence that was not collected), unbuilt (automatable,
    # but no check answers it yet), person (only a person).
    answered_by: str = "person"
    needs: tuple[str, ...] = ()    # the sources that would answer it, when not collected


@dataclass
class Evaluation:
    service: InventoryService
    items: list[ItemResult]
    score: Score
    record: ServiceRecord
    findings: list[Finding]
    evaluated: str                 # when (ISO date)
    evidence: ServiceEvidence = field(default_factory=ServiceEvidence)

    def by_id(self) -> dict[str, ItemResult]:
        return {r.item.id: r for r in self.items}


# Items a single kind of fact cannot prove: each named kind must (an SSL Labs A+ needs the
# TLS configuration *and* HSTS on the answer).
ALL_OF = {"3.3.6": ("labwarden.sources.live.tls:TlsFact",
                    "labwarden.sources.live.http:HttpFact"),
          "9.2.4": ("labwarden.sources.live.tls:TlsFact",
                    "labwarden.sources.live.http:HttpFact")}

# Final-review items the record itself answers: the audit's open findings by severity (seed
# 11.1.1, 11.1.2).
FINDINGS_ADDRESSED = {"11.1.1": Severity.CRITICAL, "11.1.2": Severity.HIGH}
# The recorded sign-offs answer their items (seed 11.1.4, 11.2.1, 11.2.3).
SIGNOFFS = SIGNOFF_ITEMS
# Items the inventory answers (seed 8.4: the asset inventory): the field and what it says.
INVENTORY_FIELDS = {"8.4.3": ("owner", "owner"), "8.4.4": ("criticality", "criticality")}
PLACEHOLDERS = {"", "todo", "tbd", "?", "unknown", "changeme"}


def evaluate(service: InventoryService, result: AuditResult, record: ServiceRecord,
             catalog: Catalog, settings=None, disabled: frozenset[str] | set[str] = frozenset(),
             today: dt.date | None = None) -> Evaluation:
    """`result` must come from an audit that kept its facts (`AuditOptions.keep_facts`):
    without them nothing is examined and every automated item stays OPEN."""
    today = today or dt.date.today()
    evidence = gather(service, result, settings)
    rules_by_item: dict[str, list[Rule]] = {}
    for rule in all_rules():
        if rule.id not in disabled:
            for item_id in rule.checklist:
                rules_by_item.setdefault(item_id, []).append(rule)
    results = [_answer(item, service, evidence, rules_by_item.get(item.id, []), record, today)
               for item in catalog.items]
    score = compute(catalog, {r.item.id: r.status for r in results})
    evaluation = Evaluation(service, results, score, record, evidence.findings,
                            today.isoformat(), evidence)
    if _stale_signoff(evaluation):
        evaluation.score = compute(catalog, {r.item.id: r.status for r in results})
    return evaluation


def _stale_signoff(evaluation: Evaluation) -> bool:
    """The security sign-off (11.1.4) counts only while it holds for the state it approved
    (checklist.signoff): one that no longer holds leaves the item OPEN, saying why. The
    state leaves the sign-off items out, so judging it from this evaluation is sound."""
    from labwarden.checklist.signoff import approval_is_current

    approval = evaluation.record.approvals.get("security_reviewer")
    if approval is None:
        return False
    current, why = approval_is_current(approval, evaluation)
    if current:
        return False
    for position, result in enumerate(evaluation.items):
        if result.item.id == "11.1.4":
            evaluation.items[position] = ItemResult(
                result.item, Status.OPEN, answered_by="person",
                note=f"sign-off by {approval.name} on {approval.date} no longer holds: {why}")
    return True


def _answer(item: Item, service: InventoryService, evidence: ServiceEvidence,
            rules: list[Rule], record: ServiceRecord, today: dt.date) -> ItemResult:
    ids = tuple(r.id for r in rules)
    not_applicable = _not_applicable(item, service)
    if not_applicable:
        # The findings stay attached (a disabled item's record still lists them).
        found = [f for f in evidence.findings if f.rule.id in ids and item.id in f.checklist]
        return ItemResult(item, Status.NA, found, rules=ids, note=not_applicable,
                          answered_by="evidence")
    answered = _from_record_or_inventory(item, service, evidence, record)
    if answered is not None:
        return answered
    failing = [f for f in evidence.findings if f.rule.id in ids and item.id in f.checklist]
    active = [f for f in failing if not f.waived]
    if active:
        return ItemResult(item, Status.FAIL, active, rules=ids, answered_by="evidence",
                          note=f"{len(active)} finding(s): "
                               + ", ".join(sorted({f.id for f in active})))
    if failing:
        waiver = failing[0].suppression
        assert waiver is not None            # a finding is waived when it has one
        return ItemResult(item, Status.ATTESTED, failing, rules=ids, answered_by="evidence",
                          note=f"findings accepted: {waiver.justification}"
                               + (f" ({waiver.owner}, until {waiver.expires})"
                                  if waiver.owner else ""))
    proving = [r for r in rules if item.id in r.proves]
    held, notes, unproven = evidence.proven(item.id, _all_of(item.id))
    if held:
        return ItemResult(item, Status.PASS, rules=ids, answered_by="evidence",
                          note=f"shown by {', '.join(sorted({r.id for r in proving}))}: "
                               f"{notes}")
    attested = _attested(item, record, today, ids)
    why_open, answered_by, needs = _why_open(item, proving, evidence, unproven)
    if attested is not None:
        attested.answered_by = answered_by if answered_by != "evidence" else "person"
        attested.needs = needs
        return attested
    return ItemResult(item, Status.OPEN, rules=ids, note=why_open, answered_by=answered_by,
                      needs=needs)


def _all_of(item_id: str) -> tuple[type, ...]:
    from labwarden.sources.registry import _resolve

    return tuple(_resolve(path) for path in ALL_OF.get(item_id, ()))


def _not_applicable(item: Item, service: InventoryService) -> str:
    if item.disabled:
        from labwarden.checklist.overlay import disabled_note

        return disabled_note(item)
    if not item.applies(service.deployment_type):
        return (f"does not apply to {service.deployment_type} (applies to "
                f"{', '.join(item.applies_to)})")
    if item.code and service.source == "third_party":
        return ("about the application's own code: third-party software "
                "(`source: third_party` in the inventory)")
    return ""


def _from_record_or_inventory(item: Item, service: InventoryService,
                              evidence: ServiceEvidence,
                              record: ServiceRecord) -> ItemResult | None:
    if item.id in FINDINGS_ADDRESSED:
        from labwarden.sources.compose.model import Service

        if Service not in evidence.examined or evidence.incomplete:
            return None          # nothing examined: no finding means nothing
        severity = FINDINGS_ADDRESSED[item.id]
        open_ = [f for f in evidence.findings if f.severity == severity and not f.waived]
        if open_:
            return ItemResult(item, Status.FAIL, open_, answered_by="evidence",
                              note=f"{len(open_)} open {severity.name} finding(s)")
        kinds = sorted({type(f).__name__ for f in evidence.facts})
        return ItemResult(item, Status.PASS, answered_by="evidence",
                          note=f"no open {severity.name} finding in {', '.join(kinds)}")
    if item.id in SIGNOFFS:
        approval = record.approvals.get(SIGNOFFS[item.id])
        if approval is not None:
            return ItemResult(item, Status.ATTESTED, answered_by="person",
                              note=f"signed off by {approval.name} on {approval.date}")
        return ItemResult(item, Status.OPEN, answered_by="person",
                          note=f"no {SIGNOFFS[item.id].replace('_', ' ')} sign-off: "
                               f"`labwarden approve {service.name} --role "
                               f"{SIGNOFFS[item.id]} --name NAME`")
    if item.id in INVENTORY_FIELDS:
        key, label = INVENTORY_FIELDS[item.id]
        value = str(getattr(service, key) or "").strip()
        if value.lower() in PLACEHOLDERS:
            return ItemResult(item, Status.OPEN, answered_by="evidence",
                              note=f"no {label} in labwarden.yaml (services.{service.name}."
                                   f"{key})")
        return ItemResult(item, Status.PASS, answered_by="evidence",
                          note=f"{label} in labwarden.yaml: {value}")
    return None


def _attested(item: Item, record: ServiceRecord, today: dt.date,
              ids: tuple[str, ...]) -> ItemResult | None:
    attestation = record.items.get(item.id)
    if attestation is None:
        return None
    scope = getattr(attestation, "scope", "service")
    where = "" if scope in ("", "service") else f" ({scope})"
    if attestation.expired(today):
        return ItemResult(item, Status.OPEN, attestation=attestation, rules=ids,
                          note=f"attestation by {attestation.by}{where} expired on "
                               f"{attestation.expires}")
    if attestation.na:
        return ItemResult(item, Status.NA, attestation=attestation, rules=ids,
                          note=f"N/A ({attestation.by}{where}): {attestation.na}")
    return ItemResult(item, Status.ATTESTED, attestation=attestation, rules=ids,
                      note=f"attested by {attestation.by}{where} on {attestation.date}"
                           + (f": {attestation.note}" if attestation.note else ""))


def _why_open(item: Item, proving: list[Rule], evidence: ServiceEvidence,
              unproven: list[str]) -> tuple[str, str, tuple[str, ...]]:
    """Why the item is still open, how it could be answered, and which sources would."""
    from labwarden.sources.registry import source_of

    # In rule order: the note names the sources the same way on every run.
    kinds = list(dict.fromkeys(r.fact for r in sorted(proving, key=lambda r: r.id)))
    if evidence.incomplete and any(k in evidence.examined and k.__module__.startswith(
            "labwarden.sources.compose") for k in kinds):
        return ("evidence incomplete: " + "; ".join(evidence.incomplete[:2]), "evidence", ())
    all_of = _all_of(item.id)
    missing = [k for k in (all_of or kinds) if k not in evidence.examined]
    if proving and (not all_of and len(missing) < len(kinds) or all_of and not missing):
        shown = ", ".join(unproven[:3]) + (" …" if len(unproven) > 3 else "")
        return (f"examined, but the facts do not show it ({shown or 'not every kind'}): fix "
                "it or attest why it holds", "evidence", ())
    if proving:
        sources: list[str] = []       # not collected at all
        absent: list[type] = []       # collected, but the service has none of these facts
        for kind in missing:
            source = source_of(kind)
            if source is not None and any(source_of(k) is source for k in evidence.examined):
                absent.append(kind)
            else:
                sources.append(source.name if source else kind.__name__)
        if not sources:      # the source ran; the service just has none of these facts
            names = ", ".join(_FACT_WORDS.get(k.__name__, k.__name__) for k in absent)
            return (f"examined, but the service has no {names} to show it: attest it",
                    "evidence", ())
        needs = tuple(dict.fromkeys(sources))
        hints = "; ".join(_hint(name) for name in needs)
        return f"not examined: needs {hints}, or an attestation", "source", needs
    if item.automatable:
        return (f"no automated check answers it yet ({item.automated_by} evidence): attest "
                "it", "unbuilt", ())
    return "only a person can answer it: `labwarden attest`", "person", ()


# How a note names a kind of fact the service lacks.
_FACT_WORDS = {"EnvFile": ".env or env_file", "CredentialCheck": "default-credential check",
               "HostExposure": "published ports on the host"}


def _hint(source_name: str) -> str:
    from labwarden.sources.registry import get

    try:
        source = get(source_name)
    except KeyError:
        return source_name
    return f"{source.title.lower()} ({source.hint})" if source.hint else source.title.lower()
