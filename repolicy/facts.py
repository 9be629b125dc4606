"""What a command examines, as plain records: blobs at paths, with their facts.

Facts are gathered in batches (one `cat-file --batch-command` for sizes and
for the small blobs that might be LFS pointers, one `check-attr --stdin` for
the `filter` attribute, side by side) so checks never touch git.
"""

from __future__ import annotations

import operator
import os
import posixpath
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

from repolicy.errors import RepolicyError
from repolicy.git import (
    GITLINK,
    SYMLINK,
    AttributeReader,
    Change,
    Git,
    HistoryEntry,
    IndexEntry,
    ObjectInfo,
    Query,
    RepoInfo,
)
from repolicy.lfs import MAX_POINTER_SIZE, Malformed, Pointer, might_be_pointer, parse_pointer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    from repolicy.git.objects import BlobFacts
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple

# Why a blob has no facts (`BlobAtPath.unreadable`): its object cannot be
# read, or a partial clone left it on the promisor remote.
UNREADABLE = "unreadable"
PROMISED = "promised"


class BlobAtPath(NamedTuple):
    """A blob as it appears at one path (staged, or in one commit)."""

    path: str
    oid: str
    mode: str
    size: int  # uncompressed, as `cat-file -s` reports it
    pointer: Pointer | Malformed | None = None  # parsed for blobs under 1024 bytes
    lfs_filter: bool = False  # .gitattributes gives the path filter=lfs
    commit: str | None = None
    unreadable: str = ""  # UNREADABLE or PROMISED: no facts (size is then 0, and meaningless)
    # Git's verdict (a NUL byte in the first 8,000 bytes), for the blobs whose
    # size makes it matter to a `file_binary` budget; None: not read for it.
    binary: bool | None = None

    @property
    def is_symlink(self) -> bool:
        return self.mode == SYMLINK

    @property
    def is_lfs_pointer(self) -> bool:
        return isinstance(self.pointer, Pointer) and not self.is_symlink

    @property
    def lfs_oid(self) -> str | None:
        """The LFS object this blob points to (None for the empty pointer or no pointer)."""
        return (
            self.pointer.oid if isinstance(self.pointer, Pointer) and not self.is_symlink else None
        )

    @property
    def lfs_size(self) -> int:
        return self.pointer.size if isinstance(self.pointer, Pointer) else 0


class Candidate(NamedTuple):
    path: str
    oid: str
    mode: str
    commit: str | None = None


def narrow(candidates: Iterable[Candidate], prefixes: Sequence[str] | None) -> list[Candidate]:
    """Keep the candidates at or below the given repository-relative paths."""
    items = list(candidates)
    if prefixes is None:
        return items
    exact = set(prefixes)
    if "" in exact:
        return items
    # Each candidate's own directories are looked up (linear in the paths), not
    # compared with every prefix: `pre-commit run --all-files` gives them all.
    dirs = {p.rstrip("/") for p in prefixes} - {""}
    return [c for c in items if c.path in exact or _under(c.path, dirs)]


def _under(path: str, dirs: set[str]) -> bool:
    end = path.find("/")
    while end != -1:
        if path[:end] in dirs:
            return True
        end = path.find("/", end + 1)
    return False


def history_candidates(firsts: Mapping[tuple[str, str], HistoryEntry]) -> list[Candidate]:
    """Each (blob, path) of a walk once, with the oldest commit that wrote it there
    (`HistoryWalk.firsts`)."""
    new = tuple.__new__  # Candidate's fields in order, without its __new__: once per blob
    return [new(Candidate, fields) for fields in entry_facts(firsts.values())]


def entry_facts(entries: Iterable[HistoryEntry]) -> Iterator[tuple[str, str, str, str | None]]:
    """History entries as `attach` reads candidates: path, blob id, mode, commit."""
    return map(_CANDIDATE_ORDER, entries)


_CANDIDATE_ORDER = operator.itemgetter(1, 2, 3, 0)  # HistoryEntry is (commit, path, oid, mode)
_MODE = operator.attrgetter("mode")
_STAGE = operator.attrgetter("stage")


