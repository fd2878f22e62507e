"""What an SSH server shows a client that has no account: the remote view of `ssh://` targets.

The probe collects facts and never judges (the rules in `labwarden.rules.ssh` do):

* the identification line (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`) and any lines the
  server prints before it;
* the server's KEXINIT: key exchange, host key, cipher, MAC and compression algorithms;
* the host keys (type, size, SHA256 fingerprint): a key exchange per key family whose size
  the algorithm name leaves open (RSA, DSA and their certificates), and for the first
  family in any case, run only as far as the server's reply that carries the key, then
  dropped. The exchange is never completed, so it costs the server one fork and one
  signature, and needs no cryptography on our side (our public value is a fixed valid
  point: the curve's generator). Ed25519 and ECDSA keys are known from their algorithm
  (`inferred`, no fingerprint) unless `every_key` asks for them too;
* the authentication methods the server offers to a user (the target's user, else `root`):
  asyncssh completes a key exchange and sends a `none` request, the one the OpenSSH client
  sends first too, and reads the methods from the refusal. No password, key or answer to a
  prompt is ever sent.

What cannot be seen from outside: `PermitRootLogin`, `PermitEmptyPasswords`, `AllowUsers`,
`MaxAuthTries`, `X11Forwarding` and the result of `sshd -t` need the host itself (see
`labwarden.sources.sshd_config`); rules on these facts never claim them. The methods are
those offered to one user: a `Match User` block can offer others to other users.

The connections run concurrently: one for the banner and KEXINIT (which goes on to fetch
the first host key), one for the authentication methods, one per further key fetched: two
for a stock Debian or a hardened server.
Every read and connect is bounded by `options.timeout`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import struct
import warnings
from dataclasses import dataclass, field, fields
from typing import Any

from labwarden.model import Diagnostic, Location

CLIENT_ID = b"SSH-2.0-labwarden_probe"
AUTH_PROBE_USER = "root"
MAX_PACKET = 256 * 1024          # OpenSSH's PACKET_MAX_SIZE
MAX_PRE_BANNER_LINES = 50        # RFC 4253 4.2: lines a server may send before its version
MAX_SKIPPED = 100                # IGNORE/DEBUG messages skipped in a row

MSG_DISCONNECT, MSG_IGNORE, MSG_UNIMPLEMENTED, MSG_DEBUG = 1, 2, 3, 4
MSG_KEXINIT = 20
MSG_KEXDH_INIT, MSG_KEXDH_REPLY = 30, 31
MSG_KEX_DH_GEX_REQUEST, MSG_KEX_DH_GEX_GROUP = 34, 31
MSG_KEX_DH_GEX_INIT, MSG_KEX_DH_GEX_REPLY = 32, 33

KEXINIT_FIELDS = ("kex", "host_key_algorithms", "ciphers_c2s", "ciphers_s2c", "macs_c2s",
                  "macs_s2c", "compression_c2s", "compression_s2c")


# --- facts ---------------------------------------------------------------------------------

@dataclass
class HostKey:
    """One host key as the server presented it in a key exchange."""

    algorithm: str                 # the host key algorithm negotiated, e.g. rsa-sha2-512
    key_type: str = ""             # the key blob's type, e.g. ssh-rsa
    bits: int | None = None        # modulus or curve size
    fingerprint: str = ""          # SHA256:… as ssh-keygen -l prints it
    certificate: bool = False
    inferred: bool = False         # type and size from the algorithm name: key not fetched


@dataclass
class SshServer:
    """The remote view of one SSH server (one `ssh://host:port` target)."""

    target: str                    # the target as the user wrote it
    host: str = ""
    port: int = 22
    banner: str = ""               # the identification line, without CR LF
    protocol: str = ""             # "2.0", "1.99", "1.5"
    software: str = ""             # "OpenSSH_9.2p1"
    comments: str = ""             # "Debian-2+deb12u3"
    pre_banner: list[str] = field(default_factory=list)
    kex: list[str] = field(default_factory=list)
    host_key_algorithms: list[str] = field(default_factory=list)
    ciphers: list[str] = field(default_factory=list)        # both directions, server order
    macs: list[str] = field(default_factory=list)
    compression: list[str] = field(default_factory=list)
    host_keys: list[HostKey] = field(default_factory=list)
    auth_methods: list[str] | None = None     # None: could not be determined
    auth_user: str = ""
    error: str | None = None
    diagnostics: list = field(default_factory=list)

    @property
    def asset(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh:{host}:{self.port}"

    @property
    def location(self) -> Location:
        return Location(self.target)

    @property
    def product(self) -> str:
        """`OpenSSH`, `dropbear`… (the software name without its version)."""
        return self.software.partition("_")[0]

    @property
    def version(self) -> str:
        return self.software.partition("_")[2]


# --- the binary packet protocol, before encryption ------------------------------------------

class ProtocolError(Exception):
    pass


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    if value == 0:
        return _string(b"")
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")   # a leading 0 when the top bit is set
    return _string(raw)


def _namelist(names) -> bytes:
    return _string(",".join(names).encode())


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise ProtocolError("truncated message")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def namelist(self) -> list[str]:
        text = self.string().decode("ascii", "replace")
        return [name for name in text.split(",") if name]


def packet(payload: bytes) -> bytes:
    """An unencrypted binary packet (RFC 4253 6): block size 8, at least 4 bytes padding."""
    padding = 8 - (len(payload) + 5) % 8
    if padding < 4:
        padding += 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def kexinit_payload(kex, host_key_algs, ciphers=None, macs=None, compression=None) -> bytes:
    ciphers = ciphers or ("aes128-ctr", "aes256-ctr", "chacha20-poly1305@openssh.com",
                          "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-cbc",
                          "3des-cbc")
    macs = macs or ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-256", "hmac-sha1",
                    "hmac-sha2-512-etm@openssh.com", "hmac-sha2-512", "umac-64@openssh.com",
                    "hmac-md5")
    compression = compression or ("none",)
    return (bytes([MSG_KEXINIT]) + os.urandom(16) + _namelist(kex) + _namelist(host_key_algs)
            + _namelist(ciphers) * 2 + _namelist(macs) * 2 + _namelist(compression) * 2
            + _namelist(()) * 2 + b"\x00" + struct.pack(">I", 0))


def parse_kexinit(payload: bytes) -> dict[str, list[str]]:
    reader = _Reader(payload)
    if reader.byte() != MSG_KEXINIT:
        raise ProtocolError("expected KEXINIT")
    reader.take(16)
    lists = {name: reader.namelist() for name in KEXINIT_FIELDS}
    reader.namelist()
    reader.namelist()
    return lists


def parse_banner(line: str) -> tuple[str, str, str]:
    """`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3` → ("2.0", "OpenSSH_9.2p1", "Debian-2+deb12u3")."""
    body = line.removeprefix("SSH-")
    protocol, _, rest = body.partition("-")
    software, _, comments = rest.partition(" ")
    return protocol, software, comments.strip()


class _Conn:
    """One TCP connection speaking the unencrypted start of SSH."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 timeout: float):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout

    @classmethod
    async def open(cls, host: str, port: int, timeout: float) -> _Conn:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=MAX_PACKET), timeout)
        return cls(reader, writer, timeout)

    async def _read(self, count: int) -> bytes:
        try:
            return await asyncio.wait_for(self.reader.readexactly(count), self.timeout)
        except asyncio.IncompleteReadError:
            raise ProtocolError("the server closed the connection") from None

    async def banner(self) -> tuple[str, list[str]]:
        """The server's identification line and the lines before it."""
        before: list[str] = []
        for _ in range(MAX_PRE_BANNER_LINES + 1):
            try:
                raw = await asyncio.wait_for(self.reader.readline(), self.timeout)
            except ValueError:
                raise ProtocolError("an over-long line instead of an SSH banner") from None
            if not raw:
                said = next((line for line in before if line.strip()), "")
                if said:
                    raise ProtocolError(f"no SSH banner; the server said: {said[:120]!r}")
                raise ProtocolError("the server closed the connection without a banner")
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("SSH-"):
                return line, before
            before.append(line)
        raise ProtocolError("no SSH banner in the first lines the server sent")

    def send(self, payload: bytes) -> None:
        self.writer.write(packet(payload))

    async def receive(self) -> bytes:
        """The next payload, skipping IGNORE and DEBUG messages (a bounded number)."""
        for _ in range(MAX_SKIPPED):
            length = struct.unpack(">I", await self._read(4))[0]
            if not 5 <= length <= MAX_PACKET:
                raise ProtocolError(f"invalid packet length {length}")
            data = await self._read(length)
            padding = data[0]
            if padding + 1 > length:
                raise ProtocolError("invalid padding length")
            payload = data[1:length - padding]
            if not payload:
                raise ProtocolError("empty packet")
            kind = payload[0]
            if kind in (MSG_IGNORE, MSG_DEBUG):
                continue
            if kind == MSG_DISCONNECT:
                reader = _Reader(payload[1:])
                code = reader.uint32()
                try:
                    reason = reader.string().decode("utf-8", "replace")
                except ProtocolError:
                    reason = ""
                raise ProtocolError(f"the server disconnected ({code}): {reason}".rstrip(": "))
            return payload
        raise ProtocolError("only IGNORE and DEBUG messages from the server")

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), self.timeout)
        except (TimeoutError, OSError, ProtocolError):
            pass


