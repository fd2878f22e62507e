"""The checklist says what its audit could not read: the items that needed it stay OPEN, and
stderr names the file and line, so the operator knows why."""

from __future__ import annotations

import json

from checklist_cli import run


def test_a_file_the_audit_could_not_read_is_named_with_its_line(lab, capsys) -> None:
    broken = lab / "n8n" / "compose.yaml"
    broken.write_text("services:\n  n8n:\n    image: [unclosed\n")
    code, out, err = run(capsys, "checklist", "n8n", "--format", "json")
    assert code == 0
    assert json.loads(out)["service"] == "n8n"              # the report itself is intact
    assert "could not examine everything (1 errors" in err
    assert f"{broken}:" in err and "error[" in err


def test_another_projects_problem_is_not_this_services(lab, capsys) -> None:
    # n8n's broken file touches none of grafana's items; nor does netbox's missing
    # variable (the example lab's other gap, sshd -t on the host, does).
    (lab / "n8n" / "compose.yaml").write_text("services:\n  n8n:\n    image: [unclosed\n")
    code, _, err = run(capsys, "checklist", "grafana")
    assert code == 0
    assert "n8n" not in err and "required-variable" not in err
    assert err.count("gap[") == 1 and "sshd-t" in err


def test_each_gap_is_said_and_a_fixed_one_no_longer(lab, capsys) -> None:
    # grafana's own project: a required variable left unset is a gap of its checklist.
    compose = lab / "monitoring" / "compose.yaml"
    compose.write_text(compose.read_text() + "x-probe: ${LW_PROBE:?set it}\n")
    code, _, err = run(capsys, "checklist", "grafana")
    assert code == 0
    assert err.count("gap[") == 2 and "required-variable" in err
    (lab / "monitoring" / ".env").write_text(
        (lab / "monitoring" / ".env").read_text() + "\nLW_PROBE=x\n", encoding="utf-8")
    _, _, err = run(capsys, "checklist", "grafana")
    assert err.count("gap[") == 1 and "required-variable" not in err
