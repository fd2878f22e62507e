"""The facts the TLS rules read from a certificate, straight from its DER.

`cryptography.x509` costs a fresh process 30-35 ms to import (its name module alone compiles
20 ms of regular expressions), a fifth of a one-target `labwarden audit https://…`. What the
rules need (names, dates, SANs, key type and size, signature algorithm, CA flag, serial) is a
walk over a few DER fields. This reader handles the certificates real servers send; anything
it does not fully understand (an attribute type or algorithm outside its tables, an
escape-worthy name, a certificate whose subject equals its issuer, whose self-signature needs
checking) raises `Unsupported`, and `tls_cert.parse_certificate` then asks `cryptography`, so
the facts are the same either way (tests/live/tls/test_tls_der.py compares the two).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress


class Unsupported(ValueError):
    """Not something this reader answers for: use cryptography."""


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the element at `pos`."""
    if pos + 2 > len(data):
        raise Unsupported("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise Unsupported("length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise Unsupported("truncated")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out, pos = [], start
    while pos < end:
        tag, vstart, vend = _read(data, pos)
        out.append((tag, vstart, vend))
        pos = vend
    if pos != end:
        raise Unsupported("overrun")
    return out


def _oid(raw: bytes) -> str:
    if not raw:
        raise Unsupported("empty OID")
    parts, value = [], 0
    first = True
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if byte & 0x80:
            continue
        if first:
            parts += [min(value // 40, 2), value - 40 * min(value // 40, 2)]
            first = False
        else:
            parts.append(value)
        value = 0
    return ".".join(map(str, parts))


# The attribute types cryptography's rfc4514_string names; others fall back.
_NAME_TYPES = {
    "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "2.5.4.6": "C", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1"}
_SPECIAL = set(',+"\\<>;=#')

# Signature algorithms: the name cryptography gives the OID, and the hash.
_SIGNATURES = {
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "sha1"),
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "md5"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "sha512"),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "sha512"),
    "1.3.101.112": ("ed25519", ""),
    "1.3.101.113": ("ed448", ""),
}
_CURVES = {"1.2.840.10045.3.1.7": 256, "1.3.132.0.34": 384, "1.3.132.0.35": 521,
           "1.3.132.0.10": 256}


def _name(data: bytes, start: int, end: int) -> tuple[str, bytes]:
    """(RFC 4514 string as cryptography writes it, the raw DER for comparisons)."""
    rdns = []
    for tag, s, e in _children(data, start, end):
        if tag != 0x31:
            raise Unsupported("RDN")
        parts = []
        for atag, as_, ae in _children(data, s, e):
            kids = _children(data, as_, ae)
            if atag != 0x30 or len(kids) != 2 or kids[0][0] != 0x06:
                raise Unsupported("attribute")
            short = _NAME_TYPES.get(_oid(data[kids[0][1]:kids[0][2]]))
            vtag, vs, ve = kids[1]
            if short is None or vtag not in _STRING_TAGS:
                raise Unsupported("attribute type")
            value = data[vs:ve].decode(_STRING_TAGS[vtag])
            if not value or any(c in _SPECIAL or ord(c) < 0x20 for c in value) \
                    or value[0] == " " or value[-1] == " ":
                raise Unsupported("escaping")
            parts.append(f"{short}={value}")
        if len(parts) != 1:
            raise Unsupported("multi-valued RDN")
        rdns.append(parts[0])
    return ",".join(reversed(rdns)), data[start:end]


def _time(data: bytes, tag: int, start: int, end: int) -> dt.datetime:
    text = data[start:end].decode("ascii")
    if tag == 0x17 and len(text) == 13 and text.endswith("Z"):
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif not (tag == 0x18 and len(text) == 15 and text.endswith("Z")):
        raise Unsupported("time")
    return dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)


