"""What the checks of trees judge, asked of git for each scope: `frozen`, `require`
and `budgets.directory_entries` need the contents of the trees and the index
where a change lands, and answers that depend on earlier ones (what a base
holds, who first added a path, the merge bases of a merge's sides). The
checks (repolicy/checks/) say what to ask and judge the answers; the
functions here ask, in turn, each kind of question as one git process over
every path that needs it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from repolicy.checks import Context
    from repolicy.checks.frozen import ParentDiffs
    from repolicy.facts import Candidate
    from repolicy.git import Change, CommitChanges, Git, Query, TreeChange
    from repolicy.report import Violation


# -- frozen ------------------------------------------------------------------


def frozen_merges_own(
    ctx: Context, git: Git, diffs: ParentDiffs
) -> list[tuple[str, str, list[TreeChange]]]:
    """What merges did to frozen paths on their own (see `frozen.merge_suspects`)."""
    from repolicy.checks import frozen

    suspects = frozen.merge_suspects(ctx, diffs)
    if not suspects:
        return []
    bases = {(p, q): git.merge_bases(p, q) for p, q in frozen.side_pairs(suspects)}
    held = git.object_ids(frozen.base_names(suspects, bases)).get()
    return frozen.merges_own(suspects, bases, held)


def frozen_staged(
    ctx: Context,
    git: Git,
    changes: Sequence[Change],
    candidates: Sequence[Candidate],
    allow: str | None,
) -> list[Violation]:
    """`check`: the staged changes against HEAD."""
    if not ctx.policy.frozen:
        return []
    from repolicy.checks import frozen

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


def frozen_pushed(
    ctx: Context,
    git: Git,
    commits: Sequence[CommitChanges],
    allow: str | None,
    diffs: ParentDiffs = (),
) -> list[Violation]:
    """`check --push`: changes the pushed commits make to files the remote has."""
    if not ctx.policy.frozen:
        return []
    from repolicy.checks import frozen

    base = frozen.pushed_base(commits)
    if not base:
        return []
    edits, additions = frozen.pushed_edits(ctx, commits, allow, frozen_merges_own(ctx, git, diffs))
    if not edits and not additions:
        return []
    types = git.object_types(frozen.published_names(edits, additions, base)).get()
    published = frozen.published(edits, additions, base, types)
    if not published:
        return []
    first = git.first_added(base, frozen.first_wanted(published)).get()
    return list(frozen.check_frozen(ctx, published, first, "push"))


def frozen_audited(
    ctx: Context, git: Git, revisions: Sequence[str], head: str | None
) -> list[Violation]:
    """`audit`: every commit of `revisions` against its parents, then the index
    and the work tree against HEAD."""
    if not ctx.policy.frozen:
        return []
    from repolicy.checks import frozen

    log = git.commit_changes(revisions)
    work_tree = git.work_tree_changes() if head is not None else None
    others = git.others() if head is not None else None
    commits = log.get()
    diffs = git.parent_diffs(frozen.merge_pairs(commits)).get()
    own = frozen_merges_own(ctx, git, diffs)
    on_disk = None
    if work_tree is not None and others is not None:
        on_disk = (work_tree.get(), others.get().untracked)
    history, additions, disk_edits = frozen.audited_edits(ctx, commits, own, on_disk)
    types = git.object_types(frozen.directory_names(additions)).get()
    history += frozen.released(((e, p) for e, p in additions if e.commit), types)
    disk_edits += frozen.released(((e, p) for e, p in additions if not e.commit), types)
    if not history and not disk_edits:
        return []
    first = git.first_added(revisions, frozen.first_wanted([*history, *disk_edits])).get()
    return frozen.audited(ctx, history, disk_edits, first)


# -- require -----------------------------------------------------------------


def require_staged(
    ctx: Context, git: Git, changes: Sequence[Change], candidates: Sequence[Candidate]
) -> list[Violation]:
    """`check`: the directories the staged changes touch, as the index holds them."""
    if not ctx.policy.require:
        return []
    from repolicy.checks import require

    directories = require.staged_directories(ctx, changes, candidates)
    if not directories:
        return []
    files = git.index_files(sorted(directories)).get()
    return require.staged(ctx, directories, files)


def require_pushed(
    ctx: Context,
    git: Git,
    commits: Sequence[CommitChanges],
    diffs: Sequence[tuple[str, str, Sequence[TreeChange]]] = (),
) -> list[Violation]:
    """`check --push`: each pushed commit's tree, in the directories it touched."""
    if not ctx.policy.require:
        return []
    from repolicy.checks import require

    touched = require.pushed_directories(ctx, commits, diffs)
    files = {commit: git.tree_files(commit, sorted(d)).get() for commit, d in touched.items()}
    return require.pushed(ctx, commits, touched, files)


