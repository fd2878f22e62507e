"""A checklist PASS is positive evidence: the cases issue 11 found answering PASS without
it, through the real command line on a small lab written here."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from labwarden.cli import main

TODAY = "2026-12-01"
HARDENED = """\
    image: {image}
    user: "1000:1000"
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    mem_limit: 256m
    cpus: "0.5"
    restart: unless-stopped
    logging: {{driver: json-file, options: {{max-size: 10m, max-file: "3"}}}}
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture()
def lab(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "labwarden.yaml", """\
        version: 1
        hosts:
          docker-01: {address: "snapshot:snapshots/docker-01", deployment_type: vm}
        services:
          app:
            deployment_type: docker
            owner: jdoe
            criticality: medium
            compose: app
            host: docker-01
          db:
            deployment_type: docker
            compose: db
            host: docker-01
    """)
    write(tmp_path / "app" / "compose.yaml", "services:\n  app:\n"
          + HARDENED.format(image="ghcr.io/example/unknown-app:1.4")
          + "    environment:\n      API_TOKEN: ${API_TOKEN}\n")
    write(tmp_path / "app" / ".env", "API_TOKEN=0123456789abcdef0123456789abcdef\n")
    (tmp_path / "app" / ".env").chmod(0o600)
    write(tmp_path / "db" / "compose.yaml", "services:\n  db:\n"
          + HARDENED.format(image="postgres:16.4")
          + "    environment:\n      POSTGRES_HOST_AUTH_METHOD: trust\n")
    # The host as `sshd -T` and iptables-save saw it: root and passwords allowed, and an
    # ACCEPT input policy. It calls itself "pve-docker" (not the inventory's name).
    snapshot = tmp_path / "snapshots" / "docker-01"
    write(snapshot / "sshd_T.txt", "port 22\npermitrootlogin yes\npasswordauthentication yes\n"
          "kbdinteractiveauthentication no\npubkeyauthentication yes\n")
    write(snapshot / "iptables-save.txt", "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n"
          ":OUTPUT ACCEPT [0:0]\nCOMMIT\n")
    write(snapshot / "files" / "etc" / "hostname", "pve-docker\n")
    write(snapshot / "files" / "proc" / "sys" / "net" / "ipv6" / "conf" / "all" / "disable_ipv6",
          "1\n")
    return tmp_path


def items(capsys, service: str) -> dict[str, dict]:
    code = main(["checklist", service, "--format", "json", "--today", TODAY])
    out, err = capsys.readouterr()
    assert code == 0, err
    return {i["id"]: i for i in json.loads(out)["items"]}


def test_host_evidence_reaches_the_service_whatever_the_host_calls_itself(lab, capsys):
    app = items(capsys, "app")
    assert app["1.1.4"]["status"] == "FAIL"          # PermitRootLogin yes
    assert app["3.4.4"]["status"] == "FAIL"          # INPUT ACCEPT
    assert "SSH020" in app["1.1.4"]["rules"] and app["1.1.4"]["findings"]
    # Every service on the host gets it.
    assert items(capsys, "db")["3.4.4"]["status"] == "FAIL"


def test_nothing_found_is_not_a_pass(lab, capsys):
    app = items(capsys, "app")
    # No default-credential check ran against an app labwarden does not know.
    assert app["1.1.1"]["status"] == "OPEN"
    assert app["1.1.1"]["note"].startswith("not examined: needs default-credential")
    # No healthcheck in the file: the image may or may not have one.
    assert app["10.1.1"]["status"] == "OPEN"
    # Not in any git repository.
    assert app["8.1.2"]["status"] == "OPEN"
    # A token handed over as an environment variable.
    assert app["2.1.2"]["status"] == "OPEN" and app["2.1.2"]["note"].startswith("examined")
    assert app["2.1.4"]["status"] == "OPEN"
    # SSH and TLS checks are not a vulnerability scan: they can fail it, never pass it.
    assert app["9.2.2"]["status"] != "PASS"
    # Only pids_limit is missing: memory and CPU limits are shown to hold.
    assert app["4.4.1"]["status"] == "PASS" and app["4.4.2"]["status"] == "PASS"
    assert "mem_limit" in app["4.4.1"]["note"]


def test_a_database_without_authentication_fails_default_credentials(lab, capsys):
    db = items(capsys, "db")
    assert db["1.1.1"]["status"] == "FAIL" and "SEC002" in db["1.1.1"]["rules"]


def test_inventory_fields_answer_their_items(lab, capsys):
    app, db = items(capsys, "app"), items(capsys, "db")
    assert app["8.4.3"]["status"] == "PASS" and "jdoe" in app["8.4.3"]["note"]
    assert app["8.4.4"]["status"] == "PASS"
    assert db["8.4.3"]["status"] == "OPEN" and "no owner" in db["8.4.3"]["note"]


def test_code_items_apply_only_to_software_you_develop(lab, capsys):
    app = items(capsys, "app")
    assert app["7.2.1"]["status"] == "N/A" and "third-party" in app["7.2.1"]["note"]
    config = lab / "labwarden.yaml"
    config.write_text(config.read_text().replace("compose: app\n",
                                                 "compose: app\n    source: own\n"))
    assert items(capsys, "app")["7.2.1"]["status"] == "OPEN"


def test_a_relative_snapshot_is_relative_to_labwarden_yaml(lab, capsys, monkeypatch):
    monkeypatch.chdir(lab.parent)
    code = main(["checklist", "app", "--config", str(lab / "labwarden.yaml"),
                 "--format", "json", "--today", TODAY])
    out, err = capsys.readouterr()
    assert code == 0, err
    answers = {i["id"]: i for i in json.loads(out)["items"]}
    assert answers["1.1.4"]["status"] == "FAIL"      # read from lab/snapshots/docker-01
