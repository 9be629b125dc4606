"""`repolicy check --pre-receive`: the server's hook, judging every object a push brings
(`repolicy.engine.received`)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    import os

    from repolicy.engine import judge
    from repolicy.engine.received import DEBUG_CONFIG, server_enables
    from repolicy.git import Git
    from repolicy.report import finish
    from repolicy.scope import Received, parse_receive_lines, read_stdin

    # A local pusher's environment reaches this hook: its REPOLICY_DEBUG must not
    # show tracebacks of the server's internals; the server's own config may.
    os.environ.pop("REPOLICY_DEBUG", None)
    # Objects are judged as what they are, whatever refs/replace/ holds here.
    os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
    here = Git(os.getcwd())
    if server_enables(here, DEBUG_CONFIG):
        os.environ["REPOLICY_DEBUG"] = "1"
    updates = parse_receive_lines(read_stdin(), here.hash_length())
    return finish(judge(Received(updates), args.policy), args)
