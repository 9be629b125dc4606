"""Command line: parse, dispatch lazily, and turn every failure into one line and exit 2.

Only the standard library is imported here, and little of it: the hook's
own invocation (`repolicy check FILE...`) is recognised without argparse, and
a command's module (with what it needs: PyYAML, json) is imported
after parsing, so `--version` and the pre-commit hook start fast.
"""

from __future__ import annotations

import os
import sys

from repolicy import __version__
from repolicy.options import Options

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import NoReturn

FORMATS = ("text", "json", "sarif", "github")
# sarif and github describe violations; only the commands that report them print those.
REPORT_FORMATS = ("sarif", "github")
REPORT_COMMANDS = ("check", "audit")
_FAST_FLAGS = {"--strict": "strict", "--no-color": "no_color", "-q": "quiet", "--quiet": "quiet"}
# `check`'s options: those taking a value, then the others.
_CHECK_VALUED = ("-C", "--policy", "--format", "--from-ref", "--to-ref")
_CHECK_FLAGS = (
    "--strict",
    "--no-color",
    "-q",
    "--quiet",
    "--push",
    "--pre-receive",
    "-h",
    "--help",
)


def _fast_options(argv: list[str]) -> Options | None:
    """`check` with file names and simple flags, as pre-commit runs it; else None."""
    if not argv or argv[0] != "check":
        return None
    options = Options("check")
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--":
            options.paths.extend(rest)
        elif arg in _FAST_FLAGS:
            setattr(options, _FAST_FLAGS[arg], True)
        elif arg.startswith("-"):
            return None
        else:
            options.paths.append(arg)
    return options


_EXIT_REPORT = """exit codes:
  0  nothing at error severity (warnings allowed unless --strict)
  1  at least one error-severity violation
  2  could not run: bad policy, bad arguments, not a git repository, git missing"""

# Two examples and the exit codes of each command, shown by `repolicy COMMAND --help`.
EPILOGS = {
    "check": f"""examples:
  repolicy check                      # the staged changes, as the pre-commit hook does
  repolicy check --push origin URL    # in a pre-push hook: every commit the push sends

{_EXIT_REPORT}""",
    "audit": f"""examples:
  repolicy audit --format sarif > repolicy.sarif   # for code scanning in CI
  repolicy audit --write-baseline                  # accept what history already holds

{_EXIT_REPORT}""",
    "fix": """examples:
  repolicy fix --diff     # show the change to .gitignore and .gitattributes, write nothing
  repolicy fix --check    # in CI: exit 1 if a change or a command is still needed

exit codes:
  0  git's ignore and attribute rules agree with the policy, nothing left to run
  1  --check/--diff: a change to write; or commands printed that remain to be run
  2  could not run: bad policy, bad arguments, not a git repository""",
    "explain": """examples:
  repolicy explain outputs/run1/checkpoints/best.pth
  repolicy explain --format json -- logs/.gitkeep

exit codes:
  0  explained (whatever the verdict)
  2  could not run: bad policy, bad arguments, not a git repository""",
    "init": """examples:
  repolicy init                  # propose and write .repolicy.yaml
  repolicy init --preset github --force

exit codes:
  0  the policy was written
  2  a policy exists (without --force), an unknown preset, or could not run""",
    "install": """examples:
  repolicy install               # the pre-push hook, chained with git-lfs's and pre-commit's
  repolicy install --uninstall

exit codes:
  0  installed (or removed)
  2  could not run: a hook it must not change, bad arguments, not a git repository""",
    "rule": """examples:
  repolicy rule                  # every check, one line each
  repolicy rule excluded lfs-missing

exit codes:
  0  shown
  2  an unknown check name""",
}


def _reads_as_check_option(arg: str) -> bool:
    """Whether argparse would take `arg` as one of check's options (abbreviations,
    `--opt=value`, `-Cdir` and `-qh` clusters included)."""
    if len(arg) < 2 or arg[0] != "-":
        return False
    if arg[1] != "-":
        return f"-{arg[1]}" in (*_CHECK_VALUED, *_CHECK_FLAGS)
    name = arg.partition("=")[0]
    return len(name) > 2 and any(o.startswith(name) for o in (*_CHECK_VALUED, *_CHECK_FLAGS))


