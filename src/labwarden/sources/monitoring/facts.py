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

from labwarden._record import Record
from labwarden.model import Location

# Every judged fact of the lab's monitoring is kept with this origin: the inventory ties
# every service to the lab's monitoring stack (checklist/evidence.py), and each per-service
# fact says whose it is.
MONITORING_ORIGIN = "monitoring:lab"


class ScrapeTarget(Record):
    __slots__ = ("job", "address", "labels", "health", "last_error", "probe", "location")
    job: str
    address: str                     # as listed (host:port, or a URL for a probe job)
    labels: dict[str, str]                                 # job, instance, and the rest
    health: str | None               # up | down | unknown from the API; None from a file
    last_error: str
    probe: bool                      # a prober's target (blackbox: metrics_path /probe)
    location: Location | None

    def __init__(self, job: str, address: str, labels: dict[str, str] | None = None,
                 health: str | None = None, last_error: str = "", probe: bool = False,
                 location: Location | None = None):
        self.job = job
        self.address = address
        self.labels = {} if labels is None else labels
        self.health = health
        self.last_error = last_error
        self.probe = probe
        self.location = location

    @property
    def host(self) -> str:
        return host_of(self.address)


class AlertRule(Record):
    __slots__ = ("name", "expr", "group", "health", "location")
    name: str
    expr: str
    group: str
    health: str | None               # ok | err | unknown from the API
    location: Location | None

    def __init__(self, name: str, expr: str, group: str = "", health: str | None = None,
                 location: Location | None = None):
        self.name = name
        self.expr = expr
        self.group = group
        self.health = health
        self.location = location


class Receiver(Record):
    __slots__ = ("name", "integrations", "location")
    name: str
    integrations: tuple[str, ...]        # its non-empty *_configs keys
    location: Location | None

    def __init__(self, name: str, integrations: tuple[str, ...] = (),
                 location: Location | None = None):
        self.name = name
        self.integrations = integrations
        self.location = location


class PrometheusView(Record):
    __slots__ = ("where", "via", "targets", "rules", "alertmanagers", "unresolved", "rules_unread",
                 "error", "location", "rules_location", "diagnostics")
    where: str                       # the prometheus.yml path, or the API as a target
    via: str                         # config | api
    targets: list[ScrapeTarget]
    rules: list[AlertRule]
    alertmanagers: list[str]                                 # where it sends alerts
    # Discovery that a file cannot resolve (docker_sd_configs…): who is scraped is known
    # only from the API. And rule files that could not be read.
    unresolved: list[str]
    rules_unread: list[str]
    error: str | None
    location: Location | None                # where a scrape job would be added
    rules_location: Location | None          # where an alert rule would be added
    diagnostics: list

    def __init__(self, where: str, via: str, targets: list[ScrapeTarget] | None = None,
                 rules: list[AlertRule] | None = None, alertmanagers: list[str] | None = None,
                 unresolved: list[str] | None = None, rules_unread: list[str] | None = None,
                 error: str | None = None, location: Location | None = None,
                 rules_location: Location | None = None, diagnostics: list | None = None):
        self.where = where
        self.via = via
        self.targets = [] if targets is None else targets
        self.rules = [] if rules is None else rules
        self.alertmanagers = [] if alertmanagers is None else alertmanagers
        self.unresolved = [] if unresolved is None else unresolved
        self.rules_unread = [] if rules_unread is None else rules_unread
        self.error = error
        self.location = location
        self.rules_location = rules_location
        self.diagnostics = [] if diagnostics is None else diagnostics

    @property
    def asset(self) -> str:
        return f"prometheus:{self.where}"


class AlertmanagerView(Record):
    __slots__ = ("where", "via", "receivers", "routed", "error", "location", "diagnostics")
    where: str
    via: str
    receivers: list[Receiver]
    routed: list[str]                                   # receivers the route tree reaches
    error: str | None
    location: Location | None
    diagnostics: list

    def __init__(self, where: str, via: str, receivers: list[Receiver] | None = None,
                 routed: list[str] | None = None, error: str | None = None,
                 location: Location | None = None, diagnostics: list | None = None):
        self.where = where
        self.via = via
        self.receivers = [] if receivers is None else receivers
        self.routed = [] if routed is None else routed
        self.error = error
        self.location = location
        self.diagnostics = [] if diagnostics is None else diagnostics

    @property
    def asset(self) -> str:
        return f"alertmanager:{self.where}"


