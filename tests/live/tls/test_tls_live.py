"""The TLS probe and rules end to end, against real servers on loopback (conftest.py).

Every weakness planted in the servers must be reported, by the rule meant for it, and
nothing else; the strong site must produce no finding when its CA is the user's CA file.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
import tls_servers
from tls_servers import probe_options

from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live import collect as collect_module
from labwarden.sources.live import tls
from labwarden.sources.live.targets import parse_target


def probe(url: str, opts) -> tls.TlsFact:
    return asyncio.run(tls.probe(parse_target(url), opts))


def judge(fact: tls.TlsFact) -> dict[str, list]:
    found: dict[str, list] = {}
    for rule in registry.rules_for(tls.TlsFact):
        hits = list(rule.check(fact, Settings()))
        if hits:
            found[rule.id] = [(h, h.severity or rule.severity) for h in hits]
    return found


def errors(fact: tls.TlsFact) -> list:
    return [d for d in fact.diagnostics if d.level == "error"]


MOZILLA_TLS12_RSA = {
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
TLS13_DEFAULT = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                 "TLS_CHACHA20_POLY1305_SHA256"}


# --- the strong site: nothing to report ---------------------------------------------------

def test_strong_site_reports_nothing_with_its_ca(nginx, pki):
    fact = probe(f"https://strong.test:{nginx.ports['strong']}", probe_options(pki))
    assert fact.error is None and not errors(fact), fact.diagnostics
    assert fact.address == "127.0.0.1" and fact.sni == "strong.test"
    assert fact.protocols == ["TLSv1.2", "TLSv1.3"]
    assert fact.tested == ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert set(fact.suites["TLSv1.2"]) == MOZILLA_TLS12_RSA
    assert set(fact.suites["TLSv1.3"]) == TLS13_DEFAULT
    assert set(fact.dh_groups.values()) == {2048}
    assert fact.trusted is True and fact.hostname_match is True
    assert fact.secure_renegotiation is True and fact.heartbeat is False
    leaf = fact.leaf
    assert leaf.sans == ["strong.test"] and leaf.key_type == "RSA" and leaf.key_bits == 2048
    assert leaf.signature_hash == "sha256" and not leaf.self_signed
    assert judge(fact) == {}


def test_strong_site_without_the_ca_is_only_untrusted(nginx):
    fact = probe(f"https://strong.test:{nginx.ports['strong']}", probe_options())
    assert fact.trusted is False
    assert "issuer" in fact.trust_error
    found = judge(fact)
    assert set(found) == {"TLS011"}
    (hit, severity), = found["TLS011"]
    assert severity == Severity.HIGH and "--ca-file" in hit.fix


def test_an_unreadable_ca_file_is_an_error_and_the_scan_goes_on(nginx, tmp_path):
    """The CA file is loaded on a worker thread: its failure must still come back as the
    probe's diagnostic, for every target sharing the load, with the rest of the facts."""
    missing = tmp_path / "no-such-ca.pem"
    opts = probe_options()
    opts.ca_file = str(missing)
    urls = [f"https://strong.test:{nginx.ports['strong']}",
            f"https://weak.test:{nginx.ports['weak']}"]

    async def both():
        return await asyncio.gather(*(tls.probe(parse_target(u), opts) for u in urls))

    for fact in asyncio.run(both()):
        (error,) = errors(fact)
        assert error.code == "tls-ca-file" and str(missing) in error.message
        assert fact.trusted is None and fact.protocols and fact.leaf is not None


def test_strong_site_under_the_modern_profile(nginx, pki):
    fact = probe(f"https://strong.test:{nginx.ports['strong']}",
                 probe_options(pki, tls_profile="modern"))
    found = judge(fact)
    assert set(found) == {"TLS001"}
    (hit, severity), = found["TLS001"]
    assert severity == Severity.MEDIUM and hit.evidence == "TLSv1.2"


# --- the weak nginx site: protocol, DH and certificate weaknesses ------------------------

