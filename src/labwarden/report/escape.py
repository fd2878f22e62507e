"""Escaping for every output format: one function per format and context.

Reports quote what the audited files hold (keys, values, paths, service and project names),
and people paste them into tickets, CI logs and browsers. Whatever a file holds, a report
must show it as text: no fake Markdown table row or heading, no raw HTML, no code span that
ends early, no escape sequence sent to the terminal, no embedded SARIF link. Every reporter
passes text from outside through these functions, never through its own `replace()` calls,
so that a context handled once is handled everywhere.

All of them first make the characters visible: a control character (C0 but tab and line
breaks, DEL, C1) becomes its `\\xNN` spelling and a bidirectional override or isolate
(U+202A-202E, U+2066-2069, and the marks U+200E, U+200F, U+061C) its `\\uNNNN` spelling, so
a reader sees that something was there instead of text reordered or a screen cleared. Line
breaks (LF, CR, NEL, U+2028, U+2029) fold into spaces where the context is one line.

Standard library only at import time: the terminal reporter imports this on the path that
must start fast; markupsafe is imported by `html()` alone.
"""

from __future__ import annotations

import functools
import re

# Everything `str.splitlines()` would split on is handled: the line breaks fold (or stay as
# `\n` in a block); the others (VT, FF, FS, GS, RS) are controls and become visible.
_LINE_BREAKS = (0x0A, 0x0D, 0x85, 0x2028, 0x2029)
_CONTROLS = (*range(0x20), 0x7F, *range(0x80, 0xA0))
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _visible_table(line_break: str, tab: str) -> dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in _CONTROLS}
    table.update({c: f"\\u{c:04x}" for c in _BIDI})
    table.update({c: line_break for c in _LINE_BREAKS})
    table[0x09] = tab
    return table


_ONE_LINE = _visible_table(" ", " ")
_BLOCK = _visible_table("\n", "\t")


def line(value: object) -> str:
    """`value` as one line of plain text: line breaks and tabs become spaces, controls and
    bidi overrides become visible. The base of every one-line context below."""
    text = str(value)
    # Everything the table changes is a control, a format character or a separator, which
    # `isprintable` rejects: most text passes that check in C, without a translate that
    # looks up every character in a dict.
    if text.isprintable():
        return text
    return text.replace("\r\n", "\n").translate(_ONE_LINE)


def block(value: object) -> str:
    """`value` as plain text of several lines (a snippet): like `line`, but line breaks stay
    (as `\\n`) and so do tabs."""
    text = str(value)
    if text.isprintable() or not _block_changes().search(text):
        return text
    return text.replace("\r\n", "\n").translate(_BLOCK)


@functools.cache
def _block_changes() -> re.Pattern:
    # What `_BLOCK` changes. Compiled on first use: a class of this size costs a third of a
    # millisecond, which the terminal path does not pay.
    return re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069\u2028\u2029]")


# ----- terminal ---------------------------------------------------------------------------


def terminal(value: object) -> str:
    """One line for a terminal. Nothing else needs escaping there: the rich path appends
    `Text` with markup off, so `[bold]` from a file is shown, not interpreted."""
    return line(value)


def terminal_lines(lines) -> str:
    """Lines laid out for a terminal, each made one safe line, joined by newlines: a value
    with a line break inside cannot start a line of its own (a fake row)."""
    return "\n".join(terminal(text) for text in lines)


# ----- Markdown ---------------------------------------------------------------------------

