"""`repolicy check [PATH...]`: the staged changes against the policy (the pre-commit hook)."""

from __future__ import annotations

import os
import posixpath

from repolicy.checks import Context
from repolicy.checks.budgets import check_file_sizes
from repolicy.checks.exclude import check_excluded
from repolicy.checks.lfs import check_lfs, check_lfs_attributes
from repolicy.cli import Options
from repolicy.errors import RepolicyError
from repolicy.git import Change, Git, RepoInfo
from repolicy.policy import load_policy
from repolicy.report import Report, Violation, emit
from repolicy.targets import (
    BlobAtPath,
    Candidate,
    gather,
    index_candidates,
    narrow,
    staged_candidates,
)


def repository_paths(info: RepoInfo, paths: list[str]) -> list[str]:
    """Command-line paths (relative to the current directory) as repository paths."""
    out = []
    top = os.path.realpath(info.toplevel)
    for arg in paths:
        if os.path.isabs(arg):
            rel = os.path.relpath(os.path.realpath(arg), top)
        else:
            rel = posixpath.normpath(info.prefix + arg.replace(os.sep, "/"))
        if rel == "..." or rel.startswith("../") or rel == "..":
            raise RepolicyError(f"{arg}: outside the repository {info.toplevel}")
        out.append("" if rel == "." else rel)
    return out


def select(git: Git, info: RepoInfo, changes: list[Change], paths: list[str]) -> list[Candidate]:
    staged = staged_candidates(changes)
    if not paths:
        return staged
    wanted = repository_paths(info, paths)
    if not staged:
        # Nothing staged (e.g. `pre-commit run --all-files`): judge the index.
        return narrow(index_candidates(git.index_entries().get()), wanted)
    return narrow(staged, wanted)


def run_checks(ctx: Context, blobs: list[BlobAtPath]) -> list[Violation]:
    excluded = list(check_excluded(ctx, blobs))
    # An excluded path must leave git altogether; LFS or size advice for it
    # would only contradict that fix.
    gone = {v.path for v in excluded}
    kept = [b for b in blobs if b.path not in gone]
    return [
        *excluded,
        *check_lfs(ctx, kept),
        *check_lfs_attributes(ctx, kept),
        *check_file_sizes(ctx, kept),
    ]


def run(args: Options) -> int:
    here = Git(os.getcwd())
    staged = here.staged_changes()  # runs while discovery and the policy load
    info = here.discover()
    git = Git(info.toplevel)
    policy = load_policy(info.toplevel, args.policy, os.path.join(info.git_dir, "repolicy"))
    ctx = Context(policy)
    candidates = select(git, info, staged.get(), args.paths)
    blobs = gather(git, candidates, cached_attributes=True)
    report = Report("check", policy.name, run_checks(ctx, blobs))
    report.sort()
    emit(report, args.format, no_color=args.no_color, quiet=args.quiet)
    return report.exit_code(args.strict)
