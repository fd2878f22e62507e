"""Real restic and Borg repositories on local paths, read by the backup source and judged
by the BAK rules, through the commands an operator runs: `labwarden checklist SERVICE`
(local repositories are read without --live) and `labwarden audit --live`.

Snapshots are dated with the tools' own options (`restic backup --time`, `borg create
--timestamp`), so "two days old" is a real snapshot taken two days in the past.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from labwarden import cli

from .conftest import PASSWORD, Repo, Repos, sample_data

DAY = dt.timedelta(days=1)


def lab(tmp_path: Path, repos: list[Repo], backup: str = "max_age: 1d",
        entry: str | None = None) -> Path:
    """A lab: one Compose project with a database, one inventory service `app` naming
    `repos` (or the `backups:` entry given), the repository password in a file."""
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16.4\n")
    names = entry or json.dumps([r.text for r in repos])
    password = repos[0].password_file if repos and repos[0].password_file else None
    config = tmp_path / "labwarden.yaml"
    config.write_text(
        "backup:\n"
        f"  {backup}\n"
        + (f"  password_file: {password}\n" if password else "")
        + "services:\n"
        "  app:\n"
        "    compose: app\n"
        f"    backups: {names}\n")
    return config


def checklist(config: Path, capsys, *extra: str) -> dict[str, dict]:
    code = cli.main(["checklist", "app", "--config", str(config), "--format", "json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert PASSWORD not in out + err
    return {item["id"]: item for item in json.loads(out)["items"]}


def audit(config: Path, capsys) -> tuple[int, dict, str]:
    code = cli.main(["audit", str(config.parent), "--live", "--config", str(config),
                     "--format", "json"])
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, json.loads(out), err


def findings(config: Path, capsys, rule: str) -> list[dict]:
    _, report, _ = audit(config, capsys)
    return [f for f in report["findings"] if f["rule_id"] == rule]


def data(tmp_path: Path, name: str = "data") -> Path:
    return sample_data(tmp_path / name)


# --- freshness (the case) ------------------------------------------------------------

def test_a_two_day_old_restic_snapshot_fails_a_one_day_policy(tmp_path, restic_repos,
                                                                capsys) -> None:
    config = lab(tmp_path, [restic_repos["stale"]])
    items = checklist(config, capsys)
    assert items["5.1.1"]["status"] == "FAIL"
    assert items["5.1.4"]["status"] == "PASS"       # restic always encrypts
    [finding] = findings(config, capsys, "BAK003")
    assert "2 days old" in finding["message"] and "allows 1d" in finding["message"]
    assert finding["checklist"] == ["5.1.1"]


def test_a_fresh_restic_snapshot_passes(tmp_path, restic_repos, capsys) -> None:
    items = checklist(lab(tmp_path, [restic_repos["fresh"]]), capsys)
    assert items["5.1.1"]["status"] == "PASS", items["5.1.1"]["note"]
    assert "2 snapshot(s)" in items["5.1.1"]["note"]
    assert items["5.1.4"]["status"] == "PASS"
    # two days of history against the default week: retention not shown yet
    assert items["5.1.3"]["status"] == "FAIL"
    assert items["5.1.6"]["status"] == "FAIL"       # no restore test recorded


def test_retention_passes_on_restore_points_a_week_deep(tmp_path, restic_repos,
                                                          capsys) -> None:
    items = checklist(lab(tmp_path, [restic_repos["graded"]], backup="min_history: 7d"),
                      capsys)
    assert items["5.1.3"]["status"] == "PASS", items["5.1.3"]["note"]
    assert "3 restore points" in items["5.1.3"]["note"]


def test_a_borg_repository_is_judged_the_same_way(tmp_path, repos: Repos, capsys) -> None:
    repo = repos.borg("borg-fresh")
    folder = data(tmp_path)
    repos.backup(repo, folder, at=dt.datetime.now() - 3 * DAY)
    items = checklist(lab(tmp_path, [repo]), capsys)
    assert items["5.1.1"]["status"] == "FAIL"
    assert items["5.1.4"]["status"] == "PASS"
    assert "repokey-blake2" in items["5.1.4"]["note"]
    repos.backup(repo, folder)
    assert checklist(lab(tmp_path, [repo]), capsys)["5.1.1"]["status"] == "PASS"


def test_an_unencrypted_borg_repository_is_reported(tmp_path, repos: Repos, capsys) -> None:
    repo = repos.borg("borg-plain", encryption="none")
    repos.backup(repo, data(tmp_path))
    config = lab(tmp_path, [repo])
    items = checklist(config, capsys)
    assert items["5.1.4"]["status"] == "FAIL"
    assert items["5.1.1"]["status"] == "PASS"       # it is fresh, just not encrypted
    [finding] = findings(config, capsys, "BAK004")
    assert "mode none" in finding["message"]


def test_an_authenticated_only_borg_repository_is_reported(tmp_path, repos: Repos,
                                                            capsys) -> None:
    repo = repos.borg("borg-signed", encryption="authenticated-blake2")
    repos.backup(repo, data(tmp_path))
    assert checklist(lab(tmp_path, [repo]), capsys)["5.1.4"]["status"] == "FAIL"


# --- unreadable repositories: a diagnostic, never a PASS -------------------------------------

def _wrong_password(tmp_path: Path, repo: Repo) -> Repo:
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not the password\n")
    return Repo(repo.text, repo.path, wrong)


@pytest.mark.parametrize("how, said", [("wrong password", "wrong password"),
                                       ("missing directory", "config file"),
                                       ("damaged", "config")])
def test_an_unreadable_restic_repository_is_a_diagnostic_and_stays_open(
        tmp_path, restic_repos, capsys, how: str, said: str) -> None:
    repo = restic_repos["fresh"]
    if how == "wrong password":
        repo = _wrong_password(tmp_path, repo)
    elif how == "missing directory":
        repo = Repo(f"restic:{tmp_path / 'no-such-repo'}", tmp_path / "no-such-repo",
                    repo.password_file)
    else:                       # a copy whose encrypted config file was overwritten
        copy = tmp_path / "damaged-repo"
        shutil.copytree(repo.path, copy)
        (copy / "config").write_bytes(b"\x00" * 200)
        repo = Repo(f"restic:{copy}", copy, repo.password_file)
    config = lab(tmp_path, [repo])
    items = checklist(config, capsys)
    for item in ("5.1.1", "5.1.3", "5.1.4", "5.1.6", "9.4.1"):
        assert items[item]["status"] == "OPEN", (item, items[item])
        assert repo.text in items[item]["note"]      # examined, did not show it
    code, report, _ = audit(config, capsys)
    assert code == 2                                 # part of the lab could not be checked
    unreadable = [d for d in report["diagnostics"] if d["code"] == "backup-unreadable"]
    assert len(unreadable) == 1 and repo.text in unreadable[0]["message"]
    assert said in unreadable[0]["message"]
    assert unreadable[0]["location"]["path"].endswith("labwarden.yaml")
    assert [f["rule_id"] for f in report["findings"] if f["asset"] == repo.text] == ["BAK002"]


def test_an_encrypted_borg_repository_without_its_passphrase_stays_open(
        tmp_path, repos: Repos, capsys) -> None:
    repo = repos.borg("borg-locked")
    repos.backup(repo, data(tmp_path))
    repo = _wrong_password(tmp_path, repo)
    items = checklist(lab(tmp_path, [repo]), capsys)
    assert items["5.1.4"]["status"] == "OPEN" and items["5.1.1"]["status"] == "OPEN"
    code, report, _ = audit(lab(tmp_path, [repo]), capsys)
    messages = [d["message"] for d in report["diagnostics"] if d["code"] == "backup-unreadable"]
    assert messages and "passphrase" in messages[0] and "incorrect" in messages[0]


def test_a_missing_password_file_is_named_not_guessed(tmp_path, restic_repos,
                                                       capsys) -> None:
    repo = restic_repos["fresh"]
    repo = Repo(repo.text, repo.path, tmp_path / "gone.pass")
    code, report, _ = audit(lab(tmp_path, [repo]), capsys)
    messages = [d["message"] for d in report["diagnostics"] if d["code"] == "backup-unreadable"]
    assert messages and f"password file {tmp_path / 'gone.pass'} does not exist" in messages[0]


# --- the password travels in the environment only --------------------------------------------

def test_the_password_is_never_on_a_command_line(tmp_path, restic_repos, capsys,
                                                 monkeypatch) -> None:
    """A `restic` first on PATH that writes down its arguments and the names of the
    RESTIC_ variables it got, then runs the real restic."""
    repo = restic_repos["fresh"]
    monkeypatch.setenv("LAB_RESTIC_PASSWORD", PASSWORD)
    monkeypatch.setenv("RESTIC_PASSWORD", "the auditor's own, never used")
    spy = tmp_path / "bin"
    spy.mkdir()
    log = tmp_path / "argv.log"
    real = os.path.realpath(shutil.which("restic") or "restic")
    (spy / "restic").write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$*\" >> {log}\n"
        f"env | grep '^RESTIC_' | cut -d= -f1 | sort >> {log}\n"
        f"exec {real} \"$@\"\n")
    os.chmod(spy / "restic", stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{spy}:{os.environ['PATH']}")
    entry = json.dumps([{"repository": repo.text, "password_env": "LAB_RESTIC_PASSWORD"}])
    config = lab(tmp_path, [Repo(repo.text, repo.path, None)], entry=entry)
    items = checklist(config, capsys)
    assert items["5.1.1"]["status"] == "PASS"        # opened with the named variable's value
    written = log.read_text()
    assert "snapshots --json --no-lock --no-cache" in written
    assert PASSWORD not in written and "auditor" not in written
    assert "RESTIC_PASSWORD\nRESTIC_REPOSITORY" in written


def test_an_unset_password_variable_is_named_and_its_value_never_shown(
        tmp_path, restic_repos, capsys, monkeypatch) -> None:
    repo = restic_repos["fresh"]
    monkeypatch.delenv("LAB_NOT_SET", raising=False)
    entry = json.dumps([{"repository": repo.text, "password_env": "LAB_NOT_SET"}])
    code, report, _ = audit(lab(tmp_path, [Repo(repo.text, repo.path, None)], entry=entry),
                            capsys)
    messages = [d["message"] for d in report["diagnostics"] if d["code"] == "backup-unreadable"]
    assert messages and "LAB_NOT_SET" in messages[0] and "not set" in messages[0]


# --- which repositories the checklist reads --------------------------------------------------

def test_remote_repositories_are_read_only_with_live(tmp_path, repos: Repos, capsys) -> None:
    """An sftp: repository is not contacted by a plain `checklist`: its items stay OPEN
    saying what would answer them. (With --live it would be; no network here.)"""
    remote = "restic:sftp:backup@nas.lab.example:/srv/restic/app"
    config = lab(tmp_path, [], entry=json.dumps([remote]))
    items = checklist(config, capsys)
    assert items["5.1.1"]["status"] == "OPEN"
    # 5.1.1 is proven by the Proxmox source too, and the checklist lists the sources that
    # would answer it in an order of its own (a set of fact types): ask for ours in it.
    note = items["5.1.1"]["note"]
    assert note.startswith("not examined: needs") and "backup repositories (restic" in note


def test_a_stateful_service_without_backups_fails_5_1_1(tmp_path, capsys) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16.4\n")
    config = tmp_path / "labwarden.yaml"
    config.write_text("services:\n  app:\n    compose: app\n")
    assert checklist(config, capsys)["5.1.1"]["status"] == "FAIL"
    [finding] = findings(config, capsys, "BAK001")
    assert "PostgreSQL" in finding["message"] and "names no `backups:`" in finding["message"]


def test_an_encrypted_borg_repository_with_no_password_configured_says_so(
        tmp_path, repos: Repos, capsys) -> None:
    repo = repos.borg("borg-nopass")
    repos.backup(repo, data(tmp_path))
    code, report, _ = audit(lab(tmp_path, [Repo(repo.text, repo.path, None)]), capsys)
    messages = [d["message"] for d in report["diagnostics"] if d["code"] == "backup-unreadable"]
    assert messages and "no password is configured for it" in messages[0]
