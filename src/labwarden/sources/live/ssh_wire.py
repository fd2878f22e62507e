"""What an SSH server shows a client that has no account: the remote view of `ssh://` targets.

The probe collects facts and never judges (the rules in `labwarden.rules.ssh` do):

* the identification line (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`) and any lines the
  server prints before it;
* the server's KEXINIT: key exchange, host key, cipher, MAC and compression algorithms;
* the host keys (type, size, SHA256 fingerprint) and the authentication methods the server
  offers to a user (the target's user, else `root`). The first connection runs a key
  exchange with algorithms the probe names from the server's own lists, reads the first
  host key from the server's reply, then goes on: NEWKEYS, the `ssh-userauth` service and
  a `none` request, the one the OpenSSH client sends first too; the methods are read from
  the refusal. No password, key or answer to a prompt is ever sent, and the host key's
  signature is not checked (nobody is authenticated). The cryptography is `ssh_crypto`'s.
* further host keys: a key exchange per key family whose size the algorithm name leaves
  open (RSA and RSA certificates), each on its own connection, dropped after the server's
  reply that carries the key. Ed25519, ECDSA and DSA keys are known from their algorithm
  (`inferred`, no fingerprint) unless `every_key` asks for them too.

What cannot be seen from outside: `PermitRootLogin`, `PermitEmptyPasswords`, `AllowUsers`,
`MaxAuthTries`, `X11Forwarding` and the result of `sshd -t` need the host itself (see
`labwarden.sources.sshd_config`); rules on these facts never claim them. The methods are
those offered to one user: a `Match User` block can offer others to other users.

One connection per target: it reads the RSA key when there is one (its size varies),
otherwise the first key offered. Another connection runs, concurrently, only for an RSA
certificate beside an RSA key, or for each further key with `every_key`. asyncssh, the SSH
library of the host transport, is not imported: it costs more start-up time (170 ms) than
the whole probe of a server on the local network.
Every read and connect is bounded by `options.timeout`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import struct
from dataclasses import dataclass, field, fields
from typing import Any

from labwarden.model import Diagnostic, Location
from labwarden.sources.live.ssh_encoding import ProtocolError, Reader, namelist, string

CLIENT_ID = b"SSH-2.0-labwarden_probe"
AUTH_PROBE_USER = "root"
MAX_PACKET = 256 * 1024          # OpenSSH's PACKET_MAX_SIZE
MAX_PRE_BANNER_LINES = 50        # RFC 4253 4.2: lines a server may send before its version
MAX_SKIPPED = 100                # IGNORE/DEBUG messages skipped in a row

MSG_DISCONNECT, MSG_IGNORE, MSG_UNIMPLEMENTED, MSG_DEBUG = 1, 2, 3, 4
MSG_SERVICE_REQUEST, MSG_SERVICE_ACCEPT, MSG_EXT_INFO = 5, 6, 7
MSG_KEXINIT, MSG_NEWKEYS = 20, 21
MSG_USERAUTH_REQUEST, MSG_USERAUTH_FAILURE, MSG_USERAUTH_SUCCESS = 50, 51, 52
MSG_USERAUTH_BANNER = 53

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
    # The installed sshd package as the host's package manager reports it, when the same
    # target was also read as a host (`dpkg 1:9.2p1-2+deb12u3`, `rpm 8.7p1-38.el9`)
    package: str = ""
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

def packet(payload: bytes) -> bytes:
    """An unencrypted binary packet (RFC 4253 6): block size 8, at least 4 bytes padding."""
    padding = 8 - (len(payload) + 5) % 8
    if padding < 4:
        padding += 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def kexinit_payload(kex, host_key_algs, ciphers, macs, compression) -> bytes:
    """A client KEXINIT offering the same lists in both directions."""
    return (bytes([MSG_KEXINIT]) + os.urandom(16) + namelist(kex) + namelist(host_key_algs)
            + namelist(ciphers) * 2 + namelist(macs) * 2 + namelist(compression) * 2
            + namelist(()) * 2 + b"\x00" + struct.pack(">I", 0))


def parse_kexinit(payload: bytes) -> dict[str, list[str]]:
    reader = Reader(payload)
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
    """One TCP connection speaking SSH: in the clear until NEWKEYS, then through the
    packet protection `ssh_crypto` derived (`outgoing`, `incoming`)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 timeout: float):
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.sent = self.received = 0       # sequence numbers: every packet counts
        self.outgoing = self.incoming = None

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
        if self.outgoing is None:
            self.writer.write(packet(payload))
        else:
            self.writer.write(self.outgoing.seal(self.sent, payload))
        self.sent += 1

    async def _packet(self) -> bytes:
        if self.incoming is not None:
            return await self.incoming.open(self.received, self._read, MAX_PACKET)
        length = struct.unpack(">I", await self._read(4))[0]
        if not 5 <= length <= MAX_PACKET:
            raise ProtocolError(f"invalid packet length {length}")
        data = await self._read(length)
        padding = data[0]
        if padding + 1 > length:
            raise ProtocolError("invalid padding length")
        return data[1:length - padding]

    async def receive(self) -> bytes:
        """The next payload, skipping IGNORE and DEBUG messages (a bounded number)."""
        for _ in range(MAX_SKIPPED):
            payload = await self._packet()
            self.received += 1
            if not payload:
                raise ProtocolError("empty packet")
            kind = payload[0]
            if kind in (MSG_IGNORE, MSG_DEBUG):
                continue
            if kind == MSG_DISCONNECT:
                reader = Reader(payload[1:])
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


