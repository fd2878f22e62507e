"""The pages and forms beyond the GO walk: host- and lab-wide answers, expiry and the
"expiring soon" filter, a refusal shown on the page with nothing written, the sign-off
page's record preview, the history diff, the place for extra routes (/metrics), and the
Secure cookie and HSTS under HTTPS."""

from __future__ import annotations

from pathlib import Path

import yaml
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from console_server import TODAY, ConsoleServer, csrf_of


def answer(client, service: str, items: list[str], **fields):
    token = csrf_of(client.get(f"/service/{service}").text)
    data = {"csrf": token, "action": "attest", "scope": "service", "by": "jdoe", **fields}
    response = client.post(f"/service/{service}/attest", data={**data, "item": items})
    assert response.status_code == 303
    return client.get(response.headers["location"]).text


def test_host_and_lab_scopes_expiry_and_the_expiring_filter(console, lab: Path) -> None:
    with console.client() as client:
        page = answer(client, "grafana", ["3.4.6"], scope="host",
                      note="firewall rules in the ansible repo", expires="2026-12-10")
        assert "attested 1 item(s) for host docker-01" in page
        page = answer(client, "n8n", ["8.1.2"], scope="lab", note="the lab is one git repo")
        assert "attested 1 item(s) for lab" in page
        expiring = client.get("/service/paperless?expiring=1").text   # the host's answer
        assert "3.4.6" in expiring and "expires 2026-12-10" in expiring
        assert "8.1.2" not in expiring                    # no expiry: not in the filter
    book = yaml.safe_load((lab / "attestations.yaml").read_text())
    assert book["hosts"]["docker-01"]["items"]["3.4.6"]["expires"].isoformat() == "2026-12-10"
    assert book["lab"]["items"]["8.1.2"]["note"] == "the lab is one git repo"


def test_a_refusal_is_shown_and_nothing_is_written(console, lab: Path) -> None:
    before = (lab / "attestations.yaml").read_bytes()
    with console.client() as client:
        failing = client.get("/service/paperless?status=FAIL").text
        assert 'data-status="FAIL"' in failing
        page = answer(client, "paperless", ["1.1.1"], note="changed")     # the audit FAILs it
        assert "refused: the audit fails these items now" in page
        page = answer(client, "grafana", ["1.2.1"], action="na", note="no admins")
        assert "not marked optional" in page                      # the CLI's own refusal
        page = answer(client, "grafana", ["1.3.1"], note="x", expires="2020-01-01")
        assert "in the past" in page
    assert (lab / "attestations.yaml").read_bytes() == before


def test_signoff_preview_and_history_diff(console, lab: Path) -> None:
    console.lab.audit_now("first", save=True)
    console.lab.audit_now("second", save=True)
    with console.client() as client:
        signoff = client.get("/service/n8n/signoff").text
        assert '<pre class="record"># Security Pre-Deployment Checklist: n8n' in signoff
        assert "Evaluated by labwarden on 2026-11-27" in signoff
        history = client.get("/history?service=n8n").text
        assert history.count("<svg") == 3
        assert "0 new, 0 fixed" in history                    # the last two runs, same state
        assert client.get("/service/nope").status_code == 404


def test_extra_routes_are_served_without_a_session(lab: Path) -> None:
    from labwarden.console.auth import Auth, hash_password

    def metrics(request):
        return PlainTextResponse("labwarden_up 1\n")

    server = ConsoleServer(str(lab / "labwarden.yaml"), today=TODAY,
                           auth=Auth({"alice": hash_password("correct horse battery")}, None),
                           extra_routes=[Route("/metrics", metrics)]).start()
    try:
        with server.client() as client:
            assert client.get("/metrics").text == "labwarden_up 1\n"
            assert client.get("/").status_code == 303             # the pages need a login
    finally:
        server.stop()


def test_https_sets_secure_cookies_and_hsts(lab: Path) -> None:
    server = ConsoleServer(str(lab / "labwarden.yaml"), today=TODAY, https=True).start()
    try:
        with server.client() as client:
            response = client.get("/")
        assert "secure" in response.headers["set-cookie"].lower()
        assert response.headers["strict-transport-security"].startswith("max-age=")
    finally:
        server.stop()


def test_a_broken_attestation_file_is_one_clear_message(console, lab: Path) -> None:
    (lab / "attestations.yaml").write_text("services:\n  grafana:\n    items:\n"
                                           "      \"1.2.1\": {by: jdoe, expire: 2027-01-01}\n")
    with console.client() as client:
        response = client.get("/service/grafana")
    assert response.status_code == 500
    assert "attestations.yaml:4" in response.text and "expire" in response.text
    assert "Traceback" not in response.text
