"""Attributes as git gives them: `check-attr`, on the work tree or the index."""

from __future__ import annotations

from collections.abc import Iterable

from repolicy.git.query import Pending, Query
from repolicy.git.records import decode, encode


class AttributeReader:
    """A started `git check-attr --stdin` waiting for its paths."""

    def __init__(self, pending: Pending) -> None:
        self._pending = pending

    def ask(self, paths: Iterable[str]) -> Query[dict[str, dict[str, str]]]:
        """{path: {attr: value}} for `paths`, unspecified attributes left out."""
        wanted = list(dict.fromkeys(paths))
        self._pending.input = b"\0".join(map(encode, wanted)) + b"\0" if wanted else b""
        return Query(self._pending, _parse_check_attr, {})

    def discard(self) -> None:
        """Never asked: end of input, and git exits without an answer."""
        self._pending.proc.close()


class _Attributes(dict[str, dict[str, str]]):
    """{path: {attribute: value}} from `check-attr` answers, unspecified left out.
    Most paths get the same answer (filter=lfs): one dict serves them all."""

    def __init__(self) -> None:
        super().__init__()
        self._shared: dict[tuple[str, str], dict[str, str]] = {}

    def add(self, path: str, name: bytes, raw_value: bytes) -> None:
        value = raw_value.decode(errors="replace")
        if value == "unspecified":
            return
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
