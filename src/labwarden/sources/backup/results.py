"""The restore tests `labwarden backup verify` recorded, per repository, in a small JSON file
beside the history (`backup.results`, default `.labwarden/restore-tests.json`):

    {"version": 1,
     "repositories": {
       "restic:/srv/backup/paperless": [
         {"date": "2026-12-06T21:30:00Z", "snapshot": "3a5ba4bd…", "ok": true,
          "checked": ["restored 14 files, 2.1 MiB", "dump/paperless.sql: PostgreSQL …"],
          "problem": ""}]}}

Why a results file and not an attestation: a restore test is evidence the tool produced,
about one repository, read back by the backup source like any other fact about it (a rule
fails the checklist items when it is missing, stale or failed, a prover passes them when it
is recent and good). An attestation is a person's word about a service's item; the
operator can still attest a restore they tested by hand (after waiving BAK006).

Written through `fsio.update` (lock, re-read, atomic replace); the newest
`KEEP_PER_REPOSITORY` tests of each repository are kept.
"""

from __future__ import annotations

import json

from labwarden.sources.backup.fact import RestoreTest, parse_time

VERSION = 1
KEEP_PER_REPOSITORY = 20
MAX_BYTES = 4 * 1024 * 1024


class ResultsError(ValueError):
    """The results file cannot be read or is not what labwarden writes; says where."""


def load(path: str | None) -> dict[str, list[RestoreTest]]:
    """Repository (as the inventory names it) → its restore tests, oldest first. A file
    that does not exist yet holds none."""
    from labwarden.sources._read import read_regular

    if path is None:
        return {}
    try:
        data = read_regular(path, MAX_BYTES)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the restore-test results "
                           f"({exc.strerror or exc})") from None
    return parse(data.decode("utf-8", "replace"), path)


def parse(text: str, path: str) -> dict[str, list[RestoreTest]]:
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("version") != VERSION:
            raise ValueError("not a version-1 results file")
        found: dict[str, list[RestoreTest]] = {}
        for repository, rows in (document.get("repositories") or {}).items():
            found[str(repository)] = sorted(
                (RestoreTest(parse_time(row["date"]), str(row.get("snapshot", "")),
                             row.get("ok") is True, tuple(str(c) for c in row.get("checked")
                                                          or ()),
                             str(row.get("problem") or "")) for row in rows),
                key=lambda t: t.date)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ResultsError(f"{path}: not a restore-test results file written by labwarden "
                           f"({type(exc).__name__}); move it away to start afresh") from None
    return found


def dump(tests: dict[str, list[RestoreTest]]) -> str:
    repositories = {
        repository: [{"date": t.date.strftime("%Y-%m-%dT%H:%M:%SZ"), "snapshot": t.snapshot,
                      "ok": t.ok, "checked": list(t.checked), "problem": t.problem}
                     for t in rows[-KEEP_PER_REPOSITORY:]]
        for repository, rows in sorted(tests.items())}
    return json.dumps({"version": VERSION, "repositories": repositories}, indent=1) + "\n"


def record(path: str, repository: str, test: RestoreTest) -> None:
    """Add `test` to the file, under its lock; the rest of the file is kept as it is."""
    import os

    from labwarden import fsio

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)

    def change(text: str | None) -> str:
        tests = parse(text, path) if text else {}
        tests.setdefault(repository, []).append(test)
        tests[repository].sort(key=lambda t: t.date)
        return dump(tests)

    fsio.update(path, change)
