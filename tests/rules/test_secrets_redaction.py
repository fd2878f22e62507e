"""No finding prints a secret planted in the SEC and NET fixtures.

Every strong secret planted in those fixtures contains the word `plant`, so it must never
appear in any message, evidence, fix or resource of any rule. Every other secret-looking
value of the fixtures (short defaults like `changeme`, URL passwords) is extracted from the
files and must not appear in evidence or fixes, where a value would most likely leak.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labwarden.redact import url_password
from labwarden.knowledge.secrets import is_secret_name, is_setting_value

from test_fixtures import FIXTURES, run_fixture

DIRS = sorted(p.name for p in FIXTURES.iterdir()
              if p.is_dir() and p.name.startswith(("SEC", "NET")))
_ASSIGNMENT = re.compile(r"^\s*(?:-\s*)?([A-Za-z_][A-Za-z0-9_.]*)\s*[:=]\s*(.*?)\s*(?:\s#.*)?$")


def planted(root: Path) -> set[str]:
    values = set()
    for path in root.rglob("*"):
        if not path.is_file() or path.name in ("fixture.yaml", "labwarden.yaml") \
                or ".git" in path.parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _ASSIGNMENT.match(line)
            if not match:
                continue
            name, value = match.group(1), match.group(2).strip("\"'").replace("$$", "$")
            if "${" in value or value.startswith("#"):
                continue
            password = url_password(value) if "://" in value else None
            if password:
                values.add(password)
            elif is_secret_name(name) and not is_setting_value(value) and len(value) >= 4:
                values.add(value)
    return values


def _contains(text: str, value: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text) is not None


def test_fixtures_plant_secrets() -> None:
    assert "SEC001" in DIRS and "SEC002" in DIRS


@pytest.mark.parametrize("rule_id", DIRS)
def test_no_secret_value_in_findings(rule_id: str, tmp_path: Path) -> None:
    root, result, _ = run_fixture(rule_id, tmp_path)
    secrets = planted(root)
    assert secrets or rule_id.startswith("NET"), f"{rule_id}: no planted secret found"
    for finding in result.findings:
        texts = [t.replace(str(root), "<root>") for t in
                 (finding.message, finding.evidence, finding.fix, finding.resource)]
        for text in texts:
            assert "plant" not in text.lower(), (finding.rule.id, finding.location, text)
        for text in texts[1:3]:
            leaked = [s for s in secrets if _contains(text, s)]
            assert not leaked, (finding.rule.id, finding.location, text)
