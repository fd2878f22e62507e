"""The Compose project and service a finding is about, read from its asset.

Assets name what a finding is about in one string (`compose:paperless/db`,
`compose:paperless:.env`, `compose:portainer`, `docker:local/paperless/db`); readers that
split it themselves mis-attribute findings when a project is named like one of its
services (`compose:portainer` is the project, `compose:portainer/portainer` its service).
This is the one place that splits it; the reports show and emit what it returns.

Standard library only: the terminal reporter imports it on the path that must start fast.
"""

from __future__ import annotations

# Compose project and service names never hold `/` or `:` (Compose refuses them), so the
# first separator after the scheme ends the project.


def project_service(asset: str) -> tuple[str | None, str | None]:
    """(project, service) of a finding's asset: both for a service's finding, the project
    alone for a project's own (or one of its files'), (None, None) for anything else (a
    host, a URL, a proxy route)."""
    scheme, colon, rest = asset.partition(":")
    if not colon or not rest:
        return None, None
    if scheme == "compose":
        end = _first_separator(rest)
        project = rest[:end] or None
        if end < len(rest) and rest[end] == "/":         # compose:PROJECT/SERVICE
            return project, rest[end + 1:] or None
        return project, None                             # compose:PROJECT[:FILE]
    if scheme == "docker":
        # docker:ENGINE/PROJECT/SERVICE is a Compose service's running container; the
        # engine's other assets (docker:ENGINE/CONTAINER, docker:ENGINE) name no project.
        parts = rest.split("/")
        if len(parts) == 3 and all(parts):
            return parts[1], parts[2]
    return None, None


def _first_separator(rest: str) -> int:
    """Where the first `/` or `:` of `rest` is, else its length: each searched in C, the
    second only before the first (no generator and `min` per asset)."""
    end = len(rest)
    for separator in "/:":
        found = rest.find(separator, 0, end)
        if found >= 0:
            end = found
    return end


def service_label(asset: str) -> str:
    """`project/service` for a service's finding, else "" (the location already names the
    project's file)."""
    project, service = project_service(asset)
    return f"{project}/{service}" if project and service else ""
