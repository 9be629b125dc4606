"""The records git's answers are parsed into, and how paths are decoded.

Paths are decoded once, with surrogateescape, so names that are not UTF-8
survive the round trip.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple

GITLINK = "160000"


SYMLINK = "120000"


# os.fsdecode and os.fsencode, without their per-call checks: an audit
# converts every path of the history, hundreds of thousands of them.
_FS_ENCODING = sys.getfilesystemencoding()


_FS_ERRORS = sys.getfilesystemencodeerrors()


def decode(raw: bytes) -> str:
    return raw.decode(_FS_ENCODING, _FS_ERRORS)


def encode(path: str) -> bytes:
    return path.encode(_FS_ENCODING, _FS_ERRORS)


class RepoInfo(NamedTuple):
    toplevel: str
    git_dir: str
    prefix: str  # the current directory, relative to toplevel ('' or 'sub/dir/')


class Change(NamedTuple):
    """One entry of `git diff --raw`: the new side of an added or modified path."""

    status: str  # A, M, T, C, R, D
    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    path: str


class IndexEntry(NamedTuple):
    mode: str
    oid: str
    stage: int
    path: str


class IndexSummary(NamedTuple):
    """Of the whole index listing: the `.gitattributes` records, and whether a
    DVC file might be among the paths (see `Git.index_summary`)."""

    attribute_records: bytes
    dvc_files: bool


class HistoryEntry(NamedTuple):
    """A blob written at a path by a commit (added, modified or changed type)."""

    commit: str
    path: str
    oid: str
    mode: str


# The commit-message trailer a maintainer writes to change frozen files on purpose.
ALLOW_FROZEN_TRAILER = "Repolicy-Allow-Frozen"


class TreeChange(NamedTuple):
    """A path one commit changed against its parent(s)."""

    path: str
    before: bool  # a parent had an entry at the path
    after: bool  # the commit has one
    old_oid: str  # what a parent had there (the all-zero id when none did)
    new_oid: str


class CommitChanges(NamedTuple):
    commit: str
    parents: tuple[str, ...]
    allow_frozen: tuple[str, ...]  # values of its Repolicy-Allow-Frozen trailers
    changes: tuple[TreeChange, ...]


class Others(NamedTuple):
    """The work tree's files outside the index (see `Git.others`)."""

    untracked: list[str]  # what `git add -A` would add
    ignored: list[str]  # what the ignore rules keep out


class ObjectInfo(NamedTuple):
    oid: str
    type: str
    size: int


class IgnoreSource(NamedTuple):
    """A line of an ignore file (`file` as git names it: relative to the top level)."""

    file: str
    line: int
    pattern: str

    @property
    def ignores(self) -> bool:
        return not self.pattern.startswith("!")
