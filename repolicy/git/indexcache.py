"""What git says of the index (`ls-files --stage`, the staged diff), cached in
the git directory.

`pre-commit run --all-files` hands the hook the whole index in dozens of
command lines, and each would have git read the whole index again. The
listing depends on the index file alone (the staged diff on it and on HEAD's
tree, which is part of that answer's key), and git replaces that file (a new
inode, new times) whenever it changes it, so each answer is stored with the
index's identity (inode, size, mtime, ctime, device, and the checksum git
writes at its end, a hash of its whole content): any difference is a miss.
With that checksum the identity is the content's own, so an answer is stored
however recently the index changed. Where git writes no checksum
(`index.skipHash`), an index modified in the last two seconds is not cached
at all, so a change within the file system's timestamp granularity cannot go
unseen. The cache
is read only if it is a regular file this user owns (never through a
symbolic link, never blocking on a FIFO) whose length and checksum match its
header.

The listing is the big one (16 MB for 200,000 entries), and each command line
wants a few thousand of its records: it is stored in blocks of about 64 KiB,
each with its own checksum and first path in a table, so a command line
reads and checks the table and the blocks its paths sort into, not the
whole listing (`write_listing`, `read_listing`).
"""

from __future__ import annotations

import bisect
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
SUMMARY = "summary.cache"  # derived from the listing alone (`Git.index_summary`)
_MAGIC = b"repolicy-index-cache 3 " + __version__.encode() + b"\n"
_HEADER = struct.Struct("<QqqqQ32sQI")  # inode, size, mtime, ctime, device, checksum, length, crc32
_RACY_SECONDS = 2.0
_LISTING_MAGIC = b"repolicy-index-listing 4 " + __version__.encode() + b"\n"
_BLOCK = 1 << 16
# Per block: where it starts in the listing, its length, its crc32, the
# length of its first path (which follows).
_ENTRY = struct.Struct("<QIII")

Stamp = tuple[int, int, int, int, int, bytes]
# The index ends with a hash of everything before it: 20 bytes (SHA-1) or 32
# (SHA-256). The last 32 bytes hold it either way; all-zero last 20 bytes are
# what git writes with `index.skipHash`, where no checksum vouches for content.
_TAIL = 32
_NO_CHECKSUM = bytes(20)


