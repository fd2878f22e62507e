"""One probe per endpoint (issue 15): a target named twice, or several paths of one site,
cost one TLS scan; each path still gets its own header request; findings are not repeated,
and every target the scan answers for keeps it as evidence."""

from __future__ import annotations

import collections

from tls_servers import probe_options

from labwarden.audit.live import run_live
from labwarden.audit.runner import RuleRunner
from labwarden.config import Config
from labwarden.sources.live import collect as collect_module
from labwarden.sources.live.http import HttpFact
from labwarden.sources.live.targets import parse_target
from labwarden.sources.live.tls import TlsFact


def test_one_tls_scan_per_endpoint_and_one_header_request_per_url(nginx, pki, monkeypatch):
    base = f"https://weak.test:{nginx.ports['weak']}"
    texts = [base, f"{base}/admin", base, f"https://WEAK.test:{nginx.ports['weak']}/"]
    scans = []
    from labwarden.sources.live import tls
    real_probe = tls.probe

    async def counted(target, options):
        scans.append(target.raw)
        return await real_probe(target, options)

    monkeypatch.setattr(tls, "probe", counted)
    origins: dict[int, str] = {}
    aliases: dict[int, list[str]] = {}
    facts, diagnostics = collect_module.collect_sync(
        [parse_target(t) for t in texts], probe_options(pki), origins, aliases)
    assert scans == [base]                               # one TLS scan for all four
    tls_facts = [f for f in facts if isinstance(f, TlsFact)]
    http_facts = [f for f in facts if isinstance(f, HttpFact)]
    assert len(tls_facts) == 1
    # the root (named three ways: the same URL) and /admin
    assert sorted(f.path for f in http_facts) == ["/", "/admin"]
    assert sorted(aliases[id(tls_facts[0])]) == sorted(texts[1:])


def test_findings_are_not_repeated_for_a_target_named_twice(nginx, pki):
    base = f"https://weak.test:{nginx.ports['weak']}"
    runner = RuleRunner(Config())
    findings, diagnostics, kept = [], [], []
    run_live([parse_target(t) for t in (base, base, f"{base}/admin")], probe_options(pki),
             runner, findings, diagnostics, kept=kept)
    keys = collections.Counter((f.rule.id, f.fingerprint) for f in findings)
    assert keys and max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    tls_findings = [f for f in findings if f.rule.id.startswith("TLS")]
    assert tls_findings and {f.asset for f in tls_findings} == {f"tls:weak.test:{nginx.ports['weak']}"}
    # the TLS fact counts as evidence for the /admin target too
    origins = {origin for origin, _, fact in kept if isinstance(fact, TlsFact)}
    assert origins == {base, f"{base}/admin"}
