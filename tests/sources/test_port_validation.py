"""`ports:` entries Compose refuses are input errors at their line, in either syntax, and never
a port "on all interfaces" (issue 15)."""

from __future__ import annotations

import pytest

from labwarden.sources.compose.model import port_problem
from labwarden.sources.yamlfile import Map


@pytest.mark.parametrize("item", [
    "80", "8080:80", "127.0.0.1:8080:80", "[::1]:8080:80", "::1:5432:5432", "[::]:443:443/tcp",
    "10.0.0.5:53:53/udp", "127.0.0.1::80", "3000-3005", "9000-9002:9000-9002/UDP",
    "8000-8010:80", "6060:6060/sctp", ":80", 8080, "fe80::1%eth0:80:80",
    Map(target=80, published="8080", host_ip="127.0.0.1", protocol="tcp", mode="host"),
    Map(target="443", published=8443), Map(target=53, published="5353-5354", protocol="udp"),
    Map(target=80),
])
def test_entries_compose_accepts_have_no_problem(item):
    assert port_problem(item) is None


@pytest.mark.parametrize("item, why", [
    ("192.168.1.300:8080:80", "host address `192.168.1.300` is not an IP address"),
    ("localhost:8080:80", "host address `localhost` is not an IP address"),
    ("lan:8080:80", "host address `lan` is not an IP address"),
    ("http:80", "host port `http` is not a port number or range"),
    ("70000:80", "host port `70000` is beyond 65535"),
    ("8080:99999", "container port `99999` is beyond 65535"),
    ("8010-8000:80", "host port `8010-8000` is a range that ends before it starts"),
    ("8000-8010:80-81", "ranges of different lengths"),
    ("8080:80/http", "protocol `http` is none of tcp, udp, sctp"),
    ("8080:", "no container port"),
    (Map(target=80, published="127.0.0.1:8080"), "holds a host address: write it in `host_ip`"),
    (Map(target=443, published="https"), "`published: https` is not a port number or range"),
    (Map(target=80, published=8080, host_ip="lan"), "host address `lan` is not an IP address"),
    (Map(published=8080), "`target` (the container port) is missing"),
    (Map(target="80-81"), "`target: 80-81` is not a port number"),
    (Map(target=80, protocol="http"), "`protocol: http` is none of tcp, udp, sctp"),
    (Map(target=80, host="127.0.0.1"), "`host` is not a port setting"),
])
def test_entries_compose_refuses_say_why(item, why):
    problem = port_problem(item)
    assert problem is not None and why in problem


def test_invalid_ports_are_errors_at_their_line_and_publish_nothing(lw):
    root = lw.tree({"compose.yaml": """
        services:
          web:
            image: nginx:1.27
            ports:
              - "192.168.1.300:8080:80"
              - target: 80
                published: "127.0.0.1:8081"
              - target: 443
                published: https
              - "8082:80"
        """})
    loaded = lw.load(root)
    compose = root / "compose.yaml"
    bad = [d for d in loaded.diagnostics if d.code == "bad-port"]
    assert [d.level for d in bad] == ["error"] * 3
    assert lw.at(bad[0].location, compose, "192.168.1.300")
    assert lw.at(bad[1].location, compose, "- target: 80")
    assert lw.at(bad[2].location, compose, "- target: 443")
    assert "Compose refuses this file" in bad[1].message
    # Only the valid entry is a port: none of the broken ones is "on all interfaces".
    assert [p.spec for p in loaded.service("web").ports] == ["8082:80"]


def test_entries_broken_by_unset_variables_are_warnings_not_errors(lw):
    """A clone without its .env leaves `${PORT}:${PORT}` as `:`: a coverage gap, not input
    Compose refuses as written (DESIGN: gaps do not change the exit code)."""
    root = lw.tree({"compose.yaml": """
        services:
          node:
            image: ghcr.io/example/node:1.0
            ports:
              - "${APP_P2P_PORT}:${APP_P2P_PORT}"
              - target: 80
                published: "${APP_WEB_BIND}"
        """})
    loaded = lw.load(root)
    bad = [d for d in loaded.diagnostics if d.code == "bad-port"]
    assert [d.level for d in bad] == ["warning"]
    assert "written `${APP_P2P_PORT}:${APP_P2P_PORT}`" in bad[0].message
    assert loaded.service("node").ports[0].published is None   # unset published: ephemeral
