"""What the mount rules' fixtures cannot show: contextual severities, messages, odd input."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.model import Severity
from labwarden.rules import compose_mounts as mounts
from labwarden.settings import Settings
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.loader import load_project

SETTINGS = Settings()
C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def services(tmp_path: Path, text: str, dotenv: str = ""):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    project = load_project(ProjectSpec(str(tmp_path), [str(path)], "p"), [])
    return project.services


def severities(check, service) -> list[Severity]:
    return [h.severity or check.rule.severity for h in check(service, SETTINGS)]


@pytest.mark.parametrize("path", [
    "/var/run/docker.sock", "/run/docker.sock", "/var/run/../run/docker.sock",
    "//var/run/docker.sock", "/run/podman/podman.sock", "/run/containerd/containerd.sock",
    "/run/user/1000/docker.sock", "/var/run", "/run", "/var/run/docker", "/run/containerd",
])
def test_socket_paths(path):
    assert mounts.socket_exposed(mounts.normalise(path))


@pytest.mark.parametrize("path", [
    "/var/run/docker.sock.bak", "./docker.sock.example", "/run/dbus", "/run/user/1000",
    "/srv/docker", "/var/lib/docker", "/",
])
def test_not_socket_paths(path):
    assert mounts.socket_exposed(mounts.normalise(path)) is None


def test_socket_severity_proxy_and_readonly(tmp_path):
    found = services(tmp_path, """
services:
  app: {image: a, volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]}
  proxy:
    image: tecnativa/docker-socket-proxy:0.3.0
    environment: {CONTAINERS: 1}
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
  open-proxy:
    image: lscr.io/linuxserver/socket-proxy:1.26.2
    environment: {CONTAINERS: 1, POST: 1}
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
  named-by-client:
    image: alpine
    volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
  client: {image: a, environment: {DOCKER_HOST: "tcp://named-by-client:2375"}}
""")
    check = mounts.docker_socket_mounted
    assert severities(check, found["app"]) == [C]
    assert "Read-only does not help" in next(check(found["app"], SETTINGS)).message
    assert severities(check, found["proxy"]) == [H]
    assert "socket proxy" in next(check(found["proxy"], SETTINGS)).message
    assert severities(check, found["open-proxy"]) == [C]
    assert severities(check, found["named-by-client"]) == [H]
    assert severities(check, found["client"]) == []


def test_docker_host_targets(tmp_path):
    found = services(tmp_path, """
services:
  gw: {image: a, environment: {DOCKER_HOST: "tcp://host.docker.internal:2376"}}
  plain: {image: a, environment: {DOCKER_HOST: "tcp://10.0.0.5:2375"}}
  tls: {image: a, environment: {DOCKER_HOST: "tcp://nas.lan:2376"}}
  ssh: {image: a, environment: {DOCKER_HOST: "ssh://admin@nas.lan"}}
  v6: {image: a, environment: {DOCKER_HOST: "tcp://[::1]:2375"}}
  empty: {image: a, environment: {DOCKER_HOST: ""}}
  unset: {image: a, environment: [DOCKER_HOST]}
""")
    check = mounts.docker_socket_mounted
    assert severities(check, found["gw"]) == [C]
    assert severities(check, found["plain"]) == [C]
    assert severities(check, found["tls"]) == [H]
    assert severities(check, found["ssh"]) == [H]
    for name in ("v6", "empty", "unset"):
        assert severities(check, found[name]) == [], name


def test_root_mount_severity(tmp_path):
    found = services(tmp_path, """
services:
  rw: {image: a, volumes: ["/:/host"]}
  ro: {image: a, volumes: ["/:/host:ro,rslave"]}
  long: {image: a, volumes: [{type: bind, source: /., target: /h, read_only: true}]}
