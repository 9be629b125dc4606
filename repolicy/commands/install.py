"""`repolicy install [--uninstall]`: a git pre-push hook that checks every pushed ref
(`repolicy.hooks` says how it sits beside git-lfs's and pre-commit's)."""

from __future__ import annotations

import os
import sys
from typing import Any

from repolicy.errors import RepolicyError
from repolicy.git import Git
from repolicy.hooks import (
    NAMES,
    apply,
    hook_script,
    hooks_dir,
    plan_install,
    plan_uninstall,
    read_hook,
    tracked,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def _emit(args: Options, uninstall: bool, hook: str | None, lines: list[str]) -> None:
    if args.format == "json":
        report: dict[str, Any] = {
            "version": 1,
            "command": "uninstall" if uninstall else "install",
            "hook": hook,
            "actions": lines,
        }
        from repolicy.report import dumps_json

        print(dumps_json(report))
    elif not args.quiet:
        for line in lines:
            print(line)


def run(args: Options) -> int:
    uninstall = bool(getattr(args, "uninstall", False))
    force = bool(getattr(args, "force", False))
    created: list[str] = []
    git = Git(os.getcwd())
    info = git.discover().get()
    directory, shown_dir, common_dir = hooks_dir(git)
    show = {name: os.path.join(shown_dir, name) for name in NAMES}
    files = {name: read_hook(os.path.join(directory, name)) for name in NAMES}
    if uninstall:
        plan = plan_uninstall(files, show)
    else:
        plan = plan_install(files, hook_script(sys.executable), show)
    touched = {a.name for a in plan.actions} | {a.source for a in plan.actions if a.source}
    paths = [os.path.join(directory, name) for name in sorted(touched)]
    in_git = tracked(git, info.toplevel, common_dir, paths)
    if in_git and not force:
        raise RepolicyError(
            f"{', '.join(in_git)}: tracked in this repository (core.hooksPath points into "
            'the work tree); call `repolicy check --push "$1" "$2"` from it by hand, '
            "with git's stdin, or use --force to change it anyway"
        )
    if plan.actions and not os.path.isdir(directory):
        os.makedirs(directory)
        created.append(f"created {shown_dir}{os.sep}")
    apply(directory, plan.actions)
    lines = created + [a.text for a in plan.actions] + plan.notes
    _emit(args, uninstall, show[plan.hook] if plan.hook else None, lines)
    return 0
