"""The console's own security, against a real uvicorn on loopback: no write without a
session and its CSRF token, user text shown as text, the headers, the body limit, the
loopback-only Host check, logins, and `serve`'s refusal to listen beyond loopback without
users or a token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from labwarden.cli import main
from labwarden.console.auth import Auth, add_user, hash_password, load_users
from console_server import TODAY, ConsoleServer, csrf_of


ITEM = "1.2.1"       # OPEN for grafana in the example lab: attest accepts it


def attestations(lab: Path) -> dict:
    return yaml.safe_load((lab / "attestations.yaml").read_text())


def post_attest(client, csrf: str | None, note: str = "TOTP for every admin", **extra):
    data = {"item": ITEM, "action": "attest", "note": note, "scope": "service", "by": "jdoe",
            **extra}
    if csrf is not None:
        data["csrf"] = csrf
    return client.post("/service/grafana/attest", data=data)


def test_no_write_without_a_session_or_without_its_csrf_token(console, lab) -> None:
    before = (lab / "attestations.yaml").read_bytes()
    with console.client() as stranger:                     # no session cookie at all
        assert post_attest(stranger, "made-up-token").status_code == 403
    with console.client() as client:
        page = client.get("/service/grafana")
        assert page.status_code == 200
        assert post_attest(client, None).status_code == 403                 # no token
        assert post_attest(client, "x" + csrf_of(page.text)).status_code == 403  # wrong one
        for path in ("/service/grafana/approve", "/service/grafana/archive", "/audit"):
            assert client.post(path, data={"role": "service_owner", "name": "a",
                                           "by": "jdoe"}).status_code == 403
    with console.client() as other:                 # another session's token is not yours
        other.get("/")
        assert post_attest(other, csrf_of(page.text)).status_code == 403
    assert (lab / "attestations.yaml").read_bytes() == before
    # With the session and its token, the same request writes.
    with console.client() as client:
        token = csrf_of(client.get("/service/grafana").text)
        response = post_attest(client, token)
        assert response.status_code == 303
    entry = attestations(lab)["services"]["grafana"]["items"][ITEM]
    assert entry["by"] == "jdoe" and entry["note"] == "TOTP for every admin"


def test_a_hostile_note_is_shown_as_text(console, lab) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'
    with console.client() as client:
        token = csrf_of(client.get("/service/grafana").text)
        assert post_attest(client, token, note=hostile,
                           evidence="javascript:alert(3)").status_code == 303
        page = client.get("/service/grafana").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert 'href="javascript:' not in page                    # shown, never a link
    assert attestations(lab)["services"]["grafana"]["items"][ITEM]["note"] == hostile


def test_security_headers_and_cookie_flags(console) -> None:
    with console.client() as client:
        response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie                  # plain HTTP on loopback: no Secure flag
    # No inline script or style anywhere on the pages: the CSP would block it.
    for path in ("/", "/service/grafana", "/service/grafana/signoff", "/findings",
                 "/history?service=grafana", "/audit", "/log"):
        with console.client() as client:
            html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html and " onclick" not in html, path


def test_a_body_over_the_limit_is_refused(console, lab) -> None:
    before = (lab / "attestations.yaml").read_bytes()
    with console.client() as client:
        token = csrf_of(client.get("/service/grafana").text)
        response = post_attest(client, token, note="x" * 200_000)
    assert response.status_code == 413
    assert (lab / "attestations.yaml").read_bytes() == before


def test_a_foreign_host_name_is_refused_on_loopback(console) -> None:
    with console.client() as client:
        response = client.get("/", headers={"Host": "attacker.example"})
    assert response.status_code == 421


def test_with_users_every_page_needs_a_login_and_writes_carry_the_user(lab) -> None:
    users = {"alice": hash_password("correct horse battery")}
    server = ConsoleServer(str(lab / "labwarden.yaml"), auth=Auth(users, None),
                           today=TODAY).start()
    try:
        with server.client() as client:
            assert client.get("/").headers["location"] == "/login"
            login = client.get("/login")
            token = csrf_of(login.text)
            wrong = client.post("/login", data={"csrf": token, "name": "alice",
                                                "secret": "wrong password!"})
            assert wrong.headers["location"] == "/login"
            assert client.get("/").status_code == 303         # still not logged in
            ok = client.post("/login", data={"csrf": token, "name": "alice",
                                             "secret": "correct horse battery"})
            assert ok.status_code == 303 and ok.headers["location"] == "/"
            page = client.get("/service/grafana")
            assert page.status_code == 200 and "alice" in page.text
            # "by" in the form is ignored: the logged-in user vouches.
            assert post_attest(client, csrf_of(page.text), by="mallory").status_code == 303
        entry = attestations(lab)["services"]["grafana"]["items"][ITEM]
        assert entry["by"] == "alice"
        log = (lab / ".labwarden" / "console-audit.log").read_text()
        assert '"who": "alice"' in log and '"action": "attest"' in log and ITEM in log
    finally:
        server.stop()


def test_users_file_holds_scrypt_hashes_only(lab) -> None:
    state = lab / ".labwarden"
    add_user(str(state), "alice", "correct horse battery")
    text = (state / "console-users").read_text()
    assert "correct horse" not in text and text.startswith("alice:scrypt$")
    assert (state / "console-users").stat().st_mode & 0o077 == 0
    assert Auth(load_users(str(state)), None).login("alice", "correct horse battery") == "alice"
    assert Auth(load_users(str(state)), None).login("alice", "correct horse batterx") is None


def test_serve_refuses_to_listen_beyond_loopback_without_auth(lab, capsys, monkeypatch) -> None:
    monkeypatch.delenv("LABWARDEN_CONSOLE_TOKEN", raising=False)
    code = main(["serve", str(lab), "--host", "0.0.0.0", "--port", "0", "--today", TODAY])
    err = capsys.readouterr().err
    assert code == 2
    assert "refusing to listen on 0.0.0.0" in err and "--add-user" in err
    assert "Traceback" not in err


def test_serve_add_user_then_the_token_rules(lab, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("correct horse battery\n"))
    assert main(["serve", str(lab), "--add-user", "alice", "--password-stdin"]) == 0
    assert "alice" in load_users(str(lab / ".labwarden"))
    monkeypatch.setenv("LABWARDEN_CONSOLE_TOKEN", "short")
    assert main(["serve", str(lab), "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.8.9.10"])
def test_loopback_addresses(host) -> None:
    from labwarden.commands.serve import is_loopback

    assert is_loopback(host)
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_labwarden_serve_starts_on_loopback_and_says_how(lab) -> None:
    """The command itself: `labwarden serve ROOT --port P` in its own process answers on
    127.0.0.1, and its start-up line says there is no login and why that is allowed."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:            # a free port, released for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "labwarden", "serve", str(lab), "--port",
                               str(port), "--today", TODAY], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.2)
        assert response.status_code == 200 and "Lab overview" in response.text
        # Prometheus scrapes the console without a session: the lab's numbers, no finding.
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60)
        assert metrics.status_code == 200
        assert 'labwarden_service_score{host="docker-01",service="grafana"}' in metrics.text
        assert "CRITICAL-" not in metrics.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    err = server.stderr.read()
    assert f"labwarden console on http://127.0.0.1:{port}/" in err
    assert "no login (loopback only" in err and "Traceback" not in err


def test_logins_lock_after_repeated_failures_and_the_token_names_its_user() -> None:
    from labwarden.console.auth import MAX_FAILURES

    auth = Auth({"alice": hash_password("correct horse battery")}, "a-shared-token-of-32-chars-long!")
    assert auth.login("bob", "a-shared-token-of-32-chars-long!") == "bob (token)"
    assert auth.login("bob", "not the token") is None
    for _ in range(MAX_FAILURES):
        assert auth.login("alice", "guess") is None
    assert auth.login("alice", "correct horse battery") is None      # locked out now
    assert auth.login("bob", "a-shared-token-of-32-chars-long!") == "bob (token)"   # others not
