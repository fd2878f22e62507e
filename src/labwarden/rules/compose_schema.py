"""Rules about the Compose file itself: keys Compose does not know, legacy formats."""

from __future__ import annotations

from labwarden.model import Hit, Impact, Severity
from labwarden.rules.registry import rule
from labwarden.sources.compose.model import ComposeProject


@rule("CMP001", "unknown-compose-key", Severity.MEDIUM, title="Key unknown to Compose",
      on=ComposeProject, refs=["Compose Specification"],
      impact=Impact("service", (1, 2)))
def unknown_compose_key(project: ComposeProject, settings):
    """Reports keys that the Compose Specification does not define, with the key most likely
    meant.

    Why it matters:
    A misspelled key does nothing: `read-only: true` leaves the root filesystem writable and
    `network-mode: none` leaves the container on the default network. Older Compose versions
    ignore such keys silently, so the hardening the author wrote is not in force.

    Example:
    ```yaml
    services:
      app:
        image: nginx:1.27
        read-only: true   # a hyphen: Compose ignores it
    ```

    Fix:
    Use the key the specification defines (`read_only`, `network_mode`), or prefix a custom
    key with `x-` so Compose and labwarden know it is deliberate.
    """
    for unknown in project.unknown_keys:
        hint = f"; did you mean `{unknown.suggestion}`?" if unknown.suggestion else ""
        yield Hit(f"`{unknown.key}` is not a Compose key ({unknown.where}){hint}",
                  unknown.location, resource=f"{unknown.where}:{unknown.key}",
                  evidence=unknown.key,
                  fix=f"rename `{unknown.key}` to `{unknown.suggestion}`" if unknown.suggestion
                  else "remove the key, or prefix it with `x-`")


@rule("CMP002", "legacy-compose-format", Severity.LOW, title="Legacy version-1 Compose file",
      on=ComposeProject, refs=["Compose Specification"],
      impact=Impact("project", (1, 3)))
def legacy_compose_format(project: ComposeProject, settings):
    """Reports Compose files in the version-1 format, with services at the top level.

    Why it matters:
    Docker Compose v2 no longer reads the version-1 format: the stack cannot be deployed as
    written, and its legacy keys (`net`, `log_driver`) have no effect in the current format.

    Example:
    ```yaml
    web:
      image: nginx:1.27
      net: host
    ```

    Fix:
    Move the services under a top-level `services:` key and replace legacy keys
    (`net` → `network_mode`, `log_driver`/`log_opt` → `logging`).
    """
    if project.legacy:
        loc = project.loc()
        yield Hit("services are at the top level (Compose file format version 1)",
                  loc._replace(line=loc.line or 1), resource="legacy-format")
