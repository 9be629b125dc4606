"""What `budgets.directory_entries` judges, asked of git for each scope: the names in
the trees of the directories a change grows (HEAD's, a pushed tip's and those of
the commits a push builds on), then the index's files in the directories that
could be over. One read of all the trees named, one listing of the index.
"""

from __future__ import annotations

from repolicy.checks import directories

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from repolicy.checks import Context
    from repolicy.facts import Candidate
    from repolicy.git import Change, Git
    from repolicy.report import Violation


def audited(
    ctx: Context, git: Git, head: str | None, index_paths: Sequence[str]
) -> list[Violation]:
    """`audit`: every directory of HEAD's tree, then of the index."""
    if ctx.policy.limit("directory_entries") is None:
        return []
    head_files = git.tree_files(head).get() if head is not None else []
    return directories.audited(ctx, head, head_files, index_paths)


def staged(
    ctx: Context, git: Git, changes: Sequence[Change], candidates: Sequence[Candidate]
) -> list[Violation]:
    """`check`: the directories the staged change adds entries to, counted in the
    index. HEAD's trees are read first (only the directories that gain a
    name); the index is listed only when the directory could be over."""
    gaining = directories.staged_gaining(ctx, changes, candidates)
    if not gaining:
        return []
    found = git.tree_names(directories.head_trees(gaining)).get()
    suspects = directories.staged_suspects(ctx, gaining, found)
    if not suspects:
        return []
    listing = git.index_files(directories.index_directories(suspects)).get()
    return directories.staged(ctx, suspects, listing)


def pushed(
    ctx: Context,
    git: Git,
    tips: Sequence[str],
    boundaries: Sequence[str],
    written: Iterable[str],
) -> list[Violation]:
    """A push: in each pushed tip's tree, the directories holding a path the
    pushed commits wrote, against the trees the push builds on."""
    if ctx.policy.limit("directory_entries") is None or not tips:
        return []
    wanted = directories.pushed_directories(written)
    if not wanted:
        return []
    found = git.tree_names(directories.pushed_trees(tips, boundaries, wanted)).get()
    return directories.pushed(ctx, tips, boundaries, wanted, found)
