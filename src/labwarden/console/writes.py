"""What the console writes: attestations and N/A answers (one item or a selection, for a
service, its host or the lab), sign-offs, the deployment, archived records.

Each is the CLI command's own path, step for step, with the form's fields in place of the
arguments: the answers are built and validated by `attest`'s `_command_line_answers`,
checked against a fresh audit by `check_answers` (an item the audit FAILs refuses the whole
selection, nothing written) and written by `AttestationBook.attest` (one atomic replace under
the file's lock, the CLI's); approvals by `signoff.bind`/`approve_lines` and
`AttestationBook.approve`; the deployment by `records.deployment_to_record` and
`set_deployment`; the record by `records.archive` after `disagreement`. So the console can
never write what the CLI would refuse, and a CLI run at the same moment loses nothing.

Each function returns (ok, lines): what the CLI would print, shown on the next page. A
`ConfigError` (a bad date, an unknown item, a non-optional item answered N/A) is a refusal
with its message. Every write is appended to the audit log with who made it.
"""

from __future__ import annotations

import argparse
import os

from labwarden.console import auditlog


class Refused(Exception):
    """A write refused; the message is shown to the person, nothing was written."""


def attest(lab, who: str, service: str, scope_kind: str, items: list[str], note: str,
           evidence: str, expires: str, na: str) -> list[str]:
    from labwarden.checklist.attest import Scope, unknown_scope
    from labwarden.commands.attest import _command_line_answers, check_answers
    from labwarden.config import ConfigError

    if not items:
        raise Refused("select at least one item")
    if not (note.strip() or na.strip()):
        raise Refused("an attestation needs a note (what was checked and how), an N/A a "
                      "reason")
    context = lab.fresh_context()
    owner = context.inventory.service(service)
    if scope_kind == "service":
        scope = Scope("service", owner.name)
    elif scope_kind == "host":
        if owner.host is None:
            raise Refused(f"{service} has no `host:` in the inventory: no host scope")
        scope = Scope("host", owner.host.name)
    elif scope_kind == "lab":
        scope = Scope("lab")
    else:
        raise Refused(f"unknown scope {scope_kind!r}")
    problem = unknown_scope(scope, context.inventory)
    if problem:
        raise Refused(problem)
    words = argparse.Namespace(words=[*items], na=na.strip(), note=note.strip(),
                               evidence=evidence.strip(), expires=expires.strip(), by=who)
    try:
        answers = _command_line_answers(words, scope, context, context.catalog)
    except ConfigError as exc:
        raise Refused(str(exc)) from None
    book = context.book()
    _scopes, _members, _results, failing = check_answers(answers, context, book)
    if failing:
        lines = ["refused: the audit fails these items now; nothing written. Fix the "
                 "findings first, or leave these items out:"]
        lines += [f"{item_id} for {name}: {result.note}" for item_id, name, result in failing]
        raise Refused("\n".join(lines))
    replaced = book.attest(answers)
    ids = [a.item_id for _, a in answers]
    auditlog.record(lab.state_dir, who, "na" if na.strip() else "attest",
                    scope=scope.label, service=service, items=ids,
                    expires=expires.strip() or None, replaced=[a.item_id for _, a in replaced])
    what = "N/A" if na.strip() else "attested"
    lines = [f"{what} {len(ids)} item(s) for {scope.label if scope.kind != 'service' else service}"
             f" by {who}: {', '.join(ids)}"]
    lines += [f"{a.item_id} replaces the {a.described()}" for _, a in replaced]
    return lines


def approve(lab, who: str, service: str, role: str, name: str) -> list[str]:
    from labwarden.checklist import signoff
    from labwarden.checklist.attest import ROLES, Approval
    from labwarden.checklist.gate import load_policy
    from labwarden.config import ConfigError

    if role not in ROLES:
        raise Refused(f"unknown role {role!r}")
    context = lab.fresh_context()
    try:
        policy = load_policy(context.config.raw)
        date = signoff.approval_date("", context.today)
        evaluation = context.evaluate(service, store=False)
        approval = Approval(role, signoff.approver_name(name), date,
                            signoff.bind(evaluation, role, policy.threshold))
    except ConfigError as exc:
        raise Refused(str(exc)) from None
    lines, refused = signoff.approve_lines(approval, evaluation, policy.single_operator)
    if refused:
        raise Refused("\n".join(lines))
    context.book().approve(service, approval)
    auditlog.record(lab.state_dir, who, "approve", service=service, role=role,
                    name=approval.name)
    return lines


def record_deployment(lab, who: str, service: str, method: str, status: str, issues: str,
                      lessons: str, override: str) -> list[str]:
    from labwarden.checklist.attest import METHODS, STATUSES, Deployment
    from labwarden.checklist.records import deployment_to_record

    if method not in METHODS or status not in STATUSES:
        raise Refused("choose a deployment method and status")
    context = lab.fresh_context()
    date = context.today.isoformat()
    evaluation = context.evaluate(service, store=True)
    decision = context.decide(evaluation)
    asked = Deployment(date, method, status, issues.strip(), lessons.strip(),
                       override=override.strip())
    deployment, notes, refusal = deployment_to_record(asked, decision)
    if deployment is None:
        raise Refused(refusal)
    context.book().set_deployment(service, deployment)
    auditlog.record(lab.state_dir, who, "record", service=service, method=method,
                    status=status, override=bool(deployment.override))
    return [f"{service}: deployment of {date} recorded ({method}, {status})", *notes]


def archive(lab, who: str, service: str) -> list[str]:
    from labwarden.checklist.records import archive as write_record
    from labwarden.checklist.records import disagreement

    context = lab.fresh_context()
    evaluation = context.evaluate(service, store=True)
    decision = context.decide(evaluation)
    problem = disagreement(evaluation.record.deployment, decision)
    if problem:
        raise Refused(f"{service} not archived: {problem}")
    path = write_record(evaluation, context.catalog, context.inventory.records_dir,
                        context.today.isoformat(), decision)
    auditlog.record(lab.state_dir, who, "archive", service=service,
                    record=os.path.basename(path))
    return [f"archived {os.path.basename(path)}"]
