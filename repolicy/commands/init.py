"""`repolicy init [--preset NAME] [--force]`: propose a policy for the repository.

Looks at every file git knows or could know (tracked, untracked, ignored: an
ignored `wandb/` says as much as a committed one), the `.gitattributes`
files and the remotes, writes a commented `.repolicy.yaml` (`repolicy.init.detect`
decides what goes in it), and prints the pre-commit entries and the commands
to run next. It never replaces a policy without `--force`; it writes
atomically, and only a policy the loader accepts.
"""

from __future__ import annotations

import os

from repolicy.errors import RepolicyError
from repolicy.git import Git
from repolicy.init.adopt import (
    LOCAL_HOOKS,
    fit_budgets,
    gather_facts,
    judge_history,
    load_presets,
    next_commands,
    old_violations,
    pre_commit_entries,
    tracked_excluded,
    write,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.init.detect import Facts, Proposal
    from repolicy.options import Options
    from repolicy.report import Violation


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

    facts = gather_facts(git, info.toplevel)
    presets = load_presets(names)
    from repolicy.init.detect import propose, render

    proposal = propose(facts, presets, forced)
    policy = write(target, render(proposal), info.toplevel, shown)
    # What history already holds: a budget it exceeds is proposed at the figure
    # that holds today, and what is left is offered as a baseline, so the first
    # audit after adopting the policy passes and the next violation fails.
    found = judge_history(target)
    fitted = fit_budgets(proposal, found)
    if fitted is not proposal:
        proposal = fitted
        policy = write(target, render(proposal), info.toplevel, shown)
        found = judge_history(target)
    old = old_violations(found)
    excluded = tracked_excluded(policy, facts)

    if args.format == "json":
        _emit_json(shown, proposal, facts, excluded, old)
    else:
        _emit_text(shown, proposal, excluded, args.quiet, old)
    return 0


def _display(path: str, toplevel: str) -> str:
    rel = os.path.relpath(path, toplevel)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _emit_text(
    shown: str, proposal: Proposal, excluded: list[str], quiet: bool, old: list[Violation]
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
        checks = sorted({v.check for v in old})
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
    shown: str, proposal: Proposal, facts: Facts, excluded: list[str], old: list[Violation]
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
    from repolicy.report import dumps_json

    print(dumps_json(data))
