"""`repolicy check --push`: every commit a push would send (the pre-push hook).

The range is what git-lfs's own pre-push hook uses: objects reachable from
each pushed local sha and not from what the remote already has (the remote
sha of that ref and every remote-tracking ref of the remote). Every blob in
the range is judged at every path any pushed commit wrote it to, so a blob
added in one commit and deleted in the next is still seen.
"""

from __future__ import annotations

import os
import string
import sys

from repolicy.errors import RepolicyError
from repolicy.git import Git, objects_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from repolicy.advice import Advisor
    from repolicy.baseline import Baseline
    from repolicy.checks import Context
    from repolicy.facts import BlobAtPath, Candidate
    from repolicy.options import Options
    from repolicy.policy import Policy
    from repolicy.report import Report, Violation


class RefUpdate:
    """One line git gives a pre-push hook."""

    __slots__ = ("local_ref", "local_sha", "remote_ref", "remote_sha")

    def __init__(self, local_ref: str, local_sha: str, remote_ref: str, remote_sha: str) -> None:
        self.local_ref = local_ref
        self.local_sha = local_sha
        self.remote_ref = remote_ref
        self.remote_sha = remote_sha


def is_zero(sha: str) -> bool:
    """The all-zero id (40 hex digits for SHA-1, 64 for SHA-256): no such object."""
    return len(sha) in (40, 64) and not sha.strip("0")


def parse_updates(text: str, length: int = 40) -> list[RefUpdate]:
    """Git's pre-push lines, each checked: they become git arguments, so a line
    that is not exactly what git writes stops the hook (exit 2)."""
    updates = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.rsplit(" ", 3)
        if len(fields) != 4:
            raise bad_line("pre-push", number, "expected <local ref> <sha> <remote ref> <sha>")
        local_ref, local_sha, remote_ref, remote_sha = fields
        for sha in (local_sha, remote_sha):
            if not is_object_id(sha, length):
                raise bad_line("pre-push", number, f"not an object id of {length} hex digits")
        if not local_ref or local_ref.startswith("-") or not printable(local_ref):
            raise bad_line("pre-push", number, "the local ref is not a name git gives")
        if not sane_ref(remote_ref):
            raise bad_line("pre-push", number, "the remote ref is not a valid ref name")
        updates.append(RefUpdate(local_ref, local_sha, remote_ref, remote_sha))
    return updates


def is_object_id(text: str, length: int) -> bool:
    return len(text) == length and all(c in string.hexdigits for c in text) and text == text.lower()


def printable(text: str) -> bool:
    return all(" " <= c != "\x7f" for c in text)


def sane_ref(name: str) -> bool:
    """A full ref name as `git check-ref-format` accepts it, below refs/."""
    parts = name.split("/")
    return (
        name.startswith("refs/")
        and printable(name)
        and not any(c in name for c in " ~^:?*[\\")
        and ".." not in name
        and "@{" not in name
        and not name.endswith((".", ".lock"))
        and all(p and not p.startswith(".") and not p.endswith(".lock") for p in parts)
    )


def bad_line(hook: str, number: int, why: str) -> RepolicyError:
    return RepolicyError(f"{hook} input line {number}: {why}; refusing to judge it")


def require_objects(git: Git, oids: list[str], what: str) -> None:
    """Stop (exit 2) when an object the hook was told about does not exist: an
    unknown id is never judged as an empty push."""
    wanted = [o for o in dict.fromkeys(oids) if not is_zero(o)]
    known = git.object_types(wanted).get()
    missing = [o for o in wanted if o not in known]
    if missing:
        raise RepolicyError(f"{what} names object {missing[0]}, which this repository lacks")


def revisions(
    git: Git,
    updates: list[RefUpdate],
    remote: str | None,
    from_ref: str | None,
    to_ref: str | None,
) -> list[str] | None:
    """`log`/`rev-list` arguments for what the push sends; None when nothing is sent."""
    known_remote = f"--remotes={remote}" if remote else "--remotes"
    if updates:
        sent = [u for u in updates if not is_zero(u.local_sha)]  # deletions send nothing
        if not sent:
            return None
        theirs = [u.remote_sha for u in sent if not is_zero(u.remote_sha)]
        # A remote sha we have never fetched cannot bound the range; --ignore-missing
        # drops it and the remote-tracking refs still do.
        return [*(u.local_sha for u in sent), "--not", *theirs, known_remote]
    if to_ref:
        bound = [from_ref] if from_ref and not is_zero(from_ref) else []
        return [to_ref, "--not", *bound, known_remote]
    # A first push through pre-commit, or a manual run: all that no remote has.
    return ["HEAD", "--not", known_remote]


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    try:
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


