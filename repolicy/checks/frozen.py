"""`frozen`: released files that may never change.

A file is frozen once the base holds it: HEAD for `check`, what the remote
already has for `check --push` (the commits the pushed ones start from), and
the parent commit for each commit `audit` walks. Changing, deleting or
renaming it away is `frozen-modified`; so is adding a file to a directory a
pattern freezes as a whole (`datasets/x/v1/` under `datasets/*/v*/**`) once
the base holds that directory. A new directory (`datasets/x/v2/`) is free.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from repolicy.checks import Context
from repolicy.policy import Rule
from repolicy.policy.match import compile_pattern
from repolicy.report import Violation, quote_paths, quote_pathspecs

if TYPE_CHECKING:
    from repolicy.facts import Candidate
    from repolicy.git import Change, CommitChanges, TreeChange

ALLOW_ENV = "REPOLICY_ALLOW_FROZEN"

DOCS = {
    "frozen-modified": """\
What it does
  Flags a committed file matching a `frozen` pattern that is modified,
  renamed away or deleted.

Why it matters
  A model trained on datasets/printer/v1 is only reproducible while v1 is
  exactly what it was. Corrections belong in a new version.

Example
  frozen: ["datasets/*/v*/**"]
  editing datasets/printer/v1/labels.json -> frozen-modified

  A file is frozen once the base holds it: HEAD for `check`, what the remote
  already has for `check --push` (so an unpushed version can still be
  edited before its first push), and every earlier commit for `audit`,
  which walks the history of every branch and also judges the index and
  the work tree against HEAD. Adding a file is frozen-modified too when it
  lands in a directory the pattern freezes as a whole and the base already
  holds that directory: under `datasets/*/v*/**`, datasets/printer/v1/ is
  closed once released, while a new datasets/printer/v2/ is always fine. A
  pattern that names files (`"*.csv"`) freezes only the files that exist.
  The violation names the commit that first added the file (or, for an
  addition, the released directory).

How to fix
  Revert the change and create datasets/printer/v2/ instead.

  To change a frozen file on purpose, name it (a path, a directory or a
  pattern) in the escape:
    REPOLICY_ALLOW_FROZEN='datasets/printer/v1/labels.json' git commit ...
  (for `check` and `check --push`; several entries are separated by ':'),
  or, for `check --push` and `audit`, a trailer in the message of the
  commit that makes the change:
    Repolicy-Allow-Frozen: datasets/printer/v1/labels.json
  To amend a commit that created a version you have not pushed yet,
  name it in REPOLICY_ALLOW_FROZEN for that `git commit --amend`.

  On a server (`check --pre-receive`) the pusher's environment never
  counts, and trailers count only where the server's repository enables
  them: git config repolicy.allowEscapes true.

Policy keys
  frozen
""",
}

_DIGITS = re.compile(r"^(.*?)(\d+)$")


class Edit(NamedTuple):
    """A change to a frozen file, against a base that holds it."""

    path: str
    kind: str  # modified, deleted, renamed or added
    commit: str | None = None  # the commit making it; None when staged or on disk
    renamed_to: str | None = None
    directory: str | None = None  # added: the released directory it lands in
    allow: tuple[str, ...] = ()  # escapes that apply to it (env, trailers)


def allow_list(value: str | None) -> tuple[str, ...]:
    """REPOLICY_ALLOW_FROZEN's entries (':'-separated)."""
    return tuple(e.strip() for e in (value or "").split(":") if e.strip())


def is_allowed(path: str, escapes: Iterable[str]) -> bool:
    """Whether an escape names `path`: the path, a directory above it, or a pattern."""
    for text in escapes:
        bare = text.rstrip("/")
        if bare and (path == bare or path.startswith(bare + "/")):
            return True
        if compile_pattern(text).selects(path):
            return True
    return False


def closed_directory(rules: Sequence[Rule], path: str) -> str | None:
    """The outermost directory above `path` that a rule freezes as a whole, if any.

    A rule freezes a directory as a whole when it selects any name at all
    inside it: a NUL byte stands for a name no path can have.
    """
    end = path.find("/")
    while end != -1:
        probe = path[:end] + "/\0"
        if any(r.pattern.selects(probe) for r in rules):
            return path[:end]
        end = path.find("/", end + 1)
    return None


