"""The SSH rules against their fixtures, tests/rules/fixtures/<SSH…>/facts.yaml: a YAML list of
facts, the first line of each marked `# ruleid: ID` (the rule must report that fact) or
`# ok: ID` (it must not). The fact type's module provides `facts_with_lines`."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from labwarden.rules.registry import all_rules

FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures"
MARKER = re.compile(r"#\s*(ruleid|ok):\s*([A-Z]{3}\d{3})")
SSH_RULES = [r for r in all_rules() if r.id.startswith("SSH")]


def markers(path: Path) -> dict[int, tuple[str, str]]:
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = MARKER.search(line)
        if match:
            found[number] = (match.group(1), match.group(2))
    return found


@pytest.mark.parametrize("rule", SSH_RULES, ids=lambda r: r.id)
def test_rule_fixture_facts(rule):
    path = FIXTURES / rule.id / "facts.yaml"
    assert path.exists(), f"{rule.id} has no facts.yaml"
    loader = importlib.import_module(rule.fact.__module__).facts_with_lines
    marks = markers(path)
    kinds = {kind for kind, rule_id in marks.values() if rule_id == rule.id}
    assert kinds == {"ruleid", "ok"}, f"{rule.id} needs both ruleid and ok facts"
    facts = loader(str(path))
    assert {line for line, _ in facts} == set(marks), "a marker on a line that starts no fact"
    for line, fact in facts:
        kind, rule_id = marks[line]
        hits = list(rule.check(fact, None))
        if rule_id != rule.id:
            continue
        if kind == "ruleid":
            assert hits, f"{path}:{line}: {rule.id} should report this fact"
        else:
            assert not hits, f"{path}:{line}: {rule.id} should not report: {hits[0].message}"
