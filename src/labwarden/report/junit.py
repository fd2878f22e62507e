"""JUnit XML, the test report every CI reads (GitLab `artifacts:reports:junit`, Jenkins
`junit`, GitHub test-reporter actions).

The layout CI systems expect from the Jenkins/Ant schema:

  * a `testsuite` per asset (`compose:stack/db`, `host:web1`…), a `testcase` per finding:
    `<failure>` for an active one (its ID, severity, location, message, evidence and fix),
    `<skipped>` for a waived one (who accepted it, until when, and why). Testcases are
    named by rule and resource, never by finding ID or line, so a CI's test history follows
    one problem across runs and edits;
  * a testsuite `input` with an `<error>` per input error (a file that could not be read, an
    unreachable target): the part of the audit that did not happen;
  * a testsuite `labwarden` with a passing testcase per audited target, so a clean audit is
    a report with passing tests, not an empty one (which Jenkins fails), and the other
    diagnostics (coverage gaps, warnings) in its `system-out`.

Counts (`tests`, `failures`, `errors`, `skipped`) are on every suite and summed on the root.
Text from audited files reaches XML only through the redacted message and evidence, with the
characters XML 1.0 cannot hold removed.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from labwarden.model import AuditResult, Diagnostic, Finding
from labwarden.report.escape import block
from labwarden.report._common import (
    display_location,
    display_path,
    fix_text,
    plural,
    suppression_summary,
    tool_version,
)

INPUT_SUITE = "input"
TOOL_SUITE = "labwarden"
# Characters XML 1.0 does not allow, even escaped (C0 controls but tab, LF, CR; surrogates;
# U+FFFE/U+FFFF): a message quoting a binary file must not make the report unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(result: AuditResult) -> str:
    root = document(result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + \
        ET.tostring(root, encoding="unicode") + "\n"


def document(result: AuditResult) -> ET.Element:
    """The `testsuites` element of `result`."""
    root = ET.Element("testsuites", name="labwarden")
    timestamp = _timestamp(result.started)
    suites: dict[str, ET.Element] = {}
    for finding in result.findings:
        suite = suites.get(finding.asset)
        if suite is None:
            suite = suites[finding.asset] = _suite(root, finding.asset, timestamp)
        _finding_case(suite, finding)
    errors = [d for d in result.diagnostics if d.level == "error"]
    if errors:
        suite = _suite(root, INPUT_SUITE, timestamp)
        for diagnostic in errors:
            _error_case(suite, diagnostic)
    _tool_suite(root, result, timestamp)
    for name in ("tests", "failures", "errors", "skipped"):
        root.set(name, str(sum(int(s.get(name)) for s in root)))
    root.set("time", f"{result.duration_s:.3f}")
    return root


def _suite(root: ET.Element, name: str, timestamp: str | None) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", name=_text(name), tests="0", failures="0",
                          errors="0", skipped="0", time="0")
    if timestamp:
        suite.set("timestamp", timestamp)
    return suite


def _case(suite: ET.Element, classname: str, name: str, outcome: str | None = None,
          **attributes: str) -> ET.Element:
    """A testcase in `suite`, counted there; `outcome` failures/errors/skipped, or None
    when it passed."""
    case = ET.SubElement(suite, "testcase", classname=_text(classname), name=_text(name),
                         time="0", **{k: _text(v) for k, v in attributes.items() if v})
    suite.set("tests", str(int(suite.get("tests")) + 1))
    if outcome is not None:
        suite.set(outcome, str(int(suite.get(outcome)) + 1))
    return case


def _finding_case(suite: ET.Element, finding: Finding) -> None:
    rule = finding.rule
    name = f"{rule.id} {rule.name}" + (f" [{finding.resource}]" if finding.resource else "")
    where = finding.location
    place = {"file": display_path(where.path), "line": str(where.line) if where.line else ""}
    if finding.waived:
        case = _case(suite, finding.asset, name, "skipped", **place)
        s = finding.suppression
        ET.SubElement(case, "skipped", message=_text(
            f"{finding.id}: {suppression_summary(finding)}: {s.justification}"))
        return
    case = _case(suite, finding.asset, name, "failures", **place)
    failure = ET.SubElement(case, "failure", type=finding.severity.name,
                            message=_text(f"{finding.id} {finding.severity.name}: "
                                          f"{finding.message}"))
    failure.text = _text(_failure_body(finding))


def _failure_body(finding: Finding) -> str:
    rule = finding.rule
    lines = [f"{finding.id} {rule.id} {rule.name} ({finding.severity.name}): {rule.title}",
             f"Location: {display_location(finding.location)}",
             f"Asset: {finding.asset}" + (f"  Resource: {finding.resource}"
                                          if finding.resource else ""),
             "", finding.message]
    if finding.evidence:
        lines += ["", f"Evidence: {finding.evidence}"]
    fix = fix_text(finding)
    if fix:
        lines += ["", f"Fix: {fix}"]
    return "\n".join(lines)


def _error_case(suite: ET.Element, diagnostic: Diagnostic) -> None:
    where = display_location(diagnostic.location)
    case = _case(suite, INPUT_SUITE, f"{diagnostic.code}: {where or 'the audit'}", "errors",
                 file=display_path(diagnostic.location.path) if diagnostic.location else "",
                 line=str(diagnostic.location.line) if diagnostic.location and
                 diagnostic.location.line else "")
    error = ET.SubElement(case, "error", type=diagnostic.code,
                          message=_text(diagnostic.message))
    error.text = _text(f"{where}: {diagnostic.message}" if where else diagnostic.message)


def _tool_suite(root: ET.Element, result: AuditResult, timestamp: str | None) -> None:
    suite = _suite(root, TOOL_SUITE, timestamp)
    properties = ET.SubElement(suite, "properties")
    for name, value in (("version", tool_version()), ("rules_run", str(result.rules_run)),
                        ("files_scanned", str(result.files_scanned)),
                        ("projects", str(result.projects)), ("services", str(result.services))):
        ET.SubElement(properties, "property", name=name, value=value)
    summary = (f"{plural(len(result.active()), 'active finding')}, "
               f"{plural(len(result.findings) - len(result.active()), 'waived finding')}, "
               f"{plural(len(result.errors), 'input error')}; "
               f"{plural(result.rules_run, 'rule')} run")
    for target in result.targets or ["."]:
        case = _case(suite, TOOL_SUITE, f"audit {display_path(target)}")
        ET.SubElement(case, "system-out").text = _text(summary)
    others = [str(d) if d.location is None else
              f"{display_location(d.location)}: {d.level}[{d.code}]: {d.message}"
              for d in result.diagnostics if d.level != "error"]
    if others:
        ET.SubElement(suite, "system-out").text = _text("\n".join(others))


def _timestamp(started: str) -> str | None:
    """The start as the schema's timestamp: ISO 8601 without a zone, in UTC."""
    try:
        when = dt.datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return None
    if when.utcoffset() is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


def _text(value: object) -> str:
    # Controls and bidi overrides shown, as every reporter shows them (report.escape); what
    # XML 1.0 cannot hold at all is dropped.
    return _NOT_XML.sub("", block(value))
