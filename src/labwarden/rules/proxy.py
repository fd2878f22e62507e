"""Rules about the reverse proxy's configuration (Nginx Proxy Manager, Traefik, Caddy):
each route (proxy host, router, site) and each proxy, as `labwarden.sources.proxy` reads
them, and a route against the live answer of its URL.

The configuration says what the proxy is meant to do; the HTTP rules (HDR) say what the
site does. A route that claims HSTS or Force SSL that the live answer does not show is
PRX030's: the proxy that answers is not running this configuration (NPM failed to apply
it, another proxy or a CDN answers first).

Only what the configuration read shows is judged: a route whose proxy does not serve it
(disabled, in error) gets PRX004 and nothing else; a field the configuration does not tell
(None) is never a finding.
"""

from __future__ import annotations

import datetime as dt

from labwarden.knowledge import images as _images
from labwarden.knowledge.ports import classify
from labwarden.knowledge.proxy import NO_LOGIN_ADMIN, WEBSOCKET_IMAGES
from labwarden.model import Hit, Impact, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.proxy.model import SIX_MONTHS, ProxyLiveCheck, ProxyRoute, ProxyServer

PROXY_RELOAD = Impact("service", (0, 1))    # a proxy setting and its reload
MOZILLA = "Mozilla Web Security Guidelines"
EXPIRY_WARNING_DAYS = 30

_FIX_TLS = {
    "npm": "NPM: edit the proxy host → SSL → request a Let's Encrypt certificate (or pick "
           "the lab's), then turn on Force SSL",
    "traefik": "Traefik: put the router on the TLS entry point with `tls: {certResolver: …}` "
               "(labels: `traefik.http.routers.NAME.tls=true`)",
    "caddy": "Caddy: write the site as `name.lab.example { … }` (not `http://…`): automatic "
             "HTTPS gets a certificate, or `tls internal` for the local CA",
}
_FIX_FORCE = {
    "npm": "NPM: proxy host → SSL → Force SSL",
    "traefik": "Traefik: redirect the plain entry point: `entryPoints.web.http.redirections."
               "entryPoint: {to: websecure, scheme: https}`",
    "caddy": "Caddy: remove `auto_https off|disable_redirects`, or add `redir "
             "https://{host}{uri} permanent` on the http:// site",
}
_FIX_HSTS = {
    "npm": "NPM: proxy host → SSL → Force SSL, HSTS Enabled and HSTS Subdomains",
    "traefik": "Traefik: a headers middleware with `stsSeconds: 31536000` and "
               "`stsIncludeSubdomains: true` on the router (or on the entry point)",
    "caddy": "Caddy: `header Strict-Transport-Security \"max-age=31536000; "
             "includeSubDomains\"` in the site",
}
_FIX_AUTH = {
    "npm": "NPM: Access Lists → add one with users (and/or the admin network's addresses), "
           "then select it on the proxy host",
    "traefik": "Traefik: a `basicAuth` or `forwardAuth` (Authelia, Authentik, TinyAuth) "
               "middleware on the router, or an `ipAllowList` of the admin network",
    "caddy": "Caddy: `forward_auth` to the SSO gateway, or `basic_auth` (Caddy < 2.8: "
             "`basicauth`) in the site",
}


def _served(route: ProxyRoute) -> bool:
    return route.not_served is None


def _fix(table: dict[str, str], route: ProxyRoute) -> str:
    return table.get(route.proxy, "")


# --- routes -------------------------------------------------------------------------------

@rule("PRX001", "proxy-route-without-tls", Severity.HIGH,
      title="Proxy route served over plain HTTP", on=ProxyRoute, checklist=["3.2.2", "3.2.3"],
      refs=[MOZILLA, "CWE-319"], impact=PROXY_RELOAD)
