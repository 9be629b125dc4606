"""`repolicy fix [--check] [--diff]`: `.gitignore` and `.gitattributes` lines git agrees with.

Only repolicy blocks are ever written: at the end of the root `.gitignore`
and `.gitattributes`, and of a nested `.gitignore` whose own lines would
overrule the policy. What `fix` must not do itself (untrack files, move blobs into
LFS, edit the user's own lines) it prints, with the paths quoted for a
POSIX shell.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.fix.blocks import ManagedFile
    from repolicy.fix.plan import Plan
    from repolicy.options import Options


def run(args: Options) -> int:
    from repolicy.fix import blocks
    from repolicy.fix.repository import work_out

    found = work_out(args.policy)
    plan, changes, commands, warnings = found.plan, found.changes, found.commands, found.warnings

    diff = ""
    if args.diff:
        diff = "".join(_diff(file, data) for file, data in changes)
    elif not args.check:
        # All or nothing: a file that cannot be written stops fix before any is.
        for file, _ in changes:
            blocks.check_writable(file)
        for file, data in changes:
            blocks.write(file, data)

    remaining = bool(plan.conflicts or commands)
    # --check and --diff fail on a change still to write; fix itself on what remains.
    pending = bool(changes) and (args.check or args.diff)
    code = 1 if pending or remaining else 0

    if args.format == "json":
        _emit_json(plan, changes, commands, warnings, written=not (args.check or args.diff))
    else:
        _emit_text(plan, changes, commands, warnings, diff, args)
    return code


def _diff(file: ManagedFile, data: bytes) -> str:
    import difflib

    old = file.original.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    new = data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{file.rel}" if file.exists else "/dev/null",
        tofile=f"b/{file.rel}",
    )
    no_newline = "\n\\ No newline at end of file\n"
    return "".join(ln if ln.endswith("\n") else ln + no_newline for ln in lines)


def _emit_json(
    plan: Plan,
    changes: list[tuple[ManagedFile, bytes]],
    commands: list[tuple[str, str]],
    warnings: list[str],
    written: bool,
) -> None:
    changed = [f.rel for f, _ in changes]
    data = {
        "version": 1,
        "command": "fix",
        "changed": changed,
        "written": written and bool(changed),
        "blocks": {file.rel: block for file, block in plan.blocks()},
        "conflicts": [c._asdict() for c in plan.conflicts],
        "commands": [{"command": cmd, "why": why} for cmd, why in commands],
        "warnings": warnings,
    }
    from repolicy.report import dumps_json

    out = dumps_json(data)
    sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    sys.stdout.write(out + "\n")


def _emit_text(
    plan: Plan,
    changes: list[tuple[ManagedFile, bytes]],
    commands: list[tuple[str, str]],
    warnings: list[str],
    diff: str,
    args: Options,
) -> None:
    out: list[str] = []
    if diff:
        out.append(diff.rstrip("\n"))
    changed = {f.rel for f, _ in changes}
    verb = "would change" if args.check or args.diff else "wrote"
    for file, block in plan.blocks():
        if file.rel in changed:
            what = f"repolicy block of {len(block)} lines" if block else "repolicy block removed"
            out.append(f"{verb} {file.rel} ({what})")
        elif not args.quiet:
            out.append(f"{file.rel}: already agrees with the policy")
    for warning in warnings:
        out.append(f"warning: {warning}")
    for c in plan.conflicts:
        where = f"{c.file}:{c.line}" if c.line else c.file
        out.append(f"conflict: {where}: {c.message}\n  edit: {c.edit}")
    if commands:
        out.append("run these yourself:")
        for cmd, why in commands:
            out.append(f"  # {why}\n  {cmd}")
    if not plan.conflicts and not commands:
        pending = bool(changed) and verb != "wrote"
        out.append("git agrees with the policy" + (" once these changes are written" * pending))
    from repolicy.report import safe_text

    # A file name's control characters reach the terminal in octal, as git
    # quotes them; the diff (input for `git apply`) keeps its bytes.
    shown = out[:1] if diff else []
    shown += [safe_text(line) for line in out[len(shown) :]]
    sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    sys.stdout.write("\n".join(shown) + "\n")
