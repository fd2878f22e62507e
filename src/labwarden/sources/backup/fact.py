"""What reading one backup repository showed: `BackupRepository`, with its snapshots and the
restore tests recorded for it. No password, no file content: times, ids, paths, tags, hosts.

Times are timezone-aware (UTC). Ages are measured from `collected_at`, the moment the
repository was read, so a rule judging a fact is a pure function of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from labwarden.model import Location

UTC = dt.timezone.utc
# Borg modes that do not encrypt (`authenticated*` only sign); restic always encrypts.
UNENCRYPTED_MODES = ("none", "authenticated", "authenticated-blake2")
RESTIC_ENCRYPTION = "restic (AES-256-CTR + Poly1305, always on)"


@dataclass(slots=True)
class Snapshot:
    id: str
    time: dt.datetime
    paths: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    host: str = ""


@dataclass(slots=True)
class RestoreTest:
    """One `labwarden backup verify` of a repository: what was restored and checked."""

    date: dt.datetime
    snapshot: str
    ok: bool
    checked: tuple[str, ...] = ()      # what was checked, one line each
    problem: str = ""                  # why it failed


@dataclass(slots=True)
class BackupRepository:
    target: str                        # as the inventory names it: restic:/srv/backup/app
    tool: str                          # restic | borg
    repository: str                    # what the tool opened (a path made absolute, a URL)
    collected_at: dt.datetime
    readable: bool = False
    error: str | None = None           # why it could not be read (never a password)
    encryption: str | None = None      # borg's mode, or RESTIC_ENCRYPTION; None: unknown
    snapshots: list[Snapshot] = field(default_factory=list)      # oldest first
    restore_tests: list[RestoreTest] = field(default_factory=list)  # oldest first
    restore_tests_error: str | None = None    # the results file could not be read
    diagnostics: list = field(default_factory=list)
    origin: Location | None = None     # where labwarden.yaml names it

    @property
    def asset(self) -> str:
        return self.target

    @property
    def location(self) -> Location:
        return self.origin or Location(self.target)

    @property
    def encrypted(self) -> bool | None:
        if self.encryption is None:
            return None
        return self.encryption not in UNENCRYPTED_MODES

    @property
    def newest(self) -> Snapshot | None:
        """The newest snapshot; of two in the same second, the one listed last (the tools
        list oldest first, and their times have no finer grain)."""
        if not self.snapshots:
            return None
        return self.snapshots[max(range(len(self.snapshots)),
                                  key=lambda i: (self.snapshots[i].time, i))]

    @property
    def oldest(self) -> Snapshot | None:
        return min(self.snapshots, key=lambda s: s.time, default=None)

    @property
    def last_restore_test(self) -> RestoreTest | None:
        # The one recorded last among the newest: two tests within the same second (a
        # failed verify, then one after the repair) must give the later one.
        if not self.restore_tests:
            return None
        order = max(range(len(self.restore_tests)),
                    key=lambda i: (self.restore_tests[i].date, i))
        return self.restore_tests[order]


def parse_time(text: object) -> dt.datetime:
    """An ISO 8601 time as the tools write it (restic: with offset and nanoseconds; Borg:
    local time without offset) as an aware UTC datetime. ValueError when it is not one."""
    value = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text))
    if value.tzinfo is None:
        value = value.astimezone()        # naive: the local time of this machine (Borg)
    return value.astimezone(UTC)


def describe_age(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours < 48:
        return f"{max(hours, 0):.0f} h"
    return f"{hours / 24:.0f} days"


def show_time(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- rule fixtures ---------------------------------------------------------------------------

def facts_from_yaml(path: str) -> list[BackupRepository]:
    """Repositories described in a fixture: a YAML list of `{target, collected_at, error,
    encryption, snapshots: [{id, time or age, paths, tags, host}], restore_tests: [{date or
    age, snapshot, ok, checked, problem}]}`. `age` (36h, 2d…) counts back from
    `collected_at` (default 2026-12-01T12:00:00Z); `readable` defaults to "no error";
    `encryption` to restic's. Each fact is located at its item's line."""
    from labwarden.sources.backup.config import parse_duration, split
    from labwarden.sources.sshd_config import yaml_items

    def moment(item: dict, key: str, now: dt.datetime) -> dt.datetime:
        if item.get(key) is not None:
            return parse_time(item[key])
        span = parse_duration(str(item.get("age", "1h")))
        if span is None:
            raise ValueError(f"{path}: age {item.get('age')!r} is not a duration")
        return now - span

    facts = []
    for line, item in yaml_items(path):
        target = str(item.get("target", "restic:/srv/backup/app"))
        tool, repository = split(target)
        now = parse_time(item.get("collected_at", "2026-12-01T12:00:00Z"))
        error = item.get("error")
        snapshots = [Snapshot(str(s.get("id", f"s{i}")), moment(s, "time", now),
                              tuple(s.get("paths") or ()), tuple(s.get("tags") or ()),
                              str(s.get("host", "")))
                     for i, s in enumerate(item.get("snapshots") or [])]
        tests = [RestoreTest(moment(t, "date", now), str(t.get("snapshot", "")),
                             bool(t.get("ok", True)), tuple(t.get("checked") or ()),
                             str(t.get("problem") or ""))
                 for t in item.get("restore_tests") or []]
        facts.append(BackupRepository(
            target, tool, repository, now, readable=bool(item.get("readable", error is None)),
            error=error, encryption=item.get("encryption", RESTIC_ENCRYPTION
                                             if tool == "restic" else None),
            snapshots=sorted(snapshots, key=lambda s: s.time),
            restore_tests=sorted(tests, key=lambda t: t.date),
            origin=Location(path, line)))
    return facts
