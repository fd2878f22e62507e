"""Just enough of the TLS wire format to ask a server what it accepts.

The probe writes its own ClientHello for every version from SSL 3.0 to TLS 1.3 (the local
OpenSSL can no longer speak SSL 3.0, RC4, 3DES or EXPORT suites, and would not say what a
server chose for them), then reads the server's first flight: ServerHello (chosen version
and suite), Certificate and ServerKeyExchange (the Diffie-Hellman group size) up to
ServerHelloDone, or an alert. No key is ever computed: the connection is dropped once the
server has said what it picked, as testssl.sh does. SSL 2.0 has a record and hello format
of its own (`sslv2`); Heartbleed is one heartbeat record after a first flight
(`heartbleed`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import struct
from dataclasses import dataclass, field
from functools import lru_cache

from labwarden.sources.live.tls_suites import SSL2, SSL2_CIPHERS, SSL3, SUITES, TLS12, TLS13

# Record and handshake types.
_HANDSHAKE, _ALERT, _CCS, _HEARTBEAT = 22, 21, 20, 24
_SERVER_HELLO, _CERTIFICATE, _SERVER_KEY_EXCHANGE, _SERVER_HELLO_DONE = 2, 11, 12, 14
_MAX_RECORD = 16384 + 2048
_MAX_FLIGHT = 512 * 1024
# A HelloRetryRequest is a ServerHello with this random (RFC 8446, 4.1.3).
_HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
_RENEGOTIATION_SCSV = 0x00FF
_LINGER_RESET = struct.pack("ii", 1, 0)

GROUP_NAMES = {
    1: "sect163k1", 2: "sect163r1", 3: "sect163r2", 4: "sect193r1", 5: "sect193r2",
    6: "sect233k1", 7: "sect233r1", 8: "sect239k1", 9: "sect283k1", 10: "sect283r1",
    11: "sect409k1", 12: "sect409r1", 13: "sect571k1", 14: "sect571r1", 15: "secp160k1",
    16: "secp160r1", 17: "secp160r2", 18: "secp192k1", 19: "secp192r1", 20: "secp224k1",
    21: "secp224r1", 22: "secp256k1", 23: "secp256r1", 24: "secp384r1", 25: "secp521r1",
    26: "brainpoolP256r1", 27: "brainpoolP384r1", 28: "brainpoolP512r1", 29: "x25519",
    30: "x448", 256: "ffdhe2048", 257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144",
    260: "ffdhe8192",
}
# Every named curve, preferred ones first, so a server with an unusual curve still picks
# its ECDHE suites. No finite-field groups for TLS <= 1.2: a server that implements
# RFC 7919 would then use them instead of the DH parameters it is configured with.
_LEGACY_GROUPS = (29, 23, 30, 24, 25, 26, 27, 28, 22, 21, 20, 19, 18, 17, 16, 15,
                  14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
_TLS13_GROUPS = (29, 23, 24, 25, 30, 256, 257, 258, 259, 260)
# Modern schemes first, then SHA-1 and MD5 ones so that old servers can still sign.
_SIGNATURE_SCHEMES = (0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
                      0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x0402, 0x0502,
                      0x0602, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202, 0x0101)

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
    42: "bad_certificate", 43: "unsupported_certificate", 47: "illegal_parameter",
    50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 120: "no_application_protocol",
}


def _u8(items: bytes) -> bytes:
    return struct.pack("!B", len(items)) + items


def _u16(items: bytes) -> bytes:
    return struct.pack("!H", len(items)) + items


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(body)


@lru_cache(maxsize=256)
def _static_extensions(version: int, server_name: str | None, heartbeat: bool) -> bytes:
    """Every extension but the TLS 1.3 key share, which is fresh in each hello."""
    if version == SSL3:
        return b""                                  # SSL 3.0 has no extensions
    tls13 = version == TLS13
    extensions = b""
    if heartbeat and not tls13:
        extensions += _ext(15, b"\x01")             # heartbeat, peer allowed to send
    if server_name:
        name = server_name.encode("idna") if not server_name.isascii() else server_name.encode()
        extensions += _ext(0, _u16(b"\x00" + _u16(name)))
    groups = _TLS13_GROUPS if tls13 else _LEGACY_GROUPS
    extensions += _ext(10, _u16(struct.pack(f"!{len(groups)}H", *groups)))
    extensions += _ext(11, _u8(b"\x00"))                            # uncompressed points
    extensions += _ext(13, _u16(struct.pack(f"!{len(_SIGNATURE_SCHEMES)}H", *_SIGNATURE_SCHEMES)))
    extensions += _ext(23, b"")                                     # extended master secret
    if tls13:
        extensions += _ext(43, _u8(struct.pack("!H", TLS13)))       # supported_versions
        extensions += _ext(45, _u8(b"\x01"))                        # psk_dhe_ke
        # An empty key share (RFC 8446, 4.2.8): the server answers with a
        # HelloRetryRequest that names its suite and group, before any key exchange or
        # signature, which keeps a scan cheap for the server (and needs no key here).
        extensions += _ext(51, _u16(b""))
    return extensions


def client_hello(version: int, suites, server_name: str | None = None,
                 heartbeat: bool = False) -> bytes:
    """A ClientHello record offering `suites` at exactly `version` (no fallback SCSV);
    `heartbeat` adds the heartbeat extension (RFC 6520), which only servers that still
    implement heartbeats answer."""
    tls13 = version == TLS13
    codes = list(suites)
    if not tls13:
        codes.append(_RENEGOTIATION_SCSV)
    session_id = os.urandom(32) if tls13 else b""
    extensions = _static_extensions(version, server_name, heartbeat)
    body = b"".join((struct.pack("!H", min(version, TLS12)), os.urandom(32), _u8(session_id),
                     _u16(struct.pack(f"!{len(codes)}H", *codes)), b"\x01\x00",
                     _u16(extensions) if extensions else b""))
    handshake = struct.pack("!B", 1) + struct.pack("!I", len(body))[1:] + body
    record_version = SSL3 if version == SSL3 else 0x0301
    return struct.pack("!BHH", _HANDSHAKE, record_version, len(handshake)) + handshake


@dataclass
class Reply:
    """What a server answered to one ClientHello."""

    status: str                    # accepted | rejected | unreachable | timeout | not-tls
    version: int = 0               # negotiated version (accepted only)
    suite: int = 0                 # chosen suite (accepted only)
    detail: str = ""               # alert name, error text
    certificates: list[bytes] = field(default_factory=list)   # DER, leaf first (TLS <= 1.2)
    dh_bits: int | None = None     # finite-field DH prime size from ServerKeyExchange
    group: str | None = None       # named group (ECDHE ServerKeyExchange, TLS 1.3 key share)
    retry: bool = False            # TLS 1.3 HelloRetryRequest
    heartbeat: bool = False        # the ServerHello carries the heartbeat extension
    secure_renegotiation: bool = False  # ... and renegotiation_info (RFC 5746)
    ssl2_ciphers: list[str] = field(default_factory=list)   # SSL 2.0 SERVER-HELLO only
    connect_s: float | None = None  # TCP connect time: one round trip

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


class _NotTLS(Exception):
    pass


class _Flight:
    """Reads records off a socket and splits their handshake messages."""

    def __init__(self, loop, sock):
        self.loop, self.sock = loop, sock
        self.buffer = bytearray()
        self.handshake = bytearray()
        self.total = 0

    async def _fill(self, size: int) -> bool:
        while len(self.buffer) < size:
            chunk = await self.loop.sock_recv(self.sock, 65536)
            if not chunk:
                return False
            self.total += len(chunk)
            if self.total > _MAX_FLIGHT:
                raise _NotTLS("server flight too large")
            self.buffer += chunk
        return True

    async def record(self) -> tuple[int, bytes] | None:
        if not await self._fill(5):
            if self.buffer and not (20 <= self.buffer[0] <= 23):
                raise _NotTLS("not a TLS record")
            return None
        kind, major = self.buffer[0], self.buffer[1]
        length = struct.unpack("!H", self.buffer[3:5])[0]
        if not (20 <= kind <= 24) or major != 3 or length > _MAX_RECORD:
            raise _NotTLS("not a TLS record")
        if not await self._fill(5 + length):
            return None
        payload = bytes(self.buffer[5:5 + length])
        del self.buffer[:5 + length]
        return kind, payload

    def messages(self):
        """Complete handshake messages gathered so far, consumed as they are returned."""
        while len(self.handshake) >= 4:
            kind = self.handshake[0]
            length = int.from_bytes(self.handshake[1:4], "big")
            if len(self.handshake) < 4 + length:
                return
            body = bytes(self.handshake[4:4 + length])
            del self.handshake[:4 + length]
            yield kind, body


def _parse_server_hello(body: bytes, reply: Reply) -> None:
    version = struct.unpack("!H", body[0:2])[0]
    random = body[2:34]
    sid_len = body[34]
    offset = 35 + sid_len
    suite = struct.unpack("!H", body[offset:offset + 2])[0]
    offset += 3                                       # suite + compression method
    if offset + 2 <= len(body):
        ext_len = struct.unpack("!H", body[offset:offset + 2])[0]
        offset += 2
        end = min(len(body), offset + ext_len)
        while offset + 4 <= end:
            kind, length = struct.unpack("!HH", body[offset:offset + 4])
            data = body[offset + 4:offset + 4 + length]
            offset += 4 + length
            if kind == 43 and len(data) == 2:         # supported_versions
                version = struct.unpack("!H", data)[0]
            elif kind == 15:                          # heartbeat (RFC 6520)
                reply.heartbeat = True
            elif kind == 0xFF01:                      # renegotiation_info (RFC 5746)
                reply.secure_renegotiation = True
            elif kind == 51 and len(data) >= 2:       # key_share (or HRR's selected group)
                group = struct.unpack("!H", data[:2])[0]
                reply.group = GROUP_NAMES.get(group, f"0x{group:04x}")
    reply.version, reply.suite = version, suite
    reply.retry = random == _HRR_RANDOM


def _parse_certificates(body: bytes) -> list[bytes]:
    total = int.from_bytes(body[0:3], "big")
    offset, end, certs = 3, min(len(body), 3 + total), []
    while offset + 3 <= end:
        length = int.from_bytes(body[offset:offset + 3], "big")
        certs.append(body[offset + 3:offset + 3 + length])
        offset += 3 + length
    return certs


def _parse_key_exchange(body: bytes, reply: Reply) -> None:
    suite = SUITES.get(reply.suite)
    if suite is None:
        return
    if suite.uses_dh and len(body) >= 2:
        length = struct.unpack("!H", body[:2])[0]
        prime = int.from_bytes(body[2:2 + length], "big")
        reply.dh_bits = prime.bit_length()
    elif suite.uses_ecdh and len(body) >= 3 and body[0] == 3:   # named_curve
        group = struct.unpack("!H", body[1:3])[0]
        reply.group = GROUP_NAMES.get(group, f"0x{group:04x}")


async def _read_reply(flight: _Flight, offered: int, full: bool) -> Reply:
    reply = Reply("rejected", detail="connection closed")
    hello_seen = False
    while True:
        record = await flight.record()
        if record is None:
            return reply if not hello_seen else _settle(reply, offered)
        kind, payload = record
        if kind == _ALERT:
            if hello_seen:
                return _settle(reply, offered)
            level = payload[0] if payload else 0
            desc = payload[1] if len(payload) > 1 else 0
            return Reply("rejected",
                         detail=ALERTS.get(desc, f"alert {desc}") if level else "warning alert")
        if kind != _HANDSHAKE:
            if hello_seen:
                return _settle(reply, offered)
            continue
        flight.handshake += payload
        for msg_type, body in flight.messages():
            if msg_type == _SERVER_HELLO:
                try:
                    _parse_server_hello(body, reply)
                except (struct.error, IndexError):
                    raise _NotTLS("malformed ServerHello") from None
                hello_seen = True
                reply.status = "accepted"
                if (reply.version == TLS13 or reply.retry
                        or not full and not _needs_key_exchange(reply)):
                    return _settle(reply, offered)
            elif not hello_seen:
                raise _NotTLS("handshake did not start with a ServerHello")
            elif msg_type == _CERTIFICATE:
                reply.certificates = _parse_certificates(body)
            elif msg_type == _SERVER_KEY_EXCHANGE:
                _parse_key_exchange(body, reply)
                if not full:
                    return _settle(reply, offered)
            elif msg_type == _SERVER_HELLO_DONE:
                return _settle(reply, offered)


def _needs_key_exchange(reply: Reply) -> bool:
    """Only DHE's group size is a fact the rules use; an ECDHE curve is read in full mode."""
    suite = SUITES.get(reply.suite)
    return suite is not None and suite.uses_dh


