"""The seed's "Checklist Score" and risk level, made precise.

Score: items completed (PASS or ATTESTED) over applicable items (N/A excluded), per section
and overall. Risk: the first level of the catalog's `risk_levels` (best first) whose minimum
percentage is reached and whose required severities are all complete — which is exactly:
Unacceptable below 70 %; otherwise High while any CRITICAL item is incomplete or below 85 %;
otherwise Medium while any HIGH item is incomplete or below 95 %; otherwise Low.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import Enum

from labwarden.checklist.catalog import Catalog, Item
from labwarden.model import Severity


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    ATTESTED = "ATTESTED"
    NA = "N/A"
    OPEN = "OPEN"

    @property
    def completed(self) -> bool:
        return self in (Status.PASS, Status.ATTESTED)


def truncated_percent(value: float, digits: int = 1) -> str:
    """`value` (a percentage) with `digits` decimals, cut rather than rounded: 84.98 is
    "84.9", never "85.0", so a shown score is never on the far side of a band boundary
    (85 %) from the score that decided the risk. The float's shortest spelling is cut, not
    its binary value: 84.9 stored as 84.899999… still shows "84.9"."""
    step = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(float(value))).quantize(step, rounding=ROUND_DOWN))


def format_percent(value: float, digits: int = 1) -> str:
    """A checklist percentage as every output shows it ("84.9 %"): see `truncated_percent`."""
    return f"{truncated_percent(value, digits)} %"


@dataclass(frozen=True)
class Tally:
    total: int          # applicable items
    completed: int
    na: int

    @property
    def percent(self) -> float:
        """Completed over applicable; 0 when nothing applies (never 100 %: an all-N/A
        section or service shows as such, see `tally_text`)."""
        return 0.0 if self.total == 0 else 100.0 * self.completed / self.total


def tally_text(tally: Tally) -> str:
    """How a tally's completion is shown: "84.9 %", or "all N/A" when nothing applies."""
    return format_percent(tally.percent) if tally.total else "all N/A"


@dataclass(frozen=True)
class Score:
    overall: Tally
    sections: dict[str, Tally]
    risk: str
    risk_text: str
    reasons: list[str] = field(default_factory=list)   # why the risk is not better
    incomplete: dict[Severity, list[str]] = field(default_factory=dict)


def tally(statuses: list[Status]) -> Tally:
    na = sum(1 for s in statuses if s is Status.NA)
    completed = sum(1 for s in statuses if s.completed)
    return Tally(total=len(statuses) - na, completed=completed, na=na)


def compute(catalog: Catalog, statuses: dict[str, Status]) -> Score:
    """Score and risk from each item's status (items without a status count as OPEN)."""
    status_of = {item.id: statuses.get(item.id, Status.OPEN) for item in catalog.items}
    overall = tally(list(status_of.values()))
    sections = {section.id: tally([status_of[i.id] for i in section.items])
                for section in catalog.sections}
    incomplete: dict[Severity, list[str]] = {}
    for item in catalog.items:
        status = status_of[item.id]
        if status is not Status.NA and not status.completed:
            incomplete.setdefault(item.severity, []).append(item.id)
    percent = overall.percent
    reasons: list[str] = []
    chosen = catalog.risk_levels[-1]
    if overall.total == 0:     # nothing to judge is no evidence of low risk
        return Score(overall=overall, sections=sections, risk=chosen.level,
                     risk_text=chosen.text, reasons=[
                         "no checklist item applies to this service: check its "
                         "deployment_type and the checklist overlay"], incomplete=incomplete)
    for level in catalog.risk_levels:
        blocking = [s for s in level.requires_complete if incomplete.get(s)]
        if percent >= level.min_percent and not blocking:
            chosen = level
            break
        if percent < level.min_percent:
            reasons.append(f"{level.level}: needs {level.min_percent} % complete, "
                           f"{format_percent(percent)} is")
        for severity in blocking:
            items = incomplete[severity]
            reasons.append(f"{level.level}: needs every {severity.name} item complete; "
                           f"{len(items)} open or failing: {', '.join(items[:8])}"
                           + (" …" if len(items) > 8 else ""))
    return Score(overall=overall, sections=sections, risk=chosen.level, risk_text=chosen.text,
                 reasons=reasons, incomplete=incomplete)


def applicable(item: Item, deployment_type: str | None) -> bool:
    return deployment_type is None or item.applies(deployment_type)
