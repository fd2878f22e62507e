"""The shell lexer: a shell text read into tokens, that is words (with their quoting, `$X`,
`${X:-y}`, `$(…)`, backticks, `$((…))`, process substitutions and `$'…'`), operators and
line ends, line numbers counted through continuations and quoted newlines.

A `$(…)` or backtick holds commands: the parser, a subclass, reads them
(`_parse_substitution`, `_parse_backticks`), so substitutions nest to any depth up to
MAX_SUBSTITUTION_DEPTH.
"""

from __future__ import annotations

import re

from labwarden.sources.scripts.words import Command, Part, Word

# `$(…)`, backticks and process substitutions inside each other: each level is a few Python
# calls, so thousands would overflow the stack. Deeper ones are skipped, and said so.
MAX_SUBSTITUTION_DEPTH = 50

_OPERATORS = ("&&", "||", ";;&", ";;", ";&", "|&", "&>>", "&>", ">>", ">|", "<<<", "<<-", "<<",
              "<>", "<&", ">&", "|", "&", ";", "(", ")", "<", ">")
_WORD_END = frozenset(" \t\r\n;&|<>()")
_PLAIN = re.compile(r"[^ \t\r\n;&|<>()\\'\"$`]+")     # characters that stand for themselves
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([#!]?)([A-Za-z_][A-Za-z0-9_]*|\d+|[@*#?$!0-])(\[[^\]]*\])?(.*)\Z", re.S)
_PARAM_OPS = (":-", ":=", ":?", ":+", "-", "=", "?", "+", "##", "#", "%%", "%", "//", "/",
              "^^", "^", ",,", ",", "@", ":")
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}

_EOF, _NL, _OP, _WORD, _CLOSE = range(5)


class _Lexer:
    """The tokens of a shell text (or of the inside of `$(…)`)."""

    def __init__(self, text: str, start: int, line: int, stop: str,
                 root: "_Lexer | None", depth: int):
        self.s = text
        self.i = start
        self.line = line
        self.stop = stop                 # ")" inside $( ) and <( )
        self.root = root or self
        self.paren = 0                   # subshells opened at this level
        self.case_pattern = False        # set by the parser: a `)` ends a case pattern
        self.depth = depth               # substitutions this text is inside
        if root is None:
            self.too_deep: int = 0       # the first line of a substitution left unparsed

    # -- what the parser reads --

    def _parse_substitution(self, start: int, opener: str) -> tuple[list[Command], int, int]:
        """The commands of the `$(…)` or `<(…)` whose inside starts at `start`, the index past
        its `)` and the line there."""
        raise NotImplementedError

    def _parse_backticks(self, text: str, line: int) -> list[Command]:
        """The commands of a backtick substitution's text (its escapes removed)."""
        raise NotImplementedError

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
        commands, end, line = self._parse_substitution(start, opener)
        text = self.s[self.i:end]
        self.i, self.line = end, line
        return Part(kind, text, quoted, commands=commands)

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
        commands = self._parse_backticks("".join(out), line)
        return Part("cmd", text, quoted, commands=commands)
