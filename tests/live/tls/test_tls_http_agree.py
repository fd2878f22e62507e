"""The header probe and the TLS probe agree on trust (issue 15): with --ca-file, a chain the
TLS rules accept is not "not trusted" in the headers grade because its key is weak, while a
name or a date a browser would refuse still is. And the header probe honours --resolve."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import tls_servers
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from tls_servers import probe_options

from labwarden.rules import registry
from labwarden.rules.headers import grade
from labwarden.settings import Settings
from labwarden.sources.live import http, tls
from labwarden.sources.live.targets import parse_target


@pytest.fixture(scope="module")
def weak_key_site(pki, tmp_path_factory):
    """nginx serving a 1024-bit RSA certificate from the test CA, valid for its names."""
    now = dt.datetime.now(dt.UTC)
    tls_servers._leaf(pki, "weakkey", rsa.generate_private_key(65537, 1024),
                      ["weak.test"], pki.ca_name, pki.ca_key, now - dt.timedelta(days=1),
                      now + dt.timedelta(days=90), hashes.SHA256())
    site = {"name": "weak.test", "cert": pki.path("weakkey.crt"),
            "key": pki.path("weakkey.key"), "protocols": "TLSv1.2 TLSv1.3",
            "ciphers": tls_servers.MOZILLA_INTERMEDIATE + ":@SECLEVEL=0",
            "dhparam": pki.path("ffdhe2048.pem")}
    server = tls_servers.start_nginx(pki, tmp_path_factory.mktemp("tls-weakkey"),
                                     {"weakkey": site})
    yield server.ports["weakkey"]
    server.stop()


def _rules(fact) -> set[str]:
    return {rule.id for rule in registry.rules_for(type(fact))
            if list(rule.check(fact, Settings()))}


def test_a_weak_key_the_tls_rules_accept_is_trusted_by_the_header_probe(weak_key_site, pki):
    target = parse_target(f"https://weak.test:{weak_key_site}")
    opts = probe_options(pki)

    async def both():
        return await asyncio.gather(tls.probe(target, opts), http.probe(target, opts))

    tls_fact, http_fact = asyncio.run(both())
    assert tls_fact.trusted is True and tls_fact.leaf.key_bits == 1024
    found = _rules(tls_fact)
    assert "TLS012" in found and "TLS011" not in found      # weak key, trusted chain
    assert http_fact.error is None and http_fact.status == 200   # --resolve honoured
    assert http_fact.tls_verified is True, http_fact.tls_error
    assert not any("not trusted" in reason for reason in grade(http_fact)[2])


def test_a_name_the_certificate_does_not_cover_is_still_untrusted(nginx, pki):
    # the weak site's certificate names other.test: a browser refuses it, so HSTS is moot
    fact = asyncio.run(http.probe(parse_target(f"https://weak.test:{nginx.ports['weak']}"),
                                  probe_options(pki)))
    assert fact.error is None and fact.tls_verified is False
    assert "hostname mismatch" in fact.tls_error and "'weak.test'" in fact.tls_error
    assert any("not trusted" in reason for reason in grade(fact)[2])
    # the strong site, same CA, same client: verified
    strong = asyncio.run(http.probe(
        parse_target(f"https://strong.test:{nginx.ports['strong']}"), probe_options(pki)))
    assert strong.tls_verified is True and strong.tls_error is None


def test_a_bundle_named_by_ssl_cert_file_is_read_only_when_a_chain_needs_it(
        nginx, pki, tmp_path, monkeypatch):
    """SSL_CERT_FILE's bundle (22 ms of CPU for Debian's) is left out while a hashed
    directory is there; a chain that only the bundle anchors is still trusted, by both
    probes, through the complete store."""
    from labwarden.sources.live import tls as tls_module

    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(open(pki.path("ca.crt"), "rb").read())   # the test CA: bundle only
    empty_dir = tmp_path / "certs"
    empty_dir.mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(empty_dir))
    monkeypatch.setattr(tls_module, "_CONTEXTS", {})
    monkeypatch.setattr(tls_module, "_PARTIAL", set())
    target = parse_target(f"https://strong.test:{nginx.ports['strong']}")
    opts = probe_options()                                   # no --ca-file

    async def both():
        return await asyncio.gather(tls.probe(target, opts), http.probe(target, opts))

    tls_fact, http_fact = asyncio.run(both())
    assert tls_fact.trusted is True and http_fact.tls_verified is True
    assert (True, None, True) in tls_module._CONTEXTS        # the bundle was needed: read
    # with the CA given as --ca-file, the partial store suffices: no bundle read
    monkeypatch.setattr(tls_module, "_CONTEXTS", {})
    with_ca = probe_options(pki)
    fact = asyncio.run(tls.probe(target, with_ca))
    assert fact.trusted is True
    assert not [key for key in tls_module._CONTEXTS if len(key) == 3]
