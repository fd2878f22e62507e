"""The `creds` probe: does a service the user named accept its vendor's default
credentials? (seed 1.1.1: Grafana admin/admin, NPM admin@example.com/changeme, PostgreSQL
postgres/postgres…)

Runs only with `options.check_default_credentials`, only against the named targets, and
only after the service has been recognised (`detect`), with at most 3 credentials per
service. The credentials are data (`default_credentials.yaml`): a new entry needs no code
unless it speaks a new protocol. Handlers:

  * `postgres`    the PostgreSQL frontend/backend protocol, written here: SSLRequest
                  (TLS when offered), StartupMessage, then trust, cleartext,
                  AuthenticationMD5Password or SASL SCRAM-SHA-256 (RFC 5802/7677) with
                  hashlib/hmac, the server's signature verified;
  * `http-login`  an HTTP request (JSON, form or basic authentication) via httpx.

Passwords never leave this module's locals: facts record usernames and outcomes only, and
every error is reported by its type, never by its text.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import ssl
import struct
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from labwarden.model import Diagnostic, Location

MAX_ATTEMPTS = 3
DATA_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                         "knowledge", "default_credentials.yaml")


@dataclass(slots=True)
class CredentialCheck:
    """The outcome of trying one service's default credentials. No password in here."""

    target: str
    service: str                     # key of the data file, e.g. "postgresql"
    name: str                        # e.g. "PostgreSQL"
    endpoint: str                    # what was contacted: tcp://127.0.0.1:5432, a URL
    accepted: list[str] = field(default_factory=list)      # usernames let in by the default
    no_password: list[str] = field(default_factory=list)   # let in without any password
    rejected: list[str] = field(default_factory=list)
    attempts: int = 0
    error: str | None = None
    diagnostics: list = field(default_factory=list)
    origin: Location | None = None

    @property
    def asset(self) -> str:
        return f"{self.service}:{self.endpoint.split('://', 1)[-1].rstrip('/')}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)


@dataclass(frozen=True, slots=True)
class _Credential:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:          # never the password, even in a traceback
        return f"_Credential(username={self.username!r})"


class _Failure(Exception):
    """A handler's failure, by kind only (its message never quotes data)."""


@lru_cache(maxsize=4)
def load_entries(path: str = DATA_FILE) -> tuple[dict, ...]:
    import yaml

    with open(path, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle) or []
    return tuple(e for e in entries if isinstance(e, dict) and e.get("service"))


def _credentials(entry: dict) -> list[_Credential]:
    found = []
    for item in (entry.get("credentials") or [])[:MAX_ATTEMPTS]:
        if isinstance(item, dict) and item.get("username") is not None:
            found.append(_Credential(str(item["username"]), str(item.get("password") or "")))
    return found


# --- the probe -------------------------------------------------------------------------------

async def probe(target, options, entries: tuple[dict, ...] | None = None) -> list:
    if not getattr(options, "check_default_credentials", False):
        return []
    entries = load_entries() if entries is None else entries
    facts: list[CredentialCheck] = []
    for entry in entries:
        if target.scheme not in (entry.get("schemes") or []):
            continue
        handler = _HANDLERS.get(entry.get("protocol"))
        if handler is None:
            continue
        ports = [target.port] if target.port else list(entry.get("ports") or [])
        if target.scheme != "tcp":
            ports = [target.port]
        for port in ports:
            try:
                fact = await handler(target, port, entry, options)
            except Exception as exc:  # noqa: BLE001 - a handler bug must not end the audit
                fact = CredentialCheck(target.raw, entry["service"], entry.get("name", ""),
                                       f"{target.scheme}://{target.address}",
                                       error=f"check failed ({type(exc).__name__})")
                fact.diagnostics.append(Diagnostic("error", "probe-failed", f"default "
                                        f"credentials of {fact.name} not checked: {fact.error}",
                                        target.location))
            if fact is not None:
                facts.append(fact)
    if not facts and target.scheme in ("http", "https"):
        # Asked for, and nothing was tried: say so, rather than an empty report that reads
        # as "no default credentials here".
        names = sorted({str(e.get("name") or e["service"]) for e in entries
                        if target.scheme in (e.get("schemes") or [])})
        fact = CredentialCheck(target.raw, "unknown", "an application", _base_url(target) + "/",
                               error="no application it knows was recognised here")
        fact.diagnostics.append(Diagnostic(
            "gap", "credentials-not-checked", f"{fact.endpoint}: default credentials not "
            f"checked: none of the applications labwarden knows ({', '.join(names)}) was "
            "recognised there", target.location))
        facts.append(fact)
    return facts