# --- key exchange ---------------------------------------------------------------------------

# The key exchanges the probe runs, cheapest for the server first (all of ssh_crypto's).
KEX_FOR_KEYS = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
                "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
                "diffie-hellman-group14-sha1", "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512", "diffie-hellman-group1-sha1",
                "diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")


def choose_kex(server_kex: list[str]) -> str | None:
    for name in KEX_FOR_KEYS:
        if name in server_kex:
            return name
    return None


@dataclass
class Session:
    """What the probe asks for in its KEXINIT: one algorithm of each kind, all from the
    server's own lists, so the negotiation can only land on them. `runnable` is False when
    no cipher and MAC pair the server offers is one the probe can compute: the exchange
    then stops at the server's reply, which carries the host key."""

    kex: str
    host_key_alg: str
    cipher: str
    mac: str
    compression: str
    runnable: bool

    def kexinit(self) -> bytes:
        return kexinit_payload([self.kex], [self.host_key_alg], [self.cipher], [self.mac],
                               [self.compression])


def plan_session(kexinit: dict[str, list[str]], kex: str, host_key_alg: str) -> Session:
    from labwarden.sources.live import ssh_crypto

    def common(kind: str) -> list[str]:
        theirs = kexinit[f"{kind}_s2c"]
        both = [name for name in kexinit[f"{kind}_c2s"] if name in theirs]
        return both or kexinit[f"{kind}_c2s"][:1] or ["none"]

    ciphers, macs, compressions = common("ciphers"), common("macs"), common("compression")
    cipher = ssh_crypto.choose_cipher(ciphers)
    mac = ssh_crypto.choose_mac(macs)
    if cipher and not mac and not ssh_crypto.is_aead(cipher):
        cipher = next((c for c in ssh_crypto.CIPHER_PREFERENCE
                       if c in ciphers and ssh_crypto.is_aead(c)), None)
    # zlib@openssh.com starts only after authentication: before it, the same as none.
    compression = next((c for c in ("none", "zlib@openssh.com") if c in compressions), None)
    runnable = bool(cipher and compression)
    # An AEAD cipher ignores the MAC, but the lists must still have one in common.
    return Session(kex, host_key_alg, cipher or ciphers[0], mac or macs[0],
                   compression or compressions[0], runnable)


async def key_exchange(conn: _Conn, session: Session, server_id: str, server_kexinit: bytes):
    """Run the exchange up to the server's reply (which carries its host key); the
    `ssh_crypto.KexResult`."""
    from labwarden.sources.live import ssh_crypto

    ours = session.kexinit()
    exchange = ssh_crypto.KeyExchange.create(session.kex, CLIENT_ID, server_id.encode(),
                                             ours, server_kexinit)
    conn.send(ours)
    conn.send(exchange.first())
    while exchange.result is None:
        following = exchange.reply(await _expect(conn, exchange.reply_type))
        if following:
            conn.send(following)
    return exchange.result


