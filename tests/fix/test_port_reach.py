"""The port fix keeps the service reachable by whoever needs it (issue 16): the proxy's
network and `expose:` when the proxy is a Compose service on the same host, the host's LAN
address and a firewall rule when it is on another host, loopback when nothing needs it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from fix_lab import audit_tree, write

from labwarden.sources.yamlfile import parse_yaml

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"


def _lab(tmp_path: Path) -> Path:
    lab = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, lab)
    return lab


def _compose(path: Path) -> dict:
    documents, _ = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    return documents[0]


def _git_apply(root: Path, patch: str) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=root, check=True)


def test_a_proxied_app_joins_the_proxy_network_and_stops_publishing(tmp_path, run_fix):
    lab = _lab(tmp_path)
    shown = run_fix("homelab", "--rule", "NET001", cwd=tmp_path)
    assert shown.code == 1, shown.err
    line = shown.line("NET001", "fixed")
    # paperless.lab.example is served by NPM (proxy/) by container name: a bind to 127.0.0.1
    # would take the site down.
    assert "127.0.0.1" not in shown.out
    assert "joins the proxy's network `proxy_default`" in line
    assert "paperless.lab.example answers through the proxy" in line
    assert "start the proxy's stack first" in line

    # The diff is what --apply writes: applied with git to a second copy, same files.
    other = tmp_path / "other"
    shutil.copytree(EXAMPLE, other / "homelab")
    _git_apply(other, shown.out)
    applied = run_fix("homelab", "--apply", "--rule", "NET001", cwd=tmp_path)
    assert applied.code == 0, applied.err
    written = (lab / "paperless" / "compose.yaml").read_text(encoding="utf-8")
    assert written == (other / "homelab" / "paperless" / "compose.yaml").read_text("utf-8")

    # As Compose reads it: no published port, exposed, on both networks, external declared;
    # the comment on the port line is kept.
    web = _compose(lab / "paperless" / "compose.yaml")
    service = web["services"]["webserver"]
    assert "ports" not in service and service["expose"] == ["8000"]
    assert service["networks"] == ["default", "proxy_default"]
    assert web["networks"] == {"proxy_default": {"external": True}}
    assert re.search(r'expose:\n      - "8000" +# planted \(MEDIUM\)', written)
    assert not [f for f in audit_tree(lab).findings
                if f.rule.id == "NET001" and f.asset == "compose:paperless/webserver"]


def test_nothing_forwards_to_it_so_loopback(tmp_path, run_fix):
    _lab(tmp_path)
    result = run_fix("homelab", "--rule", "NET003", cwd=tmp_path)
    prometheus = [l for l in result.line("NET003", "fixed").splitlines() if "prometheus" in l]
    assert prometheus and "127.0.0.1:9090:9090" in prometheus[0]
    assert "no reverse-proxy route of the lab forwards to it" in prometheus[0]
    # The proxy's own admin port is for nobody else either.
    npm = [l for l in result.line("NET003", "fixed").splitlines() if "npm:" in l]
    assert npm and "127.0.0.1:81:81" in npm[0] and "reverse proxy's own port" in npm[0]


_EDGE = """
  edge-01: {address: "ssh://admin@10.0.0.2", deployment_type: vm}
"""
_PROXY_SERVICE = """
  proxy:
    deployment_type: docker
    owner: jdoe
    compose: proxy
    host: edge-01
