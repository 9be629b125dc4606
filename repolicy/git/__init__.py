"""Every question repolicy asks of git, and nothing else.

No other module builds a git command line (tests/test_layout.py fails when
one does). Each function is named for the fact it returns; lists of paths
and objects travel on stdin, output is read with `-z`, and every call sees
the objects as stored (no `refs/replace/`) and neutral values for the
settings that change what plumbing prints.

- `process`: starting processes; `environment`: the settings every call carries
- `records`: what answers are parsed into; `query`: answers that arrive later
- `repo`: the `Git` class, one method per question
- `objects`: object sizes and contents in batches, loose objects read with bounds
- `attributes`, `history`, `scratch`, `indexcache`: as named
"""

from repolicy.git.attributes import AttributeReader
from repolicy.git.objects import BlobFacts, is_partial_clone, objects_directory
from repolicy.git.query import Query
from repolicy.git.records import (
    ALLOW_FROZEN_TRAILER,
    GITLINK,
    SYMLINK,
    Change,
    CommitChanges,
    HistoryEntry,
    IgnoreSource,
    IndexEntry,
    ObjectInfo,
    RepoInfo,
    TreeChange,
    decode,
)
from repolicy.git.repo import Git, RawTree

__all__ = [
    "ALLOW_FROZEN_TRAILER",
    "GITLINK",
    "SYMLINK",
    "AttributeReader",
    "BlobFacts",
    "Change",
    "CommitChanges",
    "Git",
    "HistoryEntry",
    "IgnoreSource",
    "IndexEntry",
    "ObjectInfo",
    "Query",
    "RawTree",
    "RepoInfo",
    "TreeChange",
    "decode",
    "is_partial_clone",
    "objects_directory",
]
