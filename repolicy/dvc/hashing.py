"""DVC's content hashes, computed as `dvc status` does, without DVC.

The rules are DVC's own, as
`dvc status` applies them (dvc 3.x with dvc-data 3.x):

- An output with `hash: md5` (written by DVC 3): md5 of the raw bytes
  (`dvc_data.hashfile.hash.file_md5` with the name "md5").
- An output without `hash` (written by DVC 2): DVC 3 reads it as
  "md5-dos2unix" (`dvc.output.Output._compute_hash_info_from_meta`). The file
  is read in 1 MiB chunks (`fobj_md5`, `chunk_size=2**20`) and each chunk is
  judged on its own first 512 bytes (`Dos2UnixHashStreamFile.read`): a chunk
  whose probe has no NUL byte and at most 30% bytes outside printable ASCII
  and `\\n\\r\\t\\f\\b` (`dvc_data.hashfile.istextfile.istextblock`) has its
  CRLF pairs turned into LF before hashing. An empty file counts as text.
  (DVC 2 itself decided once per file, from the first 512 bytes; for files
  up to 1 MiB the two agree.)
- A directory: every file below it (DVC skips `.git`, `.hg` and `.dvc`
  directories and what `.dvcignore` files exclude; symlinked directories are
  not entered) is hashed by the rule above; the manifest is the JSON list of
  `{"md5": ..., "relpath": ...}` sorted by relpath, written by `json.dumps`
  with `sort_keys=True` and its default separators and ASCII escapes
  (`dvc_data.hashfile.tree.Tree.as_bytes`); the directory's hash is the plain
  md5 of those bytes followed by ".dir" (`Tree.digest`), in either version.

Hashes are cached per file by (size, mtime, inode) in the git
directory, so auditing an unchanged dataset again reads nothing but
directory entries.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

from repolicy.dvc.files import MD5, MD5_DOS2UNIX
from repolicy.policy.match import Pattern, compile_pattern

if TYPE_CHECKING:
    from repolicy.dvc.files import DvcOut

CHUNK = 1 << 20  # DVC hashes in 1 MiB reads; the dos2unix verdict is per read
TEXT_PROBE = 512
_TEXT_BYTES = bytes(range(32, 127)) + b"\n\r\t\f\b"
_SKIPPED_DIRS = frozenset({".git", ".hg", ".dvc"})
DVCIGNORE = ".dvcignore"

_CACHE_FILE = "dvc-hashes"
_CACHE_FORMAT = 2
_RACY_NS = 2_000_000_000


def looks_text(block: bytes) -> bool:
    """DVC's text heuristic, applied to the first 512 bytes of each 1 MiB read."""
    if not block:
        return True
    if b"\0" in block:
        return False
    return len(block.translate(None, _TEXT_BYTES)) / len(block) <= 0.30


def file_md5(path: str, algorithm: str = MD5) -> str:
    """The md5 DVC records for one file (memory stays at one 1 MiB buffer)."""
    digest = hashlib.md5(usedforsecurity=False)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    dos2unix = algorithm == MD5_DOS2UNIX
    with open(path, "rb", buffering=0) as fh:
        while True:
            # DVC's reads return a full chunk until the end of the file; read
            # until full so the text verdict sees the same chunks.
            filled = 0
            while filled < CHUNK:
                n = fh.readinto(view[filled:])
                if not n:
                    break
                filled += n
            if not filled:
                break
            if dos2unix and looks_text(bytes(view[: min(filled, TEXT_PROBE)])):
                digest.update(bytes(view[:filled]).replace(b"\r\n", b"\n"))
            else:
                digest.update(view[:filled])
            if filled < CHUNK:
                break
    return digest.hexdigest()


def manifest(entries: Iterable[tuple[str, str]]) -> bytes:
    """A directory's `.dir` manifest from (relpath, md5) pairs, as DVC serialises it."""
    items = [{"md5": md5, "relpath": rel} for rel, md5 in sorted(entries)]
    return json.dumps(items, sort_keys=True).encode("utf-8")


