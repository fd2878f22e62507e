"""Sign-off integrity: an approval holds for the state it approved, and says when it stops.

`approve` binds the approval to the service's state as evaluated then (`bind`): its risk
level, the items that FAIL, the active findings at or above a severity threshold, and a
fingerprint of all of it with the OPEN items. The attestation file keeps just enough to say
later why the approval no longer holds:

    security_reviewer: {name: alice, date: 2026-11-27, state: {risk: High,
        fingerprint: 3f2a9c01b7de, threshold: HIGH, failing: ["4.2.3"],
        findings: ["CMP010:d393b512c7e2"]}}

An approval stays current while nothing got worse: no CRITICAL or HIGH item FAILs that did
not, no finding at or above the threshold is new, the risk level is no worse. Things fixed
since keep it (the fingerprint then differs, and the status says what was fixed). An
approval without a state (written before approvals were bound) is never current: nobody can
say what it approved. One dated after the evaluation's day (with a day of slack for time
zones: dates carry no zone) is not current either.

The sign-off items themselves (11.1.4, 11.2.1, 11.2.3) are not part of the state: approving
changes them. The risk level is computed with the approval's own item complete, so the level
recorded when approving is the level the service has once the approval counts, whether or
not the evaluation counts the approval yet.

Separation of duties: the approver should not be the person whose attestations (or waivers)
the evaluation counts. Whether that is allowed is the gate policy's (`gate.single_operator`);
this module only says who and which items (`self_approved`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from labwarden.checklist.catalog import Item, load_catalog
from labwarden.checklist.score import Status, compute
from labwarden.model import Finding, Location, Severity
from labwarden.sources.yamlfile import Map, Seq

SECURITY_REVIEWER = "security_reviewer"
# The final-review items approvals answer (seed 11.1.4, 11.2.1, 11.2.3). evaluate.SIGNOFFS
# holds the same table (a test keeps them equal); this module imports neither evaluate nor
# attest, so that evaluate can ask it whether an approval holds.
SIGNOFF_ITEMS = {"11.1.4": "security_reviewer", "11.2.1": "infrastructure_owner",
                 "11.2.3": "service_owner"}
FUTURE_SLACK = dt.timedelta(days=1)   # dates carry no time zone: "today" differs by a day
SHOWN = 5                             # reasons list this many items or findings, then "…"


@dataclass(frozen=True)
class SignedState:
    """What an approval approved (stored under the approval's `state:`)."""

    risk: str
    fingerprint: str                  # sha256, 12 hex digits, of everything below + OPEN items
    threshold: str                    # severity name: findings at or above it are bound
    failing: tuple[str, ...] = ()     # the items that FAILed
    findings: tuple[str, ...] = ()    # "RULE:fingerprint[:12]" of the active findings bound

    def as_yaml(self) -> dict[str, Any]:
        return {"risk": self.risk, "fingerprint": self.fingerprint,
                "threshold": self.threshold, "failing": list(self.failing),
                "findings": list(self.findings)}


@dataclass
class SignoffStatus:
    """An approval judged against the evaluation: what the gate, the record and the JSON
    output say about it."""

    role: str
    name: str
    date: str
    current: bool
    reasons: list[str] = field(default_factory=list)     # why it no longer holds
    fixed: list[str] = field(default_factory=list)       # items that FAILed then, not now
    changed: bool = False                                 # the fingerprint differs
    self_approved: list[str] = field(default_factory=list)  # items the approver attested
    approved: SignedState | None = None                   # the state stored with it
    fingerprint_now: str = ""

    def summary(self) -> str:
        """`sign-off by alice on 2026-12-01 no longer holds: 4.2.3 now FAILs (CRITICAL)`."""
        head = f"sign-off by {self.name} on {self.date or 'an unknown date'}"
        if not self.current:
            return f"{head} no longer holds: {'; '.join(self.reasons)}"
        if self.fixed:
            return f"{head} holds (fixed since: {_listed(self.fixed)})"
        if self.changed:
            return f"{head} holds (the state changed since, nothing got worse)"
        return f"{head} holds (the state is the one approved)"

    def self_approval(self) -> str:
        """`alice attested 16 of the items it covers (1.1.3, …)`."""
        return (f"{self.name} attested {len(self.self_approved)} of the items it covers "
                f"({_listed(self.self_approved)})")

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name, "date": self.date,
                "status": "current" if self.current else "stale",
                "reasons": list(self.reasons), "fixed": list(self.fixed),
                "changed": self.changed, "self_approved": bool(self.self_approved),
                "self_approved_items": list(self.self_approved),
                "approved_state": self.approved.as_yaml() if self.approved else None,
                "fingerprint_now": self.fingerprint_now}


