"""Violations and reports, and the formats they are printed in (text, json)."""

# Annotations are evaluated, not postponed: typing.NamedTuple compiles each
# string annotation at import, a cost the pre-commit hook pays on every commit.
import os
import re
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TextIO

if TYPE_CHECKING:
    from repolicy.policy import Allow, Policy

_SURROGATE = "[\udc80-\udcff]"

ERROR = "error"
# Commands whose budgets are "what the remote holds afterwards" and "what this adds".
PUSHED = ("push", "pre-receive", "range")
WARNING = "warning"


class Violation(NamedTuple):
    check: str
    severity: str
    path: str | None
    message: str
    rule: str | None = None
    fix: str | None = None
    commit: str | None = None
    size: int | None = None
    why: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "fix": self.fix,
            "commit": self.commit,
            "size": self.size,
            "why": self.why,
        }

    def details(self) -> list[tuple[str, str]]:
        """What a reader gets after the message, in order: commit, rule, why, fix."""
        fields = (
            ("commit", self.commit),
            ("rule", self.rule),
            ("why", self.why),
            ("fix", self.fix),
        )
        return [(label, value) for label, value in fields if value]


class Report:
    def __init__(
        self,
        command: str,
        policy: "str | Policy",
        violations: list[Violation] | None = None,
        budgets: dict[str, dict[str, int | None]] | None = None,
    ) -> None:
        self.command = command
        # Given the policy itself (not only its name), the report honours its
        # `allow` list when it is settled (`sort`), whatever the command.
        self.policy: str = policy if isinstance(policy, str) else policy.name
        self.allow: tuple[Allow, ...] = () if isinstance(policy, str) else policy.allow
        # Violations an `allow` entry exempts, with the entry: not counted, shown
        # by explain, and in SARIF as suppressed results when asked for.
        self.allowed: list[tuple[Violation, Allow]] = []
        self.include_allowed = False
        self.violations: list[Violation] = violations if violations is not None else []
        self.budgets = budgets
        # Things the user should know that are not violations (a shallow
        # history, no upstream), and text-only sections such as the largest blobs.
        self.notes: list[str] = []
        self.sections: list[tuple[str, list[str]]] = []
        # Extension objects of the JSON report, by key (e.g. `baseline`).
        self.extensions: dict[str, Any] = {}

    @property
    def errors(self) -> int:
        return sum(1 for v in self.violations if v.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for v in self.violations if v.severity == WARNING)

    def exit_code(self, strict: bool) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0

    def sort(self) -> None:
        """Settle the report: drop what `allow` exempts, then order what is left."""
        if self.allow:
            from repolicy.checks.allow import split

            self.violations, allowed = split(self.allow, self.violations)
            self.allowed.extend(allowed)
        self.violations.sort(
            key=lambda v: (v.severity != ERROR, v.path or "", v.check, v.commit or "")
        )


def human_size(size: int) -> str:
    # Imported here: most commits print no size, and humanize takes longer to
    # import than anything else the hook needs (about 1.5 ms).
    import humanize

    return str(humanize.naturalsize(size, binary=True))


def exact_size(size: int) -> str:
    """A size where a budget is at stake: the human figure, and beside it the exact
    byte count whenever the figure has a unit ('100.0 MiB (104,857,600 bytes)').
    A rounded figure hides a blob one byte over its limit ('1.0 MiB, over the
    1.0 MiB limit'), and 'MiB' is easily read as 'MB', which policies also accept."""
    if size < 1024:
        return f"{size:,} bytes"
    return f"{human_size(size)} ({size:,} bytes)"


