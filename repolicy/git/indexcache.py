"""What git says of the index (`ls-files --stage`, the staged diff), cached in
the git directory.

`pre-commit run --all-files` hands the hook the whole index in dozens of
command lines, and each would have git read the whole index again. The
listing depends on the index file alone (the staged diff on it and on HEAD's
tree, which is part of that answer's key), and git replaces that file (a new
inode, new times) whenever it changes it, so each answer is stored with the
index's identity (inode, size, mtime, ctime, device): any difference is a miss.
An index modified in the last two seconds is not cached at all, so a change
within the file system's timestamp granularity cannot go unseen. The cache
is read only if it is a regular file (never through a symbolic link, never
blocking on a FIFO) whose length and checksum match its header.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import time
import zlib

from repolicy import __version__
from repolicy.errors import RepolicyError

LISTING = "index.cache"
STAGED = "staged.cache"
_MAGIC = b"repolicy-index-cache 2 " + __version__.encode() + b"\n"
_HEADER = struct.Struct("<QqqqQQI")  # inode, size, mtime, ctime, device, length, crc32
_RACY_SECONDS = 2.0

Stamp = tuple[int, int, int, int, int]


def stamp(index: str) -> Stamp | None:
    """The identity of the index file; None when it is not a plain file."""
    try:
        st = os.stat(index, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_dev)


def read(cache_dir: str, name: str, index: str, key: bytes = b"") -> bytes | None:
    """What was stored under `name` for `index` (and `key`: what else the answer
    depends on), or None (absent, stale, corrupt, not a file)."""
    current = stamp(index)
    if current is None:
        return None
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(os.path.join(cache_dir, name), flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            prefix = _MAGIC + key + b"\n"
            head = fh.read(len(prefix) + _HEADER.size)
            if len(head) != len(prefix) + _HEADER.size or not head.startswith(prefix):
                return None
            *identity, length, crc = _HEADER.unpack_from(head, len(prefix))
            if tuple(identity) != current:
                return None
            # One more byte than promised: a longer file is as corrupt as a shorter one.
            body = fh.read(length + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(body) != length or zlib.crc32(body) != crc:
        return None
    return body


def write(
    cache_dir: str, name: str, index: str, before: Stamp | None, answer: bytes, key: bytes = b""
) -> None:
    """Store `answer`, git's from `index` while it had the identity `before`;
    nothing is stored if the index changed meanwhile or changed too recently."""
    from repolicy.atomic import replace_file

    if before is None or stamp(index) != before:
        return
    if time.time_ns() - before[2] < _RACY_SECONDS * 1e9:
        return
    header = _HEADER.pack(*before, len(answer), zlib.crc32(answer))
    with contextlib.suppress(OSError, RepolicyError):
        # A read-only repository just runs without the cache.
        os.makedirs(cache_dir, exist_ok=True)
        replace_file(
            os.path.join(cache_dir, name),
            _MAGIC + key + b"\n" + header + answer,
            name,
            root=os.path.dirname(cache_dir),
        )
