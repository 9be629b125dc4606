"""`budgets`: how large one file, one push and the whole repository may grow."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from repolicy.checks import Context
from repolicy.checks.lfs import history_lfs_fix, track_pattern
from repolicy.facts import BlobAtPath
from repolicy.report import Report, Violation, exact_size, quote_paths, quote_pathspecs

DOCS = {
    "file-too-large": """\
What it does
  Flags a blob stored in git itself (not an LFS pointer) larger than
  `budgets.file`, measured as git stores it uncompressed (`cat-file -s`),
  or a binary one larger than `budgets.file_binary` (binary as git decides
  it: a NUL byte in the first 8,000 bytes). For a modified file it is the
  new, staged size.

Why it matters
  GitHub rejects any push that contains a file over 100 MiB, even when a
  later commit deletes it: the blob is still in history. At the end of a
  training run that means the work cannot leave the machine.

Example
  budgets: {file: 100 MiB}
  $ git add outputs/run1/checkpoints/best.pth    # 300 MB -> file-too-large

  budgets: {file: 10 MiB, file_binary: 1 MB}     # the huggingface preset
  $ git add weights.dat     # 2 MB, binary -> file-too-large (file_binary)
  $ git add corpus.txt      # 2 MB of text -> fine; over 10 MiB it is not
  The rule names the budget that applies and its exact bytes:
  `budgets.file_binary: 976.6 KiB (1,000,000 bytes)`.

How to fix
  Store it in Git LFS, or keep it out of git:
    git lfs install && git lfs track '*.pth' && git add .gitattributes
    git add --renormalize -- PATH
  If it is already committed, rewrite the commits no remote has (the
  printed fix names the branch and the remote ref that bound them):
    git lfs migrate import --include='*.pth' \\
      --include-ref=refs/heads/main --exclude-ref=refs/remotes/origin/main

Policy keys
  budgets.file and budgets.file_binary; per path, `budgets.patterns` items
  (`{pattern: "*.ipynb", file: 2 MB}`, `{pattern: "docs/**", file_binary:
  500 KB}`): of the items whose pattern selects the path, the last one that
  sets a key wins over the top-level figure (`file: null` lifts it). A blob
  over `file` is reported against `file` whatever it holds; only blobs
  sized between the two figures are read (their first 8,000 bytes), and
  only when the policy sets `file_binary`. An LFS pointer is never judged
  binary.
""",
    "file-large": """\
What it does
  Warns about a blob stored in git larger than `budgets.file_warn`.

Why it matters
  GitHub warns above 50 MiB; every clone pays for the file forever, and
  an 80-100 MB `best.pth` is one good epoch away from the hard limit.

Example
  budgets: {file_warn: 50 MiB}    a 60 MB model saved with optimizer state

How to fix
  Move it to Git LFS, save only the weights, or raise the budget on
  purpose.

Policy keys
  budgets.file_warn; per path, the last `budgets.patterns` item that
  selects the path and sets `file_warn`.
""",
    "repo-budget": """\
What it does
  Flags a repository whose reachable objects (every branch and tag, as
  stored on disk) exceed `budgets.repo`; for a push, it says what the push
  adds. An object stored in two packs counts its larger copy.

Why it matters
  GitHub recommends repositories under 1 GB and strongly recommends under
  5 GB; past that, clones crawl and hosts may ask you to shrink it.

Example
  budgets: {repo: 1 GiB}    five runs of 200 MB raw checkpoints

How to fix
  Move large files to LFS (`git lfs migrate import --everything`), drop
  intermediate checkpoints from history, or raise the budget. A file only a
  tag or a remote-tracking ref names, outside any commit, goes with the ref
  (`git update-ref -d REF`): the advice names it when it is the largest.

Policy keys
  budgets.repo
""",
    "push-budget": """\
