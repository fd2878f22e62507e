"""The `ShellScript` fact, with the verdicts of `bash -n` (`SyntaxCheck`) and ShellCheck
(`ShellCheckIssue`) it carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labwarden.model import Location
from labwarden.sources.scripts.containers import ContainerUse
from labwarden.sources.scripts.known import KnownContainers
from labwarden.sources.scripts.words import Command, Heredoc


@dataclass(slots=True)
class SyntaxCheck:
    """`bash -n`'s verdict: errors make the script unrunnable, warnings (an unterminated
    here-document) make it run differently from how it reads."""

    ok: bool
    line: int = 0
    message: str = ""
    warnings: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class ShellCheckIssue:
    line: int
    column: int
    end_line: int
    end_column: int
    level: str                       # error | warning | info | style
    code: int
    message: str


@dataclass(slots=True, eq=False)
class ShellScript:
    path: str
    display: str                     # the path relative to the scanned root, for the asset
    text: str
    lines: list[str]
    shebang: str | None
    shell: str                       # bash, sh, dash, zsh… ("bash" when there is no shebang)
    shebang_flags: tuple[str, ...]   # `#!/bin/bash -e` → ("-e",)
    executable: bool
    commands: list[Command]
    heredocs: list[Heredoc]
    loop_vars: set[str]
    uses: list[ContainerUse]
    created: set[str]
    known: KnownContainers
    syntax: SyntaxCheck | None = None           # None: bash was not available
    shellcheck: list[ShellCheckIssue] | None = None   # None: ShellCheck did not run

    @property
    def asset(self) -> str:
        return f"script:{self.display}"

    @property
    def location(self) -> Location:
        return Location(self.path)

    @property
    def library(self) -> bool:
        """Neither a shebang nor the executable bit: a file meant to be sourced."""
        return self.shebang is None and not self.executable

    def loc(self, line: int) -> Location:
        return Location(self.path, line)

    def first_command_line(self) -> int:
        top = [c.line for c in self.commands if not c.origin]
        return min(top) if top else 1
