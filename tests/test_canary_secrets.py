"""A canary secret planted in every place a secret can live never comes out of labwarden.

The example lab gets one more service, `vault`, whose files hold a canary in each place a
secret can be written: `environment:` (mapping and list), `.env`, `env_file`, labels,
`command`, `healthcheck`, URLs with a password, Traefik's provider options and their
variables, a container name built from a secret variable, an included file that is not
Compose (a shadow file), and a script (`curl` with an `Authorization:` header, `-u
user:pass`, an API-key header, `psql … PASSWORD '…'`). Then every command that shows or
stores what it found runs on the lab: `audit` in every format, `fix` (the diff), `roadmap`,
`checklist`, `archive` (the record), `history`, `diff`, `scripts`; and every byte of stdout,
stderr, the files written, the record and the SQLite history is searched for the canary.

Every canary starts with `CANARY` and has upper and lower case and digits, as a generated
password would; a redacted value shows at most its first two characters.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from pathlib import Path

import pytest

from labwarden.cli import main
from labwarden.report import FORMATS

EXAMPLE = Path(__file__).parents[1] / "examples" / "homelab"
TODAY = "2026-11-27"
CANARY = "CANARY"

# One canary per place, so that a failure names the place that leaked.
SECRETS = {place: f"{CANARY}{place.replace('_', '')}7Qx" for place in (
    "dotenv", "env_map", "env_list", "env_file", "label_token", "label_hash", "command",
    "healthcheck", "url", "traefik_endpoint", "traefik_password", "traefik_env_endpoint",
    "traefik_env_password", "included", "script_bearer", "script_user", "script_apikey",
    "script_sql", "container")}

COMPOSE = f"""\
include:
  - ../shared/shadow
services:
  app:
    image: ghcr.io/example/vault-app:1.2.3
    container_name: vault-${{APP_TOKEN}}
    command: ["app", "--requirepass", "{SECRETS["command"]}", "--db-password=${{DB_PASSWORD}}"]
    healthcheck:
      test: ["CMD", "redis-cli", "-a", "{SECRETS["env_map"]}", "--pass", "{SECRETS["healthcheck"]}", "ping"]
    environment:
      DB_PASSWORD: ${{DB_PASSWORD}}
      REDIS_PASSWORD: {SECRETS["env_map"]}
      DATABASE_URL: postgres://app:{SECRETS["url"]}@db:5432/app
    env_file: [app.env]
    labels:
      com.example.api-token: {SECRETS["label_token"]}
      traefik.http.middlewares.auth.basicauth.users: "admin:$$2y$$05$${SECRETS["label_hash"]}abcdefghijklmnopqrstuvwxyz0123"
    ports:
      - "8200:8200"
  worker:
    image: ghcr.io/example/vault-worker:latest
    environment:
      - SECRET_KEY={SECRETS["env_list"]}
  traefik:
    image: traefik:v3.3
    command:
      - --providers.docker.endpoint=tcp://admin:{SECRETS["traefik_endpoint"]}@10.0.0.5:2375
      - --providers.docker=true
      - --providers.redis.password={SECRETS["traefik_password"]}
      - --api.insecure=true
  edge:
    image: traefik:v3.3
    environment:
      TRAEFIK_PROVIDERS_DOCKER_ENDPOINT: tcp://admin:{SECRETS["traefik_env_endpoint"]}@10.0.0.5:2375
      TRAEFIK_PROVIDERS_DOCKER: "true"
      TRAEFIK_PROVIDERS_REDIS_PASSWORD: {SECRETS["traefik_env_password"]}
"""

SCRIPT = f"""\
#!/bin/bash
set -euo pipefail
curl -fsSL -H 'Authorization: Bearer {SECRETS["script_bearer"]}' https://get.example.org/i.sh | sh
curl -fsSL -u deploy:{SECRETS["script_user"]} https://get.example.org/x.sh | bash
curl -fsSL -H "X-Api-Key: {SECRETS["script_apikey"]}" https://get.example.org/y.sh | sudo bash
psql -h db -c "ALTER USER app WITH PASSWORD '{SECRETS["script_sql"]}'"
docker exec vault-app-{SECRETS["container"]} true
"""

INVENTORY = """\
  vault:
    deployment_type: docker
    deployment_date: 2026-11-25
    owner: jdoe
    purpose: Secrets for the lab's services
    criticality: high
    data_classification: restricted
    compose: vault
    exposure: internal
