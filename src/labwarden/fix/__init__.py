"""Automatic fixes for Compose findings: `labwarden fix`.

Each fixer turns one finding into an edit of the YAML file and line the finding points at,
and is registered below with whether it is *safe*. A safe fix does not change what the
service does for its users (it adds a restart policy, log rotation, no-new-privileges where
the image needs no sudo or setuid, or pins the image the tag already resolves to) and
applies by default. A behaviour-changing fix (a port moved behind the proxy or bound to one
address is no longer where it was; a renamed container breaks whatever used the old name; a
misspelled key that starts to work changes the container) applies only when its rule is
named with `--rule`.

This table is cheap to import (no YAML library): the fixer modules, which need ruamel.yaml,
are imported when a fixer runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fixer:
    rule: str
    safe: bool
    summary: str            # what the fix does, for `labwarden fix --help` and the docs
    module: str             # labwarden.fix.<module>, holding `fix(doc, finding, context)`

    @property
    def apply(self) -> Callable:
        return importlib.import_module(f"labwarden.fix.{self.module}").fix


FIXERS: dict[str, Fixer] = {f.rule: f for f in (
    Fixer("CMP012", True, "add `security_opt: [no-new-privileges:true]` (only that: cap_drop, "
          "read_only and user change what the container may do; not for images that need "
          "sudo, setuid or file capabilities, such as a `SUDO_PASSWORD`)", "hardening"),
    Fixer("CMP071", True, "add `restart: unless-stopped`", "restart"),
    Fixer("CMP073", True, "add json-file log rotation (max-size 10m, max-file 3), or the "
          "missing option", "log_rotation"),
    Fixer("IMG001", True, "pin the image to the digest its tag resolves to, from a lock file "
          "or `docker image inspect` output", "digest"),
    Fixer("IMG004", True, "pin the image to the digest its tag resolves to, from a lock file "
          "or `docker image inspect` output", "digest"),
    Fixer("IMG002", True, "pin the image to the digest its tag resolves to, from a lock file "
          "or `docker image inspect` output", "digest"),
    Fixer("NET001", False, "keep the port for whoever needs it: join the reverse proxy's "
          "network and `expose:` it, bind it to the host's LAN address when the proxy is on "
          "another host, else bind it to 127.0.0.1", "ports"),
    Fixer("NET002", False, "bind the published database port to 127.0.0.1", "ports"),
    Fixer("NET003", False, "as NET001, for an administration port (the proxy's own: "
          "127.0.0.1)", "ports"),
    Fixer("CMP090", False, "rename the container to the suggested `<stack>-<service>` name",
          "container_name"),
    Fixer("CMP001", False, "rename the misspelled key to the one Compose defines",
          "unknown_key"),
)}

# Within one file, fixes run in this order; insertions after the same key then come out in
# a stable order (restart, security_opt, logging).
ORDER = ("CMP001", "CMP090", "IMG001", "IMG004", "IMG002", "NET001", "NET002", "NET003", "CMP071",
         "CMP073", "CMP012")


@dataclass
class FixContext:
    """What fixers may need beyond the file: the policy, recorded image digests and the
    container names used across the audited tree."""

    settings: object = None                   # labwarden.settings.Settings
    digests: object = None                    # labwarden.fix.digests.DigestBook
    container_names: set[str] | None = None   # None: not collected
    claimed_names: dict[str, tuple] = field(default_factory=dict)  # renamed to, by which finding
    notes: list[str] = field(default_factory=list)
    layout: object = None                     # labwarden.fix.reach.Layout: who needs a port


def service_name(finding) -> str:
    """The service of a `compose:<project>/<service>` finding ('' for other assets)."""
    asset = finding.asset
    if not asset.startswith("compose:") or "/" not in asset:
        return ""
    return asset.rsplit("/", 1)[1]
