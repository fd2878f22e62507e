"""The `backup` probe: read a restic or Borg repository a service names (`restic:LOCATION`,
`borg:LOCATION`) with the real tool, into a `BackupRepository`.

The repository and the way to its password come from labwarden.yaml (`ProbeOptions.backup`,
a `sources.backup.config.BackupConfig`); the restore tests from the results file
`labwarden backup verify` writes. A repository that cannot be read (wrong password, no such
path, damaged, the tool missing) is a fact with its error, and an error diagnostic naming
it: never a fact that proves anything.
"""

from __future__ import annotations

import datetime as dt

from labwarden.model import Diagnostic, Location
from labwarden.sources.backup.fact import BackupRepository


async def probe(target, options) -> BackupRepository:
    from labwarden.sources.backup import results, tools
    from labwarden.sources.backup.config import DEFAULT

    config = getattr(options, "backup", None) or DEFAULT
    repository = config.repository(target.raw)
    fact = BackupRepository(target.raw, repository.tool, repository.location,
                            collected_at=dt.datetime.now(dt.timezone.utc),
                            origin=repository.where)
    where = repository.where or Location(target.raw)
    # Leave the collector's deadline a moment to report a slow tool by name.
    limit = max(1.0, float(getattr(options, "deadline", 30.0)) - 1.0)
    try:
        fact.snapshots, fact.encryption = await tools.read_repository(
            repository, config.credential_for(repository), limit)
        fact.readable = True
    except tools.ToolError as exc:
        fact.error = str(exc)
        fact.diagnostics.append(Diagnostic(
            "error", "backup-unreadable", f"backup repository {target.raw} could not be "
            f"read: {exc}", where))
    try:
        fact.restore_tests = results.load(config.results).get(target.raw, [])
    except results.ResultsError as exc:
        fact.restore_tests_error = str(exc)
        fact.diagnostics.append(Diagnostic("error", "restore-tests-unreadable", str(exc),
                                           Location(config.results or "")))
    return fact
