"""Which files git tracks: a committed `.env` is a leaked secret even if it is gitignored now."""

from __future__ import annotations

import os
import subprocess


def repo_root(path: str) -> str | None:
    directory = os.path.abspath(os.path.dirname(path))
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def tracked(paths: list[str],
            listings: dict[str, set[str] | None] | None = None) -> dict[str, bool | None]:
    """For each path: True/False, or None when it is not in a git work tree or git fails.

    One `git ls-files` call per repository, not per file. With `listings` (one dict for a
    whole audit, which asks for a few files at a time), each repository's whole listing is
    read once and kept there.
    """
    result: dict[str, bool | None] = {p: None for p in paths}
    by_root: dict[str, list[str]] = {}
    for path in paths:
        root = repo_root(path)
        if root:
            by_root.setdefault(root, []).append(path)
    for root, members in by_root.items():
        relative = [os.path.relpath(os.path.abspath(p), root) for p in members]
        if listings is None:
            listed = _listed(root, relative)
        else:
            if root not in listings:
                listings[root] = _listed(root, [])
            listed = listings[root]
        if listed is None:
            continue
        for path, rel in zip(members, relative):
            result[path] = rel in listed
    return result


def _listed(root: str, relative: list[str]) -> set[str] | None:
    """The files git tracks under `root`: of `relative`, or all of them (none named)."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--", *relative],
                             capture_output=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return set(out.decode("utf-8", "replace").split("\0"))
