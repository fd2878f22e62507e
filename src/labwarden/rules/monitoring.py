"""Rules about monitoring and alerting (checklist 6.3, 6.4, 3.3.4, 10.1.3), judged from the
lab's Prometheus and Alertmanager joined with the inventory: `ServiceMonitoring` (one per
service: its scrape targets and the alert rules that cover them) and `AlertRouting` (where
the lab's alerts go).

A fact that could not be read completely (a prometheus.yml that did not parse, targets found
by Docker discovery that only the API resolves, rule files inside the image) makes the
rules that judge absence find nothing, and the provers prove nothing.
"""

from __future__ import annotations

from labwarden.model import Hit, Impact, Location, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.monitoring.facts import AlertRouting, HostDiskAlerts, ServiceMonitoring

RELOAD = Impact("none", (0, 1))        # a configuration reload; the service keeps running


def _where(fact: ServiceMonitoring, rules: bool = False) -> Location:
    return (fact.rules_location if rules else fact.location) or Location(fact.views[0]
                                                                         if fact.views else "")


def _scraped(fact: ServiceMonitoring) -> bool:
    """The service has a target, or (when the config cannot tell) might have one."""
    return bool(fact.targets)


def _judgeable(fact: ServiceMonitoring) -> bool:
    return fact.complete and bool(fact.targets)


@rule("MON001", "service-not-scraped", Severity.MEDIUM,
      title="Service not scraped by Prometheus", on=ServiceMonitoring,
      checklist=["6.3.1", "6.3.4", "6.4.1"],
      refs=["Google SRE book, ch. 6 (Monitoring distributed systems)"], impact=RELOAD)
def service_not_scraped(fact: ServiceMonitoring, settings):
    """Reports an inventory service that no scrape target of the lab's Prometheus is about:
    no target whose address or labels name one of its URL hosts, its Compose services or
    containers, or the `monitoring: {job: …}` hint of its inventory entry. Targets that
    Prometheus discovers at run time (docker_sd_configs…) are known only from its API
    (`--live`): until then the service is not reported.

    Why it matters:
    A service nobody scrapes fails silently: no metric shows it is down, so no alert fires,
    and the first to notice is a user. Silent monitoring gaps are one of the two things
    homelab operators most often miss.

    Example:
    `paperless` is in the inventory, but prometheus.yml's `scrape_configs` list only
    `node-exporter:9100` and `grafana:3000`.

    Fix:
    Add a scrape job for it (its /metrics endpoint, or a blackbox probe of its URL):
    ```yaml
    scrape_configs:
      - job_name: paperless
        static_configs:
          - targets: ["paperless-webserver:8000"]
    ```
    If Prometheus names it differently, say so in labwarden.yaml:
    `services: {paperless: {monitoring: {job: paperless-ngx}}}`.
    """
    if not fact.complete or fact.targets or fact.unresolved:
        return
    yield Hit(f"no Prometheus scrape target is about {fact.service} (looked for "
              f"{', '.join(fact.keys[:6])}{' …' if len(fact.keys) > 6 else ''})",
              _where(fact), resource="scrape",
              evidence=f"targets read from {', '.join(fact.views)}",
              fix=f"add a scrape job for {fact.service} (or a blackbox probe of its URL)")


@rule("MON002", "scrape-target-down", Severity.MEDIUM,
      title="Service's scrape target is down", on=ServiceMonitoring, checklist=["6.3.1"],
      refs=["Prometheus: up metric"], impact=RELOAD)
def scrape_target_down(fact: ServiceMonitoring, settings):
    """Reports a service whose scrape target Prometheus's API shows as down: the service or
    its exporter does not answer Prometheus (the last error is quoted).

    Why it matters:
    A target that is down gives no metrics: the service is listed in Prometheus and still
    unwatched. If it has been down for long, either the service is broken or the scrape
    configuration is (wrong port, wrong path, a network Prometheus cannot reach).

    Example:
    `up{job="n8n"} == 0`: "Get http://n8n-app:5678/metrics: connection refused" (n8n's
    metrics are off unless N8N_METRICS=true).

    Fix:
    Make the target answer: enable the service's metrics endpoint, correct the address or
    `metrics_path`, or put Prometheus on the service's network. Then check
    `http://prometheus:9090/targets`.
    """
    for target in fact.targets:
        if target.health == "down":
            yield Hit(f"{fact.service}'s scrape target {target.address} (job {target.job}) is "
                      "down", target.location or _where(fact),
                      resource=f"down:{target.job}:{target.address}",
                      evidence=target.last_error[:200] or "health: down")


