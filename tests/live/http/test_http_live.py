"""The HTTP probe and the header rules against real servers on loopback (see conftest).

Assertions are on outcomes (what was collected, what was reported), never on timings.
"""

from __future__ import annotations

import asyncio

import pytest

from http_servers import SESSION_SECRET
from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.rules.headers import grade
from labwarden.sources.live import collect as collect_module
from labwarden.sources.live.collect import ProbeOptions, collect
from labwarden.sources.live.http import HttpFact, probe
from labwarden.sources.live.targets import parse_target

HDR_RULES = [r for r in registry.all_rules() if r.fact is HttpFact]
TIMEOUT = 2.0          # above the drip interval (1 s): only the whole-request bound stops it


def options(pki, **extra) -> ProbeOptions:
    return ProbeOptions(timeout=TIMEOUT, deadline=60, ca_file=pki.ca_file, **extra)


def run(target: str, opts: ProbeOptions) -> HttpFact:
    return asyncio.run(probe(parse_target(target), opts))


def findings(fact: HttpFact) -> dict[str, list]:
    found = {}
    for r in HDR_RULES:
        hits = list(r.check(fact, None))
        if hits:
            found[r.id] = hits
    return found


def url(nginx, site: str, path: str = "/") -> str:
    scheme = "https" if site.endswith("https") else "http"
    return f"{scheme}://127.0.0.1:{nginx.ports[site]}{path}"


@pytest.fixture(scope="module")
def sites(nginx, pki):
    """Every nginx target probed once, concurrently, as the collector runs them."""
    targets = {
        "strong": url(nginx, "strong_https"),
        "strong_api": url(nginx, "strong_https", "/api"),
        "strong_plain": url(nginx, "strong_http"),
        "weak": url(nginx, "weak_https"),
        "weak_plain": url(nginx, "weak_http"),
        "mixed": url(nginx, "mixed_https"),
    }

    async def probe_all():
        return await asyncio.gather(*(probe(parse_target(t), options(pki))
                                      for t in targets.values()))
    return dict(zip(targets, asyncio.run(probe_all())))


# --- the strong site: complete facts, nothing reported --------------------------------------

def test_strong_site_reports_nothing(sites):
    strong = sites["strong"]
    assert strong.error is None and strong.status == 200 and strong.tls_verified is True
    assert strong.first("strict-transport-security").startswith("max-age=63072000")
    assert strong.plain.status == 301 and strong.plain.location.startswith("https://127.0.0.1:")
    assert [c.name for c in strong.cookies] == ["__Host-session", "theme", "old_session"]
    assert strong.cookies[2].expired                      # the deletion cookie is seen…
    assert findings(strong) == {}                         # …and not reported
    assert grade(strong)[1] == "A+"


def test_strong_api_and_its_plain_redirect_report_nothing(sites):
    assert sites["strong_api"].first("content-type") == "application/json"
    assert findings(sites["strong_api"]) == {}
    plain = sites["strong_plain"]
    assert plain.status == 301 and plain.redirect.startswith("https://127.0.0.1:")
    assert findings(plain) == {}
    assert plain.diagnostics == []                         # an upgrade is what we want


def test_cookie_values_never_reach_a_fact_or_a_finding(sites):
    for name, fact in sites.items():
        assert SESSION_SECRET not in repr(fact), name
        for hits in findings(fact).values():
            for hit in hits:
                assert SESSION_SECRET not in f"{hit.message} {hit.evidence}", name


# --- the weak site: every planted weakness --------------------------------------------------

def test_weak_site_every_weakness_detected(sites):
    weak = sites["weak"]
    assert weak.error is None and weak.status == 200
    found = findings(weak)
    assert set(found) == {"HDR001", "HDR003", "HDR005", "HDR006", "HDR007", "HDR008",
                          "HDR009", "HDR010", "HDR011", "HDR012", "HDR013", "HDR014",
                          "HDR015"}
    assert "answers 200 over plain HTTP" in found["HDR003"][0].message
    assert "'unsafe-inline' in script-src" in found["HDR005"][0].message
    assert "nginx/1." in found["HDR013"][0].message and "PHP/8.1.2" in found["HDR013"][0].message
    assert all("sessionid" in found[r][0].message for r in ("HDR010", "HDR011", "HDR012"))
    _, grade_letter, reasons = grade(weak)
    assert grade_letter == "F"
    assert any("subresource-integrity" in r for r in reasons)   # the http:// script


