"""End to end against real servers on loopback and real rulesets in network namespaces:
the host probe over local://, ssh:// (a real sshd) and snapshot:, the firewall collector on
rules loaded into a kernel, the port scan, and the default-credential checks."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live import creds, host, ports
from labwarden.sources.live.collect import ProbeOptions, collect
from labwarden.sources.live.host import HostFacts, build_exposure
from labwarden.sources.live.targets import parse_target
from labwarden.sources.live.transport import CommandRefused, LocalTransport, SshTransport

HERE = Path(__file__).parent
RULESETS = HERE / "rulesets"


def hits(rule_id: str, fact, settings: Settings | None = None):
    return list(registry.get(rule_id).check(fact, settings or Settings()))


def run(coro):
    return asyncio.run(coro)


def host_facts(found) -> HostFacts:
    facts = [f for f in (found if isinstance(found, list) else [found])
             if isinstance(f, HostFacts)]
    assert len(facts) == 1
    return facts[0]


# --- local:// and ssh:// -----------------------------------------------------------------------

def listener_set(facts: HostFacts):
    return {(l.proto, l.address, l.port) for l in facts.listeners}


def test_local_probe_collects_this_machine():
    facts = host_facts(run(host.probe(parse_target("local://"), ProbeOptions())))
    assert facts.error is None
    assert facts.listeners is not None               # root: ss -tulpn works
    assert facts.firewall.collected["iptables-save"] is True
    assert facts.interfaces and "lo" in facts.interfaces
    assert facts.addresses and "127.0.0.1" in facts.addresses
    assert facts.ip_forward in (True, False)


def ssh_options(server, **more) -> ProbeOptions:
    options = ProbeOptions(timeout=5.0, ssh_key=server.key,
                           ssh_known_hosts=server.known_hosts)
    for key, value in more.items():
        setattr(options, key, value)
    return options


def test_ssh_probe_collects_the_same_facts_as_local(sshd_server):
    target = parse_target(f"ssh://root@127.0.0.1:{sshd_server.port}")

    async def both():
        remote = await host.probe(target, ssh_options(sshd_server))
        local = await host.probe(parse_target("local://"), ProbeOptions())
        return host_facts(remote), host_facts(local)

    remote, local = run(both())
    assert remote.error is None, remote.diagnostics
    assert remote.transport == "ssh" and remote.asset == "host:127.0.0.1"
    # the sshd serving this test is one of the listeners, seen from both sides
    assert ("tcp", "127.0.0.1", sshd_server.port) in listener_set(remote)
    assert listener_set(local) >= {("tcp", "127.0.0.1", sshd_server.port)}
    assert [(t.family, t.name) for t in remote.firewall.tables] == \
        [(t.family, t.name) for t in local.firewall.tables]
    assert remote.firewall.collected == local.firewall.collected
    # files over SFTP
    assert remote.interfaces == local.interfaces
    assert remote.addresses == local.addresses


def test_ssh_refuses_an_unknown_host_unless_told(sshd_server, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    target = parse_target(f"ssh://root@127.0.0.1:{sshd_server.port}")
    options = ssh_options(sshd_server)
    options.ssh_known_hosts = str(empty)
    refused = host_facts(run(host.probe(target, options)))
    assert refused.error and refused.diagnostics[0].code == "host-key"
    assert refused.listeners is None
    options.ssh_accept_unknown_host = True
    accepted = host_facts(run(host.probe(target, options)))
    assert accepted.error is None and accepted.listeners


def test_ssh_refuses_a_changed_host_key_even_when_accepting_unknown_hosts(sshd_server,
                                                                        tmp_path):
    keygen = shutil.which("ssh-keygen")
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
                   check=True)
    kind, blob = (tmp_path / "other.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd_server.port} {kind} {blob}\n")
    options = ssh_options(sshd_server, ssh_accept_unknown_host=True)
    options.ssh_known_hosts = str(known)
    facts = host_facts(run(host.probe(parse_target(
        f"ssh://root@127.0.0.1:{sshd_server.port}"), options)))
    assert facts.error and facts.diagnostics[0].code == "host-key"


def test_ssh_transport_runs_only_allow_listed_commands(sshd_server, tmp_path):
    marker = tmp_path / "created"

    async def attempt():
        async with SshTransport("127.0.0.1", sshd_server.port, "root", key_path=sshd_server.key,
                                known_hosts=sshd_server.known_hosts) as transport:
            with pytest.raises(CommandRefused):
                await transport.run(["touch", str(marker)])
            with pytest.raises(CommandRefused):
                await transport.run(["nft", "flush", "ruleset"])
            result = await transport.run(["ss", "-tln"])
            missing = await transport.read_file("/nonexistent/file")
            return result, missing

    result, missing = run(attempt())
    assert result.ok and f"127.0.0.1:{sshd_server.port}" in result.stdout
    assert missing is None and not marker.exists()


def test_a_key_the_server_does_not_accept(sshd_server, tmp_path):
    subprocess.run([shutil.which("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f",
                    str(tmp_path / "stranger")], check=True)
    options = ssh_options(sshd_server)
    options.ssh_key = str(tmp_path / "stranger")
    facts = host_facts(run(host.probe(parse_target(
        f"ssh://root@127.0.0.1:{sshd_server.port}"), options)))
    assert facts.error and facts.diagnostics[0].code == "auth-failed"


def test_unreachable_ssh_host_is_a_fact_with_an_error(tmp_path, sshd_server):
    port = _closed_port()
    facts = host_facts(run(host.probe(parse_target(f"ssh://root@127.0.0.1:{port}"),
                                      ssh_options(sshd_server))))
    assert facts.error and facts.diagnostics[0].level == "error"
    assert facts.diagnostics[0].code == "unreachable"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- snapshot: ---------------------------------------------------------------------------------

def test_snapshot_probe_from_the_documented_shell_one_liner(tmp_path):
    """The one-liner of the transport docs, run here as root, makes a snapshot that the
    host probe reads without labwarden on the host."""
    from labwarden.sources.live import transport
    doc = transport.__doc__
    script = doc[doc.index("D=host-snapshot"):].split("\n\n")[0]
    script = "\n".join(line.strip() for line in script.splitlines())
    subprocess.run(["sh", "-c", script], cwd=tmp_path, check=True)
    snapshot = tmp_path / "host-snapshot"
    assert (snapshot / "iptables-save.txt").exists() and (snapshot / "ss.txt").exists()
    facts = host_facts(run(host.probe(parse_target(f"snapshot:{snapshot}"), ProbeOptions())))
    local = host_facts(run(host.probe(parse_target("local://"), ProbeOptions())))
    assert facts.error is None and facts.transport == "snapshot"
    assert facts.asset == "host:host-snapshot"
    assert [(t.family, t.name) for t in facts.firewall.tables] == \
        [(t.family, t.name) for t in local.firewall.tables]
    assert facts.interfaces == local.interfaces
    assert facts.firewall.paths["iptables-save"].endswith("iptables-save.txt")


def test_missing_snapshot_directory_is_an_error(tmp_path):
    facts = host_facts(run(host.probe(parse_target(f"snapshot:{tmp_path}/nope"),
                                      ProbeOptions())))
    assert facts.error and facts.diagnostics[0].code == "not-found"


# --- rules loaded into a kernel, in a network namespace ------------------------------------------

LISTENER = ("import socket, sys, time\n"
            "s = socket.socket(); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()\n"
            "print('ready', flush=True); time.sleep(60)\n")


def collect_in(name: str) -> HostFacts:
    transport = LocalTransport(timeout=10, prefix=["ip", "netns", "exec", name])
    facts = HostFacts(f"netns:{name}", name, "local")
    return host_facts(run(host.collect(transport, facts)))


def test_netns_docker_ruleset_round_trip_and_reconciliation(netns):
    name, inside = netns
    text = (RULESETS / "docker-no-user-rules.txt").read_text()
    inside("iptables-restore", stdin=text.encode())
    listener = inside("python3", "-c", LISTENER, "18432", background=True)
    assert listener.stdout.readline().strip() == b"ready"
    facts = collect_in(name)
    assert facts.interfaces == ("lo",) and facts.addresses == ("127.0.0.1", "::1")
    assert ("tcp", "0.0.0.0", 18432) in listener_set(facts)
    assert facts.firewall.collected == {"iptables-save": True, "ip6tables-save": True,
                                        "nft": True}
    # iptables-nft's tables appear in `nft list ruleset` too: counted once
    assert sorted((t.family, t.name, t.source) for t in facts.firewall.tables) == [
        ("ip", "filter", "iptables-save"), ("ip", "nat", "iptables-save")]
    user = facts.firewall.docker_user("ipv4")
    assert [r.action for r in user.rules] == ["return"]
    assert {(d.dport, d.to_addr, d.to_port) for d in facts.firewall.dnats} >= {
        (5432, "172.18.0.2", 5432), (8080, "172.18.0.5", 80)}
    # the rules as the kernel gave them back decide like the captured file; the ruleset
    # has no IPv6 side, and the namespace has IPv6: that side is open
    assert [(h.resource, h.message.split(":")[0]) for h in hits("NET100", facts)] == [
        ("input/ipv6", "no firewall rules (IPv6)")]
    assert hits("NET101", facts) == []
    assert hits("NET102", facts) == []                  # 18432: INPUT policy DROP
    exposure = build_exposure(facts, [])
    exposed = sorted(h.resource.split("published:")[1] for h in hits("NET103", exposure))
    assert exposed == ["3000:3000/tcp", "5432:5432/tcp", "8080:80/tcp"]


def test_netns_docker_user_rules_and_an_nft_table_together(netns):
    name, inside = netns
    inside("iptables-restore", stdin=(RULESETS / "docker-user-rules.txt").read_bytes())
    facts = collect_in(name)
    assert len(facts.firewall.docker_user("ipv4").rules) == 4
    assert hits("NET103", build_exposure(facts, [])) == []
    # an nftables forward chain with policy drop, loaded beside iptables: the published port
    # Docker would accept is dropped there (a drop in any base chain is final)
    inside("iptables-restore", stdin=(RULESETS / "docker-no-user-rules.txt").read_bytes())
    inside("nft", "-f", str(RULESETS / "nft-inet-filter.txt"))
    facts = collect_in(name)
    assert ("inet", "filter", "nft") in {(t.family, t.name, t.source)
                                         for t in facts.firewall.tables}
    assert hits("NET103", build_exposure(facts, [])) == []


def test_netns_open_host_and_missing_loopback_rules(netns):
    name, inside = netns
    inside("iptables-restore", stdin=(RULESETS / "open-host.txt").read_bytes())
    listener = inside("python3", "-c", LISTENER, "18433", background=True)
    assert listener.stdout.readline().strip() == b"ready"
    facts = collect_in(name)
    assert [h.resource for h in hits("NET100", facts)][:1] == ["input/ipv4"]
    (listen,) = [h for h in hits("NET102", facts) if h.resource == "listen:tcp/18433"]
    assert "python3" in listen.message or "18433" in listen.message
    inside("iptables-restore", stdin=b"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                                     b":OUTPUT ACCEPT [0:0]\nCOMMIT\n")
    inside("nft", "-f", str(RULESETS / "nft-no-loopback.txt"))
    facts = collect_in(name)
    assert sorted(h.resource for h in hits("NET101", facts) if h.resource.endswith("ipv4")) \
        == ["established/ipv4", "loopback/ipv4"]


# --- ports: a real scan of loopback ---------------------------------------------------------------

def test_port_scan_open_closed_filtered(tcp_ports):
    options = ProbeOptions(timeout=1.0, scan_ports=(tcp_ports.open, tcp_ports.closed,
                                                   tcp_ports.blackholed))
    scan = run(ports.probe(parse_target("tcp://127.0.0.1"), options))
    assert (scan.open, scan.closed, scan.filtered) == (
        [tcp_ports.open], [tcp_ports.closed], [tcp_ports.blackholed])
    assert scan.error is None and scan.address == "127.0.0.1"
    # one unexpected port
    (finding,) = hits("NET105", scan)
    assert str(tcp_ports.open) in finding.message


def test_port_scan_of_many_black_holed_ports_is_bounded():
    holes, fillers = [], []
    try:
        for _ in range(40):
            hole = socket.socket()
            hole.bind(("127.0.0.1", 0))
            hole.listen(0)
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                filler.connect(hole.getsockname())
            holes.append(hole)
            fillers.append(filler)
        numbers = [h.getsockname()[1] for h in holes]
        options = ProbeOptions(timeout=0.5, scan_ports=tuple(numbers))
        # 40 ports x 0.5 s would take 20 s one by one; concurrently it is one timeout
        scan = run(asyncio.wait_for(ports.probe(parse_target("tcp://127.0.0.1"), options), 10))
        assert sorted(scan.filtered) == sorted(numbers)
        assert scan.error and scan.diagnostics[0].code == "unreachable"   # nothing answered
    finally:
        for sock in holes + fillers:
            sock.close()


def test_port_scan_finds_postgresql_on_its_port(pg_clusters):
    scram = pg_clusters["scram-sha-256"]
    scan = run(ports.probe(parse_target(f"tcp://{scram.host}"), ProbeOptions(timeout=1.0)))
    # the default port list; a service of this machine bound to 0.0.0.0 would answer on
    # this loopback address too, so only PostgreSQL's port is asserted
    assert 5432 in scan.open and scan.scanned == len(ProbeOptions().scan_ports)
    (finding,) = [h for h in hits("NET104", scan) if h.resource == "open:5432"]
    assert finding.severity.name == "CRITICAL" and "PostgreSQL" in finding.message
    assert all("5432" not in h.message for h in hits("NET105", scan))


def test_unresolvable_target_is_an_error():
    scan = run(ports.probe(parse_target("tcp://no-such-host.invalid"),
                           ProbeOptions(timeout=2.0, scan_ports=(22,))))
    assert scan.error and scan.diagnostics[0].code == "unreachable"


# --- default credentials -----------------------------------------------------------------------

CREDS = ProbeOptions(timeout=5.0, check_default_credentials=True)


def check_for(found, service: str):
    (fact,) = [f for f in found if f.service == service]
    return fact


@pytest.mark.parametrize("method", ["scram-sha-256", "md5"])
def test_postgres_default_password_accepted(pg_clusters, method):
    cluster = pg_clusters[method]
    found = run(creds.probe(parse_target(f"tcp://{cluster.host}:{cluster.port}"), CREDS))
    fact = check_for(found, "postgresql")
    assert (fact.accepted, fact.rejected, fact.attempts, fact.error) == (
        ["postgres"], [], 1, None)
    (finding,) = hits("CRD001", fact)
    assert finding.message == (f"PostgreSQL at tcp://{cluster.host}:{cluster.port} accepts "
                               "the published default credentials of user postgres")


@pytest.mark.parametrize("method", ["scram-sha-256", "md5"])
def test_postgres_strong_password_and_trust(pg_clusters, method):
    cluster = pg_clusters[method]
    entries = ({"service": "pg-app", "name": "PostgreSQL", "protocol": "postgres",
                "schemes": ["tcp"], "credentials": [
                    {"username": "app", "password": "postgres"},
                    {"username": "app", "password": "app"},
                    {"username": "app", "password": "password"},
                    {"username": "app", "password": "changeme"}]},
               {"service": "pg-trust", "name": "PostgreSQL", "protocol": "postgres",
                "schemes": ["tcp"], "credentials": [
                    {"username": "trustme", "password": "irrelevant"}]})
    found = run(creds.probe(parse_target(f"tcp://{cluster.host}:{cluster.port}"), CREDS,
                            entries))
    strong = check_for(found, "pg-app")
    assert strong.accepted == [] and strong.attempts == 3          # at most 3 attempts
    assert hits("CRD001", strong) == []
    trust = check_for(found, "pg-trust")
    assert trust.no_password == ["trustme"]
    (finding,) = hits("CRD001", trust)
    assert "without any password" in finding.message


def test_postgres_on_the_default_port_when_no_port_is_named(pg_clusters):
    scram = pg_clusters["scram-sha-256"]
    found = run(creds.probe(parse_target(f"tcp://{scram.host}"), CREDS))
    assert check_for(found, "postgresql").accepted == ["postgres"]


def test_postgres_handler_sends_nothing_to_another_service(tcp_ports):
    found = run(creds.probe(parse_target(f"tcp://127.0.0.1:{tcp_ports.open}"), CREDS))
    # not PostgreSQL: the listener closed the connection; no login was tried, and the port
    # the user named says so in a warning (a coverage note, not an input error)
    (fact,) = found
    assert fact.attempts == 0 and fact.accepted == fact.rejected == []
    assert [(d.level, d.code) for d in fact.diagnostics] == [
        ("warning", "credentials-not-applicable")]
    assert "closed the connection" in fact.diagnostics[0].message
    assert hits("CRD001", fact) == []


def test_default_credentials_on_an_ssh_port_say_it_is_not_postgresql(sshd_server):
    """SSH speaks first: its banner's "S" looked like PostgreSQL's yes to SSLRequest, the
    TLS handshake then failed, and the audit exited 2 as if the target were broken."""
    target = f"tcp://127.0.0.1:{sshd_server.port}"
    (fact,) = run(creds.probe(parse_target(target), CREDS))
    assert fact.attempts == 0 and fact.error.startswith("not PostgreSQL")
    [diagnostic] = fact.diagnostics
    assert (diagnostic.level, diagnostic.code) == ("warning", "credentials-not-applicable")
    # what follows the banner's "S" is no TLS, or sshd hangs up on our bytes: either way
    assert "does not speak PostgreSQL" in diagnostic.message
    assert "TLS handshake" in diagnostic.message and "OpenSSH" not in diagnostic.message


def test_default_credentials_on_a_silent_port_say_so(tmp_path):
    """A port that accepts and never answers: PostgreSQL answers SSLRequest at once, so this
    is not PostgreSQL; it was silently skipped (exit 0, nothing said)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        options = ProbeOptions(timeout=0.5, check_default_credentials=True)
        (fact,) = run(creds.probe(parse_target(f"tcp://127.0.0.1:{port}"), options))
    finally:
        listener.close()
    [diagnostic] = fact.diagnostics
    assert diagnostic.level == "warning" and "no answer to PostgreSQL's SSLRequest" in \
        diagnostic.message


