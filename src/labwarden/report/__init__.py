"""Reporters: each renders one `AuditResult` and recomputes nothing.

The format's module is imported only when that format is asked for, so `import
labwarden.report` stays cheap: the terminal reporter in plain mode never imports rich, and
only the html format imports jinja2; none imports jsonschema.
"""

from __future__ import annotations

import importlib

from labwarden.model import AuditResult

TYPE_CHECKING = False       # typing stays off the start-up path
if TYPE_CHECKING:
    from collections.abc import Iterable

FORMATS = ("terminal", "json", "sarif", "markdown", "html", "junit")

_MODULES = {
    "terminal": "labwarden.report.terminal",
    "json": "labwarden.report.json_report",
    "sarif": "labwarden.report.sarif",
    "markdown": "labwarden.report.markdown",
    "html": "labwarden.report.html",
    "junit": "labwarden.report.junit",
}


def render(result: AuditResult, fmt: str, *, color: bool | None = None,
           width: int | None = None, roadmap=None, evaluations=(), catalog=None,
           compact: bool = False) -> str:
    """The report of `result` in `fmt`. `color` and `width` concern the terminal only:
    color None means "when stdout is a terminal and NO_COLOR is unset". The remediation
    `roadmap` is a section of the Markdown and HTML reports; checklist `evaluations` (with
    their `catalog`) are shown by the HTML report. `compact` (terminal and Markdown): a
    line per finding, without evidence, fix or details."""
    try:
        module = importlib.import_module(_MODULES[fmt])
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r} "
                         f"(expected one of: {', '.join(FORMATS)})") from None
    if fmt == "terminal":
        return module.render(result, color=color, width=width, compact=compact)
    if fmt == "html":
        return module.render(result, roadmap=roadmap, evaluations=evaluations, catalog=catalog)
    if fmt == "markdown":
        return module.render(result, roadmap=roadmap, compact=compact)
    return module.render(result)


def preparer(fmt: str):
    """What the report in `fmt` can do to the findings before the audit ends, while it waits
    (see AuditOptions.prepare), or None."""
    if fmt != "json":
        return None

    def prepare(findings, diagnostics) -> None:
        # The reporter (with json) is imported here, while the audit waits, rather than
        # with the options, before the audit starts: 3 ms that no fork would share.
        importlib.import_module(_MODULES[fmt]).prepare(findings, diagnostics)
    return prepare


def render_pieces(result: AuditResult, fmt: str, **options) -> Iterable[str] | Iterable[bytes]:
    """`render(result, fmt, **options)` as pieces to write one after the other: the JSON
    report of a large tree is megabytes, which joined would be one more copy to make and
    then to encode whole, so it comes already UTF-8 (as JSON is exchanged), in pieces made
    as they are taken; other formats come as one piece of text."""
    if fmt == "json":
        return importlib.import_module(_MODULES[fmt]).pieces(result)
    return [render(result, fmt, **options)]
