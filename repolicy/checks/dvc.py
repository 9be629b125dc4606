"""`dvc`: data that DVC manages stays out of git, and matches its .dvc file.

A path is DVC-managed when it is an output of a `.dvc` file or of a
`dvc.lock` (unless declared `cache: false`, which asks for it to be in git),
or when it matches a pattern under the policy's `dvc:` key. The facts (the
outputs, from `repolicy.dvc.files`; git's ignore answers; work-tree hashes)
are gathered for each command by `repolicy.engine.dvc_facts`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from repolicy.checks import Context
from repolicy.dvc.files import LOCK_FILE, DvcOut
from repolicy.policy import Rule
from repolicy.report import Violation, human_size, quote_paths, quote_pathspecs

if TYPE_CHECKING:
    from repolicy.facts import BlobAtPath

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
  git rm -r --cached -- data/images      (the files stay on disk)
  dvc add data/images                    (only if the data changed)
  For a pipeline output (dvc.lock), record a change with
  `dvc commit -f data/prepared` instead: `dvc add` refuses a stage's output.
  Committed already: the blobs stay in history until it is rewritten; the
  printed advice rewrites only the commits no remote has when it can.

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
  echo '/images' >> data/.gitignore     (what `dvc add` writes)
  or run `repolicy fix`.

Policy keys
  dvc
""",
    "dvc-stale": """\
What it does
  Warns when the work-tree content of a DVC output no longer matches the
  md5 recorded in its .dvc file.

  The hash is DVC's: md5 of the bytes for DVC 3 outputs (`hash: md5`), md5
  after CRLF -> LF in text for DVC 2 outputs, the md5 of the `.dir`
  manifest for a directory. Hashes are cached by size, mtime and inode in
  .git/repolicy/, so an unchanged dataset is not read twice. An output
  missing from the work tree (not pulled yet) is not reported.

Why it matters
  The committed .dvc file describes data you no longer have; a `dvc push`
  or a colleague's `dvc pull` will not give the data you trained on.

Example
  data/sample.txt edited after `dvc add data/sample.txt`

How to fix
  dvc add data/sample.txt && git add data/sample.txt.dvc   (keep the edit)
  dvc checkout --force data/sample.txt                     (restore the data)
  For a pipeline output (dvc.lock): dvc commit -f OUTPUT (not the lock
  file: DVC takes an output or a stage), or dvc repro.

Policy keys
  dvc
""",
}


class Owner(NamedTuple):
    """Why a path is DVC-managed: the output that covers it, or the `dvc:` rule."""

    root: str  # the output path, or the path itself for a `dvc:` rule
    out: DvcOut | None
    rule: Rule | None

    @property
    def text(self) -> str:
        if self.rule is not None:
            return str(self.rule)
        assert self.out is not None
        return f"outs of {self.out.source}"


class Managed:
    """The DVC-managed paths: outputs of DVC files, and the policy's `dvc:` patterns."""

    def __init__(self, ctx: Context, outs: Iterable[DvcOut]) -> None:
        self.ctx = ctx
        self.outs: dict[str, DvcOut] = {}
        for out in outs:
            if out.cache:
                self.outs.setdefault(out.path, out)

    def __bool__(self) -> bool:
        return bool(self.outs or self.ctx.policy.dvc)

    def owner(self, path: str) -> Owner | None:
        if self.outs:
            end = len(path)
            while end > 0:
                out = self.outs.get(path[:end])
                if out is not None:
                    return Owner(out.path, out, None)
                end = path.rfind("/", 0, end)
        if self.ctx.policy.dvc:
            rules = self.ctx.rules_for("dvc", path)
            if rules:
                return Owner(path, None, rules[0])
        return None


def _is_dvc_own(path: str) -> bool:
    """DVC's own small files belong in git, whatever directory they sit in."""
    name = posixpath.basename(path)
    return name.endswith(".dvc") or name in (".gitignore", ".dvcignore", LOCK_FILE, "dvc.yaml")


def _is_stage_output(out: DvcOut | None) -> bool:
    """An output a pipeline stage writes (recorded in dvc.lock): `dvc add` refuses
    it (it overlaps the stage's output); `dvc commit` records it."""
    return out is not None and posixpath.basename(out.source) == LOCK_FILE


