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
