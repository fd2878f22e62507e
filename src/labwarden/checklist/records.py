"""The deployment record: the completed checklist as Markdown in the seed's layout, with the
evidence or attestation behind every box, the score block with the gate's verdict,
approvals and the deployment record. Archived as `<records dir>/<service>-<YYYYMMDD>.md`,
the day's next ones as `-2.md`, `-3.md`…: a record is never replaced.

A record agrees with itself: its risk box, the gate's verdict and the deployment status come
from one evaluation, and a deployment recorded as a success while the gate says NO-GO
carries the operator's reason (`override`), shown at the top of the record.
"""

from __future__ import annotations

from dataclasses import replace

from labwarden.checklist.attest import Deployment
from labwarden.checklist.catalog import Catalog, FormField
from labwarden.checklist.evaluate import Evaluation
from labwarden.checklist.gate import GateDecision
from labwarden.checklist.score import Status, tally_text
from labwarden.checklist.signoff import record_note
from labwarden.report.escape import (markdown_cell, markdown_cell_lines, markdown_code,
                                     markdown_paragraph, markdown_prose, markdown_text)


def against_gate(deployment: Deployment | None, decision: GateDecision | None) -> bool:
    """Whether `deployment` went ahead while the gate says NO-GO: a success, or any status
    the operator recorded an override for."""
    return (deployment is not None and decision is not None and not decision.allowed
            and (deployment.status == "success" or bool(deployment.override)))


def disagreement(deployment: Deployment | None, decision: GateDecision | None) -> str | None:
    """Why a record of `deployment` would contradict the gate's `decision` (a success at
    NO-GO with no override reason), or None when they agree."""
    if not against_gate(deployment, decision) or (deployment and deployment.override):
        return None
    assert decision is not None
    return (f"the deployment is recorded as a success but the gate says NO-GO at "
            f"{decision.risk} risk ({policy_reason(decision)}); record the deployment again "
            "with --override \"REASON\" (why it went ahead against the gate), or with the "
            "status it really had")


def deployment_to_record(asked: Deployment, decision: GateDecision
                         ) -> tuple[Deployment | None, list[str], str]:
    """What `labwarden record` stores for the deployment `asked`, given the gate's verdict
    now: (the deployment, notes to show) or (None, [], why it is refused). A success at NO-GO
    needs an override reason; an override where the gate says GO is not needed and not
    stored (the record must not claim a gate was overruled that allowed it)."""
    if decision.allowed:
        notes = [f"the gate says GO at {decision.risk} risk: --override is not needed and "
                 "was not recorded"] if asked.override else []
        return replace(asked, override=""), notes, ""
    problem = disagreement(asked, decision)
    if problem:
        return None, [], ("refusing to record a successful deployment: the gate says NO-GO "
                          f"at {decision.risk} risk ({policy_reason(decision)}). Deploying "
                          "against the gate needs its reason: --override \"REASON\" (stored "
                          "and shown at the top of the record)")
    notes = [f"recorded as deployed against the gate (NO-GO at {decision.risk} risk): "
             f"{asked.override}"] if asked.override else []
    return asked, notes, ""


def policy_reason(decision: GateDecision) -> str:
    """The policy's part of the gate's reasons (the last one): why GO or NO-GO."""
    return decision.reasons[-1] if decision.reasons else ""


def _choices(field: FormField, value: str) -> str:
    return " ".join(f"[{'x' if c.value == value else ' '}] {c.label}" for c in field.choices)


def _box(status: Status) -> str:
    return {Status.PASS: "[x]", Status.ATTESTED: "[x]", Status.NA: "[-]"}.get(status, "[ ]")