def test_default_credentials_on_a_site_no_known_application_serves_say_so():
    """An http(s) target asked about, where no application of the credentials file answers:
    a coverage note naming what was looked for, not an empty report that reads as "no
    default credentials here"; and it proves nothing (checklist 1.1.1 stays open)."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        options = ProbeOptions(timeout=2, check_default_credentials=True)
        (fact,) = run(creds.probe(parse_target(url), options))
    finally:
        server.shutdown()
        server.server_close()
    [diagnostic] = fact.diagnostics
    assert (diagnostic.level, diagnostic.code) == ("gap", "credentials-not-checked")
    assert "Grafana" in diagnostic.message and url in diagnostic.message
    assert fact.error and not fact.attempts
    assert hits("CRD001", fact) == []
    assert all(prove(fact, Settings()) is None
               for _, _, prove in registry.provers_for(type(fact)))


def test_cli_exit_codes_for_default_credentials_on_the_wrong_port(sshd_server, tcp_ports):
    """Through the command line: a port that speaks another protocol is a warning and no
    input error (exit 0 with no finding); a port nobody listens on is unreachable (2)."""
    import subprocess
    import sys

    def audit(target):
        return subprocess.run([sys.executable, "-m", "labwarden", "audit", target,
                               "--check-default-credentials", "--no-config", "--timeout", "2",
                               "--format", "json"], capture_output=True, text=True,
                              check=False)

    ssh = audit(f"tcp://127.0.0.1:{sshd_server.port}")
    assert ssh.returncode == 0, ssh.stderr
    assert "credentials-not-applicable" in ssh.stdout
    closed = audit(f"tcp://127.0.0.1:{tcp_ports.closed}")
    assert closed.returncode == 2


def test_creds_probe_does_nothing_unless_asked(pg_clusters):
    scram = pg_clusters["scram-sha-256"]
    assert run(creds.probe(parse_target(f"tcp://{scram.host}:5432"), ProbeOptions())) == []


@pytest.mark.parametrize("kind, service, user", [
    ("grafana", "grafana", "admin"), ("npm", "nginx-proxy-manager", "admin@example.com")])
def test_http_default_logins(fake_apps, kind, service, user):
    weak, strong = fake_apps[(kind, "weak")], fake_apps[(kind, "strong")]
    found = run(creds.probe(parse_target(f"http://127.0.0.1:{weak.port}"), CREDS))
    fact = check_for(found, service)
    assert fact.accepted == [user]
    (finding,) = hits("CRD001", fact)
    assert user in finding.message
    found = run(creds.probe(parse_target(f"http://127.0.0.1:{strong.port}"), CREDS))
    fact = check_for(found, service)
    assert (fact.accepted, fact.rejected) == ([], [user])
    assert hits("CRD001", fact) == []
    # only the recognised service got a login attempt: Grafana's server never saw NPM's
    # request and vice versa
    other = "/api/tokens" if kind == "grafana" else "/login"
    assert other not in weak.attempts and other not in strong.attempts


def test_through_collect_no_password_in_any_fact_or_diagnostic(pg_clusters, fake_apps):
    scram = pg_clusters["scram-sha-256"]
    grafana = fake_apps[("grafana", "weak")]
    targets = [parse_target(f"tcp://{scram.host}:5432"),
               parse_target(f"http://127.0.0.1:{grafana.port}"),
               parse_target(f"tcp://127.0.0.1:{_closed_port()}")]
    options = ProbeOptions(timeout=3.0, check_default_credentials=True, scan_ports=(22,))
    facts, diagnostics = run(collect(targets, options))
    checks = [f for f in facts if isinstance(f, creds.CredentialCheck)]
    assert sorted(f.service for f in checks if f.accepted) == ["grafana", "postgresql"]
    text = " ".join(repr(f) for f in facts) + " ".join(str(d) for d in diagnostics)
    for entry in creds.load_entries():
        for credential in entry["credentials"]:
            if credential["password"] != credential["username"]:
                assert credential["password"] not in text
    assert "password='" not in text and "'postgres', 'postgres'" not in text


def test_ssh_lists_directories_over_sftp(sshd_server, tmp_path):
    """list_dir: the names SFTP's readdir gives (sorted, without . and ..); None for a
    directory that is not there, as for the local transport."""
    (tmp_path / "lxc").mkdir()
    for name in ("101.conf", "102.conf", ".hidden"):
        (tmp_path / "lxc" / name).write_text("")
    transport = SshTransport("127.0.0.1", sshd_server.port, "root", key_path=sshd_server.key,
                             known_hosts=sshd_server.known_hosts, timeout=5.0)

    async def both():
        async with transport:
            return (await transport.list_dir(str(tmp_path / "lxc")),
                    await transport.list_dir(str(tmp_path / "absent")))

    listed, absent = run(both())
    assert listed == [".hidden", "101.conf", "102.conf"]
    assert absent is None
    local = run(LocalTransport().list_dir(str(tmp_path / "lxc")))
    assert local == listed


def test_the_proxmox_collector_over_ssh_finds_no_proxmox_node_here(sshd_server):
    """This machine has no /etc/pve: over a real SSH session the collector says "not a
    Proxmox node" (None, no error) and the probe yields nothing."""
    from labwarden.sources.live import proxmox
    from labwarden.sources.proxmox.files import read_config

    assert not Path("/etc/pve").exists(), "the test machine must not be a Proxmox node"
    transport = SshTransport("127.0.0.1", sshd_server.port, "root", key_path=sshd_server.key,
                             known_hosts=sshd_server.known_hosts, timeout=5.0)

    async def read():
        async with transport:
            assert await transport.list_dir("/etc") is not None     # the session works
            return await read_config(transport, "ssh://root@127.0.0.1", "127.0.0.1")

    assert run(read()) is None
    target = parse_target(f"ssh://root@127.0.0.1:{sshd_server.port}")
    assert run(proxmox.probe(target, ssh_options(sshd_server))) == []


def test_a_port_scan_classifies_a_database_by_the_protocol_heard(pg_clusters):
    """PostgreSQL on a port of no known number: the credential check spoke PostgreSQL
    there, so the scan of the same host calls it a database port (NET104, CRITICAL), not
    an unexpected one (NET105)."""
    from labwarden.audit.live import run_live
    from labwarden.audit.runner import RuleRunner
    from labwarden.config import Config
    from labwarden.model import Severity

    md5 = pg_clusters["md5"]                       # 127.0.0.1 on a free high port
    findings, diagnostics = [], []
    run_live([parse_target(f"tcp://{md5.host}:{md5.port}")],
             ProbeOptions(timeout=5.0, check_default_credentials=True), RuleRunner(Config()),
             findings, diagnostics)
    by_rule = {f.rule.id: f for f in findings}
    assert "NET105" not in by_rule, by_rule["NET105"].message
    database = by_rule["NET104"]
    assert database.severity == Severity.CRITICAL and "PostgreSQL" in database.message
    assert f"port {md5.port}" in database.message
