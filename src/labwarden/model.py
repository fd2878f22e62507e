"""The vocabulary every stage shares: severities, locations, rule metadata, findings, results.

Sources produce facts, rules turn facts into `Hit`s, the engine turns hits into `Finding`s
(adding the rule, the asset and the suppression state) and collects them in an
`AuditResult`, which reporters render without recomputing anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected one of: "
                             f"{', '.join(s.name.lower() for s in cls)})") from None

    @property
    def label(self) -> str:
        return self.name


class Location(NamedTuple):
    """A place in a file. Lines and columns are 1-based; line 0 means "the whole file".

    A NamedTuple rather than a dataclass: the YAML loader makes one per written line, and
    tuple construction is several times cheaper on that hot path.
    """

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Impact:
    """What applying the fix restarts and for how long, used by the remediation roadmap."""

    restarts: str = "service"          # none | service | project | host
    downtime_min: tuple[float, float] = (1, 2)


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """The rule's documentation under fixed headings, parsed from its docstring."""

    what: str
    why: str
    example: str
    fix: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    title: str
    fact: type
    check: object = field(repr=False, compare=False)
    doc: RuleDoc = field(repr=False, compare=False, default=None)
    checklist: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    impact: Impact = Impact()

    @property
    def area(self) -> str:
        return self.id.rstrip("0123456789")


@dataclass(slots=True)
class Hit:
    """What a rule reports: the engine adds the rule, the asset and the suppression state."""

    message: str
    location: Location
    resource: str = ""                 # stable identity inside the asset, for fingerprints
    evidence: str = ""                 # already redacted by the rule
    severity: Severity | None = None   # a contextual override of the rule's default
    fix: str = ""                      # a fix specific to this hit; else the rule's own
    checklist: tuple[str, ...] = ()    # the subset of the rule's items this hit fails


@dataclass(slots=True)
class Suppression:
    kind: str                          # inline | waiver
    justification: str
    owner: str = ""
    expires: str = ""
    location: Location | None = None


@dataclass(slots=True)
class Finding:
    rule: Rule
    severity: Severity
    message: str
    location: Location
    asset: str
    resource: str = ""
    evidence: str = ""
    fix: str = ""
    suppression: Suppression | None = None
    id: str = ""                       # CRITICAL-001…, assigned once the result is sorted
    checklist: tuple[str, ...] = ()    # the checklist items this finding fails

    def __post_init__(self):
        if not self.checklist:
            self.checklist = self.rule.checklist

    @property
    def fingerprint(self) -> str:
        # Rule + asset + resource, never the line: history and baselines survive edits.
        key = "\x1f".join((self.rule.id, self.asset, self.resource or self.message))
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    @property
    def waived(self) -> bool:
        return self.suppression is not None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem with the input rather than a security finding.

    level "error": part of the target could not be checked (exit 2 unless --allow-partial);
    level "gap": a value could not be resolved and was read the way Compose would read it;
    level "warning": anything else worth knowing (an expired or unused waiver…).
    """

    level: str
    code: str
    message: str
    location: Location | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.level}[{self.code}]: {self.message}"


@dataclass(slots=True)
class AuditResult:
    findings: list[Finding]
    diagnostics: list[Diagnostic]
    targets: list[str]
    files_scanned: int = 0
    projects: int = 0
    services: int = 0
    rules_run: int = 0
    started: str = ""
    duration_s: float = 0.0

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.waived]

    def counts(self) -> dict[Severity, int]:
        counts = {s: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            if not f.waived:
                counts[f.severity] += 1
        return counts

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]
