"""The views of the monitoring stack joined with the inventory: per service, its scrape
targets and the alert rules that cover them, and whether its containers' logs are shipped.

A target is the service's when its address or a label names the service: a host name of
its `urls:`, one of its Compose services or containers, or the `monitoring: {job, instance}`
hint of its inventory entry. An alert rule covers a target when the selectors of the
metric it watches (`up`, `probe_success`, the certificate-expiry and filesystem metrics)
match the target's labels, as Prometheus would match them.
"""

from __future__ import annotations

import re

from labwarden.sources.monitoring import promql
from labwarden.sources.monitoring.facts import (
    AlertmanagerView, AlertRouting, HostDiskAlerts, PrometheusView, ScrapeTarget, ServiceLogs,
    ServiceMonitoring, ShipperView, ShipRule, host_of)

# Logging drivers that send logs off the host themselves.
SHIPPING_DRIVERS = ("loki", "fluentd", "gelf", "syslog", "splunk", "awslogs", "gcplogs",
                    "logentries", "etwlogs")
# Drivers whose logs `docker logs` (and so a Docker discovery) can read.
READABLE_DRIVERS = (None, "json-file", "local", "journald")


class Containers:
    """What the join knows of one inventory service's Compose side."""

    def __init__(self, names: set[str], containers: list[tuple[str, dict, str | None]]):
        self.names = names                  # service, container and project names
        self.containers = containers        # (container name, labels, logging driver)


def compose_side(service, indexes: dict[str, tuple]) -> Containers | None:
    import os

    directory = service.compose_dir
    found = indexes.get(os.path.abspath(directory)) if directory else None
    if found is None:
        return None
    _, _, compose_name, services = found
    wanted = set(service.compose_services)
    names: set[str] = set()
    containers = []
    for name, container, labels, driver in services:
        if wanted and name not in wanted:
            continue
        default = f"{compose_name}-{name}-1"
        names.update({name.lower(), default.lower(), f"{compose_name}_{name}_1".lower()})
        if container:
            names.add(container.lower())
        tags = {"com.docker.compose.project": compose_name, "com.docker.compose.service": name,
                **labels}
        containers.append((container or default, tags, driver))
    return Containers(names, containers)


def service_keys(service, side: Containers | None) -> set[str]:
    keys = {host_of(url) for url in service.urls if host_of(url)}
    keys.add(service.name.lower())
    if side is not None:
        keys |= side.names
    return keys


def _owns(target: ScrapeTarget, keys: set[str], service) -> bool:
    jobs = set(getattr(service, "monitoring_jobs", ()))
    instances = set(getattr(service, "monitoring_instances", ()))
    if target.job in jobs or target.labels.get("instance") in instances:
        return True
    if target.host in keys or target.job.lower() in keys:
        return True
    for label, value in target.labels.items():
        if label != "job" and (value.lower() in keys or host_of(value) in keys):
            return True
    return False


def monitoring(service, views: list[PrometheusView], side: Containers | None) -> ServiceMonitoring:
    keys = service_keys(service, side)
    fact = ServiceMonitoring(service=service.name, keys=sorted(keys),
                             views=[v.where for v in views],
                             https=any(u.lower().startswith("https://") for u in service.urls))
    url_hosts = {host_of(u) for u in service.urls if u.lower().startswith("https://")}
    host_name = _host_name(service)
    readable = [v for v in views if v.error is None]
    if not readable:
        fact.error = "; ".join(v.error or "" for v in views) or "no Prometheus read"
    for view in views:
        fact.location = fact.location or view.location
        fact.rules_location = fact.rules_location or view.rules_location
    config = next((v for v in readable if v.via == "config"), None)
    if config is not None:      # a file is where the fix goes
        fact.location, fact.rules_location = config.location, config.rules_location
    for view in readable:
        mine = [t for t in view.targets if _owns(t, keys, service)]
        fact.targets.extend(mine)
        fact.unresolved.extend(view.unresolved)
        fact.rules_unread.extend(view.rules_unread)
        nodes = [t for t in view.targets if _is_node(t)]
        on_host = [t for t in nodes if host_name and t.host == host_name]
        fact.node_targets += len(nodes)
        for rule in view.rules:
            if promql.is_down_alert(rule.expr) and any(
                    _covers(s, t) for s in promql.selectors(rule.expr, promql.DOWN_METRICS)
                    for t in mine):
                fact.down_alerts.append(rule.name)
            if url_hosts and any(
                    _covers(s, t) and t.probe and t.host in url_hosts
                    for s in promql.selectors(rule.expr, promql.CERT_METRICS) for t in mine):
                fact.cert_alerts.append(rule.name)
            if any(s.matches(t.labels) for s in promql.selectors(rule.expr, promql.DISK_METRICS)
                   for t in (on_host or nodes)):
                fact.disk_alerts.append(rule.name)
    for name in ("down_alerts", "cert_alerts", "disk_alerts", "unresolved", "rules_unread"):
        setattr(fact, name, list(dict.fromkeys(getattr(fact, name))))
    return fact


