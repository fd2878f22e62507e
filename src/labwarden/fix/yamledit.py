"""Edit a Compose file the way a person would: change the lines that need it, keep the rest.

ruamel.yaml's round-trip mode loads the file with its comments, key order, quote styles,
anchors and merge keys, and dumps it back. Three guards keep that rewrite honest:

- the indentation is measured first (the dump that reproduces the file best wins), so that
  added lines look like their neighbours;
- only the hunks the edits caused are transplanted onto the original text: where ruamel
  would reformat a line nobody touched, that line is kept as written, and an edit that
  cannot be separated from such a reformat is refused rather than written;
- the result is read back with labwarden's own loader (the way Compose reads it, merges
  resolved) and compared with the original: anything that changed outside the paths the
  fixers declared makes the whole file skipped.

A node that an anchor shares with other places (`&name` used by `*name` or `<<: *name`) is
never edited: the change would reach every user of the anchor.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, merge_attrib
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from labwarden.sources.yamlfile import YamlLoadError, parse_yaml

# (mapping indent, sequence indent, dash offset), most common first: `key:\n  - item`,
# `key:\n- item`, and the four-space variants.
_INDENT_STYLES = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 2), (4, 2, 0), (3, 5, 3), (3, 3, 0))


class Skip(Exception):
    """A fix that cannot be made safely; the message says why, for the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _yaml(style: tuple[int, int, int], explicit_start: bool) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16                  # never fold a long line
    yaml.allow_duplicate_keys = False
    yaml.explicit_start = explicit_start
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, root: Any) -> str:
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue()


def _differing_lines(a: list[str], b: list[str]) -> int:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return len(a) + len(b) - 2 * same