def route_without_tls(route: ProxyRoute, settings):
    """Reports a route the proxy serves without TLS: an NPM proxy host without a
    certificate, a Traefik router only on entry points without TLS (and not redirected), a
    Caddy `http://` site (or a server with automatic HTTPS off and no TLS).

    Why it matters:
    Everything the site exchanges, logins and session cookies included, crosses the network
    in clear text, readable and changeable by anyone on the path (a compromised IoT device
    on the same LAN is enough).

    Example:
    ```text
    NPM proxy host wiki.lab.example: no certificate (SSL tab: None)
    ```

    Fix:
    Give the route a certificate and serve it over HTTPS only (NPM: SSL tab; Traefik:
    `tls` on the router or the entry point; Caddy: a site address without `http://`).
    """
    if not _served(route) or route.tls is not False:
        return
    hosts = ", ".join(route.domains) or "no host name"
    yield Hit(f"{route.title} is served over plain HTTP only ({hosts})", route.location,
              resource="tls", evidence=route.force_note or "no certificate or TLS "
              "configuration", fix=_fix(_FIX_TLS, route))


@rule("PRX002", "proxy-https-not-forced", Severity.HIGH,
      title="Proxy does not redirect HTTP to HTTPS", on=ProxyRoute, checklist=["3.2.3"],
      refs=[MOZILLA, "CWE-319"], impact=PROXY_RELOAD)
def https_not_forced(route: ProxyRoute, settings):
    """Reports a route served over HTTPS whose plain-HTTP side is not redirected to it: NPM's
    Force SSL off, a Traefik router also served on a plain entry point (or whose plain
    entry point does not redirect), Caddy's automatic HTTPS redirects turned off.

    Why it matters:
    Users, links and bookmarks still start at `http://`. Without the redirect they stay on
    clear text (or get the proxy's default page), and without HTTPS on the first visit the
    browser never learns the site's HSTS policy.

    Example:
    ```text
    NPM proxy host grafana.lab.example: certificate set, Force SSL off
    ```

    Fix:
    Turn the redirect on: NPM's Force SSL, a Traefik entry-point redirection or
    `redirectScheme` middleware, Caddy's automatic HTTPS redirects.
    """
    if not _served(route) or route.tls is not True or route.force_https is not False:
        return
    yield Hit(f"{route.title} serves HTTPS but does not redirect plain HTTP to it"
              + (f": {route.force_note}" if route.force_note else ""), route.location,
              resource="force-https", evidence=route.force_note or "Force SSL off",
              fix=_fix(_FIX_FORCE, route))


@rule("PRX003", "proxy-hsts-missing", Severity.MEDIUM,
      title="Proxy route without HSTS", on=ProxyRoute, checklist=["3.3.5", "7.1.5"],
      refs=["RFC 6797", MOZILLA, "CWE-319", "CWE-523"], impact=PROXY_RELOAD)
def hsts_missing(route: ProxyRoute, settings):
    """Reports an HTTPS route whose proxy does not send a usable HSTS header: none
    configured, configured in a way the proxy does not send (NPM sends it only with a
    certificate and Force SSL), a max-age under six months (MEDIUM), or no
    includeSubDomains (LOW alone). The application behind may send HSTS itself: the live
    probe (HDR001) shows what the site sends.

    Why it matters:
    Without HSTS a browser sent to `http://` talks plain HTTP first, and an attacker on the
    network can keep it there (SSL stripping); a short max-age lapses between visits.

    Example:
    ```text
    NPM proxy host paperless.lab.example: HSTS Enabled off
    ```

    Fix:
    Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` from the proxy
    (NPM: Force SSL, HSTS Enabled, HSTS Subdomains; Traefik: `stsSeconds` and
    `stsIncludeSubdomains` in a headers middleware; Caddy: `header Strict-Transport-Security
    …`).
    """
    if not _served(route) or route.tls is not True or not route.hsts_known:
        return
    hsts = route.hsts
    if hsts is None:
        why = route.hsts_note or "no Strict-Transport-Security configured"
        yield Hit(f"{route.title} sends no HSTS: {why}", route.location, resource="hsts",
                  evidence=why, fix=_fix(_FIX_HSTS, route))
        return
    problems, severity = [], Severity.LOW
    if hsts.max_age < SIX_MONTHS:
        problems.append(f"max-age={hsts.max_age} is under six months ({SIX_MONTHS})")
        severity = Severity.MEDIUM
    if not hsts.subdomains:
        problems.append("no includeSubDomains")
    if problems:
        yield Hit(f"{route.title} sends weak HSTS: {'; '.join(problems)}", route.location,
                  resource="hsts", evidence=f"max-age={hsts.max_age}"
                  + ("; includeSubDomains" if hsts.subdomains else ""), severity=severity,
                  fix=_fix(_FIX_HSTS, route))


