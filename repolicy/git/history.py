"""Walking history: every blob each commit wrote, at its path, in one pass."""

from __future__ import annotations

import collections
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from repolicy.errors import GitError
from repolicy.git.attributes import _Attributes
from repolicy.git.objects import BlobFacts, _BlobQuestions, loose_ids, read_loose
from repolicy.git.query import Feed, _Lines, read_ahead
from repolicy.git.records import (
    _FS_ENCODING,
    _FS_ERRORS,
    GITLINK,
    SYMLINK,
    CommitChanges,
    HistoryEntry,
    ObjectInfo,
    TreeChange,
    decode,
    encode,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.git.repo import Git


def revision_input(revisions: Sequence[str]) -> tuple[list[str], bytes]:
    """`revisions` split for a `--stdin` walk: options (`--branches`, `--not`...)
    stay on the command line, names go to stdin, once each. A push of 60,000
    tags names 60,000 commits, more than a command line holds.

    `--stdin` comes first on the command line, where no `--not` is in force
    yet; a name after an odd number of `--not` is sent as `^name` instead."""
    options: list[str] = []
    names: dict[str, None] = {}
    negated = False
    for rev in revisions:
        if rev == "--not":
            negated = not negated
            options.append(rev)
        elif rev.startswith("-"):
            options.append(rev)
        elif negated and not rev.startswith("^"):
            names["^" + rev] = None
        elif negated:
            names[rev[1:]] = None
        else:
            names[rev] = None
    return options, b"".join(encode(name) + b"\n" for name in names)


class RawRecord(NamedTuple):
    """One `--raw` record; a merge's combined record has one old mode and id per parent."""

    old_modes: list[str]
    old_oids: list[str]
    new_mode: str
    new_oid: str
    status: str
    path: bytes


def raw_record(meta: bytes, path: bytes) -> RawRecord:
    """One `--raw` record from its meta field and its path (with `-c`, a merge's)."""
    text = meta.decode()
    n = len(text) - len(text.lstrip(":"))
    parts = text[n:].split(" ")
    return RawRecord(
        parts[:n], parts[n + 1 : 2 * n + 1], parts[n], parts[2 * n + 1], parts[-1][:1], path
    )


class HistoryWalk(NamedTuple):
    entries: list[HistoryEntry]
    objects: set[bytes]  # the ids of the commits and trees of the walk
    # Paths where a commit wrote a submodule (which has no blob to judge, but
    # is an entry of its directory).
    gitlinks: tuple[str, ...] = ()
    # Each (blob id, path) once, with the oldest commit that wrote it there
    # (`--reverse`): what is judged, one lookup away for an index entry.
    firsts: Mapping[tuple[str, str], HistoryEntry] = MappingProxyType({})
    # Every directory a commit wrote (with `-t`, git names each tree it
    # changed): the directories of history, without splitting every path.
    directories: frozenset[bytes] = frozenset()


_TREE = b"040000"


_GITLINK = GITLINK.encode()


_MODES = {m: m.decode() for m in (b"100644", b"100755", b"120000")}


_ASK_EVERY = 1024  # new blobs the walk meets before their facts are asked


_SYMLINK = SYMLINK.encode()


class Fresh:
    """The blob ids and paths a walk meets for the first time, in the order it
    meets them, gathered as it parses: what `HistoryScan` asks git about."""

    __slots__ = ("oids", "paths", "raw_paths", "seen_oids", "seen_paths")

    def __init__(self) -> None:
        # Keyed by the text the entries hold: its hash is computed once.
        self.seen_oids: set[str] = set()
        self.seen_paths: set[str] = set()
        self.oids: list[str] = []
        self.paths: list[str] = []
        self.raw_paths: list[bytes] = []

    def take(self) -> tuple[list[str], list[str], list[bytes]]:
        """What was met since the last call."""
        taken = self.oids, self.paths, self.raw_paths
        self.oids, self.paths, self.raw_paths = [], [], []
        return taken


class WalkParser:
    """`git log --raw -z -c --format=%x01%H[ %T]` (with or without `-t`), parsed
    chunk by chunk as it arrives.

    Read field by field: a path may hold any byte but NUL, so only the order
    of the fields tells a commit's header from a path. A record is a meta
    field (`:` once per parent, the parents' modes, the new mode, the
    parents' ids, the new id, the status letters) and then its path.
    """

    def __init__(self, fresh: Fresh | None = None) -> None:
        self.entries: list[HistoryEntry] = []
        self.firsts: dict[tuple[str, str], HistoryEntry] = {}
        self.objects: set[bytes] = set()  # commits and trees
        self.directories: set[bytes] = set()  # paths of the trees, with `-t`
        self.gitlinks: list[str] = []
        self.fresh = fresh
        self._commit = ""
        self._meta: bytes | None = None
        self._fields = _Lines(b"\0")

    def feed(self, data: bytes) -> None:
        fields = self._fields.feed(data)
        add_entry, add_object = self.entries.append, self.objects.add
        add_directory = self.directories.add
        fresh, firsts = self.fresh, self.firsts
        first_write = firsts.setdefault
        new = tuple.__new__  # HistoryEntry's fields in order, without its __new__
        commit, meta = self._commit, self._meta
        # Bound once per chunk: `Fresh.take` swaps the lists only between chunks.
        if fresh is not None:
            seen_oids, seen_paths = fresh.seen_oids, fresh.seen_paths
            new_oids, new_paths, new_raw = fresh.oids, fresh.paths, fresh.raw_paths
        for field in fields:
            if meta is not None:
                if meta[1] == 0x3A:  # a merge's combined record: one ':' per parent
                    parts = meta.split(b" ")
                    n = len(meta) - len(meta.lstrip(b":"))
                    mode, oid, deleted = parts[n], parts[2 * n + 1], parts[-1][:1] == b"D"
                else:
                    # ":<mode> <mode> <id> <id> <status>": fixed widths (modes of
                    # six digits, full ids, one status letter, no rename score),
                    # so the fields are sliced out rather than split.
                    end = len(meta) - 2
                    mode = meta[8:14]
                    oid = meta[end - (end - 16) // 2 : end]
                    deleted = meta[-1] == 0x44  # "D"
                meta = None
                if mode == _TREE:
                    add_object(oid)
                    add_directory(field)
                elif mode == _GITLINK:
                    if not deleted:
                        self.gitlinks.append(decode(field))
                elif mode != b"000000" and not deleted:
                    mode_text = _MODES.get(mode) or mode.decode()
                    path, oid_text = field.decode(_FS_ENCODING, _FS_ERRORS), oid.decode()
                    entry = new(HistoryEntry, (commit, path, oid_text, mode_text))
                    add_entry(entry)
                    first_write((oid_text, path), entry)
                    if fresh is not None:
                        if oid_text not in seen_oids:
                            seen_oids.add(oid_text)
                            new_oids.append(oid_text)
                        # A symbolic link's target has no attributes.
                        if path not in seen_paths and mode != _SYMLINK:
                            seen_paths.add(path)
                            new_paths.append(path)
                            new_raw.append(field)
                continue
            first = field[:1]
            if first == b":":
                meta = field
                continue
            if first == b"\n":
                field = field.lstrip(b"\n")
                first = field[:1]
                if first == b":":
                    meta = field
                    continue
            if first == b"\x01":
                ids = field[1:].split()
                add_object(ids[0])
                if len(ids) > 1:
                    add_object(ids[1])
                commit = ids[0].decode()
        self._commit, self._meta = commit, meta

    def result(self) -> HistoryWalk:
        return HistoryWalk(
            self.entries,
            self.objects,
            tuple(self.gitlinks),
            self.firsts,
            frozenset(self.directories),
        )


def parse_history_walk(chunks: Iterable[bytes]) -> HistoryWalk:
    parser = WalkParser()
    for data in chunks:
        parser.feed(data)
    return parser.result()


class HistoryScan:
    """The history walk, with the facts of each blob gathered while it goes.

    Each new blob id is asked of `cat-file` (its size, then the contents of
    the small ones, kept where `keep` says) and each new path of `check-attr`
    as soon as the walk meets them: both run beside `git log` instead of
    after it. `on_paths` is given the new paths (but symbolic links') too,
    a batch at a time, to work on while git does. Git without `cat-file
    --batch-command` (before 2.36) is asked once the walk is over.
    """

    def __init__(
        self,
        git: Git,
        revisions: Sequence[str],
        read_below: int,
        keep: Callable[[bytes], bool] | None,
        attributes: Sequence[str],
        objects: str | None = None,
        promised: Collection[str] = (),
        head: tuple[int, int] | None = None,
        on_paths: Callable[[list[str]], object] | None = None,
    ) -> None:
        self.info: dict[str, ObjectInfo] = {}
        self._on_paths = on_paths
        self.binary: dict[str, bool] = {}
        self._head = head
        self._objects = objects
        self._promised = promised
        self.contents: dict[str, bytes] = {}
        self.attributes = _Attributes()
        self._git = git
        self._read_below = read_below
        self._keep = keep
        self._attr_fields = _Lines(b"\0")
        self._attr_carry: list[bytes] = []
        self._attr_paths: collections.deque[str] = collections.deque()
        self._attr_names = len(attributes)
        self._attr_answers = 0
        self._attr_path = ""
        self._log = git._history_log(revisions, trees=True)
        self._blobs = _BlobQuestions(
            git, read_below, keep, self.info, self.contents, head, self.binary
        )
        self._attrs = Feed(
            git, ("check-attr", "-z", "--stdin", "--cached", *attributes), self._on_attributes
        )
        # Three long outputs, parsed as they stream (see `Process.widen`).
        for pending in (self._log, self._blobs.feed.pending, self._attrs.pending):
            pending.proc.widen()

    def _on_attributes(self, data: bytes) -> None:
        fields = self._attr_carry + self._attr_fields.feed(data)
        whole = len(fields) - len(fields) % 3
        self._attr_carry = fields[whole:]
        for k in range(0, whole, 3):
            # Answers come in the order asked, one per name: the path objects
            # the walk made are reused rather than decoded again.
            if self._attr_answers == 0:
                self._attr_path = self._attr_paths.popleft()
                self._attr_answers = self._attr_names
            self._attr_answers -= 1
            self.attributes.add(self._attr_path, fields[k + 1], fields[k + 2])

    def release(self) -> None:
        """Drop the facts once they are attached to the blobs."""
        self.info, self.contents, self.attributes = {}, {}, _Attributes()
        self.binary = {}

    def get(self) -> HistoryWalk:
        fresh = Fresh()
        parser = WalkParser(fresh)
        done = 0
        # Loose objects are read here, as the hook reads them: git would hang
        # on a FIFO and believe a header that lies. A partial clone's absent
        # blobs are never asked: git would fetch them.
        objects = self._objects
        loose = loose_ids(objects) if objects is not None else set()
        asked: list[str] = []  # of git

        def ask() -> None:
            # New ids and paths in the order the walk met them; the first
            # commit of an imported project alone brings tens of thousands.
            oids, paths, raw_paths = fresh.take()
            if self._promised:
                oids = [o for o in oids if o not in self._promised]
            if loose and objects is not None:
                here = [o for o in oids if o in loose]
                if here:
                    rest = read_loose(
                        objects,
                        here,
                        self._read_below,
                        self._keep,
                        self.info,
                        self.contents,
                        self._head,
                        self.binary,
                    )
                    unread = set(here) - set(rest)
                    oids = [o for o in oids if o not in unread]
            asked.extend(oids)
            self._blobs.ask(oids)
            if paths:
                self._attr_paths.extend(paths)
                self._attrs.send(b"\0".join(raw_paths) + b"\0")
                if self._on_paths is not None:
                    # While git answers, and while the walk waits on `git log`.
                    self._on_paths(paths)

        for data in read_ahead(self._log.stream()):
            parser.feed(data)
            # Asked a batch at a time, not once per chunk the pipe gave: each
            # question wakes the threads that write to git and costs a switch.
            if len(parser.entries) - done >= _ASK_EVERY:
                ask()
                done = len(parser.entries)
        ask()
        walk = parser.result()
        try:
            self._blobs.finish()
        except GitError:
            # Git died on an object: what it said is asked again, one object
            # at a time where it dies (see `BlobFacts`).
            for oid in asked:
                self.info.pop(oid, None)
                self.contents.pop(oid, None)
                self.binary.pop(oid, None)
            facts = BlobFacts(self._git, asked, self._read_below, self._keep, head=self._head)
            info, contents = facts.get()
            self.info.update(info)
            self.contents.update(contents)
            self.binary.update(facts.binary)
        self._attrs.finish()
        return walk


def parse_commit_changes(out: bytes) -> list[CommitChanges]:
    """Parse `git log --raw -z -c` with the header `%x01%H %P%x02<trailers>%x02`.

    Read field by field, as `WalkParser` does: a path may hold \\x01 or \\x02,
    so only the order of the fields tells a header from a path.
    """
    commits: list[CommitChanges] = []
    header: bytes | None = None
    changes: list[TreeChange] = []
    meta: bytes | None = None

    def close() -> None:
        if header is None:
            return
        ids_text, _, rest = header.partition(b"\x02")
        trailers = rest.rpartition(b"\x02")[0]
        ids = ids_text.decode().split()
        allow = tuple(v.strip() for v in decode(trailers).split("\x1f") if v.strip())
        commits.append(CommitChanges(ids[0], tuple(ids[1:]), allow, tuple(changes)))

    for field in out.split(b"\0"):
        if meta is not None:
            record = raw_record(meta, field)
            meta = None
            present = [
                o for m, o in zip(record.old_modes, record.old_oids, strict=True) if m != "000000"
            ]
            zero = "0" * len(record.new_oid)
            changes.append(
                TreeChange(
                    decode(record.path),
                    bool(present),
                    record.new_mode != "000000",
                    present[0] if present else zero,
                    record.new_oid,
                )
            )
            continue
        field = field.lstrip(b"\n")
        if field[:1] == b":":
            meta = field
        elif field[:1] == b"\x01":
            close()
            header, changes = field[1:], []
    close()
    return commits


def _parse_parent_diffs(
    pairs: list[tuple[str, str]], out: bytes
) -> list[tuple[str, str, tuple[TreeChange, ...]]]:
    """`diff-tree --stdin --always -z`: for each input pair in order, the commit id
    then its raw records (a path follows each record's meta field)."""
    result: list[tuple[str, str, tuple[TreeChange, ...]]] = []
    changes: list[TreeChange] = []
    meta: bytes | None = None
    for field in out.split(b"\0"):
        if meta is not None:
            old_mode, new_mode, old_oid, new_oid = meta[1:].split(b" ")[:4]
            changes.append(
                TreeChange(
                    decode(field),
                    old_mode != b"000000",
                    new_mode != b"000000",
                    old_oid.decode(),
                    new_oid.decode(),
                )
            )
            meta = None
            continue
        field = field.strip(b"\n")
        if field[:1] == b":":
            meta = field
        elif field:
            if result:
                result[-1] = (*result[-1][:2], tuple(changes))
            if len(result) == len(pairs):
                break
            result.append((*pairs[len(result)], ()))
            changes = []
    if result:
        result[-1] = (*result[-1][:2], tuple(changes))
    return result
