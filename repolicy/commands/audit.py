"""`repolicy audit`: the work tree, the index and the history of every branch and tag.

Before a push and as the CI gate. History: every blob any commit of any
branch or tag wrote, at every path, with the commit that wrote it first.
Work tree: what the next `git add -A` would do with the policy's paths.
"""

from __future__ import annotations

import itertools
import os

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from repolicy.checks import Context
    from repolicy.cli import Options
    from repolicy.report import Report, Violation
    from repolicy.targets import BlobAtPath


def emptied(ids: set[bytes]) -> Iterator[bytes]:
    """The ids, then none: the set is emptied once read."""
    yield from ids
    ids.clear()


def history_revisions(git: Git) -> list[str]:
    """Branches and tags, and remote-tracking branches no local branch stands for
    (a CI checkout often has only those). Stashes and reflogs are not history."""
    refs = git.run("for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes")
    names = [os.fsdecode(r) for r in refs.splitlines()]
    local = {n[len("refs/heads/") :] for n in names if n.startswith("refs/heads/")}
    revs = ["--branches", "--tags"]
    for name in names:
        if not name.startswith("refs/remotes/"):
            continue
        _remote, _, short = name[len("refs/remotes/") :].partition("/")
        if short and short != "HEAD" and short not in local:
            revs.append(name)
    return revs


def run(args: Options) -> int:
    from repolicy.checks import Context, check_blobs, supersede
    from repolicy.lfs import MAX_POINTER_SIZE, might_be_pointer
    from repolicy.policy import load_policy
    from repolicy.progress import Progress
    from repolicy.report import Report, emit, exact_size, human_size
    from repolicy.targets import attach, gather, history_candidates, index_candidates

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    policy = load_policy(info.toplevel, args.policy, os.path.join(info.git_dir, "repolicy"))
    ctx = Context(policy)
    report = Report("audit", policy.name)

    revs = history_revisions(git)
    # Every independent question is asked now; git answers them side by side
    # while the history is parsed and judged. One walk of the history answers
    # three: the blobs at their paths (whose sizes, contents and attributes
    # are asked as the walk meets them) and, with the commits and trees it
    # passes, what the history takes on disk.
    scan = git.history_scan(revs, MAX_POINTER_SIZE, might_be_pointer, ("filter",))
    tags = git.tag_objects()
    progress = Progress(enabled=None if not args.quiet else False)
    progress.say("reading the history of every branch and tag, and its blobs")
    walk = scan.get()
    # Listed after the walk, not beside it: each listing holds the index in
    # memory, and the walk is when this command's processes hold the most.
    on_disk = WorkTree(git) if policy.include or policy.exclude or policy.lfs else None
    index = git.index_entries().background()
    # Hundreds of thousands of ids: a thread hands them to git a batch at a time.
    blob_ids = list(scan.info)
    usage = git.disk_sizes(
        itertools.chain(emptied(walk.objects), map(str.encode, [*tags.get(), *blob_ids]))
    )
    history = history_candidates(walk.entries)
    raw = sum(i.size for i in scan.info.values())  # distinct blobs of history
    progress.say(f"{len(scan.info):,} objects scanned, {human_size(raw)}; judging")
    seen = {(c.oid, c.path) for c in history}
    index_entries = index_candidates(index.get())
    staged = [c for c in index_entries if (c.oid, c.path) not in seen]
    del seen
    blobs = [
        *attach(history, scan.info, scan.contents, scan.attributes),
        *gather(git, staged, cached_attributes=True),
    ]
    scan.release()
    from repolicy.advice import Advisor, HistoryScope

    ctx.advice = Advisor(git, HistoryScope(git, entries=walk.entries))
    report.violations.extend(check_blobs(ctx, blobs))
    if policy.require or policy.frozen:
        from repolicy.checks import frozen, require

        head = git.head()
        report.violations.extend(require.audited(ctx, git, head))
        report.violations.extend(frozen.audited(ctx, git, revs, head))

    lfs_sizes = {b.lfs_oid: b.lfs_size for b in blobs if b.lfs_oid}
    report.budgets = {
        "repo": {"used": usage.get(), "limit": policy.limit("repo")},
        "lfs": {"used": sum(lfs_sizes.values()), "limit": policy.limit("lfs")},
    }
    report.violations.extend(budget_violations(ctx, report, blobs))
    if on_disk is not None:
        tracked = [c.path for c in index_entries]
        report.violations.extend(on_disk.violations(ctx, tracked))
    from repolicy.checks import dvc

    untracked = on_disk.untracked.get() if on_disk is not None else None
    report.violations.extend(dvc.for_audit(ctx, git, info.git_dir, blobs, index.get(), untracked))
    report.violations = supersede(report.violations)
    report.violations.extend(unpushed(ctx, git, report))
    shallow = git.run("rev-parse", "--is-shallow-repository").strip() == b"true"
    if shallow:
        report.notes.append(
            "this is a shallow clone: only the history it has was audited "
            "(fetch it all with `git fetch --unshallow`)"
        )
    report.sections.append(
        (
            "repository size",
            [
                f"{exact_size(usage.get())} on disk, as git stores it (what budgets.repo counts)",
                f"{human_size(raw)} of distinct blobs in history, uncompressed",
            ],
        )
    )
    largest = sorted(
        (b for b in blobs if b.commit and not b.is_lfs_pointer), key=lambda b: -b.size
    )[:10]
    if largest:
        report.sections.append(
            (
                "largest blobs in history",
                [f"{human_size(b.size):>10}  {b.path}  ({(b.commit or '')[:12]})" for b in largest],
            )
        )
    progress.clear()
    # The baseline sees every violation, so it goes last; `check` never reads it.
    from repolicy import baseline

    in_index = {c.path: c.oid for c in staged}
    if args.write_baseline:
        result = baseline.rewrite(info.toplevel, policy, report.violations, walk.entries, in_index)
        if args.format == "json":
            import json

            print(json.dumps({"version": 1, "command": "audit", "baseline": result}, indent=2))
        else:
            print(baseline.describe(result))
        return 0
    accepted = baseline.load(info.toplevel, policy, report)
    if accepted is not None:
        # A shallow clone lacks the history that old entries match: it cannot
        # tell an unused entry from one it does not see.
        baseline.apply(report, accepted, walk.entries, staged=in_index, judge_unused=not shallow)
    report.sort()
    emit(report, args.format, no_color=args.no_color, quiet=args.quiet)
    return report.exit_code(args.strict)


