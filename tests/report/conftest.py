"""Audit results for the reporter tests.

`lab` runs the real engine over a small tree with planted problems: a hardcoded password,
misspelled keys (CMP001, the one rule sure to exist), an inline suppression, a waiver from
labwarden.yaml, an unresolved variable (a coverage gap) and a file that is not YAML (an
input error). The tests must not depend on which other rules exist, so they assert on what
the engine returned rather than on fixed counts.

`crafted` builds findings by hand to reach what the tree cannot: every severity, line 0,
markup and escape sequences in messages and evidence, all diagnostic levels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from labwarden.config import load_config
from labwarden.audit.compose import AuditOptions, audit
from labwarden.audit.runner import number
from labwarden.model import AuditResult, Diagnostic, Finding, Location, Severity, Suppression
from labwarden.redact import redact_assignment
from labwarden.rules import registry

# Planted secret values: none may appear in any report.
SECRETS = ("SuperSecretValue123", "AnotherSecret456", "TopSecretCrafted789")

APP_COMPOSE = """\
services:
  db:
    image: postgres:16.4
    environment:
      POSTGRES_PASSWORD: SuperSecretValue123
      APP_TOKEN: ${DB_TOKEN}
      MISSING: ${NOT_SET_ANYWHERE}
    read-only: true
  web:
    image: nginx:1.27
    # labwarden: ignore[CMP001] the deploy script still reads this key
    network-mode: host
    cpu-shares: 2
"""

LEGACY_COMPOSE = """\
services:
  cache:
    image: redis:7.4
    restart-policy: always
"""

CONFIG = """\
waivers:
  - rule: CMP001
    scope: {path: "legacy/compose.yaml"}
    justification: the legacy stack is replaced next quarter
    owner: alice
    expires: 2099-12-31
"""


@dataclass
class Lab:
    root: Path
    result: AuditResult


def make_tree(root: Path) -> None:
    (root / "app").mkdir(parents=True)
    (root / "app" / "compose.yaml").write_text(APP_COMPOSE)
    (root / "app" / ".env").write_text("DB_TOKEN=AnotherSecret456\n")
    (root / "legacy").mkdir()
    (root / "legacy" / "compose.yaml").write_text(LEGACY_COMPOSE)
    (root / "broken").mkdir()
    (root / "broken" / "compose.yaml").write_text("services: [unclosed\n  web: {\n")
    (root / "labwarden.yaml").write_text(CONFIG)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch) -> Lab:
    root = tmp_path / "lab"
    make_tree(root)
    monkeypatch.chdir(root)
    options = AuditOptions(config=load_config(str(root / "labwarden.yaml")),
                           today=dt.date(2026, 1, 1))
    return Lab(root, audit(["."], options))


def _rule(rule_id: str):
    rule = registry.get(rule_id)
    assert rule is not None, f"{rule_id} is not registered"
    return rule


def crafted_result(base: Path) -> AuditResult:
    cmp001, cmp002 = _rule("CMP001"), _rule("CMP002")
    compose = str(base / "stack" / "compose.yaml")
    outside = "/opt/elsewhere/docker compose.yml"      # outside the working directory
    findings = [
        Finding(cmp001, Severity.CRITICAL, "`POSTGRES_PASSWORD` is written in the file",
                Location(compose, 5, 7), "compose:stack/db", "env:POSTGRES_PASSWORD",
                evidence=redact_assignment("POSTGRES_PASSWORD", "TopSecretCrafted789"),
                fix="use a secret:\n```yaml\nsecrets:\n  - db_password\n```",
                checklist=("8.1.2",)),
        Finding(cmp001, Severity.HIGH, "a | pipe and `back`tick` and <b>html</b> \x1b[31mred",
                Location(compose, 9, 0), "compose:stack/web", "weird",
                evidence="value with `` two ticks | and a pipe"),
        Finding(cmp001, Severity.MEDIUM, "plain medium", Location(compose, 12, 3),
                "compose:stack/web", "medium", evidence=""),
        Finding(cmp002, Severity.LOW, "whole-file finding", Location(outside, 0, 0),
                "compose:elsewhere", "legacy-format"),
        Finding(cmp002, Severity.INFO, "informational\nover two lines", Location(compose, 1, 1),
                "compose:stack", "info"),
        Finding(cmp001, Severity.HIGH, "accepted inline", Location(compose, 20, 5),
                "compose:stack/proxy", "inline",
                suppression=Suppression("inline", "proxy needs it | really",
                                        location=Location(compose, 19, 0))),
        Finding(cmp001, Severity.CRITICAL, "accepted by waiver", Location(compose, 30, 5),
                "compose:stack/agent", "waived",
                suppression=Suppression("waiver", "vendor agent, isolated VLAN", owner="bob",
                                        expires="2099-06-30",
                                        location=Location(str(base / "labwarden.yaml"), 3, 0))),
    ]
    number(findings)
    diagnostics = [
        Diagnostic("error", "yaml-syntax", "not valid YAML: expected ',' or ']'",
                   Location(str(base / "bad" / "compose.yaml"), 2, 3)),
        *[Diagnostic("gap", "unset-variable", f"${{VAR{i}}} is not set; read as empty",
                     Location(compose, 40 + i, 5)) for i in range(6)],
        Diagnostic("gap", "missing-env-file", "env_file ./x.env does not exist",
                   Location(compose, 50, 5)),
        Diagnostic("warning", "unused-waiver", "the waiver for CMP002 matches no finding",
                   Location(str(base / "labwarden.yaml"), 9, 0)),
        Diagnostic("info", "profile-skipped", "note without a location", None),
    ]
    return AuditResult(findings=findings, diagnostics=diagnostics,
                       targets=[str(base / "stack"), outside], files_scanned=3, projects=2,
                       services=4, rules_run=2, started="2026-01-02T03:04:05+00:00",
                       duration_s=0.0123)


@pytest.fixture
def crafted(tmp_path: Path, monkeypatch) -> AuditResult:
    monkeypatch.chdir(tmp_path)
    return crafted_result(tmp_path)


@pytest.fixture
def planted_secrets() -> tuple[str, ...]:
    return SECRETS


@pytest.fixture
def empty() -> AuditResult:
    return AuditResult(findings=[], diagnostics=[], targets=["."])

