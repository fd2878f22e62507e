"""nftables read as JSON (`nft -j list ruleset`): the same model as the text reader, on rulesets
loaded into a kernel in a network namespace; preferred by the host collector and snapshots;
JSON that is not nft's reported with its file, and the text read instead."""

from __future__ import annotations

import asyncio
import json
from dataclasses import astuple

import pytest

from labwarden.sources.firewall import (
    NftJsonError,
    PathQuery,
    parse_nft,
    parse_nft_json,
    parse_rulesets,
)
from labwarden.sources.live import host
from labwarden.sources.live.host import HostFacts
from labwarden.sources.live.transport import CommandRefused, SnapshotTransport, check_command

from .test_hosts_live import RULESETS, collect_in

# Rulesets written the way people write them (firewalld's, a hand-written inet filter, one
# without the loopback accept) and one that uses every construct the readers know.
NFT_RULESETS = ("nft-firewalld.txt", "nft-inet-filter.txt", "nft-no-loopback.txt",
                "nft-coverage.txt")


def facts(tables) -> list:
    """What the evaluator reads of the model: everything but where a rule was written (the
    JSON has no lines, and its rule text is written back from the expressions)."""
    return [(t.family, t.name, t.source, dict(t.sets),
             {name: (c.hook, c.type, c.policy,
                     [(r.chain, [astuple(k) for k in r.conds], r.action, r.target)
                      for r in c.rules])
              for name, c in t.chains.items()})
            for t in tables]


def dnats(firewall) -> list:
    return [(d.family, d.proto, d.dport, d.to_addr, d.to_port, d.host_ip, d.bridge)
            for d in firewall.dnats]


@pytest.mark.parametrize("name", NFT_RULESETS)
def test_netns_json_and_text_readers_yield_the_same_facts(netns, name):
    namespace, inside = netns
    inside("nft", "-f", str(RULESETS / name))
    text = inside("nft", "list", "ruleset").stdout.decode()
    as_json = inside("nft", "-j", "list", "ruleset").stdout.decode()
    from_text, from_json = parse_nft(text), parse_nft_json(as_json)
    assert sum(len(c.rules) for t in from_text for c in t.chains.values()) > 0
    assert facts(from_json) == facts(from_text)
    text_model, json_model = parse_rulesets(nft=text), parse_rulesets(nft_json=as_json)
    assert dnats(json_model) == dnats(text_model)
    for port in (22, 80, 3306, 8080, 9090, 47321):
        assert PathQuery(json_model, ("lo", "eth0")).inbound("ipv4", "tcp", port).verdict == \
            PathQuery(text_model, ("lo", "eth0")).inbound("ipv4", "tcp", port).verdict


def test_coverage_ruleset_reads_what_the_evaluator_needs(netns):
    """The JSON reader on its own: conditions, sets, a verdict map and Docker's DNATs."""
    namespace, inside = netns
    inside("nft", "-f", str(RULESETS / "nft-coverage.txt"))
    model = parse_rulesets(nft_json=inside("nft", "-j", "list", "ruleset").stdout.decode())
    table = next(t for t in model.tables if t.name == "coverage")
    assert table.sets["ports_ok"] == ("22", "443", "8000-8100")
    assert table.chains["input"].policy == "drop"
    vmap = next(r for r in table.chains["input"].rules if r.action == "vmap")
    assert vmap.conds[-1].values == ("dport", "80=accept", "81=drop", "82=jump web")
    assert vmap.text == "tcp dport vmap { 80 : accept, 81 : drop, 82 : jump web }"
    assert ("ipv4", "tcp", 5432, "172.17.0.3", 5432, None, "docker0") in dnats(model)
    assert ("ipv4", "udp", 1001, "172.17.0.4", 2001, None, "docker0") in dnats(model)
    query = PathQuery(model, ("lo", "eth0"))
    assert query.inbound("ipv4", "tcp", 443).accepted        # @ports_ok
    assert query.inbound("ipv4", "tcp", 81).dropped          # the verdict map drops it


def test_netns_collector_prefers_json(netns):
    namespace, inside = netns
    inside("nft", "-f", str(RULESETS / "nft-inet-filter.txt"))
    facts_ = collect_in(namespace)
    table = next(t for t in facts_.firewall.tables if (t.family, t.name) == ("inet", "filter"))
    rule = table.chains["input"].rules[2]
    # read from JSON: no line, the rule written back from its expressions
    assert (rule.line, rule.text) == (0, "ip saddr @mgmt_v4 tcp dport 22 accept")
    assert facts_.firewall.collected["nft"] is True
    assert not [d for d in facts_.diagnostics if d.code == "parse-failed"]


