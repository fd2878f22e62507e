"""What labwarden.yaml says about backups: the policy, the repositories each service names
and how to open them. No password is ever in labwarden.yaml, only where to find it:

    backup:
      max_age: 1d                  # the newest snapshot may be this old (default 36h)
      restore_test_max_age: 90d    # a restore test this recent (default 90d)
      min_history: 7d              # restore points reaching this far back (default 7d)
      password_file: /etc/labwarden/backup.pass   # or password_env: NAME (a variable's name)
      results: .labwarden/restore-tests.json      # what `labwarden backup verify` records
    services:
      paperless:
        compose: paperless
        backups:
          - restic:/srv/backup/paperless          # opened with backup.password_file
          - {repository: "borg:/srv/borg/paperless", password_env: BORG_PAPERLESS}
        stateful_volumes: [media]  # besides database images: what else needs a backup

`load_config` checks the schema (keys, types); `read` checks what the values mean and
returns a `BackupConfig`, kept on the settings (`Settings.backup`): the BAK rules read the
policy and the services' plans, the probe the credentials. Standard library only: it loads
with every labwarden.yaml that has services.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from labwarden.model import Location

TOOLS = ("restic", "borg")
DEFAULT_MAX_AGE = dt.timedelta(hours=36)        # a daily job, with slack for its run time
DEFAULT_RESTORE_TEST_MAX_AGE = dt.timedelta(days=90)   # quarterly, the seed's review cycle
DEFAULT_MIN_HISTORY = dt.timedelta(days=7)      # the seed's "keep last 7 daily backups"
DEFAULT_RESULTS = os.path.join(".labwarden", "restore-tests.json")

_DURATION = re.compile(r"^\s*(\d{1,6})\s*(m|min|h|d|w)\s*$", re.I)
_UNIT = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# restic backends that reach another machine (`local:` and a plain path do not).
_RESTIC_REMOTE = re.compile(r"^(sftp|rest|s3|b2|azure|gs|swift|rclone):", re.I)
# Borg: ssh://user@host:port/path, or scp-like [user@]host:path (a colon before the first
# slash is a host to Borg too); file:///path is local.
_BORG_REMOTE = re.compile(r"^(ssh://|(?!file://)[^/:]+:)")


class BackupConfigError(ValueError):
    """A value of the backup configuration that cannot be used, with its place."""

    def __init__(self, message: str, location: Location | None):
        super().__init__(message)
        self.location = location


@dataclass(frozen=True)
class Credential:
    """Where a repository's password is: a file, or an environment variable (its NAME)."""

    password_file: str | None = None      # absolute path
    password_env: str | None = None
    where: Location | None = None

    def describe(self) -> str:
        return (f"password file {self.password_file}" if self.password_file
                else f"environment variable {self.password_env}")


@dataclass(frozen=True)
class Repository:
    """One repository as a service names it: `tool:location`."""

    text: str                       # as written: "restic:/srv/backup/paperless"
    tool: str                       # restic | borg
    location: str                   # what the tool is given, a relative path made absolute
    credential: Credential | None = None
    where: Location | None = None

    @property
    def remote(self) -> bool:
        return is_remote(self.tool, self.location)


@dataclass(frozen=True)
class ServicePlan:
    """What an inventory service says about its state and its backups (for BAK001)."""

    name: str
    compose_dir: str | None
    compose_services: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    stateful_volumes: tuple[str, ...] = ()
    where: Location | None = None
    # Its host is a Proxmox VE guest (`hosts.H.proxmox`): the node's vzdump jobs may back the
    # whole guest up, which the Proxmox rules judge (PVE020), not the missing `backups:`.
    proxmox_guest: bool = False