def run(args: Options) -> int:
    from repolicy.policy import load_policy
    from repolicy.report import Report, finish

    # What is pushed is judged as it is, whatever refs/replace/ says here.
    os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    # Explicit refs first, then git's own lines on stdin, then what the
    # pre-commit framework exports (it keeps stdin for itself).
    remote = args.remote or os.environ.get("PRE_COMMIT_REMOTE_NAME") or None
    from_ref, to_ref = args.from_ref, args.to_ref
    updates = parse_updates(read_stdin(), git.hash_length()) if not to_ref else []
    require_objects(git, [u.local_sha for u in updates], "the pre-push input")
    if not updates and not to_ref:
        from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or None
        to_ref = os.environ.get("PRE_COMMIT_TO_REF") or None
    for ref in (from_ref, to_ref):
        if ref is not None and (ref.startswith("-") or not printable(ref)):
            raise RepolicyError(f"not a revision: {ref!r}")
    if to_ref is not None and not git.object_types([f"{to_ref}^{{commit}}"]).get():
        raise RepolicyError(f"the revision to push, {to_ref!r}, is not a commit here")
    policy = load_policy(info.toplevel, args.policy, os.path.join(info.git_dir, "repolicy"))
    revs = revisions(git, updates, remote, from_ref, to_ref)
    report = Report("push", policy, budgets={})
    from repolicy.baseline import load

    accepted = load(info.toplevel, policy, report) if revs is not None else None
    from repolicy.checks.frozen import ALLOW_ENV

    # The pusher's own escapes: the environment and commit trailers.
    escapes = Escapes(os.environ.get(ALLOW_ENV), trailers=True)
    names = {u.local_sha: u.remote_ref for u in updates}
    judge(
        git,
        policy,
        revs,
        report,
        lfs_objects=True,
        baseline=accepted,
        escapes=escapes,
        names=names,
        advisor=push_advisor(git, updates, remote),
        objects=objects_directory(info.git_dir),
    )
    return finish(report, args)


class Escapes:
    """Which escapes from `frozen` a run honours: the REPOLICY_ALLOW_FROZEN value
    (the pusher's environment; never on a server) and commit trailers."""

    __slots__ = ("env", "trailers")

    def __init__(self, env: str | None, trailers: bool) -> None:
        self.env = env
        self.trailers = trailers


