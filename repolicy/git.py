"""Every git subprocess repolicy runs, and nothing else.

Each function is named for the fact it returns. Lists of paths and objects
travel on stdin (`--stdin`, `--batch-check`), output is read with `-z`, and
paths are decoded once, here, with surrogateescape so names that are not
UTF-8 survive the round trip. No other module starts a process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from repolicy.errors import GitError, RepolicyError

GITLINK = "160000"
SYMLINK = "120000"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # `git commit PATH` runs hooks against a temporary index; keep pointing at
    # it even when we run git from another directory (-C).
    index = env.get("GIT_INDEX_FILE")
    if index and not os.path.isabs(index):
        env["GIT_INDEX_FILE"] = os.path.abspath(index)
    env.setdefault("GIT_OPTIONAL_LOCKS", "0")
    return env


def decode(raw: bytes) -> str:
    return os.fsdecode(raw)


def encode(path: str) -> bytes:
    return os.fsencode(path)


@dataclass(frozen=True)
class RepoInfo:
    toplevel: str
    git_dir: str
    prefix: str  # the current directory, relative to toplevel ('' or 'sub/dir/')


@dataclass(frozen=True)
class Change:
    """One entry of `git diff --raw`: the new side of an added or modified path."""

    status: str  # A, M, T, C, R, D
    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    path: str


@dataclass(frozen=True)
class IndexEntry:
    mode: str
    oid: str
    stage: int
    path: str


@dataclass(frozen=True)
class ObjectInfo:
    oid: str
    type: str
    size: int


class Git:
    """Runs git in one repository (or, before discovery, one directory)."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.env = _env()

    def run(self, *args: str, input: bytes | None = None, ok: Sequence[int] = (0,)) -> bytes:
        argv = ("git", *args)
        try:
            proc = subprocess.run(
                argv,
                cwd=self.cwd,
                env=self.env,
                input=input,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise RepolicyError("git is not installed or not on PATH") from None
        except NotADirectoryError:
            raise RepolicyError(f"not a directory: {self.cwd}") from None
        if proc.returncode not in ok:
            raise GitError(argv, proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.stdout

    # -- the repository ---------------------------------------------------

    def discover(self) -> RepoInfo:
        try:
            out = self.run("rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-prefix")
        except GitError as exc:
            if "not a git repository" in exc.stderr:
                raise RepolicyError(f"not a git repository: {self.cwd}") from None
            if "must be run in a work tree" in exc.stderr:
                raise RepolicyError(f"not a work tree (a bare repository?): {self.cwd}") from None
            raise
        lines = decode(out).split("\n")
        if len(lines) < 3:
            raise RepolicyError(f"not a work tree (a bare repository?): {self.cwd}")
        return RepoInfo(toplevel=lines[0], git_dir=lines[1], prefix=lines[2])

    # -- the index --------------------------------------------------------

    def staged_changes(self) -> list[Change]:
        """Index against HEAD (or against nothing on an unborn branch)."""
        out = self.run(
            "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames",
            "--no-relative", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none",
        )  # fmt: skip
        return list(parse_raw_diff(out))

    def index_entries(self) -> list[IndexEntry]:
        out = self.run("ls-files", "--stage", "-z")
        entries = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, oid, stage = meta.split(b" ")
            entries.append(IndexEntry(mode.decode(), oid.decode(), int(stage), decode(path)))
        return entries

    # -- objects ----------------------------------------------------------

    def object_info(self, oids: Iterable[str]) -> dict[str, ObjectInfo]:
        """Type and size of many objects from one `cat-file --batch-check`."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        out = self.run(
            "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
            input="\n".join(wanted).encode() + b"\n",
        )  # fmt: skip
        info: dict[str, ObjectInfo] = {}
        for line in out.decode().splitlines():
            parts = line.split(" ")
            if len(parts) == 3:
                info[parts[0]] = ObjectInfo(parts[0], parts[1], int(parts[2]))
        return info

    def blob_contents(self, oids: Iterable[str]) -> dict[str, bytes]:
        """Contents of many (small) blobs from one `cat-file --batch`."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        out = self.run("cat-file", "--batch", input="\n".join(wanted).encode() + b"\n")
        contents: dict[str, bytes] = {}
        pos = 0
        while pos < len(out):
            eol = out.index(b"\n", pos)
            header = out[pos:eol].split(b" ")
            pos = eol + 1
            if len(header) != 3:  # "<oid> missing"
                continue
            size = int(header[2])
            contents[header[0].decode()] = out[pos : pos + size]
            pos += size + 1
        return contents

    # -- attributes -------------------------------------------------------

    def attributes(
        self, paths: Iterable[str], names: Sequence[str], cached: bool = False
    ) -> dict[str, dict[str, str]]:
        """`git check-attr` for many paths: {path: {attr: value}}, unspecified left out."""
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return {}
        args = ["check-attr", "-z", "--stdin"]
        if cached:
            args.append("--cached")
        out = self.run(*args, *names, input=b"\0".join(map(encode, wanted)) + b"\0")
        fields = out.split(b"\0")
        result: dict[str, dict[str, str]] = {}
        for k in range(0, len(fields) - 2, 3):
            value = fields[k + 2].decode(errors="replace")
            if value != "unspecified":
                result.setdefault(decode(fields[k]), {})[fields[k + 1].decode()] = value
        return result


def parse_raw_diff(out: bytes) -> Iterable[Change]:
    """Parse `git diff --raw -z` output (renames and copies carry two paths)."""
    fields = out.split(b"\0")
    k = 0
    while k < len(fields) - 1:
        meta = fields[k].decode()
        if not meta.startswith(":"):
            k += 1
            continue
        old_mode, new_mode, old_oid, new_oid, status = meta[1:].split(" ")
        letter = status[:1]
        if letter in ("R", "C"):
            path = fields[k + 2]
            k += 3
        else:
            path = fields[k + 1]
            k += 2
        yield Change(letter, old_mode, new_mode, old_oid, new_oid, decode(path))
