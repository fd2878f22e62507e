"""The metrics tests' lab, exporter and Prometheus, all real and on loopback.

- `lab`: a copy of examples/homelab, changed where the metrics have something to show:
  paperless names a real restic repository (Debian `restic`) with one snapshot three hours
  old; NPM's certificate (proxy/data/database.sqlite) expires in ten days; n8n has one run
  in the history (`labwarden gate n8n`); and canaries are planted where a secret and a
  person's note live (paperless.env, an attestation note), for the leak test.
- `exporter`: `labwarden metrics --listen 127.0.0.1:0 LAB` as a process (the real command,
  its port read from its first line), with a TTL longer than the session, so every scrape
  sees one evaluation.
- `prometheus`: Debian's Prometheus scraping it every second, evaluating the example's
  alert rules (examples/monitoring/labwarden-alerts.yml). The fixture waits, bounded, until
  a scrape has landed, so no test depends on timing.

A missing binary fails the fixture with the Debian package to install.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "homelab"
MONITORING = ROOT / "examples" / "monitoring"
PASSWORD = "metrics test repository password 7"           # test-only
SECRET_CANARY = "CANARYmetricsSecret7Qx"
NOTE_CANARY = "CANARYmetricsNote7Qx"
SERVICES = ("grafana", "n8n", "paperless")


def need(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if not found:
        pytest.fail(f"{binary} not found: install the Debian package {package}",
                    pytrace=False)
    return found


def labwarden(lab: Path, *args: str) -> subprocess.CompletedProcess:
    """The real command line, in the lab's folder."""
    return subprocess.run([sys.executable, "-m", "labwarden", *args], cwd=lab,
                          capture_output=True, text=True, timeout=300)


class Lab:
    def __init__(self, root: Path):
        self.root = root
        self.snapshot_at: float = 0.0           # epoch seconds of the restic snapshot
        self.certificate_expires: float = 0.0   # epoch seconds of NPM's certificate
        self.gate_run_started: float = 0.0      # n8n's history run


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    restic = need("restic", "restic")
    base = tmp_path_factory.mktemp("metrics")
    root = base / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    state = Lab(root)

    # A restic repository for paperless, with one snapshot three hours old.
    password = base / "restic.pass"
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    repository = base / "restic-paperless"
    data = base / "paperless-data"
    data.mkdir()
    (data / "documents.sql").write_text("-- PostgreSQL database dump\nSELECT 1;\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RESTIC_")},
           "RESTIC_PASSWORD": PASSWORD}
    subprocess.run([restic, "init", "--no-cache", "-q", "-r", str(repository)], check=True,
                   env=env, capture_output=True)
    taken = (dt.datetime.now() - dt.timedelta(hours=3)).replace(microsecond=0).astimezone()
    subprocess.run([restic, "backup", "--no-cache", "-q", "-r", str(repository), "--time",
                    taken.strftime("%Y-%m-%d %H:%M:%S"), "."], check=True, env=env,
                   capture_output=True, cwd=data)
    state.snapshot_at = taken.timestamp()
    config = root / "labwarden.yaml"
    text = config.read_text()
    assert text.rstrip().endswith("exposure: internal"), "paperless is no longer last"
    config.write_text(text.rstrip() + f'\n    backups: ["restic:{repository}"]\n'
                      f"backup: {{password_file: {password}}}\n")

    # NPM's certificate expires in ten days (whole seconds, UTC, as NPM writes it).
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)).replace(microsecond=0)
    with sqlite3.connect(root / "proxy" / "data" / "database.sqlite") as db:
        db.execute("UPDATE certificate SET expires_on = ?",
                   (expires.strftime("%Y-%m-%d %H:%M:%S"),))
    state.certificate_expires = expires.timestamp()

    # Canaries: a secret-named value in an env file, and a person's note.
    env_file = root / "paperless" / "paperless.env"
    env_file.write_text(env_file.read_text() + f"PAPERLESS_ADMIN_PASSWORD={SECRET_CANARY}\n")
    attested = labwarden(root, "attest", "grafana", "8.1.1", "--by", "jdoe", "--note",
                         f"runbook {NOTE_CANARY} in the wiki")
    assert attested.returncode == 0, attested.stderr

    # One run of n8n in the history.
    gate = labwarden(root, "gate", "n8n")
    assert gate.returncode in (0, 1), gate.stderr
    with sqlite3.connect(root / ".labwarden" / "history.db") as db:
        (started,), = db.execute("SELECT started FROM runs WHERE service = 'n8n'").fetchall()
    state.gate_run_started = dt.datetime.fromisoformat(started).timestamp()
    return state


class Exporter:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}/metrics"

    def text(self) -> str:
        with urllib.request.urlopen(self.url, timeout=30) as answer:
            return answer.read().decode()


@pytest.fixture(scope="session")
def exporter(lab: Lab, tmp_path_factory):
    log = tmp_path_factory.mktemp("exporter") / "stderr.log"
    with open(log, "wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "labwarden", "metrics", "--listen", "127.0.0.1:0",
             "--ttl", "86400", str(lab.root)],
            stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        line = process.stdout.readline()           # after the first evaluation
        found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        assert found, f"no address in {line!r}; stderr: {log.read_text()[-2000:]}"
        yield Exporter(process, int(found.group(1)))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


class Prometheus:
    def __init__(self, url: str, root: Path):
        self.url = url
        self.root = root

    def get(self, path: str, **params) -> dict:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=5) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.get("/api/v1/query", query=expr)["result"]

    def values(self, expr: str, by: str = "service") -> dict[str, float]:
        return {r["metric"][by]: float(r["value"][1]) for r in self.query(expr)}

    def wait_for(self, expr: str, count: int, seconds: float = 30) -> list[dict]:
        """The result of `expr` once it has `count` series (rules are evaluated every second,
        after the scrapes); bounded."""
        deadline = time.monotonic() + seconds
        while True:
            result = self.query(expr)
            if len(result) >= count or time.monotonic() > deadline:
                return result
            time.sleep(0.2)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def prometheus(exporter: Exporter, tmp_path_factory):
    binary = need("prometheus", "prometheus")
    root = tmp_path_factory.mktemp("prometheus")
    shutil.copy(MONITORING / "labwarden-alerts.yml", root / "labwarden-alerts.yml")
    port = free_port()
    (root / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [labwarden-alerts.yml]
scrape_configs:
  - job_name: labwarden
    static_configs: [{{targets: ["127.0.0.1:{exporter.port}"]}}]
""")
    log = open(root / "prometheus.log", "wb")          # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [binary, f"--config.file={root / 'prometheus.yml'}",
         f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    server = Prometheus(f"http://127.0.0.1:{port}", root)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (root / "prometheus.log").read_text()[-2000:]
            try:
                if len(server.query("labwarden_service_score")) == len(SERVICES):
                    break
            except (OSError, ValueError, KeyError):
                pass
            assert time.monotonic() < deadline, "Prometheus did not scrape labwarden in 60 s"
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
