"""SCR006 and the evidence of every SCR rule never show a secret, in any report format."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from script_helpers import write

from labwarden.report import FORMATS, render
from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts

SECRETS = {
    "assignment": "Xk9mQ2vL8pR4tW7z",
    "export": "glsa_Tq7Zr0Lw3Vb9Nc2Xm8Kp",
    "prefix": "Vh4nS8qJ2kL6mP0r",
    "mysql": "Rt5wQ8zK1mN4bV7c",
    "url": "Jm3kL9pQ2wE7rT5y",
    "bearer": "eyJhbGciOiJIUzI1NiJ9abcdef",
    "reset": "Wq8eR4tY6uI2oP0a",
    "heredoc": "Pz5xC7vB9nM1qW3e",
    "sshpass": "Ab3dE6gH9jK2mN5p",
    "curl_user": "Cd4fG7hJ0kL3nP6q",
    "docker_login": "Ef5gH8jK1lM4oQ7r",
    "flag": "Gh6jK9lM2nP5rS8t",
    "chpasswd": "Ij7kL0mN3pQ6sT9u",
    "query": "Kl8mN1pQ4rS7tU0v",
}

SCRIPT = f"""\
#!/bin/bash
set -euo pipefail
DB_PASSWORD='{SECRETS["assignment"]}'
export GRAFANA_API_TOKEN={SECRETS["export"]}
PGPASSWORD={SECRETS["prefix"]} pg_dump -h db -U app app > /tmp/app.sql
mysqldump -uroot -p{SECRETS["mysql"]} --all-databases > /tmp/all.sql
restic -r sftp://backup:{SECRETS["url"]}@nas.lan/srv/restic snapshots
curl -fsS -H "Authorization: Bearer {SECRETS["bearer"]}" https://nas.lan/api
docker exec monitoring-grafna grafana-cli admin reset-admin-password {SECRETS["reset"]}
sshpass -p '{SECRETS["sshpass"]}' ssh root@pve uptime
curl -u admin:{SECRETS["curl_user"]} https://npm.lan/api/tokens
docker login -u ci -p {SECRETS["docker_login"]} registry.lan
restic --password {SECRETS["flag"]} snapshots
echo "root:{SECRETS["chpasswd"]}" | chpasswd
curl -fsSL "https://example.org/install.sh?token={SECRETS["query"]}" | sh
cat > /srv/app/.env <<ENV
APP_SECRET_KEY={SECRETS["heredoc"]}
ENV
rm -rf "${1:-}"/*
"""

COMPOSE = """\
services:
  grafana:
    image: grafana/grafana:11.1.0
    container_name: monitoring-grafana
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    write(root, {"scripts/rotate.sh": SCRIPT, "monitoring/compose.yaml": COMPOSE})
    return audit_scripts([str(root / "scripts")], ScriptAuditOptions(compose_roots=[str(root)]))


def test_every_secret_is_found(result) -> None:
    lines = sorted(f.location.line for f in result.findings if f.rule.id == "SCR006")
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17]


def test_evidence_is_redacted(result) -> None:
    evidence = {f.location.line: f.evidence for f in result.findings if f.rule.id == "SCR006"}
    assert evidence[3] == "DB_PASSWORD=Xk…(16 chars)"
    assert evidence[7] == "URL password Jm…(16 chars)"
    assert evidence[17] == "APP_SECRET_KEY=Pz…(16 chars)"


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_report_format_shows_a_secret(result, fmt: str) -> None:
    text = render(result, fmt, color=False)
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert not leaked, f"{fmt} report shows {leaked}"
    if fmt == "json":
        assert {f["rule_id"] for f in json.loads(text)["findings"]} >= {
            "SCR004", "SCR005", "SCR006", "SCR008"}


def test_findings_of_other_rules_on_secret_lines_do_not_leak(result) -> None:
    for finding in result.findings:
        text = " ".join((finding.message, finding.evidence, finding.fix, finding.resource))
        assert not [v for v in SECRETS.values() if v in text], finding.rule.id


def test_placeholders_and_references_are_not_secrets(tmp_path: Path) -> None:
    write(tmp_path, {"a.sh": textwrap.dedent("""\
        #!/bin/bash
        set -euo pipefail
        DB_PASSWORD="<set me>"
        API_TOKEN=${API_TOKEN:?}
        ADMIN_PASSWORD="$(pass show homelab/admin)"
        PASSWORD_FILE=/run/secrets/admin
        HASH='$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'
        ADMIN_PASSWORD_HASH=$HASH
        docker login -u ci --password-stdin registry.lan < /root/.docker-token
        docker build --secret id=npmrc,src=/root/.npmrc -t app .
        SECRET_NAME=grafana-admin
        TOKEN_TTL=3600
        """)})
    result = audit_scripts([str(tmp_path)], ScriptAuditOptions(compose_roots=[]))
    assert not [f for f in result.findings if f.rule.id == "SCR006"]
