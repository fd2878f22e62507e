"""The Markdown audit report, laid out as the seed's audit was: a summary table, then every
finding under its severity (`### CRITICAL-001: <title>`), the accepted (waived) findings
with who accepted them and until when, and the coverage and input problems.

Text that comes from the audited files (messages quote keys, evidence quotes values, already
redacted) is escaped: evidence always sits in a code span sized to its content, and prose
is escaped outside the code spans the rules wrote on purpose.
"""

from __future__ import annotations

import re

from labwarden.model import AuditResult, Diagnostic, Finding
from labwarden.report._common import (
    SEVERITIES, by_code, by_severity, clean, diagnostics_by_level, display_location, fix_text,
    impact_text, plural, report_date, rule_fix, suppression_summary, tool_version, waived)

GAP_EXAMPLES = 5

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# Backticks left outside the matched code spans are stray: escaped, they cannot pair up
# with a code span later on the line.
_PROSE_SPECIALS = re.compile(r"([\\`*_\[\]<>|#~])")
_FENCE = re.compile(r"^\s*(```|~~~)", re.M)


def render(result: AuditResult, roadmap=None) -> str:
    out: list[str] = []
    _header(out, result)
    _summary(out, result)
    groups = by_severity(result)
    for severity in SEVERITIES:
        if groups[severity]:
            out += [f"## {severity.name} findings ({len(groups[severity])})", ""]
            for finding in groups[severity]:
                _finding(out, finding)
    accepted = waived(result)
    if accepted:
        out += [f"## Waived findings ({len(accepted)})", "",
                "Accepted risks: listed for the record, not counted in the summary.", ""]
        for finding in accepted:
            _finding(out, finding)
    if roadmap is not None:  # built by the caller from the same result (remediation.roadmap)
        from labwarden.remediation.roadmap import render_markdown

        out += render_markdown(roadmap).splitlines() + [""]
    _diagnostics(out, result)
    return "\n".join(out).rstrip("\n") + "\n"


# ----- escaping -------------------------------------------------------------------------


def code(text: object, in_table: bool = False) -> str:
    """`text` as one inline code span, whatever backticks it holds."""
    text = clean(text)
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: object, in_table: bool = False) -> str:
    """Escape Markdown in text, keeping the code spans a rule wrote (`read_only`) as code."""
    text = " ".join(clean(text).split())
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_escape(text[last:match.start()]))
        out.append(code(match.group(2), in_table))
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    text = text.replace("&", "&amp;")
    return _PROSE_SPECIALS.sub(r"\\\1", text)


# ----- sections -------------------------------------------------------------------------


def _header(out: list[str], result: AuditResult) -> None:
    out += ["# Security audit report", ""]
    out.append(f"- **Date:** {report_date(result.started, prose)}")
    targets = ", ".join(code(t) for t in result.targets) or "(none)"
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
        out += ["| ID | Title | Location | Rule |", "| --- | --- | --- | --- |"]
        for f in [f for f in result.findings if not f.waived] + accepted:
            out.append(f"| {f.id} | {prose(f.rule.title, True)} | "
                       f"{code(display_location(f.location), True)} | {f.rule.id} |")
        out.append("")
    else:
        out += ["No findings.", ""]


def _finding(out: list[str], f: Finding) -> None:
    rule = f.rule
    out += [f"### {f.id}: {prose(rule.title)}", "", prose(f.message), ""]
    out.append(f"- **Location:** {code(display_location(f.location))}")
    asset = code(f.asset)
    if f.resource:
        asset += f" ({code(f.resource)})"
    out.append(f"- **Asset:** {asset}")
    severity = f.severity.name
    if f.severity != rule.severity:
        severity += f" (rule default {rule.severity.name})"
    out.append(f"- **Severity:** {severity}")
    out.append(f"- **Rule:** {rule.id} {code(rule.name)}")
    if f.evidence:
        out.append(f"- **Evidence:** {code(f.evidence)}")
    if rule.checklist:
        out.append(f"- **Checklist items:** {', '.join(rule.checklist)}")
    if rule.refs:
        out.append(f"- **References:** {'; '.join(prose(r) for r in rule.refs)}")
    out.append(f"- **Remediation impact:** {impact_text(f)}")
    if f.waived:
        s = f.suppression
        out.append(f"- **Accepted:** {prose(suppression_summary(f))}")
        out.append(f"- **Justification:** {prose(s.justification) or '(none given)'}")
        if s.kind == "waiver":
            out.append(f"- **Owner:** {prose(s.owner) or '(unknown)'}")
            out.append(f"- **Expires:** {prose(s.expires) or '(never)'}")
    out.append("")
    _fix(out, f)


def _fix(out: list[str], f: Finding) -> None:
    if f.fix:
        first, *rest = f.fix.strip("\n").split("\n")
        out += [f"**Fix:** {prose(first)}", ""]
        body = "\n".join(clean(line) for line in rest).strip("\n")
        if body and _FENCE.search(body):
            out += [body, ""]           # the rule wrote its own fenced snippet
        elif body:
            # A bare snippet the rule built (possibly from the audited file): fence it.
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", body)), default=0))
            out += [f"{fence}yaml", body, fence, ""]
        return
    documented = rule_fix(f).strip()
    if documented:
        # The rule's own documentation: Markdown written by the rule's author.
        out += ["**Fix:**", "", documented, ""]
    elif fix_text(f):
        out += [f"**Fix:** {prose(fix_text(f))}", ""]


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
            where = ", ".join(code(display_location(d.location), True)
                              for d in items[:GAP_EXAMPLES] if d.location)
            if len(items) > GAP_EXAMPLES:
                where += f" and {len(items) - GAP_EXAMPLES} more"
            out.append(f"| {code(gap_code, True)} | {len(items)} | "
                       f"{prose(items[0].message, True)} | {where} |")
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
        where = code(display_location(d.location), True) if d.location else ""
        out.append(f"| {where} | {code(d.code, True)} | {prose(d.message, True)} |")
    out.append("")

