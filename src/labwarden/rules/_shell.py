"""Splitting a command line into words the way the shell (and `shlex.split`) does."""

from __future__ import annotations

import re

_BLANKS = re.compile(r"[ \t\r\n]+")       # what shlex separates words with


def shell_words(text: str) -> list[str]:
    """`shlex.split(text)`, falling back to `text.split()` when the quoting is unbalanced.

    Text without quotes or backslashes is split on blanks directly: the same words as
    shlex finds with its character-by-character loop, which is most of the cost of the
    rules that read command lines.
    """
    if "'" not in text and '"' not in text and "\\" not in text:
        return [word for word in _BLANKS.split(text) if word]
    import shlex  # only for quoted text

    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
