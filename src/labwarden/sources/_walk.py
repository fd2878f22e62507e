"""Walking the tree labwarden is pointed at, and nothing outside it.

A directory link is never followed. One that points outside the named tree would take the
walk wherever it points (a link to `/` walks the whole filesystem); one that points inside
it names a directory the walk reaches anyway (following it would audit the same project
twice, and a link to an ancestor would never end). Each link not followed is a diagnostic
at its path: a warning when what it points to is not audited, a note when it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from operator import attrgetter

from labwarden.model import Diagnostic, Location

# os.path.exists() and lexists() answer "no" by catching the exception stat() raises, and
# building that exception costs three times the system call: most paths asked about (an
# override file beside each Compose file, a project's `.env`) are not there. access(F_OK)
# answers the same question with a return value; with the effective ids, the permissions it
# resolves the path with are the ones stat() uses.
_ACCESS_OPTIONS = {"effective_ids": True} if os.access in os.supports_effective_ids else {}
_NO_FOLLOW = os.access in os.supports_follow_symlinks


def exists(path: str) -> bool:
    """As os.path.exists(path): is there something at `path`, links followed?"""
    try:
        return os.access(path, os.F_OK, **_ACCESS_OPTIONS)
    except (OSError, ValueError):   # what os.path.exists() takes as "no"
        return False


def lexists(path: str) -> bool:
    """As os.path.lexists(path): is there something at `path`, a broken link included?"""
    if not _NO_FOLLOW:
        return os.path.lexists(path)
    try:
        return os.access(path, os.F_OK, follow_symlinks=False, **_ACCESS_OPTIONS)
    except (OSError, ValueError):
        return False


def walk(root: str, skipped: frozenset[str],
         diagnostics: list[Diagnostic]) -> Iterator[tuple[str, list[os.DirEntry]]]:
    """Each directory under `root` (itself first, then depth first in name order) with the
    entries in it that are not directories (regular files, FIFOs, links to files, broken
    links…), sorted by name. Directories named in `skipped` are not entered."""
    tree = os.path.realpath(root)
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError as exc:
            diagnostics.append(Diagnostic("error", "unreadable", f"cannot enter directory: "
                                          f"{exc.strerror}", Location(directory)))
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen:  # a bind mount of an ancestor: links are not followed
            diagnostics.append(Diagnostic("warning", "symlink-loop", "directory reached again "
                                          "(a bind mount?); not walked twice",
                                          Location(directory)))
            continue
        seen.add(ident)
        try:
            entries = sorted(os.scandir(directory), key=_NAME)
        except OSError as exc:
            diagnostics.append(Diagnostic("error", "unreadable", f"cannot list directory: "
                                          f"{exc.strerror}", Location(directory)))
            continue
        subdirs, others = [], []
        for entry in entries:
            if _is_real_directory(entry):
                if entry.name not in skipped:
                    subdirs.append(entry.path)
            elif not _skipped_link(entry, tree, diagnostics):
                others.append(entry)
        yield directory, others
        stack.extend(reversed(subdirs))


_NAME = attrgetter("name")      # an entry's name, read in C: one look per entry of the tree


def _is_real_directory(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _skipped_link(entry: os.DirEntry, tree: str, diagnostics: list[Diagnostic]) -> bool:
    """Whether `entry` is a link to a directory, reported and skipped. A loop of links
    (a -> b -> a) leads to no directory: it stays among the files, for its reader to
    report as unreadable where it matters (a `compose.yaml`)."""
    try:
        if not entry.is_symlink() or not entry.is_dir():
            return False
    except OSError:  # ELOOP
        return False
    target = os.path.realpath(entry.path)
    if not _within(target, tree):
        diagnostics.append(Diagnostic(
            "warning", "symlink-outside-tree", f"link to the directory {target}, outside the "
            "tree audited: not followed (name it to audit it)", Location(entry.path)))
    elif _within(os.path.realpath(os.path.dirname(entry.path)), target):
        diagnostics.append(Diagnostic("warning", "symlink-loop", "link to a directory that "
                                      "holds it: a loop, not followed", Location(entry.path)))
    else:
        diagnostics.append(Diagnostic(
            "info", "symlink-inside-tree", f"link to {os.path.relpath(target, tree)} in this "
            "tree: audited there, not through the link", Location(entry.path)))
    return True


def _within(path: str, directory: str) -> bool:
    """Whether the resolved `path` is `directory` or under it."""
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)

