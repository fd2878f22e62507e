"""The remediation roadmap on the example lab: phases, one restart per service, order,
downtime ranges and per-service overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.commands.remediation import build_roadmap
from labwarden.config import load_config
from labwarden.audit.compose import AuditOptions, audit
from labwarden.model import Severity
from labwarden.remediation.roadmap import render_markdown, render_text, to_json

EXAMPLE = Path(__file__).parents[2] / "examples" / "homelab"


@pytest.fixture(scope="module")
def planned():
    config = load_config(str(EXAMPLE / "labwarden.yaml"))
    result = audit([str(EXAMPLE)], AuditOptions(config=config, jobs=1))
    return result, build_roadmap([str(EXAMPLE)], config, result)


def steps(roadmap):
    return [(p.number, s) for p in roadmap.phases for s in p.steps]


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
        else:
            assert step.restarts != "none"
            # a step sits in the phase of its most severe finding
            worst = max(f.severity for f in step.findings)
            assert number == {4: 2, 3: 3}.get(int(worst), 4)


def test_one_restart_per_service(planned) -> None:
    _, roadmap = planned
    units = [s.unit for _, s in steps(roadmap) if s.restarts != "none"]
    assert len(units) == len(set(units))
    # its restart (a fix that restarts nothing, such as naming a backup, is a step of its own)
    db = next(s for _, s in steps(roadmap) if s.label == "paperless/db" and s.restarts != "none")
    assert len(db.findings) >= 3            # several fixes share its one recreate
    assert db.downtime[0] >= 2              # a database restarts slower than a web app


def test_databases_before_their_applications(planned) -> None:
    _, roadmap = planned
    phase2 = [s.label for s in roadmap.phases[1].steps]
    assert phase2.index("paperless/db") < phase2.index("paperless/webserver")


def test_downtime_ranges_add_up(planned) -> None:
    _, roadmap = planned
    low, high = roadmap.downtime
    assert 0 < low <= high
    assert low == sum(p.downtime[0] for p in roadmap.phases)
    assert to_json(roadmap)["downtime_min"] == [low, high]


def test_per_service_restart_override(tmp_path) -> None:
    config_text = (EXAMPLE / "labwarden.yaml").read_text() + \
        '\nremediation:\n  restart_minutes:\n    "paperless/db": [7, 9]\n'
    config_file = tmp_path / "labwarden.yaml"
    config_file.write_text(config_text)
    config = load_config(str(config_file))
    result = audit([str(EXAMPLE)], AuditOptions(config=config, jobs=1))
    roadmap = build_roadmap([str(EXAMPLE)], config, result)
    db = next(s for _, s in steps(roadmap) if s.label == "paperless/db")
    assert db.downtime == (7.0, 9.0)


def test_renderings_name_every_step(planned) -> None:
    _, roadmap = planned
    text, markdown = render_text(roadmap), render_markdown(roadmap)
    for _, step in steps(roadmap):
        assert step.label in text and step.label in markdown
    assert "docker compose" in text and "## Remediation roadmap" in markdown
