"""Backup rules (checklist 5.1 and 9.4.1), judged from `BackupRepository` facts: what reading a
restic or Borg repository showed, with the restore tests `labwarden backup verify`
recorded for it. The policy is `backup:` in labwarden.yaml (`Settings.backup`): how old the
newest snapshot may be (`max_age`), how recent a restore test must be
(`restore_test_max_age`), how far back restore points must reach (`min_history`).

A repository that could not be read is reported by BAK002 and judged by nothing else: its
silence proves nothing, and its items stay OPEN. Ages are counted from the moment the
repository was read.
"""

from __future__ import annotations

from labwarden.model import Hit, Impact, Severity
from labwarden.rules.registry import prover, rule
from labwarden.sources.backup.config import DEFAULT, BackupConfig, format_duration
from labwarden.sources.backup.fact import BackupRepository, describe_age, show_time

NO_RESTART = Impact("none", (0, 0))
NIST = "NIST SP 800-34 (contingency planning)"
CIS = "CIS Controls v8"


def _policy(settings) -> BackupConfig:
    return getattr(settings, "backup", None) or DEFAULT


def _readable(repository: BackupRepository) -> bool:
    return repository.readable and repository.error is None


# --- the repository itself -------------------------------------------------------------------

@rule("BAK002", "backup-repository-unreadable", Severity.HIGH,
      title="Backup repository cannot be read", on=BackupRepository, checklist=[],
      refs=[f"{CIS} 11.5"], impact=NO_RESTART)
def repository_unreadable(repository: BackupRepository, settings):
    """Reports a backup repository the inventory names that could not be opened with the
    configured password: a wrong password, no repository at that path, a damaged one, a
    lock that never came free, or the tool not installed. Nothing about the backup can be
    shown then, so the checklist items it would answer stay OPEN (never PASS).

    Why it matters:
    A backup that cannot be opened is not a backup. If labwarden cannot read it with the
    password the operator gave, a restore in an emergency may fail the same way: the key
    file lost with the server, the password changed in one place only, the disk holding
    the repository gone.

    Example:
    `services: {paperless: {backups: ["restic:/srv/backup/paperless"]}}` with
    `backup: {password_file: /etc/labwarden/restic.pass}` holding an old password:
    `restic snapshots` answers "wrong password or no key found".

    Fix:
    Open it by hand with the password you would restore with (`restic -r LOCATION
    snapshots`, `borg list LOCATION`). If that works, correct labwarden.yaml's
    `password_file`/`password_env`; if it does not, the backup is lost: initialise a new
    repository, run the job, and store the password away from the server.
    """
    if _readable(repository):
        return
    yield Hit(f"backup repository {repository.target} could not be read: {repository.error}",
              repository.location, resource="readable",
              evidence=f"{repository.tool} on {repository.repository}: {repository.error}")


@rule("BAK003", "backup-stale", Severity.HIGH,
      title="Last backup older than the policy allows", on=BackupRepository,
      checklist=["5.1.1"], refs=[f"{CIS} 11.2", NIST], impact=NO_RESTART)
def backup_stale(repository: BackupRepository, settings):
    """Reports a backup repository whose newest snapshot is older than `backup.max_age`
    (default 36h: a daily job with slack), or that holds no snapshot at all: the job that
    should fill it is not running.

    Why it matters:
    A backup job that stopped (a full disk, an expired credential, a cron entry lost in a
    migration) fails silently: the data lost in the next incident is everything since the
    last snapshot. The age of the newest snapshot is what a restore gets back.

    Example:
    A restic repository whose newest snapshot is two days old, with
    `backup: {max_age: 1d}`.

    Fix:
    Find why the job stopped (`systemctl list-timers`, the job's log, `restic snapshots`),
    run it by hand once, and add an alert on its failure. Set `backup.max_age` to your real
    schedule if it is not daily.
    """
    if not _readable(repository):
        return
    policy = _policy(settings)
    newest = repository.newest
    if newest is None:
        yield Hit(f"backup repository {repository.target} holds no snapshot: nothing has been "
                  "backed up into it", repository.location, resource="freshness",
                  evidence=f"{repository.tool} {repository.repository}: 0 snapshots")
        return
    age = repository.collected_at - newest.time
    if age > policy.max_age:
        yield Hit(f"the newest snapshot in {repository.target} is {describe_age(age)} old "
                  f"(taken {show_time(newest.time)}); the policy allows "
                  f"{format_duration(policy.max_age)}", repository.location,
                  resource="freshness",
                  evidence=f"newest snapshot {newest.id[:12]} at {show_time(newest.time)}, "
                           f"read {show_time(repository.collected_at)}")