# --- key exchange just far enough to see a host key ------------------------------------------

_CURVE25519_BASE = b"\x09" + bytes(31)       # the generator u = 9: a valid public value
_NIST_CURVES = {"ecdh-sha2-nistp256": "SECP256R1", "ecdh-sha2-nistp384": "SECP384R1",
                "ecdh-sha2-nistp521": "SECP521R1"}
_DH_GROUPS = {            # name → (asyncssh's constant, modulus bits)
    "diffie-hellman-group1-sha1": ("_group1_p", 1024),
    "diffie-hellman-group14-sha1": ("_group14_p", 2048),
    "diffie-hellman-group14-sha256": ("_group14_p", 2048),
    "diffie-hellman-group16-sha512": ("_group16_p", 4096),
    "diffie-hellman-group18-sha512": ("_group18_p", 8192),
}
_GEX = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")
# The key exchanges we run to see a host key, cheapest first.
KEX_FOR_KEYS = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
                "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
                "diffie-hellman-group14-sha1", "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512", "diffie-hellman-group1-sha1", *_GEX)

_point_cache: dict[str, bytes] = {}


def _nist_generator(kex: str) -> bytes:
    """The uncompressed generator point of the curve (private key 1): valid, never used."""
    if kex not in _point_cache:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        curve = getattr(ec, _NIST_CURVES[kex])()
        key = ec.derive_private_key(1, curve).public_key()
        _point_cache[kex] = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return _point_cache[kex]


