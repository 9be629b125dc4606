"""Blobs that cannot be read: judged as unknown, never as 0 bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from repolicy.checks import Context
from repolicy.facts import PROMISED, BlobAtPath
from repolicy.report import WARNING, Violation, quote_paths

DOCS = {
    "blob-unreadable": """\
What it does
  Flags a blob that a commit or the index names but that cannot be read:
  its object is missing, damaged, or not an object file at all. Its size
  and contents are unknown, so no other check can judge it; it is never
  taken for an empty file. In a partial clone (`git clone --filter=...`)
  the blobs the clone left on the server are counted and reported as one
  warning, and nothing is fetched to read them.

Why it matters
  A size that cannot be read is not a size of 0 bytes: a 2 GB checkpoint
  whose object is damaged would otherwise pass every budget. A damaged
  object store also breaks clones and pushes later, far from the cause.

Example
  $ rm .git/objects/3f/9c...    # the object of a 200 kB blob
  $ repolicy audit              # blob-unreadable: data/big.bin (3f9c...)

How to fix
  Find the damage with `git fsck --full`. Restore the objects from a
  healthy clone (`git fetch` from it, or copy its pack into
  .git/objects/pack), or clone again. In a partial clone, fetch what
  the history needs (`git fetch --refetch`, or a clone without
  `--filter`) to have those blobs judged.

Policy keys
  (none)
""",
}

# How many paths one partial-clone warning names before it only counts.
_NAMED = 10


def check_unreadable(ctx: Context, blobs: Iterable[BlobAtPath]) -> Iterator[Violation]:
    """One error per unreadable blob at each path; one warning for all the blobs a
    partial clone's promisor remote holds."""
    promised: dict[str, list[str]] = {}
    for blob in blobs:
        if blob.unreadable == PROMISED:
            promised.setdefault(blob.oid, []).append(blob.path)
            continue
        yield Violation(
            check="blob-unreadable",
            severity=ctx.severity("blob-unreadable"),
            path=blob.path,
            message=(
                f"blob {blob.oid} cannot be read (missing or damaged object): "
                "its size and contents are unknown"
            ),
            fix="find the damage with `git fsck --full`; restore the object from a healthy "
            "clone (git fetch from it), or clone again",
            commit=blob.commit,
        )
    if promised:
        paths = list(dict.fromkeys(p for ps in promised.values() for p in ps))
        named = quote_paths(paths[:_NAMED])
        more = f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else ""
        count = len(promised)
        yield Violation(
            check="blob-unreadable",
            severity=WARNING,
            path=None,
            message=(
                f"partial clone: {count} blob{'s' if count != 1 else ''} "
                f"{'are' if count != 1 else 'is'} only on the promisor remote and "
                f"{'were' if count != 1 else 'was'} not judged (nothing was fetched); "
                f"paths: {named}{more}"
            ),
            fix="fetch the whole history to judge them: git fetch --refetch "
            "(or clone without --filter)",
        )
