"""DVC's files as plain records, and DVC's content hashes computed without DVC.

A `.dvc` file (and a `dvc.lock`) lists outputs: a path relative to the
file's directory (or to its `wdir`), the `md5` of the content, and for a
directory the md5 of a `.dir` manifest. The rules below are DVC's own, as
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
import posixpath
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from repolicy.errors import FileError
from repolicy.match import Pattern, compile_pattern

# The names DVC gives its files; `*.dvc` at any depth, `dvc.lock`/`dvc.yaml` in any directory.
DVC_SUFFIX = ".dvc"
LOCK_FILE = "dvc.lock"
PROJECT_FILE = "dvc.yaml"

CHUNK = 1 << 20  # DVC hashes in 1 MiB reads; the dos2unix verdict is per read
TEXT_PROBE = 512
_TEXT_BYTES = bytes(range(32, 127)) + b"\n\r\t\f\b"
_SKIPPED_DIRS = frozenset({".git", ".hg", ".dvc"})
DVCIGNORE = ".dvcignore"

MD5 = "md5"  # DVC 3: raw bytes
MD5_DOS2UNIX = "md5-dos2unix"  # DVC 2: CRLF -> LF in text chunks

_CACHE_FILE = "dvc-hashes"
_CACHE_FORMAT = 2
_RACY_NS = 2_000_000_000


class DvcFileError(FileError):
    """A DVC file that cannot be read, at its FILE:LINE:COL."""


class DvcOut(NamedTuple):
    """One output a DVC file records."""

    path: str  # repository-relative, '/' separators, no trailing '/'
    md5: str | None  # as recorded; a directory's ends in ".dir"
    hash: str | None  # the `hash` field: "md5" for DVC 3 outputs, None for DVC 2
    is_dir: bool
    size: int | None
    nfiles: int | None
    source: str  # the DVC file that records it, repository-relative
    line: int  # where its entry starts in that file (1-based)
    cache: bool = True  # `cache: false` outputs are meant to be in git

    @property
    def algorithm(self) -> str:
        return MD5_DOS2UNIX if self.hash is None else self.hash


def is_dvc_file(path: str) -> bool:
    name = posixpath.basename(path)
    return (path.endswith(DVC_SUFFIX) and name != DVC_SUFFIX) or name == LOCK_FILE


# -- parsing ------------------------------------------------------------------


def _compose(source: str, data: bytes) -> Any:
    import yaml

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DvcFileError(source, line, 1, "not valid UTF-8") from None
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        raise DvcFileError(source, line, col, f"invalid YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise DvcFileError(source, 1, 1, f"invalid YAML: {exc}") from None


class _Reader:
    """Typed access to composed YAML nodes; every complaint carries its position."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Any, message: str) -> DvcFileError:
        mark = node.start_mark
        return DvcFileError(self.source, mark.line + 1, mark.column + 1, message)

    def mapping(self, node: Any, what: str) -> dict[str, Any]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, Any] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, f"keys of {what} must be strings")
            if key.value in out:
                raise self.fail(key, f"duplicate key {key.value!r} in {what}")
            out[str(key.value)] = value
        return out

    def sequence(self, node: Any, what: str) -> list[Any]:
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: Any, what: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            raise self.fail(node, f"{what} must be a value, not {_kind(node)}")
        return str(node.value)

    def integer(self, node: Any, what: str) -> int:
        text = self.scalar(node, what)
        try:
            value = int(text)
        except ValueError:
            raise self.fail(node, f"{what} must be a whole number, not {text!r}") from None
        if value < 0:
            raise self.fail(node, f"{what} cannot be negative")
        return value

    def boolean(self, node: Any, what: str) -> bool:
        text = self.scalar(node, what).lower()
        if text in ("true", "yes", "on"):
            return True
        if text in ("false", "no", "off"):
            return False
        raise self.fail(node, f"{what} must be true or false, not {text!r}")


