"""The errors that stop a command (exit 2). Violations are records, never exceptions."""

from __future__ import annotations

from collections.abc import Sequence


class RepolicyError(Exception):
    """A command cannot run; the message is one line for the user."""


class FileError(RepolicyError):
    """A file repolicy reads is wrong at a known position (1-based line and column);
    the message is `FILE:LINE:COL: message`, as compilers print it."""

    def __init__(self, path: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{col}: {message}")
        self.path = path
        self.line = line
        self.col = col
        self.message = message


class PolicyError(FileError):
    """A policy file is wrong at a known position."""


class GitError(RepolicyError):
    """A git command failed; keeps the argv, exit code and stderr for the report."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        detail = stderr.strip().splitlines()
        tail = detail[-1] if detail else f"exit code {returncode}"
        super().__init__(f"git {' '.join(argv[1:3])} failed: {tail}")
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
