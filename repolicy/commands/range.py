"""`repolicy check --range A..B` and `--base REF`: every commit of a range, judged as
a push of it would be (CI on a pull request).

`--base REF` is `merge-base(REF, HEAD)..HEAD`: what a pull request from HEAD
into REF brings. The judging is the pre-push hook's own (`push.judge`), over
the commits B reaches and A does not, and nothing else: remote-tracking refs
do not bound it (in CI they hold the branch being judged).

A range git cannot walk to its end is refused, never judged in part: a base
that is not in the clone, or a shallow boundary inside the range, exits 2
with the fetch that would make it whole. Nothing is fetched here.
"""

from __future__ import annotations

import os
import re

from repolicy.errors import RepolicyError
from repolicy.git import Git, objects_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options

FETCH_ALL = (
    "fetch the whole history (`git fetch --unshallow`; GitHub Actions: "
    '`actions/checkout` with `fetch-depth: 0`; GitLab CI: `GIT_DEPTH: "0"`)'
)


def split_range(text: str) -> tuple[str, str]:
    """`A..B` as its two revisions; an empty side is HEAD, as git reads it."""
    if "..." in text:
        raise RepolicyError(
            f"--range {text!r}: `A...B` is not supported; use `A..B`, or "
            "`--base A` for what a pull request into A brings"
        )
    base, sep, tip = text.partition("..")
    if not sep or ".." in tip:
        raise RepolicyError(f"--range {text!r}: expected A..B (two revisions)")
    return base or "HEAD", tip or "HEAD"


def fetch_hint(rev: str) -> str:
    """What to fetch for a missing revision: the branch it names, when it names one."""
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._/-]*", rev) and not rev.endswith((".", "/")):
        branch = rev.removeprefix("refs/remotes/").removeprefix("origin/")
        return (
            f"fetch it (`git fetch origin +refs/heads/{branch}:refs/remotes/origin/{branch}`) "
            f"or {FETCH_ALL}"
        )
    return FETCH_ALL


def resolve(git: Git, rev: str, role: str, shallow: bool) -> str:
    """The commit `rev` names, or a one-line refusal saying what to fetch."""
    if not rev or rev.startswith("-"):
        # No ref name starts with `-`; such a revision is a mistyped option.
        raise RepolicyError(f"{role} {rev!r} is not a revision")
    sha = git.commit_named(rev)
    if sha is not None:
        return sha
    named = f"{role} {rev!r}" if role != rev else rev
    if shallow:
        raise RepolicyError(f"{named} is not in this shallow clone: {fetch_hint(rev)}")
    raise RepolicyError(f"{named} names no commit in this repository")


def bounds(git: Git, args: Options, shallow: bool) -> tuple[str, str]:
    """The range's two commits: what is excluded, and its tip."""
    if args.base is not None:
        tip = resolve(git, "HEAD", "HEAD", shallow)
        target = resolve(git, args.base, "--base", shallow)
        base = git.merge_base(target, tip)
        if base is None:
            if shallow:
                raise RepolicyError(
                    f"--base {args.base}: no common ancestor of {args.base} and HEAD is in "
                    f"this shallow clone; deepen it (`git fetch --deepen=N`, N at least the "
                    f"branch's commits since it forked) or {FETCH_ALL}"
                )
            raise RepolicyError(f"--base {args.base}: {args.base} and HEAD share no history")
        return base, tip
    assert args.range is not None
    first, last = split_range(args.range)
    return resolve(git, first, "--range start", shallow), resolve(git, last, "--range end", shallow)


def run(args: Options) -> int:
    from repolicy.baseline import load
    from repolicy.checks.frozen import ALLOW_ENV
    from repolicy.commands.push import Escapes, judge, push_advisor
    from repolicy.policy import load_policy
    from repolicy.report import Report, finish

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    grafts = git.shallow_commits()
    base, tip = bounds(git, args, bool(grafts))
    revs = [tip, "--not", base]
    if grafts:
        cut = grafts.intersection(git.commits(revs).get())
        if cut:
            raise RepolicyError(
                f"the range {base[:12]}..{tip[:12]} reaches the edge of this shallow clone "
                f"(commit {min(cut)[:12]} has no fetched parents), so part of it is missing; "
                f"deepen it (`git fetch --deepen=N`, N at least the range's commits) or {FETCH_ALL}"
            )
    policy = load_policy(info.toplevel, args.policy, os.path.join(info.git_dir, "repolicy"))
    report = Report("range", policy, budgets={})
    accepted = load(info.toplevel, policy, report)
    # The LFS store is not consulted: a CI checkout rarely downloads LFS objects,
    # and the objects of pushed commits are the forge's to hold by then.
    judge(
        git,
        policy,
        revs,
        report,
        lfs_objects=False,
        # A shallow clone's store bounds nothing of the full history: walk what is here.
        bound=None if not grafts else 1 << 62,
        baseline=accepted,
        # As on a pusher's machine: the escapes of the environment and of trailers.
        escapes=Escapes(os.environ.get(ALLOW_ENV), trailers=True),
        advisor=push_advisor(git, [], None),
        objects=objects_directory(info.git_dir),
    )
    if grafts and report.budgets and "repo" in report.budgets:
        repo = report.budgets["repo"]
        if repo.pop("at_most", None):
            repo["used"] = None  # only the store's size was known, and it bounds nothing here
        else:
            repo["at_least"] = True
        report.notes.append(
            "this clone is shallow: the repo budget counts only the fetched history "
            "(a lower bound); `repolicy audit` on a full clone measures it"
        )
    return finish(report, args)
