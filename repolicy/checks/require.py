"""`require`: files every matching directory must contain (checks land with dataset support)."""

from __future__ import annotations

DOCS = {
    "missing-required": """\
What it does
  Flags a directory matching a `require` key that lacks one of the listed
  files (a listed entry may be a pattern such as "*.md"). The violation
  names the directory, with a trailing '/'.

Why it matters
  A dataset version without its README.md (source, date, labelling notes)
  or its labels.json cannot be reproduced or trusted a month later.

Example
  require: {"datasets/*/v*/": [README.md, labels.json]}
  datasets/printer/v2/ has images but no labels.json -> missing-required

How to fix
  Add the missing files to the directory and commit them together with
  the data.

Policy keys
  require
""",
}