"""


def _proxy_elsewhere(lab: Path, lan: str | None) -> None:
    config = lab / "labwarden.yaml"
    text = config.read_text(encoding="utf-8")
    host = '  docker-01: {address: "snapshot:hosts/docker-01", deployment_type: vm'
    text = text.replace(host + "}", host + (f", lan_address: {lan}}}" if lan else "}") + _EDGE)
    text = text.replace("services:\n  grafana:", "services:" + _PROXY_SERVICE + "  grafana:")
    config.write_text(text, encoding="utf-8")


def test_proxy_on_another_host_binds_to_the_lan_address_with_its_firewall_rule(tmp_path,
                                                                                run_fix):
    lab = _lab(tmp_path)
    _proxy_elsewhere(lab, "10.0.0.5")
    result = run_fix("homelab", "--apply", "--rule", "NET001", cwd=tmp_path)
    assert result.code == 0, result.err
    line = result.line("NET001", "fixed")
    assert "bound `8000:8000` to 10.0.0.5: `10.0.0.5:8000:8000`" in line
    assert "host `edge-01`" in line
    assert "iptables -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 8000 ! -s 10.0.0.2 " \
           "-j DROP" in line
    service = _compose(lab / "paperless" / "compose.yaml")["services"]["webserver"]
    assert service["ports"] == ["10.0.0.5:8000:8000"] and "networks" not in service


def test_proxy_on_another_host_without_a_lan_address_is_left_with_the_reason(tmp_path,
                                                                            run_fix):
    lab = _lab(tmp_path)
    _proxy_elsewhere(lab, None)
    before = (lab / "paperless" / "compose.yaml").read_text(encoding="utf-8")
    result = run_fix("homelab", "--apply", "--rule", "NET001", cwd=tmp_path)
    line = result.line("NET001", "skipped")
    assert "binding to 127.0.0.1 would take the site down" in line
    assert "`hosts.docker-01.lan_address`" in line
    assert (lab / "paperless" / "compose.yaml").read_text(encoding="utf-8") == before


def test_lan_address_must_be_an_ip(tmp_path, capsys, monkeypatch):
    from labwarden.cli import main as cli

    lab = _lab(tmp_path)
    _proxy_elsewhere(lab, "docker-01.lan")
    monkeypatch.chdir(tmp_path)
    assert cli(["fix", "homelab", "--rule", "NET001"]) == 2
    err = capsys.readouterr().err
    assert "labwarden.yaml:43: lan_address must be an IP address" in err
    assert "Traceback" not in err


# A Traefik in its own project that reaches the wiki by the host's port 8000.
TRAEFIK_BY_HOST_PORT = {
    "proxy/compose.yaml": """
            services:
              traefik:
                image: traefik:v3.1
                command: ["--providers.file.filename=/etc/traefik/dynamic.yml"]
                ports: ["80:80", "443:443"]
                volumes: ["./dynamic.yml:/etc/traefik/dynamic.yml:ro"]
    """,
    "proxy/dynamic.yml": """
            http:
              routers:
                wiki: {rule: "Host(`wiki.lab.example`)", service: wiki}
              services:
                wiki: {loadBalancer: {servers: [{url: "http://10.0.0.5:8000"}]}}
    """,
}


def test_an_upstream_by_host_port_is_told_to_move_to_the_container_name(tmp_path, run_fix):

    write(tmp_path, {
        **TRAEFIK_BY_HOST_PORT,
        "app/compose.yaml": """
            services:
              wiki:
                image: ghcr.io/example/wiki:1.2
                ports:
                  - "8000:3000"   # the wiki
        """,
    })
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "NET001",
                     cwd=tmp_path)
    assert result.code == 0, result.err
    line = result.line("NET001", "fixed")
    assert "the proxy reaches it by host port 8000: change wiki.lab.example's upstream " \
           "`http://10.0.0.5:8000` to `app-wiki-1:3000`" in line
    service = _compose(tmp_path / "app" / "compose.yaml")["services"]["wiki"]
    assert service["expose"] == ["3000"] and service["networks"] == ["default",
                                                                      "proxy_default"]
    assert "# the wiki" in (tmp_path / "app" / "compose.yaml").read_text()


def test_a_service_with_other_ports_keeps_them(tmp_path, run_fix):

    write(tmp_path, {
        **TRAEFIK_BY_HOST_PORT,
        "app/compose.yaml": """
            services:
              wiki:
                image: ghcr.io/example/wiki:1.2
                ports:
                  - "127.0.0.1:9000:9000"   # metrics, for the local agent
                  - "8000:3000"             # the wiki
        """,
    })
    shown = run_fix(str(tmp_path), "--no-config", "--rule", "NET001", cwd=tmp_path)
    result = run_fix(str(tmp_path), "--no-config", "--apply", "--rule", "NET001",
                     cwd=tmp_path)
    assert result.code == 0 and "fixed" in result.line("NET001"), result.err
    text = (tmp_path / "app" / "compose.yaml").read_text()
    service = _compose(tmp_path / "app" / "compose.yaml")["services"]["wiki"]
    assert service["ports"] == ["127.0.0.1:9000:9000"] and service["expose"] == ["3000"]
    assert "# metrics, for the local agent" in text
    # What the dry run showed is what was written.
    added = [l[1:] for l in shown.out.splitlines() if l.startswith("+") and
             not l.startswith("+++")]
    assert added and all(l in text.splitlines() for l in added)
