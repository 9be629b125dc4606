"""`require`: files every matching directory must contain.

A directory is judged where it changes: `check` judges the directories the
staged changes touch, as the index holds them; `check --push` each pushed
commit's tree, in the directories that commit touched; `audit` every
matching directory of HEAD and of the work tree. An old gap in a directory
nobody touches does not block unrelated commits; `audit` still reports it.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from repolicy.checks import Context
from repolicy.policy import Requirement
from repolicy.policy.match import Pattern
from repolicy.report import Violation, quote_pathspecs

if TYPE_CHECKING:
    from repolicy.facts import Candidate
    from repolicy.git import Change, CommitChanges, TreeChange

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

  The key selects a directory the way the same line of a `.gitignore`
  would select it (`datasets/*/v*/` is each version directory, not the
  directories inside it). Each entry is matched against the names directly
  inside that directory: `README.md`, `"*.md"` (any Markdown file), or
  `images/` (a subdirectory); an entry with a '/' inside it (`docs/index.md`)
  is a path below the directory.

  Where it looks: `check` judges, in the index, each matching directory
  that a staged change (a deletion included) touches; `check --push` judges
  each pushed commit's tree, in the directories that commit touched, and
  reports a gap at the oldest commit that has it; `audit` judges every
  matching directory of HEAD and of the work tree (tracked files on disk and
  untracked files that are not ignored). A directory with no files does not
  exist for git and is never judged.

How to fix
  Add the missing files to the directory and commit them together with
  the data. Before a push, amend the commit that created the directory
  (git rebase -i COMMIT^, mark it 'edit', add the files, git commit --amend)
  so that no pushed commit lacks them.

Policy keys
  require
""",
}


class Gap(NamedTuple):
    """A directory lacking what one requirement asks for."""

    directory: str  # without the trailing '/'
    requirement: Requirement
    missing: tuple[Pattern, ...]


def _ancestors(path: str) -> Iterable[tuple[str, str]]:
    """(directory, path relative to it) for each directory that holds `path`."""
    end = path.find("/")
    while end != -1:
        yield path[:end], path[end + 1 :]
        end = path.find("/", end + 1)


class _Keys:
    """Which requirements select a directory, the directory itself (not its parents)."""

    def __init__(self, requirements: Sequence[Requirement]) -> None:
        self.requirements = requirements
        self._cache: dict[str, list[Requirement]] = {}

    def __call__(self, directory: str) -> list[Requirement]:
        hits = self._cache.get(directory)
        if hits is None:
            raw = os.fsencode(directory)
            hits = [r for r in self.requirements if r.directory.pattern.matches(raw, True)]
            self._cache[directory] = hits
        return hits


def required_directories(ctx: Context, paths: Iterable[str]) -> set[str]:
    """The directories holding any of `paths` that a `require` key selects."""
    keys = _Keys(ctx.policy.require)
    return {d for path in paths for d, _ in _ancestors(path) if keys(d)}


def _present(entry: Pattern, below: Sequence[str]) -> bool:
    if entry.basename_only:
        return any(entry.matches(os.fsencode(rel.partition("/")[0]), "/" in rel) for rel in below)
    return any(entry.selects(rel) for rel in below)


def find_gaps(
    ctx: Context, files: Iterable[str], judge: Collection[str] | None = None
) -> list[Gap]:
    """Gaps in the directories that `files` (one tree's paths) make up.

    `judge` limits the verdict to those directories; None judges them all.
    """
    if not ctx.policy.require:
        return []
    keys = _Keys(ctx.policy.require)
    below: dict[str, list[str]] = {}
    for path in files:
        for directory, rel in _ancestors(path):
            if (judge is None or directory in judge) and keys(directory):
                below.setdefault(directory, []).append(rel)
    gaps = []
    for directory in sorted(below):
        for requirement in keys(directory):
            missing = tuple(e for e in requirement.files if not _present(e, below[directory]))
            if missing:
                gaps.append(Gap(directory, requirement, missing))
    return gaps


def _is_literal(entry: Pattern) -> bool:
    return not any(c in entry.text for c in "*?[\\") and not entry.text.endswith("/")


