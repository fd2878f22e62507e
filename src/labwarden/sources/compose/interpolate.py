"""Compose variable interpolation: `$VAR`, `${VAR}`, the `:-  -  :?  ?  :+  +` operators,
nested defaults (`${A:-${B:-x}}`) and `$$` for a literal dollar.

An unset variable without a default becomes the empty string, as Compose does, and is
reported as a coverage gap so the reader knows the analysed value may not be the real one.
Any other `$` (`$1`, `$(cmd)`, `${1}`, a trailing `$`, an unclosed `${`) makes Compose
refuse the file ("invalid interpolation format"), so it raises InterpolationError here.
"""

from __future__ import annotations

from collections.abc import Callable

from labwarden._record import Record

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")


class InterpolationError(ValueError):
    pass


class Outcome(Record):
    """What interpolating one string involved."""

    __slots__ = ("used", "missing", "required")

    def __init__(self, used: list[str] | None = None, missing: list[str] | None = None,
                 required: list[tuple[str, str]] | None = None):
        self.used = [] if used is None else used              # variables that had a value
        self.missing = [] if missing is None else missing     # unset, no default: became ""
        self.required = [] if required is None else required  # `:?` that failed


def interpolate(text: str, resolve: Callable[[str], str | None],
                outcome: Outcome | None = None) -> str:
    """Interpolate `text`. Raises InterpolationError on a malformed reference."""
    if "$" not in text:
        return text
    value, end = _scan(text, 0, resolve, outcome or Outcome(), stop=None)
    return value


def interpolate_plain(text: str, resolve: Callable[[str], str | None]) -> str:
    """Interpolate, reading a malformed reference literally (for env files)."""
    try:
        return interpolate(text, resolve)
    except InterpolationError:
        return text


def _scan(text: str, pos: int, resolve, outcome: Outcome, stop: str | None) -> tuple[str, int]:
    out: list[str] = []
    length = len(text)
    while pos < length:
        ch = text[pos]
        if stop is not None and ch == stop:
            return "".join(out), pos
        if ch != "$":
            nxt = text.find("$", pos)
            if stop is not None:
                brace = text.find(stop, pos)
                if brace != -1 and (nxt == -1 or brace < nxt):
                    nxt = brace
            if nxt == -1:
                out.append(text[pos:])
                return "".join(out), length
            out.append(text[pos:nxt])
            pos = nxt
            continue
        following = text[pos + 1: pos + 2]
        if following == "$":
            out.append("$")
            pos += 2
        elif following == "{":
            value, pos = _braced(text, pos + 2, resolve, outcome)
            out.append(value)
        elif following and following in _NAME_START:
            end = pos + 1
            while end < length and text[end] in _NAME_CHARS:
                end += 1
            out.append(_lookup(text[pos + 1: end], resolve, outcome))
            pos = end
        else:  # `$1`, `$(…)`, a trailing `$`: compose-go's "invalid" alternative
            raise InterpolationError(f"'$' not followed by a name, '{{' or '$' in {text!r}")
    if stop is not None:
        raise InterpolationError(f"unclosed '${{' in {text!r}")
    return "".join(out), pos


def _braced(text: str, pos: int, resolve, outcome: Outcome) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in _NAME_CHARS:
        pos += 1
    name = text[start:pos]
    if not name or name[0] not in _NAME_START:
        raise InterpolationError(f"invalid variable name in {text!r}")
    rest = text[pos: pos + 2]
    if rest[:1] == "}":
        return _lookup(name, resolve, outcome), pos + 1
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            break
    else:
        raise InterpolationError(f"invalid interpolation format in {text!r}")
    # The word is interpolated lazily in Compose; scanning it always is harmless here except
    # for gaps, so gaps found inside an unused word are discarded.
    inner = Outcome()
    word, end = _scan(text, pos + len(op), resolve, inner, stop="}")
    value = resolve(name)
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