@rule("PRX004", "proxy-route-not-served", Severity.MEDIUM,
      title="Proxy route not served", on=ProxyRoute, checklist=["3.2.1"],
      refs=["Nginx Proxy Manager and Traefik documentation"], impact=PROXY_RELOAD)
def route_not_served(route: ProxyRoute, settings):
    """Reports a route the proxy has but cannot serve: an NPM proxy host whose nginx
    configuration NPM could not apply (its `meta.nginx_online` false: the red "offline"
    badge), a Traefik router in error (a middleware or service that does not exist, as
    Traefik itself reports), so the service is not reached through the proxy as configured.
    A proxy host someone disabled is not read: it serves nothing, on purpose.

    Why it matters:
    Users then reach the service some other way (its published port, a direct IP) without
    the proxy's TLS, headers and access control, or not at all; and a Traefik router whose
    authentication middleware is misspelt is disabled, not served without it, which hides
    the mistake until someone looks.

    Example:
    ```text
    router grafana@file: middleware auth-typo@file does not exist
    ```

    Fix:
    Fix the error the proxy reports (NPM: the host's red "offline" badge shows nginx's
    message; Traefik: the dashboard's router page), or delete a route that is not needed.
    """
    if route.not_served is None:
        return
    yield Hit(f"{route.title} is not served: {route.not_served}", route.location,
              resource="served", evidence=route.not_served[:200])


def _admin_apps(route: ProxyRoute) -> list[str]:
    """The admin interfaces behind the route (knowledge.ports kind admin)."""
    found = []
    for upstream in route.upstreams:
        ports = [upstream.port] if upstream.port else []
        workload = upstream.workload
        if workload is not None and upstream.via.startswith("host port"):
            ports = [target for target, published, _ in workload.ports
                     if published == upstream.port] or ports
        entry = classify(workload.image if workload else None, ports) if ports else None
        if entry is not None and entry.kind == "admin":
            found.append(entry.label)
    return list(dict.fromkeys(found))


@rule("PRX005", "proxy-admin-app-without-auth", Severity.MEDIUM,
      title="Admin interface proxied without authentication", on=ProxyRoute,
      checklist=["10.4.2"], refs=["CWE-306", "OWASP ASVS V4.1"], impact=PROXY_RELOAD)
def admin_without_auth(route: ProxyRoute, settings):
    """Reports a route to an administration interface (Portainer, Proxmox, Grafana, n8n,
    Prometheus…, recognised by the upstream's image and port as NET003 does) with neither
    an access list nor authentication at the proxy (NPM access list, Traefik
    basicAuth/forwardAuth/ipAllowList, Caddy basic_auth/forward_auth). HIGH when the
    interface has no login of its own (Prometheus, Alertmanager, Loki, cAdvisor, the
    Docker API…): then anyone who reaches the proxy is in, and only then does the finding
    fail checklist 10.4.2 (admin access limited to authorized personnel): an application
    with its own login still limits admin access to its accounts.

    Why it matters:
    The proxy makes the interface reachable from everywhere the proxy is; one password (or
    none) stands between the network and control of the service, often of the host. An
    access list or an SSO gateway at the proxy limits admin access to the people who should
    have it, and adds MFA where the application has none.

    Example:
    ```text
    NPM proxy host portainer.lab.example → portainer:9443, Access List: Publicly Accessible
    ```

    Fix:
    Put authentication in front of it at the proxy (an NPM access list with users or the
    admin network's addresses; Traefik basicAuth/forwardAuth; Caddy forward_auth to the SSO
    gateway), or do not proxy it and reach it over a VPN.
    """
    if not _served(route) or route.auth is not None:
        return
    apps = _admin_apps(route)
    if not apps:
        return
    open_door = [a for a in apps if a in NO_LOGIN_ADMIN]
    yield Hit(f"{route.title} proxies {', '.join(apps)} without an access list or "
              "authentication at the proxy" + (" (it has no login of its own)" if open_door
                                              else ""),
              route.location, resource="auth", evidence=", ".join(u.shown for u in
                                                                  route.upstreams[:3]),
              severity=Severity.HIGH if open_door else None, fix=_fix(_FIX_AUTH, route),
              checklist=None if open_door else ())