def _names(missing: Sequence[Pattern]) -> str:
    words = [
        e.text.lstrip("/") if _is_literal(e) else f"an entry matching '{e.text}'" for e in missing
    ]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def violation(ctx: Context, gap: Gap, *, commit: str | None = None, stage: str) -> Violation:
    """The violation for a gap; `stage` is check, push, head or work-tree."""
    directory = gap.directory + "/"
    names = _names(gap.missing)
    literal = [directory + e.text.lstrip("/") for e in gap.missing if _is_literal(e)]
    add = f"git add -- {quote_pathspecs(literal)}" if literal else "git add them"
    where = " in the work tree" if stage == "work-tree" else ""
    if stage == "push":
        short = (commit or "")[:12]
        fix = (
            f"add {names} to {directory} in commit {short}, which lacks it "
            f"(git rebase -i {short}^, mark it 'edit', {add}, git commit --amend, "
            "git rebase --continue), then push again"
        )
    elif stage == "check":
        fix = f"create {names} in {directory}, then: {add}"
    else:
        fix = f"create {names} in {directory}, then: {add} && git commit"
    return Violation(
        check="missing-required",
        severity=ctx.severity("missing-required", gap.requirement.directory),
        path=directory,
        rule=str(gap.requirement.directory),
        message=f"lacks {names}{where}, which every directory matching "
        f"'{gap.requirement.directory.text}' must contain",
        fix=fix,
        commit=commit,
        why=gap.requirement.directory.why,
    )


# -- where each command looks -------------------------------------------


def staged_directories(
    ctx: Context, changes: Sequence[Change], candidates: Sequence[Candidate]
) -> set[str]:
    """`check`: the required directories the staged changes touch.

    Deletions count even when PATHs narrow the check: pre-commit never passes
    a deleted file, and deleting a README is exactly what must not slip by.
    """
    if not ctx.policy.require:
        return set()
    touched = [c.path for c in candidates] + [ch.path for ch in changes if ch.status == "D"]
    return required_directories(ctx, touched)


def staged(ctx: Context, directories: Collection[str], files: Iterable[str]) -> list[Violation]:
    """`check`: the gaps in `directories`, as the index holds them (`files`: the
    index's paths in them)."""
    return [violation(ctx, gap, stage="check") for gap in find_gaps(ctx, files, directories)]


def pushed_directories(
    ctx: Context,
    commits: Sequence[CommitChanges],
    diffs: Sequence[tuple[str, str, Sequence[TreeChange]]] = (),
) -> dict[str, set[str]]:
    """`check --push`: for each pushed commit that touched any, the required
    directories it touched. A merge touches what it changed against any of its
    parents (`diffs`), not only what differs from all of them."""
    if not ctx.policy.require:
        return {}
    against_parents: dict[str, list[str]] = {}
    for merge, _parent, changes in diffs:
        against_parents.setdefault(merge, []).extend(ch.path for ch in changes)
    touched: dict[str, set[str]] = {}
    for commit in commits:
        paths = [ch.path for ch in commit.changes] + against_parents.get(commit.commit, [])
        directories = required_directories(ctx, paths)
        if directories:
            touched[commit.commit] = directories
    return touched


def pushed(
    ctx: Context,
    commits: Sequence[CommitChanges],
    touched: Mapping[str, Collection[str]],
    files: Mapping[str, Iterable[str]],
) -> list[Violation]:
    """`check --push`: each pushed commit's tree, in the directories it touched
    (`touched`, from `pushed_directories`; `files`: each such commit's paths in
    them). A gap that later commits keep is reported once, at the oldest."""
    out: list[Violation] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for commit in commits:
        directories = touched.get(commit.commit)
        if not directories:
            continue
        for gap in find_gaps(ctx, files[commit.commit], directories):
            key = (gap.directory, tuple(e.text for e in gap.missing))
            if key not in seen:
                seen.add(key)
                out.append(violation(ctx, gap, commit=commit.commit, stage="push"))
    return out


def in_directories(path: str, directories: Collection[str]) -> bool:
    """Whether `path` lies in one of `directories`, at any depth."""
    return any(d in directories for d, _ in _ancestors(path))


def audited(
    ctx: Context, head: str | None, head_files: Iterable[str], work_tree: Iterable[str]
) -> list[Violation]:
    """`audit`: every matching directory of HEAD (`head_files`: its tree's paths),
    then of the work tree where it differs (`work_tree`: the paths on disk that
    git tracks or would add). A gap HEAD already has is reported once, for HEAD."""
    out: list[Violation] = []
    known: set[tuple[str, tuple[str, ...]]] = set()
    if head is not None:
        for gap in find_gaps(ctx, head_files):
            known.add((gap.directory, tuple(e.text for e in gap.missing)))
            out.append(violation(ctx, gap, commit=head, stage="head"))
    for gap in find_gaps(ctx, work_tree):
        if (gap.directory, tuple(e.text for e in gap.missing)) not in known:
            out.append(violation(ctx, gap, stage="work-tree"))
    return out
