"""A reader for Grafana Alloy's configuration syntax (River): blocks, attributes, and the
values labwarden needs (strings, numbers, booleans, lists, objects, and references such as
`discovery.docker.containers.targets`, kept as text). Function calls and operators are read
as references to their text: nothing here evaluates an expression.
"""

from __future__ import annotations

import re

from labwarden.model import Location

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+|//[^\n]*|/\*.*?\*/|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[{}\[\]()=,.:+\-*/%<>!^])
""", re.VERBOSE | re.DOTALL)


class RiverError(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


class Ref(str):
    """An expression kept as its text (a reference, a call, an operation)."""


class Block:
    __slots__ = ("name", "label", "attrs", "blocks", "line")

    def __init__(self, name: str, label: str | None, line: int):
        self.name, self.label, self.line = name, label, line
        self.attrs: dict[str, object] = {}
        self.blocks: list[Block] = []

    def children(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.name == name]


def parse(text: str) -> Block:
    """The file as a root block; raises RiverError with the line of the first problem."""
    tokens = []
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise RiverError(f"unexpected character {text[position]!r}", line)
        kind = str(match.lastgroup)
        if kind != "space":
            tokens.append((kind, match.group(), line))
        line += match.group().count("\n")
        position = match.end()
    parser = _Parser(tokens)
    root = Block("", None, 1)
    parser.body(root, top=True)
    return root


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]):
        self.tokens, self.at = tokens, 0

    def peek(self, offset: int = 0) -> tuple[str, str, int]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "", self.last_line)

    @property
    def last_line(self) -> int:
        return self.tokens[-1][2] if self.tokens else 1

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            want = value or kind
            raise RiverError(f"expected {want!r}, found {token[1] or 'the end'!r}", token[2])
        self.at += 1
        return token

    def body(self, block: Block, top: bool = False) -> None:
        while True:
            kind, value, line = self.peek()
            if kind == "end":
                if not top:
                    raise RiverError("a block is not closed", line)
                return
            if value == "}" and not top:
                self.at += 1
                return
            name = self.take(kind="ident")[1]
            while self.peek()[1] == ".":
                self.at += 1
                name += "." + self.take(kind="ident")[1]
            if self.peek()[1] == "=":
                self.at += 1
                block.attrs[name] = self.expr()
                continue
            label = None
            if self.peek()[0] == "string":
                label = _unquote(self.take()[1])
            self.take("{")
            child = Block(name, label, line)
            self.body(child)
            block.blocks.append(child)

    def expr(self) -> object:
        start = self.at
        value = self.primary()
        operated = False
        # Operators: the whole expression becomes its text.
        while self.peek()[0] == "op" and self.peek()[1] not in ("}", "]", ")", ",", "=", "{"):
            self.at += 1
            self.primary()
            operated = True
        if operated:
            return Ref(" ".join(t[1] for t in self.tokens[start:self.at]))
        return value

    def primary(self) -> object:
        kind, value, line = self.peek()
        if kind == "string":
            self.at += 1
            return _unquote(value)
        if kind == "raw":
            self.at += 1
            return value[1:-1]
        if kind == "number":
            self.at += 1
            return float(value) if "." in value or "e" in value.lower() else int(value)
        if value == "[":
            self.at += 1
            items = []
            while self.peek()[1] != "]":
                items.append(self.expr())
                if self.peek()[1] == ",":
                    self.at += 1
            self.take("]")
            return items
        if value == "{":
            self.at += 1
            found: dict[str, object] = {}
            while self.peek()[1] != "}":
                key_kind, key, _ = self.take()
                key = _unquote(key) if key_kind == "string" else key
                self.take("=") if self.peek()[1] == "=" else self.take(":")
                found[key] = self.expr()
                if self.peek()[1] == ",":
                    self.at += 1
            self.take("}")
            return found
        if value in ("(",):
            self.at += 1
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "ident":
            self.at += 1
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            text = value
            while True:
                nxt = self.peek()[1]
                if nxt == ".":
                    self.at += 1
                    text += "." + self.take(kind="ident")[1]
                elif nxt == "(":
                    self.at += 1
                    args = []
                    while self.peek()[1] != ")":
                        args.append(self.expr())
                        if self.peek()[1] == ",":
                            self.at += 1
                    self.take(")")
                    text += "(…)"
                elif nxt == "[":
                    self.at += 1
                    self.expr()
                    self.take("]")
                    text += "[…]"
                else:
                    return Ref(text)
        if value in ("-", "!"):
            self.at += 1
            return Ref(value + str(self.primary()))
        raise RiverError(f"unexpected {value or 'end of file'!r}", line)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def location(path: str, block: Block) -> Location:
    return Location(path, block.line)
