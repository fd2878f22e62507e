"""Re-audits: on demand from the page (background, progress page that refreshes itself
while it runs) and on the schedule; each re-audit adds every service's run to the history,
the start-up audit does not. A change on disk shows after a re-audit, an attestation from
the CLI at the next page load."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from labwarden.console.scheduler import parse_every
from labwarden.store import Store
from console_server import TODAY, ConsoleServer, csrf_of


def wait_for(condition, what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def runs(lab: Path, service: str) -> int:
    path = lab / ".labwarden" / "history.db"
    if not path.exists():
        return 0
    with Store(str(path)) as store:
        return len(store.runs(service))


def test_a_reaudit_from_the_page_runs_in_the_background_and_saves_runs(console, lab) -> None:
    assert runs(lab, "n8n") == 0                       # the start-up audit only looks
    with console.client() as client:
        token = csrf_of(client.get("/audit").text)
        assert "Audits so far: 1" in client.get("/audit").text
        response = client.post("/audit", data={"csrf": token})
        assert response.status_code == 303 and response.headers["location"] == "/audit"
        page = client.get("/audit").text
        if console.lab.status.running:             # caught while it runs: it refreshes
            assert 'http-equiv="refresh"' in page
        wait_for(lambda: console.lab.status.generation == 2, "the re-audit")
        page = client.get("/audit").text
        assert "Audits so far: 2" in page and 'http-equiv="refresh"' not in page
    assert runs(lab, "n8n") == 1 and runs(lab, "grafana") == 1


def test_a_compose_change_shows_after_a_reaudit_and_the_cli_at_once(console, lab) -> None:
    with console.client() as client:
        row = "<td><code>CMP050</code></td><td>compose:portainer/portainer</td>"
        page = "/findings?q=portainer&waived=1"
        assert row in client.get(page).text          # the Docker socket, waived
        compose = lab / "portainer" / "compose.yaml"
        compose.write_text("\n".join(line for line in compose.read_text().splitlines()
                                     if "docker.sock" not in line) + "\n")
        assert row in client.get(page).text          # until the next audit
        console.lab.audit_now("test", save=False)
        assert row not in client.get(page).text
        # An attestation written by the CLI shows at the next load, without a re-audit.
        subprocess.run([sys.executable, "-m", "labwarden", "attest", "grafana", "1.2.3",
                        "--by", "cli-user", "--note", "recovery codes in the vault",
                        "--today", TODAY], cwd=lab, check=True, capture_output=True)
        page = client.get("/service/grafana?status=ATTESTED").text
        assert "recovery codes in the vault" in page and "cli-user" in page


def test_the_schedule_reaudits_and_saves(lab) -> None:
    server = ConsoleServer(str(lab / "labwarden.yaml"), today=TODAY, every=0.5).start()
    try:
        wait_for(lambda: server.lab.status.generation >= 3, "two scheduled audits")
        assert server.lab.status.reason == "scheduled"
    finally:
        server.stop()
    assert runs(lab, "paperless") >= 2


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("6h", 21600),
                                           ("1d", 86400)])
def test_every_durations(text, seconds) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["6", "h", "10s", "1w", "-5m", ""])
def test_bad_every_durations(text) -> None:
    with pytest.raises(ValueError):
        parse_every(text)
