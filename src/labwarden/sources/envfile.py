"""`.env` and `env_file:` files, read the way Docker Compose reads them, with line numbers.

Compose's dotenv dialect: `KEY=value`, an optional `export ` prefix, `#` comments (inline
after whitespace in unquoted values), single quotes literal, double quotes with escapes and
multi-line values, and `${VAR}` interpolation inside unquoted and double-quoted values from
variables defined earlier in the same file (and the lookup the caller gives).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Callable

from labwarden.model import Location

_KEY = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=|:\s)\s*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}
MAX_ENV_BYTES = 1024 * 1024


@dataclass(slots=True)
class EnvVar:
    name: str
    value: str
    location: Location
    quoted: bool = False
    written: str | None = None      # the text before interpolation, when it held a `$`


@dataclass(slots=True)
class EnvFile:
    """The facts of one env file: its variables and how it is protected on disk."""

    path: str
    variables: dict[str, EnvVar] = field(default_factory=dict)
    mode: int | None = None            # permission bits, None when unknown
    tracked_by_git: bool | None = None
    problems: list[tuple[str, str, Location]] = field(default_factory=list)
    role: str = "dotenv"               # dotenv (the project's .env) | env_file

    def values(self) -> dict[str, str]:
        return {k: v.value for k, v in self.variables.items()}


def parse_env_text(text: str, path: str,
                   lookup: Callable[[str], str | None] | None = None) -> EnvFile:
    from labwarden.sources.compose.interpolate import interpolate_plain

    env = EnvFile(path)
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line_no = index + 1
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _KEY.match(line)
        if not match:
            env.problems.append(("env-syntax", "not a KEY=value line; Compose rejects it",
                                 Location(path, line_no)))
            continue
        name, rest = match.group(1), line[match.end():]
        quoted = False
        written = None
        if rest[:1] == "'":
            end = rest.find("'", 1)
            value = rest[1:end] if end > 0 else rest[1:]
            quoted = True
        elif rest[:1] == '"':
            body = rest[1:]
            # A double-quoted value may run over several lines until the closing quote.
            while _closing_quote(body) < 0 and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            end = _closing_quote(body)
            value = _unescape(body[:end] if end >= 0 else body)
            written = value if "$" in value else None
            value = _expand(value, env, lookup, interpolate_plain)
            quoted = True
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
            written = value if "$" in value else None
            value = _expand(value, env, lookup, interpolate_plain)
        env.variables[name] = EnvVar(name, value, Location(path, line_no), quoted, written)
    return env


def _closing_quote(body: str) -> int:
    escaped = False
    for i, ch in enumerate(body):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            return i
    return -1


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def _expand(value, env, lookup, interpolate_plain):
    if "$" not in value:
        return value

    def resolve(name: str) -> str | None:
        if name in env.variables:
            return env.variables[name].value
        return lookup(name) if lookup else None

    return interpolate_plain(value, resolve)


def read_env_file(path: str, lookup: Callable[[str], str | None] | None = None,
                  role: str = "dotenv") -> EnvFile:
    """Read an env file. Problems (unreadable, binary, too large) are recorded, not raised."""
    env = EnvFile(path, role=role)
    try:
        st = os.stat(path)
        env.mode = stat.S_IMODE(st.st_mode)
        if st.st_size > MAX_ENV_BYTES:
            env.problems.append(("file-too-large", "env file over 1 MiB; not read",
                                 Location(path)))
            return env
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        env.problems.append(("unreadable", f"cannot read env file: {exc.strerror}",
                             Location(path)))
        return env
    if b"\x00" in data:
        env.problems.append(("binary-file", "env file contains NUL bytes", Location(path)))
        return env
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        env.problems.append(("invalid-utf8", f"invalid UTF-8 at byte {exc.start}",
                             Location(path, line)))
        return env
    parsed = parse_env_text(text, path, lookup)
    parsed.mode, parsed.role = env.mode, role
    return parsed
