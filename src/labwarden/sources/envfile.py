"""`.env` and `env_file:` files, read the way Docker Compose reads them, with line numbers.

Compose's dotenv dialect (compose-go's `dotenv` package): `KEY=value` or `KEY: value`, an
optional `export ` prefix, `#` comment lines, an inline comment after ` #` in unquoted
values, single quotes literal, double quotes with shell escapes (`\\n`, `\\t`, `\\$`…); both
kinds of quotes may span lines. `${VAR}` is interpolated in unquoted and double-quoted
values, from the lookup the caller gives (the project's environment) first, then from the
variables defined earlier in the same file. A bare `KEY` line takes KEY from the lookup.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable

from labwarden._record import Record
from labwarden.model import Location
from labwarden.sources._read import (DecodeError, FileTooLarge, NotRegularFile, decode_text,
                                      read_regular)

TYPE_CHECKING = False                  # typing's, without importing typing at run time
if TYPE_CHECKING:
    from labwarden.sources.compose.interpolate import Budget

MAX_ENV_BYTES = 1024 * 1024
_EXPORT = re.compile(r"export[ \t\v\f\r\x85\xa0]+")
_BLANKS = " \t\v\f\r\x85\xa0"          # compose-go's isSpace: whitespace but not a newline
_KEY_PUNCTUATION = frozenset("_.-[]")
# The escapes compose-go expands in double quotes; anything else keeps its backslash.
_ESCAPE = re.compile(r"\\(?:([abfnrtv\"\\])|(\$)|0([0-7]{3}))")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", '"': '"', "\\": "\\"}


class EnvVar(Record):
    __slots__ = ("name", "value", "location", "quoted", "written")
    name: str
    value: str
    location: Location
    quoted: bool
    written: str | None

    def __init__(self, name: str, value: str, location: Location, quoted: bool = False,
                 written: str | None = None):  # the text before interpolation, if it had `$`
        self.name = name
        self.value = value
        self.location = location
        self.quoted = quoted
        self.written = written


class EnvFile(Record):
    """The facts of one env file: its variables and how it is protected on disk."""

    __slots__ = ("path", "variables", "mode", "tracked_by_git", "problems", "role", "readable")
    path: str
    variables: dict[str, EnvVar]
    mode: int | None
    tracked_by_git: bool | None
    problems: list[tuple[str, str, Location]]
    role: str
    readable: bool

    def __init__(self, path: str, variables: dict[str, EnvVar] | None = None,
                 mode: int | None = None,          # permission bits, None when unknown
                 tracked_by_git: bool | None = None,
                 problems: list[tuple[str, str, Location]] | None = None,
                 role: str = "dotenv",             # dotenv (the project's .env) | env_file
                 readable: bool = True):           # False: not a regular file, too large…
        self.path = path
        self.variables = {} if variables is None else variables
        self.mode = mode
        self.tracked_by_git = tracked_by_git
        self.problems = [] if problems is None else problems
        self.role = role
        self.readable = readable

    def values(self) -> dict[str, str]:
        return {k: v.value for k, v in self.variables.items()}


def parse_env_text(text: str, path: str,
                   lookup: Callable[[str], str | None] | None = None) -> EnvFile:
    """Parse env-file text. Problems are recorded with their line, never raised."""
    return _EnvParser(text, path, lookup).parse()


class _EnvParser:
    """A statement scanner over the whole text, as compose-go's: quoted values span lines."""

    def __init__(self, text: str, path: str, lookup):
        self.text = text
        self.path = path
        self.lookup = lookup
        self.env = EnvFile(path)
        self.pos = 0
        self.line = 1
        self.budget: Budget | None = None  # the file's interpolation budget, made on first use

    def problem(self, message: str, line: int, code: str = "env-syntax") -> None:
        self.env.problems.append((code, message, Location(self.path, line)))

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1
        self.line += 1

    def parse(self) -> EnvFile:
        text = self.text
        length = len(text)
        while True:
            # Skip blank space and comment lines up to the next statement.
            while self.pos < length:
                ch = text[self.pos]
                if ch == "\n":
                    self.line += 1
                    self.pos += 1
                elif ch.isspace():
                    self.pos += 1
                elif ch == "#":
                    self.skip_line()
                else:
                    break
            if self.pos >= length:
                return self.env
            self.statement()

    def statement(self) -> None:
        text, line = self.text, self.line
        match = _EXPORT.match(text, self.pos)
        if match:
            self.pos = match.end()
        start = self.pos
        pos = start
        length = len(text)
        while pos < length and text[pos] not in "=:\n":
            ch = text[pos]
            if not (ch.isalnum() or ch in _KEY_PUNCTUATION or ch in _BLANKS):
                self.problem("a variable name may only hold letters, digits and _ . - [ ]; "
                             "Compose rejects this file", line)
                self.skip_line()
                return
            pos += 1
        name = text[start:pos].strip(_BLANKS)
        inherited = pos >= length or text[pos] == "\n"
        if " " in name or "\t" in name or not name:
            self.problem("not a KEY=value line; Compose rejects this file", line)
            self.pos = pos
            if not inherited:
                self.skip_line()
            return
        if inherited:  # a bare `KEY`: its value comes from the environment, if set there
            self.pos = pos
            value = self.lookup(name) if self.lookup else None
            if value is not None:
                self.env.variables[name] = EnvVar(name, value, Location(self.path, line))
            return
        pos += 1
        while pos < length and text[pos] in _BLANKS:
            pos += 1
        self.pos = pos
        quote = text[pos] if pos < length and text[pos] in "'\"" else ""
        written = None
        if not quote:
            end = text.find("\n", pos)
            end = length if end < 0 else end
            raw = text[pos:end].split(" #", 1)[0].rstrip()
            self.pos = end
            written = raw if "$" in raw else None
            value = self.expand(raw, line) if written else raw
        else:
            raw = self.quoted(quote)
            if raw is None:
                self.problem("unterminated quoted value; Compose rejects this file", line)
                end = text.find("\n", pos)
                raw = text[pos + 1: length if end < 0 else end]
                self.pos = pos
                self.skip_line()
            if quote == "\"":
                raw = _ESCAPE.sub(_unescape, raw)
                written = raw if "$" in raw else None
                value = self.expand(raw, line) if written else raw
            else:
                value = raw
        self.env.variables[name] = EnvVar(name, value, Location(self.path, line),
                                          bool(quote), written)

    def quoted(self, quote: str) -> str | None:
        """The body of the quoted value at `pos`; an escaped quote loses its backslash."""
        text = self.text
        pos = self.pos + 1
        chars = []
        while True:
            stop = text.find(quote, pos)
            if stop < 0:
                return None
            backslashes = 0
            while stop - backslashes - 1 >= pos and text[stop - backslashes - 1] == "\\":
                backslashes += 1
            if backslashes % 2 == 0:
                chars.append(text[pos:stop])
                self.line += text.count("\n", self.pos, stop)
                self.pos = stop + 1
                return "".join(chars)
            chars.append(text[pos:stop - 1] + quote)  # `\"` inside "…": a literal quote
            pos = stop + 1

    def expand(self, value: str, line: int) -> str:
        from labwarden.sources.compose.interpolate import (
            Budget, InterpolationError, interpolate_bounded)

        variables, lookup = self.env.variables, self.lookup

        def resolve(name: str) -> str | None:
            found = lookup(name) if lookup else None
            if found is None and name in variables:
                found = variables[name].value
            return found

        if self.budget is None:
            self.budget = Budget()    # variables that repeat each other grow tenfold a line
        try:
            expanded, refused = interpolate_bounded(value, resolve, self.budget)
        except InterpolationError:
            self.problem("invalid interpolation syntax in a value; Compose rejects this file "
                         "(use $$ for a literal dollar)", line)
            return value
        if refused is not None:
            code, message = refused
            self.problem(message, line, code)
        return expanded


