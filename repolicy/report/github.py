"""`--format github`: GitHub Actions workflow commands, one annotation per violation.

Each violation becomes `::error file=PATH,title=CHECK::MESSAGE` (or
`::warning`), without `file=` when the violation has no path; each note of
the report becomes a `::notice`, and a plain summary line ends the output.
Values are escaped as GitHub's toolkit escapes them, so a file name with a
newline, `%`, `:` or `,` cannot end the command early or start another one.
"""

from __future__ import annotations

from repolicy.report import ERROR, Report, Violation, plural, quote_c, safe_text
from repolicy.report.sarif import message_text

_COMMANDS = {ERROR: "error"}


def render_github(report: Report) -> str:
    lines = [annotation(v) for v in report.violations]
    lines.extend(command("notice", safe_text(note), {"title": "repolicy"}) for note in report.notes)
    lines.append(summary(report))
    return "\n".join(lines)


def annotation(v: Violation) -> str:
    # The toolkit's escapes carry a newline or carriage return in `file=` and
    # the runner restores the exact path. Other control characters (and bytes
    # that are not UTF-8) it has no escape for: such a path is quoted whole as
    # git quotes it, so a file name cannot colour or rewrite the log; its
    # annotation then names no file GitHub knows, a small price for a safe log.
    path = v.path
    if path is not None and not path.replace("\n", "").replace("\r", "").isprintable():
        path = quote_c(path)
    properties = {"file": path} if path is not None else {}
    properties["title"] = v.check
    return command(_COMMANDS.get(v.severity, "warning"), safe_text(message_text(v)), properties)


def command(name: str, message: str, properties: dict[str, str]) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def summary(report: Report) -> str:
    if not report.violations:
        counts = "all clear"
    else:
        parts = []
        if report.errors:
            parts.append(plural(report.errors, "error"))
        if report.warnings:
            parts.append(plural(report.warnings, "warning"))
        counts = ", ".join(parts)
    # A plain line, but one a policy path cannot break into a second command.
    return f"repolicy {report.command}: {counts} ({escape_data(safe_text(report.policy))})"
