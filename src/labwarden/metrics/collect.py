"""The lab's state as numbers, computed the way the CLI computes them.

One audit of the lab (the checklist's: facts kept, the same targets `labwarden checklist`
probes), then every inventory service is evaluated from it with the attestation file read
once, and the gate decides on each: exactly `commands/checklist.LabContext`, so a scrape and
`labwarden checklist SERVICE --format json` give the same score. No scoring here.

Besides the evaluation:
- certificate expiry: the nearest `not_after` among the service's TLS facts (a leaf
  certificate of a live handshake: `live=True`) and the certificates its reverse-proxy routes
  record (NPM's `expires_on`, a Traefik/Caddy file that states one). None when no
  certificate was seen: a metric must not invent one;
- backups: per repository the newest snapshot, and per service the stalest of those (a
  fresh repository must not hide a stale one). None when no repository was read;
- last audit: the newest run of the service in the history (`gate`, `record`, `archive`,
  `checklist --save`, the console's re-audits add runs; a look does not).

Times are kept as moments (UTC epoch seconds), never as ages: ages are taken at scrape time,
so a cached state still ages.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field

from labwarden.model import Severity

RISK_LEVELS = ("Low", "Medium", "High", "Unacceptable")
SEVERITIES = tuple(s.name for s in sorted(Severity, key=lambda s: -s.value))   # CRITICAL first


@dataclass
class ServiceState:
    name: str
    host: str                              # its inventory host, "" when none
    score: float                           # percent of applicable items complete, exact
    items_total: int
    items_completed: int
    items_by_status: dict[str, int]
    risk: str                              # one of RISK_LEVELS
    gate_go: bool
    open_findings: dict[str, int]          # severity name -> active (not waived) findings
    waived_findings: int
    certificate_expiry: float | None = None   # epoch seconds of the nearest not_after
    certificates_seen: int = 0
    backup_newest: float | None = None        # epoch seconds: the stalest repository's newest
    backup_repositories: int = 0              # repositories read (snapshots listed)
    backup_unreadable: int = 0                # repositories named but not read
    last_audit: float | None = None           # epoch seconds of its newest history run
    last_audit_score: float | None = None

    @property
    def risk_level(self) -> int:
        """1 (Low) … 4 (Unacceptable): comparable in an alert (`>= 3`: High or worse)."""
        return RISK_LEVELS.index(self.risk) + 1


@dataclass
class HostState:
    name: str
    services: list[str] = field(default_factory=list)
    # Findings on the host's own facts (sshd, firewall, listening ports, its containers…):
    # they count in each of its services too.
    open_findings: dict[str, int] = field(default_factory=dict)
    examined: bool = False                 # some fact of the host was read in this audit


@dataclass
class LabState:
    services: dict[str, ServiceState]
    hosts: dict[str, HostState]
    evaluated_at: float                    # epoch seconds, when this state was computed
    duration_s: float
    input_errors: int                      # inputs the audit could not read (exit-2 kind)
    coverage_gaps: int = 0                 # values read the way Compose would (unset ${VAR})


class _Args:
    """What `commands/checklist.LabContext` reads from the command line."""

    def __init__(self, config: str, live: bool, ca_file: str | None, timeout: float,
                 ssh_key: str | None, today: dt.date | None):
        self.config = config
        self.live = live
        self.ca_file = ca_file
        self.timeout = timeout
        self.ssh_key = ssh_key
        self.check_default_credentials = False      # never from a scrape
        self.today = today


def config_path(lab_root: str) -> str:
    """labwarden.yaml of a lab: `lab_root` is its directory (or the file itself). Only the
    directory is searched, not its parents: a console or exporter serves the lab it was
    pointed at."""
    from labwarden.config import CONFIG_NAMES, ConfigError

    if os.path.isfile(lab_root):
        return lab_root
    if not os.path.isdir(lab_root):
        raise ConfigError(f"{lab_root}: no such directory (the lab's folder, which holds "
                          "labwarden.yaml)")
    for name in CONFIG_NAMES:
        candidate = os.path.join(lab_root, name)
        if os.path.isfile(candidate):
            return candidate
    raise ConfigError(f"{lab_root}: no labwarden.yaml in this folder "
                      "(`labwarden init --write` proposes one)")


def collect(lab_root: str, *, live: bool = False, ca_file: str | None = None,
            timeout: float = 5.0, ssh_key: str | None = None,
            today: dt.date | None = None) -> LabState:
    """The lab's state now. Raises ConfigError (and the other UsageErrors) for a lab that
    cannot be evaluated, as the CLI would report it."""
    from labwarden.commands.checklist import LabContext

    started = time.monotonic()
    context = LabContext(_Args(config_path(lab_root), live, ca_file, timeout, ssh_key, today))
    services = list(context.inventory.services.values())
    _ = context.catalog                  # a bad overlay stops here, before the audit
    result = context.audit(services)
    book = context.book()
    states: dict[str, ServiceState] = {}
    for service in services:
        evaluation = context.evaluate_from(service, result, book)
        states[service.name] = _service_state(evaluation, context.decide(evaluation))
    _add_history(states, context.inventory.history_path)
    hosts = _host_states(context.inventory, result, states)
    gaps = sum(1 for d in result.diagnostics if d.level == "gap")
    return LabState(states, hosts, time.time(), time.monotonic() - started,
                    len(result.errors), gaps)


def _service_state(evaluation, decision) -> ServiceState:
    service = evaluation.service
    overall = evaluation.score.overall
    statuses: dict[str, int] = {}
    for item in evaluation.items:
        statuses[item.status.value] = statuses.get(item.status.value, 0) + 1
    open_findings = dict.fromkeys(SEVERITIES, 0)
    waived = 0
    for finding in evaluation.findings:
        if finding.waived:
            waived += 1
        else:
            open_findings[finding.severity.name] += 1
    state = ServiceState(
        name=service.name, host=service.host.name if service.host is not None else "",
        score=overall.percent, items_total=overall.total, items_completed=overall.completed,
        items_by_status=statuses, risk=evaluation.score.risk, gate_go=decision.allowed,
        open_findings=open_findings, waived_findings=waived)
    expiries = certificate_expiries(evaluation.evidence.facts)
    state.certificates_seen = len(expiries)
    state.certificate_expiry = min(expiries) if expiries else None
    newest, read, unreadable = backup_newest(evaluation.evidence.facts)
    state.backup_newest, state.backup_repositories, state.backup_unreadable = \
        newest, read, unreadable
    return state


def _epoch(moment: dt.datetime) -> float:
    if moment.tzinfo is None:            # certificates and the tools' times are UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def certificate_expiries(facts) -> list[float]:
    """Every certificate expiry the facts state, in epoch seconds: the leaf of each TLS
    handshake (the certificate a client is shown; an intermediate is the CA's to renew) and
    each reverse-proxy route's certificate that records an expiry."""
    found = []
    for fact in facts:
        chain = getattr(fact, "chain", None)
        if type(fact).__name__ == "TlsFact" and chain:
            found.append(_epoch(chain[0].not_after))
        certificate = getattr(fact, "certificate", None)
        if type(fact).__name__ == "ProxyRoute" and certificate is not None \
                and certificate.expires is not None:
            found.append(_epoch(certificate.expires))
    return found


def backup_newest(facts) -> tuple[float | None, int, int]:
    """(the oldest of the repositories' newest snapshots, repositories read, repositories
    that could not be read). A repository read with no snapshot at all is as stale as can
    be: epoch 0, so its age is huge rather than absent."""
    newest: list[float] = []
    unreadable = 0
    for fact in facts:
        if type(fact).__name__ != "BackupRepository":
            continue
        if not fact.readable:
            unreadable += 1
            continue
        snapshot = fact.newest
        newest.append(_epoch(snapshot.time) if snapshot is not None else 0.0)
    return (min(newest) if newest else None), len(newest), unreadable


def _add_history(states: dict[str, ServiceState], path: str) -> None:
    """The newest history run of each service. The history is read, never created: a lab
    whose history does not exist yet has no last audit."""
    import sqlite3

    from labwarden.store import StoreError

    if os.path.isdir(path):
        raise StoreError(f"history database {path}: is a directory (`history:` in "
                         "labwarden.yaml names the database file)")
    if not os.path.isfile(path):
        return
    try:
        # Read-only: a scrape must not migrate, create or lock the CLI's database.
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT service, started, score FROM runs WHERE id IN "
                              "(SELECT MAX(id) FROM runs WHERE service IS NOT NULL "
                              "GROUP BY service)").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StoreError(f"history database {path}: cannot read the runs: {exc}") from None
    for service, started, score in rows:
        state = states.get(service)
        if state is None:
            continue                     # a service since removed from the inventory
        try:
            state.last_audit = _epoch(dt.datetime.fromisoformat(started))
        except (TypeError, ValueError):
            continue
        state.last_audit_score = score


def _host_states(inventory, result, states: dict[str, ServiceState]) -> dict[str, HostState]:
    hosts = {name: HostState(name) for name in inventory.hosts}
    for state in states.values():
        if state.host:
            hosts.setdefault(state.host, HostState(state.host)).services.append(state.name)
    for name, host in inventory.hosts.items():
        origins = {a for a in (host.address, host.docker) if a}
        assets = {asset for origin, asset, _ in result.facts if origin in origins}
        found = dict.fromkeys(SEVERITIES, 0)
        for finding in result.findings:
            if finding.asset in assets and not finding.waived:
                found[finding.severity.name] += 1
        hosts[name].open_findings = found
        hosts[name].examined = bool(assets)
    return hosts
