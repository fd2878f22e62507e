"""What the resource and logging rules' fixtures cannot show: messages, fixes, odd input."""

from __future__ import annotations

from pathlib import Path

from labwarden.rules import compose_resources as res
from labwarden.settings import Settings
from labwarden.sources.compose.discover import ProjectSpec
from labwarden.sources.compose.loader import load_project

SETTINGS = Settings()


def services(tmp_path: Path, text: str):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return load_project(ProjectSpec(str(tmp_path), [str(path)], "p"), []).services


def test_one_limits_finding_lists_what_is_missing(tmp_path):
    found = services(tmp_path, """
services:
  none: {image: a}
  mem: {image: a, deploy: {resources: {limits: {memory: 1g}}}}
""")
    [hit] = res.resource_limits_missing(found["none"], SETTINGS)
    assert "memory, CPU or PIDs" in hit.message
    assert "mem_limit:" in hit.fix and "cpus:" in hit.fix and "pids_limit:" in hit.fix
    [hit] = res.resource_limits_missing(found["mem"], SETTINGS)
    assert "CPU or PIDs" in hit.message and "mem_limit" not in hit.fix


def test_restart_values(tmp_path):
    found = services(tmp_path, """
services:
  no-string: {image: a, restart: "no"}
  no-plain: {image: a, restart: no}
  false-bool: {image: a, restart: false}
  always: {image: a, restart: always}
  failure: {image: a, restart: "on-failure:3"}
""")
    reported = {name for name, svc in found.items()
                if list(res.restart_policy_missing(svc, SETTINGS))}
    assert reported == {"no-string", "no-plain", "false-bool"}


def test_rotation_messages(tmp_path):
    found = services(tmp_path, """
services:
  default: {image: a}
  size-only: {image: a, logging: {driver: json-file, options: {max-size: 10m}}}
  rotated: {image: a, logging: {options: {max-size: 10m, max-file: 3}}}
  gelf: {image: a, logging: {driver: gelf}}
""")
    [hit] = res.log_rotation_missing(found["default"], SETTINGS)
    # The message states this service's problem; the daemon-wide alternative is in the fix.
    assert "/etc" not in hit.message and "daemon.json" in hit.fix
    [hit] = res.log_rotation_missing(found["size-only"], SETTINGS)
    assert "max-file" in hit.message
    assert not list(res.log_rotation_missing(found["rotated"], SETTINGS))
    assert not list(res.log_rotation_missing(found["gelf"], SETTINGS))


def test_odd_input_does_not_crash(tmp_path):
    found = services(tmp_path, """
services:
  a: {image: a, logging: json-file, deploy: nope, restart: 5, mem_limit: true}
  b:
    image: a
    logging: {driver: 5, options: [a, b]}
    deploy: {resources: {limits: ~}, restart_policy: x}
    depends_on: {a: {condition: 5}}
  c: {build: ., log_driver: ~, log_opt: [x]}
""")
    for check in (res.resource_limits_missing, res.restart_policy_missing,
                  res.logging_disabled, res.log_rotation_missing):
        for service in found.values():
            list(check(service, SETTINGS))
