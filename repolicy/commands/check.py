"""`repolicy check [PATH...]`: the staged changes against the policy (the pre-commit hook)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    from repolicy.engine import judge
    from repolicy.report import finish
    from repolicy.scope import Staged

    return finish(judge(Staged(args.paths), args.policy), args)
