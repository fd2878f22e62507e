"""`labwarden backup verify SERVICE`: a restore test of each backup repository the service
names (`backups:` in labwarden.yaml).

For each repository: restore its newest snapshot into a new scratch directory (removed
after; never over live data), check that it holds data and that its database dumps parse,
print what was checked, and record the result in the restore-test results file
(`backup.results`), where the backup source reads it for the checklist (5.1.6, 9.4.1).

Exit codes: 0 every restore test passed; 1 one failed (recorded, and BAK007 reports it);
2 nothing could be tested (no repository named, one could not be read, no snapshot, not
enough room): nothing is recorded for that repository then.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
DEFAULT_TIMEOUT_S = 3600.0


def register(commands) -> None:
    from labwarden.commands.common import seconds

    backup = commands.add_parser("backup", help="restore tests of the services' backups")
    actions = backup.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", help="restore the newest snapshot of each of a service's backup "
        "repositories into a scratch directory, check it, record the result")
    verify.add_argument("service", metavar="SERVICE",
                        help="a service of the inventory whose backups to restore")
    verify.add_argument("--repository", metavar="REPO", action="append",
                        help="only this repository of the service (as written in "
                        "labwarden.yaml; repeatable)")
    verify.add_argument("--scratch", metavar="DIR", help="make the scratch directory under "
                        "DIR (default: the system's temporary folder)")
    verify.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT_S,
                        metavar="SECONDS", help="for each command the restore runs "
                        f"(default {DEFAULT_TIMEOUT_S:g})")
    verify.add_argument("--config", metavar="FILE", help="labwarden.yaml (default: found in "
                        "the current directory or its parents)")
    verify.set_defaults(handler=cmd_verify)


def cmd_verify(args) -> int:
    from labwarden.config import ConfigError, find_config, load_config
    from labwarden.errors import UsageError
    from labwarden.inventory import load_inventory
    from labwarden.sources.backup import restore, results, tools
    from labwarden.sources.backup.config import DEFAULT

    path = args.config or find_config(["."])
    if path is None:
        raise ConfigError("no labwarden.yaml here or in a parent directory")
    config = load_config(path)
    service = load_inventory(config).service(args.service)
    backup = config.settings.backup or DEFAULT
    chosen = list(service.backups)
    if args.repository:
        unknown = [r for r in args.repository if r not in chosen]
        if unknown:
            raise UsageError(f"backup verify {service.name}: {', '.join(unknown)} is not one "
                             f"of its backups ({', '.join(chosen) or 'none'})")
        chosen = [r for r in chosen if r in args.repository]
    if not chosen:
        raise UsageError(f"backup verify {service.name}: the service names no backup "
                         f"repository (`backups:` under services.{service.name} in "
                         f"{config.path})")
    if args.scratch:
        _check_scratch(args.scratch)
    worst = EXIT_OK
    for text in chosen:
        repository = backup.repository(text)
        try:
            test, snapshot = restore.verify(repository, backup.credential_for(repository),
                                            args.scratch, args.timeout)
        except tools.ToolError as exc:
            _say(f"{text}: not tested: {exc}", error=True)
            worst = EXIT_ERROR
            continue
        assert backup.results is not None        # a loaded labwarden.yaml sets it
        results.record(backup.results, text, test)
        verdict = "restore test passed" if test.ok else "restore test FAILED"
        _say(f"{text}: {verdict}")
        for line in test.checked:
            _say(f"  {line}")
        if not test.ok:
            _say(f"  problem: {test.problem}")
            worst = max(worst, EXIT_FAILED)
        _say(f"  recorded in {backup.results}")
    return worst


def _check_scratch(directory: str) -> None:
    import os

    from labwarden.errors import UsageError

    if not os.path.isdir(directory):
        raise UsageError(f"--scratch {directory}: not a directory")


def _say(text: str, error: bool = False) -> None:
    from labwarden.report.escape import terminal

    if error:
        sys.stderr.write(f"labwarden: {terminal(text)}\n")
    else:
        sys.stdout.write(f"{terminal(text)}\n")
