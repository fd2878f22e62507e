"""A service or section where nothing applies shows as such, never as 100 %, and is not
a low risk: nothing judged is no evidence."""

from __future__ import annotations

from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.score import Status, Tally, compute, tally_text


def test_all_na_is_shown_as_such_and_is_not_low_risk() -> None:
    catalog = load_catalog()
    score = compute(catalog, {item.id: Status.NA for item in catalog.items})
    assert score.overall.total == 0 and score.overall.percent == 0.0
    assert tally_text(score.overall) == "all N/A"
    assert score.risk == "Unacceptable" and "no checklist item applies" in score.reasons[0]


def test_one_all_na_section_among_others() -> None:
    catalog = load_catalog()
    statuses = {item.id: Status.PASS for item in catalog.items}
    statuses.update({item.id: Status.NA for item in catalog.section("7").items})
    score = compute(catalog, statuses)
    assert tally_text(score.sections["7"]) == "all N/A"
    assert tally_text(score.sections["4"]) == "100.0 %"
    assert score.risk == "Low"
    assert tally_text(Tally(total=3, completed=1, na=0)) == "33.3 %"