# --- snapshots -------------------------------------------------------------------------------

NFT_TEXT = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 22 accept
	}
}
"""
NFT_JSON = json.dumps({"nftables": [
    {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "filter", "handle": 1}},
    {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1,
               "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 2, "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                   "right": 443}}, {"accept": None}]}}]})


def snapshot(tmp_path, **files) -> HostFacts:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    facts_ = HostFacts(f"snapshot:{tmp_path}", "snap", "snapshot")
    found = asyncio.run(host.collect(SnapshotTransport(str(tmp_path)), facts_))
    return found[0]


def test_snapshot_prefers_the_json_and_points_at_its_file(tmp_path):
    facts_ = snapshot(tmp_path, **{"nft.txt": NFT_TEXT, "nft-ruleset.json": NFT_JSON})
    query = facts_.query()
    assert query.inbound("ipv4", "tcp", 443).accepted     # only the JSON accepts 443
    assert query.inbound("ipv4", "tcp", 22).dropped
    assert facts_.firewall.paths["nft"] == str(tmp_path / "nft-ruleset.json")
    assert facts_.location_of("nft", 0).path == str(tmp_path / "nft-ruleset.json")


def test_snapshot_with_only_the_text_reads_the_text(tmp_path):
    facts_ = snapshot(tmp_path, **{"nft.txt": NFT_TEXT})
    assert facts_.query().inbound("ipv4", "tcp", 22).accepted
    assert facts_.firewall.paths["nft"] == str(tmp_path / "nft.txt")


@pytest.mark.parametrize("broken, says", [
    ('{"nftables": [', "not JSON"),
    ('{"rules": []}', 'no "nftables" list'),
    ('{"nftables": [{"chain": {"family": "inet"}}]}', "nftables[0].chain"),
    ('{"nftables": [42]}', "nftables[0]"),
])
def test_broken_json_is_reported_at_its_file_and_the_text_is_read(tmp_path, broken, says):
    facts_ = snapshot(tmp_path, **{"nft.txt": NFT_TEXT, "nft-ruleset.json": broken})
    warning = next(d for d in facts_.diagnostics if d.code == "parse-failed")
    assert says in warning.message and "read nft list ruleset instead" in warning.message
    assert warning.location.path == str(tmp_path / "nft-ruleset.json")
    assert facts_.query().inbound("ipv4", "tcp", 22).accepted      # the text, read instead
    assert facts_.firewall.paths["nft"] == str(tmp_path / "nft.txt")


def test_broken_json_without_text_loses_only_nftables(tmp_path):
    facts_ = snapshot(tmp_path, **{"nft-ruleset.json": "[]", "iptables-save.txt":
                                   "*filter\n:INPUT DROP [0:0]\nCOMMIT\n"})
    warning = next(d for d in facts_.diagnostics if d.code == "parse-failed")
    assert "nftables rules not read" in warning.message
    assert facts_.firewall.collected == {"iptables-save": True, "ip6tables-save": False,
                                         "nft": False}
    assert facts_.query().inbound("ipv4", "tcp", 22).dropped


def test_parse_errors_say_where():
    with pytest.raises(NftJsonError, match="line 2 column"):
        parse_nft_json('{"nftables":\n ]')
    with pytest.raises(NftJsonError, match="nested too deeply"):
        parse_nft_json("[" * 100_000 + "]" * 100_000)


def test_unknown_expressions_are_undecidable_never_dropped():
    document = json.loads(NFT_JSON)
    rule = document["nftables"][3]["rule"]
    rule["expr"][:0] = [{"xt": {"type": "match", "name": "conntrack"}},
                        {"match": {"op": ">", "left": {"meta": {"key": "length"}},
                                   "right": 100}},
                        {"somefuture": {"x": 1}}]
    model = parse_rulesets(nft_json=json.dumps(document))
    conds = model.tables[0].chains["input"].rules[0].conds
    assert [c.kind for c in conds[:3]] == ["unknown"] * 3
    assert PathQuery(model).inbound("ipv4", "tcp", 443).verdict == "uncertain"


def test_allow_list_has_nft_json_and_nothing_more():
    check_command(["nft", "-j", "list", "ruleset"])
    for argv in (["nft", "-j", "flush", "ruleset"], ["nft", "-j", "-f", "x"],
                 ["nft", "list", "ruleset", "-j"]):
        with pytest.raises(CommandRefused):
            check_command(argv)
