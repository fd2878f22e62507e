"""The facts of the monitoring stack: what Prometheus scrapes and alerts on, where
Alertmanager sends alerts, which containers the log shipper collects, how long Loki keeps
logs.

Two layers. A *view* is one component as read, from its configuration file or its HTTP API
(`PrometheusView`, `AlertmanagerView`, `ShipperView`): it knows nothing of the inventory
and no rule judges it. The *judged* facts are the views joined with the inventory
(`join.py`): one `ServiceMonitoring` and one `ServiceLogs` per inventory service (each says
whose it is with `belongs_to`), one `AlertRouting` for the lab's alert path and one
`LogRetention` per Loki. A fact that could not be read completely says so in `error` or in
its `unresolved` list: the rules then find nothing and the provers prove nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labwarden.model import Location

# Every judged fact of the lab's monitoring is kept with this origin: the inventory ties
# every service to the lab's monitoring stack (checklist/evidence.py), and each per-service
# fact says whose it is.
MONITORING_ORIGIN = "monitoring:lab"


@dataclass(slots=True)
class ScrapeTarget:
    job: str
    address: str                     # as listed (host:port, or a URL for a probe job)
    labels: dict[str, str] = field(default_factory=dict)   # job, instance, and the rest
    health: str | None = None        # up | down | unknown from the API; None from a file
    last_error: str = ""
    probe: bool = False              # a prober's target (blackbox: metrics_path /probe)
    location: Location | None = None

    @property
    def host(self) -> str:
        return host_of(self.address)


@dataclass(slots=True)
class AlertRule:
    name: str
    expr: str
    group: str = ""
    health: str | None = None        # ok | err | unknown from the API
    location: Location | None = None


@dataclass(slots=True)
class Receiver:
    name: str
    integrations: tuple[str, ...] = ()   # its non-empty *_configs keys
    location: Location | None = None


@dataclass(slots=True)
class PrometheusView:
    where: str                       # the prometheus.yml path, or the API as a target
    via: str                         # config | api
    targets: list[ScrapeTarget] = field(default_factory=list)
    rules: list[AlertRule] = field(default_factory=list)
    alertmanagers: list[str] = field(default_factory=list)   # where it sends alerts
    # Discovery that a file cannot resolve (docker_sd_configs…): who is scraped is known
    # only from the API. And rule files that could not be read.
    unresolved: list[str] = field(default_factory=list)
    rules_unread: list[str] = field(default_factory=list)
    error: str | None = None
    location: Location | None = None         # where a scrape job would be added
    rules_location: Location | None = None   # where an alert rule would be added
    diagnostics: list = field(default_factory=list)

    @property
    def asset(self) -> str:
        return f"prometheus:{self.where}"


@dataclass(slots=True)
class AlertmanagerView:
    where: str
    via: str
    receivers: list[Receiver] = field(default_factory=list)
    routed: list[str] = field(default_factory=list)     # receivers the route tree reaches
    error: str | None = None
    location: Location | None = None
    diagnostics: list = field(default_factory=list)

    @property
    def asset(self) -> str:
        return f"alertmanager:{self.where}"


@dataclass(slots=True)
class ShipRule:
    """One way a shipper collects container logs."""

    how: str                         # for the note: "docker_sd_configs in job docker"
    all_containers: bool = False     # every container (a docker discovery with no filter)
    json_files_only: bool = False    # reads /var/lib/docker/containers/*/*.log
    names: list[str] = field(default_factory=list)     # container-name regexes kept
    drop_names: list[str] = field(default_factory=list)
    labels: list[tuple[str, str | None]] = field(default_factory=list)  # label[=value] kept
    name_prefixes: list[str] = field(default_factory=list)   # Vector include_containers
    exclude_prefixes: list[str] = field(default_factory=list)
    drivers: tuple[str, ...] = ()    # logging drivers whose output it receives (fluentd…)


@dataclass(slots=True)
class ShipperView:
    kind: str                        # promtail | alloy | vector | fluent-bit
    where: str
    rules: list[ShipRule] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    error: str | None = None
    location: Location | None = None
    diagnostics: list = field(default_factory=list)


# -- the judged facts -----------------------------------------------------------------------

@dataclass(slots=True)
class ServiceMonitoring:
    """How the lab's Prometheus watches one inventory service."""

    service: str
    keys: list[str] = field(default_factory=list)      # what a target was matched on
    views: list[str] = field(default_factory=list)     # the Prometheus views read
    targets: list[ScrapeTarget] = field(default_factory=list)   # the service's targets
    down_alerts: list[str] = field(default_factory=list)
    cert_alerts: list[str] = field(default_factory=list)
    disk_alerts: list[str] = field(default_factory=list)
    https: bool = False              # the service has an https:// URL: a certificate
    node_targets: int = 0            # node_exporter targets scraped (the disk alerts' data)
    unresolved: list[str] = field(default_factory=list)
    rules_unread: list[str] = field(default_factory=list)
    error: str | None = None
    location: Location | None = None
    rules_location: Location | None = None

    @property
    def asset(self) -> str:
        return f"monitoring:{self.service}"

    def belongs_to(self, service) -> bool:
        return service.name == self.service

    @property
    def complete(self) -> bool:
        return self.error is None and bool(self.views)


