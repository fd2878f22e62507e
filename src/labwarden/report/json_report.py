"""The JSON report: a versioned document for scripts and dashboards.

The shape is fixed by `schema/report-v1.schema.json` (JSON Schema 2020-12), shipped with the
package. Additive changes keep schema_version 1.x; anything that renames or removes a field
bumps the major version.
"""

from __future__ import annotations

import json

from labwarden.model import AuditResult, Diagnostic, Finding, Location
from labwarden.report._common import SEVERITIES, diagnostics_by_level, rule_fix, tool_version

SCHEMA_VERSION = "1.0"
SCHEMA_RESOURCE = "schema/report-v1.schema.json"   # inside the labwarden.report package


def render(result: AuditResult) -> str:
    return json.dumps(document(result), ensure_ascii=False, separators=(",", ":")) + "\n"


def document(result: AuditResult) -> dict:
    counts = result.counts()
    summary: dict[str, int] = {s.name.lower(): counts[s] for s in SEVERITIES}
    summary.update(
        total=sum(counts.values()),
        waived=sum(1 for f in result.findings if f.waived),
        files_scanned=result.files_scanned,
        projects=result.projects,
        services=result.services,
        rules_run=result.rules_run,
        errors=len(result.errors),
        gaps=len(diagnostics_by_level(result)["gap"]),
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "labwarden", "version": tool_version()},
        "started": result.started,
        "duration_s": round(result.duration_s, 3),
        "targets": list(result.targets),
        "summary": summary,
        "findings": [_finding(f) for f in result.findings],
        "diagnostics": [_diagnostic(d) for d in result.diagnostics],
    }


def _location(location: Location | None) -> dict | None:
    if location is None:
        return None
    return {"path": location.path, "line": location.line, "column": location.column}


def _finding(f: Finding) -> dict:
    rule = f.rule
    s = f.suppression
    low, high = rule.impact.downtime_min
    return {
        "id": f.id,
        "rule_id": rule.id,
        "rule_name": rule.name,
        "title": rule.title,
        "severity": f.severity.name,
        "default_severity": rule.severity.name,
        "message": f.message,
        "location": _location(f.location),
        "asset": f.asset,
        "resource": f.resource,
        "fingerprint": f.fingerprint,
        "evidence": f.evidence,
        # The hit's own fix, else the rule's documented one, whole (it may hold a snippet).
        "fix": f.fix or rule_fix(f),
        "checklist": list(rule.checklist),
        "refs": list(rule.refs),
        "waived": f.waived,
        "suppression": None if s is None else {
            "kind": s.kind,
            "justification": s.justification,
            "owner": s.owner,
            "expires": s.expires,
            "location": _location(s.location),
        },
        "impact": {"restarts": rule.impact.restarts, "downtime_min": [low, high]},
    }


def _diagnostic(d: Diagnostic) -> dict:
    return {"level": d.level, "code": d.code, "message": d.message,
            "location": _location(d.location)}


def schema() -> dict:
    """The JSON Schema the documents follow (shipped inside the package)."""
    from importlib.resources import files

    return json.loads(files("labwarden.report").joinpath(SCHEMA_RESOURCE).read_text("utf-8"))
