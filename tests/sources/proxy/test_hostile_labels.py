"""Traefik labels Traefik itself would reject (a key that is both a value and a table) are
skipped, and a proxy whose configuration cannot be read is a diagnostic: the rest of the
audit goes on. Found on the public Compose corpus, where such a file ended the audit."""

from __future__ import annotations

import json
from pathlib import Path

from labwarden.cli import main

COMPOSE = """\
services:
  traefik:
    image: traefik:v3.1
    command: ["--providers.docker=true"]
    ports: ["127.0.0.1:8080:80"]
  app:
    image: nginx:1.27.3
    labels:
      traefik.http.routers.app.rule: "Host(`app.lab.example`)"
      traefik.http.routers.app.rule.priority: "10"
      traefik.http.routers.app.tls: "true"
"""


def test_conflicting_traefik_labels_do_not_end_the_audit(tmp_path: Path, capsys) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "compose.yaml").write_text(COMPOSE)
    code = main(["audit", str(tmp_path), "--format", "json", "--no-config"])
    out, err = capsys.readouterr()
    assert "internal error" not in err
    report = json.loads(out)
    assert code in (0, 1)
    assert any(f["rule_id"].startswith("CMP") for f in report["findings"])


def test_proxy_kind_by_repository_whatever_the_registry_tag_and_case() -> None:
    from labwarden.sources.proxy.workload import proxy_kind

    assert proxy_kind("traefik:v3.1") == "traefik"
    assert proxy_kind("docker.io/library/Traefik") == "traefik"
    assert proxy_kind("registry.lan:5000/caddy:2-alpine") == "caddy"
    assert proxy_kind("JC21/Nginx-Proxy-Manager:latest") == "npm"
    for image in ("traefik/whoami", "lucaslorentz/caddy-docker-proxy", "nginx:alpine",
                  "postgres:16", "", None):
        assert proxy_kind(image) is None, image
