"""Prometheus as a `PrometheusView`: from its configuration (prometheus.yml, the rule files
and `file_sd` files it names) or from its HTTP API (`/api/v1/targets`, `/api/v1/rules`,
`/api/v1/alertmanagers`).

The file says what is *configured* (a target's health is unknown); the API says what the
running server does (each target up or down, each rule's health). Targets that a file
cannot resolve (docker_sd_configs, consul_sd_configs…) are listed as unresolved: who they
are is known only from the API.
"""

from __future__ import annotations

import posixpath

from labwarden.model import Diagnostic, Location
from labwarden.sources.monitoring.facts import AlertRule, PrometheusView, ScrapeTarget
from labwarden.sources.monitoring.paths import PathMap, expand, load_yaml, seq, text_list
from labwarden.sources.yamlfile import Map, Seq

DEFAULT_CONFIG = "/etc/prometheus/prometheus.yml"


def from_config(path: str, paths: PathMap | None = None,
                inside: str | None = None) -> PrometheusView:
    """The view of the prometheus.yml at host `path`; `inside` is where the container reads
    it (relative names in it resolve from there), `paths` its bind mounts."""
    paths = paths or PathMap()
    base = posixpath.dirname(inside) if inside else _dirname(path)
    view = PrometheusView(where=path, via="config", location=Location(path, 1),
                          rules_location=Location(path, 1))
    data = load_yaml(path, view.diagnostics)
    if data is None:
        view.error = "prometheus.yml could not be read"
        return view
    if not isinstance(data, Map):
        view.error = "prometheus.yml is not a mapping"
        view.diagnostics.append(Diagnostic("error", "unreadable-config", view.error,
                                           Location(path, 1)))
        return view
    jobs = list(seq(data.get("scrape_configs")))
    if "scrape_configs" in data:
        view.location = data.loc_of("scrape_configs")
    for pattern in text_list(data.get("scrape_config_files")):
        for file in _files(pattern, base, paths, view, "scrape_config_files"):
            more = load_yaml(file, view.diagnostics)
            if isinstance(more, Map):
                jobs.extend(seq(more.get("scrape_configs")))
    for job in jobs:
        if isinstance(job, Map):
            _job(job, base, paths, view)
    if "rule_files" in data:
        view.rules_location = data.loc_of("rule_files")
    for pattern in text_list(data.get("rule_files")):
        for file in _files(pattern, base, paths, view, "rule_files"):
            _rule_file(file, view)
    alerting = data.get("alerting")
    if isinstance(alerting, Map):
        for manager in seq(alerting.get("alertmanagers")):
            if not isinstance(manager, Map):
                continue
            for static in seq(manager.get("static_configs")):
                if isinstance(static, Map):
                    view.alertmanagers.extend(text_list(static.get("targets")))
            for key in manager:
                if key.endswith("_sd_configs") and manager.get(key):
                    view.alertmanagers.append(f"({key})")
    return view


def _dirname(path: str) -> str:
    import os

    return os.path.dirname(os.path.abspath(path))


def _files(pattern: str, base: str, paths: PathMap, view: PrometheusView,
           key: str) -> list[str]:
    host = paths.to_host(pattern, base)
    if host is None:
        view.rules_unread.append(f"{pattern} (inside the image: not mounted)") \
            if key == "rule_files" else view.unresolved.append(f"{key} {pattern}")
        return []
    found = expand(host)
    if not found and key == "rule_files":
        import os

        if not os.path.isdir(os.path.dirname(host)):
            view.rules_unread.append(f"{pattern} (not found at {host})")
    return found


def _job(job: Map, base: str, paths: PathMap, view: PrometheusView) -> None:
    name = str(job.get("job_name", ""))
    metrics_path = str(job.get("metrics_path") or "/metrics")
    params: dict = job["params"] if isinstance(job.get("params"), Map) else {}
    probe = metrics_path.rstrip("/").endswith("/probe") or "module" in params or \
        "target" in params
    groups: list[tuple[Map, Location | None]] = [
        (g, job.loc_of("static_configs")) for g in seq(job.get("static_configs"))
        if isinstance(g, Map)]
    for sd in seq(job.get("file_sd_configs")):
        if not isinstance(sd, Map):
            continue
        for pattern in text_list(sd.get("files")):
            files = _files(pattern, base, paths, view, "file_sd_configs")
            if not files:
                view.unresolved.append(f"job {name}: file_sd_configs {pattern} (no file)")
            for file in files:
                listed = load_yaml(file, view.diagnostics)
                groups.extend((g, Location(file, 1)) for g in seq(listed) if isinstance(g, Map))
    for key in job:
        if key.endswith("_sd_configs") and key not in ("file_sd_configs", "static_configs") \
                and job.get(key):
            view.unresolved.append(f"job {name}: {key}")
    for group, where in groups:
        labels: dict = group["labels"] if isinstance(group.get("labels"), Map) else {}
        targets = group.get("targets")
        for index, address in enumerate(text_list(targets)):
            here = targets.loc_of(index) if isinstance(targets, Seq) else where
            tags = {str(k): str(v) for k, v in labels.items()}
            tags.setdefault("job", name)
            tags.setdefault("instance", address)
            view.targets.append(ScrapeTarget(name, address, tags, None, "", probe,
                                             here or where or view.location))


def _rule_file(path: str, view: PrometheusView) -> None:
    data = load_yaml(path, view.diagnostics)
    if data is None:
        view.rules_unread.append(path)
        return
    if not isinstance(data, Map):
        return
    for group in seq(data.get("groups")):
        if not isinstance(group, Map):
            continue
        rules = group.get("rules")
        for index, rule in enumerate(seq(rules)):
            if isinstance(rule, Map) and rule.get("alert") is not None:
                view.rules.append(AlertRule(str(rule["alert"]), str(rule.get("expr", "")),
                                            str(group.get("name", "")), None,
                                            rules.loc_of(index)
                                            if isinstance(rules, Seq) else None))


# -- the HTTP API ---------------------------------------------------------------------------

def from_api(where: str, targets: dict, rules: dict, alertmanagers: dict) -> PrometheusView:
    """The view from the three API answers (their `data` objects)."""
    location = Location(where)
    view = PrometheusView(where=where, via="api", location=location, rules_location=location)
    for entry in targets.get("activeTargets") or []:
        labels = {str(k): str(v) for k, v in (entry.get("labels") or {}).items()}
        found = {str(k): str(v) for k, v in (entry.get("discoveredLabels") or {}).items()}
        job = labels.get("job") or str(entry.get("scrapePool", ""))
        address = found.get("__param_target") or labels.get("instance") or \
            found.get("__address__", "")
        probe = found.get("__metrics_path__", "").rstrip("/").endswith("/probe") or \
            "__param_module" in found or "__param_target" in found
        view.targets.append(ScrapeTarget(job, address, labels, str(entry.get("health")),
                                         str(entry.get("lastError") or ""), probe, location))
    for group in rules.get("groups") or []:
        for rule in group.get("rules") or []:
            if rule.get("type") == "alerting":
                view.rules.append(AlertRule(str(rule.get("name", "")),
                                            str(rule.get("query", "")),
                                            str(group.get("name", "")),
                                            str(rule.get("health", "")), location))
    view.alertmanagers = [str(a.get("url", "")) for a in
                          alertmanagers.get("activeAlertmanagers") or []]
    return view
