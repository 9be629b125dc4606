"""`dvc`: data that DVC manages stays out of git (checks land with DVC support)."""

from __future__ import annotations

DOCS = {
    "dvc-in-git": """\
What it does
  Flags a path managed by DVC (an output of a committed .dvc file, or a
  path under `dvc:`) that is staged or committed to git as ordinary content.

Why it matters
  DVC keeps data in its cache and remote; the same bytes in git double the
  storage and defeat the point. `git add -f` after `dvc add` does exactly
  this, and DVC does not notice.

Example
  dvc: ["data/images/"]
  $ git add -f data/images/cat.jpg -> dvc-in-git

How to fix
  git rm --cached -r -- data/images && dvc add data/images

Policy keys
  dvc
""",
    "dvc-not-ignored": """\
What it does
  Flags a DVC-managed path that `.gitignore` does not ignore.

Why it matters
  `git add -A` would take the data into git. `dvc add` normally writes the
  ignore line into the parent's .gitignore; it is easy to lose in a merge.

Example
  data/images.dvc is committed but data/.gitignore lacks '/images'

How to fix
  Add '/images' to data/.gitignore (or run `repolicy fix`).

Policy keys
  dvc
""",
    "dvc-stale": """\
What it does
  Warns when the work-tree content of a DVC output no longer matches the
  md5 recorded in its .dvc file.

Why it matters
  The committed .dvc file describes data you no longer have; a `dvc push`
  or a colleague's `dvc pull` will not give the data you trained on.

Example
  data/sample.txt edited after `dvc add data/sample.txt`

How to fix
  dvc add data/sample.txt && git add data/sample.txt.dvc (or dvc checkout
  to restore the recorded version).

Policy keys
  dvc
""",
}