def judge(
    git: Git,
    policy: Policy,
    revs: list[str] | None,
    report: Report,
    *,
    lfs_objects: bool,
    escapes: Escapes,
    bound: int | None = None,
    baseline: Baseline | None = None,
    advisor: Advisor | None = None,
    names: dict[str, str] | None = None,
    objects: str | None = None,
) -> None:
    """Every check of a push over the objects `revs` selects, into `report`.

    Shared by the pre-push hook and the server's pre-receive hook. The LFS
    store is only consulted where it is the pusher's (`lfs_objects`). `bound`
    is an upper bound of what the remote will hold, when the caller knows one
    (None: this repository's own objects bound it). A `baseline` drops what it
    accepts in the commits that brought it (see `repolicy.baseline.apply`).
    `names` maps a pushed tip to the ref it goes to, which names a bare blob.
    `objects`: the object directory, where loose objects are read (see
    `repolicy.git.read_loose`) and a partial clone is recognised.
    """
    from repolicy.checks import Context, check_blobs, supersede
    from repolicy.checks.lfs import check_lfs_objects
    from repolicy.facts import gather, history_candidates

    if revs is None:
        # Nothing is sent: the remote keeps what it has, of which all that is
        # stored here is an upper bound.
        held = bound if bound is not None else git.stored_bound()
        nothing: dict[str, int | None] = {"used": held or 0, "added": 0}
        if held is not None:
            nothing["at_most"] = True
        report.budgets = {
            "repo": {**nothing, "limit": policy.limit("repo")},
            "lfs": {"used": 0, "limit": policy.limit("lfs")},
            "push": {"used": 0, "limit": policy.limit("push")},
        }
        return
    # What one push sends: the objects `revs` reach that the remote lacks, as
    # stored here. The same figure is the push's share of the repo budget.
    added = git.disk_usage(revs)
    limit = policy.limit("repo")
    after = None
    if limit is not None:
        # What the remote will hold afterwards is at most everything stored
        # here; only when that bound is over the budget is walking the whole
        # history worth its cost.
        if bound is None:
            bound = git.stored_bound()
        if bound is None or bound > limit:
            cut = revs.index("--not")
            after = git.disk_usage([*revs[:cut], *revs[cut + 1 :]])
    from repolicy.git import is_partial_clone

    promised = git.promised(revs) if objects and is_partial_clone(objects) else None
    entries = git.history(revs).get()
    cut = revs.index("--not")
    origin: dict[str, str] = {}
    contents = content_candidates(git, revs[:cut], revs[cut:], names or {}, report.notes, origin)
    blobs = gather(
        git,
        [*history_candidates(entries), *contents],
        cached_attributes=True,
        objects=objects,
        promised=promised.get() if promised is not None else (),
    )
    ctx = Context(policy)
    if advisor is not None:
        ctx.advice = advisor
        if advisor.history is not None:
            advisor.history.entries = entries
    report.violations.extend(check_blobs(ctx, blobs))
    if contents:
        # A tag's tree or blob is in no commit: the usual advice would not apply.
        report.violations = [
            v._replace(
                fix=f"delete or move {origin[v.path]}, which names it outside any commit, "
                "before pushing"
            )
            if v.commit is None and v.path in origin
            else v
            for v in report.violations
        ]
    if lfs_objects:
        store = lfs_store(git)
        missing = {
            oid
            for oid in {b.lfs_oid for b in blobs if b.lfs_oid}
            if not os.path.isfile(os.path.join(store, oid[0:2], oid[2:4], oid))
        }
        report.violations.extend(check_lfs_objects(ctx, blobs, missing))
    if policy.require or policy.frozen:
        from repolicy.checks import frozen, require

        pushed = git.commit_changes(revs).get()
        # Merges against each parent: `-c` hides what a merge keeps from one side.
        diffs = git.parent_diffs(frozen.merge_pairs(pushed)).get()
        report.violations.extend(require.pushed(ctx, git, pushed, diffs))
        if not escapes.trailers:
            pushed = [c._replace(allow_frozen=()) for c in pushed]
        report.violations.extend(frozen.pushed(ctx, git, pushed, escapes.env, diffs))
    from repolicy.checks import dvc

    report.violations.extend(dvc.for_push(ctx, git, blobs))
    if policy.limit("directory_entries") is not None:
        from repolicy.checks import directories

        # The tips judged are the pushed commits the refs point at; the trees the
        # push builds on are those of the commits it starts from.
        pushed_commits, boundaries = git.commits_and_boundary(revs).get()
        fresh = set(pushed_commits)
        peeled = git.object_ids(f"{t}^{{commit}}" for t in revs[:cut]).get()
        tips = [t for t in dict.fromkeys(peeled.values()) if t in fresh]
        written = (e.path for e in entries)
        report.violations.extend(directories.pushed(ctx, git, tips, boundaries, written))
    report.violations = supersede(report.violations)
    if limit is not None and after is not None and after.get() > limit:
        report.violations.append(repo_budget(ctx, after.get(), added.get(), limit, blobs))
    push_limit = policy.limit("push")
    if push_limit is not None and added.get() > push_limit:
        report.violations.append(push_budget(ctx, added.get(), push_limit, blobs))
    # `used` is what the remote would hold afterwards, `added` the push's share.
    # Without the walk (the bound is under the limit) only an upper bound is
    # known: it is given as such, never as the exact figure.
    if after is None and bound is None:
        bound = git.stored_bound()
    if after is None and bound is None:
        cut = revs.index("--not")
        after = git.disk_usage([*revs[:cut], *revs[cut + 1 :]])
    repo: dict[str, int | None] = {"used": None, "added": added.get(), "limit": limit}
    if after is not None:
        repo["used"] = after.get()
    elif bound is not None:
        repo["used"], repo["at_most"] = max(bound, added.get()), True
    report.budgets = {
        "repo": repo,
        "lfs": {
            "used": sum({b.lfs_oid: b.lfs_size for b in blobs if b.lfs_oid}.values()),
            "limit": policy.limit("lfs"),
        },
        "push": {"used": added.get(), "limit": push_limit},
    }
    if baseline is not None:
        from repolicy.baseline import apply

        # A push sees a part of history: it cannot tell that an entry is unused.
        apply(report, baseline, entries)


