"""Scripts on disk: finding them under the paths given (`find_scripts`, `is_shell_script`,
by suffix or shebang, never opening a FIFO), and reading one into a `ShellScript`
(`read_script`): its shebang, its parsed commands and the container names they use.
"""

from __future__ import annotations

import os
import re

from labwarden.model import Diagnostic, Location
from labwarden.sources._read import FileTooLarge, NotRegularFile, file_kind, open_regular, \
    read_regular
from labwarden.sources._walk import walk
from labwarden.sources.scripts.containers import container_uses
from labwarden.sources.scripts.fact import ShellScript
from labwarden.sources.scripts.known import KnownContainers
from labwarden.sources.scripts.lexer import MAX_SUBSTITUTION_DEPTH
from labwarden.sources.scripts.parser import parse_script

# Shells bash -n and ShellCheck can read (zsh and fish cannot be checked by either).
SHELLS = frozenset({"sh", "bash", "dash", "ksh", "mksh", "ash", "busybox", "posh"})
SCRIPT_SUFFIXES = (".sh", ".bash")
MAX_SCRIPT_BYTES = 4 * 1024 * 1024
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__",
                          ".tox", ".labwarden", ".mypy_cache", ".pytest_cache"})


_SHEBANG = re.compile(r"#!\s*(\S+)(?:\s+(.*))?")


def parse_shebang(first_line: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(shebang, shell name, flags) of a first line."""
    if not first_line.startswith("#!"):
        return None, None, ()
    match = _SHEBANG.match(first_line.strip())
    if not match:
        return first_line.strip(), None, ()
    interpreter = match.group(1).rsplit("/", 1)[-1]
    rest = (match.group(2) or "").split()
    if interpreter == "env":
        rest = [r for r in rest if r not in ("-S", "--split-string") and "=" not in r]
        interpreter = rest[0].rsplit("/", 1)[-1] if rest else ""
        rest = rest[1:]
    return first_line.strip(), interpreter or None, tuple(rest)


def read_script(path: str, display: str, known: KnownContainers,
                diagnostics: list[Diagnostic]) -> ShellScript | None:
    try:
        data = read_regular(path, MAX_SCRIPT_BYTES)
        executable = os.access(path, os.X_OK)
    except NotRegularFile as exc:
        diagnostics.append(Diagnostic("error", "unreadable", f"{exc.strerror}; not checked",
                                      Location(path)))
        return None
    except FileTooLarge:
        diagnostics.append(Diagnostic("error", "too-large", f"larger than "
                                      f"{MAX_SCRIPT_BYTES // 1024 // 1024} MiB; not checked",
                                      Location(path)))
        return None
    except OSError as exc:
        diagnostics.append(Diagnostic("error", "unreadable", f"cannot read: {exc.strerror}",
                                      Location(path)))
        return None
    if b"\0" in data:
        diagnostics.append(Diagnostic("warning", "not-a-script", "binary file; not checked",
                                      Location(path)))
        return None
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    shebang, shell, flags = parse_shebang(lines[0] if lines else "")
    if shebang is not None and shell not in SHELLS:
        diagnostics.append(Diagnostic("warning", "not-a-shell-script", f"the shebang names "
                                      f"{shell or 'no interpreter'}, not sh, bash, dash or "
                                      "ksh; not checked", Location(path, 1)))
        return None
    parsed = parse_script(text)
    if parsed.too_deep:
        diagnostics.append(Diagnostic("error", "too-deep", "substitutions nest deeper than "
                                      f"{MAX_SUBSTITUTION_DEPTH} levels: the commands inside "
                                      "them are not checked", Location(path, parsed.too_deep)))
    uses, created = container_uses(parsed.commands, parsed.loop_values)
    return ShellScript(path=path, display=display, text=text, lines=lines, shebang=shebang,
                       shell=shell or "bash", shebang_flags=flags, executable=executable,
                       commands=parsed.commands, heredocs=parsed.heredocs,
                       loop_vars=parsed.loop_vars, uses=uses, created=created, known=known)


def is_shell_script(path: str) -> bool:
    """A `.sh`/`.bash` file, or a regular file without a suffix whose shebang names a shell."""
    name = os.path.basename(path)
    if name.endswith(SCRIPT_SUFFIXES):
        return True
    if "." in name.lstrip("."):
        return False
    try:
        with open_regular(path) as handle:  # a FIFO would block the sniffing read forever
            first = handle.read(128).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    except OSError:
        return False
    _, shell, _ = parse_shebang(first)
    return shell in SHELLS


def find_scripts(paths: list[str], diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    """(path, display path) of every script under `paths`; files named are taken as they
    are. Display paths are relative to the directory named (or the file's directory).
    Links to directories are not followed (`_walk.walk` says which were skipped)."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for target in paths:
        if os.path.isdir(target):
            for _, entries in walk(target, SKIPPED_DIRS, diagnostics):
                for entry in entries:
                    if _is_script_entry(entry, diagnostics) and \
                            os.path.realpath(entry.path) not in seen:
                        seen.add(os.path.realpath(entry.path))
                        found.append((entry.path, os.path.relpath(entry.path, target)))
        elif os.path.exists(target):
            if not _named_script(target):
                # `labwarden scripts compose.yaml`: ShellCheck would report YAML as broken
                # shell; say what the file is instead.
                diagnostics.append(Diagnostic(
                    "warning", "not-a-shell-script", "not a shell script (no .sh or .bash "
                    "suffix, no shell shebang); not checked", Location(target)))
            elif os.path.realpath(target) not in seen:
                seen.add(os.path.realpath(target))
                found.append((target, os.path.basename(target)))
        else:
            diagnostics.append(Diagnostic("error", "not-found", "no such file or directory",
                                          Location(target)))
    return found


def _named_script(path: str) -> bool:
    """Whether a file named on the command line is taken as a script: a shell suffix, a
    shell shebang, or no suffix at all (read_script then judges its shebang, or takes it as
    sh). A file with another suffix (`.yaml`, `.py`) is one only by its shebang."""
    name = os.path.basename(path)
    if name.endswith(SCRIPT_SUFFIXES) or "." not in name.lstrip("."):
        return True
    if not os.path.isfile(path):
        return True                 # a FIFO or device: read_script says what it is
    try:
        with open_regular(path) as handle:
            first = handle.read(128).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    except OSError:
        return True                 # unreadable: read_script reports why
    return parse_shebang(first)[1] in SHELLS


def _is_script_entry(entry: os.DirEntry, diagnostics: list[Diagnostic]) -> bool:
    """Whether a file found in a directory is a script to check. A FIFO, socket or device
    is not opened: one named like a script is read_script()'s error, any other is noted."""
    try:
        regular = entry.is_file()
    except OSError:
        regular = False
    if regular:
        return is_shell_script(entry.path)
    if entry.is_symlink() and not os.path.exists(entry.path):
        return False  # a broken link: nothing to read
    if entry.name.endswith(SCRIPT_SUFFIXES):
        return True
    try:
        kind = file_kind(os.stat(entry.path).st_mode) or "not a regular file"
    except OSError:
        return False
    diagnostics.append(Diagnostic("warning", "not-a-file", f"{kind}, not a regular file; "
                                  "not read", Location(entry.path)))
    return False
