"""Git LFS pointer files: bytes in, a verdict out. No I/O.

The canonical pointer is what `git lfs` writes (spec v1):

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 lowercase hex>
    size <bytes>

with `ext-N-name` lines sorted between `version` and `oid`, each line ending
in a single LF. git-lfs only considers blobs under 1024 bytes, and the empty
blob is a valid pointer (to an empty file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_POINTER_SIZE = 1024
SPEC_V1 = "https://git-lfs.github.com/spec/v1"
_ALIASES = (SPEC_V1, "https://hawser.github.com/spec/v1", "http://git-media.io/v/2")
_OID_RE = re.compile(r"sha256:[0-9a-f]{64}")
_EXT_RE = re.compile(r"ext-[0-9]-[A-Za-z0-9_]+")
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Pointer:
    oid: str | None  # None for the empty pointer
    size: int


@dataclass(frozen=True)
class Malformed:
    """A blob that begins like a pointer but is not a canonical one."""

    reason: str


def looks_like_pointer(data: bytes) -> bool:
    """Does the blob start with a pointer's version line (as a pointer would)?"""
    if len(data) >= MAX_POINTER_SIZE or not data.startswith(b"version "):
        return False
    first = data.split(b"\n", 1)[0]
    return any(term in first for term in (b"git-lfs", b"hawser", b"git-media"))


def parse_pointer(data: bytes) -> Pointer | Malformed | None:
    """A Pointer, a Malformed pointer-lookalike, or None for ordinary content."""
    if not data:
        return Pointer(None, 0)
    if not looks_like_pointer(data):
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return Malformed("it contains bytes that are not ASCII")
    if "\r" in text:
        return Malformed("it has CRLF line endings (a pointer uses LF only)")
    if not text.endswith("\n"):
        return Malformed("its last line does not end with a newline")
    lines = text[:-1].split("\n")
    keys: list[str] = []
    values: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        key, sep, value = line.partition(" ")
        if not sep or not key or not value or value != value.strip(" \t"):
            return Malformed(f"line {number} is not 'key value'")
        if key in values:
            return Malformed(f"key '{key}' appears twice")
        keys.append(key)
        values[key] = value
    if keys[0] != "version":
        return Malformed("the first line must be 'version'")
    if values["version"] not in _ALIASES:
        return Malformed(f"unknown pointer version '{values['version']}'")
    if values["version"] != SPEC_V1:
        return Malformed(f"version must be '{SPEC_V1}'")
    for key in ("oid", "size"):
        if key not in values:
            return Malformed(f"the '{key}' line is missing")
    rest = keys[1:]
    for key in rest:
        if key not in ("oid", "size") and not _EXT_RE.fullmatch(key):
            return Malformed(f"unknown key '{key}'")
    if rest != sorted(rest):
        return Malformed("keys after 'version' are not in sorted order")
    if not _OID_RE.fullmatch(values["oid"]):
        return Malformed("the oid must be 'sha256:' and 64 lowercase hex digits")
    if not _SIZE_RE.fullmatch(values["size"]):
        return Malformed("the size must be a non-negative decimal number")
    return Pointer(values["oid"][len("sha256:") :], int(values["size"]))


def format_pointer(oid: str, size: int) -> bytes:
    """The canonical pointer text, as `git lfs` writes it."""
    return f"version {SPEC_V1}\noid sha256:{oid}\nsize {size}\n".encode()
