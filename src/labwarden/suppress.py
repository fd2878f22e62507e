"""Inline suppressions (`# labwarden: ignore[ID] reason`) and waivers from labwarden.yaml.

Both keep the finding in the result, marked, so every report still shows what was accepted
and by whom. A suppression without a reason does not suppress. An expired waiver stops
suppressing and says so; a waiver or inline suppression that matches nothing is reported,
so stale exceptions do not pile up.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re

from labwarden._record import Record, reduce_by_init
from labwarden.model import Diagnostic, Finding, Location, Suppression
from labwarden.rules._index import SPLIT_FROM

_INLINE = re.compile(r"#\s*labwarden:\s*ignore\[(?P<refs>[^\]]*)\](?P<reason>[^\n]*)")


class Waiver(Record):
    __slots__ = ("rule", "justification", "owner", "expires", "location", "service", "path",
                 "host", "host_group", "fingerprint", "group_hosts", "used")
    _compared = ("rule", "justification", "owner", "expires", "location", "service", "path",
                 "host", "host_group", "fingerprint")  # not `used`, nor the group's hosts

    def __init__(self, rule: str, justification: str, owner: str, expires: dt.date | None,
                 location: Location,
                 service: str | None = None,   # glob over "project/service" or the asset
                 path: str | None = None,      # glob over the finding's file path
                 host: str | None = None,
                 host_group: str | None = None,   # an inventory host group (Ansible's too)
                 used: bool = False,
                 # one finding, by the start of its fingerprint (`finding: CMP010:4d4eacd0112e`
                 # gives "4d4eacd0112e"): the name a roadmap or a record shows for it
                 fingerprint: str | None = None):
        self.rule = rule
        self.justification = justification
        self.owner = owner
        self.expires = expires
        self.location = location
        self.service = service
        self.path = path
        self.host = host
        self.host_group = host_group
        self.fingerprint = fingerprint
        # What the hosts of `host_group` are called in assets (inventory name, address,
        # snapshot name), set by labwarden.audit.host_groups; None: not resolved yet, and
        # then the waiver matches nothing.
        self.group_hosts: frozenset[str] | None = None
        self.used = used

    def matches(self, finding: Finding) -> bool:
        if not _rule_matches(self.rule, finding):
            return False
        asset = finding.asset.split(":", 1)[-1]
        if self.service and not (fnmatch.fnmatchcase(asset, self.service)
                                 or fnmatch.fnmatchcase(finding.asset, self.service)):
            return False
        if self.path and not (fnmatch.fnmatchcase(finding.location.path, self.path)
                              or fnmatch.fnmatchcase(finding.location.path, "*/" + self.path)):
            return False
        if self.host and not fnmatch.fnmatchcase(asset, self.host):
            return False
        if self.host_group is not None and not _on_hosts(asset, self.group_hosts):
            return False
        if self.fingerprint and not finding.fingerprint.startswith(self.fingerprint):
            return False
        return True


def _on_hosts(subject: str, hosts: frozenset[str] | None) -> bool:
    """Whether an asset's subject (`web01`, `10.0.0.5:22`, `[::1]:22`, `grafana.lab:443`)
    is one of `hosts` or a port on one of them."""
    if not hosts:
        return False
    if subject in hosts:
        return True
    host, sep, port = subject.rpartition(":")
    if sep and port.isdigit():
        return host in hosts or host.strip("[]") in hosts
    return False


def _rule_matches(ref: str, finding: Finding) -> bool:
    ref = ref.strip()
    if ref.upper() == finding.rule.id or ref.lower() == finding.rule.name or ref == "*":
        return True
    old = SPLIT_FROM.get(finding.rule.id)      # written before the rule was split off
    return old is not None and (ref.upper() == old[0] or ref.lower() == old[1])


class _Inline(Record):
    __slots__ = ("refs", "reason", "location", "used")

    def __init__(self, refs: list[str], reason: str, location: Location, used: bool = False):
        self.refs = refs
        self.reason = reason
        self.location = location
        self.used = used

    # Workers send thousands: unpickled by calling the class (its fields, in order).
    __reduce__ = reduce_by_init


def inline_markers(path: str, text: str) -> dict[int, _Inline]:
    """Markers by the line they apply to: their own line (trailing) and the next line."""
    markers: dict[int, _Inline] = {}
    if "labwarden:" not in text:
        return markers
    for number, line in enumerate(text.splitlines(), start=1):
        match = _INLINE.search(line)
        if not match:
            continue
        marker = _Inline([r.strip() for r in match.group("refs").split(",") if r.strip()],
                         match.group("reason").strip(), Location(path, number))
        markers[number] = marker
        if line.lstrip().startswith("#"):  # a comment line applies to the line below
            markers.setdefault(number + 1, marker)
    return markers


def apply_inline(findings: list[Finding], texts: dict[str, str],
                 diagnostics: list[Diagnostic]) -> None:
    by_file: dict[str, dict[int, _Inline]] = {}
    for path, text in texts.items():
        markers = inline_markers(path, text)
        if markers:
            by_file[path] = markers
    apply_markers(findings, by_file, diagnostics)


def apply_markers(findings: list[Finding], by_file: dict[str, dict[int, _Inline] | None],
                  diagnostics: list[Diagnostic]) -> None:
    """`apply_inline` with each file's `inline_markers` already taken (None: it has none),
    so that a caller need not keep every file's text until its findings are known."""
    mark_suppressed(findings, by_file)
    diagnostics.extend(marker_diagnostics(by_file))