def _in_git_fix(ctx: Context, owner: Owner, blob: BlobAtPath) -> str:
    quoted = quote_paths([owner.root])
    spec = quote_pathspecs([owner.root])
    if blob.commit is not None:
        from repolicy.advice import remove_history_fix

        scope = ctx.advice.history if ctx.advice is not None else None
        return remove_history_fix(scope, owner.root, blob.oid, blob.path, blob.commit)
    if owner.out is None:
        return f"git rm -r -q --cached -- {spec}\ndvc add -- {quoted}"
    record = "dvc commit -f" if _is_stage_output(owner.out) else "dvc add"
    return (
        f"git rm -r -q --cached -- {spec}\n"
        f"the files stay on disk; if they changed, record them in DVC:\n{record} -- {quoted}"
    )


def check_in_git(
    ctx: Context, managed: Managed, blobs: Iterable[BlobAtPath]
) -> Iterator[Violation]:
    """dvc-in-git: a blob stored at a DVC-managed path."""
    if not managed:
        return
    for blob in blobs:
        if _is_dvc_own(blob.path):
            continue
        owner = managed.owner(blob.path)
        if owner is None:
            continue
        fix = _in_git_fix(ctx, owner, blob)
        where = owner.out.source if owner.out is not None else "the policy"
        yield Violation(
            check="dvc-in-git",
            severity=ctx.severity("dvc-in-git", owner.rule),
            path=blob.path,
            rule=owner.text,
            message=(
                f"is managed by DVC ({where}) but stored in git as ordinary content "
                f"({human_size(blob.size)})"
            ),
            fix=fix,
            commit=blob.commit,
            size=blob.size,
            why=owner.rule.why if owner.rule else None,
        )


def ignore_line(path: str) -> tuple[str, str]:
    """The line `dvc add` writes for `path`, and the .gitignore it goes to."""
    parent, _, name = path.rpartition("/")
    return "/" + name, (f"{parent}/.gitignore" if parent else ".gitignore")


def check_not_ignored(
    ctx: Context,
    outs: Iterable[DvcOut],
    ignored: set[str],
    untracked: Iterable[str] = (),
) -> Iterator[Violation]:
    """dvc-not-ignored: outputs git's ignore rules do not ignore, and untracked,
    unignored files matching a `dvc:` pattern."""
    seen: set[str] = set()
    for out in outs:
        if not out.cache or out.path in ignored or out.path in seen:
            continue
        seen.add(out.path)
        line, gitignore = ignore_line(out.path)
        yield Violation(
            check="dvc-not-ignored",
            severity=ctx.severity("dvc-not-ignored"),
            path=out.path,
            rule=f"outs of {out.source}",
            message=(
                f"is managed by DVC ({out.source}) but git does not ignore it: "
                "`git add -A` would take the data"
            ),
            fix=f"echo {quote_paths([line])} >> {quote_paths([gitignore])}",
            size=out.size,
        )
    if not ctx.policy.dvc:
        return
    for path in untracked:
        if _is_dvc_own(path):
            continue
        rules = ctx.rules_for("dvc", path)
        if not rules:
            continue
        rule = rules[0]
        yield Violation(
            check="dvc-not-ignored",
            severity=ctx.severity("dvc-not-ignored", rule),
            path=path,
            rule=str(rule),
            message="must be managed by DVC, but git does not ignore it: "
            "`git add -A` would take it",
            fix=f"hand it to DVC, which also ignores it in git: dvc add -- {quote_paths([path])}",
            why=rule.why,
        )


def check_stale(
    ctx: Context, outs: Iterable[DvcOut], current: dict[str, str | None]
) -> Iterator[Violation]:
    """dvc-stale: work-tree content whose hash differs from the recorded md5."""
    for out in outs:
        now = current.get(out.path)
        if now is None or out.md5 is None or now == out.md5:
            continue
        quoted = quote_paths([out.path])
        source = quote_pathspecs([out.source])
        if _is_stage_output(out):
            # `dvc commit` takes an output or a stage, not the lock file itself.
            fix = (
                f"keep the change: dvc commit -f -- {quoted} && git add -- {source}\n"
                "or rebuild it from the pipeline: dvc repro"
            )
        else:
            fix = (
                f"keep the change: dvc add -- {quoted} && git add -- {source}\n"
                # Without --force, DVC refuses to overwrite the changed files.
                f"or restore the recorded data, discarding the change: "
                f"dvc checkout --force -- {quoted}"
            )
        kind = "directory" if out.is_dir else "file"
        yield Violation(
            check="dvc-stale",
            severity=ctx.severity("dvc-stale"),
            path=out.path,
            rule=f"outs of {out.source}",
            message=(
                f"the {kind} no longer matches the md5 in {out.source} "
                f"(recorded {out.md5[:12]}, now {now[:12]})"
            ),
            fix=fix,
            size=out.size,
        )
