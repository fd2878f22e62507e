"""The shell parser: simple commands out of the lexer's tokens (assignments, redirections,
here-documents, pipelines, the compound keywords, case patterns, function definitions), and
`parse_script`, which also parses the commands a script hands to another shell: `ssh host
"…"`, `bash -c "…"`, `pct exec 102 -- …`, and here-documents fed to `ssh`/`bash`/`sh`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from labwarden.sources.scripts.lexer import _CLOSE, _EOF, _NAME, _NL, _OP, _WORD, _Lexer
from labwarden.sources.scripts.words import _ASSIGN, Command, Heredoc, Part, Word

MAX_NESTING = 4                  # ssh "bash -c '…'" and the like, parsed this deep
REDIRECTS = frozenset({"&>>", "&>", ">>", ">|", "<<<", "<<-", "<<", "<>", "<&", ">&", "<", ">"})
_PREFIX_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "time",
                              "{", "}", "fi", "done", "coproc"})


class _Parser(_Lexer):
    """Tokens and simple commands of a shell text (or of the inside of `$(…)`)."""

    root: "_Parser"      # the outermost parser, which holds what the whole script shares

    def __init__(self, text: str, start: int = 0, line: int = 1, stop: str = "",
                 origin: str = "", root: "_Parser | None" = None, depth: int = 0):
        super().__init__(text, start, line, stop, root, depth)
        self.origin = origin
        self.commands: list[Command] = []
        self.pending: list[Heredoc] = []
        self.case_depth = 0
        if root is None:
            self.loop_vars: set[str] = set()
            # `for c in a b c`: each loop variable's word lists (one per loop naming it)
            self.loop_values: dict[str, list[list[Word]]] = {}
            self.all_heredocs: list[Heredoc] = []

    def _parse_substitution(self, start: int, opener: str) -> tuple[list[Command], int, int]:
        child = _Parser(self.s, start, self.line, ")", origin=opener, root=self.root,
                        depth=self.depth + 1)
        child.parse()
        return child.commands, child.i, child.line

    def _parse_backticks(self, text: str, line: int) -> list[Command]:
        return parse_commands(text, line, "`", self.root, self.depth + 1)

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
            elif cur.loop_var is not None and cur.loop_in is None and text == "in":
                cur.loop_in = []
                self.root.loop_values.setdefault(cur.loop_var, []).append(cur.loop_in)
            elif cur.loop_in is not None and text != "do":
                cur.loop_in.append(word)
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
    loop_in: list[Word] | None = None    # the words after `in`
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
    loop_values: dict[str, list[list[Word]]] = field(default_factory=dict)


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
    return ParsedScript(commands, root.all_heredocs, root.loop_vars, root.too_deep,
                        root.loop_values)


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
