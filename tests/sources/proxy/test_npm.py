"""Nginx Proxy Manager: a real SQLite database with NPM's schema, in a Compose project that
runs NPM with `./data:/data`, read read-only and judged; one compliant proxy host and one
that is not."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from labwarden.audit import AuditOptions, run
from labwarden.cli import main
from labwarden.model import LAB_ORIGIN
from labwarden.sources.proxy.model import ProxyRoute, ProxyServer

from .npm_db import NpmDatabase, example_builder


def _day(days: int) -> str:
    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


NPM_COMPOSE = """
    services:
      npm:
        image: jc21/nginx-proxy-manager:2.12.1
        ports:
          - "80:80"
          - "443:443"
          - "192.168.1.5:81:81"
        volumes:
          - ./data:/data
"""
APPS_COMPOSE = """
    services:
      grafana:
        image: grafana/grafana:11.3.0
        container_name: monitoring-grafana
        ports: ["127.0.0.1:3000:3000"]
      portainer:
        image: portainer/portainer-ce:2.21.4
        container_name: portainer-server
"""


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    _write(tmp_path, "proxy/compose.yaml", NPM_COMPOSE)
    _write(tmp_path, "apps/compose.yaml", APPS_COMPOSE)
    db = NpmDatabase(tmp_path / "proxy" / "data" / "database.sqlite")
    lab_cert = db.certificate("lab wildcard", "other", _day(365))
    renewing = db.certificate("portainer.lab.example", "letsencrypt", _day(10))
    admins = db.access_list("admins", users=2, clients=[("allow", "192.168.10.0/24")])
    db.proxy_host(["grafana.lab.example"], "monitoring-grafana", 3000, certificate_id=lab_cert,
                  ssl_forced=1, hsts_enabled=1, hsts_subdomains=1, http2_support=1,
                  block_exploits=1, allow_websocket_upgrade=1, access_list_id=admins)
    db.proxy_host(["portainer.lab.example"], "portainer-server", 9443, scheme="https",
                  certificate_id=renewing, ssl_forced=0, hsts_enabled=1, http2_support=0,
                  block_exploits=0)
    db.proxy_host(["old.lab.example"], "monitoring-grafana", 3000, enabled=0)
    db.proxy_host(["broken.lab.example"], "portainer-server", 9443,
                  meta={"nginx_online": False, "nginx_err": "nginx: [emerg] unknown directive"})
    db.proxy_host(["gone.lab.example"], "monitoring-grafana", 3000, is_deleted=1)
    db.close()
    return tmp_path


def _audit(root: Path, **options):
    return run([str(root)], AuditOptions(keep_facts=True, **options))


def _by_asset(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        if finding.rule.id.startswith("PRX"):
            found.setdefault(finding.asset, set()).add(finding.rule.id)
    return found


def test_proxy_hosts_are_read_with_npm_semantics(lab: Path) -> None:
    result = _audit(lab)
    routes = {f.name: f for _, _, f in result.facts if isinstance(f, ProxyRoute)}
    # Deleted and disabled hosts serve nothing: not read.
    assert set(routes) == {"grafana.lab.example", "portainer.lab.example", "broken.lab.example"}
    good, bad = routes["grafana.lab.example"], routes["portainer.lab.example"]
    assert (good.tls, good.force_https, good.http2, good.block_exploits) == (True,) * 4
    assert good.hsts is not None and good.hsts.max_age == 31_536_000 and good.hsts.subdomains
    assert good.auth == "access list 'admins': 2 users with a password and 1 address rule"
    assert good.upstreams[0].workload.asset == "compose:apps/grafana"
    assert good.upstreams[0].via == "container name"
    # HSTS ticked without Force SSL: NPM's template sends nothing, and says why.
    assert bad.tls is True and bad.force_https is False and bad.hsts is None
    assert "Force SSL" in bad.hsts_note
    assert bad.certificate.provider == "letsencrypt"
    assert routes["broken.lab.example"].not_served == (
        "Nginx Proxy Manager could not apply its configuration: nginx: [emerg] unknown directive")
    # Facts about other services than the proxy's own are lab-wide, and say whose they are.
    origins = {asset: origin for origin, asset, f in result.facts
               if isinstance(f, (ProxyRoute, ProxyServer))}
    assert set(origins.values()) == {LAB_ORIGIN}


def test_the_compliant_host_has_no_finding_and_the_other_all_of_its_gaps(lab: Path) -> None:
    result = _audit(lab)
    found = _by_asset(result)
    assert "npm:proxy/grafana.lab.example" not in found
    assert found["npm:proxy/portainer.lab.example"] == {"PRX002", "PRX003", "PRX005", "PRX006",
                                                        "PRX007", "PRX009"}
    assert found["npm:proxy/broken.lab.example"] == {"PRX004"}
    assert found["npm:proxy"] == {"PRX022"}              # 81 on a LAN address
    expiring = next(f for f in result.findings if f.rule.id == "PRX009")
    assert expiring.severity.name == "MEDIUM" and expiring.checklist == ("3.3.4",)
    admin = next(f for f in result.findings if f.rule.id == "PRX005")
    assert "Portainer" in admin.message and admin.checklist == ()


def test_reading_while_npm_writes_neither_waits_nor_blocks_it(lab: Path) -> None:
    path = lab / "proxy" / "data" / "database.sqlite"
    # NPM is writing: a write transaction is open (RESERVED lock, an uncommitted change).
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE proxy_host SET ssl_forced = 1")
    try:
        result = _audit(lab)
        routes = {f.name: f for _, _, f in result.facts if isinstance(f, ProxyRoute)}
        assert routes["portainer.lab.example"].force_https is False     # committed state only
        assert not [d for d in result.diagnostics if d.code == "proxy-unreadable"]
        # Committing needs an exclusive lock at once (timeout 0): the audit kept none.
        writer.execute("COMMIT")
    finally:
        writer.close()


def test_reading_creates_nothing_next_to_the_database(lab: Path) -> None:
    path = lab / "proxy" / "data" / "database.sqlite"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    _audit(lab)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["database.sqlite"]


def test_a_file_that_is_not_a_database_is_an_error_at_its_path(lab: Path) -> None:
    path = lab / "proxy" / "data" / "database.sqlite"
    path.write_bytes(b"this is not SQLite\n" * 100)
    result = _audit(lab)
    errors = [d for d in result.diagnostics if d.code == "proxy-unreadable"]
    assert len(errors) == 1 and errors[0].level == "error"
    assert errors[0].location.path.endswith("proxy/data/database.sqlite")
    assert "cannot read NPM's database" in errors[0].message
    assert not _by_asset(result).get("npm:proxy/grafana.lab.example")


def test_a_database_without_npm_tables_is_named_as_such(lab: Path) -> None:
    path = lab / "proxy" / "data" / "database.sqlite"
    path.unlink()
    sqlite3.connect(path).execute("CREATE TABLE other (id integer)").connection.close()
    result = _audit(lab)
    errors = [d.message for d in result.diagnostics if d.code == "proxy-unreadable"]
    assert errors == ["not an Nginx Proxy Manager database: it has no proxy_host table"]


@pytest.mark.parametrize("volumes, environment, code, words", [
    (["npm-data:/data"], {}, "proxy-not-read", "in the volume 'npm-data'"),
    (["./data:/data"], {"DB_MYSQL_HOST": "db"}, "proxy-not-read", "MySQL/MariaDB"),
])
def test_a_database_outside_the_tree_is_said_not_read(tmp_path: Path, volumes, environment,
                                                      code, words) -> None:
    compose = {"services": {"npm": {"image": "jc21/nginx-proxy-manager:2.12.1",
                                    "volumes": volumes, "environment": environment}},
               "volumes": {"npm-data": {}}}
    (tmp_path / "proxy").mkdir()
    (tmp_path / "proxy" / "compose.yaml").write_text(json.dumps(compose))
    result = _audit(tmp_path)
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1 and words in found[0].message
    assert not [f for f in result.findings if f.rule.id.startswith("PRX")]


def test_a_named_database_outside_the_tree_is_matched_to_the_tree(lab: Path,
                                                                  tmp_path_factory) -> None:
    """`npm:PATH` for a copy of the database: its hosts are judged, their upstreams matched
    to the tree's services; the tree's own database named again is not judged twice."""
    elsewhere = tmp_path_factory.mktemp("copy") / "npm.sqlite"
    elsewhere.write_bytes((lab / "proxy" / "data" / "database.sqlite").read_bytes())
    (lab / "proxy" / "compose.yaml").unlink()
    from labwarden.audit.live import parse_targets
    from labwarden.sources.live.collect import ProbeOptions

    result = _audit(lab, targets=parse_targets([f"npm:{elsewhere}"]), probe=ProbeOptions())
    routes = {f.name: f for _, _, f in result.facts if isinstance(f, ProxyRoute)}
    assert routes["grafana.lab.example"].upstreams[0].workload.asset == "compose:apps/grafana"
    assert _by_asset(result)["npm:npm.sqlite/portainer.lab.example"] >= {"PRX002", "PRX003"}


def test_the_trees_database_named_again_is_not_judged_twice(lab: Path) -> None:
    from labwarden.audit.live import parse_targets
    from labwarden.sources.live.collect import ProbeOptions

    target = f"npm:{lab / 'proxy' / 'data' / 'database.sqlite'}"
    result = _audit(lab, targets=parse_targets([target]), probe=ProbeOptions())
    assert len([f for f in result.findings if f.rule.id == "PRX002"]) == 1


def test_the_checklist_answers_each_service_from_its_own_proxy_host(lab: Path, capsys) -> None:
    _write(lab, "labwarden.yaml", """
        services:
          grafana:
            compose: apps
            compose_services: [grafana]
          portainer:
            compose: apps
            compose_services: [portainer]
    """)

    def items(service: str) -> dict[str, dict]:
        assert main(["checklist", service, "--config", str(lab / "labwarden.yaml"),
                     "--format", "json"]) == 0
        return {i["id"]: i for i in json.loads(capsys.readouterr()[0])["items"]}

    grafana, portainer = items("grafana"), items("portainer")
    for item in ("3.2.1", "3.2.3", "3.3.5", "7.1.5"):
        assert grafana[item]["status"] == "PASS", (item, grafana[item]["note"])
    assert "grafana.lab.example" in grafana["3.3.5"]["note"]
    # Its second proxy host, which NPM could not apply, is a route to it not served.
    assert portainer["3.2.1"]["status"] == "FAIL"
    for item in ("3.2.3", "3.3.5", "7.1.5", "3.3.4"):
        assert portainer[item]["status"] == "FAIL", (item, portainer[item]["note"])


def test_the_example_database_is_what_its_script_builds(tmp_path: Path) -> None:
    committed = Path(example_builder().DATABASE)
    fresh = tmp_path / "database.sqlite"
    example_builder().create(str(fresh))

    def dump(path: Path) -> list[str]:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return list(connection.iterdump())
        finally:
            connection.close()

    assert dump(committed) == dump(fresh)


def test_proxies_in_labwarden_yaml_answer_the_checklist_without_live(lab: Path,
                                                                     capsys) -> None:
    """A database outside the tree, named in `proxies:` relative to labwarden.yaml, is read
    for every service's checklist without --live (it is a file, not the network)."""
    (lab / "backups").mkdir()
    (lab / "proxy" / "data" / "database.sqlite").rename(lab / "backups" / "npm.sqlite")
    _write(lab, "labwarden.yaml", """
        proxies: [npm:backups/npm.sqlite]
        services:
          grafana:
            compose: apps
            compose_services: [grafana]
    """)
    assert main(["checklist", "grafana", "--config", str(lab / "labwarden.yaml"),
                 "--format", "json"]) == 0
    items = {i["id"]: i for i in json.loads(capsys.readouterr()[0])["items"]}
    assert items["3.3.5"]["status"] == "PASS", items["3.3.5"]["note"]
    assert "grafana.lab.example" in items["3.3.5"]["note"]


