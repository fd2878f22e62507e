"""Caddy: the real binary (Debian's `caddy` package). A Caddyfile is read through `caddy
adapt`; a running Caddy on loopback through its admin API's /config/, which must say the
same; then the Caddyfile of a Compose project is judged by the audit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
from pathlib import Path

import httpx
import pytest
from server_process import serving

from labwarden.audit import AuditOptions, run
from labwarden.audit.live import parse_targets
from labwarden.model import Location
from labwarden.sources.live.collect import ProbeOptions, collect_sync
from labwarden.sources.proxy.discover import read_target_file
from labwarden.sources.proxy.model import ProxyRoute, ProxyServer
from labwarden.sources.proxy.resolve import Resolver

CADDY_PACKAGE = "caddy"
# `basicauth`: Debian's Caddy 2.6 predates the `basic_auth` spelling of 2.8.
SITES = """
grafana.lab.example {
	tls internal
	header Strict-Transport-Security "max-age=31536000; includeSubDomains"
	reverse_proxy monitoring-grafana:3000
}

portainer.lab.example {
	tls internal
	basicauth {
		admin $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
	}
	header {
		X-Content-Type-Options nosniff
		X-Frame-Options DENY
	}
	reverse_proxy https://portainer-server:9443 {
		transport http {
			tls_insecure_skip_verify
		}
	}
}

adminer.lab.example {
	tls internal
	forward_auth authelia:9091 {
		uri /api/verify
		copy_headers Remote-User
	}
	reverse_proxy adminer:8080
}

http://wiki.lab.example {
	reverse_proxy wiki:8080
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def caddy_binary() -> str:
    found = shutil.which("caddy")
    if found is None:
        pytest.fail(f"the Caddy tests need the Debian package '{CADDY_PACKAGE}' "
                    f"(apt-get install -y {CADDY_PACKAGE})")
    return found


def _read(path: Path) -> tuple[dict[str, ProxyRoute], ProxyServer, list]:
    reading = read_target_file("caddy", str(path), "lab", Resolver([]), Location(str(path)))
    routes = {f.name: f for f in reading.facts if isinstance(f, ProxyRoute)}
    server = next(f for f in reading.facts if isinstance(f, ProxyServer))
    return routes, server, reading.diagnostics


def _caddyfile(directory: Path, globals_: str) -> Path:
    path = directory / "Caddyfile"
    path.write_text("{\n" + textwrap.dedent(globals_) + "}\n" + SITES)
    return path


def test_a_caddyfile_is_read_through_caddy_adapt(tmp_path: Path) -> None:
    caddy_binary()
    routes, server, problems = _read(_caddyfile(tmp_path, "admin 0.0.0.0:2019\n"))
    assert problems == []
    assert set(routes) == {"grafana.lab.example", "portainer.lab.example",
                           "adminer.lab.example", "wiki.lab.example"}
    grafana = routes["grafana.lab.example"]
    assert (grafana.tls, grafana.force_https) == (True, True)     # `tls internal` is TLS
    assert grafana.hsts.max_age == 31_536_000 and grafana.hsts.subdomains
    assert grafana.headers == ("strict-transport-security",)
    assert grafana.upstreams[0].url == "http://monitoring-grafana:3000"
    portainer = routes["portainer.lab.example"]
    assert portainer.auth == "basic_auth (1 user)" and not portainer.sso
    assert portainer.upstreams[0].url == "https://portainer-server:9443"
    assert portainer.headers == ("x-content-type-options", "x-frame-options")
    adminer = routes["adminer.lab.example"]
    assert adminer.sso and adminer.auth == "forward_auth to authelia:9091"
    assert [u.url for u in adminer.upstreams] == ["http://adminer:8080"]   # not the gateway
    assert routes["wiki.lab.example"].tls is False
    assert server.admin_listen == "0.0.0.0:2019"


def test_redirects_turned_off_are_seen(tmp_path: Path) -> None:
    caddy_binary()
    routes, server, _ = _read(_caddyfile(tmp_path, "auto_https disable_redirects\n"))
    assert routes["grafana.lab.example"].tls is True
    assert routes["grafana.lab.example"].force_https is False
    assert server.admin_listen == "localhost:2019"                 # the default


