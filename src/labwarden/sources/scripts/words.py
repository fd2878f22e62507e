"""What the shell parser yields: a command's words and their parts, the here-documents
fed to it, and `unwrap`, which finds the program a command runs past sudo, env, nice and
the like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(slots=True)
class Part:
    """A piece of a shell word.

    kind: lit (characters), param (`$X`, `${X:-y}`), cmd (`$(…)`, backticks), arith
    (`$((…))`), proc (`<(…)`, `>(…)`). `text` is the characters for lit, else the expansion
    as written. `quoted`: inside single or double quotes.
    """

    kind: str
    text: str
    quoted: bool = False
    name: str = ""                   # param: the variable (X, 1, @); "" otherwise
    op: str = ""                     # param: the operator in braces (":?", ":-", "#"…)
    arg: str = ""                    # param: the text after the operator (a default…)
    commands: list["Command"] = field(default_factory=list)  # cmd/proc: what runs inside


@dataclass(slots=True)
class Word:
    parts: list[Part]
    line: int
    raw: str

    @property
    def value(self) -> str:
        """Quotes removed, expansions kept as written: `"$DIR"/x` → `$DIR/x`."""
        return "".join(p.text for p in self.parts)

    @property
    def literal(self) -> str | None:
        """The word's text when it expands to nothing: no `$`, no command substitution."""
        if all(p.kind == "lit" for p in self.parts):
            return "".join(p.text for p in self.parts)
        return None

    @property
    def quoted(self) -> bool:
        return any(p.quoted for p in self.parts)

    @property
    def expansions(self) -> list[Part]:
        return [p for p in self.parts if p.kind != "lit"]


@dataclass(slots=True)
class Heredoc:
    delimiter: str
    quoted: bool                     # <<'EOF': no expansion in the body
    strip_tabs: bool                 # <<-
    line: int                        # the line of the `<<`
    body: list[tuple[int, str]] = field(default_factory=list)   # (line, text)
    terminated: bool = False


@dataclass(slots=True, eq=False)
class Command:
    """One simple command: its words (program and arguments), the assignments before it,
    its redirections, and how it connects to the next one (`op`)."""

    words: list[Word]
    assignments: list[tuple[str, Word]]
    redirects: list[tuple[str, Word]]
    line: int
    op: str = ""                     # after it: | |& && || ; & ( ) \n, "" at the end
    origin: str = ""                 # "" written at the top; $(, <(, `, ssh, bash -c, heredoc…
    pipe_from: "Command | None" = None
    parent: "Command | None" = None  # the command a substitution or remote command is part of
    heredocs: list[Heredoc] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return [w.value for w in self.words]

    @property
    def text(self) -> str:
        return " ".join(w.raw for w in self.words)

    def unwrapped(self) -> tuple[str | None, list[Word], bool]:
        """(program, its arguments, whether sudo/doas runs it), past wrappers such as sudo,
        env, command, exec, nohup, nice, timeout. The program is the basename of the word,
        None when it is not a literal (`$DOCKER ps`)."""
        return unwrap(self.words)


_SUDO_VALUE = frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user",
                         "--group", "--host", "--prompt", "--close-from", "--chdir", "--role",
                         "--type", "--other-user", "--command-timeout"})
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")


def unwrap(words: list[Word]) -> tuple[str | None, list[Word], bool]:
    i, sudo = 0, False
    while i < len(words):
        text = words[i].literal
        if text is None:
            return None, words[i + 1:], sudo
        base = text.rsplit("/", 1)[-1]
        i += 1
        if base in ("sudo", "doas"):
            sudo = True
            while i < len(words):
                opt = words[i].value
                if opt == "--":
                    i += 1
                    break
                if _ASSIGN.match(opt):
                    i += 1
                    continue
                if not opt.startswith("-") or opt == "-":
                    break
                i += 2 if (opt in _SUDO_VALUE and "=" not in opt) else 1
        elif base == "env":
            while i < len(words):
                opt = words[i].value
                if opt in ("-u", "--unset", "-C", "--chdir", "-S", "--split-string"):
                    i += 2
                elif opt.startswith("-") or _ASSIGN.match(opt):
                    i += 1
                else:
                    break
        elif base in ("command", "builtin", "exec", "nohup", "setsid", "time", "chronic",
                      "unbuffer", "stdbuf", "caffeinate"):
            while i < len(words) and words[i].value.startswith("-"):
                i += 2 if words[i].value == "-a" else 1     # exec -a NAME
        elif base == "nice":
            while i < len(words) and words[i].value.startswith("-"):
                i += 2 if words[i].value in ("-n", "--adjustment") else 1
        elif base == "ionice":
            while i < len(words) and words[i].value.startswith("-"):
                i += 2 if words[i].value in ("-c", "-n", "-p", "-P", "-u") else 1
        elif base == "timeout":
            while i < len(words) and words[i].value.startswith("-"):
                i += 2 if words[i].value in ("-s", "-k", "--signal", "--kill-after") else 1
            i += 1                                           # the duration
        else:
            return base, words[i:], sudo
    return None, [], sudo
