"""`repolicy check --range A..B` and `--base REF`: every commit of a range, judged as
a push of it would be (CI on a pull request)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    from repolicy.engine import judge
    from repolicy.report import finish
    from repolicy.scope import Range

    return finish(judge(Range(args.range, args.base), args.policy), args)
