"""`repolicy fix [--check] [--diff]`: `.gitignore` and `.gitattributes` lines git agrees with.

Only repolicy blocks are ever written: at the end of the root `.gitignore`
and `.gitattributes`, and of a nested `.gitignore` whose own lines would
overrule the policy. What `fix` must not do itself (untrack files, move blobs into
LFS, edit the user's own lines) it prints, with the paths quoted for a
POSIX shell.
"""

from __future__ import annotations

import os
import sys

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.fix.blocks import ManagedFile
    from repolicy.fix.plan import Plan
    from repolicy.git import IndexEntry
    from repolicy.options import Options
    from repolicy.policy import Allow


def run(args: Options) -> int:
    from repolicy.fix import blocks
    from repolicy.fix.plan import make_plan
    from repolicy.policy import load_policy

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    files_query = git.files()
    index_query = git.index_entries()
    excludes_query = git.excludes_file()
    policy = load_policy(info.toplevel, args.policy, os.path.join(info.git_dir, "repolicy"))
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
        lambda rel: _read_nested(info.toplevel, rel),
        _dvc_outs(info.toplevel, files, dvc_warnings),
        info_exclude=_read_info_exclude(info.git_dir),
        excludes_file=excludes_file,
    )
    changes = plan.new_contents()
    commands = _commands(git, plan, index_query.get(), allow)
    warnings = dvc_warnings + _warnings(plan)

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


def _dvc_outs(root: str, files: list[str], warnings: list[str]) -> list[tuple[str, bool, str, int]]:
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


def _read_info_exclude(git_dir: str) -> bytes:
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


def _read_nested(root: str, rel: str) -> bytes | None:
    path = os.path.join(root, rel)
    if os.path.islink(path):
        return None  # git does not read a symlinked ignore or attribute file
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _commands(
    git: Git, plan: Plan, index: list[IndexEntry], allow: tuple[Allow, ...] = ()
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
    return out


def _warnings(plan: Plan) -> list[str]:
    from repolicy.fix.sources import lint

    out = []
    for file in (plan.gitignore, plan.gitattributes):
        if file.exists:
            out += lint(file.rel, file.original)
    return out


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
