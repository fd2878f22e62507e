"""build_exposure: a host paired with a real Compose project (loaded by labwarden's Compose
loader), and NET103's reconciliation pointing at the Compose file's lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.compose.discover import discover
from labwarden.sources.compose.loader import load_project
from labwarden.sources.firewall import parse_rulesets
from labwarden.sources.live.host import HostFacts, build_exposure

HERE = Path(__file__).parent
COMPOSE = HERE / "compose" / "homelab" / "compose.yaml"


def services():
    diagnostics = []
    (spec,) = discover([str(COMPOSE.parent)], diagnostics)
    project = load_project(spec, diagnostics)
    assert project is not None and not [d for d in diagnostics if d.level == "error"]
    return list(project.services.values())


def docker_host(ruleset: str) -> HostFacts:
    fw = parse_rulesets(iptables=(HERE / "rulesets" / ruleset).read_text())
    fw.collected["iptables-save"] = True
    return HostFacts("ssh://docker1.lab", "docker1.lab", "ssh", firewall=fw,
                     interfaces=("lo", "eth0", "docker0", "br-3f2a1b4c5d6e"),
                     default_interface="eth0", ipv6_disabled=True)


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(COMPOSE.read_text().splitlines(), start=1)
                if text in line)


def test_build_exposure_pairs_compose_ports_with_docker_dnat():
    exposure = build_exposure(docker_host("docker-no-user-rules.txt"), services())
    ports = {(p.service, p.port, p.target): p for p in exposure.ports}
    # loopback binds (81, 9090) and network_mode: host (9100) are not published ports
    assert set(ports) == {("proxy", 80, 80), ("proxy", 443, 443), ("db", 5432, 5432),
                          ("grafana", 3000, 3000), ("web", 8080, 80)}
    db = ports[("db", 5432, 5432)]
    assert db.location == (str(COMPOSE), line_of('"5432:5432"'), db.location.column)
    assert (db.container_ip, db.bridge) == ("172.18.0.2", "br-3f2a1b4c5d6e")
    assert db.asset == "compose:homelab/db"
    assert ports[("grafana", 3000, 3000)].location.line == line_of("target: 3000")


def test_reconciliation_without_docker_user_rules():
    exposure = build_exposure(docker_host("docker-no-user-rules.txt"), services())
    hits = list(registry.get("NET103").check(exposure, Settings()))
    reported = sorted((h.location.line, h.severity.name if h.severity else "HIGH")
                      for h in hits)
    assert reported == sorted([(line_of('"5432:5432"'), "CRITICAL"),
                               (line_of("target: 3000"), "HIGH"),
                               (line_of('"8080:80"'), "HIGH")])
    # the proxy's 80 and 443 are the internet-facing allow-list


def test_reconciliation_with_effective_docker_user_rules():
    exposure = build_exposure(docker_host("docker-user-rules.txt"), services())
    assert list(registry.get("NET103").check(exposure, Settings())) == []


@pytest.mark.parametrize("ruleset", ["docker-user-ineffective.txt"])
def test_reconciliation_with_ineffective_docker_user_rules(ruleset):
    exposure = build_exposure(docker_host(ruleset), services())
    hits = list(registry.get("NET103").check(exposure, Settings()))
    web = next(h for h in hits if h.location.line == line_of('"8080:80"'))
    assert "--ctorigdstport 8080" in web.message
