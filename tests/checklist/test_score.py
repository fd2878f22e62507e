"""Score and risk level: the seed's definition made precise, at every boundary."""

from __future__ import annotations

import pytest

from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.score import Status, compute, tally
from labwarden.model import Severity

CATALOG = load_catalog()
ITEMS = list(CATALOG.items)


def statuses_for(percent: float) -> dict:
    """200 applicable items (the rest N/A, so each item is exactly 0.5 %), every CRITICAL
    and HIGH item complete, and enough LOW/MEDIUM items open to land on `percent`."""
    severe = [i for i in ITEMS if i.severity >= Severity.HIGH]
    mild = [i for i in ITEMS if i.severity < Severity.HIGH][: 200 - len(severe)]
    statuses = {i.id: Status.NA for i in ITEMS}
    open_count = 200 - round(percent * 2)
    for index, item in enumerate(severe + mild):
        statuses[item.id] = Status.PASS
    for item in mild[:open_count]:
        statuses[item.id] = Status.OPEN
    return statuses


def all_complete_but(severity: Severity) -> dict:
    statuses = {i.id: Status.PASS for i in ITEMS}
    statuses[next(i.id for i in ITEMS if i.severity == severity)] = Status.OPEN
    return statuses


@pytest.mark.parametrize("percent, risk", [
    (69.5, "Unacceptable"), (70.0, "High"), (84.5, "High"), (85.0, "Medium"),
    (94.5, "Medium"), (95.0, "Low"), (100.0, "Low"),
])
def test_percentage_boundaries(percent: float, risk: str) -> None:
    score = compute(CATALOG, statuses_for(percent))
    assert round(score.overall.percent, 1) == percent
    assert score.risk == risk


def test_69_9_is_unacceptable_and_84_9_is_high_and_94_9_is_medium() -> None:
    # 1000-item granularity is not available, so check the comparison itself on tallies.
    from labwarden.checklist.score import Tally

    assert Tally(1000, 699, 0).percent == pytest.approx(69.9)
    for completed, risk in ((699, "Unacceptable"), (700, "High"), (849, "High"),
                            (850, "Medium"), (949, "Medium"), (950, "Low")):
        percent = Tally(1000, completed, 0).percent
        level = next(l for l in CATALOG.risk_levels if percent >= l.min_percent)
        assert level.level == risk, (completed, level.level)


def test_incomplete_critical_item_caps_risk_at_high() -> None:
    score = compute(CATALOG, all_complete_but(Severity.CRITICAL))
    assert score.overall.percent > 99
    assert score.risk == "High"
    assert any("CRITICAL" in r for r in score.reasons)


def test_incomplete_high_item_caps_risk_at_medium() -> None:
    score = compute(CATALOG, all_complete_but(Severity.HIGH))
    assert score.risk == "Medium"


def test_incomplete_medium_item_does_not_cap_risk() -> None:
    assert compute(CATALOG, all_complete_but(Severity.MEDIUM)).risk == "Low"


def test_incomplete_critical_below_70_is_still_unacceptable() -> None:
    statuses = statuses_for(60.0)
    statuses[next(i.id for i in ITEMS if i.severity == Severity.CRITICAL)] = Status.FAIL
    assert compute(CATALOG, statuses).risk == "Unacceptable"


def test_na_is_excluded_from_the_denominator_and_fail_counts_as_incomplete() -> None:
    t = tally([Status.PASS, Status.ATTESTED, Status.NA, Status.FAIL, Status.OPEN])
    assert (t.total, t.completed, t.na) == (4, 2, 1)
    assert t.percent == 50.0


def test_sections_are_scored_separately() -> None:
    statuses = {i.id: Status.PASS if i.section_id == "4" else Status.OPEN for i in ITEMS}
    score = compute(CATALOG, statuses)
    assert score.sections["4"].percent == 100.0
    assert score.sections["1"].percent == 0.0
    assert score.risk == "Unacceptable"
