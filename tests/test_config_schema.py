"""labwarden.yaml against its schema: unknown keys (with the closest known one), wrong types,
and service and host names, each reported with its file and line, all at once, before any
command acts on the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.config import ConfigError, load_config, name_problem
from labwarden.inventory import load_inventory

EXAMPLE = Path(__file__).parents[1] / "examples" / "homelab" / "labwarden.yaml"


def problems(tmp_path: Path, text: str) -> tuple[str, ...]:
    path = tmp_path / "labwarden.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    return caught.value.problems


def test_the_example_lab_follows_the_schema() -> None:
    config = load_config(str(EXAMPLE))
    assert config.fail_on is not None and len(config.waivers) == 3
    assert set(load_inventory(config).services) == {"grafana", "n8n", "paperless"}


@pytest.mark.parametrize("text, line, key, suggestion", [
    ("polciy:\n  fail_on: high\n", 1, "polciy", "policy"),
    ("policy:\n  fial_on: high\n", 2, "policy.fial_on", "fail_on"),
    ("rules:\n  disabel: [CMP010]\n", 2, "rules.disabel", "disable"),
    ("waivers:\n  - rule: CMP010\n    scoep: {service: a}\n    justification: x\n"
     "    owner: me\n    expires: 2030-01-01\n", 3, "waivers[0].scoep", "scope"),
    ("waivers:\n  - rule: CMP010\n    scope: {servce: a}\n    justification: x\n"
     "    owner: me\n    expires: 2030-01-01\n", 3, "waivers[0].scope.servce", "service"),
    ("services:\n  web:\n    ownr: me\n", 3, "services.web.ownr", "owner"),
    ("hosts:\n  h1:\n    adress: ssh://10.0.0.5\n", 3, "hosts.h1.adress", "address"),
    ("gate:\n  allow: [Low]\n", 2, "gate.allow", None),
])
def test_an_unknown_key_names_its_line_and_the_closest_known_key(
        tmp_path: Path, text: str, line: int, key: str, suggestion: str | None) -> None:
    [problem] = problems(tmp_path, text)
    assert f"labwarden.yaml:{line}: unknown key `{key}`" in problem
    if suggestion:
        assert problem.endswith(f"did you mean `{suggestion}`?")
    else:
        assert "(known: deploy, single_operator, with_signoff)" in problem


@pytest.mark.parametrize("text, line, message", [
    # Each of these used to crash (AttributeError, TypeError) or to be read as a string.
    ("rules:\n  severity: [CMP010]\n", 2, "`rules.severity` must be a mapping of rule to "
     "severity, not a list"),
    ("rules:\n  severity: 3\n", 2, "`rules.severity` must be a mapping of rule to severity, "
     "not a number"),
    ("waivers:\n  - rule: CMP010\n    scope: [a, b]\n    justification: x\n    owner: me\n"
     "    expires: 2030-01-01\n", 3, "`waivers[0].scope` must be text or a mapping, not a list"),
    ("waivers:\n  - rule: CMP010\n    scope: {service: [a]}\n    justification: x\n"
     "    owner: me\n    expires: 2030-01-01\n", 3, "`waivers[0].scope.service` must be text, "
     "not a list"),
    ("waivers:\n  - rule: CMP010\n    scope: {path: {a: 1}}\n    justification: x\n"
     "    owner: me\n    expires: 2030-01-01\n", 3, "`waivers[0].scope.path` must be text, "
     "not a mapping"),
    ("records_dir: [a]\n", 1, "`records_dir` must be text, not a list"),
    ("history: {a: 1}\n", 1, "`history` must be text, not a mapping"),
    ("policy:\n  require_digest: sometimes\n", 2, "`policy.require_digest` must be true or "
     "false, not text"),
    ("policy:\n  internet_facing_ports: [80, https]\n", 2,
     "`policy.internet_facing_ports[1]` must be a whole number, not text"),
    ("services:\n  web: just-a-name\n", 2, "`services.web` must be a mapping, not text"),
    ("remediation:\n  restart_minutes: 5\n", 2, "`remediation.restart_minutes` must be a "
     "mapping of service glob to [low, high] minutes, not a number"),
])
def test_a_wrong_type_is_an_error_at_its_line(tmp_path: Path, text: str, line: int,
                                              message: str) -> None:
    [problem] = problems(tmp_path, text)
    assert problem.endswith(f"labwarden.yaml:{line}: {message}")


def test_a_list_for_a_path_creates_no_directory(tmp_path: Path) -> None:
    problems(tmp_path, "records_dir: [a]\nservices:\n  web: {owner: me}\n")
    assert not (tmp_path / "['a']").exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "polciy: {}\nrecords_dir: [a]\nservices:\n  a/b: {}\n")
    assert len(found) == 3
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in found] == ["1", "2", "4"]


def test_problems_shown_are_capped(tmp_path: Path) -> None:
    found = problems(tmp_path, "".join(f"unknown{i}: 1\n" for i in range(50)))
    assert len(found) == 21 and found[-1].endswith("… and 30 more problems")


def test_extension_keys_are_the_users_own(tmp_path: Path) -> None:
    path = tmp_path / "labwarden.yaml"
    path.write_text("x-anchors:\n  owner: &owner jdoe\npolicy:\n  fail_on: critical\n")
    assert load_config(str(path)).fail_on.name == "CRITICAL"


def test_a_wrong_value_is_described_not_quoted(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, "policy:\n  require_digest: hunter2-secret\n")
    assert "hunter2" not in problem


@pytest.mark.parametrize("name", ["a/b", "../../x", "/etc/cron.d/x", "..", "a..b", "-rf",
                                  ".hidden", "with space", "new\nline", "esc\x1b[31m", "",
                                  "x" * 101])
def test_a_service_or_host_name_that_breaks_the_rule_is_refused_where_it_is_defined(
        tmp_path: Path, name: str) -> None:
    quoted = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\x1b", "\\e")
    for section in ("services", "hosts"):
        [problem] = problems(tmp_path, f'{section}:\n  "{quoted}": {{}}\n')
        assert f"labwarden.yaml:2: {section[:-1]} name {name!r} is not allowed" in problem
        assert "no `/`, no `..`" in problem


@pytest.mark.parametrize("name", ["n8n", "paperless-ngx", "grafana_2", "Web.01", "x" * 100])
def test_ordinary_names_are_accepted(name: str) -> None:
    assert name_problem(name) is None
