"""A real Prometheus scrapes `labwarden metrics` over a copy of the example lab; what its API
returns is what the CLI says about the same lab."""

from __future__ import annotations

import json

from .conftest import SERVICES, labwarden


def _checklist(lab, service: str) -> dict:
    done = labwarden(lab.root, "checklist", service, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_score_is_the_checklist_json_score_of_each_service(lab, prometheus) -> None:
    scores = prometheus.values("labwarden_service_score")
    assert set(scores) == set(SERVICES)
    for service in SERVICES:
        # Exact: Prometheus keeps the float the exporter wrote, to the last digit.
        assert scores[service] == _checklist(lab, service)["score"]["percent"], service


def test_risk_gate_and_items_agree_with_the_cli(lab, prometheus) -> None:
    levels = prometheus.values("labwarden_service_risk_level")
    current = {r["metric"]["service"]: r["metric"]["level"]
               for r in prometheus.query("labwarden_service_risk == 1")}
    gates = prometheus.values("labwarden_service_gate_go")
    open_items = prometheus.values('labwarden_service_items{status="OPEN"}')
    fail_items = prometheus.values('labwarden_service_items{status="FAIL"}')
    order = ["Low", "Medium", "High", "Unacceptable"]
    for service in SERVICES:
        report = _checklist(lab, service)
        assert current[service] == report["risk"]
        assert levels[service] == order.index(report["risk"]) + 1
        statuses = [item["status"] for item in report["items"]]
        assert open_items[service] == statuses.count("OPEN")
        assert fail_items[service] == statuses.count("FAIL")
        gate = labwarden(lab.root, "gate", service, "--format", "json")
        assert gates[service] == (1.0 if json.loads(gate.stdout)["allowed"] else 0.0)
    # One level per service is 1, the three others 0: four stable series each.
    assert len(prometheus.query("labwarden_service_risk")) == 4 * len(SERVICES)


def test_open_critical_and_high_findings_are_those_the_checklist_counts(lab, prometheus):
    """11.1.1 and 11.1.2 are answered by the service's open CRITICAL and HIGH findings."""
    for severity, item_id in (("CRITICAL", "11.1.1"), ("HIGH", "11.1.2")):
        counts = prometheus.values(f'labwarden_service_open_findings{{severity="{severity}"}}')
        for service in SERVICES:
            item = next(i for i in _checklist(lab, service)["items"] if i["id"] == item_id)
            assert counts[service] == len(item["findings"]), (service, severity)
    # The example's planted problems: paperless has open CRITICAL findings.
    assert prometheus.values('labwarden_service_open_findings{severity="CRITICAL"}')[
        "paperless"] > 0


def test_certificate_expiry_comes_from_the_proxy_database(lab, prometheus) -> None:
    expiry = prometheus.values("labwarden_certificate_expiry_timestamp_seconds")
    assert set(expiry) == set(SERVICES)                  # every route has the certificate
    assert all(value == lab.certificate_expires for value in expiry.values())
    for result in prometheus.query("labwarden_certificate_expiry_days"):
        scraped_at, days = result["value"][0], float(result["value"][1])
        # Days are counted at the scrape: ten days, less the seconds since the lab was made.
        assert abs(scraped_at + days * 86400 - lab.certificate_expires) < 120
        assert 9 < days <= 10


def test_backup_age_is_the_snapshots_age_and_only_where_a_repository_was_read(lab,
                                                                              prometheus):
    ages = prometheus.query("labwarden_backup_age_seconds")
    assert [r["metric"]["service"] for r in ages] == ["paperless"]   # unknown: no sample
    scraped_at, age = ages[0]["value"][0], float(ages[0]["value"][1])
    assert abs(scraped_at - age - lab.snapshot_at) < 120
    assert 3 * 3600 - 120 < age < 4 * 3600
    assert prometheus.values('labwarden_backup_repositories{readable="true"}') == \
        {"paperless": 1.0}


def test_last_audit_is_the_history_run_and_absent_before_one(lab, prometheus) -> None:
    assert prometheus.values("labwarden_last_audit_timestamp_seconds") == \
        {"n8n": lab.gate_run_started}
    assert prometheus.values("labwarden_host_last_audit_timestamp_seconds", by="host") == \
        {"docker-01": lab.gate_run_started}


def test_host_metrics(prometheus) -> None:
    assert prometheus.values("labwarden_host_services", by="host") == {"docker-01": 3.0}
    worst = max(prometheus.values("labwarden_service_risk_level").values())
    assert prometheus.values("labwarden_host_risk_level", by="host") == {"docker-01": worst}
    severities = {r["metric"]["severity"]
                  for r in prometheus.query('labwarden_host_open_findings{host="docker-01"}')}
    assert severities == {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"}
    assert prometheus.values("labwarden_evaluation_ok", by="job") == {"labwarden": 1.0}


def test_the_example_alert_rules_fire_on_the_real_samples(prometheus) -> None:
    """Every service of the example is at Unacceptable risk and its certificate expires in
    ten days: Prometheus, evaluating examples/monitoring/labwarden-alerts.yml, fires both."""
    for alert in ("LabwardenServiceRiskHigh", "LabwardenCertificateExpiresSoon"):
        firing = prometheus.wait_for(f'ALERTS{{alertname="{alert}", alertstate="firing"}}',
                                     len(SERVICES))
        assert {r["metric"]["service"] for r in firing} == set(SERVICES), alert
    for alert in ("LabwardenCertificateExpired", "LabwardenBackupStale",
                  "LabwardenNotEvaluating"):
        assert prometheus.query(f'ALERTS{{alertname="{alert}"}}') == [], alert
