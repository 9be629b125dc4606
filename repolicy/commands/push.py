"""`repolicy check --push`: every commit a push would send (the pre-push hook).

The refs come from the command line first, then from git's own lines on
stdin, then from what the pre-commit framework exports (it keeps stdin for
itself); `repolicy.engine.pushed` judges them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    import os

    from repolicy.engine import judge
    from repolicy.git import Git
    from repolicy.report import finish
    from repolicy.scope import Pushed, parse_push_lines, read_stdin

    # What is pushed is judged as it is, whatever refs/replace/ says here.
    os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
    remote = args.remote or os.environ.get("PRE_COMMIT_REMOTE_NAME") or None
    from_ref, to_ref = args.from_ref, args.to_ref
    updates = parse_push_lines(read_stdin(), Git(os.getcwd()).hash_length()) if not to_ref else []
    if not updates and not to_ref:
        from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or None
        to_ref = os.environ.get("PRE_COMMIT_TO_REF") or None
    return finish(judge(Pushed(updates, remote, from_ref, to_ref), args.policy), args)
