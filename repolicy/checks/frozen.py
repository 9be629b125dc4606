"""`frozen`: released files that may never change (checks land with dataset support)."""

from __future__ import annotations

DOCS = {
    "frozen-modified": """\
What it does
  Flags a committed file matching a `frozen` pattern that is modified,
  renamed away or deleted.

Why it matters
  A model trained on datasets/printer/v1 is only reproducible while v1 is
  exactly what it was. Corrections belong in a new version.

Example
  frozen: ["datasets/*/v*/**"]
  editing datasets/printer/v1/labels.json -> frozen-modified

How to fix
  Revert the change and create datasets/printer/v2/ instead.

Policy keys
  frozen
""",
}