def open_regular(path: str) -> tuple[int, os.stat_result] | None:
    """A descriptor of `path` and its status, when it is a regular file: never
    through a symbolic link, never blocking on a FIFO; or None."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            return fd, st
    except OSError:
        pass
    os.close(fd)
    return None


def open_own(path: str) -> int | None:
    """A descriptor of a cache file, when `open_regular` opens it and this user
    owns it: in a repository others may write to, a file someone else wrote
    is no answer this process stored (it could say "nothing staged")."""
    opened = open_regular(path)
    if opened is None:
        return None
    fd, st = opened
    if st.st_uid == os.geteuid():
        return fd
    os.close(fd)
    return None


def stamp(index: str) -> Stamp | None:
    """The identity of the index file; None when it is not a plain file."""
    opened = open_regular(index)
    if opened is None:
        return None
    fd, st = opened
    try:
        # Shorter than a header and a hash: no index git wrote, and no checksum.
        tail = os.pread(fd, _TAIL, st.st_size - _TAIL) if st.st_size >= _TAIL else bytes(_TAIL)
    except OSError:
        return None
    finally:
        os.close(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_dev, tail)


def _settled(before: Stamp) -> bool:
    """Whether an answer for the index `before` names can be stored: its checksum
    vouches for its content, or it is older than any timestamp could blur."""
    if before[5][-20:] != _NO_CHECKSUM:
        return True
    return time.time_ns() - before[2] >= _RACY_SECONDS * 1e9


def read(cache_dir: str, name: str, index: str, key: bytes = b"") -> bytes | None:
    """What was stored under `name` for `index` (and `key`: what else the answer
    depends on), or None (absent, stale, corrupt, not a file)."""
    current = stamp(index)
    if current is None:
        return None
    fd = _open(cache_dir, name)
    if fd is None:
        return None
    try:
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


def _open(cache_dir: str, name: str) -> int | None:
    """A descriptor of the cache file (see `open_own`), or None."""
    return open_own(os.path.join(cache_dir, name))


def read_listing(cache_dir: str, index: str, paths: list[bytes] | None = None) -> bytes | None:
    """The listing stored for `index` (`ls-files --stage -z` output), or with
    `paths` (sorted) only the blocks their records sort into, in order; None
    when absent, stale, corrupt or not a file. A path's records (every stage)
    are never split between blocks."""
    current = stamp(index)
    if current is None:
        return None
    fd = _open(cache_dir, LISTING)
    if fd is None:
        return None
    try:
        return _read_blocks(fd, current, paths)
    except (OSError, struct.error):
        return None
    finally:
        os.close(fd)


def _read_blocks(fd: int, current: Stamp, paths: list[bytes] | None) -> bytes | None:
    size = os.fstat(fd).st_size
    head = os.pread(fd, len(_LISTING_MAGIC) + _HEADER.size, 0)
    if len(head) != len(_LISTING_MAGIC) + _HEADER.size or not head.startswith(_LISTING_MAGIC):
        return None
    *identity, table_length, table_crc = _HEADER.unpack_from(head, len(_LISTING_MAGIC))
    if tuple(identity) != current:
        return None
    table = os.pread(fd, table_length, len(head))
    if len(table) != table_length or zlib.crc32(table) != table_crc:
        return None
    body_at = len(head) + table_length
    blocks: list[tuple[int, int, int]] = []
    firsts: list[bytes] = []
    pos = expected_start = 0
    while pos < len(table):
        start, length, crc, first_length = _ENTRY.unpack_from(table, pos)
        pos += _ENTRY.size
        if start != expected_start:
            return None
        blocks.append((start, length, crc))
        firsts.append(table[pos : pos + first_length])
        pos += first_length
        expected_start = start + length
    if pos != len(table) or body_at + expected_start != size:
        return None
    if paths is None:
        wanted = list(range(len(blocks)))
    elif blocks:
        wanted = sorted({max(bisect.bisect_right(firsts, p) - 1, 0) for p in paths})
    else:
        wanted = []
    out = []
    for k in wanted:
        start, length, crc = blocks[k]
        data = os.pread(fd, length, body_at + start)
        if len(data) != length or zlib.crc32(data) != crc:
            return None
        out.append(data)
    return b"".join(out)


def write_listing(cache_dir: str, index: str, before: Stamp | None, listing: bytes) -> None:
    """Store the listing git gave for `index` while it had the identity `before`,
    in blocks (see `read_listing`), on the terms of `write`."""
    if before is None or stamp(index) != before:
        return
    if not _settled(before):
        return
    table = bytearray()
    view = memoryview(listing)
    pos, n = 0, len(listing)
    while pos < n:
        end = listing.find(b"\0", min(pos + _BLOCK, n - 1))
        end = n if end == -1 else end + 1
        last = _path_at(listing, listing.rfind(b"\0", 0, end - 1) + 1)
        while end < n and _path_at(listing, end) == last:  # the other stages
            end = listing.find(b"\0", end)
            end = n if end == -1 else end + 1
        first = _path_at(listing, pos)
        table += _ENTRY.pack(pos, end - pos, zlib.crc32(view[pos:end]), len(first)) + first
        pos = end
    header = _HEADER.pack(*before, len(table), zlib.crc32(table))
    from repolicy.atomic import replace_file

    with contextlib.suppress(OSError, RepolicyError):
        os.makedirs(cache_dir, exist_ok=True)
        replace_file(
            os.path.join(cache_dir, LISTING),
            b"".join((_LISTING_MAGIC, header, table, listing)),
            LISTING,
            root=os.path.dirname(cache_dir),
            durable=False,
        )


def _path_at(listing: bytes, start: int) -> bytes:
    """The path of the record that starts at `start` (after its first tab)."""
    stop = listing.find(b"\0", start)
    if stop == -1:
        stop = len(listing)
    tab = listing.find(b"\t", start, stop)
    return listing[tab + 1 if tab != -1 else start : stop]


def write(
    cache_dir: str, name: str, index: str, before: Stamp | None, answer: bytes, key: bytes = b""
) -> None:
    """Store `answer`, git's from `index` while it had the identity `before`;
    nothing is stored if the index changed meanwhile or changed too recently."""
    from repolicy.atomic import replace_file

    if before is None or stamp(index) != before:
        return
    if not _settled(before):
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
            durable=False,
        )