def test_weak_site_every_weakness_found(nginx, pki):
    fact = probe(f"https://weak.test:{nginx.ports['weak']}", probe_options(pki))
    assert fact.error is None and not errors(fact)
    assert fact.protocols == ["TLSv1.0", "TLSv1.1", "TLSv1.2"]
    assert set(fact.suites["TLSv1.0"]) == {
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA"}
    assert set(fact.suites["TLSv1.2"]) == set(fact.suites["TLSv1.0"]) | {
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"}
    assert set(fact.dh_groups.values()) == {1024}
    assert fact.trusted is True                      # issued by the test CA
    assert fact.hostname_match is False
    found = judge(fact)
    assert set(found) == {"TLS001", "TLS005", "TLS006", "TLS007", "TLS009", "TLS010",
                          "TLS012", "TLS013"}
    protocols, severity = found["TLS001"][0]
    assert protocols.evidence == "TLSv1.0, TLSv1.1" and severity == Severity.HIGH
    static, _ = found["TLS005"][0]
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in static.evidence
    cbc, severity = found["TLS006"][0]
    assert "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" in cbc.evidence and severity == Severity.LOW
    assert "CBC with SHA-1" in cbc.message
    dh, severity = found["TLS007"][0]
    assert "1024-bit" in dh.message and severity == Severity.HIGH
    expiring, _ = found["TLS009"][0]
    assert "expires in" in expiring.message
    mismatch, _ = found["TLS010"][0]
    assert "other.test" in mismatch.evidence
    key, _ = found["TLS012"][0]
    assert "1024-bit RSA" in key.message
    signature, _ = found["TLS013"][0]
    assert "SHA1" in signature.message


def test_weak_site_without_the_ca_is_also_untrusted(nginx):
    fact = probe(f"https://weak.test:{nginx.ports['weak']}", probe_options())
    assert "TLS011" in judge(fact)


# --- gnutls: the cipher suites OpenSSL 3 can no longer serve -----------------------------

def test_gnutls_weak_ciphers_found(gnutls, pki):
    fact = probe(f"https://ciphers.test:{gnutls.port}", probe_options(pki))
    assert fact.error is None and not errors(fact)
    accepted = fact.accepted_suites
    for name in ("TLS_RSA_WITH_RC4_128_MD5", "TLS_RSA_WITH_RC4_128_SHA",
                 "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_NULL_SHA",
                 "TLS_RSA_WITH_NULL_MD5", "TLS_DH_anon_WITH_AES_128_CBC_SHA",
                 "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"):
        assert name in accepted, name
    found = judge(fact)
    # gnutls-serv also finishes a renegotiation its client starts (TLS016)
    assert fact.client_renegotiation is True
    assert set(found) == {"TLS001", "TLS003", "TLS004", "TLS005", "TLS006", "TLS008",
                          "TLS011", "TLS016"}
    insecure, severity = found["TLS003"][0]
    assert severity == Severity.CRITICAL
    assert "no encryption" in insecure.message and "no authentication" in insecure.message
    weak, severity = found["TLS004"][0]
    assert severity == Severity.HIGH
    for word in ("RC4", "3DES", "MD5"):
        assert word in weak.message
    expired, severity = found["TLS008"][0]
    assert severity == Severity.CRITICAL and "expired" in expired.message
    untrusted, _ = found["TLS011"][0]
    assert "self-signed" in untrusted.message


# --- the scripted SSL 3.0 / EXPORT server ------------------------------------------------

def test_legacy_ssl3_export_and_logjam_found(legacy, pki):
    fact = probe(f"https://legacy.test:{legacy.port}", probe_options(pki))
    assert fact.protocols == ["SSLv3", "TLSv1.0"]
    assert "TLS_RSA_EXPORT_WITH_RC4_40_MD5" in fact.suites["SSLv3"]
    assert fact.dh_groups == {"TLS_DHE_RSA_WITH_AES_128_CBC_SHA": 512}
    # No handshake through OpenSSL is possible: the chain came from our own ServerHello
    # flight and was validated with cryptography's verifier.
    assert fact.leaf.sans == ["legacy.test"] and fact.trusted is True
    found = judge(fact)
    # A 1990s stack: it ignores the renegotiation SCSV too (no RFC 5746).
    assert fact.secure_renegotiation is False
    assert set(found) == {"TLS001", "TLS002", "TLS003", "TLS005", "TLS007", "TLS015"}
    protocols, severity = found["TLS001"][0]
    assert severity == Severity.CRITICAL and "SSLv3" in protocols.evidence
    export, _ = found["TLS003"][0]
    assert "EXPORT" in export.message
    assert found["TLS007"][0][1] == Severity.CRITICAL


def test_an_ssl2_only_server_is_found(pki):
    """No SSL 2.0 server can run here (OpenSSL dropped it in 1.1.0): a scripted one."""
    server = tls_servers.start_sslv2(pki)
    try:
        fact = probe(f"https://legacy.test:{server.port}", probe_options(pki))
    finally:
        server.stop()
    assert fact.protocols == ["SSLv2"]
    assert fact.suites["SSLv2"] == ["SSL_CK_RC4_128_WITH_MD5", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
                                    "SSL_CK_RC4_128_EXPORT40_WITH_MD5"]
    found = judge(fact)
    (hit, severity), = found["TLS001"]
    assert severity == Severity.CRITICAL and hit.evidence == "SSLv2"
    assert "TLS002" in found                        # and no TLS 1.2 or 1.3


# --- Heartbleed, against scripted servers (no real vulnerable OpenSSL runs here) ----------

@pytest.mark.parametrize("vulnerable", [True, False])
def test_heartbleed_is_found_only_where_memory_leaks(pki, vulnerable):
    """Debian's OpenSSL has no heartbeats at all, so the servers are scripted: both accept
    the extension; one answers the lying request with "memory", one drops it."""
    server = tls_servers.start_heartbeat(pki, vulnerable)
    try:
        fact = probe(f"https://legacy.test:{server.port}", probe_options(pki))
    finally:
        server.stop()
    assert fact.protocols == ["TLSv1.0", "TLSv1.1", "TLSv1.2"]
    assert fact.heartbeat is True and fact.heartbleed is vulnerable
    found = judge(fact)
    assert ("TLS014" in found) is vulnerable
    if vulnerable:
        (hit, severity), = found["TLS014"]
        assert severity == Severity.CRITICAL
    # What the server leaked is in no fact and no report.
    from labwarden.model import AuditResult, Finding
    from labwarden.report import FORMATS, render

    findings = [Finding(registry.get(rule_id), severity, hit.message, hit.location,
                        fact.asset, hit.resource, evidence=hit.evidence)
                for rule_id, hits in found.items() for hit, severity in hits]
    result = AuditResult(findings=findings, diagnostics=fact.diagnostics, targets=[fact.target])
    texts = [repr(fact)] + [render(result, fmt, color=False) for fmt in FORMATS]
    assert not any("LEAKED" in text for text in texts)


def test_servers_without_heartbeats_cost_no_heartbleed_connection(nginx, pki, monkeypatch):
    calls = []

    async def spy(*args, **kwargs):
        calls.append(args)
        return None

    monkeypatch.setattr(tls, "heartbleed", spy)
    fact = probe(f"https://weak.test:{nginx.ports['weak']}", probe_options(pki))
    assert fact.heartbeat is False and fact.heartbleed is None and calls == []


# --- several targets at once, and through collect() -------------------------------------

def test_concurrent_probes_agree_with_single_ones(nginx, gnutls, legacy, pki):
    urls = [f"https://weak.test:{nginx.ports['weak']}",
            f"https://strong.test:{nginx.ports['strong']}",
            f"https://ciphers.test:{gnutls.port}", f"https://legacy.test:{legacy.port}"] * 3
    # tls.probe itself, three at a time per server: collect() now probes an endpoint once
    opts = probe_options(pki)

    async def all_at_once():
        return await asyncio.gather(*(tls.probe(parse_target(u), opts) for u in urls))

    facts = asyncio.run(all_at_once())
    diagnostics = [d for fact in facts for d in fact.diagnostics]
    assert len(facts) == len(urls) and not [d for d in diagnostics if d.level == "error"]
    by_target: dict[str, set] = {}
    for fact in facts:
        suites = frozenset((p, s) for p, names in fact.suites.items() for s in names)
        by_target.setdefault(fact.target, set()).add(suites)
    assert all(len(variants) == 1 for variants in by_target.values())


# --- what is not a TLS server ------------------------------------------------------------

def test_closed_port_is_unreachable_not_a_finding(pki):
    port = tls_servers.free_port()                   # nothing listens there
    fact = probe(f"https://127.0.0.1:{port}", probe_options(pki))
    assert fact.error and fact.protocols == []
    assert [d.code for d in fact.diagnostics] == ["unreachable"]
    assert fact.diagnostics[0].level == "error"
    assert judge(fact) == {}


@pytest.fixture
def plain_server():
    """A TCP server on loopback answering like plain HTTP, or not at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    mode = {"reply": b"HTTP/1.1 400 Bad Request\r\n\r\n"}
    held = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if mode["reply"]:
                conn.sendall(mode["reply"])
                conn.close()
            else:
                held.append(conn)                      # accept, then stay silent

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], mode
    listener.close()
    for conn in held:
        conn.close()


def test_plain_http_service_is_not_tls(plain_server, pki):
    port, _ = plain_server
    fact = probe(f"https://127.0.0.1:{port}", probe_options(pki))
    assert fact.error == "the service does not speak TLS"
    assert [d.code for d in errors(fact)] == ["not-tls"]
    assert judge(fact) == {}


def test_silent_server_is_bounded_by_the_timeout(plain_server, pki):
    port, mode = plain_server
    mode["reply"] = b""
    fact = probe(f"https://127.0.0.1:{port}", probe_options(pki, timeout=0.3))
    assert fact.error and "no answer" in fact.error
    assert [d.level for d in fact.diagnostics] == ["error"]
    assert judge(fact) == {}
