"""Command line: parse, dispatch lazily, and turn every failure into one line and exit 2.

Only the standard library is imported here; a command's module (and what it
needs: PyYAML, humanize, json) is imported after parsing, so `--version` and
the pre-commit hook start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from repolicy import __version__

if TYPE_CHECKING:
    import argparse

COMMANDS = ("check", "rule")
FORMATS = ("text", "json")


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    import argparse

    # On subcommands the defaults are suppressed, so an option given before
    # the command is not reset by the subparser.
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    parser.add_argument(
        "-C", dest="chdir", metavar="DIR", default=d(None), help="run as if started in DIR"
    )
    parser.add_argument(
        "--policy",
        metavar="PATH",
        default=d(None),
        help="policy file (default: .repolicy.yaml, else preset default)",
    )
    parser.add_argument("--format", choices=FORMATS, default=d("text"), help="report format")
    parser.add_argument("--strict", action="store_true", default=d(False), help="warnings fail too")
    parser.add_argument(
        "--no-color", action="store_true", default=d(False), help="no colour (also NO_COLOR)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=d(False), help="one line per violation"
    )


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="repolicy",
        description="Git hooks and repository policy for machine-learning repositories.",
    )
    parser.add_argument("--version", action="version", version=f"repolicy {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = sub.add_parser(
        "check",
        help="check the staged changes (the pre-commit hook)",
        description="Check the staged changes (index against HEAD) against the policy.",
    )
    _common(check, suppress=True)
    check.add_argument("paths", nargs="*", metavar="PATH", help="narrow the check to these paths")

    rule = sub.add_parser(
        "rule", help="explain a check", description="Show the documentation of checks."
    )
    _common(rule, suppress=True)
    rule.add_argument("names", nargs="*", metavar="NAME", help="check names (none: list all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:
        # The cheapest possible answer: no argparse, no command module.
        print(f"repolicy {__version__}")
        return 0
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(args_list)
    except SystemExit as exc:  # argparse: bad arguments (2), --help/--version (0)
        return int(exc.code) if isinstance(exc.code, int) else 2
    try:
        return _dispatch(args, extra)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        return _fail(exc)


def _fail(exc: Exception) -> int:
    from repolicy.errors import PolicyError, RepolicyError

    if isinstance(exc, PolicyError):
        print(str(exc), file=sys.stderr)
    elif isinstance(exc, RepolicyError):
        print(f"repolicy: error: {exc}", file=sys.stderr)
    else:
        if os.environ.get("REPOLICY_DEBUG"):
            import traceback

            traceback.print_exc()
        print(
            f"repolicy: internal error: {type(exc).__name__}: {exc} "
            "(set REPOLICY_DEBUG=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
    return 2


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    from repolicy.errors import RepolicyError

    chdir = getattr(args, "chdir", None)
    if chdir is not None:
        try:
            os.chdir(chdir)
        except OSError as exc:
            raise RepolicyError(f"cannot change to {chdir}: {exc.strerror}") from None
    if extra:
        # pre-commit appends file names without `--`, so a staged file called
        # `-rf.log` arrives looking like an option: take it when it exists.
        if args.command == "check" and all(os.path.lexists(arg) for arg in extra):
            args.paths = [*args.paths, *extra]
        else:
            raise RepolicyError(f"unrecognized arguments: {' '.join(extra)}")
    command = args.command
    if command == "check":
        from repolicy.commands import check

        return check.run(args)
    if command == "rule":
        from repolicy.commands import rule

        return rule.run(args)
    raise RepolicyError(f"unknown command {command!r}")