"""


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "homelab"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".labwarden", "records",
                                                                  "attestations.yaml"))
    vault = root / "vault"
    vault.mkdir()
    (vault / "compose.yaml").write_text(COMPOSE)
    (vault / ".env").write_text(f"DB_PASSWORD={SECRETS['dotenv']}\n"
                                f"APP_TOKEN={SECRETS['container']}\n")
    (vault / "app.env").write_text(f"API_TOKEN={SECRETS['env_file']}\n")
    (root / "shared").mkdir()
    # Outside the project and not Compose: its lines parse as keys ending with `:`.
    (root / "shared" / "shadow").write_text(
        f"root:{SECRETS['included']}:19000:0:99999:7:::\n"
        "daemon:*:19000:0:99999:7:::\n")
    (root / "scripts").mkdir()
    (root / "scripts" / "deploy.sh").write_text(SCRIPT)
    config = root / "labwarden.yaml"
    config.write_text(config.read_text() + INVENTORY)
    monkeypatch.chdir(root)
    return root


def _leaks(text: str) -> list[str]:
    return sorted(place for place, secret in SECRETS.items() if secret in text)


def _run(capsys, *args: str) -> str:
    main([*args])       # exit codes are other tests' business: this one reads the output
    out, err = capsys.readouterr()
    return out + err


def test_canaries_are_planted_where_labwarden_reads_them(lab: Path, capsys) -> None:
    # The canaries must reach the audit at all, or the test below proves nothing: the
    # findings about them exist, redacted.
    text = _run(capsys, "audit", ".", "--format", "json", "--fail-on", "never")
    for expected in ("SEC001", "SEC003", "NET005", "NET006", "CMP090", "not-compose"):
        assert expected in text, expected
    text = _run(capsys, "scripts", "scripts", "--format", "json")
    assert "SCR005" in text and "SCR006" in text


def test_no_output_format_file_record_or_database_shows_a_canary(lab: Path, capsys) -> None:
    shown: dict[str, str] = {}
    assert {"terminal", "json", "sarif", "markdown", "html"} <= set(FORMATS)
    for fmt in FORMATS:                   # every format, including any added later
        shown[f"audit {fmt}"] = _run(capsys, "audit", ".", "--format", fmt, "--no-color")
        report = lab / f"report.{fmt}"
        shown[f"audit {fmt} -o"] = _run(capsys, "audit", ".", "--format", fmt, "-o",
                                        str(report)) + report.read_text()
        shown[f"scripts {fmt}"] = _run(capsys, "scripts", "scripts", "--format", fmt)
    shown["fix"] = _run(capsys, "fix", ".")
    shown["fix CMP090"] = _run(capsys, "fix", ".", "--rule", "CMP090")
    for fmt in ("terminal", "json", "markdown"):
        shown[f"roadmap {fmt}"] = _run(capsys, "roadmap", ".", "--format", fmt)
        shown[f"checklist {fmt}"] = _run(capsys, "checklist", "vault", "--format", fmt,
                                         "--today", TODAY)
    shown["archive"] = _run(capsys, "archive", "vault", "--today", TODAY)
    shown["history"] = _run(capsys, "history", "vault", "--today", TODAY)
    shown["diff"] = _run(capsys, "diff", "--service", "vault")
    for name, text in shown.items():
        assert not _leaks(text), (name, _leaks(text))

    records = list((lab / "records").glob("vault-*.md"))
    assert records, "no deployment record was archived"
    history = list((lab / ".labwarden").glob("history.db*"))
    assert history, "no history database was written"
    for path in records + history:
        data = path.read_bytes()
        leaked = [p for p, s in SECRETS.items() if s.encode() in data]
        assert not leaked, (path.name, leaked)
    # The findings are there, redacted, not missing: the record lists vault's findings.
    assert "CMP090" in records[0].read_text() or "NET00" in records[0].read_text()


def test_fix_apply_still_writes_the_real_values(lab: Path, capsys) -> None:
    # Only what is shown is redacted: the rewritten file keeps every value.
    before = (lab / "vault" / "compose.yaml").read_text()
    _run(capsys, "fix", "vault", "--apply")
    after = (lab / "vault" / "compose.yaml").read_text()
    assert after != before
    for place in ("env_map", "command", "healthcheck", "url", "traefik_endpoint"):
        assert SECRETS[place] in after, place


@pytest.fixture()
def listening():
    """An HTTP server on loopback (the live findings have a target to be about)."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_password_in_a_live_target_never_comes_out(listening, tmp_path, capsys, fmt) -> None:
    """A target written with its credentials (`http://admin:PASSWORD@host/`) is the place of
    every finding and diagnostic about it: reported, it shows the password redacted, for a
    server that answers and for one that refuses."""
    password = f"{CANARY}target7Qx"
    answering = f"http://admin:{password}@127.0.0.1:{listening}/"
    with socket_bound() as refused_port:
        refusing = f"https://admin:{password}@127.0.0.1:{refused_port}/"
        output = tmp_path / f"report.{fmt}"
        main(["audit", answering, refusing, "--no-config", "--format", fmt, "--timeout", "2",
              "-o", str(output)])
    out, err = capsys.readouterr()
    written = output.read_text(encoding="utf-8")
    assert "127.0.0.1" in written                        # the targets are reported…
    assert CANARY not in written + out + err             # …without their password



@contextlib.contextmanager
def socket_bound():
    """A port bound and not listening: connections to it are refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