What it does
  Flags a push that sends more than `budgets.push`: the on-disk size, as
  stored in this repository, of the objects it brings that the remote does
  not have.

  Precisely: for `check --push`, the objects reachable from the pushed tips
  and not from the remote's refs (the remote sha of each pushed ref and the
  remote's tracking branches); for pre-receive, those reachable from the
  new tips and not from any ref the server already has (what `git rev-list
  --disk-usage --objects NEW --not --all` gives in the receiving repository
  while the push is quarantined); for `check --range A..B`, those B reaches
  and A does not. An object two pushed branches share counts once; objects
  the remote already has count nothing. The pack git sends is compressed
  anew, so the figure estimates the transfer; which objects count is exact.

Why it matters
  GitHub rejects a single push over 2 GB ("pack exceeds maximum allowed
  size", or the remote hanging up), typically the first push of a
  repository with years of checkpoints, or a history rewrite.

Example
  budgets: {push: 2 GB}
  $ git push -u origin main    # a new remote, 3.1 GB of history -> push-budget

How to fix
  Push in parts, each under the budget: an older commit first
  (git push origin COMMIT:refs/heads/main), then the next, then the tip.
  Or move the large files to Git LFS before pushing (LFS objects are
  uploaded beside the push, not in it).

Policy keys
  budgets.push
""",
    "lfs-budget": """\
What it does
  Flags when the LFS objects referenced anywhere in history add up to more
  than `budgets.lfs`.

Why it matters
  LFS storage and bandwidth are billed or capped per account; every
  version of every checkpoint counts.

Example
  budgets: {lfs: 1 GiB}    twenty versions of a 60 MB model

How to fix
  Keep only released model versions in LFS, prune old ones from history,
  or raise the budget (and the plan) on purpose.

Policy keys
  budgets.lfs
""",
}


def _history_fix(ctx: Context, blob: BlobAtPath) -> str:
    """Store it in LFS, or take it out: both rewrite the commits that carry it."""
    from repolicy.advice import remove_history_fix

    scope = ctx.advice.history if ctx.advice is not None else None
    assert blob.commit is not None
    removal = remove_history_fix(scope, blob.path, blob.oid, blob.path, blob.commit)
    if blob.is_symlink:  # Git LFS stores no links
        return removal
    return (
        history_lfs_fix(ctx, track_pattern(None, blob.path), blob)
        + "\nor, to drop it instead, "
        + removal
    )


def repo_budget_fix(
    ctx: Context,
    blobs: Iterable[BlobAtPath],
    everything: bool,
    named: Mapping[str, str] | None = None,
    weight: int | None = None,
) -> str:
    """Move the largest files of history to LFS: for a push, in the commits it
    sends (`everything` False); for the whole repository, every branch and tag.

    `named`: the paths of files a ref names outside any commit (a tag of a
    blob or of a tree, a remote-tracking ref naming one), with that ref. When
    the largest file is one of them, no migration reaches it: deleting the ref
    does, and comes first. `weight`: the figure over the budget; when no file
    is a hundredth of it and all files together not half, the weight is in
    commits, trees and tag messages, and rewriting files would not lift it."""
    blobs = list(blobs)
    raw = sorted(
        (b for b in blobs if b.commit and not b.is_lfs_pointer and not b.is_symlink),
        key=lambda b: -b.size,
    )[:5]
    by_ref = max(
        (b for b in blobs if named and b.commit is None and b.path in named and not b.unreadable),
        key=lambda b: b.size,
        default=None,
    )
    heaviest = max((b.size for b in (*raw[:1], by_ref) if b is not None), default=0)
    if weight is not None and heaviest * 100 < weight:
        # No one file weighs; if all of them, uncompressed, come to less than
        # half the figure, the rest is commits, trees and tags. Otherwise many
        # small files take it, and moving them to LFS does lift it (below).
        stored = sum({b.oid: b.size for b in blobs if not b.unreadable}.values())
        if stored * 2 < weight:
            return (
                f"the files take at most {exact_size(stored)} of it, uncompressed (the "
                f"largest is {exact_size(heaviest)}): commits, trees and tags take the "
                "rest, which moving files to LFS would not lift\nraise the budget on purpose"
            )
    if named and by_ref is not None and (not raw or by_ref.size > raw[0].size):
        ref = named[by_ref.path]
        what = "the blob" if by_ref.path == ref else f"{quote_paths([by_ref.path])}, which"
        lead = (
            f"the largest file is {what} {ref} names outside any commit, "
            f"{exact_size(by_ref.size)}; delete or move the ref:\n"
            f"git update-ref -d {quote_paths([ref])}"
        )
        # The files of history, only if one weighs next to it.
        if not any(b.size * 10 >= by_ref.size for b in raw):
            return f"{lead}\nor raise the budget on purpose"
        return f"{lead}\nor {repo_budget_fix(ctx, blobs, everything)}"
    if not raw:
        return "drop what history does not need, or raise the budget on purpose"
    # The files that weigh: a source file next to a checkpoint is not worth a pattern.
    raw = [b for b in raw if b.size * 10 >= raw[0].size]
    patterns = ",".join(dict.fromkeys(track_pattern(None, b.path).lstrip("/") for b in raw))
    largest = raw[0]
    if everything:
        from repolicy.advice import lfs_history_fix

        assert largest.commit is not None
        move = lfs_history_fix(None, patterns, largest.oid, largest.path, largest.commit)
    else:
        move = history_lfs_fix(ctx, patterns, largest)
    where = "in history" if everything else "this push sends"
    return (
        f"the largest file {where} is {quote_paths([largest.path])}, "
        f"{exact_size(largest.size)}; {move}\nor raise the budget on purpose"
    )


def push_budget_fix(ctx: Context, blobs: Iterable[BlobAtPath]) -> str:
    """Send it in parts, or send less: move the largest files of the push to LFS."""
    return (
        "push it in parts, each under the budget: an older commit first "
        "(git push REMOTE COMMIT:refs/heads/BRANCH), then the rest\nor "
        + repo_budget_fix(ctx, blobs, everything=False)
    )


_WHAT = {
    "file": "limit for a file",
    "file_warn": "warning threshold for a file",
    # Git's own rule, as `git diff --numstat` applies it.
    "file_binary": "limit for a binary file (a NUL byte in its first 8,000 bytes)",
}


def check_file_sizes(ctx: Context, blobs: Iterable[BlobAtPath]) -> Iterator[Violation]:
    """file-too-large and file-large on blobs stored in git (LFS pointers are exempt)."""
    policy = ctx.policy
    top_limit, top_warn = policy.limit("file"), policy.limit("file_warn")
    top_binary = policy.limit("file_binary")
    per_pattern = "patterns" in policy.budgets
    if top_limit is None and top_warn is None and top_binary is None and not per_pattern:
        return
    # Without budgets by pattern, a blob no larger than every limit is never
    # flagged: one comparison sets aside nearly every blob of a history.
    floor = -1
    if not per_pattern:
        floor = min(x for x in (top_limit, top_warn, top_binary) if x is not None)
    for blob in blobs:
        # A symbolic link's blob is the name of its target, stored in git like
        # any blob: only crafted by hand can it be large, and then it counts.
        if blob.size <= floor or blob.is_lfs_pointer:
            continue
        limit, warn, binary = top_limit, top_warn, top_binary
        limit_item = warn_item = binary_item = None
        if per_pattern:
            limit, limit_item = policy.file_limit("file", blob.path)
            warn, warn_item = policy.file_limit("file_warn", blob.path)
            binary, binary_item = policy.file_limit("file_binary", blob.path)
        if limit is not None and blob.size > limit:
            check, budget, key, item = "file-too-large", limit, "file", limit_item
        elif (
            binary is not None
            and blob.size > binary
            # Fail closed: a blob whose first bytes were not read for this
            # budget is taken for binary, never waved through as text.
            and blob.binary is not False
        ):
            check, budget, key, item = "file-too-large", binary, "file_binary", binary_item
        elif warn is not None and blob.size > warn:
            check, budget, key, item = "file-large", warn, "file_warn", warn_item
        else:
            continue
        where = f"budgets.patterns[{item.pattern.text}].{key}" if item else f"budgets.{key}"
        spec = quote_pathspecs([blob.path])
        track = quote_paths([track_pattern(None, blob.path)])
        yield Violation(
            check=check,
            severity=ctx.severity(check),
            path=blob.path,
            rule=f"{where}: {exact_size(budget)}",
            message=(
                f"is {exact_size(blob.size)}, over the {exact_size(budget)} "
                f"{_WHAT[key]} stored in git"
            ),
            fix=(
                _history_fix(ctx, blob)
                if blob.commit is not None
                else f"keep it out of git: git rm --cached -- {spec}"
                if blob.is_symlink  # Git LFS stores no links
                else f"store it in Git LFS: git lfs install && git lfs track {track} "
                f"&& git add .gitattributes && git add --renormalize -- {spec}\n"
                f"or keep it out of git: git rm --cached -- {spec}"
            ),
            commit=blob.commit,
            size=blob.size,
        )


def push_repo_budget(
    ctx: Context, total: int, added: int, limit: int, blobs: Sequence[BlobAtPath] = ()
) -> Violation:
    """repo-budget of a push: what the remote would hold after it (`total`) is
    over `budgets.repo`; `added`: what the push adds."""
    return Violation(
        check="repo-budget",
        severity=ctx.severity("repo-budget"),
        path=None,
        rule=f"budgets.repo: {exact_size(limit)}",
        message=(
            f"after this push the remote would hold {exact_size(total)}, over the "
            f"{exact_size(limit)} budget; the push adds {exact_size(added)}"
        ),
        fix=repo_budget_fix(ctx, blobs, everything=False, weight=added),
        size=added,
    )


def push_budget(ctx: Context, sent: int, limit: int, blobs: Sequence[BlobAtPath] = ()) -> Violation:
    """push-budget: what one push sends is over `budgets.push`."""
    return Violation(
        check="push-budget",
        severity=ctx.severity("push-budget"),
        path=None,
        rule=f"budgets.push: {exact_size(limit)}",
        message=(
            f"this push sends {exact_size(sent)} of objects the remote lacks (as stored "
            f"here), over the {exact_size(limit)} one push may send"
        ),
        fix=push_budget_fix(ctx, blobs),
        size=sent,
    )


def history_budgets(
    ctx: Context,
    report: Report,
    blobs: Sequence[BlobAtPath] = (),
    named: Mapping[str, str] | None = None,
) -> list[Violation]:
    """`repo-budget` and `lfs-budget` of a whole repository, from the figures in
    `report.budgets`; `blobs` and `named` (see `repo_budget_fix`) for the advice."""
    out = []
    budgets = report.budgets or {}
    for key, check, what in (
        ("repo", "repo-budget", "objects reachable from branches and tags take"),
        ("lfs", "lfs-budget", "LFS objects referenced in history add up to"),
    ):
        used, limit = budgets[key]["used"] or 0, budgets[key]["limit"]
        if limit is None or used <= limit:
            continue
        out.append(
            Violation(
                check=check,
                severity=ctx.severity(check),
                path=None,
                rule=f"budgets.{key}: {exact_size(limit)}",
                message=f"{what} {exact_size(used)}, over the {exact_size(limit)} budget",
                fix=(
                    repo_budget_fix(ctx, blobs, everything=True, named=named, weight=used)
                    if key == "repo"
                    else "keep only released versions in LFS and prune the rest: "
                    "git lfs migrate export, or raise the budget on purpose"
                ),
                size=used,
            )
        )
    return out
