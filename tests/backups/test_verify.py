"""`labwarden backup verify SERVICE` against real repositories holding real pg_dump output:
the newest snapshot restored into a scratch directory, checked, the result recorded where
the checklist reads it, the scratch directory removed, the live data never touched."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from pathlib import Path

import pytest

from labwarden import cli

from .conftest import PASSWORD, Repo, Repos
from .test_repositories import checklist, findings, lab


def verify(config: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = cli.main(["backup", "verify", "app", "--config", str(config), *extra])
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, out, err


def recorded(config: Path) -> list[dict]:
    path = config.parent / ".labwarden" / "restore-tests.json"
    return [row for rows in json.loads(path.read_text())["repositories"].values()
            for row in rows]


def dump_folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "live" / "dumps"
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def test_a_restored_pg_dump_parses_and_the_checklist_counts_it(tmp_path, repos: Repos,
                                                                pg_dumps, capsys) -> None:
    repo = repos.restic("verified")
    live = dump_folder(tmp_path, {"paperless.sql": pg_dumps.plain,
                                  "paperless.sql.gz": gzip.compress(pg_dumps.plain)})
    repos.backup(repo, live)
    before = {p.name: p.read_bytes() for p in live.iterdir()}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    config = lab(tmp_path, [repo])
    code, out, err = verify(config, capsys, "--scratch", str(scratch))
    assert code == 0, out + err
    assert f"{repo.text}: restore test passed" in out
    assert "paperless.sql: PostgreSQL plain dump, parses:" in out
    assert "paperless.sql.gz: PostgreSQL plain dump (gzip), parses:" in out
    assert "COPY data block" in out and "dump complete" in out
    assert list(scratch.iterdir()) == []                 # the scratch directory is gone
    assert {p.name: p.read_bytes() for p in live.iterdir()} == before   # live data intact
    [row] = recorded(config)
    assert row["ok"] is True and len(row["snapshot"]) == 64
    assert any("paperless.sql" in line for line in row["checked"])
    items = checklist(config, capsys)
    assert items["5.1.6"]["status"] == "PASS", items["5.1.6"]["note"]
    assert items["9.4.1"]["status"] == "PASS"
    assert "restore test passed" in items["5.1.6"]["note"]


def test_a_truncated_dump_fails_the_restore_test(tmp_path, repos: Repos, pg_dumps,
                                                 capsys) -> None:
    repo = repos.restic("truncated")
    cut = pg_dumps.plain[: len(pg_dumps.plain) * 2 // 3]
    repos.backup(repo, dump_folder(tmp_path, {"paperless.sql": cut}))
    config = lab(tmp_path, [repo])
    code, out, _ = verify(config, capsys)
    assert code == 1
    assert "restore test FAILED" in out
    assert "paperless.sql: PostgreSQL plain dump, cut short or not a dump" in out
    [row] = recorded(config)
    assert row["ok"] is False and "paperless.sql" in row["problem"]
    items = checklist(config, capsys)
    assert items["5.1.6"]["status"] == "FAIL" and items["9.4.1"]["status"] == "FAIL"
    [finding] = findings(config, capsys, "BAK007")
    assert "cut short" in finding["message"]


def test_a_dump_cut_at_a_statement_boundary_still_fails(tmp_path, repos: Repos, pg_dumps,
                                                        capsys) -> None:
    """Balanced, but pg_dump never wrote its trailer: the header/trailer check catches it."""
    text = pg_dumps.plain.decode()
    cut = text[: text.index("\nCOPY ")] + "\n"
    repos.backup(repo := repos.restic("boundary"),
                 dump_folder(tmp_path, {"db.sql": cut.encode()}))
    code, out, _ = verify(lab(tmp_path, [repo]), capsys)
    assert code == 1 and "no `-- PostgreSQL database dump complete` line" in out


def test_a_custom_format_dump_in_borg_is_read_by_pg_restore(tmp_path, repos: Repos,
                                                            pg_dumps, capsys) -> None:
    repo = repos.borg("borg-dumps")
    live = dump_folder(tmp_path, {"paperless.dump": pg_dumps.custom})
    repos.backup(repo, live, at=dt.datetime.now() - dt.timedelta(days=1), name="older")
    (live / "paperless.dump").write_bytes(pg_dumps.custom[: len(pg_dumps.custom) // 2])
    repos.backup(repo, live, name="newest")
    config = lab(tmp_path, [repo])
    code, out, _ = verify(config, capsys)     # the newest archive: the cut dump
    assert code == 1
    assert "snapshot newest" in out
    assert "paperless.dump: PostgreSQL custom-format dump" in out
    (live / "paperless.dump").write_bytes(pg_dumps.custom)
    repos.backup(repo, live, name="repaired")
    code, out, _ = verify(config, capsys)
    assert code == 0, out
    assert "pg_restore lists" in out and "reads every data block" in out
    assert [row["ok"] for row in recorded(config)] == [False, True]
    items = checklist(config, capsys)
    assert items["5.1.6"]["status"] == "PASS"    # the latest test passed


def test_a_cut_gzip_dump_fails(tmp_path, repos: Repos, pg_dumps, capsys) -> None:
    packed = gzip.compress(pg_dumps.plain)
    repo = repos.restic("gz")
    repos.backup(repo, dump_folder(tmp_path, {"db.sql.gz": packed[: len(packed) // 2]}))
    code, out, _ = verify(lab(tmp_path, [repo]), capsys)
    assert code == 1 and "not a complete gzip stream" in out


def test_a_snapshot_of_nothing_fails(tmp_path, repos: Repos, capsys) -> None:
    repo = repos.restic("empty-files")
    live = tmp_path / "live"
    live.mkdir()
    (live / "empty.txt").write_bytes(b"")
    repos.backup(repo, live)
    code, out, _ = verify(lab(tmp_path, [repo]), capsys)
    assert code == 1 and "holds no data" in out


def test_an_unreadable_repository_is_not_tested_and_nothing_is_recorded(
        tmp_path, restic_repos, capsys) -> None:
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("nope\n")
    repo = Repo(restic_repos["fresh"].text, restic_repos["fresh"].path, wrong)
    config = lab(tmp_path, [repo])
    code, out, err = verify(config, capsys)
    assert code == 2
    assert err.startswith(f"labwarden: {repo.text}: not tested: wrong password")
    assert not (tmp_path / ".labwarden" / "restore-tests.json").exists()


@pytest.mark.parametrize("case, argv, message", [
    ("no backups", [], "names no backup repository"),
    ("unknown repository", ["--repository", "restic:/elsewhere"], "is not one of its backups"),
    ("scratch missing", ["--scratch", "/nonexistent/scratch"], "not a directory"),
])
def test_bad_requests_are_one_line_errors(tmp_path, capsys, case, argv, message) -> None:
    config = lab(tmp_path, [], entry="[]" if case == "no backups" else '["restic:/srv/x"]')
    code, out, err = verify(config, capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err


def test_the_scratch_directory_is_private_and_removed_even_on_failure(
        tmp_path, repos: Repos, capsys, monkeypatch) -> None:
    """Watch the scratch folder while the restore runs: a new 0700 directory appears under
    it and is gone afterwards, although the restore test failed."""
    from labwarden.sources.backup import dumps

    seen: list[tuple[str, int]] = []
    real_check = dumps.check

    def watching(path, shown, kind):
        scratch_dir = Path(path).parents[len(Path(shown).parts) - 1]
        seen.append((scratch_dir.name, os.stat(scratch_dir).st_mode & 0o777))
        return real_check(path, shown, kind)

    monkeypatch.setattr(dumps, "check", watching)
    repo = repos.restic("private")
    repos.backup(repo, dump_folder(tmp_path, {"x.sql": b"SELECT 1"}))     # no `;`: fails
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code, out, _ = verify(lab(tmp_path, [repo]), capsys, "--scratch", str(scratch))
    assert code == 1 and "no closing `;`" in out
    assert seen and seen[0][0].startswith("labwarden-restore-") and seen[0][1] == 0o700
    assert list(scratch.iterdir()) == []
