"""Splitting a command line into words the way the shell (and `shlex.split`) does."""

from __future__ import annotations

import re

_BLANKS = re.compile(r"[ \t\r\n]+")       # what shlex separates words with
# One piece of a quoted command line, as shlex's POSIX mode reads it: unquoted characters,
# a backslash and the character it escapes, a single-quoted string (no escapes inside), a
# double-quoted string (where a backslash escapes only `"` and itself), or blanks.
_PIECE = re.compile(r"""([^ \t\r\n'"\\]+)|\\(.)|'([^']*)'|"((?:[^"\\]|\\.)*)"|[ \t\r\n]+""",
                    re.S)
_QUOTED_ESCAPE = re.compile(r'\\([\\"])')


def shell_words(text: str) -> list[str]:
    """`shlex.split(text)`, falling back to `text.split()` when the quoting is unbalanced.

    Text without quotes or backslashes is split on blanks directly: the same words as
    shlex finds with its character-by-character loop, which is most of the cost of the
    rules that read command lines. Quoted text is read piece by piece with one regex, to
    the same words (tests/rules/test_shell_words.py holds it to shlex).
    """
    if "'" not in text and '"' not in text and "\\" not in text:
        return [word for word in _BLANKS.split(text) if word]
    words = _quoted_words(text)
    return text.split() if words is None else words


def _quoted_words(text: str) -> list[str] | None:
    """The words of a line with quotes or backslashes; None where shlex raises ValueError
    (an unclosed quote, a backslash at the end)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False             # an empty pair of quotes is a word too
    pos, end = 0, len(text)
    while pos < end:
        piece = _PIECE.match(text, pos)
        if piece is None:
            return None
        pos = piece.end()
        plain, escaped, single, double = piece.groups()
        if plain is not None:
            word.append(plain)
        elif escaped is not None:
            word.append(escaped)
        elif single is not None:
            word.append(single)
        elif double is not None:
            word.append(_QUOTED_ESCAPE.sub(r"\1", double))
        else:                   # blanks end the word
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            continue
        in_word = True
    if in_word:
        words.append("".join(word))
    return words