def classify(
    ctx: Context, changes: Sequence[TreeChange], commit: str | None = None
) -> tuple[list[Edit], list[Edit]]:
    """Split one commit's (or the index's) changes to frozen paths into edits of
    files the parent had, and additions that land in a closed directory (the
    caller asks whether the base holds that directory)."""
    zero = "0" * 40
    added = {
        ch.new_oid: ch.path
        for ch in changes
        if ch.after and not ch.before and ch.new_oid.strip("0") and ch.new_oid != zero
    }
    edits: list[Edit] = []
    targets: set[str] = set()
    for ch in changes:
        if not ch.before or not ctx.rules_for("frozen", ch.path):
            continue
        if ch.after:
            edits.append(Edit(ch.path, "modified", commit))
        elif ch.old_oid in added:
            targets.add(added[ch.old_oid])
            edits.append(Edit(ch.path, "renamed", commit, renamed_to=added[ch.old_oid]))
        else:
            edits.append(Edit(ch.path, "deleted", commit))
    additions = []
    for ch in changes:
        if ch.before or not ch.after or ch.path in targets:
            continue
        rules = ctx.rules_for("frozen", ch.path)
        directory = closed_directory(rules, ch.path) if rules else None
        if directory is not None:
            additions.append(Edit(ch.path, "added", commit, directory=directory))
    return edits, additions


def _next_version(directory: str | None) -> str | None:
    if directory is None:
        return None
    parent, _, name = directory.rpartition("/")
    m = _DIGITS.match(name)
    if not m:
        return None
    bumped = f"{m.group(1)}{int(m.group(2)) + 1}"
    return f"{parent}/{bumped}/" if parent else f"{bumped}/"


def check_frozen(
    ctx: Context, edits: Iterable[Edit], first: Mapping[str, str], stage: str
) -> Iterator[Violation]:
    """`frozen-modified` for each edit no escape covers.

    `first` maps a path (or an added file's directory) to the commit that
    first added it; `stage` is check, push, history or work-tree.
    """
    for edit in edits:
        if is_allowed(edit.path, edit.allow):
            continue
        rules = ctx.rules_for("frozen", edit.path)
        rule = rules[0] if rules else None
        directory = edit.directory or closed_directory(rules, edit.path)
        since = first.get(edit.directory or edit.path)
        when = f"frozen since commit {since[:12]}" if since else "frozen"
        if edit.kind == "added":
            message = (
                f"adds a file to {edit.directory}/, which is {when}: "
                "a released directory takes no new files"
            )
        elif edit.kind == "renamed":
            message = f"is {when} and must not be renamed (here to {edit.renamed_to})"
        else:
            message = f"is {when} and must not be {edit.kind}"
        if stage == "work-tree":
            message += " (in the work tree, not committed yet)"
        yield Violation(
            check="frozen-modified",
            severity=ctx.severity("frozen-modified", rule),
            path=edit.path,
            rule=str(rule) if rule else None,
            message=message,
            fix=_fix(edit, stage, _next_version(directory)),
            commit=edit.commit,
            why=rule.why if rule else None,
        )


def _fix(edit: Edit, stage: str, successor: str | None) -> str:
    quoted = quote_paths([edit.path])
    spec = quote_pathspecs([edit.path])
    instead = f"create {successor} instead" if successor else "publish the change as a new file"
    short = (edit.commit or "")[:12]
    if stage == "push":
        return (
            f"rewrite the unpushed commit {short} so it leaves {edit.path} alone "
            f"(git rebase -i {short}^) and {instead}\n"
            f"or, on purpose: add the trailer '{_trailer(edit.path)}' to that commit's "
            f"message, or push with {ALLOW_ENV}={quoted}"
        )
    if stage == "history":
        return (
            f"history holds the change: {instead} from now on; if it was deliberate, "
            f"commit {short} needs the trailer '{_trailer(edit.path)}' in its message "
            "(rewording it rewrites history)"
        )
    if edit.kind == "added":
        undo = f"git rm --cached -- {spec}" if stage == "check" else f"move {quoted} away"
    else:
        undo = f"git restore --source=HEAD --staged --worktree -- {spec}"
    escape = f"or, on purpose: {ALLOW_ENV}={quoted} git commit" if stage == "check" else ""
    return f"undo it: {undo}\nand {instead}" + (f"\n{escape}" if escape else "")


def _trailer(path: str) -> str:
    from repolicy.git import ALLOW_FROZEN_TRAILER

    return f"{ALLOW_FROZEN_TRAILER}: {path}"


def _tree_change(ch: Change) -> TreeChange:
    from repolicy.git import TreeChange

    return TreeChange(
        ch.path, ch.old_mode != "000000", ch.new_mode != "000000", ch.old_oid, ch.new_oid
    )


ParentDiffs = Sequence[tuple[str, str, tuple["TreeChange", ...]]]


