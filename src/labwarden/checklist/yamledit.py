"""Edit a YAML file of nested mappings in place: set mappings at paths of keys and leave
every other byte as it was.

The attestation file is reviewed like code, so a write must show up in a diff as the entries
it wrote and nothing else: other entries keep their quoting, their line breaks inside
`{…}`, their indentation (two spaces or four), their comments, the blank lines between
them, a `---` at the top. A YAML emitter (ruamel.yaml's round trip included) re-emits the
whole document in its own layout; this module splices text instead, at the positions the
YAML parser reports for each node:

- an entry that exists is rewritten where it stands: a `{…}` entry as one `{…}` line, a
  block entry field by field (the comments of the fields it keeps stay);
- new entries go after the last entry of their mapping, written like their siblings (`{…}`
  or block, the style the file uses for mappings of that name otherwise), at their
  indentation;
- missing parents are created once, at the end of the nearest one that exists.

Every edit of a batch is computed from one parse of the original text and applied from the
end backwards, so a batch of hundreds of entries costs one parse. Values are written plain
when every YAML reader reads them back as that same text (PyYAML's YAML 1.1 and labwarden's
1.2), double-quoted otherwise. The caller checks the result (it must read back with exactly
the data intended); `EditError` is raised for a shape this module does not edit (a list
where a mapping should be), never a half edit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"

Path = tuple[str, ...]


class EditError(Exception):
    """The file does not have the shape an edit needs; nothing was changed."""


class _Leaf(dict):
    """The values of one entry to write (as opposed to a parent still to create)."""


def set_entries(text: str, changes: list[tuple[Path, dict]],
                flow: Callable[[Path], bool] = lambda path: True) -> str:
    """`text` with the mapping at each path set to its values (text, ISO dates, or a
    mapping of text and lists of text; a later change of the same path wins). `flow(path)`
    says how a new entry is written when neither siblings nor the file's other mappings of
    its name show a style."""
    newline = "\r\n" if "\r\n" in text else "\n"
    wanted: dict[Path, dict] = {}
    for path, values in changes:
        wanted[tuple(path)] = values
    root = _root(text)
    if root is None:                                  # empty, comments only, or `~`
        writer = _Writer(None, newline, 2, flow)
        head = text if not text or text.endswith("\n") else text + newline
        return head + newline.join(writer.block(_tree(wanted.items()), 0, ())) + newline
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the file is not a mapping")
    writer = _Writer(root, newline, _indent_step(root), flow)
    edits: list[tuple[int, int, int, str]] = []       # start, end, depth, new text
    additions: dict[int, tuple] = {}                  # id(node) -> (node, where, tree)
    for path, values in wanted.items():
        node = root
        where: Path = ()
        for depth, key in enumerate(path):
            found = _lookup(node, key)
            if found is None:                          # from here on, new
                _add(additions, node, where, path[depth:], values, ("mapping",))
                break
            key_node, value = found
            if _is_null(value):                        # `key:` with nothing under it yet
                _add(additions, value, where + (key,), path[depth + 1:], values,
                     ("null", node, key_node))
                break
            if not isinstance(value, yaml.MappingNode):
                raise EditError(f"`{key}` holds {_kind(value)}, not a mapping")
            if depth == len(path) - 1:
                edits += _replace(text, value, values, newline, depth)
            node, where = value, where + (key,)
    for node, where, (kind, *context), tree in additions.values():
        if kind == "mapping":
            edits += writer.append(text, node, where, tree)
        else:
            edits += writer.fill(text, context[0], context[1], node, where, tree)
    for start, end, _depth, new in sorted(edits, key=lambda e: (e[0], e[1], -e[2]),
                                          reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _add(additions: dict, node, where: Path, rest: Path, values: dict, kind: tuple) -> None:
    """Remember to write `rest` (then `values`) under `node`, merged with what else goes
    there: two new hosts share one new `hosts:`."""
    _, _, _, tree = additions.setdefault(id(node), (node, where, kind, {}))
    if not rest:                                       # the entry itself was `key: ~`
        additions[id(node)] = (node, where, kind, _Leaf(values))
        return
    for key in rest[:-1]:
        tree = tree.setdefault(key, {})
    tree[rest[-1]] = _Leaf(values)


def _tree(items) -> dict:
    tree: dict = {}
    for path, values in items:
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = _Leaf(values)
    return tree


# --- finding things ----------------------------------------------------------------------

def _root(text: str):
    try:
        for document in yaml.compose_all(text, Loader=_Loader):
            return None if document is None or _is_null(document) else document
    except yaml.YAMLError as exc:
        raise EditError(f"the file is not valid YAML ({exc})") from None
    return None


def _lookup(mapping: yaml.MappingNode, key: str):
    for key_node, value in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value
    return None


def _is_null(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def _kind(node) -> str:
    return {yaml.SequenceNode: "a list", yaml.ScalarNode: "a value"}.get(type(node), "data")


def _indent_step(root: yaml.MappingNode) -> int:
    """How far the file indents a block mapping under its key (2 unless it says else)."""
    stack = [root]
    while stack:
        node = stack.pop()
        for key_node, value in node.value:
            if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
                step = value.value[0][0].start_mark.column - key_node.start_mark.column
                if step > 0:
                    return step
                stack.append(value)
    return 2


def _house_styles(root: yaml.MappingNode | None) -> dict[str, bool]:
    """For each mapping name (`items`, `approvals`): whether the file writes its entries as
    `{…}` lines (the style of its last entry)."""
    styles: dict[str, bool] = {}
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        for key_node, value in node.value:
            if not isinstance(value, yaml.MappingNode):
                continue
            if value.value and isinstance(value.value[-1][1], yaml.MappingNode):
                styles.setdefault(key_node.value, bool(value.value[-1][1].flow_style))
            stack.append(value)
    return styles


def _end(text: str, node) -> int:
    """Where the text of `node` ends, without the line breaks a block scalar takes along."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style \
            and node.value:
        last = node.value[-1]
        return _end(text, last[1] if isinstance(node, yaml.MappingNode) else last)
    start, end = node.start_mark.index, node.end_mark.index
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return end


