"""Records and history you can trust (issue 11), through the real command line on a copy of
the example lab: a second archive of the day is a second record, multi-line fields keep
their lines, a record's risk, gate verdict and deployment status agree (a success against
the gate carries its override), percentages are cut rather than rounded across a band
boundary, history rows come from gate/record/archive/--save only, and `diff` compares runs
of one service."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from labwarden.checklist.attest import Approval, AttestationBook, Deployment, ServiceRecord
from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.evaluate import Evaluation, ItemResult
from labwarden.checklist.gate import GatePolicy, decide
from labwarden.checklist.records import deployment_to_record, render_record
from labwarden.checklist.score import Status, Tally, compute, format_percent
from checklist_cli import run
from labwarden.inventory import InventoryService
from labwarden.model import Location
from labwarden.store import Store

TODAY = "2026-11-27"
MARKDOWN = MarkdownIt("commonmark").enable(["table"])




def history_rows(lab: Path) -> list[tuple[int, str]]:
    path = lab / ".labwarden" / "history.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, service FROM runs ORDER BY id").fetchall()


# --- archive: never overwrite ---------------------------------------------------------------

def test_a_second_archive_the_same_day_keeps_both_records(lab, capsys) -> None:
    assert run(capsys, "archive", "paperless", "--today", TODAY)[0] == 0
    first = lab / "records" / "paperless-20261127.md"
    before = first.read_text()
    assert run(capsys, "attest", "paperless", "1.2.1", "--by", "jdoe", "--note",
               "TOTP for admins", "--today", TODAY)[0] == 0
    code, out, _ = run(capsys, "archive", "paperless", "--today", TODAY)
    second = lab / "records" / "paperless-20261127-2.md"
    assert code == 0 and "paperless-20261127-2.md" in out
    assert first.read_text() == before                 # the first record is untouched
    assert "TOTP for admins" in second.read_text() and "TOTP for admins" not in before
    assert run(capsys, "archive", "paperless", "--today", TODAY)[0] == 0
    assert sorted(p.name for p in (lab / "records").iterdir()) == [
        "paperless-20261127-2.md", "paperless-20261127-3.md", "paperless-20261127.md"]


def test_archive_overwrite_is_a_usage_error_that_says_why(lab, capsys) -> None:
    code, _, err = run(capsys, "archive", "paperless", "--overwrite", "--today", TODAY)
    assert code == 2 and "never replaced" in err and "-2.md" in err
    assert not (lab / "records").exists()


# --- multi-line fields ------------------------------------------------------------------------

def paragraphs(markdown: str) -> list[str]:
    """Each paragraph's inline source (its lines), in order."""
    tokens = MARKDOWN.parse(markdown)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "paragraph_open"]


def test_multi_line_fields_keep_their_lines_in_the_record(lab, capsys) -> None:
    lessons = "pin digests\n# not a heading\n| not | a row |\n\n- not an item"
    assert run(capsys, "record", "paperless", "--method", "manual", "--status", "failed",
               "--issues", "db port\r\nopen", "--lessons", lessons, "--today", TODAY)[0] == 0
    assert run(capsys, "attest", "paperless", "1.2.1", "--by", "jdoe", "--note",
               "TOTP\nfor every admin", "--today", TODAY)[0] == 0
    assert run(capsys, "attest", "paperless", "1.3.1", "--by", "jdoe", "--na",
               "no SSO\nin this lab", "--today", TODAY)[0] == 0
    # The attestation file holds the lines as they were given.
    book = AttestationBook(str(lab / "attestations.yaml")).services["paperless"]
    assert book.deployment.lessons == lessons and book.items["1.3.1"].na == "no SSO\nin this lab"
    assert run(capsys, "archive", "paperless", "--today", TODAY)[0] == 0
    text = (lab / "records" / "paperless-20261127.md").read_text()
    shown = paragraphs(text)
    # One paragraph each, every line kept (a hard break each), none a block of its own.
    assert "pin digests\\\n\\# not a heading\\\n\\| not \\| a row \\|\\\n\\\n\\- not an item" \
        in shown
    assert "db port\\\nopen" in shown
    assert "attested by jdoe on 2026-11-27: TOTP\\\nfor every admin" in shown
    assert "N/A (jdoe): no SSO\\\nin this lab" in shown
    tokens = MARKDOWN.parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "not a heading" not in " ".join(headings)
    rendered = MARKDOWN.render(text)
    assert "pin digests<br />\n# not a heading<br />" in rendered
    assert "<li>not an item" not in rendered and "<td>not</td>" not in rendered


# --- the record agrees with the gate ----------------------------------------------------------