class Document:
    """One YAML file loaded for editing. `text` is the file as read (BOM and line endings
    are restored on output); `root` is the ruamel tree that fixers edit."""

    def __init__(self, path: str, raw: str, style: tuple[int, int, int] | None = None):
        self.path = path
        self.raw = raw
        self.bom = raw.startswith("\ufeff")
        text = raw[1:] if self.bom else raw
        self.crlf = "\r\n" in text
        self.text = text.replace("\r\n", "\n") if self.crlf else text
        explicit_start = self.text.lstrip().startswith("---")
        root, best = None, None
        for candidate in (style,) if style else _INDENT_STYLES:
            yaml = _yaml(candidate, explicit_start)
            try:
                if root is None:
                    documents = list(yaml.load_all(self.text))
                    if len(documents) != 1:
                        raise Skip("the file holds several YAML documents; Compose reads one")
                    root = documents[0]
                    if not isinstance(root, CommentedMap):
                        raise Skip("the file is not a YAML mapping")
                dumped = _dump(yaml, root)
            except YAMLError as exc:
                raise Skip(f"ruamel.yaml cannot read it for rewriting "
                           f"({type(exc).__name__})") from None
            score = _differing_lines(self.text.splitlines(True), dumped.splitlines(True))
            if best is None or score < best[0]:
                best = (score, yaml, dumped, candidate)
            if score == 0:
                break
        _, self.yaml, self._baseline, self.style = best
        self._eol = _eol_comments(root)
        self.root: CommentedMap = root
        self.index = ShareIndex(root)
        self.touched: list[tuple] = []     # data paths the fixers changed, for the check
        self.changed = False

    # --- output -----------------------------------------------------------------------

    def render(self) -> str:
        """The file with the edits, as written to disk. Raises Skip when the edit cannot be
        written without touching other lines or changing other values."""
        if not self.changed:
            return self.raw
        edited = _dump(self.yaml, self.root)
        text = _transplant(self.text, self._baseline, edited, self._eol)
        self._check(text)
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return ("\ufeff" if self.bom else "") + text

    def _check(self, text: str) -> None:
        """Read both versions as Compose does; only the declared paths may differ."""
        try:
            before, _ = parse_yaml(self.text, self.path)
            after, problems = parse_yaml(text, self.path)
        except YamlLoadError as exc:
            raise Skip(f"the rewritten file would not parse ({exc.message}); "
                       "nothing written") from None
        if any(code == "duplicate-key" for code, _, _ in problems):
            raise Skip("the rewritten file would define a key twice; nothing written")
        differences = list(_differences(before[0] if before else None,
                                        after[0] if after else None))
        if not differences:
            raise Skip("the edit did not change the file as Compose reads it; nothing written")
        for path in differences:
            if not any(path[:len(t)] == t for t in self.touched):
                where = ".".join(str(p) for p in path) or "the document"
                raise Skip(f"the rewrite would also change `{where}`; nothing written")

    # --- lookups ------------------------------------------------------------------------

    def service(self, name: str) -> CommentedMap:
        services = own(self.root, "services")
        if not isinstance(services, CommentedMap):
            raise Skip("the file has no `services:` mapping")
        service = own(services, name)
        if not isinstance(service, CommentedMap):
            raise Skip(f"service `{name}` is not defined in this file")
        if self.index.shared(service):
            raise Skip(f"service `{name}` is an anchor used elsewhere in the file")
        return service

    def key_line(self, mapping: CommentedMap, key: Any) -> int:
        """The 1-based line a key was written on (0 for a key added by a fixer)."""
        try:
            return mapping.lc.key(key)[0] + 1
        except (KeyError, TypeError, AttributeError):
            return 0

    def item_line(self, seq: CommentedSeq, index: int) -> int:
        try:
            return seq.lc.item(index)[0] + 1
        except (KeyError, TypeError, AttributeError):
            return 0

    def mappings(self) -> Iterator[tuple[tuple, CommentedMap]]:
        """Every mapping of the file with its path from the root, once, in file order."""
        seen: set[int] = set()
        stack: list[tuple[tuple, Any]] = [((), self.root)]
        while stack:
            path, node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, CommentedMap):
                yield path, node
                children = [(path + (k,), v) for k, v in node.non_merged_items()]
            elif isinstance(node, CommentedSeq):
                children = [(path + (i,), v) for i, v in enumerate(node)]
            else:
                continue
            stack.extend(reversed([c for c in children
                                   if isinstance(c[1], (CommentedMap, CommentedSeq))]))

    def touch(self, *path) -> None:
        """Declare a path the edit changes (the check refuses changes anywhere else)."""
        self.touched.append(tuple(path))
        self.changed = True

    def touch_node(self, node: Any, *below) -> None:
        """Declare an edited mapping or list, at every path it is reached at (an anchor's
        definition under `x-` and its one alias)."""
        paths = [()] if node is self.root else self.index.paths(node)
        for path in paths:
            self.touch(*path, *below)


# --- anchors ---------------------------------------------------------------------------

class ShareIndex:
    """Which containers an anchor shares. A mapping or list reached from more than one
    place (an alias, a merge key) is shared, and so is everything inside it. The definition
    of an anchor under a top-level `x-` extension key does not count as a use: extensions
    are inert, they exist to be referred to."""

    def __init__(self, root: CommentedMap):
        uses: dict[int, int] = {}
        self._paths: dict[int, list[tuple]] = {}
        first_in_extension: set[int] = set()
        seen: set[int] = set()

        def visit(node: Any, in_extension: bool, path: tuple) -> None:
            if not isinstance(node, (CommentedMap, CommentedSeq)):
                return
            uses[id(node)] = uses.get(id(node), 0) + 1
            self._paths.setdefault(id(node), []).append(path)
            if id(node) in seen:
                return
            seen.add(id(node))
            if in_extension:
                first_in_extension.add(id(node))
            for key, child in _children_with_keys(node):
                visit(child, in_extension, path if key is _MERGED else path + (key,))

        for key, value in root.non_merged_items():
            visit(value, isinstance(key, str) and key.startswith("x-"), (key,))
        for source in _merge_sources(root):
            visit(source, False, ())
        self._uses = {k: n - (1 if k in first_in_extension else 0) for k, n in uses.items()}
        self._shared: set[int] = set()

        def mark(node: Any, inherited: bool, done: set[int]) -> None:
            if not isinstance(node, (CommentedMap, CommentedSeq)) or id(node) in done:
                return
            done.add(id(node))
            shared = inherited or self._uses.get(id(node), 0) > 1
            if shared:
                self._shared.add(id(node))
            for child in _children(node):
                mark(child, shared, done)

        mark(root, False, set())

    def shared(self, node: Any) -> bool:
        return id(node) in self._shared

    def uses(self, node: Any) -> int:
        return self._uses.get(id(node), 0)

    def paths(self, node: Any) -> list[tuple]:
        """Every path the node is reached at (through aliases; through a merge key, the
        merging mapping's path, where its keys appear)."""
        return list(self._paths.get(id(node), []))


