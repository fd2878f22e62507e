"""What several reporters share: severity order, fix text, grouping, paths, the version.

Standard library only and nothing heavy: the terminal reporter imports this on the path that
must start fast.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import textwrap
from collections.abc import Callable, Iterable

from labwarden.model import AuditResult, Diagnostic, Finding, Location, Severity
from labwarden.report.escape import block
from labwarden.sources.live.targets import SCHEMES

SEVERITIES = tuple(sorted(Severity, reverse=True))          # CRITICAL first
DIAGNOSTIC_LEVELS = ("error", "gap", "warning", "info")

_FENCE = re.compile(r"^\s*(```|~~~)")
_YAML_KEY = re.compile(r"^[\w.-]+:\s*(#.*)?$")       # `logging:`: a snippet from its first line

def tool_version() -> str:
    # The package's own constant, as `--version` and the history store use: asking the
    # installed distribution's metadata instead costs a tenth of a single-file run.
    from labwarden import __version__

    return __version__


def first_paragraph(text: str) -> str:
    """The first paragraph of a doc section, joined onto one line."""
    for paragraph in (text or "").strip().split("\n\n"):
        joined = " ".join(line.strip() for line in paragraph.splitlines() if line.strip())
        if joined:
            return joined
    return ""


def rule_fix(finding: Finding) -> str:
    doc = finding.rule.doc
    return doc.fix if doc is not None else ""


def fix_text(finding: Finding) -> str:
    """The hit's own fix, else the first paragraph of the rule's documented fix."""
    return finding.fix or first_paragraph(rule_fix(finding))


def fix_parts(text: str, own: bool) -> list[tuple[str, str]]:
    """A fix as ("p", prose) paragraphs and ("pre", snippet) blocks, plain text that each
    format escapes its own way.

    `own`: the hit's own fix, whose first line is prose and whose other lines, when not
    fenced, are a snippet the rule built; otherwise the rule's documentation, Markdown with
    fenced snippets. Either may quote the audited file, fences included: a fence is only
    ever read here, never passed on, so a value cannot open or close a block in a report.
    """
    lines = block(text).strip("\n").split("\n")
    if not any(row.strip() for row in lines):
        return []
    if own and len(lines) > 1 and not any(_FENCE.match(row) for row in lines):
        if _YAML_KEY.match(lines[0]):
            return [("pre", textwrap.dedent("\n".join(lines)).strip("\n"))]
        snippet = textwrap.dedent("\n".join(lines[1:])).strip("\n")
        return [("p", lines[0])] + ([("pre", snippet)] if snippet else [])
    parts: list[tuple[str, str]] = []
    paragraph: list[str] = []
    snippet: list[str] = []
    fenced = False

    def flush() -> None:
        if paragraph:
            parts.append(("p", " ".join(paragraph)))
            paragraph.clear()

    for row in lines:
        if _FENCE.match(row):
            if fenced:
                parts.append(("pre", textwrap.dedent("\n".join(snippet)).strip("\n")))
                snippet.clear()
            else:
                flush()
            fenced = not fenced
        elif fenced:
            snippet.append(row)
        elif row.strip():
            paragraph.append(row.strip())
        else:
            flush()
    flush()
    if fenced and snippet:
        parts.append(("pre", textwrap.dedent("\n".join(snippet)).strip("\n")))
    return parts


def by_severity(result: AuditResult) -> dict[Severity, list[Finding]]:
    """Active findings per severity, CRITICAL first, in the engine's order."""
    groups: dict[Severity, list[Finding]] = {s: [] for s in SEVERITIES}
    for finding in result.findings:
        if not finding.waived:
            groups[finding.severity].append(finding)
    return groups


def waived(result: AuditResult) -> list[Finding]:
    return [f for f in result.findings if f.waived]


def diagnostics_by_level(result: AuditResult) -> dict[str, list[Diagnostic]]:
    groups: dict[str, list[Diagnostic]] = {level: [] for level in DIAGNOSTIC_LEVELS}
    for diagnostic in result.diagnostics:
        groups.setdefault(diagnostic.level, []).append(diagnostic)
    return groups


def by_code(diagnostics: Iterable[Diagnostic]) -> list[tuple[str, list[Diagnostic]]]:
    """Diagnostics grouped by code, most frequent first, each group in input order."""
    groups: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        groups.setdefault(diagnostic.code, []).append(diagnostic)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def is_target(path: str) -> bool:
    """A probe target (`ssh://host:22`, `snapshot:DIR`) stands where a live fact has no
    file: it is shown as written, never resolved as a path (which would turn `ssh://h`
    into `ssh:/h`)."""
    scheme, colon, _ = path.partition(":")
    return bool(colon) and scheme.lower() in SCHEMES


def relative_path(path: str, cwd: str | None = None) -> str | None:
    """`path` relative to the working directory with forward slashes, or None outside it
    (or when it is a probe target, not a path)."""
    if is_target(path):
        return None
    cwd = cwd or os.getcwd()
    try:
        rel = os.path.relpath(os.path.abspath(path), cwd)
    except ValueError:  # another drive on Windows
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def display_path(path: str) -> str:
    return relative_path(path) or path


def display_location(location: Location | None) -> str:
    if location is None:
        return ""
    path = display_path(location.path)
    return f"{path}:{location.line}" if location.line else path


def suppression_summary(finding: Finding) -> str:
    """Who waived a finding and until when, on one line (without the justification)."""
    s = finding.suppression
    if s is None:
        return ""
    where = f" at {display_location(s.location)}" if s.location else ""
    if s.kind == "inline":
        return f"suppressed inline{where}"
    owner = s.owner or "unknown owner"
    until = f" until {s.expires}" if s.expires else " with no expiry"
    return f"waived by {owner}{until} (waiver{where})"


def impact_text(finding: Finding) -> str:
    impact = finding.rule.impact
    low, high = impact.downtime_min
    minutes = f"{_num(low)}–{_num(high)} min" if low != high else f"{_num(low)} min"
    restarts = {"none": "no restart", "service": "restarts the service",
                "project": "restarts the project", "host": "restarts the host"}
    return f"{restarts.get(impact.restarts, 'restarts ' + impact.restarts)}, {minutes} downtime"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def report_date(started: str, escape: Callable[[str], str]) -> str:
    """When the audit started, to the minute (UTC when the time says its zone); text that is
    not an ISO time is shown as it is, through the format's `escape`."""
    if not started:
        return "unknown"
    try:
        when = dt.datetime.fromisoformat(started)
    except ValueError:
        return escape(started)
    if when.utcoffset() is not None:
        return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")
