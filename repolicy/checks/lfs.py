"""`lfs`: what must be stored as Git LFS pointers, and pointers that are broken."""

from __future__ import annotations

import itertools
import operator
import posixpath
from collections.abc import Iterable, Iterator, Sequence

from repolicy.checks import Context
from repolicy.facts import BlobAtPath
from repolicy.lfs import Malformed
from repolicy.policy import Rule
from repolicy.report import Violation, exact_size, human_size, quote_paths, quote_pathspecs

_POINTER = operator.attrgetter("pointer")
_LFS_FILTER = operator.attrgetter("lfs_filter")

ATTRIBUTE_RULE = "gitattributes: filter=lfs"

DOCS = {
    "lfs-missing": """\
What it does
  Flags a blob stored in git itself at a path that must be a Git LFS pointer:
  a path matching an `lfs` pattern, or one that `.gitattributes` gives
  `filter=lfs`. It judges the blob that is staged or committed, not the file
  on disk. Symlinks and submodules are exempt.

Why it matters
  On a fresh machine without `git lfs install`, `git add` stores the raw
  checkpoint even though `.gitattributes` says LFS. The push is then
  rejected (over 100 MiB) or the repository swells by the full file size,
  and history keeps it even after the file is fixed.

Example
  lfs: ["*.pth"]
  $ git add outputs/run1/checkpoints/best.pth   # 95 MB raw blob -> lfs-missing

How to fix
  git lfs install
  git lfs track '*.pth' && git add .gitattributes
  git add --renormalize -- 'outputs/run1/checkpoints/best.pth'
  For commits no remote has yet, rewrite only those (the printed fix names
  your branch and its remote):
    git lfs migrate import --include='*.pth' \\
      --include-ref=refs/heads/main --exclude-ref=refs/remotes/origin/main
  Commits a remote already has need a force-push, and everyone re-clones.

Policy keys
  lfs; an item may carry a size, `{pattern: "*.bin", above: 10 MB}`: then
  only blobs larger than that must be pointers, and smaller ones are fine
  in git. .gitattributes cannot express a size, so such a file is tracked
  by name: git lfs track --filename -- PATH (`repolicy fix` prints this for
  each tracked file over the size). Of several matching items, the first
  decides; `repolicy explain PATH` shows which.
""",
    "lfs-pointer-invalid": """\
What it does
  Flags a blob under 1024 bytes that starts like a Git LFS pointer but is
  malformed or not canonical, as `git lfs fsck --pointers` judges it (CRLF
  endings, keys out of order, a short oid, a missing size...). An empty blob
  is a valid pointer; a symlink is never one.

Why it matters
  git-lfs cannot smudge a broken pointer: checkouts show the pointer text
  instead of the model, and forges may reject the push.

Example
  A pointer file opened and saved by an editor that converted it to CRLF.

How to fix
  Restore the real file and re-add it with git-lfs installed:
    git lfs install && git add --renormalize -- PATH

Policy keys
  lfs
""",
    "lfs-attr-missing": """\
What it does
  Flags a path matching an `lfs` pattern that `.gitattributes` does not give
  `filter=lfs` (judged on the staged `.gitattributes` for `check`).

Why it matters
  Without the attribute, git-lfs never sees the file: the next `git add`
  stores it raw, and clones never download the LFS object.

Example
  lfs: ["*.safetensors"]    but .gitattributes has no *.safetensors line

How to fix
  git lfs track '*.safetensors' && git add .gitattributes
  (or run `repolicy fix`)

Policy keys
  lfs; for an item with `above: SIZE`, only the files over the size need
  the attribute, each by name (git lfs track --filename -- PATH).
""",
    "lfs-file-too-large": """\
What it does
  Flags an LFS object (the size recorded in its pointer) larger than
  `budgets.lfs_file`.

Why it matters
  LFS hosts cap object size: GitHub rejects objects over 2 GiB on Free and
  Pro plans (4 GiB Team, 5 GiB Enterprise Cloud).

Example
  budgets: {lfs_file: 2 GiB}    a 3.1 GiB optimizer-state checkpoint

How to fix
  Save the weights without optimizer state, shard the checkpoint, or keep
  it in external storage and commit a reference to it.

Policy keys
  budgets.lfs_file
""",
    "lfs-object-missing": """\
What it does
  Flags a pushed LFS pointer (other than the empty one) whose object is not
  in the local LFS store (.git/lfs/objects).

Why it matters
  git-lfs refuses the push, or the forge rejects it: the commit would point
  at content nobody can download.

Example
  A pointer committed on one machine, pushed from a clone that never
  fetched the object.

How to fix
  git lfs fetch --all (from the default remote; name another after --all
  if it has the object), or restore the real file and re-add it.

Policy keys
  lfs
""",
}


