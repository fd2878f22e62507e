"""shell_words splits a command line into the words shlex.split finds (text.split() where
shlex refuses the quoting): the rules that read command lines depend on it."""

from __future__ import annotations

import random
import shlex

import pytest

from labwarden.rules._shell import shell_words


def _shlex_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


@pytest.mark.parametrize("text", [
    "redis-server --requirepass secret",
    "sh -c 'mysqladmin ping -p\"$$MYSQL_ROOT_PASSWORD\"'",
    'CMD-SHELL "pg_isready -U \\"app\\" || exit 1"',
    "echo '' \"\" x''y",
    'a\\ b "c\\d" "e\\\\f" "g\\"h"',
    "--flag=\"a b\"'c d' tail",
    "unclosed 'quote here",
    'unclosed "double',
    "trailing backslash \\",
    "line\\\ncontinued\tand\r\nblanks",
    "  ",
    "",
    "é\xa0word \x0bvertical",
])
def test_words_are_shlex_words(text: str) -> None:
    assert shell_words(text) == _shlex_words(text)


def test_random_lines_split_as_shlex_splits_them() -> None:
    alphabet = ["a", "b", " ", '"', "'", "\\", "\n", "\t", "\r", "$", "=", "-", "\x0b", "é"]
    rnd = random.Random(11)
    for length in range(1, 12):
        for _ in range(1500):
            text = "".join(rnd.choice(alphabet) for _ in range(length))
            assert shell_words(text) == _shlex_words(text), text
