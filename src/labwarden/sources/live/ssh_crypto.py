"""The cryptography of an SSH client, just enough to finish a key exchange and exchange a
few encrypted packets: the remote SSH probe needs that to ask which authentication
methods the server offers (the answer only comes after NEWKEYS).

This is not a general SSH client. It never verifies the host key's signature (the probe
authenticates nobody and sends no secret: the channel only has to be one the server
accepts), it never re-keys and it never compresses. What it has is every key exchange and
every packet protection an OpenSSH server may be configured with that `cryptography` can
compute, legacy ones included, so that the servers the probe judges weakest are still read
completely:

* key exchange: curve25519-sha256 (and @libssh.org), ecdh-sha2-nistp256/384/521, the fixed
  diffie-hellman groups 1, 14, 16 and 18 and group exchange (RFC 4253, 4419, 5656, 8731,
  8268);
* ciphers: aes{128,192,256}-ctr, aes{128,192,256}-cbc, 3des-cbc,
  aes{128,256}-gcm@openssh.com, chacha20-poly1305@openssh.com;
* MACs: hmac-sha2-256/512, hmac-sha1, hmac-sha1-96, hmac-md5, hmac-md5-96, and their -etm
  forms. (UMAC is not in `cryptography`.)

Importing this module costs about 20 ms of `cryptography`; asyncssh, which the probe used
before, costs 170 ms, more than the probe of a server on the local network.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import poly1305
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from labwarden.sources.live.ssh_encoding import ProtocolError, Reader, mpint, string


class CryptoError(ProtocolError):
    """The server's half of the exchange or a packet does not check out."""


# --- the MODP groups, from their definition -------------------------------------------------

