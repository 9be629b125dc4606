"""`repolicy check --push`: every commit a push would send (the pre-push hook).

The range is what git-lfs's own pre-push hook uses: objects reachable from
each pushed local sha and not from what the remote already has (the remote
sha of that ref and every remote-tracking ref of the remote). Every blob in
the range is judged at every path any pushed commit wrote it to, so a blob
added in one commit and deleted in the next is still seen.
"""

from __future__ import annotations

import os
import sys

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from repolicy.advice import Advisor
    from repolicy.baseline import Baseline
    from repolicy.checks import Context
    from repolicy.cli import Options
    from repolicy.policy import Policy
    from repolicy.report import Report, Violation
    from repolicy.targets import BlobAtPath


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


def parse_updates(text: str) -> list[RefUpdate]:
    """Git's pre-push lines; a ref name may hold spaces, so split from the right."""
    updates = []
    for line in text.splitlines():
        if not line.strip():
            continue
        head, remote_ref, remote_sha = line.rsplit(" ", 2)
        local_ref, local_sha = head.rsplit(" ", 1)
        updates.append(RefUpdate(local_ref, local_sha, remote_ref, remote_sha))
    return updates


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
    from repolicy.report import Report, emit

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    # Explicit refs first, then git's own lines on stdin, then what the
    # pre-commit framework exports (it keeps stdin for itself).
    remote = args.remote or os.environ.get("PRE_COMMIT_REMOTE_NAME") or None
    from_ref, to_ref = args.from_ref, args.to_ref
    updates = parse_updates(read_stdin()) if not to_ref else []
    if not updates and not to_ref:
        from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or None
        to_ref = os.environ.get("PRE_COMMIT_TO_REF") or None
    policy = load_policy(info.toplevel, args.policy, os.path.join(info.git_dir, "repolicy"))
    revs = revisions(git, updates, remote, from_ref, to_ref)
    report = Report("push", policy.name, budgets={})
    from repolicy.baseline import load

    accepted = load(info.toplevel, policy, report) if revs is not None else None
    advisor = push_advisor(git, updates, remote)
    judge(git, policy, revs, report, lfs_objects=True, baseline=accepted, advisor=advisor)
    report.sort()
    emit(report, args.format, no_color=args.no_color, quiet=args.quiet)
    return report.exit_code(args.strict)


def judge(
    git: Git,
    policy: Policy,
    revs: list[str] | None,
    report: Report,
    *,
    lfs_objects: bool,
    bound: int | None = None,
    baseline: Baseline | None = None,
    advisor: Advisor | None = None,
) -> None:
    """Every check of a push over the objects `revs` selects, into `report`.

    Shared by the pre-push hook and the server's pre-receive hook. The LFS
    store is only consulted where it is the pusher's (`lfs_objects`). `bound`
    is an upper bound of what the remote will hold, when the caller knows one
    (None: this repository's own objects bound it). A `baseline` drops what it
    accepts in the commits that brought it (see `repolicy.baseline.apply`).
    """
    from repolicy.checks import Context, check_blobs, supersede
    from repolicy.checks.lfs import check_lfs_objects
    from repolicy.targets import gather, history_candidates

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
        }
        return
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
    entries = git.history(revs).get()
    blobs = gather(git, history_candidates(entries), cached_attributes=True)
    ctx = Context(policy)
    if advisor is not None:
        ctx.advice = advisor
        if advisor.history is not None:
            advisor.history.entries = entries
    report.violations.extend(check_blobs(ctx, blobs))
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
        report.violations.extend(require.pushed(ctx, git, pushed))
        allow = os.environ.get(frozen.ALLOW_ENV)
        report.violations.extend(frozen.pushed(ctx, git, pushed, allow))
    from repolicy.checks import dvc

    report.violations.extend(dvc.for_push(ctx, git, blobs))
    report.violations = supersede(report.violations)
    if limit is not None and after is not None and after.get() > limit:
        report.violations.append(repo_budget(ctx, after.get(), added.get(), limit, blobs))
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


def lfs_store(git: Git) -> str:
    """Where git-lfs keeps objects: `lfs.storage` (relative to the git directory), else
    <common git dir>/lfs."""
    common = os.fsdecode(git.run("rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    configured = git.config("--get", "lfs.storage")
    base = os.path.join(common, configured) if configured else os.path.join(common, "lfs")
    return os.path.join(base, "objects")
