"""The baseline's own check: entries that no longer accept anything (code in repolicy.baseline)."""

from __future__ import annotations

DOCS = {
    "baseline-unused": """\
What it does
  Warns about a baseline entry that no longer matches any violation.

Why it matters
  A baseline should only shrink. An entry that accepts nothing today (the
  blob left history, the file was fixed, the rule was dropped) is clutter
  for every reviewer of the file. Only `audit` judges this: it sees all
  history, where a push sees a part of it.

Example
  $ git branch -D old-experiment   # the branch held the only 300 MB checkpoint
  $ repolicy audit                 # .repolicy-baseline: line 4 accepts
                                   # [file-too-large] at ckpt/model.pth ...

How to fix
  Rewrite the baseline from today's violations and commit the smaller file:
    repolicy audit --write-baseline
  or delete the line the warning names.

Policy keys
  baseline
""",
}
