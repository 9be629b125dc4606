"""Judging commits: every blob a set of commits brings, at every path they write it.

The common part of the pushed, received and range scopes. The objects are
those `revs` selects (`log`/`rev-list` arguments: tips, `--not`, bounds);
each blob is judged at every path any of the commits wrote it to, so a blob
added in one commit and deleted in the next is still seen. Tags that name a
tree or a blob bring their contents, judged too.
"""

from __future__ import annotations

import os

from repolicy.errors import RepolicyError
from repolicy.git import Git
from repolicy.scope import is_zero

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.advice import Advisor
    from repolicy.baseline import Baseline
    from repolicy.facts import Candidate
    from repolicy.git import HistoryEntry, Query
    from repolicy.git.objects import DiskSizes
    from repolicy.policy import Policy
    from repolicy.report import Report, Violation


def require_objects(git: Git, oids: list[str], what: str) -> None:
    """Stop (exit 2) when an object the hook was told about does not exist: an
    unknown id is never judged as an empty push."""
    wanted = [o for o in dict.fromkeys(oids) if not is_zero(o)]
    known = git.object_types(wanted).get()
    missing = [o for o in wanted if o not in known]
    if missing:
        raise RepolicyError(f"{what} names object {missing[0]}, which this repository lacks")


class Escapes:
    """Which escapes from `frozen` a run honours: the REPOLICY_ALLOW_FROZEN value
    (the pusher's environment; never on a server) and commit trailers."""

    __slots__ = ("env", "trailers")

    def __init__(self, env: str | None, trailers: bool) -> None:
        self.env = env
        self.trailers = trailers


class Judged:
    """What judging commits finds: violations, the budgets' figures, notes for the
    reader, and every blob of the commits at its path (what a baseline matches)."""

    __slots__ = ("budgets", "entries", "notes", "violations")

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.budgets: dict[str, dict[str, int | None]] = {}
        self.notes: list[str] = []
        self.entries: list[HistoryEntry] = []


