"""Regular expressions compiled once per policy, not once per run.

`re.compile` parses a pattern and generates the regex engine's program in
Python: the hook's four screens (`match._Screen`) under the `ml-checkpoints`
preset take about 1.5 ms of every commit to compile. The program is a list of
numbers the engine (`_sre`) is then built from in microseconds; the policy
cache keeps it beside the patterns it was compiled from (`policy.cache`),
and a later run builds each screen from it.

A program is only used by the engine it was made for (`ENGINE`: the
implementation, the Python version and the engine's own magic number), for
exactly the pattern text and flags it was compiled from; the engine checks
every program it is given before it runs one. Where this Python's `re` lacks
the parts used here, or a program is refused, the pattern is compiled as
usual.
"""

from __future__ import annotations

import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # What `_sre.compile` takes after the pattern: flags, code, groups,
    # group index and the names by index.
    Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]

try:
    import _sre  # type: ignore[import-not-found]

    ENGINE: tuple[Any, ...] | None = (
        sys.implementation.name,
        sys.version_info[:2],
        _sre.MAGIC,
        _sre.CODESIZE,
    )
except (ImportError, AttributeError):  # another implementation
    ENGINE = None

_known: dict[tuple[bytes, int], Program] = {}


def remember(programs: list[tuple[bytes, int, Program]]) -> None:
    """Programs read from the policy cache, for this run's compilations."""
    for source, flags, program in programs:
        _known[(source, flags)] = program


def known(sources: list[tuple[bytes, int]]) -> list[tuple[bytes, int, Program]]:
    """The programs of `sources` compiled so far in this run (for the cache)."""
    return [(s, f, _known[(s, f)]) for s, f in sources if (s, f) in _known]


def compile(source: bytes, flags: int) -> re.Pattern[bytes]:
    """`re.compile(source, flags)`, from a remembered program when there is one;
    else compiled, and its program remembered."""
    flags = int(flags)
    program = _known.get((source, flags))
    if program is not None:
        try:
            regex: re.Pattern[bytes] = _sre.compile(source, *program)
            return regex
        except (TypeError, ValueError, RuntimeError, NameError):
            del _known[(source, flags)]  # refused by the engine: compiled below
    made = _program(source, flags)
    if made is None:
        return re.compile(source, flags)
    _known[(source, flags)] = made
    regex = _sre.compile(source, *made)
    return regex


def _program(source: bytes, flags: int) -> Program | None:
    """What `re.compile` hands the engine for `source`, made as it makes it
    (`re._compiler.compile`); None where this Python's `re` differs."""
    if ENGINE is None:
        return None
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(source, flags)
        # Opcodes are named int constants: plain ints, to be marshalled.
        code = [int(op) for op in _compiler._code(parsed, flags)]
        groupindex: dict[str, int] = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        return (
            flags | parsed.state.flags,
            code,
            parsed.state.groups - 1,
            groupindex,
            tuple(indexgroup),
        )
    except (ImportError, AttributeError, TypeError):
        return None