# (merge, parent, change, kept): a merge's change to a frozen path against one
# parent, where the merge keeps the version of the `kept` parents: theirs, or
# the merge's own doing.
Suspect = tuple[str, str, "TreeChange", tuple[str, ...]]


def merge_pairs(commits: Iterable[CommitChanges]) -> list[tuple[str, str]]:
    """(merge, parent) for every parent of every merge among `commits`."""
    return [(c.commit, p) for c in commits if len(c.parents) > 1 for p in c.parents]


def merge_suspects(ctx: Context, diffs: ParentDiffs) -> list[Suspect]:
    """Changes to frozen paths a merge makes against one parent that another
    parent's version hides from `git log -c`.

    `git log -c` shows a merge only where it differs from every parent, so a
    merge that keeps one side's version hides what it does to the other side:
    merging a new root commit that lacks datasets/a/v1/ deletes v1 unseen.
    Whether the merge itself made the change depends on the merge bases of
    the two sides (`side_pairs`, then `merges_own`).
    """
    changed: dict[tuple[str, str], dict[str, TreeChange]] = {}
    parents: dict[str, list[str]] = {}
    for commit, parent, changes in diffs:
        parents.setdefault(commit, []).append(parent)
        changed[(commit, parent)] = {
            ch.path: ch for ch in changes if ctx.rules_for("frozen", ch.path)
        }
    suspects: list[Suspect] = []
    for (commit, parent), paths in changed.items():
        for path, ch in paths.items():
            kept = [q for q in parents[commit] if q != parent and path not in changed[(commit, q)]]
            if kept:
                suspects.append((commit, parent, ch, tuple(kept)))
    return suspects


def side_pairs(suspects: Iterable[Suspect]) -> list[tuple[str, str]]:
    """The (parent, other parent) pairs whose merge bases decide `merges_own`."""
    return list(dict.fromkeys((parent, q) for _c, parent, _ch, kept in suspects for q in kept))


def base_names(
    suspects: Iterable[Suspect], bases: Mapping[tuple[str, str], Sequence[str]]
) -> list[str]:
    """The `BASE:PATH` names whose object ids `merges_own` compares."""
    return [
        f"{b}:{ch.path}"
        for _commit, parent, ch, kept in suspects
        for q in kept
        for b in bases[(parent, q)]
    ]


def merges_own(
    suspects: Iterable[Suspect],
    bases: Mapping[tuple[str, str], Sequence[str]],
    held: Mapping[str, str],
) -> list[tuple[str, str, list[TreeChange]]]:
    """The suspects a merge made on its own, by merge and parent.

    Taking the other side's version is that side's change, judged with its
    commits, only when the two sides share a base that holds the path as this
    parent does (`bases`: the merge bases of each side pair; `held`: the
    object id at each `BASE:PATH`); otherwise (unrelated histories, a side
    that never had the path while this one added it) the merge itself made
    the change.
    """
    own: dict[tuple[str, str], list[TreeChange]] = {}
    for commit, parent, ch, kept in suspects:
        mine = ch.old_oid if ch.before else None
        from_side = any(
            bases[(parent, q)]
            and all(held.get(f"{b}:{ch.path}") == mine for b in bases[(parent, q)])
            for q in kept
        )
        if not from_side:
            own.setdefault((commit, parent), []).append(ch)
    return [(commit, parent, changes) for (commit, parent), changes in own.items()]


def escaped(edits: Iterable[Edit], escapes: tuple[str, ...]) -> list[Edit]:
    """The edits no escape names, each carrying the escapes that applied."""
    return [e._replace(allow=escapes) for e in edits if not is_allowed(e.path, escapes)]


Addition = tuple[Edit, Sequence[str]]  # an added file, and the bases that may hold its directory


def directory_names(additions: Iterable[Addition]) -> list[str]:
    """The `BASE:DIRECTORY` names whose object types `released` needs."""
    return [f"{b}:{e.directory}" for e, bases in additions for b in bases]


def released(additions: Iterable[Addition], types: Mapping[str, str]) -> list[Edit]:
    """The additions that land in a directory one of their bases holds as a tree
    (`types`: the object type of each `BASE:DIRECTORY`)."""
    return [
        e for e, bases in additions if any(types.get(f"{b}:{e.directory}") == "tree" for b in bases)
    ]


def first_wanted(edits: Iterable[Edit]) -> list[str]:
    """The paths (an addition: its directory) whose first addition a report names."""
    return [e.directory or e.path for e in edits]


# -- what each command judges --------------------------------------------------


