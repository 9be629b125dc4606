"""The policy's `allow` list: named paths exempt from named checks, and its own check.

`allow` is applied where every command's report is settled (`Report.sort`),
so `check`, `check --push`, `--pre-receive`, `audit` and `explain` agree on
what it exempts; `fix` asks `allowing` for the paths it would hide from git.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repolicy.policy import Allow, Policy
    from repolicy.report import Violation

DOCS = {
    "allow-unused": """\
What it does
  Warns about an entry of the policy's `allow` list whose `path` matches no
  path the audit examined (history, the index and the work tree).

Why it matters
  An `allow` entry switches checks off for its paths, in every command and
  for future commits too. One that matches nothing today (the file was
  renamed, the directory removed) is a standing exemption nobody can review
  against a real file, waiting to hide the next file that happens to match.
  Entries that come with a preset are not judged.

Example
  allow:
    - path: logs/.gitkeep
      checks: [excluded]
      reason: keeps the empty logs/ directory
  $ git rm -q logs/.gitkeep && git commit -qm "logs/ is made at run time"
  $ repolicy audit
  (repository): warning [allow-unused] allow entry 'logs/.gitkeep'
  (.repolicy.yaml:2) matches no path in history, the index or the work tree

How to fix
  Delete the entry, or correct its `path` (`repolicy explain PATH` shows
  which `allow` entry covers a path, and its reason).

Policy keys
  allow
""",
}


def allowing(
    allow: Iterable[Allow], check: str, path: str | None, size: int | None = None
) -> Allow | None:
    """The first entry that exempts `path` (of `size` bytes, None: unknown) from
    `check`, if any. An `empty` entry needs a size known to be 0."""
    if path is None:
        return None  # a repository-wide violation has no path to name
    raw: bytes | None = None
    for entry in allow:
        if not entry.covers(check) or (entry.empty and size != 0):
            continue
        raw = os.fsencode(path) if raw is None else raw
        if _selects(entry, raw, path.endswith("/")):
            return entry
    return None


def _selects(entry: Allow, raw: bytes, is_dir: bool) -> bool:
    """As a root `.gitignore` line would: the path, or a directory above it."""
    pattern = entry.pattern
    if pattern.matches(raw.rstrip(b"/"), is_dir):
        return True
    parts = raw.rstrip(b"/").split(b"/")
    return any(pattern.matches(b"/".join(parts[:k]), True) for k in range(1, len(parts)))


def split(
    allow: Iterable[Allow], violations: list[Violation]
) -> tuple[list[Violation], list[tuple[Violation, Allow]]]:
    """(violations still reported, violations an entry allows with that entry)."""
    entries = tuple(allow)
    if not entries:
        return violations, []
    kept: list[Violation] = []
    allowed: list[tuple[Violation, Allow]] = []
    for v in violations:
        entry = allowing(entries, v.check, v.path, v.size)
        if entry is None:
            kept.append(v)
        else:
            allowed.append((v, entry))
    return kept, allowed


def unused(policy: Policy, paths: Iterable[str]) -> list[Violation]:
    """`allow-unused`: the policy's own entries (not a preset's) that select none of `paths`."""
    from repolicy.checks import REGISTRY
    from repolicy.report import Violation

    waiting = [a for a in policy.allow if not a.source.file.startswith("preset:")]
    if not waiting:
        return []
    for path in paths:
        raw = os.fsencode(path)
        waiting = [a for a in waiting if not _selects(a, raw, False)]
        if not waiting:
            return []
    return [
        Violation(
            check="allow-unused",
            severity=REGISTRY["allow-unused"].severity,
            path=None,
            rule=f"allow: {a.pattern.text}",
            message=(
                f"allow entry {a.pattern.text!r} ({a.source}) matches no path in history, "
                "the index or the work tree"
            ),
            fix=f"delete the entry at {a.source}, or correct its path",
        )
        for a in waiting
    ]


def keep_visible(policy: Policy, root: str, files: Iterable[str], tracked: set[str]) -> Policy:
    """The policy for `fix`, with an `include` rule for each untracked file an `allow`
    entry exempts from `excluded`: `fix` must not hide it from `git add`. (A tracked
    one needs nothing: git does not ignore what it tracks.)"""
    from repolicy.policy import Rule
    from repolicy.policy.match import compile_pattern

    if not policy.allow:
        return policy
    from repolicy.checks import Context

    ctx = Context(policy)
    keep = []
    for path in files:
        if path in tracked:
            continue
        entry = allowing(policy.allow, "excluded", path, file_size(root, path))
        # Only what the policy itself would hide: a file the user's own lines
        # ignore (an empty .gitignore under an ignored .idea/) stays as they wrote it.
        if entry is None or ctx.excluding_rule(path) is None:
            continue
        literal = "".join("\\" + ch if ch in "*?[\\!#" else ch for ch in path)
        if literal.endswith(" "):
            literal = literal[:-1] + "\\ "
        keep.append(
            Rule(
                "include", compile_pattern("/" + literal), entry.source, f"allowed: {entry.reason}"
            )
        )
    return policy._replace(include=(*policy.include, *keep)) if keep else policy


def file_size(root: str, path: str) -> int | None:
    try:
        return os.lstat(os.path.join(root, path)).st_size
    except OSError:
        return None
