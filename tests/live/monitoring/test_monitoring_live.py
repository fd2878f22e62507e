"""The monitoring source against a real Prometheus and Alertmanager (conftest.py): what
their APIs say, joined with an inventory of three services — one scraped and up (named to
Prometheus by a `monitoring: {job}` hint), one scraped and down, one missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.audit import AuditOptions, run
from labwarden.audit.live import parse_targets
from labwarden.checklist.attest import ServiceRecord
from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.evaluate import evaluate
from labwarden.config import load_config
from labwarden.inventory import load_inventory
from labwarden.sources.live.collect import ProbeOptions

INVENTORY = """\
version: 1
monitoring:
  prometheus: {prometheus}
  alertmanager: {alertmanager}
services:
  webapp:
    deployment_type: docker
    monitoring: {{job: app}}
  broken:
    deployment_type: docker
  missing:
    deployment_type: docker
"""


def _lab(tmp_path: Path, stack: dict, prometheus: str | None = None):
    path = tmp_path / "labwarden.yaml"
    web = lambda target: target.replace("prometheus://", "http://").replace(  # noqa: E731
        "alertmanager://", "http://")
    path.write_text(INVENTORY.format(prometheus=web(prometheus or stack["prometheus"]),
                                     alertmanager=web(stack["alertmanager"])))
    config = load_config(str(path))
    inventory = load_inventory(config)
    targets = parse_targets(list(inventory.monitoring_targets))
    result = run([str(tmp_path)], AuditOptions(config=config, targets=targets,
                                               probe=ProbeOptions(timeout=5.0),
                                               keep_facts=True))
    return config, inventory, result


@pytest.fixture(scope="module")
def audited(monitoring_stack, tmp_path_factory):
    return _lab(tmp_path_factory.mktemp("lab"), monitoring_stack)


def _findings(result, rule_id: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for finding in result.findings:
        if finding.rule.id == rule_id:
            found.setdefault(finding.asset, []).append(finding)
    return found


def test_the_inventory_names_the_apis_as_targets(audited, monitoring_stack) -> None:
    _, inventory, result = audited
    assert inventory.monitoring_targets == (
        monitoring_stack["prometheus"].replace("prometheus://", "prometheus+http://"),
        monitoring_stack["alertmanager"].replace("alertmanager://", "alertmanager+http://"))
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics


def test_a_service_no_target_is_about_is_not_scraped(audited) -> None:
    _, _, result = audited
    assert set(_findings(result, "MON001")) == {"monitoring:missing"}


def test_a_down_target_is_reported_with_prometheus_own_error(audited, monitoring_stack) -> None:
    _, _, result = audited
    down = _findings(result, "MON002")
    assert set(down) == {"monitoring:broken"}
    finding = down["monitoring:broken"][0]
    assert f"127.0.0.1:{monitoring_stack['closed']}" in finding.message
    assert "refused" in finding.evidence


def test_down_alerts_are_matched_to_the_services_targets(audited) -> None:
    """AppDown (`up{job="app"} == 0`) covers webapp only; HighLatency reads another metric."""
    _, _, result = audited
    assert set(_findings(result, "MON003")) == {"monitoring:broken"}


def test_a_disk_alert_without_node_exporter_watches_nothing(audited) -> None:
    _, _, result = audited
    disk = _findings(result, "MON004")
    assert set(disk) == {"disk-alerts:lab"}
    assert "node_exporter is not scraped" in disk["disk-alerts:lab"][0].message


def test_alertmanager_routes_critical_alerts_to_a_webhook(audited) -> None:
    from labwarden.sources.monitoring.facts import AlertRouting

    _, _, result = audited
    assert not _findings(result, "MON006")
    routing = next(f for _, _, f in result.facts if isinstance(f, AlertRouting))
    integrations = {r.name: r.integrations for r in routing.receivers}
    assert integrations == {"blackhole": (), "oncall": ("webhook_configs",)}
    assert routing.routed == ["blackhole", "oncall"] and routing.sends_to


def test_the_checklist_answers_from_the_apis(audited) -> None:
    config, inventory, result = audited
    answers = {}
    for name in ("webapp", "broken", "missing"):
        evaluation = evaluate(inventory.services[name], result, ServiceRecord(), load_catalog(),
                              settings=config.settings)
        answers[name] = {i: evaluation.by_id()[i] for i in ("6.3.1", "6.3.4", "6.4.1", "6.4.2")}
    webapp = answers["webapp"]
    assert webapp["6.3.1"].status.value == "PASS" and "(up)" in webapp["6.3.1"].note
    assert webapp["6.3.4"].status.value == "PASS" and "AppDown" in webapp["6.3.4"].note
    assert webapp["6.4.2"].status.value == "PASS" and "oncall" in webapp["6.4.2"].note
    assert webapp["6.4.1"].status.value == "FAIL"           # the disk alert watches nothing
    assert answers["broken"]["6.3.1"].status.value == "FAIL"
    assert answers["missing"]["6.3.1"].status.value == "FAIL"


def test_an_api_that_does_not_answer_is_an_error_not_a_gap(monitoring_stack, tmp_path) -> None:
    dead = f"prometheus://127.0.0.1:{monitoring_stack['closed']}"
    _, _, result = _lab(tmp_path, monitoring_stack, prometheus=dead)
    errors = [d for d in result.diagnostics if d.level == "error"]
    assert errors and "API not read" in errors[0].message
    assert not _findings(result, "MON001") and not _findings(result, "MON003")
