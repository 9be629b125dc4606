"""Reading objects: sizes and small contents in batches, loose objects with bounds.

The one thing read without git is a loose object (`read_loose`): what the
hook was just given, and what git itself would hang on or believe too readily.
"""

from __future__ import annotations

import collections
import itertools
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence

from repolicy.errors import GitError
from repolicy.git.query import Feed, _Lines
from repolicy.git.records import ObjectInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    import mmap

    from repolicy.git.repo import Git


class BlobFacts:
    """Sizes, then small blobs' contents: loose objects read in place (with
    `objects`; see `read_loose`), the rest asked of one `cat-file
    --batch-command` (`_BlobQuestions`). Git older than 2.36 lacks
    --batch-command: then the same answer comes from `--batch-check` and `--batch`.

    With `head` (low, high), each blob of more than `low` and at most `high`
    bytes is also judged binary or text by git's rule (`binary`): only its
    first BINARY_PROBE bytes are kept, the rest is read past as it streams.
    """

    def __init__(
        self,
        git: Git,
        oids: list[str],
        read_below: int,
        keep: Callable[[bytes], bool] | None = None,
        objects: str | None = None,
        head: tuple[int, int] | None = None,
    ) -> None:
        self.git = git
        self.read_below = read_below
        # Which contents to hold on to: over a whole history, keeping every
        # small blob would make memory grow with the repository.
        self.keep = keep
        self.head = head
        self.info: dict[str, ObjectInfo] = {}
        self.contents: dict[str, bytes] = {}
        self.binary: dict[str, bool] = {}
        # Objects a partial clone left out: git would fetch each one it is
        # asked about. Every transport is refused instead, git dies on them,
        # and they end up here (see `_fallback`).
        self.promised: set[str] = set()
        self.partial = False
        if objects is not None:
            oids = read_loose(
                objects, oids, read_below, keep, self.info, self.contents, head, self.binary
            )
            if oids and is_partial_clone(objects):
                self.partial = True
                git.env["GIT_ALLOW_PROTOCOL"] = ""
        self.oids = oids  # the ones git is asked about
        self.questions: _BlobQuestions | None = None
        if oids:
            self.questions = _BlobQuestions(
                git, read_below, keep, self.info, self.contents, head, self.binary
            )
            self.questions.ask(oids)

    def get(self) -> tuple[dict[str, ObjectInfo], dict[str, bytes]]:
        if self.questions is not None:
            try:
                self.questions.finish()
            except GitError:
                for oid in self.oids:  # answered before git died: asked again
                    self.info.pop(oid, None)
                    self.contents.pop(oid, None)
                    self.binary.pop(oid, None)
                info, contents = self._fallback()
                self.info.update(info)
                self.contents.update(contents)
            self.questions = None
        return self.info, self.contents

    def _fallback(self) -> tuple[dict[str, ObjectInfo], dict[str, bytes]]:
        """One object at a time where git dies on one (damaged, or a partial
        clone's that git may not fetch): that object gets no facts, the rest do."""
        info: dict[str, ObjectInfo] = {}
        contents: dict[str, bytes] = {}
        absent = _each_answered(
            self.git,
            ("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"),
            self.oids,
            lambda asked, out: _parse_batch_check_into(out, info),
        )
        if self.partial:
            self.promised.update(absent)
        small = [o for o, i in info.items() if i.type == "blob" and i.size < self.read_below]
        damaged = _each_answered(
            self.git,
            ("cat-file", "--batch"),
            small,
            lambda asked, out: _parse_batch_into(out, contents),
        )
        if self.head is not None:
            low, high = self.head
            for oid in small:
                if oid in contents and low < info[oid].size <= high:
                    self.binary[oid] = is_binary(contents[oid])
            wide = [
                o
                for o, i in info.items()
                if i.type == "blob" and i.size >= self.read_below and low < i.size <= high
            ]
            heads: dict[str, bytes] = {}
            # `--batch` answers whole blobs, and each call is read whole: a few
            # blobs at a time keep what is held at once bounded.
            for batch in _by_weight(wide, info, _FALLBACK_BATCH_BYTES):
                damaged += _each_answered(
                    self.git,
                    ("cat-file", "--batch"),
                    batch,
                    lambda asked, out: _parse_batch_into(out, heads, BINARY_PROBE),
                )
                self.binary.update((oid, is_binary(data)) for oid, data in heads.items())
                heads.clear()
        for oid in damaged:  # its size was read, its contents cannot be
            del info[oid]
        if self.keep is not None:
            contents = {oid: data for oid, data in contents.items() if self.keep(data)}
        return info, contents


