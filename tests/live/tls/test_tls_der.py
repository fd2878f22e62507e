"""The DER reader (tls_der) gives the facts cryptography gives, for the certificates the
test PKIs issue and a few more shapes; what it does not handle goes to cryptography."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from labwarden.sources.live import tls_cert, tls_der

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _issue(key, sans, *, ca=False, hash_=hashes.SHA256(), subject="site.test",
           extra_name=(), issuer_key=None, not_after=NOW + dt.timedelta(days=90)):
    issuer_key = issuer_key or rsa.generate_private_key(65537, 2048)
    subject_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                              x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lab Org"),
                              *extra_name,
                              x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    builder = (x509.CertificateBuilder().subject_name(subject_name).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        hash_ = None
    return builder.sign(issuer_key, hash_).public_bytes(serialization.Encoding.DER)


CASES = {
    "rsa2048": lambda: _issue(rsa.generate_private_key(65537, 2048),
                              [x509.DNSName("site.test"), x509.DNSName("*.site.test")]),
    "rsa1024-ca": lambda: _issue(rsa.generate_private_key(65537, 1024), [], ca=True),
    "ec-p256-ip": lambda: _issue(ec.generate_private_key(ec.SECP256R1()),
                                 [x509.DNSName("a.test"),
                                  x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
                                  x509.IPAddress(ipaddress.ip_address("2001:db8::1"))]),
    "ec-p384-sha384": lambda: _issue(ec.generate_private_key(ec.SECP384R1()),
                                     [x509.DNSName("b.test")], hash_=hashes.SHA384(),
                                     issuer_key=ec.generate_private_key(ec.SECP384R1())),
    "ed25519-issuer": lambda: _issue(ed25519.Ed25519PrivateKey.generate(),
                                     [x509.DNSName("c.test")],
                                     issuer_key=ed25519.Ed25519PrivateKey.generate()),
    "year-2050": lambda: _issue(rsa.generate_private_key(65537, 2048), [x509.DNSName("d")],
                                not_after=dt.datetime(2051, 1, 1, tzinfo=dt.UTC)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_der_reader_agrees_with_cryptography(name):
    der = CASES[name]()
    assert tls_cert.CertInfo(**tls_der.read_certificate(der)) == \
        tls_cert._parse_with_cryptography(der)


def test_the_test_pkis_certificates_read_alike(pki):
    for site in ("strong", "weak", "legacy"):      # a CA-issued RSA 2048, a SHA-1 RSA 1024
        der = x509.load_pem_x509_certificate(
            open(pki.path(f"{site}.crt"), "rb").read()).public_bytes(serialization.Encoding.DER)
        assert tls_cert.CertInfo(**tls_der.read_certificate(der)) == \
        tls_cert._parse_with_cryptography(der), site
    weak = tls_cert.parse_certificate(x509.load_pem_x509_certificate(
        open(pki.path("weak.crt"), "rb").read()).public_bytes(serialization.Encoding.DER))
    assert (weak.key_bits, weak.signature_hash) == (1024, "sha1")


def test_what_the_reader_does_not_handle_goes_to_cryptography(pki):
    # self-signed: the reader cannot check the signature, cryptography does
    der = x509.load_pem_x509_certificate(open(pki.path("ciphers.crt"), "rb").read()) \
        .public_bytes(serialization.Encoding.DER)
    with pytest.raises(tls_der.Unsupported):
        tls_der.read_certificate(der)
    assert tls_cert.parse_certificate(der).self_signed is True
    # a name that needs RFC 4514 escaping
    odd = _issue(rsa.generate_private_key(65537, 2048), [x509.DNSName("e.test")],
                 subject="a,b+c")
    with pytest.raises(tls_der.Unsupported):
        tls_der.read_certificate(odd)
    assert tls_cert.parse_certificate(odd).subject == \
        tls_cert._parse_with_cryptography(odd).subject
    # not a certificate at all: still a ValueError, as before
    with pytest.raises(ValueError):
        tls_cert.parse_certificate(b"\x30\x03\x02\x01\x00")