def test_a_success_of_an_unacceptable_service_needs_an_override(lab, capsys) -> None:
    attestations = lab / "attestations.yaml"
    code, _, err = run(capsys, "record", "paperless", "--method", "manual", "--status",
                       "success", "--today", TODAY)
    assert code == 1 and "NO-GO at Unacceptable risk" in err and "--override" in err
    assert not attestations.exists()                    # nothing recorded
    code, out, _ = run(capsys, "record", "paperless", "--method", "manual", "--status",
                       "success", "--override", "restore after disk failure; alice accepts",
                       "--today", TODAY)
    assert code == 0 and "against the gate" in out
    book = AttestationBook(str(attestations)).services["paperless"]
    assert book.deployment.override == "restore after disk failure; alice accepts"
    assert run(capsys, "archive", "paperless", "--today", TODAY)[0] == 0
    text = (lab / "records" / "paperless-20261127.md").read_text()
    top = text.split("## Service Information")[0]
    assert "> **Deployed against the gate:** restore after disk failure; alice accepts" in top
    assert "NO-GO at Unacceptable risk" in top
    score = text.split("## Checklist Score")[1]
    assert "- [x] Unacceptable" in score and "[x] Success" in text
    assert "**Gate:** NO-GO at Unacceptable risk — policy never deploys at Unacceptable risk" \
        in score


def test_a_success_written_by_hand_against_the_gate_is_not_archived(lab, capsys) -> None:
    (lab / "attestations.yaml").write_text(
        "services:\n  paperless:\n    deployment: {date: 2026-11-27, method: manual, "
        "status: success}\n")
    code, _, err = run(capsys, "archive", "paperless", "--today", TODAY)
    assert code == 1 and "not archived" in err and "--override" in err
    assert not (lab / "records").exists()
    # A failed deployment at NO-GO contradicts nothing: it did not go live.
    assert run(capsys, "record", "paperless", "--method", "manual", "--status", "failed",
               "--today", TODAY)[0] == 0
    assert run(capsys, "archive", "paperless", "--today", TODAY)[0] == 0


def evaluation_at(risk: str, signed: bool = False, deployment: Deployment | None = None):
    from labwarden.checklist.signoff import bind

    record = ServiceRecord(deployment=deployment)
    score = SimpleNamespace(risk=risk, overall=Tally(100, 80, 0), reasons=[], incomplete={})
    found = SimpleNamespace(score=score, record=record, items=[], findings=[], evaluated=TODAY,
                            service=SimpleNamespace(name="svc"))
    if signed:        # bound to the (empty) state it approves: a current sign-off
        record.approvals["security_reviewer"] = Approval("security_reviewer", "alice", TODAY,
                                                          bind(found))
    return found


def test_record_follows_the_gate_policy_at_every_level() -> None:
    success = Deployment(TODAY, "manual", "success")
    policy = GatePolicy()
    # High without a sign-off: refused, naming what the policy needs.
    deployment, _, refusal = deployment_to_record(success, decide(evaluation_at("High"), policy))
    assert deployment is None and "security sign-off" in refusal
    # High with the sign-off, and Medium: allowed, no override needed.
    for evaluation in (evaluation_at("High", signed=True), evaluation_at("Medium")):
        deployment, notes, _ = deployment_to_record(success, decide(evaluation, policy))
        assert deployment == success and notes == []
    # An override where the gate says GO is not stored: no gate was overruled.
    overridden = Deployment(TODAY, "manual", "success", override="just in case")
    deployment, notes, _ = deployment_to_record(overridden, decide(evaluation_at("Low"), policy))
    assert deployment is not None and deployment.override == "" and "not needed" in notes[0]
    # At NO-GO the override is kept, whatever the status.
    rolled_back = Deployment(TODAY, "manual", "rolled_back", override="tried a hotfix")
    deployment, _, _ = deployment_to_record(rolled_back,
                                            decide(evaluation_at("Unacceptable"), policy))
    assert deployment is not None and deployment.override == "tried a hotfix"


# --- percentages are cut, never rounded across a band boundary ---------------------------------

@pytest.mark.parametrize("value, text", [
    (84.98, "84.9 %"), (69.99, "69.9 %"), (94.96, "94.9 %"), (100, "100.0 %"), (0, "0.0 %"),
    (84.9, "84.9 %"), (85.0, "85.0 %"), (100 * 96 / 113, "84.9 %"),
])
def test_format_percent_truncates(value: float, text: str) -> None:
    assert format_percent(value) == text


