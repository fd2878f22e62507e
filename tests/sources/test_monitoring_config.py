"""The monitoring source from configuration files, as the Compose projects mount them: a lab
whose monitoring project runs Prometheus (rule files and file_sd through a mounted
directory), Alertmanager, Loki and Promtail. Config parsing with real-format files only:
no Loki or shipper runs here (the real Prometheus and Alertmanager are in
tests/live/monitoring). Then each log shipper's format on its own (Alloy, Vector, Fluent
Bit classic and YAML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labwarden.audit import AuditOptions, run
from labwarden.checklist.attest import ServiceRecord
from labwarden.checklist.catalog import load_catalog
from labwarden.checklist.evaluate import evaluate
from labwarden.config import load_config
from labwarden.inventory import load_inventory
from labwarden.sources.monitoring import join, shippers

FILES = {
    "labwarden.yaml": """\
version: 1
services:
  web: {compose: web, urls: [https://web.lab.example]}
  db: {compose: db}
""",
    "web/compose.yaml": """\
services:
  web:
    image: nginx:1.27.3
    container_name: web-app
    labels: {logging: promtail}
""",
    "db/compose.yaml": """\
services:
  db:
    image: postgres:16.4
    container_name: db-main
""",
    "mon/compose.yaml": """\
services:
  prometheus:
    image: quay.io/prometheus/prometheus:v2.54.1
    volumes: ["./prometheus:/etc/prometheus:ro"]
  alertmanager:
    image: prom/alertmanager:v0.27.0
    volumes: ["./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"]
  loki:
    image: grafana/loki:3.2.1
    command: ["-config.file=/etc/loki/loki.yaml"]
    volumes: ["./loki.yaml:/etc/loki/loki.yaml:ro"]
  promtail:
    image: grafana/promtail:3.2.1
    volumes: ["./promtail.yml:/etc/promtail/config.yml:ro"]
""",
    "mon/prometheus/prometheus.yml": """\
rule_files: ["rules/*.yml"]
alerting:
  alertmanagers: [{static_configs: [{targets: ["alertmanager:9093"]}]}]
scrape_configs:
  - job_name: node
    static_configs: [{targets: ["node-exporter:9100"]}]
  - job_name: blackbox
    metrics_path: /probe
    params: {module: [http_2xx]}
    static_configs: [{targets: ["https://web.lab.example"]}]
  - job_name: files
    file_sd_configs: [{files: ["targets/*.json"]}]
""",
    "mon/prometheus/targets/web.json": '[{"targets": ["web-app:9113"], "labels": {"env": "lab"}}]',
    "mon/prometheus/rules/alerts.yml": """\
groups:
  - name: lab
    rules:
      - alert: TargetDown
        expr: up == 0
      - alert: CertificateExpiresSoon
        expr: probe_ssl_earliest_cert_expiry{job="blackbox"} - time() < 14 * 86400
      - alert: HostDiskFilling
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1
""",
    "mon/alertmanager.yml": """\
route:
  receiver: nobody
receivers:
  - name: nobody
""",
    "mon/loki.yaml": """\
limits_config:
  retention_period: 2160h
compactor:
  working_directory: /loki/compactor
""",
    "mon/promtail.yml": """\
scrape_configs:
  - job_name: docker
    docker_sd_configs:
      - host: unix:///var/run/docker.sock
        filters: [{name: label, values: ["logging=promtail"]}]
""",
}


def _lab(root: Path, changes: dict[str, str] | None = None, drop: str = "") -> Path:
    """The lab's files, with `changes`, without those under `drop`."""
    files = {n: t for n, t in {**FILES, **(changes or {})}.items()
             if not (drop and n.startswith(drop))}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _audit(root: Path):
    config = load_config(str(root / "labwarden.yaml"))
    result = run([str(root)], AuditOptions(config=config, keep_facts=True))
    return config, result


def _by_rule(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        if finding.rule.id.startswith("MON"):
            found.setdefault(finding.rule.id, set()).add(finding.asset)
    return found


def test_the_lab_is_judged_from_its_mounted_configuration(tmp_path: Path) -> None:
    config, result = _audit(_lab(tmp_path))
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    assert _by_rule(result) == {
        "MON001": {"monitoring:db"},            # no target is about db
        "MON006": {"alerting:lab"},             # the only receiver is a black hole
        "MON007": {"logs:db"},                  # promtail keeps logging=promtail only
        "MON008": {"loki:mon/loki"},       # a period, but the compactor never applies it
    }
    inventory = load_inventory(config)
    web = evaluate(inventory.services["web"], result, ServiceRecord(), load_catalog(),
                   settings=config.settings).by_id()
    assert web["6.3.1"].status.value == "PASS" and "web-app:9113" in web["6.3.1"].note
    assert web["6.3.4"].status.value == "PASS" and "TargetDown" in web["6.3.4"].note
    assert web["6.4.1"].status.value == "PASS" and "HostDiskFilling" in web["6.4.1"].note
    assert web["3.3.4"].status.value == "PASS"
    assert web["6.1.3"].status.value == "PASS" and "web-app" in web["6.1.3"].note
    assert web["6.4.2"].status.value == "FAIL" and web["5.3.5"].status.value == "FAIL"


def test_findings_point_at_the_file_to_change(tmp_path: Path) -> None:
    _, result = _audit(_lab(tmp_path))
    where = {f.rule.id: (Path(f.location.path).name, f.location.line) for f in result.findings
             if f.rule.id.startswith("MON")}
    assert where["MON001"] == ("prometheus.yml", 4)         # scrape_configs:
    assert where["MON006"] == ("alertmanager.yml", 4)       # the routed receiver
    assert where["MON008"] == ("loki.yaml", 2)              # retention_period


def test_docker_discovery_in_prometheus_is_not_a_gap(tmp_path: Path) -> None:
    """Targets Prometheus discovers at run time are known only from its API."""
    prometheus = FILES["mon/prometheus/prometheus.yml"] + """\
  - job_name: containers
    docker_sd_configs: [{host: "unix:///var/run/docker.sock"}]
"""
    _, result = _audit(_lab(tmp_path, {"mon/prometheus/prometheus.yml": prometheus}))
    assert "MON001" not in _by_rule(result)


def test_a_malformed_prometheus_yml_is_an_error_with_its_line(tmp_path: Path) -> None:
    _, result = _audit(_lab(tmp_path, {"mon/prometheus/prometheus.yml": "scrape_configs: [\n"}))
    errors = [d for d in result.diagnostics if d.level == "error"]
    assert errors and errors[0].location.path.endswith("prometheus.yml")
    assert errors[0].location.line >= 1
    assert not {"MON001", "MON003", "MON004", "MON005"} & set(_by_rule(result))


def test_a_config_left_in_the_image_is_said_not_judged(tmp_path: Path) -> None:
    compose = FILES["mon/compose.yaml"].replace(
        '    volumes: ["./prometheus:/etc/prometheus:ro"]\n', "")
    _, result = _audit(_lab(tmp_path, {"mon/compose.yaml": compose}))
    unread = [d for d in result.diagnostics if d.code == "monitoring-config-unread"]
    assert unread and "/etc/prometheus/prometheus.yml" in unread[0].message
    assert "MON001" not in _by_rule(result)


def test_retention_applied_by_the_compactor_passes(tmp_path: Path) -> None:
    loki = FILES["mon/loki.yaml"] + "  retention_enabled: true\n"
    config, result = _audit(_lab(tmp_path, {"mon/loki.yaml": loki}))
    assert "MON008" not in _by_rule(result)
    inventory = load_inventory(config)
    db = evaluate(inventory.services["db"], result, ServiceRecord(), load_catalog(),
                  settings=config.settings).by_id()
    assert db["5.3.5"].status.value == "PASS" and "90 days" in db["5.3.5"].note


def test_without_a_monitoring_stack_the_items_stay_open(tmp_path: Path) -> None:
    config, result = _audit(_lab(tmp_path, drop="mon/"))
    inventory = load_inventory(config)
    web = evaluate(inventory.services["web"], result, ServiceRecord(), load_catalog(),
                   settings=config.settings).by_id()
    for item in ("6.3.1", "6.4.2", "6.1.3", "5.3.5"):
        assert web[item].status.value == "OPEN", (item, web[item].note)
        assert web[item].note.startswith("not examined: needs"), web[item].note


# -- the log shippers, one format each ------------------------------------------------------

CONTAINERS = [("web-app", {"logging": "alloy", "com.docker.compose.service": "web"}, None),
              ("db-main", {"com.docker.compose.service": "db"}, None),
              ("cache", {}, "local"),
              ("legacy", {}, "syslog")]


def _shipped(kind: str, path: Path) -> dict[str, str]:
    view = shippers.read(kind, str(path))
    assert view.error is None, view.error
    return {name: join._shipped(name, labels, driver, [view])
            for name, labels, driver in CONTAINERS}


def test_alloy_discovery_relabel_keep(tmp_path: Path) -> None:
    path = tmp_path / "config.alloy"
    path.write_text("""\
// Docker containers labelled logging=alloy, minus the database
discovery.docker "containers" {
  host = "unix:///var/run/docker.sock"
}
discovery.relabel "kept" {
  targets = discovery.docker.containers.targets
  rule {
    source_labels = ["__meta_docker_container_label_logging"]
    regex         = "alloy"
    action        = "keep"
  }
}
loki.source.docker "logs" {
  host       = "unix:///var/run/docker.sock"
  targets    = discovery.relabel.kept.output
  forward_to = [loki.write.local.receiver]
}
loki.write "local" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
""")
    shipped = _shipped("alloy", path)
    assert shipped["web-app"].startswith("alloy loki.source.docker.logs")
    assert shipped["db-main"] == "" and shipped["cache"] == ""
    assert shipped["legacy"] == "Docker's syslog logging driver"


def test_alloy_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.alloy"
    path.write_text('discovery.docker "x" {\n  host = \n}\n')
    view = shippers.read("alloy", str(path))
    assert view.error and view.diagnostics[0].location.line in (2, 3)


@pytest.mark.parametrize("suffix, text", [
    (".yaml", """\
sources:
  docker:
    type: docker_logs
    exclude_containers: [db-]
  unused:
    type: docker_logs
sinks:
  loki:
    type: loki
    inputs: [docker]
    endpoint: http://loki:3100
  debug:
    type: console
    inputs: [unused]
"""),
    (".toml", """\
[sources.docker]
type = "docker_logs"
exclude_containers = ["db-"]

[transforms.parse]
type = "remap"
inputs = ["docker"]
source = ". = parse_json!(.message)"

[sinks.loki]
type = "loki"
inputs = ["parse"]
endpoint = "http://loki:3100"
"""),
])
def test_vector_docker_logs_reaching_a_sink(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"vector{suffix}"
    path.write_text(text)
    shipped = _shipped("vector", path)
    assert shipped["web-app"] == "vector sources.docker (docker_logs)"
    assert shipped["cache"] == "vector sources.docker (docker_logs)"   # docker logs reads local
    assert shipped["db-main"] == ""                                     # excluded by prefix


def test_vector_source_only_printed_to_the_console_ships_nothing(tmp_path: Path) -> None:
    path = tmp_path / "vector.yaml"
    path.write_text("sources: {d: {type: docker_logs}}\nsinks: {out: {type: console, "
                    "inputs: [d]}}\n")
    assert set(_shipped("vector", path).values()) == {"", "Docker's syslog logging driver"}


@pytest.mark.parametrize("name, text", [
    ("fluent-bit.conf", """\
[SERVICE]
    Flush 1
[INPUT]
    Name   tail
    Path   /var/lib/docker/containers/*/*.log
    Tag    docker.*
[OUTPUT]
    Name   loki
    Match  docker.*
    Host   loki
"""),
    ("fluent-bit.yaml", """\
pipeline:
  inputs:
    - name: tail
      path: /var/lib/docker/containers/*/*.log
      tag: docker.*
  outputs:
    - name: loki
      match: "docker.*"
      host: loki
"""),
])
def test_fluent_bit_tail_on_docker_json_logs(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    shipped = _shipped("fluent-bit", path)
    assert shipped["web-app"].startswith("fluent-bit tail input")
    assert shipped["db-main"].startswith("fluent-bit tail input")
    assert shipped["cache"] == ""         # the `local` driver writes no json-file logs


def test_fluent_bit_output_to_stdout_ships_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fluent-bit.conf"
    path.write_text("[INPUT]\n    Name tail\n    Path /var/lib/docker/containers/*/*.log\n"
                    "[OUTPUT]\n    Name stdout\n    Match *\n")
    assert shipped_nothing(_shipped("fluent-bit", path))


def shipped_nothing(shipped: dict[str, str]) -> bool:
    return all(how in ("", "Docker's syslog logging driver") for how in shipped.values())


def test_the_monitoring_keys_are_checked_at_load(tmp_path: Path) -> None:
    from labwarden.config import ConfigError

    path = tmp_path / "labwarden.yaml"
    path.write_text("monitoring: {promethues: http://127.0.0.1:9090}\n"
                    "services: {web: {monitoring: {job: [web, 3]}}}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(str(path))
    assert "did you mean `prometheus`" in str(raised.value)
    path.write_text("monitoring: {prometheus: http://127.0.0.1:9090}\n"
                    "services: {web: {monitoring: {job: [web, web-exporter]}}}\n")
    inventory = load_inventory(load_config(str(path)))
    assert inventory.monitoring_targets == ("prometheus+http://127.0.0.1:9090",)
    assert inventory.services["web"].monitoring_jobs == ("web", "web-exporter")


def test_role_of_reads_the_repository_whatever_its_registry_tag_and_case() -> None:
    from labwarden.sources.monitoring.stack import role_of

    assert role_of("prom/prometheus:v2.53.0") == "prometheus"
    assert role_of("quay.io/prometheus/alertmanager@sha256:abc") == "alertmanager"
    assert role_of("localhost:5000/Grafana/Loki:3.0") == "loki"
    assert role_of("bitnami/fluent-bit") == "fluent-bit"
    assert role_of("ubuntu/prometheus-alertmanager:latest") == "alertmanager"
    assert role_of("grafana/agent") == "alloy"
    for image in ("postgres:16", "traefik", "grafana/grafana", "prometheus", "someone/loki",
                  "prom/node-exporter", "", None):
        assert role_of(image) is None, image