def staged_candidates(changes: Iterable[Change]) -> list[Candidate]:
    """Added, modified, type-changed, copied and renamed entries (deletions never fail).

    An unmerged path ("U") has no staged blob (git shows a zero id); the caller
    judges the index's "ours" side for it instead.
    """
    return [
        Candidate(change.path, change.new_oid, change.new_mode)
        for change in changes
        if change.status not in ("D", "U") and change.new_mode != GITLINK
    ]


def index_judged(entries: list[IndexEntry]) -> list[IndexEntry]:
    """The entries `index_candidates` keeps, as they are: a whole index's, most
    often every one of them (no submodule, no conflict), which is seen
    without a Python-level loop over its tens of thousands of entries."""
    if GITLINK not in set(map(_MODE, entries)) and set(map(_STAGE, entries)) <= {0, 2}:
        return entries
    return [e for e in entries if e.mode != GITLINK and e.stage in (0, 2)]


def index_candidates(entries: Iterable[IndexEntry]) -> list[Candidate]:
    """Index entries (the "ours" side of a conflict); submodules are never read."""
    new = tuple.__new__  # Candidate's fields in order, without its __new__: once per entry
    return [
        new(Candidate, (path, oid, mode, None))
        for mode, oid, stage, path in entries
        if mode != GITLINK and stage in (0, 2)
    ]


def gather(
    git: Git,
    candidates: Sequence[Candidate],
    *,
    cached_attributes: bool,
    objects: str | None = None,
    reader: AttributeReader | None = None,
    promised: Collection[str] = (),
    binary: tuple[int, int] | None = None,
    attributes: Query[dict[str, dict[str, str]]] | None = None,
    facts: BlobFacts | None = None,
) -> list[BlobAtPath]:
    """Attach size, pointer and attribute facts to each candidate.

    Sizes and attributes are asked side by side; then the blobs small enough
    to be LFS pointers are read in one more batch. With `objects` (freshly
    staged blobs are loose), loose objects are read there while git answers
    the attribute question. `reader`, a `check-attr` for `filter` started
    earlier, is asked instead of starting one. `promised`: ids a partial
    clone's promisor remote holds; git is never asked about them (it would
    fetch them). `binary` (`Policy.binary_window`): blobs sized within it are
    judged binary or text in the same batch, on their first bytes only.
    `attributes`: the reader's answer, asked already (`ask_filter`). `facts`:
    the blobs' sizes and contents, asked already (`blob_facts`), for which
    `objects`, `promised` and `binary` were given there.
    """
    if not candidates:
        if reader is not None:
            reader.discard()
        return []
    if attributes is None and reader is not None:
        attributes = ask_filter(reader, candidates)
    elif attributes is None:
        paths = (c.path for c in candidates if c.mode != SYMLINK)
        attributes = git.attributes(paths, ("filter",), cached=cached_attributes)
    absent = set(promised)
    if facts is None:
        facts = blob_facts(git, candidates, objects, promised, binary)
    info, contents = facts.get()
    return attach(
        candidates, info, contents, attributes.get(), absent | facts.promised, facts.binary
    )


def blob_facts(
    git: Git,
    candidates: Sequence[Candidate],
    objects: str | None = None,
    promised: Collection[str] = (),
    binary: tuple[int, int] | None = None,
) -> BlobFacts:
    """The sizes and small contents `gather` attaches, asked now: loose objects
    are read at once, the rest asked of git (see `Git.blob_facts`)."""
    absent = set(promised)
    oids = (c.oid for c in candidates if c.oid not in absent)
    return git.blob_facts(oids, MAX_POINTER_SIZE, might_be_pointer, objects, binary)


def ask_filter(
    reader: AttributeReader, candidates: Sequence[Candidate]
) -> Query[dict[str, dict[str, str]]]:
    """The `filter` attribute of the candidates' paths, asked of `reader` now and
    answered while the caller goes on (a symbolic link has no attributes)."""
    return reader.ask(c.path for c in candidates if c.mode != SYMLINK)


