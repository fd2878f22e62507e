"""Image vulnerability rules (checklist 4.1.3, 4.1.4, 9.2.2), judged from `ImageScan` facts:
what the newest Trivy or Grype report about a Compose service's image says. The policy is
`scans:` in labwarden.yaml (`Settings.scans`, carried by each fact): how old a report may
be (`max_age`, default 14d) and which vulnerabilities are ignored, with a reason and an
expiry.

Policy, not noise: a fixable CRITICAL or HIGH fails the image (one finding per image, the
worst few named with their fixed versions); what no fix exists for yet is one LOW summary
per image (a count and the oldest age), because nothing can be done about it but watch.
Ages count from the moment labwarden read the report. An image no report covers yields no
finding and proves nothing: its items stay OPEN.
"""

from __future__ import annotations

from labwarden.model import Hit, Impact, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.backup.config import format_duration
from labwarden.sources.backup.fact import describe_age
from labwarden.sources.scans.fact import ImageScan
from labwarden.sources.scans.policy import Ignore, ScanPolicy
from labwarden.sources.scans.report import SEVERITIES, Vulnerability

REDEPLOY = Impact("service", (1, 5))
NO_RESTART = Impact("none", (0, 0))
CIS_DOCKER = "CIS Docker Benchmark v1.6 4.4 (scan and rebuild images)"
NIST_RA5 = "NIST SP 800-53 RA-5 (vulnerability monitoring and scanning)"
SHOWN = 3           # the worst few IDs a finding names
SERIOUS = ("CRITICAL", "HIGH")


def _policy(scan: ImageScan) -> ScanPolicy:
    """The policy the fact was read under (the stage takes it from `Settings.scans`)."""
    return scan.policy


def _fresh(scan: ImageScan, settings) -> bool:
    age = scan.age()
    return age is not None and age <= _policy(scan).max_age


def judged(scan: ImageScan, settings) -> tuple[list[Vulnerability],
                                                 list[tuple[Vulnerability, Ignore]]]:
    """The report's vulnerabilities that count (neither ignored nor under a live ignore),
    and those whose ignore has expired (they count again)."""
    if scan.report is None:
        return [], []
    today = scan.read_at.date()
    counted, expired = [], []
    for vuln in scan.report.vulnerabilities:
        ignore = next((i for i in _policy(scan).ignores
                       if i.covers(vuln.id, scan.image)), None)
        if ignore is None:
            counted.append(vuln)
        elif ignore.expired(today):
            counted.append(vuln)
            expired.append((vuln, ignore))
    return counted, expired


def _fixable_serious(scan: ImageScan, settings) -> list[Vulnerability]:
    counted, _ = judged(scan, settings)
    found = [v for v in counted if v.fixable and v.severity in SERIOUS]
    return sorted(found, key=lambda v: (SEVERITIES.index(v.severity), v.id))


def _tool(scan: ImageScan) -> str:
    assert scan.report is not None
    made = scan.report.created.strftime("%Y-%m-%d %H:%M UTC") if scan.report.created \
        else "undated"
    return f"{scan.report.tool} report of {scan.report.image}, {made}"


@rule("IMG010", "image-fixable-critical-vulnerabilities", Severity.HIGH,
      title="Image has fixable critical or high vulnerabilities", on=ImageScan,
      checklist=["4.1.4"], refs=[CIS_DOCKER, NIST_RA5], impact=REDEPLOY)
def fixable_serious(scan: ImageScan, settings):
    """Reports an image whose scan report lists CRITICAL or HIGH vulnerabilities that have
    a fixed version, not covered by a live ignore in `scans.ignore`. One finding per image:
    the count, and the worst few IDs with the version that fixes each.

    Why it matters:
    A known, fixed vulnerability is the one attackers scan for first: the fix is public, so
    is the way to exploit it. Fixed means a rebuilt or updated image removes it, usually a
    minor bump of the tag.

    Example:
    `paperless: image: ghcr.io/paperless-ngx/paperless-ngx:2.13.5` and a Trivy report
    listing CVE-2024-56171 (HIGH) in libxml2 2.9.14, fixed in 2.9.14+dfsg-1.3~deb12u1.

    Fix:
    Pull the newest patch release of the image (or rebuild it on an updated base), redeploy
    and scan again. If a vulnerability cannot be reached in your deployment, record that in
    `scans.ignore` with its reason and an expiry date.
    """
    found = _fixable_serious(scan, settings)
    if not found:
        return
    worst = ", ".join(f"{v.id} ({v.severity}, {v.package} {v.installed} -> {v.fixed})"
                      for v in found[:SHOWN])
    more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    yield Hit(f"{scan.image} ({scan.project}/{scan.service}) has {len(found)} fixable "
              f"critical/high vulnerabilit{'y' if len(found) == 1 else 'ies'}: {worst}{more}",
              scan.location, resource=scan.image, evidence=_tool(scan))


@prover("IMG010", "4.1.4")
def no_fixable_serious(scan: ImageScan, settings):
    if scan.report is None or not _fresh(scan, settings) or _fixable_serious(scan, settings):
        return None
    return f"{scan.report.tool}: no fixable critical/high in {scan.image}"


