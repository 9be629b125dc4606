"""Adopting a policy: what `repolicy init` gathers, writes, and fits to history.

The facts (every file git knows or could know, the `.gitattributes` files,
the remotes) go to `repolicy.init.detect`, which proposes a policy; it is
written atomically, only once the loader accepts it; then history is judged
under it (the engine, as `audit` would) and each budget history already
exceeds is raised to the figure that holds today.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.init.detect import Facts, Proposal
    from repolicy.policy import Policy
    from repolicy.report import Report, Violation


# The `.pre-commit-config.yaml` entries init prints: the installed `repolicy`, run by
# pre-commit as a local hook, which works as pasted (the README's remote form needs
# a repository URL and a tag the user can reach). tests/commands/test_init.py
# pastes them into a fresh repository and runs the real pre-commit.
HOOKS = ("repolicy", "repolicy-push")


LOCAL_HOOKS: tuple[dict[str, Any], ...] = (
    {
        "id": "repolicy",
        "name": "repolicy (repository policy)",
        # `--`: pre-commit appends file names, which must never read as options.
        "entry": "repolicy check --",
        "language": "system",
        "stages": ["pre-commit"],
        "require_serial": True,
    },
    {
        "id": "repolicy-push",
        "name": "repolicy (every commit being pushed)",
        "entry": "repolicy check --push",
        "language": "system",
        "stages": ["pre-push"],
        "always_run": True,
        "pass_filenames": False,
        "require_serial": True,
    },
)


NEXT_COMMANDS = (
    ("repolicy fix", "write .gitignore and .gitattributes so git agrees with the policy"),
    (
        "pre-commit install --hook-type pre-commit --hook-type pre-push",
        "check every commit and every push",
    ),
    ("repolicy audit", "judge the history of every branch and tag, and the work tree"),
)


BASELINE_COMMAND = (
    "repolicy audit --write-baseline",
    "accept the violations history already holds (commit .repolicy-baseline); "
    "only new ones fail from then on",
)


def next_commands(old: int) -> list[tuple[str, str]]:
    steps = list(NEXT_COMMANDS)
    if old:
        steps.insert(len(steps) - 1, BASELINE_COMMAND)
    return steps


def judge_history(policy_file: str) -> Report:
    """What `repolicy audit` reports under the new policy, here (the engine's verdicts)."""
    from repolicy.engine import judge
    from repolicy.scope import Repository

    return judge(Repository(), policy_file, quiet=True)


# Checks a baseline can accept (repolicy.baseline): one blob at one path, or a path on disk.
_BASELINED = frozenset(
    {"excluded", "lfs-missing", "lfs-pointer-invalid", "lfs-attr-missing", "file-too-large",
     "file-large", "lfs-file-too-large", "dvc-in-git", "frozen-modified", "include-ignored",
     "include-untracked", "not-ignored", "dvc-not-ignored", "dvc-stale"}
)  # fmt: skip


def old_violations(found: Report) -> list[Violation]:
    """The violations history already holds that a baseline would accept (what is
    wrong on disk only, `repolicy fix` and a commit put right)."""
    return [v for v in found.violations if v.check in _BASELINED and v.commit]


GiB = 1024**3


# GitHub Docs, "About Git Large File Storage": the largest LFS object per plan.
LFS_PLANS = (
    (2 * GiB, "Free and Pro (2 GB)"),
    (4 * 1000**3, "Team"),
    (5 * 1000**3, "Enterprise Cloud"),
)


def fit_budgets(proposal: Proposal, found: Report) -> Proposal:
    """The proposal with each budget history already exceeds raised to a figure that
    holds today, its comment naming the limit it passes; the same proposal when
    history fits."""
    import math

    from repolicy.init.detect import BudgetLine, format_size
    from repolicy.report import human_size

    violations = found.violations
    budgets = found.budgets or {}
    raised: dict[str, BudgetLine] = {}
    lfs_big = [v for v in violations if v.check == "lfs-file-too-large" and v.size]
    if lfs_big:
        top = max(lfs_big, key=lambda v: v.size or 0)
        size = int(top.size or 0)
        plan = next(((limit, name) for limit, name in LFS_PLANS[1:] if size <= limit), None)
        limit = plan[0] if plan else math.ceil(size / GiB) * GiB
        where = (
            f"GitHub's LFS limit on {plan[1]} ({format_size(plan[0])})"
            if plan
            else "over every GitHub plan's LFS limit (5 GB on Enterprise Cloud)"
        )
        raised["lfs_file"] = BudgetLine(
            "lfs_file",
            limit,
            f"history already holds {len(lfs_big)} LFS object{'s' * (len(lfs_big) != 1)} over "
            f"the proposed limit, up to {human_size(size)} ({top.path}): GitHub allows 2 GB "
            f"per LFS file on Free and Pro, 4 GB on Team, 5 GB on Enterprise Cloud; this is "
            f"{where}, the figure that holds today",
        )
    for key, check, what in (
        ("repo", "repo-budget", "objects reachable from branches and tags take"),
        ("lfs", "lfs-budget", "LFS objects referenced in history add up to"),
    ):
        if not any(v.check == check for v in violations):
            continue
        used = int(budgets.get(key, {}).get("used") or 0)
        limit = math.ceil(used / GiB) * GiB if used else GiB
        advice = (
            "GitHub recommends repositories under 1 GB and strongly under 5 GB"
            if key == "repo"
            else "GitHub meters LFS storage per account"
        )
        raised[key] = BudgetLine(
            key,
            limit,
            f"history already: {what} {human_size(used)} ({advice}); this figure holds "
            "today: lower it as history is cleaned",
        )
    if not raised:
        return proposal
    lines = [raised.pop(line.key, line) for line in proposal.budgets]
    lines.extend(raised.values())
    return proposal._replace(budgets=tuple(lines))


def gather_facts(git: Git, toplevel: str) -> Facts:
    from repolicy.init.detect import Inventory, gather

    # Independent questions, asked at once; git answers them side by side.
    tracked = git.index_files()
    others = git.others()
    remotes = git.remote_urls()
    inventory = Inventory(tracked.get(), others.get().untracked, others.get().ignored)
    attributes = {}
    for path in dict.fromkeys([*inventory.tracked, *inventory.untracked, *inventory.ignored]):
        if path == ".gitattributes" or path.endswith("/.gitattributes"):
            text = read_text(os.path.join(toplevel, path))
            if text is not None:
                attributes[path] = text

    def size_of(path: str) -> int | None:
        try:
            st = os.lstat(os.path.join(toplevel, path))
        except OSError:
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    return gather(inventory, attributes, remotes.get(), size_of)


def read_text(path: str) -> str | None:
    # git ignores a .gitattributes that is a symbolic link; so does init.
    if os.path.islink(path):
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def load_presets(names: list[str]) -> dict[str, Policy]:
    from repolicy.policy import load_policy, presets_dir

    return {name: load_policy(None, os.path.join(presets_dir(), f"{name}.yaml")) for name in names}


def write(target: str, text: str, toplevel: str, shown: str) -> Policy:
    """Write the policy atomically, after the loader has accepted it under a
    temporary name next to it: a half-written or unloadable policy would stop
    every hook."""
    from repolicy.atomic import replace_file
    from repolicy.policy import load_policy

    loaded: list[Policy] = []
    replace_file(
        target,
        text.encode("utf-8"),
        shown,
        mode(target),
        lambda tmp: loaded.append(load_policy(toplevel, tmp)),
    )
    policy = loaded[0]
    return policy


def mode(target: str) -> int:
    """The replaced file's permissions (with --force), else what umask allows."""
    from repolicy.atomic import default_mode

    try:
        st = os.stat(target)
    except OSError:
        return default_mode()
    return stat.S_IMODE(st.st_mode)


def tracked_excluded(policy: Policy, facts: Facts) -> list[str]:
    """Tracked files the new policy excludes: `audit` will report them at once."""
    from repolicy.checks import Context

    ctx = Context(policy)
    if not policy.exclude:
        return []
    return sorted(p for p, s in facts.states.items() if s == "tracked" and ctx.excluding_rule(p))


def pre_commit_entries() -> str:
    """The `.pre-commit-config.yaml` lines that run both hooks with the installed repolicy."""
    lines = ["repos:", "  - repo: local", "    hooks:"]
    for hook in LOCAL_HOOKS:
        first = True
        for key, value in hook.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list):
                text = "[" + ", ".join(value) + "]"
            else:
                text = str(value)
            lines.append(f"      {'- ' if first else '  '}{key}: {text}")
            first = False
    return "\n".join(lines) + "\n"
