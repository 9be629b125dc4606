"""Attributes as git gives them: `check-attr`, on the work tree or the index."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from repolicy.git.query import Pending, Query
from repolicy.git.records import decode, encode

T = TypeVar("T")


class _ThenQuery(Query[T]):
    """A query that runs `then` once git has ended, answered or not."""

    def __init__(
        self, pending: Pending, parse: Callable[[bytes], T], empty: T, then: Callable[[], None]
    ) -> None:
        super().__init__(pending, parse, empty)
        self._then = then

    def _answer(self, pending: Pending) -> T:
        try:
            return super()._answer(pending)
        finally:
            self._then()


class AttributeReader:
    """A started `git check-attr --stdin` waiting for its paths. `then` runs
    once git has ended (it removes a scratch index git was reading)."""

    def __init__(self, pending: Pending, then: Callable[[], None] | None = None) -> None:
        self._pending = pending
        self._then = then

    def ask(self, paths: Iterable[str]) -> Query[dict[str, dict[str, str]]]:
        """{path: {attr: value}} for `paths`, unspecified attributes left out."""
        wanted = list(dict.fromkeys(paths))
        data = b"\0".join(map(encode, wanted)) + b"\0" if wanted else b""
        # Written now (what the pipe takes): git answers while the caller goes on.
        self._pending.input = self._pending.proc.feed(data) if data else data
        if self._then is not None:
            return _ThenQuery(self._pending, _parse_check_attr, {}, self._then)
        return Query(self._pending, _parse_check_attr, {})

    def discard(self) -> None:
        """Never asked: end of input, and git exits without an answer."""
        self._pending.proc.close()
        if self._then is not None:
            self._pending.proc.wait()
            self._then()


class _Attributes(dict[str, dict[str, str]]):
    """{path: {attribute: value}} from `check-attr` answers, unspecified left out.
    Most paths get the same answer (filter=lfs): one dict serves them all."""

    def __init__(self) -> None:
        super().__init__()
        self._shared: dict[tuple[str, str], dict[str, str]] = {}

    def add(self, path: str, name: bytes, raw_value: bytes) -> None:
        if raw_value == b"unspecified":  # what most paths are told: nothing to decode
            return
        value = raw_value.decode(errors="replace")
        key = name.decode()
        attrs = self.get(path)
        if attrs is None:
            self[path] = self._shared.setdefault((key, value), {key: value})
        elif key not in attrs:
            self[path] = {**attrs, key: value}


def _parse_check_attr(out: bytes) -> dict[str, dict[str, str]]:
    fields = out.split(b"\0")
    result = _Attributes()
    for k in range(0, len(fields) - 2, 3):
        result.add(decode(fields[k]), fields[k + 1], fields[k + 2])
    return result