def _line_end(text: str, index: int) -> int:
    """The end of the line holding `index` (before its line break): a new line goes after
    whatever comment ends the line."""
    found = text.find("\n", index)
    if found == -1:
        return len(text)
    return found - 1 if found > 0 and text[found - 1] == "\r" else found


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


# --- editing -----------------------------------------------------------------------------

def _replace(text: str, entry: yaml.MappingNode, values: dict, newline: str,
             depth: int) -> list[tuple[int, int, int, str]]:
    """The edits that rewrite an existing entry where it stands."""
    if entry.flow_style or not entry.value:
        return [(entry.start_mark.index, entry.end_mark.index, depth, _flow(values))]
    edits = []
    present = set()
    for key_node, value in entry.value:
        key = key_node.value
        present.add(key)
        if key in values:
            edits.append((value.start_mark.index, _end(text, value), depth,
                          _value(key, values[key])))
        else:                                          # a field no longer given: its lines
            start = _line_start(text, key_node.start_mark.index)
            end = _line_end(text, _end(text, value))
            edits.append((start, min(len(text), end + len(newline)), depth, ""))
    column = entry.value[0][0].start_mark.column
    added = [" " * column + f"{_key(k)}: {_value(k, v)}" for k, v in values.items()
             if k not in present]
    kept = [value for key_node, value in entry.value if key_node.value in values]
    if added and kept:                                 # after the last field that stays
        at = _line_end(text, _end(text, kept[-1]))
        edits.append((at, at, depth + 1, newline + newline.join(added)))
    elif added:                                        # before the first, which goes
        at = _line_start(text, entry.value[0][0].start_mark.index)
        edits.append((at, at, depth + 1, newline.join(added) + newline))
    return edits