def attach(
    candidates: Iterable[tuple[str, str, str, str | None]],
    info: Mapping[str, ObjectInfo],
    contents: Mapping[str, bytes],
    attrs: Mapping[str, Mapping[str, str]],
    promised: Collection[str] = (),
    binary: Mapping[str, bool] | None = None,
) -> list[BlobAtPath]:
    """Blobs at their paths, from facts already gathered: sizes (`info`), the
    contents of the small blobs that might be pointers, `filter` attributes.
    A blob without facts could not be read (or, among `promised`, is only on
    a partial clone's promisor remote): it is marked so, never taken as 0 bytes."""
    pointers = {oid: parse_pointer(data) for oid, data in contents.items()}
    # Once per blob of a whole history: the fields are given in BlobAtPath's
    # order to tuple.__new__, with the lookups bound once.
    new, info_of, pointer_of, attrs_of = tuple.__new__, info.get, pointers.get, attrs.get
    binary_of = (binary or {}).get
    blobs: list[BlobAtPath] = []
    add = blobs.append
    for path, oid, mode, commit in candidates:
        found = info_of(oid)
        attributes = attrs_of(path)
        lfs_filter = attributes is not None and attributes.get("filter") == "lfs"
        if found is not None:
            fields = (
                path, oid, mode, found.size, pointer_of(oid), lfs_filter, commit, "",
                binary_of(oid),
            )  # fmt: skip
        else:
            absent = PROMISED if oid in promised else UNREADABLE
            fields = (path, oid, mode, 0, pointer_of(oid), lfs_filter, commit, absent, None)
        add(new(BlobAtPath, fields))
    return blobs


def repository_paths(info: RepoInfo, paths: list[str]) -> list[str]:
    """Command-line paths (relative to the current directory) as repository paths."""
    if not info.prefix and _already_normal(paths):
        return list(paths)
    out = []
    top = os.path.realpath(info.toplevel)
    for arg in paths:
        if os.path.isabs(arg):
            rel = os.path.relpath(os.path.realpath(arg), top)
        else:
            rel = posixpath.normpath(info.prefix + arg.replace(os.sep, "/"))
        if rel == ".." or rel.startswith("../"):
            raise RepolicyError(f"{arg}: outside the repository {info.toplevel}")
        out.append("" if rel == "." else rel)
    return out


# What `posixpath.normpath` would change in a name, each between NULs: a
# leading or doubled slash, a trailing one, an empty name, a `.` or `..` part.
_NOT_NORMAL = (
    "\0/", "//", "/\0", "\0\0", "\0./", "/./", "/.\0", "\0.\0",
    "\0../", "/../", "/..\0", "\0..\0",
)  # fmt: skip


def _already_normal(paths: list[str]) -> bool:
    """Whether every path is relative and already normal, so is its own
    repository path from the top level: then `repository_paths` has nothing to
    do, for the thousands of names of each of pre-commit's command lines."""
    if os.sep != "/" or not paths:
        return False
    joined = "\0" + "\0".join(paths) + "\0"
    return not any(part in joined for part in _NOT_NORMAL)


def staged_selection(
    git: Git, info: RepoInfo, changes: list[Change], paths: list[str]
) -> list[Candidate]:
    """What `check` examines: the staged entries, narrowed to `paths` when given."""
    staged = staged_candidates(changes)
    unmerged = {c.path for c in changes if c.status == "U"}
    if unmerged:
        # A conflict in progress: each unmerged path is judged as "ours" (stage 2).
        staged += index_candidates(git.index_entries(sorted(unmerged)).get())
    if not paths:
        return staged
    wanted = repository_paths(info, paths)
    if not staged:
        # Nothing staged (e.g. `pre-commit run --all-files`): judge the index.
        # pre-commit splits the file list into many command lines, each of which
        # reads the whole index: only the wanted entries are decoded.
        entries = git.index_entries(wanted, info.git_dir).get()
        return narrow(index_candidates(entries), wanted)
    return narrow(staged, wanted)
