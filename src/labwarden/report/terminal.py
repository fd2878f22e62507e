"""The terminal report: findings grouped by severity, then waived ones, then diagnostics.

The layout is built once, as lines of (text, style) segments with abstract style names, and
then rendered either through rich (when colour is on) or as plain text (texts joined). The
plain path never imports rich: the CLI runs on every commit and rich costs more to import
than the whole audit of a small tree.

Everything shown is already redacted by the rules; every segment still passes
`escape.terminal`, which makes control characters and bidi overrides visible, so a crafted
name cannot send escape sequences to the terminal or reorder what it shows.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap

from labwarden.model import AuditResult, Diagnostic, Finding
from labwarden.report._common import (
    SEVERITIES, by_code, by_severity, diagnostics_by_level, display_location, fix_text, plural,
    suppression_summary, waived)
from labwarden.report.escape import terminal
from labwarden.report.shared_fixes import SharedFix, in_order, shared_fixes, subject
from labwarden.report.subject import service_label

Segment = tuple[str, "str | None"]
Line = list[Segment]

DEFAULT_WIDTH = 100
MIN_WIDTH = 40
GAP_EXAMPLES = 3           # locations shown per coverage-gap code
MAX_LISTED = 25            # errors / warnings listed before "… and N more"

# Abstract style names used by the layout → rich styles. Only the rich path reads this.
RICH_STYLES = {
    "CRITICAL": "bold white on red",
    "HIGH": "bold red",
    "MEDIUM": "bold yellow",
    "LOW": "bold cyan",
    "INFO": "bold blue",
    "WAIVED": "bold magenta",
    "heading": "bold",
    "path": "cyan",
    "rule": "magenta",
    "label": "dim",
    "dim": "dim",
    "evidence": "yellow",
    "fix": "green",
    "error": "bold red",
    "gap": "yellow",
    "warning": "yellow",
    "info": "blue",
    "ok": "bold green",
}

_FENCE = re.compile(r"^\s*(```|~~~)[\w-]*\s*$")      # Markdown fences in a fix snippet


def render(result: AuditResult, *, color: bool | None = None, width: int | None = None,
           compact: bool = False) -> str:
    """The report; `compact`: one line per finding and per kind of problem (a CI log)."""
    use_color = _color_wanted() if color is None else color
    width = max(MIN_WIDTH, width or _terminal_width())
    lines = build_compact(result, width) if compact else build(result, width)
    if use_color:
        return _render_rich(lines, width)
    return _render_plain(lines)


# ----- layout ---------------------------------------------------------------------------


class _Layout:
    def __init__(self, width: int):
        self.width = width
        self.lines: list[Line] = []

    def add(self, *segments: Segment) -> None:
        self.lines.append([(terminal(text), style) for text, style in segments if text])

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append([])

    def prose(self, indent: int, label: str, text: str, style: str | None = None) -> None:
        """`label text…`, wrapped to the width, continuation lines aligned under the text.

        A text of several lines (a fix with a YAML snippet) keeps its lines after the first:
        re-flowing a snippet would make it wrong, not just ugly.
        """
        first, *rest = str(text).strip("\n").split("\n")
        rest = [line for line in rest if not _FENCE.match(line)]
        head = " " * indent + label
        room = max(20, self.width - len(head))
        chunks = textwrap.wrap(terminal(first), room, break_long_words=False,
                               break_on_hyphens=False) or [""]
        self.lines.append([(" " * indent, None), (label, "label"), (chunks[0], style)])
        for chunk in chunks[1:] + [terminal(line.expandtabs(4)).rstrip() for line in rest]:
            self.lines.append([(" " * len(head), None), (chunk, style)])


def build(result: AuditResult, width: int = DEFAULT_WIDTH) -> list[Line]:
    """The whole report as lines of (text, style) segments."""
    out = _Layout(width)
    _header(out, result)
    shared = shared_fixes(in_order(result.findings), fix_text)
    groups = by_severity(result)
    for severity in SEVERITIES:
        findings = groups[severity]
        if not findings:
            continue
        out.blank()
        out.add((f"{severity.name}", severity.name), (f" ({len(findings)})", "heading"))
        for finding in findings:
            _finding(out, finding, shared.get(id(finding)))
    accepted = waived(result)
    if accepted:
        out.blank()
        out.add(("WAIVED", "WAIVED"), (f" ({len(accepted)}) — accepted, not counted", "heading"))
        for finding in accepted:
            _finding(out, finding, shared.get(id(finding)))
    if not result.findings:
        out.blank()
        out.add(_nothing_listed(result))
    _diagnostics(out, result)
    out.blank()
    _summary(out, result)
    return out.lines


def build_compact(result: AuditResult, width: int = DEFAULT_WIDTH) -> list[Line]:
    """The compact report: the header, one line per finding (ID, place, service, rule and
    the message cut to the width), one line per diagnostic code, the summary."""
    out = _Layout(width)
    _header(out, result)
    groups = by_severity(result)
    for severity in SEVERITIES:
        if groups[severity]:
            out.blank()
            out.add((severity.name, severity.name), (f" ({len(groups[severity])})", "heading"))
            for finding in groups[severity]:
                _finding_line(out, finding)
    accepted = waived(result)
    if accepted:
        out.blank()
        out.add(("WAIVED", "WAIVED"), (f" ({len(accepted)})", "heading"))
        for finding in accepted:
            _finding_line(out, finding)
    if not result.findings:
        out.blank()
        out.add(_nothing_listed(result))
    if result.diagnostics:
        out.blank()
        levels = diagnostics_by_level(result)
        for level, title in (("error", "errors"), ("gap", "coverage gaps"),
                             ("warning", "warnings"), ("info", "notes")):
            items = levels.get(level)
            if items and len(items) == 1:       # one: what it says, not just its code
                out.prose(0, f"{title} (1): ", f"{items[0].code}: {items[0].message}", level)
            elif items:
                codes = ", ".join(f"{code} ×{len(group)}" for code, group in by_code(items))
                out.prose(0, f"{title} ({len(items)}): ", codes, level)
    out.blank()
    _summary(out, result)
    return out.lines


def _finding_line(out: _Layout, f: Finding) -> None:
    label = "WAIVED" if f.waived else f.severity.name
    head: list[Segment] = [("  ", None), (f.id or label, label), ("  ", None),
                           (display_location(f.location), "path"), ("  ", None)]
    service = service_label(f.asset)
    if service:
        head += [(service, "heading"), ("  ", None)]
    head += [(f.rule.id, "rule"), ("  ", None)]
    # The rule's title, not the message: short enough for one line; the full report (and
    # `labwarden rule ID`) has the rest.
    used = sum(len(terminal(text)) for text, _ in head)
    title = f.rule.title
    room = max(20, out.width - used)
    if len(title) > room:
        title = title[:room - 1].rstrip() + "…"
    out.add(*head, (title, None))


def _nothing_listed(result: AuditResult) -> Segment:
    if any(result.counts().values()):      # all left out by --min-severity (report.display)
        return ("No findings at the severity shown; see the notes.", "dim")
    return ("No findings.", "ok")


def _header(out: _Layout, result: AuditResult) -> None:
    targets = ", ".join(result.targets)
    out.add(("labwarden", "heading"), (f" audit of {targets}" if targets else " audit", None))
    out.prose(0, "", f"{plural(result.projects, 'project')}, "
              f"{plural(result.services, 'service')}, "
              f"{plural(result.files_scanned, 'file')} scanned, "
              f"{plural(result.rules_run, 'rule')} run in {result.duration_s:.2f} s", "dim")


def _finding(out: _Layout, f: Finding, shared: SharedFix | None = None) -> None:
    out.blank()
    label = "WAIVED" if f.waived else f.severity.name
    segments: list[Segment] = [("  ", None), (f.id or label, label), ("  ", None),
                               (display_location(f.location), "path"), ("  ", None)]
    service = service_label(f.asset)
    if service:    # one .env line read by three services is three findings: say whose
        segments += [("service ", "label"), (service, "heading"), ("  ", None)]
    segments += [(f.rule.id, "rule"), (f" {f.rule.name}", "dim")]
    if f.waived:
        segments.append((f"  [{f.severity.name}]", f.severity.name))
    elif f.severity != f.rule.severity:
        segments.append((f"  (default {f.rule.severity.name})", "dim"))
    out.add(*segments)
    out.prose(4, "", f.message)
    if f.evidence:
        out.prose(4, "evidence: ", f.evidence, "evidence")
    fix = fix_text(f)
    if shared is not None and shared.first is not f:
        out.prose(4, "fix: ", f"the same snippet as {subject(shared.first)}", "fix")
    elif fix:
        out.prose(4, "fix: ", fix, "fix")
        if shared is not None:
            out.prose(4, "same fix for: ", ", ".join(subject(o) for o in shared.others),
                      "dim")
    if f.waived:
        s = f.suppression
        out.prose(4, "accepted: ", suppression_summary(f), "WAIVED")
        if s.justification:
            out.prose(4, "why: ", s.justification, "dim")


def _diagnostics(out: _Layout, result: AuditResult) -> None:
    levels = diagnostics_by_level(result)
    if not result.diagnostics:
        return
    out.blank()
    out.add(("Coverage and input problems", "heading"))
    if levels["error"]:
        out.add(("  errors", "error"), (f" ({len(levels['error'])}) — these parts were "
                                         "not checked", None))
        _listed(out, levels["error"], "error")
    if levels["gap"]:
        out.add(("  coverage gaps", "gap"), (f" ({len(levels['gap'])}) — read the way "
                                              "Compose would", None))
        for code, items in by_code(levels["gap"]):
            where = ", ".join(display_location(d.location) for d in items[:GAP_EXAMPLES]
                              if d.location)
            more = f" (+{len(items) - GAP_EXAMPLES} more)" if len(items) > GAP_EXAMPLES else ""
            out.add(("    ", None), (code, "gap"), (f" ×{len(items)}", None))
            out.prose(6, "", items[0].message, "dim")
            if where:
                out.prose(6, "at ", where + more, "path")
    for level, title in (("warning", "warnings"), ("info", "notes")):
        if levels[level]:
            out.add((f"  {title}", level), (f" ({len(levels[level])})", None))
            _listed(out, levels[level], level)
    others = [d for level, ds in levels.items() if level not in ("error", "gap", "warning", "info")
              for d in ds]
    if others:
        out.add(("  other", "dim"), (f" ({len(others)})", None))
        _listed(out, others, "dim")


def _listed(out: _Layout, diagnostics: list[Diagnostic], style: str) -> None:
    for d in diagnostics[:MAX_LISTED]:
        where = display_location(d.location)
        out.add(("    ", None), (where, "path"), ("  " if where else "", None), (d.code, style))
        out.prose(6, "", d.message)
    if len(diagnostics) > MAX_LISTED:
        out.add(("    ", None), (f"… and {len(diagnostics) - MAX_LISTED} more", "dim"))


def _summary(out: _Layout, result: AuditResult) -> None:
    counts = result.counts()
    segments: list[Segment] = [("Summary: ", "heading")]
    for i, severity in enumerate(SEVERITIES):
        n = counts[severity]
        if i:
            segments.append((", ", None))
        segments.append((f"{n} {severity.name.lower()}", severity.name if n else "dim"))
    accepted = sum(1 for f in result.findings if f.waived)
    segments.append((f" · {accepted} waived", "WAIVED" if accepted else "dim"))
    levels = diagnostics_by_level(result)
    problems = [(len(levels["error"]), "error"), (len(levels["gap"]), "gap"),
                (len(levels["warning"]), "warning")]
    shown = [(n, word) for n, word in problems if n]
    if shown:
        segments.append((" · ", None))
        for i, (n, word) in enumerate(shown):
            if i:
                segments.append((", ", None))
            segments.append((plural(n, word), word))
    out.add(*segments)


# ----- output ---------------------------------------------------------------------------


def _render_plain(lines: list[Line]) -> str:
    return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)


def _render_rich(lines: list[Line], width: int) -> str:
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=width,
                      soft_wrap=True, highlight=False, markup=False, emoji=False,
                      legacy_windows=False)
    # One Text for the whole report: a print per line costs ten times as much.
    text = Text(no_wrap=True, end="")
    for line in lines:
        for chunk, style in _rstripped(line):
            text.append(chunk, RICH_STYLES.get(style) if style else None)
        text.append("\n")
    console.print(text, end="")
    return buffer.getvalue()


def _rstripped(line: Line) -> Line:
    """The line without trailing blanks, as the plain renderer writes it."""
    line = list(line)
    while line and not line[-1][0].rstrip():
        line.pop()
    if line:
        line[-1] = (line[-1][0].rstrip(), line[-1][1])
    return line


def _color_wanted() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stdout
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stdout
        return False


def _terminal_width() -> int:
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return DEFAULT_WIDTH
