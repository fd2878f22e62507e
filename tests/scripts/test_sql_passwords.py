"""Passwords inside SQL statements given to `psql -c` / `mysql -e` are SCR006 findings, and
never appear in any output (issue 16)."""

from __future__ import annotations

from pathlib import Path

from script_helpers import parse_args, write

from labwarden.audit.scripts import ScriptAuditOptions, audit_scripts
from labwarden.commands.scripts import run

SCRIPT = """
    #!/bin/bash
    set -euo pipefail
    docker exec -i paperless-db psql -U postgres -c "ALTER USER paperless WITH PASSWORD 'Tr1cky-pg-Secret';"
    mysql -uroot -e "CREATE USER 'app'@'%' IDENTIFIED WITH mysql_native_password BY 'Maria-S3cret-99'"
    psql --command="CREATE ROLE x LOGIN ENCRYPTED PASSWORD 'it''s-Quoted-77'"
    psql -c "ALTER USER paperless PASSWORD '$NEW_PASSWORD'"
    psql -c "SELECT password FROM users WHERE id = 1"
    echo "ALTER USER x PASSWORD 'not-a-client-arg-11'"
"""
SECRETS = ("Tr1cky-pg-Secret", "Maria-S3cret-99", "it's-Quoted-77", "it''s-Quoted-77")


def test_sql_passwords_are_found_and_redacted(tmp_path: Path, capsys) -> None:
    write(tmp_path, {"rotate.sh": SCRIPT}, mode=0o755)
    result = audit_scripts([str(tmp_path)], ScriptAuditOptions(compose_roots=[],
                                                               use_shellcheck=False))
    sql = sorted((f.location.line, f.resource) for f in result.findings
                 if f.rule.id == "SCR006" and f.resource.startswith("sql-statement:"))
    # The variable, a statement without a password and an echo are not findings.
    assert sql == [(3, "sql-statement:psql -c"), (4, "sql-statement:mysql -e"),
                   (5, "sql-statement:psql -c")]
    for fmt in ("terminal", "json", "sarif", "markdown"):
        run(parse_args([str(tmp_path), "--format", fmt, "--no-shellcheck", "--no-color"]))
        out = capsys.readouterr().out
        assert "SQL statement given to `psql -c`" in out or fmt == "sarif" or fmt == "json"
        assert not [s for s in SECRETS if s in out], fmt
