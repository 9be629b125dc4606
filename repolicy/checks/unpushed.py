"""unpushed: commits that have not left the machine yet (reported by `audit`)."""

from __future__ import annotations

from repolicy.report import Violation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.checks import Context
    from repolicy.git import Git
    from repolicy.report import Report

DOCS = {
    "unpushed": """\
What it does
  Warns when the current branch has commits that its upstream lacks.

Why it matters
  On a machine that is wiped when the job ends, a commit that is not pushed
  is as lost as one never made.

Example
  $ git status    # Your branch is ahead of 'origin/main' by 2 commits.

How to fix
  git push

Policy keys
  (none)
""",
}


def unpushed(ctx: Context, git: Git, report: Report) -> list[Violation]:
    upstream = git.upstream()
    if not upstream:
        if git.head() is not None:
            report.notes.append("the current branch has no upstream: nothing to compare with")
        return []
    count = git.count_commits(["HEAD"], [upstream])
    if not count:
        return []
    name = upstream.removeprefix("refs/remotes/").removeprefix("refs/heads/")
    return [
        Violation(
            check="unpushed",
            severity=ctx.severity("unpushed"),
            path=None,
            message=f"the current branch has {count} commit{'s' * (count != 1)} {name} lacks",
            fix="git push",
        )
    ]
