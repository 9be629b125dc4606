"""`repolicy init [--preset NAME] [--force]`: propose a policy for the repository.

Looks at every file git knows or could know (tracked, untracked, ignored: an
ignored `wandb/` says as much as a committed one), the `.gitattributes`
files and the remotes, writes a commented `.repolicy.yaml` (`repolicy.init.detect`
decides what goes in it), and prints the pre-commit entries and the commands
to run next. It never replaces a policy without `--force`; it writes
atomically, and only a policy the loader accepts.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any

from repolicy.errors import RepolicyError
from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.init.detect import Facts, Proposal
    from repolicy.options import Options
    from repolicy.policy import Policy

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


def run(args: Options) -> int:
    from repolicy.policy import POLICY_FILE, preset_names

    names = preset_names()
    forced = getattr(args, "preset", None)
    if forced is not None and forced not in names:
        raise RepolicyError(f"unknown preset {forced!r}; choose one of: {', '.join(names)}")

    info = Git(os.getcwd()).discover().get()
    git = Git(info.toplevel)
    target = (
        os.path.abspath(args.policy) if args.policy else os.path.join(info.toplevel, POLICY_FILE)
    )
    shown = _display(target, info.toplevel)
    if os.path.lexists(target) and not args.force:
        raise RepolicyError(
            f"{shown} already exists: nothing was changed "
            "(`repolicy init --force` replaces it; `repolicy explain PATH` shows what it does)"
        )

    facts = _facts(git, info.toplevel)
    presets = _presets(names)
    from repolicy.init.detect import propose, render

    proposal = propose(facts, presets, forced)
    policy = _write(target, render(proposal), info.toplevel, shown)
    # What history already holds: a budget it exceeds is proposed at the figure
    # that holds today, and what is left is offered as a baseline, so the first
    # audit after adopting the policy passes and the next violation fails.
    found = _audit(target)
    fitted = fit_budgets(proposal, found)
    if fitted is not proposal:
        proposal = fitted
        policy = _write(target, render(proposal), info.toplevel, shown)
        found = _audit(target)
    old = _old_violations(found)
    excluded = _tracked_excluded(policy, facts)

    if args.format == "json":
        _emit_json(shown, proposal, facts, excluded, old)
    else:
        _emit_text(shown, proposal, excluded, args.quiet, old)
    return 0


def _audit(policy_file: str) -> dict[str, Any]:
    """`repolicy audit --format json` under the new policy, run here."""
    import contextlib
    import io

    from repolicy.commands import audit
    from repolicy.options import Options

    options = Options("audit")
    options.format = "json"
    options.quiet = True
    options.policy = policy_file
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        audit.run(options)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


# Checks a baseline can accept (repolicy.baseline): one blob at one path, or a path on disk.
_BASELINED = frozenset(
    {"excluded", "lfs-missing", "lfs-pointer-invalid", "lfs-attr-missing", "file-too-large",
     "file-large", "lfs-file-too-large", "dvc-in-git", "frozen-modified", "include-ignored",
     "include-untracked", "not-ignored", "dvc-not-ignored", "dvc-stale"}
)  # fmt: skip


def _old_violations(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The violations history already holds that a baseline would accept (what is
    wrong on disk only, `repolicy fix` and a commit put right)."""
    return [v for v in found.get("violations", []) if v["check"] in _BASELINED and v.get("commit")]


GiB = 1024**3
# GitHub Docs, "About Git Large File Storage": the largest LFS object per plan.
LFS_PLANS = (
    (2 * GiB, "Free and Pro (2 GB)"),
    (4 * 1000**3, "Team"),
    (5 * 1000**3, "Enterprise Cloud"),
)


def fit_budgets(proposal: Proposal, found: dict[str, Any]) -> Proposal:
    """The proposal with each budget history already exceeds raised to a figure that
    holds today, its comment naming the limit it passes; the same proposal when
    history fits."""
    import math

    from repolicy.init.detect import BudgetLine, format_size
    from repolicy.report import human_size

    violations = found.get("violations", [])
    budgets = found.get("budgets", {})
    raised: dict[str, BudgetLine] = {}
    lfs_big = [v for v in violations if v["check"] == "lfs-file-too-large" and v["size"]]
    if lfs_big:
        top = max(lfs_big, key=lambda v: v["size"])
        size = int(top["size"])
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
            f"the proposed limit, up to {human_size(size)} ({top['path']}): GitHub allows 2 GB "
            f"per LFS file on Free and Pro, 4 GB on Team, 5 GB on Enterprise Cloud; this is "
            f"{where}, the figure that holds today",
        )
    for key, check, what in (
        ("repo", "repo-budget", "objects reachable from branches and tags take"),
        ("lfs", "lfs-budget", "LFS objects referenced in history add up to"),
    ):
        if not any(v["check"] == check for v in violations):
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