def require_audited(ctx: Context, git: Git, head: str | None) -> list[Violation]:
    """`audit`: every matching directory of HEAD, then of the work tree."""
    if not ctx.policy.require:
        return []
    from repolicy.checks import require

    tracked = git.index_files()
    others = git.others()
    head_files = git.tree_files(head).get() if head is not None else []
    on_disk = [*tracked.get(), *others.get().untracked]
    directories = require.required_directories(ctx, on_disk)
    top = git.cwd
    # A deleted file is not on disk; only the files of a required directory are looked for.
    work_tree = [
        p
        for p in on_disk
        if require.in_directories(p, directories) and os.path.lexists(os.path.join(top, p))
    ]
    return require.audited(ctx, head, head_files, work_tree)


# -- budgets.directory_entries ------------------------------------------------


def directories_audited_later(
    ctx: Context, git: Git, head: str | None, holds_head: Query[bool] | None = None
) -> Callable[[Sequence[str]], list[Violation]]:
    """`audit`: every directory of HEAD's tree, then of the index (the paths
    given to the function returned). HEAD's tree is listed from now on, beside
    the caller's own work, unless the index holds exactly that tree (as after
    a checkout or commit, what CI audits): its paths are then HEAD's files.
    `holds_head`: `Git.index_holds(head)`, when the caller asked it already."""
    if ctx.policy.limit("directory_entries") is None:
        return lambda _index_paths: []
    from repolicy.checks import directories

    if head is not None and holds_head is None:
        holds_head = git.index_holds(head)
    same = head is not None and holds_head is not None and holds_head.get()
    listing = git.tree_files(head).background() if head is not None and not same else None

    def judge(index_paths: Sequence[str]) -> list[Violation]:
        head_files = index_paths if same else listing.get() if listing is not None else []
        return directories.audited(ctx, head, head_files, index_paths)

    return judge


def directories_staged(
    ctx: Context, git: Git, gains: Mapping[str, set[str]], bounds: Mapping[str, int]
) -> list[Violation]:
    """`check`: the directories the staged change adds entries to (`gains`),
    counted in the index. `bounds`: the sizes of HEAD's trees
    (`directories.head_trees`), asked by the hook while it judged the blobs;
    a tree is read only when its size allows it to end up over, and the
    index is listed only when a directory could be."""
    from repolicy.checks import directories

    to_read = directories.head_trees_to_read(ctx, gains, bounds)
    found = git.tree_names(to_read).get() if to_read else {}
    suspects = directories.staged_suspects(ctx, gains, bounds, found)
    if not suspects:
        return []
    listing = git.index_files(directories.index_directories(suspects)).get()
    return directories.staged(ctx, suspects, listing)


def directories_pushed_later(
    ctx: Context,
    git: Git,
    tips: Sequence[str],
    boundaries: Sequence[str],
    written: Iterable[str],
) -> Callable[[], list[Violation]]:
    """A push: in each pushed tip's tree, the directories holding a path the
    pushed commits wrote, against the trees the push builds on. The sizes of
    the tips' trees are asked now; the function returned reads them, reads
    only the trees that could be over the limit, and judges them, so git
    answers while the caller judges the blobs."""
    limit = ctx.policy.limit("directory_entries")
    if limit is None or not tips:
        return list
    from repolicy.checks import directories

    wanted = directories.pushed_directories(written)
    if not wanted:
        return list
    sizes = git.tree_entry_bounds(directories.tip_trees(tips, wanted))

    def judge() -> list[Violation]:
        assert limit is not None
        over = directories.could_be_over(tips, wanted, sizes.get(), limit)
        if not over:
            return []
        found = git.tree_names(directories.pushed_trees(tips, boundaries, over)).get()
        return directories.pushed(ctx, tips, boundaries, over, found)

    return judge
