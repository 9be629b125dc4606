"""baseline-unused: baseline entries that no longer accept anything (the baseline is
`repolicy.baseline`, which reports them through `unused_entry`)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.baseline import Entry
    from repolicy.report import Violation

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


def unused_entry(file: str, entry: Entry) -> Violation:
    """baseline-unused for one entry of the baseline `file` that matched nothing."""
    from repolicy.baseline import quote_path
    from repolicy.checks import REGISTRY
    from repolicy.report import Violation

    blob = f" blob {entry.blob[:12]}" if entry.blob else ""
    return Violation(
        check="baseline-unused",
        severity=REGISTRY["baseline-unused"].severity,
        path=file,
        rule=f"{file}:{entry.line}",
        message=(
            f"line {entry.line} accepts [{entry.check}] at {quote_path(entry.path)}{blob}, "
            "which no longer occurs: the entry can go"
        ),
        fix=f"repolicy audit --write-baseline (or delete line {entry.line} of {file})",
    )