class Approval(Protocol):
    """What this module reads of an approval (attest.Approval)."""

    role: str
    name: str
    date: str
    state: SignedState | None


class ItemResult(Protocol):
    """What this module reads of an answered item (evaluate.ItemResult)."""

    @property
    def item(self) -> Item: ...
    @property
    def status(self) -> Status: ...
    @property
    def findings(self) -> Sequence[Finding]: ...
    @property
    def attestation(self) -> Any: ...      # attest.Attestation: `by` is the person


class Evaluation(Protocol):
    """What this module reads of an evaluation (evaluate.Evaluation)."""

    @property
    def items(self) -> Sequence[ItemResult]: ...
    @property
    def findings(self) -> Sequence[Finding]: ...
    @property
    def record(self) -> Any: ...           # attest.ServiceRecord: `approvals` by role
    @property
    def evaluated(self) -> str: ...        # the evaluation's day (ISO)
    @property
    def service(self) -> Any: ...


# --- the state ---------------------------------------------------------------------------

def bind(evaluation: Evaluation, role: str = SECURITY_REVIEWER,
         threshold: Severity = Severity.HIGH) -> SignedState:
    """The state an approval by `role` given now approves."""
    findings = _bound_findings(evaluation, threshold)
    risk = risk_with_approval(evaluation, role)
    unanswered = [r for r in _state_items(evaluation)
                  if r.status in (Status.FAIL, Status.OPEN)]
    failing = tuple(r.item.id for r in unanswered if r.status is Status.FAIL)
    digest = json.dumps({
        "risk": risk, "threshold": threshold.name,
        "items": sorted([r.item.id, r.status.value, r.item.severity.name] for r in unanswered),
        "findings": sorted(f.fingerprint for f in findings)}, sort_keys=True)
    return SignedState(risk=risk, fingerprint=hashlib.sha256(digest.encode()).hexdigest()[:12],
                       threshold=threshold.name, failing=failing,
                       findings=tuple(_finding_key(f) for f in findings))


def approval_is_current(approval: Approval, evaluation: Evaluation) -> tuple[bool, str]:
    """Whether `approval` still holds for `evaluation`, and if not why (the reasons joined
    by `; `, e.g. `4.2.3 now FAILs (CRITICAL); risk High→Unacceptable`)."""
    status = judge(approval, evaluation)
    return status.current, "; ".join(status.reasons)


def judge(approval: Approval, evaluation: Evaluation) -> SignoffStatus:
    status = SignoffStatus(approval.role, approval.name, approval.date, current=True)
    if approval.role == SECURITY_REVIEWER:
        status.self_approved = self_approved(approval, evaluation)
    today = dt.date.fromisoformat(evaluation.evaluated)
    try:     # the file's schema checks dates; an approval built in code may hold anything
        date = dt.date.fromisoformat(approval.date) if approval.date else None
    except ValueError:
        status.reasons.append(f"its date {approval.date!r} is not a date (YYYY-MM-DD)")
        date = None
    if date is not None and date > today + FUTURE_SLACK:
        status.reasons.append(f"dated {approval.date}, after the evaluation's day "
                              f"({today.isoformat()}): check the date or re-approve")
    state = approval.state
    if state is None:
        status.reasons.append("recorded before sign-offs were bound to a state: re-approve "
                              "to bind it to the current state")
        status.current = False
        return status
    now = bind(evaluation, approval.role, Severity.parse(state.threshold))
    status.approved, status.fingerprint_now = state, now.fingerprint
    failing_then = set(state.failing)
    worse = [r for r in _state_items(evaluation) if r.status is Status.FAIL
             and r.item.id not in failing_then and r.item.severity >= Severity.HIGH]
    if worse:
        status.reasons.append(_listed([f"{r.item.id} now FAILs ({r.item.severity.name})"
                                       for r in worse]))
    bound_then = set(state.findings)
    new = [f for f in _bound_findings(evaluation, Severity.parse(state.threshold))
           if _finding_key(f) not in bound_then]
    if new:
        status.reasons.append(_listed([f"new {f.severity.name} finding {f.rule.id} at "
                                       f"{f.asset}" + (f" ({f.resource})" if f.resource else "")
                                       for f in new]))
    levels = risk_levels()
    if now.risk in levels and state.risk in levels and \
            levels.index(now.risk) > levels.index(state.risk):
        status.reasons.append(f"risk {state.risk}→{now.risk}")
    status.current = not status.reasons
    status.fixed = [i for i in state.failing if i not in now.failing]
    status.changed = now.fingerprint != state.fingerprint
    return status