def judge_commits(
    git: Git,
    policy: Policy,
    revs: list[str] | None,
    *,
    lfs_objects: bool,
    escapes: Escapes,
    bound: int | None = None,
    advisor: Advisor | None = None,
    names: dict[str, str] | None = None,
    objects: str | None = None,
) -> Judged:
    """Every check of a push over the objects `revs` selects.

    Shared by the pre-push hook and the server's pre-receive hook. The LFS
    store is only consulted where it is the pusher's (`lfs_objects`). `bound`
    is an upper bound of what the remote will hold, when the caller knows one
    (None: this repository's own objects bound it).
    `names` maps a pushed tip to the ref it goes to, which names a bare blob.
    `objects`: the object directory, where loose objects are read (see
    `repolicy.git.read_loose`) and a partial clone is recognised.
    """
    from repolicy.checks import Context, check_blobs, supersede
    from repolicy.checks.budgets import push_budget, push_repo_budget
    from repolicy.checks.lfs import check_lfs_objects
    from repolicy.facts import gather, history_candidates

    found = Judged()
    if revs is None:
        # Nothing is sent: the remote keeps what it has, of which all that is
        # stored here is an upper bound.
        held = bound if bound is not None else git.stored_bound()
        nothing: dict[str, int | None] = {"used": held or 0, "added": 0}
        if held is not None:
            nothing["at_most"] = True
        found.budgets = {
            "repo": {**nothing, "limit": policy.limit("repo")},
            "lfs": {"used": 0, "limit": policy.limit("lfs")},
            "push": {"used": 0, "limit": policy.limit("push")},
        }
        return found
    # What one push sends: the objects `revs` reach that the remote lacks, as
    # stored here. The same figure is the push's share of the repo budget.
    added = git.disk_usage(revs)
    # Asked now, answered while the history is read: what every push needs
    # whatever it finds (the history, the attributes of its paths, the DVC
    # files of the index, the tips and boundaries of the wide-directory check).
    walk = git.history(revs)
    reader = git.attribute_reader(("filter",), cached=True)
    git.dvc_files()
    store = git.lfs_objects() if lfs_objects else None
    cut = revs.index("--not")
    kinds = git.object_types([f"{t}^{{}}" for t in revs[:cut]])
    wide = None
    if policy.limit("directory_entries") is not None:
        wide = (
            git.commits_and_boundary(revs),
            git.object_ids(f"{t}^{{commit}}" for t in revs[:cut]),
            git.merges(revs),
        )
    limit = policy.limit("repo")
    after = None
    if limit is not None:
        # What the remote will hold afterwards is at most everything stored
        # here; only when that bound is over the budget is walking the whole
        # history worth its cost.
        if bound is None:
            bound = git.stored_bound()
        if bound is None or bound > limit:
            after = held_after(git, revs, cut, objects)
    from repolicy.git import is_partial_clone

    promised = git.promised(revs) if objects and is_partial_clone(objects) else None
    walked = walk.get()
    entries = found.entries = walked.entries
    ctx = Context(policy)
    wide_later = None
    if wide is not None:
        from repolicy.engine import tree_facts

        # The tips judged are the pushed commits the refs point at; the trees the
        # push builds on are those of the commits it starts from. Asked now, the
        # trees' sizes come while the blobs are judged.
        pushed_commits, boundaries = wide[0].get()
        fresh = set(pushed_commits)
        peeled = wide[1].get()
        tips = [t for t in dict.fromkeys(peeled.values()) if t in fresh]
        written = [e.path for e in entries]
        written += walked.gitlinks  # a submodule is an entry of its directory too
        merges = wide[2].get()
        if merges and boundaries:
            # `git log -c` shows a merge only where it differs from every parent:
            # what it brings from a side the remote has (an unrelated history
            # merged in) is written by no pushed commit, yet lands in the tip.
            # (With no boundary, every commit is pushed and every path written.)
            pairs = [(m[0], p) for m in merges for p in m[1:]]
            for _merge, _parent, changes in git.parent_diffs(pairs).get():
                written.extend(ch.path for ch in changes if ch.after and not ch.before)
        wide_later = tree_facts.directories_pushed_later(ctx, git, tips, boundaries, written)
    origin: dict[str, str] = {}
    contents = content_candidates(
        git, revs[:cut], revs[cut:], names or {}, found.notes, origin, kinds=kinds
    )
    blobs = gather(
        git,
        [*history_candidates(walked.firsts), *contents],
        cached_attributes=True,
        reader=reader,
        objects=objects,
        promised=promised.get() if promised is not None else (),
        binary=policy.binary_window(),
    )
    if advisor is not None:
        ctx.advice = advisor
        if advisor.history is not None:
            advisor.history.entries = entries
            advisor.history.firsts = walked.firsts
    found.violations.extend(check_blobs(ctx, blobs))
    if contents:
        # A tag's tree or blob is in no commit: the usual advice would not apply.
        found.violations = [
            v._replace(
                fix=f"delete or move {origin[v.path]}, which names it outside any commit, "
                "before pushing"
            )
            if v.commit is None and v.path in origin
            else v
            for v in found.violations
        ]
    if store is not None:
        where = store.get()
        missing = {
            oid
            for oid in {b.lfs_oid for b in blobs if b.lfs_oid}
            if not os.path.isfile(os.path.join(where, oid[0:2], oid[2:4], oid))
        }
        found.violations.extend(check_lfs_objects(ctx, blobs, missing))
    if policy.require or policy.frozen:
        from repolicy.checks.frozen import merge_pairs
        from repolicy.engine import tree_facts

        pushed = git.commit_changes(revs).get()
        # Merges against each parent: `-c` hides what a merge keeps from one side.
        diffs = git.parent_diffs(merge_pairs(pushed)).get()
        found.violations.extend(tree_facts.require_pushed(ctx, git, pushed, diffs))
        if not escapes.trailers:
            pushed = [c._replace(allow_frozen=()) for c in pushed]
        found.violations.extend(tree_facts.frozen_pushed(ctx, git, pushed, escapes.env, diffs))
    from repolicy.engine import dvc_facts as dvc

    found.violations.extend(dvc.for_push(ctx, git, blobs))
    if wide_later is not None:
        found.violations.extend(wide_later())
    found.violations = supersede(found.violations)
    if limit is not None and after is not None and after.get() > limit:
        found.violations.append(push_repo_budget(ctx, after.get(), added.get(), limit, blobs))
    push_limit = policy.limit("push")
    if push_limit is not None and added.get() > push_limit:
        found.violations.append(push_budget(ctx, added.get(), push_limit, blobs))
    # `used` is what the remote would hold afterwards, `added` the push's share.
    # Without the walk (the bound is under the limit) only an upper bound is
    # known: it is given as such, never as the exact figure.
    if after is None and bound is None:
        bound = git.stored_bound()
    if after is None and bound is None:
        after = held_after(git, revs, cut, objects)
    repo: dict[str, int | None] = {"used": None, "added": added.get(), "limit": limit}
    if after is not None:
        repo["used"] = after.get()
    elif bound is not None:
        repo["used"], repo["at_most"] = max(bound, added.get()), True
    found.budgets = {
        "repo": repo,
        "lfs": {
            "used": sum({b.lfs_oid: b.lfs_size for b in blobs if b.lfs_oid}.values()),
            "limit": policy.limit("lfs"),
        },
        "push": {"used": added.get(), "limit": push_limit},
    }
    return found


