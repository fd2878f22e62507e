"""Trivy and Grype JSON reports read from real-format files (trivy-nginx.json,
grype-redis.json: the fields and shapes `trivy image -f json` and `grype -o json` write),
tied to the Compose services running their images, judged by IMG010-IMG013, and the
checklist items they answer. The `--scan` path runs a fake `trivy` (a script on PATH that
prints a fixture report): Trivy cannot be installed here."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from labwarden.sources.scans.fact import report_matches
from labwarden.sources.scans.report import ReportError, read_report

HERE = Path(__file__).parent
TRIVY = HERE / "trivy-nginx.json"
GRYPE = HERE / "grype-redis.json"

COMPOSE = """services:
  web:
    image: nginx:1.27.3
  cache:
    image: docker.io/library/redis:7.4.1
  db:
    image: postgres:16.6
"""


def run(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "labwarden", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=env)


def lab(tmp_path: Path, config: str = "") -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "scans").mkdir()
    shutil.copy(TRIVY, tmp_path / "scans" / "web.json")
    shutil.copy(GRYPE, tmp_path / "scans" / "cache.json")
    (tmp_path / "labwarden.yaml").write_text("version: 1\n" + config)
    return tmp_path


def findings(proc) -> list[dict]:
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def by_rule(found: list[dict], rule: str) -> list[dict]:
    return [f for f in found if f["rule_id"] == rule]


def test_trivy_report_fields_and_vex_status() -> None:
    report = read_report(str(TRIVY))
    assert (report.tool, report.image) == ("trivy", "nginx:1.27.3")
    assert report.created == dt.datetime(2026, 11, 28, 9, 15, 2, 417765, dt.timezone.utc)
    ids = {v.id: v for v in report.vulnerabilities}
    # Status not_affected (a VEX statement) is not counted.
    assert set(ids) == {"CVE-2024-56171", "CVE-2025-0665", "CVE-2023-45853", "CVE-2011-3374"}
    assert ids["CVE-2024-56171"].fixed == "2.9.14+dfsg-1.3~deb12u2"
    assert not ids["CVE-2023-45853"].fixable
    assert "sha256:0a399eb16751829e1af26fea27b20c3ec28d7ab1fb72182879dcae1cca21206a" \
        in report.digests


def test_grype_report_fields_and_ignored_matches() -> None:
    report = read_report(str(GRYPE))
    assert (report.tool, report.image) == ("grype", "redis:7.4.1")
    # Nanoseconds and an offset: 10:02:11+01:00 is 09:02:11 UTC.
    assert report.created == dt.datetime(2026, 11, 27, 9, 2, 11, 123456, dt.timezone.utc)
    ids = {v.id: v for v in report.vulnerabilities}
    assert set(ids) == {"CVE-2024-45337", "CVE-2023-5363", "CVE-2022-0563"}   # not ignored*
    assert (ids["CVE-2024-45337"].severity, ids["CVE-2024-45337"].fixed) == ("CRITICAL",
                                                                             "0.31.0")
    assert not ids["CVE-2023-5363"].fixable and ids["CVE-2022-0563"].severity == "NEGLIGIBLE"


def test_report_matched_by_normalised_name_or_digest() -> None:
    report = read_report(str(TRIVY))
    assert report_matches(report, "docker.io/library/nginx:1.27.3")
    assert not report_matches(report, "nginx:1.27.4")
    assert not report_matches(report, "ghcr.io/nginx:1.27.3")
    pinned = "nginx@sha256:0a399eb16751829e1af26fea27b20c3ec28d7ab1fb72182879dcae1cca21206a"
    assert report_matches(report, pinned)
    assert not report_matches(report, "nginx@sha256:" + "1" * 64)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not JSON"),
    ("[]", "not a JSON object"),
    ('{"hello": 1}', "not a Trivy"),
    ('{"ArtifactName": "x:1", "Results": [{"Vulnerabilities": [{"Severity": "HIGH"}]}]}',
     "no VulnerabilityID"),
    ('{"matches": [{"vulnerability": {}}], "source": {"target": {"userInput": "x:1"}}}',
     "malformed scan report"),
])
def test_malformed_report_is_an_error_at_the_file(tmp_path: Path, text: str,
                                                  message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ReportError) as caught:
        read_report(str(path))
    assert message in str(caught.value) and caught.value.location.path == str(path)


def test_audit_judges_reports_named_in_labwarden_yaml(tmp_path: Path) -> None:
    root = lab(tmp_path, "scans: {reports: ['scans/*.json'], max_age: 3650d}\n")
    found = findings(run("audit", str(root), "--format", "json"))
    fixable = by_rule(found, "IMG010")
    assert {f["asset"] for f in fixable} == {"compose:app/web", "compose:app/cache"}
    web = next(f for f in fixable if f["asset"] == "compose:app/web")
    # One finding per image, worst first, with the fixed versions; not the VEX'd one.
    assert "2 fixable" in web["message"] and web["message"].index("CVE-2025-0665") < \
        web["message"].index("CVE-2024-56171")
    assert "-> 2.9.14+dfsg-1.3~deb12u2" in web["message"] and "CVE-2024-2511" not in \
        web["message"]
    unfixed = {f["asset"]: f for f in by_rule(found, "IMG011")}
    assert set(unfixed) == {"compose:app/web", "compose:app/cache"}
    assert "2 vulnerabilities with no fix yet (1 critical, 1 low)" in \
        unfixed["compose:app/web"]["message"]
    assert "oldest published" in unfixed["compose:app/web"]["message"]
    assert unfixed["compose:app/web"]["severity"] == "LOW"
    assert "no publication dates" in unfixed["compose:app/cache"]["message"]
    assert unfixed["compose:app/cache"]["severity"] == "LOW"
    assert not by_rule(found, "IMG012")
    # postgres:16.6 has no report: no IMG finding, and (below) nothing proven.
    assert not [f for f in found if f["asset"] == "compose:app/db" and
                f["rule_id"].startswith("IMG01")]


def test_stale_report_says_so(tmp_path: Path) -> None:
    root = lab(tmp_path, "scans: {reports: [scans/web.json], max_age: 1d}\n")
    found = findings(run("audit", str(root), "--format", "json"))
    stale = by_rule(found, "IMG012")
    assert [f["asset"] for f in stale] == ["compose:app/web"]
    assert "old (scans.max_age: 1d)" in stale[0]["message"]


def test_ignores_with_reason_and_expiry(tmp_path: Path) -> None:
    root = lab(tmp_path, """scans:
  reports: [scans/web.json]
  max_age: 3650d
  ignore:
    - {id: CVE-2025-0665, image: docker.io/library/nginx:1.27.3, reason: "curl not used",
       expires: "2999-01-01"}
    - {id: CVE-2024-56171, reason: "libxml2 not reachable", expires: "2020-01-01"}
