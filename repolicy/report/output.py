"""How a judging command ends: settle the report, print it in the chosen format, exit."""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from repolicy.report.model import Report
from repolicy.report.text import render_text, use_color


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
        from repolicy.report.json import render_json  # its writer, only when asked for

        text = render_json(report)
    elif fmt == "sarif":
        # Imported here, not above: the pre-commit hook prints text and must
        # not pay for the SARIF or GitHub renderers.
        from repolicy.report.sarif import render_sarif

        text = render_sarif(report)
    elif fmt == "github":
        from repolicy.report.github import render_github

        text = render_github(report)
    else:
        text = render_text(report, use_color(out, no_color), quiet)
    if text:
        if hasattr(out, "reconfigure"):
            out.reconfigure(errors=_unencodable(out.encoding, fmt in ("json", "sarif")))
        out.write(text + "\n")


def _unencodable(encoding: str, json: bool) -> str:
    """The error handler for writing a report in `encoding`: a path that is not
    UTF-8 is written back as the bytes git gave us; a character the encoding
    cannot spell (`PYTHONIOENCODING=ascii`, a pusher's environment that reaches
    a server's hook) as a backslash escape, in JSON (and SARIF) the `\\uXXXX`
    that keeps the document valid."""
    import codecs

    if codecs.lookup(encoding).name == "utf-8":
        return "surrogateescape"  # UTF-8 spells every character but these
    codecs.register_error(_ESCAPE, _escape)
    codecs.register_error(_JSON_ESCAPE, _json_escape)
    return _JSON_ESCAPE if json else _ESCAPE


_ESCAPE = "repolicy.escape"
_JSON_ESCAPE = "repolicy.json-escape"


def _escape(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for ch in error.object[error.start : error.end]:
        if "\udc80" <= ch <= "\udcff":
            out.append(ord(ch) - 0xDC00)  # an undecodable byte, as surrogateescape keeps it
        else:
            out += ch.encode("ascii", "backslashreplace")
    return bytes(out), error.end


def _json_escape(error: UnicodeError) -> tuple[str, int]:
    # The JSON writer has escaped undecodable bytes already: only characters
    # inside strings are left, where a `\uXXXX` escape (a surrogate pair above
    # the Basic Multilingual Plane) stands for any of them.
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for ch in error.object[error.start : error.end]:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), error.end
