"""CMP090 container-name-convention → the suggested `<stack>-<service>` name
(behaviour-changing: scripts, proxy upstreams, monitoring and other containers may use the
old name; applied only with `--rule`).

The suggestion is the finding's own (`container_name: paperless-redis`). It is not applied
when it would not satisfy the policy's pattern, when another container of the audited tree
already has that name, or when a service of the file refers to the container by its old
name (`network_mode: container:<name>`, `volumes_from`).
"""

from __future__ import annotations

import re

from labwarden.fix._common import has_variable, service_of
from labwarden.fix.yamledit import (
    Document,
    Skip,
    describe_merge,
    has_own,
    merged_from,
    own,
    same_style,
)

_SUGGESTION = re.compile(r"container_name: ([A-Za-z0-9][A-Za-z0-9_.-]*)")


def _references(doc: Document, old: str) -> list[str]:
    services = own(doc.root, "services") or {}
    found = []
    for other, spec in services.items():
        if not isinstance(spec, dict):
            continue
        values = [spec.get(k) for k in ("network_mode", "pid", "ipc")]
        volumes_from = spec.get("volumes_from")
        if isinstance(volumes_from, list):
            values.extend(volumes_from)
        for value in values:
            if isinstance(value, str) and value.split(":", 1)[-1].split(":")[0] == old and \
                    value.startswith("container:"):
                found.append(f"{other} ({value})")
    return found


def fix(doc: Document, finding, context) -> str:
    match = _SUGGESTION.fullmatch(finding.fix.strip())
    if not match:
        raise Skip("the finding carries no suggested name")
    new = match.group(1)
    name, service = service_of(doc, finding)
    if not has_own(service, "container_name"):
        if merged_from(service, "container_name") is not None:
            raise Skip(f"`container_name` comes from "
                       f"{describe_merge(service, 'container_name')}; rename it there")
        raise Skip(f"service `{name}` sets no `container_name` in this file")
    old = own(service, "container_name")
    if has_variable(old):
        raise Skip(f"`container_name: {old}` comes from a variable; set it there")
    line = doc.key_line(service, "container_name")
    if finding.location.line and line != finding.location.line:
        raise Skip(f"the finding points at line {finding.location.line}, not at "
                   f"`container_name` (line {line})")
    settings = getattr(context, "settings", None)
    if settings is not None and not settings.container_name_regex.fullmatch(new):
        raise Skip(f"the suggested `{new}` does not match the policy's pattern "
                   f"`{settings.container_name_pattern}`; choose a name by hand")
    names = getattr(context, "container_names", None)
    claimed = getattr(context, "claimed_names", {})
    owner = (finding.location.path, finding.location.line)
    if names and new in names and claimed.get(new) != owner:
        raise Skip(f"another container is already named `{new}`; choose a name by hand")
    users = _references(doc, str(old))
    if users:
        raise Skip(f"`{old}` is referred to by {', '.join(users)}; rename them together by hand")
    service["container_name"] = same_style(old, new)
    if names is not None:          # later renames in this run must not take it again
        names.add(new)
        claimed[new] = owner
    doc.touch("services", name, "container_name")
    return f"renamed container `{old}` to `{new}`: update scripts, proxy upstreams and " \
           f"monitoring that use the old name; check afterwards that `docker ps` shows " \
           f"`{new}` and nothing still asks for `{old}` (`labwarden scripts`)"
