"""The staged scope: what the next commit would record (the pre-commit hook).

Every added, modified, copied or renamed entry of the index against HEAD, or
those at or below the paths given. Start-up matters here more than anywhere:
the modules a judgment needs are imported while git reads the index.
"""

from __future__ import annotations

import os

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.git.attributes import AttributeReader
    from repolicy.policy import Policy
    from repolicy.report import Report
    from repolicy.scope import Staged


def in_dvc_project(top: str, paths: list[str]) -> bool:
    """Whether DVC could manage anything here: a `.dvc` directory at the top or above
    a staged path (`dvc init --subdir`), or a staged DVC file. Most repositories
    are not DVC projects; their hook then never lists the index for DVC files."""
    if os.path.isdir(os.path.join(top, ".dvc")):
        return True
    seen: set[str] = set()
    for path in paths:
        if path.endswith((".dvc", "dvc.lock", "dvc.yaml")):
            return True
        parent = path.rpartition("/")[0]
        while parent and parent not in seen:
            seen.add(parent)
            if os.path.isdir(os.path.join(top, parent, ".dvc")):
                return True
            parent = parent.rpartition("/")[0]
    return False


def _needed_later(policy: Policy, storing: bool) -> list[str]:
    """The modules a run of `policy` imports after the diff is read, the first
    needed first."""
    names = []
    if policy.limit("directory_entries") is not None:
        names.append("repolicy.checks.directories")
    # Every blob goes through these checks (`check_blobs`).
    names += [
        "repolicy.checks.unreadable",
        "repolicy.checks.exclude",
        "repolicy.checks.lfs",
        "repolicy.checks.budgets",
    ]
    if policy.limit("directory_entries") is not None or policy.require or policy.frozen:
        names.append("repolicy.engine.tree_facts")
    if policy.allow:
        names.append("repolicy.checks.allow")
    # The diff's answer is stored through `atomic` (`Git.store_answers`) while
    # the run waits on git anyway: the last to be worth importing early.
    if storing:
        names.append("repolicy.atomic")
    return names


def _attribute_reader(git: Git, git_dir: str, all_files: bool) -> AttributeReader:
    """The `check-attr` for `filter`. With file names and nothing staged (one
    of the many command lines of `pre-commit run --all-files`), it reads the
    index's attribute files alone (see `index_attribute_reader`)."""
    if all_files:
        return git.index_attribute_reader(("filter",), git_dir)
    return git.attribute_reader(("filter",), cached=True)


def judge(scope: Staged, policy_arg: str | None) -> Report:
    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    staged = git.staged_changes(info.git_dir)
    # File names and nothing staged, known from the cache: one of the many
    # command lines of `pre-commit run --all-files` (see `_attribute_reader`).
    all_files = bool(scope.paths) and staged.answered and not staged.get()
    from repolicy.checks import Context, check_blobs, supersede
    from repolicy.engine import policy_to_confirm
    from repolicy.facts import ask_filter, blob_facts, gather, staged_selection
    from repolicy.git.objects import objects_directory
    from repolicy.report import Report

    policy, confirm_policy = policy_to_confirm(git, info, policy_arg)
    ctx = Context(policy)
    ctx.prepare()
    from repolicy.advice import Advisor

    ctx.advice = Advisor(git)
    # While git is still computing the diff, the modules this run goes on to
    # import once it is read are imported (about 1.5 ms in all); once it is
    # done, reading it comes first.
    for name in _needed_later(policy, storing=bool(scope.paths)):
        if not staged.busy():
            break
        __import__(name)
    # `check-attr` reads the whole index before it answers. Started beside the
    # imports above, it took a core from them or from the diff (two cores, three
    # processes): 0.7 ms of the hook's median on the benchmark. It starts once
    # they are done: while git still computes the diff, or else with the
    # paths it is asked about at hand, and not at all when there are none.
    reader: AttributeReader | None = None
    if staged.busy():
        reader = _attribute_reader(git, info.git_dir, all_files)
    candidates = staged_selection(git, info, staged.get(), scope.paths)
    if reader is None and candidates:
        reader = _attribute_reader(git, info.git_dir, all_files)
    # The paths go to `check-attr` first: it answers while the rest is asked.
    attributes = ask_filter(reader, candidates) if reader is not None and candidates else None
    # The staged blobs are loose: they are read now, while `check-attr` reads
    # the index on the other core, and before the next git process starts. A
    # process started right after another waited up to 4 ms here for a core
    # (the new child queued behind the first) while this process's sat idle.
    objects = objects_directory(info.git_dir)
    facts = blob_facts(git, candidates, objects, binary=policy.binary_window())
    # Questions whose arguments are known now are asked now, and answered
    # while the blobs are read and judged: the sizes of HEAD's trees of the
    # directories the change adds names to (read last; a tree's names are read
    # only when its size allows it to end up over the limit: `--batch-check`
    # took 2.4 ms where reading the trees took 3.5 on the benchmark), and
    # whether .gitignore already ignores each excluded path (for the advice).
    gains: dict[str, set[str]] = {}
    if policy.limit("directory_entries") is not None:
        from repolicy.checks import directories

        gains = directories.staged_gains(ctx, staged.get(), candidates)
        head_sizes = git.tree_entry_bounds(directories.head_trees(gains))
    if policy.exclude:
        excluding = ctx.excluding_rules(c.path for c in candidates)
        ctx.advice.expect_ignored(c.path for c in candidates if excluding[c.path] is not None)
    blobs = gather(
        git,
        candidates,
        cached_attributes=True,
        reader=reader,
        attributes=attributes,
        facts=facts,
    )
    report = Report("check", policy, check_blobs(ctx, blobs))
    # What remains mostly waits on git (HEAD's trees): the diff's answer is
    # stored for the next run meanwhile. Only with file names: the pre-commit
    # framework passes them, and `pre-commit run --all-files` runs the hook on
    # one index many times, each with a share of them. A run without names
    # (git's own hook, a run by hand) is the one run on its index, and the
    # write (0.7 ms of the hook's median on the benchmark) would serve none.
    if scope.paths:
        git.store_answers()
    if policy.require or policy.frozen:
        from repolicy.checks.frozen import ALLOW_ENV
        from repolicy.engine import tree_facts

        changes = staged.get()
        report.violations.extend(tree_facts.require_staged(ctx, git, changes, candidates))
        allow = os.environ.get(ALLOW_ENV)
        report.violations.extend(tree_facts.frozen_staged(ctx, git, changes, candidates, allow))
    if gains:
        from repolicy.engine import tree_facts

        judged = tree_facts.directories_staged(ctx, git, gains, head_sizes.get())
        report.violations.extend(judged)
    if policy.dvc or (
        # With no DVC file in the index and no `dvc:`, the DVC check finds nothing.
        (not all_files or git.index_summary(info.git_dir).dvc_files)
        and in_dvc_project(info.toplevel, [c.path for c in candidates])
    ):
        from repolicy.engine import dvc_facts as dvc

        dvc_files = git.dvc_files().get()
        found = dvc.for_check(Context(policy), git, info, blobs, dvc_files, scope.paths)
        report.violations = supersede([*report.violations, *found])
    confirm_policy()
    return report