def security_signoff(evaluation: Evaluation) -> SignoffStatus | None:
    """The security reviewer's sign-off judged against the evaluation, or None."""
    approval = evaluation.record.approvals.get(SECURITY_REVIEWER)
    return None if approval is None else judge(approval, evaluation)


def record_note(evaluation: Evaluation, role: str) -> str:
    """What the deployment record's Signature column adds to `recorded` for an approval."""
    approval = evaluation.record.approvals.get(role)
    if approval is None or role != SECURITY_REVIEWER:
        return ""
    status = judge(approval, evaluation)
    notes = []
    if not status.current:
        notes.append("no longer holds: " + "; ".join(status.reasons))
    if status.self_approved:
        notes.append("self-approved (single operator)")
    return "; ".join(notes)


# --- approving ---------------------------------------------------------------------------

def approval_date(text: str, today: dt.date) -> str:
    """`approve --date`: a date, not after today (a sign-off is given for what was
    reviewed, never in advance)."""
    from labwarden.config import ConfigError

    if not text:
        return today.isoformat()
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--date must be a date (YYYY-MM-DD), not {text!r}") from None
    if date > today:
        raise ConfigError(f"--date {date.isoformat()} is after today ({today.isoformat()}): "
                          "a sign-off approves what was reviewed, it is never given in "
                          "advance")
    return date.isoformat()


def approver_name(text: str) -> str:
    """`approve --name`, trimmed (names are compared trimmed and case-insensitively)."""
    from labwarden.config import ConfigError

    if not text.strip():
        raise ConfigError("--name must name the person who approves")
    return text.strip()


def approve_lines(approval: Approval, evaluation: Evaluation,
                  single_operator: bool) -> tuple[list[str], bool]:
    """What `approve` says, and whether it refuses (a self-approval the policy forbids)."""
    service = evaluation.service.name
    status = SignoffStatus(approval.role, approval.name, approval.date, current=True)
    if approval.role == SECURITY_REVIEWER:
        status.self_approved = self_approved(approval, evaluation)
    if status.self_approved and not single_operator:
        return [f"labwarden: refusing the {approval.role} sign-off of {service}: "
                f"{status.self_approval()}, and gate.single_operator is false: another "
                "person must approve"], True
    state = approval.state
    lines = [f"{service}: {approval.role} sign-off by {approval.name} on {approval.date} "
             "recorded"]
    if state is not None:
        lines.append(f"  bound to this state: risk {state.risk}, {len(state.failing)} failing "
                     f"item(s){' (' + _listed(list(state.failing)) + ')' if state.failing else ''}"
                     f", {len(state.findings)} active finding(s) at or above "
                     f"{state.threshold}; fingerprint {state.fingerprint}")
    if status.self_approved:
        lines.append(f"  self-approved (single operator): {status.self_approval()}")
    return lines, False


# --- separation of duties ----------------------------------------------------------------