def manifest_md5(entries: Iterable[tuple[str, str]]) -> str:
    return hashlib.md5(manifest(entries), usedforsecurity=False).hexdigest() + ".dir"


class _Ignore:
    """`.dvcignore` lines of one directory: gitignore syntax, the last match decides."""

    def __init__(self, base: str, lines: list[tuple[bool, Pattern]]) -> None:
        self.base = base  # repository-relative directory of the .dvcignore ('' for the root)
        self.lines = lines

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        rel = path[len(self.base) + 1 :] if self.base else path
        raw = os.fsencode(rel)
        decided: bool | None = None
        for negated, pattern in self.lines:
            if pattern.matches(raw, is_dir):
                decided = not negated
        return decided


def _read_dvcignore(root: str, base: str) -> _Ignore | None:
    try:
        with open(os.path.join(root, base, DVCIGNORE), "rb") as fh:
            text = fh.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None
    lines = []
    for line in text.splitlines():
        negated = line.startswith("!")
        pattern = compile_pattern(line[1:] if negated else line)
        if pattern.body is not None:
            lines.append((negated, pattern))
    return _Ignore(base, lines) if lines else None


class FileStat(NamedTuple):
    path: str  # repository-relative
    size: int
    stamp: tuple[int, int, int]  # size, mtime_ns, inode


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    # Not ctime: a chmod or a new hard link does not change the content.
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class HashCache:
    """md5s by repository path and algorithm, valid while the file's stamp is unchanged.

    Stored with marshal (no code runs on load) and replaced atomically; only
    the entries used in this run are written back, so it never outgrows the
    data it describes.
    """

    def __init__(self, directory: str | None) -> None:
        self.path = os.path.join(directory, _CACHE_FILE) if directory else None
        self.old: dict[str, tuple[tuple[int, int, int], str]] = {}
        self.new: dict[str, tuple[tuple[int, int, int], str]] = {}
        self.reads = 0  # files hashed this run (for tests and benchmarks)
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as fh:
                data = marshal.load(fh)
            if isinstance(data, dict) and data.get("format") == _CACHE_FORMAT:
                self.old = data["entries"]
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            self.old = {}

    def get(self, key: str, stamp: tuple[int, int, int]) -> str | None:
        hit = self.old.get(key)
        if hit is not None and tuple(hit[0]) == stamp:
            self.new[key] = hit
            return hit[1]
        return None

    def put(self, key: str, stamp: tuple[int, int, int], md5: str, started_ns: int) -> None:
        # A file written in the same clock tick as it was read could change
        # again without changing its stamp: such a hash is used, never kept.
        if stamp[1] < started_ns - _RACY_NS:
            self.new[key] = (stamp, md5)

    def save(self) -> None:
        if self.path is None or self.new == self.old:
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                marshal.dump({"format": _CACHE_FORMAT, "entries": self.new}, fh)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


