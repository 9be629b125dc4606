"""What `frozen` judges, asked of git for each scope: the checks/frozen.py functions
need answers that depend on earlier ones, asked here in turn.

A change to a frozen path counts once the base holds the path (for an
addition, its directory as a tree); the report names the commit that first
added it; a merge's change hidden by `git log -c` is the merge's own only
when the merge bases of its sides do not hold the path as its parent does.
Each kind of question is one git process over all the paths that need it.
"""

from __future__ import annotations

from repolicy.checks import frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from repolicy.checks import Context
    from repolicy.facts import Candidate
    from repolicy.git import Change, CommitChanges, Git, TreeChange
    from repolicy.report import Violation


def merges_own(
    ctx: Context, git: Git, diffs: frozen.ParentDiffs
) -> list[tuple[str, str, list[TreeChange]]]:
    """What merges did to frozen paths on their own (see `frozen.merge_suspects`)."""
    suspects = frozen.merge_suspects(ctx, diffs)
    if not suspects:
        return []
    bases = {(p, q): git.merge_bases(p, q) for p, q in frozen.side_pairs(suspects)}
    held = git.object_ids(frozen.base_names(suspects, bases)).get()
    return frozen.merges_own(suspects, bases, held)


def staged(
    ctx: Context,
    git: Git,
    changes: Sequence[Change],
    candidates: Sequence[Candidate],
    allow: str | None,
) -> list[Violation]:
    """`check`: the staged changes against HEAD."""
    if not ctx.policy.frozen:
        return []
    edits, additions = frozen.staged_edits(ctx, changes, candidates)
    if additions:
        head = [(a, ("HEAD",)) for a in additions]
        types = git.object_types(frozen.directory_names(head)).get()
        edits += frozen.released(head, types)
    edits = frozen.escaped(edits, frozen.allow_list(allow))
    if not edits:
        return []
    first = git.first_added(["HEAD"], frozen.first_wanted(edits)).get()
    return list(frozen.check_frozen(ctx, edits, first, "check"))


def pushed(
    ctx: Context,
    git: Git,
    commits: Sequence[CommitChanges],
    allow: str | None,
    diffs: frozen.ParentDiffs = (),
) -> list[Violation]:
    """`check --push`: changes the pushed commits make to files the remote has."""
    if not ctx.policy.frozen:
        return []
    base = frozen.pushed_base(commits)
    if not base:
        return []
    edits, additions = frozen.pushed_edits(ctx, commits, allow, merges_own(ctx, git, diffs))
    if not edits and not additions:
        return []
    types = git.object_types(frozen.published_names(edits, additions, base)).get()
    published = frozen.published(edits, additions, base, types)
    if not published:
        return []
    first = git.first_added(base, frozen.first_wanted(published)).get()
    return list(frozen.check_frozen(ctx, published, first, "push"))


def audited(ctx: Context, git: Git, revisions: Sequence[str], head: str | None) -> list[Violation]:
    """`audit`: every commit of `revisions` against its parents, then the index
    and the work tree against HEAD."""
    if not ctx.policy.frozen:
        return []
    log = git.commit_changes(revisions)
    work_tree = git.work_tree_changes() if head is not None else None
    untracked = git.untracked(ignored=False) if head is not None else None
    commits = log.get()
    diffs = git.parent_diffs(frozen.merge_pairs(commits)).get()
    own = merges_own(ctx, git, diffs)
    on_disk = None
    if work_tree is not None and untracked is not None:
        on_disk = (work_tree.get(), untracked.get())
    history, additions, disk_edits = frozen.audited_edits(ctx, commits, own, on_disk)
    types = git.object_types(frozen.directory_names(additions)).get()
    history += frozen.released(((e, p) for e, p in additions if e.commit), types)
    disk_edits += frozen.released(((e, p) for e, p in additions if not e.commit), types)
    if not history and not disk_edits:
        return []
    first = git.first_added(revisions, frozen.first_wanted([*history, *disk_edits])).get()
    return frozen.audited(ctx, history, disk_edits, first)
