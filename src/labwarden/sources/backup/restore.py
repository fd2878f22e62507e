"""A restore test: the newest snapshot of a repository restored into a scratch directory,
checked, and the directory removed.

The scratch directory is always a new one (`tempfile.mkdtemp`, mode 0700) under the system's
temporary folder or the one `--scratch` names: a restore never writes over anything that
exists, least of all the live data the snapshot was taken from. Before restoring, the
snapshot's size (as the tool reports it) is compared with the free space there.

What is checked: that the restored tree holds data (at least one non-empty regular file),
and that every database dump in it parses (`dumps`). The tree is walked without following
links, and only regular files are opened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field

from labwarden.sources.backup import dumps, tools
from labwarden.sources.backup.config import Credential, Repository
from labwarden.sources.backup.fact import RestoreTest, Snapshot, show_time

MAX_DUMPS = 50                   # dumps checked in one restore
FREE_SPACE_MARGIN = 0.9          # never fill more than this share of the scratch disk


@dataclass
class Tree:
    files: int = 0
    bytes: int = 0
    nonempty: int = 0
    dumps: list[tuple[str, str, str]] = field(default_factory=list)   # (path, shown, kind)


def verify(repository: Repository, credential: Credential | None, scratch: str | None,
           timeout: float) -> tuple[RestoreTest, Snapshot]:
    """Restore the newest snapshot and check it. Raises tools.ToolError when the repository
    cannot be read or the restore cannot start (nothing was tested); a restore that fails
    or a tree that does not check out is a failed RestoreTest."""
    return asyncio.run(_verify(repository, credential, scratch, timeout))


async def _verify(repository: Repository, credential: Credential | None,
                  scratch: str | None, timeout: float) -> tuple[RestoreTest, Snapshot]:
    snapshots, _ = await tools.read_repository(repository, credential, timeout)
    if not snapshots:
        raise tools.ToolError("it holds no snapshot to restore")
    # The tools list snapshots oldest first; of two within the same second (their times
    # have no finer grain), the one listed last is the newer.
    newest = snapshots[max(range(len(snapshots)), key=lambda i: (snapshots[i].time, i))]
    parent = os.path.abspath(scratch or tempfile.gettempdir())
    if not os.path.isdir(parent):
        raise tools.ToolError(f"the scratch folder {parent} does not exist")
    size = await tools.restore_size(repository, credential, newest.id, timeout)
    free = shutil.disk_usage(parent).free
    if size is not None and size > free * FREE_SPACE_MARGIN:
        raise tools.ToolError(
            f"snapshot {newest.id[:12]} is {_size(size)} restored, more than {parent} has free "
            f"({_size(free)}): name a roomier folder with --scratch")
    started = dt.datetime.now(dt.timezone.utc)
    what = f"snapshot {newest.id[:12]} of {show_time(newest.time)}"
    directory = tempfile.mkdtemp(prefix="labwarden-restore-", dir=parent)
    try:
        try:
            await tools.restore(repository, credential, newest.id, directory, timeout)
        except tools.ToolError as exc:
            return RestoreTest(started, newest.id, False, (f"restore of {what}",),
                               problem=f"the restore failed: {exc}"), newest
        return _checked(directory, started, newest, what), newest
    finally:
        remove_tree(directory)


def _checked(directory: str, started: dt.datetime, newest: Snapshot,
             what: str) -> RestoreTest:
    tree = walk(directory)
    checked = [f"restored {what}: {tree.files} files, {_size(tree.bytes)}"]
    problems = []
    if tree.nonempty == 0:
        problems.append("the restored snapshot holds no data (no file with content)")
    for path, shown, kind in tree.dumps[:MAX_DUMPS]:
        result = dumps.check(path, shown, kind)
        checked.append(result.line())
        if not result.ok:
            problems.append(result.line())
    if len(tree.dumps) > MAX_DUMPS:
        checked.append(f"{len(tree.dumps) - MAX_DUMPS} more dumps not checked")
    if not tree.dumps:
        checked.append("no database dump in it (*.sql, *.sql.gz, pg_dump custom format)")
    return RestoreTest(started, newest.id, not problems, tuple(checked),
                       problem="; ".join(problems))


def walk(directory: str) -> Tree:
    """Count the regular files under `directory` (links not followed) and find the dumps."""
    from labwarden.sources._read import open_regular

    tree = Tree()
    for root, folders, files in os.walk(directory, followlinks=False):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            tree.files += 1
            tree.bytes += info.st_size
            if info.st_size == 0:
                continue
            tree.nonempty += 1
            try:
                with open_regular(path) as handle:
                    head = handle.read(len(dumps.PG_MAGIC))
            except OSError:
                head = b""
            kind = dumps.dump_kind(name, head)
            if kind is not None:
                tree.dumps.append((path, os.path.relpath(path, directory), kind))
    return tree


def remove_tree(directory: str) -> None:
    """Remove the scratch directory, also where the restore kept a folder's read-only mode."""
    def writable(function, path, _exc_info):
        parent = os.path.dirname(path)
        try:
            os.chmod(parent, stat.S_IRWXU)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, stat.S_IRWXU)
            function(path)
        except OSError:
            pass

    shutil.rmtree(directory, onerror=writable)


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