# --- PostgreSQL ------------------------------------------------------------------------------

_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_PROTOCOL_3 = 196608


class _PgStream:
    def __init__(self, reader, writer, timeout: float):
        self.reader, self.writer, self.timeout = reader, writer, timeout

    async def read_exactly(self, n: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(n), self.timeout)

    async def message(self) -> tuple[bytes, bytes]:
        header = await self.read_exactly(5)
        kind, length = header[:1], struct.unpack("!i", header[1:])[0]
        if length < 4 or length > 1 << 20:
            raise _Failure("malformed message")
        return kind, await self.read_exactly(length - 4)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), self.timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.write(b"X\x00\x00\x00\x04")          # Terminate
        self.writer.transport.abort()


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def _startup(user: str, database: str) -> bytes:
    body = struct.pack("!i", _PROTOCOL_3)
    for key, value in (("user", user), ("database", database),
                       ("application_name", "labwarden")):
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def _error_code(payload: bytes) -> str:
    for field_ in payload.split(b"\0"):
        if field_[:1] == b"C":
            return field_[1:].decode("ascii", "replace")
    return ""


def _saslprep(password: str) -> str:
    # RFC 4013 in short: map non-ASCII spaces to space, normalise NFKC. PostgreSQL uses the
    # raw password when SASLprep fails, which ASCII passwords never do.
    if password.isascii():
        return password
    mapped = "".join(" " if unicodedata.category(c) == "Zs" else c for c in password)
    return unicodedata.normalize("NFKC", mapped)


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


