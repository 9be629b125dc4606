"""The pre-push hook `repolicy install` writes: its script, and the plan that puts it
beside the hooks already there (or takes it away).

The hook reads git's stdin once and gives the same lines to `repolicy check
--push REMOTE URL` and then to the hook that was there before, so it sits
next to git-lfs's and pre-commit's hooks without breaking either:

- no `pre-push`, or someone else's (git-lfs's, a hand-written one): that hook
  moves, byte for byte, to `pre-push.repolicy-chained` and ours takes its
  place and runs it after repolicy, with the same arguments and stdin;
- pre-commit's `pre-push`: ours becomes `pre-push.legacy`, the hook
  pre-commit itself runs first, with git's full stdin and arguments
  (`hook_impl._run_legacy`), even for pushes its own hooks skip. A
  `pre-push.legacy` already there (git-lfs's, moved aside by `pre-commit
  install`) becomes our chained hook.

Running it again changes nothing; `--uninstall` puts the chained hook back
where ours was. The hooks directory is git's (`rev-parse --git-path hooks`:
`core.hooksPath`, and the common directory of a linked worktree).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, NamedTuple

from repolicy.errors import RepolicyError
from repolicy.git import Git
from repolicy.report.names import shell_quote

HOOK = "pre-push"


LEGACY = "pre-push.legacy"  # the hook pre-commit's own pre-push hook runs first


CHAINED = "pre-push.repolicy-chained"  # the hook ours runs after repolicy


NAMES = (HOOK, LEGACY, CHAINED)


MARKER = "# repolicy: pre-push hook written by `repolicy install`"


# How pre-commit recognises its own hook script (install_uninstall.PRIOR_HASHES
# and CURRENT_HASH): the same test, so we agree with it on whose hook it is.
PRE_COMMIT_HASHES = (
    b"138fd403232d2ddd5efb44317e38bf03",
    b"4d9958c90bc262f47553e2c073f14cfe",
    b"d8ee923c46731b42cd95cc869add4062",
    b"49fd668cb42069aa1b6048464be5d395",
    b"79f09a650522a87b0da915d0d983b2de",
    b"e358c9dae00eac5d06b38dfdb1e33a8c",
)


Kind = Literal["absent", "repolicy", "pre-commit", "git-lfs", "other"]


_SCRIPT = """\
#!/bin/sh
{marker}
# (`repolicy install --uninstall` removes it and puts back the hook it chains).
#
# Gives git's stdin lines ("<local ref> <local sha> <remote ref> <remote sha>",
# one per pushed ref) to `repolicy check --push REMOTE URL`, then the same
# lines and arguments to the hook that was here before, now
# pre-push.repolicy-chained next to this file. The push fails if either fails;
# when repolicy refuses it, the chained hook (git-lfs's upload) does not run.

REPOLICY_PYTHON={python}

# Read the lines once, byte for byte (the x keeps trailing newlines).
lines=$(cat; echo x)
lines=${{lines%x}}

if [ -x "$REPOLICY_PYTHON" ]; then
    printf '%s' "$lines" | "$REPOLICY_PYTHON" -m repolicy check --push "$1" "$2" || exit $?
elif command -v repolicy >/dev/null 2>&1; then
    printf '%s' "$lines" | repolicy check --push "$1" "$2" || exit $?
else
    echo "repolicy: not found ($REPOLICY_PYTHON is gone and repolicy is not on PATH):" \\
        "reinstall it, or push with --no-verify" >&2
    exit 1
fi

chained=$(dirname "$0")/{chained}
if [ -x "$chained" ]; then
    printf '%s' "$lines" | "$chained" "$@" || exit $?
