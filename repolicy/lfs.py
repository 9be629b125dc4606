"""Git LFS pointer files: bytes in, a verdict out. No I/O.

The canonical pointer is what `git lfs` writes (spec v1):

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 lowercase hex>
    size <bytes>

with `ext-N-name` lines sorted between `version` and `oid`, each line ending
in a single LF. git-lfs only considers blobs under 1024 bytes, and the empty
blob is a valid pointer (to an empty file): pointer text with `size 0` is not
canonical.

A blob "starts like a pointer" when its first line (after any leading
whitespace, which git-lfs trims) is `version` and a URL naming git-lfs,
hawser or git-media; anything else is ordinary content.
"""

from __future__ import annotations

# Annotations are evaluated, not postponed: typing.NamedTuple compiles each
# string annotation at import, a cost the pre-commit hook pays on every commit.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple

MAX_POINTER_SIZE = 1024
SPEC_V1 = "https://git-lfs.github.com/spec/v1"
_ALIASES = (SPEC_V1, "https://hawser.github.com/spec/v1", "http://git-media.io/v/2")
# Read with byte and string operations, not regexes: the hook parses the
# pointers of a commit, and compiling would cost it more than all the reading.
_URL_WORDS = (b"git-lfs", b"hawser", b"git-media")  # after `version` and http(s)://
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_NONZERO = frozenset("123456789")
_EXT_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_MAX_SIZE = 2**63 - 1  # git-lfs parses the size as a signed 64-bit integer


class Pointer(NamedTuple):
    oid: str | None  # None for the empty pointer
    size: int


class Malformed(NamedTuple):
    """A blob that begins like a pointer but is not a canonical one."""

    reason: str


def looks_like_pointer(data: bytes) -> bool:
    """Does the blob start with a pointer's version line (as a pointer would)?"""
    if len(data) >= MAX_POINTER_SIZE:
        return False
    # Asked of every small blob of a history: most are turned away by their
    # first bytes, before any copy.
    if not data.startswith(b"version") and not data[:1].isspace():
        return False
    first = data.lstrip().split(b"\n", 1)[0]
    if not first.startswith(b"version"):
        return False
    rest = first[len(b"version") :]
    url = rest.lstrip(b" \t")
    if len(url) == len(rest):
        return False  # at least one space or tab after `version`
    for scheme in (b"https://", b"http://"):
        if url.startswith(scheme):
            # The word may stand anywhere in the URL, up to its first whitespace.
            run = url[len(scheme) :]
            for k, byte in enumerate(run):
                if byte in b" \t\r\x0b\x0c":
                    run = run[:k]
                    break
            return any(word in run for word in _URL_WORDS)
    return False


def _is_oid(value: str) -> bool:
    return len(value) == 71 and value.startswith("sha256:") and _HEX.issuperset(value[7:])


def _is_size(value: str) -> bool:
    """A decimal number without sign or leading zeros."""
    return value == "0" or (value[:1] in _NONZERO and _DIGITS.issuperset(value))


def _is_extension(key: str) -> bool:
    """`ext-<digit>-<word character>`, then any printable ASCII."""
    return (
        len(key) >= 7
        and key.startswith("ext-")
        and key[4] in _DIGITS
        and key[5] == "-"
        and key[6] in _EXT_NAME_START
        and all("!" <= ch <= "~" for ch in key[7:])
    )


class _MightBePointer:
    """Whether a blob is worth parsing as a pointer: empty, or starting like one."""

    # The first byte of every blob it keeps but the empty one: a reader of a
    # whole history's small blobs turns the others away without copying
    # them (`repolicy.git.objects`), a tenth of a second on the path-heavy
    # benchmark history.
    first = frozenset(b"v \t\n\r\x0b\x0c")

    def __call__(self, data: bytes) -> bool:
        return not data or looks_like_pointer(data)


might_be_pointer = _MightBePointer()


def parse_pointer(data: bytes) -> Pointer | Malformed | None:
    """A Pointer, a Malformed pointer-lookalike, or None for ordinary content."""
    if not data:
        return Pointer(None, 0)
    if not looks_like_pointer(data):
        return None
    if data != data.lstrip():
        return Malformed("it has whitespace or blank lines before the 'version' line")
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
        if not line:
            return Malformed(f"line {number} is blank")
        key, sep, value = line.partition(" ")
        if not sep or not key or not value or value != value.strip(" \t"):
            return Malformed(f"line {number} is not 'key value' separated by a single space")
        if key in values:
            return Malformed(f"key '{key}' appears twice")
        keys.append(key)
        values[key] = value
    if keys[0] != "version":
        return Malformed("the first line must be 'version'")
    if values["version"] not in _ALIASES:
        return Malformed(f"unknown pointer version '{values['version']}'")
    if values["version"] != SPEC_V1:
        return Malformed(f"version '{values['version']}' is an old alias of '{SPEC_V1}'")
    for key in ("oid", "size"):
        if key not in values:
            return Malformed(f"the '{key}' line is missing")
    rest = keys[1:]
    priorities: set[str] = set()
    for key in rest:
        if key in ("oid", "size"):
            continue
        if not _is_extension(key):
            return Malformed(f"unknown key '{key}'")
        if not _is_oid(values[key]):
            return Malformed(f"extension '{key}' needs 'sha256:' and 64 lowercase hex digits")
        priority = key[len("ext-")]
        if priority in priorities:
            return Malformed(f"two extensions have priority {priority}")
        priorities.add(priority)
    if rest != sorted(rest):
        return Malformed("keys after 'version' are not in sorted order")
    if not _is_oid(values["oid"]):
        return Malformed("the oid must be 'sha256:' and 64 lowercase hex digits")
    if not _is_size(values["size"]):
        return Malformed("the size must be a decimal number without sign or leading zeros")
    size = int(values["size"])
    if size > _MAX_SIZE:
        return Malformed("the size is larger than git-lfs can record (2**63 - 1 bytes)")
    if size == 0:
        return Malformed("a pointer to an empty file must be the empty blob, not 'size 0'")
    return Pointer(values["oid"][len("sha256:") :], size)


def format_pointer(oid: str, size: int) -> bytes:
    """The canonical pointer text, as `git lfs` writes it (empty for an empty file)."""
    if size == 0:
        return b""
    return f"version {SPEC_V1}\noid sha256:{oid}\nsize {size}\n".encode()