def mark_suppressed(findings: list[Finding],
                    by_file: dict[str, dict[int, _Inline] | None]) -> None:
    """Suppress the findings a marker with a reason names, and mark the markers used."""
    for finding in findings:
        marker = (by_file.get(finding.location.path) or {}).get(finding.location.line)
        if marker is None or not any(_rule_matches(r, finding) for r in marker.refs):
            continue
        marker.used = True
        if not marker.reason:
            continue  # reported by marker_diagnostics, once per marker
        finding.suppression = Suppression("inline", marker.reason, location=marker.location)


def marker_diagnostics(by_file: dict[str, dict[int, _Inline] | None]) -> list[Diagnostic]:
    """What is wrong with the markers, once every finding was offered to them: one without
    a reason, one that matched nothing."""
    diagnostics = []
    seen = set()
    for markers in by_file.values():
        for marker in (markers or {}).values():
            if id(marker) in seen:
                continue
            seen.add(id(marker))
            if not marker.reason:
                diagnostics.append(Diagnostic(
                    "warning", "suppression-without-reason", "an inline suppression needs a "
                    "reason after the brackets; this one suppresses nothing", marker.location))
            elif not marker.used:
                diagnostics.append(Diagnostic(
                    "warning", "unused-suppression", f"ignore[{', '.join(marker.refs)}] matches "
                    "no finding here; remove it", marker.location))
    return diagnostics


def merge_markers(parts: list[dict[str, dict[int, _Inline] | None]]
                  ) -> dict[str, dict[int, _Inline] | None]:
    """The markers of files that several processes read, as one: each file's markers as
    the first part read them, used when any part used them."""
    merged: dict[str, dict[int, _Inline] | None] = {}
    for part in parts:
        for path, markers in part.items():
            first = merged.get(path)
            if path not in merged:
                merged[path] = markers
            elif first and markers:
                for line, marker in markers.items():
                    if marker.used and line in first:
                        first[line].used = True
    return merged


class _WaiverIndex:
    """The waivers that may match a finding, by the rule they name, in the order written:
    trying every waiver on every finding made the waivers cost findings × waivers."""

    def __init__(self, waivers: list[Waiver]):
        self.by_id: dict[str, list[tuple[int, Waiver]]] = {}
        self.by_name: dict[str, list[tuple[int, Waiver]]] = {}
        self.any: list[tuple[int, Waiver]] = []
        for order, waiver in enumerate(waivers):
            ref = waiver.rule.strip()
            if ref == "*":
                self.any.append((order, waiver))
                continue
            self.by_id.setdefault(ref.upper(), []).append((order, waiver))
            self.by_name.setdefault(ref.lower(), []).append((order, waiver))

    def for_rule(self, finding: Finding) -> list[Waiver]:
        found = self.by_id.get(finding.rule.id, []) + self.by_name.get(finding.rule.name, []) \
            + self.any
        old = SPLIT_FROM.get(finding.rule.id)
        if old is not None:     # a waiver written before the rule was split off
            found = found + self.by_id.get(old[0], []) + self.by_name.get(old[1], [])
        if len(found) < 2:
            return [w for _, w in found]
        return [w for _, w in sorted(dict(found).items())]   # once each, in written order


def apply_waivers(findings: list[Finding], waivers: list[Waiver], diagnostics: list[Diagnostic],
                  today: dt.date | None = None, covers=None) -> None:
    """Mark the findings each waiver accepts. A waiver that matched nothing is reported:
    expired if it has expired, else unused when `covers(waiver)` (None: always) says this
    audit could have matched it (audit.scope: a partial audit cannot tell for the rest)."""
    if not waivers:      # most audits: nothing to match, nothing to report unused
        return
    today = today or dt.date.today()
    expired_reported = set()
    candidates = _WaiverIndex(waivers)
    for finding in findings:
        if finding.suppression is not None:
            continue
        for waiver in candidates.for_rule(finding):
            if not waiver.matches(finding):
                continue
            waiver.used = True
            if waiver.expires and waiver.expires < today:
                if id(waiver) not in expired_reported:
                    expired_reported.add(id(waiver))
                    diagnostics.append(Diagnostic(
                        "warning", "waiver-expired", f"the waiver for {waiver.rule} "
                        f"(owner {waiver.owner or 'unknown'}) expired on {waiver.expires}; its "
                        "findings count again", waiver.location))
                continue
            finding.suppression = Suppression(
                "waiver", waiver.justification, owner=waiver.owner,
                expires=str(waiver.expires or ""), location=waiver.location)
            break
    for waiver in waivers:
        if waiver.used:
            continue
        if waiver.expires and waiver.expires < today:
            # Expired says more than unused, and is true whatever part was audited.
            diagnostics.append(Diagnostic(
                "warning", "waiver-expired", f"the waiver for {waiver.rule} (owner "
                f"{waiver.owner or 'unknown'}) expired on {waiver.expires}; renew it or "
                "remove it", waiver.location))
        elif covers is None or covers(waiver):
            diagnostics.append(Diagnostic("warning", "unused-waiver", f"the waiver for "
                                          f"{waiver.rule} matches no finding; remove it",
                                          waiver.location))
