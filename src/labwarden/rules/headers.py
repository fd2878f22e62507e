"""Rules about the HTTP answer of a site: HSTS, the HTTP-to-HTTPS redirect, CSP and the
other security headers, cookie flags, version disclosure (checklist 3.2.3, 3.3.5, 7.1,
7.3.1, 9.2.5), and an MDN HTTP Observatory-style grade of the whole.

Which responses each rule judges:

* a target that could not be reached: none (the probe's diagnostic says it);
* a redirect (3xx): only what matters on a redirect, HSTS, cookies, version disclosure and
  the redirect itself; page headers (CSP, framing, Referrer-Policy, Permissions-Policy,
  nosniff, X-XSS-Protection) are judged on pages, and redirects are never followed;
* page-only headers (CSP, framing, Referrer-Policy, Permissions-Policy, X-XSS-Protection)
  are judged on documents: HTML, XML, SVG, or a response without Content-Type; a JSON API
  still gets nosniff, HSTS, cookies and the redirect checks.

X-XSS-Protection: the seed asks for `1; mode=block`; OWASP and MDN now say to send `0` or
nothing, because every current browser has removed the XSS filter and the filter itself
was an attack surface in the browsers that had it. labwarden follows the current guidance:
`0`, `1; mode=block` and no header all pass; only `1` without `mode=block` (the filter's
"sanitise" mode, which attackers used to switch off chosen scripts) is reported (HDR014).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from labwarden.model import Hit, Impact, Severity
from labwarden.rules._prove import by_silence
from labwarden.rules.registry import prover, rule
from labwarden.sources.live.http import (
    Csp,
    HttpFact,
    csp_policies,
    parse_hsts,
    safe_url,
)

MOZILLA = "Mozilla Web Security Guidelines"
OWASP_HEADERS = "OWASP HTTP Headers Cheat Sheet"
OBSERVATORY = "MDN HTTP Observatory"
PROXY_RELOAD = Impact("service", (0, 1))     # a proxy or app config change and a reload
APP_CHANGE = Impact("service", (1, 5))       # an application setting and a restart

SIX_MONTHS = 15_768_000                      # the brief's and the seed's bar for max-age
OBSERVATORY_SIX_MONTHS = 15_552_000          # the Observatory's "white lie" (180 days)

_BROAD = frozenset({"*", "http:", "https:", "ftp:", "http://*", "https://*", "http://*.*",
                    "https://*.*"})
_NONCE_HASH = ("'nonce-", "'sha256-", "'sha384-", "'sha512-")
_DOCUMENT_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml",
                   "application/xml")
_REFERRER_VALID = ("no-referrer", "no-referrer-when-downgrade", "same-origin", "origin",
                   "strict-origin", "origin-when-cross-origin",
                   "strict-origin-when-cross-origin", "unsafe-url")
_REFERRER_LEAKY = ("unsafe-url", "no-referrer-when-downgrade")
_REFERRER_PRIVATE = ("no-referrer", "same-origin", "strict-origin",
                     "strict-origin-when-cross-origin")


# --- which responses are judged ------------------------------------------------------------

def _answered(fact: HttpFact) -> bool:
    return fact.error is None and fact.status is not None


def _page(fact: HttpFact) -> bool:
    """An answer that is a page, not a redirect."""
    return _answered(fact) and not fact.is_redirect


def _document(fact: HttpFact) -> bool:
    """A page a browser renders: HTML, XML, SVG, or no Content-Type (browsers sniff)."""
    if not _page(fact):
        return False
    kind = fact.first("content-type")
    if kind is None:
        return True
    return kind.split(";")[0].strip().lower() in _DOCUMENT_TYPES


# --- HSTS ----------------------------------------------------------------------------------

def _hsts(fact: HttpFact):
    value = fact.first("strict-transport-security")
    return None if value is None else parse_hsts(value)


@rule("HDR001", "hsts-missing", Severity.HIGH, title="HTTPS site without HSTS",
      on=HttpFact, checklist=["3.3.5", "7.1.5", "3.3.6", "9.2.4"],
      refs=["RFC 6797", MOZILLA, OWASP_HEADERS, "CWE-319", "CWE-523"], impact=PROXY_RELOAD)
def hsts_missing(fact: HttpFact, settings=None):
    """Reports an https site whose answer carries no usable `Strict-Transport-Security`
    header: none, one browsers ignore (no or a malformed `max-age`, a repeated directive),
    or `max-age=0`, which tells browsers to forget HSTS. Only the first header counts, as
    in browsers. Redirects are judged too: HSTS set on the redirect protects the host.

    Why it matters:
    Without HSTS a browser that is sent to `http://` (a typed name, an old bookmark, an
    attacker on the LAN answering for the plain port) talks plain HTTP first, and an
    active attacker can keep it there (SSL stripping) and read the session cookie.

    Example:
    ```
    $ curl -sI https://grafana.lab.example | grep -i strict-transport
    (nothing)
    ```

    Fix:
    Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` from the proxy
    (Nginx Proxy Manager: SSL tab, "HSTS Enabled" and "HSTS Subdomains"; nginx:
    `add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;`).
    """
    if fact.scheme != "https" or not _answered(fact):
        return
    hsts = _hsts(fact)
    if hsts is None:
        yield Hit("no Strict-Transport-Security header on the HTTPS answer", fact.location,
                  resource="hsts")
    elif hsts.error:
        yield Hit(f"Strict-Transport-Security is ignored by browsers: {hsts.error}",
                  fact.location, resource="hsts", evidence=hsts.raw[:200])
    elif hsts.max_age == 0:
        yield Hit("Strict-Transport-Security has max-age=0, which switches HSTS off",
                  fact.location, resource="hsts", evidence=hsts.raw[:200])


@rule("HDR002", "hsts-weak", Severity.MEDIUM, title="HSTS too short or without subdomains",
      on=HttpFact, checklist=["3.3.5", "7.1.5"],
      refs=["RFC 6797", MOZILLA, "https://hstspreload.org/", "CWE-319"],
      impact=PROXY_RELOAD)
def hsts_weak(fact: HttpFact, settings=None):
    """Reports a valid HSTS header whose `max-age` is below six months (15768000 s, MEDIUM)
    or that lacks `includeSubDomains` (LOW alone). One finding lists both.

    Why it matters:
    A short max-age lapses between visits, leaving the next first request unprotected.
    Without includeSubDomains an attacker can use a sibling host (`http://x.lab.example`)
    to set or read cookies scoped to the parent domain, and the domain cannot be preloaded.

    Example:
    ```
    Strict-Transport-Security: max-age=3600
    ```

    Fix:
    `Strict-Transport-Security: max-age=31536000; includeSubDomains` once every subdomain
    serves HTTPS (roll out with a short max-age first, then raise it).
    """
    if fact.scheme != "https" or not _answered(fact):
        return
    hsts = _hsts(fact)
    if hsts is None or hsts.error or not hsts.max_age:
        return
    problems = []
    severity = Severity.LOW
    if hsts.max_age < SIX_MONTHS:
        problems.append(f"max-age={hsts.max_age} is under six months ({SIX_MONTHS})")
        severity = Severity.MEDIUM
    if not hsts.include_subdomains:
        problems.append("no includeSubDomains")
    if problems:
        yield Hit(f"weak HSTS: {'; '.join(problems)}", fact.location, resource="hsts",
                  evidence=hsts.raw[:200], severity=severity)


# --- the redirect to HTTPS -----------------------------------------------------------------

def _same_host(url_host: str | None, host: str) -> bool:
    if not url_host:
        return False
    return url_host.lower().rstrip(".") == host.lower().strip("[]").rstrip(".")


def redirect_verdict(fact: HttpFact) -> tuple[str, str]:
    """How the plain-HTTP side behaves: (kind, explanation). Kinds: ok, off-host, http,
    missing, no-http (nothing listens), not-checked."""
    if fact.scheme == "https":
        plain = fact.plain
        if plain is None:
            return "not-checked", fact.plain_note or "plain-HTTP port not checked"
        if plain.error:
            return "no-http", f"{plain.url}: {plain.detail or plain.error}"
        status, location, where = plain.status, plain.location, plain.url
    else:
        if not _answered(fact):
            return "not-checked", fact.error or "no answer"
        status, location, where = fact.status, fact.redirect, fact.url
    host = fact.host
    if status is None or not 300 <= status < 400:
        return "missing", f"{where} answers {status} over plain HTTP instead of redirecting"
    if not location:
        return "missing", f"{where} answers {status} without a Location header"
    try:
        parts = urlsplit(location.strip())
        scheme, target_host = parts.scheme.lower(), parts.hostname
    except ValueError:
        return "missing", f"{where} redirects to an unparseable Location"
    shown = safe_url(location)
    if scheme == "https":
        if _same_host(target_host, host):
            return "ok", f"{where} redirects to {shown}"
        return "off-host", (f"{where} redirects to another host ({shown}): browsers never "
                            f"receive this host's HSTS from the redirect (not followed)")
    return "http", (f"{where} redirects to {shown}, which is still plain HTTP (not "
                    f"followed: the chain may reach https later)")


@rule("HDR003", "http-not-redirected-to-https", Severity.HIGH,
      title="Plain HTTP not redirected to HTTPS", on=HttpFact, checklist=["3.2.3"],
      refs=[MOZILLA, OBSERVATORY, "CWE-319"], impact=PROXY_RELOAD)
def http_not_redirected(fact: HttpFact, settings=None):
    """Reports a site reachable over plain HTTP that does not redirect to HTTPS on the same
    host: the plain port of an https target (80 for 443, 8080 for 8443…), or an http://
    target itself. A page or an error served in clear text is HIGH; a first redirect to
    another plain-HTTP URL is MEDIUM (redirects are never followed, the chain may end on
    https); a redirect to HTTPS on another host is LOW (reported, never followed). An
    HTTPS answer that redirects down to `http://` is HIGH. A closed plain port is fine.

    Why it matters:
    Users and links still start at `http://`. Without the redirect they stay on clear text
    and send passwords and session cookies readable by anyone on the path; a redirect to
    another host means this host's HSTS is never learnt from the redirect.

    Example:
    ```
    $ curl -sI http://grafana.lab.example/
    HTTP/1.1 200 OK
    ```

    Fix:
    Enable "Force SSL" in Nginx Proxy Manager, or in nginx:
    `server { listen 80; server_name grafana.lab.example; return 301 https://$host$request_uri; }`
    """
    if fact.scheme == "https" and _answered(fact) and fact.is_redirect and fact.redirect:
        try:
            down = urlsplit(fact.redirect.strip()).scheme.lower() == "http"
        except ValueError:
            down = False
        if down:
            yield Hit(f"the HTTPS answer redirects down to plain HTTP: "
                      f"{safe_url(fact.redirect)}", fact.location, resource="https-downgrade",
                      evidence=f"{fact.status} Location: {safe_url(fact.redirect)}")
    kind, why = redirect_verdict(fact)
    if kind in ("ok", "no-http", "not-checked"):
        return
    severity = {"missing": Severity.HIGH, "http": Severity.MEDIUM,
                "off-host": Severity.LOW}[kind]
    yield Hit(why, fact.location, resource="plain-http", severity=severity)


# --- Content-Security-Policy ----------------------------------------------------------------

def _script_lists(policy: Csp):
    """(directive, sources) for each way scripts run, resolved through the fallbacks."""
    base = policy.get("script-src", "default-src")
    base_name = next((n for n in ("script-src", "default-src") if n in policy.directives),
                     None)
    yield base_name or "script-src", base
    for special in ("script-src-elem", "script-src-attr"):
        if special in policy.directives:
            yield special, policy.directives[special]


def _policy_issues(policy: Csp, https: bool) -> dict[str, list[str]]:
    """Per category (script, eval, object, base-uri), what this one policy lets through."""
    issues: dict[str, list[str]] = {}

    def add(category, text):
        issues.setdefault(category, [])
        if text not in issues[category]:
            issues[category].append(text)

    for name, sources in _script_lists(policy):
        if sources is None:
            add("script", "neither script-src nor default-src: any script may run")
            add("eval", "")
            continue
        nonce_hash = any(s.startswith(_NONCE_HASH) for s in sources)
        strict_dynamic = nonce_hash and "'strict-dynamic'" in sources
        if "'unsafe-inline'" in sources and not nonce_hash:
            add("script", f"'unsafe-inline' in {name} without a nonce or hash")
        if not strict_dynamic:       # 'strict-dynamic' makes browsers ignore host and scheme
            for src in sources:
                if src in _BROAD:
                    add("script", f"{src} in {name} allows scripts from any host")
                elif src == "data:":
                    add("script", f"data: in {name} allows inline scripts as data: URLs")
                elif https and src.startswith("http://"):
                    add("script", f"{src} in {name} loads scripts over plain HTTP")
        if "'unsafe-eval'" in sources:
            add("eval", f"'unsafe-eval' in {name}")
    objects = policy.get("object-src", "default-src")
    if objects is None:
        add("object", "no object-src (nor default-src): plugins load from anywhere")
    elif any(s in _BROAD or s == "data:" for s in objects):
        add("object", "object-src allows plugin content from any host")
    base = policy.get("base-uri")
    if base is None:
        add("base-uri", "no base-uri: an injected <base> can redirect relative script URLs")
    elif any(s in _BROAD or s == "data:" for s in base):
        add("base-uri", "base-uri allows any host")
    return issues


def csp_weaknesses(fact: HttpFact) -> list[tuple[Severity, str]]:
    """What the enforced policies, taken together, let through. A browser enforces every
    policy, so a weakness counts only when each policy has it."""
    policies = [p for p in csp_policies(fact) if p.directives]
    if not policies:
        return []
    https = fact.scheme == "https"
    per_policy = [_policy_issues(p, https) for p in policies]
    found: list[tuple[Severity, str]] = []
    severities = {"script": Severity.MEDIUM, "eval": Severity.LOW, "object": Severity.LOW,
                  "base-uri": Severity.LOW}
    for category, severity in severities.items():
        if not all(category in issues for issues in per_policy):
            continue
        texts = [t for issues in per_policy for t in issues[category] if t]
        if category == "eval" and not texts:
            continue                 # only "script unrestricted", already reported
        for text in dict.fromkeys(texts):
            found.append((severity, text))
    return found


def _csp_missing_reason(fact: HttpFact) -> str | None:
    policies = csp_policies(fact)
    if any(p.directives for p in policies):
        return None
    if policies:
        return "Content-Security-Policy is present but has no directive browsers recognise"
    if fact.values("content-security-policy-report-only"):
        return ("only Content-Security-Policy-Report-Only is sent: it reports violations "
                "and blocks nothing")
    return "no Content-Security-Policy header (nor <meta> policy)"


@rule("HDR004", "csp-missing", Severity.MEDIUM, title="No Content-Security-Policy",
      on=HttpFact, checklist=["7.1.1"],
      refs=[MOZILLA, OWASP_HEADERS, OBSERVATORY, "CWE-79", "CWE-1021"],
      impact=PROXY_RELOAD)
def csp_missing(fact: HttpFact, settings=None):
    """Reports a page served without an enforced Content-Security-Policy: no header and no
    `<meta http-equiv>` policy in the page's head, only the Report-Only variant, or a
    header with no recognisable directive.

    Why it matters:
    CSP is the browser-side backstop against cross-site scripting: it decides which
    scripts may run and where a page may send data. Without it one injection point in
    any page of the application runs arbitrary script in the user's session.

    Example:
    ```
    $ curl -sI https://app.lab.example | grep -i content-security
    (nothing)
    ```

    Fix:
    Start from `Content-Security-Policy: default-src 'self'; object-src 'none';
    base-uri 'none'; frame-ancestors 'self'` and widen it only for what the application
    loads (test with Content-Security-Policy-Report-Only first).
    """
    if not _document(fact):
        return
    reason = _csp_missing_reason(fact)
    if reason:
        evidence = (fact.first("content-security-policy")
                    or fact.first("content-security-policy-report-only") or "")
        yield Hit(reason, fact.location, resource="csp", evidence=evidence[:300])


@rule("HDR005", "csp-weak", Severity.MEDIUM, title="Content-Security-Policy easily bypassed",
      on=HttpFact, checklist=["7.1.1"],
      refs=[OBSERVATORY, "https://csp-evaluator.withgoogle.com/", OWASP_HEADERS, "CWE-79"],
      impact=PROXY_RELOAD)
def csp_weak(fact: HttpFact, settings=None):
    """Reports an enforced CSP that does not stop injected script: `'unsafe-inline'` in
    script-src (or default-src when script-src is absent) without a nonce or hash, `*`,
    `http:`, `https:` or `data:` script sources, `http://` script hosts on an https site,
    or no script restriction at all (MEDIUM); and, LOW on their own, `'unsafe-eval'`, an
    unrestricted object-src and a missing base-uri. A nonce or hash disables
    'unsafe-inline', and with `'strict-dynamic'` host and scheme sources are ignored, as in
    browsers; with several policies a weakness counts only if every policy has it.

    Why it matters:
    These are the holes that make a CSP decorative: with 'unsafe-inline' an injected
    `<script>` runs as if there were no policy, and a wildcard or data: source lets it
    load from anywhere. object-src and base-uri close the remaining classic bypasses.

    Example:
    ```
    Content-Security-Policy: default-src 'self'; script-src 'self' 'unsafe-inline'
    ```

    Fix:
    Move inline scripts to files (or give them a nonce or hash), drop the broad sources,
    and add `object-src 'none'; base-uri 'none'` (or `'self'`).
    """
    if not _document(fact):
        return
    weaknesses = csp_weaknesses(fact)
    if not weaknesses:
        return
    severity = max(s for s, _ in weaknesses)
    policy = (fact.first("content-security-policy")
              or next(iter(fact.meta_values("content-security-policy")), ""))
    yield Hit(f"Content-Security-Policy is easily bypassed: "
              f"{'; '.join(t for _, t in weaknesses)}", fact.location, resource="csp",
              evidence=policy[:300], severity=severity)


# --- framing, sniffing, referrer, permissions ----------------------------------------------

def _frame_ancestors_ok(fact: HttpFact) -> bool:
    """frame-ancestors counts only in a header policy (browsers ignore it in <meta>)."""
    for policy in csp_policies(fact):
        if policy.source != "header":
            continue
        sources = policy.directives.get("frame-ancestors")
        if sources is not None and not any(s in _BROAD for s in sources):
            return True
    return False


def xfo_state(fact: HttpFact) -> str:
    """ok | missing | allow-from | invalid (DENY and SAMEORIGIN, possibly repeated, are ok)."""
    values = [v.lower() for v in fact.list_values("x-frame-options")]
    if not values:
        return "missing"
    if all(v in ("deny", "sameorigin") for v in values):
        return "ok"
    if any(v.startswith("allow-from") for v in values):
        return "allow-from"
    return "invalid"


@rule("HDR006", "clickjacking-unprotected", Severity.MEDIUM,
      title="Page may be framed by any site", on=HttpFact, checklist=["7.1.2"],
      refs=[MOZILLA, OWASP_HEADERS, "CWE-1021"], impact=PROXY_RELOAD)
def clickjacking_unprotected(fact: HttpFact, settings=None):
    """Reports a page with neither `X-Frame-Options: DENY|SAMEORIGIN` nor a CSP
    `frame-ancestors` directive that restricts framing. `ALLOW-FROM` is ignored by current
    browsers and an unknown value by all, so neither counts; frame-ancestors in a `<meta>`
    policy is ignored by browsers too.

    Why it matters:
    A page that any site may frame can be overlaid with a decoy (clickjacking): the user
    believes they click the attacker's page and instead approve, delete or change
    settings in the framed application with their own session.

    Example:
    ```
    $ curl -sI https://portainer.lab.example | grep -iE 'x-frame|frame-ancestors'
    (nothing)
    ```

    Fix:
    `add_header X-Frame-Options "SAMEORIGIN" always;` and, in CSP,
    `frame-ancestors 'self'` (or `'none'`).
    """
    if not _document(fact) or _frame_ancestors_ok(fact):
        return
    state = xfo_state(fact)
    if state == "ok":
        return
    value = ", ".join(fact.values("x-frame-options"))
    reason = {
        "missing": "no X-Frame-Options and no CSP frame-ancestors: any site may frame the page",
        "allow-from": "X-Frame-Options ALLOW-FROM is ignored by current browsers and there is "
                      "no CSP frame-ancestors",
        "invalid": "X-Frame-Options has a value browsers ignore and there is no CSP "
                   "frame-ancestors",
    }[state]
    yield Hit(reason, fact.location, resource="framing", evidence=value[:200])


def xcto_state(fact: HttpFact) -> str:
    """ok | missing | invalid: browsers read the first value only."""
    values = fact.list_values("x-content-type-options")
    if not values:
        return "missing"
    return "ok" if values[0].lower() == "nosniff" else "invalid"


@rule("HDR007", "nosniff-missing", Severity.LOW, title="X-Content-Type-Options not nosniff",
      on=HttpFact, checklist=["7.1.3"], refs=[MOZILLA, OWASP_HEADERS, "CWE-430"],
      impact=PROXY_RELOAD)
def nosniff_missing(fact: HttpFact, settings=None):
    """Reports an answer (any content type; not a redirect) without
    `X-Content-Type-Options: nosniff` as its first value.

    Why it matters:
    Without it browsers may guess a response's type from its content, so an uploaded
    file or a JSON answer that contains markup can be run as HTML or script.

    Example:
    ```
    X-Content-Type-Options: sniff
    ```

    Fix:
    `add_header X-Content-Type-Options "nosniff" always;`
    """
    if not _page(fact):
        return
    state = xcto_state(fact)
    if state == "missing":
        yield Hit("no X-Content-Type-Options: nosniff", fact.location, resource="nosniff")
    elif state == "invalid":
        yield Hit("X-Content-Type-Options is not nosniff", fact.location, resource="nosniff",
                  evidence=", ".join(fact.values("x-content-type-options"))[:200])


def referrer_policy(fact: HttpFact) -> tuple[str | None, bool]:
    """(the policy browsers apply, whether any was sent): the last recognised token of the
    headers and <meta name=referrer> together (the <meta> comes later, so it wins)."""
    tokens = [t.lower() for t in fact.list_values("referrer-policy")]
    tokens += [t.strip().lower() for v in fact.meta_values("referrer-policy")
               for t in v.split(",") if t.strip()]
    valid = [t for t in tokens if t in _REFERRER_VALID]
    return (valid[-1] if valid else None), bool(tokens)


@rule("HDR008", "referrer-policy-unsafe", Severity.LOW,
      title="Referrer-Policy missing or leaking full URLs", on=HttpFact, checklist=["7.1.6"],
      refs=[MOZILLA, OWASP_HEADERS, "CWE-200"], impact=PROXY_RELOAD)
def referrer_policy_unsafe(fact: HttpFact, settings=None):
    """Reports a page without a Referrer-Policy browsers recognise, or with `unsafe-url` or
    `no-referrer-when-downgrade`, which send the full URL (path and query) to other sites.

    Why it matters:
    URLs of self-hosted applications carry document names, search terms and sometimes
    tokens (password-reset and share links); a leaky policy hands them to every external
    site a page links to or loads from. Older browsers default to the leaky behaviour.

    Example:
    ```
    Referrer-Policy: unsafe-url
    ```

    Fix:
    `add_header Referrer-Policy "strict-origin-when-cross-origin" always;` (or
    `no-referrer`).
    """
    if not _document(fact):
        return
    policy, sent = referrer_policy(fact)
    if policy is None:
        message = ("Referrer-Policy has no value browsers recognise" if sent
                   else "no Referrer-Policy")
        yield Hit(message, fact.location, resource="referrer-policy",
                  evidence=", ".join(fact.values("referrer-policy"))[:200])
    elif policy in _REFERRER_LEAKY:
        yield Hit(f"Referrer-Policy {policy} sends full URLs to other sites", fact.location,
                  resource="referrer-policy", evidence=policy)


@rule("HDR009", "permissions-policy-missing", Severity.LOW, title="No Permissions-Policy",
      on=HttpFact, checklist=["7.1.7"], refs=[OWASP_HEADERS, "W3C Permissions Policy"],
      impact=PROXY_RELOAD)
def permissions_policy_missing(fact: HttpFact, settings=None):
    """Reports a page without a non-empty `Permissions-Policy` header (the legacy
    `Feature-Policy` alone does not count: current browsers read Permissions-Policy).

    Why it matters:
    Permissions-Policy switches off browser features the application does not use
    (camera, microphone, geolocation, payment, USB…) for the page and for anything it
    embeds, so injected or third-party content cannot ask for them.

    Example:
    ```
    $ curl -sI https://app.lab.example | grep -i permissions-policy
    (nothing)
    ```

    Fix:
    `add_header Permissions-Policy "geolocation=(), microphone=(), camera=()" always;`
    """
    if not _document(fact):
        return
    if any(v.strip() for v in fact.values("permissions-policy")):
        return
    legacy = fact.values("feature-policy")
    message = ("only the legacy Feature-Policy header, no Permissions-Policy" if legacy
               else "no Permissions-Policy")
    yield Hit(message, fact.location, resource="permissions-policy",
              evidence=", ".join(legacy)[:200])


# --- cookies -------------------------------------------------------------------------------

_SESSION = re.compile(r"sess|(?:^|[^a-z])(?:sid|sso)(?:$|[^a-z])|auth|token|jwt|login|"
                       r"remember|oauth|saml|identity", re.I)
_ANTI_CSRF = re.compile(r"csrf|xsrf", re.I)
_NOT_SESSION = re.compile(r"csrf|xsrf|affinity", re.I)   # load-balancer stickiness is not auth


def is_session_cookie(name: str) -> bool:
    """Names that look like a session, login or authentication token (anti-CSRF tokens are
    not: they are often meant to be read by scripts; nor are load-balancer affinity
    cookies)."""
    return bool(_SESSION.search(name)) and not _NOT_SESSION.search(name)


def is_anti_csrf_cookie(name: str) -> bool:
    return bool(_ANTI_CSRF.search(name))


def _live_cookies(fact: HttpFact):
    return [c for c in fact.cookies if not c.expired] if _answered(fact) else []


def _cookie_list(cookies) -> str:
    return ", ".join(f"{c.name or '(nameless)'} ({c.flags})" for c in cookies)


@rule("HDR010", "cookie-without-secure", Severity.MEDIUM,
      title="Cookie set over HTTPS without Secure", on=HttpFact, checklist=["7.3.1"],
      refs=[OBSERVATORY, "OWASP Session Management Cheat Sheet", "CWE-614"],
      impact=APP_CHANGE)
def cookie_without_secure(fact: HttpFact, settings=None):
    """Reports cookies an https site sets without the `Secure` attribute: MEDIUM when one
    looks like a session or login cookie, LOW when none does. Deletions (Max-Age=0, an
    Expires in the past) are ignored. One finding lists the cookies.

    Why it matters:
    A cookie without Secure is also sent over plain HTTP: one `http://` request (a link,
    an image, an attacker on the network forcing one) puts the session in clear text.

    Example:
    ```
    Set-Cookie: grafana_session=…; Path=/; HttpOnly
    ```

    Fix:
    Set the application's secure-cookie option (Grafana `cookie_secure = true`, Django
    `SESSION_COOKIE_SECURE`, Express `cookie.secure`), or in nginx
    `proxy_cookie_flags ~ secure;`.
    """
    if fact.scheme != "https":
        return
    bad = [c for c in _live_cookies(fact) if not c.secure]
    if not bad:
        return
    session = any(is_session_cookie(c.name) for c in bad)
    yield Hit(f"cookies without Secure: {_cookie_list(bad)}", fact.location,
              resource="cookies-secure", evidence=_cookie_list(bad),
              severity=Severity.MEDIUM if session else Severity.LOW)


@rule("HDR011", "session-cookie-without-httponly", Severity.MEDIUM,
      title="Session cookie readable by scripts", on=HttpFact, checklist=["7.3.1"],
      refs=[OBSERVATORY, "OWASP Session Management Cheat Sheet", "CWE-1004"],
      impact=APP_CHANGE)
def session_cookie_without_httponly(fact: HttpFact, settings=None):
    """Reports session-like cookies (names with sess, sid, auth, token, jwt, login,
    remember, oauth, saml, sso, identity; not csrf/xsrf tokens, which scripts must read)
    set without `HttpOnly`.

    Why it matters:
    Without HttpOnly any script on the page, including one injected through an XSS hole,
    reads the session cookie and sends it away: the attacker then is the user.

    Example:
    ```
    Set-Cookie: sessionid=…; Path=/; Secure
    ```

    Fix:
    Set the framework's HttpOnly option for its session cookie, or in nginx
    `proxy_cookie_flags sessionid httponly;`.
    """
    bad = [c for c in _live_cookies(fact) if not c.http_only and is_session_cookie(c.name)]
    if bad:
        yield Hit(f"session cookies without HttpOnly: {_cookie_list(bad)}", fact.location,
                  resource="cookies-httponly", evidence=_cookie_list(bad))


@rule("HDR012", "cookie-without-samesite", Severity.LOW,
      title="Session cookie without a valid SameSite", on=HttpFact, checklist=["7.3.1"],
      refs=[OBSERVATORY, "OWASP Cross-Site Request Forgery Prevention Cheat Sheet",
            "CWE-1275"], impact=APP_CHANGE)
def cookie_without_samesite(fact: HttpFact, settings=None):
    """Reports session-like and anti-CSRF cookies without a `SameSite` attribute, and any
    cookie whose SameSite value is not Strict, Lax or None (browsers ignore it). Other
    cookies (preferences, analytics) are not reported: SameSite protects authentication.

    Why it matters:
    Without SameSite, browsers that do not default to Lax (Firefox, Safari) send the
    session cookie with requests other sites trigger, which is what cross-site request
    forgery needs.

    Example:
    ```
    Set-Cookie: authelia_session=…; Path=/; Secure; HttpOnly
    ```

    Fix:
    Add `SameSite=Lax` (or `Strict`) through the application's cookie settings, or
    `proxy_cookie_flags ~ samesite=lax;` in nginx.
    """
    bad = []
    for cookie in _live_cookies(fact):
        if cookie.same_site is not None and not cookie.same_site_valid:
            bad.append(cookie)
        elif cookie.same_site is None and (is_session_cookie(cookie.name)
                                           or is_anti_csrf_cookie(cookie.name)):
            bad.append(cookie)
    if bad:
        yield Hit(f"cookies without a valid SameSite: {_cookie_list(bad)}", fact.location,
                  resource="cookies-samesite", evidence=_cookie_list(bad))


# --- disclosure and legacy headers ---------------------------------------------------------

_VERSION = re.compile(r"\b[A-Za-z][\w.+-]*[/ (]v?\d+(?:\.\d+)+|\b[A-Za-z][\w.+-]*/\d+\b")
_VERSION_HEADERS = ("x-aspnet-version", "x-aspnetmvc-version")


@rule("HDR013", "version-disclosed", Severity.LOW, title="Server software version disclosed",
      on=HttpFact, checklist=["9.2.5"],
      refs=[OWASP_HEADERS, "OWASP WSTG-INFO-02", "CWE-497"], impact=PROXY_RELOAD)
def version_disclosed(fact: HttpFact, settings=None):
    """Reports a `Server` or `X-Powered-By` header carrying a version (`nginx/1.22.1`,
    `Apache/2.4.57 (Debian) OpenSSL/3.0.11`, `PHP/8.2.7`), and `X-AspNet-Version` /
    `X-AspNetMvc-Version`. A bare product name (`nginx`, `Express`) is not reported.

    Why it matters:
    A version tells an attacker which known vulnerabilities to try without probing, and
    mass scanners select targets by it; it also announces when a host falls behind on
    updates.

    Example:
    ```
    Server: nginx/1.22.1
    X-Powered-By: PHP/8.1.2
    ```

    Fix:
    nginx `server_tokens off;`, Apache `ServerTokens Prod`, PHP `expose_php = Off`, or drop
    the header at the proxy (`proxy_hide_header X-Powered-By;`).
    """
    if not _answered(fact):
        return
    shown = []
    for name in ("server", "x-powered-by"):
        for value in fact.values(name):
            if _VERSION.search(value):
                shown.append(f"{name.title()}: {value[:120]}")
    for name in _VERSION_HEADERS:
        for value in fact.values(name):
            shown.append(f"{name.title()}: {value[:60]}")
    if shown:
        yield Hit(f"software version disclosed: {'; '.join(shown)}", fact.location,
                  resource="version", evidence="; ".join(shown))


@rule("HDR014", "x-xss-protection-harmful", Severity.LOW,
      title="X-XSS-Protection enables the filter's sanitising mode", on=HttpFact,
      checklist=["7.1.4"], refs=[OWASP_HEADERS, "MDN X-XSS-Protection", "CWE-693"],
      impact=PROXY_RELOAD)
def x_xss_protection_harmful(fact: HttpFact, settings=None):
    """Reports `X-XSS-Protection: 1` without `mode=block`. `0`, `1; mode=block` and no
    header are fine: current browsers have no XSS filter and ignore the header, and
    OWASP and MDN recommend `0` or omitting it. The seed's `1; mode=block` is therefore
    accepted but not required, and CSP (HDR004/HDR005) is the control that matters.

    Why it matters:
    In the browsers that had the filter, its default sanitising mode removed whatever
    looked reflected from the request, so an attacker could switch off chosen legitimate
    scripts (a frame-buster, a security check) by putting them in the URL.

    Example:
    ```
    X-XSS-Protection: 1
    ```

    Fix:
    `add_header X-XSS-Protection "0" always;` (or remove the header) and rely on CSP.
    """
    if not _document(fact):
        return
    value = fact.first("x-xss-protection")
    if value is None:
        return
    parts = [p.strip().lower() for p in value.split(";")]
    if parts[0] == "1" and "mode=block" not in [p.replace(" ", "") for p in parts[1:]]:
        yield Hit("X-XSS-Protection: 1 turns on the legacy filter in its sanitising mode",
                  fact.location, resource="x-xss-protection", evidence=value[:100])


# --- the Observatory-style grade -----------------------------------------------------------

_GRADES = ((100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"),
           (60, "C+"), (50, "C"), (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (0, "F"))
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
GRADE_BAR = 70                               # B: lower grades are reported by HDR015


def letter(score: int) -> str:
    floor = min(score - score % 5, 100)
    return next(g for bound, g in _GRADES if floor >= bound)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _grade_csp(fact: HttpFact) -> tuple[int, str]:
    reason = _csp_missing_reason(fact)
    if reason:
        return -25, reason
    https = fact.scheme == "https"
    policies = [p for p in csp_policies(fact) if p.directives]
    per_policy = [_policy_issues(p, https) for p in policies]

    def everywhere(category):
        return all(category in issues for issues in per_policy)

    def insecure(passive: bool) -> bool:
        """Every policy lets some active (or passive: img, media) content load over http."""
        return all(any((name in ("img-src", "media-src")) == passive
                       and any(s.startswith(("http:", "ftp:")) for s in sources)
                       for name, sources in policy.directives.items())
                   for policy in policies)

    if everywhere("script") or everywhere("object"):
        return -20, "unsafe-inline, data: or a broad source for scripts or plugins"
    if https and insecure(passive=False):
        return -20, "resources may load over plain HTTP"
    if everywhere("eval") and any(t for issues in per_policy for t in issues["eval"]):
        return -10, "'unsafe-eval' allowed"
    if https and insecure(passive=True):
        return -10, "images or media may load over plain HTTP"
    for policy in policies:
        style = policy.get("style-src", "default-src") or ["*"]
        nonce_hash = any(s.startswith(_NONCE_HASH) for s in style)
        if not any((s == "'unsafe-inline'" and not nonce_hash) or s in _BROAD or s == "data:"
                   for s in style):
            break
    else:
        return 0, "unsafe sources in style-src only"
    if any(p.directives.get("default-src") == ["'none'"] for p in policies):
        return 10, "default-src 'none' and no unsafe source"
    return 5, "no unsafe source"


def _grade_cookies(fact: HttpFact, hsts_ok: bool) -> tuple[int, str]:
    cookies = _live_cookies(fact)
    if not cookies:
        return 0, "no cookies"
    order = [(-5, "cookies without Secure (HSTS protects them)"),
             (-20, "cookies without Secure"),
             (-10, "session cookie without Secure (HSTS protects it)"),
             (-20, "invalid SameSite value"),
             (-20, "anti-CSRF cookie without SameSite"),
             (-30, "session cookie without HttpOnly"),
             (-40, "session cookie without Secure")]
    worst = -1
    for c in cookies:
        session, csrf = is_session_cookie(c.name), is_anti_csrf_cookie(c.name)
        found = []
        if c.same_site is not None and not c.same_site_valid:
            found.append(3)
        if c.same_site == "None" and not c.secure:
            found.append(3)
        if not c.secure:
            found.append(0 if hsts_ok else 1)
            if session:
                found.append(2 if hsts_ok else 6)
        if csrf and c.same_site is None:
            found.append(4)
        if session and not c.http_only:
            found.append(5)
        worst = max([worst, *found])
    if worst >= 0:
        return order[worst]
    if all(c.same_site is not None for c in cookies):
        return 5, "Secure, HttpOnly sessions and SameSite"
    return 0, "Secure, HttpOnly sessions, some without SameSite"


def _grade_redirect(fact: HttpFact) -> tuple[int, str]:
    kind, _ = redirect_verdict(fact)
    return {"ok": (0, "redirects to HTTPS on the same host"),
            "no-http": (0, "no plain HTTP listener"),
            "not-checked": (0, "plain HTTP not checked"),
            "off-host": (-5, "first redirect goes to another host"),
            "http": (-10, "first redirect stays on plain HTTP"),
            "missing": (-20, "plain HTTP does not redirect to HTTPS")}[kind]


def _grade_hsts(fact: HttpFact) -> tuple[int, str, bool]:
    if fact.scheme != "https":
        return -20, "not served over HTTPS", False
    if fact.tls_verified is False:
        return -20, "certificate not trusted: browsers ignore HSTS", False
    hsts = _hsts(fact)
    if hsts is None:
        return -20, "not implemented", False
    if hsts.error or not hsts.max_age:
        return -20, "header invalid or max-age=0", False
    if hsts.max_age < OBSERVATORY_SIX_MONTHS:
        return -10, "max-age under six months", False
    return 0, "max-age of six months or more", True


def _grade_referrer(fact: HttpFact) -> tuple[int, str]:
    policy, sent = referrer_policy(fact)
    if not sent:
        return 0, "not implemented"
    if policy is None:
        return -5, "unrecognised value"
    if policy in _REFERRER_PRIVATE:
        return 5, f"{policy}"
    return -5, f"{policy} leaks"


def _grade_sri(fact: HttpFact) -> tuple[int, str]:
    if not fact.html or not fact.scripts:
        return 0, "no external scripts seen"
    page = _origin(fact.url)
    same, secure, insecure = [], [], []
    for script in fact.scripts:
        origin = _origin(script.src)
        if origin == page:
            same.append(script)
        elif origin[0] == "https":
            secure.append(script)
        else:
            insecure.append(script)
    if insecure:
        if all(s.integrity for s in insecure):
            return -20, "external scripts over plain HTTP (with SRI)"
        return -50, "external scripts over plain HTTP without SRI"
    if secure:
        if all(s.integrity for s in secure):
            return 5, "external scripts with SRI"
        return -5, "external scripts without SRI"
    if all(s.integrity for s in same):
        return 5, "scripts with SRI"
    return 0, "same-origin scripts"


def _grade_xcto(fact: HttpFact) -> tuple[int, str]:
    state = xcto_state(fact)
    return (0, "nosniff") if state == "ok" else (-5, f"{state}")


def _grade_xfo(fact: HttpFact) -> tuple[int, str]:
    if any(p.source == "header" and "frame-ancestors" in p.directives
           for p in csp_policies(fact)):
        return 5, "CSP frame-ancestors"
    state = xfo_state(fact)
    if state in ("ok", "allow-from"):
        return 0, f"X-Frame-Options {state}"
    return -20, f"X-Frame-Options {state}"


def _grade_corp(fact: HttpFact) -> tuple[int, str]:
    value = fact.first("cross-origin-resource-policy")
    if value is None:
        return 0, "not implemented"
    value = value.strip().lower()
    if value in ("same-origin", "same-site"):
        return 10, value
    if value == "cross-origin":
        return 0, value
    return -5, "invalid"


def grade(fact: HttpFact) -> tuple[int | None, str, list[str]]:
    """An MDN HTTP Observatory-style grade of one answer: (score, letter, reasons).

    Start at 100 and apply the Observatory's modifier per test (CSP, cookies, redirection,
    Referrer-Policy, HSTS, SRI, X-Content-Type-Options, X-Frame-Options, CORP); bonuses
    count only when the penalties leave at least 90. Differences: CORS is not tested (it
    needs a request with an Origin), the HSTS preload list is not consulted, page-only tests
    score 0 on answers that are not documents, and redirects are not followed, so a 3xx
    answer is not graded (score None, letter "-"), nor is an unreachable target.
    """
    if not _answered(fact):
        return None, "-", [f"not graded: {fact.error or 'no answer'}"]
    if fact.is_redirect:
        why = (f"not graded: answered {fact.status} to {safe_url(fact.redirect)} "
               f"(redirects are not followed)")
        return None, "-", [why]
    hsts_mod, hsts_why, hsts_ok = _grade_hsts(fact)
    document = _document(fact)
    tests = [
        ("content-security-policy", _grade_csp(fact) if document else (0, "not a document")),
        ("cookies", _grade_cookies(fact, hsts_ok)),
        ("redirection", _grade_redirect(fact)),
        ("referrer-policy", _grade_referrer(fact) if document else (0, "not a document")),
        ("strict-transport-security", (hsts_mod, hsts_why)),
        ("subresource-integrity", _grade_sri(fact)),
        ("x-content-type-options", _grade_xcto(fact)),
        ("x-frame-options", _grade_xfo(fact) if document else (0, "not a document")),
        ("cross-origin-resource-policy", _grade_corp(fact)),
    ]
    uncurved = 100 + sum(m for _, (m, _) in tests if m < 0)
    total = 100 + sum(m for _, (m, _) in tests)
    score = max(total if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved, 0)
    reasons = [f"{m:+d} {name}: {why}" for name, (m, why) in tests if m]
    return score, letter(score), reasons


@rule("HDR015", "observatory-grade", Severity.LOW,
      title="Security headers grade below B", on=HttpFact, checklist=["9.2.5"],
      refs=[OBSERVATORY, "https://developer.mozilla.org/en-US/observatory/docs/scoring"],
      impact=PROXY_RELOAD)
def observatory_grade(fact: HttpFact, settings=None):
    """Reports a site whose MDN HTTP Observatory-style grade is below B: B- to C- as INFO,
    D+ and worse as LOW. The grade (`labwarden.rules.headers.grade`) starts at 100 and
    applies the Observatory's modifier per test (CSP, cookies, redirection,
    Referrer-Policy, HSTS, subresource integrity, nosniff, framing, CORP); bonuses count
    only when the penalties leave 90 or more; 100 and above is A+, under 25 F. Redirects
    and unreachable targets are not graded.

    The severities are deliberately low: the grade sums weaknesses that HDR001-HDR014
    already report with their own severities, so a higher one would count them twice in
    the score and the gate. It exists as the one-line verdict of seed 9.2.5 ("Security
    headers verified"), comparable to the grade people get from the Observatory site, and
    as an early signal for weaknesses no single rule reports (external scripts without
    SRI, unsafe Cross-Origin-Resource-Policy).

    Why it matters:
    A grade below B means several browser-side defences are missing at once; the reasons
    list each modifier so the worst can be fixed first.

    Example:
    ```
    grade F (0/100): -25 content-security-policy: no Content-Security-Policy header;
    -20 strict-transport-security: not implemented; -20 x-frame-options: X-Frame-Options
    missing; -20 redirection: plain HTTP does not redirect to HTTPS; -5 ...
    ```

    Fix:
    Fix the findings listed in the reasons, largest penalty first; a reverse proxy that
    adds HSTS, CSP, X-Frame-Options, nosniff and Referrer-Policy usually reaches A.
    """
    score, grade_letter, reasons = grade(fact)
    if score is None or score >= GRADE_BAR:
        return
    severity = Severity.INFO if score >= 45 else Severity.LOW
    yield Hit(f"security headers grade {grade_letter} ({score}/100): {'; '.join(reasons)}",
              fact.location, resource="grade", evidence="; ".join(reasons),
              severity=severity)


# --- provers: what shows the items hold ---------------------------------------------------
# Only an answer that arrived is evidence; a header rule's silence on a page proves its
# item for that page.

@prover("HDR001", "3.3.5", "7.1.5", "3.3.6", "9.2.4")
def hsts_long_enough(fact: HttpFact, settings):
    if not _answered(fact) or fact.scheme != "https":
        return None
    hsts = _hsts(fact)
    if hsts is None or hsts.error or not hsts.max_age or hsts.max_age < SIX_MONTHS:
        return None
    return f"Strict-Transport-Security max-age={hsts.max_age}"


@prover("HDR003", "3.2.3")
def plain_http_redirected(fact: HttpFact, settings):
    plain = fact.plain
    if not _answered(fact) or plain is None or plain.error or plain.status is None:
        return None
    if 300 <= plain.status < 400 and (plain.location or "").lower().startswith("https://"):
        return f"http:// answers {plain.status} to {plain.location}"
    return None


def _header_note(name: str):
    def note(fact: HttpFact) -> str:
        value = fact.first(name)
        return f"{name}: {value[:60]}" if value else f"no {name} problem on the page"
    return note


by_silence("HDR004", "7.1.1", also=("HDR005",), complete=_document,
           note=_header_note("content-security-policy"))
by_silence("HDR006", "7.1.2", complete=_document, note=_header_note("x-frame-options"))
by_silence("HDR007", "7.1.3", complete=_page, note=_header_note("x-content-type-options"))
by_silence("HDR008", "7.1.6", complete=_document, note=_header_note("referrer-policy"))
by_silence("HDR009", "7.1.7", complete=_document, note=_header_note("permissions-policy"))


@prover("HDR014", "7.1.4")
def xss_protection_block(fact: HttpFact, settings):
    value = fact.first("x-xss-protection") if _page(fact) else None
    if value is None or "mode=block" not in value.replace(" ", "").lower():
        return None
    return f"X-XSS-Protection: {value}"


def _cookies_seen(fact: HttpFact) -> bool:
    return _answered(fact) and bool(fact.cookies)


by_silence("HDR010", "7.3.1", also=("HDR011", "HDR012"), complete=_cookies_seen,
           note=lambda fact: "cookies " + ", ".join(c.name for c in fact.cookies[:4])
           + ": Secure, HttpOnly, SameSite")
by_silence("HDR015", "9.2.5", also=("HDR013",), complete=_document,
           note="security headers grade B or better, no version disclosed")
