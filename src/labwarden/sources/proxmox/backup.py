"""Backup jobs and where they write, as vzdump(1), pvesm(1) and the admin guide describe
them: pure functions over text.

    /etc/pve/jobs.cfg       scheduled jobs: `vzdump: <id>` then indented `key value` lines
                            (schedule, vmid | all + exclude | pool, node, storage,
                            prune-backups, maxfiles, enabled)
    /etc/pve/vzdump.cron    the legacy schedule: crontab lines running `vzdump` (a `#` right
                            before `vzdump` disables the job)
    /etc/pve/storage.cfg    storages: `<type>: <id>` then indented options; type `pbs` is a
                            Proxmox Backup Server
    /etc/pve/user.cfg       `pool:<name>:<comment>:<vmids>:<storages>:` (only pools are read)
    /etc/vzdump.conf        the node's vzdump defaults (`storage:`, `prune-backups:`)

Which retention a job applies (PVE::VZDump): the job's own `prune-backups` (or deprecated
`maxfiles`), else the storage's, else the node's /etc/vzdump.conf; none of them means
`keep-all`. `maxfiles 0` meant "no limit". The storage is the job's, else vzdump.conf's,
else `local`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from labwarden.sources.proxmox.conf import Entry, boolean, property_string

_SECTION_HEADER = re.compile(r"^([a-z][a-z0-9\-]*):\s*(\S+)\s*$")
_SECTION_PROPERTY = re.compile(r"^\s+(\S+)(?:\s+(.*?))?\s*$")
# PVE::API2::Backup's own pattern for a vzdump.cron line
_CRON = re.compile(r"^(\d+)\s+(\d+)\s+\*\s+\*\s+(\S+)\s+root\s+(/\S+/)?(#)?vzdump(\s+(.*))?$")
_KEY_VALUE = re.compile(r"^([a-z][a-z0-9_\-]*)\s*:\s*(.*?)\s*$")
KEEPS = ("keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
         "keep-yearly")


@dataclass(slots=True)
class Section:
    type: str
    id: str
    line: int
    properties: dict[str, Entry] = field(default_factory=dict)


def parse_sections(text: str) -> tuple[list[Section], list[tuple[int, str]]]:
    """A section config file (jobs.cfg, storage.cfg): sections and the lines not read."""
    sections: list[Section] = []
    problems: list[tuple[int, str]] = []
    current: Section | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            if not line.strip():
                current = None
            continue
        header = _SECTION_HEADER.match(line)
        if header:
            current = Section(header.group(1), header.group(2), number)
            sections.append(current)
            continue
        prop = _SECTION_PROPERTY.match(line)
        if prop and current is not None:
            key = prop.group(1)
            current.properties[key] = Entry(key, prop.group(2) or "", number)
            continue
        problems.append((number, "neither a `type: id` header nor an indented property"))
    return sections, problems


# --- jobs -----------------------------------------------------------------------------------

@dataclass(slots=True)
class JobSpec:
    """One vzdump job as written (jobs.cfg section, vzdump.cron line, or the API)."""

    id: str
    path: str                      # where it was read
    line: int
    enabled: bool = True
    schedule: str = ""
    all: bool = False
    vmids: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    pool: str | None = None
    nodes: tuple[str, ...] = ()    # the nodes it runs on (empty: every node)
    storage: Entry | None = None
    prune: Entry | None = None     # prune-backups as written
    maxfiles: Entry | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)


def parse_jobs_cfg(text: str, path: str) -> tuple[list[JobSpec], list[tuple[int, str]]]:
    sections, problems = parse_sections(text)
    jobs = []
    for section in sections:
        if section.type != "vzdump":
            continue                       # realm-sync and other job types
        props = section.properties
        job = JobSpec(section.id, path, section.line)
        job.enabled = _flag(props.get("enabled"), True)
        job.schedule = props["schedule"].value if "schedule" in props else ""
        job.all = _flag(props.get("all"), False)
        job.vmids = _ids(props.get("vmid"), job.problems)
        job.exclude = _ids(props.get("exclude"), job.problems)
        job.pool = props["pool"].value if "pool" in props else None
        job.nodes = tuple(_list(props["node"].value)) if "node" in props else ()
        job.storage = props.get("storage")
        job.prune = props.get("prune-backups")
        job.maxfiles = props.get("maxfiles")
        jobs.append(job)
    return jobs, problems


def parse_vzdump_cron(text: str, path: str) -> tuple[list[JobSpec], list[tuple[int, str]]]:
    jobs, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or re.match(r"^PATH\s*=", stripped):
            continue
        match = _CRON.match(stripped)
        if not match:
            problems.append((number, "not a vzdump schedule line"))
            continue
        minute, hour, dow = match.group(1), match.group(2), match.group(3)
        job = JobSpec(f"vzdump.cron:{number}", path, number, enabled=match.group(5) is None,
                      schedule=f"{dow} {int(hour):02d}:{int(minute):02d}")
        _cron_arguments(job, match.group(7) or "", number)
        jobs.append(job)
    return jobs, problems


def _cron_arguments(job: JobSpec, text: str, line: int) -> None:
    try:
        words = shlex.split(text)
    except ValueError:
        job.problems.append((line, "unbalanced quotes in the vzdump arguments"))
        return
    ids: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("--"):
            key, sep, value = word[2:].partition("=")
            if not sep and index + 1 < len(words) and not words[index + 1].startswith("--"):
                value = words[index + 1]
                index += 1
            entry = Entry(key, value, line)
            if key == "all":
                job.all = boolean(value) is not False
            elif key == "exclude":
                job.exclude = _ids(entry, job.problems)
            elif key == "pool":
                job.pool = value
            elif key == "node":
                job.nodes = tuple(_list(value))
            elif key == "storage":
                job.storage = entry
            elif key == "prune-backups":
                job.prune = entry
            elif key == "maxfiles":
                job.maxfiles = entry
            elif key == "vmid":
                ids.append(value)
        else:
            ids.append(word)
        index += 1
    if ids:
        job.vmids = _ids(Entry("vmid", ",".join(ids), line), job.problems)


def job_from_mapping(values: dict, path: str) -> JobSpec:
    """A job from the API's `GET /cluster/backup` answer (one item)."""
    def entry(key: str) -> Entry | None:
        value = values.get(key)
        if value is None:
            return None
        if isinstance(value, dict):          # prune-backups, decoded by the API
            value = ",".join(f"{k}={v}" for k, v in value.items())
        return Entry(key, str(value), 0)

    job = JobSpec(str(values.get("id", "?")), path, 0)
    job.enabled = boolean(values.get("enabled", 1)) is not False
    job.schedule = str(values.get("schedule") or values.get("starttime") or "")
    job.all = boolean(values.get("all", 0)) is True
    job.vmids = _ids(entry("vmid"), job.problems)
    job.exclude = _ids(entry("exclude"), job.problems)
    job.pool = str(values["pool"]) if values.get("pool") else None
    job.nodes = tuple(_list(str(values["node"]))) if values.get("node") else ()
    job.storage, job.prune, job.maxfiles = entry("storage"), entry("prune-backups"), \
        entry("maxfiles")
    return job