fi
exit 0
"""


def hook_script(python: str | None) -> bytes:
    """Our hook: `python -m repolicy` if that interpreter exists, else `repolicy` on PATH."""
    return _SCRIPT.format(marker=MARKER, python=shell_quote(python or ""), chained=CHAINED).encode()


class HookFile(NamedTuple):
    """One file in the hooks directory, as much as decides what to do with it."""

    data: bytes  # contents (of the target, for a symlink; empty when dangling)
    executable: bool
    link: str | None  # a symlink's target, else None


def kind(hook: HookFile | None) -> Kind:
    """Whose hook this is."""
    if hook is None:
        return "absent"
    if MARKER.encode() in hook.data:
        return "repolicy"
    if any(h in hook.data for h in PRE_COMMIT_HASHES):
        return "pre-commit"
    if b"git lfs pre-push" in hook.data:
        return "git-lfs"
    return "other"


_DESCRIBE: dict[Kind, str] = {
    "repolicy": "repolicy's hook",
    "pre-commit": "pre-commit's hook",
    "git-lfs": "git-lfs's hook",
    "other": "an existing hook",
    "absent": "nothing",
}


class Action(NamedTuple):
    """One change to the hooks directory; `text` is the line printed for it."""

    op: Literal["move", "write", "remove"]
    name: str  # the file changed (for a move: where it goes)
    text: str
    source: str | None = None  # for a move: the file that moves
    data: bytes = b""  # for a write


class Plan(NamedTuple):
    actions: list[Action]
    hook: str | None  # where our hook is afterwards (a name in NAMES), None when uninstalled
    notes: list[str]  # lines printed that change nothing


def _chain(name: str, files: Mapping[str, HookFile | None], show: Mapping[str, str]) -> Action:
    """Make `name`'s hook the chained one, without losing any hook."""
    hook, chained = files[name], files[CHAINED]
    assert hook is not None
    if chained is None or kind(chained) == "repolicy":
        # A copy of our own script there would only call itself: nothing to keep.
        text = f"moved {show[name]} ({_DESCRIBE[kind(hook)]}) to {show[CHAINED]}"
        return Action("move", CHAINED, text, source=name)
    if chained == hook:
        text = f"removed {show[name]}: the same hook is already chained as {show[CHAINED]}"
        return Action("remove", name, text)
    raise RepolicyError(
        f"{show[CHAINED]} already holds another hook (left by an earlier `repolicy install`) "
        f"and {show[name]} would take its place: keep one of them, then run "
        "`repolicy install` again"
    )


def plan_install(
    files: Mapping[str, HookFile | None], script: bytes, show: Mapping[str, str]
) -> Plan:
    """What `repolicy install` does, given the files now in the hooks directory.

    `files` maps each of NAMES to its file or None; `show` maps each name to
    the path printed for it. Raises RepolicyError where a hook would be lost.
    """
    hook, legacy, chained = (files[n] for n in NAMES)
    actions: list[Action] = []
    current: HookFile | None
    if kind(hook) == "repolicy":
        slot, current = HOOK, hook
    elif kind(hook) == "pre-commit":
        slot, current = LEGACY, legacy
        if kind(legacy) == "pre-commit":
            raise RepolicyError(
                f"{show[LEGACY]} is pre-commit's own hook, which pre-commit cannot run "
                "as its legacy hook: run `pre-commit install -f --hook-type pre-push` first"
            )
        if kind(legacy) not in ("absent", "repolicy"):
            actions.append(_chain(LEGACY, files, show))
            current = None
    elif kind(legacy) == "repolicy":
        # pre-commit's hook is gone (removed by hand), leaving ours where git never runs it.
        if hook is not None:
            actions.append(_chain(HOOK, files, show))
        text = f"moved {show[LEGACY]} (repolicy's hook) to {show[HOOK]}: pre-commit's hook is gone"
        actions.append(Action("move", HOOK, text, source=LEGACY))
        slot, current = HOOK, legacy
    else:
        slot, current = HOOK, None
        if hook is not None:
            actions.append(_chain(HOOK, files, show))

    runs_chained = chained is not None and kind(chained) != "repolicy"
    if any(a.name == CHAINED for a in actions):
        runs_chained = True
    after = f", then {show[CHAINED]}" if runs_chained else ""
    where = (
        f" (pre-commit's {show[HOOK]} runs it first, with every pushed ref)"
        if slot == LEGACY
        else ""
    )
    if current is not None and current.data == script and current.executable:
        notes = [f"already installed: {show[slot]}{where}: runs repolicy check --push{after}"]
        return Plan(actions, slot, notes if not actions else [])
    verb = "updated" if kind(current) == "repolicy" else "installed"
    text = f"{verb} {show[slot]}{where}: runs repolicy check --push{after}"
    actions.append(Action("write", slot, text, data=script))
    return Plan(actions, slot, [])


