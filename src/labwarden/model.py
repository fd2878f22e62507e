"""The vocabulary every stage shares: severities, locations, rule metadata, findings, results.

Sources produce facts, rules turn facts into `Hit`s, the audit's rule runner turns hits
into `Finding`s (adding the rule, the asset and the suppression state) and collects them in
an `AuditResult`, which reporters render without recomputing anything.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from enum import IntEnum

from labwarden._record import FrozenRecord, Record, reduce_by_init
from labwarden._record import set_frozen as _set

# Fields are declared in each class body (`name: type`, no value) for type checkers and IDEs:
# annotations only, so nothing is generated at import. `TYPE_CHECKING = False` is the
# spelling mypy and pyright honour without importing `typing` at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import NamedTuple

    class _LocationFields(NamedTuple):
        path: str
        line: int = 0
        column: int = 0
else:
    _LocationFields = namedtuple("Location", ("path", "line", "column"), defaults=(0, 0))


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


class Location(_LocationFields):
    """A place in a file. Lines and columns are 1-based; line 0 means "the whole file".

    A named tuple rather than a record: the YAML loader makes one per written line, and
    tuple construction is several times cheaper on that hot path. (What typing.NamedTuple
    would build, without importing typing for it.)
    """

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class Impact(FrozenRecord):
    """What applying the fix restarts and for how long, used by the remediation roadmap."""

    __slots__ = ("restarts", "downtime_min")
    restarts: str
    downtime_min: tuple[float, float]

    def __init__(self, restarts: str = "service",      # none | service | project | host
                 downtime_min: tuple[float, float] = (1, 2)):
        _set(self, "restarts", restarts)
        _set(self, "downtime_min", downtime_min)


class RuleDoc(FrozenRecord):
    """The rule's documentation under fixed headings, parsed from its docstring."""

    __slots__ = ("what", "why", "example", "fix")
    what: str
    why: str
    example: str
    fix: str

    def __init__(self, what: str, why: str, example: str, fix: str):
        _set(self, "what", what)
        _set(self, "why", why)
        _set(self, "example", example)
        _set(self, "fix", fix)


class Rule(FrozenRecord):
    __slots__ = ("id", "name", "severity", "title", "fact", "check", "doc", "checklist",
                 "refs", "impact", "proves")
    # `check` and `doc` are neither compared nor shown (field(compare=False, repr=False)).
    _compared = _shown = ("id", "name", "severity", "title", "fact", "checklist", "refs",
                          "impact", "proves")
    id: str
    name: str
    severity: Severity
    title: str
    fact: type                          # the fact class the rule judges
    check: Callable[..., Iterable[Hit]]  # (fact, settings) -> the hits
    doc: RuleDoc | None
    checklist: tuple[str, ...]      # the items its findings fail (it can disprove them)
    refs: tuple[str, ...]
    impact: Impact
    # The items whose facts it examines completely, so that its silence on a fact shows the
    # item holds (it can prove them too): a subset of `checklist`.
    proves: tuple[str, ...]

    def __init__(self, id: str, name: str, severity: Severity, title: str, fact: type,
                 check: Callable[..., Iterable[Hit]], doc: RuleDoc | None = None,
                 checklist: tuple[str, ...] = (), refs: tuple[str, ...] = (),
                 impact: Impact = Impact(), proves: tuple[str, ...] = ()):
        _set(self, "id", id)
        _set(self, "name", name)
        _set(self, "severity", severity)
        _set(self, "title", title)
        _set(self, "fact", fact)
        _set(self, "check", check)
        _set(self, "doc", doc)
        _set(self, "checklist", checklist)
        _set(self, "refs", refs)
        _set(self, "impact", impact)
        _set(self, "proves", proves)

    @property
    def area(self) -> str:
        return self.id.rstrip("0123456789")


