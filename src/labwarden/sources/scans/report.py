"""Read a Trivy (`trivy image -f json`) or Grype (`grype -o json`) report into a `ScanReport`.

Only what the policy needs is kept: the image the report is about (its name and repo
digests), when the scan ran, and per vulnerability its ID, package, installed and fixed
versions, severity and publication date. Both tools' VEX handling is honoured as they
write it: Trivy run with `--vex` leaves the statements' `not_affected` vulnerabilities out
of `Vulnerabilities` (and, with `--show-suppressed`, lists them under
`ExperimentalModifiedFindings`, which is not read); a vulnerability whose `Status` is
`not_affected` is dropped too. Grype puts what VEX or its ignore rules suppress under
`ignoredMatches`, which is not read (its `matches` are what it found to apply).
A malformed report raises `ReportError` with the file as its location.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from labwarden.model import Location
from labwarden.sources._read import decode_text, read_regular

MAX_REPORT_BYTES = 64 * 1024 * 1024     # a large image's Trivy report is a few MiB
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")
# Trivy's statuses for a vulnerability that VEX (or the vendor) says does not apply.
NOT_AFFECTED = frozenset({"not_affected"})


class ReportError(ValueError):
    def __init__(self, message: str, location: Location):
        super().__init__(message)
        self.location = location


@dataclass(frozen=True)
class Vulnerability:
    id: str
    package: str
    installed: str
    fixed: str                      # the fixed version(s), "" when no fix exists
    severity: str                   # one of SEVERITIES
    published: dt.datetime | None   # Trivy's PublishedDate; Grype's JSON has none

    @property
    def fixable(self) -> bool:
        return bool(self.fixed)


@dataclass(frozen=True)
class ScanReport:
    path: str
    tool: str                        # trivy | grype
    image: str                       # the image as the scanner was given it
    digests: tuple[str, ...]         # sha256:… of its repo digests
    created: dt.datetime | None      # when the scan ran
    vulnerabilities: tuple[Vulnerability, ...]

    @property
    def location(self) -> Location:
        return Location(self.path, 0)


def read_report(path: str) -> ScanReport:
    """The report in `path`, whichever tool wrote it."""
    where = Location(path, 0)
    try:
        text = decode_text(read_regular(path, MAX_REPORT_BYTES))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read scan report: {exc}", where) from None
    return parse_report(text, path)


def parse_report(text: str, path: str) -> ScanReport:
    where = Location(path, 0)
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", 0)
        raise ReportError(f"scan report is not JSON: {getattr(exc, 'msg', exc)}",
                          Location(path, line)) from None
    if not isinstance(data, dict):
        raise ReportError("scan report is not a JSON object", where)
    try:
        if "Results" in data or "ArtifactName" in data:
            return _trivy(data, path)
        if "matches" in data and "source" in data:
            return _grype(data, path)
    except (TypeError, AttributeError, KeyError) as exc:
        raise ReportError(f"malformed scan report ({type(exc).__name__}: {exc})",
                          where) from None
    raise ReportError("not a Trivy (`trivy image -f json`) or Grype (`grype -o json`) report",
                      where)


def _trivy(data: dict, path: str) -> ScanReport:
    image = _text(data.get("ArtifactName"), "ArtifactName", path)
    metadata = data.get("Metadata") or {}
    vulns = []
    for result in data.get("Results") or []:
        for item in result.get("Vulnerabilities") or []:
            if str(item.get("Status", "")).lower() in NOT_AFFECTED:
                continue            # a VEX statement (or the vendor) says it does not apply
            vulns.append(Vulnerability(
                _text(item.get("VulnerabilityID"), "VulnerabilityID", path),
                str(item.get("PkgName", "")), str(item.get("InstalledVersion", "")),
                str(item.get("FixedVersion") or ""), _severity(item.get("Severity")),
                parse_time(item.get("PublishedDate"))))
    return ScanReport(path, "trivy", image, _digests(metadata.get("RepoDigests") or []),
                      parse_time(data.get("CreatedAt")), tuple(vulns))


def _grype(data: dict, path: str) -> ScanReport:
    target = (data.get("source") or {}).get("target") or {}
    if not isinstance(target, dict):        # `grype dir:…` names a path: not an image
        raise ReportError("Grype report is not about an image (source.target is not one)",
                          Location(path, 0))
    image = _text(target.get("userInput"), "source.target.userInput", path)
    digests = list(target.get("repoDigests") or [])
    if target.get("manifestDigest"):
        digests.append(str(target["manifestDigest"]))
    vulns = []
    for match in data.get("matches") or []:
        vulnerability, artifact = match["vulnerability"], match["artifact"]
        fix = vulnerability.get("fix") or {}
        fixed = ", ".join(fix.get("versions") or []) if fix.get("state") == "fixed" else ""
        vulns.append(Vulnerability(
            _text(vulnerability.get("id"), "vulnerability.id", path),
            str(artifact.get("name", "")), str(artifact.get("version", "")), fixed,
            _severity(vulnerability.get("severity")), None))
    created = parse_time((data.get("descriptor") or {}).get("timestamp"))
    return ScanReport(path, "grype", image, _digests(digests), created, tuple(vulns))


def _text(value: object, key: str, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ReportError(f"scan report has no {key}", Location(path, 0))
    return value


def _severity(value: object) -> str:
    text = str(value or "UNKNOWN").upper()
    return text if text in SEVERITIES else "UNKNOWN"


def _digests(values: list) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v).rpartition("@")[2] for v in values if v))


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_time(value: object) -> dt.datetime | None:
    """An RFC 3339 time as the scanners write it (Grype's has nanoseconds); None if absent
    or not a time. Naive times are taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip().replace("Z", "+00:00"), count=1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