def _each_answered(
    git: Git, args: tuple[str, ...], oids: list[str], parse: Callable[[list[str], bytes], int]
) -> list[str]:
    """`cat-file` over `oids`; `parse` takes the answers and says how many are
    whole. When git dies on an object its message names, that object is
    skipped (left without facts) and the rest asked again; any other failure
    is git's own, and raised. Returns the skipped objects."""
    skipped = []
    todo = oids
    while todo:
        pending = git._start(*args, input="".join(o + "\n" for o in todo).encode())
        out, err = pending.proc.communicate(pending.input or b"")
        answered = parse(todo, out)
        returncode = pending.proc.wait()
        if returncode == 0:
            break
        if answered >= len(todo) or todo[answered].encode() not in err:
            raise GitError(pending.argv, returncode, err.decode(errors="replace"))
        skipped.append(todo[answered])
        todo = todo[answered + 1 :]
    return skipped


# Git's test for a binary blob looks at this many leading bytes (xdiff's
# buffer_is_binary, FIRST_FEW_BYTES): a NUL among them makes the blob binary.
BINARY_PROBE = 8000
_FALLBACK_BATCH_BYTES = 64 * 1024 * 1024


def is_binary(data: bytes | bytearray) -> bool:
    """Whether git takes a blob starting with `data` for binary (`diff --numstat`
    shows `-`): a NUL byte in its first BINARY_PROBE bytes."""
    return data.find(b"\0", 0, BINARY_PROBE) >= 0


def _in_window(head: tuple[int, int] | None, size: int) -> bool:
    return head is not None and head[0] < size <= head[1]


def _by_weight(oids: list[str], info: Mapping[str, ObjectInfo], most: int) -> Iterator[list[str]]:
    """`oids` in runs whose sizes add up to at most `most` bytes (one, if larger)."""
    batch: list[str] = []
    weight = 0
    for oid in oids:
        size = info[oid].size
        if batch and weight + size > most:
            yield batch
            batch, weight = [], 0
        batch.append(oid)
        weight += size
    if batch:
        yield batch


# Enough of a loose object's compressed bytes to hold the header of any object
# and the whole of one small enough to be an LFS pointer.
_LOOSE_HEAD = 4096


_LOOSE_TYPES = {b"blob": "blob", b"tree": "tree", b"commit": "commit", b"tag": "tag"}


# zlib cannot shrink data more than about 1032 to 1, nor grow it by more than
# 5 bytes per 16 KiB block and a few bytes of framing: a header that claims
# a size outside those bounds of the file it is in says something false.
_MAX_RATIO = 1100


def read_loose(
    objects: str,
    oids: list[str],
    read_below: int,
    keep: Callable[[bytes], bool] | None,
    info: dict[str, ObjectInfo],
    contents: dict[str, bytes],
    head: tuple[int, int] | None = None,
    binary: dict[str, bool] | None = None,
) -> list[str]:
    """Facts about loose objects read straight from `objects/xx/yyyy`; returns the
    oids still to ask `cat-file` about (packed, or in an alternate).

    What `git add` just wrote is loose, so the hook learns everything it needs
    about the staged blobs without starting a process. Only the header is
    inflated, and the whole object only when it is under `read_below` bytes
    (or when the file's own size belies its header). The bytes are the object
    as stored: what a push sends, not what a `refs/replace/` object would show.

    A loose file that is there but cannot be read as an object (damaged, a
    header that lies, not a regular file) is left out of `info` and not asked
    of git either: git would hang on a FIFO and believe a lying header. The
    caller takes an id without facts for an unreadable object, never for 0 bytes.

    With `head`, a blob whose size lies in that window is judged binary or text
    (into `binary`) on its first BINARY_PROBE bytes, the only ones inflated.
    """
    rest = []
    # Once per staged blob, on the hook's way: the path built by concatenation
    # (`os.path.join` takes longer than the read), the record made directly.
    under = os.path.join(objects, "")
    new_info = tuple.__new__
    for oid in oids:
        try:
            facts = _loose_object(under + oid[:2] + os.sep + oid[2:], read_below, head)
        except (FileNotFoundError, NotADirectoryError):  # not loose: packed, or elsewhere
            rest.append(oid)
            continue
        if facts is None:
            continue  # unreadable
        kind, size, data, probe = facts
        info[oid] = new_info(ObjectInfo, (oid, kind, size))
        if kind == "blob" and binary is not None and probe is not None:
            binary[oid] = is_binary(probe)
        if data is not None and kind == "blob" and (keep is None or keep(data)):
            contents[oid] = data
    return rest


