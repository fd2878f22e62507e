"""Sign-off integrity through the real command line on a copy of the example lab: a security
sign-off binds to the state it approved, stops counting when that state gets worse (and the
gate says why), survives things being fixed, shows self-approvals, refuses them when the
policy wants a second person, and is never given in advance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checklist_cli import run

TODAY = "2026-11-27"




def checklist(capsys, today: str = TODAY) -> dict:
    code, out, _ = run(capsys, "checklist", "n8n", "--format", "json", "--today", today)
    assert code == 0
    return json.loads(out)


def gate(capsys, today: str = TODAY) -> tuple[int, dict]:
    code, out, _ = run(capsys, "gate", "n8n", "--format", "json", "--today", today)
    return code, json.loads(out)


def first_open(items: list[dict], severity: str) -> str:
    return next(i["id"] for i in items if i["status"] == "OPEN" and i["severity"] == severity
                and i["id"] not in ("11.1.4", "11.2.1", "11.2.3"))


@pytest.fixture()
def high(lab: Path, capsys) -> Path:
    """n8n with every OPEN item attested by jdoe but one CRITICAL item (`left_open`): High
    risk, where the default policy deploys only with a security sign-off. Written as one
    file: attesting each item by command is not what these tests are about."""
    items = checklist(capsys)["items"]
    left_open = first_open(items, "CRITICAL")
    lines = ["# attested for the sign-off tests", "services:", "  n8n:", "    items:"]
    for item in items:
        if item["status"] == "OPEN" and item["id"] != left_open:
            lines.append(f'      "{item["id"]}": {{by: jdoe, date: 2026-11-20, note: checked}}')
    (lab / "attestations.yaml").write_text("\n".join(lines) + "\n")
    assert checklist(capsys)["risk"] == "High"
    return lab


def privileged(lab: Path, on: bool) -> None:
    compose = lab / "n8n" / "compose.yaml"
    text = compose.read_text()
    if on:
        text = text.replace("    read_only: true\n", "    read_only: true\n    privileged: true\n")
    else:
        text = text.replace("    privileged: true\n", "")
    compose.write_text(text)


def approve(capsys, name: str = "alice", *extra: str) -> tuple[int, str, str]:
    return run(capsys, "approve", "n8n", "--role", "security_reviewer", "--name", name,
               "--today", TODAY, *extra)


def test_a_signoff_stops_holding_when_a_critical_item_breaks(high, capsys) -> None:
    assert gate(capsys)[0] == 1                       # High, no sign-off yet
    code, out, _ = approve(capsys)
    assert code == 0 and "bound to this state: risk High" in out
    code, decision = gate(capsys)
    assert code == 0 and decision["signoff"]["status"] == "current"
    assert not decision["signoff"]["self_approved"]

    privileged(high, on=True)
    code, out, _ = run(capsys, "gate", "n8n", "--today", TODAY)
    assert code == 1 and out.startswith("NO-GO: n8n at High risk")
    assert ("sign-off by alice on 2026-11-27 no longer holds: 4.2.3 now FAILs (CRITICAL)"
            in out)
    assert "new CRITICAL finding CMP010 at compose:n8n/n8n (privileged)" in out
    code, decision = gate(capsys)
    assert code == 1 and decision["signoff"]["status"] == "stale"
    assert decision["signoff"]["fingerprint_now"] != \
        decision["signoff"]["approved_state"]["fingerprint"]
    # The record says it too, beside the approval.
    code, out, _ = run(capsys, "checklist", "n8n", "--format", "markdown", "--today", TODAY)
    row = next(line for line in out.splitlines() if line.startswith("| Security Reviewer"))
    assert "| alice | 2026-11-27 | recorded; no longer holds: 4.2.3 now FAILs" in row
    # And the checklist does not count it: 11.1.4 is open again, saying why.
    code, out, _ = run(capsys, "checklist", "n8n", "--format", "json", "--today", TODAY)
    item = next(i for i in json.loads(out)["items"] if i["id"] == "11.1.4")
    assert item["status"] == "OPEN" and "no longer holds: 4.2.3 now FAILs" in item["note"]

    # Undo the change: the approved state is back, the sign-off holds again.
    privileged(high, on=False)
    code, decision = gate(capsys)
    assert code == 0 and decision["signoff"]["status"] == "current"
    assert not decision["signoff"]["changed"]


def test_fixing_what_was_approved_keeps_the_signoff(high, capsys) -> None:
    privileged(high, on=True)
    assert approve(capsys)[0] == 0
    state = gate(capsys)[1]["signoff"]["approved_state"]
    assert state["failing"] == ["4.2.3", "11.1.1"] and state["risk"] == "High"
    assert [f.split(":")[0] for f in state["findings"]] == ["CMP010"]
    assert gate(capsys)[0] == 0                       # approved with the failure: GO
    privileged(high, on=False)                        # fixed: fewer failures
    code, out, _ = run(capsys, "gate", "n8n", "--today", TODAY)
    assert code == 0 and "holds (fixed since: 4.2.3, 11.1.1)" in out


def test_a_medium_item_failing_leaves_the_signoff_holding(high, capsys) -> None:
    """Only CRITICAL and HIGH items, findings at the threshold and the risk level void a
    sign-off: a mutable image tag (4.1.2, MEDIUM; a MEDIUM finding) changes the state, not
    what was approved."""
    assert approve(capsys)[0] == 0
    compose = high / "n8n" / "compose.yaml"
    compose.write_text(compose.read_text().replace("n8n:1.70.3", "n8n:latest"))
    assert {i["id"]: i for i in checklist(capsys)["items"]}["4.1.2"]["status"] == "FAIL"
    code, out, _ = run(capsys, "gate", "n8n", "--today", TODAY)
    assert code == 0 and "holds (the state changed since, nothing got worse)" in out


def test_a_worse_risk_level_voids_the_signoff(high, capsys) -> None:
    config = high / "labwarden.yaml"
    config.write_text(config.read_text().replace(
        "deploy: [Low, Medium]\n  with_signoff: [High]",
        "deploy: [Low]\n  with_signoff: [Medium, High]"))
    # A HIGH item unanswered, the CRITICAL one attested until the end of the year: Medium
    # risk, signed off.
    book = high / "attestations.yaml"
    items = checklist(capsys)["items"]
    high_item = next(i["id"] for i in items if i["severity"] == "HIGH"
                     and i["status"] == "ATTESTED")
    left_open = first_open(items, "CRITICAL")            # the one the fixture left open
    lines = [line for line in book.read_text().splitlines() if f'"{high_item}"' not in line]
    book.write_text("\n".join(lines) + f'\n      "{left_open}": {{by: jdoe, date: 2026-11-20, '
                    "note: checked, expires: 2026-12-31}\n")
    assert checklist(capsys)["risk"] == "Medium"
    assert approve(capsys)[0] == 0
    assert gate(capsys)[0] == 0
    # In January the attestation has expired: nothing FAILs, but the risk is High now.
    code, decision = gate(capsys, today="2027-01-15")
    assert code == 1 and decision["risk"] == "High"
    assert decision["signoff"]["reasons"] == ["risk Medium→High"]


def test_the_signoff_item_is_not_part_of_the_state_it_signs(lab, capsys) -> None:
    """n8n one item short of 85 %: Medium once the sign-off item (11.1.4) counts, High
    before. The approval binds the level the service has once it counts; approving again
    (11.1.4 now ATTESTED) binds the very same state."""
    found = checklist(capsys)
    total, completed = found["score"]["total"], found["score"]["completed"]
    wanted = -(-85 * total // 100) - 1                # 100 * (wanted + 1) >= 85 * total
    candidates = sorted((i for i in found["items"] if i["status"] == "OPEN"
                         and i["id"] not in ("11.1.4", "11.2.1", "11.2.3")),
                        key=lambda i: i["severity"] != "CRITICAL")
    lines = ["services:", "  n8n:", "    items:"]
    for item in candidates[:wanted - completed]:
        lines.append(f'      "{item["id"]}": {{by: jdoe, date: 2026-11-20}}')
    (lab / "attestations.yaml").write_text("\n".join(lines) + "\n")
    assert checklist(capsys)["risk"] == "High"
    assert approve(capsys)[0] == 0
    first = gate(capsys)[1]["signoff"]
    assert first["approved_state"]["risk"] == "Medium" and first["status"] == "current"
    assert checklist(capsys)["risk"] == "Medium"      # the sign-off counts now
    assert approve(capsys)[0] == 0
    assert gate(capsys)[1]["signoff"]["approved_state"] == first["approved_state"]
    text = (lab / "attestations.yaml").read_text()
    assert 'state: {risk: "Medium", fingerprint: "' in text   # written, quoted, read back


def test_self_approval_is_shown_and_refused_when_the_policy_wants_two_people(high,
                                                                            capsys) -> None:
    code, out, _ = approve(capsys, " JDoe ")          # the one who attested, other spelling
    assert code == 0 and "self-approved (single operator): JDoe attested" in out
    code, out, _ = run(capsys, "gate", "n8n", "--today", TODAY)
    assert code == 0 and "self-approved (single operator)" in out
    code, decision = gate(capsys)
    assert decision["signoff"]["self_approved"] and "1.2.1" in \
        decision["signoff"]["self_approved_items"]
    code, out, _ = run(capsys, "archive", "n8n", "--today", TODAY)
    assert code == 0
    record = (high / "records" / "n8n-20261127.md").read_text()
    assert "| Security Reviewer | JDoe | 2026-11-27 | recorded; self-approved (single " \
           "operator) |" in record

    config = high / "labwarden.yaml"
    config.write_text(config.read_text().replace("with_signoff: [High]\n",
                                                 "with_signoff: [High]\n  single_operator: "
                                                 "false\n"))
    code, out, _ = run(capsys, "gate", "n8n", "--today", TODAY)
    assert code == 1 and "by someone other than who attested the items it covers" in out
    before = (high / "attestations.yaml").read_text()
    code, _, err = approve(capsys, "jdoe")
    assert code == 1 and "refusing" in err and "another person must approve" in err
    assert (high / "attestations.yaml").read_text() == before
    assert approve(capsys, "alice")[0] == 0 and gate(capsys)[0] == 0


def test_a_signoff_is_never_given_in_advance(high, capsys) -> None:
    code, _, err = approve(capsys, "alice", "--date", "2026-11-28")
    assert code == 2 and "--date 2026-11-28 is after today (2026-11-27)" in err
    assert "approvals" not in (high / "attestations.yaml").read_text()
    assert approve(capsys, "alice", "--date", "2026-11-26")[0] == 0
    # A future date in the file (written by hand, or on a machine whose clock is ahead):
    # a day of slack for time zones, then it does not count.
    book = high / "attestations.yaml"
    previous = "2026-11-26"                 # the attestations are dated 2026-11-20
    for date, holds in (("2026-11-28", True), ("2026-11-29", False)):
        text = book.read_text()
        assert text.count(previous) == 1
        book.write_text(text.replace(previous, date))
        previous = date
        code, decision = gate(capsys)
        assert (code == 0) is holds, date
        if not holds:
            assert "dated 2026-11-29, after the evaluation's day" in \
                decision["signoff"]["reasons"][0]


def test_an_approval_from_before_binding_is_stale_with_the_way_out(high, capsys) -> None:
    book = high / "attestations.yaml"
    book.write_text(book.read_text() + "    approvals:\n"
                    "      security_reviewer: {name: alice, date: 2026-11-21}\n")
    code, out, _ = run(capsys, "gate", "n8n", "--today", TODAY)
    assert code == 1
    assert ("sign-off by alice on 2026-11-21 no longer holds: recorded before sign-offs were "
            "bound to a state: re-approve to bind it to the current state") in out


@pytest.mark.parametrize("state, message", [
    ("{risk: High, fingerprnt: abcdefabcdef, threshold: HIGH}",
     "unknown key 'fingerprnt' in the state of approval 'security_reviewer'; did you mean "
     "'fingerprint'?"),
    ("{risk: Hihg, fingerprint: abcdefabcdef, threshold: HIGH}", "risk must be one of"),
    ("{risk: High, fingerprint: xyz, threshold: HIGH}", "12 hexadecimal digits"),
    ("{risk: High, fingerprint: abcdefabcdef, threshold: HIGH, failing: 4.2.3}",
     "failing must be a list of text"),
    ("{risk: High}", "lacks fingerprint, threshold"),
])
def test_the_stored_state_is_checked_at_load(lab, capsys, state, message) -> None:
    (lab / "attestations.yaml").write_text(
        "services:\n  n8n:\n    approvals:\n"
        f"      security_reviewer: {{name: alice, date: 2026-11-21, state: {state}}}\n")
    code, _, err = run(capsys, "checklist", "n8n", "--today", TODAY)
    assert code == 2 and message in err and "attestations.yaml:4" in err



def test_approval_is_current_for_the_evaluation(high, capsys) -> None:
    """The function evaluate can call for the sign-off items: (holds, why not)."""
    from labwarden.checklist.attest import AttestationBook
    from labwarden.checklist.signoff import approval_is_current
    from labwarden.commands.checklist import LabContext
    from labwarden.commands.common import iso_date

    assert approve(capsys)[0] == 0
    privileged(high, on=True)
    args = type("Args", (), {"config": None, "today": iso_date(TODAY), "live": False})()
    evaluation = LabContext(args).evaluate("n8n", store=False)
    approval = AttestationBook(str(high / "attestations.yaml")).services["n8n"].approvals[
        "security_reviewer"]
    holds, why = approval_is_current(approval, evaluation)
    assert not holds and why.startswith("4.2.3 now FAILs (CRITICAL), 11.1.1 now FAILs")
