"""The engine: one judgment of a policy against a scope, returned as a `Report`.

Every judging command calls `judge` and renders what it returns: `check`
(the staged scope), `check --push` (pushed), `check --pre-receive`
(received), `check --range`/`--base` (range), `audit` (the repository) and
`explain` (the repository, for some paths). One module per scope gathers
the facts (through `repolicy.git`, in batches) and runs the checks
(`repolicy.checks`) over them; the pushed, received and range scopes share
`engine.commits`. The checks' questions that depend on earlier answers are
asked, for every scope, by `engine.tree_facts` and `engine.dvc_facts`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from repolicy.git import Git, RepoInfo
    from repolicy.policy import Policy
    from repolicy.report import Report
    from repolicy.scope import Scope

# The module that judges each kind of scope, imported only when one runs.
_MODULES = {
    "Staged": "staged",
    "Pushed": "pushed",
    "Received": "received",
    "Range": "range",
    "Repository": "repository",
}


def judge(scope: Scope, policy: str | None = None, *, quiet: bool = False) -> Report:
    """The report of `policy` (a path or `preset:NAME`; None: the repository's own)
    on `scope`. Raises RepolicyError when the scope cannot be judged whole."""
    # An import statement's machinery (not importlib's), so `-X importtime` sees it.
    module = __import__(f"repolicy.engine.{_MODULES[type(scope).__name__]}", fromlist=["judge"])
    if type(scope).__name__ == "Repository":
        report: Report = module.judge(scope, policy, quiet)
    else:
        report = module.judge(scope, policy)
    return report


def work_tree_policy(git: Git, info: RepoInfo, policy_arg: str | None) -> Policy:
    """The policy a command in a work tree judges by: `policy_to_confirm`'s,
    confirmed at once."""
    policy, confirm = policy_to_confirm(git, info, policy_arg)
    confirm()
    return policy


def policy_to_confirm(
    git: Git, info: RepoInfo, policy_arg: str | None
) -> tuple[Policy, Callable[[], None]]:
    """The policy a command in a work tree judges by (`--policy`, else the work
    tree's `.repolicy.yaml`, else the default preset), and a call that raises
    when that was the default preset although the index tracks a
    `.repolicy.yaml` the work tree lacks: a sparse checkout that leaves it
    out, or a file deleted without `git rm`. The team meant a policy; the
    default preset in its place would pass what it forbids.

    The index is asked only when the file is absent, beside the command's
    other questions: the hook makes the call just before its report."""
    import os

    from repolicy.policy import POLICY_FILE, load_policy

    unseen = None
    if policy_arg is None and not os.path.lexists(os.path.join(info.toplevel, POLICY_FILE)):
        unseen = git.tracks(POLICY_FILE)
    policy = load_policy(info.toplevel, policy_arg, os.path.join(info.git_dir, "repolicy"))

    def confirm() -> None:
        if unseen is not None and unseen.get():
            from repolicy.errors import PolicyError

            raise PolicyError(
                POLICY_FILE,
                1,
                1,
                "the index tracks this file, but the work tree lacks it (a sparse "
                "checkout that leaves it out, or a file deleted without `git rm`): "
                "the default preset would judge in its place. Check it out:\n"
                f"git checkout -- {POLICY_FILE}\n"
                f"or, in a sparse checkout: git sparse-checkout add /{POLICY_FILE}\n"
                "or name a policy with --policy",
            )

    return policy, confirm
