"""HTTP response facts for `https://` and `http://` targets (seed 3.2, 7.1, 7.3.1, 9.2.5).

One GET of the URL the user named, never following a redirect (a 3xx is recorded with its
`Location`), and for an https target one GET of the same host's plain-HTTP port to see
whether it redirects to https. The fact keeps the status, every response header in order
(repeated headers stay separate), the `Set-Cookie` headers parsed into names and flags
(never a value), and from an HTML body (its first 128 KiB) the `<meta>` policies and the
scripts it loads. Nothing here judges: `labwarden.rules.headers` does.

TLS is verified against the system store plus `options.ca_file`. When verification (or the
handshake with a modern client) fails, the headers are still collected over a second,
unverified connection and the fact says so (`tls_verified=False`, `tls_error`); judging the
certificate is the TLS probe's job.

Every request is bounded as a whole, not only each read: the status line and headers get
`options.timeout` seconds in all, and an HTML body (read only for its <head>) as much
again, after which the headers are judged alone. A server that drips one byte a second
never trips a read timeout but still costs at most that much. The main request and the
plain-HTTP one run concurrently.

The plain-HTTP port of an https target: 80 for 443, and `xx080` for `xx443` (8080 for 8443,
18080 for 18443); `options.http_port` (when the lead adds it) overrides that, and 0 turns
the check off. Other https ports (Proxmox's 8006…) have no derivable plain port: the check
is skipped and `plain_note` says why.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from labwarden.model import Diagnostic, Location
from labwarden.sources.live.targets import Target, parse_target

if TYPE_CHECKING:                    # the network modules load only when a probe runs
    import ssl

USER_AGENT = "labwarden/0.1 (security header audit)"
BODY_LIMIT = 128 * 1024          # enough for <head> of any real page
REASONABLE_HEADER_BYTES = 4096   # longer header values are cut (a hostile server)


# --- facts ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Cookie:
    """One `Set-Cookie` header: the name and the attributes, never the value."""

    name: str
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None     # Strict | Lax | None as normalised, else as written
    path: str | None = None
    domain: str | None = None
    expired: bool = False            # a deletion: Max-Age <= 0 or Expires in the past

    @property
    def same_site_valid(self) -> bool:
        return self.same_site in ("Strict", "Lax", "None")

    @property
    def flags(self) -> str:
        parts = [p for p, on in (("Secure", self.secure), ("HttpOnly", self.http_only)) if on]
        if self.same_site is not None:
            parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts) or "no flags"


@dataclass(slots=True)
class Script:
    """A `<script src>` of the HTML body, resolved against the page URL."""

    src: str
    integrity: bool = False


@dataclass(slots=True)
class PlainHttp:
    """The plain-HTTP port of an https target: what it answered, not followed."""

    url: str
    port: int
    status: int | None = None
    location: str | None = None      # Location of a 3xx, as sent
    error: str | None = None         # refused | timeout | tls | another failure
    detail: str = ""


@dataclass
class HttpFact:
    target: str                      # the target as the user wrote it
    url: str                         # what was requested
    scheme: str = "https"
    host: str = ""
    port: int = 443
    path: str = "/"
    status: int | None = None
    http_version: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # lower-case names, in order
    cookies: list[Cookie] = field(default_factory=list)
    redirect: str | None = None      # Location of a 3xx answer, as sent (never followed)
    tls_verified: bool | None = None  # None for http targets
    tls_error: str | None = None
    html: bool = False               # the body was HTML and its head was read
    meta: list[tuple[str, str]] = field(default_factory=list)  # (http-equiv/name, content)
    scripts: list[Script] = field(default_factory=list)
    plain: PlainHttp | None = None
    plain_note: str = ""             # why the plain-HTTP port was not checked
    error: str | None = None
    diagnostics: list = field(default_factory=list)
    origin: Location | None = None   # where a fact written in YAML came from

    # -- identity -------------------------------------------------------------------------
    @property
    def asset(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = "" if self.path in ("", "/") else self.path
        return f"http:{host}:{self.port}{suffix}"

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)

    # -- header access --------------------------------------------------------------------
    def values(self, name: str) -> list[str]:
        """Every value of a header, in order (repeated headers are separate values)."""
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None

    def list_values(self, name: str) -> list[str]:
        """A comma-separated list header, as browsers combine repeated headers."""
        return [item.strip() for value in self.values(name) for item in value.split(",")
                if item.strip()]

    def meta_values(self, name: str) -> list[str]:
        name = name.lower()
        return [content for key, content in self.meta if key == name]

    @property
    def is_redirect(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    @property
    def is_ip(self) -> bool:
        return _is_ip(self.host)


# --- parsing shared by the probe and the YAML loader ----------------------------------------

_TOKEN_SPLIT = re.compile(r"\s*;\s*")


def parse_set_cookie(value: str, now: dt.datetime | None = None) -> Cookie:
    """Parse one Set-Cookie header as RFC 6265bis user agents do; the value is dropped."""
    now = now or dt.datetime.now(dt.timezone.utc)
    parts = value.split(";")
    pair = parts[0]
    name = pair.split("=", 1)[0].strip() if "=" in pair else ""
    cookie = Cookie(name=name)
    max_age: int | None = None
    expires: dt.datetime | None = None
    for attribute in parts[1:]:
        key, _, val = attribute.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key == "secure":
            cookie.secure = True
        elif key == "httponly":
            cookie.http_only = True
        elif key == "samesite":
            normal = {"strict": "Strict", "lax": "Lax", "none": "None"}.get(val.lower())
            cookie.same_site = normal or val
        elif key == "path":
            cookie.path = val or None
        elif key == "domain":
            cookie.domain = val.lstrip(".") or None
        elif key == "max-age":
            if re.fullmatch(r"-?\d+", val):
                max_age = int(val)
        elif key == "expires":
            expires = _cookie_date(val)
    if max_age is not None:
        cookie.expired = max_age <= 0
    elif expires is not None:
        cookie.expired = expires <= now
    return cookie


def _cookie_date(text: str) -> dt.datetime | None:
    import email.utils

    try:
        parsed = email.utils.parsedate_to_datetime(text.replace("-", " "))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@functools.lru_cache(maxsize=1)
def _head_parser_class():
    from html.parser import HTMLParser

    class _HeadParser(HTMLParser):
        """Collects `<meta http-equiv>` / `<meta name=referrer>` and `<script src>`."""

        META_EQUIV = ("content-security-policy", "referrer-policy", "x-frame-options")

        def __init__(self, base: str):
            super().__init__(convert_charrefs=True)
            self.base = base
            self.meta: list[tuple[str, str]] = []
            self.scripts: list[Script] = []

        def handle_starttag(self, tag, attrs):
            attributes = {k.lower(): (v or "") for k, v in attrs}
            if tag == "meta":
                content = attributes.get("content")
                equiv = attributes.get("http-equiv", "").strip().lower()
                name = attributes.get("name", "").strip().lower()
                if content is None:
                    return
                if equiv in self.META_EQUIV:
                    self.meta.append((equiv, content[:REASONABLE_HEADER_BYTES]))
                elif name == "referrer":
                    self.meta.append(("referrer-policy", content[:REASONABLE_HEADER_BYTES]))
            elif tag == "script" and attributes.get("src", "").strip():
                src = urljoin(self.base, attributes["src"].strip())
                self.scripts.append(Script(src, bool(attributes.get("integrity", "").strip())))

    return _HeadParser


def parse_html(body: str, base: str) -> tuple[list[tuple[str, str]], list[Script]]:
    parser = _head_parser_class()(base)
    try:
        parser.feed(body)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; keep what it found
        pass
    return parser.meta, parser.scripts


def _content_is_html(headers: list[tuple[str, str]]) -> bool:
    types = [v for k, v in headers if k == "content-type"]
    return bool(types) and types[0].split(";")[0].strip().lower() in (
        "text/html", "application/xhtml+xml")


def build_fact(target: Target, *, status: int | None = None, headers=None,
               http_version: str = "", body: str | None = None, **extra) -> HttpFact:
    """A fact from a response as received: the one place headers become a fact."""
    pairs = [(k.lower(), v[:REASONABLE_HEADER_BYTES]) for k, v in (headers or [])]
    now = _response_date(pairs)
    cookies = [parse_set_cookie(v, now) for k, v in pairs if k == "set-cookie"]
    pairs = [(k, _scrub(k, v)) for k, v in pairs]
    fact = HttpFact(target=target.raw, url=target.url, scheme=target.scheme,
                    host=target.host, port=target.port or (443 if target.scheme == "https"
                                                           else 80),
                    path=target.path or "/", status=status, http_version=http_version,
                    headers=pairs, **extra)
    fact.cookies = cookies
    if fact.is_redirect:
        fact.redirect = fact.first("location")
    if body is not None and _content_is_html(pairs):
        fact.html = True
        fact.meta, fact.scripts = parse_html(body, fact.url)
    return fact


_SECRET_HEADER = re.compile(r"token|secret|api-?key|password|^(proxy-)?authorization$", re.I)


def _scrub(name: str, value: str) -> str:
    """Header values as the fact keeps them: a cookie's value and anything that looks like
    a credential are replaced by their length (the fact may be printed or saved)."""
    if name == "set-cookie":
        pair, sep, attributes = value.partition(";")
        cookie_name, equals, cookie_value = pair.partition("=")
        if not equals:
            return f"…({len(pair.strip())} chars){sep}{attributes}"
        return f"{cookie_name.strip()}=…({len(cookie_value.strip())} chars){sep}{attributes}"
    if _SECRET_HEADER.search(name):
        return f"…({len(value)} chars)"
    return value


def _response_date(pairs: list[tuple[str, str]]) -> dt.datetime:
    for key, value in pairs:
        if key == "date":
            parsed = _cookie_date(value)
            if parsed:
                return parsed
    return dt.datetime.now(dt.timezone.utc)


def safe_url(url: str | None) -> str:
    """A URL to print: no credentials, no query string or fragment (they may hold tokens)."""
    if not url:
        return "(no Location)"
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(an unparseable Location)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    prefix = f"{parts.scheme}://{host}{port}" if parts.scheme or host else ""
    if not parts.scheme and host:
        prefix = f"//{host}{port}"
    query = "?…" if parts.query else ""
    return f"{prefix}{parts.path or ('/' if prefix else '')}{query}"[:200]


# --- structured header values (parsing, not judging) ----------------------------------------

@dataclass(slots=True)
class Hsts:
    raw: str
    max_age: int | None = None
    include_subdomains: bool = False
    preload: bool = False
    error: str | None = None         # why a browser would ignore the header


def parse_hsts(value: str) -> Hsts:
    """RFC 6797 §6.1: directives once each, max-age required and a number."""
    result = Hsts(raw=value)
    seen: set[str] = set()
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        name, _, val = part.partition("=")
        name = name.strip().lower()
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        if name in seen:
            result.error = f"directive {name} appears twice"
            return result
        seen.add(name)
        if name == "max-age":
            if not re.fullmatch(r"\d+", val):
                result.error = f"max-age {val!r} is not a number"
                return result
            result.max_age = int(val)
        elif name == "includesubdomains":
            result.include_subdomains = True
        elif name == "preload":
            result.preload = True
    if result.max_age is None:
        result.error = "no max-age directive"
    return result


@dataclass(slots=True)
class Csp:
    """One policy: directive -> sources (lower-cased), the first occurrence of each."""

    raw: str
    directives: dict[str, list[str]] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    source: str = "header"           # header | meta

    def get(self, *names: str) -> list[str] | None:
        """The first directive present among `names` (a fallback chain)."""
        for name in names:
            if name in self.directives:
                return self.directives[name]
        return None


# Directives a <meta> policy may not carry (HTML spec): browsers ignore them there.
META_FORBIDDEN = ("frame-ancestors", "report-uri", "sandbox")
_DIRECTIVE_NAME = re.compile(r"^[a-z0-9-]+$")


def parse_csp(value: str, source: str = "header") -> list[Csp]:
    """A header value is a comma-separated list of policies (CSP3 §2.2); in a policy, a
    repeated directive is ignored after its first occurrence."""
    policies = []
    for text in value.split(","):
        text = text.strip()
        if not text:
            continue
        policy = Csp(raw=text, source=source)
        for chunk in text.split(";"):
            tokens = chunk.split()
            if not tokens:
                continue
            name = tokens[0].lower()
            if not _DIRECTIVE_NAME.match(name):
                continue
            if source == "meta" and name in META_FORBIDDEN:
                continue
            if name in policy.directives:
                policy.duplicates.append(name)
                continue
            policy.directives[name] = [t.lower() for t in tokens[1:]]
        policies.append(policy)
    return policies


def csp_policies(fact: HttpFact) -> list[Csp]:
    """Every enforced policy: the headers', then the HTML <meta> ones."""
    found = [p for v in fact.values("content-security-policy") for p in parse_csp(v)]
    found += [p for v in fact.meta_values("content-security-policy")
              for p in parse_csp(v, "meta")]
    return found