""")
    found = findings(run("audit", str(root), "--format", "json"))
    [fixable] = by_rule(found, "IMG010")
    assert "1 fixable" in fixable["message"] and "CVE-2024-56171" in fixable["message"]
    [expired] = by_rule(found, "IMG013")
    assert "CVE-2024-56171" in expired["message"] and "2020-01-01" in expired["message"]
    assert expired["location"]["path"].endswith("labwarden.yaml")


def test_ignore_without_reason_is_a_config_error(tmp_path: Path) -> None:
    root = lab(tmp_path, "scans: {reports: [scans/web.json], ignore: [{id: CVE-2025-0665}]}\n")
    proc = run("audit", str(root), "--format", "json")
    assert proc.returncode == 2 and "needs a `reason`" in proc.stderr
    assert "labwarden.yaml:" in proc.stderr and "Traceback" not in proc.stderr


def test_scan_report_option_and_malformed_file(tmp_path: Path) -> None:
    root = lab(tmp_path)
    bad = tmp_path / "scans" / "broken.json"
    bad.write_text('{"SchemaVersion": 2, "Results": [')
    proc = run("audit", str(root), "--format", "json", "--scan-report",
               str(tmp_path / "scans" / "cache.json"), "--scan-report", str(bad))
    out = json.loads(proc.stdout)
    assert {f["asset"] for f in by_rule(out["findings"], "IMG010")} == \
        {"compose:app/cache"}
    [diagnostic] = [d for d in out["diagnostics"] if d["code"] == "scan-report"]
    assert diagnostic["location"]["path"] == str(bad) and "not JSON" in diagnostic["message"]
    assert "Traceback" not in proc.stderr


def test_scan_runs_trivy_from_path(tmp_path: Path) -> None:
    """A FAKE trivy (Trivy is not installable here): a script that prints the fixture
    report for nginx:1.27.3 and fails for other images, as trivy does for an image it
    cannot pull."""
    root = lab(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "trivy"
    fake.write_text(f"""#!/bin/sh
[ "$1 $2 $3 $4" = "image --quiet -f json" ] || exit 64
case "$5" in
  nginx:1.27.3) cat '{TRIVY}' ;;
  *) echo "FATAL unable to find the specified image \\"$5\\"" >&2; exit 1 ;;
esac
""")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = run("audit", str(root / "app"), "--no-config", "--format", "json", "--scan",
               env=env)
    out = json.loads(proc.stdout)
    assert {f["asset"] for f in by_rule(out["findings"], "IMG010")} == \
        {"compose:app/web"}
    failed = [d["message"] for d in out["diagnostics"] if d["code"] == "scan-tool"]
    assert any("trivy image postgres:16.6 exited 1" in m for m in failed)


def test_scan_without_trivy_on_path_says_so(tmp_path: Path) -> None:
    root = lab(tmp_path)
    env = {**os.environ, "PATH": str(tmp_path / "nothing-here")}
    proc = run("audit", str(root / "app"), "--no-config", "--format", "json", "--scan",
               env=env)
    out = json.loads(proc.stdout)
    assert any("trivy is not on PATH" in d["message"] for d in out["diagnostics"])
    assert not by_rule(out["findings"], "IMG010")


def test_example_lab_reports_its_planted_fixable_high() -> None:
    example = HERE.parents[2] / "examples" / "homelab"
    found = json.loads(run("audit", str(example), "--format", "json").stdout)["findings"]
    [planted] = by_rule(found, "IMG010")
    assert planted["asset"] == "compose:monitoring/grafana"
    assert "CVE-2025-22869 (HIGH, golang.org/x/crypto v0.27.0 -> 0.35.0)" in planted["message"]
    assert planted["location"]["path"].endswith("scans/grafana.json")
