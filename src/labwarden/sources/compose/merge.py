"""Compose's merge rules for override files, `-f` stacks and `extends`, keeping locations.

Mappings merge key by key. Sequences follow the Compose Specification: `command`,
`entrypoint` and `healthcheck.test` are replaced; `volumes` and `devices` merge by container
path, `secrets` and `configs` by source; `ports` and most other lists are a union. Mapping-
like keys (`environment`, `labels`, …) are normalised to mappings before merging, so
`KEY=value` items and `KEY: value` entries merge by key. `!reset` removes a value and
`!override` replaces instead of merging.
"""

from __future__ import annotations

from labwarden.sources.yamlfile import OVERRIDE, RESET, Map, Seq, Tagged

REPLACED = frozenset({"command", "entrypoint", "test"})
MAPPING_LIKE = frozenset({"environment", "labels", "annotations", "sysctls", "depends_on",
                          "networks", "extra_hosts", "build_args"})


def _mount_target(item) -> str:
    if isinstance(item, Map):
        return str(item.get("target", ""))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _source(item) -> str:
    return str(item.get("source", "")) if isinstance(item, Map) else str(item)


KEYED_LISTS = {"volumes": _mount_target, "devices": _mount_target,
               "secrets": _source, "configs": _source}


def as_mapping(value, separator: str = "="):
    """A `KEY=value` list as a Map (a bare `KEY` maps to None); a Map is returned as is."""
    if not isinstance(value, Seq):
        return value
    result = Map()
    result.loc = value.loc
    for index, item in enumerate(value):
        if isinstance(item, Map):  # e.g. long-form networks lists are not KEY=value
            return value
        text = "" if item is None else str(item)
        key, sep, val = text.partition(separator)
        key = key.strip()
        result[key] = val if sep else None
        result.key_locs[key] = value.loc_of(index)
    return result


def normalise_service(service: Map) -> Map:
    """Put a service's mapping-like lists into mapping form, in place."""
    for key in ("environment", "labels", "annotations", "sysctls"):
        if key in service:
            service[key] = as_mapping(service[key])
    if isinstance(service.get("extra_hosts"), Seq):
        hosts = service["extra_hosts"]
        service["extra_hosts"] = as_mapping(hosts, "=" if any("=" in str(h) for h in hosts)
                                            else ":")
    for key in ("networks", "depends_on"):
        value = service.get(key)
        if isinstance(value, Seq) and all(isinstance(v, str) for v in value):
            mapped = Map()
            mapped.loc = value.loc
            for index, name in enumerate(value):
                mapped[name] = None
                mapped.key_locs[name] = value.loc_of(index)
            service[key] = mapped
    return service


def merge(base, override, key: str = ""):
    """Merge `override` onto `base` (neither is modified) by Compose's rules."""
    if isinstance(override, Tagged) and override == RESET:
        return None
    if getattr(override, "tag", "") == OVERRIDE:
        return override
    if isinstance(base, Map) and isinstance(override, Map):
        return _merge_maps(base, override)
    if isinstance(base, Seq) and isinstance(override, Seq) and key not in REPLACED:
        keyed = KEYED_LISTS.get(key)
        return _merge_keyed(base, override, keyed) if keyed else _union(base, override)
    return override


def _merge_maps(base: Map, override: Map) -> Map:
    result = Map(base)
    result.loc = base.loc
    result.key_locs = dict(base.key_locs)
    for key, value in override.items():
        if isinstance(value, Tagged) and value == RESET or getattr(value, "tag", "") == RESET:
            result.pop(key, None)
            result.key_locs.pop(key, None)
            continue
        if key in result:
            if key == "logging" and isinstance(value, Map) and isinstance(result[key], Map) \
                    and value.get("driver") not in (None, result[key].get("driver")):
                merged = value  # a different driver's options make no sense merged
            else:
                merged = merge(result[key], value, key)
        else:
            merged = value
        result[key] = merged
        result.key_locs[key] = override.loc_of(key)
    return result


def _union(base: Seq, override: Seq) -> Seq:
    result = Seq(base)
    result.loc = base.loc
    result.item_locs = list(base.item_locs)
    seen = {_hashable(v) for v in base}
    for index, item in enumerate(override):
        marker = _hashable(item)
        if marker in seen:
            continue
        seen.add(marker)
        result.append(item)
        result.item_locs.append(override.loc_of(index))
    return result


def _merge_keyed(base: Seq, override: Seq, keyed) -> Seq:
    result = Seq()
    result.loc = base.loc
    position: dict[str, int] = {}
    for index, item in enumerate(base):
        position[keyed(item)] = len(result)
        result.append(item)
        result.item_locs.append(base.loc_of(index))
    for index, item in enumerate(override):
        target = keyed(item)
        if target in position:
            slot = position[target]
            result[slot] = item
            result.item_locs[slot] = override.loc_of(index)
        else:
            position[target] = len(result)
            result.append(item)
            result.item_locs.append(override.loc_of(index))
    return result


def _hashable(value):
    if isinstance(value, Map):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (Seq, list)):
        return tuple(_hashable(v) for v in value)
    return value
