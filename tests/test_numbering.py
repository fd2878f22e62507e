"""Findings are numbered as the seed's audit numbered them: CRITICAL-001, HIGH-001, …,
waived ones apart (WAIVED-001), once they are sorted by severity and place."""

from __future__ import annotations

from labwarden.audit.runner import number
from labwarden.model import Finding, Location, Severity, Suppression
from labwarden.rules import registry


def test_findings_are_numbered_by_severity_in_three_digits_and_on_past_999() -> None:
    rule = registry.get("CMP001")
    high = [Finding(rule, Severity.HIGH, "m", Location("a.yaml", i), "a") for i in range(1, 1002)]
    waived = Finding(rule, Severity.CRITICAL, "m", Location("a.yaml", 1), "a",
                     suppression=Suppression("inline", "why", location=Location("a.yaml", 1)))
    low = Finding(rule, Severity.LOW, "m", Location("b.yaml", 1), "a")
    findings = [low, *reversed(high), waived]
    number(findings)
    assert [f.id for f in findings[:2]] == ["WAIVED-001", "HIGH-001"]   # sorted, then numbered
    assert high[8].id == "HIGH-009" and high[998].id == "HIGH-999"
    assert high[999].id == "HIGH-1000" and high[1000].id == "HIGH-1001"
    assert low.id == "LOW-001"
