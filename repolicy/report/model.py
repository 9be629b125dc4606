"""Violations and reports as data, and the sizes they are told in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import NamedTuple

    from repolicy.policy import Allow, Policy
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple


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
        policy: str | Policy,
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


# Binary units, as `ls -h` and most ML tooling print sizes: a 100 MiB budget
# reads as GitHub states its limit.
_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB", "RiB", "QiB")


def human_size(size: int) -> str:
    """`size` bytes with one decimal in the largest binary unit it reaches:
    '1023 Bytes', '1.0 KiB', '114.4 MiB'. A figure that rounds up to 1024
    of a unit is shown in the next ('1.0 MiB', never '1024.0 KiB')."""
    magnitude = abs(size)
    if magnitude == 1:
        return f"{size} Byte"
    if magnitude < 1024:
        return f"{size} Bytes"
    exponent = 1
    while exponent < len(_UNITS) and magnitude >= 1024 ** (exponent + 1):
        exponent += 1
    text = f"{size / 1024**exponent:.1f}"
    if exponent < len(_UNITS) and abs(float(text)) >= 1024:
        exponent += 1
        text = f"{size / 1024**exponent:.1f}"
    return f"{text} {_UNITS[exponent - 1]}"


def exact_size(size: int) -> str:
    """A size where a budget is at stake: the human figure, and beside it the exact
    byte count whenever the figure has a unit ('100.0 MiB (104,857,600 bytes)').
    A rounded figure hides a blob one byte over its limit ('1.0 MiB, over the
    1.0 MiB limit'), and 'MiB' is easily read as 'MB', which policies also accept."""
    if size < 1024:
        return f"{size:,} bytes"
    return f"{human_size(size)} ({size:,} bytes)"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
