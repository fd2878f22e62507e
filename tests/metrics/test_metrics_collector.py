"""The collector without a Prometheus: its ASGI app (the console's /metrics), the cache, a
lab that stops evaluating, a certificate nobody saw, and the command's errors."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from labwarden.metrics.exposition import LabCollector, make_registry, metrics_app

from .conftest import EXAMPLE

COMPOSE = """\
services:
  web:
    image: nginx:1.27.3
    read_only: true
"""


def _minimal_lab(root: Path) -> Path:
    (root / "web").mkdir(parents=True)
    (root / "web" / "compose.yaml").write_text(COMPOSE)
    (root / "labwarden.yaml").write_text("version: 1\nservices:\n  web: {compose: web}\n")
    return root


def _samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _get(app, method: str = "GET") -> tuple[int, bytes]:
    """One request through the ASGI interface, as uvicorn or Starlette's Mount sends it."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/", "query_string": b"",
             "headers": [(b"accept", b"text/plain")]}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_asgi_app_serves_the_lab(tmp_path) -> None:
    app = metrics_app(str(_minimal_lab(tmp_path)))
    status, body = _get(app)
    assert status == 200
    samples = _samples(body.decode())
    score = samples[("labwarden_service_score", (("host", ""), ("service", "web")))]
    assert 0 < score < 100
    assert samples[("labwarden_evaluation_ok", ())] == 1.0
    assert _get(app, "POST")[0] == 405


def test_a_certificate_nobody_saw_has_no_sample_and_help_says_so(tmp_path) -> None:
    text = _get(metrics_app(str(_minimal_lab(tmp_path))))[1].decode()
    assert "# HELP labwarden_certificate_expiry_days" in text
    assert "No sample when no certificate was seen" in text
    assert not [line for line in text.splitlines()
                if line.startswith(("labwarden_certificate_expiry", "labwarden_backup_age",
                                    "labwarden_last_audit"))]


