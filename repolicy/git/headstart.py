"""The staged diff, asked of git before the rest of the hook is imported.

The pre-commit hook waits on git's staged diff longer than on anything else
(about 11 ms for 10,000 files), and importing the engine that asks for it
took about 2 ms more before git could start. `start` asks at once, with only
what asking needs: the process layer, git's environment, and the repository,
HEAD and the index cache read from disk. The command line calls it as soon
as its arguments show a staged check, before repolicy's bundle is read; the
command calls it again, which asks nothing twice. `Git.staged_changes` then takes
the running diff over (`take`) when it asks the very same question: the
same work tree, HEAD and index file, not changed since. Otherwise the early
diff is dropped unread, and git is asked again.

Also here, for `Git` too: the repository and HEAD found without a process.
"""

from __future__ import annotations

import os

from repolicy.git import indexcache
from repolicy.git.environment import _DISCOVERY_ENV, _NEUTRAL_ARGS, _env
from repolicy.git.process import Process

# Paths relative to the top level whatever `diff.relative` says; renames split
# into delete + add, which is all a check of the new side needs.
STAGED_DIFF = (
    "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames",
    "--no-relative", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none",
)  # fmt: skip

# The diff `start` asked for: top level, git directory, HEAD's commit, the
# index's identity then, git's arguments, and the process.
_Started = tuple[str, str, bytes, indexcache.Stamp, tuple[str, ...], Process]
_started: _Started | None = None


def start(cwd: str) -> None:
    """Ask git now for the staged diff of the repository around `cwd`, as
    `Git.staged_changes` would, when that is the common case (a `.git`
    directory, HEAD on a branch's own file, the index git's own) and the index
    cache does not hold the answer already. Anything else: nothing is asked."""
    global _started
    if _started is not None or "GIT_INDEX_FILE" in os.environ:
        return  # asked already (the command line starts it before reading options)
    found = plain_repository(cwd)
    if found is None:
        return
    top, git_dir, _prefix = found
    key = head_on_disk(git_dir)
    if key is None:
        return
    index = os.path.join(git_dir, "index")
    cache_dir = os.path.join(git_dir, "repolicy")
    if indexcache.read(cache_dir, indexcache.STAGED, index, key) is not None:
        return
    before = indexcache.stamp(index)
    if before is None:
        return
    args = (*STAGED_DIFF, key.decode(), "--")
    try:
        proc = Process(("git", "-C", top, *_NEUTRAL_ARGS, *args), _env(), stdin=False)
    except OSError:
        return  # asked again the usual way, which says what is wrong
    _started = (top, git_dir, key, before, args, proc)


def take(
    cwd: str, git_dir: str, key: bytes, before: indexcache.Stamp | None
) -> tuple[tuple[str, ...], Process] | None:
    """The arguments and process of the diff `start` asked for, if it is the one
    `Git(cwd).staged_changes(git_dir)` asks for now: HEAD still `key`, the
    index still `before`. Taken once; a diff that does not match is dropped."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    top, started_in, started_key, started_before, args, proc = started
    if (top, started_in, started_key, started_before) != (cwd, git_dir, key, before):
        proc.close()  # git sees its output closed and stops
        return None
    return args, proc


def plain_repository(cwd: str) -> tuple[str, str, str] | None:
    """The common case found without a process: a `.git` directory in `cwd` or
    above it, as (top level, git directory, prefix). A `.git` file (linked
    worktree, submodule), an environment that steers discovery, or a start
    inside the git directory: None, and git is asked."""
    if any(name in os.environ for name in _DISCOVERY_ENV):
        return None
    here = os.path.realpath(cwd)
    top = here
    while True:
        dotgit = os.path.join(top, ".git")
        if os.path.isdir(dotgit) and not os.path.islink(dotgit):
            if not os.path.isfile(os.path.join(dotgit, "HEAD")) or not _plain_config(dotgit):
                return None
            rel = os.path.relpath(here, top)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            if prefix == ".git/" or prefix.startswith(".git/"):
                return None
            return top, dotgit, prefix
        if os.path.lexists(dotgit):
            return None
        parent = os.path.dirname(top)
        if parent == top:
            return None
        top = parent


_HEX = frozenset(b"0123456789abcdef")
_BRANCH_NAME = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


def _read_small(path: str, limit: int = 512) -> bytes | None:
    """A regular file's first `limit` bytes, never through a link, never blocking."""
    opened = indexcache.open_regular(path)
    if opened is None:
        return None
    try:
        return os.read(opened[0], limit)
    except OSError:
        return None
    finally:
        os.close(opened[0])


