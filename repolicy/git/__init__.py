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
- `headstart`: the hook's staged diff, asked before the rest is imported
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.git.attributes import AttributeReader
    from repolicy.git.objects import (
        BlobFacts,
        is_partial_clone,
        largest_copies,
        objects_directory,
        stored_objects,
    )
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
    from repolicy.git.repo import Git, IndexListing, RawTree

# Each name is imported from its module when first asked for (PEP 562): the
# pre-commit hook starts the staged diff through `repolicy.git.repo` alone,
# and the package importing every module first (about 1 ms under
# `-X importtime`, a fifth of what runs before the diff) would delay it.
_HOMES = {
    "AttributeReader": "attributes",
    "BlobFacts": "objects",
    "is_partial_clone": "objects",
    "objects_directory": "objects",
    "largest_copies": "objects",
    "stored_objects": "objects",
    "Query": "query",
    "ALLOW_FROZEN_TRAILER": "records",
    "GITLINK": "records",
    "SYMLINK": "records",
    "Change": "records",
    "CommitChanges": "records",
    "HistoryEntry": "records",
    "IgnoreSource": "records",
    "IndexEntry": "records",
    "ObjectInfo": "records",
    "RepoInfo": "records",
    "TreeChange": "records",
    "decode": "records",
    "Git": "repo",
    "IndexListing": "repo",
    "RawTree": "repo",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # An import statement's machinery (not importlib's), so `-X importtime` sees it.
    value: object = getattr(__import__(f"repolicy.git.{home}", fromlist=[name]), name)
    globals()[name] = value  # asked once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "IndexListing",
    "ObjectInfo",
    "Query",
    "RawTree",
    "RepoInfo",
    "TreeChange",
    "decode",
    "is_partial_clone",
    "largest_copies",
    "objects_directory",
    "stored_objects",
]
