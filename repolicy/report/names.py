"""Paths as a user reads them: quoted as git quotes them, never able to move the cursor."""

import shlex
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
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else _octal(ch) for ch in text)


def quote_paths(paths: Sequence[str]) -> str:
    return " ".join(shlex.quote(p) for p in paths)
