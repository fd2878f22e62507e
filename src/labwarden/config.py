"""labwarden.yaml: the policy, rule selection and waivers (the inventory comes with the
checklist). A malformed configuration is a usage error (exit 2) that names the line.

The whole file is checked against `SCHEMA` when it is loaded, whichever command reads it:
a misspelt key (`policy.fial_on`) would otherwise be a setting silently not applied, and a
list where a path belongs (`records_dir: [a]`) a directory named `['a']`. Every problem is
reported at once, each with its line, misspelt keys with the closest known one.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from labwarden._record import Record
from labwarden.checklist.lab import LAB_KEYS
from labwarden.errors import UsageError
from labwarden.model import Location, Severity
from labwarden.settings import Settings
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, load_yaml_file
from labwarden.suppress import Waiver

CONFIG_NAMES = ("labwarden.yaml", "labwarden.yml", ".labwarden.yaml")


class ConfigError(UsageError):
    """A problem of labwarden.yaml (or of a name or date given for it), with its place;
    `more` are further problems of the same file, already formatted with theirs."""

    def __init__(self, message: str, location: Location | None = None, *more: str):
        super().__init__(f"{location}: {message}" if location else message, *more)
        self.location = location
        # Said when the file is named; a service or date from the command line is not one.
        self.prefix = "configuration error: " if location else ""


class Config(Record):
    __slots__ = ("path", "settings", "waivers", "fail_on", "disabled", "severity_overrides",
                 "raw")
    path: str | None
    settings: Settings
    waivers: list[Waiver]
    fail_on: Severity | None
    disabled: set[str]
    severity_overrides: dict[str, Severity]
    raw: Map

    def __init__(self, path: str | None = None, settings: Settings | None = None,
                 waivers: list[Waiver] | None = None, fail_on: Severity | None = None,
                 disabled: set[str] | None = None,
                 severity_overrides: dict[str, Severity] | None = None,
                 raw: Map | None = None):
        self.path = path
        self.settings = Settings() if settings is None else settings
        self.waivers = [] if waivers is None else waivers
        self.fail_on = fail_on
        self.disabled = set() if disabled is None else disabled
        self.severity_overrides = {} if severity_overrides is None else severity_overrides
        self.raw = Map() if raw is None else raw


# --- names ---------------------------------------------------------------------------------

# Service and host names become file names (records, history) and table rows: one path
# component, no separators, no control characters, nothing a shell or Markdown reads.
NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NAME_RULE_TEXT = ("a letter or digit, then letters, digits, `.`, `_` or `-`, at most 100 "
                  "characters (no `/`, no `..`, no spaces or control characters)")


def name_problem(name: object, what: str = "service") -> str | None:
    """Why `name` cannot name a service or host, or None when it can."""
    text = str(name)
    if NAME_RULE.fullmatch(text) and ".." not in text:
        return None
    return f"{what} name {text!r} is not allowed: a name is {NAME_RULE_TEXT}"


# --- schema --------------------------------------------------------------------------------

class _Kind:
    """What a value of labwarden.yaml must be: `problems` says what is wrong with one."""

    label = ""

    def problems(self, value, where: str, loc: Location | None) -> list[tuple[str, object]]:
        return [] if self.accepts(value) else [(f"`{where}` must be {self.label}, not "
                                                f"{described(value)}", loc)]

    def accepts(self, value) -> bool:
        return True


class _Text(_Kind):
    label = "text"

    def accepts(self, value) -> bool:   # a number reads as the text it is written as
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)


class _Flag(_Kind):
    label = "true or false"

    def accepts(self, value) -> bool:
        return isinstance(value, bool)


class _Whole(_Kind):
    label = "a whole number"

    def accepts(self, value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class _Number(_Kind):
    label = "a number"

    def accepts(self, value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)


class _ListOf(_Kind):
    def __init__(self, item: _Kind, or_one: bool = False):
        self.item, self.or_one = item, or_one   # or_one: a single item may stand alone
        self.label = f"a list of {item.label}" + (f" or {item.label}" if or_one else "")

    def problems(self, value, where, loc):
        if self.or_one and self.item.accepts(value):
            return self.item.problems(value, where, loc)
        if not isinstance(value, Seq):
            return super().problems(value, where, loc)
        found = []
        for index, item in enumerate(value):
            found += self.item.problems(item, f"{where}[{index}]", value.loc_of(index))
        return found

    def accepts(self, value) -> bool:
        return isinstance(value, Seq)


class _Table(_Kind):
    """A mapping with known keys; `extension`: keys with this prefix are the user's own."""

    label = "a mapping"

    def __init__(self, fields: dict[str, _Kind], extension: str | None = None):
        self.fields, self.extension = fields, extension

    def problems(self, value, where, loc):
        if not isinstance(value, Map):
            return super().problems(value, where, loc)
        found = []
        for key, item in value.items():
            kind = self.fields.get(key)
            here = f"{where}.{key}" if where else key
            if kind is None:
                if not (self.extension and key.startswith(self.extension)):
                    found.append((_unknown_key(key, here, self.fields), value.loc_of(key)))
            elif item is not None:          # an empty value is the same as none
                found += kind.problems(item, here, value.loc_of(key))
        return found

    def accepts(self, value) -> bool:
        return isinstance(value, Map)