def _loose_object(
    path: str, read_below: int, head: tuple[int, int] | None = None
) -> tuple[str, int, bytes | None, bytes | None] | None:
    """(type, size, contents when under `read_below`, the first BINARY_PROBE bytes
    when the size lies in `head`) of one loose object file, or None when the
    file is there but is not a sound object. Never blocks (a FIFO), never
    reads more than the header promises (a zlib bomb)."""
    import stat
    import zlib

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            raise
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        raw = os.read(fd, _LOOSE_HEAD)
        inflate = zlib.decompressobj()
        start = inflate.decompress(raw, 64)
        header, nul, data = start.partition(b"\0")
        kind_raw, space, size_text = header.partition(b" ")
        kind = _LOOSE_TYPES.get(kind_raw)
        # Digits only: int() would take "-5", "+5", " 5" or "5_0".
        if not nul or not space or kind is None or not size_text.isdigit():
            return None
        size = int(size_text)
        stored = st.st_size
        if size > (stored + 64) * _MAX_RATIO:
            return None  # far more than the file could ever inflate to
        too_big_a_file = stored > size + size // 2048 + 4096
        probe_to = min(size, BINARY_PROBE) if _in_window(head, size) else 0
        # Inflate the whole object, never beyond one byte past the claimed size;
        # or, when only its size and its first bytes are wanted, just those.
        whole = size < read_below or too_big_a_file
        end = size + 1 if whole else probe_to
        chunks = [data]
        have = len(data)
        pending = inflate.unconsumed_tail
        while have < end and not inflate.eof:
            if not pending:
                pending = os.read(fd, 1 << 16)
                if not pending:
                    break
            out = inflate.decompress(pending, end - have)
            pending = inflate.unconsumed_tail
            have += len(out)
            if size < read_below or have - len(out) < probe_to:
                chunks.append(out)
        if whole and (have != size or not inflate.eof):
            return None
        if not whole and have < probe_to:
            return None  # cut short: not the object its header promises
        first = b"".join(chunks)
        probe = first[:probe_to] if probe_to else None
        return kind, size, first if size < read_below else None, probe
    except (OSError, zlib.error):
        return None
    finally:
        os.close(fd)


def loose_ids(objects: str) -> set[str]:
    """The ids of the loose objects in `objects` (one listing per fan-out directory)."""
    found: set[str] = set()
    for k in range(256):
        prefix = f"{k:02x}"
        try:
            names = os.listdir(os.path.join(objects, prefix))
        except OSError:
            continue
        found.update(prefix + name for name in names if len(name) in (38, 62))
    return found


def stored_objects(objects: str, hash_size: int) -> tuple[int, int] | None:
    """How many objects `objects` stores, duplicates included, and the bytes they
    take on disk (what `%(objectsize:disk)` gives each, summed); None when it
    cannot be told without git (objects elsewhere, a pack index of an unknown
    version, a directory that cannot be read).

    Each pack counts its index's objects and its size less the header (12
    bytes) and the trailing checksum (`hash_size`): a pack is nothing but its
    objects' entries in between. A loose object counts its file. Anything
    there but a regular file (a link, a FIFO) is left to git, and never
    opened: a FIFO would block the read.
    """
    import stat

    from repolicy.git.indexcache import open_regular

    if os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES") or os.path.lexists(
        os.path.join(objects, "info", "alternates")
    ):
        return None
    count = size = 0
    pack_dir = os.path.join(objects, "pack")
    try:
        names = set(os.listdir(pack_dir))
    except FileNotFoundError:
        names = set()
    except OSError:
        return None
    for name in names:
        if name.endswith(".pack") and name[:-5] + ".idx" not in names:
            return None  # not counted here, yet git may reach it (a multi-pack index)
        if not name.endswith(".idx") or name[:-4] + ".pack" not in names:
            continue
        opened = open_regular(os.path.join(pack_dir, name))
        if opened is None:
            return None
        try:
            head = os.read(opened[0], 8 + 256 * 4)
            pack = os.lstat(os.path.join(pack_dir, name[:-4] + ".pack"))
        except OSError:
            return None
        finally:
            os.close(opened[0])
        if not stat.S_ISREG(pack.st_mode):
            return None
        if head[:4] == b"\xfftOc":  # version 2 and later: magic, version, fan-out
            if head[4:8] != b"\0\0\0\2" or len(head) < 8 + 256 * 4:
                return None
            fanout_end = head[8 + 255 * 4 : 8 + 256 * 4]
        elif len(head) >= 256 * 4:  # version 1: the fan-out alone
            fanout_end = head[255 * 4 : 256 * 4]
        else:
            return None
        count += int.from_bytes(fanout_end, "big")
        size += pack.st_size - 12 - hash_size
    for oid in loose_ids(objects):
        try:
            loose = os.lstat(os.path.join(objects, oid[:2], oid[2:]))
        except OSError:
            return None
        if not stat.S_ISREG(loose.st_mode):
            return None
        size += loose.st_size
        count += 1
    return count, size


