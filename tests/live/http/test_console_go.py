"""The web console in a real browser (Debian's Chromium driven by Playwright), against a real
uvicorn on loopback: a hardened Grafana (the go-lab of test_checklist_go.py, behind a real TLS
site on nginx) walked from OPEN items to GO in the pages: a selection attested at once,
optional items answered N/A with a reason, the three sign-offs, the deployment recorded, the
record archived. Then the files on disk and the CLI must say what the console said.

Screenshots of the main pages go to /tmp/console-shots/ (looked at, not only asserted on).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from labwarden.cli import main
from test_checklist_go import SERVICE_ANSWERS, TODAY, go_lab  # noqa: F401 (a fixture)

sys.path.insert(0, str(Path(__file__).parents[2] / "console"))
from console_server import ConsoleServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path("/tmp/console-shots")
# Optional items the lab's answers file leaves out here, to be answered N/A in the page.
NA_ITEMS = {"5.4.2": "no payment card data anywhere in the lab",
            "5.4.3": "no health records in the lab"}


def require_browser() -> None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("the console's browser test needs the Debian package `chromium`")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the console's browser test needs the PyPI package `playwright`")


@pytest.fixture()
def go_console(go_lab: Path, pki):
    # The lab-wide answers without the two N/A items the page will answer.
    answers = (go_lab / "lab-answers.yaml").read_text()
    answers = "\n".join(line for line in answers.splitlines()
                        if not any(f'"{i}"' in line for i in NA_ITEMS)) + "\n"
    (go_lab / "lab-answers.yaml").write_text(answers)
    assert main(["attest", "--from", "lab-answers.yaml", "--by", "jdoe", "--live",
                 "--ca-file", pki.ca_file, "--today", TODAY]) == 0
    server = ConsoleServer(str(go_lab / "labwarden.yaml"), today=TODAY, live=True,
                           ca_file=pki.ca_file).start()
    yield server
    server.stop()


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def test_a_service_walked_to_go_in_the_browser(go_console, go_lab: Path, pki,
                                               capsys) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    url = go_console.url
    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM if os.path.exists(CHROMIUM)
            else shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900}, service_workers="block")
        context.set_default_timeout(60_000)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: outside.append(r.url)
                if not r.url.startswith(url) else None)

        page.goto(url + "/")
        assert page.locator("text=grafana").first.is_visible()
        assert "NO-GO" in page.locator("table.services").inner_text()
        shot(page, "overview-before")

        # 1. A selection of OPEN items, attested at once.
        page.goto(url + "/service/grafana?status=OPEN")
        open_before = page.locator('tr.item[data-status="OPEN"]').count()
        assert open_before >= len(SERVICE_ANSWERS)
        # Keyboard: j moves to the first OPEN item, x selects it (the page's script).
        page.keyboard.press("j")
        page.keyboard.press("x")
        first = page.locator('tr.item[data-status="OPEN"]').first
        assert first.locator('input[type="checkbox"]').is_checked()
        first.locator('input[type="checkbox"]').uncheck()
        for item in SERVICE_ANSWERS:
            page.check(f'input[name="item"][value="{item}"]')
        page.fill("#note", "checked in the go-live review with the runbook; <b>kept</b>")
        page.fill('input[name="by"]', "jdoe")
        page.click("button:has-text('Record answer')")
        assert f"attested {len(SERVICE_ANSWERS)} item(s)" in flash(page)
        assert page.locator('tr.item[data-status="OPEN"]').count() == \
            open_before - len(SERVICE_ANSWERS)

        # 2. Optional items N/A, with the reason.
        page.goto(url + "/service/grafana?status=OPEN")
        shot(page, "walk")
        for item in NA_ITEMS:
            page.check(f'input[name="item"][value="{item}"]')
        page.check('input[name="action"][value="na"]')
        page.fill("#note", "no payment card or health data in the lab")
        page.fill('input[name="by"]', "jdoe")
        page.click("button:has-text('Record answer')")
        assert "N/A 2 item(s)" in flash(page)
        page.goto(url + "/service/grafana?status=OPEN&status=FAIL")
        assert page.locator('tr.item[data-status="FAIL"]').count() == 0

        # 3. The sign-offs.
        page.goto(url + "/service/grafana/signoff")
        for role, name in (("service_owner", "jdoe"), ("infrastructure_owner", "jdoe"),
                           ("security_reviewer", "alice")):
            page.select_option('#approve select[name="role"]', role)
            page.fill('#approve input[name="name"]', name)
            page.fill('#approve input[name="by"]', name)
            page.click("#approve button")
            assert f"{role} sign-off by {name}" in flash(page)
        assert page.locator(".verdict strong").inner_text() == "GO"
        shot(page, "signoff")

        # 4. The deployment, then the record.
        page.select_option('#record select[name="method"]', "ci_cd")
        page.select_option('#record select[name="status"]', "success")
        page.fill('#record input[name="lessons"]', "pin digests")
        page.fill('#record input[name="by"]', "jdoe")
        page.click("#record button")
        assert "deployment of" in flash(page)
        page.fill('#archive input[name="by"]', "jdoe")
        page.click("#archive button")
        assert "archived grafana-" in flash(page)

        # A re-audit from the page, followed to its end.
        page.click("header form[action='/audit'] button")
        assert page.url.endswith("/audit")        # the progress page (refreshes itself)
        for _ in range(240):                       # (no wait_for_function: the CSP bars eval)
            page.goto(url + "/audit")
            if page.locator(".badge.running").count() == 0:
                break
            page.wait_for_timeout(500)
        assert "Audits so far: 2" in page.inner_text("main")
        page.goto(url + "/")
        row = page.locator("table.services tr", has_text="grafana").inner_text()
        assert "GO" in row and "NO-GO" not in row
        shot(page, "overview")
        page.goto(url + "/findings")
        shot(page, "findings")
        page.goto(url + "/history?service=grafana")
        assert page.locator("svg.chart").count() == 3
        shot(page, "history")
        page.goto(url + "/log")
        assert page.locator("table.grid tbody tr").count() == 7   # 2 answers, 3, record, archive
        context.close()
    assert errors == [], errors                    # no CSP violation, no script error
    assert outside == [], outside                  # nothing fetched from anywhere else

    # The files on disk and the CLI agree with the pages.
    book = yaml.safe_load((go_lab / "attestations.yaml").read_text())
    mine = book["services"]["grafana"]
    assert sorted(mine["items"]) == sorted([*SERVICE_ANSWERS, *NA_ITEMS])
    assert mine["items"]["5.4.2"]["na"] == "no payment card or health data in the lab"
    assert mine["items"]["1.1.1"]["note"].endswith("<b>kept</b>")
    assert {r: a["name"] for r, a in mine["approvals"].items()} == {
        "service_owner": "jdoe", "infrastructure_owner": "jdoe", "security_reviewer": "alice"}
    assert mine["deployment"]["status"] == "success"
    records = sorted((go_lab / "docs" / "deployment-records").glob("grafana-*.md"))
    assert len(records) == 1 and "GO" in records[0].read_text()
    live = ["--live", "--ca-file", pki.ca_file, "--today", TODAY]
    capsys.readouterr()
    assert main(["gate", "grafana", "--format", "json", *live]) == 0
    assert json.loads(capsys.readouterr().out)["allowed"] is True
    assert main(["checklist", "grafana", "--format", "json", *live]) == 0
    cli = {i["id"]: i["status"] for i in json.loads(capsys.readouterr().out)["items"]}
    shown = {r.item.id: r.status.value for r in go_console.lab.evaluation("grafana").items}
    assert shown == cli
