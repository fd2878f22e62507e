"""CMP071 restart-policy-missing → `restart: unless-stopped` (safe).

Only a service with no policy at all is changed. `restart: "no"` written by hand, a policy
from a variable or `deploy.restart_policy` are choices (a one-shot job must not restart):
they are left, with the reason.
"""

from __future__ import annotations

from labwarden.fix._common import AFTER_IDENTITY, has_variable, require_service_line, service_of
from labwarden.fix.yamledit import (
    Document,
    Skip,
    describe_merge,
    has_own,
    insert_after,
    merged_from,
    own,
)


def fix(doc: Document, finding, context) -> str:
    name, service = service_of(doc, finding)
    if has_own(service, "restart"):
        value = own(service, "restart")
        if has_variable(value):
            raise Skip(f"`restart: {value}` comes from a variable; set it in the .env file")
        raise Skip(f"`restart: {value}` is written explicitly (a one-shot job needs it); "
                   "change it by hand if the service should come back")
    if merged_from(service, "restart") is not None:
        raise Skip(f"`restart` comes from {describe_merge(service, 'restart')}, shared with "
                   "other services; change it there by hand")
    deploy = service.get("deploy")
    if isinstance(deploy, dict) and "restart_policy" in deploy:
        raise Skip("`deploy.restart_policy` is written explicitly; change its `condition` by "
                   "hand if the service should come back")
    require_service_line(doc, finding, name)
    insert_after(doc, service, AFTER_IDENTITY[1:], "restart", "unless-stopped")
    doc.touch("services", name, "restart")
    return "added `restart: unless-stopped`"
