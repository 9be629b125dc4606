"""The pushed scope: every commit a push would send (the pre-push hook).

The range is what git-lfs's own pre-push hook uses: objects reachable from
each pushed local sha and not from what the remote already has (the remote
sha of that ref and every remote-tracking ref of the remote).
"""

from __future__ import annotations

import os

from repolicy.engine.commits import Escapes, judge_commits, require_objects, settle
from repolicy.errors import RepolicyError
from repolicy.git import Git, objects_directory
from repolicy.scope import Pushed, PushUpdate, is_zero, printable, push_revisions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.advice import Advisor
    from repolicy.report import Report


def judge(scope: Pushed, policy_arg: str | None) -> Report:
    from repolicy.policy import load_policy
    from repolicy.report import Report

    # What is pushed is judged as it is, whatever refs/replace/ says here.
    os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    updates, remote, from_ref, to_ref = scope.updates, scope.remote, scope.from_ref, scope.to_ref
    require_objects(git, [u.local_sha for u in updates], "the pre-push input")
    for ref in (from_ref, to_ref):
        if ref is not None and (ref.startswith("-") or not printable(ref)):
            raise RepolicyError(f"not a revision: {ref!r}")
    if to_ref is not None and not git.object_types([f"{to_ref}^{{commit}}"]).get():
        raise RepolicyError(f"the revision to push, {to_ref!r}, is not a commit here")
    policy = load_policy(info.toplevel, policy_arg, os.path.join(info.git_dir, "repolicy"))
    revs = push_revisions(git, updates, remote, from_ref, to_ref)
    report = Report("push", policy, budgets={})
    from repolicy.baseline import load

    accepted = load(info.toplevel, policy, report) if revs is not None else None
    from repolicy.checks.frozen import ALLOW_ENV

    # The pusher's own escapes: the environment and commit trailers.
    escapes = Escapes(os.environ.get(ALLOW_ENV), trailers=True)
    names = {u.local_sha: u.remote_ref for u in updates}
    found = judge_commits(
        git,
        policy,
        revs,
        lfs_objects=True,
        escapes=escapes,
        names=names,
        advisor=push_advisor(git, updates, remote),
        objects=objects_directory(info.git_dir),
    )
    settle(report, found, accepted)
    return report


def push_advisor(git: Git, updates: list[PushUpdate], remote: str | None) -> Advisor:
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
