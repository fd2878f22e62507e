"""A finding's first sentence states its own problem (issue 15): the socket rule does not
speak of privileged containers, the log rule names no host path, ports are quoted with the
host and container sides named, and no compose rule's message borrows another's subject."""

from __future__ import annotations

import re
from pathlib import Path

from labwarden.audit.compose import AuditOptions, audit

FIXTURES = Path(__file__).parent / "fixtures"


def _findings(tmp_path: Path, text: str):
    (tmp_path / "compose.yaml").write_text(text)
    return audit([str(tmp_path)], AuditOptions(jobs=1)).findings


def _first_sentence(message: str) -> str:
    return re.split(r"(?<=[.;])\s", message, maxsplit=1)[0]


def test_socket_and_log_messages_state_their_own_problem(tmp_path):
    found = _findings(tmp_path, """
services:
  app:
    image: ghcr.io/example/app:1.4
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
    environment: {DOCKER_HOST: "tcp://host.docker.internal:2375"}
""")
    socket = [f for f in found if f.rule.id == "CMP050"]
    assert len(socket) == 2
    for finding in socket:
        assert "privileged" not in finding.message
        assert "controls" in _first_sentence(finding.message)
    logs = [f for f in found if f.rule.id == "CMP073"]
    assert logs and "/etc" not in logs[0].message and "daemon.json" in logs[0].fix


def test_port_messages_quote_the_port_and_name_each_side(tmp_path):
    found = _findings(tmp_path, """
services:
  app: {image: "ghcr.io/example/app:1.4", ports: ["8080:80"]}
  db: {image: "postgres:16.4", ports: ["5433:5432"]}
  portainer: {image: "portainer/portainer-ce:2.21.4", ports: ["9443:9443"]}
  random: {image: "ghcr.io/example/app:1.4", ports: ["3000"]}
""")
    by_rule = {f.rule.id + f.asset.rsplit("/", 1)[-1]: f.message for f in found
               if f.rule.id in ("NET001", "NET002", "NET003")}
    assert "`8080:80` (host 8080 → container 80)" in by_rule["NET001app"]
    assert "`5433:5432` (host 5433 → container 5432)" in by_rule["NET002db"]
    assert "`9443:9443` (host 9443 → container 9443)" in by_rule["NET003portainer"]
    assert "`3000` (container 3000, on a random host port)" in by_rule["NET001random"]


def test_proxy_exemption_is_an_info_record_that_fails_no_item(tmp_path):
    found = _findings(tmp_path, """
services:
  traefik:
    image: traefik:v3.1.2
    ports: ["80:80", "443:443", "8443:8443"]
""")
    ports = sorted((f.severity.name, f.resource, f.checklist) for f in found
                   if f.rule.id == "NET001")
    assert ports == [("INFO", "port:443:443/tcp", ()), ("INFO", "port:80:80/tcp", ()),
                     ("MEDIUM", "port:8443:8443/tcp", ("3.1.1", "3.2.4"))]
    exempt = [f for f in found if f.rule.id == "NET001" and f.severity.name == "INFO"]
    assert all("exempt" in f.message for f in exempt)


# Phrases that belong to one rule's subject; another compose rule naming them in its first
# sentence is describing someone else's problem.
_OWNED = {
    "privileged container": {"CMP010"},
    "/etc/docker": {"CMP052"},
    "daemon.json": {"CMP052"},
}


def test_no_compose_rule_borrows_another_rules_subject(tmp_path):
    result = audit([str(FIXTURES / d) for d in sorted(p.name for p in FIXTURES.iterdir())
                    if d.startswith(("CMP", "NET", "IMG", "SEC"))], AuditOptions(jobs=1))
    assert len(result.findings) > 200
    for finding in result.findings:
        first = _first_sentence(finding.message)
        for phrase, owners in _OWNED.items():
            assert phrase not in first or finding.rule.id in owners, (finding.rule.id, first)
