"""What the `dvc` checks judge, gathered for each scope: the outputs of the DVC
files in the index, on disk and in history (their contents read in one batch),
which of them git ignores, and the hashes of those on disk. Then the checks
of checks/dvc.py over them.
"""

from __future__ import annotations

import operator
import os
import posixpath

from repolicy.checks.dvc import Managed, check_in_git, check_not_ignored, check_stale

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from repolicy.checks import Context
    from repolicy.dvc.files import DvcOut
    from repolicy.facts import BlobAtPath
    from repolicy.git import Git, IndexEntry, IndexListing, RepoInfo
    from repolicy.report import Violation

_PATH = operator.attrgetter("path")

# A cheap first test: history holds many paths, and few end like a DVC file.
_DVC_ENDINGS = (".dvc", "dvc.lock", "dvc.yaml")


def _may_be_dvc(paths: Iterable[str]) -> bool:
    """Whether any of `paths` ends like a DVC file: one search of them all, where
    a history of 100,000 paths holds none in most repositories."""
    joined = "\0".join(paths) + "\0"
    return any(ending + "\0" in joined for ending in _DVC_ENDINGS)


def _dvc_entries(entries: Sequence[IndexEntry]) -> list[IndexEntry]:
    from repolicy.dvc.files import PROJECT_FILE, is_dvc_file

    if not _may_be_dvc(map(_PATH, entries)):
        return []
    return [
        e
        for e in entries
        if e.path.endswith(_DVC_ENDINGS)
        and e.stage in (0, 2)
        and (is_dvc_file(e.path) or posixpath.basename(e.path) == PROJECT_FILE)
    ]


def _index_outs(git: Git, entries: Sequence[IndexEntry]) -> list[DvcOut]:
    from repolicy.dvc.files import outs_from

    contents = git.blob_contents(e.oid for e in entries).get()
    return outs_from({e.path: contents[e.oid] for e in entries if e.oid in contents})


def _historical_outs(git: Git, blobs: Iterable[BlobAtPath]) -> list[DvcOut]:
    """Outputs named by DVC files in history; a malformed old version is skipped."""
    from repolicy.dvc.files import PROJECT_FILE, is_dvc_file, outs_from

    blobs = blobs if isinstance(blobs, list) else list(blobs)
    if not _may_be_dvc(map(_PATH, blobs)):
        return []
    wanted = {
        (b.path, b.oid)
        for b in blobs
        if b.path.endswith(_DVC_ENDINGS)
        and b.commit is not None
        and (is_dvc_file(b.path) or posixpath.basename(b.path) == PROJECT_FILE)
    }
    if not wanted:
        return []
    contents = git.blob_contents(oid for _path, oid in wanted).get()
    outs: list[DvcOut] = []
    for path, oid in sorted(wanted):
        if oid in contents:
            outs.extend(outs_from({path: contents[oid]}, strict=False))
    return outs


def _within(out: DvcOut, prefixes: Sequence[str]) -> bool:
    for prefix in prefixes:
        if prefix == "":
            return True
        for path in (out.path, out.source):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return True
        if prefix.startswith(out.path + "/"):
            return True
    return False


def for_check(
    ctx: Context,
    git: Git,
    info: RepoInfo,
    blobs: Sequence[BlobAtPath],
    dvc_files: list[IndexEntry],
    paths: Sequence[str],
) -> list[Violation]:
    """`check`: staged blobs under DVC outputs, and outputs git does not ignore
    (those of the DVC files in the index, narrowed to `paths` when given)."""
    outs = _index_outs(git, _dvc_entries(dvc_files))
    managed = Managed(ctx, outs)
    if not managed:
        return []
    found = list(check_in_git(ctx, managed, blobs))
    if paths:
        from repolicy.facts import repository_paths

        wanted = repository_paths(info, list(paths))
        outs = [o for o in outs if _within(o, wanted)]
    outs = [o for o in outs if o.cache]
    ignored = git.ignored_by_rules(o.path for o in outs)
    found.extend(check_not_ignored(ctx, outs, ignored))
    return found


def for_push(ctx: Context, git: Git, blobs: Sequence[BlobAtPath]) -> list[Violation]:
    """`check --push`: pushed blobs under the outputs of the DVC files the index
    holds or the push carries, or under `dvc:`."""
    dvc_files = _dvc_entries(git.dvc_files().get())
    outs = [*_index_outs(git, dvc_files), *_historical_outs(git, blobs)]
    return list(check_in_git(ctx, Managed(ctx, outs), blobs))


def for_audit(
    ctx: Context,
    git: Git,
    git_dir: str,
    blobs: Sequence[BlobAtPath],
    index: IndexListing,
    untracked: Sequence[str] | None,
) -> list[Violation]:
    """`audit`: every blob in history or the index under a DVC output; outputs git
    does not ignore; outputs whose work-tree content changed. The current outputs
    are read from the DVC files on disk (as DVC reads them), else from the index."""
    from repolicy.dvc.files import is_dvc_file, outs_from, read_work_tree

    # Most indexes hold no DVC file: their entries are then never parsed.
    entries = _dvc_entries(index.entries) if _may_be_dvc(index.paths) else []
    on_disk = read_work_tree(git.cwd, (e.path for e in entries))
    untracked_list = list(untracked) if untracked is not None else None
    # Listing untracked files costs a walk of the work tree: only where a
    # `dvc add` not yet committed could have left a .dvc file, or `dvc:` asks.
    project = os.path.isdir(os.path.join(git.cwd, ".dvc"))
    if untracked_list is None and (ctx.policy.dvc or project):
        untracked_list = git.others().get().untracked
    new_files = [p for p in untracked_list or () if is_dvc_file(p)]
    on_disk.update(read_work_tree(git.cwd, new_files))
    missing = [e for e in entries if e.path not in on_disk]
    if missing:
        contents = git.blob_contents(e.oid for e in missing).get()
        on_disk.update((e.path, contents[e.oid]) for e in missing if e.oid in contents)
    current = outs_from(on_disk)
    managed = Managed(ctx, [*current, *_historical_outs(git, blobs)])
    if not managed:
        return []
    found = list(check_in_git(ctx, managed, blobs))
    live = [o for o in current if o.cache]
    ignored = git.ignored_by_rules(o.path for o in live)
    found.extend(check_not_ignored(ctx, live, ignored, untracked_list or ()))
    if current:
        # Only now: the hasher's imports (hashlib, a thread pool) cost an audit
        # without DVC outputs 17 ms.
        from repolicy.dvc.hashing import Hasher

        hasher = Hasher(git.cwd, os.path.join(git_dir, "repolicy"))
        found.extend(check_stale(ctx, current, hasher.hashes(o for o in current if o.md5)))
    return found
