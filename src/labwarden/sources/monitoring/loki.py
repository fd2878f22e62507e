"""Loki's retention, from its configuration file.

Loki deletes nothing unless told: `limits_config.retention_period` says how long, and the
compactor applies it only with `compactor.retention_enabled: true` (or, before the
compactor, the table manager with `retention_deletes_enabled`). The image's built-in
`local-config.yaml` sets neither.
"""

from __future__ import annotations

from labwarden.model import Location
from labwarden.sources.monitoring.facts import LogRetention
from labwarden.sources.monitoring.paths import load_yaml
from labwarden.sources.yamlfile import Map


def builtin(where: str, location: Location) -> LogRetention:
    """A Loki that reads the configuration inside its image: no retention is set there."""
    return LogRetention(where=where, builtin=True, location=location)


def from_config(path: str, diagnostics: list) -> LogRetention:
    fact = LogRetention(where=path, location=Location(path, 1))
    data = load_yaml(path, diagnostics)
    if not isinstance(data, Map):
        fact.error = "the Loki configuration could not be read"
        return fact
    limits = data.get("limits_config")
    compactor = data.get("compactor")
    tables = data.get("table_manager")
    if isinstance(limits, Map) and limits.get("retention_period") is not None:
        fact.retention_period = str(limits["retention_period"])
        fact.location = limits.loc_of("retention_period")
    elif isinstance(limits, Map):
        fact.location = data.loc_of("limits_config")
    if isinstance(compactor, Map) and compactor.get("retention_enabled") is not None:
        fact.retention_enabled = compactor["retention_enabled"] is True or \
            str(compactor["retention_enabled"]).lower() == "true"
    if fact.retention_period is None and isinstance(tables, Map) and \
            tables.get("retention_period") is not None:
        fact.mode = "table_manager"
        fact.retention_period = str(tables["retention_period"])
        fact.location = tables.loc_of("retention_period")
        deletes = tables.get("retention_deletes_enabled")
        fact.retention_enabled = deletes is True or str(deletes).lower() == "true"
    return fact
