"""Progress of long work on stderr: one line, rewritten in place, on a terminal only.

Pipes, files and CI logs get nothing, so a redirected report stays clean
and a log is not filled with carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self._width = 0

    def say(self, text: str) -> None:
        """Replace the progress line with `text` and the time elapsed so far."""
        if not self.enabled:
            return
        line = f"repolicy: {text} ({time.monotonic() - self.start:.1f}s)"
        pad = max(0, self._width - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._width = len(line)

    def clear(self) -> None:
        """Erase the line before the report is printed."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
