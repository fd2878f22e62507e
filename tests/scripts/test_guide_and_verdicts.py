"""`labwarden scripts` as the seed validated scripts (issue 16): the Compose tree is the
lab's root that labwarden.yaml marks, a consolidated "wrong name → right name" guide, and a
verdict per script (ready / needs changes)."""

from __future__ import annotations

import json
from pathlib import Path

from script_helpers import parse_args, write

from labwarden.commands.scripts import run

LAB = {
    "labwarden.yaml": "version: 1\n",
    "stacks/paperless/compose.yaml": """
        services:
          webserver: {image: "ghcr.io/paperless-ngx/paperless-ngx:2.13.5", container_name: paperless-webserver}
          db: {image: "postgres:16", container_name: paperless-db}
          broker: {image: "redis:7", container_name: paperless-broker}
    """,
    "ops/scripts/backup.sh": """
        #!/bin/bash
        set -euo pipefail
        docker exec paperless-postgres pg_dump -U paperless > /tmp/paperless.sql
        docker compose -f ../../stacks/paperless/compose.yaml restart paperless-webserver
    """,
    "ops/scripts/restart.sh": """
        #!/bin/bash
        set -euo pipefail
        for c in paperless-webserver paperless-broker; do docker restart "$c"; done
    """,
}


def _scripts(argv, capsys) -> tuple[int, str]:
    code = run(parse_args(argv))
    return code, capsys.readouterr().out


def test_the_tree_is_the_lab_root_and_the_guide_and_verdicts_follow(tmp_path, capsys,
                                                                    monkeypatch):
    write(tmp_path, LAB, mode=0o755)
    monkeypatch.chdir(tmp_path / "ops")
    # Not a git repository, no --compose: labwarden.yaml (found in a parent) marks the lab.
    code, out = _scripts(["scripts", "--no-color", "--no-shellcheck"], capsys)
    assert code == 1
    assert "no Compose project found" not in out
    guide = out[out.index("Container name fix guide"):]
    assert "paperless-postgres  → paperless-db  (container; backup.sh:3)" in guide
    assert "paperless-webserver → webserver     (service; backup.sh:4)" in guide
    assert "backup.sh   needs changes (SCR008 ×2)" in guide
    assert "restart.sh  ready" in guide
    assert "1 of 2 scripts ready" in guide

    code, out = _scripts(["scripts", "--no-shellcheck", "--format", "markdown"], capsys)
    assert "| `paperless-postgres` | `paperless-db` | container | backup.sh:3 |" in out
    assert "| `restart.sh` | ready |  |" in out

    # Machine formats stay what their schema says.
    code, out = _scripts(["scripts", "--no-shellcheck", "--format", "json"], capsys)
    assert "fix guide" not in out and json.loads(out)


def test_without_labwarden_yaml_the_scripts_directory_has_no_projects(tmp_path, capsys,
                                                                     monkeypatch):
    files = dict(LAB)
    del files["labwarden.yaml"]
    write(tmp_path, files, mode=0o755)
    monkeypatch.chdir(tmp_path / "ops")
    _, out = _scripts(["scripts", "--no-color", "--no-shellcheck"], capsys)
    assert "no Compose project found" in out
