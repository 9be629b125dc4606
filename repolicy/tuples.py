"""`NamedTuple` classes made without compiling code while the program starts.

`typing.NamedTuple` writes each class's `__new__` as source text and compiles
it with `eval`: about 0.1 ms a class, at import. The pre-commit hook imports
some thirty of them, 3 ms of every commit, a twentieth of the whole run. The
classes made here behave as those do (a tuple subclass with the same
fields, defaults, `_make`, `_replace`, `_asdict`, repr and pickling); only
their `__new__` is one function for every class, written here, in place of
one compiled per class.

A module defines its records as before, with type checkers still shown
`typing.NamedTuple`:

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from repolicy.tuples import NamedTuple

    class Point(NamedTuple):
        x: int
        y: int = 0
"""

from __future__ import annotations

import operator

try:
    # A field's accessor, as collections.namedtuple makes it.
    from _collections import _tuplegetter  # type: ignore[import-not-found]
except ImportError:  # another Python implementation

    def _tuplegetter(index: int, doc: str) -> property:
        return property(operator.itemgetter(index), doc=doc)


TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# What `typing.NamedTuple` refuses to let a class body define, since the class
# itself provides it.
_RESERVED = frozenset(
    {
        "__new__", "__init__", "__slots__", "__getnewargs__", "_fields",
        "_field_defaults", "_make", "_replace", "_asdict", "_source",
    }
)  # fmt: skip
# Set on the class by other means than copying from the body.
_SET_APART = frozenset({"__module__", "__qualname__", "__annotations__"})

_tuple_new = tuple.__new__


_NO_DEFAULT: Any = object()


class _Maker(type):
    """Turns each `class X(NamedTuple)` body into a tuple subclass."""

    def __new__(mcs, name: str, bases: tuple[type, ...], body: dict[str, Any]) -> Any:
        if not bases:  # NamedTuple itself
            return super().__new__(mcs, name, bases, body)
        if bases != (NamedTuple,):
            raise TypeError("a NamedTuple class can have no other base")
        return _record_class(name, body)


class NamedTuple(metaclass=_Maker):
    """The base a record class is written with (see the module's doc)."""


def _record_class(name: str, body: dict[str, Any]) -> type:
    annotations: dict[str, Any] = body.get("__annotations__", {})
    fields = tuple(annotations)
    defaults: dict[str, Any] = {}
    for field in fields:
        if field in body:
            defaults[field] = body[field]
        elif defaults:
            raise TypeError(
                f"Non-default namedtuple field {field} cannot follow default field"
                f"{'s' if len(defaults) > 1 else ''} {', '.join(defaults)}"
            )
    for key in body:
        if key in _RESERVED:
            raise AttributeError(f"Cannot overwrite NamedTuple attribute {key}")
    count = len(fields)
    listed = ", ".join(fields)

    values = tuple(defaults.values())
    required = count - len(values)
    # Each field with its default, or `_NO_DEFAULT`: a call by keywords alone
    # (as checks make their violations) is read in one pass.
    pairs = tuple((field, defaults.get(field, _NO_DEFAULT)) for field in fields)
    named = frozenset(fields)

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        given = len(args)
        if kwargs or given != count:
            if not kwargs and required <= given < count:  # the last fields left out
                args += values[given - required :]
            elif not given and named.issuperset(kwargs):
                get = kwargs.get
                args = tuple([get(field, default) for field, default in pairs])
                if any(value is _NO_DEFAULT for value in args):  # a field left out
                    args = _arguments(name, fields, defaults, (), kwargs)
            else:
                args = _arguments(name, fields, defaults, args, kwargs)
        return _tuple_new(cls, args)

    __new__.__doc__ = f"Create new instance of {name}({listed})"
    template = "(" + ", ".join(f"{field}=%r" for field in fields) + ")"

    def __repr__(self: tuple[Any, ...]) -> str:
        return type(self).__name__ + template % self

    def _make(cls: type, iterable: Iterable[Any]) -> Any:
        made: tuple[Any, ...] = _tuple_new(cls, iterable)
        if len(made) != count:
            raise TypeError(f"Expected {count} arguments, got {len(made)}")
        return made

    def _replace(self: Any, /, **changes: Any) -> Any:
        pairs = zip(fields, self, strict=True)
        made = self._make([changes.pop(field, value) for field, value in pairs])
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return made

    def _asdict(self: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(fields, self, strict=True))

    def __getnewargs__(self: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(self)

    namespace: dict[str, Any] = {
        "__doc__": f"{name}({listed})",
        "__slots__": (),
        "_fields": fields,
        "_field_defaults": defaults,
        "__new__": __new__,
        "_make": classmethod(_make),
        "_replace": _replace,
        "__repr__": __repr__,
        "_asdict": _asdict,
        "__getnewargs__": __getnewargs__,
        "__match_args__": fields,
    }
    for index, field in enumerate(fields):
        namespace[field] = _tuplegetter(index, f"Alias for field number {index}")
    made: type = type(name, (tuple,), namespace)
    made.__module__ = body["__module__"]
    made.__qualname__ = body.get("__qualname__", name)
    made.__annotations__ = dict(annotations)
    for key, value in body.items():
        if key not in _SET_APART and key not in fields:
            setattr(made, key, value)
    return made


def _arguments(
    name: str,
    fields: tuple[str, ...],
    defaults: dict[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, ...]:
    """The field values of a call with keywords or left-out defaults, in order;
    a TypeError for a call the class's signature would refuse."""
    if len(args) > len(fields):
        raise TypeError(
            f"{name}.__new__() takes {len(fields) + 1} positional arguments "
            f"but {len(args) + 1} were given"
        )
    for key in kwargs:
        if key not in fields:
            raise TypeError(f"{name}.__new__() got an unexpected keyword argument {key!r}")
        if fields.index(key) < len(args):
            raise TypeError(f"{name}.__new__() got multiple values for argument {key!r}")
    values = list(args)
    for field in fields[len(args) :]:
        if field in kwargs:
            values.append(kwargs.pop(field))
        elif field in defaults:
            values.append(defaults[field])
        else:
            raise TypeError(f"{name}.__new__() missing required argument: {field!r}")
    return tuple(values)