def test_the_asgi_app_answers_uvicorns_lifespan(tmp_path) -> None:
    app = metrics_app(str(_minimal_lab(tmp_path)))
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_one_evaluation_per_ttl_and_a_change_shows_after_it(tmp_path) -> None:
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records"))
    cached = LabCollector(str(root), ttl=3600)
    fresh = LabCollector(str(root), ttl=0)

    def attested(collector) -> int:
        state = collector.refresh_if_stale(wait=True)
        return state.services["grafana"].items_by_status.get("ATTESTED", 0)

    before = attested(cached), attested(fresh)
    assert before[0] == before[1]
    done = subprocess.run([sys.executable, "-m", "labwarden", "attest", "grafana", "8.1.1",
                           "8.1.2", "--by", "jdoe", "--note", "in the wiki"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert attested(cached) == before[0]            # within its TTL: the same evaluation
    assert attested(fresh) == before[1] + 2         # the attestation file is read again
    assert (cached.evaluations, fresh.evaluations) == (1, 2)


def test_a_stale_state_is_answered_at_once_and_refreshed_behind(tmp_path) -> None:
    """A scrape never waits for an audit once there is something to show."""
    root = _minimal_lab(tmp_path)
    collector = LabCollector(str(root), ttl=3600)
    first = collector.refresh()
    (root / "web" / "compose.yaml").write_text(COMPOSE.replace("    read_only: true\n", ""))
    collector.ttl = 0
    assert collector.refresh_if_stale() is first     # stale: answered, refresh started
    collector.ttl = 3600
    collector.join()
    second = collector.refresh_if_stale()
    assert second is not first and collector.evaluations == 2
    assert second.services["web"].score < first.services["web"].score   # read_only is gone


def test_a_lab_that_breaks_keeps_its_last_samples_with_ok_0(tmp_path, capsys) -> None:
    root = _minimal_lab(tmp_path)
    collector = LabCollector(str(root), ttl=3600)
    app = metrics_app(str(root), collector=collector)
    first = _samples(_get(app)[1].decode())
    (root / "labwarden.yaml").write_text("version: 1\nservices:\n  web: {compose: web\n")
    collector.ttl = 0
    _get(app)                                      # starts the evaluation that fails
    collector.ttl = 3600
    collector.join()
    second = _samples(_get(app)[1].decode())
    assert second[("labwarden_evaluation_ok", ())] == 0.0
    key = ("labwarden_service_score", (("host", ""), ("service", "web")))
    assert second[key] == first[key]
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "labwarden.yaml:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "message"), [
    (["--listen", "9817"], "is not HOST:PORT"),
    (["--listen", "127.0.0.1:70000"], "the port must be a number from 0 to 65535"),
    (["NOWHERE"], "no such directory"),
])
def test_the_command_refuses_bad_input_in_one_line(tmp_path, args, message) -> None:
    lab = _minimal_lab(tmp_path / "lab")
    argv = [a if a != "NOWHERE" else str(tmp_path / "nowhere") for a in args]
    if "NOWHERE" not in args:
        argv.append(str(lab))
    done = subprocess.run([sys.executable, "-m", "labwarden", "metrics", *argv],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_broken_lab_stops_the_command_before_it_listens(tmp_path) -> None:
    lab = _minimal_lab(tmp_path)
    (lab / "labwarden.yaml").write_text("version: 1\nservices:\n  web: {compose: web, "
                                        "owner: [1}\n")
    done = subprocess.run([sys.executable, "-m", "labwarden", "metrics", "--listen",
                           "127.0.0.1:0", str(lab)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "labwarden.yaml:" in done.stderr and "serving" not in done.stdout


def test_concurrent_scrapes_share_one_evaluation(tmp_path) -> None:
    """Scrapes that arrive while the lab is evaluated wait for that evaluation; none
    starts its own (an audit per scrape would pile up on a slow lab)."""
    from concurrent.futures import ThreadPoolExecutor

    from prometheus_client import generate_latest

    collector = LabCollector(str(_minimal_lab(tmp_path)), ttl=3600)
    registry = make_registry(collector)
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda _: generate_latest(registry).decode(), range(16)))
    assert collector.evaluations == 1
    assert len(set(texts)) == 1 and "labwarden_service_score{" in texts[0]


def test_a_service_where_nothing_applies_has_no_score_sample() -> None:
    """The CLI shows such a service as "all N/A" (its risk Unacceptable), never as 0 %."""
    from prometheus_client.core import Metric

    from labwarden.metrics.collect import LabState, ServiceState
    from labwarden.metrics.exposition import families

    def service(name: str, total: int) -> ServiceState:
        return ServiceState(name=name, host="", score=0.0, items_total=total,
                            items_completed=0, items_by_status={}, risk="Unacceptable",
                            gate_go=False, open_findings={}, waived_findings=0)

    state = LabState({"na": service("na", 0), "web": service("web", 10)}, {}, 0.0, 0.0, 0)
    found: list[Metric] = families(state, True, 0.0)
    score = next(f for f in found if f.name == "labwarden_service_score")
    assert [s.labels["service"] for s in score.samples] == ["web"]
    risk = next(f for f in found if f.name == "labwarden_service_risk_level")
    assert {s.labels["service"] for s in risk.samples} == {"na", "web"}


def test_unreadable_inputs_and_coverage_gaps_are_counted(tmp_path) -> None:
    """What `labwarden audit` would exit 2 for (a Compose file that is not YAML) and what it
    reads as empty (an unset variable) are counts, never texts."""
    root = _minimal_lab(tmp_path)
    (root / "web" / "compose.yaml").write_text(COMPOSE + "    environment:\n"
                                               "      - TAG=${WEB_TAG}\n")
    (root / "broken").mkdir()
    (root / "broken" / "compose.yaml").write_text("services: [unclosed\n")
    text = _get(metrics_app(str(root)))[1].decode()
    samples = _samples(text)
    assert samples[("labwarden_evaluation_input_errors", ())] == 1.0
    assert samples[("labwarden_evaluation_coverage_gaps", ())] >= 1.0
    assert "WEB_TAG" not in text and "unclosed" not in text
