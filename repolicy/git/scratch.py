"""A scratch repository: git's own answer for files that are not written yet."""

from __future__ import annotations

import os
from collections.abc import Iterable

from repolicy.git.repo import Git


class Scratch:
    """An empty repository in a temporary directory, holding only the ignore and
    attribute files it is given, so git can say what a candidate `.gitignore`
    would do without the user's repository being touched."""

    def __init__(
        self,
        files: dict[str, bytes],
        ignore_case: bool = False,
        info_exclude: bytes = b"",
        excludes_file: str | None = None,
    ) -> None:
        """`info_exclude` and `excludes_file` (a path git reads in place) stand for
        the user's repository's `info/exclude` and `core.excludesFile`."""
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="repolicy-")
        root = self._dir.name
        self.git = Git(root)
        # Only the repository's own files count: not this machine's global
        # excludes or attributes, which nobody else has.
        self.git.env.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_DIR=os.path.join(root, ".git"),
        )
        self.git.env.pop("GIT_INDEX_FILE", None)
        self.git.env.pop("GIT_WORK_TREE", None)
        self.git._run("init", "-q", root)
        if ignore_case:
            self.git._run("config", "core.ignoreCase", "true")
        if excludes_file is not None:
            self.git._run("config", "core.excludesFile", excludes_file)
        if info_exclude:
            self.put(os.path.join(".git", "info", "exclude"), info_exclude)
        for rel, data in files.items():
            self.put(rel, data)

    def put(self, rel: str, data: bytes) -> None:
        target = os.path.join(self._dir.name, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)

    def make_dirs(self, rels: Iterable[str]) -> None:
        """Create directories, so git judges those paths as directories (a query
        with a trailing '/' reads the directory's own `.gitignore` too)."""
        for rel in rels:
            os.makedirs(os.path.join(self._dir.name, rel), exist_ok=True)

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
