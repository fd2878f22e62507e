"""The checklist workflow end to end on a copy of the example lab: evaluation statuses,
attestations (and refusals), N/A, expiry, waivers, gate policy, sign-off, deployment record,
archive, history and diff — through the real command line."""

from __future__ import annotations

import json
import re
import shutil

import yaml

from checklist_cli import EXAMPLE, run

TODAY = "2026-11-27"




def items(capsys, service: str) -> dict[str, dict]:
    code, out, _ = run(capsys, "checklist", service, "--format", "json", "--today", TODAY)
    assert code == 0
    return {i["id"]: i for i in json.loads(out)["items"]}


def test_statuses_come_from_rules_and_deployment_type(lab, capsys) -> None:
    paperless = items(capsys, "paperless")
    assert paperless["3.1.5"]["status"] == "FAIL"        # 5432 on every interface
    assert paperless["3.1.5"]["findings"]
    assert paperless["4.3.3"]["status"] == "PASS"        # no Docker socket in paperless
    assert "CMP050" in paperless["4.3.3"]["rules"]
    assert paperless["1.4.1"]["status"] == "N/A"         # SSH items: vm/lxc/bare metal only
    assert paperless["1.2.1"]["status"] == "OPEN"        # MFA: nobody answered yet
    n8n = items(capsys, "n8n")
    assert n8n["3.1.5"]["status"] == "PASS" and n8n["2.1.4"]["status"] != "FAIL"


def test_attest_records_and_refuses_what_the_audit_fails(lab, capsys) -> None:
    code, _, err = run(capsys, "attest", "paperless", "3.1.5", "--by", "jdoe", "--note", "x",
                       "--today", TODAY)
    assert code == 1 and "refusing" in err and "NET002" in err
    code, out, _ = run(capsys, "attest", "paperless", "1.2.1", "--by", "jdoe", "--note",
                       "TOTP for admins", "--evidence", "https://wiki/mfa", "--today", TODAY)
    assert code == 0
    assert items(capsys, "paperless")["1.2.1"]["status"] == "ATTESTED"
    text = (lab / "attestations.yaml").read_text()
    assert "TOTP for admins" in text and "1.2.1" in text


def test_comments_in_the_attestation_file_survive(lab, capsys) -> None:
    (lab / "attestations.yaml").write_text("# reviewed by alice, keep this comment\n"
                                           "services: {}\n")
    run(capsys, "attest", "n8n", "1.2.1", "--by", "jdoe", "--today", TODAY)
    run(capsys, "attest", "n8n", "1.2.2", "--by", "jdoe", "--today", TODAY)
    text = (lab / "attestations.yaml").read_text()
    assert "# reviewed by alice, keep this comment" in text
    assert "1.2.1" in text and "1.2.2" in text


def test_na_only_for_optional_items(lab, capsys) -> None:
    code, _, err = run(capsys, "attest", "n8n", "1.2.1", "--by", "jdoe", "--na", "no",
                       "--today", TODAY)
    assert code == 2 and "not marked optional" in err
    code, _, _ = run(capsys, "attest", "n8n", "1.3.1", "--by", "jdoe", "--na",
                     "no SSO in this lab", "--today", TODAY)
    assert code == 0
    assert items(capsys, "n8n")["1.3.1"]["status"] == "N/A"


def test_expired_attestation_falls_back_to_open(lab, capsys) -> None:
    run(capsys, "attest", "n8n", "1.2.1", "--by", "jdoe", "--expires", "2026-12-31",
        "--today", TODAY)
    assert items(capsys, "n8n")["1.2.1"]["status"] == "ATTESTED"
    code, out, _ = run(capsys, "checklist", "n8n", "--format", "json", "--today", "2027-01-15")
    item = {i["id"]: i for i in json.loads(out)["items"]}["1.2.1"]
    assert item["status"] == "OPEN" and "expired" in item["note"]


def test_a_waived_finding_answers_its_item_as_attested(lab, capsys) -> None:
    (lab / "labwarden.yaml").write_text((lab / "labwarden.yaml").read_text().replace(
        "  - rule: CMP070\n", "  - rule: NET002\n    scope: {service: paperless/db}\n"
        "    justification: LAN-only host, firewalled\n    owner: jdoe\n"
        "    expires: 2030-01-01\n  - rule: CMP070\n"))
    item = items(capsys, "paperless")["3.1.5"]
    assert item["status"] == "ATTESTED" and "firewalled" in item["note"]


def test_gate_blocks_unacceptable_and_needs_signoff_at_high(lab, capsys) -> None:
    code, out, _ = run(capsys, "gate", "paperless", "--today", TODAY)
    assert code == 1 and out.startswith("NO-GO") and "3.1.5" in out
    # A lenient policy still never deploys at Unacceptable.
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text().replace("deploy: [Low, Medium]",
                                                 "deploy: [Low, Medium, High]"))
    assert run(capsys, "gate", "paperless", "--today", TODAY)[0] == 1
    config.write_text(config.read_text().replace("deploy: [Low, Medium, High]",
                                                 "deploy: [Unacceptable]"))
    code, _, err = run(capsys, "gate", "paperless", "--today", TODAY)
    assert code == 2 and "never deploys" in err


