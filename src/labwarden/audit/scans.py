"""The image-scan stage of an audit: read the lab's Trivy and Grype reports (`scans.reports`
in labwarden.yaml, `--scan-report FILE`), or run `trivy image` on each image when asked
(`--scan`, trivy on PATH), tie each report to the Compose services running its image, and
judge one `ImageScan` per (service, image).

Reports are about services anywhere in the tree, wherever the file sits: the facts are
kept with the lab-wide origin (`LAB_ORIGIN`) and each names its service (`belongs_to`), as
a reverse proxy's hosts are. Once any report is given, every image of the tree gets a fact,
one no report covers with `report=None`: it proves nothing, so its items stay OPEN rather
than passing on the images someone happened to scan.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

from labwarden.model import LAB_ORIGIN, Diagnostic, Finding, Location
from labwarden.sources.proxy.workload import Workload
from labwarden.sources.scans.fact import ImageScan, report_matches
from labwarden.sources.scans.policy import DEFAULT, ScanPolicy
from labwarden.sources.scans.report import ReportError, ScanReport, parse_report, read_report

TRIVY_TIMEOUT_S = 900.0     # a first run downloads Trivy's database


def wanted(options) -> bool:
    policy: ScanPolicy = getattr(options.config.settings, "scans", None) or DEFAULT
    return bool(policy.reports or options.scan_reports or options.run_scan)


def judge(workloads: list[Workload], options, runner, findings: list[Finding],
          diagnostics: list[Diagnostic], kept: list | None,
          now: dt.datetime | None = None) -> None:
    policy: ScanPolicy = getattr(options.config.settings, "scans", None) or DEFAULT
    reports = read_reports([*policy.report_files(), *options.scan_reports], diagnostics)
    images = sorted({w.image for w in workloads if w.image})
    if options.run_scan:
        reports.extend(run_trivy(images, diagnostics))
    read_at = now or _moment(options.today)
    for workload in workloads:
        if not workload.image:
            continue
        fact = ImageScan(workload.directory, workload.project, workload.service,
                         workload.image, workload.location,
                         newest([r for r in reports if report_matches(r, workload.image)]),
                         read_at, policy=policy)
        runner.run(fact, fact.asset, findings, diagnostics)
        if kept is not None:
            kept.append((LAB_ORIGIN, fact.asset, fact))


def _moment(today: dt.date | None) -> dt.datetime:
    """When the reports count as read: now, or noon of the day the checklist is made for
    (`--today`), so the ages a record shows are those of that day."""
    if today is None:
        return dt.datetime.now(dt.timezone.utc)
    return dt.datetime.combine(today, dt.time(12), tzinfo=dt.timezone.utc)


def read_reports(paths: list[str], diagnostics: list[Diagnostic]) -> list[ScanReport]:
    reports = []
    for path in dict.fromkeys(paths):
        try:
            reports.append(read_report(path))
        except ReportError as exc:
            diagnostics.append(Diagnostic("error", "scan-report", str(exc), exc.location))
    return reports


def newest(reports: list[ScanReport]) -> ScanReport | None:
    """The latest of the reports about one image (an undated one only if none is dated)."""
    if not reports:
        return None
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return max(reports, key=lambda r: r.created or epoch)


def run_trivy(images: list[str], diagnostics: list[Diagnostic]) -> list[ScanReport]:
    """`trivy image -f json IMAGE` for each image, when trivy is on PATH."""
    trivy = shutil.which("trivy")
    if trivy is None:
        diagnostics.append(Diagnostic("error", "scan-tool", "--scan: trivy is not on PATH "
                                      "(https://trivy.dev); give reports with --scan-report"))
        return []
    reports = []
    for image in images:
        where = f"trivy image {image}"
        try:
            done = subprocess.run([trivy, "image", "--quiet", "-f", "json", image],
                                  capture_output=True, text=True, timeout=TRIVY_TIMEOUT_S,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            diagnostics.append(Diagnostic("error", "scan-tool", f"{where}: {exc}"))
            continue
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            diagnostics.append(Diagnostic("error", "scan-tool",
                                          f"{where} exited {done.returncode}: {last}"))
            continue
        try:
            reports.append(parse_report(done.stdout, where))
        except ReportError as exc:
            diagnostics.append(Diagnostic("error", "scan-report", str(exc),
                                          Location(where, 0)))
    return reports