@prover("BAK003", "5.1.1")
def backup_fresh(repository: BackupRepository, settings):
    if not _readable(repository) or repository.newest is None:
        return None
    policy = _policy(settings)
    newest = repository.newest
    age = repository.collected_at - newest.time
    if age > policy.max_age:
        return None
    return (f"{repository.target}: {len(repository.snapshots)} snapshot(s), the newest "
            f"{describe_age(age)} old (policy {format_duration(policy.max_age)})")


@rule("BAK004", "backup-unencrypted", Severity.HIGH,
      title="Backup repository is not encrypted", on=BackupRepository,
      checklist=["5.1.4"], refs=[f"{CIS} 11.3", "CWE-311"], impact=Impact("none", (0, 30)))
def backup_unencrypted(repository: BackupRepository, settings):
    """Reports a Borg repository initialised without encryption (`--encryption none`) or
    with authentication only (`authenticated`, `authenticated-blake2`: signed, readable by
    anyone who can read the files). restic repositories are always encrypted.

    Why it matters:
    A backup holds every secret and record of the service: database dumps with password
    hashes and personal data, `.env` files with API keys. An unencrypted copy on a NAS, a
    USB disk or a cloud bucket leaks all of it to whoever gets the copy, usually with less
    protection than the server had.

    Example:
    `borg init --encryption none /srv/borg/paperless`; `borg list --json` reports
    `"encryption": {"mode": "none"}`.

    Fix:
    Borg cannot encrypt an existing repository: create a new one with
    `borg init --encryption repokey-blake2` (or `keyfile-blake2`), export the key
    (`borg key export`) and store it with the passphrase away from the backups, point the
    job at it, then delete the old repository once the new one has history.
    """
    if not _readable(repository) or repository.encrypted is not False:
        return
    yield Hit(f"backup repository {repository.target} is not encrypted (Borg mode "
              f"{repository.encryption}): anyone who can read its files reads the data",
              repository.location, resource="encryption",
              evidence=f"borg list --json: encryption mode {repository.encryption}")


@prover("BAK004", "5.1.4")
def backup_encrypted(repository: BackupRepository, settings):
    if not _readable(repository) or repository.encrypted is not True:
        return None
    return f"{repository.target}: encrypted ({repository.encryption})"


@rule("BAK005", "backup-history-short", Severity.MEDIUM,
      title="Restore points do not reach back far enough", on=BackupRepository,
      checklist=["5.1.3"], refs=[f"{CIS} 11.1", NIST], impact=NO_RESTART)
def history_short(repository: BackupRepository, settings):
    """Reports a backup repository whose snapshots span less than `backup.min_history`
    (default 7 days, the seed's "keep last 7 daily backups"): a retention that prunes
    too hard, or a single restore point.

    Why it matters:
    Ransomware, a bad migration or a silently corrupting application are often noticed
    days later; by then every snapshot a short retention kept holds the damage. Restore
    points that reach back a week or more are what lets a restore predate it.

    Example:
    `restic forget --keep-last 1` after every run: one snapshot, a history of zero days.

    Fix:
    Prune with a graded policy, e.g. `restic forget --keep-daily 7 --keep-weekly 4
    --keep-monthly 6 --prune` or `borg prune --keep-daily 7 --keep-weekly 4
    --keep-monthly 6`. A repository that is simply new passes once it has the history.
    """
    if not _readable(repository) or not repository.snapshots:
        return          # no snapshot at all is BAK003's
    policy = _policy(settings)
    oldest, newest = repository.oldest, repository.newest
    assert oldest is not None and newest is not None
    span = newest.time - oldest.time
    if span < policy.min_history:
        count = len(repository.snapshots)
        yield Hit(f"the restore points in {repository.target} reach back "
                  f"{describe_age(span)} ({count} snapshot{'s' if count != 1 else ''}); the "
                  f"policy asks for {format_duration(policy.min_history)}",
                  repository.location, resource="history",
                  evidence=f"oldest {show_time(oldest.time)}, newest {show_time(newest.time)}")


