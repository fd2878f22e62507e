"""What an alert rule watches, read from its PromQL: the selectors of the metrics that make
a down, certificate or disk alert, and whether they match a target's labels as Prometheus
matches them."""

from __future__ import annotations

import pytest

from labwarden.sources.monitoring import promql

APP = {"job": "app", "instance": "app:8080"}


@pytest.mark.parametrize("expr, down", [
    ("up == 0", True),
    ('up{job="app"} == 0', True),
    ('absent(up{job="app"})', True),
    ("avg_over_time(up[5m]) < 0.9", True),
    ("probe_success == 0", True),
    ("up", False),                                  # always 1 for a live target
    ("rate(http_requests_total[5m]) > 1", False),
    ('sum(up{job="app"}) by (job) > 0', False),
    ('setup_done == 0', False),                     # `up` inside another name
])
def test_down_alerts(expr: str, down: bool) -> None:
    assert promql.is_down_alert(expr) is down


@pytest.mark.parametrize("expr, matches", [
    ("up == 0", True),
    ('up{job="app"} == 0', True),
    ('up{job="db"} == 0', False),
    ('up{job=~"app|web"} == 0', True),
    ('up{job=~"ap"} == 0', False),                  # anchored, as Prometheus does
    ('up{job!="app"} == 0', False),
    ('up{instance!~"db:.*", job="app"} == 0', True),
    ('up{env="prod"} == 0', False),                 # a label the target lacks is ""
    ('up{env=""} == 0', True),
])
def test_selectors_match_target_labels(expr: str, matches: bool) -> None:
    selectors = promql.selectors(expr, promql.DOWN_METRICS)
    assert selectors and any(s.matches(APP) for s in selectors) is matches


def test_a_metric_name_inside_a_string_is_not_a_selector() -> None:
    assert promql.selectors('foo{label="up"} == 0', promql.DOWN_METRICS) == []


def test_certificate_and_disk_metrics() -> None:
    cert = promql.selectors('probe_ssl_earliest_cert_expiry{job="blackbox"} - time() < 86400 * 14',
                            promql.CERT_METRICS)
    assert [s.matchers for s in cert] == [[("job", "=", "blackbox")]]
    disk = promql.selectors("node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1",
                            promql.DISK_METRICS)
    assert [s.metric for s in disk] == ["node_filesystem_avail_bytes"]