class _Named(_Kind):
    """A mapping from names the user chooses (services, hosts) to values of one kind."""

    def __init__(self, item: _Kind, what: str | None = None, label: str | None = None):
        self.item, self.what = item, what       # what: the names must be valid `what` names
        self.label = label or f"a mapping of {what or 'names'} to {item.label}"

    def problems(self, value, where, loc):
        if not isinstance(value, Map):
            return super().problems(value, where, loc)
        found = []
        for name, item in value.items():
            problem = self.what and name_problem(name, self.what)
            if problem:
                found.append((problem, value.loc_of(name)))
            else:
                found += self.item.problems(item, f"{where}.{name}", value.loc_of(name))
        return found

    def accepts(self, value) -> bool:
        return isinstance(value, Map)


class _Either(_Kind):
    def __init__(self, *kinds: _Kind):
        self.kinds = kinds
        self.label = " or ".join(k.label for k in kinds)

    def problems(self, value, where, loc):
        for kind in self.kinds:
            if kind.accepts(value):
                return kind.problems(value, where, loc)
        return super().problems(value, where, loc)

    def accepts(self, value) -> bool:
        return any(k.accepts(value) for k in self.kinds)


TEXT, FLAG, WHOLE, NUMBER = _Text(), _Flag(), _Whole(), _Number()
TEXTS = _ListOf(TEXT)
TEXT_OR_TEXTS = _ListOf(TEXT, or_one=True)
WAIVER_SCOPE = _Either(TEXT, _Table({"service": TEXT, "path": TEXT, "host": TEXT,
                                     "host_group": TEXT, "finding": TEXT}))
# Where a backup repository's password is: a file or an environment variable's name, never
# the password (sources/backup/config.py).
PASSWORD_PLACE = {"password_file": TEXT, "password_env": TEXT}
BACKUP_REPOSITORY = _Either(TEXT, _Table({"repository": TEXT, **PASSWORD_PLACE}))
SERVICE = _Table({
    "deployment_type": TEXT, "deployment_date": TEXT, "owner": TEXT, "purpose": TEXT,
    "criticality": TEXT, "data_classification": TEXT, "compose": TEXT,
    "compose_services": TEXT_OR_TEXTS, "host": TEXT, "urls": TEXT_OR_TEXTS, "exposure": TEXT,
    "source": TEXT, "groups": TEXT_OR_TEXTS,
    # How the lab's Prometheus names it, when no URL host or container name does.
    "monitoring": _Table({"job": TEXT_OR_TEXTS, "instance": TEXT_OR_TEXTS}),
    "backups": _ListOf(BACKUP_REPOSITORY, or_one=True), "stateful_volumes": TEXT_OR_TEXTS})