def largest_copies(objects: str) -> dict[bytes, int] | None:
    """Objects stored in two packs or more (hex id -> the bytes of their largest
    copy), or None when the packs cannot all be read here.

    Git sizes an object by the first copy it finds, and it looks first in the
    pack it last found something in: an object kept in two packs is sized by
    whichever copy the ids asked before it led to, so a sum over them moves
    with the order of the question. A repository holds such objects after a
    local clone, a `repack` without `-d`, or fetches whose thin packs were
    completed with bases it already had. Their largest copy is the one figure
    no order of asking exceeds, and the same in every run. A loose copy of a
    packed object is never what git sizes (it looks in packs first).

    The files are mapped, not read: a server's pack index can be hundreds of
    megabytes, of which only the ids of the smaller packs are read whole.
    """
    pack_dirs = [os.path.join(objects, "pack")]
    alternates = _alternate_directories(objects)
    if alternates is None:
        return None
    pack_dirs += [os.path.join(a, "pack") for a in alternates]
    found: list[str] = []
    for pack_dir in pack_dirs:
        try:
            names = set(os.listdir(pack_dir))
        except FileNotFoundError:
            continue
        except OSError:
            return None
        found += (
            os.path.join(pack_dir, name[:-4])
            for name in sorted(names)
            if name.endswith(".idx") and name[:-4] + ".pack" in names
        )
    if len(found) < 2:
        return {}
    packs: list[_Pack] = []
    for stem in found:
        pack = _Pack.open(stem)
        if pack is None:
            return None
        packs.append(pack)
    # The ids of every pack but the largest, as sets compared by C code; each
    # is then looked for in the largest pack's index, where it is. A set of
    # the largest pack's ids would cost more than the rest of this together.
    packs.sort(key=len)
    seen: set[bytes] = set()
    twice: set[bytes] = set()
    for pack in packs[:-1]:
        ids = pack.id_set()
        twice |= seen & ids
        seen |= ids
    largest_pack = packs[-1]
    twice |= largest_pack.holding(seen)
    del seen
    largest: dict[bytes, int] = {}
    for pack in packs:
        held = [(raw, k) for raw in twice if (k := pack.position(raw)) is not None]
        sizes = pack.entry_sizes([k for _, k in held]) if held else []
        if sizes is None:
            return None  # an index or a pack not as git writes them: git's answer
        for (raw, _), size in zip(held, sizes, strict=True):
            key = raw.hex().encode()
            largest[key] = max(size, largest.get(key, 0))
    return largest


def _alternate_directories(objects: str) -> list[str] | None:
    """Object directories `objects` borrows from, as git finds them:
    `$GIT_ALTERNATE_OBJECT_DIRECTORIES`, then the `info/alternates` of each
    store, followed as deep as git follows them (five levels); None when one
    is not read here as git reads it (a quoted or relative entry of the
    environment, a file that is not a regular one)."""
    from repolicy.git.indexcache import open_regular

    found: list[str] = []
    seen = {os.path.realpath(objects)}

    def take(entries: list[str], base: str | None, depth: int) -> bool:
        for entry in entries:
            entry = entry.strip()
            if not entry or entry.startswith("#"):
                continue
            if entry.startswith('"') or (base is None and not os.path.isabs(entry)):
                return False
            path = os.path.normpath(os.path.join(base or "", entry))
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            found.append(path)
            if depth < 5 and not read(path, depth + 1):
                return False
        return True

    def read(store: str, depth: int) -> bool:
        name = os.path.join(store, "info", "alternates")
        if not os.path.lexists(name):
            return True
        opened = open_regular(name)
        if opened is None:
            return False
        try:
            with os.fdopen(opened[0], "rb") as f:
                text = f.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        return take(text.splitlines(), store, depth)

    borrowed = os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "")
    if not take(borrowed.split(os.pathsep), None, 0) or not read(objects, 0):
        return None
    return found


