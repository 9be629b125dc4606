"""Reading `.gitignore` and `.gitattributes` files the way git reads them.

Git answers what a path's ignore state and attributes are (`check-ignore`,
`check-attr`); this module answers the questions git has no command for:
which `.gitattributes` line set an attribute, which `!` lines can never take
effect, and which lines git reads differently than they look.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from repolicy.policy.match import Pattern, compile_pattern

# `binary` is git's one built-in macro; repositories rarely define others.
_MACROS = {"binary": ("-diff", "-merge", "-text")}


class FileLine(NamedTuple):
    file: str  # repository-relative, e.g. ".gitignore" or "data/.gitattributes"
    line: int  # 1-based
    text: str


class AttributeSource(NamedTuple):
    """Where a path's attribute value comes from."""

    file: str
    line: int
    text: str
    value: str  # as check-attr prints it: "lfs", "set", "unset", "unspecified"


def lines_of(data: bytes) -> list[str]:
    """A file's lines as git splits them (a BOM dropped, a CR before LF ignored)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", "surrogateescape")
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]


def base_of(file: str) -> str:
    """The directory an ignore or attribute file's patterns are relative to ('' at the top,
    and for `.git/info/exclude` and `.git/info/attributes`)."""
    return "" if file.startswith(".git/") else posixpath.dirname(file)


def _relative(path: str, base: str) -> str | None:
    if not base:
        return path
    return path[len(base) + 1 :] if path.startswith(base + "/") else None


def lint(file: str, data: bytes) -> list[str]:
    """Lines git reads differently than they look, as `FILE:LINE: message` warnings."""
    warnings = []
    raw = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    raw_lines = raw.split(b"\n")
    crlf = sum(ln.endswith(b"\r") for ln in raw_lines)
    mixed = 0 < crlf < len([ln for ln in raw_lines[:-1]])
    for k, ln in enumerate(lines_of(data), 1):
        if not ln or ln.startswith("#"):
            continue
        stripped = ln.rstrip(" ")
        if stripped != ln and not stripped.endswith("\\"):
            warnings.append(
                f"{file}:{k}: trailing space: git drops it and reads {stripped!r}; delete it, "
                "or escape the last one as '\\ ' if the name really ends with a space"
            )
        if "\r" in ln:
            warnings.append(
                f"{file}:{k}: a carriage return inside the line is part of the pattern "
                "and matches no ordinary file name"
            )
        elif mixed and k <= len(raw_lines) and raw_lines[k - 1].endswith(b"\r"):
            warnings.append(
                f"{file}:{k}: this line ends with CRLF in a file of LF lines; git strips the "
                "CR, but other tools may not: convert the file to one line ending"
            )
    return warnings


def _unquote(token: str) -> str:
    """A C-quoted `.gitattributes` pattern ("with spaces") as git reads it."""
    body = token[1:-1]
    out, k = [], 0
    escapes = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
    while k < len(body):
        if body[k] == "\\" and k + 1 < len(body):
            out.append(escapes.get(body[k + 1], body[k + 1]))
            k += 2
        else:
            out.append(body[k])
            k += 1
    return "".join(out)


def parse_attribute_line(text: str) -> tuple[str, list[str]] | None:
    """`pattern attr1 attr2...` -> (pattern, states); None for comments, blanks, macros."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#") or stripped.startswith("[attr]"):
        return None
    if stripped.startswith('"'):
        end = 1
        while end < len(stripped) and stripped[end] != '"':
            end += 2 if stripped[end] == "\\" else 1
        pattern, rest = _unquote(stripped[: end + 1]), stripped[end + 1 :]
    else:
        pattern, _, rest = stripped.replace("\t", " ").partition(" ")
    states: list[str] = []
    for state in rest.split():
        states.extend(_MACROS.get(state, (state,)))
    return pattern, states


def _state_value(state: str, name: str) -> str | None:
    if state == name:
        return "set"
    if state == f"-{name}":
        return "unset"
    if state == f"!{name}":
        return "unspecified"
    if state.startswith(f"{name}="):
        return state[len(name) + 1 :]
    return None


def attribute_sources(
    files: Sequence[tuple[str, bytes]], path: str, names: Iterable[str]
) -> dict[str, AttributeSource]:
    """For each attribute, the line that decides its value for `path`.

    `files` are `.gitattributes` files (and `info/attributes`, named as the
    caller wants it shown) in increasing precedence: git lets a deeper file
    override a shallower one, and a later line an earlier one.
    """
    wanted = list(names)
    found: dict[str, AttributeSource] = {}
    for file, data in files:
        rel = _relative(path, base_of(file))
        if rel is None:
            continue
        for k, text in enumerate(lines_of(data), 1):
            parsed = parse_attribute_line(text)
            if parsed is None:
                continue
            pattern_text, states = parsed
            if pattern_text.startswith("!"):
                continue  # git ignores negative patterns in attributes
            if not compile_pattern(pattern_text).matches(_raw(rel), False):
                continue
            for name in wanted:
                for state in states:
                    value = _state_value(state, name)
                    if value is not None:
                        found[name] = AttributeSource(file, k, text.strip(), value)
    return found


def ignore_lines_matching(
    files: Sequence[tuple[str, bytes]], path: str, negated: bool
) -> list[FileLine]:
    """Lines of the given ignore files whose pattern matches `path` itself (not a parent);
    with `negated`, only `!` lines."""
    out = []
    for file, data in files:
        rel = _relative(path, base_of(file))
        if rel is None:
            continue
        for k, text in enumerate(lines_of(data), 1):
            if not text or text.startswith("#") or text.startswith("!") != negated:
                continue
            pattern = _compile_ignore_line(text[1:] if negated else text)
            if pattern is not None and pattern.matches(_raw(rel), False):
                out.append(FileLine(file, k, text))
    return out


def _raw(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def _compile_ignore_line(text: str) -> Pattern | None:
    pattern = compile_pattern(text)
    return pattern if pattern.body is not None else None


def relative_to(file: str, path: str) -> str:
    """`path` as an anchored pattern inside the ignore file `file`, for an edit to suggest."""
    rel = _relative(path, base_of(file)) or path
    escaped = "".join("\\" + ch if ch in "*?[\\!# " else ch for ch in rel)
    return "/" + escaped
