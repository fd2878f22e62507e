"""The lab's state in the Prometheus exposition format.

`LabCollector` is a custom `prometheus_client` collector over the lab's current files
(labwarden.yaml, attestations, the history, the audited files). The evaluation, an audit of
the whole lab, is reused for `ttl` seconds, so a Prometheus scraping every 15 s and a
console polling /metrics do not run an audit each, and a stale one is refreshed in a thread
while the scrape is answered with the last (stale-while-revalidate). Ages (backup,
certificate days) are taken at scrape time from the moments the evaluation found, so they
grow between audits.

A lab that stops evaluating (a broken labwarden.yaml, an unreadable history) keeps its last
good samples with `labwarden_evaluation_ok 0`: dropping them would resolve every firing
alert at the moment the lab stopped being watched. The error goes to stderr as the CLI's one
line; no error text is ever a metric.

Metric names and labels carry names only (inventory services and hosts, severities, risk
levels, item statuses): never a finding's text, a URL, a repository or a secret.

Risk is exposed twice, for two readers: `labwarden_service_risk_level` is one number per
service (1 Low, 2 Medium, 3 High, 4 Unacceptable), so an alert is `>= 3` and a graph is one
line that does not break when the level changes; `labwarden_service_risk{level}` is 1 for
the current level and 0 for the three others (stable series), for tables and state panels.
"""

from __future__ import annotations

import sys
import threading
import time

from labwarden.metrics.collect import RISK_LEVELS, SEVERITIES, LabState, collect

DEFAULT_TTL_S = 60.0
DAY_S = 86400.0


class LabCollector:
    """Collects a lab's metrics, evaluating the lab at most once per `ttl` seconds.

    A scrape never waits for an evaluation once there is a state: a stale one starts a
    refresh in a thread and is answered with the state as it stands (its age is
    `labwarden_evaluation_timestamp_seconds`). An audit of a large lab, or a live one that
    probes every URL, can outlast Prometheus's scrape timeout; the numbers it changes can
    wait one scrape. Only the first scrape, with nothing to show yet, waits."""

    def __init__(self, lab_root: str, ttl: float = DEFAULT_TTL_S, *, live: bool = False,
                 ca_file: str | None = None, timeout: float = 5.0,
                 ssh_key: str | None = None, clock=time.time):
        self.lab_root = lab_root
        self.ttl = ttl
        self.live, self.ca_file, self.timeout, self.ssh_key = live, ca_file, timeout, ssh_key
        self.clock = clock
        self._changed = threading.Condition()
        self._running = False               # an evaluation is under way
        self._state: LabState | None = None
        self._attempted = float("-inf")     # monotonic time of the last evaluation started
        self.ok = False
        self.evaluations = 0                # started, for the console's status and the tests
        self.failures = 0

    # --- the expensive part, cached ------------------------------------------------------

    def refresh(self) -> LabState:
        """Evaluate the lab now, in this thread. Raises what `collect` raises (the caller
        decides whether a failure is fatal: the command's first evaluation is, a scrape's
        is not)."""
        with self._changed:
            while self._running:
                self._changed.wait()
            self._start()
        state = self._evaluate(report=False)
        assert state is not None             # a failure raised
        return state

    def _start(self) -> None:
        """Claim the next evaluation (the condition's lock held)."""
        self._running = True
        self._attempted = time.monotonic()
        self.evaluations += 1

    def _evaluate(self, report: bool) -> LabState | None:
        """Run the claimed evaluation; `report`: a failure goes to stderr (a scrape's
        refresh) rather than to the caller."""
        state, failed = None, True
        try:
            state = collect(self.lab_root, live=self.live, ca_file=self.ca_file,
                            timeout=self.timeout, ssh_key=self.ssh_key)
            failed = False
        except Exception as exc:  # noqa: BLE001 - a scrape must answer; stderr says why
            if not report:
                raise
            sys.stderr.write(_error_line(exc, self.lab_root))
        finally:
            with self._changed:
                if failed:
                    self.ok = False
                    self.failures += 1
                else:
                    self._state, self.ok = state, True
                self._running = False
                self._changed.notify_all()
        return state

    def refresh_if_stale(self, wait: bool = False) -> LabState | None:
        """The state as it stands; when it is older than `ttl` (and no evaluation is under
        way) a new one starts in a thread. Waits for that evaluation when `wait`, or when
        there is no state yet. A failure is reported on stderr and retried after `ttl`,
        not on every scrape; the last good state stays."""
        with self._changed:
            if not self._running and time.monotonic() - self._attempted >= self.ttl:
                self._start()
                threading.Thread(target=self._evaluate, args=(True,), daemon=True,
                                 name="labwarden-metrics-evaluation").start()
            while self._running and (wait or self._state is None):
                self._changed.wait()
            return self._state

    def join(self) -> None:
        """Wait for the evaluation under way, if any."""
        with self._changed:
            while self._running:
                self._changed.wait()

    def state(self) -> LabState | None:
        """For the console's pages: the same state the metrics show."""
        return self.refresh_if_stale()

    @property
    def last_state(self) -> LabState | None:
        """The state of the last good evaluation, without evaluating."""
        return self._state

    # --- prometheus_client's Collector interface -----------------------------------------

    def describe(self):
        """Nothing: registering must not evaluate the lab (prometheus_client calls
        `describe`, or else `collect`, at registration to check for duplicate names)."""
        return []

    def collect(self):
        return families(self.refresh_if_stale(), self.ok, self.clock())