def rule_text(rule: Rule) -> str:
    """How a violation names an `lfs` item: with its size condition, if any."""
    if rule.sized:
        assert rule.above is not None
        return f"{rule} above {exact_size(rule.above)}"
    return str(rule)


def covers(rule: Rule, size: int) -> bool:
    """Whether an `lfs` item asks a blob of `size` bytes (its real size) to be a pointer."""
    return rule.above is None or size > rule.above


def _lfs_rule(ctx: Context, blob: BlobAtPath, rule: Rule | None) -> tuple[str, Rule | None] | None:
    if rule is not None and covers(rule, blob.size):
        return rule_text(rule), rule
    if blob.lfs_filter:
        return ATTRIBUTE_RULE, None
    return None


def track_pattern(rule: Rule | None, path: str) -> str:
    """The pattern to give `git lfs track` for a path the policy keeps in LFS."""
    if rule is not None and rule.sized:
        return "/" + path  # a size cannot be a pattern: this file alone
    if rule is not None and not rule.pattern.dir_only:
        return rule.text
    ext = posixpath.splitext(posixpath.basename(path))[1]
    return f"*{ext}" if ext else "/" + path


def history_lfs_fix(ctx: Context, pattern: str, blob: BlobAtPath) -> str:
    """Moving committed blobs into LFS rewrites history: print the command, never
    run it, and rewrite no more than the commits that carry the blob."""
    from repolicy.advice import lfs_history_fix

    assert blob.commit is not None
    scope = ctx.advice.history if ctx.advice is not None else None
    return lfs_history_fix(scope, pattern, blob.oid, blob.path, blob.commit)


def check_lfs(
    ctx: Context, blobs: Iterable[BlobAtPath], rules: Sequence[Rule | None] | None = None
) -> Iterator[Violation]:
    """lfs-pointer-invalid, lfs-missing and lfs-file-too-large for each blob;
    `rules`: `Context.lfs_rule_each` of the blobs, when the caller has it."""
    lfs_file = ctx.policy.limit("lfs_file")
    blobs = blobs if isinstance(blobs, list) else list(blobs)
    rules = ctx.lfs_rule_each(blobs) if rules is None else rules
    # Most blobs of a history have no pointer, no rule and no filter=lfs: they
    # are set aside without a Python-level loop (a rule and a pointer are
    # never empty tuples, so never false).
    some = map(any, zip(map(_POINTER, blobs), rules, map(_LFS_FILTER, blobs), strict=True))
    for blob, rule in itertools.compress(zip(blobs, rules, strict=True), some):
        pointer = blob.pointer
        if pointer is None:
            if (rule is None and not blob.lfs_filter) or blob.is_symlink:
                continue
        elif blob.is_symlink:
            continue
        elif isinstance(pointer, Malformed):
            yield Violation(
                check="lfs-pointer-invalid",
                severity=ctx.severity("lfs-pointer-invalid"),
                path=blob.path,
                message=f"looks like a Git LFS pointer, but {pointer.reason}",
                fix=(
                    "restore the real file and re-add it with git-lfs installed:\n"
                    f"git lfs install && git add --renormalize -- {quote_pathspecs([blob.path])}"
                ),
                commit=blob.commit,
                size=blob.size,
            )
            continue
        else:  # a pointer, and not a symbolic link's target: stored in LFS
            size = pointer.size
            if lfs_file is not None and size > lfs_file:
                yield Violation(
                    check="lfs-file-too-large",
                    severity=ctx.severity("lfs-file-too-large"),
                    path=blob.path,
                    rule=f"budgets.lfs_file: {exact_size(lfs_file)}",
                    message=(
                        f"LFS object is {exact_size(size)}, over the "
                        f"{exact_size(lfs_file)} limit for one LFS object"
                    ),
                    fix="save the weights without optimizer state, shard the file, "
                    "or keep it in external storage",
                    commit=blob.commit,
                    size=size,
                )
            continue
        decided = _lfs_rule(ctx, blob, rule)
        if decided is None:
            continue
        rule_text, rule = decided
        quoted = quote_paths([blob.path])
        spec = quote_pathspecs([blob.path])
        if blob.commit is not None:
            fix = history_lfs_fix(ctx, track_pattern(rule, blob.path), blob)
        elif blob.lfs_filter:
            fix = (
                "git-lfs did not clean this file (is it installed?):\n"
                f"git lfs install && git add --renormalize -- {spec}"
            )
        elif rule is not None and rule.sized:
            fix = (
                # .gitattributes cannot say "over 10 MB": this file is tracked by name.
                f"git lfs install && git lfs track --filename -- {quoted} "
                f"&& git add .gitattributes\ngit add --renormalize -- {spec}"
            )
        else:
            fix = (
                f"git lfs install && git lfs track {quote_paths([track_pattern(rule, blob.path)])} "
                f"&& git add .gitattributes\n"
                # A plain `git add` trusts the unchanged file's stat data and
                # keeps the raw blob; --renormalize runs it through git-lfs.
                f"git add --renormalize -- {spec}"
            )
        yield Violation(
            check="lfs-missing",
            severity=ctx.severity("lfs-missing", rule),
            path=blob.path,
            rule=rule_text,
            message=(
                f"is stored in git ({exact_size(blob.size)}), not as a Git LFS pointer, "
                f"and is over the {exact_size(rule.above)} from which the policy keeps it in LFS"
                if rule is not None and rule.sized and rule.above is not None
                else f"is stored in git ({human_size(blob.size)}), not as a Git LFS pointer"
            ),
            fix=fix,
            commit=blob.commit,
            size=blob.size,
            why=rule.why if rule else None,
        )