class Hit(Record):
    """What a rule reports: the rule runner adds the rule, the asset and the suppression state."""

    __slots__ = ("message", "location", "resource", "evidence", "severity", "fix", "checklist",
                 "asset")
    message: str
    location: Location
    resource: str
    evidence: str
    severity: Severity | None
    fix: str
    checklist: tuple[str, ...] | None
    asset: str

    def __init__(self, message: str, location: Location,
                 resource: str = "",                  # stable identity inside the asset
                 evidence: str = "",                  # already redacted by the rule
                 severity: Severity | None = None,    # a contextual override of the rule's
                 fix: str = "",                       # a fix for this hit; else the rule's
                 # The subset of the rule's items this hit fails; None: all of them, (): none
                 # (a grouped finding fails only the items its evidence is about).
                 checklist: tuple[str, ...] | None = None,
                 asset: str = ""):                    # for rules over several assets: which
        self.message = message
        self.asset = asset
        self.location = location
        self.resource = resource
        self.evidence = evidence
        self.severity = severity
        self.fix = fix
        self.checklist = checklist


class Suppression(Record):
    __slots__ = ("kind", "justification", "owner", "expires", "location")
    kind: str
    justification: str
    owner: str
    expires: str
    location: Location | None

    def __init__(self, kind: str, justification: str, owner: str = "", expires: str = "",
                 location: Location | None = None):
        self.kind = kind                  # inline | waiver
        self.justification = justification
        self.owner = owner
        self.expires = expires
        self.location = location


def fingerprint_sha256():
    """SHA-256 for fingerprints, imported on first use (most commands hash nothing):
    CPython's own implementation where it has one (`_sha2`, `_sha256` before 3.12), which
    imports 3 ms faster than hashlib's OpenSSL one and hashes short texts faster too; the
    digests are the same."""
    global _sha256_function
    if _sha256_function is None:
        try:
            if sys.version_info >= (3, 12):
                from _sha2 import sha256      # type: ignore[import-not-found]
            else:
                from _sha256 import sha256    # type: ignore[import-not-found,no-redef]
        except ImportError:                   # another Python: hashlib knows
            from hashlib import sha256        # type: ignore[assignment]
        _sha256_function = sha256
    return _sha256_function


_sha256_function = None


class Finding(Record):
    __slots__ = ("rule", "severity", "message", "location", "asset", "resource", "evidence",
                 "fix", "suppression", "id", "checklist", "_fingerprint", "encoded")
    # Caches, not fields: `_fingerprint` for the property; `encoded` for a reporter, which
    # may encode what a finding says before the audit ends (report.json_report.prepare) and
    # use that text while `content()` is unchanged.
    _fields = __slots__[:-2]
    rule: Rule
    severity: Severity
    message: str
    location: Location
    asset: str
    resource: str
    evidence: str
    fix: str
    suppression: Suppression | None
    id: str
    checklist: tuple[str, ...]
    _fingerprint: tuple[tuple[str, str, str], str] | None
    encoded: tuple[tuple, bytes] | None

    def __init__(self, rule: Rule, severity: Severity, message: str, location: Location,
                 asset: str, resource: str = "", evidence: str = "", fix: str = "",
                 suppression: Suppression | None = None,
                 id: str = "",                        # CRITICAL-001…, once the result is sorted
                 # The checklist items this finding fails; None: all of its rule's.
                 checklist: tuple[str, ...] | None = None):
        self.rule = rule
        self.severity = severity
        self.message = message
        self.location = location
        self.asset = asset
        self.resource = resource
        self.evidence = evidence
        self.fix = fix
        self.suppression = suppression
        self.id = id
        self.checklist = rule.checklist if checklist is None else checklist
        self._fingerprint = None
        self.encoded = None

    @property
    def fingerprint(self) -> str:
        key = self._fingerprint_key()
        cached = self._fingerprint    # (key, digest): hashed once, again only if key changes
        if cached is None or cached[0] != key:
            digest = fingerprint_sha256()("\x1f".join(key).encode()).hexdigest()[:20]
            cached = self._fingerprint = (key, digest)
        return cached[1]

    def _fingerprint_key(self) -> tuple[str, str, str]:
        # Rule + asset + resource, never the line: history and baselines survive edits.
        # A tuple of the fields themselves: checking the cache compares them (the same
        # objects, as a rule: by identity), where a joined key was a new string to build
        # and compare on every access; joined only to be hashed.
        return (self.rule.id, self.asset, self.resource or self.message)

    def content(self) -> tuple:
        """What the finding says but its ID and suppression, which numbering and waivers
        settle last: a text made from this holds while it is unchanged."""
        return (self.rule, self.severity, self.message, self.location, self.asset,
                self.resource, self.evidence, self.fix, self.checklist)

    def hashed(self, fingerprint: str) -> None:
        """Take `fingerprint` as this finding's, as it is now: what `fingerprint` gave for
        it in another process (a worker), which need not be hashed again here."""
        self._fingerprint = (self._fingerprint_key(), fingerprint)

    @property
    def waived(self) -> bool:
        return self.suppression is not None