def _merge_sources(mapping: CommentedMap) -> list[CommentedMap]:
    """The mappings `<<:` merges in (ruamel < 0.18.15 kept `(position, mapping)` pairs)."""
    sources = []
    for item in getattr(mapping, merge_attrib, None) or ():
        if isinstance(item, tuple) and len(item) == 2:
            item = item[1]
        if isinstance(item, CommentedMap):
            sources.append(item)
    return sources


def _merge_position(mapping: CommentedMap) -> int | None:
    merge = getattr(mapping, merge_attrib, None)
    if not merge:
        return None
    position = getattr(merge, "merge_pos", None)
    if position is None:
        first = merge[0]
        position = first[0] if isinstance(first, tuple) else 0
    return position


_MERGED = object()


def _children_with_keys(node: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, CommentedMap):
        yield from node.non_merged_items()
        for source in _merge_sources(node):
            yield _MERGED, source
    elif isinstance(node, CommentedSeq):
        yield from enumerate(node)


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, CommentedMap):
        for _, value in node.non_merged_items():
            yield value
        yield from _merge_sources(node)
    elif isinstance(node, CommentedSeq):
        yield from node


def anchor_name(node: Any) -> str | None:
    anchor = getattr(node, "anchor", None)
    return getattr(anchor, "value", None) if anchor is not None else None


# --- reading --------------------------------------------------------------------------

def own(mapping: CommentedMap, key: Any, default: Any = None) -> Any:
    """The value written under `key` in this mapping itself (not through `<<:`)."""
    if isinstance(mapping, CommentedMap) and key in mapping._ok:
        return mapping[key]
    return default


def has_own(mapping: CommentedMap, key: Any) -> bool:
    return isinstance(mapping, CommentedMap) and key in mapping._ok


def merged_from(mapping: CommentedMap, key: Any) -> CommentedMap | None:
    """The merged mapping (`<<: *anchor`) that supplies `key`, when the mapping does not
    set it itself."""
    if has_own(mapping, key):
        return None
    for source in _merge_sources(mapping):
        if key in source:
            return source
    return None


def describe_merge(mapping: CommentedMap, key: str) -> str:
    source = merged_from(mapping, key)
    name = anchor_name(source)
    return f"`<<: *{name}`" if name else "a merge key (`<<:`)"


# --- writing --------------------------------------------------------------------------

def _output_keys(mapping: CommentedMap) -> list[Any]:
    """The keys as they are written: own keys, with `<<` at its merge position."""
    keys = [k for k, _ in mapping.non_merged_items()]
    position = _merge_position(mapping)
    if position is not None:
        keys.insert(min(max(position, 0), len(keys)), "<<")
    return keys


def _is_flow(node: Any) -> bool:
    return isinstance(node, (CommentedMap, CommentedSeq)) and node.fa.flow_style()