@prover("MON001", "6.3.1")
def service_scraped(fact: ServiceMonitoring, settings):
    if not _judgeable(fact) or any(t.health == "down" for t in fact.targets):
        return None
    shown = ", ".join(f"{t.job} {t.address}" + (f" ({t.health})" if t.health else "")
                      for t in fact.targets[:3])
    return f"scraped: {shown}"


@rule("MON003", "no-down-alert", Severity.MEDIUM,
      title="No alert for the service being down", on=ServiceMonitoring,
      checklist=["6.3.4", "6.4.1", "10.1.3"],
      refs=["Prometheus: alerting rules", "awesome-prometheus-alerts: PrometheusTargetMissing"],
      impact=RELOAD)
def no_down_alert(fact: ServiceMonitoring, settings):
    """Reports a scraped service that no alert rule watches going down: no rule compares
    `up` (or a blackbox probe's `probe_success`) with 0, or tests its absence, with label
    matchers that match the service's targets.

    Why it matters:
    Scraping without an alert only draws graphs: a service that stops answering shows a
    gap in a dashboard nobody is looking at. The down alert is the one every service needs.

    Example:
    prometheus.yml scrapes job `grafana`, but the only rule is `up{job="node"} == 0`.

    Fix:
    One rule covers every target:
    ```yaml
    groups:
      - name: availability
        rules:
          - alert: TargetDown
            expr: up == 0
            for: 5m
            labels: {severity: critical}
    ```
    """
    if not _judgeable(fact) or fact.down_alerts or fact.rules_unread:
        return
    yield Hit(f"no alert rule fires when {fact.service} is down (none compares `up` or "
              "`probe_success` of its targets with 0)", _where(fact, rules=True),
              resource="down-alert", evidence="its targets: " + ", ".join(
                  f"{t.job} {t.address}" for t in fact.targets[:3]),
              fix="add an alert rule such as `up == 0` for 5 minutes (it covers every "
                  "target)")


@prover("MON003", "6.3.4")
def down_alert_configured(fact: ServiceMonitoring, settings):
    if not _judgeable(fact) or not fact.down_alerts:
        return None
    return f"down alert {', '.join(fact.down_alerts[:3])}"


@prover("MON003", "6.4.1")
def critical_alerts_configured(fact: ServiceMonitoring, settings):
    """6.4.1 asks for the critical alerts: the service down, and its host's disk (MON004
    reports a host without the latter, once for all its services)."""
    if not _judgeable(fact) or not fact.down_alerts or not fact.disk_alerts:
        return None
    return f"down alert {fact.down_alerts[0]}, host disk alert {fact.disk_alerts[0]}"


@rule("MON004", "no-disk-alert", Severity.MEDIUM,
      title="No alert for the host's disk filling up", on=HostDiskAlerts,
      checklist=["6.4.1"],
      refs=["node_exporter: node_filesystem_avail_bytes",
            "awesome-prometheus-alerts: HostOutOfDiskSpace"], impact=RELOAD)
def no_disk_alert(fact: HostDiskAlerts, settings):
    """Reports an inventory host (or the lab, for services with no `host:`) whose disks no
    alert watches: no rule reads node_exporter's `node_filesystem_avail_bytes` (or
    `_free_bytes`) for the node_exporter targets Prometheus scrapes (those of the host when
    its address names it), or node_exporter is not scraped at all. One finding per host: it
    fails 6.4.1 for every service on it.

    Why it matters:
    A full disk takes every service on the host down at once, and corrupts the databases
    among them: a log that grows, a backup written locally, Docker images piling up. It is
    the most common outage of a homelab, and the easiest to see coming.

    Example:
    node-exporter is scraped, but no rule mentions `node_filesystem_avail_bytes`.

    Fix:
    ```yaml
    - alert: HostDiskFilling
      expr: node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}
            / node_filesystem_size_bytes < 0.10
      for: 15m
    ```
    """
    if fact.error is not None or fact.disk_alerts or fact.rules_unread or \
            (not fact.node_targets and fact.unresolved):
        return
    who = f"host {fact.host}" if fact.host else "the lab"
    why = ("node_exporter is not scraped, so nothing measures its disks"
           if not fact.node_targets else "no alert rule reads node_filesystem_avail_bytes "
           "for the node_exporter targets")
    where = (fact.rules_location if fact.node_targets else fact.location) or \
        Location(fact.views[0] if fact.views else "")
    yield Hit(f"{who}: {why}", where, resource="disk-alert",
              fix="scrape node_exporter and alert on node_filesystem_avail_bytes / "
                  "node_filesystem_size_bytes < 0.10 for 15 minutes")


