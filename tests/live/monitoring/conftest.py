"""A real Prometheus and Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`),
started once per session on loopback ports with generated configurations:

- a tiny real exporter the test serves on loopback: job `app`, scraped and up;
- job `broken`: a closed port, scraped and down;
- a third service of the inventory that no job is about;
- Alertmanager routes to a black-hole receiver by default and to a webhook (a loopback
  server the test runs) for critical alerts.

The fixture waits until Prometheus has scraped both targets and found Alertmanager (it
polls the API, bounded), so no test depends on timing.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

RULES = """\
groups:
  - name: availability
    rules:
      - alert: AppDown
        expr: up{job="app"} == 0
        for: 1m
        labels: {severity: critical}
      - alert: HostDiskFilling
        expr: node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes < 0.1
      - alert: HighLatency           # not a down alert: `up` is not compared with 0
        expr: rate(http_request_duration_seconds_sum{job="broken"}[5m]) > 1
"""

ALERTMANAGER = """\
route:
  receiver: blackhole
  routes:
    - receiver: oncall
      matchers: ['severity="critical"']
receivers:
  - name: blackhole
  - name: oncall
    webhook_configs:
      - url: http://127.0.0.1:{webhook}/alerts
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Exporter(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server interface
        body = b"# TYPE app_requests_total counter\napp_requests_total 7\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - the webhook receiver
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.load(answer)


def _ready(prometheus: str) -> bool:
    try:
        targets = _get(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
        managers = _get(f"{prometheus}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
    except (OSError, ValueError, KeyError):
        return False
    health = {t["labels"]["job"]: t["health"] for t in targets}
    return health.get("app") == "up" and health.get("broken") == "down" and bool(managers)


@pytest.fixture(scope="session")
def monitoring_stack(tmp_path_factory):
    for binary in ("prometheus", "prometheus-alertmanager"):
        assert shutil.which(binary), f"{binary} is not installed (scripts/test.sh installs it)"
    root: Path = tmp_path_factory.mktemp("monitoring")
    exporter, webhook = _serve(), _serve()
    closed = free_port()                       # nothing listens there: job broken is down
    prom_port, am_port = free_port(), free_port()
    (root / "rules.yml").write_text(RULES)
    (root / "alertmanager.yml").write_text(
        ALERTMANAGER.replace("{webhook}", str(webhook.server_address[1])))
    (root / "prometheus.yml").write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["127.0.0.1:{exporter.server_address[1]}"]}}]
  - job_name: broken
    scrape_timeout: 1s
    static_configs: [{{targets: ["127.0.0.1:{closed}"]}}]
""")
    logs = []
    processes = []
    for command, name in (
            (["prometheus-alertmanager", f"--config.file={root / 'alertmanager.yml'}",
              f"--storage.path={root / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
              "--cluster.listen-address="], "alertmanager"),
            (["prometheus", f"--config.file={root / 'prometheus.yml'}",
              f"--storage.tsdb.path={root / 'prom-data'}",
              f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus")):
        log = open(root / f"{name}.log", "wb")       # noqa: SIM115 - closed below
        logs.append(log)
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
    prometheus = f"http://127.0.0.1:{prom_port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(prometheus):
            for process in processes:
                assert process.poll() is None, (root / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "Prometheus did not scrape both targets in 60 s"
            time.sleep(0.2)
        yield {"root": root, "prometheus": f"prometheus://127.0.0.1:{prom_port}",
               "alertmanager": f"alertmanager://127.0.0.1:{am_port}",
               "exporter": exporter.server_address[1], "closed": closed}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        exporter.shutdown()
        webhook.shutdown()
