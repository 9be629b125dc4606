"""`repolicy init [--preset NAME] [--force]`: propose a policy for the repository.

Looks at every file git knows or could know (tracked, untracked, ignored: an
ignored `wandb/` says as much as a committed one), the `.gitattributes`
files and the remotes, writes a commented `.repolicy.yaml` (`repolicy.detect`
decides what goes in it), and prints the pre-commit entries and the commands
to run next. It never replaces a policy without `--force`; it writes
atomically, and only a policy the loader accepts.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from repolicy import __version__
from repolicy.errors import RepolicyError
from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.cli import Options
    from repolicy.detect import Facts, Proposal
    from repolicy.policy import Policy

# The repository URL of the README's pre-commit snippet: the two must agree
# (tests/commands/test_init.py compares them).
PRE_COMMIT_REPO = "<url of the repolicy repository>"
HOOKS = ("repolicy", "repolicy-push")
NEXT_COMMANDS = (
    ("repolicy fix", "write .gitignore and .gitattributes so git agrees with the policy"),
    (
        "pre-commit install --hook-type pre-commit --hook-type pre-push",
        "check every commit and every push",
    ),
    ("repolicy audit", "judge the history of every branch and tag, and the work tree"),
)


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
    from repolicy.detect import propose, render

    proposal = propose(facts, presets, forced)
    text = render(proposal)
    policy = _write(target, text, info.toplevel, shown)
    excluded = _tracked_excluded(policy, facts)

    if args.format == "json":
        _emit_json(shown, proposal, facts, excluded)
    else:
        _emit_text(shown, proposal, excluded, args.quiet)
    return 0


def _display(path: str, toplevel: str) -> str:
    rel = os.path.relpath(path, toplevel)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _facts(git: Git, toplevel: str) -> Facts:
    from repolicy.detect import Inventory, gather

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
    """The `.pre-commit-config.yaml` lines that run both hooks of this version."""
    lines = [
        "repos:",
        f"  - repo: {PRE_COMMIT_REPO}",
        f"    rev: v{__version__}",
        "    hooks:",
        *(f"      - id: {hook}" for hook in HOOKS),
    ]
    return "\n".join(lines) + "\n"


def _emit_text(shown: str, proposal: Proposal, excluded: list[str], quiet: bool) -> None:
    out = [f"wrote {shown}: extends {', '.join(c.name for c in proposal.extends)}"]
    if not quiet:
        for choice in proposal.extends:
            for reason in choice.reasons:
                out.append(f"  {choice.name}: {reason}")
        out.append(f"  budgets: {proposal.budgets_note}")
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
    out.append("")
    out.append("Add to .pre-commit-config.yaml:")
    out.append("")
    out.extend(f"  {line}" for line in pre_commit_entries().splitlines())
    out.append("")
    out.append("Then run:")
    out.append("")
    out.extend(f"  {command}" for command, _why in NEXT_COMMANDS)
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


def _emit_json(shown: str, proposal: Proposal, facts: Facts, excluded: list[str]) -> None:
    data = {
        "version": 1,
        "command": "init",
        "policy": shown,
        "extends": [{"preset": c.name, "reasons": list(c.reasons)} for c in proposal.extends],
        "budgets": {line.key: line.limit for line in proposal.budgets},
        "budgets_note": proposal.budgets_note,
        "lfs": [{"pattern": e.pattern, "why": e.why} for e in proposal.lfs],
        "notes": list(proposal.notes),
        "remotes": [
            {"name": r.name, "url": _redact(r.url), "host": r.host, "forge": r.forge}
            for r in facts.remotes
        ],
        "tracked_excluded": excluded,
        "pre_commit": {
            "repo": PRE_COMMIT_REPO,
            "rev": f"v{__version__}",
            "hooks": [{"id": hook} for hook in HOOKS],
        },
        "next": [{"command": command, "why": why} for command, why in NEXT_COMMANDS],
    }
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
