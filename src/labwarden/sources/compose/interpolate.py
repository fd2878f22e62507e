"""Compose variable interpolation: `$VAR`, `${VAR}`, the `:-  -  :?  ?  :+  +` operators,
nested defaults (`${A:-${B:-x}}`) and `$$` for a literal dollar.

An unset variable without a default becomes the empty string, as Compose does, and is
reported as a coverage gap so the reader knows the analysed value may not be the real one.
Any other `$` (`$1`, `$(cmd)`, `${1}`, a trailing `$`, an unclosed `${`) makes Compose
refuse the file ("invalid interpolation format"), so it raises InterpolationError here.

Expansion is bounded like the YAML alias-bomb guard: variables that repeat each other
grow tenfold per level, so a few hundred bytes could ask for gigabytes. The characters a
value expands to (words scanned for defaults included) are counted as they are produced
and ExpansionTooLarge is raised past the caller's limit, before the text is joined; and
`${A:-${B:-…}}` nests at most MAX_NESTING deep (each level is a Python call).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from labwarden._record import Record

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
# The characters a name may go on with, matched in one call rather than tested one by one
# (a Python step per character was a third of interpolating a typical `${VARIABLE}`).
_NAME_CHARS = re.compile(r"[A-Za-z0-9_]*")
MAX_VALUE_CHARS = 1024 * 1024     # one value, expanded: as large as a whole env file may be
MAX_FILE_CHARS = 16 * 1024 * 1024  # every value of one file, expanded, together
MAX_NESTING = 64                  # `${A:-${B:-…}}` levels; real files nest two or three


class InterpolationError(ValueError):
    pass


class ExpansionTooLarge(InterpolationError):
    """The value would expand past the limit given (a variable "bomb")."""


class NestingTooDeep(InterpolationError):
    """`${…:-${…}}` nests deeper than MAX_NESTING."""


class Budget:
    """The characters one file's interpolation may still produce (MAX_FILE_CHARS): each
    value is bounded on its own, but a file repeating a large value would add up."""

    __slots__ = ("left",)

    def __init__(self, total: int = MAX_FILE_CHARS):
        self.left = total

    def limit(self) -> int:
        """The most the next value may expand to."""
        return min(MAX_VALUE_CHARS, self.left)

    def charge(self, value: str) -> None:
        self.left -= len(value)


class Outcome(Record):
    """What interpolating one string involved."""

    __slots__ = ("used", "missing", "required")

    def __init__(self, used: list[str] | None = None, missing: list[str] | None = None,
                 required: list[tuple[str, str]] | None = None):
        self.used = [] if used is None else used              # variables that had a value
        self.missing = [] if missing is None else missing     # unset, no default: became ""
        self.required = [] if required is None else required  # `:?` that failed


def interpolate(text: str, resolve: Callable[[str], str | None],
                outcome: Outcome | None = None, limit: int = MAX_VALUE_CHARS) -> str:
    """Interpolate `text`. Raises InterpolationError on a malformed reference, and its
    subclasses ExpansionTooLarge past `limit` characters and NestingTooDeep."""
    if "$" not in text:
        return text
    scan = _Scan(text, resolve, limit)
    value, end = scan.run(0, outcome or Outcome(), stop=None, depth=0)
    return value


def interpolate_bounded(text: str, resolve: Callable[[str], str | None], budget: Budget,
                        outcome: Outcome | None = None) -> tuple[str, tuple[str, str] | None]:
    """Interpolate one value of a file within the file's budget: (value, None), or the text
    as written and (code, message) when a bound stops it. Once the budget is spent (and
    said so), the file's remaining values are left as written without a word each.
    A malformed reference still raises InterpolationError."""
    if budget.left <= 0:
        return text, None
    limit = budget.limit()
    try:
        value = interpolate(text, resolve, outcome, limit)
    except ExpansionTooLarge:
        budget.left -= limit          # a value that fails still cost its limit to find out
        if budget.left <= 0:
            return text, ("interpolation-bomb", "interpolating this file would produce more "
                          f"than {MAX_FILE_CHARS // 1048576} MiB (variables that repeat a large "
                          "value); this value and the ones after it are left as written")
        return text, ("interpolation-bomb", "this value would expand to more than "
                      f"{limit / 1048576:g} MiB (variables that repeat each other); left as "
                      "written")
    except NestingTooDeep:
        return text, ("interpolation-too-deep", f"`${{…:-${{…}}}}` defaults nest deeper than "
                      f"{MAX_NESTING} levels; left as written")
    budget.charge(value)
    return value, None


def interpolate_plain(text: str, resolve: Callable[[str], str | None]) -> str:
    """Interpolate, reading a malformed reference literally (for env files)."""
    try:
        return interpolate(text, resolve)
    except InterpolationError:
        return text


class _Scan:
    """One interpolation: the text, where values come from, and the characters produced so
    far (every level of nesting adds to the same count)."""

    __slots__ = ("text", "resolve", "limit", "produced")

    def __init__(self, text: str, resolve, limit: int):
        self.text = text
        self.resolve = resolve
        self.limit = limit
        self.produced = 0

    def add(self, out: list[str], piece: str) -> None:
        self.produced += len(piece)
        if self.produced > self.limit:
            raise ExpansionTooLarge(f"expands to more than {self.limit:,} characters")
        out.append(piece)

    def run(self, pos: int, outcome: Outcome, stop: str | None, depth: int) -> tuple[str, int]:
        text = self.text
        out: list[str] = []
        length = len(text)
        # Where the next closing brace is, found once and again only after passing it:
        # searching at every `$` would make a long default word quadratic.
        brace = -1 if stop is None else text.find(stop, pos)
        while pos < length:
            ch = text[pos]
            if stop is not None and ch == stop:
                return "".join(out), pos
            if ch != "$":
                nxt = text.find("$", pos)
                if stop is not None:
                    if brace != -1 and brace < pos:
                        brace = text.find(stop, pos)
                    if brace != -1 and (nxt == -1 or brace < nxt):
                        nxt = brace
                if nxt == -1:
                    self.add(out, text[pos:])
                    pos = length
                    break
                self.add(out, text[pos:nxt])
                pos = nxt
                continue
            following = text[pos + 1: pos + 2]
            if following == "$":
                self.add(out, "$")
                pos += 2
            elif following == "{":
                value, pos = self.braced(pos + 2, outcome, depth)
                self.add(out, value)
            elif following and following in _NAME_START:
                end = _name_end(text, pos + 1)
                self.add(out, _lookup(text[pos + 1: end], self.resolve, outcome))
                pos = end
            else:  # `$1`, `$(…)`, a trailing `$`: compose-go's "invalid" alternative
                raise InterpolationError(f"'$' not followed by a name, '{{' or '$' in {text!r}")
        if stop is not None:
            raise InterpolationError(f"unclosed '${{' in {text!r}")
        return "".join(out), pos

    def braced(self, pos: int, outcome: Outcome, depth: int) -> tuple[str, int]:
        text = self.text
        start = pos
        pos = _name_end(text, pos)
        name = text[start:pos]
        if not name or name[0] not in _NAME_START:
            raise InterpolationError(f"invalid variable name in {text!r}")
        rest = text[pos: pos + 2]
        if rest[:1] == "}":
            return _lookup(name, self.resolve, outcome), pos + 1
        for op in (":-", ":?", ":+", "-", "?", "+"):
            if rest.startswith(op):
                break
        else:
            raise InterpolationError(f"invalid interpolation format in {text!r}")
        if depth >= MAX_NESTING:
            raise NestingTooDeep(f"defaults nest deeper than {MAX_NESTING} levels")
        # The word is interpolated lazily in Compose; scanning it always is harmless here
        # except for gaps, so gaps found inside an unused word are discarded.
        inner = Outcome()
        word, end = self.run(pos + len(op), inner, "}", depth + 1)
        value = self.resolve(name)
        colon = op[0] == ":"
        is_set = value is not None and (value != "" or not colon)
        kind = op[-1]
        if kind == "-":
            if is_set:
                outcome.used.append(name)
                return value, end + 1
            _merge(outcome, inner)
            return word, end + 1
        if kind == "?":
            if is_set:
                outcome.used.append(name)
                return value, end + 1
            outcome.required.append((name, word))
            return "", end + 1
        # "+": the alternative when set, else empty
        if is_set:
            outcome.used.append(name)
            _merge(outcome, inner)
            return word, end + 1
        return "", end + 1


def _name_end(text: str, pos: int) -> int:
    """Where the name characters from `pos` on end (`pos` itself when there are none)."""
    run = _NAME_CHARS.match(text, pos)
    return run.end() if run is not None else pos   # `*` always matches: for the type check


def _merge(outcome: Outcome, inner: Outcome) -> None:
    outcome.used.extend(inner.used)
    outcome.missing.extend(inner.missing)
    outcome.required.extend(inner.required)


def _lookup(name: str, resolve, outcome: Outcome) -> str:
    value = resolve(name)
    if value is None:
        outcome.missing.append(name)
        return ""
    outcome.used.append(name)
    return value