def render_record(evaluation: Evaluation, catalog: Catalog,
                  decision: GateDecision | None = None) -> str:
    """The record of `evaluation`; with the gate's `decision`, its verdict beside the risk
    level and, for a success deployed against it, the override at the top."""
    service = evaluation.service
    template = catalog.template
    deployment = evaluation.record.deployment
    # Everything the inventory, the attestations and the audit supply is escaped for its
    # Markdown context: a name with a line break must not add a row to a table. Free text
    # of several lines keeps them, as hard line breaks of one paragraph (or `<br>` in a
    # table cell), never as lines of its own.
    lines = [f"# {template.title}: {markdown_text(service.name)}", "",
             f"Purpose: {template.purpose}", "",
             f"Evaluated by labwarden on {evaluation.evaluated}. Boxes: [x] complete (PASS from "
             "the audit, or ATTESTED by a person), [-] N/A, [ ] open or failing.", "",
             f"Catalogue: {markdown_text(catalog.origin)}", ""]
    if against_gate(deployment, decision):
        assert deployment is not None and decision is not None
        reason = (markdown_paragraph(deployment.override, "> ") if deployment.override
                  else "no reason recorded")
        lines += [f"> **Deployed against the gate:** {reason}", ">",
                  f"> The gate says NO-GO at {decision.risk} risk: "
                  f"{markdown_prose(policy_reason(decision))}.", ""]
    lines += ["## Service Information", "", "| Field | Value |", "|---|---|"]
    values = {"service_name": service.name, "deployment_type": service.deployment_type,
              "deployment_date": service.deployment_date, "owner": service.owner,
              "purpose": service.purpose, "criticality": service.criticality,
              "data_classification": service.data_classification}
    for field in catalog.service_information:
        value = values.get(field.key, "")
        shown = _choices(field, value) if field.choices else markdown_cell_lines(value)
        lines.append(f"| {field.label} | {shown} |")
    results = evaluation.by_id()
    for section in catalog.sections:
        tally = evaluation.score.sections[section.id]
        lines += ["", f"## {section.id}. {section.title}", "",
                  f"{tally.completed}/{tally.total} complete ({tally_text(tally)})"
                  + (f", {tally.na} N/A" if tally.na else "")]
        for subsection in section.subsections:
            lines += ["", f"### {subsection.id} {subsection.title}", ""]
            for item in subsection.items:
                result = results[item.id]
                lines.append(f"- {_box(result.status)} {item.text} "
                             f"*({item.id}, {item.severity.name}, {result.status.value})*")
                for line in _evidence(result):
                    lines.append(f"  - {line}")
    overall = evaluation.score.overall
    lines += ["", "## Approval Signatures", "", "| Role | Name | Date | Signature |",
              "|---|---|---|---|"]
    for role in catalog.approvals:
        approval = evaluation.record.approvals.get(role.key)
        name, date = (approval.name, approval.date) if approval else ("", "")
        # A sign-off that no longer holds, or one given on the approver's own word, says so.
        note = record_note(evaluation, role.key)
        signature = ("recorded" + (f"; {note}" if note else "")) if approval else ""
        lines.append(f"| {role.label} | {markdown_cell(name)} | {markdown_cell(date)} | "
                     f"{markdown_cell(signature)} |")
    lines += ["", "## Deployment Record", ""]
    for field in catalog.deployment_record:
        value = getattr(deployment, field.key, "") if deployment else ""
        if field.choices:
            lines.append(f"**{field.label}:** {_choices(field, value)}  ")
        elif field.hint:
            lines += ["", f"**{field.label}:**", "",
                      markdown_paragraph(value) if value else field.hint]
        else:
            lines.append(f"**{field.label}:** {markdown_text(value) or '________________'}  ")
    if deployment is not None and deployment.override:
        lines += ["", "**Deployed against the gate:**", "", markdown_paragraph(deployment.override)]
    lines += ["", "## Checklist Score", "",
              f"**Total Items:** {overall.total + overall.na} ({overall.na} N/A)  ",
              f"**Items Completed:** {overall.completed} / {overall.total}  ",
              f"**Completion Percentage:** {tally_text(overall)}", "",
              "**Risk Level:**", ""]
    for level in catalog.risk_levels:
        mark = "x" if level.level == evaluation.score.risk else " "
        lines.append(f"- [{mark}] {level.text}")
    if decision is not None:
        verdict = "GO" if decision.allowed else "NO-GO"
        lines += ["", f"**Gate:** {verdict} at {decision.risk} risk — "
                      f"{markdown_prose(policy_reason(decision))}"]
    if evaluation.score.reasons:
        lines += ["", "Why not a better level:", ""]
        lines += [f"- {markdown_text(reason)}" for reason in evaluation.score.reasons]
    lines += ["", "---", "",
              f"Template Version: {template.version} · Last Updated: {template.last_updated} · "
              f"Maintained By: {template.maintained_by} · Review Frequency: "
              f"{template.review_frequency}", ""]
    return "\n".join(lines)


# The evidence lines are items of a list nested in the item's (`  - `): a note's later lines
# start at that item's content column to stay in it.
_EVIDENCE_INDENT = "    "


def _evidence(result) -> list[str]:
    out = []
    if result.note:
        out.append(markdown_paragraph(result.note, _EVIDENCE_INDENT))
    for finding in result.findings[:5]:
        # the number is this run's; rule:fingerprint names the finding in any later report
        out.append(f"{finding.id} `{finding.rule.id}` {markdown_prose(finding.message)} "
                   f"(ref {markdown_code(f'{finding.rule.id}:{finding.fingerprint[:12]}')} "
                   f"at {markdown_code(finding.location)})")
    if len(result.findings) > 5:
        out.append(f"… and {len(result.findings) - 5} more findings")
    attestation = result.attestation
    if attestation and attestation.evidence:
        out.append(f"evidence: {markdown_code(attestation.evidence)}")
    if attestation and attestation.expires and result.status is Status.ATTESTED:
        out.append(f"expires {markdown_text(attestation.expires)}")
    return out


def archive(evaluation: Evaluation, catalog: Catalog, records_dir: str, date: str,
            decision: GateDecision | None = None) -> str:
    """Write the record as a new file: `<service>-<YYYYMMDD>.md`, or the day's next number
    (`-2.md`, `-3.md`…) when one exists; never replacing one, even when two archives run at
    once (fsio.create_numbered). The file name comes from the service name, so it is checked
    to stay in `records_dir` (fsio.child raises WriteRefused) before anything is rendered;
    the record appears complete or not at all."""
    from labwarden import fsio

    stem = f"{evaluation.service.name}-{date.replace('-', '')}"
    fsio.child(records_dir, fsio.numbered_name(stem, ".md", 1))
    return fsio.create_numbered(records_dir, stem, ".md",
                                render_record(evaluation, catalog, decision))
