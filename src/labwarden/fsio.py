"""Every file labwarden writes goes through here: attestations, approvals, deployment records,
`labwarden.yaml` from `init`, Compose files from `fix --apply`.

Two labwarden runs may write the same file at once (eight `attest` in parallel in a CI
matrix), and an editor or a killed run may leave it half done. So a writer takes a lock per
target file (`flock` on a sibling `.NAME.lock`, with a bounded wait), re-reads the file under
the lock, applies its change to that fresh text, checks the result, writes it to a temporary
file in the same directory, fsyncs it, gives it the original's mode (and owner, as root) and
renames it over the target. A reader sees the old file or the new one, never half of one, and
no writer's change is lost.

A path labwarden builds from a name (a record named after a service) or is asked to rewrite
(a Compose file found through `include:` or a symlink) must stay inside the folder it
belongs to: `inside` refuses `..`, absolute names, NUL and symlinks that lead out.

Standard library only: the Compose audit path never imports this module.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator

from labwarden.sources._read import NotRegularFile, read_regular

LOCK_TIMEOUT_S = 30.0
_POLL_S = 0.05


class WriteRefused(Exception):
    """A write that must not happen (a path out of its folder, a lock never obtained, a file
    that cannot be replaced). The message names the file and why; nothing was written."""


# --- where -----------------------------------------------------------------------------

def child(folder: str, name: str) -> str:
    """`folder/name` for one file name built from input (a service name…); refused when
    the name could reach another directory."""
    if not name or "\0" in name:
        raise WriteRefused(f"file name {name!r} is empty or contains NUL; nothing written")
    if os.path.isabs(name) or "/" in name or (os.altsep and os.altsep in name) \
            or name in (".", ".."):
        raise WriteRefused(f"file name {name!r} would leave {folder}: a name written under "
                           "a folder must not be absolute, contain a path separator or be "
                           "`..`; nothing written")
    return inside(folder, os.path.join(folder, name))


def inside(folder: str, path: str) -> str:
    """`path`, checked to stay under `folder` once every symlink (the last one included) is
    resolved. Returns the resolved path, the one to write."""
    if "\0" in path or "\0" in folder:
        raise WriteRefused(f"path {path!r} contains NUL; nothing written")
    root = os.path.realpath(folder)
    real = os.path.realpath(path)
    if real != root and os.path.commonpath([root, real]) != root:
        via = "" if real == os.path.abspath(path) else f" (it leads to {real})"
        raise WriteRefused(f"{path} is outside {folder}{via}: labwarden writes nothing "
                           "outside the folder it was given")
    return real


# --- locking ---------------------------------------------------------------------------

def lock_path(path: str) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.lock")


@contextlib.contextmanager
def locked(path: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock of `path` (an exclusive `flock` on its sibling lock file). Waits at most
    `timeout` seconds for another writer, then refuses rather than hang a CI job. The lock
    file is removed on release, so no `.NAME.lock` is left in the user's repository."""
    name = lock_path(path)
    deadline = time.monotonic() + timeout
    while True:
        fd = _open_lock(path, name)
        try:
            _flock(fd, path, name, deadline, timeout)
            if _still_named(fd, name):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)          # the holder before us removed it: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)   # still holding it: a waiter on this inode will retry
        os.close(fd)


def _open_lock(path: str, name: str) -> int:
    try:
        return os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot create its lock file {name} "
                           f"({exc.strerror}); nothing written") from None


def _flock(fd: int, path: str, name: str, deadline: float, timeout: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise WriteRefused(f"{path}: cannot lock {name} ({exc.strerror}); "
                                   "nothing written") from None
        if time.monotonic() >= deadline:
            raise WriteRefused(f"{path}: another process has held {name} for more than "
                               f"{timeout:g} s; nothing written (if no labwarden is "
                               "running, something else holds it)")
        time.sleep(_POLL_S)


def _still_named(fd: int, name: str) -> bool:
    """Whether the locked file is still the one called `name` (not unlinked by the holder
    we waited for)."""
    try:
        named = os.stat(name)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


# --- reading and replacing -------------------------------------------------------------

# The files labwarden rewrites are a few KiB; a larger one is not what it thinks it is.
MAX_REWRITE_BYTES = 16 * 1024 * 1024


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist yet. Only a regular file is read
    (through the one reader, `sources._read`): a FIFO or a device in its place is refused,
    not waited on."""
    try:
        data = read_regular(path, MAX_REWRITE_BYTES)
    except FileNotFoundError:
        return None
    except NotRegularFile:
        raise WriteRefused(f"{path} is not a regular file; nothing written") from None
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot read it ({exc.strerror}); nothing written") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WriteRefused(f"{path} is not UTF-8 text; nothing written") from None


def update(path: str, change: Callable[[str | None], str | None],
           timeout: float = LOCK_TIMEOUT_S) -> str | None:
    """Under the lock of `path`: read it (None when absent), pass the text to `change`, and
    replace the file with what `change` returns (None: leave it alone). `change` validates
    its result and raises to write nothing. Returns the text written."""
    with locked(path, timeout):
        text = change(read_text(path))
        if text is not None:
            replace(path, text)
        return text


Check = Callable[[str], None]


def replace(path: str, text: str, check: Check | None = None) -> None:
    """Replace (or create) `path` with `text` atomically, keeping the original's mode and,
    when root, its owner; a new file gets the mode a plain open would give it. `check` reads the
    complete temporary file and raises to keep the original. Call it under `locked(path)`."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot stat it ({exc.strerror}); nothing written") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise WriteRefused(f"{path} is not a regular file; nothing written")
    mode = stat.S_IMODE(info.st_mode) if info else 0o666 & ~_umask()
    temporary = _temporary_with(path, text, mode, check)
    try:
        if info is not None and os.geteuid() == 0:
            os.chown(temporary, info.st_uid, info.st_gid)
        os.replace(temporary, path)
    except OSError as exc:
        _discard(temporary)
        raise WriteRefused(f"{path}: not written ({exc.strerror})") from None
    _sync_directory(path)