def _dh_public(prime: int, generator: int = 2) -> int:
    return pow(generator, int.from_bytes(os.urandom(32), "big") | 1, prime)


def _group_prime(kex: str) -> int:
    name, bits = _DH_GROUPS[kex]
    try:
        from asyncssh import kex_dh

        return getattr(kex_dh, name)
    except (ImportError, AttributeError):      # a public value valid for any prime of the size
        return (1 << bits) - 1


def choose_kex(server_kex: list[str]) -> str | None:
    for name in KEX_FOR_KEYS:
        if name in server_kex:
            return name
    return None


async def fetch_host_key(conn: _Conn, kex: str, host_key_alg: str) -> bytes:
    """Send our KEXINIT (one kex, one host key algorithm) and the first kex message; return
    the host key blob from the server's reply."""
    conn.send(kexinit_payload([kex], [host_key_alg]))
    if kex.startswith("curve25519"):
        conn.send(bytes([MSG_KEXDH_INIT]) + _string(_CURVE25519_BASE))
        reply_type = MSG_KEXDH_REPLY
    elif kex in _NIST_CURVES:
        conn.send(bytes([MSG_KEXDH_INIT]) + _string(_nist_generator(kex)))
        reply_type = MSG_KEXDH_REPLY
    elif kex in _DH_GROUPS:
        conn.send(bytes([MSG_KEXDH_INIT]) + _mpint(_dh_public(_group_prime(kex))))
        reply_type = MSG_KEXDH_REPLY
    elif kex in _GEX:
        conn.send(bytes([MSG_KEX_DH_GEX_REQUEST]) + struct.pack(">III", 2048, 3072, 8192))
        group = await _expect(conn, MSG_KEX_DH_GEX_GROUP)
        reader = _Reader(group[1:])
        prime, generator = reader.mpint(), reader.mpint()
        conn.send(bytes([MSG_KEX_DH_GEX_INIT]) + _mpint(_dh_public(prime, generator)))
        reply_type = MSG_KEX_DH_GEX_REPLY
    else:
        raise ProtocolError(f"no supported key exchange for {kex}")
    reply = await _expect(conn, reply_type)
    return _Reader(reply[1:]).string()


