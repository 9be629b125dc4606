"""The text report: grouped by check, colour only on a terminal, names quoted as git quotes them."""

from __future__ import annotations

import os
from typing import TextIO

from repolicy.report.model import ERROR, PUSHED, Report, Violation, exact_size, plural
from repolicy.report.names import quote_c, safe_text


def use_color(stream: TextIO, no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


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