def staged_edits(
    ctx: Context, changes: Sequence[Change], candidates: Sequence[Candidate]
) -> tuple[list[Edit], list[Edit]]:
    """`check`: the staged changes to frozen paths against HEAD, as `classify` splits them.

    Deletions count even when PATHs narrow the check: pre-commit never passes
    a deleted file, so a narrowed check would never see one.
    """
    kept = {c.path for c in candidates}
    tree = [_tree_change(ch) for ch in changes if ch.status == "D" or ch.path in kept]
    return classify(ctx, tree)


def pushed_base(commits: Sequence[CommitChanges]) -> list[str]:
    """`check --push`: what the remote has is what the pushed commits start from:
    the parents that are not pushed themselves (the remote's sha, or the
    remote-tracking commits a new branch grows from). A file added and edited
    in unpushed commits is not frozen yet."""
    ids = {c.commit for c in commits}
    return sorted({p for c in commits for p in c.parents if p not in ids})


def pushed_edits(
    ctx: Context,
    commits: Sequence[CommitChanges],
    allow: str | None,
    own: Iterable[tuple[str, str, Sequence[TreeChange]]],
) -> tuple[list[Edit], list[Edit]]:
    """`check --push`: the pushed commits' changes to frozen paths (and those of
    `own`, what merges did on their own), less those an escape names."""
    env = allow_list(allow)
    edits: list[Edit] = []
    additions: list[Edit] = []
    trailers = {c.commit: c.allow_frozen for c in commits}
    views = [(c.commit, c.changes) for c in commits]
    views += [(c, tuple(ch)) for c, _p, ch in own]
    for commit, changes in views:
        changed, added = classify(ctx, changes, commit)
        escapes = (*trailers.get(commit, ()), *env)
        edits += escaped(changed, escapes)
        additions += escaped(added, escapes)
    return edits, additions


def published_names(
    edits: Sequence[Edit], additions: Sequence[Edit], base: Sequence[str]
) -> list[str]:
    """The `BASE:PATH` and `BASE:DIRECTORY` names whose types `published` needs."""
    return [f"{b}:{e.path}" for e in edits for b in base] + directory_names(
        (e, base) for e in additions
    )


def published(
    edits: Sequence[Edit], additions: Sequence[Edit], base: Sequence[str], types: Mapping[str, str]
) -> list[Edit]:
    """The edits of files the remote has, and the additions to directories it has."""
    found = [e for e in edits if any(f"{b}:{e.path}" in types for b in base)]
    return found + released(((e, base) for e in additions), types)


def audited_edits(
    ctx: Context,
    commits: Sequence[CommitChanges],
    own: Iterable[tuple[str, str, Sequence[TreeChange]]],
    on_disk: tuple[Sequence[Change], Sequence[str]] | None,
) -> tuple[list[Edit], list[Addition], list[Edit]]:
    """`audit`: every commit's changes to frozen paths against its parents (`own`:
    what merges did on their own; trailers are the only escape in history), then
    those of the index and the work tree against HEAD (`on_disk`: the changes,
    and the untracked files that are not ignored; None without a HEAD).

    Returns the history's edits, every addition with the bases that may hold
    its directory (`released` picks those that land in one), and the edits on disk.
    """
    edits: list[Edit] = []
    additions: list[Addition] = []
    for commit in commits:
        changed, added = classify(ctx, commit.changes, commit.commit)
        escapes = commit.allow_frozen
        edits += escaped(changed, escapes)
        additions += [(e, commit.parents) for e in added if not is_allowed(e.path, escapes)]
    trailers = {c.commit: c.allow_frozen for c in commits}
    for merge, parent, changes in own:
        changed, added = classify(ctx, changes, merge)
        escapes = trailers.get(merge, ())
        edits += escaped(changed, escapes)
        additions += [(e, (parent,)) for e in added if not is_allowed(e.path, escapes)]
    disk_edits: list[Edit] = []
    if on_disk is not None:
        from repolicy.git import TreeChange

        zero = "0" * 40
        tree = [_tree_change(ch) for ch in on_disk[0]]
        tree += [TreeChange(p, False, True, zero, zero) for p in on_disk[1]]
        disk_edits, added = classify(ctx, tree)
        additions += [(e, ("HEAD",)) for e in added]
    return edits, additions, disk_edits


def audited(
    ctx: Context,
    history: Sequence[Edit],
    disk_edits: Sequence[Edit],
    first: Mapping[str, str],
) -> list[Violation]:
    """`audit`: the history's edits, then the work tree's."""
    return [
        *check_frozen(ctx, history, first, "history"),
        *check_frozen(ctx, disk_edits, first, "work-tree"),
    ]