def _kind(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "empty"


def _repo_path(base: str, path: str) -> str | None:
    """An output path as a repository path; None when it lies outside the repository
    (an absolute path, a URL such as s3://, or `..` past the root): not git's business."""
    if "://" in path or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return None
    joined = posixpath.normpath(posixpath.join(base, path.replace("\\", "/")))
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined


def _outs(reader: _Reader, node: Any, base: str, cache_off: set[str]) -> list[DvcOut]:
    outs = []
    for item in reader.sequence(node, "'outs'"):
        fields = reader.mapping(item, "an entry of 'outs'")
        if "path" not in fields:
            raise reader.fail(item, "an entry of 'outs' needs a 'path'")
        raw_path = reader.scalar(fields["path"], "'path'")
        path = _repo_path(base, raw_path)
        if path is None or path == "":
            continue
        md5 = reader.scalar(fields["md5"], "'md5'") if "md5" in fields else None
        hash_name = reader.scalar(fields["hash"], "'hash'") if "hash" in fields else None
        size = reader.integer(fields["size"], "'size'") if "size" in fields else None
        nfiles = reader.integer(fields["nfiles"], "'nfiles'") if "nfiles" in fields else None
        cache = reader.boolean(fields["cache"], "'cache'") if "cache" in fields else True
        is_dir = (md5 is not None and md5.endswith(".dir")) or nfiles is not None
        outs.append(
            DvcOut(
                path=path,
                md5=md5,
                hash=hash_name,
                is_dir=is_dir,
                size=size,
                nfiles=nfiles,
                source=reader.source,
                line=item.start_mark.line + 1,
                cache=cache and path not in cache_off,
            )
        )
    return outs


def parse_dvc_file(source: str, data: bytes) -> list[DvcOut]:
    """The outputs of a `.dvc` file (`source` is its repository-relative path)."""
    import yaml

    root = _compose(source, data)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return []
    reader = _Reader(source)
    fields = reader.mapping(root, "a .dvc file")
    base = posixpath.dirname(source)
    if "wdir" in fields:
        base = posixpath.normpath(posixpath.join(base, reader.scalar(fields["wdir"], "'wdir'")))
    return _outs(reader, fields["outs"], base, set()) if "outs" in fields else []


def parse_dvc_lock(source: str, data: bytes, project: bytes | None = None) -> list[DvcOut]:
    """The outputs every stage of a `dvc.lock` records, relative to its directory
    (or the stage's `wdir` in the `dvc.yaml` beside it, `project`, when given).

    Outputs that `dvc.yaml` declares with `cache: false` (metrics and plots,
    usually) are marked so: they are meant to be committed to git.
    """
    import yaml

    base = posixpath.dirname(source)
    wdirs, cache_off = _project_facts(posixpath.join(base, PROJECT_FILE), base, project)
    root = _compose(source, data)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return []
    reader = _Reader(source)
    fields = reader.mapping(root, "a dvc.lock file")
    if "stages" not in fields:
        return []
    outs = []
    for name, stage in reader.mapping(fields["stages"], "'stages'").items():
        stage_fields = reader.mapping(stage, f"stage {name!r}")
        if "outs" in stage_fields:
            stage_base = wdirs.get(name, base)
            outs.extend(_outs(reader, stage_fields["outs"], stage_base, cache_off))
    return outs


def _project_facts(source: str, base: str, data: bytes | None) -> tuple[dict[str, str], set[str]]:
    """From `dvc.yaml`: each stage's working directory, and the outputs declared
    `cache: false`. A `dvc.yaml` this cannot read is DVC's to complain about."""
    import yaml

    wdirs: dict[str, str] = {}
    cache_off: set[str] = set()
    if data is None:
        return wdirs, cache_off
    try:
        root = _compose(source, data)
        reader = _Reader(source)
        stages = reader.mapping(reader.mapping(root, "dvc.yaml").get("stages"), "'stages'")
        for name, stage in stages.items():
            fields = reader.mapping(stage, "a stage")
            stage_base = base
            if "wdir" in fields:
                wdir = reader.scalar(fields["wdir"], "'wdir'")
                stage_base = posixpath.normpath(posixpath.join(base, wdir))
                wdirs[name] = stage_base
            for key in ("outs", "metrics", "plots"):
                if key not in fields or not isinstance(fields[key], yaml.SequenceNode):
                    continue
                for item in fields[key].value:
                    if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
                        continue
                    path_node, flags = item.value[0]
                    if not isinstance(flags, yaml.MappingNode):
                        continue
                    for flag, value in flags.value:
                        if flag.value == "cache" and str(value.value).lower() == "false":
                            path = _repo_path(stage_base, str(path_node.value))
                            if path:
                                cache_off.add(path)
    except (DvcFileError, AttributeError):
        pass
    return wdirs, cache_off


# -- hashing --------------------------------------------------------------------


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
        if pattern.regex is not None:
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


# -- gathering ------------------------------------------------------------------


class DvcSource(NamedTuple):
    """A DVC file as git knows it: its path and the blob holding it."""

    path: str
    oid: str


def _parse_any(path: str, data: bytes, projects: dict[str, bytes]) -> list[DvcOut]:
    if posixpath.basename(path) == LOCK_FILE:
        project = projects.get(posixpath.join(posixpath.dirname(path), PROJECT_FILE))
        return parse_dvc_lock(path, data, project)
    return parse_dvc_file(path, data)


def outs_from(
    sources: dict[str, bytes], *, strict: bool = True, projects: dict[str, bytes] | None = None
) -> list[DvcOut]:
    """Parse DVC files given as {repository path: contents}. With `strict`, a malformed
    file stops the command (DvcFileError); otherwise it is skipped (old history)."""
    outs: list[DvcOut] = []
    project_files = dict(projects or {})
    project_files.update(
        (p, d) for p, d in sources.items() if posixpath.basename(p) == PROJECT_FILE
    )
    for path in sorted(sources):
        if not is_dvc_file(path):
            continue
        try:
            outs.extend(_parse_any(path, sources[path], project_files))
        except DvcFileError:
            if strict:
                raise
    return outs


def read_work_tree(root: str, paths: Iterable[str]) -> dict[str, bytes]:
    """Contents of the DVC files that exist in the work tree (what DVC itself reads)."""
    found: dict[str, bytes] = {}
    for path in paths:
        try:
            with open(os.path.join(root, path), "rb") as fh:
                found[path] = fh.read()
        except OSError:
            continue
    return found
