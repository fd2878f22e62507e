"""`--min-severity`: what a report shows, apart from what decides the exit code.

The filter is for reading: the report lists the active findings at or above the level and
says, in a note, how many it left out; waived findings stay listed, for the record (they
count for nothing), so that every count in the summary is still the whole audit's, as the
exit code is. The exit code is
still decided over every finding by --fail-on (or policy.fail_on), so a CI gate cannot be
loosened by a display option: `--min-severity critical` with the default --fail-on high
still exits 1 on a HIGH finding, and the note says so.
"""

from __future__ import annotations

from labwarden.model import AuditResult, Diagnostic, Severity


class ShownResult(AuditResult):
    """A result with some findings left out of the report: its counts (every report's
    summary) are still those of the whole audit, which the exit code was decided on."""

    __slots__ = ("whole_counts",)
    _fields = AuditResult._fields + ("whole_counts",)
    whole_counts: dict[Severity, int]

    def counts(self) -> dict[Severity, int]:
        return dict(self.whole_counts)


def shown(result: AuditResult, min_severity: Severity | None,
          fail_on: Severity | None = None) -> AuditResult:
    """The result as the report shows it: `result` itself without a level; else a copy
    without the findings below `min_severity`, and a note of how many were left out."""
    if min_severity is None:
        return result
    kept = [f for f in result.findings if f.waived or f.severity >= min_severity]
    hidden = [f for f in result.findings if not f.waived and f.severity < min_severity]
    diagnostics = list(result.diagnostics)
    if hidden:
        gating = sum(1 for f in hidden if fail_on is not None and f.severity >= fail_on)
        counted = (f"; {gating} of them still count for the exit code (--fail-on "
                   f"{fail_on.name.lower()})") if gating and fail_on is not None else ""
        word = "finding" if len(hidden) == 1 else "findings"
        diagnostics.append(Diagnostic(
            "info", "findings-hidden", f"{len(hidden)} {word} below "
            f"{min_severity.name} not shown (--min-severity {min_severity.name.lower()})"
            f"{counted}"))
    copy = ShownResult(findings=kept, diagnostics=diagnostics, targets=result.targets,
                       files_scanned=result.files_scanned, projects=result.projects,
                       services=result.services, rules_run=result.rules_run,
                       started=result.started, duration_s=result.duration_s)
    copy.facts = result.facts
    copy.whole_counts = result.counts()
    return copy
