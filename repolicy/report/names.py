"""Paths as a user reads them: quoted as git quotes them, never able to move the cursor."""

from __future__ import annotations

from collections.abc import Sequence

_SURROGATE = "[\udc80-\udcff]"


# git's C-style quoting (quote_c_style): these escapes, octal for other bytes.
_C_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def _octal(ch: str) -> str:
    return "".join(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogateescape"))


def quote_c(path: str) -> str:
    """A path as git shows it (core.quotePath=false): bare when every character is
    printable and none is a quote or backslash; else in double quotes with
    C escapes, and the bytes of control characters, invisible characters and
    undecodable bytes in octal. Printed, it can move no cursor and start no
    terminal escape sequence."""
    if path.isprintable() and '"' not in path and "\\" not in path:
        return path
    out = ['"']
    for ch in path:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_octal(ch))
    out.append('"')
    return "".join(out)


def safe_text(text: str) -> str:
    """Free text (a message, a command to run) with its unprintable characters
    other than newlines and tabs in octal, as git quotes them: a file name
    inside it cannot reach the terminal as an escape sequence."""
    if text.isprintable() or text.replace("\n", "").replace("\t", "").isprintable():
        return text  # as most are: the per-character walk below is for the rest
    return "".join(ch if ch.isprintable() or ch in "\n\t" else _octal(ch) for ch in text)


# What a POSIX shell reads as itself, unquoted.
_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def shell_quote(word: str) -> str:
    """`word` as one argument of a POSIX shell command line: as is when every
    character is safe, else in single quotes, a quote inside closing them,
    quoted in double quotes, and opening them again.
    (`shlex` does the same, at the cost of importing it on every commit.)"""
    if word and _SHELL_SAFE.issuperset(word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def quote_paths(paths: Sequence[str]) -> str:
    return " ".join(shell_quote(p) for p in paths)


_PATTERN_CHARACTERS = frozenset("*?[\\")


def quote_pathspecs(paths: Sequence[str]) -> str:
    """`paths` for the path arguments of a git command, each naming that one
    file: git reads a path as a pattern (`git rm --cached -- '*.log'` takes
    every .log file, the one named `*.log` too) and a leading ':' as magic
    (`':!x.log'` is everything but x.log), so such a name is given as
    `:(literal)name`. Others stay as they are, easier to read."""
    return " ".join(
        shell_quote(
            ":(literal)" + p if p.startswith(":") or not _PATTERN_CHARACTERS.isdisjoint(p) else p
        )
        for p in paths
    )
