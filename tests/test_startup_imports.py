"""What `labwarden audit` of Compose files imports: the records on its path are slotted
classes (`_record.py`), not dataclasses, and no module is imported for type annotations
alone, so a run never pays for dataclasses (with the inspect, ast and dis it imports) or
typing. Checked in a fresh interpreter, on a tree whose monitoring stack and reverse proxy
the audit reads (the stages after the workers join, where nothing runs beside them)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

COMPOSE = """\
services:
  prometheus:
    image: prom/prometheus:v2.53.0
    volumes: ["./prometheus.yml:/etc/prometheus/prometheus.yml:ro"]
  web:
    image: nginx:1.27.3
    labels:
      traefik.enable: "true"
      traefik.http.routers.web.rule: Host(`web.lab.example`)
      traefik.http.routers.web.entrypoints: websecure
  proxy:
    image: traefik:v3.1
    ports: ["443:443"]
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
"""
PROMETHEUS = """\
scrape_configs:
  - job_name: web
    static_configs:
      - targets: ["web:80"]
"""
NOT_ON_THE_PATH = ("dataclasses", "inspect", "typing", "rich", "jinja2")


def test_an_audit_imports_no_dataclasses_typing_or_inspect(tmp_path: Path) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "stack" / "prometheus.yml").write_text(PROMETHEUS)
    probe = textwrap.dedent(f"""\
        import io, json, sys
        from labwarden.cli import main
        out, sys.stdout = sys.stdout, io.StringIO()
        main(["audit", "--format", "json", {str(tmp_path)!r}])
        report, sys.stdout = sys.stdout.getvalue(), out
        print(json.dumps({{"modules": [m for m in {NOT_ON_THE_PATH!r} if m in sys.modules],
                          "stages": [m for m in ("labwarden.audit.monitoring",
                                                  "labwarden.audit.proxies") if m in sys.modules],
                          "projects": json.loads(report)["summary"]["projects"]}}))
        """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"modules": [], "projects": 1,
                    "stages": ["labwarden.audit.monitoring", "labwarden.audit.proxies"]}
