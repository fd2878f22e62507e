"""Backups that exist, are fresh and restorable: restic and Borg repositories.

- `config`: what labwarden.yaml says (the repositories each service names, how to open
  them, the policy: `backup.max_age`, `restore_test_max_age`, `min_history`);
- `fact`: `BackupRepository`, what reading one repository showed, and its rule fixtures;
- `tools`: the real `restic` and `borg` commands, run with a bound, the password passed
  through their environment only;
- `results`: the restore tests `labwarden backup verify` recorded;
- `restore` and `dumps`: the restore test itself (newest snapshot into a scratch
  directory, its database dumps parsed).

The probe (`labwarden.sources.live.backup`) reads each `restic:`/`borg:` target into a
`BackupRepository`; the BAK rules judge it (`rules/backups.py`), and whether a stateful
service names a backup at all is judged on its Compose service (`rules/backup_coverage.py`).
"""
