"""`repolicy audit`: the work tree, the index and the history of every branch and tag
(`repolicy.engine.repository`), before a push and as the CI gate."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    if args.write_baseline:
        from repolicy import baseline
        from repolicy.engine.repository import write_baseline

        result = write_baseline(args.policy, args.quiet)
        if args.format == "json":
            from repolicy.report import dumps_json

            print(dumps_json({"version": 1, "command": "audit", "baseline": result}))
        else:
            print(baseline.describe(result))
        return 0
    from repolicy.engine import judge
    from repolicy.report import finish
    from repolicy.scope import Repository

    return finish(judge(Repository(), args.policy, quiet=args.quiet), args)