def _hook_arguments(argv: list[str]) -> list[str] | str:
    """`check`'s arguments with every file name after one `--`, or why that is unclear.

    pre-commit runs `entry + args + file names`. With the hook's entry
    `repolicy check --`, the user's `args` arrive after the `--` too: the
    leading options there that name no existing path are theirs (pre-commit
    passes only names that exist), and the first existing path or other word
    starts the file names. Without a `--` (an older entry) a name such as
    `-h` or `--policy=x.yaml` would be read as an option, so an option that
    also names an existing path is refused rather than guessed.
    """
    try:
        cut = argv.index("--")
    except ValueError:
        cut = len(argv)
    head, tail = argv[:cut], argv[cut + 1 :]
    for arg in head[1:]:
        if _reads_as_check_option(arg) and os.path.lexists(arg):
            return (
                f"{arg!r} is both an option and a file here; give file names after `--` "
                "(in .pre-commit-config.yaml: `entry: repolicy check --`, or end `args` "
                "with `--`)"
            )
    if cut == len(argv):
        return argv
    options: list[str] = []
    k = 0
    while k < len(tail):
        arg = tail[k]
        if arg in ("-h", "--help") or not _reads_as_check_option(arg) or os.path.lexists(arg):
            break
        options.append(arg)
        k += 1
        if arg in _CHECK_VALUED and k < len(tail):
            options.append(tail[k])
            k += 1
    return [*head, *options, "--", *tail[k:]]


def _common(
    parser: argparse.ArgumentParser, *, suppress: bool, formats: tuple[str, ...] = FORMATS
) -> None:
    import argparse

    # On subcommands the defaults are suppressed, so an option given before
    # the command is not reset by the subparser.
    def d(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    add = parser.add_argument
    add("-C", dest="chdir", metavar="DIR", default=d(None), help="run as if started in DIR")
    add("--policy", metavar="PATH", default=d(None), help="policy file (default: .repolicy.yaml)")
    # The help names only the formats this command prints; `_dispatch` refuses a
    # report format a command does not print, saying which it does.
    add(
        "--format",
        choices=FORMATS,
        metavar="{" + ",".join(formats) + "}",
        default=d("text"),
        help="output format",
    )
    add("--strict", action="store_true", default=d(False), help="warnings fail too")
    add("--no-color", action="store_true", default=d(False), help="no colour (also NO_COLOR)")
    add("-q", "--quiet", action="store_true", default=d(False), help="one line per violation")


def _include_allowed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--include-allowed",
        action="store_true",
        help="also list what the policy's allow entries exempt (json; sarif: as suppressed)",
    )


