"""Safe YAML loading that keeps the file and line of every key and item.

libyaml (through PyYAML's C composer) builds the node graph; we construct values ourselves
because Compose reads YAML the way Go's yaml.v3 does, close to YAML 1.2's core schema
(`yes`/`on` are strings, `22:22` is a string, not a base-60 integer), and because every
mapping key and sequence item must remember where it was written.

Hostile input is refused before it can hurt: anything but a regular file, files over a size
limit, binary files, invalid UTF-8 (UTF-16 and UTF-32 are read when a byte-order mark says
so), nesting deep enough to overflow libyaml's recursive composer (which would crash the
process, not raise), and alias "bombs" whose expansion would be exponential.
"""

from __future__ import annotations

import operator
import re

from labwarden.model import Location
from labwarden.sources._read import (DecodeError, FileTooLarge, NotRegularFile, decode_text,
                                      is_plain_utf8, read_regular)

TYPE_CHECKING = False       # typing stays off the start-up path (tests/test_startup_imports)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import yaml

# PyYAML is imported on the first parse (`_load`), not with this module: Map and Seq are
# imported by every stage, and an audit of live targets alone parses no YAML (12 ms of a
# one-target `labwarden audit https://…`).
_yaml_loaded = False
_Loader: "Any" = None                # CSafeLoader (SafeLoader without libyaml), set by _load()

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 200               # Compose files nest about ten levels; libyaml crashes near 30,000
MAX_EXPANDED_NODES = 200_000  # the most nodes alias expansion may add to a document
MAX_DOCUMENTS = 1000          # `---` separated documents in one file (merging them is quadratic)
# Python converts at most 4,300 decimal digits between int and str (int() and str() are
# quadratic beyond): a longer number is kept as the text it was written as, so that no
# later int() or str() of it fails. 14,000 bits stay under 4,300 decimal digits.
MAX_INT_DIGITS = 4300
_MAX_INT_BITS = 14_000


class YamlLoadError(Exception):
    """The file cannot be read as YAML. `code` is a stable diagnostic code."""

    def __init__(self, code: str, message: str, location: Location):
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location


class Map(dict):
    """A mapping that remembers where it and each of its keys were written."""

    __slots__ = ("loc", "key_locs", "tag", "written")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loc: Location | None = None
        self.key_locs: dict[str, Location] = {}
        self.tag: str = ""
        self.written: dict | None = None  # key -> text before interpolation, where it had `$`

    def loc_of(self, key: str) -> Location | None:
        return self.key_locs.get(key, self.loc)


class Seq(list):
    """A sequence that remembers where it and each of its items were written."""

    __slots__ = ("loc", "item_locs", "tag", "written")

    def __init__(self, *args):
        super().__init__(*args)
        self.loc: Location | None = None
        self.item_locs: list[Location] = []
        self.tag: str = ""
        self.written: dict | None = None  # index -> text before interpolation

    def loc_of(self, index: int) -> Location | None:
        if 0 <= index < len(self.item_locs):
            return self.item_locs[index]
        return self.loc


class Tagged(str):
    """A scalar with a Compose-specific tag (`!reset`, `!override`)."""

    __slots__ = ()


RESET = "!reset"
OVERRIDE = "!override"

# YAML 1.2 core schema, as yaml.v3 resolves plain scalars.
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_INT = re.compile(r"[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"),
                  ".Inf": float("inf"), "+.Inf": float("inf"), "-.Inf": float("-inf"),
                  ".INF": float("inf"), "+.INF": float("inf"), "-.INF": float("-inf"),
                  ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}
_STR_TAG = "tag:yaml.org,2002:str"
_ScalarNode = _MappingNode = None    # yaml's node classes, set by _load()
# Location(path, line) without the Python-level __new__ a NamedTuple has: the same tuple.
_location = tuple.__new__
# The tag our composer gives a scalar written without one (an explicit `!!str` keeps _STR_TAG);
# PyYAML's pure-Python composer cannot tell them apart, so there it is _STR_TAG (_load).
_IMPLICIT = "?"


# The first characters of a plain scalar that may be something other than its text: null
# (`~`, `null`, and the empty scalar, whose [:1] is "" and found in any string), a boolean,
# a number. The builder keeps any other plain scalar as it is without calling resolve_plain:
# most values of a Compose file are words, paths and image names.
_TYPED_START = "~nNtTfF0123456789-+."


