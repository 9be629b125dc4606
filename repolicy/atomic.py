"""Replacing a file so that a reader sees the old bytes or the new ones, never half.

The new bytes go to a temporary file in the same directory (same file
system, so the rename is atomic), are flushed to disk, take the old file's
permissions, and only then replace it. On any failure the temporary file is
removed and the original is untouched.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable

from repolicy.errors import RepolicyError


def default_mode() -> int:
    """What a new file gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def replace_file(
    path: str,
    data: bytes,
    shown: str,
    mode: int | None = None,
    before_replace: Callable[[str], None] | None = None,
) -> None:
    """Atomically make `path` hold `data`, with permissions `mode` (None: a new
    file's). `before_replace` sees the finished temporary file and may raise to
    stop the replacement (e.g. a policy the loader refuses). `shown` names the
    file in errors."""
    directory = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".repolicy-", dir=directory)
    except OSError as exc:
        raise RepolicyError(f"cannot write {shown}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else default_mode())
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise RepolicyError(f"cannot write {shown}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
