"""Parsers (ss, iptables-save, nft) and the packet-path evaluator, on captured outputs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from labwarden.sources.firewall import PathQuery, parse_iptables_save, parse_nft, parse_rulesets
from labwarden.sources.live.transport import (
    CommandRefused,
    LocalTransport,
    SnapshotTransport,
    check_command,
)
from labwarden.sources.sockets import parse_ss

RULESETS = Path(__file__).parent / "rulesets"
BRIDGE = "br-3f2a1b4c5d6e"
IFACES = ("lo", "eth0", "docker0", BRIDGE)


def ruleset(name: str):
    text = (RULESETS / name).read_text()
    return parse_rulesets(nft=text) if name.startswith("nft") else parse_rulesets(iptables=text)


def query(name: str, interfaces=IFACES) -> PathQuery:
    return PathQuery(ruleset(name), interfaces)


# --- ss ---------------------------------------------------------------------------------------

SS = """Netid State  Recv-Q Send-Q            Local Address:Port  Peer Address:PortProcess
udp   UNCONN 0      0                 127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=580,fd=13))
udp   UNCONN 0      0                       0.0.0.0:68         0.0.0.0:*    users:(("dhclient",pid=611,fd=7))
tcp   LISTEN 0      4096                    0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=702,fd=3))
tcp   LISTEN 0      4096                       [::]:22            [::]:*    users:(("sshd",pid=702,fd=4))
tcp   LISTEN 0      244                   127.0.0.1:5432       0.0.0.0:*    users:(("postgres",pid=812,fd=6))
tcp   LISTEN 0      511                           *:80               *:*    users:(("apache2",pid=901,fd=4),("apache2",pid=902,fd=4))
tcp   LISTEN 0      4096                    0.0.0.0:5432       0.0.0.0:*    users:(("docker-proxy",pid=1200,fd=4))
tcp   LISTEN 0      128        [::ffff:127.0.0.1]:8080               *:*    users:(("java",pid=1300,fd=40))
tcp   LISTEN 0      128        [fe80::1%eth0]:9000                  [::]:*
tcp   ESTAB  0      0                 192.168.2.10:22    192.168.2.50:53012 users:(("sshd",pid=3000,fd=4))
"""


def test_ss_parses_addresses_scopes_and_processes():
    listeners = parse_ss(SS)
    shown = [(str(l), l.process) for l in listeners]
    assert shown == [
        ("udp 127.0.0.53%lo:53", "systemd-resolve"), ("udp 0.0.0.0:68", "dhclient"),
        ("tcp 0.0.0.0:22", "sshd"), ("tcp [::]:22", "sshd"), ("tcp 127.0.0.1:5432", "postgres"),
        ("tcp *:80", "apache2"), ("tcp 0.0.0.0:5432", "docker-proxy"),
        ("tcp [::ffff:127.0.0.1]:8080", "java"), ("tcp [fe80::1%eth0]:9000", None)]
    by = {str(l): l for l in listeners}
    assert by["udp 127.0.0.53%lo:53"].on_loopback
    assert by["tcp [::ffff:127.0.0.1]:8080"].on_loopback          # IPv4-mapped loopback
    assert by["tcp *:80"].family == "any" and by["tcp *:80"].on_all_interfaces
    assert by["tcp [fe80::1%eth0]:9000"].reachable_from_network
    assert not by["tcp [fe80::1%eth0]:9000"].on_all_interfaces


def test_ss_without_header_or_process_column():
    listeners = parse_ss("tcp LISTEN 0 128 0.0.0.0:2024 0.0.0.0:*\n")
    assert [(l.proto, l.address, l.port, l.process) for l in listeners] == [
        ("tcp", "0.0.0.0", 2024, None)]


# --- iptables-save ---------------------------------------------------------------------------

def test_iptables_model_policies_chains_rules_and_dnat():
    tables = parse_iptables_save((RULESETS / "docker-user-rules.txt").read_text())
    filt = next(t for t in tables if t.name == "filter")
    assert filt.chains["INPUT"].policy == "drop" and filt.chains["INPUT"].hook == "input"
    assert filt.chains["DOCKER-USER"].hook is None and filt.chains["DOCKER-USER"].policy is None
    user = filt.chains["DOCKER-USER"].rules
    assert [r.action for r in user] == ["drop", "drop", "reject", "return"]
    first = {c.kind: (c.values, c.negated) for c in user[1].conds}
    assert first["iif"] == (("eth0",), False)
    assert first["saddr"] == (("192.168.2.0/24",), True)
    assert first["ctorigdport"] == (("3000-3000",), False)
    assert first["ctdir"] == (("ORIGINAL",), False)
    established = filt.chains["INPUT"].rules[0]
    assert established.conds[-1].kind == "ctstate"
    assert set(established.conds[-1].values) == {"RELATED", "ESTABLISHED"}
    multiport = filt.chains["INPUT"].rules[3]
    assert [c.values for c in multiport.conds if c.kind == "dport"] == [("80-80", "443-443")]
    log = filt.chains["INPUT"].rules[-1]
    assert log.action == "log" and log.line == 15
    fw = parse_rulesets(iptables=(RULESETS / "docker-user-rules.txt").read_text())
    published = {(d.dport, d.to_addr, d.to_port, d.bridge, d.host_ip) for d in fw.dnats}
    assert (8080, "172.18.0.5", 80, BRIDGE, None) in published
    assert (8081, "172.18.0.6", 8080, BRIDGE, "127.0.0.1") in published


def test_iptables_old_negation_syntax_counters_and_extension_targets():
    text = """*filter
