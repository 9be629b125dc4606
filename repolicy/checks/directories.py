"""`budgets.directory_entries`: how many entries one directory may hold.

An entry is what `git ls-tree` lists directly inside a directory: a file, a
subdirectory, a symbolic link or a submodule. A directory is judged where its
tree is known: `audit` on HEAD's tree and the index; `check` on the
directories the staged change grows (as the index holds them); a push on
each pushed tip's tree, in the directories it grows against what the remote
has. A directory that is already over the limit and that a change does not
grow is `audit`'s business only, so it does not nag every commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from repolicy.checks import Context
from repolicy.report import Violation, quote_paths

if TYPE_CHECKING:
    from repolicy.facts import Candidate
    from repolicy.git import Change

DOCS = {
    "directory-large": """\
What it does
  Warns about a directory holding more entries than
  `budgets.directory_entries`. Entries are what `git ls-tree` lists
  directly inside the directory: files, subdirectories, symbolic links and
  submodules (not what lies deeper). The violation names the directory with
  a trailing '/' ('./' for the top of the repository).

  Where it looks: `audit` counts every directory of HEAD and of the index;
  `check` counts the directories the staged change adds entries to;
  `check --push`, pre-receive and `check --range` count, in each pushed
  tip's tree, the directories the push adds entries to (against the trees
  the remote already has). A directory already over the limit that a change
  leaves no larger is reported by `audit` only.