# --- storages, pools, node defaults -----------------------------------------------------------

@dataclass(slots=True)
class StorageSpec:
    id: str
    type: str                      # dir, nfs, cifs, pbs, zfspool, lvmthin…
    path: str
    line: int
    prune: Entry | None = None
    maxfiles: Entry | None = None
    content: tuple[str, ...] = ()
    disabled: bool = False

    @property
    def backup_server(self) -> bool:
        return self.type == "pbs"


def parse_storage_cfg(text: str, path: str) -> tuple[dict[str, StorageSpec],
                                                     list[tuple[int, str]]]:
    """Storages by ID. Only what judging backups needs is kept: never a password or key."""
    sections, problems = parse_sections(text)
    storages = {}
    for section in sections:
        props = section.properties
        storages[section.id] = StorageSpec(
            section.id, section.type, path, section.line, props.get("prune-backups"),
            props.get("maxfiles"),
            tuple(_list(props["content"].value)) if "content" in props else (),
            "disable" in props and boolean(props["disable"].value or "1") is not False)
    return storages, problems


def storage_from_mapping(values: dict, path: str) -> StorageSpec:
    def entry(key: str) -> Entry | None:
        value = values.get(key)
        if value is None:
            return None
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in value.items())
        return Entry(key, str(value), 0)

    return StorageSpec(str(values.get("storage", "?")), str(values.get("type", "?")), path, 0,
                       entry("prune-backups"), entry("maxfiles"),
                       tuple(_list(str(values.get("content", "")))),
                       boolean(values.get("disable", 0)) is True)


def parse_pools(text: str) -> dict[str, set[int]]:
    """Pool members from user.cfg (`pool:<name>:<comment>:<vmids>:<storages>:`); every other
    line (users, groups, ACLs) is skipped unread."""
    pools: dict[str, set[int]] = {}
    for line in text.splitlines():
        fields = [f.strip() for f in line.strip().split(":")]
        if len(fields) >= 4 and fields[0] == "pool" and fields[1]:
            pools.setdefault(fields[1], set()).update(
                int(v) for v in _list(fields[3]) if v.isdigit())
    return pools


def parse_key_values(text: str) -> dict[str, Entry]:
    """`key: value` lines (/etc/vzdump.conf)."""
    found = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _KEY_VALUE.match(line.strip())
        if match and not line.lstrip().startswith("#"):
            found[match.group(1)] = Entry(match.group(1), match.group(2), number)
    return found


# --- retention --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Retention:
    """What a job keeps, and where that was decided."""

    keeps: tuple[tuple[str, int], ...]   # (keep-daily, 7)…; empty: everything is kept
    where: str                           # "job backup-daily", "storage nas", "vzdump.conf"
    path: str
    line: int

    @property
    def keeps_all(self) -> bool:
        return not self.keeps

    def __str__(self) -> str:
        return ",".join(f"{k}={n}" for k, n in self.keeps) if self.keeps else "keep-all=1"


def retention_of(prune: Entry | None, maxfiles: Entry | None, where: str,
                 path: str) -> Retention | None:
    """The retention one place sets; None when it sets none."""
    if prune is not None:
        values = property_string(prune.value)
        if boolean(values.get("keep-all")) is True:
            return Retention((), where, path, prune.line)
        keeps = tuple((k, int(values[k])) for k in KEEPS
                      if values.get(k, "").isdigit() and int(values[k]) > 0)
        return Retention(keeps, where, path, prune.line)
    if maxfiles is not None and maxfiles.value.strip().isdigit():
        count = int(maxfiles.value)
        return Retention((("keep-last", count),) if count else (), where, path, maxfiles.line)
    return None


# --- helpers ----------------------------------------------------------------------------------

def _list(text: str) -> list[str]:
    return [part for part in re.split(r"[,;\s]+", text.strip()) if part]


def _ids(entry: Entry | None, problems: list[tuple[int, str]]) -> tuple[int, ...]:
    if entry is None:
        return ()
    ids = []
    for part in _list(entry.value):
        if part.isdigit():
            ids.append(int(part))
        else:
            problems.append((entry.line, f"`{entry.key}`: {part!r} is not a guest ID"))
    return tuple(ids)


def _flag(entry: Entry | None, default: bool) -> bool:
    if entry is None:
        return default
    parsed = boolean(entry.value)
    return default if parsed is None else parsed
