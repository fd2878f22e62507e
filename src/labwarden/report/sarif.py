"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; the driver lists the rules that have results, with their documentation as help
and GitHub's `security-severity`; each result carries a stable partial fingerprint (rule,
asset, resource: never the line) and, when waived, a SARIF suppression (`inSource` for an
inline `# labwarden: ignore[...]`, `external` for a labwarden.yaml waiver) so viewers show
it as accepted rather than dropping it. Diagnostics become tool execution notifications.

Message texts pass `escape.sarif_text` (no controls, no embedded links from the audited
files) and the document `escape.json_text`.

File URIs are relative to the working directory (the repository root in CI) under the
`%SRCROOT%` base id; a file outside it gets an absolute `file:` URI. No source snippet is
embedded: the evidence shown is the rule's redacted evidence, nothing read from the file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import quote

from labwarden.model import AuditResult, Diagnostic, Finding, Location, Rule, Severity
from labwarden.report._common import fix_text, is_target, relative_path, tool_version
from labwarden.report.escape import json_text, sarif_text
from labwarden.report.subject import project_service
from labwarden.sources.registry import AREA_TAGS

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")
INFORMATION_URI = "https://pypi.org/project/labwarden/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "labwardenFingerprint/v1"

# GitHub maps security-severity to its own levels: > 9.0 critical, 7.0-8.9 high,
# 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
NOTIFICATION_LEVEL = {"error": "error", "gap": "warning", "warning": "warning", "info": "note"}
_CWE = re.compile(r"\bCWE-(\d+)\b", re.I)


def render(result: AuditResult) -> str:
    return json_text(json.dumps(document(result), ensure_ascii=False, separators=(",", ":"))) \
        + "\n"


def document(result: AuditResult, cwd: str | None = None) -> dict:
    cwd = cwd or os.getcwd()
    rules: list[Rule] = sorted({f.rule.id: f.rule for f in result.findings}.values(),
                               key=lambda r: r.id)
    index = {rule.id: i for i, rule in enumerate(rules)}
    run: dict = {
        "tool": {"driver": {
            "name": "labwarden",
            "version": tool_version(),
            "informationUri": INFORMATION_URI,
            "rules": [_rule(rule) for rule in rules],
        }},
        "invocations": [_invocation(result, cwd)],
        "originalUriBaseIds": {SRCROOT: {"uri": Path(cwd).as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule.id], cwd) for f in result.findings],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


# ----- rules ----------------------------------------------------------------------------


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _rule(rule: Rule) -> dict:
    doc = rule.doc
    what = doc.what if doc else rule.title
    tags = ["security", AREA_TAGS.get(rule.area, rule.area.lower())]
    tags += [f"external/cwe/cwe-{m.group(1)}" for ref in rule.refs for m in _CWE.finditer(ref)]
    tags += [f"checklist/{item}" for item in rule.checklist]
    return {
        "id": rule.id,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": _one_line(what)},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            # Code scanning keeps only a rule's first tags: "security" (which makes GitHub
            # read security-severity) and the area come first.
            "tags": list(dict.fromkeys(tags))[:10],
            "precision": "high",
            "labwarden-name": rule.name,
            "severity": rule.severity.name,
        },
    }


def _help_text(rule: Rule) -> str:
    doc = rule.doc
    parts = [f"{rule.id} {rule.name}: {rule.title}"]
    if doc:
        parts += [doc.what, f"Why it matters:\n{doc.why}", f"Example:\n{doc.example}",
                  f"Fix:\n{doc.fix}"]
    parts.append(_metadata_line(rule))
    return "\n\n".join(parts)


def _help_markdown(rule: Rule) -> str:
    doc = rule.doc
    parts = [f"**{rule.id} `{rule.name}`**: {rule.title}"]
    if doc:
        parts += [doc.what, f"**Why it matters**\n\n{doc.why}", f"**Example**\n\n{doc.example}",
                  f"**Fix**\n\n{doc.fix}"]
    parts.append(_metadata_line(rule))
    return "\n\n".join(parts)


def _metadata_line(rule: Rule) -> str:
    items = [f"Severity: {rule.severity.name}"]
    if rule.checklist:
        items.append(f"Checklist items: {', '.join(rule.checklist)}")
    if rule.refs:
        items.append(f"References: {'; '.join(rule.refs)}")
    return ". ".join(items) + "."


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ----- results --------------------------------------------------------------------------


def artifact_location(path: str, cwd: str) -> dict:
    if is_target(path):
        return {"uri": quote(path, safe=":/@[]")}     # the target URL is the artifact
    rel = relative_path(path, cwd)
    if rel is not None:
        return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}
    return {"uri": Path(os.path.abspath(path)).as_uri()}


def _location(location: Location, cwd: str) -> dict:
    region: dict = {"startLine": max(1, location.line)}
    if location.line >= 1 and location.column >= 1:
        region["startColumn"] = location.column
    return {"physicalLocation": {"artifactLocation": artifact_location(location.path, cwd),
                                 "region": region}}


def _result(f: Finding, rule_index: int, cwd: str) -> dict:
    fix = fix_text(f)
    text = f.message if not fix else f"{f.message}\nFix: {fix}"
    properties: dict = {"labwardenId": f.id, "severity": f.severity.name, "asset": f.asset}
    project, service = project_service(f.asset)
    if project:                      # as the JSON report's fields (report/subject.py)
        properties["project"] = project
    if service:
        properties["service"] = service
    if f.resource:
        properties["resource"] = f.resource
    if f.evidence:
        properties["evidence"] = f.evidence
    result = {
        "ruleId": f.rule.id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": sarif_text(text)},
        "locations": [_location(f.location, cwd)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": properties,
    }
    if f.suppression is not None:
        s = f.suppression
        suppression: dict = {"kind": "inSource" if s.kind == "inline" else "external",
                             "status": "accepted",
                             "justification": sarif_text(s.justification)}
        if s.location is not None:
            suppression["location"] = _location(s.location, cwd)
        extra = {k: v for k, v in (("owner", s.owner), ("expires", s.expires)) if v}
        if extra:
            suppression["properties"] = extra
        result["suppressions"] = [suppression]
    return result


# ----- invocation -----------------------------------------------------------------------


def _invocation(result: AuditResult, cwd: str) -> dict:
    invocation: dict = {
        "executionSuccessful": not result.errors,
        "toolExecutionNotifications": [_notification(d, cwd) for d in result.diagnostics],
    }
    if result.started:
        invocation["startTimeUtc"] = _utc(result.started)
    return invocation


def _notification(d: Diagnostic, cwd: str) -> dict:
    notification: dict = {
        "level": NOTIFICATION_LEVEL.get(d.level, "note"),
        "message": {"text": sarif_text(d.message)},
        "descriptor": {"id": d.code},
        "properties": {"labwardenLevel": d.level},
    }
    if d.location is not None:
        notification["locations"] = [_location(d.location, cwd)]
    return notification


def _utc(iso: str) -> str:
    """SARIF wants UTC date-times written with a Z."""
    return iso[:-6] + "Z" if iso.endswith("+00:00") else iso
