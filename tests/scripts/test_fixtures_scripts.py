"""The SCR rules against their fixtures (tests/rules/fixtures/SCRnnn/), semgrep-style, the
way tests/rules/test_fixtures.py runs the Compose rules: a line ending in `# ruleid: ID`
must be reported by rule ID at that line, a line ending in `# ok: ID` must not be, and for
the directory's own rule the reported lines are exactly the `ruleid` lines. The fixture
tree is copied out of the repository, so its Compose projects are the only ones known."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from labwarden.config import load_config
from labwarden.rules.registry import all_rules
from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts
from labwarden.sources.scripts import ShellScript

FIXTURES = Path(__file__).parents[1] / "rules" / "fixtures"
MARKER = re.compile(r"#\s*(ruleid|ok):\s*([A-Z]{3}\d{3}(?:\s*,\s*[A-Z]{3}\d{3})*)")
SCRIPT_RULES = [r.id for r in all_rules() if r.fact is ShellScript]


def markers(root: Path) -> dict[tuple[str, str], set[tuple[str, int]]]:
    found: dict[tuple[str, str], set[tuple[str, int]]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in MARKER.finditer(line):
                for rule_id in re.split(r"\s*,\s*", match.group(2)):
                    found.setdefault((match.group(1), rule_id), set()).add(
                        (str(path.relative_to(root)), number))
    return found


def test_every_script_rule_is_registered() -> None:
    assert SCRIPT_RULES == [f"SCR00{i}" for i in range(1, 9)]


@pytest.mark.parametrize("rule_id", SCRIPT_RULES)
def test_script_rule_fixture(rule_id: str, tmp_path: Path, shellcheck: str) -> None:
    root = tmp_path / rule_id
    shutil.copytree(FIXTURES / rule_id, root)
    config_path = root / "labwarden.yaml"
    config = load_config(str(config_path) if config_path.exists() else None)
    result = audit_scripts([str(root)], ScriptAuditOptions(config=config))
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    assert not [d for d in result.diagnostics if d.code == "shellcheck-missing"]
    reported: dict[str, set[tuple[str, int]]] = {}
    for finding in result.findings:
        rel = os.path.relpath(finding.location.path, root)
        reported.setdefault(finding.rule.id, set()).add((rel, finding.location.line))
    marks = markers(root)
    expected = marks.get(("ruleid", rule_id), set())
    assert expected, f"{rule_id} has no failing case"
    assert marks.get(("ok", rule_id)), f"{rule_id} has no passing case"
    assert reported.get(rule_id, set()) == expected, (
        f"{rule_id}: reported {sorted(reported.get(rule_id, set()))}, "
        f"expected {sorted(expected)}")
    for (kind, other), lines in marks.items():
        got = reported.get(other, set())
        if kind == "ruleid":
            assert lines <= got, f"{other} missed {sorted(lines - got)}"
        else:
            assert not (lines & got), f"{other} flagged ok lines {sorted(lines & got)}"