def disk(fact: ServiceMonitoring, service) -> HostDiskAlerts:
    """The host's share of a service's monitoring fact (every service of a host has the
    same: the audit keeps the first)."""
    host = getattr(service, "host", None)
    return HostDiskAlerts(host=host.name if host is not None else None, views=fact.views,
                          node_targets=fact.node_targets, disk_alerts=fact.disk_alerts,
                          unresolved=fact.unresolved, rules_unread=fact.rules_unread,
                          error=None if fact.complete else (fact.error or "not read"),
                          location=fact.location, rules_location=fact.rules_location)


def _covers(selector: promql.Selector, target: ScrapeTarget) -> bool:
    if selector.metric.startswith(("probe_", "ssl_")) and not target.probe:
        return False          # a prober's metric: only its targets have it
    return selector.matches(target.labels)


def _is_node(target: ScrapeTarget) -> bool:
    return not target.probe and (target.address.endswith(":9100") or "node" in target.job)


def _host_name(service) -> str:
    host = getattr(service, "host", None)
    address = getattr(host, "address", None) or ""
    if "://" in address and not address.startswith(("local:", "snapshot:")):
        return host_of(address)
    return ""


def routing(prometheus: list[PrometheusView], managers: list[AlertmanagerView]) -> AlertRouting:
    fact = AlertRouting(prometheus=[v.where for v in prometheus],
                        alertmanagers=[m.where for m in managers])
    for view in prometheus:
        if view.error is None:
            fact.sends_to.extend(a for a in view.alertmanagers if a not in fact.sends_to)
    for manager in managers:
        if manager.error is None:
            fact.receivers.extend(manager.receivers)
            fact.routed.extend(r for r in manager.routed if r not in fact.routed)
            fact.location = fact.location or manager.location
    for view in prometheus:
        fact.location = fact.location or view.location
    views: list[PrometheusView | AlertmanagerView] = [*prometheus, *managers]
    errors = [v.error for v in views if v.error]
    if prometheus and all(v.error for v in prometheus):
        fact.error = errors[0]
    elif managers and all(m.error for m in managers):
        fact.error = errors[-1]
    elif fact.sends_to and not managers:
        fact.error = (f"Prometheus alerts {', '.join(fact.sends_to)}, whose configuration was "
                      "not read (no Alertmanager service in the Compose projects, and no "
                      "`monitoring: {alertmanager: URL}` probed)")
    return fact


def logs(service, shippers: list[ShipperView], side: Containers | None,
         store=None) -> ServiceLogs:
    """`store`: a Loki of the lab (its LogRetention), where logs would be shipped."""
    fact = ServiceLogs(service=service.name, shippers=[s.where for s in shippers],
                       location=store.location if store is not None and not shippers else None)
    for shipper in shippers:
        fact.location = fact.location or shipper.location
        fact.unresolved.extend(shipper.unresolved)
    readable = [s for s in shippers if s.error is None]
    if shippers and not readable:
        fact.error = "; ".join(s.error or "" for s in shippers)
        return fact
    if side is None:
        fact.error = "no Compose project in the inventory: its containers are unknown"
        return fact
    for name, labels, driver in side.containers:
        fact.containers.append(name)
        how = _shipped(name, labels, driver, readable)
        if how:
            fact.shipped_by.append(f"{name}: {how}")
        else:
            fact.missed.append(name if driver != "none" else f"{name} (logging driver none)")
    if not shippers and store is None:
        fact.error = "no log shipper and no log store in the Compose projects"
    return fact


def _shipped(name: str, labels: dict, driver: str | None, shippers: list[ShipperView]) -> str:
    if driver in SHIPPING_DRIVERS:
        return f"Docker's {driver} logging driver"
    if driver not in READABLE_DRIVERS:
        return ""
    from labwarden.sources.monitoring.shippers import sanitize

    tags = {sanitize(k): v for k, v in labels.items()}
    for shipper in shippers:
        for rule in shipper.rules:
            if _ships(rule, name, tags, driver):
                return f"{shipper.kind} {rule.how}"
    return ""


def _ships(rule: ShipRule, name: str, tags: dict[str, str], driver: str | None) -> bool:
    if rule.json_files_only and driver not in (None, "json-file"):
        return False
    slashed = "/" + name

    def full(pattern: str, text: str) -> bool:
        try:
            return re.fullmatch(pattern, text) is not None
        except re.error:
            return False

    if not rule.all_containers:
        if not (rule.names or rule.labels or rule.name_prefixes):
            return False
        if rule.names and not all(full(p, slashed) or full(p, name) for p in rule.names):
            return False
        for key, pattern in rule.labels:
            if key not in tags or (pattern is not None and not full(pattern, tags[key])):
                return False
        if rule.name_prefixes and not any(name.startswith(p) for p in rule.name_prefixes):
            return False
    if any(full(p, slashed) or full(p, name) for p in rule.drop_names):
        return False
    return not any(name.startswith(p) for p in rule.exclude_prefixes)
