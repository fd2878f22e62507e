"""History in SQLite: schema versioning, diff by fingerprint, and atomicity when killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labwarden.model import AuditResult, Finding, Location
from labwarden.rules.registry import get
from labwarden.store import MIGRATIONS, Store, StoreError


def result(resources: list[str], line: int = 1) -> AuditResult:
    rule = get("CMP010")
    findings = [Finding(rule, rule.severity, "privileged", Location("compose.yaml", line + i),
                        "compose:app/web", resource=r) for i, r in enumerate(resources)]
    for index, finding in enumerate(findings):
        finding.id = f"CRITICAL-{index + 1:03d}"
    return AuditResult(findings=findings, diagnostics=[], targets=["."], started="now")


def test_created_in_wal_mode_at_the_current_schema_version(tmp_path: Path) -> None:
    with Store(str(tmp_path / "h.db")) as store:
        assert store.version == len(MIGRATIONS)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    Store(str(path)).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(str(path))


def test_diff_matches_by_fingerprint_not_line(tmp_path: Path) -> None:
    with Store(str(tmp_path / "h.db")) as store:
        old = store.record(result(["a", "b"]), service="app")
        new = store.record(result(["b", "c"], line=40), service="app")
        diff = store.diff(old, new)
        assert [f.resource for f in diff.new] == ["c"]
        assert [f.resource for f in diff.fixed] == ["a"]
        assert [f.resource for f in diff.persisting] == ["b"]
        assert [r.id for r in store.runs("app")] == [old, new]


WRITER = """
import sys
from labwarden.store import Store
from tests_store_helper import result
store = Store(sys.argv[1])
print("ready", flush=True)
while True:
    store.record(result([f"r{i}" for i in range(50000)]), service="app")
    print("committed", flush=True)
"""


def test_a_killed_writer_leaves_the_database_consistent(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    helper = tmp_path / "tests_store_helper.py"
    helper.write_text(Path(__file__).read_text())
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    killed_mid_write = 0
    for delay in (0.05, 0.15, 0.3, 0.45, 0.6):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        committed = process.stdout.read().count("committed")
        with Store(str(path)) as store:
            assert store.check_consistency() == []
            runs = store.runs(limit=1000)
            assert all(r.finding_count == 50000 for r in runs)
        # Killed before its first commit: that transaction was under way and is not visible.
        killed_mid_write += committed == 0
    assert killed_mid_write >= 1, "no kill landed inside a transaction; the test proved nothing"


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_text("# not a database\n" * 100), "file is not a database"),
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "cannot open it"),
])
def test_a_history_path_that_is_not_a_database_is_a_store_error(tmp_path: Path, make,
                                                                reason: str) -> None:
    path = tmp_path / "history.db"
    make(path)
    with pytest.raises(StoreError) as caught:
        Store(str(path))
    assert str(path) in str(caught.value) and reason in str(caught.value)


def test_diff_of_a_run_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with Store(str(tmp_path / "h.db")) as store:
        run_id = store.record(result(["a"]), service="app")
        with pytest.raises(StoreError, match=f"no run {run_id + 1} in the history"):
            store.diff(run_id, run_id + 1)
        assert store.diff(run_id, run_id).persisting


def test_diff_compares_runs_of_one_service_only(tmp_path: Path) -> None:
    with Store(str(tmp_path / "h.db")) as store:
        app = store.record(result(["a"]), service="app")
        db = store.record(result(["a"]), service="db")
        audit = store.record(result(["a"]))                      # a run of no service
        app_again = store.record(result(["b"]), service="app")
        with pytest.raises(StoreError) as caught:
            store.diff(app, db)
        message = str(caught.value)
        assert f"run {app} (service app)" in message and f"run {db} (service db)" in message
        with pytest.raises(StoreError, match=f"run {audit} \\(no service\\)"):
            store.diff(audit, audit)
        with pytest.raises(StoreError, match="of service db"):
            store.diff(app, app_again, service="db")
        diff = store.diff(app, app_again, service="app")
        assert diff.service == "app" and [f.resource for f in diff.new] == ["b"]


def test_fingerprints_are_the_sha256_histories_were_keyed_by() -> None:
    """A fingerprint is the first 20 hex digits of SHA-256 over rule, asset and resource
    (or message): stored histories and baselines match findings by it, so whichever
    implementation hashes, the digest must not change."""
    import hashlib

    from labwarden.model import Finding, Location, Severity
    from labwarden.rules import registry

    rule = registry.get("CMP001")
    finding = Finding(rule=rule, severity=Severity.HIGH, message="m", location=Location("f", 3),
                      asset="compose:app/web", resource="privileged: true")
    expected = hashlib.sha256(f"{rule.id}\x1fcompose:app/web\x1fprivileged: true".encode())
    assert finding.fingerprint == expected.hexdigest()[:20]
    no_resource = Finding(rule=rule, severity=Severity.HIGH, message="the message",
                          location=Location("f", 3), asset="compose:app/web")
    assert no_resource.fingerprint == hashlib.sha256(
        f"{rule.id}\x1fcompose:app/web\x1fthe message".encode()).hexdigest()[:20]
