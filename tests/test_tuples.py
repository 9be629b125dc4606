"""repolicy.tuples.NamedTuple makes the classes typing.NamedTuple makes, compiled nothing.

Each class is written twice, once on each base, and the two must agree on
everything a caller can see: values, defaults, keywords, repr, the namedtuple
methods, pickling, and the calls they refuse.
"""

from __future__ import annotations

import copy
import pickle
import typing
from typing import Any

import pytest

from repolicy.git.records import Change, RepoInfo
from repolicy.scope import Staged

TYPE_CHECKING = False
if TYPE_CHECKING:  # as the modules of the product write it
    from typing import NamedTuple
else:
    from repolicy.tuples import NamedTuple


class Typed(typing.NamedTuple):
    """A blob at a path."""

    path: str
    oid: str
    mode: str = "100644"
    commit: str | None = None
    LIMIT = 3  # a class attribute, not a field

    @property
    def short(self) -> str:
        return self.oid[: self.LIMIT]

    def joined(self) -> str:
        return f"{self.path}@{self.oid}"


class Made(NamedTuple):
    """A blob at a path."""

    path: str
    oid: str
    mode: str = "100644"
    commit: str | None = None
    LIMIT = 3  # a class attribute, not a field

    @property
    def short(self) -> str:
        return self.oid[: self.LIMIT]

    def joined(self) -> str:
        return f"{self.path}@{self.oid}"


class Bare(NamedTuple):
    x: int


BOTH = pytest.mark.parametrize("cls", [Typed, Made], ids=["typing", "tuples"])


def same(typed: Any, made: Any) -> None:
    """The two answers agree, the class name aside."""
    assert repr(typed).replace("Typed", "Made") == repr(made)
    assert tuple(typed) == tuple(made)


def test_values_defaults_and_keywords_agree() -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (("p", "abcdef"), {}),
        (("p", "abcdef", "120000"), {}),
        (("p", "abcdef", "100755", "c" * 40), {}),
        ((), {"path": "p", "oid": "o", "commit": "c"}),
        ((), {"commit": None, "mode": "m", "oid": "o", "path": "p"}),
        ((), {"oid": "o", "path": "p"}),
        (("p",), {"oid": "o", "mode": "m"}),
    ]
    for args, kwargs in calls:
        typed, made = Typed(*args, **kwargs), Made(*args, **kwargs)
        same(typed, made)
        assert hash(typed) == hash(made)
        assert made == tuple(typed)
        assert (made.path, made.oid, made.mode, made.commit) == tuple(typed)


def test_the_namedtuple_methods_agree() -> None:
    typed, made = Typed("p", "abcdef"), Made("p", "abcdef")
    same(typed._replace(mode="1", commit="c"), made._replace(mode="1", commit="c"))
    assert typed._asdict() == made._asdict()
    same(Typed._make(["a", "b", "c", "d"]), Made._make(["a", "b", "c", "d"]))
    assert Typed._fields == Made._fields == Made.__match_args__
    assert Typed._field_defaults == Made._field_defaults
    assert typed.__getnewargs__() == made.__getnewargs__()


def test_the_class_body_is_kept() -> None:
    made = Made("p", "abcdef")
    assert made.short == "abc"
    assert made.joined() == "p@abcdef"
    assert Made.LIMIT == 3
    assert Made.__doc__ == Typed.__doc__
    assert Made.__module__ == Typed.__module__
    assert Made.__qualname__ == "Made"
    assert list(Made.__annotations__) == list(Typed.__annotations__)
    assert Made.__mro__ == (Made, tuple, object)
    assert Bare.__doc__ == "Bare(x)"
    assert repr(Bare(1)) == "Bare(x=1)"


@BOTH
def test_copies_and_pickles_are_equal(cls: type) -> None:
    value = cls("p", "abcdef", commit="c")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(value, protocol))
        assert back == value and type(back) is cls
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value


@BOTH
@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((), {}, TypeError),
        (("p",), {}, TypeError),
        (("p", "o", "m", "c", "extra"), {}, TypeError),
        (("p",), {"path": "again"}, TypeError),
        (("p", "o"), {"unknown": 1}, TypeError),
        ((), {"path": "p"}, TypeError),
        ((), {"path": "p", "oid": "o", "unknown": 1}, TypeError),
    ],
)
def test_the_same_calls_are_refused(
    cls: type, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        cls(*args, **kwargs)


@BOTH
def test_bad_replacements_and_lengths_are_refused(cls: Any) -> None:
    with pytest.raises(ValueError):
        cls("p", "o")._replace(unknown=1)
    with pytest.raises(TypeError):
        cls._make(["p"])


def test_class_bodies_typing_refuses_are_refused() -> None:
    with pytest.raises(TypeError):

        class DefaultFirst(NamedTuple):
            a: int = 1
            b: int

    with pytest.raises(AttributeError):

        class OwnMake(NamedTuple):
            a: int

            def _make(self) -> None: ...


def test_the_records_of_the_hook_are_made_here() -> None:
    # What the change is for: no class the hook imports compiles code at import.
    for cls in (Change, RepoInfo, Staged):
        assert cls.__new__.__qualname__.startswith("_record_class")
    change = Change("A", "000000", "100644", "0" * 40, "a" * 40, "x.bin")
    assert change.path == "x.bin" and change._replace(path="y").path == "y"
    assert repr(RepoInfo("/top", "/top/.git", "")) == (
        "RepoInfo(toplevel='/top', git_dir='/top/.git', prefix='')"
    )