def _tail(container: Any, key: Any, index: ShareIndex | None) -> tuple[Any, Any, int] | None:
    """Where ruamel keeps the comment that follows the last line of `container[key]`:
    (container, key or index, slot). None when it cannot be told (an alias, whose comment
    ruamel stores before the next key)."""
    value = container[key]
    if index is not None and isinstance(value, (CommentedMap, CommentedSeq)) and \
            len(index.paths(value)) > 1:
        return None                       # an alias here: its node's comments are elsewhere
    if isinstance(value, CommentedMap) and len(value._ok) and not _is_flow(value):
        keys = _output_keys(value)
        if keys[-1] == "<<":
            return None
        return _tail(value, keys[-1], index)
    if isinstance(value, CommentedSeq) and len(value) and not _is_flow(value):
        return _tail(value, len(value) - 1, index)
    return (container, key, 0 if isinstance(container, CommentedSeq) else 2)


def _get_token(where: tuple[Any, Any, int]) -> CommentToken | None:
    container, key, slot = where
    entry = container.ca.items.get(key)
    if not entry or len(entry) <= slot:
        return None
    token = entry[slot]
    return token if isinstance(token, CommentToken) else None


def _set_token(where: tuple[Any, Any, int], token: CommentToken | None) -> None:
    container, key, slot = where
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    while len(entry) <= slot:
        entry.append(None)
    entry[slot] = token
    if all(e is None for e in entry):
        del container.ca.items[key]


def _pre_comments(mapping: CommentedMap, key: Any) -> bool:
    entry = mapping.ca.items.get(key)
    return bool(entry and len(entry) > 1 and entry[1])


def insert_after(doc: Document, mapping: CommentedMap, after: tuple[str, ...], key: str,
                 value: Any) -> None:
    """Add `key: value` to `mapping` after the first of `after` it holds (else at the end),
    keeping every comment on the line it belongs to: the comment lines that followed the
    anchor key (a suppression for the next key, a blank line before the next section) move
    below the new lines."""
    keys = _output_keys(mapping)
    own_keys = [k for k in keys if k != "<<"]
    candidates = [k for k in after if k in own_keys] + own_keys[-1:]
    for anchor in candidates:
        position = keys.index(anchor)
        following = keys[position + 1] if position + 1 < len(keys) else None
        if following not in (None, "<<") and _pre_comments(mapping, following):
            continue                      # ruamel keeps comments there that we cannot split
        tail = _tail(mapping, anchor, doc.index)
        if tail is None:
            continue
        break
    else:
        if own_keys:
            raise Skip(f"cannot place `{key}` without moving a comment; add it by hand")
        tail, position = None, len(keys) - 1       # after a lone `<<: *anchor`, if any
    mapping.insert(position + 1, key, value)
    if tail is not None:
        _move_tail(tail, _tail(mapping, key, None))


def append_item(doc: Document, seq: CommentedSeq, value: Any) -> None:
    """Append to a list, keeping the comment lines that followed its last item below it."""
    tail = _tail(seq, len(seq) - 1, doc.index) if len(seq) else None
    if len(seq) and tail is None:
        raise Skip("cannot extend the list without moving a comment; add it by hand")
    seq.append(value)
    if tail is not None:
        _move_tail(tail, _tail(seq, len(seq) - 1, None))


def _move_tail(old: tuple[Any, Any, int], new: tuple[Any, Any, int]) -> None:
    """Lines were added after the node whose trailing comment is at `old`: the comment on
    its own line stays, the comment lines and blank lines after it move to `new`."""
    token = _get_token(old)
    if token is None:
        return
    text = token.value
    if text.startswith("#"):
        eol, newline, rest = text.partition("\n")
        keep = eol + newline
    else:                                 # no comment on the line itself
        keep, rest = "", text.removeprefix("\n")
    if not rest:
        return
    if keep:
        token.value = keep
    else:
        _set_token(old, None)
    _set_token(new, CommentToken("\n" + rest, CommentMark(0), None))


def rename_key(mapping: CommentedMap, old: Any, new: Any) -> None:
    """Rename a key in place, keeping its position, value and comments."""
    keys = _output_keys(mapping)
    position = keys.index(old)
    value = mapping[old]
    comments = mapping.ca.items.pop(old, None)
    del mapping[old]
    mapping.insert(position, new, value)
    if comments is not None:
        mapping.ca.items[new] = comments