class ShipRule(Record):
    """One way a shipper collects container logs."""

    __slots__ = ("how", "all_containers", "json_files_only", "names", "drop_names", "labels",
                 "name_prefixes", "exclude_prefixes", "drivers")
    how: str                         # for the note: "docker_sd_configs in job docker"
    all_containers: bool             # every container (a docker discovery with no filter)
    json_files_only: bool            # reads /var/lib/docker/containers/*/*.log
    names: list[str]                                   # container-name regexes kept
    drop_names: list[str]
    labels: list[tuple[str, str | None]]                                # label[=value] kept
    name_prefixes: list[str]                                 # Vector include_containers
    exclude_prefixes: list[str]
    drivers: tuple[str, ...]         # logging drivers whose output it receives (fluentd…)

    def __init__(self, how: str, all_containers: bool = False, json_files_only: bool = False,
                 names: list[str] | None = None, drop_names: list[str] | None = None,
                 labels: list[tuple[str, str | None]] | None = None,
                 name_prefixes: list[str] | None = None, exclude_prefixes: list[str] | None = None,
                 drivers: tuple[str, ...] = ()):
        self.how = how
        self.all_containers = all_containers
        self.json_files_only = json_files_only
        self.names = [] if names is None else names
        self.drop_names = [] if drop_names is None else drop_names
        self.labels = [] if labels is None else labels
        self.name_prefixes = [] if name_prefixes is None else name_prefixes
        self.exclude_prefixes = [] if exclude_prefixes is None else exclude_prefixes
        self.drivers = drivers


class ShipperView(Record):
    __slots__ = ("kind", "where", "rules", "unresolved", "error", "location", "diagnostics")
    kind: str                        # promtail | alloy | vector | fluent-bit
    where: str
    rules: list[ShipRule]
    unresolved: list[str]
    error: str | None
    location: Location | None
    diagnostics: list

    def __init__(self, kind: str, where: str, rules: list[ShipRule] | None = None,
                 unresolved: list[str] | None = None, error: str | None = None,
                 location: Location | None = None, diagnostics: list | None = None):
        self.kind = kind
        self.where = where
        self.rules = [] if rules is None else rules
        self.unresolved = [] if unresolved is None else unresolved
        self.error = error
        self.location = location
        self.diagnostics = [] if diagnostics is None else diagnostics


# -- the judged facts -----------------------------------------------------------------------

class ServiceMonitoring(Record):
    """How the lab's Prometheus watches one inventory service."""

    __slots__ = ("service", "keys", "views", "targets", "down_alerts", "cert_alerts", "disk_alerts",
                 "https", "node_targets", "unresolved", "rules_unread", "error", "location",
                 "rules_location")
    service: str
    keys: list[str]                                    # what a target was matched on
    views: list[str]                                   # the Prometheus views read
    targets: list[ScrapeTarget]                                 # the service's targets
    down_alerts: list[str]
    cert_alerts: list[str]
    disk_alerts: list[str]
    https: bool                      # the service has an https:// URL: a certificate
    node_targets: int                # node_exporter targets scraped (the disk alerts' data)
    unresolved: list[str]
    rules_unread: list[str]
    error: str | None
    location: Location | None
    rules_location: Location | None

    def __init__(self, service: str, keys: list[str] | None = None, views: list[str] | None = None,
                 targets: list[ScrapeTarget] | None = None, down_alerts: list[str] | None = None,
                 cert_alerts: list[str] | None = None, disk_alerts: list[str] | None = None,
                 https: bool = False, node_targets: int = 0, unresolved: list[str] | None = None,
                 rules_unread: list[str] | None = None, error: str | None = None,
                 location: Location | None = None, rules_location: Location | None = None):
        self.service = service
        self.keys = [] if keys is None else keys
        self.views = [] if views is None else views
        self.targets = [] if targets is None else targets
        self.down_alerts = [] if down_alerts is None else down_alerts
        self.cert_alerts = [] if cert_alerts is None else cert_alerts
        self.disk_alerts = [] if disk_alerts is None else disk_alerts
        self.https = https
        self.node_targets = node_targets
        self.unresolved = [] if unresolved is None else unresolved
        self.rules_unread = [] if rules_unread is None else rules_unread
        self.error = error
        self.location = location
        self.rules_location = rules_location

    @property
    def asset(self) -> str:
        return f"monitoring:{self.service}"

    def belongs_to(self, service) -> bool:
        return service.name == self.service

    @property
    def complete(self) -> bool:
        return self.error is None and bool(self.views)


