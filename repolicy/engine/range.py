"""The range scope: every commit of `A..B`, judged as a push of it would be (CI).

`--base REF` is `merge-base(REF, HEAD)..HEAD`: what a pull request from HEAD
into REF brings. Remote-tracking refs do not bound it (in CI they hold the
branch being judged). A range git cannot walk to its end is refused, never
judged in part: a base that is not in the clone, or a shallow boundary inside
the range, exits 2 with the fetch that would make it whole. Nothing is fetched.
"""

from __future__ import annotations

import os

from repolicy.errors import RepolicyError
from repolicy.git import Git, objects_directory
from repolicy.scope import FETCH_ALL, Range, range_bounds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.report import Report


def judge(scope: Range, policy_arg: str | None) -> Report:
    from repolicy.baseline import load
    from repolicy.checks.frozen import ALLOW_ENV
    from repolicy.engine.commits import Escapes, judge_commits, settle
    from repolicy.engine.pushed import push_advisor
    from repolicy.report import Report

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    grafts = git.shallow_commits()
    base, tip = range_bounds(git, scope.range, scope.base, bool(grafts))
    revs = [tip, "--not", base]
    if grafts:
        cut = grafts.intersection(git.commits(revs).get())
        if cut:
            raise RepolicyError(
                f"the range {base[:12]}..{tip[:12]} reaches the edge of this shallow clone "
                f"(commit {min(cut)[:12]} has no fetched parents), so part of it is missing; "
                f"deepen it (`git fetch --deepen=N`, N at least the range's commits) or {FETCH_ALL}"
            )
    from repolicy.engine import work_tree_policy

    policy = work_tree_policy(git, info, policy_arg)
    report = Report("range", policy, budgets={})
    accepted = load(info.toplevel, policy, report)
    # The LFS store is not consulted: a CI checkout rarely downloads LFS objects,
    # and the objects of pushed commits are the forge's to hold by then.
    found = judge_commits(
        git,
        policy,
        revs,
        lfs_objects=False,
        # A shallow clone's store bounds nothing of the full history: walk what is here.
        bound=None if not grafts else 1 << 62,
        # As on a pusher's machine: the escapes of the environment and of trailers.
        escapes=Escapes(os.environ.get(ALLOW_ENV), trailers=True),
        advisor=push_advisor(git, [], None),
        objects=objects_directory(info.git_dir),
    )
    settle(report, found, accepted)
    if grafts and report.budgets and "repo" in report.budgets:
        repo = report.budgets["repo"]
        if repo.pop("at_most", None):
            repo["used"] = None  # only the store's size was known, and it bounds nothing here
        else:
            repo["at_least"] = True
        report.notes.append(
            "this clone is shallow: the repo budget counts only the fetched history "
            "(a lower bound); `repolicy audit` on a full clone measures it"
        )
    return report