Why it matters
  GitHub recommends at most 3,000 entries per directory ("Repository
  limits", directory width). Git stores a directory as one tree object: a
  change to any file in it writes a new copy of the whole list, so a wide
  directory that changes often makes history grow and slows git down. A
  dataset dumped as 50,000 images in one folder is the usual cause.

Example
  budgets: {directory_entries: 3000}
  datasets/cats/images/ holds 12,000 JPEG files -> directory-large

How to fix
  Split the directory into subdirectories (by class, by split, or by the
  first characters of each name: images/ab/abc123.jpg), or keep the files
  out of git (DVC, or one archive stored in Git LFS: every LFS pointer is
  an entry too, so LFS alone does not help). To adopt the gate on a
  repository that already has wide directories, `repolicy audit
  --write-baseline` accepts them as they are; a change that grows one is
  still reported.

Policy keys
  budgets.directory_entries (a count, not a size; null lifts it)
""",
}

CHECK = "directory-large"


def shown(directory: str) -> str:
    """A directory as violations name it: with a trailing '/', the top as './'."""
    return directory + "/" if directory else "./"


def count_entries(paths: Iterable[str], judge: set[str] | None = None) -> dict[str, int]:
    """The number of entries directly inside each directory that `paths` (the
    files of one tree or index: git lists no directory on its own) make up; ''
    is the top. Each file is an entry of its directory, each directory one of
    its parent. `judge` limits the answer to those directories."""
    counts: dict[str, int] = {}
    known: set[str] = set()
    previous = None
    for path in paths:
        if path == previous:
            continue  # a conflicted index entry, listed once per stage
        previous = path
        directory = path.rpartition("/")[0]
        counts[directory] = counts.get(directory, 0) + 1
        while directory and directory not in known:
            known.add(directory)
            directory = directory.rpartition("/")[0]
            counts[directory] = counts.get(directory, 0) + 1
    if judge is not None:
        return {d: n for d, n in counts.items() if d in judge}
    return counts


def _new_entries(paths: Iterable[str]) -> dict[str, set[str]]:
    """For each directory holding one of `paths`, the names directly inside it
    that lead to them."""
    out: dict[str, set[str]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(len(parts)):
            out.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
    return out


def _tree_name(rev: str, directory: str) -> str:
    return f"{rev}:{directory}" if directory else f"{rev}^{{tree}}"


def violation(
    ctx: Context,
    directory: str,
    count: int,
    limit: int,
    *,
    before: int | None = None,
    commit: str | None = None,
    stage: str,
) -> Violation:
    """`stage`: head, index, check or push."""
    where = {
        "head": " in HEAD",
        "index": " in the index",
        "check": " once this commit is made",
        "push": f" in {(commit or '')[:12]}",
    }[stage]
    grows = f" (up from {before:,})" if before else ""
    name = shown(directory)
    return Violation(
        check=CHECK,
        severity=ctx.severity(CHECK),
        path=name,
        rule=f"budgets.directory_entries: {limit:,}",
        message=(
            f"holds {count:,} entries{where}{grows}, more than the {limit:,} a directory "
            "may hold (files, subdirectories, links and submodules directly inside it)"
        ),
        fix=(
            f"split {quote_paths([name])} into subdirectories (by class, by split, or by "
            "the first characters of each name), or keep its files out of git (DVC, or "
            "one archive in Git LFS)"
        ),
        commit=commit,
        size=None,
    )


# -- where each command looks -------------------------------------------


def audited(
    ctx: Context, head: str | None, head_files: Iterable[str], index_paths: Iterable[str]
) -> list[Violation]:
    """`audit`: every directory of HEAD's tree (`head_files`), then of the index where
    it is over and HEAD's is not (a directory over in both is reported once, for HEAD)."""
    limit = ctx.policy.limit("directory_entries")
    if limit is None:
        return []
    out: list[Violation] = []
    reported: set[str] = set()
    head_files, index_paths = list(head_files), list(index_paths)
    if head is not None:
        for directory, count in sorted(count_entries(head_files).items()):
            if count > limit:
                reported.add(directory)
                # A state of the tree, not something a commit brought: no commit, so
                # that a baseline accepts it while HEAD moves on.
                out.append(violation(ctx, directory, count, limit, stage="head"))
        if index_paths == head_files:
            return out  # nothing staged: the index holds HEAD's files, counted already
    for directory, count in sorted(count_entries(index_paths).items()):
        if count > limit and directory not in reported:
            out.append(violation(ctx, directory, count, limit, stage="index"))
    return out


def staged_gains(
    ctx: Context, changes: Sequence[Change], candidates: Sequence[Candidate]
) -> dict[str, set[str]]:
    """`check`: the names each directory would gain from the staged change
    (empty: nothing to judge). Known before git is asked anything, so the
    hook can ask for HEAD's trees of these directories (`head_trees`) while
    it judges the blobs."""
    if ctx.policy.limit("directory_entries") is None:
        return {}
    judged = {c.path for c in candidates}
    # A submodule is no blob to judge, so never a candidate (nor in the file
    # names pre-commit passes), but it is an entry the commit adds all the same.
    added = [
        ch.path
        for ch in changes
        if ch.status in ("A", "C", "R") and (ch.path in judged or ch.new_mode == "160000")
    ]
    return _new_entries(added) if added else {}


def head_trees(gains: Mapping[str, set[str]]) -> list[str]:
    """The trees `staged` needs to know the size of: HEAD's at each gaining
    directory (by name: on an unborn branch HEAD names no tree, and every
    directory is new)."""
    return [_tree_name("HEAD", d) for d in gains]


def head_trees_to_read(
    ctx: Context, gains: Mapping[str, set[str]], bounds: Mapping[str, int]
) -> list[str]:
    """Those of `head_trees` whose names must be read (`bounds`: their
    `Git.tree_entry_bounds`): a tree whose size allows no more entries than the
    limit less the names gained cannot end up over, whatever it holds. A
    commit of a few files into a repository of 10,000 then reads no tree."""
    limit = ctx.policy.limit("directory_entries")
    if limit is None:
        return []
    named = ((_tree_name("HEAD", d), len(names)) for d, names in gains.items())
    return [name for name, gained in named if name in bounds and bounds[name] + gained > limit]


def staged_suspects(
    ctx: Context,
    gains: Mapping[str, set[str]],
    bounds: Mapping[str, int],
    found: Mapping[str, Sequence[str]],
) -> dict[str, int]:
    """The directories that gain a name they did not have in HEAD and could then
    be over the limit, with how many entries HEAD's has: only those are worth
    listing the index for. `bounds`: the size bound of each of HEAD's trees
    (`head_trees`; none where HEAD has no such tree); `found`: the names in
    each of them that `head_trees_to_read` chose."""
    limit = ctx.policy.limit("directory_entries")
    suspects: dict[str, int] = {}
    if limit is None:
        return suspects
    for directory, names in gains.items():
        name = _tree_name("HEAD", directory)
        bound = bounds.get(name)
        if bound is None:
            had: Sequence[str] = []
        elif bound + len(names) <= limit:
            continue  # too small a tree to end up over, whatever it holds
        else:
            # Unread only if HEAD moved on since its size was asked: then, as
            # for a directory HEAD lacks, every name gained counts as new.
            had = found.get(name, ())
        new = names.difference(had)
        if new and len(had) + len(new) > limit:
            suspects[directory] = len(had)
    return suspects


def index_directories(suspects: Iterable[str]) -> list[str]:
    """The index listing the suspects need: the top's entries need the whole
    index (no directory), any other directory only its own part."""
    wanted = set(suspects)
    return [] if "" in wanted else sorted(wanted)


def staged(ctx: Context, suspects: Mapping[str, int], listing: Iterable[str]) -> list[Violation]:
    """`check`: the suspects over the limit in the index (`listing`: its paths in
    them) and larger than in HEAD."""
    limit = ctx.policy.limit("directory_entries")
    if limit is None:
        return []
    wanted = set(suspects)
    counts = count_entries(listing, wanted)
    return [
        violation(ctx, d, counts[d], limit, before=suspects[d], stage="check")
        for d in sorted(wanted)
        if counts.get(d, 0) > limit and counts[d] > suspects[d]
    ]


def pushed_directories(written: Iterable[str]) -> list[str]:
    """A push: the directories holding a path the pushed commits wrote."""
    return list(_new_entries(written))


def pushed_trees(
    tips: Sequence[str], boundaries: Sequence[str], directories: Sequence[str]
) -> list[str]:
    """The trees `pushed` counts: each directory in each tip and each boundary."""
    return [_tree_name(rev, d) for rev in (*tips, *boundaries) for d in directories]


def tip_trees(tips: Sequence[str], directories: Sequence[str]) -> list[str]:
    """The trees whose sizes `could_be_over` weighs: each directory in each tip."""
    return [_tree_name(t, d) for t in tips for d in directories]


def could_be_over(
    tips: Sequence[str], directories: Sequence[str], bounds: Mapping[str, int], limit: int
) -> list[str]:
    """The directories whose tree in some tip could hold more than `limit`
    entries, by its size alone (`bounds`: `Git.tree_entry_bounds` of
    `tip_trees`). A push of a few files into a repository of 100,000 then
    reads no tree at all, where reading them took a fifth of a second."""
    return [d for d in directories if any(bounds.get(_tree_name(t, d), 0) > limit for t in tips)]


def pushed(
    ctx: Context,
    tips: Sequence[str],
    boundaries: Sequence[str],
    directories: Sequence[str],
    found: Mapping[str, Sequence[str]],
) -> list[Violation]:
    """A push: in each pushed tip's tree, the directories holding a path the
    pushed commits wrote (`directories`), over the limit and larger than in
    every tree the push builds on (`boundaries`: the commits the remote has
    that pushed commits descend from; none for a first push, where every
    directory is new). `found`: the names in each tree of `pushed_trees`."""
    limit = ctx.policy.limit("directory_entries")
    if limit is None:
        return []
    out: list[Violation] = []
    seen: set[str] = set()
    for tip in tips:
        for directory in directories:
            count = len(found.get(_tree_name(tip, directory), ()))
            if count <= limit or directory in seen:
                continue
            before = max(
                (len(found.get(_tree_name(b, directory), ())) for b in boundaries), default=0
            )
            if count > before:
                seen.add(directory)
                out.append(
                    violation(ctx, directory, count, limit, before=before, commit=tip, stage="push")
                )
    return out
