"""The containers the lab defines: what the Compose projects of the tree name, explicit
`container_name` values and Compose's default names `<project>-<service>-<n>`
(`KnownContainers`), for checking the names scripts use against them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from labwarden.model import Diagnostic, Location
from labwarden.sources.scripts.containers import ContainerUse


@dataclass(slots=True)
class KnownContainer:
    name: str
    project: str                     # Compose's project name
    service: str
    explicit: bool                   # container_name, else Compose's default name
    location: Location
    image: str = ""                  # what it runs: the suggestions read its role from it


@dataclass(slots=True)
class KnownProject:
    key: str                         # labwarden's project key (path relative to the root)
    compose_name: str
    directory: str                   # absolute
    files: list[str]
    services: dict[str, list[str]]   # service -> its container names


@dataclass(slots=True)
class KnownContainers:
    """The containers the Compose projects of the tree define, and those the scanned scripts
    create themselves. `complete` is False when a project could not be loaded entirely."""

    projects: list[KnownProject] = field(default_factory=list)
    containers: dict[str, KnownContainer] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    complete: bool = True
    roots: list[str] = field(default_factory=list)
    # A container name two services of the lab define: which container a script reaches is
    # whichever started last.
    twice: dict[str, list[KnownContainer]] = field(default_factory=dict)
    # The projects' secret values (`.env`, environment, env_files): a container name built
    # from one (`vault-${APP_TOKEN}`) must be redacted wherever a script finding shows it.
    secrets: set[str] = field(default_factory=set)

    def __contains__(self, name: str) -> bool:
        return name in self.containers or name in self.created

    def names(self) -> list[str]:
        return sorted(set(self.containers) | self.created)

    def by_service(self, service: str) -> list[KnownContainer]:
        return [c for c in self.containers.values() if c.service == service]

    def projects_for(self, use: ContainerUse) -> list[KnownProject]:
        """The projects a `docker compose` command addresses; [] when it cannot be told."""
        if use.project_name:
            wanted = _normalise_project(use.project_name)
            return [p for p in self.projects if p.compose_name == wanted]
        directory = None
        if use.project_file:
            directory = os.path.dirname(use.project_file) or use.project_dir
        elif use.project_dir:
            directory = use.project_dir
        if not directory:
            return []
        base = os.path.basename(os.path.normpath(directory))
        if base in ("", ".", ".."):
            return []
        return [p for p in self.projects
                if os.path.basename(p.directory) == base or p.compose_name ==
                _normalise_project(base)]


_PROJECT_CHARS = re.compile(r"[^a-z0-9_-]")


def _normalise_project(name: str) -> str:
    return _PROJECT_CHARS.sub("", name.lower()).lstrip("_-")


def load_known_containers(paths: list[str], diagnostics: list[Diagnostic]) -> KnownContainers:
    """Discover and load the Compose projects under `paths`; every container they define.

    A project that fails to load makes the set incomplete; that is said once per problem as
    a coverage gap, since `labwarden audit` is where Compose problems are reported.
    """
    from labwarden.audit.compose import _project_secrets
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import LoadOptions, load_project

    known = KnownContainers(roots=list(paths))
    compose_diagnostics: list[Diagnostic] = []
    specs = discover(paths, compose_diagnostics)
    for spec in specs:
        project = load_project(spec, compose_diagnostics, LoadOptions())
        if project is None:
            continue
        known.secrets |= _project_secrets(project)
        entry = KnownProject(project.name, project.compose_name,
                             os.path.abspath(project.directory), list(project.files), {})
        for service in project.services.values():
            names = []
            explicit = service.get("container_name")
            if explicit is not None and not isinstance(explicit, (dict, list)):
                names.append((str(explicit), True, service.loc("container_name")))
            else:
                for n in range(1, _replicas(service) + 1):
                    names.append((f"{project.compose_name}-{service.name}-{n}", False,
                                  service.location))
            entry.services[service.name] = [n for n, _, _ in names]
            for name, is_explicit, location in names:
                container = KnownContainer(name, project.compose_name, service.name,
                                           is_explicit, location, service.image or "")
                first = known.containers.get(name)
                if first is not None and (first.location.path, first.service) == \
                        (location.path, service.name):
                    continue         # one file read as part of two projects
                if first is not None:
                    known.twice.setdefault(name, [known.containers[name]]).append(container)
                    continue
                known.containers[name] = container
        known.projects.append(entry)
    for d in compose_diagnostics:
        if d.level == "error":
            known.complete = False
            diagnostics.append(Diagnostic(
                "gap", "compose-incomplete", f"{d.code}: {d.message}; container names this "
                "project defines may be missing from the check of scripts (SCR008)",
                d.location))
    return known


def _replicas(service) -> int:
    for value in (service.path("deploy", "replicas"), service.get("scale")):
        try:
            if value is not None:
                return max(1, min(int(str(value)), 50))
        except ValueError:
            continue
    return 1
