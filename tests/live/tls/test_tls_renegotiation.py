"""Client-initiated renegotiation (TLS016), end to end: openssl s_server told to allow it is
reported; nginx (and s_server by default) refuse it and are not; a TLS 1.3-only site has
nothing to renegotiate; without the openssl binary the check says it did not run."""

from __future__ import annotations

import asyncio

import pytest
import tls_servers
from tls_servers import probe_options

from labwarden.rules import registry
from labwarden.settings import Settings
from labwarden.sources.live import tls, tls_reneg
from labwarden.sources.live.targets import parse_target


@pytest.fixture(scope="module")
def allowing(pki, tmp_path_factory):
    server = tls_servers.start_openssl(pki, tmp_path_factory.mktemp("s_server-reneg"),
                                       "-client_renegotiation")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def refusing(pki, tmp_path_factory):
    server = tls_servers.start_openssl(pki, tmp_path_factory.mktemp("s_server-default"))
    yield server
    server.stop()


def probe(url: str, opts) -> tls.TlsFact:
    return asyncio.run(tls.probe(parse_target(url), opts))


def rule_ids(fact) -> set[str]:
    return {r.id for r in registry.rules_for(tls.TlsFact) if list(r.check(fact, Settings()))}


def test_a_server_that_renegotiates_for_its_client_is_reported(allowing, pki):
    fact = probe(f"https://strong.test:{allowing.port}", probe_options(pki))
    assert fact.error is None and "TLSv1.2" in fact.protocols
    assert fact.client_renegotiation is True
    assert "TLS016" in rule_ids(fact)
    assert "TLS015" not in rule_ids(fact)            # its renegotiation is the secure kind


def test_servers_that_refuse_it_are_not(refusing, nginx, pki):
    for url in (f"https://strong.test:{refusing.port}",
                f"https://strong.test:{nginx.ports['strong']}",
                f"https://weak.test:{nginx.ports['weak']}"):
        fact = probe(url, probe_options(pki))
        assert fact.error is None, url
        assert fact.client_renegotiation is False, (url, fact.client_renegotiation_note)
        assert "TLS016" not in rule_ids(fact)
        assert not [d for d in fact.diagnostics if d.code == "tls-renegotiation-unknown"]


def test_tls13_only_has_nothing_to_renegotiate(pki, tmp_path_factory):
    server = tls_servers.start_openssl(pki, tmp_path_factory.mktemp("s_server-13"),
                                       "-tls1_3", "-client_renegotiation")
    try:
        fact = probe(f"https://strong.test:{server.port}", probe_options(pki))
    finally:
        server.stop()
    assert fact.protocols == ["TLSv1.3"]
    assert fact.client_renegotiation is None
    assert not [d for d in fact.diagnostics if d.code == "tls-renegotiation-unknown"]


def test_without_openssl_the_check_says_it_did_not_run(allowing, pki, monkeypatch):
    monkeypatch.setattr(tls_reneg.shutil, "which", lambda name: None)
    fact = probe(f"https://strong.test:{allowing.port}", probe_options(pki))
    assert fact.error is None and fact.client_renegotiation is None
    assert "openssl is not installed" in fact.client_renegotiation_note
    assert [d.level for d in fact.diagnostics if d.code == "tls-renegotiation-unknown"] \
        == ["warning"]
    assert "TLS016" not in rule_ids(fact)