HOST = _Table({"address": TEXT, "deployment_type": TEXT, "docker": TEXT,
               # the address its published ports bind to on the LAN (fix NET001/NET003)
               "lan_address": TEXT,
               # the host is a Proxmox guest: the node (a host name here) and its vmid
               "proxmox": _Table({"node": TEXT, "vmid": WHOLE}), "groups": TEXT_OR_TEXTS})
# An Ansible inventory (labwarden.ansible_inventory): paths, or Ansible itself to run.
ANSIBLE_INVENTORY = _Either(TEXT, TEXTS, _Table({"path": TEXT_OR_TEXTS, "use_ansible": FLAG}))
# A lab part the checklist names: text, or an inventory service (shown with its host).
LAB_PART = _Either(TEXT, _Table({"service": TEXT, "name": TEXT}))
SCHEMA = _Table({
    "version": WHOLE,
    "policy": _Table({"fail_on": TEXT, "trusted_registries": TEXTS,
                      "container_name_pattern": TEXT, "internet_facing_ports": _ListOf(WHOLE),
                      "proxy_services": TEXTS, "require_digest": FLAG}),
    "rules": _Table({"disable": TEXTS,
                     "severity": _Named(TEXT, label="a mapping of rule to severity")}),
    "waivers": _ListOf(_Table({"rule": TEXT, "scope": WAIVER_SCOPE, "justification": TEXT,
                               "owner": TEXT, "expires": TEXT})),
    "records_dir": TEXT, "attestations": TEXT, "history": TEXT,
    "gate": _Table({"deploy": TEXT_OR_TEXTS, "with_signoff": TEXT_OR_TEXTS,
                    "single_operator": FLAG}),
    "remediation": _Table({"restart_minutes": _Named(
        _ListOf(NUMBER), label="a mapping of service glob to [low, high] minutes"),
        # minutes to recreate a container, per kind of image (remediation/downtime.py)
        "recreate_minutes": _Named(
        _ListOf(NUMBER), label="a mapping of image kind to [low, high] minutes")}),
    "services": _Named(SERVICE, what="service", label="a mapping of service names"),
    "hosts": _Named(HOST, what="host", label="a mapping of host names"),
    "ansible_inventory": ANSIBLE_INVENTORY,
    "lab": _Table({key: LAB_PART for key in LAB_KEYS}),
    # The reverse proxy's configuration when no Compose project of the tree runs it:
    # npm:PATH, traefik:PATH|URL, caddy:PATH|URL (files on every run, APIs with --live).
    "proxies": TEXT_OR_TEXTS,
    "checklist": _Table({"overlay": TEXT}),
    # The lab's Prometheus and Alertmanager APIs, read with --live (sources/monitoring).
    "monitoring": _Table({"prometheus": TEXT_OR_TEXTS, "alertmanager": TEXT_OR_TEXTS}),
    "backup": _Table({"max_age": TEXT, "restore_test_max_age": TEXT, "min_history": TEXT,
                      "results": TEXT, **PASSWORD_PLACE}),
    # Image vulnerability scan reports and their policy (sources/scans/policy.py).
    "scans": _Table({"reports": TEXT_OR_TEXTS, "max_age": TEXT, "ignore": _ListOf(_Table({
        "id": TEXT, "image": TEXT, "reason": TEXT, "expires": TEXT}))}),
}, extension="x-")
MAX_PROBLEMS_SHOWN = 20