def settle(report: Report, found: Judged, baseline: Baseline | None) -> None:
    """Put what `judge_commits` found into `report`, after the notes it already has;
    then a `baseline` drops what it accepts in the commits that brought it (see
    `repolicy.baseline.apply`)."""
    report.violations.extend(found.violations)
    report.budgets = found.budgets
    report.notes.extend(found.notes)
    if baseline is not None:
        from repolicy.baseline import apply

        report.sort()  # settles `allow` first, as audit does: allowed is not baselined
        # A push sees a part of history: it cannot tell that an entry is unused.
        apply(report, baseline, found.entries)


def held_after(git: Git, revs: list[str], cut: int, objects: str | None) -> Query[int] | DiskSizes:
    """What the remote would hold after the push: every object the pushed tips
    and its refs reach. An object stored twice here counts its larger copy, as
    `audit` counts it (git's own sum takes whichever copy its lookups lead
    to). What one push adds is git's sum: its objects are rarely stored twice,
    and finding copies costs a server a pass over its packs at every push."""
    from repolicy.git import largest_copies

    largest = largest_copies(objects) if objects is not None else None
    return git.disk_usage([*revs[:cut], *revs[cut + 1 :]], largest)


def content_candidates(
    git: Git,
    tips: list[str],
    bounds: list[str],
    names: dict[str, str],
    notes: list[str],
    origin: dict[str, str] | None = None,
    objects: list[str] | None = None,
    *,
    kinds: Query[dict[str, str]] | None = None,
) -> list[Candidate]:
    """The blobs of tips that name a tree or a blob rather than a commit (a tag
    may point at either), which the history walk never meets: a tree's files
    at their paths in it, a bare blob under the name of its ref. `origin`
    receives, for each path, the ref that brings it; `objects`, every object
    id the tips bring (tags and trees too). `kinds`: the type of each `<tip>^{}`,
    asked earlier (as `Git.content_tips` asks it)."""
    from repolicy.facts import Candidate

    if kinds is None:
        with_contents = git.content_tips(tips)
    else:
        kind = kinds.get().get
        with_contents = [t for t in tips if kind(f"{t}^{{}}") in ("tree", "blob")]
    out = []
    for tip in with_contents:
        found, brought = git.tip_contents(tip, bounds)
        if objects is not None:
            objects.extend(brought)
        name = names.get(tip, tip)
        out += [Candidate(path or name, oid, mode) for mode, oid, path in found]
        if origin is not None:
            origin.update((path or name, name) for _mode, _oid, path in found)
        if found:
            what = "a blob" if found[0][2] == "" else "a tree"
            notes.append(
                f"{name} names {what}, not a commit: "
                + ("it was judged under that name" if what == "a blob" else "its files were judged")
            )
    # Two tags may name one tree: each blob is judged once at each path.
    return list({(c.oid, c.path): c for c in out}.values())
