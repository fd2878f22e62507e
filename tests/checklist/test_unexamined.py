"""The checklist says what its audit could not read: the items that needed it stay OPEN, and
stderr names the file and line, so the operator knows why."""

from __future__ import annotations

import json

from checklist_cli import run


def test_a_file_the_audit_could_not_read_is_named_with_its_line(lab, capsys) -> None:
    broken = lab / "n8n" / "compose.yaml"
    broken.write_text("services:\n  n8n:\n    image: [unclosed\n")
    code, out, err = run(capsys, "checklist", "grafana", "--format", "json")
    assert code == 0
    assert json.loads(out)["service"] == "grafana"          # the report itself is intact
    assert "could not examine everything (1 errors" in err
    assert f"{broken}:" in err and "error[" in err


def test_each_gap_is_said_and_a_fixed_one_no_longer(lab, capsys) -> None:
    # The example lab has two coverage gaps (a required variable, sshd -t): both said.
    code, _, err = run(capsys, "checklist", "grafana")
    assert code == 0
    assert err.count("gap[") == 2
    (lab / "netbox" / ".env").write_text("NETBOX_DB_PASSWORD=x\n", encoding="utf-8")
    _, _, err = run(capsys, "checklist", "grafana")
    assert err.count("gap[") == 1 and "required-variable" not in err