def _unknown_key(key: str, where: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean `{close[0]}`?" if close else \
        f" (known: {', '.join(sorted(known))})"
    return f"unknown key `{where}`{hint}"


def described(value) -> str:
    """What a wrong value is, by its type: the value itself may be long, or a secret."""
    if value is None:
        return "an empty value"
    if isinstance(value, Map):
        return "a mapping"
    if isinstance(value, Seq):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return "a number"
    return "text"


def check_schema(data: Map, path: str) -> None:
    """Raise one ConfigError listing every way `data` departs from SCHEMA."""
    found = SCHEMA.problems(data, "", Location(path, 1))
    if not found:
        return
    shown = [f"{loc}: {message}" if loc else message for message, loc in found]
    if len(shown) > MAX_PROBLEMS_SHOWN:
        shown[MAX_PROBLEMS_SHOWN:] = [f"{path}: … and {len(found) - MAX_PROBLEMS_SHOWN} more "
                                      "problems"]
    (message, loc), rest = found[0], shown[1:]
    raise ConfigError(message, loc, *rest)


def find_config(paths: list[str]) -> str | None:
    """labwarden.yaml in the first audited directory (or a parent of it), else the cwd."""
    candidates = []
    for path in paths[:1]:
        directory = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        while True:
            candidates.append(directory)
            if os.path.isdir(os.path.join(directory, ".git")):
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    candidates.append(os.getcwd())
    for directory in candidates:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
    return None


def read_documents(path: str) -> list:
    """The YAML documents of one of labwarden's own files (labwarden.yaml, the attestation
    and answers files): a file that cannot be read or parsed, or that the loader had to
    complain about, is a ConfigError at its line."""
    try:
        _, documents, problems = load_yaml_file(path)
    except YamlLoadError as exc:
        raise ConfigError(exc.message, exc.location) from None
    for _code, message, loc in problems:
        raise ConfigError(message, loc)
    return documents


def load_config(path: str | None) -> Config:
    if path is None:
        return Config()
    documents = read_documents(path)
    data = documents[0] if documents else Map()
    if not isinstance(data, Map):
        raise ConfigError("labwarden.yaml must be a mapping", Location(path, 1))
    check_schema(data, path)
    config = Config(path=path, raw=data)
    # SCHEMA vouched for the types below; what is left is what the values refer to.
    _apply_policy(config, data.get("policy") or Map())
    rules = data.get("rules") or Map()
    if rules:
        from labwarden.rules import registry

        for ref, loc in _strings(rules, "disable"):
            found = registry.rule_id(ref)
            if found is None:
                raise ConfigError(f"no rule {ref!r} to disable{_did_you_mean(ref)}", loc)
            config.disabled.add(found)
        overrides = rules.get("severity") or Map()
        for ref, level in overrides.items():
            found = registry.rule_id(ref)
            if found is None:
                raise ConfigError(f"no rule {ref!r}{_did_you_mean(ref)}",
                                  overrides.loc_of(ref))
            config.severity_overrides[found] = _severity(level, overrides.loc_of(ref))
    waivers = data.get("waivers") or Seq()
    for index, entry in enumerate(waivers):
        config.waivers.append(_waiver(entry, waivers.loc_of(index)))
    if data.get("backup") or data.get("services"):
        _apply_backup(config, data, path)
    if data.get("services"):
        config.settings.compose_hosts = _compose_hosts(data["services"], path)
    if data.get("scans"):
        from labwarden.sources.scans import policy as scans

        try:
            config.settings.scans = scans.read(data["scans"], path)
        except scans.ScanPolicyError as exc:
            raise ConfigError(str(exc), exc.location) from None
    return config


def _compose_hosts(services: Map, path: str) -> dict[str, str]:
    """{Compose project directory: host} for the inventory services naming both (the
    schema has checked their types)."""
    base = os.path.dirname(os.path.abspath(path))
    found: dict[str, str] = {}
    for spec in services.values():
        if not isinstance(spec, Map) or spec.get("compose") is None or not spec.get("host"):
            continue
        where = os.path.normpath(os.path.join(base, str(spec["compose"])))
        found[where if os.path.isdir(where) else os.path.dirname(where)] = str(spec["host"])
    return found


def _apply_backup(config: Config, data: Map, path: str) -> None:
    """The backup policy, and what each inventory service says about its state and backups
    (the BAK rules and the backup probe read them from the settings)."""
    from labwarden.sources.backup import config as backup

    try:
        config.settings.backup = backup.read(data, path)
    except backup.BackupConfigError as exc:
        raise ConfigError(str(exc), exc.location) from None


def _apply_policy(config: Config, policy: Map) -> None:
    settings = config.settings
    if "fail_on" in policy:
        config.fail_on = _severity(policy["fail_on"], policy.loc_of("fail_on"))
    if "trusted_registries" in policy:
        settings.trusted_registries = tuple(s for s, _ in _strings(policy, "trusted_registries"))
    if "container_name_pattern" in policy:
        pattern = str(policy["container_name_pattern"])
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"container_name_pattern is not a regex: {exc}",
                              policy.loc_of("container_name_pattern")) from None
        settings.container_name_pattern = pattern
    if "internet_facing_ports" in policy:
        ports = policy["internet_facing_ports"] or Seq()
        for index, port in enumerate(ports):
            if not 1 <= port <= 65535:
                raise ConfigError(f"internet_facing_ports takes port numbers (1-65535), not "
                                  f"{port}", ports.loc_of(index))
        settings.internet_facing_ports = tuple(ports)
    if "proxy_services" in policy:
        settings.proxy_services = tuple(s for s, _ in _strings(policy, "proxy_services"))
    if "require_digest" in policy:
        settings.require_digest = policy["require_digest"] is True