def _error_line(exc: BaseException, lab_root: str) -> str:
    """The CLI's one line for a failed evaluation: a UsageError's own text (file:line), or
    the guard's line for anything else (never the exception's message, which may quote an
    input value)."""
    from labwarden.errors import UsageError

    if isinstance(exc, UsageError):
        return exc.lines()
    from types import SimpleNamespace

    from labwarden.commands.common import unexpected

    return unexpected(exc, SimpleNamespace(command="metrics", path=lab_root)) + "\n"


def families(state: LabState | None, ok: bool, now: float) -> list:
    """The metric families for `state` (None: never evaluated) at the moment `now`."""
    from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

    from labwarden import __version__

    def gauge(name, text, labels=()):
        return GaugeMetricFamily(name, text, labels=list(labels))

    info = InfoMetricFamily("labwarden_build", "labwarden's version",
                            value={"version": __version__})
    evaluation_ok = gauge("labwarden_evaluation_ok", "1 when the last evaluation of the lab "
                          "succeeded; 0 when it failed (the samples are then the last good "
                          "evaluation's, see labwarden_evaluation_timestamp_seconds)")
    evaluation_ok.add_metric([], 1.0 if ok else 0.0)
    out = [info, evaluation_ok]
    if state is None:
        return out

    sv = ("service", "host")
    score = gauge("labwarden_service_score", "Checklist score: completed (PASS or ATTESTED) "
                  "over applicable items, in percent (0-100), exact as `labwarden checklist "
                  "--format json` score.percent; no sample when no item applies (all N/A)",
                  sv)
    items = gauge("labwarden_service_items", "Checklist items by status (PASS, FAIL, "
                  "ATTESTED, N/A, OPEN)", sv + ("status",))
    risk_level = gauge("labwarden_service_risk_level", "Risk level as a number: 1 Low, "
                       "2 Medium, 3 High, 4 Unacceptable (alert on >= 3)", sv)
    risk = gauge("labwarden_service_risk", "1 for the service's current risk level, 0 for "
                 "the others", sv + ("level",))
    gate = gauge("labwarden_service_gate_go", "1 when the gate's policy allows deploying "
                 "the service now (GO), 0 for NO-GO", sv)
    findings = gauge("labwarden_service_open_findings", "Active (not waived) findings on the "
                     "service's evidence, by severity; a host's findings count in each of "
                     "its services", sv + ("severity",))
    waived = gauge("labwarden_service_waived_findings", "Findings on the service's evidence "
                   "that a waiver accepts", sv)
    cert_days = gauge("labwarden_certificate_expiry_days", "Days until the nearest "
                      "certificate of the service expires (negative: expired), from the TLS "
                      "handshakes of a live evaluation (--live) and the certificates its "
                      "reverse-proxy routes record. No sample when no certificate was seen: "
                      "unknown, not zero", sv)
    cert_at = gauge("labwarden_certificate_expiry_timestamp_seconds", "When the nearest "
                    "certificate of the service expires (Unix time); no sample when none was "
                    "seen", sv)
    backup_age = gauge("labwarden_backup_age_seconds", "Age of the newest snapshot of the "
                       "service's stalest backup repository (restic, Borg; `backups:` in "
                       "labwarden.yaml); no sample when no repository was read", sv)
    backup_repos = gauge("labwarden_backup_repositories", "Backup repositories the service "
                         "names, by whether they could be read", sv + ("readable",))
    last_audit = gauge("labwarden_last_audit_timestamp_seconds", "When the service's newest "
                       "run in the history was recorded (gate, record, archive, checklist "
                       "--save; Unix time); no sample before its first run", sv)
    for s in state.services.values():
        key = [s.name, s.host]
        if s.items_total:                 # all N/A: the CLI shows "all N/A", not 0 %
            score.add_metric(key, s.score)
        for status in ("PASS", "FAIL", "ATTESTED", "N/A", "OPEN"):
            items.add_metric(key + [status], float(s.items_by_status.get(status, 0)))
        risk_level.add_metric(key, float(s.risk_level))
        for level in RISK_LEVELS:
            risk.add_metric(key + [level], 1.0 if level == s.risk else 0.0)
        gate.add_metric(key, 1.0 if s.gate_go else 0.0)
        for severity in SEVERITIES:
            findings.add_metric(key + [severity], float(s.open_findings.get(severity, 0)))
        waived.add_metric(key, float(s.waived_findings))
        if s.certificate_expiry is not None:
            cert_days.add_metric(key, (s.certificate_expiry - now) / DAY_S)
            cert_at.add_metric(key, s.certificate_expiry)
        if s.backup_newest is not None:
            backup_age.add_metric(key, max(0.0, now - s.backup_newest))
        if s.backup_repositories or s.backup_unreadable:
            backup_repos.add_metric(key + ["true"], float(s.backup_repositories))
            backup_repos.add_metric(key + ["false"], float(s.backup_unreadable))
        if s.last_audit is not None:
            last_audit.add_metric(key, s.last_audit)
    out += [score, items, risk_level, risk, gate, findings, waived, cert_days, cert_at,
            backup_age, backup_repos, last_audit]

    host_services = gauge("labwarden_host_services", "Inventory services on the host",
                          ("host",))
    host_risk = gauge("labwarden_host_risk_level", "The worst risk level of the host's "
                      "services (1 Low … 4 Unacceptable)", ("host",))
    host_findings = gauge("labwarden_host_open_findings", "Active findings on the host's own "
                          "facts (sshd, firewall, ports, containers), by severity; no sample "
                          "when the evaluation read nothing of the host", ("host", "severity"))
    host_audit = gauge("labwarden_host_last_audit_timestamp_seconds", "The newest history "
                       "run of any service on the host (Unix time)", ("host",))
    for h in state.hosts.values():
        mine = [state.services[name] for name in h.services if name in state.services]
        host_services.add_metric([h.name], float(len(mine)))
        if mine:
            host_risk.add_metric([h.name], float(max(s.risk_level for s in mine)))
        if h.examined:
            for severity in SEVERITIES:
                host_findings.add_metric([h.name, severity],
                                         float(h.open_findings.get(severity, 0)))
        audits = [s.last_audit for s in mine if s.last_audit is not None]
        if audits:
            host_audit.add_metric([h.name], max(audits))
    out += [host_services, host_risk, host_findings, host_audit]

    evaluated = gauge("labwarden_evaluation_timestamp_seconds", "When the samples were "
                      "computed (Unix time): the metrics reuse one evaluation of the lab for "
                      "--ttl seconds")
    evaluated.add_metric([], state.evaluated_at)
    duration = gauge("labwarden_evaluation_duration_seconds", "How long that evaluation took")
    duration.add_metric([], state.duration_s)
    errors = gauge("labwarden_evaluation_input_errors", "Inputs the evaluation's audit could "
                   "not read (what makes `labwarden audit` exit 2): their items stay OPEN")
    errors.add_metric([], float(state.input_errors))
    gaps = gauge("labwarden_evaluation_coverage_gaps", "Coverage gaps of the evaluation's "
                 "audit: values read the way Compose would (an unset ${VARIABLE}, a missing "
                 "env_file), each reported by `labwarden audit` with its file and line")
    gaps.add_metric([], float(state.coverage_gaps))
    return out + [evaluated, duration, errors, gaps]


