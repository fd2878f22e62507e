"""Edit a YAML file of nested mappings in place: set the mapping at a path of keys and leave
every other byte as it was.

The attestation file is reviewed like code, so a write must show up in a diff as the entry
it wrote and nothing else: other entries keep their quoting, their line breaks inside
`{…}`, their indentation (two spaces or four), their comments, the blank lines between
them, a `---` at the top. A YAML emitter (ruamel.yaml's round trip included) re-emits the
whole document in its own layout; this module splices text instead, at the positions the
YAML parser reports for each node:

- an entry that exists is rewritten where it stands: a `{…}` entry as one `{…}` line, a
  block entry field by field (the comments of the fields it keeps stay);
- a new entry goes after the last entry of its mapping, written like its siblings (`{…}`
  or block), at their indentation;
- missing parents are created the same way, at the end of the nearest one that exists.

Values are written plain when every YAML reader reads them back as that same text (PyYAML's
YAML 1.1 and labwarden's 1.2), double-quoted otherwise. The caller checks the result (it
must read back with exactly the data intended); `EditError` is raised for a shape this
module does not edit (a list where a mapping should be), never a half edit.
"""

from __future__ import annotations

import json
import re

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"


class EditError(Exception):
    """The file does not have the shape an edit needs; nothing was changed."""