def may_interpolate(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether Compose's interpolation could change anything in `text[start:end]`: only a
    `$` starts a reference, and a backslash may write one (a double-quoted `\\x24{VAR}`
    is a `${VAR}` once the YAML is read)."""
    return text.find("$", start, end) >= 0 or text.find("\\", start, end) >= 0


def resolve_plain(text: str) -> object:
    """The value of a plain (unquoted) scalar under YAML 1.2's core schema."""
    if text in _NULLS:
        return None
    first = text[0]
    if first in "tTfF":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if first in "0123456789-+.":
        if _INT.match(text):
            if len(text) > MAX_INT_DIGITS:
                return _huge_int(text)
            if "0o" in text:
                return _bounded_int(text, int(text.replace("0o", ""), 8))
            if "0x" in text:
                return _bounded_int(text, int(text, 16))
            digits = text[1:] if first in "+-" else text
            if digits[0] == "0" and len(digits) > 1:
                # yaml.v3 still reads YAML 1.1's 0755 as octal (a secret's `mode: 0440`);
                # 089 is no octal number, and Go's ParseFloat reads it as 89.
                return _bounded_int(text, int(text, 8)) if "8" not in text and \
                    "9" not in text else float(text)
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        if text in _SPECIAL_FLOAT:
            return _SPECIAL_FLOAT[text]
    return text


def _bounded_int(text: str, value: int) -> int | str:
    """`value`, unless str() of it would fail: then the text (a long hex or octal number)."""
    return value if value.bit_length() <= _MAX_INT_BITS else _huge_int(text)


class LongNumber(str):
    """A plain scalar that is a number too long to convert, kept as the text written."""

    __slots__ = ()


# How many LongNumbers this process has made: `parse_yaml` walks a file's documents for them
# only when the count moved while it built them, instead of searching every file's text.
_long_numbers_made = 0


def _huge_int(text: str) -> str:
    global _long_numbers_made
    _long_numbers_made += 1
    return LongNumber(text)


def _huge_numbers(documents: list, path: str) -> list[tuple[str, str, Location]]:
    """A problem for each plain scalar that is a number too long to convert."""
    problems = []
    stack = [d for d in documents if isinstance(d, (Map, Seq))]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, Map) else enumerate(node)
        for key, value in pairs:
            if isinstance(value, (Map, Seq)):
                stack.append(value)
            elif type(value) is LongNumber:
                problems.append(("number-too-long", f"a number of {len(value):,} characters "
                                 f"is longer than Python converts ({MAX_INT_DIGITS:,} digits); "
                                 "read as text", node.loc_of(key) or Location(path)))
    return problems


