"""`exclude` and `include`: what must never be committed, and what must never be lost."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

from repolicy.checks import Context
from repolicy.facts import BlobAtPath
from repolicy.policy import Rule
from repolicy.report import Violation, quote_paths, quote_pathspecs

DOCS = {
    "excluded": """\
What it does
  Flags a file that matches an `exclude` pattern (and no `include` pattern)
  when it is staged, committed or pushed.

  Placeholders are not data: the shipped presets `allow` a `.gitkeep`, a
  `.keep` and a `.gitignore` file inside an excluded directory (the empty
  `logs/.gitkeep` that keeps `logs/` in a fresh clone), for this check and
  for `not-ignored`.

Why it matters
  Intermediate checkpoints, TensorBoard logs, `wandb/` runs and `*.log` files
  are large, change on every run and are worthless tomorrow. One `git add -A`
  puts them in history for good: every clone downloads them and the
  repository creeps towards its size limit.

Example
  exclude: ["outputs/*/checkpoints/epoch_*.pth"]
  $ git add -A    # stages outputs/run1/checkpoints/epoch_3.pth -> excluded

How to fix
  Unstage it and ignore it:
    git rm --cached -- 'outputs/run1/checkpoints/epoch_3.pth'
    echo 'outputs/*/checkpoints/epoch_*.pth' >> .gitignore
  If .gitignore already ignores it, it was added with `git add -f`: the
  first line is all it takes. Committed already: the printed fix rewrites
  only the commits no remote has when it can (and says so when it cannot).
  If it belongs in git after all, add a matching `include` pattern
  (include beats exclude), or exempt that one path, with its reason:
    allow:
      - {path: logs/README.md, checks: [excluded], reason: explains the layout}

Policy keys
  exclude, include
""",
    "include-ignored": """\
What it does
  Flags a file that matches an `include` pattern and exists in the work tree,
  but which `.gitignore` ignores.

Why it matters
  `best.pth` and `last.pth` are the whole point of keeping a training run in
  git. If an ignore rule written for `*.pth` or `outputs/` hides them,
  `git add -A` silently skips them and they vanish with the machine.

Example
  include: ["outputs/*/checkpoints/best.pth"]
  .gitignore: outputs/      # git never looks inside outputs/ again

How to fix
  Run `repolicy fix`, or re-include the file and every parent directory
  (`outputs/*` then `!outputs/*/` ... `!outputs/*/checkpoints/best.pth`);
  `git check-ignore -v PATH` shows the line that hides it.

Policy keys
  include
""",
    "include-untracked": """\
What it does
  Flags a file that matches an `include` pattern, is not ignored, but is not
  committed yet.

Why it matters
  The file is meant to survive the machine; until it is committed and
  pushed, it will not.

Example
  include: ["outputs/*/checkpoints/last.pth"]
  $ git status    # ?? outputs/run2/checkpoints/last.pth

How to fix
  git add -- 'outputs/run2/checkpoints/last.pth' && git commit && git push

Policy keys
  include
""",
    "not-ignored": """\
What it does
  Flags an untracked file that matches an `exclude` pattern but is not
  ignored by `.gitignore`.

Why it matters
  The next `git add -A` will stage it. The policy is only safe when git
  itself agrees with it.

Example
  exclude: ["wandb/"]
  $ git status    # ?? wandb/run-20240101/files/output.log

How to fix
  Run `repolicy fix`, or add the pattern to `.gitignore`.

Policy keys
  exclude
""",
}


def _fix(ctx: Context, blob: BlobAtPath, pattern: str, ignored: bool) -> str:
    """Take it out of git; ask for the .gitignore line only when git lacks one
    (a path .gitignore already ignores was force-added: `git add -f`)."""
    spec = quote_pathspecs([blob.path])
    if ignored:
        after = "(.gitignore already ignores it: it was added with `git add -f`)"
    else:
        after = f"and add this line to .gitignore (or run `repolicy fix`): {pattern}"
    if blob.commit is not None:
        from repolicy.advice import remove_history_fix

        scope = ctx.advice.history if ctx.advice is not None else None
        return remove_history_fix(scope, blob.path, blob.oid, blob.path, blob.commit) + (
            f"\n{after}"
        )
    if ignored:
        return f"{after[1:-1]}; unstage it, keeping the file:\ngit rm --cached -- {spec}"
    return f"git rm --cached -- {spec}\n{after}"


def check_excluded(
    ctx: Context, blobs: Iterable[BlobAtPath], rules: Sequence[Rule | None] | None = None
) -> Iterator[Violation]:
    """excluded, for each blob; `rules`: `Context.excluding_rule_each` of the blobs,
    when the caller has it."""
    if not ctx.policy.exclude:
        return
    blobs = blobs if isinstance(blobs, list) else list(blobs)
    rules = ctx.excluding_rule_each(blobs) if rules is None else rules
    # A rule is never false: the blobs without one are set aside at C speed.
    found = itertools.compress(zip(blobs, rules, strict=True), rules)
    hits = [(blob, rule) for blob, rule in found if rule is not None]
    # One question to git for every path at once, and only when something matched.
    ignored = ctx.advice.ignored(b.path for b, _ in hits) if ctx.advice and hits else set()
    for blob, rule in hits:
        yield Violation(
            check="excluded",
            severity=ctx.severity("excluded", rule),
            path=blob.path,
            rule=str(rule),
            message=f"matches exclude pattern '{rule.text}' and must not be committed",
            fix=_fix(ctx, blob, rule.text, blob.path in ignored),
            commit=blob.commit,
            size=blob.size,
            why=rule.why,
        )


def check_work_tree(
    ctx: Context, ignored: Iterable[str], untracked: Iterable[str]
) -> Iterator[Violation]:
    """include-ignored, include-untracked and not-ignored for files on disk.

    `ignored` and `untracked` are git's own lists (`ls-files --others`, with
    and without `--ignored`): git decides what is ignored, the policy only
    says what should be.
    """
    for path in ignored:
        for rule in ctx.file_rules("include", path)[:1]:
            yield Violation(
                check="include-ignored",
                severity=ctx.severity("include-ignored", rule),
                path=path,
                rule=str(rule),
                message="must be committed, but .gitignore ignores it: `git add -A` skips it",
                fix=(
                    "repolicy fix (writes the lines git needs to keep it); to see the line "
                    f"that hides it: repolicy explain -- {quote_paths([path])}"
                ),
                why=rule.why,
            )
    for path in untracked:
        include = ctx.file_rules("include", path)
        if include:
            rule = include[0]
            yield Violation(
                check="include-untracked",
                severity=ctx.severity("include-untracked", rule),
                path=path,
                rule=str(rule),
                message="must be committed, but is not yet",
                fix=f"git add -- {quote_paths([path])} && git commit && git push",
                why=rule.why,
            )
            continue
        excluding = ctx.excluding_rule(path)
        if excluding is not None:
            yield Violation(
                check="not-ignored",
                severity=ctx.severity("not-ignored", excluding),
                path=path,
                rule=str(excluding),
                message="must never be committed, but is not ignored: `git add -A` would take it",
                fix=f"repolicy fix (writes it into .gitignore), or add this line: {excluding.text}",
                why=excluding.why,
            )