async def methods_offered(conn: _Conn, session: Session, kex, username: str) -> list[str]:
    """After the exchange: NEWKEYS both ways, the `ssh-userauth` service, and a `none`
    request for `username`, the one the OpenSSH client sends first too; the methods are
    read from the refusal. No password, key or answer to a prompt is ever sent."""
    from labwarden.sources.live import ssh_crypto

    outgoing, incoming = ssh_crypto.protections(kex, session.cipher, session.mac)
    conn.send(bytes([MSG_NEWKEYS]))
    conn.outgoing = outgoing
    conn.send(bytes([MSG_SERVICE_REQUEST]) + string(b"ssh-userauth"))
    await _expect(conn, MSG_NEWKEYS)
    conn.incoming = incoming
    await _expect(conn, MSG_SERVICE_ACCEPT, skip=(MSG_EXT_INFO,))
    conn.send(bytes([MSG_USERAUTH_REQUEST]) + string(username.encode()) +
              string(b"ssh-connection") + string(b"none"))
    reply = await _expect(conn, (MSG_USERAUTH_FAILURE, MSG_USERAUTH_SUCCESS),
                          skip=(MSG_USERAUTH_BANNER, MSG_EXT_INFO))
    conn.send(bytes([MSG_DISCONNECT]) + struct.pack(">I", 11) + string(b"probe done")
              + string(b""))
    if reply[0] == MSG_USERAUTH_SUCCESS:
        return ["none"]                 # in without any credential
    return Reader(reply[1:]).namelist()


async def _expect(conn: _Conn, kinds, skip=()) -> bytes:
    kinds = (kinds,) if isinstance(kinds, int) else kinds
    for _ in range(MAX_SKIPPED):
        payload = await conn.receive()
        if payload[0] in kinds:
            return payload
        if payload[0] in skip or payload[0] == MSG_KEXINIT and conn.incoming is None:
            continue                    # the server's own KEXINIT, when not read yet
        raise ProtocolError(f"unexpected message {payload[0]} from the server")
    raise ProtocolError("the server keeps sending messages that are not an answer")


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
_FAMILY_PREFERENCE = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
                      "rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
                      "ssh-rsa-cert-v01@openssh.com")


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
# DSA is not one: SSH's ssh-dss is FIPS 186-2 DSA, 1024 bits (ssh-keygen makes no other
# size, and the finding is the algorithm itself), so a connection is not spent on it.
_SIZE_VARIES = ("ssh-rsa", "ssh-rsa-cert")
_FIXED_BITS = {"ssh-ed25519": 256, "sk-ssh-ed25519@openssh.com": 256, "ssh-ed448": 456,
               "ssh-dss": 1024,
               "ecdsa-sha2-nistp256": 256, "ecdsa-sha2-nistp384": 384,
               "ecdsa-sha2-nistp521": 521, "sk-ecdsa-sha2-nistp256@openssh.com": 256}


def plan_keys(host_key_algs: list[str], every_key: bool = False) -> tuple[list[str], list[HostKey]]:
    """(algorithms to fetch a key with, keys known from their algorithm alone). One key per
    family; RSA keys are fetched (their size varies), the first family always (the first
    connection fetches it for free), the others only with `every_key`."""
    chosen = families(host_key_algs)
    order = sorted(chosen, key=lambda f: f not in _SIZE_VARIES)      # RSA first
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
        reader = Reader(blob)
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

@dataclass
class _Start:
    conn: _Conn
    line: str
    before: list[str]
    kexinit_payload: bytes          # the server's KEXINIT as sent (it enters the exchange hash)
    kexinit: dict


async def _first_connection(host: str, port: int, timeout: float) -> _Start:
    conn = await _Conn.open(host, port, timeout)
    try:
        line, before = await conn.banner()
        conn.writer.write(CLIENT_ID + b"\r\n")
        payload, kexinit = b"", {}
        if line.startswith(("SSH-2.0-", "SSH-1.99-")):
            payload = await _server_kexinit(conn)
            kexinit = parse_kexinit(payload)
        return _Start(conn, line, before, payload, kexinit)
    except BaseException:
        await conn.close()
        raise


async def _server_kexinit(conn: _Conn) -> bytes:
    for _ in range(8):                  # the server's first message; allow a few strays
        payload = await conn.receive()
        if payload[0] == MSG_KEXINIT:
            return payload
    raise ProtocolError("no KEXINIT from the server")


