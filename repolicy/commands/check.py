"""`repolicy check [PATH...]`: the staged changes against the policy (the pre-commit hook)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    import os

    from repolicy.git import headstart

    # Git starts on the staged diff before the engine is imported: about 2 ms
    # of every commit's hook. (The command line has started it already when
    # its arguments alone show a staged check: then nothing is asked here.)
    headstart.start(os.getcwd())
    from repolicy.engine import judge
    from repolicy.scope import Staged

    # The report's modules are imported while git computes the staged diff.
    report = judge(Staged(args.paths), args.policy)
    from repolicy.report import finish

    return finish(report, args)