def _display(path: str, toplevel: str) -> str:
    rel = os.path.relpath(path, toplevel)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _facts(git: Git, toplevel: str) -> Facts:
    from repolicy.init.detect import Inventory, gather

    # Independent questions, asked at once; git answers them side by side.
    tracked = git.index_files()
    untracked = git.untracked(ignored=False)
    ignored = git.untracked(ignored=True)
    remotes = git.remote_urls()
    inventory = Inventory(tracked.get(), untracked.get(), ignored.get())
    attributes = {}
    for path in dict.fromkeys([*inventory.tracked, *inventory.untracked, *inventory.ignored]):
        if path == ".gitattributes" or path.endswith("/.gitattributes"):
            text = _read_text(os.path.join(toplevel, path))
            if text is not None:
                attributes[path] = text

    def size_of(path: str) -> int | None:
        try:
            st = os.lstat(os.path.join(toplevel, path))
        except OSError:
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    return gather(inventory, attributes, remotes.get(), size_of)


def _read_text(path: str) -> str | None:
    # git ignores a .gitattributes that is a symbolic link; so does init.
    if os.path.islink(path):
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _presets(names: list[str]) -> dict[str, Policy]:
    from repolicy.policy import load_policy, presets_dir

    return {name: load_policy(None, os.path.join(presets_dir(), f"{name}.yaml")) for name in names}


def _write(target: str, text: str, toplevel: str, shown: str) -> Policy:
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
        _mode(target),
        lambda tmp: loaded.append(load_policy(toplevel, tmp)),
    )
    policy = loaded[0]
    return policy


def _mode(target: str) -> int:
    """The replaced file's permissions (with --force), else what umask allows."""
    from repolicy.atomic import default_mode

    try:
        st = os.stat(target)
    except OSError:
        return default_mode()
    return stat.S_IMODE(st.st_mode)


def _tracked_excluded(policy: Policy, facts: Facts) -> list[str]:
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


def _emit_text(
    shown: str, proposal: Proposal, excluded: list[str], quiet: bool, old: list[dict[str, Any]]
) -> None:
    from repolicy.report import plural

    out = [f"wrote {shown}: extends {', '.join(c.name for c in proposal.extends)}"]
    if not quiet:
        for choice in proposal.extends:
            for reason in choice.reasons:
                out.append(f"  {choice.name}: {reason}")
        out.append(f"  budgets: {proposal.budgets_note}")
        for rule in proposal.rules:
            out.append(f"  {rule.key}: {rule.pattern} ({plural(len(rule.paths), 'path')})")
        for entry in proposal.lfs:
            out.append(f"  lfs: {entry.pattern} ({entry.why})")
        for note in proposal.notes:
            out.append(f"  note: {note}")
    if excluded:
        out.append(
            f"note: {len(excluded)} tracked file{'s' * (len(excluded) != 1)} "
            f"match the policy's exclude rules (e.g. {excluded[0]}); `repolicy fix` prints "
            "the command that stops tracking them"
        )
    if old:
        checks = sorted({v["check"] for v in old})
        out.append(
            f"note: the repository already holds {plural(len(old), 'violation')} of this "
            f"policy ({', '.join(checks)}); `repolicy audit --write-baseline` accepts them, "
            "so audit passes until a new one comes"
        )
    out.append("")
    out.append("Add to .pre-commit-config.yaml (runs the installed repolicy):")
    out.append("")
    out.extend(f"  {line}" for line in pre_commit_entries().splitlines())
    out.append("")
    out.append("Then run:")
    out.append("")
    out.extend(f"  {command}" for command, _why in next_commands(len(old)))
    print("\n".join(out))


def _redact(url: str) -> str:
    """The URL without a password or token (`https://user:token@host/...`): the
    report may end up in a CI log."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.partition(':')[0]}:***@{host}"
    return f"{scheme}{sep}{authority}{slash}{path}"


def _emit_json(
    shown: str, proposal: Proposal, facts: Facts, excluded: list[str], old: list[dict[str, Any]]
) -> None:
    data = {
        "version": 1,
        "command": "init",
        "policy": shown,
        "extends": [{"preset": c.name, "reasons": list(c.reasons)} for c in proposal.extends],
        "budgets": {line.key: line.limit for line in proposal.budgets},
        "budgets_note": proposal.budgets_note,
        "rules": [
            {"key": r.key, "pattern": r.pattern, "why": r.why, "paths": list(r.paths)}
            for r in proposal.rules
        ],
        "lfs": [{"pattern": e.pattern, "why": e.why} for e in proposal.lfs],
        "notes": list(proposal.notes),
        "remotes": [
            {"name": r.name, "url": _redact(r.url), "host": r.host, "forge": r.forge}
            for r in facts.remotes
        ],
        "tracked_excluded": excluded,
        # What a baseline would accept (`repolicy audit --write-baseline`).
        "existing_violations": len(old),
        "pre_commit": {"repos": [{"repo": "local", "hooks": list(LOCAL_HOOKS)}]},
        "next": [{"command": command, "why": why} for command, why in next_commands(len(old))],
    }
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
