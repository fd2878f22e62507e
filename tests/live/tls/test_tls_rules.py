"""The TLS rules on facts built by hand: no network, no server."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from labwarden.model import Severity
from labwarden.rules import registry
from labwarden.rules import tls as tls_rules
from labwarden.settings import Settings
from labwarden.sources.live.tls import TlsFact, fact_from_dict, facts_from_yaml
from labwarden.knowledge.tls_profiles import MOZILLA_INTERMEDIATE
from labwarden.sources.live.tls_suites import BY_NAME

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def cert(**kw) -> dict:
    base = {"subject": "CN=app.lab.example", "issuer": "CN=Lab CA", "sans": ["app.lab.example"],
                "not_before": "2025-05-01T00:00:00Z", "not_after": "2025-08-01T00:00:00Z",
                "key_type": "EC", "key_bits": 256, "signature_algorithm": "ecdsa-with-SHA256",
                "signature_hash": "sha256"}
    base.update(kw)
    return base


def fact(**kw) -> TlsFact:
    base = {"target": "https://app.lab.example", "checked_at": NOW,
                "protocols": ["TLSv1.2", "TLSv1.3"],
                "tested": ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
                "suites": {"TLSv1.2": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
                        "TLSv1.3": ["TLS_AES_128_GCM_SHA256"]},
                "chain": [cert()], "trusted": True, "hostname_match": True}
    base.update(kw)
    return fact_from_dict(base)


def hits(rule_id: str, f: TlsFact, settings=None) -> list:
    rule = registry.get(rule_id)
    return [(h, h.severity or rule.severity) for h in rule.check(f, settings or Settings())]


def all_hits(f: TlsFact, settings=None) -> dict[str, list]:
    found = {}
    for rule in registry.rules_for(TlsFact):
        got = hits(rule.id, f, settings)
        if got:
            found[rule.id] = got
    return found


def test_a_sound_endpoint_has_no_finding():
    assert all_hits(fact()) == {}


def test_a_failed_probe_is_never_judged():
    broken = fact(error="cannot connect", protocols=["SSLv3"], trusted=False,
                  hostname_match=False, chain=[cert(key_bits=512, key_type="RSA")])
    assert all_hits(broken) == {}


def test_every_rule_is_registered_on_the_tls_fact_with_checklist_items():
    rules = registry.rules_for(TlsFact)
    assert [r.id for r in rules] == [f"TLS{n:03d}" for n in range(1, 17)]
    for r in rules:
        assert r.checklist and all(i.startswith(("3.2.2", "3.3.", "9.2.")) for i in r.checklist)


@pytest.mark.parametrize("protocols, severity, evidence", [
    (["SSLv3", "TLSv1.2"], Severity.CRITICAL, "SSLv3"),
    (["TLSv1.0", "TLSv1.1", "TLSv1.2"], Severity.HIGH, "TLSv1.0, TLSv1.1"),
    (["TLSv1.1", "TLSv1.3"], Severity.HIGH, "TLSv1.1"),
])
def test_outdated_protocols_in_one_finding_at_the_worst_severity(protocols, severity, evidence):
    (hit, got), = hits("TLS001", fact(protocols=protocols))
    assert got == severity and hit.evidence == evidence


def test_modern_profile_reports_tls12_but_not_its_suites():
    f = fact(profile="modern", suites={"TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
                                       "TLSv1.3": ["TLS_AES_128_GCM_SHA256"]})
    found = all_hits(f)
    assert set(found) == {"TLS001"}
    (hit, severity), = found["TLS001"]
    assert severity == Severity.MEDIUM and "modern" in hit.message


def test_no_current_protocol_needs_both_versions_answered():
    old = {"protocols": ["TLSv1.0"], "suites": {"TLSv1.0": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}}
    assert hits("TLS002", fact(**old))
    assert not hits("TLS002", fact(tested=["TLSv1.0", "TLSv1.2"], **old))


def test_each_suite_is_reported_in_its_worst_class_only():
    f = fact(suites={"TLSv1.2": [
        "TLS_RSA_WITH_RC4_128_MD5",                # weak (RC4, MD5), also static RSA
        "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA",      # insecure (anon), also 3DES
        "TLS_RSA_WITH_AES_128_GCM_SHA256",        # no forward secrecy only
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",     # outside the profile only
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",  # fine
    ]})
    found = all_hits(f)
    assert set(found) == {"TLS003", "TLS004", "TLS005", "TLS006"}
    assert "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA" in found["TLS003"][0][0].evidence
    assert "TLS_RSA_WITH_RC4_128_MD5" in found["TLS004"][0][0].evidence
    assert found["TLS005"][0][0].evidence.startswith("TLS_RSA_WITH_AES_128_GCM_SHA256")
    assert "RC4" not in found["TLS005"][0][0].evidence
    assert found["TLS006"][0][0].evidence.startswith("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")


def test_suite_evidence_names_the_protocols_and_stays_short():
    names = [n for n in BY_NAME if n.startswith("TLS_RSA_WITH_") and "NULL" not in n
             and "RC4" not in n and "DES" not in n and "IDEA" not in n][:12]
    f = fact(protocols=["TLSv1.0", "TLSv1.2"], suites={"TLSv1.0": names[:1], "TLSv1.2": names})
    (hit, _), = hits("TLS005", f)
    assert f"{names[0]} (TLSv1.0, TLSv1.2)" in hit.evidence
    assert hit.evidence.endswith("and 4 more")


def test_mozilla_intermediate_suites_are_all_clean():
    f = fact(suites={"TLSv1.2": sorted(n for n in MOZILLA_INTERMEDIATE if "WITH" in n),
                     "TLSv1.3": sorted(n for n in MOZILLA_INTERMEDIATE if "WITH" not in n)})
    assert all_hits(f) == {}


@pytest.mark.parametrize("bits, severity", [(512, Severity.CRITICAL), (1023, Severity.CRITICAL),
                                            (1024, Severity.HIGH), (2047, Severity.HIGH),
                                            (2048, None), (4096, None)])
def test_dh_group_thresholds(bits, severity):
    f = fact(dh_groups={"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": bits, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": 4096})
    got = hits("TLS007", f)
    assert [s for _, s in got] == ([severity] if severity else [])


def test_expiry_uses_the_check_time_and_the_settings_window():
    soon = fact(chain=[cert(not_after="2025-06-20T00:00:00Z")])       # 19 days left
    (hit, severity), = hits("TLS009", soon)
    assert severity == Severity.HIGH and "19 day(s)" in hit.message
    assert not hits("TLS009", soon, SimpleNamespace(tls_expiry_warning_days=14))
    later = fact(chain=[cert(not_after="2025-08-20T00:00:00Z")])      # 80 days left
    assert hits("TLS009", later, SimpleNamespace(tls_expiry_warning_days=90))
    assert not hits("TLS008", soon)


def test_expired_intermediate_but_not_a_sent_root():
    chain = [cert(), cert(subject="CN=Lab Intermediate", issuer="CN=Lab Root", is_ca=True,
                          not_after="2025-05-30T00:00:00Z"),
             cert(subject="CN=Lab Root", issuer="CN=Lab Root", is_ca=True, self_signed=True,
                  not_after="2020-01-01T00:00:00Z", key_type="RSA", key_bits=1024,
                  signature_hash="sha1")]
    found = all_hits(fact(chain=chain))
    assert set(found) == {"TLS008"}
    (hit, severity), = found["TLS008"]
    assert "chain certificate #1" in hit.message and severity == Severity.CRITICAL


def test_untrusted_message_depends_on_the_ca_file():
    selfsigned = fact(trusted=False, trust_error="self-signed certificate",
                      chain=[cert(issuer="CN=app.lab.example", self_signed=True)])
    (hit, severity), = hits("TLS011", selfsigned)
    assert severity == Severity.HIGH
    assert "self-signed" in hit.message and "--ca-file" in hit.fix
    foreign = fact(trusted=False, ca_file="/etc/lab-ca.pem",
                   trust_error="unable to get local issuer certificate")
    (hit, severity), = hits("TLS011", foreign)
    assert severity == Severity.HIGH and "/etc/lab-ca.pem" in hit.message
    assert not hits("TLS011", fact(trusted=None))


def test_hostname_mismatch_lists_the_names():
    f = fact(hostname_match=False, chain=[cert(sans=["a.lab.example", "b.lab.example"])])
    (hit, _), = hits("TLS010", f)
    assert hit.evidence == "names: a.lab.example, b.lab.example"
    no_san = fact(hostname_match=False, chain=[cert(sans=[])])
    (hit, _), = hits("TLS010", no_san)
    assert "no SAN" in hit.evidence


@pytest.mark.parametrize("key_type, bits, reported", [
    ("RSA", 1024, True), ("RSA", 2048, False), ("DSA", 1024, True), ("EC", 192, True),
    ("EC", 256, False), ("Ed25519", 256, False)])
def test_certificate_key_sizes(key_type, bits, reported):
    f = fact(chain=[cert(key_type=key_type, key_bits=bits)])
    assert bool(hits("TLS012", f)) is reported


@pytest.mark.parametrize("digest, self_signed, reported", [
    ("sha1", False, True), ("md5", False, True), ("sha256", False, False), ("", False, False),
    ("sha1", True, False)])
def test_certificate_signature_hashes(digest, self_signed, reported):
    f = fact(chain=[cert(signature_hash=digest, self_signed=self_signed)])
    assert bool(hits("TLS013", f)) is reported


def test_every_rule_has_a_fix_and_the_fingerprint_resource_is_stable():
    f = fact(protocols=["TLSv1.0", "TLSv1.2"], trusted=False, hostname_match=False,
             dh_groups={"TLS_DHE_RSA_WITH_AES_128_CBC_SHA": 1024},
             suites={"TLSv1.0": ["TLS_RSA_WITH_AES_128_CBC_SHA"],
                     "TLSv1.2": ["TLS_RSA_WITH_NULL_SHA", "TLS_RSA_WITH_RC4_128_SHA",
                                 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]},
             chain=[cert(not_after="2025-06-10T00:00:00Z", key_type="RSA", key_bits=1024,
                         signature_hash="sha1")])
    found = all_hits(f)
    assert set(found) == {f"TLS{n:03d}" for n in (1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13)}
    for rule_id, got in found.items():
        for hit, _ in got:
            assert hit.resource and hit.message
            assert hit.fix or registry.get(rule_id).doc.fix


def test_facts_from_yaml_reads_dates_and_refuses_unknown_fields(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("- target: https://x.lab.example:8443\n"
                    "  checked_at: 2025-06-01\n"
                    "  chain:\n    - {subject: CN=x, not_after: 2025-07-01T12:00:00}\n")
    (f,) = facts_from_yaml(path)
    assert (f.host, f.port, f.asset) == ("x.lab.example", 8443, "tls:x.lab.example:8443")
    assert f.checked_at.tzinfo is not None and f.chain[0].not_after.hour == 12
    path.write_text("- target: https://x\n  protocol: [TLSv1.2]\n")
    with pytest.raises(ValueError, match="protocol"):
        facts_from_yaml(path)


def test_suite_class_table():
    allowed = MOZILLA_INTERMEDIATE
    cls = tls_rules.suite_class
    assert cls(BY_NAME["TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"], allowed) == "broken"
    assert cls(BY_NAME["TLS_ECDH_anon_WITH_AES_128_CBC_SHA"], allowed) == "broken"
    assert cls(BY_NAME["TLS_ECDHE_RSA_WITH_NULL_SHA"], allowed) == "broken"
    assert cls(BY_NAME["TLS_RSA_WITH_IDEA_CBC_SHA"], allowed) == "weak"
    assert cls(BY_NAME["TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"], allowed) == "weak"
    assert cls(BY_NAME["TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"], allowed) == "no-fs"
    assert cls(BY_NAME["TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"], allowed) == "outside"
    assert cls(BY_NAME["TLS_AES_128_CCM_8_SHA256"], allowed) == "outside"
    assert cls(BY_NAME["TLS_CHACHA20_POLY1305_SHA256"], allowed) is None
