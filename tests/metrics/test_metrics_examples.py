"""examples/monitoring: the alert rules pass `promtool check rules` and their own unit tests,
the scrape configuration is valid, and every query of the Grafana dashboard is PromQL that
Prometheus parses, about metrics labwarden exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from labwarden.metrics.exposition import LabCollector, make_registry

from .conftest import MONITORING, need
from .test_metrics_collector import _minimal_lab

BRIEF = ("labwarden_service_score", "labwarden_service_risk_level", "labwarden_service_gate_go",
         "labwarden_service_open_findings", "labwarden_certificate_expiry_days",
         "labwarden_backup_age_seconds", "labwarden_last_audit_timestamp_seconds")


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess:
    return subprocess.run([need("promtool", "prometheus"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> set[str]:
    """The names of every metric family labwarden exports (with or without samples)."""
    lab = _minimal_lab(tmp_path_factory.mktemp("lab"))
    text = generate_latest(make_registry(LabCollector(str(lab)))).decode()
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def _names(expr: str) -> set[str]:
    return set(re.findall(r"\blabwarden_[a-z_]+\b", expr))


def test_the_metrics_the_issue_names_are_exported(exported) -> None:
    assert set(BRIEF) <= exported


def test_the_alert_rules_pass_promtool_and_their_unit_tests() -> None:
    checked = promtool("check", "rules", "labwarden-alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "labwarden-alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


def test_the_alerts_the_issue_asks_for_are_there(exported) -> None:
    rules = yaml.safe_load((MONITORING / "labwarden-alerts.yml").read_text())
    alerts = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert alerts["LabwardenServiceRiskHigh"] == "labwarden_service_risk_level >= 3"
    assert alerts["LabwardenCertificateExpiresSoon"] == "labwarden_certificate_expiry_days < 14"
    for expr in alerts.values():
        assert _names(expr) <= exported, expr


def test_the_scrape_configuration_is_valid() -> None:
    checked = promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_dashboard_query_parses_and_names_exported_metrics(tmp_path, exported) -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    variable = dashboard["templating"]["list"][1]["query"]["query"]
    assert len(exprs) >= 10
    used = set().union(*(_names(e) for e in exprs + [variable]))
    assert used <= exported, used - exported
    # The panels the issue asks for: score/risk per service, findings by severity,
    # certificate expiry, backup age.
    assert {"labwarden_service_score", "labwarden_service_risk_level",
            "labwarden_service_open_findings", "labwarden_certificate_expiry_days",
            "labwarden_backup_age_seconds"} <= used
    # promtool parses each as a recording rule (Grafana's $service becomes a regex).
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e.replace("$service", ".*")}
        for i, e in enumerate(exprs)]}]}
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(rules))
    checked = promtool("check", "rules", "dashboard.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
