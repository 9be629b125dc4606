"""Commits that have not left the machine yet (checks land with `audit`)."""

from __future__ import annotations

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
