"""Records behave as the dataclasses they replace: equality, hash, repr, frozen, pickling."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError

import pytest

from labwarden._record import FrozenRecord, Record, reduce_by_init, set_frozen
from labwarden.model import Diagnostic, Finding, Location, Rule, Severity


class Point(Record):
    __slots__ = ("x", "y", "seen")
    _compared = ("x", "y")                 # `seen` is not compared (field(compare=False))

    def __init__(self, x: int, y: int = 0):
        self.x = x
        self.y = y
        self.seen = False                  # set to a default, not an argument


class Pair(FrozenRecord):
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        set_frozen(self, "a", a)
        set_frozen(self, "b", b)


def test_equality_and_hash():
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    first, second = Point(1), Point(1)
    second.seen = True
    assert first == second                 # not a compared field
    assert Point(1) != (1, 0, False)       # other classes are never equal
    with pytest.raises(TypeError):
        hash(Point(1))                     # mutable: unhashable, as @dataclass(eq=True)
    assert hash(Pair(1, "x")) == hash(Pair(1, "x")) and Pair(1, "x") == Pair(1, "x")


def test_repr_and_match_args():
    assert repr(Point(1, 2)) == "Point(x=1, y=2, seen=False)"
    assert Point.__match_args__ == ("x", "y", "seen")


def test_frozen():
    pair = Pair(1, 2)
    with pytest.raises(FrozenInstanceError):
        pair.a = 3
    with pytest.raises(FrozenInstanceError):
        del pair.b


def test_pickle_and_copy_keep_every_field():
    point = Point(1, 2)
    point.seen = True
    for clone in (pickle.loads(pickle.dumps(point)), copy.copy(point), copy.deepcopy(point)):
        assert (clone.x, clone.y, clone.seen) == (1, 2, True)
    assert pickle.loads(pickle.dumps(Pair(1, [2]))) == Pair(1, [2])


class Span(FrozenRecord):
    __slots__ = ("start", "end")
    __reduce__ = reduce_by_init            # its __init__ takes its fields, in order

    def __init__(self, start: int, end: int):
        set_frozen(self, "start", start)
        set_frozen(self, "end", end)


def test_a_record_rebuilt_by_its_init_keeps_every_field():
    span = Span(1, [2])
    assert span.__reduce__() == (Span, (1, [2]))
    for clone in (pickle.loads(pickle.dumps(span)), copy.copy(span), copy.deepcopy(span)):
        assert clone == span and clone.end is not None
    assert copy.deepcopy(span).end is not span.end


def test_dataclass_style_fields_are_refused():
    with pytest.raises(TypeError, match="declared like a dataclass field"):
        class Wrong(Record):               # noqa: F841 - defining it is the test
            __slots__ = ("a",)
            b: int = 0


def test_model_records():
    rule = Rule("CMP001", "example", Severity.LOW, "Title", object, check=None)
    finding = Finding(rule, Severity.LOW, "message", Location("file.yaml", 3), "compose:p/s")
    twin = pickle.loads(pickle.dumps(finding))
    assert twin == finding and twin.fingerprint == finding.fingerprint
    assert "_fingerprint" not in repr(finding)            # a cache, not a field
    finding.resource = "other"             # the cached fingerprint follows the identity
    assert finding.fingerprint != twin.fingerprint
    diagnostic = Diagnostic("error", "code", "message", Location("file.yaml", 1))
    assert {diagnostic: 1}[Diagnostic("error", "code", "message", Location("file.yaml", 1))]
    assert str(diagnostic) == "file.yaml:1: error[code]: message"


def test_annotated_slots_are_fields():
    class Typed(Record):
        __slots__ = ("a", "b")
        a: int
        b: str

        def __init__(self, a: int, b: str):
            self.a, self.b = a, b

    # Annotations only: the names stay slot descriptors, fields in slot order.
    assert Typed._fields == ("a", "b") and Typed(1, "x") == Typed(1, "x")
    assert type(Typed.__dict__["a"]).__name__ == "member_descriptor"


def test_core_records_declare_every_field_for_type_checkers():
    """Type checkers and IDEs see a record's fields only through class annotations: the
    frozen records set theirs with object.__setattr__, invisible to them."""
    from labwarden import model
    from labwarden.sources import envfile
    from labwarden.sources.compose import model as compose

    records = [cls for module in (model, compose, envfile) for cls in vars(module).values()
               if isinstance(cls, type) and issubclass(cls, Record)
               and cls.__module__ == module.__name__]
    assert len(records) >= 15
    for cls in records:
        assert list(cls.__dict__.get("__annotations__", {})) == list(cls.__slots__), cls


def test_a_diagnostics_cache_is_no_field() -> None:
    """What a reporter keeps on a diagnostic (its encoded JSON) is not one of its fields:
    equal diagnostics stay equal and hash alike, and a pickled one arrives without it."""
    import pickle

    from labwarden._record import set_frozen
    from labwarden.model import Diagnostic, Location

    plain = Diagnostic("gap", "unset-variable", "X is not set", Location("a.yaml", 3))
    cached = Diagnostic("gap", "unset-variable", "X is not set", Location("a.yaml", 3))
    set_frozen(cached, "encoded", b'{"level":"gap"}')
    assert cached == plain and hash(cached) == hash(plain)
    assert "encoded" not in repr(cached)
    copy = pickle.loads(pickle.dumps(cached))
    assert copy == plain and copy.encoded is None
