"""labwarden.yaml: the policy, rule selection and waivers (the inventory comes with the
checklist). A malformed configuration is a usage error (exit 2) that names the line."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from labwarden.model import Location, Severity
from labwarden.settings import Settings
from labwarden.sources.yamlfile import Map, Seq, YamlLoadError, load_yaml_file
from labwarden.suppress import Waiver

CONFIG_NAMES = ("labwarden.yaml", "labwarden.yml", ".labwarden.yaml")


class ConfigError(Exception):
    def __init__(self, message: str, location: Location | None = None):
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


@dataclass
class Config:
    path: str | None = None
    settings: Settings = field(default_factory=Settings)
    waivers: list[Waiver] = field(default_factory=list)
    fail_on: Severity | None = None
    disabled: set[str] = field(default_factory=set)
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    raw: Map = field(default_factory=Map)


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


def load_config(path: str | None) -> Config:
    if path is None:
        return Config()
    try:
        _, documents, problems = load_yaml_file(path)
    except YamlLoadError as exc:
        raise ConfigError(exc.message, exc.location) from None
    for code, message, loc in problems:
        raise ConfigError(message, loc)
    data = documents[0] if documents else Map()
    if not isinstance(data, Map):
        raise ConfigError("labwarden.yaml must be a mapping", Location(path, 1))
    config = Config(path=path, raw=data)
    policy = data.get("policy") or Map()
    if not isinstance(policy, Map):
        raise ConfigError("`policy` must be a mapping", data.loc_of("policy"))
    _apply_policy(config, policy)
    rules = data.get("rules") or Map()
    if isinstance(rules, Map):
        from labwarden.rules import registry

        for ref, loc in _strings(rules, "disable"):
            found = registry.get(ref)
            if found is None:
                raise ConfigError(f"no rule {ref!r} to disable", loc)
            config.disabled.add(found.id)
        overrides = rules.get("severity") or Map()
        for ref, level in overrides.items():
            found = registry.get(ref)
            if found is None:
                raise ConfigError(f"no rule {ref!r}", overrides.loc_of(ref))
            config.severity_overrides[found.id] = _severity(level, overrides.loc_of(ref))
    waivers = data.get("waivers") or Seq()
    if not isinstance(waivers, Seq):
        raise ConfigError("`waivers` must be a list", data.loc_of("waivers"))
    for index, entry in enumerate(waivers):
        config.waivers.append(_waiver(entry, waivers.loc_of(index)))
    return config


def _apply_policy(config: Config, policy: Map) -> None:
    settings = config.settings
    if "fail_on" in policy:
        config.fail_on = _severity(policy["fail_on"], policy.loc_of("fail_on"))
    if "trusted_registries" in policy:
        settings.trusted_registries = tuple(s for s, _ in _strings(policy, "trusted_registries"))
    if "container_name_pattern" in policy:
        import re

        pattern = str(policy["container_name_pattern"])
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"container_name_pattern is not a regex: {exc}",
                              policy.loc_of("container_name_pattern")) from None
        settings.container_name_pattern = pattern
    if "internet_facing_ports" in policy:
        try:
            settings.internet_facing_ports = tuple(
                int(p) for p, _ in _strings(policy, "internet_facing_ports"))
        except ValueError:
            raise ConfigError("internet_facing_ports takes port numbers",
                              policy.loc_of("internet_facing_ports")) from None
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


def _waiver(entry, loc: Location) -> Waiver:
    if not isinstance(entry, Map):
        raise ConfigError("a waiver is a mapping with rule, scope, justification, owner, "
                          "expires", loc)
    missing = [k for k in ("rule", "justification", "owner", "expires") if not entry.get(k)]
    if missing:
        raise ConfigError(f"waiver lacks {', '.join(missing)}", loc)
    from labwarden.rules import registry

    rule_ref = str(entry["rule"])
    if rule_ref != "*" and registry.get(rule_ref) is None:
        raise ConfigError(f"waiver names no known rule: {rule_ref!r}", entry.loc_of("rule"))
    expires = entry["expires"]
    try:
        expiry = dt.date.fromisoformat(str(expires))
    except ValueError:
        raise ConfigError(f"expires must be a date (YYYY-MM-DD), not {expires!r}",
                          entry.loc_of("expires")) from None
    scope = entry.get("scope")
    service = path = host = None
    if isinstance(scope, Map):
        service, path, host = scope.get("service"), scope.get("path"), scope.get("host")
        unknown = set(scope) - {"service", "path", "host"}
        if unknown:
            raise ConfigError(f"unknown waiver scope keys: {', '.join(sorted(unknown))}",
                              entry.loc_of("scope"))
    elif isinstance(scope, str):
        service = scope
    return Waiver(rule=rule_ref, justification=str(entry["justification"]),
                  owner=str(entry["owner"]), expires=expiry, location=loc,
                  service=service, path=path, host=host)
