"""The HTML audit report: one self-contained page that opens from disk.

The page holds the summary by severity (an inline SVG chart), the risk of each inventory
service (or, without a checklist evaluation, the findings per asset), every finding in a
table that filters by severity, asset, rule, status and free text and expands into the
finding's details and fix, the checklist progress per section, the remediation roadmap and
the coverage and input problems.

Self-contained means no request of any kind: the CSS and the script are inline, there is no
font, image or link to fetch, and a Content-Security-Policy (`default-src 'none'`, the inline
style and script allowed by their hashes) makes the browser refuse anything else, should
text from an audited file ever smuggle markup in. It does not: every value passes
`escape.html` (the environment's `finalize`, with autoescape on), and references that are
URLs stay plain text. The page works without the script too: every finding is shown
expanded, and the filters stay hidden.

Like every reporter this one recomputes nothing: it lays out what the engine, the roadmap
and the checklist evaluation decided. jinja2 is imported only when this format is asked for.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

from labwarden.model import AuditResult, Diagnostic, Finding
from labwarden.report._common import (
    SEVERITIES, by_code, diagnostics_by_level, display_location, display_path, fix_parts,
    impact_text, plural, report_date, rule_fix, suppression_summary, tool_version)
from labwarden.report.escape import html, line

GAP_EXAMPLES = 5
CHART_BAR_WIDTH = 300          # the longest bar of the severity chart, in SVG units
RISK_CLASSES = {"unacceptable": "risk-unacceptable", "high": "risk-high",
                "medium": "risk-medium", "low": "risk-low"}
STATUSES = ("FAIL", "OPEN", "ATTESTED", "PASS", "N/A")

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def render(result: AuditResult, *, roadmap=None, evaluations: Iterable = (),
           catalog=None) -> str:
    """The report of `result` as one HTML page.

    `roadmap` is a `remediation.roadmap.Roadmap`, `evaluations` the checklist
    `Evaluation`s of the inventory services, `catalog` the checklist `Catalog` (default:
    the packaged one) for section titles and item texts.
    """
    evaluations = list(evaluations)
    if catalog is None:
        catalog = _packaged_catalog()
    style, script = _assets_text()
    findings = [f for f in result.findings if not f.waived] + \
        [f for f in result.findings if f.waived]
    context = {
        "style": Markup(style),
        "script": Markup(script),
        "csp": _csp(style, script),
        "header": _header(result),
        "counts": _counts(result),
        "chart": _chart(result),
        "services": [_service(e) for e in evaluations],
        "assets": [] if evaluations else _assets(result),
        "findings": [_finding(f, catalog) for f in findings],
        "filters": _filters(findings),
        "checklist": _checklist(evaluations, catalog),
        "roadmap": _roadmap(roadmap) if roadmap is not None else None,
        "diagnostics": _diagnostics(result),
        "severities": [s.name for s in SEVERITIES],
    }
    return _environment().get_template("report.html.j2").render(**context)


# ----- plumbing ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("labwarden.report", "templates"),
        autoescape=True,                       # findings quote the audited files
        # Every `{{ }}` passes the HTML escaper, which also makes controls and bidi
        # overrides visible: no value reaches the page another way.
        finalize=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=1)
def _assets_text() -> tuple[str, str]:
    """The stylesheet and the script, verbatim (not rendered: they hold no template code,
    and their CSP hashes must match what the page carries)."""
    env = _environment()
    return tuple(env.loader.get_source(env, name)[0].strip("\n") + "\n"
                 for name in ("report.css.j2", "report.js.j2"))


def _packaged_catalog():
    from labwarden.checklist.catalog import load_catalog

    return load_catalog()


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _csp(style: str, script: str) -> str:
    # A data: icon keeps the browser from asking for /favicon.ico.
    return (f"default-src 'none'; style-src {_sha256(style)}; script-src {_sha256(script)}; "
            "img-src data:; base-uri 'none'; form-action 'none'")


def inline(text: object) -> Markup:
    """One line of prose, escaped, with the code spans a rule wrote (`read_only`) as code."""
    text = " ".join(line(text).split())
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(html(text[last:match.start()]))
        out.append(Markup("<code>%s</code>") % html(match.group(2).strip()))
        last = match.end()
    out.append(html(text[last:]))
    return Markup("").join(out)


def fix_blocks(text: str, own: bool) -> list[tuple[str, Any]]:
    """A fix as ("p", Markup) paragraphs and ("pre", str) snippets (see `fix_parts`)."""
    return [(kind, inline(body) if kind == "p" else body) for kind, body in fix_parts(text, own)]


def breakable(path: str) -> Markup:
    """A path or asset, escaped, that may wrap after its slashes rather than mid-name."""
    return Markup("/<wbr>").join(html(part) for part in line(path).split("/"))


def _risk_detail(level: str, text: str) -> str:
    """The catalog's risk text without the level it repeats: "<70% complete, deploy…"."""
    match = re.fullmatch(r"(.*?)\s*\((.+)\)", line(text))
    return match.group(2) if match and match.group(1).lower().startswith(level.lower()) \
        else line(text)


