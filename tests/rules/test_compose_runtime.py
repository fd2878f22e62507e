"""What the runtime rules' fixtures cannot show: contextual severities, fix texts, odd input."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.model import Severity
from labwarden.rules import compose_runtime as rt
from labwarden.rules import images
from labwarden.settings import Settings
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.loader import load_project

SETTINGS = Settings()


def services(tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    project = load_project(ProjectSpec(str(tmp_path), [str(path)], "p"), [])
    return project.services


def hits(check, service):
    return list(check(service, SETTINGS))


def test_capability_severity_depends_on_host_namespaces(tmp_path):
    found = services(tmp_path, """
services:
  ptrace: {image: a, cap_add: [SYS_PTRACE, SYS_BOOT]}
  ptrace-host: {image: a, pid: host, cap_add: [SYS_PTRACE, SYS_BOOT]}
  netadmin: {image: a, cap_add: [NET_ADMIN]}
  netadmin-host: {image: a, network_mode: host, cap_add: [NET_ADMIN]}
  all: {image: a, cap_add: [ALL, IPC_LOCK]}
""")
    severity = {name: [h.severity for h in hits(rt.dangerous_capability_added, svc)]
                for name, svc in found.items()}
    assert severity["ptrace"] == [Severity.MEDIUM, Severity.MEDIUM]
    assert severity["ptrace-host"] == [Severity.CRITICAL, Severity.HIGH]
    assert severity["netadmin"] == [Severity.HIGH]
    assert severity["all"] == [Severity.CRITICAL, Severity.LOW]
    [host_hit] = hits(rt.dangerous_capability_added, found["netadmin-host"])
    assert "host's own" in host_hit.message
    assert host_hit.resource == "cap:NET_ADMIN"


def test_hardening_finding_lists_what_is_missing(tmp_path):
    found = services(tmp_path, """
services:
  bare: {image: "ghcr.io/example/app:1.4"}
  almost: {image: a, cap_drop: [ALL], security_opt: [no-new-privileges], user: "1000"}
  lsio: {image: "lscr.io/linuxserver/sonarr:4.0.9"}
""")
    [bare] = hits(rt.hardening_options_missing, found["bare"])
    assert bare.severity is None            # the rule's MEDIUM
    for snippet in ("cap_drop:", "  - ALL", "no-new-privileges:true", "read_only: true",
                    'user: "1000:1000"'):
        assert snippet in bare.fix
    assert bare.message == ("lacks cap_drop: [ALL], no-new-privileges, read_only: true, "
                            "a non-root user")
    [almost] = hits(rt.hardening_options_missing, found["almost"])
    assert almost.severity == Severity.LOW and almost.message == "lacks read_only: true"
    [lsio] = hits(rt.hardening_options_missing, found["lsio"])
    assert "non-root" not in lsio.message   # LinuxServer images drop to PUID (default 911)
    assert "user:" not in lsio.fix and "SETUID" in lsio.fix


def test_root_severities(tmp_path):
    found = services(tmp_path, """
services:
  lsio:
    image: lscr.io/linuxserver/sonarr:4.0.9
    user: "0:0"
    environment: [PUID=0, PGID=0]
""")
    result = hits(rt.container_runs_as_root, found["lsio"])
    assert [(h.resource, h.severity) for h in result] == [
        ("user", None), ("env:PUID", Severity.HIGH), ("env:PGID", None)]


def test_uts_and_device_severities(tmp_path):
    found = services(tmp_path, """
services:
  uts: {image: a, uts: host}
  uts-admin: {image: a, uts: host, privileged: true}
  devices:
    image: a
    devices: [/dev/sda1, /dev/dri/renderD128, /dev/kmsg, "/dev/", /dev/bus/usb/001/002]
""")
    assert [h.severity for h in hits(rt.host_uts_namespace, found["uts"])] == [Severity.LOW]
    assert [h.severity for h in hits(rt.host_uts_namespace, found["uts-admin"])] == [None]
    result = hits(rt.host_device_mapped, found["devices"])
    assert [(h.resource, h.severity) for h in result] == [
        ("device:/dev/sda1", Severity.HIGH), ("device:/dev/dri/renderD128", Severity.LOW),
        ("device:/dev/kmsg", Severity.MEDIUM), ("device:/dev", Severity.HIGH),
        ("device:/dev/bus/usb/001/002", Severity.LOW)]


ODD = """
services:
  odd:
    image: {name: nginx}
    privileged: [true]
    cap_add: {SYS_ADMIN: true}
    cap_drop: 5
    security_opt: ~
    read_only: {}
    user: {name: root}
    network_mode: [host]
    pid: 1
    devices: /dev/sda
    environment:
      PUID:
      PGID: ""
  scalars:
    image: 42
    cap_add: SYS_ADMIN
    security_opt: seccomp=unconfined
    devices: [~, 7, {source: 5}, {}, "", "/dev/sdb:/dev/sdb:"]
    user: ""
  empty: {}
"""


@pytest.mark.parametrize("check", [
    rt.privileged_container, rt.dangerous_capability_added, rt.hardening_options_missing,
    rt.container_runs_as_root, rt.security_profile_disabled, rt.host_network_mode,
    rt.host_pid_namespace, rt.host_ipc_namespace, rt.host_uts_namespace, rt.host_userns_mode,
    rt.host_device_mapped, images.image_latest_tag, images.image_not_digest_pinned,
    images.image_untrusted_registry,
])
def test_odd_values_do_not_crash(tmp_path, check):
    for service in services(tmp_path, ODD).values():
        for hit in check(service, Settings(require_digest=True)):
            assert hit.location.line > 0