def read_text(path: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a text file defensively; every refusal is a YamlLoadError with a location."""
    return _read_file(path, max_bytes)[1]


def _read_file(path: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of a file and its text, refused as `read_text()` says."""
    whole = Location(path)
    try:
        data = read_regular(path, max_bytes)
    except NotRegularFile as exc:
        raise YamlLoadError("not-a-file", f"{exc.strerror}; not read", whole) from None
    except FileTooLarge as exc:
        size = f"file is {exc.size / 1048576:.1f} MiB, over" if exc.size is not None else \
            "file is over"
        raise YamlLoadError("file-too-large", f"{size} the {max_bytes / 1048576:.0f} MiB "
                            "limit; not parsed", whole) from None
    except OSError as exc:
        raise YamlLoadError("unreadable", f"cannot read file: {exc.strerror}", whole) from None
    try:
        return data, decode_text(data)
    except DecodeError as exc:
        message = "file contains NUL bytes: binary, not YAML" if exc.code == "binary-file" \
            else exc.message
        raise YamlLoadError(exc.code, message, Location(path, exc.line)) from None


# A line that opens with MAX_DEPTH characters of block indentation (`^[ \t?:-]{200}` in
# multi-line mode), looked for after each newline: a pattern that starts with a literal is
# searched for by its first character, several times faster than one tried at every offset.
_BLOCK_RUN_FIRST = re.compile(rf"[ \t?:-]{{{MAX_DEPTH}}}")
_BLOCK_RUN = re.compile(rf"\n[ \t?:-]{{{MAX_DEPTH}}}")


def _may_nest_deeply(text: str) -> bool:
    """A cheap bound: depth <= flow openers + the longest run of block indentation."""
    return (_more_than(text, "[{", MAX_DEPTH // 2)
            or _BLOCK_RUN_FIRST.match(text) is not None
            or _BLOCK_RUN.search(text) is not None)


def _more_than(text: str, characters: str, limit: int) -> bool:
    """Whether `text` holds more than `limit` of `characters` in all. Found one by one,
    which stops past the limit, rather than counted: str.count() goes through the whole
    text a character at a time, str.find() with memchr(), and a Compose file holds a few
    dozen brackets at most."""
    count = 0
    for character in characters:
        at = text.find(character)
        while at >= 0:
            count += 1
            if count > limit:
                return True
            at = text.find(character, at + 1)
    return False


def _check_depth(text: str, path: str) -> None:
    """Measure nesting from the event stream (no recursion) before libyaml composes."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlLoadError(
                        "too-deep", f"nesting deeper than {MAX_DEPTH} levels; not parsed",
                        Location(path, event.start_mark.line + 1, event.start_mark.column + 1))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml >= 0.2.5 has a limit of its own
            mark = getattr(exc, "problem_mark", None)
            raise YamlLoadError("too-deep", "nesting too deep for the YAML parser; not parsed",
                                Location(path, mark.line + 1, mark.column + 1) if mark
                                else Location(path)) from None
        return  # the composer reports other syntax errors with a better message


def _syntax_error(exc: yaml.YAMLError, path: str) -> YamlLoadError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
    return YamlLoadError("yaml-syntax", message, loc)


class _Builder:
    """Turns a libyaml node graph into Map/Seq/scalars with locations.

    This is the fast path, for documents without anchors: their nesting was bounded before
    composing and their size is bounded by their text. `_AliasBuilder` guards the others.
    """

    def __init__(self, path: str, text: str = ""):
        self.path = path
        self.text = text
        self.locs: dict[int, Location] = {}
        self.problems: list[tuple[str, str, Location]] = []

    def loc(self, node) -> Location:
        line = node.start_mark.line + 1
        loc = self.locs.get(line)
        if loc is None:
            loc = self.locs[line] = _location(Location, (self.path, line, 0))
        return loc

    def build(self, node) -> object:
        kind = type(node)
        if kind is _ScalarNode:
            return _scalar(node)
        if kind is _MappingNode:
            return self._mapping(node)
        return self._sequence(node)

    def compose_document(self, node) -> object:
        """A document of a Compose file, whose extension fields are not built (`_unbuilt`):
        the `x-` keys of its top level and of each of its services, where the Compose
        specification puts them and where nothing reads them (a third of the values of the
        app stores' files, most of them `x-casaos` metadata). A document without `services`
        (a file of the first Compose format, where top-level keys are services) is built
        whole."""
        if type(node) is not _MappingNode or not any(
                key.value == "services" for key, _ in node.value if type(key) is _ScalarNode):
            return self.build(node)
        return self._mapping(node, _TOP_LEVEL)

    # The loops below build a plain, untagged scalar in place: it is most of the nodes, and
    # a call per node through build() would cost more than the value itself.

    def _sequence(self, node) -> Seq:
        seq = _new(Seq)
        seq.loc = self.loc(node)
        seq.item_locs = locs = []
        if node.tag[0] == "!":
            seq.tag = node.tag
        append, build, cache, path = seq.append, self.build, self.locs, self.path
        scalar, implicit, resolve = _ScalarNode, _IMPLICIT, resolve_plain
        for item in node.value:
            if type(item) is scalar and item.tag == implicit:
                text = item.value
                append(text if item.style or text[:1] not in _TYPED_START else resolve(text))
            else:
                append(build(item))
            line = item.start_mark.line + 1
            loc = cache.get(line)
            if loc is None:
                loc = cache[line] = _location(Location, (path, line, 0))
            locs.append(loc)
        return seq

    def _mapping(self, node, place: int = 0) -> Map:
        """`place`: where the mapping is in a Compose file (`compose_document`), 0 elsewhere."""
        result = _new(Map)
        result.loc = self.loc(node)
        result.key_locs = key_locs = {}
        if node.tag[0] == "!":
            result.tag = node.tag
        merges = None
        build, cache, path = self.build, self.locs, self.path
        scalar, implicit, resolve = _ScalarNode, _IMPLICIT, resolve_plain
        for key_node, value_node in node.value:
            if type(key_node) is scalar:
                key = key_node.value
                if not key_node.style:
                    if key == "<<":
                        if merges is None:
                            merges = []
                        merges.append(value_node)
                        continue
                    if key in _NULLS:  # resolve_plain(key) is None: the key is null
                        key = ""
            else:
                self._complex_key(key_node)
                continue
            line = key_node.start_mark.line + 1
            loc = cache.get(line)
            if loc is None:
                loc = cache[line] = _location(Location, (path, line, 0))
            if key in result:
                self._duplicate_key(key, loc)
            if type(value_node) is scalar and value_node.tag == implicit:
                text = value_node.value
                result[key] = text if value_node.style or text[:1] not in _TYPED_START else \
                    resolve(text)
            elif not place:
                result[key] = build(value_node)
            elif place != _SERVICES and key[:2] == "x-" and type(value_node) is not scalar \
                    and self._inert(value_node):
                result[key] = self._unbuilt(value_node)
            elif type(value_node) is _MappingNode and (
                    place == _SERVICES or place == _TOP_LEVEL and key == "services"):
                result[key] = self._mapping(value_node, _SERVICE if place == _SERVICES
                                            else _SERVICES)
            else:
                result[key] = build(value_node)
            key_locs[key] = loc
        if merges:  # explicit keys win; among merged maps, the first wins
            for merge_node in merges:
                for source in _merge_sources(merge_node):
                    if source.id != "mapping":
                        self._bad_merge(source)
                        continue
                    merged = self.build(source)  # through build: an alias is counted
                    for key, value in merged.items():
                        if key not in result:
                            result[key] = value
                            key_locs[key] = merged.key_locs[key]
        return result

    def _inert(self, node) -> bool:
        """Whether interpolation could change nothing in the node's text."""
        return not may_interpolate(self.text, node.start_mark.index, node.end_mark.index)

    def _unbuilt(self, node) -> Map | Seq:
        """An extension field's value, left unbuilt: an empty Map or Seq in its place, once
        what building it would have reported is reported (`_check`)."""
        self._check(node)
        placeholder = _new(Map if type(node) is _MappingNode else Seq)
        placeholder.loc = self.loc(node)
        if type(placeholder) is Map:
            placeholder.key_locs = {}
        else:
            placeholder.item_locs = []
        return placeholder

    def _check(self, node) -> None:
        """The problems `_mapping` and `_sequence` report, in the order they report them,
        without building anything: a key that is not a scalar, a key defined twice, a `<<`
        that merges something other than mappings. (A number too long to convert is not one
        of them: it is read as text, and here it is not read at all.) Keys are read as
        `_mapping` reads them, inlined there for speed; tests/sources/test_yaml_extensions.py
        holds the two to the same problems."""
        scalar = _ScalarNode
        if type(node) is not _MappingNode:
            for item in () if type(node) is scalar else node.value:
                if type(item) is not scalar:
                    self._check(item)
            return
        seen: set[str] = set()
        merges: list = []
        for key_node, value_node in node.value:
            if type(key_node) is not scalar:
                self._complex_key(key_node)
                continue
            plain = not key_node.style
            if plain and key_node.value == "<<":
                merges.append(value_node)
                continue
            key = "" if plain and key_node.value in _NULLS else key_node.value
            if key in seen:
                self._duplicate_key(key, self.loc(key_node))
            seen.add(key)
            if type(value_node) is not scalar:
                self._check(value_node)
        for merge_node in merges:
            for source in _merge_sources(merge_node):
                if source.id == "mapping":
                    self._check(source)
                else:
                    self._bad_merge(source)

    # The problems a document may have that do not stop it being read.

    def _complex_key(self, key_node) -> None:
        self.problems.append(("complex-key", "a mapping key must be a scalar",
                              self.loc(key_node)))

    def _duplicate_key(self, key: str, loc: Location) -> None:
        self.problems.append(("duplicate-key", f"key {key!r} is defined twice; Compose "
                              "refuses such a file", loc))

    def _bad_merge(self, source) -> None:
        self.problems.append(("bad-merge", "`<<` takes a mapping or a list of mappings",
                              self.loc(source)))


def _merge_sources(merge_node) -> list:
    """What a `<<` key merges: each item of a sequence, or the one node given."""
    return merge_node.value if merge_node.id == "sequence" else [merge_node]


# Where a mapping is in a Compose file, for `_Builder.compose_document`: the extension fields
# of the top level and of a service are left unbuilt; `services` itself holds services.
_TOP_LEVEL, _SERVICES, _SERVICE = 1, 2, 3


def _scalar(node) -> object:
    tag = node.tag
    if tag == _IMPLICIT or tag[0] == "!":  # `!override`, a foreign local tag: no type
        if tag == RESET:
            return Tagged(RESET)
        return node.value if node.style else resolve_plain(node.value)
    return _explicit(tag, node.value)  # `!!int 5`, `!!str 42`


class _AliasBuilder(_Builder):
    """The builder for documents with anchors, where the text no longer bounds the result.

    Each use of an alias builds its node again (later stages rewrite values in place, so
    they cannot be shared). The nodes each use adds are counted from the size the anchored
    node had when first built, so a "billion laughs" is refused before it is expanded; and
    depth is counted as built, since an alias nested in an alias nests deeper than the
    text shows (deep enough to overflow Python's stack).
    """

    def __init__(self, path: str):
        super().__init__(path)
        self.sizes: dict[int, int] = {}  # id(container node) -> nodes it expands to
        self.expanded = 0
        self.depth = 0

    def build(self, node) -> object:
        kind = node.id
        if kind == "scalar":
            return _scalar(node)
        sizes = self.sizes
        size = sizes.get(id(node))
        if size is not None:  # built before: this is an alias being expanded
            self.expanded += size
            if self.expanded > MAX_EXPANDED_NODES:
                raise YamlLoadError("yaml-bomb", "aliases expand to more than "
                                    f"{MAX_EXPANDED_NODES:,} nodes (a \"billion laughs\" "
                                    "document); not parsed", self.loc(node))
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise YamlLoadError("too-deep", f"aliases nest deeper than {MAX_DEPTH} levels; "
                                "not parsed", self.loc(node))
        value = _Builder.build(self, node)
        self.depth -= 1
        if size is None:
            total = 1
            if kind == "mapping":
                for key_node, value_node in node.value:
                    total += sizes.get(id(key_node), 1) + sizes.get(id(value_node), 1)
            else:
                for item in node.value:
                    total += sizes.get(id(item), 1)
            sizes[id(node)] = total
        return value


def _new(cls):
    """A Map or Seq without the Python-level __init__ (the loader's hottest allocation)."""
    obj = cls.__new__(cls)
    obj.tag = ""
    obj.written = None
    return obj


def _explicit(tag: str, text: str) -> object:
    """A scalar with an explicit core tag (`!!int 5`); anything odd stays a string."""
    value = resolve_plain(text)
    kinds = {"tag:yaml.org,2002:int": int, "tag:yaml.org,2002:float": float,
             "tag:yaml.org,2002:bool": bool, "tag:yaml.org,2002:null": type(None)}
    wanted = kinds.get(tag)
    if wanted is float and type(value) is int:
        return float(value)
    return value if wanted is not None and type(value) is wanted else text


class _TooManyDocuments(Exception):
    pass


def _compose_on_first_use(text: str | bytes) -> list:
    _load()
    return _compose_all(text)


_compose_all: "Callable[[str | bytes], list]" = _compose_on_first_use   # replaced by _load()


def _load() -> None:
    """Import PyYAML and build what parsing needs from it, once."""
    global yaml, _Loader, _ScalarNode, _MappingNode, _IMPLICIT, _compose_all, _yaml_loaded
    import yaml

    try:  # libyaml is a hard requirement for speed, but a missing build must still work.
        from yaml import CSafeLoader as _Loader
        from yaml._yaml import CParser as _Parser
    except ImportError:  # pragma: no cover - only on a PyYAML built without libyaml
        from yaml import SafeLoader as _Loader
        _Parser = None
    _ScalarNode, _MappingNode = yaml.ScalarNode, yaml.MappingNode
    if _Parser is not None:
        class _ComposingParser(_Parser):
            """libyaml's composer without PyYAML's pure-Python tag resolver.

            The resolver costs a Python call per scalar and implements YAML 1.1, whose
            answers we discard anyway: `_Builder` resolves plain scalars itself from
            `node.style`. libyaml still calls the three methods below for every node (three
            Python calls each, 330,000 over the corpus), so they do as little as they can:
            a node written without a tag (or with the non-specific `!`) gets _IMPLICIT
            whatever its kind, as only a scalar's tag is compared with it and a
            collection's is only looked at for a leading `!`.
            """

            __slots__ = ()   # no instance __dict__ to search on each of those calls

            # Callables written in C, which a class attribute does not bind to the parser:
            # `str.format` of a text without fields returns that text whatever it is given,
            # `operator.is_` and `tuple` take the arguments given and have no effect (nor
            # allocate: `slice` made an object per node, 4 ms of a corpus's 110). A Python
            # function costs an interpreter frame on each of those calls, about three times
            # as much.
            resolve = _IMPLICIT.format              # (kind, value, implicit) -> _IMPLICIT
            descend_resolver = operator.is_         # (parent, index) -> ignored
            ascend_resolver = tuple                 # () -> ignored

        def compose_all(text: str | bytes) -> list:
            parser = _ComposingParser(text)
            nodes: list = []
            while parser.check_node():
                if len(nodes) >= MAX_DOCUMENTS:
                    raise _TooManyDocuments
                nodes.append(parser.get_node())
            return nodes
    else:  # pragma: no cover
        _IMPLICIT = _STR_TAG

        def compose_all(text: str | bytes) -> list:
            nodes: list = []
            for node in yaml.compose_all(text, Loader=_Loader):
                if len(nodes) >= MAX_DOCUMENTS:
                    raise _TooManyDocuments
                nodes.append(node)
            return nodes
    _compose_all = compose_all
    _yaml_loaded = True


def parse_yaml(text: str, path: str, utf8: bytes | None = None, compose: bool = False,
               ) -> tuple[list[object], list[tuple[str, str, Location]]]:
    """Parse every document of `text`. Returns (documents, recoverable problems).

    `utf8` is `text` encoded in UTF-8, when the caller has it (the file as read): libyaml
    parses UTF-8, and would otherwise be given the text encoded again. `compose`: the text
    is a Compose file, whose extension fields need not be built (`compose_document`).
    """
    if not _yaml_loaded:
        _load()
    if _may_nest_deeply(text):
        _check_depth(text, path)
    try:
        nodes = _compose_all(text if utf8 is None else utf8)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, path) from None
    except _TooManyDocuments:
        raise YamlLoadError("too-many-documents", f"more than {MAX_DOCUMENTS} YAML documents "
                            "in one file; not parsed", Location(path)) from None
    # Aliases need anchors: without both characters the text bounds size and depth.
    # The extension fields are left unbuilt only without aliases, which may name what is
    # under them: the alias builder builds every node as the documents use it.
    builder = _AliasBuilder(path) if "&" in text and "*" in text else _Builder(path, text)
    build = builder.compose_document if compose and type(builder) is _Builder else \
        builder.build
    long_numbers = _long_numbers_made
    documents = []
    try:
        for node in nodes:
            if node is not None:
                documents.append(build(node))
    except RecursionError:  # not expected after the checks above; never crash the audit
        raise YamlLoadError("too-deep", "nesting too deep to read; not parsed",
                            Location(path)) from None
    problems = builder.problems
    if _long_numbers_made != long_numbers:
        problems = problems + _huge_numbers(documents, path)
    return documents, problems


def load_yaml_file(path: str, max_bytes: int = MAX_FILE_BYTES, compose: bool = False):
    """Read and parse a YAML file: (text, documents, problems). Raises YamlLoadError.
    `compose`: as `parse_yaml`'s."""
    data, text = _read_file(path, max_bytes)
    documents, problems = parse_yaml(text, path, data if is_plain_utf8(data) else None,
                                     compose)
    return text, documents, problems