async def _expect(conn: _Conn, kind: int) -> bytes:
    while True:
        payload = await conn.receive()
        if payload[0] == kind:
            return payload
        if payload[0] == MSG_KEXINIT:        # the server's own KEXINIT, when not read yet
            continue
        raise ProtocolError(f"unexpected message {payload[0]} during key exchange")


# --- host keys ------------------------------------------------------------------------------

_CURVE_BITS = {"nistp256": 256, "nistp384": 384, "nistp521": 521}


def key_family(algorithm: str) -> str:
    """Host key algorithms that share one key: rsa-sha2-512, rsa-sha2-256 and ssh-rsa sign
    with the same RSA key."""
    cert = algorithm.endswith("-cert-v01@openssh.com")
    base = algorithm.removesuffix("-cert-v01@openssh.com")
    if base in ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"):
        base = "ssh-rsa"
    return base + ("-cert" if cert else "")


# Which algorithm fetches a family's key, best first.
_FAMILY_PREFERENCE = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "rsa-sha2-512-cert-v01@openssh.com",
                      "rsa-sha2-256-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com")


def families(host_key_algs: list[str]) -> dict[str, str]:
    """{family: the algorithm to fetch it with}, in the server's order."""
    chosen: dict[str, str] = {}
    for alg in host_key_algs:
        family = key_family(alg)
        current = chosen.get(family)
        if current is None or (alg in _FAMILY_PREFERENCE and (
                current not in _FAMILY_PREFERENCE
                or _FAMILY_PREFERENCE.index(alg) < _FAMILY_PREFERENCE.index(current))):
            chosen[family] = alg
    return chosen


# Families whose key size the algorithm name does not fix: their keys are always fetched.
_SIZE_VARIES = ("ssh-rsa", "ssh-rsa-cert", "ssh-dss", "ssh-dss-cert")
_FIXED_BITS = {"ssh-ed25519": 256, "sk-ssh-ed25519@openssh.com": 256, "ssh-ed448": 456,
               "ecdsa-sha2-nistp256": 256, "ecdsa-sha2-nistp384": 384,
               "ecdsa-sha2-nistp521": 521, "sk-ecdsa-sha2-nistp256@openssh.com": 256}


def plan_keys(host_key_algs: list[str], every_key: bool = False) -> tuple[list[str], list[HostKey]]:
    """(algorithms to fetch a key with, keys known from their algorithm alone). One key per
    family; RSA and DSA keys are fetched (their size varies), the first family always (the
    first connection fetches it for free), the others only with `every_key`."""
    chosen = families(host_key_algs)
    order = sorted(chosen, key=lambda f: f not in _SIZE_VARIES)      # RSA/DSA first
    fetch, known = [], []
    for index, family in enumerate(order):
        alg = chosen[family]
        base = family.removesuffix("-cert")
        if every_key or index == 0 or family in _SIZE_VARIES or base not in _FIXED_BITS:
            fetch.append(alg)
        else:
            key_type = alg if family.endswith("-cert") else base
            known.append(HostKey(alg, key_type, _FIXED_BITS[base], "",
                                 family.endswith("-cert"), inferred=True))
    return fetch, known


