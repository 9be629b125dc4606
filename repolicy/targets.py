"""What a command examines, as plain records: blobs at paths, with their facts.

Facts are gathered in batches (one `cat-file --batch-check` for sizes, one
`cat-file --batch` for the small blobs that might be LFS pointers, one
`check-attr --stdin` for the `filter` attribute) so checks never touch git.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from repolicy.git import GITLINK, SYMLINK, Git
from repolicy.lfs import MAX_POINTER_SIZE, Malformed, Pointer, parse_pointer


@dataclass(frozen=True)
class BlobAtPath:
    """A blob as it appears at one path (staged, or in one commit)."""

    path: str
    oid: str
    mode: str
    size: int  # uncompressed, as `cat-file -s` reports it
    pointer: Pointer | Malformed | None = None  # parsed for blobs under 1024 bytes
    lfs_filter: bool = False  # .gitattributes gives the path filter=lfs
    commit: str | None = None

    @property
    def is_symlink(self) -> bool:
        return self.mode == SYMLINK

    @property
    def is_lfs_pointer(self) -> bool:
        return isinstance(self.pointer, Pointer) and not self.is_symlink


@dataclass(frozen=True)
class Candidate:
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
    dirs = tuple(p.rstrip("/") + "/" for p in prefixes if p)
    if "" in exact:
        return items
    return [c for c in items if c.path in exact or c.path.startswith(dirs)]


def staged_candidates(git: Git) -> list[Candidate]:
    """Added, modified, type-changed, copied and renamed index entries (deletions never fail)."""
    return [
        Candidate(change.path, change.new_oid, change.new_mode)
        for change in git.staged_changes()
        if change.status != "D" and change.new_mode != GITLINK
    ]


def index_candidates(git: Git) -> list[Candidate]:
    return [
        Candidate(entry.path, entry.oid, entry.mode)
        for entry in git.index_entries()
        if entry.mode != GITLINK and entry.stage in (0, 2)
    ]


def gather(
    git: Git,
    candidates: Sequence[Candidate],
    *,
    cached_attributes: bool,
    lfs_paths: Iterable[str] = (),
) -> list[BlobAtPath]:
    """Attach size, pointer and attribute facts to each candidate, in three batches.

    `lfs_paths` are paths the policy stores in LFS: their attributes are asked
    even when the blob is a valid pointer (`lfs-attr-missing`).
    """
    if not candidates:
        return []
    info = git.object_info(c.oid for c in candidates)
    small = [
        c.oid
        for c in candidates
        if c.mode != SYMLINK and c.oid in info and info[c.oid].size < MAX_POINTER_SIZE
    ]
    contents = git.blob_contents(small)
    pointers = {oid: parse_pointer(data) for oid, data in contents.items()}
    # Only a path whose blob is not a valid pointer can be in trouble for lack of LFS.
    suspects = [
        c.path
        for c in candidates
        if c.mode != SYMLINK and not isinstance(pointers.get(c.oid), Pointer)
    ]
    attrs = git.attributes([*suspects, *lfs_paths], ("filter",), cached=cached_attributes)
    return [
        BlobAtPath(
            path=c.path,
            oid=c.oid,
            mode=c.mode,
            size=info[c.oid].size if c.oid in info else 0,
            pointer=pointers.get(c.oid),
            lfs_filter=attrs.get(c.path, {}).get("filter") == "lfs",
            commit=c.commit,
        )
        for c in candidates
    ]