def test_gate_policy_decisions() -> None:
    from types import SimpleNamespace

    from labwarden.checklist.attest import Approval, ServiceRecord
    from labwarden.checklist.gate import GatePolicy, decide
    from labwarden.checklist.score import Score, Tally
    from labwarden.checklist.signoff import bind

    def evaluation(risk: str, signed: bool = False, bound: bool = True):
        record = ServiceRecord()
        score = Score(Tally(100, 90, 0), {}, risk, risk)
        found = SimpleNamespace(score=score, record=record, items=[], findings=[],
                                evaluated=TODAY,
                                service=SimpleNamespace(name="svc"))
        if signed:
            record.approvals["security_reviewer"] = Approval(
                "security_reviewer", "alice", TODAY, bind(found) if bound else None)
        return found

    policy = GatePolicy()
    assert decide(evaluation("Low"), policy).allowed
    assert decide(evaluation("Medium"), policy).allowed
    assert not decide(evaluation("High"), policy).allowed
    assert decide(evaluation("High", signed=True), policy).allowed
    # An approval bound to no state (recorded before sign-offs were bound) never counts.
    unbound = decide(evaluation("High", signed=True, bound=False), policy)
    assert not unbound.allowed and "re-approve" in unbound.reasons[-1]
    assert not decide(evaluation("Unacceptable", signed=True), policy).allowed
    strict = GatePolicy(deploy=frozenset({"Low"}), with_signoff=frozenset({"Medium"}))
    assert not decide(evaluation("Medium"), strict).allowed
    assert decide(evaluation("Medium", signed=True), strict).allowed
    assert not decide(evaluation("High", signed=True), strict).allowed


def test_signoffs_and_deployment_record_reach_the_archive(lab, capsys) -> None:
    assert run(capsys, "approve", "n8n", "--role", "security_reviewer", "--name", "alice",
               "--today", TODAY)[0] == 0
    # n8n is NO-GO here: a success is recorded with the reason it went ahead.
    assert run(capsys, "record", "n8n", "--method", "ci_cd", "--status", "success",
               "--issues", "none", "--lessons", "pin the image digest", "--override",
               "hotfix", "--today", TODAY)[0] == 0
    assert items(capsys, "n8n")["11.1.4"]["status"] == "ATTESTED"
    code, out, _ = run(capsys, "archive", "n8n", "--today", TODAY)
    assert code == 0
    record = lab / "records" / "n8n-20261127.md"
    text = record.read_text()
    for expected in ("## Service Information", "| Deployment Type | [ ] VM [ ] LXC Container "
                     "[x] Docker Container", "## 4. Container Security", "### 4.3 Volume Mounts",
                     "- [x] No root filesystem mounts", "## Approval Signatures",
                     "| Security Reviewer | alice | 2026-11-27 |", "[x] CI/CD",
                     "[x] Success", "pin the image digest", "## Checklist Score",
                     "**Completion Percentage:**", "**Risk Level:**"):
        assert expected in text, expected
    # a finding's evidence names it by rule and fingerprint besides this run's number
    assert re.search(r"[A-Z]+-\d{3} `[A-Z]{3}\d{3}` .* \(ref `[A-Z]{3}\d{3}:[0-9a-f]{12}` at `",
                     text)
    # Never overwritten: the day's second archive is a second record.
    assert run(capsys, "archive", "n8n", "--today", TODAY)[0] == 0
    assert record.read_text() == text and (lab / "records" / "n8n-20261127-2.md").exists()


def test_history_and_diff_match_findings_by_fingerprint(lab, capsys) -> None:
    run(capsys, "checklist", "paperless", "--save", "--today", TODAY)
    compose = lab / "paperless" / "compose.yaml"
    # Fix the database port and move every line down: line numbers change, fingerprints not.
    compose.write_text("# moved\n\n" + compose.read_text().replace('"5432:5432"',
                                                                   '"127.0.0.1:5432:5432"'))
    run(capsys, "gate", "paperless", "--today", TODAY)
    code, out, _ = run(capsys, "history", "paperless", "--today", TODAY)
    assert code == 0 and len(out.strip().splitlines()) == 3
    code, out, _ = run(capsys, "diff", "--service", "paperless")
    assert code == 0
    first = out.splitlines()[0]
    assert "0 new, 1 fixed" in first
    assert "fixed" in out and "NET002" in out
    # named by rule and fingerprint, as the roadmap printed before the fix named it
    assert re.search(r"fixed +CRITICAL +NET002:[0-9a-f]{12} compose:paperless/db ", out)


def test_init_proposes_an_inventory(tmp_path, capsys) -> None:
    shutil.copytree(EXAMPLE / "paperless", tmp_path / "paperless")
    code, out, _ = run(capsys, "init", str(tmp_path))
    assert code == 0 and "paperless:" in out and "compose: paperless" in out
    # What only the operator knows is never invented: it is named in the comment instead.
    proposal = yaml.safe_load(out)["services"]["paperless"]
    assert not {"owner", "purpose", "criticality", "data_classification"} & set(proposal)
    assert "criticality: critical | high | medium | low" in out
    assert run(capsys, "init", str(tmp_path), "--write")[0] == 0
    code, out, _ = run(capsys, "checklist", "paperless", "--format", "json",
                       "--config", str(tmp_path / "labwarden.yaml"), "--today", TODAY)
    answers = {i["id"]: i for i in json.loads(out)["items"]}
    assert answers["8.4.4"]["status"] == "OPEN" and "no criticality" in answers["8.4.4"]["note"]
    assert (tmp_path / "labwarden.yaml").exists()
    assert run(capsys, "init", str(tmp_path), "--write")[0] == 2   # never overwrites


def test_unknown_service_and_bad_inventory_are_usage_errors(lab, capsys) -> None:
    code, _, err = run(capsys, "checklist", "nope", "--today", TODAY)
    assert code == 2 and "no service 'nope'" in err
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text().replace("criticality: high", "criticality: extreme",
                                                 1))
    code, _, err = run(capsys, "checklist", "n8n", "--today", TODAY)
    assert code == 2 and "criticality must be one of" in err and "labwarden.yaml:" in err