# --- YAML fixtures --------------------------------------------------------------------------

_YAML_FIELDS = {f.name for f in fields(HttpFact)}


def facts_from_yaml(path) -> list[HttpFact]:
    """Facts written in YAML: a list of mappings with HttpFact's fields.

    `target` (the URL) is required; `headers` is a mapping (a list value for a repeated
    header) or a list of `[name, value]` pairs; cookies come from the `set-cookie` headers
    unless `cookies` is given; `plain` is a mapping of PlainHttp's fields; an extra `body`
    key holds HTML to read as the probe would. Each fact's `location` is the file and the
    line of its first key, so `# ruleid:` markers can be matched.
    """
    import yaml

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    data = yaml.safe_load(text) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of facts")
    lines = [item.start_mark.line + 1 for item in node.value] if node is not None else []
    facts = []
    for item, line in zip(data, lines):
        facts.append(fact_from_mapping(item, Location(str(path), line)))
    return facts


def fact_from_mapping(item: dict, origin: Location | None = None) -> HttpFact:
    item = dict(item)
    target = parse_target(str(item.pop("target")))
    raw_headers = item.pop("headers", None) or []
    if isinstance(raw_headers, dict):
        pairs = []
        for name, value in raw_headers.items():
            for one in value if isinstance(value, list) else [value]:
                pairs.append((str(name), str(one)))
    else:
        pairs = [(str(n), str(v)) for n, v in raw_headers]
    body = item.pop("body", None)
    cookies = item.pop("cookies", None)
    plain = item.pop("plain", None)
    unknown = set(item) - _YAML_FIELDS
    if unknown:
        raise ValueError(f"unknown fact fields: {sorted(unknown)}")
    for derived in ("url", "scheme", "host", "port", "path"):
        item.pop(derived, None)
    if "status" not in item and not item.get("error"):
        item["status"] = 200
    if target.scheme == "https" and "tls_verified" not in item and not item.get("error"):
        item["tls_verified"] = True
    if body is not None and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("content-type", "text/html"))
    fact = build_fact(target, headers=pairs, body=body, origin=origin, **item)
    if cookies is not None:
        fact.cookies = [Cookie(**c) for c in cookies]
    if plain is not None:
        port = int(plain.get("port", 80))
        plain = dict(plain)
        plain.setdefault("url", f"http://{target.host}:{port}{target.path}")
        fact.plain = PlainHttp(**plain)
    return fact