def _key(data: bytes, start: int, end: int) -> tuple[str, int]:
    (atag, as_, ae), (btag, bs, be) = _children(data, start, end)
    algorithm = _children(data, as_, ae)
    oid = _oid(data[algorithm[0][1]:algorithm[0][2]])
    if btag != 0x03 or data[bs] != 0:
        raise Unsupported("key bits")
    if oid == "1.2.840.113549.1.1.1":                      # RSA: the modulus's bit length
        _, ks, ke = _read(data, bs + 1)
        modulus = _children(data, ks, ke)[0]
        return "RSA", int.from_bytes(data[modulus[1]:modulus[2]], "big").bit_length()
    if oid == "1.2.840.10045.2.1" and len(algorithm) == 2 and algorithm[1][0] == 0x06:
        bits = _CURVES.get(_oid(data[algorithm[1][1]:algorithm[1][2]]))
        if bits:
            return "EC", bits
    if oid == "1.3.101.112":
        return "Ed25519", 256
    if oid == "1.3.101.113":
        return "Ed448", 456
    raise Unsupported("key type")


def read_certificate(der: bytes) -> dict:
    """The fields of `tls_cert.CertInfo` from DER, or Unsupported when cryptography should
    answer (a mapping: tls_cert builds the record, so the two modules do not import each
    other)."""
    _, cs, ce = _read(der, 0)
    cert = _children(der, cs, ce)
    if len(cert) != 3:
        raise Unsupported("certificate")
    tbs = _children(der, cert[0][1], cert[0][2])
    index = 1 if tbs[0][0] == 0xA0 else 0                  # [0] version
    serial_t, algo_t, issuer_t, validity_t, subject_t, key_t = tbs[index:index + 6]
    signature = _children(der, cert[1][1], cert[1][2])
    sig_oid = _oid(der[signature[0][1]:signature[0][2]])
    if sig_oid not in _SIGNATURES:
        raise Unsupported("signature algorithm")
    signature_algorithm, signature_hash = _SIGNATURES[sig_oid]
    subject, subject_der = _name(der, subject_t[1], subject_t[2])
    issuer, issuer_der = _name(der, issuer_t[1], issuer_t[2])
    if subject_der == issuer_der:
        raise Unsupported("self-issued: its signature needs checking")
    (bt, bs, be), (at, as_, ae) = _children(der, validity_t[1], validity_t[2])
    not_before, not_after = _time(der, bt, bs, be), _time(der, at, as_, ae)
    key_type, key_bits = _key(der, key_t[1], key_t[2])
    sans: list[str] = []
    ips: list[str] = []
    is_ca = False
    for tag, s, e in tbs[index + 6:]:
        if tag != 0xA3:
            continue
        (_, xs, xe), = _children(der, s, e)
        for _, es, ee in _children(der, xs, xe):
            parts = _children(der, es, ee)
            oid = _oid(der[parts[0][1]:parts[0][2]])
            value = parts[-1]
            if oid == "2.5.29.17":                           # subjectAltName
                _, ls, le = _read(der, value[1])
                for ntag, ns, ne in _children(der, ls, le):
                    if ntag == 0x82:
                        sans.append(der[ns:ne].decode("ascii"))
                    elif ntag == 0x87:
                        ips.append(str(ipaddress.ip_address(der[ns:ne])))
            elif oid == "2.5.29.19":                         # basicConstraints
                _, bs2, be2 = _read(der, value[1])
                fields = _children(der, bs2, be2)
                is_ca = bool(fields) and fields[0][0] == 0x01 and der[fields[0][1]] != 0
    serial = int.from_bytes(der[serial_t[1]:serial_t[2]], "big", signed=True)
    return dict(
        subject=subject, issuer=issuer, not_before=not_before, not_after=not_after,
        sans=sans + ips, key_type=key_type, key_bits=key_bits,
        signature_algorithm=signature_algorithm, signature_hash=signature_hash,
        self_signed=False, is_ca=is_ca, serial=format(serial, "x"),
        sha256=hashlib.sha256(der).hexdigest())