def describe_key(algorithm: str, blob: bytes) -> HostKey:
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    try:
        reader = _Reader(blob)
        key_type = reader.string().decode("ascii", "replace")
        certificate = key_type.endswith("-cert-v01@openssh.com")
        if certificate:
            reader.string()                                 # nonce
        base = key_type.removesuffix("-cert-v01@openssh.com")
        bits = None
        if base == "ssh-rsa":
            reader.mpint()
            bits = reader.mpint().bit_length()
        elif base == "ssh-dss":
            bits = reader.mpint().bit_length()
        elif base.startswith(("ecdsa-sha2-", "sk-ecdsa-sha2-")):
            bits = _CURVE_BITS.get(reader.string().decode("ascii", "replace"))
        elif base in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com"):
            bits = 256
        elif base == "ssh-ed448":
            bits = 456
    except ProtocolError:
        return HostKey(algorithm, "", None, fingerprint, False)
    return HostKey(algorithm, key_type, bits, fingerprint, certificate)


# --- the probe ------------------------------------------------------------------------------

async def _first_connection(host: str, port: int, timeout: float) -> tuple[_Conn, str, list[str], dict]:
    conn = await _Conn.open(host, port, timeout)
    try:
        line, before = await conn.banner()
        conn.writer.write(CLIENT_ID + b"\r\n")
        kexinit = {}
        if line.startswith(("SSH-2.0-", "SSH-1.99-")):
            kexinit = parse_kexinit(await _server_kexinit(conn))
        return conn, line, before, kexinit
    except BaseException:
        await conn.close()
        raise


async def _server_kexinit(conn: _Conn) -> bytes:
    for _ in range(8):                  # the server's first message; allow a few strays
        payload = await conn.receive()
        if payload[0] == MSG_KEXINIT:
            return payload
    raise ProtocolError("no KEXINIT from the server")


async def _key_over(conn: _Conn, kex: str, alg: str) -> HostKey:
    try:
        return describe_key(alg, await fetch_host_key(conn, kex, alg))
    finally:
        await conn.close()


async def _key_on_new_connection(host: str, port: int, timeout: float, kex: str, alg: str) -> HostKey:
    conn = await _Conn.open(host, port, timeout)
    try:
        await conn.banner()
        conn.writer.write(CLIENT_ID + b"\r\n")
        await _server_kexinit(conn)
    except BaseException:
        await conn.close()
        raise
    return await _key_over(conn, kex, alg)


async def auth_methods(host: str, port: int, username: str, timeout: float) -> list[str]:
    """The methods the server offers `username`, from its answer to a `none` request."""
    import asyncssh

    # A legacy server's finite-field DH makes `cryptography` warn on stderr: not our news.
    warnings.filterwarnings("ignore", message="Diffie-Hellman over finite fields")
    # Every algorithm asyncssh has, so that legacy servers still answer (the direct
    # arguments win over `options`, hence kex and host key algorithms passed directly).
    options = asyncssh.SSHClientConnectionOptions(
        config=None, known_hosts=None, encryption_algs="*", mac_algs="*",
        connect_timeout=timeout, login_timeout=timeout, agent_path=None, client_keys=None)
    methods = await asyncio.wait_for(asyncssh.get_server_auth_methods(
        host, port, username=username, kex_algs="*", server_host_key_algs="*",
        config=None, options=options), timeout * 2)
    return list(methods)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, ProtocolError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def probe(target, options, *, every_key: bool = False) -> SshServer:
    """Never raises: an unreachable or silent target is a fact with `error` set.
    `every_key` fetches every host key (for fingerprints), not only those whose size the
    algorithm name leaves open."""
    timeout = options.timeout
    user = target.user or AUTH_PROBE_USER
    fact = SshServer(target=target.raw, host=target.host, port=target.port or 22, auth_user=user)
    auth_task = asyncio.create_task(auth_methods(fact.host, fact.port, user, timeout))
    try:
        await _collect(fact, auth_task, timeout, every_key)
    finally:
        if not auth_task.done():        # cancelled from outside (the probe's deadline)
            auth_task.cancel()
            await asyncio.gather(auth_task, return_exceptions=True)
    return fact


