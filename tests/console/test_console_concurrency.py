"""The console and the CLI writing the attestation file at the same moment: separate
`labwarden attest` processes and console POSTs from threads, all at once. Every answer
must be in the file afterwards (both go through AttestationBook's locked read-modify-write),
and the console's audit log has one line per console write."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from labwarden.checklist.attest import AttestationBook
from console_server import TODAY, csrf_of


CLI_ITEMS = ["1.1.1", "1.1.2", "1.1.3", "1.1.5", "1.1.6", "1.2.1"]
CONSOLE_ITEMS = ["2.2.1", "2.2.2", "2.2.3", "2.2.4", "2.3.1", "2.3.2"]


def test_cli_and_console_writes_at_once_lose_nothing(console, lab: Path) -> None:
    before = AttestationBook(str(lab / "attestations.yaml"))
    n8n_before = len(before.services["n8n"].items)
    clients = []
    for _ in CONSOLE_ITEMS:
        client = console.client()
        clients.append((client, csrf_of(client.get("/service/grafana").text)))
    barrier = threading.Barrier(len(CONSOLE_ITEMS) + 1)
    statuses: list[int] = []

    def console_write(item: str, client, token: str) -> None:
        barrier.wait()
        response = client.post("/service/grafana/attest", data={
            "csrf": token, "item": item, "action": "attest", "note": f"console {item}",
            "scope": "service", "by": "web"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=console_write, args=(item, *clients[i]))
               for i, item in enumerate(CONSOLE_ITEMS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    processes = [subprocess.Popen([sys.executable, "-m", "labwarden", "attest", "grafana", item,
                                   "--by", "cli", "--note", f"cli {item}", "--today", TODAY],
                                  cwd=lab, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for item in CLI_ITEMS]
    for thread in threads:
        thread.join(timeout=300)
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    for client, _ in clients:
        client.close()
    assert results == [(0, "")] * len(CLI_ITEMS)
    assert statuses == [303] * len(CONSOLE_ITEMS)
    book = AttestationBook(str(lab / "attestations.yaml"))
    items = book.services["grafana"].items
    assert {i: items[i].note for i in CLI_ITEMS} == {i: f"cli {i}" for i in CLI_ITEMS}
    assert {i: items[i].note for i in CONSOLE_ITEMS} == {i: f"console {i}" for i in CONSOLE_ITEMS}
    assert {items[i].by for i in CONSOLE_ITEMS} == {"web"}
    assert len(book.services["n8n"].items) == n8n_before           # nobody else's lost
    log = [json.loads(line) for line in
           (lab / ".labwarden" / "console-audit.log").read_text().splitlines()]
    assert sorted(i for e in log for i in e["items"]) == CONSOLE_ITEMS
    assert {e["who"] for e in log} == {"web"}
    # What the CLI shows now is what the console shows.
    shown = subprocess.run([sys.executable, "-m", "labwarden", "checklist", "grafana",
                            "--format", "json", "--today", TODAY], cwd=lab,
                           capture_output=True, text=True, check=True)
    statuses_cli = {i["id"]: i["status"] for i in json.loads(shown.stdout)["items"]}
    evaluation = console.lab.evaluation("grafana")
    assert {r.item.id: r.status.value for r in evaluation.items} == statuses_cli
    assert all(statuses_cli[i] == "ATTESTED" for i in CLI_ITEMS + CONSOLE_ITEMS)