def push_advisor(git: Git, updates: list[RefUpdate], remote: str | None) -> Advisor:
    """History advice limited to what this push sends: the pushed branches, bounded
    by the remote's copy of each pushed ref when that suffices."""
    from repolicy.advice import HEADS, REMOTES, Advisor, HistoryScope

    sent = [u for u in updates if not is_zero(u.local_sha)]
    if sent:
        preferred = [
            f"{REMOTES}{remote}/{u.remote_ref[len(HEADS) :]}"
            for u in sent
            if remote and u.remote_ref.startswith(HEADS)
        ]
        scope = HistoryScope(git, preferred=preferred)
        # A refspec's source comes as typed (`git push origin HEAD:main`): the branch it names.
        local = [scope.branch_named(u.local_ref) for u in sent]
        scope.branches = tuple(ref for ref in local if ref.startswith(HEADS))
    else:
        branch = os.environ.get("PRE_COMMIT_REMOTE_BRANCH") or ""
        preferred = (
            [f"{REMOTES}{remote}/{branch[len(HEADS) :]}"]
            if remote and branch.startswith(HEADS)
            else []
        )
        scope = HistoryScope(git, preferred=preferred)
    return Advisor(git, scope)


def content_candidates(
    git: Git,
    tips: list[str],
    bounds: list[str],
    names: dict[str, str],
    notes: list[str],
    origin: dict[str, str] | None = None,
    objects: list[str] | None = None,
) -> list[Candidate]:
    """The blobs of tips that name a tree or a blob rather than a commit (a tag
    may point at either), which the history walk never meets: a tree's files
    at their paths in it, a bare blob under the name of its ref. `origin`
    receives, for each path, the ref that brings it; `objects`, every object
    id the tips bring (tags and trees too)."""
    from repolicy.facts import Candidate

    out = []
    for tip in git.content_tips(tips):
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


def repo_budget(
    ctx: Context, total: int, added: int, limit: int, blobs: Sequence[BlobAtPath] = ()
) -> Violation:
    from repolicy.checks.budgets import repo_budget_fix
    from repolicy.report import Violation, exact_size

    return Violation(
        check="repo-budget",
        severity=ctx.severity("repo-budget"),
        path=None,
        rule=f"budgets.repo: {exact_size(limit)}",
        message=(
            f"after this push the remote would hold {exact_size(total)}, over the "
            f"{exact_size(limit)} budget; the push adds {exact_size(added)}"
        ),
        fix=repo_budget_fix(ctx, blobs, everything=False),
        size=added,
    )


def push_budget(ctx: Context, sent: int, limit: int, blobs: Sequence[BlobAtPath] = ()) -> Violation:
    from repolicy.checks.budgets import push_budget_fix
    from repolicy.report import Violation, exact_size

    return Violation(
        check="push-budget",
        severity=ctx.severity("push-budget"),
        path=None,
        rule=f"budgets.push: {exact_size(limit)}",
        message=(
            f"this push sends {exact_size(sent)} of objects the remote lacks (as stored "
            f"here), over the {exact_size(limit)} one push may send"
        ),
        fix=push_budget_fix(ctx, blobs),
        size=sent,
    )


def lfs_store(git: Git) -> str:
    """Where git-lfs keeps objects: `lfs.storage` (relative to the git directory), else
    <common git dir>/lfs."""
    common = os.fsdecode(git.run("rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    configured = git.config("--get", "lfs.storage")
    base = os.path.join(common, configured) if configured else os.path.join(common, "lfs")
    return os.path.join(base, "objects")
