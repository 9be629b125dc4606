"""`dvc`: data that DVC manages stays out of git, and matches its .dvc file.

A path is DVC-managed when it is an output of a `.dvc` file or of a
`dvc.lock` (unless declared `cache: false`, which asks for it to be in git),
or when it matches a pattern under the policy's `dvc:` key. The facts come
from `repolicy.dvc.files`; the functions at the end gather them for each
command with as few git processes as the command allows.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from repolicy.checks import Context
from repolicy.dvc.files import LOCK_FILE, DvcOut
from repolicy.policy import Rule
from repolicy.report import Violation, human_size, quote_paths

if TYPE_CHECKING:
    from repolicy.facts import BlobAtPath
    from repolicy.git import Git, IndexEntry, RepoInfo

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
    if blob.commit is not None:
        from repolicy.advice import remove_history_fix

        scope = ctx.advice.history if ctx.advice is not None else None
        return remove_history_fix(scope, owner.root, blob.oid, blob.path, blob.commit)
    if owner.out is None:
        return f"git rm -r -q --cached -- {quoted}\ndvc add -- {quoted}"
    record = "dvc commit -f" if _is_stage_output(owner.out) else "dvc add"
    return (
        f"git rm -r -q --cached -- {quoted}\n"
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
        source = quote_paths([out.source])
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


# -- gathering, per command -----------------------------------------------------


# A cheap first test: history holds many paths, and few end like a DVC file.
_DVC_ENDINGS = (".dvc", "dvc.lock", "dvc.yaml")


def _dvc_entries(entries: Iterable[IndexEntry]) -> list[IndexEntry]:
    from repolicy.dvc.files import PROJECT_FILE, is_dvc_file

    return [
        e
        for e in entries
        if e.path.endswith(_DVC_ENDINGS)
        and e.stage in (0, 2)
        and (is_dvc_file(e.path) or posixpath.basename(e.path) == PROJECT_FILE)
    ]


def _index_outs(git: Git, entries: Sequence[IndexEntry]) -> list[DvcOut]:
    from repolicy.dvc.files import outs_from

    contents = git.blob_contents(e.oid for e in entries).get()
    return outs_from({e.path: contents[e.oid] for e in entries if e.oid in contents})


def _historical_outs(git: Git, blobs: Iterable[BlobAtPath]) -> list[DvcOut]:
    """Outputs named by DVC files in history; a malformed old version is skipped."""
    from repolicy.dvc.files import PROJECT_FILE, is_dvc_file, outs_from

    wanted = {
        (b.path, b.oid)
        for b in blobs
        if b.path.endswith(_DVC_ENDINGS)
        and b.commit is not None
        and (is_dvc_file(b.path) or posixpath.basename(b.path) == PROJECT_FILE)
    }
    if not wanted:
        return []
    contents = git.blob_contents(oid for _path, oid in wanted).get()
    outs: list[DvcOut] = []
    for path, oid in sorted(wanted):
        if oid in contents:
            outs.extend(outs_from({path: contents[oid]}, strict=False))
    return outs


def _within(out: DvcOut, prefixes: Sequence[str]) -> bool:
    for prefix in prefixes:
        if prefix == "":
            return True
        for path in (out.path, out.source):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return True
        if prefix.startswith(out.path + "/"):
            return True
    return False


def for_check(
    ctx: Context,
    git: Git,
    info: RepoInfo,
    blobs: Sequence[BlobAtPath],
    dvc_files: list[IndexEntry],
    paths: Sequence[str],
) -> list[Violation]:
    """`check`: staged blobs under DVC outputs, and outputs git does not ignore
    (those of the DVC files in the index, narrowed to `paths` when given)."""
    outs = _index_outs(git, _dvc_entries(dvc_files))
    managed = Managed(ctx, outs)
    if not managed:
        return []
    found = list(check_in_git(ctx, managed, blobs))
    if paths:
        from repolicy.facts import repository_paths

        wanted = repository_paths(info, list(paths))
        outs = [o for o in outs if _within(o, wanted)]
    outs = [o for o in outs if o.cache]
    ignored = git.ignored_by_rules(o.path for o in outs)
    found.extend(check_not_ignored(ctx, outs, ignored))
    return found


def for_push(ctx: Context, git: Git, blobs: Sequence[BlobAtPath]) -> list[Violation]:
    """`check --push`: pushed blobs under the outputs of the DVC files the index
    holds or the push carries, or under `dvc:`."""
    dvc_files = _dvc_entries(git.dvc_files().get())
    outs = [*_index_outs(git, dvc_files), *_historical_outs(git, blobs)]
    return list(check_in_git(ctx, Managed(ctx, outs), blobs))


def for_audit(
    ctx: Context,
    git: Git,
    git_dir: str,
    blobs: Sequence[BlobAtPath],
    index: Sequence[IndexEntry],
    untracked: Sequence[str] | None,
) -> list[Violation]:
    """`audit`: every blob in history or the index under a DVC output; outputs git
    does not ignore; outputs whose work-tree content changed. The current outputs
    are read from the DVC files on disk (as DVC reads them), else from the index."""
    from repolicy.dvc.files import is_dvc_file, outs_from, read_work_tree
    from repolicy.dvc.hashing import Hasher

    entries = _dvc_entries(index)
    on_disk = read_work_tree(git.cwd, (e.path for e in entries))
    untracked_list = list(untracked) if untracked is not None else None
    # Listing untracked files costs a walk of the work tree: only where a
    # `dvc add` not yet committed could have left a .dvc file, or `dvc:` asks.
    project = os.path.isdir(os.path.join(git.cwd, ".dvc"))
    if untracked_list is None and (ctx.policy.dvc or project):
        untracked_list = git.untracked(ignored=False).get()
    new_files = [p for p in untracked_list or () if is_dvc_file(p)]
    on_disk.update(read_work_tree(git.cwd, new_files))
    missing = [e for e in entries if e.path not in on_disk]
    if missing:
        contents = git.blob_contents(e.oid for e in missing).get()
        on_disk.update((e.path, contents[e.oid]) for e in missing if e.oid in contents)
    current = outs_from(on_disk)
    managed = Managed(ctx, [*current, *_historical_outs(git, blobs)])
    if not managed:
        return []
    found = list(check_in_git(ctx, managed, blobs))
    live = [o for o in current if o.cache]
    ignored = git.ignored_by_rules(o.path for o in live)
    found.extend(check_not_ignored(ctx, live, ignored, untracked_list or ()))
    if current:
        hasher = Hasher(git.cwd, os.path.join(git_dir, "repolicy"))
        found.extend(check_stale(ctx, current, hasher.hashes(o for o in current if o.md5)))
    return found