class HostDiskAlerts(Record):
    """Whether an alert watches the disks of one inventory host (or of the lab, for
    services with no `host:`): one fact per host, so a missing disk alert is one finding."""

    __slots__ = ("host", "views", "node_targets", "disk_alerts", "unresolved", "rules_unread",
                 "error", "location", "rules_location")
    host: str | None                 # the inventory host; None: services without one
    views: list[str]
    node_targets: int
    disk_alerts: list[str]
    unresolved: list[str]
    rules_unread: list[str]
    error: str | None
    location: Location | None
    rules_location: Location | None

    def __init__(self, host: str | None, views: list[str] | None = None, node_targets: int = 0,
                 disk_alerts: list[str] | None = None, unresolved: list[str] | None = None,
                 rules_unread: list[str] | None = None, error: str | None = None,
                 location: Location | None = None, rules_location: Location | None = None):
        self.host = host
        self.views = [] if views is None else views
        self.node_targets = node_targets
        self.disk_alerts = [] if disk_alerts is None else disk_alerts
        self.unresolved = [] if unresolved is None else unresolved
        self.rules_unread = [] if rules_unread is None else rules_unread
        self.error = error
        self.location = location
        self.rules_location = rules_location

    @property
    def asset(self) -> str:
        return f"disk-alerts:{self.host or 'lab'}"

    def belongs_to(self, service) -> bool:
        host = getattr(service, "host", None)
        return (host.name if host is not None else None) == self.host


class AlertRouting(Record):
    """Where the lab's alerts go: Prometheus → Alertmanager → receivers."""

    __slots__ = ("prometheus", "sends_to", "alertmanagers", "receivers", "routed", "error",
                 "location")
    prometheus: list[str]                                   # the Prometheus views read
    sends_to: list[str]                                     # Alertmanagers they alert
    alertmanagers: list[str]                                # the Alertmanager views read
    receivers: list[Receiver]
    routed: list[str]
    error: str | None
    location: Location | None

    def __init__(self, prometheus: list[str] | None = None, sends_to: list[str] | None = None,
                 alertmanagers: list[str] | None = None, receivers: list[Receiver] | None = None,
                 routed: list[str] | None = None, error: str | None = None,
                 location: Location | None = None):
        self.prometheus = [] if prometheus is None else prometheus
        self.sends_to = [] if sends_to is None else sends_to
        self.alertmanagers = [] if alertmanagers is None else alertmanagers
        self.receivers = [] if receivers is None else receivers
        self.routed = [] if routed is None else routed
        self.error = error
        self.location = location

    @property
    def asset(self) -> str:
        return "alerting:lab"

    @property
    def reachable(self) -> list[Receiver]:
        """The routed receivers that notify someone."""
        routed = set(self.routed)
        return [r for r in self.receivers if r.name in routed and r.integrations]


class ServiceLogs(Record):
    """Whether the lab's log shipper collects one inventory service's container logs."""

    __slots__ = ("service", "containers", "shippers", "shipped_by", "missed", "unresolved", "error",
                 "location")
    service: str
    containers: list[str]
    shippers: list[str]                                     # the shipper configs read
    shipped_by: list[str]                                   # per container: what ships it
    missed: list[str]                                       # containers nothing ships
    unresolved: list[str]
    error: str | None
    location: Location | None

    def __init__(self, service: str, containers: list[str] | None = None,
                 shippers: list[str] | None = None, shipped_by: list[str] | None = None,
                 missed: list[str] | None = None, unresolved: list[str] | None = None,
                 error: str | None = None, location: Location | None = None):
        self.service = service
        self.containers = [] if containers is None else containers
        self.shippers = [] if shippers is None else shippers
        self.shipped_by = [] if shipped_by is None else shipped_by
        self.missed = [] if missed is None else missed
        self.unresolved = [] if unresolved is None else unresolved
        self.error = error
        self.location = location

    @property
    def asset(self) -> str:
        return f"logs:{self.service}"

    def belongs_to(self, service) -> bool:
        return service.name == self.service


class LogRetention(Record):
    """Loki's retention, from its configuration."""

    __slots__ = ("where", "retention_period", "retention_enabled", "mode", "builtin", "error",
                 "location")
    where: str
    retention_period: str | None
    retention_enabled: bool | None            # compactor.retention_enabled
    mode: str                                 # compactor | table_manager
    builtin: bool                             # the image's own config: nothing mounted
    error: str | None
    location: Location | None

    def __init__(self, where: str, retention_period: str | None = None,
                 retention_enabled: bool | None = None, mode: str = "compactor",
                 builtin: bool = False, error: str | None = None, location: Location | None = None):
        self.where = where
        self.retention_period = retention_period
        self.retention_enabled = retention_enabled
        self.mode = mode
        self.builtin = builtin
        self.error = error
        self.location = location

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
