"""Rules split off older ones (issue 15): IMG004 from IMG001, SEC008 from SEC002. Each new
rule can be waived alone, and waivers and inline suppressions written for the old rule keep
covering what it used to report."""

from __future__ import annotations

from pathlib import Path

from labwarden.audit.compose import AuditOptions, audit
from labwarden.config import load_config
from labwarden.model import Severity
from labwarden.rules._index import RULES, SPLIT_FROM

COMPOSE = """\
services:
  photos:
    image: ghcr.io/immich-app/immich-server:release
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: ledger
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
  cache:
    image: redis:latest
  admin:
    image: ghcr.io/example/admin:1.2.3
    environment:
      ADMIN_PASSWORD: ${ADMIN_PASSWORD}
"""
DOTENV = "POSTGRES_PASSWORD=ledger\nADMIN_PASSWORD=changeme\n"


def _audit(tmp_path: Path, waivers: str = "", compose: str = COMPOSE):
    project = tmp_path / "stack"
    project.mkdir(exist_ok=True)
    (project / "compose.yaml").write_text(compose)
    (project / ".env").write_text(DOTENV)
    (project / ".env").chmod(0o600)
    config = None
    if waivers:
        path = tmp_path / "labwarden.yaml"
        path.write_text("waivers:\n" + waivers)
        config = load_config(str(path))
    options = AuditOptions(jobs=1) if config is None else AuditOptions(config=config, jobs=1)
    return audit([str(project)], options)


def _active(result, rule_id):
    return sorted(f.asset.split("/")[-1] for f in result.findings
                  if f.rule.id == rule_id and not f.waived)


def _waiver(rule: str, service: str = "*") -> str:
    return (f"  - rule: {rule}\n    scope: {{service: \"{service}\"}}\n    justification: tested\n"
            "    owner: ops\n    expires: 2099-01-01\n")


def test_split_rules_are_indexed_and_distinct(tmp_path):
    assert RULES["IMG004"] == "image-floating-channel-tag"
    assert RULES["SEC008"] == "password-equals-user-name"
    assert all(RULES[old] == name for old, name in SPLIT_FROM.values())
    result = _audit(tmp_path)
    assert _active(result, "IMG001") == ["cache"]
    assert _active(result, "IMG004") == ["db", "photos"]
    severities = {f.asset.split("/")[-1]: f.severity for f in result.findings
                  if f.rule.id == "IMG004"}
    assert severities == {"photos": Severity.MEDIUM, "db": Severity.LOW}   # bare major: LOW
    assert _active(result, "SEC008") == ["db"]
    assert _active(result, "SEC002") == ["admin"]


def test_new_rules_can_be_waived_without_the_old_ones(tmp_path):
    result = _audit(tmp_path, _waiver("IMG004") + _waiver("SEC008"))
    assert _active(result, "IMG004") == [] and _active(result, "SEC008") == []
    assert _active(result, "IMG001") == ["cache"] and _active(result, "SEC002") == ["admin"]


def test_waivers_for_the_old_rules_keep_covering_what_they_covered(tmp_path):
    result = _audit(tmp_path, _waiver("IMG001", "*/photos") + _waiver("default-password", "*/db"))
    assert _active(result, "IMG004") == ["db"]          # photos: the old IMG001 waiver
    assert _active(result, "SEC008") == []              # db: the old SEC002 waiver, by name
    assert not [d for d in result.diagnostics if d.code == "unused-waiver"]


def test_inline_suppression_of_the_old_rule_covers_the_new_one(tmp_path):
    compose = COMPOSE.replace(
        "immich-server:release",
        "immich-server:release  # labwarden: ignore[IMG001] pinned by Renovate")
    result = _audit(tmp_path, compose=compose)
    photos = [f for f in result.findings if f.rule.id == "IMG004" and f.asset.endswith("photos")]
    assert len(photos) == 1 and photos[0].waived
