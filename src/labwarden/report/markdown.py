"""The Markdown audit report, laid out as the seed's audit was: a summary table, then every
finding under its severity (`### CRITICAL-001: <title>`), the accepted (waived) findings
with who accepted them and until when, and the coverage and input problems.

Text that comes from the audited files (messages quote keys, evidence quotes values, already
redacted) is escaped: evidence always sits in a code span sized to its content, and prose
is escaped outside the code spans the rules wrote on purpose.
"""

from __future__ import annotations

from labwarden.model import AuditResult, Diagnostic, Finding
from labwarden.report._common import (
    SEVERITIES, by_code, by_severity, diagnostics_by_level, display_location, fix_parts,
    fix_text, impact_text, plural, report_date, rule_fix, suppression_summary, tool_version,
    waived)
from labwarden.report.escape import markdown_block, markdown_cell, markdown_code, markdown_prose
from labwarden.report.shared_fixes import SharedFix, in_order, shared_fixes, subject
from labwarden.report.subject import project_service, service_label

GAP_EXAMPLES = 5


def render(result: AuditResult, roadmap=None, compact: bool = False) -> str:
    """The report; `compact`: the header, the summary and its table of findings, and the
    coverage problems, without each finding's section or the roadmap."""
    out: list[str] = []
    _header(out, result)
    _summary(out, result)
    if compact:
        _diagnostics(out, result)
        return "\n".join(out).rstrip("\n") + "\n"
    groups = by_severity(result)
    shared = shared_fixes(in_order(result.findings), lambda f: f.fix or rule_fix(f))
    for severity in SEVERITIES:
        if groups[severity]:
            out += [f"## {severity.name} findings ({len(groups[severity])})", ""]
            for finding in groups[severity]:
                _finding(out, finding, shared.get(id(finding)))
    accepted = waived(result)
    if accepted:
        out += [f"## Waived findings ({len(accepted)})", "",
                "Accepted risks: listed for the record, not counted in the summary.", ""]
        for finding in accepted:
            _finding(out, finding, shared.get(id(finding)))
    if roadmap is not None:  # built by the caller from the same result (remediation.roadmap)
        from labwarden.remediation.roadmap import render_markdown

        out += render_markdown(roadmap).splitlines() + [""]
    _diagnostics(out, result)
    return "\n".join(out).rstrip("\n") + "\n"


# ----- sections -------------------------------------------------------------------------


def _header(out: list[str], result: AuditResult) -> None:
    out += ["# Security audit report", ""]
    out.append(f"- **Date:** {report_date(result.started, markdown_prose)}")
    targets = ", ".join(markdown_code(t) for t in result.targets) or "(none)"
    out.append(f"- **Targets:** {targets}")
    out.append(f"- **Scope:** {plural(result.projects, 'Compose project')}, "
               f"{plural(result.services, 'service')}, "
               f"{plural(result.files_scanned, 'file')} scanned, "
               f"{plural(result.rules_run, 'rule')} run")
    out.append(f"- **Tool:** labwarden {tool_version()} ({result.duration_s:.2f} s)")
    out.append("")


def _summary(out: list[str], result: AuditResult) -> None:
    counts = result.counts()
    accepted = waived(result)
    out += ["## Summary", "", "| Severity | Findings |", "| --- | ---: |"]
    for severity in SEVERITIES:
        out.append(f"| {severity.name} | {counts[severity]} |")
    out.append(f"| **Total** | **{sum(counts.values())}** |")
    out.append(f"| Waived | {len(accepted)} |")
    out.append("")
    levels = diagnostics_by_level(result)
    if levels["error"]:
        out += [f"**{plural(len(levels['error']), 'input error')}**: part of the target "
                "could not be checked; see [Coverage and input problems]"
                "(#coverage-and-input-problems).", ""]
    if result.findings:
        out += ["| ID | Title | Location | Service | Rule |",
                "| --- | --- | --- | --- | --- |"]
        for f in [f for f in result.findings if not f.waived] + accepted:
            service = service_label(f.asset)
            out.append(f"| {f.id} | {markdown_cell(f.rule.title)} | "
                       f"{markdown_code(display_location(f.location), table=True)} | "
                       f"{markdown_code(service, table=True) if service else ''} | "
                       f"{f.rule.id} |")
        out.append("")
    else:
        # Every finding left out by --min-severity (report.display): the counts say so.
        out += ["No findings at the severity shown." if sum(counts.values()) else
                "No findings.", ""]


