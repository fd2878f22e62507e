"""The stage every audit shares: run the rules on facts, then conclude — waivers, redaction
of what diagnostics quote, numbering — and the exit code of the result.

Compose projects (`audit.compose`), live probes (`audit.live`) and scripts (`audit.scripts`)
each turn their inputs into facts and hand them to one `RuleRunner`; none of them judges
anything itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container

from labwarden.config import Config
from labwarden.model import AuditResult, Diagnostic, Finding, Hit, Location, Rule, Severity
from labwarden.redact import redactor, scrub
from labwarden.rules import registry
from labwarden.suppress import apply_waivers


class RuleRunner:
    """Facts in, findings out: the rules for each fact's type (from the source table), the
    configuration's disabled rules and severity overrides, and one redactor over every text
    a finding shows."""


    def __init__(self, config: Config):
        self.config = config
        self.settings = config.settings
        self.overrides = config.severity_overrides
        self.by_fact: dict[type, list[Rule]] = {}   # filled per fact type on first use
        # Rules write the same message, evidence and fix for many services: findings share
        # one copy of each (less memory, and a worker's findings pickle to less).
        self.shared: dict = {}
        self.redact: Callable[[str], str] = scrub
        # Each text as a finding shows it (redacted, the shared copy), by the text as the
        # rule wrote it, for the redactor of the moment: `_scrubbed` while that is `scrub`,
        # whose answers hold for every input.
        self._scrubbed: dict[str, str] = {}
        self.shown: dict[str, str] = self._scrubbed

    def use_secrets(self, values) -> None:
        """The secret values of the input the next facts come from: every finding made from
        them shows such a value redacted, whichever rule quotes it and wherever."""
        self.redact = redactor(values)
        self.shown = self._scrubbed if self.redact is scrub else {}

    def rules(self, fact_type: type) -> list[Rule]:
        found = self.by_fact.get(fact_type)
        if found is None:
            found = self.by_fact[fact_type] = [r for r in registry.rules_for(fact_type)
                                               if r.id not in self.config.disabled]
        return found

    def run(self, fact, asset: str, findings: list[Finding],
            diagnostics: list[Diagnostic]) -> None:
        for rule in self.rules(type(fact)):
            try:
                for hit in rule.check(fact, self.settings):
                    findings.append(self.finding(rule, hit, asset))
            except Exception as exc:  # a rule bug must not lose the rest of the audit
                # The exception text may quote input values: name only its type.
                diagnostics.append(Diagnostic("error", "rule-crashed", f"{rule.id} failed on "
                                              f"{asset}: {type(exc).__name__}",
                                              getattr(fact, "location", None)))

    def finding(self, rule: Rule, hit: Hit, asset: str) -> Finding:
        # Severity.INFO is 0: test for None, never for truth.
        severity = self.overrides.get(rule.id) if self.overrides else None
        if severity is None:
            severity = hit.severity if hit.severity is not None else rule.severity
        # A hit may narrow the rule's checklist items (one grouped finding, several items).
        items = rule.checklist if hit.checklist is None else \
            tuple(i for i in hit.checklist if i in rule.checklist)
        shown, text = self.shown.get, self.text
        # Positional, in Finding's order: ten thousand findings for a large tree. Most texts
        # were shown before; an empty one (no evidence, no own fix) is looked up as "".
        return Finding(rule, severity, shown(hit.message) or text(hit.message), hit.location,
                       hit.asset or asset, self.redact(hit.resource),
                       shown(hit.evidence) or text(hit.evidence),
                       shown(hit.fix) or text(hit.fix), None, "",
                       self.shared.setdefault(items, items))

    def text(self, text: str) -> str:
        """What a finding shows of a rule's text: redacted, one copy shared by all."""
        if not text:             # most hits have no evidence or fix of their own
            return text
        found = self.shown.get(text)
        if found is None:
            found = self.redact(text)
            found = self.shown[text] = self.shared.setdefault(found, found)
        return found

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def ids(self) -> set[str]:
        return {r.id for rules in self.by_fact.values() for r in rules}


def redact_diagnostics(diagnostics: list[Diagnostic], redact,
                       done: Container[int] = ()) -> list[Diagnostic]:
    """Diagnostics as reported: their messages may quote the input too (a key, a value),
    and their locations may be a target as written (`https://user:password@host/`).
    `done`: the id() of each diagnostic `redact` has cleaned already, kept as it is (by
    identity: hashing a diagnostic's fields costs half as much as redacting them)."""
    cleaned = []
    for diagnostic in diagnostics:
        if id(diagnostic) in done:
            cleaned.append(diagnostic)
            continue
        message = redact(diagnostic.message)
        location = redact_location(diagnostic.location, redact)
        cleaned.append(diagnostic if message == diagnostic.message and
                       location is diagnostic.location else Diagnostic(
                           diagnostic.level, diagnostic.code, message, location))
    return cleaned


def redact_location(location: Location | None, redact) -> Location | None:
    """A location whose path is a target with credentials in it, redacted. Only a path
    with "@" can hold a URL's password: every other one is returned as it is, uncopied."""
    if location is None or "@" not in location.path:
        return location
    path = redact(location.path)
    return location if path == location.path else Location(path, location.line,
                                                            location.column)


def conclude(findings: list[Finding], diagnostics: list[Diagnostic], config: Config,
             today: dt.date | None, redact=scrub, scope=None,
             redacted: Container[int] = ()) -> None:
    """The last stage of every audit: waivers (which report what they did not match, of
    what the audit's `scope` covered: audit.scope), the diagnostics' own quotes redacted
    (but those `redacted` by `redact` already, while the audit waited for a stage: their
    id()s, while `diagnostics` holds them), findings sorted and numbered."""
    apply_waivers(findings, config.waivers, diagnostics, today,
                  None if scope is None else scope.covers)
    diagnostics[:] = redact_diagnostics(diagnostics, redact, redacted)
    for finding in findings:        # a live finding's place is its target, as written
        if "@" in finding.location.path:
            finding.location = redact_location(finding.location, redact)  # type: ignore[assignment]
    number(findings)


_ID_PREFIXES = {s: f"{s.name}-" for s in Severity}


def sort_key(f: Finding):
    return (-f.severity, f.location.path, f.location.line, f.rule.id, f.resource)


def number(findings: list[Finding]) -> None:
    """Sort by severity and place, then number CRITICAL-001, HIGH-001, … (waived: WAIVED-001)."""
    findings.sort(key=sort_key)
    counters: dict[str, int] = {}
    prefixes = _ID_PREFIXES
    for f in findings:
        prefix = "WAIVED-" if f.suppression is not None else prefixes[f.severity]
        count = counters[prefix] = counters.get(prefix, 0) + 1
        f.id = prefix + str(count).zfill(3)     # as f"{count:03d}", at half the cost


def exit_code(result: AuditResult, fail_on: Severity | None, allow_partial: bool) -> int:
    if result.errors and not allow_partial:
        return 2
    if fail_on is not None and any(f.severity >= fail_on for f in result.active()):
        return 1
    return 0