def set_entry(text: str, path: tuple[str, ...], values: dict[str, str],
              flow: bool = True) -> str:
    """`text` with the mapping at `path` set to `values` (flat: text or ISO dates). `flow`
    says how a new entry is written when it has no sibling to follow (`{…}` or block)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    root = _root(text)
    if root is None:                                  # empty, comments only, or `~`
        lines = _block(path, values, 0, 2, flow)
        head = text if not text or text.endswith("\n") else text + newline
        return head + newline.join(lines) + newline
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the file is not a mapping")
    step = _indent_step(root)
    if len(path) >= 2:
        flow = _house_style(root, path[-2], flow)
    node = root
    for depth, key in enumerate(path):
        found = _lookup(node, key)
        rest = path[depth:]
        if found is None:
            return _insert(text, node, rest, values, step, flow, newline)
        key_node, value = found
        if _is_null(value):
            return _fill(text, node, key_node, value, rest[1:], values, step, flow, newline)
        if depth == len(path) - 1:
            if not isinstance(value, yaml.MappingNode):
                raise EditError(f"`{key}` holds {_kind(value)}, not a mapping")
            return _replace(text, value, values, newline)
        if not isinstance(value, yaml.MappingNode):
            raise EditError(f"`{key}` holds {_kind(value)}, not a mapping")
        node = value
    raise EditError("empty path")                     # pragma: no cover - path is never ()


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


def _house_style(root: yaml.MappingNode, parent_key: str, default: bool) -> bool:
    """Whether the file writes the entries of mappings named `parent_key` (`items`,
    `approvals`) as `{…}` lines: a new entry with no sibling follows the others."""
    stack = [root]
    while stack:
        node = stack.pop()
        for key_node, value in node.value:
            if not isinstance(value, yaml.MappingNode):
                continue
            if key_node.value == parent_key and value.value \
                    and isinstance(value.value[-1][1], yaml.MappingNode):
                return bool(value.value[-1][1].flow_style)
            stack.append(value)
    return default


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

def _insert(text: str, mapping: yaml.MappingNode, keys: tuple[str, ...], values: dict,
            step: int, flow: bool, newline: str) -> str:
    """A new key (and the keys under it) at the end of `mapping`."""
    if mapping.flow_style:
        entry = _flow_entry(keys, values)
        if not mapping.value:
            at = mapping.end_mark.index - 1          # just inside the `}`
            return text[:at] + entry + text[at:]
        at = _end(text, mapping.value[-1][1])
        return text[:at] + ", " + entry + text[at:]
    last_key, last_value = mapping.value[-1]
    leaf_flow = flow
    if len(keys) == 1 and isinstance(last_value, yaml.MappingNode):
        leaf_flow = bool(last_value.flow_style)      # written like its siblings
    lines = _block(keys, values, last_key.start_mark.column, step, leaf_flow)
    at = _line_end(text, _end(text, last_value))
    return text[:at] + newline + newline.join(lines) + text[at:]


def _fill(text: str, parent: yaml.MappingNode, key_node, null, keys: tuple[str, ...],
          values: dict, step: int, flow: bool, newline: str) -> str:
    """A key written with no value (`items:`, `n8n: ~`) gets one."""
    start, end = null.start_mark.index, null.end_mark.index
    if parent.flow_style:
        inner = _flow_value(keys, values)
        return text[:start] + (" " if start == end else "") + inner + text[end:]
    if not keys:                                      # the entry itself was empty
        if flow:
            return text[:start] + (" " if start == end else "") + _flow(values) + text[end:]
        column = key_node.start_mark.column + step
        lines = [" " * column + f"{_key(k)}: {_scalar(k, v)}" for k, v in values.items()]
    else:
        lines = _block(keys, values, key_node.start_mark.column + step, step, flow)
    text = text[:start] + text[end:]                  # drop `~` or `null`
    at = _line_end(text, start)
    return text[:at] + newline + newline.join(lines) + text[at:]


def _replace(text: str, entry: yaml.MappingNode, values: dict, newline: str) -> str:
    """An existing entry rewritten where it stands."""
    if entry.flow_style or not entry.value:
        start, end = entry.start_mark.index, entry.end_mark.index
        return text[:start] + _flow(values) + text[end:]
    edits: list[tuple[int, int, str]] = []
    present = set()
    for key_node, value in entry.value:
        key = key_node.value
        present.add(key)
        if key in values:
            edits.append((value.start_mark.index, _end(text, value),
                          _scalar(key, values[key])))
        else:                                          # a field no longer given: its lines
            start = _line_start(text, key_node.start_mark.index)
            end = _line_end(text, _end(text, value))
            end = min(len(text), end + len(newline))
            edits.append((start, end, ""))
    column = entry.value[0][0].start_mark.column
    added = [" " * column + f"{_key(k)}: {_scalar(k, v)}" for k, v in values.items()
             if k not in present]
    kept = [value for key_node, value in entry.value if key_node.value in values]
    if added and kept:                                 # after the last field that stays
        at = _line_end(text, _end(text, kept[-1]))
        edits.append((at, at, newline + newline.join(added)))
    elif added:                                        # before the first, which goes
        at = _line_start(text, entry.value[0][0].start_mark.index)
        edits.append((at, at, newline.join(added) + newline))
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


# --- writing values ----------------------------------------------------------------------

def _block(keys: tuple[str, ...], values: dict, column: int, step: int,
           leaf_flow: bool) -> list[str]:
    lines = [" " * (column + depth * step) + f"{_key(key)}:"
             for depth, key in enumerate(keys[:-1])]
    indent = " " * (column + (len(keys) - 1) * step)
    if leaf_flow:
        return lines + [f"{indent}{_key(keys[-1])}: {_flow(values)}"]
    lines.append(f"{indent}{_key(keys[-1])}:")
    return lines + [f"{indent}{' ' * step}{_key(k)}: {_scalar(k, v)}"
                    for k, v in values.items()]


def _flow_entry(keys: tuple[str, ...], values: dict) -> str:
    return f"{_key(keys[0])}: {_flow_value(keys[1:], values)}"


def _flow_value(keys: tuple[str, ...], values: dict) -> str:
    if not keys:
        return _flow(values)
    return "{" + _flow_entry(keys, values) + "}"


def _flow(values: dict) -> str:
    return "{" + ", ".join(f"{_key(k)}: {_scalar(k, v)}" for k, v in values.items()) + "}"


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
