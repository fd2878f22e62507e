"""Every rule against its fixtures, semgrep-style.

`tests/rules/fixtures/<RULE_ID>/` holds a small tree of Compose projects (and env files).
A line ending in `# ruleid: ID` must be reported by rule ID, at that line; a line ending in
`# ok: ID` must not be. For the directory's own rule the reported lines must equal the
`ruleid` lines exactly. An optional `fixture.yaml` prepares what git cannot store:
`chmod: {path: "0644"}` and `git_add: [paths]` (the tree is copied and made a repository).

Rules on live facts (TLS handshakes, HTTP headers, SSH servers, firewalls…) have no file to
point at: their directory holds `facts.yaml`, a list of facts in the shape the fact's
source module reads with its `facts_from_yaml(path)`; a marker on an item's first line says
whether the rule must report that fact.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from labwarden.config import load_config
from labwarden.audit.compose import AuditOptions, audit
from labwarden.rules import registry

FIXTURES = Path(__file__).parent / "fixtures"
MARKER = re.compile(r"#\s*(ruleid|ok):\s*([A-Z]{3}\d{3}(?:\s*,\s*[A-Z]{3}\d{3})*)")
RULE_IDS = [r.id for r in registry.all_rules()]


def markers(root: Path) -> dict[tuple[str, str], set[tuple[str, int]]]:
    """{(kind, rule id): {(relative path, line)}} for every marker under root."""
    found: dict[tuple[str, str], set[tuple[str, int]]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name == "fixture.yaml" or ".git" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in MARKER.finditer(line):
                for rule_id in re.split(r"\s*,\s*", match.group(2)):
                    key = (match.group(1), rule_id)
                    found.setdefault(key, set()).add((str(path.relative_to(root)), number))
    return found


def prepare(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    setup_file = target / "fixture.yaml"
    if setup_file.exists():
        setup = yaml.safe_load(setup_file.read_text()) or {}
        for rel, mode in (setup.get("chmod") or {}).items():
            os.chmod(target / rel, int(str(mode), 8))
        if setup.get("git_add"):
            env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
            subprocess.run(["git", "init", "-q", str(target)], check=True, env=env)
            subprocess.run(["git", "-C", str(target), "add", "-f", *setup["git_add"]],
                           check=True, env=env)
        setup_file.unlink()
    return target


def run_fact_fixture(rule_id: str, root: Path) -> dict[str, set[tuple[str, int]]]:
    """Run the rule on each fact of facts.yaml; a hit counts at the fact's first line."""
    import importlib

    from labwarden.settings import Settings
    from labwarden.sources.yamlfile import load_yaml_file

    rule = registry.get(rule_id)
    path = root / "facts.yaml"
    source = importlib.import_module(rule.fact.__module__)
    facts = source.facts_from_yaml(str(path))
    _, documents, _ = load_yaml_file(str(path))
    lines = [loc.line for loc in documents[0].item_locs]
    assert len(facts) == len(lines), "facts_from_yaml must return one fact per list item"
    reported: set[tuple[str, int]] = set()
    for fact, line in zip(facts, lines):
        if list(rule.check(fact, Settings())):
            reported.add(("facts.yaml", line))
    return {rule_id: reported}


def run_fixture(rule_id: str, tmp_path: Path):
    root = prepare(FIXTURES / rule_id, tmp_path / rule_id)
    config_path = root / "labwarden.yaml"
    config = load_config(str(config_path) if config_path.exists() else None)
    if rule_id.startswith("SCR"):     # shell scripts: `labwarden scripts`, not `audit`
        from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts

        result = audit_scripts([str(root)], ScriptAuditOptions(config=config))
    else:
        result = audit([str(root)], AuditOptions(config=config, jobs=1))
    reported: dict[str, set[tuple[str, int]]] = {}
    for finding in result.findings:
        rel = os.path.relpath(finding.location.path, root)
        reported.setdefault(finding.rule.id, set()).add((rel, finding.location.line))
    return root, result, reported


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fixture(rule_id: str, tmp_path: Path) -> None:
    assert (FIXTURES / rule_id).is_dir(), f"{rule_id} has no fixture directory"
    if (FIXTURES / rule_id / "facts.yaml").exists():
        root = FIXTURES / rule_id
        reported = run_fact_fixture(rule_id, root)
    else:
        root, result, reported = run_fixture(rule_id, tmp_path)
        crashes = [d for d in result.diagnostics if d.code == "rule-crashed"]
        assert not crashes, crashes
    marks = markers(root)
    expected = marks.get(("ruleid", rule_id), set())
    assert reported.get(rule_id, set()) == expected, (
        f"{rule_id}: reported {sorted(reported.get(rule_id, set()))}, "
        f"expected {sorted(expected)}")
    for (kind, other), lines in marks.items():
        if other == rule_id:
            continue
        got = reported.get(other, set())
        if kind == "ruleid":
            assert lines <= got, f"{other} missed {sorted(lines - got)} in {rule_id}'s fixture"
        else:
            assert not (lines & got), f"{other} flagged ok lines {sorted(lines & got)}"
    for line in marks.get(("ok", rule_id), set()):
        assert line not in reported.get(rule_id, set())


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_has_pass_and_fail_cases(rule_id: str) -> None:
    directory = FIXTURES / rule_id
    assert directory.is_dir(), f"{rule_id} has no fixture directory"
    marks = markers(directory)
    assert marks.get(("ruleid", rule_id)), f"{rule_id} has no failing case (# ruleid:)"
    assert marks.get(("ok", rule_id)), f"{rule_id} has no passing case (# ok:)"


def test_no_fixture_without_a_rule() -> None:
    orphans = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in RULE_IDS)
    assert not orphans, f"fixture directories for unknown rules: {orphans}"