# --- the probe ------------------------------------------------------------------------------

def _is_ip(host: str) -> bool:
    import ipaddress
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=8)
def _verified_context(ca_file: str | None) -> ssl.SSLContext:
    """The browser's question only: does the chain lead to a trusted root (the system store
    plus the user's CA) and name the host, within its dates? Key sizes, signature hashes
    and old protocol versions are the TLS rules' findings (TLS012, TLS013, TLS001), not a
    reason to call the chain untrusted, so OpenSSL's security level is 0 here, as in the
    TLS probe's verifying handshake, and a CA file may anchor a partial chain there too."""
    import ssl

    from labwarden.sources._read import read_ca_file

    from labwarden.sources.live.tls import load_system_store

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)     # verifies, checks the host name
    load_system_store(context)       # the hashed directory: no parsing of the whole bundle
    _allow_old_protocols(context)
    if ca_file:
        context.load_verify_locations(cadata=read_ca_file(ca_file))
        context.verify_flags |= 0x80000          # X509_V_FLAG_PARTIAL_CHAIN, as the TLS probe
    return context


def _allow_old_protocols(context) -> None:
    """TLS 1.0 and every cipher: the headers of an old server are read too (the TLS rules
    judge its protocols; an OpenSSL that refuses them is left as it is)."""
    import ssl
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # TLSv1: deliberately allowed
        try:
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass


@functools.lru_cache(maxsize=1)
def _lenient_context() -> ssl.SSLContext:
    """For reading headers when verification failed: any certificate, old protocols too."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _allow_old_protocols(context)
    return context


def plain_port_for(target: Target, options) -> tuple[int | None, str]:
    """The plain-HTTP port to check for an https target, or None and why not."""
    override = getattr(options, "http_port", None)
    if override is not None:
        return (int(override), "") if override else (None, "plain-HTTP check disabled")
    port = target.port or 443
    if port % 1000 == 443:
        return port - 363, ""                   # 443 -> 80, 8443 -> 8080, 18443 -> 18080
    return None, (f"no plain-HTTP port is known for https port {port} "
                  f"(80 goes with 443, xx080 with xx443)")


def _pinned_address(target: Target, options) -> str | None:
    """An address given for the host, curl --resolve style (the TLS probe's option)."""
    mapping = getattr(options, "resolve", None) or {}
    return mapping.get(f"{target.host}:{target.port}") or mapping.get(target.host)


_REQUEST_HEADERS = [("User-Agent", USER_AGENT), ("Accept", "text/html,*/*")]


async def _fetch(target: Target, options, port: int, path: str, context, read_body: bool):
    """GET the path; (status, headers, http_version, body or None). Headers and body each
    get `timeout` seconds as a whole; a body that does not arrive in time is skipped.
    Raises http_wire.WireFailure."""
    import asyncio

    from labwarden.sources.live import http_wire

    timeout = float(options.timeout)
    response = await http_wire.get(target.host, port, path, context=context,
                                   address=_pinned_address(target, options),
                                   timeout=timeout, headers=_REQUEST_HEADERS)
    try:
        body = None
        if read_body and _content_is_html([(k.lower(), v) for k, v in response.headers]):
            try:
                data = await asyncio.wait_for(response.read_body(BODY_LIMIT), timeout)
                body = data.decode("utf-8", errors="replace") if data else None
            except Exception:  # noqa: BLE001 - a slow or broken body: judge the headers alone
                body = None
        return response.status, response.headers, response.version, body, response.peer
    finally:
        response.close()


async def _main_request(target: Target, options) -> HttpFact:
    import ssl

    from labwarden.sources.live.http_wire import WireFailure

    port = target.port or (443 if target.scheme == "https" else 80)
    context: ssl.SSLContext | None = None
    if target.scheme == "https":
        try:
            # The TLS probe's verifying context, loaded once per process off the event loop
            # and shared: one verifier for both probes, so they cannot disagree on trust
            # (a weak key or SHA-1 signature is a TLS finding, not an untrusted chain), and
            # a trust store named by SSL_CERT_FILE is parsed once, not twice.
            from labwarden.sources.live.tls import verifying_context

            context = await verifying_context(options.ca_file)
        except (OSError, ssl.SSLError) as exc:
            return _unreachable(target, f"cannot read the CA file {options.ca_file}: "
                                        f"{type(exc).__name__}")
    tls_verified = True if target.scheme == "https" else None
    tls_error = None
    try:
        try:
            answer = await _fetch(target, options, port, target.path, context, read_body=True)
        except WireFailure as first:
            # The verifier left SSL_CERT_FILE's bundle out (the TLS probe's): try it before
            # calling the chain untrusted.
            from labwarden.sources.live.tls import store_is_partial, verifying_context

            if first.kind != "tls-verify" or not store_is_partial(options.ca_file):
                raise
            context = await verifying_context(options.ca_file, complete=True)
            answer = await _fetch(target, options, port, target.path, context, read_body=True)
    except WireFailure as failure:
        if target.scheme != "https" or failure.kind not in ("tls-verify", "tls"):
            return _unreachable(target, _timeout_detail(failure, options), failure.kind)
        tls_verified, tls_error = False, failure.detail
        try:
            answer = await _fetch(target, options, port, target.path, _lenient_context(),
                                  read_body=True)
        except WireFailure as again:
            return _unreachable(target, f"{failure.detail}; without verification: "
                                        f"{_timeout_detail(again, options)}", again.kind)
    status, headers, version, body, peer = answer
    if tls_verified and peer is not None:
        # The shared context checks the chain only: the name and the dates, which a
        # browser checks too before it honours HSTS, are checked here.
        problem = _peer_problem(peer, target.host)
        if problem:
            tls_verified, tls_error = False, problem
    return build_fact(target, status=status, headers=headers, http_version=version,
                      body=body, tls_verified=tls_verified, tls_error=tls_error)


def _peer_problem(peer: dict, host: str) -> str | None:
    """Why a browser would refuse a chain that validated: the host name it does not name,
    or a date outside its validity ("" when none)."""
    import ssl
    import time

    from labwarden.sources.live.tls_cert import hostname_matches

    class _Names:
        sans = [value.strip() for kind, value in peer.get("subjectAltName", ())
                if kind in ("DNS", "IP Address")]

    if not hostname_matches(_Names, host):      # type: ignore[arg-type]
        return f"hostname mismatch, certificate is not valid for '{host}'"
    now = time.time()
    try:
        if ssl.cert_time_to_seconds(peer["notAfter"]) < now:
            return "certificate has expired"
        if ssl.cert_time_to_seconds(peer["notBefore"]) > now:
            return "certificate is not yet valid"
    except (KeyError, ValueError):
        return None
    return None


def _timeout_detail(failure, options) -> str:
    if failure.kind == "timeout":
        return f"no complete answer within {float(options.timeout):g} s"
    return failure.detail


async def _plain_request(target: Target, port: int, options) -> PlainHttp:
    from labwarden.sources.live.http_wire import WireFailure

    host = f"[{target.host}]" if ":" in target.host else target.host
    url = f"http://{host}:{port}{target.path or '/'}"
    result = PlainHttp(url=url, port=port)
    try:
        status, headers, _, _, _ = await _fetch(target, options, port, target.path or "/",
                                             None, read_body=False)
    except WireFailure as failure:
        result.error, result.detail = failure.kind, _timeout_detail(failure, options)
        return result
    result.status = status
    if 300 <= status < 400:
        result.location = next((v for k, v in headers if k.lower() == "location"), None)
    return result


def _unreachable(target: Target, detail: str, kind: str = "failed") -> HttpFact:
    fact = build_fact(target)
    fact.error = f"{kind}: {detail}"
    fact.diagnostics.append(Diagnostic(
        "error", "unreachable", f"{target.url}: {detail}: HTTP headers not checked",
        target.location))
    return fact


async def probe(target: Target, options) -> HttpFact:
    """Collect the HTTP facts of one http(s) target; never raises."""
    import asyncio

    if target.scheme not in ("https", "http"):
        return _unreachable(target, f"not an http(s) target ({target.scheme})", "usage")
    plain_port, note = (None, "")
    if target.scheme == "https":
        plain_port, note = plain_port_for(target, options)
    jobs = [_main_request(target, options)]
    if plain_port:
        jobs.append(_plain_request(target, plain_port, options))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    fact = results[0]
    if isinstance(fact, BaseException):
        return _unreachable(target, f"probe failed: {type(fact).__name__}")
    if target.scheme == "https":
        fact.plain_note = note
    if plain_port:
        plain = results[1]
        if isinstance(plain, BaseException):
            fact.plain_note = f"plain-HTTP check failed: {type(plain).__name__}"
        else:
            fact.plain = plain
            if plain.error == "timeout":
                fact.diagnostics.append(Diagnostic(
                    "warning", "plain-http-unanswered",
                    f"{plain.url} accepted no request within {options.timeout:g} s: the "
                    f"HTTP-to-HTTPS redirect was not checked", target.location))
    if fact.error is None and fact.is_redirect and target.scheme == "https":
        fact.diagnostics.append(Diagnostic(
            "warning", "redirect-not-followed",
            f"{target.url} answered {fact.status} to {safe_url(fact.redirect)}; "
            f"redirects are never followed, so the page headers were judged on the redirect "
            f"only: audit the final URL too", target.location))
    return fact