def _asset_label(asset: str) -> str:
    return asset.removeprefix("compose:")


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# ----- sections ---------------------------------------------------------------------------


def _header(result: AuditResult) -> dict:
    return {
        "date": report_date(result.started, line),
        "targets": [display_path(t) for t in result.targets],
        "scope": f"{plural(result.projects, 'Compose project')}, "
                 f"{plural(result.services, 'service')}, "
                 f"{plural(result.files_scanned, 'file')} scanned, "
                 f"{plural(result.rules_run, 'rule')} run",
        "tool": f"labwarden {tool_version()} ({result.duration_s:.2f} s)",
    }


def _counts(result: AuditResult) -> dict:
    counts = result.counts()
    return {"by_severity": [(s.name, counts[s]) for s in SEVERITIES],
            "total": sum(counts.values()),
            "waived": sum(1 for f in result.findings if f.waived),
            "errors": len(result.errors)}


def _chart(result: AuditResult) -> dict:
    counts = result.counts()
    most = max(counts.values(), default=0) or 1
    bars = [{"severity": s.name, "count": counts[s], "y": 8 + 30 * i,
             "width": _num(CHART_BAR_WIDTH * counts[s] / most)}
            for i, s in enumerate(SEVERITIES)]
    for bar in bars:
        bar["label_x"] = _num(96 + float(bar["width"]) + 8)
    return {"bars": bars, "height": 8 + 30 * len(bars),
            "description": ", ".join(f"{s.name} {counts[s]}" for s in SEVERITIES)}


def _service(evaluation) -> dict:
    from labwarden.checklist.score import truncated_percent

    score = evaluation.score
    statuses = Counter(item.status.value for item in evaluation.items)
    overall = score.overall
    return {
        "name": evaluation.service.name,
        "type": evaluation.service.deployment_type,
        "evaluated": evaluation.evaluated,
        "percent": truncated_percent(overall.percent, 0),     # 84.98 is 84, never 85
        "bar": _num(overall.percent),
        "completed": overall.completed,
        "total": overall.total,
        "risk": score.risk,
        "risk_class": RISK_CLASSES.get(score.risk.lower(), "risk-other"),
        "risk_text": _risk_detail(score.risk, score.risk_text),
        "reasons": list(score.reasons),
        "statuses": {status: statuses.get(status, 0) for status in STATUSES},
    }


def _assets(result: AuditResult) -> list[dict]:
    rows: dict[str, dict] = {}
    for f in result.findings:
        row = rows.setdefault(f.asset, {"asset": _asset_label(f.asset),
                                        "counts": Counter(), "waived": 0})
        if f.waived:
            row["waived"] += 1
        else:
            row["counts"][f.severity.name] += 1
    out = []
    for asset in sorted(rows):
        row = rows[asset]
        row["total"] = sum(row["counts"].values())
        row["worst"] = next((s.name for s in SEVERITIES if row["counts"][s.name]), "")
        out.append(row)
    return out