async def _collect(fact: SshServer, auth_task: asyncio.Task, timeout: float,
                   every_key: bool) -> None:
    try:
        conn, line, before, kexinit = await _first_connection(fact.host, fact.port, timeout)
    except Exception as exc:  # noqa: BLE001 - whatever the target did, it is unreachable
        auth_task.cancel()
        await asyncio.gather(auth_task, return_exceptions=True)
        fact.error = _error_text(exc)
        fact.diagnostics.append(Diagnostic("error", "unreachable",
                                           f"SSH server not reachable: {fact.error}",
                                           fact.location))
        return

    fact.banner, fact.pre_banner = line, before
    fact.protocol, fact.software, fact.comments = parse_banner(line)
    if kexinit:
        fact.kex = kexinit["kex"]
        fact.host_key_algorithms = kexinit["host_key_algorithms"]
        fact.ciphers = _union(kexinit["ciphers_c2s"], kexinit["ciphers_s2c"])
        fact.macs = _union(kexinit["macs_c2s"], kexinit["macs_s2c"])
        fact.compression = _union(kexinit["compression_c2s"], kexinit["compression_s2c"])
    else:
        auth_task.cancel()              # SSH-1 only: nothing for asyncssh to talk to

    kex = choose_kex(fact.kex)
    wanted, inferred = plan_keys(fact.host_key_algorithms, every_key)
    jobs = []
    if kex and wanted:
        jobs.append(_key_over(conn, kex, wanted[0]))
        jobs += [_key_on_new_connection(fact.host, fact.port, timeout, kex, alg)
                 for alg in wanted[1:]]
    else:
        await conn.close()
        if wanted:
            fact.diagnostics.append(Diagnostic(
                "error", "ssh-host-keys", "host keys not checked: the server offers no key "
                f"exchange the probe runs ({', '.join(fact.kex) or 'none'})", fact.location))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for alg, result in zip(wanted, results):
        if isinstance(result, HostKey):
            fact.host_keys.append(result)
        else:
            fact.diagnostics.append(Diagnostic(
                "error", "ssh-host-key", f"host key for {alg} not read: "
                f"{_error_text(result)}", fact.location))
    fact.host_keys += inferred

    try:
        fact.auth_methods = await auth_task
    except asyncio.CancelledError:
        if asyncio.current_task().cancelling():
            raise                       # the probe itself is being cancelled
        # only the auth task was (an SSH-1 server): nothing to report
    except Exception as exc:  # noqa: BLE001 - asyncssh raises many kinds; all mean "unknown"
        fact.diagnostics.append(Diagnostic(
            "error", "ssh-auth-methods", "authentication methods not determined: "
            f"{_error_text(exc)}", fact.location))


def _union(first: list[str], second: list[str]) -> list[str]:
    return first + [name for name in second if name not in first]


# --- facts from YAML (rule fixtures) --------------------------------------------------------

def facts_from_yaml(path: str) -> list[SshServer]:
    """SshServer facts from a YAML list of mappings (rule fixtures): the fields of SshServer,
    `host_keys` as mappings of HostKey fields; `target` defaults to ssh://host:port and a
    `banner` alone fills protocol, software and comments."""
    return [fact for _, fact in facts_with_lines(path)]


def facts_with_lines(path: str) -> list[tuple[int, SshServer]]:
    from labwarden.sources.sshd_config import yaml_items

    names = {f.name for f in fields(SshServer)} - {"diagnostics"}
    facts = []
    for line, item in yaml_items(path):
        unknown = set(item) - names
        if unknown:
            raise ValueError(f"{path}:{line}: unknown SshServer fields {sorted(unknown)}")
        data: dict[str, Any] = dict(item)
        data.setdefault("host", "127.0.0.1")
        data.setdefault("port", 22)
        data.setdefault("target", f"ssh://{data['host']}:{data['port']}")
        if "banner" in data and not any(k in data for k in ("protocol", "software")):
            data["protocol"], data["software"], data["comments"] = parse_banner(data["banner"])
        data["host_keys"] = [HostKey(**key) for key in data.get("host_keys") or []]
        facts.append((line, SshServer(**data)))
    return facts


_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:p(\d+))?")


def openssh_version(software: str) -> tuple[int, int, int] | None:
    """`OpenSSH_9.2p1` → (9, 2, 1); None for other software or an unreadable version."""
    product, _, version = software.partition("_")
    if product.lower() != "openssh":
        return None
    match = _VERSION.match(version)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(4) or 0)
