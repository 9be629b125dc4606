"""What a run found, and the formats it is printed in.

- `model`: `Violation`, `Report` and the sizes they are told in
- `names`: paths quoted as git quotes them
- `text`, `json` (the one JSON writer), `sarif`, `github`: the formats
- `output`: how a judging command ends (settle, print, exit code)
"""

from __future__ import annotations

from repolicy.report.model import (
    ERROR,
    PUSHED,
    WARNING,
    Report,
    Violation,
    exact_size,
    human_size,
    plural,
)
from repolicy.report.names import quote_c, quote_paths, quote_pathspecs, safe_text
from repolicy.report.output import ReportOptions, emit, finish
from repolicy.report.text import render_text, use_color

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.report.json import allow_json, dumps_json, render_json


def __getattr__(name: str) -> object:
    # The JSON writer is imported when first asked for (PEP 562): the hook
    # prints text, and importing it cost every commit 0.2 ms.
    if name in ("allow_json", "dumps_json", "render_json"):
        from repolicy.report import json

        value: object = getattr(json, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ERROR",
    "PUSHED",
    "WARNING",
    "Report",
    "ReportOptions",
    "Violation",
    "allow_json",
    "dumps_json",
    "emit",
    "exact_size",
    "finish",
    "human_size",
    "plural",
    "quote_c",
    "quote_paths",
    "quote_pathspecs",
    "render_json",
    "render_text",
    "safe_text",
    "use_color",
]