@rule("MON005", "no-certificate-expiry-alert", Severity.MEDIUM,
      title="No alert before the service's certificate expires", on=ServiceMonitoring,
      checklist=["3.3.4"],
      refs=["blackbox_exporter: probe_ssl_earliest_cert_expiry",
            "awesome-prometheus-alerts: SslCertificateWillExpireSoon"], impact=RELOAD)
def no_certificate_expiry_alert(fact: ServiceMonitoring, settings):
    """Reports a service with an https:// URL whose certificate no alert watches: no rule
    reads `probe_ssl_earliest_cert_expiry` (or another prober's expiry metric) for a
    blackbox probe of one of its URLs.

    Why it matters:
    Automatic renewal fails quietly (a DNS challenge token rotated, a rate limit, a proxy
    that no longer reloads), and the first sign is an expired certificate: an outage, and
    users taught to click through warnings.

    Example:
    `https://grafana.lab.example` is probed by blackbox for `probe_success` only.

    Fix:
    Probe the URL with blackbox_exporter's http module and alert 14 days ahead:
    ```yaml
    - alert: CertificateExpiresSoon
      expr: probe_ssl_earliest_cert_expiry - time() < 14 * 86400
    ```
    """
    if not fact.complete or not fact.https or fact.cert_alerts or fact.rules_unread:
        return
    probed = any(t.probe for t in fact.targets)
    if not probed and fact.unresolved:
        return
    yield Hit(f"no alert fires before {fact.service}'s TLS certificate expires"
              + ("" if probed else " (no blackbox probe of its https:// URL)"),
              _where(fact, rules=probed), resource="cert-alert",
              fix="probe its https:// URL with blackbox_exporter and alert on "
                  "probe_ssl_earliest_cert_expiry - time() < 14 * 86400")


@prover("MON005", "3.3.4")
def certificate_expiry_alerted(fact: ServiceMonitoring, settings):
    if not fact.complete or not fact.cert_alerts:
        return None
    return f"certificate expiry alert {', '.join(fact.cert_alerts[:2])}"


@rule("MON006", "alerts-reach-nobody", Severity.MEDIUM,
      title="Alerts reach nobody", on=AlertRouting, checklist=["6.4.2", "10.1.3"],
      refs=["Alertmanager: receiver configuration"], impact=RELOAD)
def alerts_reach_nobody(fact: AlertRouting, settings):
    """Reports a lab whose alerts notify no one: Prometheus sends its alerts to no
    Alertmanager, or every route of Alertmanager's tree ends at a receiver with no
    `*_configs` entry (a black hole: Alertmanager drops what it routes there).

    Why it matters:
    Alert rules that fire into nothing look like a working setup. The lab seems watched; the
    outage is still found by a user.

    Example:
    ```yaml
    route: {receiver: default}
    receivers:
      - name: default          # no email_configs, no webhook_configs: a black hole
    ```

    Fix:
    Give the routed receiver a destination and test it (`amtool alert add test`):
    ```yaml
    receivers:
      - name: default
        webhook_configs: [{url: "http://ntfy:80/alerts"}]
    ```
    and point Prometheus at Alertmanager (`alerting: {alertmanagers: [{static_configs:
    [{targets: ["alertmanager:9093"]}]}]}`).
    """
    if fact.error is not None:
        return
    if fact.prometheus and not fact.sends_to:
        yield Hit("Prometheus sends its alerts to no Alertmanager (no `alerting:` "
                  "alertmanagers)", fact.location or Location(fact.prometheus[0]),
                  resource="no-alertmanager",
                  evidence=f"read from {', '.join(fact.prometheus)}")
    if fact.alertmanagers and not fact.reachable:
        routed = ", ".join(fact.routed) or "none"
        yield Hit(f"every route of Alertmanager ends at a receiver that notifies no one "
                  f"(routed: {routed})", _receiver_location(fact), resource="black-hole",
                  evidence="receivers: " + ", ".join(
                      f"{r.name} ({', '.join(r.integrations) or 'no *_configs'})"
                      for r in fact.receivers[:5]))


def _receiver_location(fact: AlertRouting) -> Location:
    routed = set(fact.routed)
    for receiver in fact.receivers:
        if receiver.name in routed and receiver.location is not None:
            return receiver.location
    return fact.location or Location(fact.alertmanagers[0])


@prover("MON006", "6.4.2")
def notification_destination(fact: AlertRouting, settings):
    if fact.error is not None or not fact.prometheus or not fact.sends_to \
            or not fact.alertmanagers or not fact.reachable:
        return None
    shown = ", ".join(f"{r.name} ({', '.join(r.integrations)})" for r in fact.reachable[:2])
    return f"alerts routed to {shown}"
