"""The one JSON writer: every command's JSON goes through `dumps_json`.

Names that are not UTF-8 are escaped, never written as invalid bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from repolicy.report.model import Report
from repolicy.report.names import _SURROGATE

if TYPE_CHECKING:
    from repolicy.policy import Allow


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


def allow_json(entry: Allow) -> dict[str, Any]:
    return {
        "path": entry.pattern.text,
        "checks": list(entry.checks) if entry.checks is not None else None,
        "reason": entry.reason,
        "file": entry.source.file,
        "line": entry.source.line,
    }
