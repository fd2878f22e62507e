"""The monitoring stage of an audit: read the lab's monitoring stack, join it with the
inventory, judge it.

Its inputs: the monitoring services the Compose workers found (Prometheus, Alertmanager,
Loki, the log shipper, each with its configuration file as mounted), the views the live
probe got from the APIs named as `prometheus://` and `alertmanager://` targets, and the
inventory of labwarden.yaml (whose services are judged one by one). The judged facts are
kept with one origin, `MONITORING_ORIGIN`, which the checklist ties to every service; each
per-service fact says whose it is.
"""

from __future__ import annotations

import os

from labwarden.model import Diagnostic, Finding


def judge(stack: list[tuple], indexes: list[tuple], live: list, options, runner,
          findings: list[Finding], diagnostics: list[Diagnostic],
          kept: list | None) -> None:
    from labwarden.sources.monitoring.facts import AlertmanagerView, PrometheusView

    prometheus = [f for f in live if isinstance(f, PrometheusView)]
    managers = [f for f in live if isinstance(f, AlertmanagerView)]
    if not stack and not prometheus and not managers:
        return                          # a live run of TLS or SSH targets only
    from labwarden.sources.monitoring import join
    from labwarden.sources.monitoring.facts import MONITORING_ORIGIN

    shippers: list = []
    stores: list = []
    probed = len(prometheus), len(managers)
    for part in stack:
        _read(part, prometheus, managers, shippers, stores, diagnostics)
    # What the files said (the probe's own diagnostics were reported when it ran).
    for view in [*prometheus[probed[0]:], *managers[probed[1]:], *shippers]:
        diagnostics.extend(view.diagnostics)
        view.diagnostics = []
    judged: list = list(stores)
    if prometheus or managers:
        judged.append(join.routing(prometheus, managers))
    inventory = _inventory(options.config, diagnostics)
    if inventory is not None:
        by_dir = {entry[0]: entry for entry in indexes}
        hosts: dict = {}
        for service in inventory.services.values():
            side = join.compose_side(service, by_dir)
            if prometheus:
                watched = join.monitoring(service, prometheus, side)
                judged.append(watched)
                disk = join.disk(watched, service)
                hosts.setdefault(disk.host, disk)
            if shippers or stores:
                judged.append(join.logs(service, shippers, side, stores[0] if stores else None))
        judged.extend(hosts.values())
    found: list[Finding] = []
    for fact in judged:
        runner.run(fact, fact.asset, found, diagnostics)
        if kept is not None:
            kept.append((MONITORING_ORIGIN, fact.asset, fact))
    _suppress(found, diagnostics)
    findings.extend(found)


def _read(part: tuple, prometheus: list, managers: list, shippers: list, stores: list,
          diagnostics: list[Diagnostic]) -> None:
    """One monitoring service of a Compose project: its configuration, where it is mounted."""
    from labwarden.sources.monitoring import alertmanager, loki
    from labwarden.sources.monitoring import prometheus as prom
    from labwarden.sources.monitoring import shippers as ship
    from labwarden.sources.monitoring.facts import (
        AlertmanagerView, LogRetention, PrometheusView, ShipperView)
    from labwarden.sources.monitoring.paths import PathMap

    role, directory, service, _image, inside, binds, location = part
    paths = PathMap([(container, host) for host, container in binds])
    host = paths.to_host(inside, "/")
    who = f"{role} (service {service} of {location.path})"
    if host is None or not os.path.isfile(host):
        if role == "loki" and host is None:
            stores.append(loki.builtin(f"{os.path.basename(directory)}/{service}", location))
            return
        why = ("reads it from its image (nothing mounted there)" if host is None
               else f"is mounted from {host}, which is not here")
        diagnostics.append(Diagnostic("warning", "monitoring-config-unread",
                                      f"{who}: its configuration {inside} {why}; not judged",
                                      location))
        error = f"configuration {inside} not readable"
        if role == "prometheus":
            prometheus.append(PrometheusView(where=inside, via="config", error=error,
                                             location=location))
        elif role == "alertmanager":
            managers.append(AlertmanagerView(where=inside, via="config", error=error,
                                             location=location))
        elif role != "loki":
            shippers.append(ShipperView(kind=role, where=inside, error=error,
                                        location=location))
        return
    view: PrometheusView | AlertmanagerView | LogRetention | ShipperView
    if role == "prometheus":
        view = prom.from_config(host, paths, inside)
        prometheus.append(view)
    elif role == "alertmanager":
        view = alertmanager.from_config(host)
        managers.append(view)
    elif role == "loki":
        view = loki.from_config(host, diagnostics)
        stores.append(view)
    else:
        view = ship.read(role, host)
        shippers.append(view)
    # As reports show paths (relative to here when inside); Loki's names its asset, which
    # must not depend on where labwarden runs: its Compose service.
    view.where = f"{os.path.basename(directory)}/{service}" if role == "loki" else \
        _shown(host, directory)


def _shown(path: str, directory: str) -> str:
    """A configuration file as notes and evidence name it, the same from wherever labwarden
    runs: from its project's directory (`monitoring/prometheus.yml`) when it is inside."""
    parent = os.path.dirname(directory)
    relative = os.path.relpath(path, parent)
    return path if relative.startswith("..") else relative


def _inventory(config, diagnostics: list[Diagnostic]):
    if not config.path or not config.raw.get("services"):
        return None
    from labwarden.config import ConfigError
    from labwarden.inventory import load_inventory

    try:
        return load_inventory(config)
    except ConfigError as exc:
        diagnostics.append(Diagnostic("warning", "inventory-unusable",
                                      f"the monitoring stack is not judged per service: {exc}"))
        return None


def _suppress(found: list[Finding], diagnostics: list[Diagnostic]) -> None:
    """Inline `# labwarden: ignore[MON003] reason` in prometheus.yml, a rule file or a
    shipper's config, as in Compose files."""
    from labwarden.suppress import apply_markers, inline_markers
    from labwarden.sources.monitoring.paths import read_text

    markers: dict[str, dict | None] = {}
    for finding in found:
        path = finding.location.path if finding.location else ""
        if path and path not in markers and os.path.isfile(path):
            text = read_text(path, [])
            markers[path] = (inline_markers(path, text) or None) if text else None
    if markers:
        apply_markers(found, markers, diagnostics)
