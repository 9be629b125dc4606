"""unpushed: commits that have not left the machine yet (reported by `audit`)."""

from __future__ import annotations

from repolicy.report import Violation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.checks import Context

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


def unpushed(ctx: Context, upstream: str, count: int) -> list[Violation]:
    """The current branch's `count` commits that its `upstream` lacks."""
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
