"""The remediation roadmap on the example lab: phases, one restart per unit, where each
finding's fix happens, downtime apart from work time, overrides, and steps an operator can
run, check and undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labwarden.audit import AuditOptions, run
from labwarden.commands.remediation import build_roadmap
from labwarden.config import ConfigError, load_config
from labwarden.model import Severity
from labwarden.remediation.roadmap import render_markdown, render_text, to_json

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"


def plan(config_path: Path = EXAMPLE / "labwarden.yaml"):
    config = load_config(str(config_path))
    result = run([str(EXAMPLE)], AuditOptions(config=config, keep_facts=True))
    return result, build_roadmap([str(EXAMPLE)], config, result)


@pytest.fixture(scope="module")
def planned():
    return plan()


def steps(roadmap):
    return [(p.number, s) for p in roadmap.phases for s in p.steps]


def step_of(roadmap, finding_rule: str, asset: str):
    return next(s for _, s in steps(roadmap) for f in s.findings
                if f.rule.id == finding_rule and f.asset == asset)


def test_every_open_finding_is_in_exactly_one_step(planned) -> None:
    result, roadmap = planned
    planned_ids = [f.id for _, s in steps(roadmap) for f in s.findings]
    # INFO records that fail no item (the proxy's 80/443, exempt by design) plan nothing.
    records = [f for f in result.active() if f.severity == Severity.INFO and not f.checklist]
    assert "NET001" in {f.rule.id for f in records}
    assert sorted(planned_ids) == sorted(f.id for f in result.active() if f not in records)
    assert not any(f.waived for _, s in steps(roadmap) for f in s.findings)


def test_phases_follow_restart_and_severity(planned) -> None:
    _, roadmap = planned
    for number, step in steps(roadmap):
        if number == 1:
            assert step.restarts == "none" and step.downtime == (0, 0)
            continue
        assert step.restarts != "none"
        # a step is in the phase of its most severe finding, or earlier when something
        # that depends on it restarts earlier (and then it says so)
        worst = max(f.severity for f in step.findings)
        by_severity = {4: 2, 3: 3}.get(int(worst), 4)
        assert number <= by_severity
        if number < by_severity:
            assert any("moved from phase" in note for note in step.notes), step.label


def test_each_unit_restarts_once(planned) -> None:
    _, roadmap = planned
    restarted = [u for _, s in steps(roadmap) for u, a in s.units.items() if a != "none"]
    assert len(restarted) == len(set(restarted))
    db = next(s for _, s in steps(roadmap) if s.units.get("compose:paperless/db"))
    assert sum(f.asset == "compose:paperless/db" for f in db.findings) >= 3


def test_dependencies_reach_their_final_state_first(planned) -> None:
    """The issue's bug: paperless's webserver restarted in phase 2, its Redis broker (a
    LOW finding) in phase 4. The broker now moves to the webserver's step, and no unit
    restarts before one it depends on."""
    _, roadmap = planned
    assert roadmap.violations() == []
    web = next(s for _, s in steps(roadmap) if "compose:paperless/webserver" in s.units)
    assert "compose:paperless/broker" in web.units and "compose:paperless/db" in web.units
    assert any("paperless/broker: moved from phase 4" in note for note in web.notes)
    # the reverse proxy goes after every upstream it forwards to
    proxy = next(i for i, (_, s) in enumerate(steps(roadmap)) if "compose:proxy/npm" in s.units)
    for upstream in ("compose:paperless/webserver", "compose:monitoring/grafana",
                     "compose:portainer/portainer"):
        assert upstream in roadmap.lab.dependencies("compose:proxy/npm")
        at = next(i for i, (_, s) in enumerate(steps(roadmap)) if upstream in s.units)
        assert at < proxy


def test_the_order_check_can_fail(planned) -> None:
    """violations() is what the order tests rely on: the plan with its proxy step moved
    first breaks it."""
    _, roadmap = planned
    phase = next(p for p in roadmap.phases if any("compose:proxy/npm" in s.units
                                                   for s in p.steps))
    original = list(phase.steps)
    moved = next(s for s in original if "compose:proxy/npm" in s.units)
    earlier = roadmap.phases[1]
    try:
        phase.steps.remove(moved)
        earlier.steps.insert(0, moved)
        assert any("proxy/npm" in v for v in roadmap.violations())
    finally:
        earlier.steps.remove(moved)
        phase.steps[:] = original


def test_a_proxy_route_is_fixed_in_the_proxy(planned) -> None:
    """`npm:proxy/portainer.lab.example` is a route: the proxy's step carries it, and no
    unit is named after a domain."""
    _, roadmap = planned
    step = step_of(roadmap, "PRX005", "npm:proxy/portainer.lab.example")
    assert step.stack == "compose:proxy" and "compose:proxy/npm" in step.units
    assert not any("lab.example" in u for _, s in steps(roadmap) for u in s.units)
    assert any("portainer.lab.example" in c for c in step.verify)


def test_downtime_is_restarts_not_work(planned) -> None:
    _, roadmap = planned
    low, high = roadmap.downtime
    # the seed's own roadmap: 6-13 minutes for its lab; the same order of magnitude here
    assert 3 <= low <= high <= 20
    assert roadmap.work[1] > 5 * high            # testing fixes by hand is not downtime
    assert to_json(roadmap)["downtime_min"] == [low, high]
    assert low == pytest.approx(sum(p.downtime[0] for p in roadmap.phases))
    paperless = next(s for _, s in steps(roadmap) if "compose:paperless/db" in s.units)
    # one `up -d` of the stack: db then webserver in a chain (1-2 + 0.5-1.5), the broker
    # beside them, not the sum of all three
    assert paperless.downtime == (1.5, 3.5)
    assert any("paperless/db: database, recreate 1-2 min" in b for b in paperless.basis)


def test_overrides_per_kind_and_per_service(tmp_path) -> None:
    config_file = tmp_path / "labwarden.yaml"
    config_file.write_text((EXAMPLE / "labwarden.yaml").read_text().replace(
        "records_dir: records", f"records_dir: {EXAMPLE / 'records'}") +
        '\nremediation:\n  recreate_minutes: {database: [4, 6]}\n'
        '  restart_minutes:\n    "paperless/webserver": [2, 2]\n')
    _, roadmap = plan(config_file)
    paperless = next(s for _, s in steps(roadmap) if "compose:paperless/db" in s.units)
    assert paperless.downtime == (6.0, 8.0)
    netbox = next(s for _, s in steps(roadmap) if "compose:netbox/netbox-postgres" in s.units)
    assert netbox.downtime[0] >= 4


def test_unknown_image_kind_is_refused(tmp_path) -> None:
    config_file = tmp_path / "labwarden.yaml"
    config_file.write_text("version: 1\nremediation:\n  recreate_minutes: {databse: [1, 2]}\n")
    config = load_config(str(config_file))
    result = run([str(EXAMPLE / "paperless")], AuditOptions(config=config))
    with pytest.raises(ConfigError, match="unknown kind of image 'databse'"):
        build_roadmap([str(EXAMPLE / "paperless")], config, result)


def test_password_rotation_changes_the_running_database_then_the_app(planned) -> None:
    _, roadmap = planned
    step = next(s for _, s in steps(roadmap) if "compose:paperless/db" in s.units)
    commands = step.commands
    alter = next(i for i, c in enumerate(commands) if "ALTER USER" in c)
    consumer = next(i for i, c in enumerate(commands) if c.startswith("sed -i")
                    and "PAPERLESS_DBPASS" in c)
    db_first = commands.index("docker compose up -d db   # what the others use, first")
    everything = next(i for i, c in enumerate(commands) if c.startswith("docker compose up -d "
                                                                       "  #"))
    assert alter < consumer < db_first < everything
    assert "psql -U paperless -d paperless" in commands[alter]
    assert any("ALTER USER" in c and "before-labwarden" in c for c in step.rollback)
    # the Redis broker has no password finding: nothing rotates it
    assert not any("requirepass" in c for c in commands)


def test_no_secret_value_is_printed(planned) -> None:
    _, roadmap = planned
    # the values a rotation step is about (a 5-letter one like `admin` is also a word the
    # fixes use: tests/test_canary_secrets.py plants unmistakable ones)
    secrets = [line.split("=", 1)[1].strip() for name in ("paperless/.env", "netbox/netbox.env",
                                                          "monitoring/.env")
               for line in (EXAMPLE / name).read_text().splitlines()
               if "=" in line and "PASS" in line.split("=", 1)[0]]
    secrets = [s for s in secrets if len(s) >= 8]
    assert len(secrets) == 2
    shown = render_text(roadmap) + render_markdown(roadmap) + json.dumps(to_json(roadmap))
    for secret in secrets:
        assert secret not in shown


def test_each_restarting_step_has_host_check_and_rollback(planned) -> None:
    _, roadmap = planned
    for _, step in steps(roadmap):
        if step.restarts in ("stack", "host"):
            assert step.verify and step.rollback, step.label
            assert step.commands.index(next(c for c in step.commands if c.startswith("cp -p"))) \
                < step.commands.index("docker compose up -d   # recreates what changed, "
                                      "dependencies first")
    paperless = next(s for _, s in steps(roadmap) if "compose:paperless/db" in s.units)
    assert paperless.host == "docker-01"
    assert "docker compose exec -T db psql -U paperless -d paperless -c 'select 1'" \
        in paperless.verify
    assert "cp -p compose.yaml.before-labwarden compose.yaml" in paperless.rollback
    grafana = next(s for _, s in steps(roadmap) if "compose:monitoring/grafana" in s.units)
    assert any("https://grafana.lab.example" in c for c in grafana.verify)


def test_markdown_and_json_carry_the_same_steps(planned) -> None:
    _, roadmap = planned
    markdown, data = render_markdown(roadmap), to_json(roadmap)
    text = render_text(roadmap)
    json_steps = [s for p in data["phases"] for s in p["steps"]]
    assert len(json_steps) == sum(len(p.steps) for p in roadmap.phases)
    for (_, step), entry in zip(steps(roadmap), json_steps):
        assert f"#### {entry['step']} {step.label}" in markdown
        assert entry["commands"] == step.commands and entry["rollback"] == step.rollback
        assert [f["id"] for f in entry["findings"]] == [f.id for f in step.findings]
        for finding in entry["findings"]:
            assert finding["ref"] in markdown and finding["ref"] in text
    assert "Rollback:" in markdown and "Check:" in markdown and "Downtime basis" in markdown


def test_the_same_plan_on_every_run() -> None:
    """Sets iterate in an order that changes with the process's hash seed: the plan must
    not (seeds 1 and 3 ordered netbox's first `up -d` differently)."""
    import os
    import subprocess
    import sys

    outputs = {subprocess.run(
        [sys.executable, "-m", "labwarden", "roadmap", str(EXAMPLE), "--format", "json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed},
        check=False).stdout for seed in ("1", "3")}
    assert len(outputs) == 1 and "netbox-postgres netbox-redis" in outputs.pop()