@rule("PRX006", "proxy-http2-off", Severity.LOW,
      title="HTTP/2 off on an HTTPS proxy host", on=ProxyRoute,
      refs=["RFC 9113", MOZILLA], impact=PROXY_RELOAD)
def http2_off(route: ProxyRoute, settings):
    """Reports an NPM proxy host with a certificate and "HTTP/2 Support" off (Traefik and
    Caddy serve HTTP/2 by default: not judged).

    Why it matters:
    HTTP/1.1 over TLS opens more connections and handshakes for the same page; HTTP/2 is
    what current browsers expect, multiplexes requests and has no request-line parsing
    ambiguities (request smuggling between proxy and client is an HTTP/1.1 problem).

    Example:
    ```text
    NPM proxy host grafana.lab.example: SSL on, HTTP/2 Support off
    ```

    Fix:
    NPM: proxy host → SSL → HTTP/2 Support.
    """
    if _served(route) and route.tls is True and route.http2 is False:
        yield Hit(f"{route.title} serves HTTPS without HTTP/2", route.location,
                  resource="http2", evidence="http2_support off")


@rule("PRX007", "proxy-block-exploits-off", Severity.LOW,
      title="NPM \"Block Common Exploits\" off", on=ProxyRoute,
      refs=["Nginx Proxy Manager: block-exploits.conf"], impact=PROXY_RELOAD)
def block_exploits_off(route: ProxyRoute, settings):
    """Reports an NPM proxy host with "Block Common Exploits" off.

    Why it matters:
    NPM's block-exploits rules reject requests with common injection and file-inclusion
    patterns in the query string and known scanner user agents before they reach the
    application: cheap defence in depth for applications that are rarely patched.

    Example:
    ```text
    NPM proxy host paperless.lab.example: Block Common Exploits off
    ```

    Fix:
    NPM: proxy host → Details → Block Common Exploits (check that the application still
    works: a few APIs send query strings the rules reject).
    """
    if _served(route) and route.block_exploits is False:
        yield Hit(f"{route.title} has Block Common Exploits off", route.location,
                  resource="block-exploits", evidence="block_exploits off")


@rule("PRX008", "proxy-websockets-not-needed", Severity.LOW,
      title="WebSocket upgrade for an application that does not use it", on=ProxyRoute,
      refs=["RFC 6455", "CWE-16"], impact=PROXY_RELOAD)
def websockets_not_needed(route: ProxyRoute, settings):
    """Reports an NPM proxy host with "Websockets Support" on whose upstream is a known
    image that does not use WebSockets (`knowledge.proxy.WEBSOCKET_IMAGES` lists those
    that do). An upstream whose image is not known is not judged.

    Why it matters:
    The upgrade hands the connection to the application as an opaque tunnel: the proxy no
    longer sees requests on it, and an application that does not expect upgrades may
    mishandle them (WebSocket and h2c smuggling through the proxy). Allow what is used.

    Example:
    ```text
    NPM proxy host paperless-db-admin.lab.example → adminer:8080, Websockets Support on
    ```

    Fix:
    NPM: proxy host → Details → Websockets Support off, for applications that do not need
    it.
    """
    if not _served(route) or route.websockets is not True:
        return
    known = [w for w in route.served_workloads() if w.image]
    if not known or any(_images.matches(w.image, WEBSOCKET_IMAGES) for w in known):
        return
    yield Hit(f"{route.title} upgrades WebSocket connections for "
              f"{', '.join(sorted({w.image or '' for w in known}))}, which does not use them",
              route.location, resource="websockets", evidence="allow_websocket_upgrade on")


