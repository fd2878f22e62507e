"""Find Compose projects in a tree the way `docker compose` would pick their files.

In each directory the first of `compose.yaml`, `compose.yml`, `docker-compose.yml`,
`docker-compose.yaml` is the project file, and the first of `compose.override.yml`,
`compose.override.yaml`, `docker-compose.override.yml`, `docker-compose.override.yaml` is
merged on top, whichever the project file's name (compose-go's DefaultFileNames and
DefaultOverrideFileNames, in their order). A file named on the command line is a project of
its own, with that override (looked up by the loader). Links to directories are not
followed (`_walk.walk`): one out of the tree would take the walk anywhere, one inside it
would audit a project twice; each is reported.

A directory's `.env` may name other files in `COMPOSE_FILE`; the loader reads it, and the
audit drops the "not loaded by Compose" note of every file a project did load.
"""

from __future__ import annotations

import os
import stat

from labwarden._record import Record
from labwarden.model import Diagnostic, Location
from labwarden.sources._walk import exists, walk

PROJECT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__",
                          ".tox", ".labwarden", ".mypy_cache", ".pytest_cache"})
_YAML_SUFFIXES = (".yaml", ".yml")


class ProjectSpec(Record):
    __slots__ = ("directory", "files", "key", "explicit", "find_override")

    def __init__(self, directory: str, files: list[str],
                 key: str,                  # stable identity relative to the audited root
                 explicit: bool = False,    # files named by the user: not COMPOSE_FILE's
                 # A file named alone: its override is looked for when it is loaded (in
                 # whichever process loads it: four lookups per file, a third of discovering
                 # a list of a thousand files, are not all made before the work is shared).
                 find_override: bool = False):
        self.directory = directory
        self.files = files
        self.key = key
        self.explicit = explicit
        self.find_override = find_override


def override_for(path: str) -> list[str]:
    """The override file Compose merges automatically onto `path`, if present."""
    directory, name = os.path.split(path)
    if name not in PROJECT_FILES:
        return []
    prefix = os.path.join(directory, "")      # prefix + name is os.path.join(directory, name)
    for candidate in OVERRIDE_FILES:
        if exists(prefix + candidate):
            return [prefix + candidate]
    return []


def _key(root: str, path: str, is_dir: bool, cwd: str | None = None,
         split: tuple[str, str] | None = None) -> str:
    """`cwd`, when given, is os.getcwd(): relative paths are joined to it once here rather
    than by each abspath() (a system call every time, three per file named). `split`: a
    file's `(os.path.dirname(path) or ".", os.path.basename(path))`, when the caller has
    them (a list of a thousand files named: each path function is a microsecond)."""
    file_name = ""
    own_directory = False
    if not is_dir:
        parent, file_name = split or (os.path.dirname(path) or ".", os.path.basename(path))
        own_directory = root == parent and file_name in PROJECT_FILES
    if own_directory:
        # A project file named in its own directory: that directory's name, which is what
        # the general case comes to, without relpath()'s work; and as written, when it ends
        # in a name abspath() would keep (not `.` or `..`, nor the cwd's "").
        name = os.path.basename(root)
        if name not in ("", ".", ".."):
            return name
    whole = _absolute(path, cwd) if cwd else path      # abspath() gives the same for both
    if own_directory:
        return os.path.basename(os.path.dirname(os.path.abspath(whole)))
    rel = os.path.relpath(whole, _absolute(root, cwd) if cwd else root) if root else path
    if is_dir:
        return os.path.basename(os.path.abspath(whole)) if rel == "." else rel
    return rel if file_name not in PROJECT_FILES else (
        os.path.dirname(rel) or os.path.basename(os.path.dirname(os.path.abspath(whole))))


def _absolute(path: str, cwd: str) -> str:
    return os.path.join(cwd, path) if path and not os.path.isabs(path) else path