class Hasher:
    """The current md5 of DVC outputs in a work tree, as DVC would record it."""

    def __init__(self, root: str, cache_dir: str | None, jobs: int | None = None) -> None:
        self.root = root
        self.cache = HashCache(cache_dir)
        self.jobs = jobs or min(4, os.cpu_count() or 1)
        self._ignores: dict[str, _Ignore | None] = {}

    def _ignore_for(self, directory: str) -> list[_Ignore]:
        """The .dvcignore files that govern `directory` (repository-relative), root first."""
        parts = directory.split("/") if directory else []
        found = []
        for k in range(len(parts) + 1):
            base = "/".join(parts[:k])
            if base not in self._ignores:
                self._ignores[base] = _read_dvcignore(self.root, base)
            ignore = self._ignores[base]
            if ignore is not None:
                found.append(ignore)
        return found

    def _ignored(self, ignores: list[_Ignore], path: str, is_dir: bool) -> bool:
        verdict = False
        for ignore in ignores:
            decided = ignore.verdict(path, is_dir)
            if decided is not None:
                verdict = decided
        return verdict

    def _walk(self, top: str) -> Iterator[FileStat]:
        """Every file under `top` (repository-relative) that DVC would hash."""
        stack = [top]
        while stack:
            current = stack.pop()
            ignores = self._ignore_for(current)
            try:
                entries = list(os.scandir(os.path.join(self.root, current)))
            except OSError:
                continue
            for entry in entries:
                rel = f"{current}/{entry.name}"
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    if is_dir:
                        if entry.name in _SKIPPED_DIRS or self._ignored(ignores, rel, True):
                            continue
                        stack.append(rel)
                        continue
                    if entry.name == ".git" or self._ignored(ignores, rel, False):
                        continue
                    st = entry.stat()  # follows a symlink to a file, as DVC does
                except OSError:
                    continue
                if entry.is_symlink() and not os.path.isfile(entry.path):
                    continue  # a symlink to a directory: os.walk would not enter it
                yield FileStat(rel, st.st_size, _stamp(st))

    def hashes(self, outs: Iterable[DvcOut]) -> dict[str, str | None]:
        """{output path: md5 as DVC would record it now}; None when the output is absent."""
        started = time.time_ns()
        result: dict[str, str | None] = {}
        dir_files: dict[str, tuple[str, list[FileStat]]] = {}
        todo: dict[str, tuple[str, FileStat, str]] = {}  # key -> (algorithm, file, key)
        singles: dict[str, str] = {}
        for out in outs:
            full = os.path.join(self.root, out.path)
            try:
                st = os.stat(full)
            except OSError:
                result[out.path] = None
                continue
            algorithm = out.algorithm
            if os.path.isdir(full):
                files = list(self._walk(out.path))
                dir_files[out.path] = (algorithm, files)
                for f in files:
                    key = f"{algorithm}\0{f.path}"
                    if key not in todo and self.cache.get(key, f.stamp) is None:
                        todo[key] = (algorithm, f, key)
            else:
                f = FileStat(out.path, st.st_size, _stamp(st))
                key = f"{algorithm}\0{f.path}"
                singles[out.path] = key
                if key not in todo and self.cache.get(key, f.stamp) is None:
                    todo[key] = (algorithm, f, key)
        fresh = self._hash_all(list(todo.values()), started)

        def md5_of(key: str) -> str:
            return fresh[key] if key in fresh else self.cache.new[key][1]

        for out_path, key in singles.items():
            result[out_path] = md5_of(key)
        for out_path, (algorithm, files) in dir_files.items():
            prefix = len(out_path) + 1
            entries = [(f.path[prefix:], md5_of(f"{algorithm}\0{f.path}")) for f in files]
            result[out_path] = manifest_md5(entries)
        self.cache.save()
        return result

    def _hash_all(self, todo: list[tuple[str, FileStat, str]], started: int) -> dict[str, str]:
        def one(job: tuple[str, FileStat, str]) -> tuple[str, str] | None:
            algorithm, f, key = job
            try:
                return key, file_md5(os.path.join(self.root, f.path), algorithm)
            except OSError:
                return None

        # hashlib releases the GIL on large buffers: a few threads hash a
        # dataset of many files about as fast as the disk gives them.
        if len(todo) > 1 and self.jobs > 1:
            with ThreadPoolExecutor(self.jobs) as pool:
                done = list(pool.map(one, todo))
        else:
            done = [one(job) for job in todo]
        fresh: dict[str, str] = {}
        for (_algorithm, f, key), answer in zip(todo, done, strict=True):
            if answer is None:
                fresh[key] = ""  # unreadable: it cannot match any recorded md5
                continue
            fresh[key] = answer[1]
            self.cache.put(key, f.stamp, answer[1], started)
        self.cache.reads += sum(1 for a in done if a is not None)
        return fresh
