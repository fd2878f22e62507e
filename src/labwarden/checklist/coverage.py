"""How much of a service's checklist is automatic: per section, the items evidence answered,
those it examined without being able to show them, those that need a source that was not
collected (and which), those automatable in principle that no check answers yet, those
only a person can answer, and those that do not apply.

`labwarden checklist SERVICE --coverage` prints it; the closing question it answers is
"what would I have to collect, or attest, to get further?".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

COLUMNS = (("answered", "answered by evidence"), ("examined", "examined, not shown"),
           ("source", "needs a source"), ("unbuilt", "no check yet"),
           ("person", "person only"), ("na", "N/A"))


@dataclass
class Row:
    section: str
    title: str
    counts: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)   # source name -> items it would answer


def _column(result) -> str:
    status = result.status.value
    if status == "N/A":
        return "na"
    if result.answered_by == "evidence":
        return "answered" if status in ("PASS", "FAIL") or result.findings else "examined"
    if result.answered_by in ("source", "unbuilt"):
        return result.answered_by
    return "person"


def coverage(evaluation, catalog) -> list[Row]:
    """One row per section, then the total."""
    results = evaluation.by_id()
    rows = []
    total = Row("", "Total")
    for section in catalog.sections:
        row = Row(section.id, section.title)
        for item in section.items:
            result = results[item.id]
            column = _column(result)
            row.counts[column] += 1
            total.counts[column] += 1
            if column == "source":
                for need in result.needs:
                    row.sources[need] += 1
                    total.sources[need] += 1
        rows.append(row)
    return rows + [total]


def coverage_text(rows: list[Row], evaluation) -> list[str]:
    width = max(len(f"{r.section}. {r.title}") for r in rows) + 1
    head = f"{'section':<{width}}" + "".join(f"{label:>21}" for _, label in COLUMNS)
    lines = [f"Checklist coverage for {evaluation.service.name} ({evaluation.evaluated})", "",
             head]
    for row in rows:
        name = f"{row.section}. {row.title}" if row.section else row.title
        lines.append(f"{name:<{width}}" + "".join(f"{row.counts[key]:>21}"
                                                   for key, _ in COLUMNS))
    total = rows[-1]
    if total.sources:
        lines += ["", "Sources that would answer more (items):"]
        lines += [f"  {name}: {count}" for name, count in total.sources.most_common()]
    return lines


def coverage_json(rows: list[Row]) -> dict:
    return {"sections": [{"section": r.section, "title": r.title,
                          **{key: r.counts[key] for key, _ in COLUMNS},
                          "needs": dict(r.sources)} for r in rows[:-1]],
            "total": {**{key: rows[-1].counts[key] for key, _ in COLUMNS},
                      "needs": dict(rows[-1].sources)}}