def test_an_invalid_caddyfile_is_an_error_at_its_line(tmp_path: Path) -> None:
    caddy_binary()
    path = tmp_path / "Caddyfile"
    path.write_text("wiki.lab.example {\n\treverse_proxy wiki:8080\n\tno_such_directive\n}\n")
    routes, server, problems = _read(path)
    assert routes == {} and server.error is not None
    assert [(d.level, d.code) for d in problems] == [("error", "proxy-unreadable")]
    assert problems[0].location == Location(str(path), 3)
    assert "no_such_directive" in problems[0].message


def test_without_caddy_the_caddyfile_is_said_not_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    routes, _, problems = _read(_caddyfile(tmp_path, ""))
    assert routes == {}
    assert [(d.level, d.code) for d in problems] == [("warning", "proxy-tool-missing")]


@pytest.fixture(scope="module")
def caddy(tmp_path_factory):
    """A running Caddy on loopback: (its admin URL, its Caddyfile)."""
    binary = caddy_binary()
    directory = tmp_path_factory.mktemp("caddy")
    admin = _free_port()
    path = _caddyfile(directory, f"""
        admin 127.0.0.1:{admin}
        default_bind 127.0.0.1
        http_port {_free_port()}
        https_port {_free_port()}
        skip_install_trust
        storage file_system {directory / 'storage'}
    """)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(directory),
           "XDG_DATA_HOME": str(directory / "data"), "XDG_CONFIG_HOME": str(directory / "cfg")}
    process = subprocess.Popen([binary, "run", "--config", str(path), "--adapter",
                                "caddyfile"], cwd=directory, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{admin}"
    with serving(process, lambda: httpx.get(f"{url}/config/", timeout=1).status_code == 200,
                 "caddy's admin API"):
        yield url, path


def test_the_admin_api_says_what_the_caddyfile_says(caddy) -> None:
    url, path = caddy
    facts, problems = collect_sync(parse_targets([f"caddy:{url}"]), ProbeOptions(timeout=3))
    assert problems == []
    from_api = {f.name: f for f in facts if isinstance(f, ProxyRoute)}
    from_file, server_file, _ = _read(path)
    assert set(from_api) == set(from_file)
    for name, route in from_api.items():
        other = from_file[name]
        assert (route.tls, route.force_https, route.hsts, route.auth, route.headers,
                [u.url for u in route.upstreams]) == \
            (other.tls, other.force_https, other.hsts, other.auth, other.headers,
             [u.url for u in other.upstreams]), name
    server = next(f for f in facts if isinstance(f, ProxyServer))
    assert server.admin_listen == server_file.admin_listen == url.removeprefix("http://")


def test_the_audit_judges_the_trees_caddy(tmp_path: Path) -> None:
    caddy_binary()
    (tmp_path / "caddy").mkdir()
    _caddyfile(tmp_path / "caddy", "admin 0.0.0.0:2019\n")
    (tmp_path / "caddy" / "compose.yaml").write_text(textwrap.dedent("""
        services:
          caddy:
            image: caddy:2.8
            ports: ["80:80", "443:443"]
            volumes:
              - ./Caddyfile:/etc/caddy/Caddyfile:ro
    """))
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "compose.yaml").write_text(textwrap.dedent("""
        services:
          portainer:
            image: portainer/portainer-ce:2.21.4
            container_name: portainer-server
          adminer:
            image: adminer:4.8.1
    """))
    result = run([str(tmp_path)], AuditOptions())
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        if finding.rule.id.startswith("PRX"):
            found.setdefault(finding.asset, set()).add(finding.rule.id)
    assert found == {
        "caddy:caddy": {"PRX021"},                          # admin API on 0.0.0.0
        "caddy:caddy/grafana.lab.example": {"PRX010"},      # HSTS only
        "caddy:caddy/portainer.lab.example": {"PRX003"},    # behind basic_auth, no HSTS
        "caddy:caddy/adminer.lab.example": {"PRX003", "PRX010"},
        "caddy:caddy/wiki.lab.example": {"PRX001"},
    }