def evaluation_at_96_of_113() -> Evaluation:
    """A real evaluation at 96/113 = 84.956 % complete ("85.0 %" once rounded): every
    CRITICAL item complete, 112 items N/A, 17 open."""
    catalog = load_catalog()
    statuses: dict[str, Status] = {}
    others = []
    for item in catalog.items:
        if item.severity.name == "CRITICAL":
            statuses[item.id] = Status.PASS
        else:
            others.append(item.id)
    completed = 96 - len(statuses)
    for index, item_id in enumerate(others):
        statuses[item_id] = (Status.PASS if index < completed else
                             Status.OPEN if index < completed + 17 else Status.NA)
    score = compute(catalog, statuses)
    assert (score.overall.completed, score.overall.total) == (96, 113)
    service = InventoryService("svc", Location("labwarden.yaml", 1), deployment_type="docker")
    items = [ItemResult(item, statuses[item.id]) for item in catalog.items]
    return Evaluation(service, items, score, ServiceRecord(), [], TODAY)


def test_84_96_percent_shows_84_9_everywhere(lab, capsys) -> None:
    from labwarden.commands.checklist import _checklist_text, _evaluation_json

    evaluation = evaluation_at_96_of_113()
    assert evaluation.score.risk == "High"               # below 85 %: not Medium
    assert "High: needs 85 % complete" not in " ".join(evaluation.score.reasons)
    assert "Medium: needs 85 % complete, 84.9 % is" in evaluation.score.reasons
    decision = decide(evaluation, GatePolicy())
    assert "(84.9 %)" in decision.reasons[0]
    record = render_record(evaluation, load_catalog(), decision)
    assert "**Completion Percentage:** 84.9 %" in record and "85.0 %" not in record
    terminal = _checklist_text(evaluation, load_catalog(), None)
    assert "(84.9 %)" in terminal and "85.0 %" not in terminal and "(85 %)" not in terminal
    document = _evaluation_json(evaluation, load_catalog())
    assert document["score"]["percent"] == 100 * 96 / 113
    assert document["score"]["percent_text"] == "84.9 %"
    # History: a stored run at that score is listed the same way.
    with Store(str(lab / ".labwarden" / "history.db")) as store:
        from labwarden.model import AuditResult

        store.record(AuditResult(findings=[], diagnostics=[], targets=["."], started="now"),
                     service="paperless", score=100 * 96 / 113, risk="High")
    code, out, _ = run(capsys, "history", "paperless", "--today", TODAY)
    assert code == 0 and "84.9 %" in out and "85.0 %" not in out


# --- history: written by gate, record, archive and --save only --------------------------------

def test_history_rows_come_from_gate_record_archive_and_save(lab, capsys) -> None:
    for _ in range(2):
        assert run(capsys, "checklist", "n8n", "--today", TODAY)[0] == 0
    assert run(capsys, "checklist", "n8n", "--format", "json", "--today", TODAY)[0] == 0
    assert run(capsys, "attest", "n8n", "1.2.1", "--by", "jdoe", "--today", TODAY)[0] == 0
    assert history_rows(lab) == []                       # looking writes nothing
    assert run(capsys, "gate", "n8n", "--today", TODAY)[0] == 1
    assert history_rows(lab) == [(1, "n8n")]
    run(capsys, "record", "n8n", "--method", "manual", "--status", "failed", "--today", TODAY)
    run(capsys, "archive", "n8n", "--today", TODAY)
    run(capsys, "checklist", "n8n", "--save", "--today", TODAY)
    run(capsys, "gate", "paperless", "--today", TODAY)
    assert history_rows(lab) == [(1, "n8n"), (2, "n8n"), (3, "n8n"), (4, "n8n"),
                                 (5, "paperless")]
    code, out, _ = run(capsys, "history", "n8n", "--today", TODAY)
    listed = [line.split()[0] for line in out.strip().splitlines()[1:]]
    assert code == 0 and listed == ["1", "2", "3", "4"]        # n8n's rows only


def test_diff_compares_runs_of_one_service(lab, capsys) -> None:
    for service in ("n8n", "paperless", "n8n"):
        run(capsys, "gate", service, "--today", TODAY)
    code, out, _ = run(capsys, "diff", "--service", "n8n")
    assert code == 0 and out.startswith("n8n: run 1 → run 3")
    code, _, err = run(capsys, "diff", "1", "2")
    assert code == 2 and "run 1 (service n8n)" in err and "run 2 (service paperless)" in err
    code, _, err = run(capsys, "diff", "1", "3", "--service", "paperless")
    assert code == 2 and "of service paperless" in err
    code, _, err = run(capsys, "diff")
    assert code == 2 and "--service SERVICE" in err
    code, _, err = run(capsys, "diff", "--service", "paperless")
    assert code == 2 and "two runs of paperless" in err and "has 1" in err


def test_checklist_json_keeps_the_exact_percent(lab, capsys) -> None:
    code, out, _ = run(capsys, "checklist", "paperless", "--format", "json", "--today", TODAY)
    score = json.loads(out)["score"]
    assert code == 0 and score["percent_text"] == format_percent(score["percent"])
    assert score["percent"] == 100 * score["completed"] / score["total"]