class _Pack:
    """One pack and its index (version 1 or 2), mapped: its ids, sorted, and
    where each object's entry starts in the pack.

    An entry is a header (type and size; a delta's base), then the object's
    data as one zlib stream: it ends where that stream ends, which is where
    the next entry starts, and what `%(objectsize:disk)` gives. Git finds that
    end from a reverse index (every offset, sorted); for the few entries asked
    about here, inflating each is far cheaper than sorting a large pack's
    offsets.
    """

    def __init__(
        self, index: bytes | mmap.mmap, pack: bytes | mmap.mmap, hash_size: int, v2: bool
    ) -> None:
        self.index = index
        self.pack = pack
        self.hash_size = hash_size
        self.fanout = _big_endian_words(index[8 : 8 + 1024] if v2 else index[:1024])
        self.count = self.fanout[255]
        if v2:
            self.ids_at, self.stride = 8 + 1024, hash_size
            self.offsets_at = self.ids_at + self.count * (hash_size + 4)
            self.large_at = self.offsets_at + self.count * 4
        else:
            self.ids_at, self.stride = 1024 + 4, 4 + hash_size
            self.offsets_at = self.large_at = 0

    # What `entry_sizes` weighs (nanoseconds): a byte inflated, an offset
    # looked at, an offset sorted.
    INFLATE_COST, LOOK_COST, SORT_COST = 3, 120, 350

    def __len__(self) -> int:
        return self.count

    @classmethod
    def open(cls, stem: str) -> _Pack | None:
        """`stem`.idx and `stem`.pack, or None when either is not a regular file
        or the index is not one git writes."""
        # Imported here: the hook, which reads no pack, loads this module too.
        import mmap

        from repolicy.git.indexcache import open_regular

        # A pack is named for its checksum, in the repository's hash: its length.
        hex_name = os.path.basename(stem).removeprefix("pack-")
        if len(hex_name) not in (40, 64):
            return None
        hash_size = len(hex_name) // 2
        mapped = []
        for suffix in (".idx", ".pack"):
            opened = open_regular(stem + suffix)
            if opened is None:
                return None
            try:
                mapped.append(mmap.mmap(opened[0], 0, access=mmap.ACCESS_READ))
            except (OSError, ValueError):  # empty, or not mappable
                return None
            finally:
                os.close(opened[0])
        index, pack = mapped
        v2 = index[:4] == b"\xfftOc"
        if v2 and index[4:8] != b"\0\0\0\2":
            return None
        if len(index) < (8 if v2 else 0) + 1024:
            return None
        found = cls(index, pack, hash_size, v2)
        table_end = found.large_at if v2 else 1024 + found.count * found.stride
        if len(index) < table_end or (not v2 and hash_size != 20):
            return None
        return found

    def id_set(self) -> set[bytes]:
        index, at, stride, size = self.index, self.ids_at, self.stride, self.hash_size
        return {index[k : k + size] for k in range(at, at + self.count * stride, stride)}

    def position(self, raw: bytes) -> int | None:
        """Where `raw` is in the index: a binary search among the ids that
        share its first byte, which the fan-out table bounds."""
        index, at, stride, size = self.index, self.ids_at, self.stride, len(raw)
        low = self.fanout[raw[0] - 1] if raw[0] else 0
        high = self.fanout[raw[0]]
        while low < high:
            middle = (low + high) // 2
            start = at + middle * stride
            found = index[start : start + size]
            if found < raw:
                low = middle + 1
            elif found > raw:
                high = middle
            else:
                return middle
        return None

    def holding(self, ids: set[bytes]) -> set[bytes]:
        """Those of `ids` this pack holds: looked up one by one when they are
        few, else compared with a set of every id (C code, a tenth of a
        microsecond an id, against three to look one up)."""
        if len(ids) * 30 < self.count:
            return {raw for raw in ids if self.position(raw) is not None}
        return ids & self.id_set()

    def offset(self, position: int) -> int | None:
        if not self.offsets_at:  # version 1: the offset before each id
            at = self.ids_at + position * self.stride - 4
            return int.from_bytes(self.index[at : at + 4], "big")
        at = self.offsets_at + position * 4
        value = int.from_bytes(self.index[at : at + 4], "big")
        if not value & 0x80000000:
            return value
        at = self.large_at + (value & 0x7FFFFFFF) * 8  # in the table of 8-byte offsets
        if len(self.index) < at + 8:
            return None
        return int.from_bytes(self.index[at : at + 8], "big")

    def entry_sizes(self, positions: list[int]) -> list[int] | None:
        """The bytes of the entries at `positions`, or None when the pack does
        not hold them as git writes it.

        The next entry's start is found the cheapest of three ways, by rough
        costs measured here (nanoseconds): inflating each entry's data (1-4 a
        byte), looking through every offset of the pack for each entry (120
        an offset), or sorting them all once, as git's reverse index holds
        them (350 an offset). A push's pack beside a server's holds a few of
        the server's objects, the bases its deltas were completed with: five
        of them took 5 ms to inflate, where sorting the offsets of the
        benchmark's 431,000-object pack took 0.15 s."""
        end = len(self.pack) - self.hash_size
        starts: list[int] = []
        heads: list[tuple[int, int]] = []
        for k in positions:
            start = self.offset(k)
            head = _entry_head(self.pack, start, end, self.hash_size)
            if start is None or head is None:
                return None
            starts.append(start)
            heads.append(head)
        inflating = self.INFLATE_COST * sum(size for _, size in heads)
        looking = self.LOOK_COST * self.count * len(starts)
        sorting = self.SORT_COST * self.count
        ends: list[int | None]
        if inflating <= min(looking, sorting):
            ends = [_stream_end(self.pack, data_at, end) for data_at, _ in heads]
        else:
            every = self._every_offset()
            if every is None:
                return None
            if looking < sorting:
                ends = [min(filter(s.__lt__, every)) for s in starts]
            else:
                import bisect

                every.sort()
                ends = [every[bisect.bisect_right(every, s)] for s in starts]
        sizes = [e - s for s, e in zip(starts, ends, strict=True) if e is not None]
        return sizes if len(sizes) == len(starts) else None

    def _every_offset(self) -> list[int] | None:
        """Every entry's start, in index order, and the end of the last one."""
        end = len(self.pack) - self.hash_size
        if self.offsets_at:
            small = _big_endian_words(self.index[self.offsets_at : self.large_at])
            if not small or max(small) < 0x80000000:  # no 8-byte offset among them
                return [*small, end]
        found = [self.offset(k) for k in range(self.count)]
        if any(o is None for o in found):
            return None
        return [o for o in found if o is not None] + [end]