:INPUT DROP [0:0]
:LOGDROP - [0:0]
[12:720] -A INPUT -s ! 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp --dport 25 -j LOGDROP
-A INPUT -p tcp -j TCPMSS --clamp-mss-to-pmtu
-A LOGDROP -j LOG --log-prefix "drop: "
-A LOGDROP -j DROP
COMMIT
"""
    table = parse_iptables_save(text)[0]
    rules = table.chains["INPUT"].rules
    assert rules[0].conds[0].negated and rules[0].conds[0].values == ("10.0.0.0/8",)
    assert (rules[1].action, rules[1].target) == ("jump", "LOGDROP")
    assert rules[2].action == "other"
    q = PathQuery(parse_rulesets(iptables=text), ("eth0",))
    assert q.inbound("ipv4", "tcp", 22).accepted          # from outside 10/8
    assert q.inbound("ipv4", "tcp", 25).dropped


# --- nft ---------------------------------------------------------------------------------------

def test_nft_model_with_named_sets_vmaps_and_comments():
    tables = parse_nft((RULESETS / "nft-inet-filter.txt").read_text())
    (table,) = tables
    assert (table.family, table.name) == ("inet", "filter")
    assert table.sets["mgmt_v4"] == ("192.168.2.0/24", "10.8.0.0/24")
    chain = table.chains["input"]
    assert (chain.hook, chain.policy, chain.type) == ("input", "drop", "filter")
    assert chain.rules[0].action == "vmap"
    assert [c.kind for c in chain.rules[2].conds] == ["nfproto", "srcset", "proto", "dport"]


def test_nft_copy_of_iptables_tables_counted_once():
    iptables = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
    nft = """table ip filter {
	chain INPUT {
		type filter hook input priority filter; policy drop;
		iifname "lo" counter packets 0 bytes 0 accept
	}
}
table inet mine {
	chain input {
		type filter hook input priority 0; policy accept;
	}
}
"""
    fw = parse_rulesets(iptables=iptables, nft=nft)
    assert [(t.family, t.name, t.source) for t in fw.tables] == [
        ("ip", "filter", "iptables-save"), ("inet", "mine", "nft")]


# --- the evaluator on captured rulesets -----------------------------------------------------------

@pytest.mark.parametrize("name, default_input, loopback, replies", [
    ("docker-no-user-rules.txt", "drop", "accept", "accept"),
    ("open-host.txt", "accept", "accept", "accept"),
    ("ufw-default-deny.txt", "drop", "accept", "accept"),
    ("nft-inet-filter.txt", "drop", "accept", "accept"),
    ("nft-no-loopback.txt", "drop", "drop", "drop"),
    ("nft-firewalld.txt", "drop", "accept", "accept"),
])
def test_default_path_loopback_and_replies(name, default_input, loopback, replies):
    q = query(name)
    assert q.default("ipv4").verdict == default_input
    assert q.loopback("ipv4", 5432).verdict == loopback
    assert q.established_reply("ipv4").verdict == replies


@pytest.mark.parametrize("name, port, verdict", [
    ("ufw-default-deny.txt", 22, "accept"),       # ufw allow 22
    ("ufw-default-deny.txt", 9090, "drop"),       # allowed from the LAN only
    ("ufw-default-deny.txt", 5432, "drop"),
    ("nft-inet-filter.txt", 22, "drop"),          # @mgmt_v4 only
    ("nft-inet-filter.txt", 443, "accept"),
    ("nft-inet-filter.txt", 3000, "drop"),        # 192.168.2.0/24 only
    ("nft-firewalld.txt", 9090, "accept"),        # zone public allows it
    ("nft-firewalld.txt", 5432, "drop"),          # reject with icmpx
    ("docker-no-user-rules.txt", 5432, "drop"),   # INPUT: LAN only
])
def test_inbound_to_host_ports(name, port, verdict):
    assert query(name).inbound("ipv4", "tcp", port).verdict == verdict


@pytest.mark.parametrize("name, published, target, container, verdict", [
    # DOCKER-USER empty: INPUT's DROP policy does not protect published ports
    ("docker-no-user-rules.txt", 5432, 5432, "172.18.0.2", "accept"),
    # --ctorigdstport drops, from anywhere or from outside the LAN
    ("docker-user-rules.txt", 5432, 5432, "172.18.0.2", "drop"),
    ("docker-user-rules.txt", 3000, 3000, "172.18.0.3", "drop"),
    ("docker-user-rules.txt", 8080, 80, "172.18.0.5", "drop"),
    ("docker-user-rules.txt", 443, 443, "172.18.0.4", "accept"),
    # --dport 8080 sees container port 80; a DROP after RETURN is never reached
    ("docker-user-ineffective.txt", 8080, 80, "172.18.0.5", "accept"),
    ("docker-user-ineffective.txt", 5432, 5432, "172.18.0.2", "accept"),
    # firewalld accepts DNATed traffic (ct status dnat) in its forward chain
    ("nft-firewalld.txt", 5432, 5432, None, "accept"),
    # an nftables forward chain with policy drop does drop it
    ("nft-inet-filter.txt", 5432, 5432, None, "drop"),
])
def test_forward_path_of_published_ports(name, published, target, container, verdict):
    decision = query(name).forwarded("ipv4", "tcp", published, target, container, BRIDGE)
    assert decision.verdict == verdict, decision.reasons


def test_interface_specific_docker_user_rule_on_a_host_with_another_interface():
    # DOCKER-USER drops on eth0, but this host's external interface is ens18
    q = PathQuery(ruleset("docker-user-rules.txt"), ("lo", "ens18", "docker0"))
    assert q.forwarded("ipv4", "tcp", 5432, 5432, "172.18.0.2", BRIDGE).accepted
    # unknown interfaces: "the" external interface is the one the rule names
    q = PathQuery(ruleset("docker-user-rules.txt"), None)
    assert q.forwarded("ipv4", "tcp", 5432, 5432, "172.18.0.2", BRIDGE).dropped


def test_undecidable_condition_gives_uncertain():
    text = """*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 5432 -m recent --name pg --rcheck --seconds 60 -j DROP
