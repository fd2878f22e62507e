"""Fix snippets that several findings share, shown once with the list of what they fix.

The hardening rule writes the same `cap_drop`/`security_opt`/`read_only` snippet for every
service that lacks them: a lab of twenty services printed it twenty times, and the reader
could not tell whether the copies differed. A report shows a snippet (a fix of several
lines) once, at its first finding, with the other findings it applies to; those point back
to it. One-line fixes are shown where they are: a reference would be no shorter.

Standard library only: the terminal reporter imports it on the path that must start fast.
"""

from __future__ import annotations

from collections.abc import Callable

from labwarden.model import Finding
from labwarden.report._common import display_location
from labwarden.report.subject import service_label


class SharedFix:
    __slots__ = ("first", "others")

    def __init__(self, first: Finding):
        self.first = first                  # where the snippet is shown
        self.others: list[Finding] = []     # the findings that point back to it


def in_order(findings: list[Finding]) -> list[Finding]:
    """Findings in the order the reports show them: active ones, then waived ones."""
    return [f for f in findings if not f.waived] + [f for f in findings if f.waived]


def shared_fixes(findings: list[Finding], text_of: Callable[[Finding], str]
                 ) -> dict[int, SharedFix]:
    """For each finding (by `id()`) whose snippet (`text_of`, several lines) another finding
    of the same rule shares: the group. `findings` in the order they are shown."""
    groups: dict[tuple[str, str], SharedFix] = {}
    member: dict[int, SharedFix] = {}
    for f in findings:
        text = text_of(f).strip()
        if "\n" not in text:
            continue
        key = (f.rule.id, text)
        group = groups.get(key)
        if group is None:
            groups[key] = SharedFix(f)
        else:
            group.others.append(f)
    for group in groups.values():
        if group.others:
            for f in [group.first, *group.others]:
                member[id(f)] = group
    return member


def subject(f: Finding) -> str:
    """`ID (project/service)`, or the ID and place for a finding about no service."""
    return f"{f.id} ({service_label(f.asset) or display_location(f.location)})"