def _entry_head(
    pack: bytes | mmap.mmap, start: int | None, end: int, hash_size: int
) -> tuple[int, int] | None:
    """Where the data of the entry at `start` begins, and its size inflated;
    None when no entry git writes starts there."""
    if start is None or not 12 <= start < end:  # after the pack's header, before its checksum
        return None
    at = start
    byte = pack[at]
    kind, size, shift = (byte >> 4) & 7, byte & 15, 4
    while byte & 0x80:  # the size, seven bits a byte
        at += 1
        if at >= end:
            return None
        byte = pack[at]
        size |= (byte & 0x7F) << shift
        shift += 7
    at += 1
    if kind == 6:  # a delta against the entry this far back: a number like the size
        while at < end and pack[at] & 0x80:
            at += 1
        at += 1
    elif kind == 7:  # a delta against the object of this id
        at += hash_size
    elif kind not in (1, 2, 3, 4):
        return None
    return at, size


def _stream_end(pack: bytes | mmap.mmap, at: int, end: int) -> int | None:
    """Where the zlib stream that starts at `at` ends. Inflated a window at a
    time and thrown away: only where it ends counts."""
    import zlib

    stream = zlib.decompressobj()
    try:
        while not stream.eof:
            if at >= end:
                return None
            chunk = pending = pack[at : min(at + 65536, end)]
            while pending and not stream.eof:
                stream.decompress(pending, 65536)
                pending = stream.unconsumed_tail
            at += len(chunk) - (len(stream.unused_data) if stream.eof else 0)
    except zlib.error:
        return None
    return at


