"""The TLS probe: which protocol versions (SSL 2.0 to TLS 1.3) and cipher suites a server
accepts, its Diffie-Hellman group size, its certificate chain, trust and host name match,
whether it supports secure renegotiation (RFC 5746), and, only where it accepts the
heartbeat extension, whether it leaks memory through it (Heartbleed).

It collects and never judges (rules/tls.py does), in the way sslyze separates scanning from
its Mozilla checker. Everything the local OpenSSL cannot negotiate any more (SSL 3.0, RC4,
3DES, EXPORT, NULL) is asked with a ClientHello written here (`tls_wire`); the chain and
its trust are taken from a real handshake through the `ssl` module, against the system
trust store plus the user's own CA file (`options.ca_file`, the homelab norm).

Cipher suites are enumerated the sslyze way, by offering a set and removing what the server
chose until it refuses: one connection per accepted suite plus one, instead of one per
suite known (sslyze tries each of its ~300 suites on its own). For a far host (kernel
round-trip estimate of 2 ms or more) each version's set is split into groups drained
concurrently, so that a server accepting forty suites costs about ten round trips, not
forty; a near host gets one chain, which costs it fewer refused handshakes. TLS 1.3 suites
are asked with an empty key share: the server names its choice in a HelloRetryRequest,
before any key exchange or signature. All connections to one target share a small limit
(`options.tls_connections`, 8); each is bounded by `options.timeout`, and the whole probe
stops short of `options.deadline` with what it has (marked partial).

Options read besides ProbeOptions' own: `resolve` ({"host[:port]": address}, curl
--resolve style, e.g. for a name that only resolves on the lab's DNS) and
`tls_connections`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import warnings
from dataclasses import dataclass, field, fields

from labwarden.model import Diagnostic, Location
from labwarden.sources._read import MAX_CA_FILE_BYTES, read_ca_file, read_regular
from labwarden.sources.live.targets import Target
from labwarden.sources.live.tls_reneg import client_renegotiation
from labwarden.sources.live.tls_cert import (
    CertInfo,
    hostname_matches,
    parse_certificate,
)
from labwarden.sources.live.tls_suites import (
    PROTOCOLS,
    SSL2,
    SSL3,
    SUITES,
    TLS10,
    TLS11,
    TLS12,
    TLS13,
    VERSION_NAMES,
    suites_for,
)
from labwarden.sources.live.tls_wire import Reply, client_hello, exchange, heartbleed, sslv2

PER_TARGET_CONNECTIONS = 8      # connections in flight to one target
# How many groups a version's suites are drained in, concurrently. Each group costs one
# more refused handshake; it saves round trips. Near hosts (a LAN, loopback: round trip
# under NEAR_RTT) get one group, since there a handshake costs more in server CPU than it
# saves in waiting; far hosts get several.
_FAR_GROUPS = {TLS12: 4, TLS13: 1}
_FAR_DEFAULT_GROUPS = 2
NEAR_RTT = 0.002
# How long a server that took the heartbeat extension gets to answer the Heartbleed request
# before its silence counts as "dropped" (a fixed OpenSSL drops it without a word).
HEARTBLEED_WAIT = 1.0
_X509_V_FLAG_NO_CHECK_TIME = 0x200000     # trust apart from validity dates (own rules)
_X509_V_FLAG_PARTIAL_CHAIN = 0x80000      # a CA file may name an intermediate
_OP_LEGACY_SERVER_CONNECT = 0x4
_ALL_CIPHERS = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"


@dataclass
class TlsFact:
    """One TLS endpoint as seen from the auditing machine."""

    target: str                                  # the target as the user wrote it
    host: str
    port: int
    address: str = ""                            # the IP address connected to
    sni: str | None = None                       # server name sent (None for an IP)
    profile: str = "intermediate"                # Mozilla profile the rules judge against
    ca_file: str | None = None                   # the user's CA file, when given
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    protocols: list[str] = field(default_factory=list)       # accepted, oldest first
    tested: list[str] = field(default_factory=list)          # got a definite answer
    suites: dict[str, list[str]] = field(default_factory=dict)   # protocol -> IANA names
    dh_groups: dict[str, int] = field(default_factory=dict)  # DHE suite -> prime bits
    groups: list[str] = field(default_factory=list)          # ECDHE / TLS 1.3 groups seen
    chain: list[CertInfo] = field(default_factory=list)      # as sent, leaf first
    trusted: bool | None = None                  # chain validates (dates aside)
    trust_error: str = ""                        # why not, as OpenSSL says
    hostname_match: bool | None = None           # the leaf covers `host`
    negotiated: str = ""                         # what a default client gets
    heartbeat: bool = False                      # heartbeat extension accepted (TLS <= 1.2)
    heartbleed: bool | None = None               # CVE-2014-0160; None: not tested
    secure_renegotiation: bool | None = None     # RFC 5746 (TLS <= 1.2); None: no such version
    # A renegotiation the client starts, accepted (TLS <= 1.2); None: not checked or no
    # such version, `client_renegotiation_note` says which
    client_renegotiation: bool | None = None
    client_renegotiation_note: str = ""
    partial: bool = False                        # stopped early (deadline)
    error: str | None = None
    diagnostics: list = field(default_factory=list)

    @property
    def asset(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tls:{host}:{self.port}"

    @property
    def location(self) -> Location:
        return Location(self.target)

    @property
    def accepted_suites(self) -> dict[str, list[str]]:
        """Suite name -> the protocols it is accepted on."""
        found: dict[str, list[str]] = {}
        for protocol in PROTOCOLS:
            for name in self.suites.get(protocol, ()):
                found.setdefault(name, []).append(protocol)
        return found

    @property
    def leaf(self) -> CertInfo | None:
        return self.chain[0] if self.chain else None


# --- resolution -------------------------------------------------------------------------

def _override(target: Target, options) -> str | None:
    """An address given for the host, curl --resolve style: {"host:port" or "host": ip}."""
    mapping = getattr(options, "resolve", None) or {}
    return mapping.get(f"{target.host}:{target.port}") or mapping.get(target.host)


async def _resolve(target: Target, options, timeout: float) -> str:
    override = _override(target, options)
    if override:
        return str(ipaddress.ip_address(override.strip("[]")))
    try:
        return str(ipaddress.ip_address(target.host.strip("[]")))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"{target.host} has no address")
    return infos[0][4][0]


def _server_name(host: str) -> str | None:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None            # no SNI for an address (RFC 6066)
    except ValueError:
        return host.rstrip(".")


# --- the ssl module's view: chain and trust ---------------------------------------------

_CONTEXTS: dict[tuple, ssl.SSLContext] = {}


# Verifying contexts that left out a trust bundle the environment names (SSL_CERT_FILE)
# because a hashed directory was there to look certificates up in: a chain they do not
# validate is tried again with the complete store before it is called untrusted.
_PARTIAL: set[tuple] = set()


def _context(verify: bool, ca_file: str | None, complete: bool = False) -> ssl.SSLContext:
    """One client context per (verify, CA file, complete store), shared by every probe of
    the process."""
    key = (verify, ca_file) if not (verify and complete) else (verify, ca_file, True)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.options |= _OP_LEGACY_SERVER_CONNECT
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)   # TLSv1 on purpose
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers(_ALL_CIPHERS)
        except (ValueError, ssl.SSLError):
            pass
        if verify:
            ctx.verify_mode = ssl.CERT_REQUIRED
            if not load_system_store(ctx, complete):
                _PARTIAL.add(key)
            flags = _X509_V_FLAG_NO_CHECK_TIME
            if ca_file:
                ctx.load_verify_locations(cadata=read_ca_file(ca_file))
                flags |= _X509_V_FLAG_PARTIAL_CHAIN
            ctx.verify_flags |= flags
        else:
            ctx.verify_mode = ssl.CERT_NONE
        _CONTEXTS[key] = ctx
    return ctx


def load_system_store(ctx: ssl.SSLContext, complete: bool = True) -> bool:
    """The system trust store, from its hashed directory when there is one: OpenSSL then
    reads only the certificates a chain needs, instead of parsing the whole bundle (20-25
    ms of CPU for Debian's). With `complete` False, a bundle the environment names
    (SSL_CERT_FILE) is left out too when a hashed directory is there: returns False then,
    and a chain that fails must be tried with the complete store (see `_PARTIAL`)."""
    paths = ssl.get_default_verify_paths()
    directory = os.environ.get(paths.openssl_capath_env) or paths.capath
    bundle_named = bool(os.environ.get(paths.openssl_cafile_env))
    if not directory or not os.path.isdir(directory) or (complete and (
            bundle_named or os.environ.get(paths.openssl_capath_env))):
        ctx.load_default_certs()
        return True
    ctx.load_verify_locations(capath=directory)
    return not bundle_named


@dataclass
class _Handshake:
    ok: bool
    verify_error: str = ""        # set when the chain did not validate
    error: str = ""               # any other failure
    chain: list[bytes] = field(default_factory=list)
    negotiated: str = ""
    ca_error: str = ""            # the user's CA file could not be loaded


def _sent_chain(ssl_object) -> list[bytes]:
    try:
        import _ssl
        chain = ssl_object._sslobj.get_unverified_chain()   # public from Python 3.13
        return [cert.public_bytes(_ssl.ENCODING_DER) for cert in chain or ()]
    except (AttributeError, ssl.SSLError, ValueError):
        leaf = ssl_object.getpeercert(binary_form=True)
        return [leaf] if leaf else []


async def _handshake(address: str, port: int, sni: str | None, ctx: ssl.SSLContext,
                     timeout: float) -> _Handshake:
    writer = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                address, port, ssl=ctx, server_hostname=sni or address,
                ssl_handshake_timeout=max(timeout, 0.1))
        ssl_object = writer.get_extra_info("ssl_object")
        cipher = ssl_object.cipher() or ("", "", 0)
        return _Handshake(True, chain=_sent_chain(ssl_object),
                          negotiated=f"{ssl_object.version()} {cipher[0]}".strip())
    except ssl.SSLCertVerificationError as exc:
        return _Handshake(False, verify_error=exc.verify_message or str(exc.reason or exc))
    except TimeoutError:
        return _Handshake(False, error=f"no answer within {timeout:g} s")
    except ssl.SSLError as exc:
        return _Handshake(False, error=exc.reason or type(exc).__name__)
    except (OSError, EOFError) as exc:
        return _Handshake(False, error=getattr(exc, "strerror", None) or type(exc).__name__)
    finally:
        if writer is not None:
            writer.transport.abort()


# --- the probe --------------------------------------------------------------------------

class _Scan:
    def __init__(self, target: Target, options, address: str, sni: str | None):
        self.target, self.options, self.address, self.sni = target, options, address, sni
        loop = asyncio.get_running_loop()
        deadline = float(getattr(options, "deadline", 30.0) or 30.0)
        self.stop_at = loop.time() + max(0.5, deadline - min(1.0, deadline * 0.1))
        self.limit = asyncio.Semaphore(int(getattr(options, "tls_connections", 0)
                                           or PER_TARGET_CONNECTIONS))
        self.timeout = float(options.timeout)
        self.accepted: dict[int, set[int]] = {}
        self.first: dict[int, Reply] = {}
        self.dh_groups: dict[str, int] = {}
        self.groups: set[str] = set()
        self.partial = False
        self.anomalies: list[str] = []
        self.rtt = float("inf")          # the smallest round trip seen (kernel estimate)

    def _time_left(self) -> float:
        return self.stop_at - asyncio.get_running_loop().time()

    async def hello(self, version: int, codes, full: bool = False) -> Reply | None:
        async with self.limit:
            left = self._time_left()
            if left < 0.05:
                self.partial = True
                return None
            # The first, full hello of a version also offers heartbeats: a server that
            # accepts them is the one to test for Heartbleed.
            hello = client_hello(version, codes, self.sni, heartbeat=full)
            reply = await exchange(self.address, self.target.port, hello, version,
                                   min(self.timeout, left), full=full)
        if reply.connect_s is not None:
            self.rtt = min(self.rtt, reply.connect_s)
        if reply.accepted:
            self._record(version, reply)
        return reply

    @property
    def near(self) -> bool:
        return self.rtt < NEAR_RTT

    async def sslv2(self) -> Reply | None:
        """SSL 2.0 has its own hello and its own cipher specs: one connection says both."""
        async with self.limit:
            left = self._time_left()
            if left < 0.05:
                self.partial = True
                return None
            return await sslv2(self.address, self.target.port, min(self.timeout, left))

    async def heartbleed(self, version: int, suite: int) -> bool | None:
        async with self.limit:
            left = self._time_left()
            if left < 0.05:
                self.partial = True
                return None
            hello = client_hello(version, [suite], self.sni, heartbeat=True)
            wait = min(self.timeout, left, HEARTBLEED_WAIT)
            return await heartbleed(self.address, self.target.port, hello, version,
                                    min(self.timeout, left), wait)

    async def ssl(self, verify: bool, ca_file: str | None,
                  complete: bool = False) -> _Handshake:
        async with self.limit:
            left = self._time_left()
            if left < 0.05:
                self.partial = True
                return _Handshake(False, error="deadline reached")
            return await _handshake(self.address, self.target.port, self.sni,
                                    _context(verify, ca_file, complete),
                                    min(self.timeout, left))

    def _record(self, version: int, reply: Reply) -> None:
        self.accepted.setdefault(version, set()).add(reply.suite)
        suite = SUITES.get(reply.suite)
        if reply.dh_bits and suite is not None:
            previous = self.dh_groups.get(suite.name)
            self.dh_groups[suite.name] = min(previous or reply.dh_bits, reply.dh_bits)
        if reply.group:
            self.groups.add(reply.group)

    async def version(self, version: int) -> Reply | None:
        if version == SSL2:
            return await self.sslv2()
        offered = list(suites_for(version))
        reply = await self.hello(version, offered, full=True)
        if reply is None or not reply.accepted:
            return reply
        self.first[version] = reply
        if reply.suite not in offered:
            self.anomalies.append(f"{VERSION_NAMES[version]}: the server chose suite "
                                  f"0x{reply.suite:04x}, which was not offered")
            return reply
        rest = [c for c in offered if c != reply.suite]
        count = 1 if self.near else _FAR_GROUPS.get(version, _FAR_DEFAULT_GROUPS)
        await asyncio.gather(*(self.drain(version, rest[i::count]) for i in range(count)))
        return reply

    async def drain(self, version: int, codes: list[int]) -> None:
        remaining = list(codes)
        while remaining:
            reply = await self.hello(version, remaining)
            if reply is not None and reply.status not in ("accepted", "rejected"):
                self.anomalies.append(f"{VERSION_NAMES[version]}: cipher suite enumeration "
                                      f"stopped early ({reply.detail}): the list may be "
                                      "incomplete")
            if reply is None or not reply.accepted:
                return
            if reply.suite not in remaining:
                self.anomalies.append(f"{VERSION_NAMES[version]}: the server chose suite "
                                      f"0x{reply.suite:04x}, which was not offered")
                return
            remaining.remove(reply.suite)


def _describe_failure(replies: list[Reply | None],
                      names: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(code, message) when no version got a handshake, else None. `names`: the version
    of each reply, in order."""
    answered = [r for r in replies if r is not None]
    if any(r.accepted for r in answered):
        return None
    if not answered:
        return "probe-timeout", "deadline reached before any answer"
    if all(r.status == "unreachable" for r in answered):
        return "unreachable", f"cannot connect: {answered[0].detail}"
    # A server that accepts the connection and then drips (or stalls) is not refusing:
    # say that it timed out, and for which versions (SSL 2.0's own hello may still have
    # been answered by a TLS record, which is a refusal of SSL 2.0 only).
    stalled = [(name, r) for name, r in zip(names or ("",) * len(replies), replies)
               if r is not None and r.status == "timeout" and r.detail.endswith("handshake")]
    if stalled and not any(r.status == "not-tls" for r in answered):
        which = ", ".join(name for name, _ in stalled if name)
        return "handshake-timeout", (
            f"timed out during the handshake: the server accepted the connection but sent "
            f"no complete answer: {stalled[0][1].detail.removesuffix(' during handshake')}"
            f"{f' ({which})' if which else ''}")
    if all(r.status in ("unreachable", "timeout") for r in answered):
        return "unreachable", next(r.detail for r in answered if r.status == "timeout")
    if any(r.status == "not-tls" for r in answered):
        return "not-tls", "the service does not speak TLS"
    return "no-handshake", "the server refused every protocol version offered"


async def probe(target: Target, options) -> TlsFact:
    port = target.port or 443
    if target.port is None:
        target = Target(target.raw, target.scheme, target.host, port, target.user, target.path)
    profile = (getattr(options, "tls_profile", "") or "intermediate").lower()
    ca_file = getattr(options, "ca_file", None) or None
    sni = _server_name(target.host)
    fact = TlsFact(target=target.raw, host=target.host, port=port, sni=sni, profile=profile,
                   ca_file=ca_file)
    try:
        address = await _resolve(target, options, float(options.timeout))
    except (OSError, TimeoutError, ValueError, UnicodeError) as exc:
        return _failed(fact, target, "unreachable",
                       f"cannot resolve {target.host}: {getattr(exc, 'strerror', None) or exc}")
    fact.address = address
    scan = _Scan(target, options, address, sni)

    trust_task = asyncio.ensure_future(_trust(scan, ca_file))
    # openssl s_client runs beside the scan (a process start and one handshake): when the
    # server turns out to speak no version below TLS 1.3, its answer is "nothing to
    # renegotiate" anyway.
    reneg_task = asyncio.ensure_future(client_renegotiation(
        address, port, sni, min(float(options.timeout), max(0.1, scan._time_left()))))
    versions = (SSL2, SSL3, TLS10, TLS11, TLS12, TLS13)
    replies = await asyncio.gather(*(scan.version(v) for v in versions))
    failure = _describe_failure(replies, tuple(VERSION_NAMES[v] for v in versions))
    if failure is not None:
        for task in (trust_task, reneg_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return _failed(fact, target, *failure)
    # Answered to our renegotiation SCSV by the newest version below TLS 1.3 (RFC 5746 3.6).
    newest = next((scan.first[v] for v in (TLS12, TLS11, TLS10, SSL3) if v in scan.first), None)
    if newest is not None:
        fact.secure_renegotiation = newest.secure_renegotiation
    heartbeat = next((v for v in (TLS12, TLS11, TLS10)
                      if v in scan.first and scan.first[v].heartbeat), None)
    if heartbeat is not None:
        fact.heartbeat = True
        fact.heartbleed = await scan.heartbleed(heartbeat, scan.first[heartbeat].suite)
    verified = await trust_task
    renegotiation = await reneg_task
    if newest is not None:
        fact.client_renegotiation = renegotiation.accepted
        fact.client_renegotiation_note = renegotiation.note
        if renegotiation.accepted is None:
            fact.diagnostics.append(Diagnostic(
                "warning", "tls-renegotiation-unknown", "client-initiated renegotiation "
                f"not checked: {renegotiation.note}", target.location))

    for version, reply in zip(versions, replies):
        name = VERSION_NAMES[version]
        if reply is not None and reply.status in ("accepted", "rejected"):
            fact.tested.append(name)
        if reply is not None and reply.accepted:
            fact.protocols.append(name)
            fact.suites[name] = reply.ssl2_ciphers if version == SSL2 else [
                SUITES[c].name if c in SUITES else f"0x{c:04x}"
                for c in sorted(scan.accepted.get(version, ()))]
        elif reply is None or reply.status in ("timeout", "unreachable", "not-tls"):
            detail = "not tested (deadline)" if reply is None else reply.detail
            fact.diagnostics.append(Diagnostic(
                "warning", "tls-version-unknown", f"{name}: {detail}", target.location))
    fact.dh_groups = dict(sorted(scan.dh_groups.items()))
    fact.groups = sorted(scan.groups)

    if verified.ca_error:
        fact.diagnostics.append(Diagnostic("error", "tls-ca-file", verified.ca_error,
                                           target.location))
    elif verified.ok:
        fact.trusted, fact.negotiated = True, verified.negotiated
    elif verified.verify_error:
        fact.trusted, fact.trust_error = False, verified.verify_error

    # The chain a client sees: from the verifying handshake, else from our own TLS <= 1.2
    # ServerHello flight, else from a handshake that does not verify.
    ders = verified.chain
    if not ders:
        raw = next((scan.first[v] for v in (TLS12, TLS11, TLS10, SSL3)
                    if v in scan.first and scan.first[v].certificates), None)
        if raw is not None:
            ders = raw.certificates
    if not ders:
        fetched = await scan.ssl(False, None)
        ders = fetched.chain
        fact.negotiated = fact.negotiated or fetched.negotiated
    for der in ders:
        try:
            fact.chain.append(parse_certificate(der))
        except Exception as exc:  # noqa: BLE001 - a malformed certificate is a fact too
            fact.diagnostics.append(Diagnostic(
                "warning", "tls-bad-certificate",
                f"a certificate in the chain cannot be read: {type(exc).__name__}",
                target.location))
    if fact.leaf is not None:
        fact.hostname_match = hostname_matches(fact.leaf, target.host)
    else:
        fact.diagnostics.append(Diagnostic(
            "warning", "tls-no-certificate", "no certificate could be read from the server",
            target.location))
    if fact.trusted is None and not verified.ca_error:
        # No handshake through the local OpenSSL (an SSL 3.0- or RC4-only server, a DH
        # group it refuses): validate the chain read off the wire instead.
        trusted, why = verify_offline(ders, ca_file, fact.checked_at) if ders else (None, "")
        if trusted is not None:
            fact.trusted, fact.trust_error = trusted, why
        else:
            fact.diagnostics.append(Diagnostic(
                "warning", "tls-trust-unknown", "the certificate's trust could not be "
                f"checked: {verified.error or why or 'no handshake completed'}",
                target.location))
    fact.partial = scan.partial
    if scan.partial:
        fact.diagnostics.append(Diagnostic(
            "error", "tls-partial", "the probe's deadline cut the cipher suite enumeration "
            "short: the suites listed may be incomplete", target.location))
    for anomaly in scan.anomalies:
        fact.diagnostics.append(Diagnostic("warning", "tls-protocol-anomaly", anomaly,
                                           target.location))
    return fact


_LOADING: dict[tuple, asyncio.Future] = {}


def store_is_partial(ca_file: str | None) -> bool:
    """Whether the verifying context for `ca_file` left out SSL_CERT_FILE's bundle."""
    return (True, ca_file) in _PARTIAL


async def verifying_context(ca_file: str | None, complete: bool = False) -> ssl.SSLContext:
    """The verifying context, built off the event loop the first time: OpenSSL reads the
    trust store (a whole bundle when SSL_CERT_FILE names one: 15-20 ms) without the GIL,
    on another core, while the loop goes on with the scan. Every probe waiting for the
    same context shares one load."""
    key = (True, ca_file, True) if complete else (True, ca_file)
    if key in _CONTEXTS:
        return _CONTEXTS[key]
    loop = asyncio.get_running_loop()
    pending = _LOADING.get(key)
    if pending is None or pending.get_loop() is not loop:
        pending = _LOADING[key] = loop.run_in_executor(None, _context, True, ca_file,
                                                       complete)
    try:
        return await asyncio.shield(pending)
    finally:
        if _LOADING.get(key) is pending and pending.done():
            del _LOADING[key]


async def _trust(scan: _Scan, ca_file: str | None) -> _Handshake:
    """Validate the chain with OpenSSL against the system store (+ the user's CA file)."""
    try:
        await verifying_context(ca_file)
    except (OSError, ssl.SSLError) as exc:
        return _Handshake(False, error="CA file unreadable",
                          ca_error=f"cannot load the CA file {ca_file}: "
                                   f"{getattr(exc, 'strerror', None) or exc}")
    result = await scan.ssl(True, ca_file)
    if not result.ok and result.verify_error and store_is_partial(ca_file):
        await verifying_context(ca_file, complete=True)      # the bundle, only now
        result = await scan.ssl(True, ca_file, complete=True)
    return result


_ANCHORS: dict[str | None, list] = {}


def _anchors(ca_file: str | None) -> list:
    """The system store's certificates, plus the user's CA file (cached)."""
    if ca_file not in _ANCHORS:
        from cryptography import x509

        found = []
        paths = [ssl.get_default_verify_paths().cafile] + ([ca_file] if ca_file else [])
        for path in paths:
            if not path:
                continue
            try:
                data = read_regular(path, MAX_CA_FILE_BYTES)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")        # odd serials in old roots
                    found += x509.load_pem_x509_certificates(data)
            except (OSError, ValueError):
                continue
        _ANCHORS[ca_file] = found
    return _ANCHORS[ca_file]


def verify_offline(ders: list[bytes], ca_file: str | None,
                   when: dt.datetime) -> tuple[bool | None, str]:
    """Validate a chain with `cryptography`'s verifier when no handshake through the local
    OpenSSL was possible (an SSL 3.0- or RC4-only server). The name is not checked here and
    the time is taken inside the leaf's validity (TLS008 judges dates). None: cannot tell."""
    try:
        from cryptography import x509
        from cryptography.x509 import verification as v
    except ImportError:  # pragma: no cover
        return None, "cryptography's verifier is not available"
    anchors = _anchors(ca_file)
    if not ders or not anchors:
        return None, "no certificate or no trust anchors"
    try:
        leaf = x509.load_der_x509_certificate(ders[0])
        rest = [x509.load_der_x509_certificate(d) for d in ders[1:]]
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return None, "the leaf has no subject alternative name"
    dns = sans.get_values_for_type(x509.DNSName)
    ips = sans.get_values_for_type(x509.IPAddress)
    if dns:
        # Any name the leaf covers, so that the host name never decides here (TLS010 does).
        name = dns[0]
        subject = v.DNSName("any" + name[1:] if name.startswith("*.") else name)
    elif ips:
        subject = v.IPAddress(ips[0])
    else:
        return None, "the leaf names no host"
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    moment = min(max(when, start + dt.timedelta(seconds=1)), end - dt.timedelta(seconds=1))
    try:
        # Lenient extension policies (cryptography >= 45): private homelab CAs often lack
        # what the Web PKI profile requires; trust is what is asked here, not compliance.
        ca_policy = v.ExtensionPolicy.permit_all().require_present(
            x509.BasicConstraints, v.Criticality.AGNOSTIC, None)
        ee_policy = v.ExtensionPolicy.permit_all().require_present(
            x509.SubjectAlternativeName, v.Criticality.AGNOSTIC, None)
    except AttributeError:
        return None, "this cryptography has no configurable verifier (45 or later needed)"
    try:
        builder = v.PolicyBuilder().store(v.Store(anchors)).time(moment)
        builder = builder.extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        builder.build_server_verifier(subject).verify(leaf, rest)
        return True, ""
    except v.VerificationError as exc:
        text = str(exc)
        if "signature algorithm" in text.lower() or "key" in text.lower():
            return None, text                  # refused for what other rules judge
        if leaf.subject == leaf.issuer:
            return False, "self-signed certificate"
        if "no interior errors" in text:
            return False, "unable to get local issuer certificate"
        return False, text
    except (ValueError, TypeError) as exc:     # e.g. a name the verifier cannot take
        return None, str(exc)


def _failed(fact: TlsFact, target: Target, code: str, message: str) -> TlsFact:
    fact.error = message
    fact.diagnostics.append(Diagnostic("error", code, f"TLS: {message}", target.location))
    return fact


# --- facts from YAML (rule fixtures) ----------------------------------------------------

def _datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_CERT_FIELDS = {f.name for f in fields(CertInfo)}
_FACT_FIELDS = {f.name for f in fields(TlsFact)}


def fact_from_dict(data: dict) -> TlsFact:
    """A TlsFact from plain data (YAML, JSON): dates as ISO text, certificates as mappings."""
    data = dict(data)
    unknown = set(data) - _FACT_FIELDS
    if unknown:
        raise ValueError(f"unknown TLS fact fields: {', '.join(sorted(unknown))}")
    chain = []
    for cert in data.pop("chain", None) or ():
        cert = dict(cert)
        bad = set(cert) - _CERT_FIELDS
        if bad:
            raise ValueError(f"unknown certificate fields: {', '.join(sorted(bad))}")
        cert["not_before"] = _datetime(cert.get("not_before", "2000-01-01"))
        cert["not_after"] = _datetime(cert.get("not_after", "2100-01-01"))
        cert.setdefault("subject", "")
        cert.setdefault("issuer", "")
        chain.append(CertInfo(**cert))
    if "checked_at" in data:
        data["checked_at"] = _datetime(data["checked_at"])
    if "target" in data and ("host" not in data or "port" not in data):
        from urllib.parse import urlsplit

        parts = urlsplit(str(data["target"]))
        data.setdefault("host", parts.hostname or "localhost")
        data.setdefault("port", parts.port or 443)
    data.setdefault("host", "localhost")
    data.setdefault("port", 443)
    data.setdefault("target", f"https://{data['host']}:{data['port']}")
    return TlsFact(chain=chain, **data)


def facts_from_yaml(path) -> list[TlsFact]:
    """Facts described in a YAML list (the rule fixtures' facts.yaml)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        items = yaml.safe_load(handle) or []
    if not isinstance(items, list):
        raise TypeError(f"{path}: expected a list of TLS facts")
    return [fact_from_dict(item) for item in items]