def _object_id(raw: bytes | None) -> bytes | None:
    """A SHA-1 id alone on its line. Where ids are SHA-256, git reads 40 digits
    as no id at all (a broken ref) and a command line would take them for an
    abbreviation of some other object: those repositories are left to git."""
    if raw is None or not raw.endswith(b"\n"):
        return None
    oid = raw[:-1]
    return oid if len(oid) == 40 and _HEX.issuperset(oid) else None


_CONFIG_LIMIT = 1 << 16
_configs: dict[str, bytes | None] = {}


def _config(git_dir: str) -> bytes | None:
    """The repository's own config file, lowercased, or None when it is not a
    regular file under 64 KiB. Read once per run: the hook asks about it when
    it starts its diff and again when `Git` finds the repository and HEAD."""
    if git_dir not in _configs:
        raw = _read_small(os.path.join(git_dir, "config"), _CONFIG_LIMIT)
        _configs[git_dir] = raw.lower() if raw is not None and len(raw) < _CONFIG_LIMIT else None
    return _configs[git_dir]


def _plain_config(git_dir: str) -> bool:
    """Whether the repository's config leaves the work tree where `.git` is: no
    `core.worktree` (nor a file that could hold one: an include, a worktree's
    own config) and no `core.bare` but false. Anything else is git's to read."""
    text = _config(git_dir)
    if text is None:
        return False
    if b"worktree" in text or b"include" in text:
        return False
    for line in text.split(b"\n"):
        key = line.strip()
        if key.startswith(b"bare") and key.replace(b" ", b"").replace(b"\t", b"") != b"bare=false":
            return False
    return True


def _sha1_repository(git_dir: str) -> bool:
    """Whether the repository's own config (where alone git reads its format)
    is a plain file that never mentions an object format: then ids are SHA-1."""
    config = _config(git_dir)
    return config is not None and b"objectformat" not in config


def _branch_name(name: bytes) -> bool:
    """Whether git takes `name` for a branch (`git check-ref-format`), in the
    plainest spelling: a name git refuses makes HEAD broken, not that file."""
    parts = name.split(b"/")
    return (
        len(parts) > 2
        and parts[:2] == [b"refs", b"heads"]
        and _BRANCH_NAME.issuperset(name)
        and b".." not in name
        and not name.endswith(b".")
        and all(
            part and not part.startswith(b".") and not part.endswith(b".lock") for part in parts
        )
    )


def head_on_disk(git_dir: str) -> bytes | None:
    """HEAD's commit id as the files backend stores it: `HEAD` holding an id, or
    `ref: refs/heads/<name>` with that branch's own file. Anything else (a
    linked worktree's git directory, a packed or unborn branch, a symbolic
    link, another ref store, an environment that steers git) is None: git
    is asked instead."""
    if any(name in os.environ for name in _DISCOVERY_ENV) or os.path.lexists(
        os.path.join(git_dir, "commondir")
    ):
        return None
    head = _read_small(os.path.join(git_dir, "HEAD"))
    if head is None or not _sha1_repository(git_dir):
        return None
    if not head.startswith(b"ref: "):
        return _object_id(head)
    name = head[5:].rstrip(b"\n")
    if head.count(b"\n") != 1 or not _branch_name(name):
        return None
    return _object_id(_read_small(os.path.join(git_dir, os.fsdecode(name))))
