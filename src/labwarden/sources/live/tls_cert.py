"""Certificates as facts: what `cryptography` reads from the DER a server sent, and
whether a certificate covers a host name (RFC 6125, as browsers match: SANs only)."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field


@dataclass
class CertInfo:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    sans: list[str] = field(default_factory=list)       # DNS names, then IP addresses
    key_type: str = ""                                   # RSA EC DSA Ed25519 Ed448
    key_bits: int = 0
    signature_algorithm: str = ""                        # e.g. sha256WithRSAEncryption
    signature_hash: str = ""                             # sha1, md5, sha256… ("" for EdDSA)
    self_signed: bool = False
    is_ca: bool = False
    serial: str = ""
    sha256: str = ""                                     # fingerprint of the DER

    @property
    def common_name(self) -> str:
        for part in self.subject.split(","):
            key, _, value = part.partition("=")
            if key.strip().upper() == "CN":
                return value.strip()
        return ""

    def describe(self) -> str:
        return self.common_name or self.subject or self.sha256[:16]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_certificate(der: bytes) -> CertInfo:
    """Read one DER certificate. Raises ValueError for what is not a certificate.

    The common certificate is read by `tls_der` without importing `cryptography`; one that
    reader does not fully understand, or a self-issued one (its self-signature is checked
    here), is read by `cryptography`."""
    from labwarden.sources.live.tls_der import read_certificate

    try:
        return CertInfo(**read_certificate(der))
    except (ValueError, IndexError, UnicodeError, OverflowError):
        return _parse_with_cryptography(der)


def _parse_with_cryptography(der: bytes) -> CertInfo:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    cert = x509.load_der_x509_certificate(der)
    try:
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        not_before, not_after = _utc(cert.not_valid_before), _utc(cert.not_valid_after)
    sans: list[str] = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = list(ext.get_values_for_type(x509.DNSName))
        sans += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    except ValueError:          # a malformed extension: keep the rest of the facts
        pass
    is_ca = False
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        pass
    key_type, key_bits = "", 0
    try:
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key_type, key_bits = "RSA", key.key_size
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key_type, key_bits = "EC", key.curve.key_size
        elif isinstance(key, dsa.DSAPublicKey):
            key_type, key_bits = "DSA", key.key_size
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key_type, key_bits = "Ed25519", 256
        elif isinstance(key, ed448.Ed448PublicKey):
            key_type, key_bits = "Ed448", 456
        else:
            key_type = type(key).__name__
    except (ValueError, TypeError):   # an unsupported or malformed key
        key_type = "unknown"
    try:
        hash_alg = cert.signature_hash_algorithm
        signature_hash = hash_alg.name if hash_alg is not None else ""
    except Exception:  # noqa: BLE001 - UnsupportedAlgorithm for exotic signatures
        signature_hash = "unknown"
    signature_algorithm = getattr(cert.signature_algorithm_oid, "_name", "") or \
        cert.signature_algorithm_oid.dotted_string
    subject = cert.subject.rfc4514_string()
    issuer = cert.issuer.rfc4514_string()
    self_signed = False
    if cert.subject == cert.issuer:
        try:
            cert.verify_directly_issued_by(cert)
            self_signed = True
        except Exception:  # noqa: BLE001 - bad signature, unsupported key: not self-signed
            self_signed = False
    return CertInfo(
        subject=subject, issuer=issuer, not_before=not_before, not_after=not_after,
        sans=sans, key_type=key_type, key_bits=key_bits,
        signature_algorithm=signature_algorithm, signature_hash=signature_hash,
        self_signed=self_signed, is_ca=is_ca, serial=format(cert.serial_number, "x"),
        sha256=hashlib.sha256(der).hexdigest())


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if "*" not in pattern:
        return pattern == host
    # A wildcard only as the whole left-most label, never over a public suffix-like "*.com".
    label, _, rest = pattern.partition(".")
    if label != "*" or "*" in rest or rest.count(".") < 1:
        return False
    head, _, host_rest = host.partition(".")
    return bool(head) and host_rest == rest


def hostname_matches(cert: CertInfo, host: str) -> bool:
    """Whether the certificate is valid for `host` (a DNS name or an IP address)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        for name in cert.sans:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                continue
        return False
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return False
    return any(_dns_match(name, host) for name in cert.sans if not _is_ip(name))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False