def _finding(f: Finding, catalog) -> dict:
    rule = f.rule
    items = catalog.items_by_id if catalog is not None else {}
    if f.fix:
        fix = fix_blocks(f.fix, own=True)
    else:
        fix = fix_blocks(rule_fix(f), own=False)
    suppression = None
    if f.suppression is not None:
        s = f.suppression
        suppression = {"kind": s.kind, "summary": suppression_summary(f),
                       "justification": line(s.justification), "owner": line(s.owner),
                       "expires": line(s.expires)}
    return {
        "id": f.id,
        "severity": f.severity.name,
        "default_severity": rule.severity.name if rule.severity != f.severity else "",
        "title": line(rule.title),
        "message": inline(f.message),
        "asset": f.asset,
        "asset_label": breakable(_asset_label(f.asset)),
        "resource": line(f.resource),
        "location": display_location(f.location),
        "location_cell": breakable(display_location(f.location)),
        "rule_id": rule.id,
        "rule_name": rule.name,
        "evidence": line(f.evidence),
        "checklist": [(item_id, inline(items[item_id].text) if item_id in items else "")
                      for item_id in f.checklist],
        "refs": [line(r) for r in rule.refs],
        "impact": impact_text(f),
        "fix": fix,
        "suppression": suppression,
    }


def _filters(findings: list[Finding]) -> dict:
    present = {f.severity for f in findings}
    rules = {f.rule.id: f.rule.name for f in findings}
    return {
        "severities": [s.name for s in SEVERITIES if s in present],
        "assets": [(a, _asset_label(a)) for a in sorted({f.asset for f in findings})],
        "rules": [(rid, f"{rid} {rules[rid]}") for rid in sorted(rules)],
        "waived": any(f.waived for f in findings),
    }


def _checklist(evaluations: list, catalog) -> dict | None:
    if not evaluations:
        return None
    from labwarden.checklist.score import truncated_percent

    titles = {s.id: s.title for s in catalog.sections} if catalog is not None else {}
    section_ids = list(evaluations[0].score.sections)
    rows = []
    for section_id in section_ids:
        cells = []
        for evaluation in evaluations:
            tally = evaluation.score.sections.get(section_id)
            if tally is None:
                cells.append(None)
                continue
            cells.append({"completed": tally.completed, "total": tally.total, "na": tally.na,
                          "percent": truncated_percent(tally.percent, 0),
                          "bar": _num(tally.percent),
                          "applicable": tally.total > 0})
        rows.append({"id": section_id, "title": titles.get(section_id, ""), "cells": cells})
    return {"services": [e.service.name for e in evaluations], "rows": rows}


def _roadmap(roadmap) -> dict:
    from labwarden.remediation.render import step_summary
    from labwarden.remediation.roadmap import minutes

    phases = []
    for phase in roadmap.phases:
        steps = []
        for step in phase.steps:
            # where it runs, what restarts, downtime and work; then the commands, the checks
            # and the rollback, in the order they are run
            steps.append({"label": line(step.label), "restarts": line(step_summary(step)),
                          "findings": [f.id for f in step.findings],
                          "commands": [line(f"$ {c}") for c in step.commands]
                          + [line(f"check $ {c}") for c in step.verify]
                          + [line(f"undo  $ {c}") for c in step.rollback]})
        phases.append({"number": phase.number, "title": phase.title,
                       "downtime": minutes(phase.downtime), "steps": steps})
    return {"downtime": minutes(roadmap.downtime), "findings": roadmap.findings,
            "steps": sum(len(p.steps) for p in roadmap.phases), "phases": phases}


def _diagnostic(d: Diagnostic) -> dict:
    return {"location": display_location(d.location), "code": line(d.code),
            "message": inline(d.message)}


def _diagnostics(result: AuditResult) -> dict:
    levels = diagnostics_by_level(result)
    gaps = []
    for code, items in by_code(levels["gap"]):
        where = [display_location(d.location) for d in items[:GAP_EXAMPLES] if d.location]
        gaps.append({"code": line(code), "count": len(items),
                     "example": inline(items[0].message), "locations": where,
                     "more": max(0, len(items) - GAP_EXAMPLES)})
    others = [d for level, ds in levels.items()
              if level not in ("error", "gap", "warning", "info") for d in ds]
    return {
        "total": len(result.diagnostics),
        "errors": [_diagnostic(d) for d in levels["error"]],
        "gaps": gaps,
        "gap_count": len(levels["gap"]),
        "tables": [(title, [_diagnostic(d) for d in ds]) for title, ds in
                   (("Warnings", levels["warning"]), ("Notes", levels["info"]),
                    ("Other", others)) if ds],
    }

