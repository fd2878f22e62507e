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
    written = value.written or {}
    for index, item in enumerate(value):
        if isinstance(item, Map):  # e.g. long-form networks lists are not KEY=value
            return value
        text = "" if item is None else str(item)
        key, sep, val = text.partition(separator)
        key = key.strip()
        result[key] = val if sep else None
        result.key_locs[key] = value.loc_of(index)
        if index in written:  # `- KEY=${VAR}`: keep what the value was written as
            if result.written is None:
                result.written = {}
            result.written[key] = written[index].partition(separator)[2]
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
    # What each value was written as before interpolation follows the value it describes.
    written = dict(base.written) if base.written else {}
    override_written = override.written or {}
    for key, value in override.items():
        if isinstance(value, Tagged) and value == RESET or getattr(value, "tag", "") == RESET:
            result.pop(key, None)
            result.key_locs.pop(key, None)
            written.pop(key, None)
            continue
        if key in override_written:
            written[key] = override_written[key]
        elif value is not None or key not in result:
            written.pop(key, None)
        if key in result:
            if value is None:  # an empty key in an override changes nothing (compose-go)
                continue
            if key == "logging" and isinstance(value, Map) and isinstance(result[key], Map) \
                    and value.get("driver") not in (None, result[key].get("driver")):
                merged = value  # a different driver's options make no sense merged
            else:
                merged = merge(result[key], value, key)
        else:
            merged = value
        result[key] = merged
        # A value replaced points at the override; a mapping or list merged from both keeps
        # the line of its first definition (a service's own line stays in the base file),
        # while each of its entries keeps its own file and line.
        if merged is value or not isinstance(merged, (Map, Seq)) or key not in base.key_locs:
            result.key_locs[key] = override.loc_of(key)
    result.written = written or None
    return result


def _union(base: Seq, override: Seq) -> Seq:
    result = Seq(base)
    result.loc = base.loc
    result.item_locs = list(base.item_locs)
    written = dict(base.written) if base.written else {}
    override_written = override.written or {}
    seen = {_hashable(v) for v in base}
    for index, item in enumerate(override):
        marker = _hashable(item)
        if marker in seen:
            continue
        seen.add(marker)
        if index in override_written:
            written[len(result)] = override_written[index]
        result.append(item)
        result.item_locs.append(override.loc_of(index))
    result.written = written or None
    return result


def _merge_keyed(base: Seq, override: Seq, keyed) -> Seq:
    result = Seq()
    result.loc = base.loc
    written = dict(base.written) if base.written else {}
    override_written = override.written or {}
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
            slot = position[target] = len(result)
            result.append(item)
            result.item_locs.append(override.loc_of(index))
        if index in override_written:
            written[slot] = override_written[index]
        else:
            written.pop(slot, None)
    result.written = written or None
    return result


def _hashable(value):
    if isinstance(value, Map):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (Seq, list)):
        return tuple(_hashable(v) for v in value)
    return value