@dataclass(frozen=True)
class BackupConfig:
    max_age: dt.timedelta = DEFAULT_MAX_AGE
    restore_test_max_age: dt.timedelta = DEFAULT_RESTORE_TEST_MAX_AGE
    min_history: dt.timedelta = DEFAULT_MIN_HISTORY
    credential: Credential | None = None            # backup.password_file / password_env
    repositories: Mapping[str, Repository] = field(default_factory=dict)
    plans: tuple[ServicePlan, ...] = ()
    results: str | None = None                      # the restore-test results file
    base_dir: str = ""

    def repository(self, text: str) -> Repository:
        """The repository a target names, as the inventory declared it, or (named on the
        command line) read from the text alone, opened with the global credential."""
        known = self.repositories.get(text)
        if known is not None:
            return known
        tool, location = split(text)
        return Repository(text, tool, _absolute(tool, location, self.base_dir))

    def credential_for(self, repository: Repository) -> Credential | None:
        return repository.credential or self.credential

    def plans_for(self, compose_dir: str, compose_service: str) -> list[ServicePlan]:
        """The inventory services whose Compose share includes this Compose service."""
        return [plan for plan in self.plans if plan.compose_dir == compose_dir
                and (not plan.compose_services or compose_service in plan.compose_services)]


DEFAULT = BackupConfig()


def split(text: str) -> tuple[str, str]:
    """`restic:/srv/x` → ("restic", "/srv/x"); ValueError for anything else."""
    tool, sep, location = str(text).partition(":")
    if not sep or tool not in TOOLS or not location.strip():
        raise ValueError(f"{text!r} is not a backup repository: write restic:LOCATION or "
                         "borg:LOCATION (restic:/srv/backup/app, borg:ssh://host/./app)")
    return tool, location


def is_remote(tool: str, location: str) -> bool:
    """Whether opening the repository reaches another machine (sftp:, rest:, ssh://…)."""
    if tool == "restic":
        return bool(_RESTIC_REMOTE.match(location))
    return bool(_BORG_REMOTE.match(location))


def parse_duration(text: object) -> dt.timedelta | None:
    """`36h`, `1d`, `2w`, `90d`, `30m`; None when it is not one."""
    match = _DURATION.match(str(text)) if isinstance(text, str) else None
    if match is None:
        return None
    return dt.timedelta(**{_UNIT[match.group(2).lower()]: int(match.group(1))})