class _Rendered:
    """The collector's last state as it stands, never evaluating: what the ASGI app renders
    in the event loop after refreshing in a thread."""

    def __init__(self, collector: LabCollector):
        self.collector = collector

    def describe(self):
        return []

    def collect(self):
        return families(self.collector.last_state, self.collector.ok, self.collector.clock())


def make_registry(collector):
    """A registry holding only the lab's collector (no process or platform metrics: the
    console's host is not the lab)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    return registry


def metrics_app(lab_root: str, *, ttl: float = DEFAULT_TTL_S, collector=None, **options):
    """The ASGI app the console mounts at /metrics (`Mount("/metrics", metrics_app(root))`).

    prometheus_client's ASGI app renders in the event loop, which must never wait for an
    evaluation (an audit of the lab): the collector is asked in a worker thread (the first
    request waits there for the first evaluation; later ones start a refresh and go on),
    and the render only formats the state as it stands. `collector` lets the console share one
    `LabCollector` (and its cached state) with its own pages."""
    import asyncio

    from prometheus_client import make_asgi_app

    collector = collector or LabCollector(lab_root, ttl, **options)
    render = make_asgi_app(make_registry(_Rendered(collector)))

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":           # served alone under uvicorn
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"allow", b"GET, HEAD"),
                                    (b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"method not allowed\n"})
            return
        await asyncio.to_thread(collector.refresh_if_stale)
        await render(scope, receive, send)

    app.collector = collector                       # type: ignore[attr-defined]
    return app