def build_parser() -> argparse.ArgumentParser:
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            # One line, like every other failure; `--help` has the usage.
            self.exit(2, f"repolicy: error: {message} (see `{self.prog} --help`)\n")

    class Formatter(argparse.HelpFormatter):
        """Descriptions wrapped to the terminal; epilogs (examples, exit-code tables)
        printed as written."""

        def _fill_text(self, text: str, width: int, indent: str) -> str:
            if "\n" in text:
                return "".join(indent + line for line in text.splitlines(keepends=True))
            return super()._fill_text(text, width, indent)

    parser = Parser(
        prog="repolicy",
        description="Git hooks and repository policy for machine-learning repositories.",
        epilog=(
            "examples:\n  repolicy init && repolicy fix\n  repolicy audit\n\n"
            "`repolicy COMMAND --help` has each command's options, examples and exit codes.\n\n"
            + _EXIT_REPORT
        ),
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"repolicy {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    add_parser = sub.add_parser

    def command(name: str, **kwargs: object) -> argparse.ArgumentParser:
        return add_parser(
            name,
            epilog=EPILOGS[name],
            formatter_class=Formatter,
            **kwargs,  # type: ignore[arg-type]
        )

    check = command(
        "check",
        help="check the staged changes (the pre-commit hook)",
        description="Check the staged changes (index against HEAD) against the policy.",
    )
    _common(check, suppress=True)
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="narrow the check to these paths (with --push: the remote's name and URL)",
    )
    check.add_argument(
        "--push", action="store_true", help="check every commit a push sends (pre-push hook)"
    )
    check.add_argument(
        "--pre-receive",
        action="store_true",
        help="on a server: check every object a push brings (pre-receive hook)",
    )
    check.add_argument("--from-ref", metavar="REV", help="with --push: what the remote has")
    check.add_argument("--to-ref", metavar="REV", help="with --push: what is pushed")
    _include_allowed(check)
    check.add_argument(
        "--range", metavar="A..B", help="check every commit of A..B as a push of it (CI)"
    )
    check.add_argument(
        "--base", metavar="REF", help="check merge-base(REF, HEAD)..HEAD (a pull request into REF)"
    )

    audit = command(
        "audit",
        help="audit the work tree, the index and all history (before a push, in CI)",
        description="Audit the work tree, the index and the history of every branch and tag.",
    )
    _common(audit, suppress=True)
    audit.add_argument(
        "--write-baseline",
        action="store_true",
        help="record today's violations in the baseline file; later runs report only new ones",
    )
    _include_allowed(audit)

    install = command(
        "install",
        help="install the pre-push hook that checks every pushed ref",
        description=(
            "Write a git pre-push hook that runs `repolicy check --push` on every pushed ref, "
            "then the pre-push hook that was there (git-lfs's); next to pre-commit's hook it "
            "becomes pre-commit's pre-push.legacy."
        ),
    )
    _common(install, suppress=True, formats=("text", "json"))
    install.add_argument(
        "--uninstall", action="store_true", help="remove it and put back the hook it chained"
    )
    install.add_argument(
        "--force", action="store_true", help="also change hooks tracked in the work tree"
    )

    fix = command(
        "fix",
        help="write .gitignore and .gitattributes rules git agrees with",
        description=(
            "Rewrite the repolicy block of the root .gitignore and .gitattributes so git "
            "agrees with the policy; print the commands for what fix must not do itself."
        ),
    )
    _common(fix, suppress=True, formats=("text", "json"))
    mode = fix.add_mutually_exclusive_group()
    add_mode = mode.add_argument
    add_mode("--check", action="store_true", help="write nothing; exit 1 if a change is needed")
    add_mode("--diff", action="store_true", help="print the change as a diff; write nothing")

    explain = command(
        "explain",
        help="say which rules decide a path, and why",
        description=(
            "For each path: the policy rules that match it, the ignore and attribute lines "
            "git applies, how the index stores it, and what check and audit would report."
        ),
    )
    _common(explain, suppress=True, formats=("text", "json"))
    explain.add_argument("paths", nargs="+", metavar="PATH", help="paths (need not exist)")

    init = command(
        "init",
        help="propose a policy for this repository and write .repolicy.yaml",
        description=(
            "Look at the repository (checkpoints, datasets, DVC, experiment-tracking output, "
            ".gitattributes LFS lines, the remote's host) and write a commented .repolicy.yaml; "
            "print the pre-commit entries and the commands to run next."
        ),
    )
    _common(init, suppress=True, formats=("text", "json"))
    init.add_argument(
        "--preset", metavar="NAME", help="extend this preset first, whatever is found"
    )
    init.add_argument("--force", action="store_true", help="replace an existing policy")

    rule = command("rule", help="explain a check", description="Show the documentation of checks.")
    _common(rule, suppress=True, formats=("text", "json"))
    rule.add_argument("names", nargs="*", metavar="NAME", help="check names (none: list all)")
    return parser


def parse(argv: list[str]) -> tuple[Options, list[str]] | int:
    """Options and unrecognised arguments, or an exit code (usage error, --help)."""
    if argv and argv[0] == "check":
        arranged = _hook_arguments(argv)
        if isinstance(arranged, str):
            print(f"repolicy: error: {arranged}", file=sys.stderr)
            return 2
        argv = arranged
    fast = _fast_options(argv)
    if fast is not None:
        return fast, []
    parser = build_parser()
    try:
        ns, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # argparse: bad arguments (2), --help/--version (0)
        return int(exc.code) if isinstance(exc.code, int) else 2
    return Options.from_namespace(ns), extra


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        # The cheapest possible answer: no argparse, no command module.
        print(f"repolicy {__version__}")
        return 0
    if args[:1] == ["check"] and _fast_options(args) is not None:
        # The pre-commit hook's command line: git starts on the staged diff,
        # the longest wait of the run, before the bundle below is read (about
        # 1 ms: the few modules asking needs are read from their own files).
        # A diff the command does not take is dropped unread (`headstart.take`).
        from repolicy.git import headstart

        headstart.start(os.getcwd())
    # The rest of repolicy is read from one file from here on (`bundle`).
    from repolicy import bundle

    bundle.install()
    parsed = parse(args)
    if isinstance(parsed, int):
        return parsed
    options, extra = parsed
    try:
        return _dispatch(options, extra)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        return _fail(exc, on_server=bool(options.pre_receive))