def _unescape(match: re.Match) -> str:
    simple, dollar, octal = match.groups()
    if simple:
        return _SIMPLE_ESCAPES[simple]
    if dollar:
        return "$$"  # a literal dollar for the interpolation that follows
    code = int(octal, 8)
    return chr(code) if code < 256 else match.group(0)


def read_env_file(path: str, lookup: Callable[[str], str | None] | None = None,
                  role: str = "dotenv") -> EnvFile:
    """Read an env file. Problems (unreadable, binary, too large) are recorded, not raised.

    Only a regular file is opened: a FIFO would block the reader forever and a device such
    as /dev/zero never ends. `readable` is False when the file could not be read at all.
    """
    env = EnvFile(path, role=role)
    whole = Location(path)
    try:
        env.mode = stat.S_IMODE(os.stat(path).st_mode)
        data = read_regular(path, MAX_ENV_BYTES)
    except NotRegularFile as exc:
        return _unread(env, "not-a-file", f"env file is {exc.kind}, not a regular file; "
                       "not read", whole)
    except FileTooLarge:
        return _unread(env, "file-too-large", "env file over 1 MiB; not read", whole)
    except OSError as exc:
        return _unread(env, "unreadable", f"cannot read env file: {exc.strerror}", whole)
    try:
        text = decode_text(data)
    except DecodeError as exc:
        message = "env file contains NUL bytes: binary, not an env file" \
            if exc.code == "binary-file" else exc.message
        env.problems.append((exc.code, message, Location(path, exc.line)))
        return env
    parsed = parse_env_text(text, path, lookup)
    parsed.mode, parsed.role = env.mode, role
    return parsed


def _unread(env: EnvFile, code: str, message: str, location: Location) -> EnvFile:
    env.problems.append((code, message, location))
    env.readable = False
    return env