@prover("BAK005", "5.1.3")
def history_long_enough(repository: BackupRepository, settings):
    if not _readable(repository) or len(repository.snapshots) < 2:
        return None
    oldest, newest = repository.oldest, repository.newest
    assert oldest is not None and newest is not None
    if newest.time - oldest.time < _policy(settings).min_history:
        return None
    return (f"{repository.target}: {len(repository.snapshots)} restore points from "
            f"{show_time(oldest.time)} to {show_time(newest.time)}")


# --- restore tests -------------------------------------------------------------------------

def _tests_known(repository: BackupRepository) -> bool:
    return _readable(repository) and repository.restore_tests_error is None


@rule("BAK006", "restore-test-overdue", Severity.MEDIUM,
      title="No recent restore test", on=BackupRepository, checklist=["5.1.6", "9.4.1"],
      refs=[f"{CIS} 11.5", NIST], impact=NO_RESTART)
def restore_test_overdue(repository: BackupRepository, settings):
    """Reports a backup repository with no successful restore test recorded within
    `backup.restore_test_max_age` (default 90 days): `labwarden backup verify SERVICE`
    restores the newest snapshot into a scratch directory, checks it holds data and that
    its database dumps parse, and records the result.

    Why it matters:
    Backups fail in ways only a restore shows: a dump cut short by a full disk, a job that
    backs up an empty directory after a path changed, a missing key. An untested backup is
    found broken on the day it is needed.

    Example:
    A repository with fresh snapshots whose last recorded restore test is from last year,
    or none at all.

    Fix:
    Run `labwarden backup verify SERVICE` (on a schedule: monthly or quarterly). A restore
    tested another way (a full restore drill) can be waived for this rule with its date
    and evidence.
    """
    if not _tests_known(repository):
        return
    policy = _policy(settings)
    good = [t for t in repository.restore_tests if t.ok]
    latest = max(good, key=lambda t: t.date, default=None)
    if latest is None:
        yield Hit(f"no restore test of {repository.target} has been recorded: run "
                  "`labwarden backup verify`", repository.location, resource="restore-test",
                  evidence="no successful restore test in the results file")
        return
    age = repository.collected_at - latest.date
    if age > policy.restore_test_max_age:
        yield Hit(f"the last successful restore test of {repository.target} was "
                  f"{describe_age(age)} ago ({show_time(latest.date)}); the policy asks for "
                  f"one every {format_duration(policy.restore_test_max_age)}",
                  repository.location, resource="restore-test",
                  evidence=f"snapshot {latest.snapshot[:12]} restored {show_time(latest.date)}")


@prover("BAK006", "5.1.6", "9.4.1")
def restore_tested(repository: BackupRepository, settings):
    if not _tests_known(repository):
        return None
    latest = repository.last_restore_test
    if latest is None or not latest.ok:
        return None
    age = repository.collected_at - latest.date
    if age > _policy(settings).restore_test_max_age:
        return None
    return (f"{repository.target}: restore test passed {show_time(latest.date)}: "
            + "; ".join(latest.checked[:3]))


@rule("BAK007", "restore-test-failed", Severity.HIGH,
      title="The last restore test failed", on=BackupRepository,
      checklist=["5.1.6", "9.4.1"], refs=[f"{CIS} 11.5", NIST], impact=NO_RESTART)
def restore_test_failed(repository: BackupRepository, settings):
    """Reports a backup repository whose most recent restore test failed: the newest
    snapshot did not restore, restored empty, or held a database dump that does not parse
    (cut short, or not a dump).

    Why it matters:
    This is the failure restore tests exist to find, found before the emergency: the
    backups being taken now would not bring the service back.

    Example:
    `labwarden backup verify paperless` restored `paperless.sql`, but the file stops in the
    middle of a COPY block: the dump job ran out of disk space.

    Fix:
    Read the failure (`labwarden backup verify SERVICE` prints it), fix the job (free
    space, the dump command, the paths it backs up), take a new backup and verify again.
    """
    if not _tests_known(repository):
        return
    latest = repository.last_restore_test
    if latest is None or latest.ok:
        return
    yield Hit(f"the last restore test of {repository.target} ({show_time(latest.date)}) "
              f"failed: {latest.problem or 'see the results file'}", repository.location,
              resource="restore-result",
              evidence=f"snapshot {latest.snapshot[:12]}: {latest.problem}"[:400])