def _settle(reply: Reply, offered: int) -> Reply:
    """A ServerHello at another version than the one offered is a refusal of that version."""
    if reply.status == "accepted" and reply.version != offered:
        return Reply("rejected", version=reply.version,
                     detail=f"answered with version 0x{reply.version:04x}")
    return reply


def _kernel_rtt(sock: socket.socket) -> float | None:
    """The kernel's round-trip estimate for a connected socket (Linux TCP_INFO `tcpi_rtt`,
    microseconds at offset 68): unlike a timer around connect(), it does not include the
    time this process's event loop was busy elsewhere."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, 104)
    except OSError:
        return None
    if len(info) < 72:
        return None
    return struct.unpack_from("I", info, 68)[0] / 1e6


def _socket(address: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    # Close with a reset: no FIN exchange and no TIME_WAIT left behind for each of the
    # dozens of short connections a scan makes.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    return sock


async def exchange(address: str, port: int, hello: bytes, offered: int, timeout: float,
                   *, full: bool = False) -> Reply:
    """Send one ClientHello and read the server's answer, all within `timeout` seconds.

    `full` reads the whole first flight (certificates included); otherwise reading stops
    as soon as the chosen suite (and, for DHE/ECDHE, its group) is known.
    """
    loop = asyncio.get_running_loop()
    sock = _socket(address)
    stage = "connect"
    try:
        async with asyncio.timeout(timeout):
            started = loop.time()
            await loop.sock_connect(sock, (address, port))
            connected = _kernel_rtt(sock)
            if connected is None:
                connected = loop.time() - started
            stage = "handshake"
            await loop.sock_sendall(sock, hello)
            reply = await _read_reply(_Flight(loop, sock), offered, full)
            reply.connect_s = connected
            return reply
    except (TimeoutError, _NotTLS, OSError) as exc:
        return _failure_reply(exc, stage, timeout)
    finally:
        sock.close()


def _failure_reply(exc: BaseException, stage: str, timeout: float) -> Reply:
    """What a connection that ended in `exc` during `stage` says about the server."""
    if isinstance(exc, TimeoutError):
        return Reply("timeout", detail=f"no answer within {timeout:g} s during {stage}")
    if isinstance(exc, _NotTLS):
        return Reply("not-tls", detail=str(exc))
    detail = getattr(exc, "strerror", None)
    if stage == "connect":
        return Reply("unreachable", detail=detail or type(exc).__name__)
    # A reset after the hello is how some servers refuse a version or suite.
    return Reply("rejected", detail=detail or "connection reset")


# A heartbeat request (RFC 6520) that claims a 16 KiB payload and carries none.
_HEARTBLEED_REQUEST = b"\x01\x40\x00"


async def heartbleed(address: str, port: int, hello: bytes, version: int, timeout: float,
                     wait: float) -> bool | None:
    """CVE-2014-0160: after the server's first flight, send a heartbeat request whose
    payload length is a lie. A vulnerable server answers with a heartbeat response read out
    of its own memory; a fixed one drops the request (RFC 6520, 4) or sends an alert.
    True: vulnerable; False: not; None: the test could not run. The response is never kept:
    it may hold the server's keys and its users' passwords. `wait` bounds the silence that
    means "dropped"."""
    loop = asyncio.get_running_loop()
    sock = _socket(address)
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (address, port))
            await loop.sock_sendall(sock, hello)
            flight = _Flight(loop, sock)
            reply = await _read_reply(flight, version, full=True)
            if not reply.accepted or not reply.heartbeat:
                return None
            await loop.sock_sendall(sock, struct.pack("!BHH", _HEARTBEAT, version,
                                                      len(_HEARTBLEED_REQUEST))
                                    + _HEARTBLEED_REQUEST)
        try:
            async with asyncio.timeout(wait):
                while True:
                    record = await flight.record()
                    if record is None or record[0] == _ALERT:
                        return False
                    if record[0] == _HEARTBEAT:
                        return len(record[1]) > len(_HEARTBLEED_REQUEST)
        except TimeoutError:
            return False                # silence: the request was dropped
    except (TimeoutError, OSError, _NotTLS):
        return None
    finally:
        sock.close()


# --- SSL 2.0: another record and message format altogether ------------------------------

def sslv2_hello() -> bytes:
    """An SSL 2.0 CLIENT-HELLO offering every SSL 2.0 cipher spec."""
    specs = b"".join(code.to_bytes(3, "big") for code in SSL2_CIPHERS)
    body = (b"\x01" + struct.pack("!HHHH", SSL2, len(specs), 0, 16) + specs + os.urandom(16))
    return struct.pack("!H", 0x8000 | len(body)) + body


async def sslv2(address: str, port: int, timeout: float) -> Reply:
    """Whether the server answers an SSL 2.0 CLIENT-HELLO with a SERVER-HELLO (and with
    which cipher specs). Anything else (a TLS alert, an SSL 2.0 ERROR, a hang-up) is a
    refusal."""
    loop = asyncio.get_running_loop()
    sock = _socket(address)
    stage = "connect"
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (address, port))
            stage = "handshake"
            await loop.sock_sendall(sock, sslv2_hello())
            flight = _Flight(loop, sock)
            if not await flight._fill(2):
                return Reply("rejected", detail="connection closed")
            if not flight.buffer[0] & 0x80:
                return Reply("rejected", detail="answered with a TLS record")
            length = ((flight.buffer[0] & 0x7F) << 8) | flight.buffer[1]
            if length < 11 or not await flight._fill(2 + length):
                return Reply("rejected", detail="short SSL 2.0 answer")
            message = bytes(flight.buffer[2:2 + length])
    except (TimeoutError, _NotTLS, OSError) as exc:
        return _failure_reply(exc, stage, timeout)
    finally:
        sock.close()
    if message[0] != 4:                                  # SERVER-HELLO
        return Reply("rejected", detail="SSL 2.0 error message")
    cert_length, specs_length = struct.unpack("!HH", message[5:9])
    start = 11 + cert_length
    specs = message[start:start + specs_length]
    names = [SSL2_CIPHERS.get(int.from_bytes(specs[i:i + 3], "big"),
                              f"0x{int.from_bytes(specs[i:i + 3], 'big'):06x}")
             for i in range(0, len(specs) - 2, 3)]
    return Reply("accepted", version=SSL2, ssl2_ciphers=names)