def check_lfs_attributes(
    ctx: Context, blobs: Iterable[BlobAtPath], rules: Sequence[Rule | None] | None = None
) -> Iterator[Violation]:
    """lfs-attr-missing: a path the policy keeps in LFS that .gitattributes does
    not (`rules` as `check_lfs` takes them)."""
    if not ctx.policy.lfs:
        return
    blobs = blobs if isinstance(blobs, list) else list(blobs)
    rules = ctx.lfs_rule_each(blobs) if rules is None else rules
    for blob, rule in itertools.compress(zip(blobs, rules, strict=True), rules):
        if rule is None or blob.lfs_filter or blob.is_symlink:
            continue
        if rule.sized:
            # Only the files over the size need the attribute, each by name.
            if not covers(rule, blob.lfs_size if blob.is_lfs_pointer else blob.size):
                continue
            track = f"git lfs track --filename -- {quote_paths([blob.path])}"
        else:
            track = f"git lfs track {quote_paths([track_pattern(rule, blob.path)])}"
        yield Violation(
            check="lfs-attr-missing",
            severity=ctx.severity("lfs-attr-missing", rule),
            path=blob.path,
            rule=rule_text(rule),
            message=".gitattributes does not give this path filter=lfs",
            fix=f"{track} && git add .gitattributes",
            commit=blob.commit,
            size=blob.size,
            why=rule.why,
        )


def check_lfs_objects(
    ctx: Context, blobs: Iterable[BlobAtPath], missing: set[str]
) -> Iterator[Violation]:
    """lfs-object-missing: pushed pointers whose object the local LFS store lacks."""
    reported: set[tuple[str, str]] = set()
    for blob in blobs:
        oid = blob.lfs_oid
        if oid is None or oid not in missing or (oid, blob.path) in reported:
            continue
        reported.add((oid, blob.path))
        spec = quote_pathspecs([blob.path])
        yield Violation(
            check="lfs-object-missing",
            severity=ctx.severity("lfs-object-missing"),
            path=blob.path,
            message=(
                f"points to LFS object {oid[:12]}... ({human_size(blob.lfs_size)}), "
                "which is not in the local LFS store: the push would be refused"
            ),
            fix=(
                "fetch it from the remote that has it (the default remote here; name "
                "another after --all):\ngit lfs fetch --all\n"
                f"or restore the real file and re-add it: git add --renormalize -- {spec}"
            ),
            commit=blob.commit,
            size=blob.lfs_size,
        )