def budget_violations(
    ctx: Context, report: Report, blobs: Sequence[BlobAtPath] = ()
) -> list[Violation]:
    from repolicy.checks.budgets import repo_budget_fix
    from repolicy.report import Violation, exact_size

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
                    repo_budget_fix(ctx, blobs, everything=True)
                    if key == "repo"
                    else "keep only released versions in LFS and prune the rest: "
                    "git lfs migrate export, or raise the budget on purpose"
                ),
                size=used,
            )
        )
    return out


class WorkTree:
    """include-ignored, include-untracked, not-ignored and lfs-attr-missing on disk."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self.ignored = git.untracked(ignored=True)
        self.untracked = git.untracked(ignored=False)

    def violations(self, ctx: Context, tracked: list[str]) -> list[Violation]:
        from repolicy.checks.exclude import check_work_tree
        from repolicy.checks.lfs import check_lfs_attributes
        from repolicy.targets import BlobAtPath

        untracked = self.untracked.get()
        out = list(check_work_tree(ctx, self.ignored.get(), untracked))
        if ctx.policy.lfs:
            wanted = [p for p in [*tracked, *untracked] if ctx.lfs_rule(p)]
            attrs = self.git.attributes(wanted, ("filter",)).get()
            # Only a file git does not give filter=lfs can be lfs-attr-missing.
            files = [
                BlobAtPath(p, "", "100644", 0)
                for p in wanted
                if attrs.get(p, {}).get("filter") != "lfs"
                and os.path.isfile(os.path.join(self.git.cwd, p))
            ]
            out.extend(check_lfs_attributes(ctx, files))
        return out


def unpushed(ctx: Context, git: Git, report: Report) -> list[Violation]:
    from repolicy.report import Violation

    upstream = git.run(
        "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", ok=(0, 128)
    ).strip()
    if not upstream:
        if git.run("rev-parse", "--verify", "-q", "HEAD", ok=(0, 1)).strip():
            report.notes.append("the current branch has no upstream: nothing to compare with")
        return []
    count = int(git.run("rev-list", "--count", "@{upstream}..HEAD").strip() or b"0")
    if not count:
        return []
    name = os.fsdecode(upstream)
    return [
        Violation(
            check="unpushed",
            severity=ctx.severity("unpushed"),
            path=None,
            message=f"the current branch has {count} commit{'s' * (count != 1)} {name} lacks",
            fix="git push",
        )
    ]