def run() -> None:
    """The console script (and `python -m repolicy`): `main`, then leave at once.

    Tearing the interpreter down takes about 5 ms, a tenth of a pre-commit
    hook run, and does nothing a finished command needs: every file is
    closed by then and every git process reaped, so once the output is
    flushed the process exits without it.
    """
    # An audit builds hundreds of thousands of small records and no cycles worth
    # collecting; the collector's passes over them cost about 5% of its time.
    import gc

    gc.disable()
    code = main()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the hook closed it before Python started
                stream.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`)
        code = code or 1
    # Written again if this run imported modules it did not hold; `--version`
    # never read it, and has nothing to import for it.
    bundle = sys.modules.get("repolicy.bundle")
    if bundle is not None:
        bundle.save()
    os._exit(code)


def _fail(exc: Exception, on_server: bool = False) -> int:
    """The one-line message for an exception, and exit 2. `on_server`: in a
    server's hook, where only the repository's own config turns tracebacks on
    (the pusher's REPOLICY_DEBUG never does; see `repolicy.commands.prereceive`)."""
    from repolicy.errors import FileError, RepolicyError

    if isinstance(exc, FileError):
        print(str(exc), file=sys.stderr)
    elif isinstance(exc, RepolicyError):
        print(f"repolicy: error: {exc}", file=sys.stderr)
    elif isinstance(exc, OSError) and exc.strerror:
        # The file system refused (a read-only hooks directory, a full disk):
        # the user's problem to fix, named with its file, not an internal error.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"repolicy: error: {where}{exc.strerror}", file=sys.stderr)
    else:
        if os.environ.get("REPOLICY_DEBUG"):
            import traceback

            traceback.print_exc()
        if on_server:
            hint = (
                "run `git config --local repolicy.debug true` in the server's repository "
                "to see the traceback"
            )
        else:
            hint = "set REPOLICY_DEBUG=1 to see the traceback"
        print(
            f"repolicy: internal error: {type(exc).__name__}: {exc} ({hint}, and please report it)",
            file=sys.stderr,
        )
    return 2


# The module of each command under repolicy.commands, imported only when run.
COMMANDS = {
    "check": "check",
    "audit": "audit",
    "install": "install",
    "fix": "fix",
    "explain": "explain",
    "init": "init",
    "rule": "rule",
}


def _check_mode(options: Options) -> str:
    """The module `check` runs as: staged (the default), a range, a push, a receive."""
    from repolicy.errors import RepolicyError

    push_options = (options.push, options.pre_receive, options.from_ref, options.to_ref)
    if options.range is not None or options.base is not None:
        if options.range is not None and options.base is not None:
            raise RepolicyError("check takes --range or --base, not both")
        if options.paths or any(push_options):
            raise RepolicyError("check --range/--base takes no paths and no push options")
        return "range"
    if options.pre_receive:
        if options.paths or options.push or options.from_ref or options.to_ref:
            raise RepolicyError("check --pre-receive reads its refs from stdin and takes no others")
        return "prereceive"
    if options.push or options.from_ref or options.to_ref:
        if len(options.paths) > 2:
            raise RepolicyError("check --push takes at most a remote name and its URL")
        options.remote = options.paths[0] if options.paths else None
        options.url = options.paths[1] if len(options.paths) > 1 else None
        return "push"
    return "check"


def _dispatch(options: Options, extra: list[str]) -> int:
    from repolicy.errors import RepolicyError

    if options.format in REPORT_FORMATS and options.command not in REPORT_COMMANDS:
        raise RepolicyError(
            f"--format {options.format} is for the reports of check and audit; "
            f"{options.command} prints text or json"
        )
    if options.chdir is not None:
        try:
            os.chdir(options.chdir)
        except OSError as exc:
            raise RepolicyError(f"cannot change to {options.chdir}: {exc.strerror}") from None
    if extra:
        # pre-commit appends file names without `--`, so a staged file called
        # `-rf.log` arrives looking like an option: take it when it exists.
        if (
            options.command == "check"
            and not options.push
            and all(os.path.lexists(arg) for arg in extra)
        ):
            options.paths = [*options.paths, *extra]
        else:
            raise RepolicyError(f"unrecognized arguments: {' '.join(extra)}")
    name = _check_mode(options) if options.command == "check" else COMMANDS.get(options.command)
    if name is None:
        raise RepolicyError(f"unknown command {options.command!r}")
    # __import__, not importlib.import_module: the same import machinery as an
    # import statement, so `python -X importtime` shows what a command loads.
    module = __import__(f"repolicy.commands.{name}", fromlist=["run"])
    code: int = module.run(options)
    return code
