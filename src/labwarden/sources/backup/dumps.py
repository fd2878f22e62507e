"""Does a restored database dump parse? The part of a restore test that catches the backup of
a dump cut short (a full disk, a killed job) or of something that is not a dump at all.

- plain SQL (`*.sql`, `*.sql.gz`): read as a stream and scanned the way psql splits it:
  statements end at `;` outside quotes ('…', E'…', "…", $tag$…$tag$), comments (--, nested
  /* */) and `COPY … FROM stdin` data (ended by `\\.`); psql's backslash commands are whole
  lines. The dump must end between statements. A pg_dump file must also start with its
  header (`-- PostgreSQL database dump`) and end with its trailer (`-- PostgreSQL database
  dump complete`, written last); a mysqldump/mariadb-dump file with `-- Dump completed`.
- pg_dump's custom format (files starting with `PGDMP`): `pg_restore --list` reads its table
  of contents, then `pg_restore --file /dev/null` reads every data block (the table of
  contents comes first, so `--list` alone would not see a file cut short).

Reading goes through `sources._read.open_regular` (regular files only), in chunks.
"""

from __future__ import annotations

import gzip
import io
import itertools
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from typing import BinaryIO, cast

PG_MAGIC = b"PGDMP"
PG_HEADER = "-- PostgreSQL database dump"
PG_TRAILER = "-- PostgreSQL database dump complete"
MYSQL_HEADERS = ("-- MySQL dump", "-- MariaDB dump")
MYSQL_TRAILER = "-- Dump completed"
PG_RESTORE_TIMEOUT_S = 600.0


@dataclass
class DumpCheck:
    path: str            # relative to the restored tree
    kind: str            # "PostgreSQL plain dump", "PostgreSQL custom-format dump", …
    ok: bool
    detail: str          # what showed it, or what is wrong

    def line(self) -> str:
        return f"{self.path}: {self.kind}, {self.detail}"


def dump_kind(name: str, head: bytes) -> str | None:
    """Which check a restored file gets, by its name and first bytes; None: not a dump."""
    lower = name.lower()
    if head.startswith(PG_MAGIC):
        return "custom"
    if lower.endswith(".sql.gz"):
        return "sql.gz"
    if lower.endswith(".sql"):
        return "sql"
    return None


def check(path: str, shown: str, kind: str) -> DumpCheck:
    if kind == "custom":
        return _check_custom(path, shown)
    from labwarden.sources._read import open_regular

    try:
        raw = open_regular(path)
    except OSError as exc:
        return DumpCheck(shown, "SQL dump", False, f"cannot be read ({exc.strerror or exc})")
    with raw:
        stream = cast(BinaryIO, gzip.GzipFile(fileobj=raw) if kind == "sql.gz" else raw)
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        try:
            return _check_sql(text, shown, compressed=kind == "sql.gz")
        except (EOFError, OSError, zlib.error) as exc:
            return DumpCheck(shown, "gzip-compressed SQL dump", False,
                             f"not a complete gzip stream ({type(exc).__name__}: cut short "
                             "or damaged)")


# --- plain SQL --------------------------------------------------------------------------------

# In plain code: what starts or ends something. E'…' is found by its quote; the E is looked
# at behind it.
_SPECIAL = re.compile(r"--|/\*|[;'\"$`]")
_DOLLAR = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_COPY_FROM_STDIN = re.compile(r"^\s*COPY\b.*\bFROM\s+stdin\b", re.I | re.S)
_WORD = re.compile(r"[A-Za-z0-9_]")
_HEAD = 512          # how much of a statement is kept to recognise COPY … FROM stdin