def _pi_bits(bits: int) -> int:
    """floor(pi * 2**bits), by Machin's formula in integers (a few ms for 8,192 bits)."""
    guard = 64
    scale = 1 << (bits + guard)

    def arctan_inverse(x: int) -> int:
        total = term = scale // x
        x2, n, sign = x * x, 1, 1
        while term:
            term //= x2
            n += 2
            sign = -sign
            total += sign * (term // n)
        return total

    return (16 * arctan_inverse(5) - 4 * arctan_inverse(239)) >> guard


def _modp(bits: int, offset: int) -> int:
    """RFC 2409 6.2 / RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + offset).
    Computed rather than pasted as 2,000 hex digits; a test checks them against asyncssh."""
    return (1 << bits) - (1 << (bits - 64)) - 1 + (1 << 64) * (_pi_bits(bits - 130) + offset)


_MODP_DEFINITIONS = {1024: 129093, 2048: 124476, 4096: 240904, 8192: 4743158}
_modp_cache: dict[int, int] = {}


def modp_prime(bits: int) -> int:
    if bits not in _modp_cache:
        _modp_cache[bits] = _modp(bits, _MODP_DEFINITIONS[bits])
    return _modp_cache[bits]


# --- key exchange ---------------------------------------------------------------------------

MSG_KEXDH_INIT, MSG_KEXDH_REPLY = 30, 31
MSG_KEX_DH_GEX_REQUEST, MSG_KEX_DH_GEX_GROUP = 34, 31
MSG_KEX_DH_GEX_INIT, MSG_KEX_DH_GEX_REPLY = 32, 33
GEX_SIZES = (2048, 3072, 8192)          # min, preferred, max (OpenSSH's own client asks so)

_NIST = {"ecdh-sha2-nistp256": (ec.SECP256R1, hashlib.sha256),
         "ecdh-sha2-nistp384": (ec.SECP384R1, hashlib.sha384),
         "ecdh-sha2-nistp521": (ec.SECP521R1, hashlib.sha512)}
_MODP_KEX = {"diffie-hellman-group1-sha1": (1024, hashlib.sha1),
             "diffie-hellman-group14-sha1": (2048, hashlib.sha1),
             "diffie-hellman-group14-sha256": (2048, hashlib.sha256),
             "diffie-hellman-group16-sha512": (4096, hashlib.sha512),
             "diffie-hellman-group18-sha512": (8192, hashlib.sha512)}
_GEX_KEX = {"diffie-hellman-group-exchange-sha256": hashlib.sha256,
            "diffie-hellman-group-exchange-sha1": hashlib.sha1}
KEX_NAMES = ("curve25519-sha256", "curve25519-sha256@libssh.org", *_NIST, *_MODP_KEX, *_GEX_KEX)


def _strings(payload: bytes, count: int) -> list[bytes]:
    """The first `count` strings after a message's type byte."""
    reader = Reader(payload[1:])
    return [reader.string() for _ in range(count)]


@dataclass
class KexResult:
    host_key: bytes          # K_S, the server's public host key blob
    shared: bytes            # K, as an mpint
    exchange_hash: bytes     # H, which is also the session id of a first exchange
    hash: Callable


class KeyExchange:
    """One key exchange from the client side. `first()` is the message to send after
    KEXINIT; `reply(payload)` takes each server message and returns the next message to
    send or None; when `result` is set the exchange is complete."""

    reply_type = MSG_KEXDH_REPLY

    def __init__(self, name: str, prefix: bytes):
        self.name = name
        self.prefix = prefix            # string(V_C) string(V_S) string(I_C) string(I_S)
        self.result: KexResult | None = None

    @staticmethod
    def create(name: str, client_id: bytes, server_id: bytes, client_kexinit: bytes,
               server_kexinit: bytes) -> KeyExchange:
        prefix = (string(client_id) + string(server_id) + string(client_kexinit)
                  + string(server_kexinit))
        if name.startswith("curve25519-sha256"):
            return _Curve25519(name, prefix)
        if name in _NIST:
            return _Nist(name, prefix)
        if name in _MODP_KEX:
            return _Modp(name, prefix)
        if name in _GEX_KEX:
            return _GroupExchange(name, prefix)
        raise CryptoError(f"key exchange {name} is not implemented")

    def _finish(self, hash_fn, host_key: bytes, middle: bytes, shared: int) -> None:
        k = mpint(shared)
        digest = hash_fn(self.prefix + string(host_key) + middle + k).digest()
        self.result = KexResult(host_key, k, digest, hash_fn)


class _Curve25519(KeyExchange):
    def first(self) -> bytes:
        self.key = x25519.X25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return bytes([MSG_KEXDH_INIT]) + string(self.public)

    def reply(self, payload: bytes) -> None:
        host_key, server_public, _signature = _strings(payload, 3)
        try:
            secret = self.key.exchange(x25519.X25519PublicKey.from_public_bytes(server_public))
        except ValueError as exc:           # a low-order point: an all-zero secret
            raise CryptoError(f"unusable curve25519 value from the server ({exc})") from None
        self._finish(hashlib.sha256, host_key, string(self.public) + string(server_public),
                     int.from_bytes(secret, "big"))


class _Nist(KeyExchange):
    def first(self) -> bytes:
        curve, _ = _NIST[self.name]
        self.key = ec.generate_private_key(curve())
        self.public = self.key.public_key().public_bytes(Encoding.X962,
                                                         PublicFormat.UncompressedPoint)
        return bytes([MSG_KEXDH_INIT]) + string(self.public)

    def reply(self, payload: bytes) -> None:
        curve, hash_fn = _NIST[self.name]
        host_key, server_public, _signature = _strings(payload, 3)
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(curve(), server_public)
            secret = self.key.exchange(ec.ECDH(), point)
        except ValueError as exc:
            raise CryptoError(f"unusable {self.name} point from the server ({exc})") from None
        self._finish(hash_fn, host_key, string(self.public) + string(server_public),
                     int.from_bytes(secret, "big"))


def _exponent() -> int:
    return int.from_bytes(os.urandom(64), "big") | 1      # 512 bits: enough for any group


class _FiniteField(KeyExchange):
    prime = generator = 0
    hash_fn: Callable = hashlib.sha256

    def _public(self) -> bytes:
        self.x = _exponent()
        self.e = pow(self.generator, self.x, self.prime)
        return mpint(self.e)

    def _complete(self, payload: bytes, extra: bytes) -> None:
        host_key, server_public = _strings(payload, 2)
        f = int.from_bytes(server_public, "big")
        if not 1 < f < self.prime - 1:
            raise CryptoError("the server's Diffie-Hellman value is out of range")
        self._finish(self.hash_fn, host_key, extra + mpint(self.e) + mpint(f),
                     pow(f, self.x, self.prime))


class _Modp(_FiniteField):
    def first(self) -> bytes:
        bits, self.hash_fn = _MODP_KEX[self.name]
        self.prime, self.generator = modp_prime(bits), 2
        return bytes([MSG_KEXDH_INIT]) + self._public()

    def reply(self, payload: bytes) -> None:
        self._complete(payload, b"")


class _GroupExchange(_FiniteField):
    reply_type = MSG_KEX_DH_GEX_GROUP

    def first(self) -> bytes:
        self.hash_fn = _GEX_KEX[self.name]
        return bytes([MSG_KEX_DH_GEX_REQUEST]) + struct.pack(">III", *GEX_SIZES)

    def reply(self, payload: bytes) -> bytes | None:
        if self.reply_type == MSG_KEX_DH_GEX_GROUP:
            prime, generator = _strings(payload, 2)
            self.prime = int.from_bytes(prime, "big")
            self.generator = int.from_bytes(generator, "big")
            if self.prime.bit_length() < 512 or not 1 < self.generator < self.prime - 1:
                raise CryptoError("the server's Diffie-Hellman group is unusable")
            self.reply_type = MSG_KEX_DH_GEX_REPLY
            return bytes([MSG_KEX_DH_GEX_INIT]) + self._public()
        self._complete(payload, struct.pack(">III", *GEX_SIZES) + mpint(self.prime)
                       + mpint(self.generator))
        return None


# --- packet protection ----------------------------------------------------------------------

_CIPHERS = {    # name: (key bytes, IV bytes, kind)
    "aes128-gcm@openssh.com": (16, 12, "gcm"), "aes256-gcm@openssh.com": (32, 12, "gcm"),
    "aes128-ctr": (16, 16, "ctr"), "aes192-ctr": (24, 16, "ctr"), "aes256-ctr": (32, 16, "ctr"),
    "chacha20-poly1305@openssh.com": (64, 0, "chacha"),
    "aes128-cbc": (16, 16, "cbc"), "aes192-cbc": (24, 16, "cbc"), "aes256-cbc": (32, 16, "cbc"),
    "3des-cbc": (24, 8, "cbc"),
}
_MACS = {       # name: (hash, key bytes, tag bytes)
    "hmac-sha2-256": (hashlib.sha256, 32, 32), "hmac-sha2-512": (hashlib.sha512, 64, 64),
    "hmac-sha1": (hashlib.sha1, 20, 20), "hmac-sha1-96": (hashlib.sha1, 20, 12),
    "hmac-md5": (hashlib.md5, 16, 16), "hmac-md5-96": (hashlib.md5, 16, 12),
}
_ETM = "-etm@openssh.com"
# What the probe asks for, cheapest first: the choice is ours (the client's order wins).
CIPHER_PREFERENCE = tuple(_CIPHERS)
MAC_PREFERENCE = tuple(name + _ETM for name in _MACS) + tuple(_MACS)


def is_aead(cipher: str) -> bool:
    return _CIPHERS[cipher][2] in ("gcm", "chacha")


def choose_cipher(server: list[str]) -> str | None:
    return next((name for name in CIPHER_PREFERENCE if name in server), None)


def choose_mac(server: list[str]) -> str | None:
    return next((name for name in MAC_PREFERENCE if name in server), None)


def derive(kex: KexResult, letter: bytes, size: int) -> bytes:
    """RFC 4253 7.2: HASH(K || H || letter || session_id), extended to `size` bytes."""
    key = kex.hash(kex.shared + kex.exchange_hash + letter + kex.exchange_hash).digest()
    while len(key) < size:
        key += kex.hash(kex.shared + kex.exchange_hash + key).digest()
    return key[:size]


def _padded(payload: bytes, block: int, length_outside: bool) -> bytes:
    """padding_length || payload || padding, sized for the cipher's block (RFC 4253 6)."""
    covered = len(payload) + 1 + (0 if length_outside else 4)
    padding = block - covered % block
    if padding < 4:
        padding += block
    return bytes([padding]) + payload + os.urandom(padding)


class PacketProtection:
    """One direction's cipher and MAC. `seal` makes a packet; `open` reads one through
    `read(n)` (an awaitable that returns exactly n bytes) and returns its payload."""

    def __init__(self, cipher: str, mac: str | None, key: bytes, iv: bytes, mac_key: bytes,
                 encrypt: bool):
        self.kind = _CIPHERS[cipher][2]
        self.key, self.iv = key, iv
        if self.kind in ("ctr", "cbc"):
            algorithm = (algorithms.AES(key) if cipher.startswith("aes")
                         else _triple_des(key))
            mode = modes.CTR(iv) if self.kind == "ctr" else modes.CBC(iv)
            context = Cipher(algorithm, mode)
            self.stream = context.encryptor() if encrypt else context.decryptor()
            self.block = algorithm.block_size // 8
            self.etm = mac.endswith(_ETM)
            self.mac_hash, _, self.mac_size = _MACS[mac.removesuffix(_ETM)]
            self.mac_key = mac_key
        elif self.kind == "gcm":
            self.aead, self.block = AESGCM(key), 16
            self.counter = int.from_bytes(iv[4:], "big")
        else:
            self.block = 8

    def _tag(self, data: bytes) -> bytes:
        return hmac.new(self.mac_key, data, self.mac_hash).digest()[:self.mac_size]

    def seal(self, sequence: int, payload: bytes) -> bytes:
        seq = struct.pack(">I", sequence & 0xFFFFFFFF)
        if self.kind == "gcm":
            body = _padded(payload, 16, length_outside=True)
            length = struct.pack(">I", len(body))
            sealed = self.aead.encrypt(self._gcm_nonce(), body, length)
            return length + sealed
        if self.kind == "chacha":
            body = _padded(payload, 8, length_outside=True)
            length = _chacha(self.key[32:], 0, seq).update(struct.pack(">I", len(body)))
            ciphertext = _chacha(self.key[:32], 1, seq).update(body)
            return length + ciphertext + self._poly(seq, length + ciphertext)
        if self.etm:
            body = _padded(payload, self.block, length_outside=True)
            length = struct.pack(">I", len(body))
            ciphertext = self.stream.update(body)
            return length + ciphertext + self._tag(seq + length + ciphertext)
        body = _padded(payload, self.block, length_outside=False)
        plain = struct.pack(">I", len(body)) + body
        return self.stream.update(plain) + self._tag(seq + plain)

    async def open(self, sequence: int, read, max_size: int) -> bytes:
        seq = struct.pack(">I", sequence & 0xFFFFFFFF)
        if self.kind == "gcm":
            length = await read(4)
            size = _checked(length, max_size, 16)
            try:
                body = self.aead.decrypt(self._gcm_nonce(), await read(size + 16), length)
            except InvalidTag:
                raise CryptoError("a packet failed its integrity check") from None
            return _payload(body)
        if self.kind == "chacha":
            sealed_length = await read(4)
            length = _chacha(self.key[32:], 0, seq).update(sealed_length)
            size = _checked(length, max_size, 8)
            ciphertext = await read(size)
            if not hmac.compare_digest(self._poly(seq, sealed_length + ciphertext),
                                       await read(16)):
                raise CryptoError("a packet failed its integrity check")
            return _payload(_chacha(self.key[:32], 1, seq).update(ciphertext))
        if self.etm:
            length = await read(4)
            ciphertext = await read(_checked(length, max_size, self.block))
            if not hmac.compare_digest(self._tag(seq + length + ciphertext),
                                       await read(self.mac_size)):
                raise CryptoError("a packet failed its integrity check")
            return _payload(self.stream.update(ciphertext))
        first = self.stream.update(await read(self.block))
        size = _checked(first[:4], max_size, self.block, encrypted_length=True)
        plain = first + self.stream.update(await read(size + 4 - self.block))
        if not hmac.compare_digest(self._tag(seq + plain), await read(self.mac_size)):
            raise CryptoError("a packet failed its integrity check")
        return _payload(plain[4:])

    def _gcm_nonce(self) -> bytes:
        nonce = self.iv[:4] + (self.counter & (2 ** 64 - 1)).to_bytes(8, "big")
        self.counter += 1
        return nonce

    def _poly(self, seq: bytes, data: bytes) -> bytes:
        key = _chacha(self.key[:32], 0, seq).update(bytes(32))
        return poly1305.Poly1305.generate_tag(key, data)


def _chacha(key: bytes, counter: int, seq: bytes):
    """OpenSSH's ChaCha20 (64-bit counter, 64-bit nonce = the sequence number) in
    `cryptography`'s 16-byte IV: the counter's low word first, then the nonce."""
    nonce = struct.pack("<Q", counter) + bytes(4) + seq
    return Cipher(algorithms.ChaCha20(key, nonce), mode=None).encryptor()


def _triple_des(key: bytes):
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:                         # cryptography < 43
        TripleDES = algorithms.TripleDES        # noqa: N806
    return TripleDES(key)


def _checked(length: bytes, max_size: int, block: int, encrypted_length: bool = False) -> int:
    """The packet length field, checked: what it covers must fill whole cipher blocks (with
    the length field itself when that is encrypted too)."""
    size = struct.unpack(">I", length)[0]
    if not 5 <= size <= max_size or (size + (4 if encrypted_length else 0)) % block:
        raise CryptoError(f"invalid packet length {size}")
    return size


def _payload(body: bytes) -> bytes:
    padding = body[0]
    if padding < 4 or padding + 1 >= len(body):
        raise CryptoError("invalid padding length")
    return body[1:len(body) - padding]


def protections(kex: KexResult, cipher: str, mac: str | None
                ) -> tuple[PacketProtection, PacketProtection]:
    """(outgoing, incoming) for the client after NEWKEYS."""
    key_size, iv_size, _ = _CIPHERS[cipher]
    mac_size = 0 if is_aead(cipher) else _MACS[mac.removesuffix(_ETM)][1]

    def side(iv_letter: bytes, key_letter: bytes, mac_letter: bytes, encrypt: bool):
        return PacketProtection(cipher, mac, derive(kex, key_letter, key_size),
                                derive(kex, iv_letter, iv_size) if iv_size else b"",
                                derive(kex, mac_letter, mac_size) if mac_size else b"",
                                encrypt)

    return side(b"A", b"C", b"E", True), side(b"B", b"D", b"F", False)