class _Writer:
    """Writes new entries the way the file writes its others."""

    def __init__(self, root, newline: str, step: int, flow: Callable[[Path], bool]):
        self.newline, self.step, self.default = newline, step, flow
        self.styles = _house_styles(root)

    def leaf_flow(self, path: Path, sibling=None) -> bool:
        if isinstance(sibling, yaml.MappingNode):
            return bool(sibling.flow_style)            # written like its siblings
        if len(path) >= 2 and path[-2] in self.styles:
            return self.styles[path[-2]]
        return self.default(path)

    def append(self, text: str, mapping: yaml.MappingNode, where: Path,
               tree: dict) -> list[tuple[int, int, int, str]]:
        """New keys at the end of an existing mapping."""
        depth = len(where)
        if mapping.flow_style:
            entries = ", ".join(f"{_key(k)}: {self.flow_value(v)}" for k, v in tree.items())
            if not mapping.value:
                at = mapping.end_mark.index - 1        # just inside the `}`
                return [(at, at, depth, entries)]
            at = _end(text, mapping.value[-1][1])
            return [(at, at, depth, ", " + entries)]
        last_key, last_value = mapping.value[-1]
        lines = self.block(tree, last_key.start_mark.column, where, last_value)
        at = _line_end(text, _end(text, last_value))
        return [(at, at, depth, self.newline + self.newline.join(lines))]

    def fill(self, text: str, parent: yaml.MappingNode, key_node, null, where: Path,
             tree: dict) -> list[tuple[int, int, int, str]]:
        """A key written with no value (`items:`, `n8n: ~`) gets one."""
        start, end = null.start_mark.index, null.end_mark.index
        depth = len(where)
        space = " " if start == end else ""
        if parent.flow_style or (isinstance(tree, _Leaf) and self.leaf_flow(where)):
            return [(start, end, depth, space + self.flow_value(tree))]
        column = key_node.start_mark.column + self.step
        if isinstance(tree, _Leaf):
            lines = [" " * column + f"{_key(k)}: {_value(k, v)}" for k, v in tree.items()]
        else:
            lines = self.block(tree, column, where)
        at = _line_end(text, end)
        edits = [(at, at, depth, self.newline + self.newline.join(lines))]
        if start != end:                               # `~` or `null` goes
            edits.append((start, end, depth, ""))
        return edits

    def block(self, tree: dict, column: int, where: Path, sibling=None) -> list[str]:
        lines = []
        indent = " " * column
        for key, sub in tree.items():
            path = where + (key,)
            if isinstance(sub, _Leaf):
                if self.leaf_flow(path, sibling):
                    lines.append(f"{indent}{_key(key)}: {_flow(sub)}")
                    continue
                lines.append(f"{indent}{_key(key)}:")
                lines += [f"{indent}{' ' * self.step}{_key(k)}: {_value(k, v)}"
                          for k, v in sub.items()]
            else:
                lines.append(f"{indent}{_key(key)}:")
                lines += self.block(sub, column + self.step, path)
        return lines

    def flow_value(self, tree: dict) -> str:
        if isinstance(tree, _Leaf):
            return _flow(tree)
        return "{" + ", ".join(f"{_key(k)}: {self.flow_value(v)}" for k, v in tree.items()) \
            + "}"


# --- writing values ----------------------------------------------------------------------

def _flow(values: dict) -> str:
    return "{" + ", ".join(f"{_key(k)}: {_value(k, v)}" for k, v in values.items()) + "}"


def _value(key: str, value) -> str:
    """A field's value: text or a date, or (an approval's `state:`) a mapping of text and
    lists of text, written on the field's line with every text quoted (a fingerprint
    `012345670123` or an item `10.1` is never a number to any reader)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_value_quoted(v)}" for k, v in value.items()) \
            + "}"
    return _scalar(key, value)


def _value_quoted(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_double_quoted(str(v)) for v in value) + "]"
    return _double_quoted(str(value))


def _key(key: str) -> str:
    """Item IDs as people write them, `"1.2.1"` (never a number); other keys plain when
    that reads back as the same text."""
    if re.fullmatch(r"[\d.]+", key):
        return f'"{key}"'
    return _scalar("", key)


def _scalar(key: str, value) -> str:
    text = str(value)
    if key in ("date", "expires") and _DATE.fullmatch(text):
        return text                                   # a date, as a person writes it
    return text if _plain_is_safe(text) else _double_quoted(text)


_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_UNSAFE = set(",[]{}#\"'`")


def _plain_is_safe(text: str) -> bool:
    """Whether `text` written plain, in a block or a `{…}`, reads back as itself in YAML 1.1
    and 1.2 alike."""
    from labwarden.sources.yamlfile import resolve_plain

    if not text or text != text.strip() or not text.isprintable():
        return False
    if text[0] in _INDICATORS or _FLOW_UNSAFE & set(text) or ": " in text \
            or text.endswith(":"):
        return False
    if resolve_plain(text) != text:                    # labwarden's YAML 1.2 reading
        return False
    resolver = yaml.resolver.Resolver()                # PyYAML's YAML 1.1 (`yes`, `1_0`)
    return resolver.resolve(yaml.ScalarNode, text, (True, False)) == _STR


def _double_quoted(text: str) -> str:
    """JSON's escaping is YAML's; what JSON leaves raw but YAML must not carry (DEL, C1
    controls, line and paragraph separators, a BOM) is escaped too."""
    out = json.dumps(text, ensure_ascii=False)
    return "".join(c if c.isprintable() else
                   (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   for c in out)