def test_weak_plain_port_as_an_http_target(sites):
    found = findings(sites["weak_plain"])
    assert found["HDR003"][0].severity == Severity.HIGH
    assert {"HDR004", "HDR006", "HDR013", "HDR015"} <= set(found)
    assert "HDR001" not in found                                 # HSTS means nothing on http


# --- the mixed site: weak values rather than missing headers --------------------------------

def test_mixed_site_weak_values_detected(sites):
    mixed = sites["mixed"]
    found = findings(mixed)
    assert set(found) == {"HDR002", "HDR003", "HDR004", "HDR006", "HDR008", "HDR012",
                          "HDR015"}
    assert "max-age=86400" in found["HDR002"][0].message
    assert "no includeSubDomains" in found["HDR002"][0].message
    assert "another host" in found["HDR003"][0].message          # reported, never followed
    assert "Report-Only" in found["HDR004"][0].message
    assert "ALLOW-FROM" in found["HDR006"][0].message
    assert "unsafe-url" in found["HDR008"][0].message
    assert "SameSite=Sometimes" in found["HDR012"][0].message
    assert "HDR014" not in found                                 # 1; mode=block is tolerated


# --- TLS verification failure still collects the headers ------------------------------------

def test_untrusted_certificate_still_collects_headers(nginx):
    fact = run(url(nginx, "strong_https"), ProbeOptions(timeout=TIMEOUT))   # no test CA
    assert fact.error is None and fact.status == 200
    assert fact.tls_verified is False and fact.tls_error
    assert fact.first("content-security-policy")
    assert findings(fact) == {}             # the certificate is the TLS rules' business
    assert any("certificate not trusted" in r for r in grade(fact)[2])


# --- dead and slow targets: bounded, reported, and no stall for the others ----------------

def test_slow_and_dead_targets_do_not_stall_the_others(nginx, pki, drip_head, drip_body,
                                                        black_hole, monkeypatch):
    monkeypatch.setattr(collect_module, "probes_for", lambda target, options: ("http",))
    targets = {
        "strong": url(nginx, "strong_https"),
        "weak": url(nginx, "weak_https"),
        "drip_head": f"http://127.0.0.1:{drip_head.port}/",
        "drip_body": f"http://127.0.0.1:{drip_body.port}/",
        "black_hole_https": f"https://127.0.0.1:{black_hole.port}/",
        "black_hole_http": f"http://127.0.0.1:{black_hole.port}/",
    }
    parsed = [parse_target(t) for t in targets.values()]
    facts, diagnostics = asyncio.run(collect(parsed, options(pki)))
    by_target = {f.target: f for f in facts}
    assert set(by_target) == set(targets.values())

    # the healthy sites are complete despite the stalling ones running alongside
    strong, weak = by_target[targets["strong"]], by_target[targets["weak"]]
    assert strong.error is None and findings(strong) == {}
    assert strong.plain is not None and strong.plain.status == 301
    assert weak.error is None and "HDR001" in findings(weak)

    # a body that drips does not lose the headers that came at once
    drip_body_fact = by_target[targets["drip_body"]]
    assert drip_body_fact.error is None and drip_body_fact.status == 200
    assert drip_body_fact.first("x-content-type-options") == "nosniff"

    # the dripping head and the black hole end as unreachable facts, by the probe's own
    # bound (the collector's deadline never had to step in)
    for name in ("drip_head", "black_hole_https", "black_hole_http"):
        fact = by_target[targets[name]]
        assert fact.error and fact.error.startswith("timeout"), (name, fact.error)
        assert [d.code for d in fact.diagnostics] == ["unreachable"]
        assert findings(fact) == {}
    codes = {d.code for d in diagnostics}
    assert "probe-timeout" not in codes and "probe-failed" not in codes
    assert sum(d.code == "unreachable" for d in diagnostics) == 3


def test_refused_port_is_unreachable(pki):
    import socket
    with socket.socket() as s:             # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fact = run(f"https://127.0.0.1:{port}/", options(pki))
    assert fact.error == "refused: connection refused"
    assert fact.diagnostics[0].level == "error" and fact.diagnostics[0].code == "unreachable"


def test_plain_port_override_and_an_unanswered_plain_port(nginx, pki, black_hole):
    opts = options(pki)
    opts.http_port = black_hole.port       # what a --http-port option would set
    fact = run(url(nginx, "strong_https"), opts)
    assert fact.error is None and fact.status == 200          # the page is complete
    assert fact.plain.port == black_hole.port and fact.plain.error == "timeout"
    assert [(d.level, d.code) for d in fact.diagnostics] == [("warning",
                                                              "plain-http-unanswered")]
    assert findings(fact) == {}                 # no answer on plain HTTP: nothing to redirect
