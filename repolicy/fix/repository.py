"""`fix` in a repository: the plan for its files, and the commands it leaves to the user.

The ignore and attribute files are read as git reads them (a symbolic link
is no rule file; `info/exclude` lives in the common git directory), DVC's
outputs come from its files in the work tree, and what `fix` must not do
itself (untrack files, move blobs into LFS) becomes commands to print.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.fix.blocks import ManagedFile
    from repolicy.fix.plan import Plan
    from repolicy.git import IndexEntry
    from repolicy.policy import Allow, Policy


class Found(NamedTuple):
    """What `fix` would do in a repository, before it writes anything."""

    plan: Plan
    changes: list[tuple[ManagedFile, bytes]]  # each file's new contents
    commands: list[tuple[str, str]]  # (command, why) for the user to run
    warnings: list[str]


def work_out(policy_arg: str | None) -> Found:
    """The plan for the repository here: blocks to write, commands to print."""
    from repolicy.fix.plan import make_plan

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    files_query = git.files()
    index_query = git.index_entries()
    excludes_query = git.excludes_file()
    from repolicy.engine import work_tree_policy

    policy = work_tree_policy(git, info, policy_arg)
    files = files_query.get()
    from repolicy.atomic import parent_directories, refuse_special_rule_files

    refuse_special_rule_files(info.toplevel, info.git_dir, parent_directories(files))
    from repolicy.checks.allow import keep_visible

    allow = policy.allow
    policy = keep_visible(policy, info.toplevel, files, {e.path for e in index_query.get()})
    excludes_file = excludes_query.get()
    dvc_warnings: list[str] = []
    plan = make_plan(
        info.toplevel,
        policy,
        files,
        lambda rel: read_nested(info.toplevel, rel),
        dvc_outs(info.toplevel, files, dvc_warnings),
        info_exclude=read_info_exclude(info.git_dir),
        excludes_file=excludes_file,
    )
    changes = plan.new_contents()
    commands = commands_to_run(git, plan, index_query.get(), allow, policy)
    return Found(plan, changes, commands, dvc_warnings + lint_warnings(plan))


def dvc_outs(root: str, files: list[str], warnings: list[str]) -> list[tuple[str, bool, str, int]]:
    """Outputs the DVC files in the work tree record (only those DVC caches: git
    must ignore them). A DVC file that cannot be read is a warning, not a stop:
    it is not what fix is asked to fix."""
    import posixpath

    from repolicy.dvc.files import PROJECT_FILE, is_dvc_file

    wanted = [f for f in files if is_dvc_file(f) or posixpath.basename(f) == PROJECT_FILE]
    if not any(is_dvc_file(f) for f in wanted):
        return []
    from repolicy.dvc.files import DvcFileError, outs_from, read_work_tree

    sources = read_work_tree(root, wanted)
    projects = {p: d for p, d in sources.items() if posixpath.basename(p) == PROJECT_FILE}
    outs = []
    for path in sorted(p for p in sources if is_dvc_file(p)):
        try:
            outs += outs_from({path: sources[path]}, projects=projects)
        except DvcFileError as exc:
            warnings.append(f"{exc} (skipped: its outputs are not written into .gitignore)")
    return [(o.path, o.is_dir, o.source, o.line) for o in outs if o.cache]


def read_info_exclude(git_dir: str) -> bytes:
    """`info/exclude` as git reads it: in the common directory a linked worktree
    shares (missing or unreadable: no lines)."""
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as fh:
            common = os.path.join(git_dir, fh.read().strip())
    except OSError:
        pass
    try:
        with open(os.path.join(common, "info", "exclude"), "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def read_nested(root: str, rel: str) -> bytes | None:
    path = os.path.join(root, rel)
    if os.path.islink(path):
        return None  # git does not read a symlinked ignore or attribute file
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def commands_to_run(
    git: Git,
    plan: Plan,
    index: list[IndexEntry],
    allow: tuple[Allow, ...] = (),
    policy: Policy | None = None,
) -> list[tuple[str, str]]:
    """(command, why) pairs for the user to run, in the order to run them."""
    from repolicy.facts import gather, index_candidates
    from repolicy.git import GITLINK
    from repolicy.report import quote_paths

    entries = [e for e in index if e.mode != GITLINK]
    tracked = {e.path for e in entries}
    needs = plan.needs
    from repolicy.checks.allow import allowing, file_size

    untrack = sorted(
        p
        for p in tracked
        if p in needs
        and needs[p].ignore
        and not needs[p].keep
        and not allowing(allow, "excluded", p, file_size(git.cwd, p))
    )
    lfs_wanted = [e for e in index_candidates(entries) if e.path in needs and needs[e.path].lfs]
    raw = sorted(
        b.path
        for b in gather(git, lfs_wanted, cached_attributes=True)
        if not b.is_lfs_pointer and not b.is_symlink and b.path not in untrack
    )
    out = []
    if untrack:
        out.append(
            (
                f"git rm --cached -- {quote_paths(untrack)}",
                "tracked, but the policy excludes them: stop tracking them "
                "(the files stay on disk)",
            )
        )
    if raw:
        rules = sorted({str(rule.text) for p in raw if (rule := needs[p].lfs) is not None})
        out.append(
            (
                f"git lfs install && git add --renormalize -- {quote_paths(raw)}",
                "stored in git as ordinary blobs, but the policy keeps them in LFS "
                f"({', '.join(rules)}); commit afterwards. Commits that already hold them "
                "keep them: `repolicy audit` names those commits, with a rewrite limited "
                "to what no remote has where that is enough",
            )
        )
    if policy is not None:
        out += _sized_lfs_commands(git, policy, entries, set(untrack))
    return out


def _sized_lfs_commands(
    git: Git, policy: Policy, entries: list[IndexEntry], untrack: set[str]
) -> list[tuple[str, str]]:
    """`git lfs track --filename` for the tracked files over an `lfs` item's `above`
    size that are not already pointers: .gitattributes cannot express a size."""
    if not any(rule.sized for rule in policy.lfs):
        return []
    from repolicy.checks import Context
    from repolicy.checks.lfs import covers, rule_text
    from repolicy.facts import gather, index_candidates
    from repolicy.report import quote_paths

    ctx = Context(policy)
    sized = {
        e.path: rule
        for e in index_candidates(entries)
        if e.path not in untrack and (rule := ctx.lfs_rule(e.path)) is not None and rule.sized
    }
    if not sized:
        return []
    wanted = [c for c in index_candidates(entries) if c.path in sized]
    over = [
        b
        for b in gather(git, wanted, cached_attributes=True)
        if not b.is_lfs_pointer and not b.is_symlink and covers(sized[b.path], b.size)
    ]
    if not over:
        return []
    paths = sorted(b.path for b in over)
    untracked_attr = sorted(b.path for b in over if not b.lfs_filter)
    items = ", ".join(sorted({rule_text(sized[p]) for p in paths}))
    track = (
        f"git lfs install && git lfs track --filename -- {quote_paths(untracked_attr)} "
        "&& git add .gitattributes && "
        if untracked_attr
        else "git lfs install && "
    )
    return [
        (
            f"{track}git add --renormalize -- {quote_paths(paths)}",
            f"over the size of {items}; .gitattributes cannot express a size, so fix "
            "writes no rule for it: these files are tracked one by one",
        )
    ]


def lint_warnings(plan: Plan) -> list[str]:
    from repolicy.fix.sources import lint

    out = []
    for file in (plan.gitignore, plan.gitattributes):
        if file.exists:
            out += lint(file.rel, file.original)
    return out
