"""`backup:` and the services' `backups:` in labwarden.yaml: every bad value is an error with
its line, a misspelt key gets the closest known one, and a password never gets in (nor is
quoted back when someone tries)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from labwarden import cli
from labwarden.config import ConfigError, load_config
from labwarden.inventory import load_inventory
from labwarden.sources.backup.config import is_remote, parse_duration
from labwarden.sources.live.targets import TargetError, parse_target

SECRET = "hunter2-Secret"


def problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "labwarden.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert SECRET not in str(caught.value)
    return caught.value.problems[0]


@pytest.mark.parametrize("text, line, expected", [
    ("backup:\n  max_agee: 1d\n", 2, "unknown key `backup.max_agee`; did you mean `max_age`?"),
    (f"backup:\n  password: {SECRET}\n", 2,
     "unknown key `backup.password`; did you mean `password_"),
    ("services:\n  app:\n    backup: [restic:/srv/x]\n", 3,
     "unknown key `services.app.backup`; did you mean `backups`?"),
    (f"services:\n  app:\n    backups:\n      - {{repository: restic:/x, password: {SECRET}}}\n",
     4, "unknown key `services.app.backups[0].password`; did you mean `password_"),
    ("backup:\n  max_age: 1 day\n", 2, "`backup.max_age` must be a duration such as 36h"),
    ("backup:\n  restore_test_max_age: 0d\n", 2, "`backup.restore_test_max_age` must be"),
    ("backup:\n  password_file: a\n  password_env: B\n", 3, "not both"),
    (f"backup:\n  password_env: '{SECRET}!'\n", 2, "names an environment variable"),
    ("services:\n  app:\n    backups: [rsync:/srv/x]\n", 3, "is not a backup repository"),
    (f"services:\n  app:\n    backups: ['restic:rest:https://u:{SECRET}@nas:8000/app']\n", 3,
     "holds a password"),
])
def test_bad_backup_settings_name_their_line(tmp_path, text: str, line: int,
                                             expected: str) -> None:
    found = problem(tmp_path, text)
    assert found.startswith(f"{tmp_path / 'labwarden.yaml'}:{line}: "), found
    assert expected in found


def test_a_bad_setting_stops_every_command_with_one_line(tmp_path, capsys) -> None:
    (tmp_path / "labwarden.yaml").write_text(f"backup:\n  password: {SECRET}\n")
    code = cli.main(["audit", str(tmp_path), "--config", str(tmp_path / "labwarden.yaml")])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.splitlines()) == 1 and SECRET not in out + err


def test_the_settings_and_the_inventory_agree(tmp_path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "labwarden.yaml").write_text(
        "backup:\n  max_age: 1d\n  restore_test_max_age: 30d\n  min_history: 2w\n"
        "  password_file: secrets/restic.pass\n"
        "services:\n  app:\n    compose: app\n    stateful_volumes: media\n    backups:\n"
        "      - restic:repos/app\n"
        + "      - {repository: 'borg:ssh://nas/./app', password_env: BORG_APP}\n")
    config = load_config(str(tmp_path / "labwarden.yaml"))
    backup = config.settings.backup
    assert (backup.max_age, backup.restore_test_max_age, backup.min_history) == (
        dt.timedelta(days=1), dt.timedelta(days=30), dt.timedelta(days=14))
    assert load_inventory(config).services["app"].backups == (
        "restic:repos/app", "borg:ssh://nas/./app")
    local = backup.repository("restic:repos/app")
    assert local.location == str(tmp_path / "repos" / "app") and not local.remote
    assert backup.credential_for(local).password_file == str(tmp_path / "secrets/restic.pass")
    remote = backup.repository("borg:ssh://nas/./app")
    assert remote.remote and backup.credential_for(remote).password_env == "BORG_APP"
    [plan] = backup.plans
    assert plan.compose_dir == str(tmp_path / "app") and plan.stateful_volumes == ("media",)
    assert backup.results == str(tmp_path / ".labwarden" / "restore-tests.json")


@pytest.mark.parametrize("text, remote", [
    ("restic:/srv/backup/app", False), ("restic:local:/srv/x", False),
    ("restic:sftp:user@nas:/srv/restic", True), ("restic:rest:https://nas:8000/app", True),
    ("restic:s3:s3.amazonaws.com/bucket", True), ("borg:/srv/borg/app", False),
    ("borg:relative/path", False), ("borg:file:///srv/borg", False),
    ("borg:ssh://backup@nas:22/./app", True), ("borg:backup@nas:app", True),
    ("borg:nas:/srv/borg", True),
])
def test_remote_repositories_are_told_from_local_ones(text: str, remote: bool) -> None:
    target = parse_target(text)
    assert is_remote(target.scheme, target.path) is remote


def test_targets_and_durations() -> None:
    assert parse_target("borg:/srv/x").scheme == "borg"
    with pytest.raises(TargetError):
        parse_target("restic:")
    assert parse_duration("36h") == dt.timedelta(hours=36)
    assert parse_duration("2w") == dt.timedelta(weeks=2)
    assert parse_duration("1.5d") is None and parse_duration(3) is None
