"""What `require` judges, asked of git for each scope: which files the directories
a change touches hold, in the index, in a pushed commit's tree, in HEAD and on
disk. The touched directories come first (checks/require.py), then only their
files are listed: one listing per tree.
"""

from __future__ import annotations

import os

from repolicy.checks import require

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from repolicy.checks import Context
    from repolicy.facts import Candidate
    from repolicy.git import Change, CommitChanges, Git, TreeChange
    from repolicy.report import Violation


def staged(
    ctx: Context, git: Git, changes: Sequence[Change], candidates: Sequence[Candidate]
) -> list[Violation]:
    """`check`: the directories the staged changes touch, as the index holds them."""
    directories = require.staged_directories(ctx, changes, candidates)
    if not directories:
        return []
    files = git.index_files(sorted(directories)).get()
    return require.staged(ctx, directories, files)


def pushed(
    ctx: Context,
    git: Git,
    commits: Sequence[CommitChanges],
    diffs: Sequence[tuple[str, str, Sequence[TreeChange]]] = (),
) -> list[Violation]:
    """`check --push`: each pushed commit's tree, in the directories it touched."""
    touched = require.pushed_directories(ctx, commits, diffs)
    files = {commit: git.tree_files(commit, sorted(d)).get() for commit, d in touched.items()}
    return require.pushed(ctx, commits, touched, files)


def audited(ctx: Context, git: Git, head: str | None) -> list[Violation]:
    """`audit`: every matching directory of HEAD, then of the work tree."""
    if not ctx.policy.require:
        return []
    tracked = git.index_files()
    untracked = git.untracked(ignored=False)
    head_files = git.tree_files(head).get() if head is not None else []
    on_disk = [*tracked.get(), *untracked.get()]
    directories = require.required_directories(ctx, on_disk)
    top = git.cwd
    # A deleted file is not on disk; only the files of a required directory are looked for.
    work_tree = [
        p
        for p in on_disk
        if require.in_directories(p, directories) and os.path.lexists(os.path.join(top, p))
    ]
    return require.audited(ctx, head, head_files, work_tree)