def same_style(old: Any, text: str) -> Any:
    """`text` as a scalar written the way `old` was (double, single or no quotes)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

    if isinstance(old, ScalarString):
        return type(old)(text)
    if isinstance(old, str):
        return text
    return DoubleQuotedScalarString(text)


# --- the transplant -------------------------------------------------------------------

def _eol_comments(root: Any) -> dict[int, int]:
    """0-based line → column of each comment that ends a line holding a value."""
    found: dict[int, int] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, (CommentedMap, CommentedSeq)):
            continue
        seen.add(id(node))
        for entry in node.ca.items.values():
            for token in entry or ():
                if isinstance(token, CommentToken) and token.value.startswith("#") and \
                        token.start_mark is not None:
                    found[token.start_mark.line] = token.column
        stack.extend(_children(node))
    return found


def _keep_gap(old: str, new: str, column: int) -> str:
    """A line whose value grew keeps its comment where it was; when the value reaches the
    comment, ruamel leaves one space: keep the spaces the author had instead."""
    comment = old[column:].rstrip("\n")
    ending = new[len(new.rstrip("\n")):]
    body = new.rstrip("\n")
    if not comment.startswith("#") or not body.endswith(comment):
        return new
    code = body[:-len(comment)].rstrip()
    if len(code) < column:
        return new
    gap = len(old[:column]) - len(old[:column].rstrip())
    return code + " " * max(gap, 1) + comment + ending


def _transplant(original: str, baseline: str, edited: str,
                eol: dict[int, int] | None = None) -> str:
    """Apply the hunks that turn `baseline` (the unedited dump) into `edited` onto the
    original text, so that lines ruamel would merely reformat stay as written."""
    if not original.endswith("\n"):   # compare whole lines; the missing newline comes back
        text = _transplant(original + "\n", baseline, edited, eol)
        return text.removesuffix("\n")
    orig = original.splitlines(True)
    base = baseline.splitlines(True)
    new = edited.splitlines(True)
    to_orig: dict[int, int] = {}
    # Trailing blanks do not count: ruamel drops them, and a line that changes loses them.
    for block in difflib.SequenceMatcher(None, [line.rstrip() for line in orig],
                                         [line.rstrip() for line in base],
                                         autojunk=False).get_matching_blocks():
        for offset in range(block.size):
            to_orig[block.b + offset] = block.a + offset
    edits: list[tuple[int, int, list[str]]] = []      # (start, end) in orig, replacement
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
            None, base, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 < i2:                                  # replace or delete: every line mapped
            mapped = [to_orig.get(i) for i in range(i1, i2)]
            if None in mapped or mapped != list(range(mapped[0], mapped[0] + len(mapped))):
                raise Skip("ruamel.yaml would reformat the lines around the change; "
                           "nothing written")
            start, end = mapped[0], mapped[-1] + 1
        elif i1 in to_orig:                          # insert before a mapped line
            start = end = to_orig[i1]
        elif i1 - 1 in to_orig:                      # … or after one
            start = end = to_orig[i1 - 1] + 1
        elif i1 == 0:
            start = end = 0
        else:
            raise Skip("ruamel.yaml would reformat the lines around the change; "
                       "nothing written")
        lines = new[j1:j2]
        for number in range(start, end):            # a changed line keeps its comment's place
            if eol and number in eol:
                comment = orig[number][eol[number]:].rstrip("\n")
                for k, line in enumerate(lines):
                    if comment.startswith("#") and line.rstrip("\n").endswith(comment):
                        lines[k] = _keep_gap(orig[number], line, eol[number])
                        break
        edits.append((start, end, lines))
    result = list(orig)
    for start, end, lines in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        result[start:end] = lines
    return "".join(result)


# --- the check ------------------------------------------------------------------------

def _differences(a: Any, b: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                yield path + (key,)
            else:
                yield from _differences(a[key], b[key], path + (key,))
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield path
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                yield from _differences(x, y, path + (i,))
    elif type(a) is not type(b) or a != b:
        yield path