COMMIT
"""
    q = PathQuery(parse_rulesets(iptables=text), ("eth0",))
    assert q.inbound("ipv4", "tcp", 5432).verdict == "uncertain"
    assert q.inbound("ipv4", "tcp", 22).verdict == "accept"


def test_raw_prerouting_drop_counts_for_both_paths():
    text = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 6379 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
COMMIT
"""
    q = PathQuery(parse_rulesets(iptables=text), ("lo", "eth0"))
    assert q.inbound("ipv4", "tcp", 6379).dropped
    assert q.forwarded("ipv4", "tcp", 6379, 6379).dropped     # before DNAT: published port
    assert q.forwarded("ipv4", "tcp", 6380, 6379).accepted


# --- transports --------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["ss", "-tulpn"], ["iptables-save"], ["/usr/sbin/ip6tables-save", "-t", "nat"],
    ["nft", "list", "ruleset"], ["sshd", "-T"]])
def test_allow_list_accepts_read_only_commands(argv):
    check_command(argv)


@pytest.mark.parametrize("argv", [
    ["rm", "-rf", "/"], ["nft", "flush", "ruleset"], ["iptables", "-F"],
    ["iptables-save", "-M", "/tmp/x"], ["ss", "-K"], ["sshd"], ["sh", "-c", "ss"],
    ["/tmp/ss", "-tulpn"], ["ss", "-tulpn; reboot"], []])
def test_allow_list_refuses_everything_else(argv):
    with pytest.raises(CommandRefused):
        check_command(argv)


def test_local_transport_refuses_before_running(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(CommandRefused):
        asyncio.run(LocalTransport().run(["touch", str(marker)]))
    assert not marker.exists()


def test_snapshot_transport_layout(tmp_path):
    (tmp_path / "ss.txt").write_text("tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n")
    (tmp_path / "nft.txt").write_text("")
    (tmp_path / "files/etc/ssh").mkdir(parents=True)
    (tmp_path / "files/etc/ssh/sshd_config").write_text("PermitRootLogin no\n")

    async def run():
        t = SnapshotTransport(str(tmp_path))
        return (await t.run(["ss", "-tulpn"]), await t.run(["nft", "list", "ruleset"]),
                await t.run(["iptables-save"]), await t.read_file("/etc/ssh/sshd_config"),
                await t.read_file("/../../etc/passwd"))

    ss, nft, iptables, config, escape = asyncio.run(run())
    assert ss.ok and "0.0.0.0:22" in ss.stdout
    assert nft.ok and nft.stdout == ""                 # collected, empty ruleset
    assert iptables.rc == 127                          # not collected
    assert config == b"PermitRootLogin no\n"
    assert escape is None                              # stays inside files/


def test_docs_and_transport_give_the_same_snapshot_one_liner():
    from labwarden.sources.live import transport
    doc = transport.__doc__
    in_module = doc[doc.index("D=host-snapshot"):].split("\n\n")[0]
    page = (Path(__file__).parents[3] / "docs" / "hosts.md").read_text()
    in_page = page[page.index("D=host-snapshot"):].split("```")[0]
    strip = lambda text: [line.strip() for line in text.strip().splitlines()]
    assert strip(in_module) == strip(in_page)