class _Scanner:
    def __init__(self, mysql: bool = False):
        self.mysql = mysql              # backslash escapes in '…' and "…", `identifiers`
        self.state = "code"             # code | quote | block | copy
        self.quote = ""                 # the closing quote (', ", `, or a $tag$)
        self.escapes = False            # in E'…' (or any MySQL string)
        self.depth = 0                  # nested /* */ comments
        self.statements = 0
        self.head = ""                  # the start of the current statement
        self.pending = False            # the current statement has text
        self.delimiter = ";"            # MySQL's DELIMITER
        self.copy_blocks = 0

    def feed_line(self, line: str) -> None:
        if self.state == "copy":
            if line.rstrip("\r\n") == "\\.":
                self.state = "code"
            return
        if self.state == "code" and not self.pending:
            stripped = line.lstrip()
            if stripped.startswith("\\"):          # a psql meta-command: one line
                return
            if self.mysql and stripped.upper().startswith("DELIMITER "):
                self.delimiter = stripped.split(None, 1)[1].strip() or ";"
                return
        position = 0
        end = len(line)
        while position < end:
            if self.state == "code":
                position = self._code(line, position)
            elif self.state == "quote":
                position = self._quoted(line, position)
            elif self.state == "block":
                position = self._block(line, position)
            else:                                   # "copy": data starts on the next line
                return

    def _code(self, line: str, position: int) -> int:
        if self.delimiter != ";":
            at = line.find(self.delimiter, position)
            found = _SPECIAL.search(line, position)
            if at >= 0 and (found is None or at <= found.start()):
                self._text(line[position:at])
                self._end_statement()
                return at + len(self.delimiter)
        else:
            found = _SPECIAL.search(line, position)
        if found is None:
            self._text(line[position:])
            return len(line)
        start, token = found.start(), found.group()
        self._text(line[position:start])
        if token == ";" and self.delimiter == ";":
            self._end_statement()
            return start + 1
        if token == ";":
            self._text(token)
            return start + 1
        if token == "--":
            return len(line)                        # a comment to the end of the line
        if token == "/*":
            self.state, self.depth = "block", 1
            return start + 2
        if token == "$":
            tag = _DOLLAR.match(line, start)
            before = line[start - 1] if start else ""
            if tag is None or (before and _WORD.match(before)):
                self._text(token)                   # $1, or part of a name
                return start + 1
            self.state, self.quote, self.escapes = "quote", tag.group(), False
            self._text(tag.group())
            return tag.end()
        if token == "`" and not self.mysql:
            self._text(token)
            return start + 1
        if token == "'":
            before = line[start - 1] if start else ""
            prefix = line[start - 2] if start > 1 else ""
            e_string = before in ("E", "e") and not (prefix and _WORD.match(prefix))
            self.escapes = self.mysql or e_string
        else:                                       # "…", or a MySQL `identifier`
            self.escapes = self.mysql and token == '"'
        self.state, self.quote = "quote", token
        self._text(token)
        return start + 1

    def _quoted(self, line: str, position: int) -> int:
        quote = self.quote
        while True:
            at = line.find(quote, position)
            if at < 0:
                return len(line)
            if self.escapes and len(quote) == 1:
                backslashes = 0
                while at - 1 - backslashes >= position and line[at - 1 - backslashes] == "\\":
                    backslashes += 1
                if backslashes % 2:
                    position = at + 1
                    continue
            if len(quote) == 1 and line.startswith(quote * 2, at):
                position = at + 2                   # '' inside '…'
                continue
            self.state = "code"
            return at + len(quote)

    def _block(self, line: str, position: int) -> int:
        while True:
            opening, closing = line.find("/*", position), line.find("*/", position)
            if closing < 0 and opening < 0:
                return len(line)
            if opening >= 0 and (closing < 0 or opening < closing) and not self.mysql:
                self.depth += 1                     # PostgreSQL nests block comments
                position = opening + 2
                continue
            if closing < 0:
                return len(line)
            self.depth -= 1
            position = closing + 2
            if self.depth == 0:
                self.state = "code"
                return position

    def _text(self, text: str) -> None:
        if text.strip():
            self.pending = True
        if len(self.head) < _HEAD:
            self.head += text[:_HEAD]

    def _end_statement(self) -> None:
        if self.pending:
            self.statements += 1
        if _COPY_FROM_STDIN.match(self.head):
            self.state = "copy"
            self.copy_blocks += 1
        self.head, self.pending = "", False

    def unfinished(self) -> str:
        """Why the text cannot end here, or "" when it can."""
        if self.state == "copy":
            return "it ends inside the data of a COPY (no closing `\\.` line)"
        if self.state == "quote":
            return f"it ends inside a quoted value (opened with {self.quote})"
        if self.state == "block":
            return "it ends inside a /* comment"
        if self.pending:
            return "its last statement has no closing `;`"
        return ""