async def _key_and_methods(start: _Start, session: Session, user: str
                           ) -> tuple[HostKey, list[str] | BaseException | None]:
    """The first connection goes on: the host key from the exchange, then, when the
    session has a cipher, the authentication methods (an exception when that failed)."""
    conn = start.conn
    try:
        kex = await key_exchange(conn, session, start.line, start.kexinit_payload)
        key = describe_key(session.host_key_alg, kex.host_key)
        if not session.runnable:
            return key, None
        try:
            return key, await methods_offered(conn, session, kex, user)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the key stands
            return key, exc
    finally:
        await conn.close()


async def _key_on_new_connection(host: str, port: int, timeout: float, kex: str,
                                 alg: str) -> HostKey:
    """A further host key: a connection of its own, dropped after the server's reply."""
    start = await _first_connection(host, port, timeout)
    try:
        result = await key_exchange(start.conn, plan_session(start.kexinit, kex, alg),
                                    start.line, start.kexinit_payload)
    finally:
        await start.conn.close()
    return describe_key(alg, result.host_key)


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
    try:
        start = await _first_connection(fact.host, fact.port, timeout)
    except Exception as exc:  # noqa: BLE001 - whatever the target did, it is unreachable
        fact.error = _error_text(exc)
        fact.diagnostics.append(Diagnostic("error", "unreachable",
                                           f"SSH server not reachable: {fact.error}",
                                           fact.location))
        return fact
    _describe_server(fact, start)
    if not start.kexinit:               # SSH-1 only: nothing more to ask
        await start.conn.close()
        return fact

    kex = choose_kex(fact.kex)
    wanted, inferred = plan_keys(fact.host_key_algorithms, every_key)
    if not (kex and wanted):
        await start.conn.close()
        offered = ", ".join(fact.kex) or "none"
        if wanted:
            fact.diagnostics.append(Diagnostic(
                "error", "ssh-host-keys", "host keys not checked: the server offers no key "
                f"exchange the probe runs ({offered})", fact.location))
        _methods_unknown(fact, f"no key exchange the probe runs ({offered})")
        fact.host_keys += inferred
        return fact

    session = plan_session(start.kexinit, kex, wanted[0])
    jobs = [_key_and_methods(start, session, user)]
    jobs += [_key_on_new_connection(fact.host, fact.port, timeout, kex, alg)
             for alg in wanted[1:]]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    methods: list[str] | BaseException | None = None
    if isinstance(results[0], tuple):
        results[0], methods = results[0]
    for alg, result in zip(wanted, results):
        if isinstance(result, HostKey):
            fact.host_keys.append(result)
        else:
            fact.diagnostics.append(Diagnostic(
                "error", "ssh-host-key", f"host key for {alg} not read: "
                f"{_error_text(result)}", fact.location))
    fact.host_keys += inferred

    if isinstance(methods, list):
        fact.auth_methods = methods
    elif isinstance(methods, BaseException):
        _methods_unknown(fact, _error_text(methods))
    elif not session.runnable:
        _methods_unknown(fact, "no cipher and MAC the probe runs ("
                         f"{', '.join(fact.ciphers)}; {', '.join(fact.macs)})")
    elif isinstance(results[0], BaseException):
        _methods_unknown(fact, _error_text(results[0]))
    return fact


def _describe_server(fact: SshServer, start: _Start) -> None:
    fact.banner, fact.pre_banner = start.line, start.before
    fact.protocol, fact.software, fact.comments = parse_banner(start.line)
    if start.kexinit:
        fact.kex = start.kexinit["kex"]
        fact.host_key_algorithms = start.kexinit["host_key_algorithms"]
        fact.ciphers = _union(start.kexinit["ciphers_c2s"], start.kexinit["ciphers_s2c"])
        fact.macs = _union(start.kexinit["macs_c2s"], start.kexinit["macs_s2c"])
        fact.compression = _union(start.kexinit["compression_c2s"],
                                  start.kexinit["compression_s2c"])


def _methods_unknown(fact: SshServer, why: str) -> None:
    fact.diagnostics.append(Diagnostic(
        "error", "ssh-auth-methods", f"authentication methods not determined: {why}",
        fact.location))


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
