"""Plain slotted classes with what `@dataclass` would generate for them.

The decorator writes and compiles each class's methods when the module is imported, about a
third of a millisecond per class, and an audit imports some forty of them before it reads a
file. The classes on that path spell out `__slots__` (in field order) and `__init__` (often
a hot path) themselves, and inherit from `Record` the rest, as `@dataclass` makes it:
equality field by field between objects of the same class, the same `repr`, no hash unless
frozen, and pickling.
"""

from __future__ import annotations

from operator import attrgetter
from reprlib import recursive_repr


class Record:
    """Base of a mutable record; its fields are its `__slots__`, in order (or `_fields`,
    when a slot past them holds a cache)."""

    __slots__: tuple[str, ...] = ()
    # As @dataclass(eq=True): mutable, so not hashable (typeshed's own spelling for list).
    __hash__ = None                  # type: ignore[assignment]
    _fields: tuple[str, ...] = ()
    _compared: tuple[str, ...] | None = None   # fields ==, hash() see (None: all of them)
    _shown: tuple[str, ...] | None = None      # fields repr() shows (None: all of them)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        slots = cls.__dict__.get("__slots__", ())
        # `name: type = default` in the class body would be a class attribute here, not a
        # field as in a dataclass: refuse it at import rather than lose the value silently.
        stray = [name for name in cls.__dict__.get("__annotations__", {}) if name not in slots]
        if stray:
            raise TypeError(f"{cls.__qualname__}: {', '.join(stray)} declared like a dataclass "
                            "field; a record's fields are its __slots__, set in __init__")
        cls._fields = cls.__dict__.get("_fields") or slots
        type.__setattr__(cls, "__match_args__", cls._fields)   # mypy refuses `cls.__match_args__ =`

    def _values(self) -> tuple[object, ...]:
        names = self._compared if self._compared is not None else self._fields
        return tuple([getattr(self, name) for name in names])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]  # same class

    @recursive_repr()               # a service's project lists the service: "..."
    def __repr__(self) -> str:
        names = self._shown if self._shown is not None else self._fields
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({fields})"

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt field by field, not through __init__ (whose parameters need not be the
        # fields: one may be set to a default there).
        return _rebuild, (self.__class__, tuple([getattr(self, name) for name in self.__slots__]))


def reduce_by_init(record: Record) -> tuple[object, ...]:
    """A record's `__reduce__` when its `__init__` takes its fields, in order, and keeps
    them as given: unpickled by calling the class, which sets its fields in one call rather
    than one `_rebuild` call per field. Worker processes send thousands of these. A cache
    in a slot past the fields (`_fields`) is not sent: the class starts it empty.

    Set as `__reduce__ = reduce_by_init` in the class body (its fields: two or more)."""
    cls = record.__class__
    getter = _FIELD_GETTERS.get(cls)
    if getter is None:
        getter = _FIELD_GETTERS[cls] = attrgetter(*cls._fields)
    return cls, getter(record)


# Each such class's fields, read as a tuple in C: made on its first pickling.
_FIELD_GETTERS: dict[type, attrgetter] = {}


set_frozen = object.__setattr__      # how a FrozenRecord's __init__ sets its fields


def _rebuild(cls: type[Record], values: tuple[object, ...]) -> Record:
    """Unpickle a record: a new object of `cls` with its fields set to `values`."""
    record = cls.__new__(cls)
    for name, value in zip(cls.__slots__, values):
        set_frozen(record, name, value)
    return record


class FrozenRecord(Record):
    """Base of an immutable record (`@dataclass(frozen=True)`): hashable by its fields.

    Its `__init__` sets fields with `set_frozen`, as the generated one does.
    """

    __slots__ = ()

    def __hash__(self) -> int:      # type: ignore[override]  # None above: not hashable
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise _frozen(name)

    def __delattr__(self, name: str) -> None:
        raise _frozen(name)


def _frozen(name: str) -> Exception:
    from dataclasses import FrozenInstanceError  # what assigning to a frozen dataclass raises

    return FrozenInstanceError(f"cannot assign to field {name!r}")
