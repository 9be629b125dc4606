"""The block repolicy owns in `.gitignore` and `.gitattributes`, and nothing else.

The block is the last thing in the file (in an ignore file the last matching
line wins). A nested `.gitignore` may hold one too, with the same markers.

A file is read as bytes and split into the user's lines and the block
between the markers; only the block is ever rewritten. The file keeps its
line endings (CRLF stays CRLF), its UTF-8 byte-order mark, and every line
outside the block, byte for byte. Writes are atomic (a temporary file in the
same directory, then rename) and keep the file's mode.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from repolicy.errors import RepolicyError

BEGIN = b"# >>> repolicy: written by `repolicy fix` from the policy; edit the policy instead"
END = b"# <<< repolicy"
_BOM = b"\xef\xbb\xbf"


class ManagedFile(NamedTuple):
    path: str  # absolute
    rel: str  # as the user knows it, for messages
    exists: bool
    bom: bool
    newline: bytes  # b"\n" or b"\r\n"
    before: list[bytes]  # user lines above the block, without line endings
    block: list[bytes] | None  # the block's lines between the markers; None: no block
    after: list[bytes]  # user lines below the block
    final_newline: bool  # whether the original ended with a line break
    original: bytes
    mode: int | None

    @property
    def user_lines(self) -> list[bytes]:
        """The file as git would read it without repolicy's block."""
        return [*self.before, *self.after]


def read(root: str, rel: str) -> ManagedFile:
    """Read `rel` under `root`, refusing what repolicy must never write through."""
    path = os.path.join(root, rel)
    if os.path.islink(path):
        target = os.path.realpath(path)
        inside = os.path.commonpath([target, os.path.realpath(root)]) == os.path.realpath(root)
        where = "inside" if inside else "outside"
        raise RepolicyError(
            f"{rel} is a symbolic link to {target} ({where} the repository): repolicy will not "
            "write through it (git itself does not read a symlinked "
            f"{os.path.basename(rel)}); replace it with a regular file"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        data, mode = b"", None
    except OSError as exc:
        raise RepolicyError(f"cannot read {rel}: {exc.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise RepolicyError(f"{rel} is not a regular file")
    bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if bom else data
    crlf = body.count(b"\r\n")
    newline = b"\r\n" if crlf and crlf * 2 >= body.count(b"\n") else b"\n"
    final_newline = body.endswith(b"\n") or not body
    lines = body.split(b"\n")
    if body.endswith(b"\n"):
        lines.pop()
    if not body:
        lines = []
    stripped = [ln[:-1] if newline == b"\r\n" and ln.endswith(b"\r") else ln for ln in lines]
    begins = [k for k, ln in enumerate(stripped) if ln.startswith(BEGIN[:16])]
    ends = [k for k, ln in enumerate(stripped) if ln.startswith(END)]
    if not begins and not ends:
        return ManagedFile(
            path, rel, mode is not None, bom, newline, lines, None, [], final_newline, data, mode
        )
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise RepolicyError(
            f"{rel}: the repolicy block's markers are damaged (expected one '# >>> repolicy' "
            "line and one '# <<< repolicy' line after it); restore or delete them and run "
            "`repolicy fix` again"
        )
    b, e = begins[0], ends[0]
    return ManagedFile(
        path,
        rel,
        True,
        bom,
        newline,
        lines[:b],
        stripped[b + 1 : e],
        lines[e + 1 :],
        final_newline,
        data,
        mode,
    )


def render(file: ManagedFile, block: list[str]) -> bytes:
    """The file with `block` as its repolicy block (no block when empty)."""
    nl = file.newline

    def user(lines: list[bytes]) -> list[bytes]:
        # User lines are kept byte for byte: each still carries its own '\r', if any.
        return [ln + b"\n" for ln in lines]

    # The block goes last even when the user wrote lines below an older one: in an
    # ignore file the last matching line wins, and the block must win.
    out = user(file.before) + user(file.after)
    if block:
        lines = [BEGIN, *(line.encode("utf-8", "surrogateescape") for line in block), END]
        out += [ln + nl for ln in lines]
    data = b"".join(out)
    if not file.final_newline and not block and file.block is None:
        data = data[:-1] if data.endswith(b"\n") else data
    return (_BOM if file.bom else b"") + data


def check_writable(file: ManagedFile) -> None:
    """Refuse, before anything is written, a file `write` could not replace."""
    if file.mode is not None and not file.mode & 0o222:
        raise RepolicyError(
            f"{file.rel} is read-only: nothing was changed (make it writable, e.g. "
            f"`chmod u+w {file.rel}`, and run `repolicy fix` again)"
        )
    directory = os.path.dirname(file.path) or "."
    if not os.access(directory, os.W_OK | os.X_OK):
        raise RepolicyError(
            f"cannot write {file.rel}: its directory is not writable; nothing was changed"
        )
    if os.path.islink(file.path):
        raise RepolicyError(f"{file.rel} became a symbolic link: nothing was changed")


def write(file: ManagedFile, data: bytes) -> None:
    """Atomically replace the file's contents, keeping its mode."""
    check_writable(file)
    from repolicy.atomic import replace_file

    replace_file(file.path, data, file.rel, file.mode)
