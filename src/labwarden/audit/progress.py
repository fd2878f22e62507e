"""A progress display for the live part of an audit, on a terminal only.

Collecting twenty hosts takes seconds to minutes; a silent terminal for that long looks
hung. The display goes to stderr, and only when stderr is a terminal: a report on stdout, a
CI log or a pipe never sees it. A host that could not be collected is printed above the
bar as it happens (its diagnostics are in the report as well).
"""

from __future__ import annotations

import os
import sys
from typing import Any


def for_terminal(total: int):
    """A `Progress` when stderr is a terminal and there is more than one target, else None
    (LABWARDEN_PROGRESS=0 turns it off)."""
    if total < 2 or os.environ.get("LABWARDEN_PROGRESS") == "0":
        return None
    try:
        if not sys.stderr.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return Progress()


class Progress:
    """`start(total)`, `done(label, failed)` per target, `stop()` (see ProbeOptions)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._failed = 0

    def start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                   TextColumn, TimeElapsedColumn)

        self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._bar.start()
        self._task = self._bar.add_task("collecting", total=total)

    def done(self, label: str, failed: bool) -> None:
        if self._bar is None:
            return
        if failed:
            self._failed += 1
            self._bar.console.print(f"[red]✗[/red] {_plain(label)}: not collected "
                                    "(see the report)", highlight=False)
        note = f" ({self._failed} failed)" if self._failed else ""
        self._bar.update(self._task, advance=1,
                         description=f"collecting{note}: {_plain(label)[:40]}")

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _plain(text: str) -> str:
    """A target or host name as text, not rich markup (`[::1]`, `[red]` in a name)."""
    from rich.markup import escape

    from labwarden.redact import scrub

    return escape(scrub(text))