def use_color(stream: TextIO, no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def dumps_json(data: Any) -> str:
    """The one JSON writer of every command: valid UTF-8 whatever the paths hold.

    Undecodable bytes of a path travel as lone surrogates (surrogateescape);
    they are written as `\\udcXX` escapes, control characters as `\\u00XX`.
    """
    import json

    text = json.dumps(data, indent=2, ensure_ascii=False)
    return re.sub(_SURROGATE, lambda m: f"\\u{ord(m.group()):04x}", text)


def render_json(report: Report) -> str:
    data: dict[str, Any] = {
        "version": 1,
        "command": report.command,
        "policy": report.policy,
        "violations": [v.as_json() for v in report.violations],
    }
    if report.budgets is not None:
        data["budgets"] = report.budgets
    if report.notes:
        data["notes"] = report.notes
    if report.allowed and report.include_allowed:
        data["allowed"] = [
            {**v.as_json(), "allow": allow_json(entry)} for v, entry in report.allowed
        ]
    data.update(report.extensions)
    data["summary"] = {"errors": report.errors, "warnings": report.warnings}
    return dumps_json(data)


def allow_json(entry: "Allow") -> dict[str, Any]:
    return {
        "path": entry.pattern.text,
        "checks": list(entry.checks) if entry.checks is not None else None,
        "reason": entry.reason,
        "file": entry.source.file,
        "line": entry.source.line,
    }


# git's C-style quoting (quote_c_style): these escapes, octal for other bytes.
_C_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def _octal(ch: str) -> str:
    return "".join(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogateescape"))


def quote_c(path: str) -> str:
    """A path as git shows it (core.quotePath=false): bare when every character is
    printable and none is a quote or backslash; else in double quotes with
    C escapes, and the bytes of control characters, invisible characters and
    undecodable bytes in octal. Printed, it can move no cursor and start no
    terminal escape sequence."""
    if path.isprintable() and '"' not in path and "\\" not in path:
        return path
    out = ['"']
    for ch in path:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_octal(ch))
    out.append('"')
    return "".join(out)


def safe_text(text: str) -> str:
    """Free text (a message, a command to run) with its unprintable characters
    other than newlines and tabs in octal, as git quotes them: a file name
    inside it cannot reach the terminal as an escape sequence."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else _octal(ch) for ch in text)


_display_path = quote_c


def render_text(report: Report, color: bool, quiet: bool) -> str:
    bold, red, yellow, cyan, dim, reset = (
        ("\033[1m", "\033[31m", "\033[33m", "\033[36m", "\033[2m", "\033[0m")
        if color
        else ("",) * 6
    )
    lines: list[str] = []
    for group in _grouped(report.violations):
        if not quiet:
            lines.append(f"{bold}{group[0].check}{reset} {dim}({_count(group)}){reset}")
        for v in group:
            tone = red if v.severity == ERROR else yellow
            where = quote_c(v.path) if v.path is not None else "(repository)"
            lines.append(
                f"{bold}{where}{reset}: {tone}{v.severity}{reset} {cyan}[{v.check}]{reset} "
                f"{safe_text(v.message)}"
            )
            if quiet:
                continue
            for label, value in v.details():
                first, *more = safe_text(value).split("\n")
                lines.append(f"  {dim}{label}:{reset}{' ' * (7 - len(label))}{first}")
                lines.extend(f"          {extra}" for extra in more)
    if not quiet:
        for title, body in report.sections:
            lines.append(f"{bold}{safe_text(title)}{reset}")
            lines.extend(f"  {safe_text(line)}" for line in body)
        lines.extend(f"{dim}note:{reset} {safe_text(note)}" for note in report.notes)
        if report.allowed:
            n = len(report.allowed)
            lines.append(
                f"{dim}note:{reset} {plural(n, 'violation')} exempted by the policy's allow "
                "list (`repolicy explain PATH` shows the entry and its reason)"
            )
        if report.budgets:
            lines.extend(_budget_lines(report.budgets, added=report.command in PUSHED))
    if report.violations or not quiet:
        lines.append(_summary(report, bold, red, yellow, reset))
    return "\n".join(lines)


def _grouped(violations: list[Violation]) -> list[list[Violation]]:
    """Violations by check, the worst check first: errors before warnings, then the
    check with the most violations, then the most bytes at stake."""
    groups: dict[str, list[Violation]] = {}
    for v in violations:
        groups.setdefault(v.check, []).append(v)
    order = sorted(
        groups.values(),
        key=lambda g: (
            all(v.severity != ERROR for v in g),
            -len(g),
            -sum(v.size or 0 for v in g),
            g[0].check,
        ),
    )
    return order


def _count(group: list[Violation]) -> str:
    errors = sum(1 for v in group if v.severity == ERROR)
    warnings = len(group) - errors
    parts = [plural(errors, "error")] if errors else []
    parts += [plural(warnings, "warning")] if warnings else []
    return ", ".join(parts)


def _budget_lines(budgets: dict[str, dict[str, int | None]], added: bool) -> list[str]:
    lines = []
    for name, budget in budgets.items():
        used, limit = budget.get("used") or 0, budget.get("limit")
        if added:
            if not used and limit is None:
                continue
            if name == "push" and limit is None:
                continue  # the repo line already says what this push adds
            if "added" not in budget:
                cap = f"limit {exact_size(limit)}" if limit is not None else "no limit"
                lines.append(f"budget {name}: this push adds {exact_size(used)}; {cap}")
                continue
            # What the remote holds afterwards is what the limit bounds; the
            # push's own share comes second, so it never reads as the verdict.
            over = limit is not None and used > limit
            hold = "at most " if budget.get("at_most") else ""
            hold = "at least " if budget.get("at_least") else hold
            held = "an unknown amount" if budget.get("used") is None else exact_size(used)
            if limit is None:
                cap = "no limit"
            else:
                cap = f"{'over' if over else 'within'} the limit of {exact_size(limit)}"
            lines.append(
                f"budget {name}: after this push the remote would hold {hold}{held}, {cap}; "
                f"this push adds {exact_size(budget.get('added') or 0)}"
            )
            continue
        if limit is None:
            if used:  # nothing used and nothing set: nothing to say
                lines.append(f"budget {name}: {exact_size(used)} (no limit)")
            continue
        width = 20
        filled = min(width, round(width * used / limit)) if limit else width
        bar = "#" * filled + "." * (width - filled)
        lines.append(f"budget {name}: [{bar}] {exact_size(used)} / {exact_size(limit)}")
    return lines


def _summary(report: Report, bold: str, red: str, yellow: str, reset: str) -> str:
    if not report.violations:
        return f"repolicy {report.command}: all clear ({safe_text(report.policy)})"
    parts = []
    if report.errors:
        parts.append(f"{red}{report.errors} error{'s' if report.errors != 1 else ''}{reset}")
    if report.warnings:
        parts.append(
            f"{yellow}{report.warnings} warning{'s' if report.warnings != 1 else ''}{reset}"
        )
    counts = ", ".join(parts)
    return f"{bold}repolicy {report.command}:{reset} {counts} ({safe_text(report.policy)})"


class ReportOptions(Protocol):
    """What a judging command's options say about its report."""

    format: str
    no_color: bool
    quiet: bool
    strict: bool
    include_allowed: bool


def finish(report: Report, options: ReportOptions) -> int:
    """Settle the report (order, `allow`), print it as asked, and give the exit code:
    the last step of every command that judges (check, push, pre-receive, range, audit)."""
    report.sort()
    emit(
        report,
        options.format,
        no_color=options.no_color,
        quiet=options.quiet,
        include_allowed=options.include_allowed,
    )
    return report.exit_code(options.strict)


def emit(
    report: Report,
    fmt: str,
    *,
    no_color: bool,
    quiet: bool,
    stream: TextIO | None = None,
    include_allowed: bool = False,
) -> None:
    out = stream or sys.stdout
    report.include_allowed = include_allowed
    if fmt == "json":
        text = render_json(report)
    elif fmt == "sarif":
        # Imported here, not above: the pre-commit hook prints text and must
        # not pay for the SARIF or GitHub renderers.
        from repolicy.sarif import render_sarif

        text = render_sarif(report)
    elif fmt == "github":
        from repolicy.github import render_github

        text = render_github(report)
    else:
        text = render_text(report, use_color(out, no_color), quiet)
    if text:
        if hasattr(out, "reconfigure"):
            # A path that is not UTF-8 is written back as the bytes git gave us.
            out.reconfigure(errors="surrogateescape")
        out.write(text + "\n")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def quote_paths(paths: Sequence[str]) -> str:
    return " ".join(shlex.quote(p) for p in paths)