class Diagnostic(FrozenRecord):
    """A problem with the input rather than a security finding.

    level "error": part of the target could not be checked (exit 2 unless --allow-partial);
    level "gap": a value could not be resolved and was read the way Compose would read it;
    level "warning": anything else worth knowing (an expired or unused waiver…).
    """

    __slots__ = ("level", "code", "message", "location", "encoded")
    # A cache, not a field: what a reporter made of the diagnostic ahead of the report (the
    # JSON one, report.json_report.prepare); a diagnostic never changes, so it holds.
    _fields = __slots__[:-1]
    level: str
    code: str
    message: str
    location: Location | None
    encoded: bytes | None

    def __init__(self, level: str, code: str, message: str, location: Location | None = None):
        _set(self, "level", level)
        _set(self, "code", code)
        _set(self, "message", message)
        _set(self, "location", location)
        _set(self, "encoded", None)

    # Workers send thousands: unpickled by calling the class (its fields, in order).
    __reduce__ = reduce_by_init

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.level}[{self.code}]: {self.message}"


# The origin of a fact found in the audited tree that is about one of its services, which it
# names with `belongs_to(service)` (see AuditResult.facts).
LAB_ORIGIN = "lab:"


class AuditResult(Record):
    __slots__ = ("findings", "diagnostics", "targets", "files_scanned", "projects", "services",
                 "rules_run", "started", "duration_s", "facts")
    findings: list[Finding]
    diagnostics: list[Diagnostic]
    targets: list[str]
    files_scanned: int
    projects: int
    services: int
    rules_run: int
    started: str
    duration_s: float
    # What the rules examined, as (origin, asset, fact): the origin is the project
    # directory of Compose facts, the target as written for live ones. Kept only when asked
    # (`AuditOptions.keep_facts`): the checklist needs to know what was examined, not only
    # what was found. Facts found in the audited tree about one of its services, wherever
    # they were read (a proxy host of the lab's reverse proxy), have the origin LAB_ORIGIN
    # and say whose they are with `belongs_to(service)`.
    facts: list[tuple[str, str, object]]

    def __init__(self, findings: list[Finding], diagnostics: list[Diagnostic],
                 targets: list[str], files_scanned: int = 0, projects: int = 0,
                 services: int = 0, rules_run: int = 0, started: str = "",
                 duration_s: float = 0.0):
        self.findings = findings
        self.diagnostics = diagnostics
        self.targets = targets
        self.files_scanned = files_scanned
        self.projects = projects
        self.services = services
        self.rules_run = rules_run
        self.started = started
        self.duration_s = duration_s
        self.facts = []

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.waived]

    def counts(self) -> dict[Severity, int]:
        counts = {s: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            if f.suppression is None:       # not waived (the property, without its call)
                counts[f.severity] += 1
        return counts

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]
