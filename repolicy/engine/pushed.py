"""The pushed scope: every commit a push would send (the pre-push hook).

The range is what git-lfs's own pre-push hook uses: objects reachable from
each pushed local sha and not from what the remote already has (the remote
sha of that ref and every remote-tracking ref of the remote).
"""

from __future__ import annotations

import os

from repolicy.advice import HEADS, HistoryScope, Unpushed
from repolicy.engine.commits import Escapes, judge_commits, require_objects, settle
from repolicy.errors import RepolicyError
from repolicy.git import Git, objects_directory
from repolicy.scope import Pushed, PushUpdate, is_zero, printable, push_revisions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from repolicy.advice import Advisor, Published
    from repolicy.git import Query

    Questions = tuple[Query[tuple[list[str], list[str]]], Query[list[str]], Query[str]]
    from repolicy.report import Report


def judge(scope: Pushed, policy_arg: str | None) -> Report:
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
    from repolicy.engine import work_tree_policy

    policy = work_tree_policy(git, info, policy_arg)
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
    from repolicy.advice import REMOTES, Advisor

    sent = [u for u in updates if not is_zero(u.local_sha)]
    if sent:
        preferred = [
            f"{REMOTES}{remote}/{u.remote_ref[len(HEADS) :]}"
            for u in sent
            if remote and u.remote_ref.startswith(HEADS)
        ]
        scope: HistoryScope = PushedScope(git, [u.local_sha for u in sent], preferred=preferred)
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


class PushedScope(HistoryScope):
    """Where the commits a pre-push hook is given lie, known mostly without asking
    git commit by commit.

    The commits the push sends that no remote-tracking ref reaches (of `tips`)
    are listed by one `rev-list`, the first time advice needs it: no remote
    has them, and the branches a rewrite of them names are the pushed ones
    (`branches`), whatever else holds them. Asking which refs contain each
    (`for-each-ref --contains` per commit, then a walk of every ref) cost a
    push with a few offending commits a third of its time. Any other commit
    is asked about as `HistoryScope` does.
    """

    def __init__(self, git: Git, tips: Sequence[str], *, preferred: Sequence[str]) -> None:
        super().__init__(git, preferred=preferred)
        self.tips = tuple(tips)
        self._alone: set[str] | None = None
        self._all_writers: dict[tuple[str, str], set[str]] | None = None
        self._asked: Questions | None = None

    def _questions(self) -> Questions:
        """What any advice asks first, asked side by side when it is first needed: the
        commits of the push no remote has, the remote-tracking refs, HEAD's branch."""
        if self._asked is None:
            self._asked = (
                # (On stdin: a push of 60,000 tags names more than a command line holds.)
                self.git.commits_and_boundary([*self.tips, "--not", "--remotes"]),
                self.git.tracking_refs(),
                self.git.head_ref(),
            )
        return self._asked

    def unpublished(self, commit: str) -> bool:
        """Whether `commit` is one the push sends that no remote-tracking ref reaches."""
        if self._alone is None:
            self._alone = set(self._questions()[0].get()[0])
        return commit in self._alone

    def remote_refs(self) -> list[str]:
        return self._questions()[1].get()

    def checked_out(self) -> str | None:
        return self._questions()[2].get() or None

    def where(self, commit: str, oid: str, path: str) -> Unpushed | Published | None:
        if self.branches is None or not self.unpublished(commit):
            return super().where(commit, oid, path)
        if self.also_published(oid, path, commit):
            return super().where(commit, oid, path)
        # As HistoryScope.where has it for a commit no remote-tracking ref contains.
        return self.unpushed_on(self.branches)

    def also_published(self, oid: str, path: str, commit: str) -> bool:
        if self._all_writers is None:
            # Each (blob, path) to the commits that wrote it, read once: a push
            # with many offending blobs would otherwise scan its history for each.
            self._all_writers = {}
            for e in self.entries:
                self._all_writers.setdefault((e.oid, e.path), set()).add(e.commit)
        others = self._all_writers.get((oid, path), set()) - {commit}
        # As HistoryScope has it; what no remote-tracking ref reaches is known already.
        return any(self.containing(c)[0] for c in others if not self.unpublished(c))

    def excludes(self, branch: str) -> tuple[str, ...]:
        # The preferred refs exclude as much as every remote does when they are
        # every remote-tracking ref there is: no commits need counting to know.
        everything = self.remote_refs()
        preferred = [r for r in self.preferred if r in everything]
        if preferred and set(preferred) == set(everything):
            return tuple(preferred)
        return super().excludes(branch)
