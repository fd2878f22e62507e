"""Errors that are the user's input, not a labwarden bug: each exits 2 with its message.

A configuration, history database, argument or output path that cannot be used raises a
`UsageError` naming the input and what is wrong with it; `cli.main` prints it as one line
per problem and exits 2. Anything else that escapes a command is a bug, reported as one line
too (see `cli.main`). Kept free of imports: the command line loads it on every run.
"""

from __future__ import annotations


class UsageError(Exception):
    """Input that cannot be used; `problems` are the lines shown, the first one the message."""

    prefix = ""          # e.g. "configuration error: ", put before each line shown

    def __init__(self, message: str, *more: str):
        super().__init__(message)
        self.problems = (message, *more)

    def lines(self) -> str:
        """What the user sees: one `labwarden: …` line per problem."""
        return "".join(f"labwarden: {self.prefix}{problem}\n" for problem in self.problems)