# Every character CommonMark or GitHub gives a meaning inline; a backslash makes each one
# literal (all are ASCII punctuation, which CommonMark lets a backslash escape).
_MD_SPECIALS = re.compile(r"([\\`*_\[\]<>|#~&!])")
# What turns the start of a line into a block: a list bullet, an ordered-list number, a
# setext underline or a thematic break. Text may be placed at the start of a line.
_MD_BLOCK_START = re.compile(r"^([-+=])|^(\d+)([.)])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_BACKTICKS = re.compile(r"`+")


def markdown_text(value: object) -> str:
    """Inline Markdown that shows `value` literally: one line, every special escaped."""
    text = " ".join(line(value).split())
    return _MD_BLOCK_START.sub(_escape_block_start, _MD_SPECIALS.sub(r"\\\1", text))


def _escape_block_start(match: re.Match) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return match.group(2) + "\\" + match.group(3)


def markdown_code(value: object, table: bool = False) -> str:
    """`value` as one inline code span, whatever backticks it holds: the fence is one
    backtick longer than the longest run inside, padded when the text starts or ends with a
    backtick. Inside a code span nothing is markup, HTML included. `table`: the span sits in
    a table cell, where GitHub splits on `|` even inside code, so pipes are escaped."""
    text = line(value)
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_prose(value: object, table: bool = False) -> str:
    """Text a rule wrote, with the code spans it put around keys (`read_only`) kept as code
    and everything else literal. The spans' content may come from the file: each is rebuilt
    by `markdown_code`, and a stray backtick is escaped so it cannot pair up later."""
    text = " ".join(line(value).split())
    out, last = [], 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_MD_SPECIALS.sub(r"\\\1", text[last:match.start()]))
        out.append(markdown_code(match.group(2), table))
        last = match.end()
    out.append(_MD_SPECIALS.sub(r"\\\1", text[last:]))
    return _MD_BLOCK_START.sub(_escape_block_start, "".join(out))


def markdown_cell(value: object) -> str:
    """A Markdown table cell: prose on one line, pipes escaped in the code spans too, so the
    row keeps its columns and stays one row."""
    return markdown_prose(value, table=True)


def _lines_of(value: object) -> list[str]:
    """`value`'s lines (any line break), controls made visible, outer blank lines dropped."""
    return block(value).strip("\n").split("\n")


def markdown_paragraph(value: object, indent: str = "") -> str:
    """Free text of several lines (deployment lessons, an attestation note) as ONE Markdown
    paragraph that keeps its lines: each line is inline Markdown shown literally
    (`markdown_text`), ended by a hard line break (a backslash at the end of the line), and
    the lines after the first are prefixed by `indent` (the paragraph sits in a list item or a
    block quote). A blank line inside stays a hard break, not a paragraph end, so no line of
    the value can end the list item or start a block of its own (a heading, a table row, a
    fence): escaped, every line stays text."""
    lines = [markdown_text(row) for row in _lines_of(value)]
    return f"\\\n{indent}".join(lines)


def markdown_cell_lines(value: object) -> str:
    """A Markdown table cell that keeps the value's lines: each line as `markdown_cell`,
    joined by `<br>`, the one HTML labwarden writes itself (any `<` of the value is
    escaped), so the row stays one row."""
    return "<br>".join(markdown_cell(row) for row in _lines_of(value))


def markdown_block(value: object, info: str = "", indent: str = "") -> list[str]:
    """A fenced code block, as lines: a fence of backticks longer than any run inside (three
    at least), so no line of the snippet can close it; each line prefixed by `indent` (the
    block sits in a list item)."""
    text = block(value).strip("\n")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}{info}", *(f"{indent}{row}".rstrip() for row in text.split("\n")),
            f"{indent}{fence}"]


# ----- HTML -------------------------------------------------------------------------------


def html(value: object):
    """`value` as HTML text (markupsafe `Markup`), for an element or a quoted attribute.

    The HTML reporter's jinja2 environment runs every `{{ }}` through this (`finalize`),
    so no value reaches the page without it. Markup that is already escaped (built with
    `html()` pieces, or the page's own CSS and script) only has its controls made visible:
    escaping it again would show its tags as text.
    """
    markup, escape = _markupsafe()
    if isinstance(value, markup):
        return markup(block(value))
    return escape(block(value))


@functools.cache
def _markupsafe():
    # Imported on first use: only the HTML report needs it, and `html()` runs for every
    # value of the page.
    import markupsafe

    return markupsafe.Markup, markupsafe.escape


# ----- SARIF and JSON ---------------------------------------------------------------------

_SARIF_BRACKETS = re.compile(r"(\\*)([\[\]])")


def sarif_text(value: object) -> str:
    """A SARIF plain-text message. Viewers (GitHub code scanning among them) read
    `[text](target)` in a message as an embedded link (SARIF 2.1.0 §3.11.6), so every square
    bracket is escaped with a backslash, and the backslashes before it doubled so the escape
    cannot be cancelled. Line breaks stay: a message may have several lines."""
    text = block(value)
    if "[" not in text and "]" not in text:
        return text
    return _SARIF_BRACKETS.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), text)




@functools.cache
def _json_raw() -> re.Pattern:
    # JSON escapes C0 controls itself, but written with ensure_ascii=False it leaves DEL, C1
    # (0x9B is a one-byte CSI to some terminals), bidi overrides and U+2028/2029 raw.
    return re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                      "\u2028\u2029]")


def json_text(document: str) -> str:
    """A serialized JSON document with the characters above written as `\\uNNNN`: the same
    data once parsed, but safe to `cat` to a terminal or open in an editor. Outside strings
    JSON is ASCII, so every match is inside a string."""
    if document.isascii() and "\x7f" not in document:
        return document                # the common case: a flag and a memchr(), no copy
    raw = _json_raw()
    if not raw.search(document):       # a scan in C, still no copy
        return document
    return raw.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
