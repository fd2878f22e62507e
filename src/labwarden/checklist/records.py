"""The deployment record: the completed checklist as Markdown in the seed's layout, with the
evidence or attestation behind every box, the score block, approvals and the deployment
record. Archived as `<records dir>/<service>-<YYYYMMDD>.md`; an existing record is never
overwritten unless asked for explicitly.
"""

from __future__ import annotations

import os

from labwarden.checklist.catalog import Catalog, FormField
from labwarden.checklist.evaluate import Evaluation
from labwarden.checklist.score import Status
from labwarden.report.escape import markdown_cell, markdown_code, markdown_prose, markdown_text


class RecordExists(Exception):
    pass


def _choices(field: FormField, value: str) -> str:
    return " ".join(f"[{'x' if c.value == value else ' '}] {c.label}" for c in field.choices)


def _box(status: Status) -> str:
    return {Status.PASS: "[x]", Status.ATTESTED: "[x]", Status.NA: "[-]"}.get(status, "[ ]")


def render_record(evaluation: Evaluation, catalog: Catalog) -> str:
    service = evaluation.service
    template = catalog.template
    # Everything the inventory, the attestations and the audit supply is escaped for its
    # Markdown context: a name with a line break must not add a row to a table.
    lines = [f"# {template.title}: {markdown_text(service.name)}", "",
             f"Purpose: {template.purpose}", "",
             f"Evaluated by labwarden on {evaluation.evaluated}. Boxes: [x] complete (PASS from "
             "the audit, or ATTESTED by a person), [-] N/A, [ ] open or failing.", "",
             f"Catalogue: {markdown_text(catalog.origin)}", "",
             "## Service Information", "", "| Field | Value |", "|---|---|"]
    values = {"service_name": service.name, "deployment_type": service.deployment_type,
              "deployment_date": service.deployment_date, "owner": service.owner,
              "purpose": service.purpose, "criticality": service.criticality,
              "data_classification": service.data_classification}
    for field in catalog.service_information:
        value = values.get(field.key, "")
        shown = _choices(field, value) if field.choices else markdown_cell(value)
        lines.append(f"| {field.label} | {shown} |")
    results = evaluation.by_id()
    for section in catalog.sections:
        tally = evaluation.score.sections[section.id]
        lines += ["", f"## {section.id}. {section.title}", "",
                  f"{tally.completed}/{tally.total} complete ({tally.percent:.1f} %)"
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
        lines.append(f"| {role.label} | {markdown_cell(name)} | {markdown_cell(date)} | "
                     f"{'recorded' if approval else ''} |")
    deployment = evaluation.record.deployment
    lines += ["", "## Deployment Record", ""]
    for field in catalog.deployment_record:
        value = getattr(deployment, field.key, "") if deployment else ""
        if field.choices:
            lines.append(f"**{field.label}:** {_choices(field, value)}  ")
        elif field.hint:
            lines += ["", f"**{field.label}:**", "", markdown_text(value) if value else field.hint]
        else:
            lines.append(f"**{field.label}:** {markdown_text(value) or '________________'}  ")
    lines += ["", "## Checklist Score", "",
              f"**Total Items:** {overall.total + overall.na} ({overall.na} N/A)  ",
              f"**Items Completed:** {overall.completed} / {overall.total}  ",
              f"**Completion Percentage:** {overall.percent:.1f} %", "", "**Risk Level:**", ""]
    for level in catalog.risk_levels:
        mark = "x" if level.level == evaluation.score.risk else " "
        lines.append(f"- [{mark}] {level.text}")
    if evaluation.score.reasons:
        lines += ["", "Why not a better level:", ""]
        lines += [f"- {markdown_text(reason)}" for reason in evaluation.score.reasons]
    lines += ["", "---", "",
              f"Template Version: {template.version} · Last Updated: {template.last_updated} · "
              f"Maintained By: {template.maintained_by} · Review Frequency: "
              f"{template.review_frequency}", ""]
    return "\n".join(lines)


def _evidence(result) -> list[str]:
    out = []
    if result.note:
        out.append(markdown_text(result.note))
    for finding in result.findings[:5]:
        out.append(f"{finding.id} `{finding.rule.id}` {markdown_prose(finding.message)} "
                   f"({markdown_code(finding.location)})")
    if len(result.findings) > 5:
        out.append(f"… and {len(result.findings) - 5} more findings")
    attestation = result.attestation
    if attestation and attestation.evidence:
        out.append(f"evidence: {markdown_code(attestation.evidence)}")
    if attestation and attestation.expires and result.status is Status.ATTESTED:
        out.append(f"expires {markdown_text(attestation.expires)}")
    return out


def archive(evaluation: Evaluation, catalog: Catalog, records_dir: str, date: str,
            overwrite: bool = False) -> str:
    """Write the record; refuse to replace an existing one unless `overwrite`. The file name
    comes from the service name, so it is checked to stay in `records_dir` (fsio.child
    raises WriteRefused); the record appears complete or not at all."""
    from labwarden import fsio

    path = fsio.child(records_dir, f"{evaluation.service.name}-{date.replace('-', '')}.md")
    os.makedirs(records_dir, exist_ok=True)
    text = render_record(evaluation, catalog)
    with fsio.locked(path):
        if not fsio.create(path, text, overwrite=overwrite):
            raise RecordExists(f"{path} exists: a record is not replaced silently (use "
                               "--overwrite to replace it)")
    return path
