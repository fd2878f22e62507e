"""Rules about a TLS endpoint as a client sees it: protocol versions, cipher suites,
Diffie-Hellman groups and the certificate (checklist 3.3 and 9.2.4).

The facts come from `sources/live/tls.py`; these rules only judge them, against Mozilla's
Server Side TLS guidelines (the `intermediate` profile by default, `modern` on request).
Each weakness is reported once, in its worst class: a suite that is both RC4 and static
RSA is a weak-cipher finding, not two findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from labwarden.model import Hit, Impact, Severity
from labwarden.rules._prove import by_silence
from labwarden.rules.registry import rule
from labwarden.sources.live.tls import TlsFact
from labwarden.sources.live.tls_cert import CertInfo
from labwarden.knowledge.tls_profiles import PROFILES
from labwarden.sources.live.tls_suites import PROTOCOLS, Suite, describe

MOZILLA = "Mozilla Server Side TLS 5.7"
RELOAD = Impact("service", (0, 1))            # a proxy reload drops no connection
NEW_CERT = Impact("service", (0, 5))          # issue and install a certificate, reload
UPGRADE = Impact("service", (5, 60))          # firmware or OpenSSL update, then new keys
EXPIRY_WARNING_DAYS = 30                      # default of settings.tls_expiry_warning_days
SSL_LABS = ("3.3.6", "9.2.4")                 # what also caps an SSL Labs grade

_NGINX_PROTOCOLS = "ssl_protocols TLSv1.2 TLSv1.3;"
_NGINX_CIPHERS = ("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
                  "DHE-RSA-CHACHA20-POLY1305;")


def _usable(fact: TlsFact) -> bool:
    return not fact.error


def _profile(fact: TlsFact) -> dict:
    return PROFILES.get((fact.profile or "intermediate").lower(), PROFILES["intermediate"])


def _short(protocols: list[str]) -> str:
    return ", ".join(protocols)


def _suite_list(entries: list[tuple[str, list[str]]], limit: int = 8) -> str:
    shown = [f"{name} ({_short(protocols)})" for name, protocols in entries[:limit]]
    more = len(entries) - limit
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


# --- suite classes: each suite counts in its worst class only ----------------------------

_BROKEN, _WEAK, _NO_FS, _OUTSIDE = "broken", "weak", "no-fs", "outside"
_WEAK_CIPHERS = {"RC4", "3DES", "DES", "DES40", "RC2", "IDEA"}


def suite_class(suite: Suite, allowed: frozenset[str]) -> str | None:
    """The worst thing about a suite, or None when the profile allows it."""
    if suite.cipher == "NULL" or suite.anonymous or suite.export:
        return _BROKEN
    if suite.cipher in _WEAK_CIPHERS or suite.mac == "MD5":
        return _WEAK
    if suite.kex in ("RSA", "DH", "ECDH", "PSK", "KRB5"):
        return _NO_FS
    if suite.name not in allowed:
        return _OUTSIDE
    return None


def _classified(fact: TlsFact, wanted: str) -> list[tuple[str, list[str]]]:
    profile = _profile(fact)
    minimum = PROTOCOLS.index(profile["min_protocol"])
    found = []
    for name, protocols in fact.accepted_suites.items():
        suite = describe(name)
        if suite is None:
            continue
        if wanted == _OUTSIDE:
            # Under a profile that refuses a protocol, TLS001 reports the protocol; its
            # suites are not reported one by one.
            protocols = [p for p in protocols if PROTOCOLS.index(p) >= minimum]
            if not protocols:
                continue
        if suite_class(suite, profile["suites"]) == wanted:
            found.append((name, protocols))
    return found


def _reasons(found: list[tuple[str, list[str]]]) -> list[str]:
    """Every distinct reason the suites found are bad, sorted."""
    return sorted({r for name, _ in found for r in _why(name).split(", ") if r})


def _why(suite_name: str) -> str:
    suite = describe(suite_name)
    if suite is None:
        return ""
    reasons = []
    if suite.cipher == "NULL":
        reasons.append("no encryption")
    if suite.anonymous:
        reasons.append("no authentication")
    if suite.export:
        reasons.append(f"EXPORT-grade {suite.bits}-bit")
    if suite.cipher == "RC4":
        reasons.append("RC4")
    if suite.cipher in ("3DES", "DES", "DES40", "RC2", "IDEA"):
        reasons.append(f"{suite.cipher} (64-bit block)")
    if suite.mac == "MD5":
        reasons.append("MD5 MAC")
    return ", ".join(dict.fromkeys(reasons))


# --- protocols -------------------------------------------------------------------------

_PROTOCOL_SEVERITY = {"SSLv2": Severity.CRITICAL, "SSLv3": Severity.CRITICAL,
                      "TLSv1.0": Severity.HIGH,
                      "TLSv1.1": Severity.HIGH, "TLSv1.2": Severity.MEDIUM}


@rule("TLS001", "outdated-protocol-enabled", Severity.HIGH,
      title="Outdated TLS protocol version accepted", on=TlsFact,
      checklist=["3.3.1", *SSL_LABS], impact=RELOAD,
      refs=[MOZILLA, "RFC 8996 (TLS 1.0 and 1.1 deprecated)", "RFC 7568 (SSL 3.0 deprecated)",
            "CWE-327"])
def outdated_protocol_enabled(fact: TlsFact, settings):
    """Reports the protocol versions a server accepts below the profile's minimum: SSL 2.0
    and 3.0 (CRITICAL), TLS 1.0 and 1.1 (HIGH), and, under the `modern` profile, TLS 1.2
    (MEDIUM). One finding lists them all, at the severity of the worst.

    The versions are asked with hand-written hellos, so that SSL 2.0 and 3.0 are found even
    though the auditing machine's OpenSSL cannot speak them.

    Why it matters:
    SSL 2.0 is broken by design and lends its RSA key to attacks on TLS (DROWN); SSL 3.0
    falls to POODLE; TLS 1.0 and 1.1 rely on SHA-1/MD5 in the handshake and CBC
    constructions with known attacks (BEAST, Lucky13) and were deprecated by RFC 8996. A
    server that still accepts them lets an active attacker downgrade clients that also do.

    Example:
    ```nginx
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ```

    Fix:
    Accept TLS 1.2 and 1.3 only: `ssl_protocols TLSv1.2 TLSv1.3;` (nginx), `tls.options`
    with `minVersion: VersionTLS12` (Traefik), or `protocols tls1.2 tls1.3` (Caddy), then
    reload the proxy.
    """
    if not _usable(fact):
        return
    profile = _profile(fact)
    minimum = PROTOCOLS.index(profile["min_protocol"])
    old = [p for p in fact.protocols if PROTOCOLS.index(p) < minimum]
    if not old:
        return
    severity = max(_PROTOCOL_SEVERITY.get(p, Severity.HIGH) for p in old)
    profile_name = (fact.profile or "intermediate").lower()
    if old == ["TLSv1.2"]:
        message = (f"accepts TLS 1.2, below the `{profile_name}` profile's minimum of "
                   f"{profile['min_protocol']}")
        fix = "accept TLS 1.3 only: `ssl_protocols TLSv1.3;` (or choose the intermediate profile)"
    else:
        message = f"accepts outdated protocol versions: {_short(old)}"
        fix = (f"accept {profile['min_protocol']} and newer only: `{_NGINX_PROTOCOLS}`"
               if profile_name != "modern" else "accept TLS 1.3 only: `ssl_protocols TLSv1.3;`")
    yield Hit(message, fact.location, resource="protocols", evidence=", ".join(old),
              severity=severity, fix=fix)


@rule("TLS002", "no-current-protocol", Severity.HIGH,
      title="Neither TLS 1.2 nor TLS 1.3 is accepted", on=TlsFact,
      checklist=["3.3.1", *SSL_LABS], impact=RELOAD, refs=[MOZILLA, "RFC 8996", "CWE-327"])
def no_current_protocol(fact: TlsFact, settings):
    """Reports a server that completes handshakes only with SSL 3.0, TLS 1.0 or TLS 1.1:
    no current protocol version at all.

    Why it matters:
    Current browsers and clients refuse anything older than TLS 1.2, so the service is
    either unreachable for them or reached only by clients that still allow deprecated
    protocols and their attacks. Such a server is usually old software that needs updating
    as a whole.

    Example:
    ```text
    accepted: SSLv3, TLSv1.0 (TLS 1.2 and 1.3 refused)
    ```

    Fix:
    Upgrade the TLS library or appliance firmware, or terminate TLS at the reverse proxy
    (which speaks TLS 1.2/1.3) and keep the old service on an internal network.
    """
    if not _usable(fact) or not fact.protocols:
        return
    if {"TLSv1.2", "TLSv1.3"} & set(fact.tested) != {"TLSv1.2", "TLSv1.3"}:
        return                               # not answered: cannot say it is refused
    if "TLSv1.2" in fact.protocols or "TLSv1.3" in fact.protocols:
        return
    yield Hit(f"accepts only outdated protocol versions ({_short(fact.protocols)}): "
              "TLS 1.2 and TLS 1.3 are refused", fact.location, resource="protocols-current",
              evidence=_short(fact.protocols))


# --- cipher suites ---------------------------------------------------------------------

@rule("TLS003", "insecure-cipher-suite", Severity.CRITICAL,
      title="NULL, anonymous or EXPORT cipher suites accepted", on=TlsFact,
      checklist=["3.3.2", *SSL_LABS], impact=RELOAD,
      refs=[MOZILLA, "CVE-2015-0204 (FREAK)", "CVE-2015-4000 (Logjam)", "CWE-327"])
def insecure_cipher_suite(fact: TlsFact, settings):
    """Reports cipher suites that give no security at all: NULL encryption (plaintext),
    anonymous key exchange (no server authentication, `DH_anon`/`ECDH_anon`), and EXPORT
    suites (40- and 56-bit keys, 512-bit RSA/DH).

    Why it matters:
    NULL suites send the traffic in clear; anonymous suites let anyone on the path
    impersonate the server; EXPORT suites are broken in minutes and enable the FREAK and
    Logjam downgrades. A client that offers any of them can be steered into using them.

    Example:
    ```nginx
    ssl_ciphers "ALL:eNULL:@SECLEVEL=0";
    ```

    Fix:
    Use Mozilla's intermediate list (which excludes all of them), for nginx:
    `ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:…;` and remove
    `eNULL`, `aNULL`, `EXPORT` and `@SECLEVEL=0` from custom cipher strings.
    """
    if not _usable(fact):
        return
    found = _classified(fact, _BROKEN)
    if found:
        reasons = _reasons(found)
        yield Hit(f"accepts {len(found)} cipher suite(s) with {', '.join(reasons)}",
                  fact.location, resource="suites-insecure", evidence=_suite_list(found),
                  fix=_NGINX_CIPHERS)


@rule("TLS004", "weak-cipher-suite", Severity.HIGH,
      title="RC4, 3DES, DES or MD5 cipher suites accepted", on=TlsFact,
      checklist=["3.3.2", *SSL_LABS], impact=RELOAD,
      refs=[MOZILLA, "RFC 7465 (RC4 prohibited)", "CVE-2016-2183 (Sweet32)", "CWE-327"])
def weak_cipher_suite(fact: TlsFact, settings):
    """Reports cipher suites with a broken or weak building block: the RC4 stream cipher,
    64-bit block ciphers (3DES, DES, RC2, IDEA) and the MD5 MAC.

    Why it matters:
    RC4's keystream biases let an attacker recover cookies from enough captured traffic
    (RFC 7465 forbids it); 64-bit block ciphers leak plaintext after a few hundred GB on one
    connection (Sweet32); MD5 is collision-broken. The seed requires "no RC4, 3DES, MD5".

    Example:
    ```text
    gnutls priority: NORMAL:+ARCFOUR-128:+3DES-CBC:+MD5
    ```

    Fix:
    Accept AES-GCM and ChaCha20-Poly1305 suites only (Mozilla intermediate); in nginx
    `ssl_ciphers` with that list, in GnuTLS drop `+ARCFOUR-128`, `+3DES-CBC` and `+MD5`.
    """
    if not _usable(fact):
        return
    found = _classified(fact, _WEAK)
    if found:
        reasons = _reasons(found)
        yield Hit(f"accepts {len(found)} weak cipher suite(s): {', '.join(reasons)}",
                  fact.location, resource="suites-weak", evidence=_suite_list(found),
                  fix=_NGINX_CIPHERS)


@rule("TLS005", "no-forward-secrecy-suite", Severity.MEDIUM,
      title="Cipher suites without forward secrecy accepted", on=TlsFact,
      checklist=["3.3.2"], impact=RELOAD, refs=[MOZILLA, "CVE-2017-13099 (ROBOT)", "CWE-327"])
def no_forward_secrecy_suite(fact: TlsFact, settings):
    """Reports cipher suites whose key exchange is static: RSA key transport (`TLS_RSA_*`),
    static DH/ECDH, plain PSK. Suites already reported as insecure or weak are not repeated.

    Why it matters:
    Without an ephemeral (EC)DHE exchange, whoever obtains the server's private key later
    can decrypt every recorded session. RSA key transport is also what Bleichenbacher-style
    oracles (ROBOT) attack.

    Example:
    ```nginx
    ssl_ciphers "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:AES256-SHA";
    ```

    Fix:
    Keep only ECDHE and DHE suites: Mozilla's intermediate `ssl_ciphers` list, then reload.
    """
    if not _usable(fact):
        return
    found = _classified(fact, _NO_FS)
    if found:
        yield Hit(f"accepts {len(found)} cipher suite(s) without forward secrecy "
                  "(static key exchange)", fact.location, resource="suites-static-kex",
                  evidence=_suite_list(found), fix=_NGINX_CIPHERS)


@rule("TLS006", "suite-outside-profile", Severity.LOW,
      title="Cipher suites outside the Mozilla profile accepted", on=TlsFact,
      checklist=["3.3.2"], impact=RELOAD, refs=[MOZILLA, "CWE-327"])
def suite_outside_profile(fact: TlsFact, settings):
    """Reports forward-secret suites that Mozilla's profile leaves out, mostly CBC suites
    with SHA-1 or SHA-2 MACs (`ECDHE-RSA-AES128-SHA`), and Camellia, ARIA, SEED or CCM
    suites. Suites of protocol versions the profile refuses are left to TLS001.

    Why it matters:
    CBC with MAC-then-encrypt is the construction behind Lucky13 and POODLE-style padding
    oracles; implementations keep getting it subtly wrong. They are not broken outright,
    hence LOW, but every client that matters negotiates AEAD suites, so they only add risk.

    Example:
    ```nginx
    ssl_ciphers "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA";
    ```

    Fix:
    Use the profile's list exactly (Mozilla's configuration generator prints it for nginx,
    HAProxy, Traefik and Caddy) and reload.
    """
    if not _usable(fact):
        return
    found = _classified(fact, _OUTSIDE)
    if found:
        cbc_sha1 = [n for n, _ in found
                    if (s := describe(n)) and s.mode == "CBC" and s.mac == "SHA1"]
        detail = f" ({len(cbc_sha1)} of them CBC with SHA-1)" if cbc_sha1 else ""
        yield Hit(f"accepts {len(found)} cipher suite(s) outside Mozilla's "
                  f"`{(fact.profile or 'intermediate').lower()}` profile{detail}",
                  fact.location, resource="suites-outside-profile",
                  evidence=_suite_list(found), fix=_NGINX_CIPHERS)


@rule("TLS007", "weak-dh-group", Severity.HIGH,
      title="Diffie-Hellman group smaller than 2048 bits", on=TlsFact,
      checklist=["3.3.2", *SSL_LABS], impact=RELOAD,
      refs=[MOZILLA, "CVE-2015-4000 (Logjam)", "RFC 7919", "CWE-326"])
def weak_dh_group(fact: TlsFact, settings):
    """Reports DHE suites whose server-chosen finite-field group (read from the
    ServerKeyExchange) is smaller than 2048 bits: HIGH, and CRITICAL below 1024 bits.

    Why it matters:
    1024-bit groups are within reach of a state-level precomputation (Logjam's authors
    estimated one common prime breaks a large share of VPN and HTTPS traffic); 512-bit
    groups are broken on a laptop. The group protects every DHE session's keys.

    Example:
    ```nginx
    ssl_dhparam /etc/nginx/dhparam-1024.pem;
    ```

    Fix:
    Use the RFC 7919 group `ffdhe2048` (Mozilla publishes it as a ready file:
    `curl https://ssl-config.mozilla.org/ffdhe2048.txt > /etc/nginx/dhparam.pem`), or
    drop the DHE suites and keep ECDHE.
    """
    if not _usable(fact) or not fact.dh_groups:
        return
    smallest = min(fact.dh_groups.values())
    if smallest >= 2048:
        return
    weak = [name for name, bits in fact.dh_groups.items() if bits < 2048]
    severity = Severity.CRITICAL if smallest < 1024 else Severity.HIGH
    yield Hit(f"uses a {smallest}-bit Diffie-Hellman group for {len(weak)} DHE suite(s)",
              fact.location, resource="dh-group", severity=severity,
              evidence="; ".join(f"{n}: {fact.dh_groups[n]} bits" for n in weak[:6])
              + (f"; and {len(weak) - 6} more" if len(weak) > 6 else ""))


# --- the certificate -------------------------------------------------------------------

def _served(fact: TlsFact) -> Iterable[tuple[int, CertInfo]]:
    """The certificates that clients check: the chain minus a self-signed root sent along
    (a trust anchor's own signature, dates and key come from the client's store)."""
    for index, cert in enumerate(fact.chain):
        if index > 0 and cert.self_signed:
            continue
        yield index, cert


def _which(index: int) -> str:
    return "the certificate" if index == 0 else f"chain certificate #{index}"


def _days(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 86400)


@rule("TLS008", "certificate-expired", Severity.CRITICAL,
      title="Certificate expired or not yet valid", on=TlsFact,
      checklist=["3.3.4", "3.2.2", "3.3.3", *SSL_LABS], impact=NEW_CERT,
      refs=["RFC 5280 4.1.2.5", "CWE-298"])
def certificate_expired(fact: TlsFact, settings):
    """Reports a served certificate (the leaf or an intermediate) whose validity period
    does not include the time of the check: expired, or not valid yet.

    Why it matters:
    Every client refuses the connection, or users learn to click through the warning,
    which is exactly what a man-in-the-middle needs. An expired certificate also shows that
    renewal is not automated or not monitored.

    Example:
    ```text
    notAfter=2025-11-02T00:00:00Z (checked 2025-11-20)
    ```

    Fix:
    Renew the certificate (`certbot renew`, or the proxy's ACME client), reload the proxy,
    and alert on expiry (e.g. Prometheus blackbox exporter `probe_ssl_earliest_cert_expiry`).
    """
    if not _usable(fact):
        return
    now = fact.checked_at
    for index, cert in _served(fact):
        if cert.not_after < now:
            yield Hit(f"{_which(index)} ({cert.describe()}) expired "
                      f"{_days(now - cert.not_after)} day(s) ago", fact.location,
                      resource=f"validity:{index}",
                      evidence=f"notAfter={cert.not_after.isoformat()}")
        elif cert.not_before > now:
            yield Hit(f"{_which(index)} ({cert.describe()}) is not valid before "
                      f"{cert.not_before.date().isoformat()}", fact.location,
                      resource=f"validity:{index}",
                      evidence=f"notBefore={cert.not_before.isoformat()}",
                      fix="check the server's clock and the certificate's dates")


@rule("TLS009", "certificate-expiring-soon", Severity.HIGH,
      title="Certificate expires soon", on=TlsFact, checklist=["3.3.4"], impact=NEW_CERT,
      refs=["Let's Encrypt: renew 30 days before expiry", "CWE-298"])
def certificate_expiring_soon(fact: TlsFact, settings):
    """Reports a served certificate that is still valid but expires within the warning
    window (`tls_expiry_warning_days`, 30 days by default).

    Why it matters:
    ACME clients renew 30 days before expiry (Let's Encrypt certificates live 90 days); a
    certificate inside that window means renewal has failed or is manual, and the service
    will break on a known date.

    Example:
    ```text
    notAfter in 9 days
    ```

    Fix:
    Find why renewal did not happen (`certbot renew --dry-run`, the proxy's ACME log), fix
    it, and alert on expiry so the next failure is caught early.
    """
    if not _usable(fact):
        return
    window = int(getattr(settings, "tls_expiry_warning_days", EXPIRY_WARNING_DAYS))
    now = fact.checked_at
    for index, cert in _served(fact):
        left = cert.not_after - now
        if cert.not_before <= now <= cert.not_after and left < dt.timedelta(days=window):
            yield Hit(f"{_which(index)} ({cert.describe()}) expires in {_days(left)} day(s), "
                      f"within the {window}-day warning window", fact.location,
                      resource=f"expiry:{index}",
                      evidence=f"notAfter={cert.not_after.isoformat()}")


@rule("TLS010", "certificate-hostname-mismatch", Severity.HIGH,
      title="Certificate does not match the host name", on=TlsFact,
      checklist=["3.2.2", "3.3.3", *SSL_LABS], impact=NEW_CERT, refs=["RFC 6125", "CWE-297"])
def certificate_hostname_mismatch(fact: TlsFact, settings):
    """Reports a leaf certificate whose subject alternative names do not cover the host
    name the client asked for (sent as SNI), or the IP address when the target is one.
    Like browsers, the subject's common name is not used.

    Why it matters:
    Clients reject the connection; users who click through, or scripts run with
    `verify=False`, then accept any certificate at all, including an attacker's.

    Example:
    ```text
    asked for grafana.lab.example, certificate names: proxy.lab.example
    ```

    Fix:
    Issue a certificate that names the host (a SAN entry, or a wildcard for the
    subdomain), or configure the proxy host with the right certificate for that name.
    """
    if not _usable(fact) or fact.hostname_match is not False or fact.leaf is None:
        return
    names = fact.leaf.sans or ([f"CN={fact.leaf.common_name} (no SAN)"]
                               if fact.leaf.common_name else ["none"])
    yield Hit(f"the certificate is not valid for {fact.host}", fact.location,
              resource="hostname", evidence=f"names: {', '.join(names[:10])}"
              + (f" and {len(names) - 10} more" if len(names) > 10 else ""))


@rule("TLS011", "certificate-untrusted", Severity.HIGH,
      title="Certificate chain not trusted", on=TlsFact,
      checklist=["3.2.2", "3.3.3", *SSL_LABS], impact=NEW_CERT, refs=["RFC 5280 6", "CWE-295"])
def certificate_untrusted(fact: TlsFact, settings):
    """Reports a chain that does not validate (dates aside, which TLS008 judges) against
    the system trust store plus the CA file the user named (`--ca-file`): self-signed,
    issued by an unknown CA, or missing an intermediate.

    Always HIGH, never CRITICAL: an untrusted certificate exposes nothing by itself, it
    makes man-in-the-middle possible for users who accept it; and without the user's CA
    file the auditor cannot tell a private homelab CA from an attacker's, so self-signed
    does not escalate either. With the CA file given, a chain that still fails is worth
    the same HIGH: it is not from that CA.

    Why it matters:
    Users and tools confronted with certificate warnings learn to bypass them, and then a
    forged certificate looks the same as the real one.

    Example:
    ```text
    self-signed certificate (no CA file given)
    ```

    Fix:
    Use a certificate from Let's Encrypt (DNS-01 works for internal names), or from your
    private CA, installed on the clients and passed to labwarden with `--ca-file`. Serve
    the full chain (`fullchain.pem`, not `cert.pem`).
    """
    if not _usable(fact) or fact.trusted is not False:
        return
    leaf = fact.leaf
    error = fact.trust_error or "does not validate"
    if leaf is not None and leaf.self_signed:
        what = "the certificate is self-signed"
    elif "local issuer" in error or "issuer certificate" in error:
        what = f"the issuer ({leaf.issuer if leaf else 'unknown'}) is not a trusted CA, or the " \
               "server does not send the intermediate certificate"
    else:
        what = f"the chain does not validate: {error}"
    if fact.ca_file:
        where = f"the system trust store or the CA file {fact.ca_file}"
        fix = ("serve a certificate issued by the CA in the CA file, with its intermediates "
               "(full chain)")
    else:
        where = "the system trust store"
        fix = ("use a Let's Encrypt certificate, or pass your private CA with --ca-file if "
               "the certificate comes from it")
    yield Hit(f"{what}: not trusted by {where}", fact.location, resource="trust",
              evidence=f"{error}; issuer: {leaf.issuer if leaf else 'unknown'}", fix=fix)


@rule("TLS012", "weak-certificate-key", Severity.HIGH,
      title="Certificate key too small", on=TlsFact,
      checklist=["3.3.3", *SSL_LABS], impact=NEW_CERT,
      refs=[MOZILLA, "NIST SP 800-131A", "CWE-326"])
def weak_certificate_key(fact: TlsFact, settings):
    """Reports a served certificate with an RSA or DSA key below 2048 bits, or an elliptic
    curve key below 224 bits.

    Why it matters:
    1024-bit RSA is within reach of well-funded attackers and is refused by current
    browsers and by OpenSSL's default security level: whoever factors the key impersonates
    the server, and decrypts recorded sessions that used RSA key exchange.

    Example:
    ```text
    RSA 1024 bits (CN=nas.lab.example)
    ```

    Fix:
    Issue a new certificate with an ECDSA P-256 or RSA 2048+ key (`certbot --key-type
    ecdsa`, or `openssl req -newkey rsa:3072`), then reload.
    """
    if not _usable(fact):
        return
    for index, cert in _served(fact):
        minimum = 224 if cert.key_type == "EC" else 2048 if cert.key_type in ("RSA", "DSA") else 0
        if minimum and 0 < cert.key_bits < minimum:
            yield Hit(f"{_which(index)} ({cert.describe()}) has a {cert.key_bits}-bit "
                      f"{cert.key_type} key (minimum {minimum})", fact.location,
                      resource=f"key:{index}", evidence=f"{cert.key_type} {cert.key_bits} bits")


_WEAK_HASHES = {"sha1", "md5", "md2", "md4"}


@rule("TLS013", "weak-certificate-signature", Severity.HIGH,
      title="Certificate signed with SHA-1 or MD5", on=TlsFact,
      checklist=["3.3.3", *SSL_LABS], impact=NEW_CERT,
      refs=["CA/Browser Forum BR 7.1.3", "SHAttered (2017)", "CWE-328"])
def weak_certificate_signature(fact: TlsFact, settings):
    """Reports a served certificate signed with SHA-1 or MD5 by its issuer. Self-signed
    certificates are left out: nobody verifies their own signature, TLS011 reports them.

    Why it matters:
    Chosen-prefix collisions on SHA-1 (SHAttered, 2017; practical since 2020) and MD5
    (the 2008 rogue CA) let an attacker obtain a CA signature valid for a forged
    certificate. Browsers reject such certificates.

    Example:
    ```text
    sha1WithRSAEncryption (CN=printer.lab.example)
    ```

    Fix:
    Re-issue the certificate with SHA-256 (`openssl x509 -sha256`, or any current ACME
    client), and re-issue the intermediate if it is the one signed with SHA-1.
    """
    if not _usable(fact):
        return
    for index, cert in _served(fact):
        if cert.self_signed:
            continue
        if cert.signature_hash.lower() in _WEAK_HASHES:
            yield Hit(f"{_which(index)} ({cert.describe()}) is signed with "
                      f"{cert.signature_hash.upper()}", fact.location,
                      resource=f"signature:{index}",
                      evidence=cert.signature_algorithm or cert.signature_hash)


@rule("TLS014", "heartbleed", Severity.CRITICAL,
      title="Server vulnerable to Heartbleed (CVE-2014-0160)", on=TlsFact,
      checklist=["9.2.2", *SSL_LABS], impact=UPGRADE,
      refs=["CVE-2014-0160", "RFC 6520", "CWE-126"])
def heartbleed(fact: TlsFact, settings):
    """Reports a server that answers a heartbeat request whose payload length is a lie
    with bytes out of its own memory.

    Only servers that accept the heartbeat extension in the probe's first hello are tested,
    with one more connection: the request claims 16 KiB and carries none. The answer is
    never kept or shown: it is the server's memory, private keys and passwords included.

    Why it matters:
    Anyone who reaches the port reads up to 64 KiB of the server's memory per request,
    without a trace in its logs: session cookies, passwords in flight, the TLS private
    key. Old appliances (NAS boxes, BMCs such as iLO and iDRAC, printers, embedded web
    UIs) still ship the OpenSSL 1.0.1 builds that have it.

    Example:
    ```text
    OpenSSL 1.0.1 to 1.0.1f, built with heartbeats (the default)
    ```

    Fix:
    Update the firmware or the OpenSSL it links (1.0.1g and later), or put the service
    behind the reverse proxy and stop exposing its own TLS port. Then replace the
    certificate and its key, and every password and session that went through it: they
    must be taken as read.
    """
    if _usable(fact) and fact.heartbleed:
        yield Hit("answers a heartbeat request with bytes from its memory (Heartbleed): "
                  "its key and its users' secrets can be read remotely", fact.location,
                  resource="heartbleed", evidence="heartbeat response to a request with an "
                  "overstated payload length (contents not kept)")


@rule("TLS015", "no-secure-renegotiation", Severity.MEDIUM,
      title="No secure renegotiation (RFC 5746)", on=TlsFact,
      checklist=["9.2.2", *SSL_LABS], impact=UPGRADE,
      refs=["RFC 5746", "CVE-2009-3555", "CWE-300"])
def no_secure_renegotiation(fact: TlsFact, settings):
    """Reports a server that does not answer the client's renegotiation signal (the
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV suite, offered in every hello of the probe) with the
    renegotiation_info extension, for TLS 1.2 and older. TLS 1.3 has no renegotiation.

    Why it matters:
    Without RFC 5746, a server that renegotiates lets an attacker in the middle splice
    their own request in front of a victim's session (CVE-2009-3555). Every TLS library
    has supported the fix since 2010: a server without it is running a TLS stack that old,
    with everything else that stack lacks.

    Example:
    ```text
    ServerHello without renegotiation_info (OpenSSL before 0.9.8m)
    ```

    Fix:
    Update the TLS library or the appliance's firmware; where that is not possible, put the
    service behind the reverse proxy and expose only the proxy.
    """
    if _usable(fact) and fact.secure_renegotiation is False:
        yield Hit("does not support secure renegotiation (RFC 5746): a TLS stack from before "
                  "2010", fact.location, resource="renegotiation",
                  evidence="no renegotiation_info in the ServerHello")


@rule("TLS016", "client-renegotiation-accepted", Severity.MEDIUM,
      title="Client-initiated renegotiation accepted", on=TlsFact,
      checklist=["9.2.2"], impact=Impact("service", (0, 1)),
      refs=["CVE-2011-1473", "THC-SSL-DOS", "CWE-400"])
def client_renegotiation_accepted(fact: TlsFact, settings):
    """Reports a server that renegotiates when its client asks, on TLS 1.2 or older: after a
    complete handshake the probe (`openssl s_client`, its `R` command) starts a new one, and
    the server finishes it instead of refusing with a `no_renegotiation` alert.

    Why it matters:
    Each renegotiation costs the server a new key exchange and signature while the client
    pays next to nothing, on one already open connection that no per-connection rate limit
    sees: a single client can keep the server's CPU busy (THC-SSL-DOS, CVE-2011-1473).
    Nothing legitimate needs a client to renegotiate; nginx, Apache and HAProxy refuse it.
    sslyze and testssl.sh report it too.

    Example:
    ```text
    openssl s_client -connect host:443 -no_tls1_3, then R: the server sends a new Finished
    ```

    Fix:
    Update the TLS library or the server, or turn client renegotiation off in it (OpenSSL
    3 refuses it unless the application sets `SSL_OP_ALLOW_CLIENT_RENEGOTIATION`, e.g.
    `openssl s_server -client_renegotiation`). Or serve TLS 1.3 only, which has no
    renegotiation; or put the service behind the reverse proxy.
    """
    if _usable(fact) and fact.client_renegotiation is True:
        yield Hit("accepts a renegotiation started by the client: one connection can make it "
                  "repeat its handshake's private-key work (CVE-2011-1473)", fact.location,
                  resource="client-renegotiation",
                  evidence="a second handshake completed after `openssl s_client` sent R")


# --- provers: what shows the items hold ---------------------------------------------------

def _scanned(fact: TlsFact) -> bool:
    """A scan that completed: handshakes answered, not cut short by the deadline."""
    return fact.error is None and not fact.partial and bool(fact.protocols)


by_silence("TLS001", "3.3.1", also=("TLS002",), complete=_scanned,
           note=lambda fact: "accepts " + ", ".join(fact.protocols))
by_silence("TLS004", "3.3.2", also=("TLS003", "TLS007"), complete=_scanned,
           note="no NULL, export, RC4, 3DES, DES or MD5 suite, no small DH group")


def _certificate_good(fact: TlsFact) -> bool:
    return _scanned(fact) and fact.trusted is True and fact.hostname_match is True \
        and bool(fact.chain)


def _issuer(fact: TlsFact) -> str:
    leaf = fact.chain[0]
    issuer = getattr(leaf, "issuer", "") or "its issuer"
    return f"certificate for {fact.host} trusted, issued by {issuer}"


by_silence("TLS011", "3.2.2", "3.3.3", also=("TLS008", "TLS010", "TLS012", "TLS013"),
           complete=_certificate_good, note=_issuer)
# What caps an SSL Labs grade, all absent; the HSTS an A+ needs is the HTTP side's prover.
by_silence("TLS001", *SSL_LABS, also=("TLS002", "TLS003", "TLS004", "TLS007", "TLS008",
                                      "TLS010", "TLS011", "TLS012", "TLS013", "TLS014",
                                      "TLS015"),
           complete=_certificate_good, note="nothing that caps an SSL Labs grade below A")