def create(path: str, text: str, overwrite: bool = False, check: Check | None = None) -> bool:
    """Create `path` with `text`, atomically and complete or not at all. Without `overwrite`
    an existing file is never replaced: returns False and writes nothing. Call it under
    `locked(path)`."""
    if overwrite:
        replace(path, text, check)
        return True
    temporary = _temporary_with(path, text, 0o666 & ~_umask(), check)
    try:
        os.link(temporary, path)          # atomic "create if absent", even against a race
    except FileExistsError:
        return False
    except OSError as exc:
        raise WriteRefused(f"{path}: not written ({exc.strerror})") from None
    finally:
        _discard(temporary)
    _sync_directory(path)
    return True


def numbered_name(stem: str, suffix: str, number: int) -> str:
    """`STEM.SUFFIX` for the first, `STEM-N.SUFFIX` for the N-th (N from 2)."""
    return f"{stem}{suffix}" if number == 1 else f"{stem}-{number}{suffix}"


MAX_NUMBERED = 9999


def create_numbered(folder: str, stem: str, suffix: str, text: str) -> str:
    """Create a new file in `folder` named `STEM.SUFFIX`, or `STEM-2.SUFFIX`, `STEM-3…` after
    the highest number already taken, complete or not at all; returns its path. No existing
    file is ever replaced: each name is claimed with a hard link of the finished temporary
    file, which fails when the name exists (O_EXCL's guarantee, with the content in place
    at once), so two writers at the same moment get two files. Numbering after the highest
    taken (not the first gap) keeps the numbers in the order the files were written."""
    first = child(folder, numbered_name(stem, suffix, 1))
    os.makedirs(folder, exist_ok=True)
    number = _highest_number(folder, stem, suffix) + 1
    temporary = _temporary_with(first, text, 0o666 & ~_umask(), None)
    try:
        while number <= MAX_NUMBERED:
            path = first if number == 1 else child(folder,
                                                     numbered_name(stem, suffix, number))
            try:
                os.link(temporary, path)
            except FileExistsError:
                number += 1
                continue
            except OSError as exc:
                raise WriteRefused(f"{path}: not written ({exc.strerror})") from None
            _sync_directory(path)
            return path
    finally:
        _discard(temporary)
    raise WriteRefused(f"{first}: {MAX_NUMBERED} files of that name exist already; "
                       "nothing written")


def _highest_number(folder: str, stem: str, suffix: str) -> int:
    """The highest N of `STEM.SUFFIX` (1) and `STEM-N.SUFFIX` in `folder`; 0 when none."""
    pattern = re.compile(re.escape(stem) + r"(?:-([2-9]|[1-9][0-9]{1,3}))?"
                         + re.escape(suffix))
    highest = 0
    for name in os.listdir(folder):
        match = pattern.fullmatch(name)
        if match:
            highest = max(highest, int(match.group(1) or 1))
    return highest


def _temporary_with(path: str, text: str, mode: int, check: Check | None) -> str:
    """A complete, fsynced copy of `text` beside `path` (same file system, so the rename is
    atomic), with `mode`, that passed `check`."""
    directory, name = os.path.split(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot write beside it ({exc.strerror}); "
                           "nothing written") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
    except OSError as exc:
        _discard(temporary)
        raise WriteRefused(f"{path}: not written ({exc.strerror})") from None
    if check is not None:
        try:
            check(temporary)
        except BaseException:
            _discard(temporary)
            raise
    return temporary


def _discard(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def _sync_directory(path: str) -> None:
    """The rename itself survives a crash only once the directory is on disk."""
    with contextlib.suppress(OSError):
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    # The only portable way to read it is to set it; a CLI run has one thread writing.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
