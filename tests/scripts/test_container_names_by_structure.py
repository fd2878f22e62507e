"""Container-name suggestions read the lab's structure (issue 16): a misspelt database
container maps to the stack's database, not to the nearest string (often the stack's Redis).
Measured on a lab of four stacks that each run an app, PostgreSQL or MariaDB, and Redis; the
cases are the issue's class (a component named by its role or its product) and plain typos."""

from __future__ import annotations

import difflib
import textwrap
from pathlib import Path

from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts
from labwarden.sources.scripts.known import load_known_containers
from labwarden.sources.scripts.meant import meant

from script_helpers import write

STACKS = {
    "paperless": """
        services:
          webserver: {image: "ghcr.io/paperless-ngx/paperless-ngx:2.13.5", container_name: paperless-webserver}
          db: {image: "docker.io/library/postgres:16", container_name: paperless-db}
          broker: {image: "docker.io/library/redis:7.4.1", container_name: paperless-broker}
    """,
    "nextcloud": """
        services:
          app: {image: "nextcloud:30", container_name: nextcloud-app}
          mariadb: {image: "mariadb:11", container_name: nextcloud-mariadb}
          redis: {image: "redis:7", container_name: nextcloud-redis}
    """,
    "immich": """
        services:
          server: {image: "ghcr.io/immich-app/immich-server:v1.120.0", container_name: immich-server}
          database: {image: "tensorchord/pgvecto-rs:pg14-v0.2.0", container_name: immich-postgres}
          redis: {image: "redis:6.2", container_name: immich-redis}
    """,
    "authentik": """
        services:
          server: {image: "ghcr.io/goauthentik/server:2024.10", container_name: authentik-server}
          worker: {image: "ghcr.io/goauthentik/server:2024.10", container_name: authentik-worker}
          postgresql: {image: "postgres:16-alpine", container_name: authentik-postgresql}
          redis: {image: "redis:alpine", container_name: authentik-redis}
    """,
}
# wrong name -> the container meant
CASES = {
    "paperless-postgres": "paperless-db",          # the example
    "paperless-postgresql": "paperless-db",
    "paperless-database": "paperless-db",
    "paperless-redis": "paperless-broker",
    "paperless-cache": "paperless-broker",
    "paperless-web": "paperless-webserver",
    "paperless-webservr": "paperless-webserver",
    "nextcloud-db": "nextcloud-mariadb",
    "nextcloud-mysql": "nextcloud-mariadb",
    "nextcloud-maria": "nextcloud-mariadb",
    "nextcloud-cache": "nextcloud-redis",
    "nextcloud-web": "nextcloud-app",
    "immich-db": "immich-postgres",
    "immich-pg": "immich-postgres",
    "immich-database": "immich-postgres",
    "immich-postgress": "immich-postgres",
    "immich-redis-1": "immich-redis",
    "immich-cache": "immich-redis",
    "authentik-db": "authentik-postgresql",
    "authentik-postgres": "authentik-postgresql",
    "authentik-redi": "authentik-redis",
    "authentik-workr": "authentik-worker",
    "paperles-broker": "paperless-broker",         # a typo in the stack's own name
    "imich-server": "immich-server",
    "nextclod-redis": "nextcloud-redis",
}


def _lab(tmp_path: Path) -> Path:
    return write(tmp_path, {f"{name}/compose.yaml": text for name, text in STACKS.items()})


def test_no_wrong_suggestion_on_the_role_and_typo_cases(tmp_path: Path) -> None:
    known = load_known_containers([str(_lab(tmp_path))], [])
    assert len(known.containers) == 13
    got = {wrong: meant(wrong, known)[0] for wrong in CASES}
    assert got == CASES
    # Spelling alone (what SCR008 did before) gets several of them wrong: the measurement
    # the structure is for. A wrong guess is worse than none.
    by_spelling = {w: (difflib.get_close_matches(w, known.names(), n=1, cutoff=0.6) or [None])[0]
                   for w in CASES}
    wrong = sorted(w for w in CASES if by_spelling[w] not in (None, CASES[w]))
    assert "paperless-postgres" in wrong and len(wrong) == 11


def test_no_guess_when_the_stack_has_two_of_the_role_or_the_role_contradicts(tmp_path):
    write(tmp_path, {"app/compose.yaml": """
        services:
          main: {image: "postgres:16", container_name: app-main-db}
          audit: {image: "postgres:16", container_name: app-audit-db}
          cache: {image: "redis:7", container_name: app-redis}
    """, "other/compose.yaml": """
        services:
          redis: {image: "redis:7", container_name: lonely-redis}
    """})
    known = load_known_containers([str(tmp_path)], [])
    assert meant("app-postgres", known) == (None, "")
    # No stack named `lonely-db` has a database: the nearest string (a Redis) is not offered.
    assert meant("lonely-postgres", known)[0] is None


def test_scr008_message_says_why_and_reads_names_from_for_lists_and_variables(tmp_path):
    root = _lab(tmp_path)
    write(root, {"scripts/backup.sh": """
        #!/bin/bash
        set -euo pipefail
        DB=paperless-postgres
        for c in paperless-broker paperless-webservr; do
          docker restart "$c"
        done
        docker exec "$DB" pg_dump -U paperless > /tmp/paperless.sql
    """})
    result = audit_scripts([str(root / "scripts")],
                           ScriptAuditOptions(compose_roots=[str(root)], use_shellcheck=False))
    found = {f.resource: f for f in result.findings if f.rule.id == "SCR008"}
    assert set(found) == {"container:paperless-postgres", "container:paperless-webservr"}
    db = found["container:paperless-postgres"]
    assert "($DB holds `paperless-postgres`)" in db.message
    assert "did you mean `paperless-db`" in db.message
    assert "names the `paperless` stack's database (service `db`" in db.message
    assert db.fix == "docker exec paperless-db" and db.location.line == 7
    loop = found["container:paperless-webservr"]
    assert "($c holds `paperless-webservr`)" in loop.message and loop.location.line == 5


def test_a_name_two_services_define_is_reported_where_a_script_uses_it(tmp_path):
    write(tmp_path, {"netbox/compose.yaml": """
        services:
          redis: {image: "redis:7", container_name: shared-redis}
    """, "paperless/compose.yaml": """
        services:
          broker: {image: "redis:7", container_name: shared-redis}
    """, "scripts/flush.sh": """
        #!/bin/bash
        set -euo pipefail
        docker exec shared-redis redis-cli FLUSHALL
    """})
    result = audit_scripts([str(tmp_path / "scripts")],
                           ScriptAuditOptions(compose_roots=[str(tmp_path)],
                                              use_shellcheck=False))
    [finding] = [f for f in result.findings if f.rule.id == "SCR008"]
    assert finding.resource == "container-twice:shared-redis"
    assert "defined twice in the lab" in finding.message
    assert "service `redis` of `netbox`" in finding.message
    assert "service `broker` of `paperless`" in finding.message
    assert "netbox-redis" in finding.fix and "paperless-broker" in finding.fix