def _big_endian_words(data: bytes) -> Sequence[int]:
    """`data` read as unsigned 4-byte big-endian numbers."""
    import struct

    return struct.unpack(f">{len(data) // 4}I", data[: len(data) // 4 * 4])


def is_partial_clone(objects: str) -> bool:
    """Whether objects came from a partial clone's promisor remote (a `.promisor`
    pack): objects it left out are fetched by git on demand, unless asked not to."""
    try:
        names = os.listdir(os.path.join(objects, "pack"))
    except OSError:
        return False
    return any(name.endswith(".promisor") for name in names)


def objects_directory(git_dir: str) -> str:
    """Where a repository's own objects live: `$GIT_OBJECT_DIRECTORY`, or `objects`
    in the common directory (a linked worktree's `commondir` names it)."""
    configured = os.environ.get("GIT_OBJECT_DIRECTORY")
    if configured:
        return configured
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            common = os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except OSError:
        common = git_dir
    return os.path.join(common, "objects")


_OBJECT_TYPE_NAMES = {t: t.decode() for t in (b"blob", b"tree", b"commit", b"tag")}


class _BlobQuestions:
    """One `cat-file --batch-command --buffer` asked, as ids arrive, for sizes and
    then for the contents of the blobs under `read_below` bytes.

    One process, so the pack is mapped once. Only the caller's thread
    writes, and it never waits on an answer while writing; the reader thread
    parses the answers in the order the questions were written (`_asked`)
    and never writes, so neither side can block the other.
    """

    def __init__(
        self,
        git: Git,
        read_below: int,
        keep: Callable[[bytes], bool] | None,
        info: dict[str, ObjectInfo],
        contents: dict[str, bytes],
        head: tuple[int, int] | None = None,
        binary: dict[str, bool] | None = None,
    ) -> None:
        import threading

        self._read_below = read_below
        self._keep = keep
        self._info = info
        self._contents = contents
        # Blobs sized within `head` are read too, for their first bytes only:
        # the rest of each answer is skipped as it arrives (`_skip` bytes left).
        self._head = head
        self._binary = binary if binary is not None else {}
        self._skip = 0
        self._answered = threading.Condition()
        self._asked: collections.deque[tuple[bool, list[str]]] = collections.deque()
        self._sizes_unanswered = 0
        self._small: list[str] = []  # sized, contents not asked for yet
        self._batch: tuple[bool, list[str]] | None = None
        self._k = 0
        self._buffer = bytearray()
        self.feed = Feed(git, ("cat-file", "--batch-command", "--buffer"), self._parse)

    def ask(self, oids: list[str]) -> None:
        """Sizes of `oids`, and contents of the small blobs sized since last time."""
        with self._answered:
            small, self._small = self._small, []
            # One join per batch, not one bytes object per id: the first commit
            # of a large project brings tens of thousands of ids at once.
            lines = ""
            if oids:
                lines = "info " + "\ninfo ".join(oids) + "\n"
                self._asked.append((False, oids))
                self._sizes_unanswered += 1
            if small:
                self._asked.append((True, small))
                lines += "contents " + "\ncontents ".join(small) + "\n"
        if lines:
            self.feed.send(lines.encode() + b"flush\n")

    def finish(self) -> None:
        """Wait for every size, ask for the last contents, and read them."""
        with self._answered:
            while self._sizes_unanswered and self.feed.alive():
                self._answered.wait(0.05)
        self.ask([])
        self.feed.finish()

    def _parse(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        pos = 0
        small: list[str] = []
        info, read_below, head = self._info, self._read_below, self._head
        while True:
            if self._skip:
                passed = min(self._skip, len(buffer) - pos)
                pos += passed
                self._skip -= passed
                if self._skip:
                    break
            if self._batch is None:
                with self._answered:
                    if not self._asked:
                        break
                    self._batch, self._k = self._asked.popleft(), 0
            is_contents, oids = self._batch
            k = self._k
            if not is_contents:
                # Sizes come one line each: take every whole line at once.
                lines = bytes(buffer[pos:]).split(b"\n", len(oids) - k)
                del lines[-1]  # what follows the last whole line
                pos += sum(map(len, lines)) + len(lines)
                new, names = tuple.__new__, _OBJECT_TYPE_NAMES
                got = oids[k : k + len(lines)]
                # "<id> <type> <size>" each: when every answer is a blob's size
                # (nearly always), the fields are read at C speed, in one split.
                fields = b" ".join(lines).split(b" ")
                if (
                    head is None
                    and len(fields) == 3 * len(lines)
                    and fields[1::3].count(b"blob") == len(lines)
                ):
                    sizes = list(map(int, fields[2::3]))
                    facts = zip(got, itertools.repeat("blob"), sizes)
                    records = map(new, itertools.repeat(ObjectInfo), facts)
                    info.update(zip(got, records, strict=True))
                    small += itertools.compress(got, map(read_below.__gt__, sizes))
                else:
                    for oid, line in zip(got, lines, strict=True):
                        parts = line.split(b" ")
                        if len(parts) == 3:  # not "<oid> missing"
                            kind = names.get(parts[1]) or parts[1].decode()
                            size = int(parts[2])
                            info[oid] = new(ObjectInfo, (oid, kind, size))
                            if kind == "blob" and (size < read_below or _in_window(head, size)):
                                small.append(oid)
                k += len(got)
            else:
                keep, contents, binary = self._keep, self._contents, self._binary
                # A `keep` that names the first bytes it can keep (`first`, as
                # `repolicy.lfs.might_be_pointer` does) is not asked about the others.
                first: Collection[int] | None = getattr(keep, "first", None)
                n = len(oids)
                starved = False  # the answer under way is not all here yet
                while k < n:
                    end = buffer.find(b"\n", pos)
                    if end < 0:
                        starved = True
                        break
                    tail = buffer[buffer.rfind(b" ", pos, end) + 1 : end]
                    if not tail.isdigit():  # "<oid> missing"
                        pos = end + 1
                        k += 1
                        continue
                    size = int(tail)
                    start = end + 1
                    if size >= read_below:
                        # Asked for its first bytes only: judged on those, the rest skipped.
                        probe = min(size, BINARY_PROBE)
                        if len(buffer) < start + probe:
                            starved = True
                            break
                        binary[oids[k]] = is_binary(buffer[start : start + probe])
                        pos = start + probe
                        self._skip = size - probe + 1  # and the newline that ends the answer
                        k += 1
                        break
                    if len(buffer) <= start + size:
                        starved = True
                        break
                    pos = start + size + 1
                    window = head is not None and _in_window(head, size)
                    if window or first is None or not size or buffer[start] in first:
                        content = bytes(buffer[start : start + size])
                        if window:
                            binary[oids[k]] = is_binary(content)
                        if keep is None or keep(content):
                            contents[oids[k]] = content
                    k += 1
                if starved:
                    self._k = k
                    break
            self._k = k
            if k < len(oids):
                if is_contents:
                    continue
                break  # the rest of the sizes are still to come
            self._batch = None
            if not is_contents:
                with self._answered:
                    self._sizes_unanswered -= 1
                    self._small += small
                    small = []
                    self._answered.notify_all()
        if small:
            with self._answered:
                self._small += small
        del buffer[:pos]


class DiskSizes:
    """`cat-file --batch-check=%(objectsize:disk)` over many ids, summed as the
    answers arrive; ids in `known` count the size it gives them instead."""

    def __init__(
        self, git: Git, oids: Iterable[bytes], known: Mapping[bytes, int] | None = None
    ) -> None:
        self._total = self._known = 0
        self._lines = _Lines()
        self._feed = Feed(git, ("cat-file", "--batch-check=%(objectsize:disk)"), self._add)
        self._feed.send(_batches(self._unknown(oids, known) if known else oids))

    def _unknown(self, oids: Iterable[bytes], known: Mapping[bytes, int]) -> Iterator[bytes]:
        """The ids whose sizes `known` lacks; those it has are counted apart (by
        the writer thread, which `get` waits for)."""
        for oid in oids:
            size = known.get(oid)
            if size is None:
                yield oid
            else:
                self._known += size

    def _add(self, data: bytes) -> None:
        for line in self._lines.feed(data):
            if not line.endswith(b" missing"):
                self._total += int(line)

    def get(self) -> int:
        self._feed.finish()
        return self._total + self._known


def _batches(oids: Iterable[bytes], size: int = 4096) -> Iterator[bytes]:
    batch: list[bytes] = []
    for oid in oids:
        batch.append(oid)
        if len(batch) == size:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"


def _parse_batch_check(out: bytes) -> dict[str, ObjectInfo]:
    info: dict[str, ObjectInfo] = {}
    _parse_batch_check_into(out, info)
    return info


def _parse_batch_check_into(out: bytes, info: dict[str, ObjectInfo]) -> int:
    """Whole answer lines into `info`; returns how many there were."""
    lines = out.split(b"\n")[:-1]
    for line in lines:
        parts = line.decode().split(" ")
        if len(parts) == 3:  # not "<oid> missing"
            info[parts[0]] = ObjectInfo(parts[0], parts[1], int(parts[2]))
    return len(lines)


def _parse_batch(out: bytes) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    _parse_batch_into(out, contents)
    return contents


def _parse_batch_into(out: bytes, contents: dict[str, bytes], limit: int | None = None) -> int:
    """Whole `cat-file --batch` answers into `contents` (the first `limit` bytes of
    each, when given); returns how many there were."""
    pos = answered = 0
    while pos < len(out):
        eol = out.find(b"\n", pos)
        if eol < 0:
            break
        header = out[pos:eol].split(b" ")
        if len(header) != 3:  # "<oid> missing"
            pos = eol + 1
            answered += 1
            continue
        size = int(header[2])
        if len(out) < eol + size + 2:
            break  # cut short: git died while writing it
        keep = size if limit is None else min(size, limit)
        contents[header[0].decode()] = out[eol + 1 : eol + 1 + keep]
        pos = eol + size + 2
        answered += 1
    return answered