def discover(paths: list[str], diagnostics: list[Diagnostic], *,
             directories: set[str] | None = None) -> list[ProjectSpec]:
    """The projects under `paths`. `directories`, when given, receives the paths that are
    directories (the caller need not ask the file system again)."""
    specs: list[ProjectSpec] = []
    named: set[str] = set()          # main files of the projects named explicitly
    cwd = os.getcwd()
    for target in paths:
        try:
            is_dir, exists = stat.S_ISDIR(os.stat(target).st_mode), True
        except (OSError, ValueError):   # what os.path.isdir() and exists() take as "no"
            is_dir, exists = False, False
        if is_dir:
            if directories is not None:
                directories.add(target)
            specs.extend(_walk(target, diagnostics))
        elif exists or os.path.islink(target):
            directory, name = os.path.split(target)     # dirname() and basename() at once
            directory = directory or "."
            base = _base_of_override(target) if ".override." in name else None
            if base is not None:  # an override named alone (pre-commit): audit it merged
                target, name = base, os.path.basename(base)     # in the same directory
            root = directory if name in PROJECT_FILES else os.path.dirname(directory)
            if target not in named:      # a base and its override named together: once
                named.add(target)
                specs.append(ProjectSpec(directory, [target],
                                         _key(root, target, False, cwd, (directory, name)),
                                         explicit=True, find_override=True))
        else:
            diagnostics.append(Diagnostic("error", "not-found", "no such file or directory",
                                          Location(target)))
    return specs


def _base_of_override(path: str) -> str | None:
    """For `compose.override.yaml` named on its own, the base file Compose merges it onto."""
    directory, name = os.path.split(path)
    if ".override." not in name:
        return None
    for candidate in PROJECT_FILES:
        base = os.path.join(directory, candidate)
        if os.path.isfile(base) and path in override_for(base):
            return base
    return None


def _walk(root: str, diagnostics: list[Diagnostic]) -> list[ProjectSpec]:
    specs = []
    # The walk joins each directory's path to root's: the part after root is the key
    # _key() would find with relpath(), which resolves both paths (two getcwd() calls) for
    # each of the projects of a tree.
    under = os.path.join(root, "")
    for directory, entries in walk(root, SKIPPED_DIRS, diagnostics):
        key = directory[len(under):] if directory != root and directory.startswith(under) \
            else _key(root, directory, True)
        names = {e.name: e.path for e in entries if e.name.endswith(_YAML_SUFFIXES)}
        chosen = next((names[n] for n in PROJECT_FILES if n in names), None)
        if chosen:
            # As override_for(chosen), from the listing already made (no stat per name).
            overrides = [names[n] for n in OVERRIDE_FILES if n in names][:1]
            for group, picked in ((PROJECT_FILES, [chosen]), (OVERRIDE_FILES, overrides)):
                for other in group:
                    if other in names and picked and names[other] != picked[0]:
                        diagnostics.append(Diagnostic(
                            "warning", "ignored-compose-file", f"Compose uses "
                            f"{os.path.basename(picked[0])} in this directory and ignores "
                            "this file", Location(names[other])))
            specs.append(ProjectSpec(directory, [chosen] + overrides, key))
        else:
            overrides = []
            if any(e.name == ".env" for e in entries) and \
                    any("compose" in name for name in names):
                # No default file, but `.env` may name the files in COMPOSE_FILE, as
                # `docker compose` run here would read them: the loader decides. The
                # not-loaded notes below are dropped for the files it loads.
                specs.append(ProjectSpec(directory, [], key))
        used = {chosen, *overrides}
        for name, path in names.items():
            if "compose" in name and path not in used and name not in PROJECT_FILES and \
                    not (chosen and name in OVERRIDE_FILES):
                diagnostics.append(Diagnostic(
                    "info", "not-loaded-by-compose", "Compose does not load this file by "
                    "itself; audit it with `labwarden audit -f BASE -f THIS` or by naming it",
                    Location(path)))
    return specs
