"""The dump checks of a restore test, on real pg_dump output and on the SQL constructs that
hide a `;` (quotes, dollar quotes, comments, COPY data), each cut where it would fool a
naive check."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from labwarden.sources.backup import dumps


def check(tmp_path: Path, name: str, content: bytes | str) -> dumps.DumpCheck:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    head = path.read_bytes()[:5]
    kind = dumps.dump_kind(name, head)
    assert kind is not None
    return dumps.check(str(path), name, kind)


PG = "--\n-- PostgreSQL database dump\n--\n\n{body}\n--\n-- PostgreSQL database dump complete\n--\n"


def test_real_plain_dump_parses(tmp_path, pg_dumps) -> None:
    result = check(tmp_path, "db.sql", pg_dumps.plain)
    assert result.ok, result.detail
    assert result.kind == "PostgreSQL plain dump"
    assert "1 COPY data block" in result.detail


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_real_plain_dump_cut_anywhere_fails(tmp_path, pg_dumps, fraction: float) -> None:
    cut = pg_dumps.plain[: int(len(pg_dumps.plain) * fraction)]
    assert not check(tmp_path, "db.sql", cut).ok


def test_custom_dump_cut_after_its_table_of_contents_fails(tmp_path, pg_dumps) -> None:
    """pg_restore --list reads only the table of contents at the start: a file cut in its
    data passes --list, and only reading every block shows it."""
    data = pg_dumps.custom
    for size in range(len(data) - 1, 0, -64):
        result = check(tmp_path, "db.dump", data[:size])
        assert not result.ok
        if "table of contents lists" in result.detail:
            break
    else:
        pytest.fail("no cut passed --list: the two-step check is not shown to matter")
    assert "reading its data fails" in result.detail
    assert check(tmp_path, "db.dump", data).ok


def test_custom_format_is_found_by_its_magic_whatever_the_name(tmp_path, pg_dumps) -> None:
    assert dumps.dump_kind("nightly.bak", pg_dumps.custom[:5]) == "custom"
    assert dumps.dump_kind("notes.txt", b"hello") is None


@pytest.mark.parametrize("body", [
    "CREATE FUNCTION f() RETURNS text AS $$ SELECT 'a;b' $$ LANGUAGE sql;",
    "CREATE FUNCTION f() RETURNS text AS $body$ SELECT $x$;$x$ $body$ LANGUAGE sql;",
    "INSERT INTO t VALUES (E'it\\'s; fine', 'o''k;', \"col;umn\");",
    "/* a /* nested ; */ comment */ SELECT 1;",
    "SELECT 1; -- trailing ; comment",
    "COPY public.t (a, b) FROM stdin;\n1\tx;y'\n2\t\\N\n\\.\nSELECT 2;",
    "\\connect paperless\nSELECT $1;",
])
def test_statements_that_hide_a_semicolon_parse(tmp_path, body: str) -> None:
    result = check(tmp_path, "db.sql", PG.format(body=body))
    assert result.ok, result.detail


@pytest.mark.parametrize("body, why", [
    ("CREATE FUNCTION f() RETURNS text AS $$ SELECT 'a;b';", "quoted value"),
    ("INSERT INTO t VALUES ('unterminated;);", "quoted value"),
    ("INSERT INTO t VALUES (E'it\\'s;);", "quoted value"),
    ("COPY public.t (a) FROM stdin;\n1\n2", "COPY"),
    ("/* never closed ; SELECT 1;", "comment"),
    ("SELECT 1; SELECT 2", "no closing `;`"),
])
def test_a_dump_that_stops_mid_statement_fails(tmp_path, body: str, why: str) -> None:
    # the trailer is there: only the scan can tell
    result = check(tmp_path, "db.sql", PG.format(body=body))
    assert not result.ok and why in result.detail


def test_a_plain_dump_without_its_trailer_fails(tmp_path) -> None:
    result = check(tmp_path, "db.sql", "--\n-- PostgreSQL database dump\n--\nSELECT 1;\n")
    assert not result.ok and "dump complete" in result.detail


def test_mysql_dumps_need_their_trailer(tmp_path) -> None:
    body = ("-- MySQL dump 10.13  Distrib 8.0.36\n/*!40101 SET NAMES utf8mb4 */;\n"
            "INSERT INTO `t` VALUES (1,'it\\'s; \"fine\"');\n")
    done = check(tmp_path, "db.sql", body + "-- Dump completed on 2026-12-01  3:00:01\n")
    assert done.ok and done.kind == "MySQL/MariaDB dump", done.detail
    assert not check(tmp_path, "db.sql", body).ok


def test_plain_sql_without_a_header_is_checked_for_balance_only(tmp_path) -> None:
    assert check(tmp_path, "seed.sql", "INSERT INTO t VALUES (1);\n").ok
    assert "no dump header" in check(tmp_path, "seed.sql", "SELECT 1;\n").detail
    assert not check(tmp_path, "seed.sql", "just some notes\n").ok


def test_gzip_dumps_are_read_through(tmp_path, pg_dumps) -> None:
    packed = gzip.compress(pg_dumps.plain)
    assert check(tmp_path, "db.sql.gz", packed).ok
    cut = check(tmp_path, "db.sql.gz", packed[: len(packed) - 40])
    assert not cut.ok and "gzip" in cut.kind
    assert not check(tmp_path, "db.sql.gz", gzip.compress(pg_dumps.plain[:5000])).ok
