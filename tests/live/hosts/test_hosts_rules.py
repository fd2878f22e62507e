"""NET100-NET105 and CRD001 on facts built directly (no network): the facts.yaml fixtures
with their markers, and the details (severities, messages, fixes, no password anywhere)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.firewall import parse_rulesets
from labwarden.sources.live import creds, host, ports
from labwarden.sources.live.host import HostExposure, HostFacts
from labwarden.sources.live.ports import PortScan
from labwarden.sources.sockets import parse_ss

FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures"
RULESETS = Path(__file__).parent / "rulesets"
MARKER = re.compile(r"#\s*(ruleid|ok):\s*([A-Z]{3}\d{3})")
LOADERS = {"NET100": host, "NET101": host, "NET102": host, "NET103": host,
           "NET104": ports, "NET105": ports, "CRD001": creds}
SETTINGS = Settings()


def run(rule_id: str, fact, settings: Settings = SETTINGS):
    return list(registry.get(rule_id).check(fact, settings))


@pytest.mark.parametrize("rule_id", sorted(LOADERS))
def test_facts_fixture_markers(rule_id):
    path = FIXTURES / rule_id / "facts.yaml"
    expected, ok = set(), set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for kind, marked in MARKER.findall(line):
            if marked == rule_id:
                (expected if kind == "ruleid" else ok).add(number)
    assert expected and ok, f"{rule_id}: facts.yaml needs both ruleid and ok markers"
    reported = set()
    for fact in LOADERS[rule_id].facts_from_yaml(str(path)):
        for hit in run(rule_id, fact):
            assert hit.location.path == str(path)
            reported.add(hit.location.line)
    assert reported == expected


def host_from(name: str, ss: str | None = None, interfaces=("lo", "eth0", "docker0"),
              ipv6_disabled=True, **more) -> HostFacts:
    text = (RULESETS / name).read_text()
    fw = parse_rulesets(nft=text) if name.startswith("nft") else parse_rulesets(iptables=text)
    fw.collected["nft" if name.startswith("nft") else "iptables-save"] = True
    facts = HostFacts(f"snapshot:{name}", name, "snapshot", firewall=fw,
                      interfaces=tuple(interfaces), ipv6_disabled=ipv6_disabled, **more)
    if ss is not None:
        facts.listeners = parse_ss(ss)
    return facts


# --- NET100 / NET101 ---------------------------------------------------------------------------

def test_net100_open_host_and_ipv6_side():
    hits = run("NET100", host_from("open-host.txt"))
    assert len(hits) == 1 and "no firewall rules (IPv4)" in hits[0].message
    assert hits[0].checklist == ("3.4.3", "3.4.4")
    assert "iptables -P INPUT DROP" in hits[0].fix
    v4_only = host_from("ufw-default-deny.txt", ipv6_disabled=False)
    v4_only.firewall.collected["ip6tables-save"] = True       # collected, and empty
    hits = run("NET100", v4_only)
    assert [h.resource for h in hits] == ["input/ipv6"]


@pytest.mark.parametrize("name", ["ufw-default-deny.txt", "nft-inet-filter.txt",
                                  "nft-firewalld.txt", "docker-user-rules.txt"])
def test_net100_net101_quiet_on_strong_firewalls(name):
    facts = host_from(name, ip_forward=True)
    assert run("NET100", facts) == [] and run("NET101", facts) == []


def test_net100_ignores_a_host_whose_firewall_was_not_read():
    assert run("NET100", HostFacts("ssh://pve.lab", "pve.lab", "ssh")) == []


def test_net101_names_both_missing_rules():
    hits = run("NET101", host_from("nft-no-loopback.txt"))
    assert sorted(h.resource for h in hits) == ["established/ipv4", "loopback/ipv4"]
    assert all(h.severity is None for h in hits)     # the rule's MEDIUM


# --- NET102 --------------------------------------------------------------------------------------

SS = """Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process
tcp LISTEN 0 4096 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=702,fd=3))
tcp LISTEN 0 4096 [::]:22 [::]:* users:(("sshd",pid=702,fd=4))
tcp LISTEN 0 244 0.0.0.0:5432 0.0.0.0:* users:(("postgres",pid=812,fd=6))
tcp LISTEN 0 4096 0.0.0.0:2375 0.0.0.0:* users:(("dockerd",pid=600,fd=9))
tcp LISTEN 0 511 *:443 *:* users:(("caddy",pid=901,fd=4))
tcp LISTEN 0 4096 0.0.0.0:3000 0.0.0.0:* users:(("docker-proxy",pid=1201,fd=4))
tcp LISTEN 0 128 127.0.0.1:6379 0.0.0.0:* users:(("redis-server",pid=1300,fd=6))
udp UNCONN 0 0 0.0.0.0:5353 0.0.0.0:* users:(("avahi-daemon",pid=500,fd=12))
"""


def test_net102_open_host_severities():
    facts = host_from("open-host.txt", SS)
    hits = {h.resource: h for h in run("NET102", facts)}
    assert sorted(hits) == ["listen:tcp/22", "listen:tcp/2375", "listen:tcp/5432"]
    assert hits["listen:tcp/22"].severity is None                     # MEDIUM
    assert hits["listen:tcp/5432"].severity == Severity.HIGH
    assert "PostgreSQL" in hits["listen:tcp/5432"].message
    assert hits["listen:tcp/2375"].severity == Severity.CRITICAL     # Docker API, no TLS
    assert "3.1.5" in hits["listen:tcp/5432"].checklist
    assert "3.1.4" in hits["listen:tcp/2375"].checklist


def test_net102_quiet_when_firewall_protects():
    facts = host_from("docker-no-user-rules.txt", SS)
    # 22 and 5432 are LAN-only in INPUT; 2375 is dropped by the policy; 3000 is Docker's
    assert run("NET102", facts) == []


def test_net102_dual_stack_listener_and_ip6tables():
    facts = host_from("ufw-default-deny.txt",
                      "tcp LISTEN 0 511 *:8443 *:* users:((\"app\",pid=1,fd=3))\n",
                      ipv6_disabled=False)
    facts.firewall = parse_rulesets(iptables=(RULESETS / "ufw-default-deny.txt").read_text(),
                                    ip6tables="*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
    facts.firewall.collected.update({"iptables-save": True, "ip6tables-save": True})
    (hit,) = run("NET102", facts)
    assert "IPv6" in hit.message


# --- NET103 ------------------------------------------------------------------------------------

def exposure_for(name: str, *specs, interfaces=("lo", "eth0", "docker0")) -> HostExposure:
    facts = host_from(name, interfaces=interfaces, default_interface="eth0")
    exposure = host.build_exposure(facts, [])
    wanted = {(s[0], s[1]) for s in specs}
    exposure.ports = [p for p in exposure.ports if (p.port, p.target) in wanted]
    for port in exposure.ports:
        image = next(s[2] for s in specs if (s[0], s[1]) == (port.port, port.target))
        port.service, port.image = "svc", image
    return exposure


def test_net103_exposed_despite_input_drop():
    exposure = exposure_for("docker-no-user-rules.txt", (5432, 5432, "postgres:16"),
                            (3000, 3000, "grafana/grafana:11"), (8080, 80, "nginx:1.27"))
    assert sorted(h.resource.split("published:")[1] for h in run("NET103", exposure)) == [
        "3000:3000/tcp", "5432:5432/tcp", "8080:80/tcp"]
    pg = next(h for h in run("NET103", exposure) if ":5432:5432/" in h.resource)
    assert pg.severity == Severity.CRITICAL
    assert "although the INPUT chain would drop it" in pg.message
    assert ("iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 5432 "
            "--ctdir ORIGINAL -j DROP") in pg.fix
    assert '"iptables": false' in pg.fix and "Do not" in pg.fix
    grafana = next(h for h in run("NET103", exposure) if ":3000:3000/" in h.resource)
    assert grafana.severity is None                                   # HIGH (admin)
    assert "3.1.4" in grafana.checklist


def test_net103_protected_by_docker_user():
    exposure = exposure_for("docker-user-rules.txt", (5432, 5432, "postgres:16"),
                            (3000, 3000, "grafana/grafana:11"), (8080, 80, "nginx:1.27"))
    assert run("NET103", exposure) == []


def test_net103_explains_ineffective_docker_user_rules():
    exposure = exposure_for("docker-user-ineffective.txt", (5432, 5432, "postgres:16"),
                            (8080, 80, "nginx:1.27"))
    hits = {h.resource.split("published:")[1]: h for h in run("NET103", exposure)}
    assert "--ctorigdstport 8080" in hits["8080:80/tcp"].message
    assert "container port 80" in hits["8080:80/tcp"].message
    assert "never reached" in hits["5432:5432/tcp"].message


def test_net103_internet_facing_ports_on_the_proxy_only():
    exposure = exposure_for("docker-no-user-rules.txt", (443, 443, "jc21/nginx-proxy-manager"),
                            (80, 80, "nginx:1.27"))
    hits = run("NET103", exposure)
    # 443 on the proxy image is expected; 80 is published by a service that is not the proxy
    # (nginx is in the proxy images list by default, so name a non-proxy image for it)
    assert all(":443:443/" not in h.resource for h in hits)
    for port in exposure.ports:
        port.image = "ghcr.io/example/app:1" if port.target == 80 else port.image
    hits = run("NET103", exposure)
    assert [h.resource.split("published:")[1] for h in hits] == ["80:80/tcp"]
    settings = Settings(proxy_services=("svc",))
    assert run("NET103", exposure, settings) == []


def test_net103_uncertain_is_medium():
    text = (RULESETS / "docker-no-user-rules.txt").read_text().replace(
        "-A DOCKER-USER -j RETURN",
        "-A DOCKER-USER -m set --match-set blocked dst -j DROP\n-A DOCKER-USER -j RETURN")
    facts = HostFacts("snapshot:x", "x", "snapshot", firewall=parse_rulesets(iptables=text),
                      interfaces=("lo", "eth0"), ipv6_disabled=True)
    facts.firewall.collected["iptables-save"] = True
    exposure = host.build_exposure(facts, [])
    (hit,) = [h for h in run("NET103", exposure) if ":5432:5432/" in h.resource]
    assert hit.severity == Severity.MEDIUM and "cannot decide" in hit.message


def test_net103_dnat_only_ports_located_at_the_snapshot_line():
    facts = host_from("docker-no-user-rules.txt")
    facts.firewall.paths["iptables-save"] = "/snap/iptables-save.txt"
    exposure = host.build_exposure(facts, [])
    assert {(p.port, p.target) for p in exposure.ports} == {
        (5432, 5432), (3000, 3000), (443, 443), (80, 80), (8080, 80)}   # 8081 is loopback
    pg = next(p for p in exposure.ports if p.port == 5432)
    assert (pg.location.path, pg.location.line) == ("/snap/iptables-save.txt", 53)
    assert pg.asset == facts.asset and pg.container_ip == "172.18.0.2"


# --- NET104 / NET105 ---------------------------------------------------------------------------

def test_scan_rules_severities_and_grouping():
    scan = PortScan("tcp://lab", "lab", "127.0.0.1", open=[22, 80, 3306, 6379, 8006, 8080, 9999])
    by_port = {h.resource: h for h in run("NET104", scan)}
    assert sorted(by_port) == ["open:3306", "open:6379", "open:8006"]
    assert by_port["open:3306"].severity == Severity.CRITICAL
    assert by_port["open:8006"].severity is None                  # HIGH (admin)
    (unexpected,) = run("NET105", scan)
    assert unexpected.message.endswith("8080, 9999")
    settings = Settings()
    settings.expected_open_ports = (22, 8080, 9999)                # the lead's policy knob
    assert run("NET105", scan, settings) == []


# --- CRD001 ------------------------------------------------------------------------------------

def test_crd001_messages_never_carry_a_password():
    check = creds.CredentialCheck("https://grafana.lab", "grafana", "Grafana",
                                  "https://grafana.lab/", accepted=["admin"])
    (hit,) = run("CRD001", check)
    text = f"{hit.message} {hit.evidence} {hit.fix} {check!r}"
    assert "admin" in hit.message
    for entry in creds.load_entries():
        for credential in entry["credentials"]:
            if credential["password"] != credential["username"]:
                assert credential["password"] not in text


def test_every_data_entry_is_complete():
    for entry in creds.load_entries():
        assert entry["protocol"] in ("postgres", "http-login"), entry["service"]
        assert 1 <= len(entry["credentials"]) <= creds.MAX_ATTEMPTS
        if entry["protocol"] == "http-login":
            assert entry["detect"] and entry["login"]["path"]


def test_net103_rootless_publishing_is_judged_on_input():
    facts = host_from("ufw-default-deny.txt", default_interface="eth0")
    exposure = HostExposure(facts, [
        host.PublishedPort(5432, 5432, "tcp", None, facts.location, "compose:p/db", "db",
                           "postgres:16"),
        host.PublishedPort(9999, 80, "tcp", None, facts.location, "compose:p/web", "web",
                           "ghcr.io/example/web:1")])
    assert run("NET103", exposure) == []            # ufw drops both on INPUT
    facts = host_from("open-host.txt")
    exposure.host = facts
    assert sorted(h.resource.split("published:")[1] for h in run("NET103", exposure)) == [
        "5432:5432/tcp", "9999:80/tcp"]