def _finding(out: list[str], f: Finding, shared: SharedFix | None = None) -> None:
    rule = f.rule
    out += [f"### {f.id}: {markdown_prose(rule.title)}", "", markdown_prose(f.message), ""]
    out.append(f"- **Location:** {markdown_code(display_location(f.location))}")
    project, service = project_service(f.asset)
    if service:
        out.append(f"- **Service:** {markdown_code(service)} (project {markdown_code(project)})")
    asset = markdown_code(f.asset)
    if f.resource:
        asset += f" ({markdown_code(f.resource)})"
    out.append(f"- **Asset:** {asset}")
    severity = f.severity.name
    if f.severity != rule.severity:
        severity += f" (rule default {rule.severity.name})"
    out.append(f"- **Severity:** {severity}")
    out.append(f"- **Rule:** {rule.id} {markdown_code(rule.name)}")
    if f.evidence:
        out.append(f"- **Evidence:** {markdown_code(f.evidence)}")
    if f.checklist:           # the items this finding fails (a grouped one: some of them)
        out.append(f"- **Checklist items:** {', '.join(f.checklist)}")
    if rule.refs:
        out.append(f"- **References:** {'; '.join(markdown_prose(r) for r in rule.refs)}")
    out.append(f"- **Remediation impact:** {impact_text(f)}")
    if f.waived:
        s = f.suppression
        out.append(f"- **Accepted:** {markdown_prose(suppression_summary(f))}")
        out.append(f"- **Justification:** {markdown_prose(s.justification) or '(none given)'}")
        if s.kind == "waiver":
            out.append(f"- **Owner:** {markdown_prose(s.owner) or '(unknown)'}")
            out.append(f"- **Expires:** {markdown_prose(s.expires) or '(never)'}")
    out.append("")
    if shared is not None and shared.first is not f:
        out += [f"**Fix:** the same as {markdown_prose(subject(shared.first))} above.", ""]
        return
    _fix(out, f)
    if shared is not None:
        out += ["The same fix applies to: "
                + ", ".join(markdown_prose(subject(o)) for o in shared.others) + ".", ""]


def _fix(out: list[str], f: Finding) -> None:
    if f.fix:
        # The hit's own fix may quote the audited file (a fence included): its parts are
        # rebuilt, never copied.
        parts = fix_parts(f.fix, own=True)
        if parts and parts[0][0] == "pre":
            out += ["**Fix:**", ""]
        for index, (kind, body) in enumerate(parts):
            if kind == "pre":
                out += markdown_block(body, "yaml") + [""]
            else:
                text = markdown_prose(body)
                out += [f"**Fix:** {text}" if index == 0 else text, ""]
        return
    documented = rule_fix(f).strip()
    if documented:
        # The rule's own documentation: Markdown written by the rule's author.
        out += ["**Fix:**", "", documented, ""]
    elif fix_text(f):
        out += [f"**Fix:** {markdown_prose(fix_text(f))}", ""]


def _diagnostics(out: list[str], result: AuditResult) -> None:
    out += ["## Coverage and input problems", ""]
    levels = diagnostics_by_level(result)
    if not result.diagnostics:
        out += ["None: every file was read and every value resolved.", ""]
        return
    if levels["error"]:
        out += [f"### Errors ({len(levels['error'])})", "",
                "These parts of the target could not be checked.", ""]
        _table(out, levels["error"])
    if levels["gap"]:
        out += [f"### Coverage gaps ({len(levels['gap'])})", "",
                "Values that could not be resolved; they were read the way Compose would "
                "read them.", "", "| Code | Count | Example | Locations |",
                "| --- | ---: | --- | --- |"]
        for gap_code, items in by_code(levels["gap"]):
            where = ", ".join(markdown_code(display_location(d.location), table=True)
                              for d in items[:GAP_EXAMPLES] if d.location)
            if len(items) > GAP_EXAMPLES:
                where += f" and {len(items) - GAP_EXAMPLES} more"
            out.append(f"| {markdown_code(gap_code, table=True)} | {len(items)} | "
                       f"{markdown_cell(items[0].message)} | {where} |")
        out.append("")
    for level, title in (("warning", "Warnings"), ("info", "Notes")):
        if levels[level]:
            out += [f"### {title} ({len(levels[level])})", ""]
            _table(out, levels[level])
    others = [d for level, ds in levels.items()
              if level not in ("error", "gap", "warning", "info") for d in ds]
    if others:
        out += [f"### Other ({len(others)})", ""]
        _table(out, others)


def _table(out: list[str], diagnostics: list[Diagnostic]) -> None:
    out += ["| Location | Code | Message |", "| --- | --- | --- |"]
    for d in diagnostics:
        where = markdown_code(display_location(d.location), table=True) if d.location else ""
        out.append(f"| {where} | {markdown_code(d.code, table=True)} | "
                   f"{markdown_cell(d.message)} |")
    out.append("")

