"""History of audits and checklist evaluations, in SQLite.

One database per lab (`.labwarden/history.db`), WAL mode so a reader never blocks the writer,
schema versioned with `PRAGMA user_version` and migrated forward on open. A run and all its
findings are written in one transaction: a process killed halfway leaves either the whole
run or none of it.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from dataclasses import dataclass

from labwarden.errors import UsageError
from labwarden.model import AuditResult

DEFAULT_PATH = os.path.join(".labwarden", "history.db")

# Each entry migrates from version i to i + 1. Never edit a shipped entry: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started TEXT NOT NULL,
        service TEXT,
        targets TEXT NOT NULL,
        duration_s REAL NOT NULL,
        tool_version TEXT NOT NULL,
        counts TEXT NOT NULL,
        finding_count INTEGER NOT NULL,
        score REAL,
        risk TEXT,
        items_total INTEGER,
        items_completed INTEGER
    );
    CREATE TABLE findings (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,
        finding_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        severity TEXT NOT NULL,
        asset TEXT NOT NULL,
        resource TEXT NOT NULL,
        location TEXT NOT NULL,
        message TEXT NOT NULL,
        waived INTEGER NOT NULL
    );
    CREATE INDEX findings_run ON findings(run_id);
    CREATE INDEX runs_service ON runs(service, id);
    """,
)


@dataclass(frozen=True)
class RunRow:
    id: int
    started: str
    service: str | None
    counts: dict[str, int]
    finding_count: int
    score: float | None
    risk: str | None
    items_total: int | None
    items_completed: int | None


@dataclass(frozen=True)
class FindingRow:
    fingerprint: str
    finding_id: str
    rule_id: str
    severity: str
    asset: str
    resource: str
    location: str
    message: str
    waived: bool


@dataclass(frozen=True)
class Diff:
    new: list[FindingRow]
    fixed: list[FindingRow]
    persisting: list[FindingRow]
    service: str = ""              # the one service both runs evaluated


class StoreError(UsageError):
    """The history database cannot be used (a directory, not a database, unwritable…)."""


def _database_errors(doing: str):
    """Report SQLite's and the file system's refusals as a StoreError naming the database:
    they come from what `history:` points at, not from labwarden."""
    def decorate(method):
        @functools.wraps(method)
        def translated(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise StoreError(f"history database {self.path}: cannot {doing}: "
                                 f"{reason}") from None
        return translated
    return decorate


class Store:
    def __init__(self, path: str = DEFAULT_PATH):
        self.path = path
        if os.path.isdir(path):     # SQLite would only say "unable to open database file"
            raise StoreError(f"history database {path}: is a directory (`history:` in "
                             "labwarden.yaml names the database file)")
        try:
            self._open()
        except StoreError:
            db = getattr(self, "db", None)     # set once the file opened
            if db is not None:
                db.close()
            raise

    @_database_errors("open it as a labwarden history")
    def _open(self) -> None:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema version {current}, newer than this "
                             f"labwarden ({len(MIGRATIONS)}); upgrade labwarden")
        for version in range(current, len(MIGRATIONS)):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if self.version != version:  # another process migrated meanwhile
                    self.db.execute("ROLLBACK")
                    continue
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version + 1}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    @_database_errors("record the run")
    def record(self, result: AuditResult, *, service: str | None = None,
               score: float | None = None, risk: str | None = None,
               items_total: int | None = None, items_completed: int | None = None) -> int:
        """Store a run and its findings atomically; returns the run ID."""
        from labwarden import __version__

        counts = {s.name: n for s, n in result.counts().items()}
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(
                "INSERT INTO runs (started, service, targets, duration_s, tool_version, counts, "
                "finding_count, score, risk, items_total, items_completed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.started, service, json.dumps(result.targets), result.duration_s,
                 __version__, json.dumps(counts), len(result.findings), score, risk,
                 items_total, items_completed))
            run_id = cursor.lastrowid
            self.db.executemany(
                "INSERT INTO findings (run_id, fingerprint, finding_id, rule_id, severity, asset, "
                "resource, location, message, waived) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, f.fingerprint, f.id, f.rule.id, f.severity.name, f.asset, f.resource,
                  str(f.location), f.message, int(f.waived)) for f in result.findings))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run_id

    @_database_errors("read the runs")
    def runs(self, service: str | None = None, limit: int = 50) -> list[RunRow]:
        query = "SELECT id, started, service, counts, finding_count, score, risk, items_total, " \
                "items_completed FROM runs"
        params: tuple = ()
        if service is not None:
            query += " WHERE service = ?"
            params = (service,)
        query += " ORDER BY id DESC LIMIT ?"
        rows = self.db.execute(query, params + (limit,)).fetchall()
        return [RunRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])
                for r in reversed(rows)]

    @_database_errors("read the findings")
    def findings(self, run_id: int) -> list[FindingRow]:
        rows = self.db.execute(
            "SELECT fingerprint, finding_id, rule_id, severity, asset, resource, location, "
            "message, waived FROM findings WHERE run_id = ? ORDER BY rowid", (run_id,)).fetchall()
        return [FindingRow(*r[:8], bool(r[8])) for r in rows]

    @_database_errors("read the runs")
    def has_run(self, run_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM runs WHERE id = ?",
                               (run_id,)).fetchone() is not None

    @_database_errors("read the runs")
    def service_of(self, run_id: int) -> str | None:
        """The service run `run_id` evaluated (None for a run of no service); StoreError
        when there is no such run."""
        row = self.db.execute("SELECT service FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"no run {run_id} in the history {self.path} (`labwarden "
                             "history SERVICE` lists the runs)")
        return row[0]

    def diff(self, old_run: int, new_run: int, service: str | None = None) -> Diff:
        """Findings new, fixed and persisting between two runs of one service (`service`
        when given), matched by fingerprint. A run that is not in the history is an error:
        compared with nothing, every finding would look new (or fixed). So are runs of two
        services, or of none: one service's findings against another's say nothing."""
        services = {run_id: self.service_of(run_id) for run_id in (old_run, new_run)}
        wanted = service if service is not None else services[old_run]
        if wanted is None or any(s != wanted for s in services.values()):
            def named(run_id: int) -> str:
                of = services[run_id]
                return f"run {run_id} ({'no service' if of is None else f'service {of}'})"
            expected = f" of service {service}" if service is not None else ""
            raise StoreError(f"diff compares two runs of one service{expected}: "
                             f"{named(old_run)} and {named(new_run)} (`labwarden history "
                             "SERVICE` lists a service's runs)")
        old = {f.fingerprint: f for f in self.findings(old_run)}
        new = {f.fingerprint: f for f in self.findings(new_run)}
        return Diff(new=[f for k, f in new.items() if k not in old],
                    fixed=[f for k, f in old.items() if k not in new],
                    persisting=[f for k, f in new.items() if k in old], service=wanted)

    def check_consistency(self) -> list[str]:
        """Problems found: integrity errors, or runs whose findings are not all there."""
        problems = []
        status = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            problems.append(f"integrity_check: {status}")
        for run_id, expected, actual in self.db.execute(
                "SELECT r.id, r.finding_count, COUNT(f.run_id) FROM runs r "
                "LEFT JOIN findings f ON f.run_id = r.id GROUP BY r.id"):
            if expected != actual:
                problems.append(f"run {run_id}: {actual} of {expected} findings")
        return problems