def _check_sql(text: io.TextIOBase, shown: str, compressed: bool) -> DumpCheck:
    lines = iter(text)
    first = list(itertools.islice(lines, 5))         # a dump says what made it up here
    flavour = _flavour(first)
    scanner = _Scanner(mysql=flavour == "MySQL/MariaDB")
    tail: list[str] = []             # the comment lines after the last statement
    for line in itertools.chain(first, lines):
        scanner.feed_line(line)
        _trailing_comments(line, tail)
    kind = {"PostgreSQL": "PostgreSQL plain dump", "MySQL/MariaDB": "MySQL/MariaDB dump"}.get(
        flavour, "SQL file")
    if compressed:
        kind += " (gzip)"
    problem = scanner.unfinished()
    if not problem and flavour == "PostgreSQL" and not _has(tail, PG_TRAILER):
        problem = f"no `{PG_TRAILER}` line at its end: pg_dump did not finish it"
    if not problem and flavour == "MySQL/MariaDB" and not _has(tail, MYSQL_TRAILER):
        problem = f"no `{MYSQL_TRAILER}` line at its end: the dump did not finish"
    if not problem and scanner.statements == 0:
        problem = "no SQL statement in it"
    if problem:
        return DumpCheck(shown, kind, False, f"cut short or not a dump: {problem}")
    blocks = scanner.copy_blocks
    copies = f", {blocks} COPY data block{'s' if blocks != 1 else ''}" if blocks else ""
    ending = {"PostgreSQL": f", ends with `{PG_TRAILER}`",
              "MySQL/MariaDB": f", ends with `{MYSQL_TRAILER}`"}.get(flavour,
                                                                     " (no dump header)")
    return DumpCheck(shown, kind, True,
                     f"parses: {scanner.statements} complete statements{copies}{ending}")


def _flavour(first_lines: list[str]) -> str:
    for line in first_lines:
        if line.startswith(PG_HEADER):
            return "PostgreSQL"
        if line.startswith(MYSQL_HEADERS):
            return "MySQL/MariaDB"
    return "SQL"


def _trailing_comments(line: str, tail: list[str]) -> None:
    """Keep the comment lines since the last line of SQL (a dump's trailer is among them;
    pg_dump since 17.6/16.10/15.14 writes a psql `\\unrestrict` line after it)."""
    stripped = line.strip()
    if not stripped or stripped.startswith("\\"):
        return
    if not stripped.startswith("--"):
        tail.clear()
    elif len(tail) < 16:
        tail.append(stripped)


def _has(tail: list[str], trailer: str) -> bool:
    return any(line.startswith(trailer) for line in tail)


# --- pg_dump custom format ------------------------------------------------------------------

def _check_custom(path: str, shown: str) -> DumpCheck:
    kind = "PostgreSQL custom-format dump"
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        return DumpCheck(shown, kind, False, "pg_restore is not installed (Debian package "
                         "postgresql-client): cannot check it")
    listed, listing = _pg_restore([pg_restore, "--list", path])
    if not listed:
        return DumpCheck(shown, kind, False, f"pg_restore --list refuses it: {listing}")
    entries = sum(1 for line in listing.splitlines() if line and not line.startswith(";"))
    read, complaint = _pg_restore([pg_restore, "--file", "/dev/null", path])
    if not read:
        return DumpCheck(shown, kind, False, f"its table of contents lists {entries} entries, "
                         f"but reading its data fails: {complaint}")
    return DumpCheck(shown, kind, True, f"parses: pg_restore lists {entries} entries and "
                     "reads every data block")


def _pg_restore(argv: list[str]) -> tuple[bool, str]:
    """(True, pg_restore's output), or (False, what it said went wrong)."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=PG_RESTORE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {PG_RESTORE_TIMEOUT_S:g} s"
    except OSError as exc:
        return False, f"cannot run it ({exc.strerror or exc})"
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
                 if line.strip()]
        return False, (lines[-1] if lines else f"exit status {done.returncode}")[:300]
    return True, done.stdout.decode("utf-8", "replace")
