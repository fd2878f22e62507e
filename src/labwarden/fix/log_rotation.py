"""CMP073 log-rotation-missing → json-file rotation (safe).

A service without `logging:` gets

    logging:
      driver: json-file
      options:
        max-size: "10m"
        max-file: "3"

and a json-file `logging:` that lacks `max-size` or `max-file` gets the missing option, in
its own style (a flow mapping stays one). An option written with a value that disables it
(`max-size: -1`, an empty variable) is a choice and is left; so is a `logging:` shared
through an anchor (fixing it there changes every service that uses it) and the legacy
`log_driver`/`log_opt` keys.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from labwarden.fix._common import AFTER_IDENTITY, has_variable, require_service_line, service_of
from labwarden.fix.yamledit import (
    Document,
    Skip,
    _output_keys,
    anchor_name,
    describe_merge,
    has_own,
    insert_after,
    merged_from,
    own,
)

OPTIONS = (("max-size", "10m"), ("max-file", "3"))


def _block() -> CommentedMap:
    options = CommentedMap()
    for key, value in OPTIONS:
        options[key] = DoubleQuotedScalarString(value)
    logging = CommentedMap()
    logging["driver"] = "json-file"
    logging["options"] = options
    return logging


def _shared(doc: Document, node, what: str) -> Skip:
    name = anchor_name(node)
    label = f"the anchor `&{name}`" if name else "an anchor"
    return Skip(f"{what} is {label}, used in {doc.index.uses(node)} places: add the rotation "
                "options there by hand (it changes all of them)")


def fix(doc: Document, finding, context) -> str:
    name, service = service_of(doc, finding)
    if "log_driver" in service or "log_opt" in service:
        raise Skip("legacy `log_driver`/`log_opt` keys: replace them with `logging:` by hand")
    if not has_own(service, "logging"):
        if merged_from(service, "logging") is not None:
            raise Skip(f"`logging` comes from {describe_merge(service, 'logging')}, shared with "
                       "other services: add the rotation options there by hand")
        require_service_line(doc, finding, name)
        insert_after(doc, service, AFTER_IDENTITY, "logging", _block())
        doc.touch("services", name, "logging")
        return 'added `logging:` json-file with `max-size: "10m"`, `max-file: "3"`'
    logging = own(service, "logging")
    if not isinstance(logging, CommentedMap):
        raise Skip("`logging` is not a mapping")
    if doc.index.shared(logging):
        raise _shared(doc, logging, "`logging`")
    driver = logging.get("driver")
    if has_variable(driver):
        raise Skip(f"the logging driver comes from a variable (`{driver}`)")
    if driver is not None and str(driver).strip().lower() != "json-file":
        raise Skip(f"the logging driver is `{driver}`, not json-file")
    if not has_own(logging, "options"):
        if merged_from(logging, "options") is not None:
            raise Skip(f"`logging.options` comes from {describe_merge(logging, 'options')}")
        options = _block()["options"]
        insert_after(doc, logging, ("driver",), "options", options)
        doc.touch_node(logging)
        return 'added `options: {max-size: "10m", max-file: "3"}` to `logging`'
    options = own(logging, "options")
    if not isinstance(options, CommentedMap):
        raise Skip("`logging.options` is not a mapping")
    if doc.index.shared(options):
        raise _shared(doc, options, "`logging.options`")
    missing = []
    for key, value in OPTIONS:
        if key in options:
            current = options[key]
            text = "" if current is None else str(current).strip()
            if has_variable(current) or text in ("", "0", "-1"):
                raise Skip(f"`{key}: {current if current is not None else ''}` is written "
                           "explicitly; change it by hand")
            continue
        missing.append((key, value))
    if not missing:
        raise Skip("`max-size` and `max-file` are already set")
    for key, value in missing:
        keys = [k for k in _output_keys(options) if k != "<<"]
        insert_after(doc, options, tuple(keys[-1:]), key, DoubleQuotedScalarString(value))
    doc.touch_node(options)
    return "added " + ", ".join(f'`{k}: "{v}"`' for k, v in missing) + " to `logging.options`"
