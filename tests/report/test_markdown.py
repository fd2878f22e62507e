"""The Markdown audit report: sections, headings, the summary table, escaping."""

from __future__ import annotations

import re

import pytest

from labwarden.report import render
from labwarden.report.escape import markdown_code as code
from labwarden.report.escape import markdown_prose as prose


def summary_table(text: str) -> dict[str, int]:
    section = text.split("## Summary", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        rows[cells[0]] = int(cells[1])
    return rows


@pytest.mark.parametrize("source", ["lab", "crafted", "empty"])
def test_summary_table_counts(source, request):
    result = request.getfixturevalue(source)
    result = result.result if hasattr(result, "result") else result
    rows = summary_table(render(result, "markdown"))
    counts = result.counts()
    for severity, n in counts.items():
        assert rows[severity.name] == n
    assert rows["Total"] == sum(counts.values())
    assert rows["Waived"] == sum(1 for f in result.findings if f.waived)


def test_structure(crafted):
    text = render(crafted, "markdown")
    assert text.startswith("# Security audit report\n")
    assert "- **Date:** 2026-01-02 03:04 UTC" in text
    for f in crafted.findings:
        assert f"### {f.id}: {f.rule.title}" in text
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == ["Summary", "CRITICAL findings (1)", "HIGH findings (1)",
                        "MEDIUM findings (1)", "LOW findings (1)", "INFO findings (1)",
                        "Waived findings (2)", "Coverage and input problems"]
    # each finding sits under its own severity heading
    for f in crafted.findings:
        before = text[:text.index(f"### {f.id}:")]
        heading = re.findall(r"^## (\S+)", before, re.M)[-1]
        assert heading == ("Waived" if f.waived else f.severity.name)


def test_finding_details(crafted):
    text = render(crafted, "markdown")
    critical = text.split("### CRITICAL-001:", 1)[1].split("\n### ", 1)[0]
    assert "- **Location:** `stack/compose.yaml:5`" in critical
    assert "- **Asset:** `compose:stack/db` (`env:POSTGRES_PASSWORD`)" in critical
    assert "- **Evidence:** `POSTGRES_PASSWORD=To…(19 chars)`" in critical
    assert "- **Checklist items:** 8.1.2" in critical
    assert "**Fix:** use a secret:" in critical and "```yaml\nsecrets:" in critical
    assert "(rule default MEDIUM)" in critical
    medium = text.split("### MEDIUM-001:", 1)[1].split("\n### ", 1)[0]
    rule_fix = crafted.findings[2].rule.doc.fix
    # no specific fix: the rule's own, shown once at the first finding that uses it (the
    # HIGH one), which the others point back to
    high = text.split("### HIGH-001:", 1)[1].split("\n### ", 1)[0]
    assert rule_fix in high and text.count(rule_fix) == 1
    assert "**Fix:** the same as HIGH-001 (stack/web) above." in medium
    waiver = text.split("### WAIVED-001:", 1)[1].split("\n### ", 1)[0]
    assert "- **Owner:** bob" in waiver and "- **Expires:** 2099-06-30" in waiver
    assert "vendor agent, isolated VLAN" in waiver


def test_diagnostics_section(crafted, empty):
    text = render(crafted, "markdown").split("## Coverage and input problems", 1)[1]
    assert "### Errors (1)" in text and "`yaml-syntax`" in text
    assert "### Coverage gaps (7)" in text
    assert re.search(r"\| `unset-variable` \| 6 \| .* and 1 more \|", text)
    assert "### Warnings (1)" in text and "### Notes (1)" in text
    assert "None: every file was read" in render(empty, "markdown")


def test_escaping(crafted):
    text = render(crafted, "markdown")
    assert "<b>" not in text and "\x1b" not in text
    # the fence is longer than any backtick run inside, so the span cannot break
    assert "- **Evidence:** ```value with `` two ticks | and a pipe```\n" in text
    assert code("a|b", table=True) == "`a\\|b`"
    assert code("`x`") == "`` `x` ``"
    assert prose("use `read_only` not *this*") == "use `read_only` not \\*this\\*"
    assert prose("a | b", table=True) == "a \\| b"
    assert prose("a `span` and a stray ` tick") == "a `span` and a stray \\` tick"
    # table rows keep their column count whatever the message holds
    for line in text.splitlines():
        if line.startswith("| ") and "Location | Code | Message" not in line:
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            assert len(cells) in (2, 3, 4, 5), line