def _strings(node: Map, key: str) -> list[tuple[str, Location]]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, Seq):
        raise ConfigError(f"`{key}` must be a list", node.loc_of(key))
    return [(str(v), value.loc_of(i)) for i, v in enumerate(value)]


def _severity(value, loc: Location) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(str(exc), loc) from None


def _did_you_mean(ref: str) -> str:
    from labwarden.rules._suggest import did_you_mean

    return did_you_mean(ref)


def _waiver(entry: Map, loc: Location) -> Waiver:
    missing = [k for k in ("rule", "justification", "owner", "expires") if not entry.get(k)]
    if missing:
        raise ConfigError(f"waiver lacks {', '.join(missing)}", loc)
    from labwarden.rules import registry

    rule_ref = str(entry["rule"])
    if rule_ref != "*" and registry.rule_id(rule_ref) is None:
        raise ConfigError(f"waiver names no known rule: {rule_ref!r}{_did_you_mean(rule_ref)}",
                          entry.loc_of("rule"))
    expires = entry["expires"]
    try:
        expiry = dt.date.fromisoformat(str(expires))
    except ValueError:
        raise ConfigError(f"expires must be a date (YYYY-MM-DD), not {expires!r}",
                          entry.loc_of("expires")) from None
    scope = entry.get("scope")
    host_group = fingerprint = None
    if isinstance(scope, Map):     # SCHEMA allows text or {service, path, host…} of text
        service, path, host, host_group = (None if scope.get(k) is None else str(scope[k])
                                           for k in ("service", "path", "host", "host_group"))
        if scope.get("finding") is not None:
            fingerprint = _finding_ref(str(scope["finding"]), rule_ref, scope.loc_of("finding"))
    else:
        service, path, host = None if scope is None else str(scope), None, None
    # A host group's hosts come from the inventory, which the audit resolves
    # (labwarden.audit.host_groups): the inventory imports this module, not the reverse.
    return Waiver(rule=rule_ref, justification=str(entry["justification"]),
                  owner=str(entry["owner"]), expires=expiry, location=loc,
                  service=service, path=path, host=host, host_group=host_group,
                  fingerprint=fingerprint)


def _finding_ref(text: str, rule_ref: str, loc: Location | None) -> str:
    """The fingerprint part of `RULE:fingerprint` (the reference the roadmap, records and
    `diff` show), checked: at least 8 hexadecimal digits, and the waiver's own rule."""
    rule, _, digits = text.strip().rpartition(":")
    if len(digits) < 8 or any(c not in "0123456789abcdef" for c in digits):
        raise ConfigError(f"scope.finding must be RULE:fingerprint as the roadmap shows it "
                          f"(8 hexadecimal digits or more), not {text!r}", loc)
    if rule and rule_ref != "*" and rule.upper() != rule_ref.upper():
        from labwarden.rules import registry

        if registry.rule_id(rule_ref) != rule.upper():
            raise ConfigError(f"scope.finding names rule {rule}, the waiver {rule_ref}", loc)
    return digits