def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def self_approved(approval: Approval, evaluation: Evaluation) -> list[str]:
    """The items the evaluation counts on the approver's own word: attested or answered
    N/A by them, or accepted by a waiver they own."""
    mine = []
    for result in evaluation.items:
        if result.status not in (Status.ATTESTED, Status.NA):
            continue
        attestation = result.attestation
        if attestation is not None and same_person(attestation.by, approval.name):
            mine.append(result.item.id)
            continue
        waivers = [f.suppression for f in result.findings if f.suppression is not None]
        if any(getattr(w, "owner", "") and same_person(w.owner, approval.name)
               for w in waivers):
            mine.append(result.item.id)
    return mine


# --- reading the stored state --------------------------------------------------------------

STATE_KEYS = ("risk", "fingerprint", "threshold", "failing", "findings")


def parse_state(value: Map, where: str, loc: Location | None) -> SignedState:
    """The `state:` of an approval as the attestation file holds it, its keys already
    checked by the file's schema (attest.py): each value is checked here, at its line."""
    from labwarden.config import ConfigError

    missing = [k for k in ("risk", "fingerprint", "threshold") if not value.get(k)]
    if missing:
        raise ConfigError(f"{where} lacks {', '.join(missing)} (re-approve to record it)", loc)
    texts = {}
    for key in ("risk", "fingerprint", "threshold"):
        if isinstance(value[key], (Map, Seq)):
            raise ConfigError(f"{where}: {key} must be text", value.loc_of(key))
        texts[key] = str(value[key])
    risk, fingerprint = texts["risk"], texts["fingerprint"]
    levels = risk_levels()
    if risk not in levels:
        raise ConfigError(f"{where}: risk must be one of {', '.join(levels)}, not {risk!r}",
                          value.loc_of("risk"))
    if len(fingerprint) != 12 or any(c not in "0123456789abcdef" for c in fingerprint):
        raise ConfigError(f"{where}: fingerprint must be 12 hexadecimal digits",
                          value.loc_of("fingerprint"))
    try:
        threshold = Severity.parse(texts["threshold"]).name
    except ValueError as exc:
        raise ConfigError(f"{where}: threshold: {exc}", value.loc_of("threshold")) from None
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("failing", "findings"):
        entries = value.get(key)
        if entries is None:
            entries = Seq()
        if not isinstance(entries, Seq) or any(isinstance(e, (Map, Seq)) for e in entries):
            raise ConfigError(f"{where}: {key} must be a list of text", value.loc_of(key))
        lists[key] = tuple(str(e) for e in entries)
    return SignedState(risk, fingerprint, threshold, lists["failing"], lists["findings"])


# --- helpers -----------------------------------------------------------------------------

def risk_levels() -> list[str]:
    """The risk levels, best first (the catalog's bands)."""
    return [level.level for level in load_catalog().risk_levels]


def _state_items(evaluation: Evaluation) -> list[ItemResult]:
    """The items whose status is the state: all but the ones approvals answer."""
    return [r for r in evaluation.items if r.item.id not in SIGNOFF_ITEMS]


def risk_with_approval(evaluation: Evaluation, role: str) -> str:
    """The risk level with the approval's own item (11.1.4 for the security reviewer)
    complete, the others as evaluated: the same when approving and afterwards."""
    own = {item for item, r in SIGNOFF_ITEMS.items() if r == role}
    statuses = {r.item.id: Status.ATTESTED if r.item.id in own and r.status is not Status.NA
                else r.status for r in evaluation.items}
    # The evaluation's own items (an overlay may add or drop some), the packaged risk bands.
    catalog = dataclasses.replace(load_catalog(), sections=(),
                                  items_by_id={r.item.id: r.item for r in evaluation.items})
    return compute(catalog, statuses).risk


def _bound_findings(evaluation: Evaluation, threshold: Severity) -> list[Finding]:
    return [f for f in evaluation.findings if f.severity >= threshold and not f.waived]


def _finding_key(finding: Finding) -> str:
    """Rule and fingerprint (rule + asset + resource): never the numbered ID, which shifts
    when another finding appears."""
    return f"{finding.rule.id}:{finding.fingerprint[:12]}"


def _listed(parts: list[str]) -> str:
    shown = ", ".join(parts[:SHOWN])
    return shown + (f" … and {len(parts) - SHOWN} more" if len(parts) > SHOWN else "")