@rule("PRX009", "proxy-certificate-expiring", Severity.HIGH,
      title="Proxy certificate expired or expiring", on=ProxyRoute,
      checklist=["3.3.4", "3.2.2"], refs=["Let's Encrypt: renew 30 days before expiry",
                                          "CWE-298"], impact=Impact("service", (0, 5)))
def certificate_expiring(route: ProxyRoute, settings):
    """Reports a route whose certificate, as the proxy records it (NPM's `expires_on`),
    has expired (HIGH) or expires within the warning window (`tls_expiry_warning_days`,
    30 days by default; MEDIUM). NPM renews its Let's Encrypt certificates 30 days before
    expiry, so one inside the window means renewal is failing; an uploaded ("custom")
    certificate is never renewed by NPM.

    Why it matters:
    An expired certificate is an outage on a known date and trains users to click through
    warnings, which is what a man-in-the-middle needs.

    Example:
    ```text
    NPM certificate "lab wildcard" (other): expired 2026-05-01
    ```

    Fix:
    Renew it (NPM: SSL Certificates → Renew, or upload the new custom certificate), find
    why automatic renewal failed (NPM's letsencrypt log), and alert on expiry.
    """
    certificate = route.certificate
    if not _served(route) or certificate is None or certificate.expires is None:
        return
    window = int(getattr(settings, "tls_expiry_warning_days", EXPIRY_WARNING_DAYS))
    left = certificate.expires - route.read_at
    days = int(left.total_seconds() // 86400)
    shown = f"certificate {certificate.name!r}" + (f" ({certificate.provider})"
                                                  if certificate.provider else "")
    evidence = f"expires_on {certificate.expires.date().isoformat()}"
    if left < dt.timedelta(0):
        yield Hit(f"{route.title}: {shown} expired {-days} day(s) ago", route.location,
                  resource="certificate", evidence=evidence)
    elif left < dt.timedelta(days=window):
        yield Hit(f"{route.title}: {shown} expires in {days} day(s), within the {window}-day "
                  "warning window", route.location, resource="certificate", evidence=evidence,
                  severity=Severity.MEDIUM, checklist=("3.3.4",))


@rule("PRX010", "proxy-no-security-headers", Severity.LOW,
      title="Proxy route sets no security headers", on=ProxyRoute,
      refs=[MOZILLA, "OWASP HTTP Headers Cheat Sheet"], impact=PROXY_RELOAD)
def no_security_headers(route: ProxyRoute, settings):
    """Reports a Traefik router or Caddy site served over HTTPS whose proxy sets no
    security header besides HSTS (no headers middleware or `header` directive with
    X-Content-Type-Options, X-Frame-Options, Content-Security-Policy, Referrer-Policy…).
    Applications often send some themselves: the live probe (HDR004-HDR009) judges what
    the site sends; this says the proxy adds nothing. NPM is not judged (it sets no such
    header itself).

    Why it matters:
    A headers middleware on the proxy gives every site behind it the same baseline
    (nosniff, framing, referrer), including applications that send none.

    Example:
    ```yaml
    http:
      routers:
        wiki: {rule: "Host(`wiki.lab.example`)", service: wiki, tls: {}}
    ```

    Fix:
    Traefik: a headers middleware (`contentTypeNosniff: true`, `frameDeny: true`,
    `referrerPolicy: strict-origin-when-cross-origin`…) on the router or the entry point;
    Caddy: `header { X-Content-Type-Options nosniff … }` in the site (or a snippet imported
    by every site).
    """
    if not _served(route) or route.tls is not True or route.headers is None:
        return
    if any(h != "strict-transport-security" for h in route.headers):
        return
    yield Hit(f"{route.title} sets no security headers at the proxy", route.location,
              resource="headers", evidence="headers set: " + (", ".join(route.headers)
                                                             or "none"))


# --- the proxies themselves ---------------------------------------------------------------

@rule("PRX020", "traefik-dashboard-open", Severity.HIGH,
      title="Traefik API and dashboard without authentication", on=ProxyServer,
      checklist=["3.1.4", "10.4.2"], refs=["Traefik docs: API insecure mode", "CWE-306"],
      impact=PROXY_RELOAD)
def traefik_dashboard_open(server: ProxyServer, settings):
    """Reports a Traefik whose API and dashboard are served without authentication on an
    address beyond loopback: `api.insecure: true` in its static configuration file (the
    command-line flag is NET006's), or a router to `api@internal` without a basicAuth,
    digestAuth or forwardAuth middleware, read from the files or the API.

    Why it matters:
    The API lists every router, service, middleware and backend address of the lab, which
    maps it for an attacker; the dashboard shows the same. It needs no credentials at all.

    Example:
    ```yaml
    api:
      insecure: true
    ```

    Fix:
    Remove `api.insecure`; serve the dashboard through a router on the TLS entry point, with
    a Host rule, `service: api@internal` and an authentication middleware
    (`middlewares: [auth]`), or bind the `traefik` entry point to 127.0.0.1.
    """
    if server.dashboard_open:
        yield Hit(f"Traefik {server.label}: {server.dashboard_open}", server.location,
                  resource="dashboard", evidence=server.dashboard_open[:200])


def _loopback_listen(address: str) -> bool:
    if address.startswith(("unix/", "unix//", "unixgram/")):
        return True
    host = address.rpartition(":")[0] if ":" in address else address
    host = host.strip("[]").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


@rule("PRX021", "caddy-admin-api-exposed", Severity.HIGH,
      title="Caddy admin API beyond loopback", on=ProxyServer, checklist=["3.1.4", "10.4.2"],
      refs=["Caddy docs: admin API", "CWE-306"], impact=PROXY_RELOAD)
def caddy_admin_exposed(server: ProxyServer, settings):
    """Reports a Caddy whose admin API listens beyond loopback (`admin 0.0.0.0:2019`,
    `admin :2019`…). The default, `localhost:2019`, a Unix socket, and `admin off` pass.

    Why it matters:
    The admin API has no authentication: whoever reaches it can replace Caddy's whole
    configuration (send every site to their own server, turn TLS off) with one POST. In a
    container, every other container on its networks reaches it.

    Example:
    ```text
    {
        admin 0.0.0.0:2019
    }
    ```

    Fix:
    Keep the default (`localhost:2019`), use a Unix socket (`admin unix//run/caddy-admin.sock`),
    or `admin off` when configuration changes go through a reload.
    """
    if server.proxy != "caddy" or not server.admin_known or not server.admin_listen:
        return
    if not _loopback_listen(server.admin_listen):
        yield Hit(f"Caddy {server.label}: the admin API listens on {server.admin_listen}, "
                  "beyond loopback, without authentication", server.location,
                  resource="admin", evidence=f"admin.listen {server.admin_listen}")


@rule("PRX022", "npm-admin-port-on-lan", Severity.MEDIUM,
      title="NPM admin port published on a LAN address", on=ProxyServer, checklist=["3.1.4"],
      refs=["CWE-668"], impact=Impact("service", (1, 2)))
def npm_admin_port_on_lan(server: ProxyServer, settings):
    """Reports Nginx Proxy Manager's admin port (81) published on a specific address that
    is not loopback (`192.168.1.5:81:81`): reachable by the whole LAN without the proxy's
    TLS. On every interface it is NET003's (HIGH).

    Why it matters:
    NPM's admin UI holds every certificate and proxy host of the lab; on plain HTTP on the
    LAN its login travels in clear text, and anyone on the network can try passwords
    against it.

    Example:
    ```yaml
    ports:
      - "192.168.1.5:81:81"
    ```

    Fix:
    Publish it on loopback (`127.0.0.1:81:81`) and reach it through an SSH tunnel, or add a
    proxy host for NPM itself with a certificate and an access list.
    """
    for spec, where in server.admin_ports:
        yield Hit(f"Nginx Proxy Manager's admin UI (port 81) is published on a LAN address "
                  f"({spec}) over plain HTTP", where, resource=f"port:{spec}", evidence=spec)


# --- the configuration against the live site ----------------------------------------------

@rule("PRX030", "proxy-claim-not-live", Severity.MEDIUM,
      title="Proxy configuration not what the site does", on=ProxyLiveCheck,
      checklist=["3.3.5", "7.1.5", "3.2.3"], refs=["RFC 6797", MOZILLA],
      impact=PROXY_RELOAD)
def claim_not_live(check: ProxyLiveCheck, settings):
    """Reports a route whose configuration promises what the live answer of its URL does
    not show: HSTS configured but the HTTPS answer carries no valid
    `Strict-Transport-Security`; Force SSL (or a redirect) configured but the plain-HTTP
    port answers without redirecting to HTTPS.

    Why it matters:
    The proxy that answers is not running this configuration: NPM could not apply it, a
    second proxy or a CDN answers first, or DNS points elsewhere. Reviews of the proxy's
    settings then prove nothing about the site.

    Example:
    ```text
    NPM proxy host grafana.lab.example: HSTS Enabled; https://grafana.lab.example answers
    without Strict-Transport-Security
    ```

    Fix:
    Find what answers (`curl -sI https://host`, the `Server` header, DNS), then make the
    configured proxy the one that does, or fix the configuration that does answer.
    """
    from labwarden.sources.live.http import parse_hsts

    route, answer = check.route, check.http
    if not _served(route) or getattr(answer, "error", None) is not None or \
            getattr(answer, "status", None) is None:
        return
    if route.hsts is not None and answer.scheme == "https":
        value = answer.first("strict-transport-security")
        parsed = parse_hsts(value) if value is not None else None
        if parsed is None or parsed.error or not parsed.max_age:
            yield Hit(f"{route.title} is configured to send HSTS (max-age={route.hsts.max_age})"
                      f", but {answer.url} answers without a valid Strict-Transport-Security",
                      route.location, resource="claim:hsts",
                      evidence=f"{answer.url}: " + (value[:120] if value else "no header"),
                      checklist=("3.3.5", "7.1.5"))
    plain = getattr(answer, "plain", None)
    if route.force_https and plain is not None and plain.error is None and \
            plain.status is not None:
        location = (plain.location or "").lower()
        if not (300 <= plain.status < 400 and location.startswith("https://")):
            yield Hit(f"{route.title} is configured to redirect HTTP to HTTPS, but "
                      f"{plain.url} answers {plain.status} without redirecting to https",
                      route.location, resource="claim:force-https",
                      evidence=f"{plain.url}: {plain.status}", checklist=("3.2.3",))


# --- provers: what shows the items hold ---------------------------------------------------

@prover("PRX004", "3.2.1")
def behind_the_proxy(route: ProxyRoute, settings):
    if not _served(route) or not route.upstreams:
        return None
    return f"{route.proxy} {route.title} forwards to " + ", ".join(
        u.shown for u in route.upstreams[:2])


@prover("PRX002", "3.2.3")
def https_forced(route: ProxyRoute, settings):
    if not _served(route) or route.tls is not True or route.force_https is not True:
        return None
    return f"{route.proxy} {route.title}: {route.force_note or 'HTTP redirected to HTTPS'}"


@prover("PRX003", "3.3.5", "7.1.5")
def hsts_configured(route: ProxyRoute, settings):
    if not _served(route) or route.tls is not True or route.hsts is None or \
            route.hsts.max_age < SIX_MONTHS:
        return None
    return (f"{route.proxy} {route.title} sends Strict-Transport-Security "
            f"max-age={route.hsts.max_age}" + ("; includeSubDomains" if route.hsts.subdomains
                                               else ""))

