"""The hand-written TLS messages and their parsing, the suite registry and the certificate
reader, on bytes and socket pairs: no network."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import socket
import struct

import pytest
import tls_servers

from labwarden.sources.live import tls_wire
from labwarden.sources.live.tls_cert import CertInfo, hostname_matches, parse_certificate
from labwarden.sources.live.tls_suites import (
    BY_NAME,
    LEGACY_SUITES,
    PRE_TLS12_SUITES,
    SSL2_CIPHERS,
    SSL3,
    SUITES,
    TLS10,
    TLS12,
    TLS13,
    TLS13_SUITES,
    describe,
    suites_for,
)

# --- ClientHello ------------------------------------------------------------------------

def _extensions(record: bytes) -> dict[int, bytes]:
    body = record[9:]
    offset = 34
    offset += 1 + body[offset]                                     # session id
    offset += 2 + struct.unpack("!H", body[offset:offset + 2])[0]  # suites
    offset += 1 + body[offset]                                     # compression
    if offset >= len(body):
        return {}
    end = offset + 2 + struct.unpack("!H", body[offset:offset + 2])[0]
    offset += 2
    found = {}
    while offset < end:
        kind, length = struct.unpack("!HH", body[offset:offset + 4])
        found[kind] = body[offset + 4:offset + 4 + length]
        offset += 4 + length
    return found


class _Sock:
    def __init__(self, data: bytes):
        self.data = data

    def recv(self, size: int) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


@pytest.mark.parametrize("version", [SSL3, TLS10, TLS12, TLS13])
def test_client_hello_offers_exactly_the_version_and_suites(version):
    suites = list(suites_for(version))
    record = tls_wire.client_hello(version, suites, "app.lab.example")
    assert record[0] == 22 and struct.unpack("!H", record[1:3])[0] == (SSL3 if version == SSL3 else TLS10)
    assert struct.unpack("!H", record[3:5])[0] == len(record) - 5
    client_version, offered, extensions = tls_servers._read_client_hello(_Sock(record))
    assert client_version == min(version, TLS12)
    assert 15 not in extensions                       # heartbeat only when asked for
    expected = set(suites) | ({0x00FF} if version != TLS13 else set())
    assert offered == expected
    assert 0x5600 not in offered                      # never TLS_FALLBACK_SCSV
    ext = _extensions(record)
    if version == SSL3:
        assert ext == {}
        return
    assert b"app.lab.example" in ext[0]
    if version == TLS13:
        assert ext[43] == b"\x02\x03\x04"
        assert ext[51] == b"\x00\x00"                  # empty key share: a HelloRetryRequest
    else:
        assert 43 not in ext and 51 not in ext
        with_heartbeat = tls_wire.client_hello(version, suites, "app.lab.example", heartbeat=True)
        assert _extensions(with_heartbeat)[15] == b"\x01"      # peer allowed to send
        groups = ext[10][2:]
        assert all(struct.unpack("!H", groups[i:i + 2])[0] < 256 for i in range(0, len(groups), 2))


def test_no_sni_for_an_address():
    record = tls_wire.client_hello(TLS12, [0xC02F], None)
    assert 0 not in _extensions(record)


# --- server answers ---------------------------------------------------------------------

def _hs(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _record(kind: int, payload: bytes, version: int = TLS12) -> bytes:
    return struct.pack("!BHH", kind, version, len(payload)) + payload


def _server_hello(version: int, suite: int, extensions: bytes = b"", random: bytes | None = None) -> bytes:
    body = struct.pack("!H", min(version, TLS12)) + (random or b"\x11" * 32) + b"\x00"
    body += struct.pack("!H", suite) + b"\x00"
    if extensions:
        body += struct.pack("!H", len(extensions)) + extensions
    return _hs(2, body)


def _answer(data: bytes, offered: int, full: bool = True) -> tls_wire.Reply:
    async def run():
        server, client = socket.socketpair()
        server.sendall(data)
        server.shutdown(socket.SHUT_WR)
        client.setblocking(False)
        try:
            flight = tls_wire._Flight(asyncio.get_running_loop(), client)
            return await tls_wire._read_reply(flight, offered, full)
        except tls_wire._NotTLS as exc:
            return tls_wire.Reply("not-tls", detail=str(exc))
        finally:
            server.close()
            client.close()
    return asyncio.run(run())


def test_tls12_flight_with_dhe_parameters_and_certificates():
    prime = (1 << 1023) | 1
    ske = struct.pack("!H", 128) + prime.to_bytes(128, "big") + b"\x00\x01\x02\x00\x01\x05"
    certs = b"".join(len(c).to_bytes(3, "big") + c for c in (b"leaf", b"intermediate"))
    flight = (_server_hello(TLS12, 0x009E) + _hs(11, len(certs).to_bytes(3, "big") + certs)
              + _hs(12, ske) + _hs(14, b""))
    # split across records at an awkward place: handshake messages may span records
    data = _record(22, flight[:7]) + _record(22, flight[7:])
    reply = _answer(data, TLS12)
    assert reply.accepted and reply.version == TLS12 and reply.suite == 0x009E
    assert reply.dh_bits == 1024 and reply.certificates == [b"leaf", b"intermediate"]


def test_ecdhe_group_is_read_in_full_mode_and_reading_stops_early_otherwise():
    ske = b"\x03\x00\x17" + b"\x41" + b"\x04" * 65
    flight = _server_hello(TLS12, 0xC02F) + _hs(12, ske) + _hs(14, b"")
    reply = _answer(_record(22, flight), TLS12, full=True)
    assert reply.accepted and reply.group == "secp256r1"
    # Enumerating, only the chosen suite matters for ECDHE: no need to wait for the rest.
    reply = _answer(_record(22, _server_hello(TLS12, 0xC02F)), TLS12, full=False)
    assert reply.accepted and reply.suite == 0xC02F and reply.group is None
    # DHE: the group size is read even when enumerating, then reading stops.
    prime = (1 << 2047) | 1
    dhe = struct.pack("!H", 256) + prime.to_bytes(256, "big") + b"\x00\x01\x02\x00\x01\x05"
    reply = _answer(_record(22, _server_hello(TLS12, 0x009E) + _hs(12, dhe)), TLS12, full=False)
    assert reply.dh_bits == 2048


def test_tls13_server_hello_and_hello_retry_request():
    ext = struct.pack("!HHH", 43, 2, TLS13) + struct.pack("!HH", 51, 36) + b"\x00\x1d\x00\x20" + b"\x01" * 32
    reply = _answer(_record(22, _server_hello(TLS13, 0x1302, ext)), TLS13)
    assert reply.accepted and reply.version == TLS13 and reply.suite == 0x1302
    assert reply.group == "x25519" and not reply.retry
    hrr_random = hashlib.sha256(b"HelloRetryRequest").digest()
    ext = struct.pack("!HHH", 43, 2, TLS13) + struct.pack("!HHH", 51, 2, 23)
    reply = _answer(_record(22, _server_hello(TLS13, 0x1301, ext, hrr_random)), TLS13)
    assert reply.accepted and reply.retry and reply.group == "secp256r1"


def test_an_older_version_in_the_answer_is_a_refusal():
    reply = _answer(_record(22, _server_hello(TLS10, 0x002F) + _hs(14, b"")), TLS12)
    assert reply.status == "rejected" and "0x0301" in reply.detail
    # a TLS 1.2 answer to a TLS 1.3-only offer
    reply = _answer(_record(22, _server_hello(TLS12, 0x1301)), TLS13)
    assert reply.status == "rejected"


def test_alerts_and_closed_connections_are_refusals():
    reply = _answer(_record(21, b"\x02\x46"), TLS10)
    assert reply.status == "rejected" and reply.detail == "protocol_version"
    reply = _answer(_record(21, b"\x02\x28"), TLS12)
    assert reply.detail == "handshake_failure"
    assert _answer(b"", TLS12).status == "rejected"


@pytest.mark.parametrize("data", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"SSH-2.0-OpenSSH_9.2\r\n",
                                  _record(22, _hs(14, b""))])
def test_what_is_not_a_tls_server(data):
    assert _answer(data, TLS12).status == "not-tls"


# --- the suite registry -----------------------------------------------------------------

def test_registry_is_consistent():
    assert len(SUITES) > 300 and len(BY_NAME) == len(SUITES)
    assert set(TLS13_SUITES) == {0x1301, 0x1302, 0x1303, 0x1304, 0x1305}
    assert 0x0000 not in SUITES and 0x00FF not in SUITES and 0x5600 not in SUITES
    assert not any(SUITES[c].tls12_only for c in PRE_TLS12_SUITES)
    assert 0xC02F in LEGACY_SUITES and 0xC02F not in PRE_TLS12_SUITES
    assert set(suites_for(TLS10)) == set(PRE_TLS12_SUITES)


@pytest.mark.parametrize("name, cipher, bits, mode, mac, kex, export", [
    ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "RC4", 40, "STREAM", "MD5", "RSA", True),
    ("TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA", "DES", 56, "CBC", "SHA1", "RSA", True),
    ("TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "3DES", 112, "CBC", "SHA1", "DHE", False),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", "AES", 256, "CCM_8", "AEAD", "ECDHE", False),
    ("TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "CHACHA20", 256, "POLY1305", "AEAD", "DHE", False),
    ("TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256", "CAMELLIA", 128, "GCM", "AEAD", "ECDH", False),
    ("TLS_AES_128_CCM_8_SHA256", "AES", 128, "CCM_8", "AEAD", "TLS13", False),
])
def test_suite_names_are_read(name, cipher, bits, mode, mac, kex, export):
    s = describe(name)
    assert (s.cipher, s.bits, s.mode, s.mac, s.kex, s.export) == (cipher, bits, mode, mac, kex, export)


def test_unknown_names():
    assert describe("TLS_GOST_WHATEVER") is None and describe("0x1234") is None


# --- certificates -----------------------------------------------------------------------

def _cert(sans: list[str]) -> CertInfo:
    now = dt.datetime.now(dt.UTC)
    return CertInfo(subject="CN=x", issuer="CN=x", not_before=now, not_after=now, sans=sans)


@pytest.mark.parametrize("sans, host, match", [
    (["grafana.lab.example"], "grafana.lab.example", True),
    (["Grafana.Lab.Example."], "grafana.lab.example", True),
    (["*.lab.example"], "grafana.lab.example", True),
    (["*.lab.example"], "lab.example", False),
    (["*.lab.example"], "a.b.lab.example", False),
    (["*.example"], "lab.example", False),             # no wildcard over a bare TLD+1
    (["f*.lab.example"], "foo.lab.example", False),      # partial wildcards are refused
    (["proxy.lab.example"], "grafana.lab.example", False),
    (["192.168.1.10"], "192.168.1.10", True),
    (["grafana.lab.example"], "192.168.1.10", False),
    (["::1"], "[::1]", True),
    ([], "grafana.lab.example", False),
])
def test_hostname_matching(sans, host, match):
    assert hostname_matches(_cert(sans), host) is match


def test_parse_certificate(tmp_path_factory):
    pki = tls_servers.make_pki(tmp_path_factory.mktemp("pki"))
    weak = parse_certificate(pki.ders["weak"])
    assert (weak.key_type, weak.key_bits, weak.signature_hash) == ("RSA", 1024, "sha1")
    assert weak.sans == ["other.test"] and weak.common_name == "other.test"
    assert not weak.self_signed and not weak.is_ca and len(weak.sha256) == 64
    ciphers = parse_certificate(pki.ders["ciphers"])
    assert ciphers.self_signed and ciphers.not_after < dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError):
        parse_certificate(b"not a certificate")


def test_offline_validation_for_servers_openssl_cannot_talk_to(tmp_path_factory):
    from labwarden.sources.live.tls import verify_offline

    pki = tls_servers.make_pki(tmp_path_factory.mktemp("pki"))
    now = dt.datetime.now(dt.UTC)
    wildcard = pki.issue("wild", ["*.lab.test"])
    assert verify_offline([wildcard], pki.path("ca.crt"), now) == (True, "")
    trusted, why = verify_offline([wildcard], None, now)
    assert trusted is False and "issuer" in why
    assert verify_offline([pki.ders["ciphers"]], pki.path("ca.crt"), now) == (
        False, "self-signed certificate")
    # Dates are TLS008's: an expired leaf from the CA still chains to it.
    assert verify_offline([pki.ders["legacy"]], pki.path("ca.crt"),
                          now + dt.timedelta(days=400))[0] is True
    # SHA-1 is TLS013's: the verifier's refusal of it is "cannot tell", not "untrusted".
    assert verify_offline([pki.ders["weak"]], pki.path("ca.crt"), now)[0] is None


def test_the_ssl2_hello_offers_every_ssl2_cipher_spec():
    record = tls_wire.sslv2_hello()
    length = struct.unpack("!H", record[:2])[0]
    assert length & 0x8000 and (length & 0x7FFF) == len(record) - 2
    body = record[2:]
    assert body[0] == 1 and struct.unpack("!H", body[1:3])[0] == 0x0002
    specs_length, session_length, challenge_length = struct.unpack("!HHH", body[3:9])
    assert (session_length, challenge_length) == (0, 16)
    specs = {int.from_bytes(body[9 + i:12 + i], "big") for i in range(0, specs_length, 3)}
    assert specs == set(SSL2_CIPHERS) and len(body) == 9 + specs_length + 16