@dataclass(slots=True)
class HostDiskAlerts:
    """Whether an alert watches the disks of one inventory host (or of the lab, for
    services with no `host:`): one fact per host, so a missing disk alert is one finding."""

    host: str | None                 # the inventory host; None: services without one
    views: list[str] = field(default_factory=list)
    node_targets: int = 0
    disk_alerts: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    rules_unread: list[str] = field(default_factory=list)
    error: str | None = None
    location: Location | None = None
    rules_location: Location | None = None

    @property
    def asset(self) -> str:
        return f"disk-alerts:{self.host or 'lab'}"

    def belongs_to(self, service) -> bool:
        host = getattr(service, "host", None)
        return (host.name if host is not None else None) == self.host


@dataclass(slots=True)
class AlertRouting:
    """Where the lab's alerts go: Prometheus → Alertmanager → receivers."""

    prometheus: list[str] = field(default_factory=list)     # the Prometheus views read
    sends_to: list[str] = field(default_factory=list)       # Alertmanagers they alert
    alertmanagers: list[str] = field(default_factory=list)  # the Alertmanager views read
    receivers: list[Receiver] = field(default_factory=list)
    routed: list[str] = field(default_factory=list)
    error: str | None = None
    location: Location | None = None

    @property
    def asset(self) -> str:
        return "alerting:lab"

    @property
    def reachable(self) -> list[Receiver]:
        """The routed receivers that notify someone."""
        routed = set(self.routed)
        return [r for r in self.receivers if r.name in routed and r.integrations]


@dataclass(slots=True)
class ServiceLogs:
    """Whether the lab's log shipper collects one inventory service's container logs."""

    service: str
    containers: list[str] = field(default_factory=list)
    shippers: list[str] = field(default_factory=list)       # the shipper configs read
    shipped_by: list[str] = field(default_factory=list)     # per container: what ships it
    missed: list[str] = field(default_factory=list)         # containers nothing ships
    unresolved: list[str] = field(default_factory=list)
    error: str | None = None
    location: Location | None = None

    @property
    def asset(self) -> str:
        return f"logs:{self.service}"

    def belongs_to(self, service) -> bool:
        return service.name == self.service


@dataclass(slots=True)
class LogRetention:
    """Loki's retention, from its configuration."""

    where: str
    retention_period: str | None = None
    retention_enabled: bool | None = None     # compactor.retention_enabled
    mode: str = "compactor"                   # compactor | table_manager
    builtin: bool = False                     # the image's own config: nothing mounted
    error: str | None = None
    location: Location | None = None

    @property
    def asset(self) -> str:
        return f"loki:{self.where}"

    @property
    def hours(self) -> float | None:
        return duration_hours(self.retention_period)


def host_of(address: str) -> str:
    """The host of `host:port`, `[v6]:port` or a URL, lower-case."""
    text = address.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].rsplit("@", 1)[-1]
    if text.startswith("["):
        return text[1:text.find("]")].lower() if "]" in text else text[1:].lower()
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.lower()


_UNITS = {"ms": 1 / 3_600_000, "s": 1 / 3600, "m": 1 / 60, "h": 1, "d": 24, "w": 168,
          "y": 8760}


def duration_hours(text: str | None) -> float | None:
    """A Prometheus/Loki duration (`2160h`, `90d`, `1w2d`) in hours; None when unreadable."""
    import re

    if text is None:
        return None
    value = str(text).strip()
    if value in ("0", "0s"):
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


# -- fixtures -------------------------------------------------------------------------------

def facts_from_yaml(path: str) -> list:
    """Judged facts described in a fixture: a YAML list of mappings, each with `kind:`
    (service_monitoring, host_disk_alerts, alert_routing, service_logs, log_retention; default
    service_monitoring) and the fact's fields; targets as {job, address, health, labels,
    probe}, receivers as {name, integrations}. Each fact is located at its item's line."""
    import yaml

    from labwarden.sources.yamlfile import read_text

    text = read_text(path)
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("- ")]
    facts: list = []
    for index, item in enumerate(yaml.safe_load(text) or []):
        where = Location(path, lines[index] if index < len(lines) else 0)
        facts.append(_fact(dict(item), where))
    return facts


def _fact(item: dict, where: Location):
    kind = item.pop("kind", "service_monitoring")
    item.setdefault("location", where)
    if kind == "service_monitoring":
        item["targets"] = [ScrapeTarget(str(t.get("job", "app")), str(t.get("address", "")),
                                        {k: str(v) for k, v in (t.get("labels") or {}).items()},
                                        t.get("health"), str(t.get("last_error", "")),
                                        bool(t.get("probe", False)), where)
                           for t in item.get("targets") or []]
        item.setdefault("service", "app")
        return ServiceMonitoring(**item)
    if kind == "host_disk_alerts":
        item.setdefault("host", "app-host")
        return HostDiskAlerts(**item)
    if kind == "alert_routing":
        item["receivers"] = [Receiver(str(r["name"]), tuple(r.get("integrations") or ()), where)
                             for r in item.get("receivers") or []]
        return AlertRouting(**item)
    if kind == "service_logs":
        item.setdefault("service", "app")
        return ServiceLogs(**item)
    if kind == "log_retention":
        item.setdefault("where", "loki.yaml")
        return LogRetention(**item)
    raise ValueError(f"{where}: unknown kind {kind!r}")