def test_a_proxies_entry_that_is_not_a_proxy_target_is_a_config_error(tmp_path: Path,
                                                                       capsys) -> None:
    _write(tmp_path, "labwarden.yaml", """
        proxies: [nginx:/etc/nginx]
        services:
          app: {}
    """)
    assert main(["checklist", "app", "--config", str(tmp_path / "labwarden.yaml")]) == 2
    err = capsys.readouterr()[1]
    assert "labwarden.yaml:1" in err and "nginx:/etc/nginx" in err and "Traceback" not in err


def test_a_named_database_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    from labwarden.audit.live import parse_targets
    from labwarden.sources.live.collect import ProbeOptions

    result = _audit(tmp_path, targets=parse_targets([f"npm:{tmp_path / 'none.sqlite'}"]),
                    probe=ProbeOptions())
    assert [(d.level, d.code) for d in result.diagnostics] == [("error", "proxy-unreadable")]


def test_forked_workers_send_the_proxy_and_its_upstreams_back(lab: Path) -> None:
    """Projects loaded in worker processes: the proxy and the workloads its hosts forward to
    travel back to the parent, and the findings are those of a serial run."""
    def found(jobs: int) -> list[tuple[str, str, str]]:
        result = run([str(lab)], AuditOptions(jobs=jobs))
        return sorted((f.rule.id, f.asset, f.message) for f in result.findings
                      if f.rule.id.startswith("PRX"))

    serial = found(1)
    assert ("PRX005", "npm:proxy/portainer.lab.example") in {(r, a) for r, a, _ in serial}
    assert found(2) == serial
