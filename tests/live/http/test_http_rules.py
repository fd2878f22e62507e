"""The header rules and the grade, from facts built in memory: no network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.rules.headers import (
    csp_weaknesses,
    grade,
    is_session_cookie,
    letter,
    redirect_verdict,
)
from labwarden.sources.live.collect import ProbeOptions
from labwarden.sources.live.http import (
    HttpFact,
    PlainHttp,
    fact_from_mapping,
    facts_from_yaml,
    parse_csp,
    parse_hsts,
    parse_set_cookie,
    plain_port_for,
    safe_url,
)
from labwarden.sources.live.targets import parse_target

FIXTURES = Path(__file__).resolve().parents[2] / "rules" / "fixtures"
HDR_RULES = [r for r in registry.all_rules() if r.id.startswith("HDR")]
MARKER = re.compile(r"#\s*(ruleid|ok):\s*([A-Z]{3}\d{3})")


def fact(target="https://app.lab.example/", **fields) -> HttpFact:
    return fact_from_mapping({"target": target, **fields})


def hits(rule_id: str, f: HttpFact):
    return list(registry.get(rule_id).check(f, None))


def all_hits(f: HttpFact) -> dict[str, list]:
    found = {}
    for r in HDR_RULES:
        got = list(r.check(f, None))
        if got:
            found[r.id] = got
    return found


STRONG_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "strict-transport-security": "max-age=63072000; includeSubDomains; preload",
    "content-security-policy": "default-src 'self'; script-src 'nonce-abc' 'strict-dynamic'; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=()",
    "set-cookie": ["__Host-session=0123456789abcdef; Path=/; Secure; HttpOnly; SameSite=Lax"],
    "server": "nginx",
}
GOOD_PLAIN = {"port": 80, "status": 301, "location": "https://app.lab.example/"}


# --- the fixtures the shared harness will read ----------------------------------------------

@pytest.mark.parametrize("rule", HDR_RULES, ids=lambda r: r.id)
def test_fixture_markers(rule):
    path = FIXTURES / rule.id / "facts.yaml"
    assert path.exists(), f"{rule.id} has no facts.yaml"
    lines = path.read_text().splitlines()
    expected = {n for n, line in enumerate(lines, 1)
                if (m := MARKER.search(line)) and m.groups() == ("ruleid", rule.id)}
    ok = {n for n, line in enumerate(lines, 1)
          if (m := MARKER.search(line)) and m.groups() == ("ok", rule.id)}
    assert expected and ok, f"{rule.id} needs failing and passing cases"
    reported = set()
    for f in facts_from_yaml(path):
        for hit in rule.check(f, None):
            assert hit.location.path == str(path)
            reported.add(hit.location.line)
    assert reported == expected


# --- a strong answer is silent; an unreachable one too -------------------------------------

def test_strong_answer_reports_nothing():
    f = fact(headers=STRONG_HEADERS, plain=GOOD_PLAIN)
    assert all_hits(f) == {}
    score, grade_letter, _ = grade(f)
    assert grade_letter == "A+" and score >= 100


def test_unreachable_fact_reports_nothing():
    f = fact(error="timeout: no complete answer within 5 s")
    assert all_hits(f) == {}
    assert grade(f)[0] is None


def test_redirect_is_judged_only_on_what_matters_for_a_redirect():
    f = fact(status=302, headers={"location": "/login", "server": "nginx/1.25.3",
                                  "set-cookie": "sessionid=0123456789; Path=/"},
             plain=GOOD_PLAIN)
    assert set(all_hits(f)) == {"HDR001", "HDR010", "HDR011", "HDR012", "HDR013"}
    assert grade(f)[0] is None


def test_api_answers_skip_page_only_headers():
    f = fact(headers={"content-type": "application/json",
                      "strict-transport-security": "max-age=31536000; includeSubDomains"},
             plain=GOOD_PLAIN)
    assert set(all_hits(f)) == {"HDR007"}


# --- HSTS -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, max_age, sub, error", [
    ("max-age=31536000; includeSubDomains; preload", 31536000, True, None),
    ('MAX-AGE="600" ; INCLUDESUBDOMAINS', 600, True, None),
    ("includeSubDomains", None, True, "no max-age directive"),
    ("max-age=1; max-age=2", 1, False, "directive max-age appears twice"),
    ("max-age=abc", None, False, "max-age 'abc' is not a number"),
])
def test_parse_hsts(value, max_age, sub, error):
    hsts = parse_hsts(value)
    assert (hsts.max_age, hsts.include_subdomains, hsts.error) == (max_age, sub, error)


def test_hsts_weak_severity_depends_on_what_is_weak():
    short = hits("HDR002", fact(headers={"strict-transport-security": "max-age=600; "
                                                                      "includeSubDomains"}))
    nosub = hits("HDR002", fact(headers={"strict-transport-security": "max-age=31536000"}))
    assert short[0].severity == Severity.MEDIUM
    assert nosub[0].severity == Severity.LOW
    edge = hits("HDR002", fact(headers={"strict-transport-security": "max-age=15768000; "
                                                                     "includeSubDomains"}))
    assert edge == []


# --- redirect -------------------------------------------------------------------------------

@pytest.mark.parametrize("plain, kind, severity", [
    ({"status": 301, "location": "https://APP.lab.example./x"}, "ok", None),
    ({"status": 301, "location": "https://sso.lab.example/"}, "off-host", Severity.LOW),
    ({"status": 302, "location": "http://app.lab.example/home"}, "http", Severity.MEDIUM),
    ({"status": 301, "location": "//app.lab.example/"}, "http", Severity.MEDIUM),
    ({"status": 301}, "missing", Severity.HIGH),
    ({"status": 401}, "missing", Severity.HIGH),
    ({"error": "refused"}, "no-http", None),
    ({"error": "timeout"}, "no-http", None),
])
def test_redirect_verdicts(plain, kind, severity):
    f = fact(headers=STRONG_HEADERS, plain={"port": 80, **plain})
    assert redirect_verdict(f)[0] == kind
    found = hits("HDR003", f)
    assert [h.severity for h in found] == ([severity] if severity else [])


def test_https_redirecting_down_to_http_is_high():
    f = fact(status=301, headers={"location": "http://app.lab.example/"}, plain=GOOD_PLAIN)
    found = hits("HDR003", f)
    assert [h.resource for h in found] == ["https-downgrade"]
    assert registry.get("HDR003").severity == Severity.HIGH and found[0].severity is None


def test_redirect_messages_never_show_query_strings():
    f = fact(plain={"port": 80, "status": 302,
                    "location": "http://user:pw@app.lab.example/cb?token=SECRET123"})
    message = hits("HDR003", f)[0].message
    assert "SECRET123" not in message and "pw" not in message
    assert safe_url("https://a:b@h.example:8443/p?q=1#f") == "https://h.example:8443/p?…"


def test_plain_port_derivation():
    options = ProbeOptions()
    assert plain_port_for(parse_target("https://h/"), options) == (80, "")
    assert plain_port_for(parse_target("https://h:8443/"), options) == (8080, "")
    assert plain_port_for(parse_target("https://h:18443/"), options) == (18080, "")
    port, why = plain_port_for(parse_target("https://h:8006/"), options)
    assert port is None and "8006" in why
    options.http_port = 8081
    assert plain_port_for(parse_target("https://h:8006/"), options) == (8081, "")
    options.http_port = 0
    assert plain_port_for(parse_target("https://h/"), options)[0] is None


# --- CSP ------------------------------------------------------------------------------------

def test_parse_csp_policies_duplicates_and_meta():
    policies = parse_csp("script-src 'self'; script-src *; OBJECT-SRC 'NONE', default-src 'self'")
    assert len(policies) == 2
    assert policies[0].directives == {"script-src": ["'self'"], "object-src": ["'none'"]}
    assert policies[0].duplicates == ["script-src"]
    meta = parse_csp("default-src 'self'; frame-ancestors 'none'; sandbox", "meta")[0]
    assert set(meta.directives) == {"default-src"}


def _weak(csp: str, scheme="https") -> list[str]:
    f = fact(f"{scheme}://app.lab.example/",
             headers={"content-type": "text/html", "content-security-policy": csp})
    return [text for _, text in csp_weaknesses(f)]


def test_csp_nonce_hash_and_strict_dynamic_neutralise_what_browsers_ignore():
    base = "; object-src 'none'; base-uri 'none'"
    assert _weak("script-src 'sha256-abc=' 'unsafe-inline'" + base) == []
    assert _weak("script-src 'nonce-x' 'strict-dynamic' https: * 'unsafe-inline'" + base) == []
    # without a nonce or hash, 'strict-dynamic' neutralises nothing
    assert any("https:" in t for t in _weak("script-src 'strict-dynamic' https:" + base))
    # a nonce does not neutralise wildcards unless 'strict-dynamic' is there too
    assert any("*" in t for t in _weak("script-src 'nonce-x' *" + base))


def test_csp_script_fallbacks_and_elem_attr():
    base = "; object-src 'none'; base-uri 'none'"
    assert any("default-src" in t for t in _weak("default-src 'self' 'unsafe-inline'" + base))
    assert _weak("default-src 'self' 'unsafe-inline'; script-src 'self'" + base) == []
    assert any("script-src-attr" in t
               for t in _weak("script-src 'self'; script-src-attr 'unsafe-inline'" + base))
    assert any("any script" in t for t in _weak("img-src 'self'" + base))
    assert any("http://cdn" in t for t in _weak("script-src http://cdn.example" + base))
    assert _weak("script-src http://cdn.example" + base, scheme="http") == []


def test_csp_low_only_issues_give_a_low_finding():
    found = hits("HDR005", fact(headers={"content-type": "text/html",
                                         "content-security-policy": "default-src 'self'"}))
    assert found[0].severity == Severity.LOW and "base-uri" in found[0].message
    eval_only = hits("HDR005", fact(headers={
        "content-type": "text/html",
        "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; "
                                   "base-uri 'self'"}))
    assert eval_only[0].severity == Severity.LOW and "unsafe-eval" in eval_only[0].message


def test_csp_several_policies_weak_only_if_each_is():
    both = fact(headers={"content-type": "text/html", "content-security-policy": [
        "script-src 'unsafe-inline'; object-src 'none'; base-uri 'none'",
        "object-src 'none'"]})
    assert any("unsafe-inline" in t for _, t in csp_weaknesses(both))


def test_meta_csp_counts_but_not_its_frame_ancestors():
    body = ("<html><head><meta http-equiv=\"content-security-policy\" "
            "content=\"default-src 'self'; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'\"></head><body><meta http-equiv=x content=y></body></html>")
    f = fact(body=body)
    assert f.html and f.meta_values("content-security-policy")
    assert hits("HDR004", f) == [] and hits("HDR005", f) == []
    assert hits("HDR006", f)


# --- cookies --------------------------------------------------------------------------------

def test_set_cookie_parsing_never_keeps_the_value():
    cookie = parse_set_cookie("SID=TOPSECRETVALUE; path=/; secure; HTTPONLY; samesite=strict; "
                              "Domain=.lab.example")
    assert (cookie.name, cookie.secure, cookie.http_only, cookie.same_site, cookie.domain) == (
        "SID", True, True, "Strict", "lab.example")
    f = fact(headers={"set-cookie": ["SID=TOPSECRETVALUE; Path=/",
                                     "weird-no-equals-TOPSECRETVALUE"],
                      "x-auth-token": "TOPSECRETVALUE"})
    assert "TOPSECRETVALUE" not in repr(f)
    for found in all_hits(f).values():
        for hit in found:
            assert "TOPSECRETVALUE" not in hit.message + hit.evidence


def test_cookie_deletions_are_ignored():
    assert parse_set_cookie("a=; Max-Age=0").expired
    assert parse_set_cookie("a=; Expires=Thu, 01-Jan-1970 00:00:01 GMT").expired
    assert not parse_set_cookie("a=b; Max-Age=3600; Expires=Thu, 01-Jan-1970 00:00:01 GMT").expired
    f = fact(headers={"set-cookie": "session=; Max-Age=0"})
    assert not any(k in all_hits(f) for k in ("HDR010", "HDR011", "HDR012"))


@pytest.mark.parametrize("name, session", [
    ("PHPSESSID", True), ("JSESSIONID", True), ("connect.sid", True), ("sid", True),
    ("grafana_session", True), ("_oauth2_proxy", True), ("remember_token", True),
    ("authelia_session", True), ("jwt", True), ("csrftoken", False), ("XSRF-TOKEN", False),
    ("theme", False), ("_ga", False), ("consider", False), ("lang", False),
    ("heroku-session-affinity", False), ("ci_session", True), ("laravel_session", True),
])
def test_session_cookie_names(name, session):
    assert is_session_cookie(name) is session


def test_cookie_secure_severity_by_kind():
    session = hits("HDR010", fact(headers={"set-cookie": "sessionid=x; HttpOnly; SameSite=Lax"}))
    other = hits("HDR010", fact(headers={"set-cookie": "theme=dark"}))
    assert session[0].severity == Severity.MEDIUM and other[0].severity == Severity.LOW


# --- other headers --------------------------------------------------------------------------

@pytest.mark.parametrize("value, reported", [
    ("DENY", False), ("sameorigin", False), ("DENY, DENY", False),
    ("SAMEORIGIN, DENY", False), ("ALLOW-FROM https://x", True), ("ALLOWALL", True),
])
def test_x_frame_options_values(value, reported):
    f = fact(headers={"content-type": "text/html", "x-frame-options": value})
    assert bool(hits("HDR006", f)) is reported


@pytest.mark.parametrize("value, reported", [
    ("0", False), ("1; mode=block", False), ("1;mode=block", False), ("1", True),
    ("1; report=https://r.example/", True), ("garbage", False),
])
def test_x_xss_protection_values(value, reported):
    f = fact(headers={"content-type": "text/html", "x-xss-protection": value})
    assert bool(hits("HDR014", f)) is reported


@pytest.mark.parametrize("server, reported", [
    ("nginx", False), ("nginx/1.22.1", True), ("Apache", False), ("cloudflare", False),
    ("Jetty(9.4.44.v20210927)", True), ("openresty/1.21.4.1", True), ("Caddy", False),
    ("gunicorn", False), ("Werkzeug/2.3.7 Python/3.11.4", True), ("Kestrel", False),
])
def test_version_disclosure(server, reported):
    assert bool(hits("HDR013", fact(headers={"server": server}))) is reported


def test_referrer_policy_last_valid_token_wins():
    leaky = fact(headers={"content-type": "text/html",
                          "referrer-policy": ["no-referrer", "unsafe-url"]})
    assert hits("HDR008", leaky)
    meta = fact(headers={"referrer-policy": "unsafe-url"},
                body="<head><meta name='referrer' content='same-origin'></head>")
    assert hits("HDR008", meta) == []


# --- the grade ------------------------------------------------------------------------------

@pytest.mark.parametrize("score, expected", [
    (135, "A+"), (100, "A+"), (99, "A"), (90, "A"), (89, "A-"), (84, "B+"), (79, "B"),
    (70, "B"), (69, "B-"), (65, "B-"), (64, "C+"), (50, "C"), (45, "C-"), (44, "D+"),
    (30, "D"), (29, "D-"), (25, "D-"), (24, "F"), (0, "F"),
])
def test_letters(score, expected):
    assert letter(score) == expected


def test_grade_bonuses_need_an_a_before_them():
    no_csp = dict(STRONG_HEADERS)
    del no_csp["content-security-policy"]
    score, grade_letter, reasons = grade(fact(headers=no_csp, plain=GOOD_PLAIN))
    # -25 CSP, and X-Frame-Options DENY gives 0: no bonus counted under 90
    assert score == 75 and grade_letter == "B"
    assert any(r.startswith("-25 content-security-policy") for r in reasons)


def test_grade_rule_severity_by_band():
    c_grade = fact(headers={**STRONG_HEADERS, "content-security-policy": "default-src *",
                            "x-frame-options": "ALLOW-FROM x"}, plain={"port": 80,
                                                                      "status": 200})
    score, _, _ = grade(c_grade)
    assert 45 <= score < 70
    assert hits("HDR015", c_grade)[0].severity == Severity.INFO
    bare = fact(headers={"content-type": "text/html"}, plain={"port": 80, "status": 200})
    assert grade(bare)[1] == "F"
    assert hits("HDR015", bare)[0].severity == Severity.LOW


def test_grade_sri_and_untrusted_certificate():
    body = ('<head><script src="http://cdn.example/x.js"></script>'
            '<script src="/local.js"></script></head>')
    f = fact(headers=STRONG_HEADERS, body=body, plain=GOOD_PLAIN)
    assert any("-50 subresource-integrity" in r for r in grade(f)[2])
    untrusted = fact(headers=STRONG_HEADERS, plain=GOOD_PLAIN, tls_verified=False)
    assert any("certificate not trusted" in r for r in grade(untrusted)[2])


def test_plain_http_fact_without_plain_check_field():
    f = HttpFact(target="https://x/", url="https://x/", host="x", status=200,
                 headers=[("content-type", "text/html")])
    f.plain = PlainHttp(url="http://x:80/", port=80, status=200)
    assert redirect_verdict(f)[0] == "missing"
    assert f.asset == "http:x:443"
    assert fact("https://x:8443/app").asset == "http:x:8443/app"


def test_yaml_loader_rejects_unknown_fields(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("- target: https://x/\n  headerz: {}\n")
    with pytest.raises(ValueError, match="headerz"):
        facts_from_yaml(path)