@rule("IMG011", "image-unfixed-vulnerabilities", Severity.LOW,
      title="Image has vulnerabilities with no fix yet", on=ImageScan, checklist=[],
      refs=[NIST_RA5], impact=NO_RESTART)
def unfixed(scan: ImageScan, settings):
    """Summarises, per image, the vulnerabilities its report lists that have no fixed
    version yet (any severity, not ignored): their count by severity and how long the
    oldest has been public. One finding per image, never one per CVE.

    Why it matters:
    Nothing can be patched before the distribution ships a fix, so listing each one
    drowns the fixable ones that matter. But an unfixed critical that has been public for
    a year says the base image is abandoned, and the age is what shows it.

    Example:
    A Debian 12 based image with 40 `will_not_fix` or `affected` findings in `libc6`,
    `perl-base` and `zlib1g`, the oldest published 700 days ago.

    Fix:
    Watch the count and the age. A base image with old unfixed criticals is worth
    replacing (a slimmer or newer base: Debian testing, Alpine, distroless), and a
    component that is never used can be ignored with a reason in `scans.ignore`.
    """
    counted, _ = judged(scan, settings)
    open_ = [v for v in counted if not v.fixable]
    if not open_:
        return
    by = {s: sum(1 for v in open_ if v.severity == s) for s in SEVERITIES}
    counts = ", ".join(f"{n} {s.lower()}" for s, n in by.items() if n)
    dates = [v.published for v in open_ if v.published is not None]
    oldest = (f"; the oldest published {describe_age(scan.read_at - min(dates))} ago"
              if dates else "; the report gives no publication dates")
    yield Hit(f"{scan.image} ({scan.project}/{scan.service}): {len(open_)} "
              f"vulnerabilit{'y' if len(open_) == 1 else 'ies'} with no fix yet ({counts})"
              f"{oldest}", scan.location, resource=scan.image, evidence=_tool(scan),
              severity=Severity.LOW if by["CRITICAL"] or by["HIGH"] else Severity.INFO)


@rule("IMG012", "image-scan-stale", Severity.MEDIUM, title="Image scan report is stale",
      on=ImageScan, checklist=["4.1.3", "9.2.2"], refs=[NIST_RA5], impact=NO_RESTART)
def stale(scan: ImageScan, settings):
    """Reports a scan report older than `scans.max_age` (default 14d), or one that does not
    say when it was made: what it says about the image proves nothing now, since new
    vulnerabilities are published every day.

    Why it matters:
    A clean scan from last quarter is no evidence about today: the vulnerability
    databases grow daily, and the report says nothing about what was found since.

    Example:
    `scans: {reports: [scans/*.json], max_age: 14d}` and a Trivy report with
    `"CreatedAt": "2026-09-01T10:00:00Z"` read in December.

    Fix:
    Scan again (`trivy image -f json -o scans/IMAGE.json IMAGE`, or `labwarden audit
    --scan`) and keep it fresh, e.g. from a weekly timer.
    """
    if scan.report is None or _fresh(scan, settings):
        return
    age = scan.age()
    limit = format_duration(_policy(scan).max_age)
    said = ("does not say when it was made" if age is None
            else f"is {describe_age(age)} old (scans.max_age: {limit})")
    yield Hit(f"scan report of {scan.image} ({scan.project}/{scan.service}) {said}: it "
              "proves nothing about the image today", scan.location, resource=scan.image,
              evidence=_tool(scan))


@prover("IMG012", "4.1.3", "9.2.2")
def scanned(scan: ImageScan, settings):
    if scan.report is None or not _fresh(scan, settings):
        return None
    age = scan.age()
    assert age is not None
    return f"{scan.report.tool} scan of {scan.image}, {describe_age(age)} old"


@rule("IMG013", "image-scan-ignore-expired", Severity.LOW,
      title="Expired vulnerability ignore", on=ImageScan, checklist=[], refs=[NIST_RA5],
      impact=NO_RESTART)
def ignore_expired(scan: ImageScan, settings):
    """Reports an entry of `scans.ignore` past its `expires` date that still matches a
    vulnerability of the image: the vulnerability is counted again (and may fail 4.1.4).

    Why it matters:
    An ignore is a decision with a shelf life: "not reachable in our setup" or "waiting for
    the upstream fix" must be looked at again. An expiry that passes silently turns a
    decision into a permanent blind spot.

    Example:
    `scans: {ignore: [{id: CVE-2023-45853, reason: "zlib minizip not used", expires:
    2026-06-30}]}` in December.

    Fix:
    Check whether the reason still holds; if it does, renew `expires`, otherwise remove
    the entry and update the image.
    """
    _, expired = judged(scan, settings)
    for vuln, ignore in expired:
        yield Hit(f"ignore of {vuln.id} for {scan.image} expired on {ignore.expires} "
                  f"(reason was: {ignore.reason}); it is counted again",
                  ignore.location or scan.location, resource=f"{scan.image}:{vuln.id}",
                  evidence=_tool(scan))