""")
    check = mounts.host_root_mounted
    assert severities(check, found["rw"]) == [C]
    assert severities(check, found["ro"]) == [H]
    assert severities(check, found["long"]) == [H]


@pytest.mark.parametrize("spec, expected", [
    ("/etc:/host-etc", C), ("/etc:/host-etc:ro", H),
    ("/root:/root", C), ("/root/.ssh:/keys:ro", H), ("/root/stacks/app:/app", None),
    ("/home/al:/al", H), ("/home/al/media:/media", None), ("~/.ssh:/k:ro", H),
    ("/etc/localtime:/etc/localtime:ro", None), ("/etc/localtime:/etc/localtime", L),
    ("/etc/os-release:/x:ro", None), ("/etc/resolv.conf:/etc/resolv.conf", M),
    ("/etc/ssl/certs:/etc/ssl/certs:ro", None), ("/etc/ssl/certs:/etc/ssl/certs", H),
    ("/etc/pihole:/etc/pihole", L), ("/etc/nginx:/etc/nginx:ro", None),
    ("/proc:/host/proc:ro", M), ("/proc:/host/proc", H), ("/sys:/sys:ro", M),
    ("/dev:/dev", H), ("/dev/dri:/dev/dri", None),
    ("/var/lib/docker:/var/lib/docker:ro", H), ("/var/lib/docker:/d", C),
    ("/var/lib/docker/containers:/c:ro", M), ("/var/lib/docker/volumes/x/_data:/d", None),
    ("/var:/var", C), ("/usr/local:/usr/local", C), ("/usr/bin:/b:ro", None),
    ("/lib/modules:/lib/modules", C), ("/lib/modules:/lib/modules:ro", None),
    ("/run/dbus:/run/dbus:ro", H), ("/run/udev:/run/udev:ro", M),
    ("/run/user/1000/pulse:/run/pulse", M), ("/var/run/libvirt/libvirt-sock:/s", C),
    ("/run/systemd/resolve/resolv.conf:/etc/resolv.conf:ro", None),
    ("/var/log:/var/log:ro", None), ("/srv/data:/data", None),
    # Owned by CMP050 and CMP051: never reported twice.
    ("/var/run/docker.sock:/var/run/docker.sock", None), ("/run:/run", None), ("/:/h", None),
])
def test_sensitive_path_severity(tmp_path, spec, expected):
    found = services(tmp_path, f"services:\n  s: {{image: a, volumes: ['{spec}']}}\n")
    got = severities(mounts.sensitive_host_path_mounted, found["s"])
    assert got == ([expected] if expected else [])


def test_unset_variable_prefix(tmp_path):
    found = services(tmp_path, """
services:
  unknown: {image: a, volumes: ["${APPDATA}/etc/app:/etc/app", "${APPDATA}/:/data"]}
  home: {image: a, volumes: ["$HOME/.ssh:/root/.ssh:ro"]}
  pwd: {image: a, volumes: ["${PWD}/etc:/etc"]}
  set: {image: a, volumes: ["${CONF}/sudoers.d:/s:ro"]}
""", dotenv="CONF=/etc\n")
    assert severities(mounts.sensitive_host_path_mounted, found["unknown"]) == []
    assert severities(mounts.host_root_mounted, found["unknown"]) == []
    assert severities(mounts.sensitive_host_path_mounted, found["home"]) == [H]
    assert severities(mounts.sensitive_host_path_mounted, found["pwd"]) == []
    assert severities(mounts.sensitive_host_path_mounted, found["set"]) == [H]


def test_odd_input_does_not_crash(tmp_path):
    found = services(tmp_path, """
services:
  a:
    image: a
    volumes: [5, ~, "", ":", "::", [x], {source: 1, target: /x, type: bind},
              {type: bind, source: {a: 1}, target: /y, bind: x},
              {type: bind, source: /z, target: /z, bind: {propagation: 5}},
              {type: volume, source: v}, {type: volume, source: w}]
    secrets: [{source: 5}, 7, missing]
    configs: nope
    volumes_from: [a, "container:x", "", 5]
    environment: {DOCKER_HOST: "tcp://", CONTAINER_HOST: 2375}
  b: {image: a, volumes: "/var/run/docker.sock:/x", volumes_from: ~}
volumes:
  v: {driver_opts: [1]}
  w: {driver_opts: {device: 5, type: none}}
secrets: [1, 2]
""")
    for check in (mounts.docker_socket_mounted, mounts.host_root_mounted,
                  mounts.sensitive_host_path_mounted, mounts.mount_propagation_shared):
        for service in found.values():
            list(check(service, SETTINGS))