class _Scram:
    """SCRAM-SHA-256 client, RFC 5802 and 7677, without channel binding."""

    def __init__(self, password: str):
        self._password = _saslprep(password).encode("utf-8")
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        # PostgreSQL ignores the SCRAM user name (the startup message names the user)
        self.first_bare = f"n=,r={self.nonce}"
        self._server_signature = b""

    def __repr__(self) -> str:
        return "_Scram()"

    def client_first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first: bytes) -> bytes:
        text = server_first.decode("utf-8")
        attrs = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        nonce, salt, iterations = attrs.get("r", ""), attrs.get("s", ""), attrs.get("i", "")
        if not nonce.startswith(self.nonce) or not salt or not iterations.isdigit():
            raise _Failure("invalid SCRAM server-first-message")
        count = int(iterations)
        if not 1 <= count <= 10_000_000:
            raise _Failure("SCRAM iteration count out of range")
        salted = hashlib.pbkdf2_hmac("sha256", self._password, base64.b64decode(salt), count)
        client_key = _hmac(salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = _hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self._server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        text = server_final.decode("utf-8", "replace")
        if not text.startswith("v="):
            return False
        try:
            received = base64.b64decode(text[2:].split(",")[0])
        except ValueError:
            return False
        return hmac.compare_digest(received, self._server_signature)


class _NotPostgres(Exception):
    """The port answered, but not as PostgreSQL: why, in words (nothing it sent)."""


# OpenSSL's words for bytes that are no TLS record at all (an SSH banner's "SH-2.0-…"
# after the "S" that looked like PostgreSQL's yes to SSLRequest).
_NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                    "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "UNEXPECTED_EOF_WHILE_READING")


async def _pg_open(host: str, port: int, timeout: float) -> _PgStream:
    """Connect and negotiate TLS as libpq's sslmode=prefer would. Raises _NotPostgres when
    the port speaks something else; nothing but SSLRequest has been sent then."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    stream = _PgStream(reader, writer, timeout)
    try:
        await stream.send(_SSL_REQUEST)
        answer = await stream.read_exactly(1)
    except TimeoutError:
        writer.transport.abort()
        raise _NotPostgres(f"no answer to PostgreSQL's SSLRequest within {timeout:g} s "
                           "(PostgreSQL answers it at once)") from None
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.transport.abort()
        raise _NotPostgres("the service closed the connection at PostgreSQL's "
                           "SSLRequest") from None
    if answer == b"S":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE   # the credentials tried are public defaults
        try:
            await asyncio.wait_for(writer.start_tls(context, server_hostname=host), timeout)
        except ssl.SSLError as exc:
            writer.transport.abort()
            if (exc.reason or "") in _NOT_TLS_REASONS:
                raise _NotPostgres("what followed its answer to PostgreSQL's SSLRequest is "
                                   "not a TLS handshake (another protocol, e.g. SSH, which "
                                   "speaks first)") from None
            raise
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.transport.abort()
            raise _NotPostgres("the service closed the connection at the TLS handshake "
                               "PostgreSQL's answer announced") from None
    elif answer != b"N":
        writer.transport.abort()
        raise _NotPostgres("its answer to PostgreSQL's SSLRequest is not PostgreSQL's")
    return stream


async def _pg_attempt(host: str, port: int, database: str, credential: _Credential,
                      timeout: float) -> str:
    """One login: "accepted", "no-password", "rejected". Raises _NotPostgres."""
    stream = await _pg_open(host, port, timeout)
    scram: _Scram | None = None
    sent_password = False
    try:
        await stream.send(_startup(credential.username, database))
        while True:
            kind, payload = await stream.message()
            if kind == b"E":
                code = _error_code(payload)
                # 28P01 invalid_password, 28000 invalid_authorization_specification
                # (no pg_hba.conf entry, role may not log in): either way, not let in
                if code.startswith("28"):
                    return "rejected"
                raise _Failure(f"server error {code or 'without a code'}")
            if kind == b"v" or kind == b"N":          # protocol negotiation, notice
                continue
            if kind != b"R":
                raise _Failure("unexpected message before authentication")
            (code,) = struct.unpack("!i", payload[:4])
            if code == 0:
                return "accepted" if sent_password else "no-password"
            if code == 3:                               # cleartext
                await stream.send(_message(b"p", credential.password.encode() + b"\0"))
                sent_password = True
            elif code == 5:                             # MD5 with a 4-byte salt
                salt = payload[4:8]
                inner = hashlib.md5((credential.password + credential.username).encode())
                outer = hashlib.md5(inner.hexdigest().encode() + salt).hexdigest()
                await stream.send(_message(b"p", b"md5" + outer.encode() + b"\0"))
                sent_password = True
            elif code == 10:                            # SASL: mechanisms offered
                mechanisms = payload[4:].split(b"\0")
                if b"SCRAM-SHA-256" not in mechanisms:
                    raise _Failure("no supported SASL mechanism")
                scram = _Scram(credential.password)
                first = scram.client_first()
                await stream.send(_message(b"p", b"SCRAM-SHA-256\0" +
                                           struct.pack("!i", len(first)) + first))
            elif code == 11 and scram is not None:      # SASLContinue
                await stream.send(_message(b"p", scram.client_final(payload[4:])))
                sent_password = True
            elif code == 12 and scram is not None:      # SASLFinal
                if not scram.verify(payload[4:]):
                    raise _Failure("the server's SCRAM signature does not verify")
            else:
                raise _Failure(f"unsupported authentication request {code}")
    finally:
        stream.close()


async def _postgres(target, port: int, entry: dict, options) -> CredentialCheck | None:
    timeout = float(options.timeout)
    endpoint = f"tcp://{target.host if ':' not in target.host else f'[{target.host}]'}:{port}"
    fact = CredentialCheck(target.raw, entry["service"], entry.get("name", "PostgreSQL"),
                           endpoint)
    database = str(entry.get("database") or "postgres")
    for credential in _credentials(entry):
        fact.attempts += 1
        try:
            outcome = await _pg_attempt(target.host, port, database, credential, timeout)
        except _NotPostgres as exc:
            if target.port is None:
                return None        # a default port the user did not name: nothing to say
            # The port the user named speaks something else: the check does not apply.
            # A coverage note, not an input error: nothing was wrong with what was named.
            fact.attempts -= 1
            fact.error = f"not {fact.name}: {exc}"
            fact.diagnostics.append(Diagnostic(
                "warning", "credentials-not-applicable",
                f"{endpoint}: {fact.name} default credentials not checked: the port does not "
                f"speak {fact.name}: {exc}", target.location))
            return fact
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            if fact.attempts == 1 and target.port is None and isinstance(
                    exc, (ConnectionRefusedError, TimeoutError)):
                return None                 # nothing listens on the default port: no fact
            return _failed(fact, target, "unreachable", type(exc).__name__)
        except (_Failure, ssl.SSLError, ValueError, struct.error, UnicodeError) as exc:
            return _failed(fact, target, "probe-failed", str(exc) if isinstance(exc, _Failure)
                           else type(exc).__name__)
        {"accepted": fact.accepted, "no-password": fact.no_password,
         "rejected": fact.rejected}[outcome].append(credential.username)
        if outcome == "no-password":
            break
    return fact


def _failed(fact: CredentialCheck, target, code: str, why: str) -> CredentialCheck:
    fact.error = f"{fact.name} default credentials not checked: {why}"
    fact.diagnostics.append(Diagnostic("error", code, fact.error, target.location))
    return fact


# --- HTTP logins ---------------------------------------------------------------------------

def _fill(template, credential: _Credential):
    if isinstance(template, str):
        return template.replace("{username}", credential.username).replace(
            "{password}", credential.password)
    if isinstance(template, dict):
        return {k: _fill(v, credential) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, credential) for v in template]
    return template


def _json_keys(response, keys) -> bool:
    if not keys:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(k in body for k in keys)


def _detected(response, spec: dict) -> bool:
    statuses = spec.get("status")
    if statuses:
        if response.status_code not in statuses:
            return False
    elif not 200 <= response.status_code < 300:
        return False
    if not _json_keys(response, spec.get("json_keys")):
        return False
    if spec.get("contains") and spec["contains"] not in response.text:
        return False
    for name, needle in (spec.get("header") or {}).items():
        if needle not in response.headers.get(name, ""):
            return False
    return True


def _succeeded(response, spec: dict) -> bool:
    statuses = spec.get("status") or [200]
    if response.status_code not in statuses:
        return False
    if spec.get("cookie") and spec["cookie"] not in response.cookies:
        return False
    return _json_keys(response, spec.get("json_keys"))


def _base_url(target) -> str:
    return f"{target.scheme}://{target.address}{target.path.rstrip('/')}"


async def _http_login(target, port, entry: dict, options) -> CredentialCheck | None:
    import httpx

    timeout = float(options.timeout)
    base = _base_url(target)
    fact = CredentialCheck(target.raw, entry["service"], entry.get("name", entry["service"]),
                           base + "/")
    detect = entry.get("detect") or {}
    login = entry.get("login") or {}
    # The credentials tried are published defaults: an unverified TLS connection reveals
    # nothing, and homelab services often use a private or self-signed certificate.
    async with httpx.AsyncClient(verify=False, follow_redirects=False, timeout=timeout,
                                 trust_env=False,
                                 headers={"User-Agent": "labwarden"}) as client:
        try:
            response = await client.request(detect.get("method", "GET"),
                                            base + detect.get("path", "/"))
        except (TimeoutError, httpx.HTTPError, OSError):
            return None             # the http probe reports unreachable targets
        if not _detected(response, detect):
            return None
        for credential in _credentials(entry):
            fact.attempts += 1
            kwargs: dict = {}
            if login.get("json") is not None:
                kwargs["json"] = _fill(login["json"], credential)
            elif login.get("form") is not None:
                kwargs["data"] = _fill(login["form"], credential)
            if login.get("auth") == "basic":
                kwargs["auth"] = httpx.BasicAuth(credential.username, credential.password)
            try:
                response = await client.request(login.get("method", "POST"),
                                                 base + login.get("path", "/login"), **kwargs)
            except (TimeoutError, httpx.HTTPError, OSError) as exc:
                return _failed(fact, target, "unreachable", type(exc).__name__)
            finally:
                kwargs.clear()
            client.cookies.clear()
            if _succeeded(response, login.get("success") or {}):
                fact.accepted.append(credential.username)
            else:
                fact.rejected.append(credential.username)
    return fact


_HANDLERS = {"postgres": _postgres, "http-login": _http_login}


# --- fixtures --------------------------------------------------------------------------------

def facts_from_yaml(path: str) -> list[CredentialCheck]:
    """Credential checks described in a fixture: a YAML list of `{target, service, name,
    endpoint, accepted: [users], no_password: [users], rejected: [users]}`."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("- ")]
    facts = []
    for index, item in enumerate(yaml.safe_load(text) or []):
        target = str(item.get("target", "tcp://db.lab:5432"))
        facts.append(CredentialCheck(
            target, str(item.get("service", "postgresql")), str(item.get("name", "PostgreSQL")),
            str(item.get("endpoint", target)), list(item.get("accepted") or []),
            list(item.get("no_password") or []), list(item.get("rejected") or []),
            int(item.get("attempts", 1)), item.get("error"),
            origin=Location(path, lines[index] if index < len(lines) else 0)))
    return facts