def format_duration(span: dt.timedelta) -> str:
    """A duration the way labwarden.yaml writes them: 36h, 1d, 90d, 2w."""
    seconds = int(span.total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def entries(spec: Mapping) -> list[tuple[str, Mapping | None, Location | None]]:
    """A service's `backups:` as (repository text, its mapping or None, location)."""
    value = spec.get("backups")
    if value is None:
        return []
    items = list(value) if isinstance(value, list) else [value]
    locate = getattr(value, "loc_of", None) if isinstance(value, list) else None
    found: list[tuple[str, Mapping | None, Location | None]] = []
    for index, item in enumerate(items):
        where = locate(index) if locate else _loc(spec, "backups")
        if isinstance(item, Mapping):
            found.append((str(item.get("repository") or ""), item, where))
        else:
            found.append((str(item), None, where))
    return found


def repositories_of(spec: Mapping) -> tuple[str, ...]:
    """The repository texts a service's `backups:` names (checked by `read`)."""
    return tuple(text for text, _, _ in entries(spec))


def read(data: Mapping, config_path: str) -> BackupConfig:
    """The backup configuration of a labwarden.yaml that passed the schema. Raises
    BackupConfigError at the value that cannot be used."""
    base = os.path.dirname(os.path.abspath(config_path))
    section = data.get("backup") or {}
    durations = {}
    for key in ("max_age", "restore_test_max_age", "min_history"):
        if section.get(key) is not None:
            span = parse_duration(section[key])
            if span is None or not span:
                raise BackupConfigError(
                    f"`backup.{key}` must be a duration such as 36h, 1d, 2w or 90d (a number "
                    "and m, h, d or w)", _loc(section, key))
            durations[key] = span
    credential = _credential(section, base, "backup")
    results = os.path.join(base, str(section.get("results") or DEFAULT_RESULTS))
    repositories: dict[str, Repository] = {}
    plans = []
    services = data.get("services") or {}
    for name, spec in services.items():
        if not isinstance(spec, Mapping):
            continue
        named = []
        for text, item, where in entries(spec):
            repository = _repository(text, item, where, base, f"services.{name}.backups")
            known = repositories.get(repository.text)
            if known is not None and known.credential != repository.credential \
                    and repository.credential is not None:
                raise BackupConfigError(
                    f"{repository.text} is named again with another password setting "
                    f"(first at {known.where}): name its password once", where)
            if known is None or repository.credential is not None:
                repositories[repository.text] = repository
            named.append(repository.text)
        plans.append(ServicePlan(
            name=str(name), compose_dir=_compose_dir(spec.get("compose"), base),
            compose_services=_texts(spec.get("compose_services")),
            repositories=tuple(named), stateful_volumes=_texts(spec.get("stateful_volumes")),
            where=_loc(services, name), proxmox_guest=_on_proxmox_guest(data, spec)))
    return BackupConfig(credential=credential, repositories=repositories, plans=tuple(plans),
                        results=results, base_dir=base, **durations)


def _on_proxmox_guest(data: Mapping, service: Mapping) -> bool:
    host = (data.get("hosts") or {}).get(str(service.get("host") or ""))
    return isinstance(host, Mapping) and host.get("proxmox") is not None


def _repository(text: str, item: Mapping | None, where: Location | None, base: str,
                path: str) -> Repository:
    try:
        tool, location = split(text)
    except ValueError as exc:
        raise BackupConfigError(f"`{path}`: {exc}", where) from None
    if _url_password(location):
        # Not even quoted back: the file holds a secret it must not.
        raise BackupConfigError(
            f"`{path}`: the repository URL of {tool}:… holds a password; labwarden.yaml "
            "names where passwords are, never the password: give it with password_file or "
            "password_env", where)
    credential = _credential(item, base, path) if item is not None else None
    return Repository(text, tool, _absolute(tool, location, base), credential, where)


def _credential(section: Mapping | None, base: str, path: str) -> Credential | None:
    if not section:
        return None
    password_file, password_env = section.get("password_file"), section.get("password_env")
    if password_file is not None and password_env is not None:
        raise BackupConfigError(f"`{path}`: give password_file or password_env, not both",
                                _loc(section, "password_env"))
    if password_env is not None:
        if not _ENV_NAME.match(str(password_env)):
            raise BackupConfigError(
                f"`{path}.password_env` names an environment variable (letters, digits and "
                "`_`, not starting with a digit): the variable holds the password, "
                "labwarden.yaml only its name", _loc(section, "password_env"))
        return Credential(password_env=str(password_env), where=_loc(section, "password_env"))
    if password_file is not None:
        return Credential(password_file=os.path.join(base, str(password_file)),
                          where=_loc(section, "password_file"))
    return None


def _absolute(tool: str, location: str, base: str) -> str:
    """A local repository path relative to labwarden.yaml's folder, as `compose:` is."""
    if is_remote(tool, location):
        return location
    prefix = "local:" if tool == "restic" and location.startswith("local:") else ""
    path = location[len(prefix):]
    return prefix + os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def _compose_dir(value: object, base: str) -> str | None:
    if value is None:
        return None
    path = os.path.normpath(os.path.join(base, str(value)))
    return path if os.path.isdir(path) else os.path.dirname(path)


def _texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (str(value),)


def _loc(node: object, key: object) -> Location | None:
    locate = getattr(node, "loc_of", None)
    return locate(key) if locate else None


def _url_password(location: str) -> bool:
    from urllib.parse import urlsplit

    body = location.split(":", 1)[1] if location.lower().startswith("rest:") else location
    if "://" not in body:
        return False
    try:
        return urlsplit(body).password is not None
    except ValueError:
        return False