def plan_uninstall(files: Mapping[str, HookFile | None], show: Mapping[str, str]) -> Plan:
    """What `repolicy install --uninstall` does: ours out, the chained hook back in its place."""
    hook, chained = files[HOOK], files[CHAINED]
    ours = [n for n in (HOOK, LEGACY) if kind(files[n]) == "repolicy"]
    if not ours:
        note = "repolicy's pre-push hook is not installed"
        if chained is not None:
            note += f"; {show[CHAINED]} is left from an earlier install (move it back yourself)"
        return Plan([], None, [note])
    actions = [Action("remove", n, f"removed {show[n]} (repolicy's hook)") for n in ours]
    if chained is not None:
        if kind(chained) == "repolicy":
            actions.append(Action("remove", CHAINED, f"removed {show[CHAINED]} (repolicy's hook)"))
        else:
            # Where git (or pre-commit, for pre-push.legacy) will run it, as before.
            back = HOOK if HOOK in ours or hook is None else LEGACY
            text = f"moved {show[CHAINED]} ({_DESCRIBE[kind(chained)]}) back to {show[back]}"
            actions.append(Action("move", back, text, source=CHAINED))
    return Plan(actions, None, [])


def read_hook(path: str) -> HookFile | None:
    if not os.path.lexists(path):
        return None
    if os.path.isdir(path):
        raise RepolicyError(f"{path} is a directory, not a hook")
    link = os.readlink(path) if os.path.islink(path) else None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:  # a dangling symlink
        data = b""
    except OSError as exc:
        raise RepolicyError(f"cannot read {path}: {exc.strerror}") from None
    return HookFile(data, os.access(path, os.X_OK), link)


def hooks_dir(git: Git) -> tuple[str, str, str]:
    """The directory git runs hooks from (absolute, and as printed) and the common git dir."""
    shown, common = git.hooks_path()
    return (
        os.path.normpath(os.path.join(git.cwd, shown)),
        shown,
        os.path.normpath(os.path.join(git.cwd, common)),
    )


def _inside(path: str, directory: str) -> str | None:
    """`path` relative to `directory` when it lies inside it, else None."""
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(directory))
    return None if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def tracked(git: Git, toplevel: str, common_dir: str, paths: list[str]) -> list[str]:
    """Those of `paths` (absolute) that are tracked files of the work tree
    (`core.hooksPath` can point into it)."""
    inside = [
        rel
        for path in paths
        if _inside(path, common_dir) is None and (rel := _inside(path, toplevel)) is not None
    ]
    if not inside:
        return []
    return Git(toplevel).tracked(inside)


def apply(directory: str, actions: list[Action]) -> None:
    for action in actions:
        target = os.path.join(directory, action.name)
        if action.op == "move":
            assert action.source is not None
            os.replace(os.path.join(directory, action.source), target)
        elif action.op == "remove":
            os.remove(target)
        else:
            tmp = os.path.join(directory, f".{action.name}.repolicy-tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o777)
            with os.fdopen(fd, "wb") as fh:
                fh.write(action.data)
            os.chmod(tmp, os.stat(tmp).st_mode | 0o100)  # executable, whatever the umask
            os.replace(tmp, target)
