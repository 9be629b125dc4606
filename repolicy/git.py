"""Every question repolicy asks of git, and nothing else.

Each function is named for the fact it returns. Lists of paths and objects
travel on stdin (`--stdin`, `--batch-check`), output is read with `-z`, and
paths are decoded once, here, with surrogateescape so names that are not
UTF-8 survive the round trip. No other module runs git (`repolicy.process`
starts the processes) or reads the repository's own files: the one thing
read without git is a loose object (`read_loose`: what the hook was just
given, and what git itself would hang on or believe too readily).

Every call sees the objects as stored (no `refs/replace/`) and neutral
values for the settings that change what plumbing prints (`_NEUTRAL_CONFIG`).
"""

from __future__ import annotations

import collections
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Generic, NamedTuple, TypeVar

from repolicy.errors import GitError, RepolicyError
from repolicy.process import Process

T = TypeVar("T")

GITLINK = "160000"
# Paths relative to the top level whatever `diff.relative` says; renames split
# into delete + add, which is all a check of the new side needs.
_STAGED_DIFF = (
    "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames",
    "--no-relative", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none",
)  # fmt: skip
SYMLINK = "120000"


# Settings a user or a server may hold that change what plumbing prints:
# signature lines in `git log` (log.showSignature), colour codes, paths made
# relative, commit messages re-encoded, copies and renames detected. Each is
# given its neutral value on every call, after (so above) every config file
# and every `-c` the caller was run with. What the product reads on purpose
# (core.excludesFile, core.attributesFile, core.ignoreCase, lfs.*,
# extensions.*, repolicy.*) is left alone.
_NEUTRAL_CONFIG = (
    "log.showSignature=false", "color.ui=false", "color.diff=false",
    "color.branch=false", "color.status=false", "color.grep=false",
    "diff.noprefix=false", "diff.mnemonicPrefix=false", "diff.relative=false",
    "diff.renames=false", "log.abbrevCommit=false",
    "log.decorate=false", "log.follow=false", "log.showRoot=true",
    "log.mailmap=false", "i18n.logOutputEncoding=UTF-8", "core.abbrev=auto",
    "core.quotePath=true", "format.pretty=medium", "status.showUntrackedFiles=all",
    "diff.orderFile=" + os.devnull, "core.useReplaceRefs=false",
)  # fmt: skip
_NEUTRAL_ARGS = tuple(arg for setting in _NEUTRAL_CONFIG for arg in ("-c", setting))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # `git commit PATH` runs hooks against a temporary index; keep pointing at
    # it even when we run git from another directory (-C).
    index = env.get("GIT_INDEX_FILE")
    if index and not os.path.isabs(index):
        env["GIT_INDEX_FILE"] = os.path.abspath(index)
    env.setdefault("GIT_OPTIONAL_LOCKS", "0")
    # What is judged is what is stored and what a push sends: never the
    # object a `refs/replace/` ref shows instead (`read_loose` reads stored
    # objects too).
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    return env


# os.fsdecode and os.fsencode, without their per-call checks: an audit
# converts every path of the history, hundreds of thousands of them.
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()


def decode(raw: bytes) -> str:
    return raw.decode(_FS_ENCODING, _FS_ERRORS)


def encode(path: str) -> bytes:
    return path.encode(_FS_ENCODING, _FS_ERRORS)


class RepoInfo(NamedTuple):
    toplevel: str
    git_dir: str
    prefix: str  # the current directory, relative to toplevel ('' or 'sub/dir/')


class Change(NamedTuple):
    """One entry of `git diff --raw`: the new side of an added or modified path."""

    status: str  # A, M, T, C, R, D
    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    path: str


class IndexEntry(NamedTuple):
    mode: str
    oid: str
    stage: int
    path: str


class HistoryEntry(NamedTuple):
    """A blob written at a path by a commit (added, modified or changed type)."""

    commit: str
    path: str
    oid: str
    mode: str


# The commit-message trailer a maintainer writes to change frozen files on purpose.
ALLOW_FROZEN_TRAILER = "Repolicy-Allow-Frozen"


class TreeChange(NamedTuple):
    """A path one commit changed against its parent(s)."""

    path: str
    before: bool  # a parent had an entry at the path
    after: bool  # the commit has one
    old_oid: str  # what a parent had there (the all-zero id when none did)
    new_oid: str


class CommitChanges(NamedTuple):
    commit: str
    parents: tuple[str, ...]
    allow_frozen: tuple[str, ...]  # values of its Repolicy-Allow-Frozen trailers
    changes: tuple[TreeChange, ...]


class ObjectInfo(NamedTuple):
    oid: str
    type: str
    size: int


class Pending:
    """A started git process; `result()` feeds its stdin and collects stdout."""

    def __init__(self, argv: tuple[str, ...], proc: Process, input: bytes | None) -> None:
        self.argv = argv
        self.proc = proc
        self.input = input

    def result(self, ok: Sequence[int] = (0,)) -> bytes:
        out, err = self.proc.communicate(self.input or b"")
        self._check(ok, err)
        return out

    def stream(self, ok: Sequence[int] = (0,), fed: bool = False) -> Iterator[bytes]:
        """Stdout as it arrives; the exit status is checked at the end. `fed`:
        stdin is written meanwhile by someone else (`Process.send`)."""
        yield from self.proc.stream(None if fed else self.input or b"")
        self._check(ok, self.proc.error)

    def _check(self, ok: Sequence[int], err: bytes) -> None:
        returncode = self.proc.wait()
        if returncode not in ok:
            raise GitError(self.argv, returncode, err.decode(errors="replace"))


class Query(Generic[T]):
    """A question already put to git; `get()` waits for and parses the answer.

    Every query starts its process at once, so independent questions asked
    one after another run side by side: the hook's start-up is mostly
    waiting on git.
    """

    def __init__(
        self,
        pending: Pending | None,
        parse: Callable[[bytes], T],
        empty: T,
        on_error: Callable[[GitError], Exception] | None = None,
        ok: Sequence[int] = (0,),
    ) -> None:
        self._ok = ok
        self._pending = pending
        self._parse = parse
        self._empty = empty
        self._on_error = on_error
        self._joined: Callable[[], T] | None = None  # set by background()

    def background(self) -> Query[T]:
        """Read and parse the answer in a thread from now on: the parse of a long
        output then fills the time this process would spend waiting on git."""
        import threading

        pending = self._pending
        if pending is None:
            return self
        box: list[T | BaseException] = []

        def work() -> None:
            try:
                box.append(self._answer(pending))
            except BaseException as exc:  # handed to the caller of get()
                box.append(exc)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()

        def joined() -> T:
            thread.join()
            answer = box[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer

        self._joined = joined
        return self

    def get(self) -> T:
        if self._pending is None:
            return self._empty
        try:
            self._empty = self._joined() if self._joined else self._answer(self._pending)
        except GitError as exc:
            if self._on_error is None:
                raise
            raise self._on_error(exc) from None
        self._pending = None  # asked again, the answer is the one already read
        return self._empty

    def _answer(self, pending: Pending) -> T:
        return self._parse(pending.result(self._ok))


class StreamQuery(Query[T]):
    """A query whose answer is parsed while git writes it, never held whole."""

    def __init__(
        self, pending: Pending | None, parse: Callable[[Iterator[bytes]], T], empty: T
    ) -> None:
        super().__init__(pending, lambda out: parse(iter((out,))), empty)
        self._parse_stream = parse

    def _answer(self, pending: Pending) -> T:
        return self._parse_stream(pending.stream(self._ok))


class BlobFacts:
    """Sizes, then small blobs' contents: loose objects read in place (with
    `objects`; see `read_loose`), the rest asked of one `cat-file
    --batch-command` (`_BlobQuestions`). Git older than 2.36 lacks
    --batch-command: then the same answer comes from `--batch-check` and `--batch`.
    """

    def __init__(
        self,
        git: Git,
        oids: list[str],
        read_below: int,
        keep: Callable[[bytes], bool] | None = None,
        objects: str | None = None,
    ) -> None:
        self.git = git
        self.read_below = read_below
        # Which contents to hold on to: over a whole history, keeping every
        # small blob would make memory grow with the repository.
        self.keep = keep
        self.info: dict[str, ObjectInfo] = {}
        self.contents: dict[str, bytes] = {}
        # Objects a partial clone left out: git would fetch each one it is
        # asked about. Every transport is refused instead, git dies on them,
        # and they end up here (see `_fallback`).
        self.promised: set[str] = set()
        self.partial = False
        if objects is not None:
            oids = read_loose(objects, oids, read_below, keep, self.info, self.contents)
            if oids and is_partial_clone(objects):
                self.partial = True
                git.env["GIT_ALLOW_PROTOCOL"] = ""
        self.oids = oids  # the ones git is asked about
        self.questions: _BlobQuestions | None = None
        if oids:
            self.questions = _BlobQuestions(git, read_below, keep, self.info, self.contents)
            self.questions.ask(oids)

    def get(self) -> tuple[dict[str, ObjectInfo], dict[str, bytes]]:
        if self.questions is not None:
            try:
                self.questions.finish()
            except GitError:
                for oid in self.oids:  # answered before git died: asked again
                    self.info.pop(oid, None)
                    self.contents.pop(oid, None)
                info, contents = self._fallback()
                self.info.update(info)
                self.contents.update(contents)
            self.questions = None
        return self.info, self.contents

    def _fallback(self) -> tuple[dict[str, ObjectInfo], dict[str, bytes]]:
        """One object at a time where git dies on one (damaged, or a partial
        clone's that git may not fetch): that object gets no facts, the rest do."""
        info: dict[str, ObjectInfo] = {}
        contents: dict[str, bytes] = {}
        absent = _each_answered(
            self.git,
            ("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"),
            self.oids,
            lambda asked, out: _parse_batch_check_into(out, info),
        )
        if self.partial:
            self.promised.update(absent)
        small = [o for o, i in info.items() if i.type == "blob" and i.size < self.read_below]
        damaged = _each_answered(
            self.git,
            ("cat-file", "--batch"),
            small,
            lambda asked, out: _parse_batch_into(out, contents),
        )
        for oid in damaged:  # its size was read, its contents cannot be
            del info[oid]
        if self.keep is not None:
            contents = {oid: data for oid, data in contents.items() if self.keep(data)}
        return info, contents


def _each_answered(
    git: Git, args: tuple[str, ...], oids: list[str], parse: Callable[[list[str], bytes], int]
) -> list[str]:
    """`cat-file` over `oids`; `parse` takes the answers and says how many are
    whole. When git dies on an object its message names, that object is
    skipped (left without facts) and the rest asked again; any other failure
    is git's own, and raised. Returns the skipped objects."""
    skipped = []
    todo = oids
    while todo:
        pending = git.start(*args, input="".join(o + "\n" for o in todo).encode())
        out, err = pending.proc.communicate(pending.input or b"")
        answered = parse(todo, out)
        returncode = pending.proc.wait()
        if returncode == 0:
            break
        if answered >= len(todo) or todo[answered].encode() not in err:
            raise GitError(pending.argv, returncode, err.decode(errors="replace"))
        skipped.append(todo[answered])
        todo = todo[answered + 1 :]
    return skipped


class AttributeReader:
    """A started `git check-attr --stdin` waiting for its paths."""

    def __init__(self, pending: Pending) -> None:
        self._pending = pending

    def ask(self, paths: Iterable[str]) -> Query[dict[str, dict[str, str]]]:
        """{path: {attr: value}} for `paths`, unspecified attributes left out."""
        wanted = list(dict.fromkeys(paths))
        self._pending.input = b"\0".join(map(encode, wanted)) + b"\0" if wanted else b""
        return Query(self._pending, _parse_check_attr, {})

    def discard(self) -> None:
        """Never asked: end of input, and git exits without an answer."""
        self._pending.proc.close()


# Enough of a loose object's compressed bytes to hold the header of any object
# and the whole of one small enough to be an LFS pointer.
_LOOSE_HEAD = 4096
_LOOSE_TYPES = {b"blob": "blob", b"tree": "tree", b"commit": "commit", b"tag": "tag"}
# zlib cannot shrink data more than about 1032 to 1, nor grow it by more than
# 5 bytes per 16 KiB block and a few bytes of framing: a header that claims
# a size outside those bounds of the file it is in says something false.
_MAX_RATIO = 1100


def read_loose(
    objects: str,
    oids: list[str],
    read_below: int,
    keep: Callable[[bytes], bool] | None,
    info: dict[str, ObjectInfo],
    contents: dict[str, bytes],
) -> list[str]:
    """Facts about loose objects read straight from `objects/xx/yyyy`; returns the
    oids still to ask `cat-file` about (packed, or in an alternate).

    What `git add` just wrote is loose, so the hook learns everything it needs
    about the staged blobs without starting a process. Only the header is
    inflated, and the whole object only when it is under `read_below` bytes
    (or when the file's own size belies its header). The bytes are the object
    as stored: what a push sends, not what a `refs/replace/` object would show.

    A loose file that is there but cannot be read as an object (damaged, a
    header that lies, not a regular file) is left out of `info` and not asked
    of git either: git would hang on a FIFO and believe a lying header. The
    caller takes an id without facts for an unreadable object, never for 0 bytes.
    """
    rest = []
    for oid in oids:
        try:
            facts = _loose_object(os.path.join(objects, oid[:2], oid[2:]), read_below)
        except (FileNotFoundError, NotADirectoryError):  # not loose: packed, or elsewhere
            rest.append(oid)
            continue
        if facts is None:
            continue  # unreadable
        kind, size, data = facts
        info[oid] = ObjectInfo(oid, kind, size)
        if data is not None and kind == "blob" and (keep is None or keep(data)):
            contents[oid] = data
    return rest


def _loose_object(path: str, read_below: int) -> tuple[str, int, bytes | None] | None:
    """(type, size, contents when under `read_below`) of one loose object file, or
    None when the file is there but is not a sound object. Never blocks (a
    FIFO), never reads more than the header promises (a zlib bomb)."""
    import stat
    import zlib

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            raise
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        raw = os.read(fd, _LOOSE_HEAD)
        inflate = zlib.decompressobj()
        head = inflate.decompress(raw, 64)
        header, nul, data = head.partition(b"\0")
        kind_raw, space, size_text = header.partition(b" ")
        kind = _LOOSE_TYPES.get(kind_raw)
        # Digits only: int() would take "-5", "+5", " 5" or "5_0".
        if not nul or not space or kind is None or not size_text.isdigit():
            return None
        size = int(size_text)
        stored = st.st_size
        if size > (stored + 64) * _MAX_RATIO:
            return None  # far more than the file could ever inflate to
        too_big_a_file = stored > size + size // 2048 + 4096
        if size >= read_below and not too_big_a_file:
            return kind, size, None
        # Inflate the whole object, never beyond one byte past the claimed size.
        chunks = [data]
        have = len(data)
        pending = inflate.unconsumed_tail
        while have <= size and not inflate.eof:
            if not pending:
                pending = os.read(fd, 1 << 16)
                if not pending:
                    break
            out = inflate.decompress(pending, size + 1 - have)
            pending = inflate.unconsumed_tail
            have += len(out)
            if size < read_below:
                chunks.append(out)
        if have != size or not inflate.eof:
            return None
        return kind, size, b"".join(chunks) if size < read_below else None
    except (OSError, zlib.error):
        return None
    finally:
        os.close(fd)


def loose_ids(objects: str) -> set[str]:
    """The ids of the loose objects in `objects` (one listing per fan-out directory)."""
    found: set[str] = set()
    for k in range(256):
        prefix = f"{k:02x}"
        try:
            names = os.listdir(os.path.join(objects, prefix))
        except OSError:
            continue
        found.update(prefix + name for name in names if len(name) in (38, 62))
    return found


def is_partial_clone(objects: str) -> bool:
    """Whether objects came from a partial clone's promisor remote (a `.promisor`
    pack): objects it left out are fetched by git on demand, unless asked not to."""
    try:
        names = os.listdir(os.path.join(objects, "pack"))
    except OSError:
        return False
    return any(name.endswith(".promisor") for name in names)


def objects_directory(git_dir: str) -> str:
    """Where a repository's own objects live: `$GIT_OBJECT_DIRECTORY`, or `objects`
    in the common directory (a linked worktree's `commondir` names it)."""
    configured = os.environ.get("GIT_OBJECT_DIRECTORY")
    if configured:
        return configured
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            common = os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except OSError:
        common = git_dir
    return os.path.join(common, "objects")


class Git:
    """Runs git in one repository (or, before discovery, one directory)."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.env = _env()

    def start(self, *args: str, input: bytes | None = None, stdin: bool = False) -> Pending:
        """Start git; its input is `input`, or (with `stdin`) set on the Pending later."""
        argv = ("git", *args)
        if not os.path.isdir(self.cwd):
            raise RepolicyError(f"not a directory: {self.cwd}")
        try:
            proc = Process(
                ("git", "-C", self.cwd, *_NEUTRAL_ARGS, *args), self.env, stdin or input is not None
            )
        except FileNotFoundError:
            raise RepolicyError("git is not installed or not on PATH") from None
        return Pending(argv, proc, input)

    def run(self, *args: str, input: bytes | None = None, ok: Sequence[int] = (0,)) -> bytes:
        return self.start(*args, input=input).result(ok)

    # -- the repository ---------------------------------------------------

    def discover(self) -> Query[RepoInfo]:
        """Top level, git directory and current prefix; a clear error outside a work tree."""
        found = _plain_repository(self.cwd)
        if found is not None:
            return Query(None, self._repo_info, found)
        pending = self.start("rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-prefix")
        return Query(pending, self._repo_info, RepoInfo("", "", ""), self._not_a_repository)

    def _repo_info(self, out: bytes) -> RepoInfo:
        lines = decode(out).split("\n")
        if len(lines) < 3:
            raise RepolicyError(f"not a work tree (a bare repository?): {self.cwd}")
        return RepoInfo(toplevel=lines[0], git_dir=lines[1], prefix=lines[2])

    def _not_a_repository(self, exc: GitError) -> Exception:
        if "not a git repository" in exc.stderr:
            return RepolicyError(f"not a git repository: {self.cwd}")
        if "must be run in a work tree" in exc.stderr:
            return RepolicyError(f"not a work tree (a bare repository?): {self.cwd}")
        return exc

    # -- the index --------------------------------------------------------

    def staged_changes(self, git_dir: str | None = None) -> Query[list[Change]]:
        """Index against HEAD (or against nothing on an unborn branch). With
        `git_dir`, the answer is kept in (and taken from) a cache there, valid
        for this index file and HEAD's tree: see `indexcache`."""
        if git_dir is None or "GIT_INDEX_FILE" in os.environ:
            return Query(self.start(*_STAGED_DIFF), parse_raw_diff, [])
        key = self.start("rev-parse", "-q", "--verify", "HEAD^{tree}").result(ok=(0, 1)).strip()
        if not key:  # an unborn branch
            return Query(self.start(*_STAGED_DIFF), parse_raw_diff, [])
        from repolicy import indexcache

        cache_dir = os.path.join(git_dir, "repolicy")
        index = os.path.join(git_dir, "index")
        cached = indexcache.read(cache_dir, indexcache.STAGED, index, key)
        if cached is not None:
            return Query(None, parse_raw_diff, parse_raw_diff(cached))
        before = indexcache.stamp(index)

        def parse(out: bytes) -> list[Change]:
            indexcache.write(cache_dir, indexcache.STAGED, index, before, out, key)
            return parse_raw_diff(out)

        # Against the very tree the answer is stored for, should HEAD move meanwhile.
        return Query(self.start(*_STAGED_DIFF, decode(key), "--"), parse, [])

    def index_entries(
        self, under: Iterable[str] | None = None, git_dir: str | None = None
    ) -> Query[list[IndexEntry]]:
        """The index; with `under`, only the entries at or below those repository
        paths (the rest are never decoded). With `git_dir` too, the listing is
        kept in (and taken from) a cache there: see `indexcache`."""
        if under is None:
            return Query(self.start("ls-files", "--stage", "-z"), _parse_ls_files, [])
        wanted = {encode(p.rstrip("/")) for p in under}
        if git_dir is None or "GIT_INDEX_FILE" in os.environ:
            return Query(
                self.start("ls-files", "--stage", "-z"),
                lambda out: _parse_ls_files_under(out, wanted),
                [],
            )
        from repolicy import indexcache

        cache_dir = os.path.join(git_dir, "repolicy")
        index = os.path.join(git_dir, "index")
        cached = indexcache.read(cache_dir, indexcache.LISTING, index)
        if cached is not None:
            return Query(None, _parse_ls_files, _parse_ls_files_under(cached, wanted))
        before = indexcache.stamp(index)

        def parse(out: bytes) -> list[IndexEntry]:
            indexcache.write(cache_dir, indexcache.LISTING, index, before, out)
            return _parse_ls_files_under(out, wanted)

        return Query(self.start("ls-files", "--stage", "-z"), parse, [])

    def untracked(self, ignored: bool) -> Query[list[str]]:
        """Untracked files in the work tree: the ignored ones, or the ones `git add -A` takes."""
        args = ["ls-files", "-z", "--others", "--exclude-standard"]
        if ignored:
            args.append("--ignored")
        return Query(self.start(*args), _parse_paths, [])

    # -- history ----------------------------------------------------------

    def history(self, revisions: Sequence[str]) -> Query[list[HistoryEntry]]:
        """Every blob each commit of `revisions` wrote, at every path, oldest commit first.

        One `git log --raw`: a root commit counts as adding all its files, a
        merge only for what differs from every parent (what the merge itself
        wrote); blobs it brings from a side branch are that branch's commits'.
        """
        pending = self._history_log(revisions, trees=False)
        return StreamQuery(pending, lambda chunks: parse_history_walk(chunks).entries, [])

    def history_walk(self, revisions: Sequence[str]) -> Query[HistoryWalk]:
        """`history`, plus every commit and tree the walk passes: with the blobs,
        all the objects `rev-list --objects` would list (`-t` names each tree
        a commit changed; `%T` its root tree), so their disk usage can be summed
        without walking the history a second time."""
        pending = self._history_log(revisions, trees=True)
        return StreamQuery(pending, parse_history_walk, HistoryWalk([], set()))

    def _history_log(self, revisions: Sequence[str], trees: bool) -> Pending:
        """The `git log` that `WalkParser` reads."""
        options, names = revision_input(revisions)
        return self.start(
            "log", "--stdin", "--raw", *(["-t"] if trees else []), "-z", "-c", "--no-abbrev",
            "--no-renames", "--root", "--reverse", "--topo-order", "--ignore-missing",
            "--format=%x01%H %T" if trees else "--format=%x01%H", *options, "--",
            input=names,
        )  # fmt: skip

    def history_scan(
        self,
        revisions: Sequence[str],
        read_below: int,
        keep: Callable[[bytes], bool] | None,
        attributes: Sequence[str],
        objects: str | None = None,
        promised: Collection[str] = (),
    ) -> HistoryScan:
        """`history_walk`, with every blob's facts and every path's attributes
        asked while the walk goes (see `HistoryScan`). With `objects`, loose
        objects are read there; `promised` ids are never asked (see `promised`)."""
        return HistoryScan(self, revisions, read_below, keep, attributes, objects, promised)

    def promised(self, revisions: Sequence[str]) -> Query[set[str]]:
        """In a partial clone, the objects `revisions` reach that are not here (the
        promisor remote has them). Asking `cat-file` about one would fetch it;
        `rev-list --missing=print` lists them and fetches nothing. From now on
        no git call of this object may fetch either: every transport is refused."""
        self.env["GIT_ALLOW_PROTOCOL"] = ""
        options, names = revision_input(revisions)
        pending = self.start(
            "rev-list", "--stdin", "--objects", "--missing=print", "--ignore-missing",
            *options, "--", input=names,
        )  # fmt: skip
        return Query(
            pending,
            lambda out: {line[1:].decode() for line in out.split(b"\n") if line[:1] == b"?"},
            set(),
        )

    def tag_objects(self) -> Query[list[str]]:
        """The annotated tag objects under refs/tags (what `--tags` adds to a walk)."""
        pending = self.start("for-each-ref", "--format=%(objecttype) %(objectname)", "refs/tags")
        return Query(
            pending,
            lambda out: [line[4:] for line in out.decode().splitlines() if line[:4] == "tag "],
            [],
        )

    def disk_sizes(self, oids: Iterable[bytes]) -> DiskSizes:
        """Bytes on disk of the given objects, summed (missing ones count nothing).
        `oids` is read by a thread, a batch at a time, while the caller goes on."""
        return DiskSizes(self, oids)

    def disk_usage(self, revisions: Sequence[str]) -> Query[int]:
        """Bytes on disk of every object reachable from `revisions` (`rev-list --disk-usage`)."""
        options, names = revision_input(revisions)
        pending = self.start(
            # An absent object counts nothing and is never fetched: a partial
            # clone's are on its promisor remote, and a blob that is gone
            # otherwise is reported by the checks (blob-unreadable).
            "rev-list", "--stdin", "--objects", "--disk-usage", "--ignore-missing",
            "--missing=allow-any", *options, "--", input=names,
        )  # fmt: skip
        return Query(pending, lambda out: int(out.strip() or b"0"), 0)

    # -- trees (require, frozen) --

    def commit_changes(self, revisions: Sequence[str]) -> Query[list[CommitChanges]]:
        """Each commit of `revisions`, oldest first, with its parents, its
        `Repolicy-Allow-Frozen:` trailers and every path it added, modified or
        deleted (a merge: what differs from every parent, as `-c` shows it)."""
        options, names = revision_input(revisions)
        pending = self.start(
            "log", "--stdin", "--raw", "-z", "-c", "--no-abbrev", "--no-renames", "--root",
            "--reverse", "--topo-order", "--ignore-missing",
            f"--format=%x01%H %P%x02%(trailers:key={ALLOW_FROZEN_TRAILER},valueonly,unfold,"
            "separator=%x1f)%x02",
            *options, "--", input=names,
        )  # fmt: skip
        return Query(pending, parse_commit_changes, [])

    def object_types(self, names: Iterable[str]) -> Query[dict[str, str]]:
        """The type of each object name (`<rev>:<path>` says whether a tree holds a
        path) from one `cat-file --batch-check -z`; names git cannot resolve are left out."""
        wanted = list(dict.fromkeys(names))
        pending = None
        if wanted:
            pending = self.start(
                "cat-file", "--batch-check=%(objecttype)", "-z",
                input=b"\0".join(map(encode, wanted)) + b"\0",
            )  # fmt: skip
        return Query(pending, lambda out: _parse_object_types(wanted, out), {})

    def content_tips(self, tips: Sequence[str]) -> list[str]:
        """The tips that name a tree or a blob (directly or through tags): `git log`
        passes over them silently, though a push stores what they hold."""
        types = self.object_types([f"{t}^{{}}" for t in tips]).get()
        return [t for t in tips if types.get(f"{t}^{{}}") in ("tree", "blob")]

    def tip_contents(
        self, tip: str, bounds: Sequence[str]
    ) -> tuple[list[tuple[str, str, str]], list[str]]:
        """For a tip naming a tree or a blob: (mode, blob id, path in the tree) of
        each blob below it that `bounds` do not reach (a bare blob has path ""),
        and every object id it brings (tags and trees included)."""
        out = self.run(
            "rev-list", "--objects", "--no-object-names", "--ignore-missing", tip, *bounds, "--"
        )
        new = out.decode().split()
        fresh = set(new)
        peeled = self.run("rev-parse", "--verify", "--end-of-options", f"{tip}^{{}}")
        peeled_id = peeled.decode().strip()
        if self.object_types([peeled_id]).get().get(peeled_id) == "blob":
            return ([("100644", peeled_id, "")] if peeled_id in fresh else []), new
        blobs = []
        listing = self.run("ls-tree", "-r", "-z", "--full-tree", peeled_id)
        for record in listing.split(b"\0"):
            meta, _, name = record.partition(b"\t")
            if not meta:
                continue
            mode, kind, oid = meta.decode().split(" ")
            if kind == "blob" and oid in fresh:
                blobs.append((mode, oid, decode(name)))
        return blobs, new

    def object_ids(self, names: Iterable[str]) -> Query[dict[str, str]]:
        """The object id of each name (`<rev>:<path>`), from one `cat-file
        --batch-check -z`; names git cannot resolve are left out."""
        wanted = list(dict.fromkeys(names))
        pending = None
        if wanted:
            pending = self.start(
                "cat-file", "--batch-check=%(objectname)", "-z",
                input=b"\0".join(map(encode, wanted)) + b"\0",
            )  # fmt: skip
        return Query(pending, lambda out: _parse_object_ids(wanted, out), {})

    def tree_names(self, names: Iterable[str]) -> Query[dict[str, list[str]]]:
        """The names directly inside each tree (`<rev>:<dir>`, or `<rev>^{tree}` for
        the root), as `ls-tree` lists them: files, subdirectories, links and
        submodules. One `cat-file --batch -z` reads only the trees named; a name
        that resolves to no tree is left out."""
        wanted = list(dict.fromkeys(names))
        pending = None
        if wanted:
            pending = self.start(
                "cat-file", "--batch=%(objecttype) %(objectsize)", "-z",
                input=b"\0".join(map(encode, wanted)) + b"\0",
            )  # fmt: skip
        width = self.hash_length() // 2 if wanted else 20
        return Query(pending, lambda out: _parse_tree_names(wanted, out, width), {})

    def parent_diffs(
        self, pairs: Sequence[tuple[str, str]]
    ) -> Query[list[tuple[str, str, tuple[TreeChange, ...]]]]:
        """(commit, parent, changes) for each pair: what `commit` changed against
        that one parent (a merge against each of its parents, which `-c` hides)."""
        pending = None
        if pairs:
            pending = self.start(
                "diff-tree", "--stdin", "-r", "-z", "--raw", "--no-abbrev", "--no-renames",
                "--always", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none",
                input="".join(f"{c} {p}\n" for c, p in pairs).encode(),
            )  # fmt: skip
        return Query(pending, lambda out: _parse_parent_diffs(list(pairs), out), [])

    def merge_bases(self, a: str, b: str) -> list[str]:
        """Every merge base of two commits (none for unrelated histories)."""
        out = self.run("merge-base", "--all", "--end-of-options", a, b, ok=(0, 1))
        return out.decode().split()

    def tree_files(self, rev: str, directories: Iterable[str] = ()) -> Query[list[str]]:
        """Files in the tree of `rev`, below `directories` when given (all when not)."""
        specs = [f":(literal){d}/" for d in dict.fromkeys(directories)]
        if sum(len(s) for s in specs) > _MAX_ARGS:
            specs = []  # the caller keeps what it asked for
        pending = self.start("ls-tree", "-r", "-z", "--name-only", "--full-tree", rev, "--", *specs)
        return Query(pending, _parse_paths, [])

    def tree_entry(self, rev: str, path: str) -> tuple[str, str] | None:
        """(mode, object id) of the entry at `path` in the tree of `rev`; None when
        there is none (a directory is an entry too, of mode 040000)."""
        out = self.run("ls-tree", "-z", "--full-tree", rev, "--", f":(literal){path}")
        for record in out.split(b"\0"):
            meta, _, name = record.partition(b"\t")
            if decode(name) == path:
                mode, _type, oid = meta.decode().split(" ")
                return mode, oid
        return None

    def index_files(self, directories: Iterable[str] = ()) -> Query[list[str]]:
        """Paths in the index, below `directories` when given (all when not)."""
        specs = [f":(literal,top){d}/" for d in dict.fromkeys(directories)]
        if sum(len(s) for s in specs) > _MAX_ARGS:
            specs = []  # the caller keeps what it asked for
        pending = self.start("ls-files", "-z", "--cached", "--full-name", "--", *specs)
        return Query(pending, _parse_unique_paths_of_index, [])

    def work_tree_changes(self) -> Query[list[Change]]:
        """Tracked files whose work-tree state differs from HEAD (staged or not)."""
        pending = self.start(
            "diff", "HEAD", "--raw", "-z", "--no-abbrev", "--no-renames", "--no-relative",
            "--no-ext-diff", "--no-textconv", "--ignore-submodules=none",
        )  # fmt: skip
        return Query(pending, parse_raw_diff, [])

    def first_added(self, revisions: Sequence[str], paths: Iterable[str]) -> Query[dict[str, str]]:
        """For each path (a file or a directory), the oldest commit of `revisions` that
        added it (or, for a directory, a file below it). Paths never added are left out."""
        wanted = list(dict.fromkeys(paths))
        specs = [f":(literal,top){p}" for p in wanted]
        if sum(len(s) for s in specs) > _MAX_ARGS:
            specs = []  # walk every added path rather than overflow the command line
        pending = None
        if wanted and revisions:
            options, names = revision_input(revisions)
            pending = self.start(
                "log", "--stdin", "--reverse", "--topo-order", "--format=%x01%H", "--name-only",
                "-z", "--no-renames", "--diff-filter=A", "--ignore-missing", *options, "--",
                *specs, input=names,
            )  # fmt: skip
        return Query(pending, lambda out: _parse_first_added(wanted, out), {})

    def hash_length(self) -> int:
        """Hex digits of an object id here: 40 (SHA-1) or 64 (SHA-256)."""
        out = self.run("rev-parse", "--show-object-format")
        return 64 if out.strip() == b"sha256" else 40

    def head(self) -> str | None:
        """The commit HEAD names, or None on an unborn branch."""
        out = self.run("rev-parse", "--verify", "-q", "HEAD^{commit}", ok=(0, 1))
        return decode(out).strip() or None

    def commit_named(self, rev: str) -> str | None:
        """The commit a revision the user typed names, or None when it names none.
        `--end-of-options` keeps a revision such as `--output=x` from being an option."""
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1)
        )
        return decode(out).strip() or None

    def merge_base(self, one: str, other: str) -> str | None:
        """The best common ancestor of two commit ids, or None when they share none
        (or, in a shallow clone, none that was fetched)."""
        out = self.run("merge-base", "--end-of-options", one, other, ok=(0, 1))
        return decode(out).strip() or None

    def shallow_commits(self) -> set[str]:
        """The commits whose parents a shallow clone did not fetch (empty when not shallow)."""
        path = decode(self.run("rev-parse", "--path-format=absolute", "--git-path", "shallow"))
        try:
            with open(path.strip(), encoding="ascii") as fh:
                return {line.strip() for line in fh if line.strip()}
        except FileNotFoundError:
            return set()

    def commits(self, revisions: Sequence[str]) -> Query[list[str]]:
        """The ids of the commits `revisions` select (`rev-list`)."""
        pending = self.start("rev-list", *revisions, "--")
        return Query(pending, lambda out: decode(out).split(), [])

    def commits_and_boundary(self, revisions: Sequence[str]) -> Query[tuple[list[str], list[str]]]:
        """The commits `revisions` select, and the boundary: the commits they
        exclude that a selected commit has as a parent (`rev-list --boundary`)."""
        options, names = revision_input(revisions)
        pending = self.start(
            "rev-list", "--stdin", "--boundary", "--ignore-missing", *options, "--", input=names
        )

        def parse(out: bytes) -> tuple[list[str], list[str]]:
            lines = decode(out).split()
            return [c for c in lines if c[:1] != "-"], [c[1:] for c in lines if c[:1] == "-"]

        return Query(pending, parse, ([], []))

    def stored_bound(self) -> int | None:
        """An upper bound on the bytes any set of reachable objects takes on disk:
        every loose object and pack in this repository (`count-objects -v`), or
        None when objects also live elsewhere (alternates) and no bound is known."""
        fields: dict[str, str] = {}
        for line in decode(self.run("count-objects", "-v")).splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        if "alternate" in fields:
            return None
        # KiB rounded up per file; a pack also holds headers, so this never
        # undercounts what rev-list --disk-usage would find.
        return (int(fields.get("size", "0")) + int(fields.get("size-pack", "0"))) * 1024

    def config(self, *args: str) -> str | None:
        """A `git config` value, or None when unset."""
        out = self.run("config", *args, ok=(0, 1))
        return decode(out).rstrip("\n") if out else None

    # -- objects ----------------------------------------------------------

    def object_info(self, oids: Iterable[str]) -> Query[dict[str, ObjectInfo]]:
        """Type and size of many objects from one `cat-file --batch-check`."""
        wanted = "\n".join(dict.fromkeys(oids))
        pending = None
        if wanted:
            pending = self.start(
                "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                input=wanted.encode() + b"\n",
            )  # fmt: skip
        return Query(pending, _parse_batch_check, {})

    def blob_facts(
        self,
        oids: Iterable[str],
        read_below: int,
        keep: Callable[[bytes], bool] | None = None,
        objects: str | None = None,
    ) -> BlobFacts:
        """Sizes of many objects, and the contents of the blobs under `read_below` bytes
        (only those `keep` accepts, when given). With `objects`, the object
        directory, loose objects are read there first (see `read_loose`)."""
        return BlobFacts(self, list(dict.fromkeys(oids)), read_below, keep, objects)

    def blob_contents(self, oids: Iterable[str]) -> Query[dict[str, bytes]]:
        """Contents of many (small) blobs from one `cat-file --batch`."""
        wanted = "\n".join(dict.fromkeys(oids))
        pending = None
        if wanted:
            pending = self.start("cat-file", "--batch", input=wanted.encode() + b"\n")
        return Query(pending, _parse_batch, {})

    # -- attributes -------------------------------------------------------

    def attribute_reader(self, names: Sequence[str], cached: bool = False) -> AttributeReader:
        """A `git check-attr` started now and asked later: the hook starts it beside
        the diff, so git has read the attributes by the time the paths are known."""
        args = ["check-attr", "-z", "--stdin"]
        if cached:
            args.append("--cached")
        return AttributeReader(self.start(*args, *names, stdin=True))

    def attributes(
        self, paths: Iterable[str], names: Sequence[str], cached: bool = False
    ) -> Query[dict[str, dict[str, str]]]:
        """`git check-attr` for many paths: {path: {attr: value}}, unspecified left out."""
        wanted = list(dict.fromkeys(paths))
        pending = None
        if wanted:
            args = ["check-attr", "-z", "--stdin"]
            if cached:
                args.append("--cached")
            pending = self.start(*args, *names, input=b"\0".join(map(encode, wanted)) + b"\0")
        query: Query[dict[str, dict[str, str]]] = Query(pending, _parse_check_attr, {})
        # In the background: the paths may be many, and the caller has other work.
        return query.background()

    # -- dvc --

    def dvc_files(self) -> Query[list[IndexEntry]]:
        """Index entries of DVC's files at any depth (`*.dvc`, `dvc.lock`, `dvc.yaml`),
        repository-relative from wherever git runs."""
        pending = self.start(
            "ls-files", "--stage", "-z", "--full-name", "--",
            ":(top)*.dvc", ":(top)dvc.lock", ":(top)*/dvc.lock",
            ":(top)dvc.yaml", ":(top)*/dvc.yaml",
        )  # fmt: skip
        return Query(pending, _parse_ls_files, [])

    def ignored_by_rules(self, paths: Iterable[str]) -> set[str]:
        """The paths git's ignore rules ignore, tracked or not (`check-ignore --no-index`)."""
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return set()
        out = self.run(
            "check-ignore", "-z", "--stdin", "--no-index",
            input=b"\0".join(map(encode, wanted)) + b"\0", ok=(0, 1),
        )  # fmt: skip
        return set(_parse_paths(out))

    # -- init --

    def remote_urls(self) -> Query[list[tuple[str, str]]]:
        """(remote, URL) for every fetch and push URL of every remote, from one
        `git remote -v`: it prints URLs after `url.<base>.insteadOf` rewriting,
        so a shorthand such as `gh:org/repo` is seen as the host it stands for.
        (`remote -v` has no `-z`; a URL holding a tab or newline is not a URL
        any forge serves.)"""
        return Query(self.start("remote", "-v"), _parse_remote_urls, [])

    # -- ignore rules (fix, explain) ----------------------------------------

    def files(self) -> Query[list[str]]:
        """Every file in the index or the work tree, ignored ones included."""
        return Query(self.start("ls-files", "-z", "--cached", "--others"), _parse_unique_paths, [])

    def excludes_file(self) -> Query[str | None]:
        """`core.excludesFile` as git reads it (set, or git's XDG default when that file
        exists; None otherwise), as an absolute path."""
        pending = self.start("config", "-z", "--path", "--get", "core.excludesFile")

        def parse(out: bytes) -> str | None:
            found = out.rstrip(b"\0")
            if found:
                return os.path.join(self.cwd, decode(found))
            xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
                os.path.expanduser("~"), ".config"
            )
            default = os.path.join(xdg, "git", "ignore")
            return default if os.path.isfile(default) else None

        return Query(pending, parse, None, ok=(0, 1))

    def ignore_sources(self, paths: Iterable[str]) -> Query[dict[str, IgnoreSource]]:
        """The line that decides each path's ignore state, as `check-ignore -v` reports
        it, judged by the rules alone (tracked or not); paths no line matches are left out."""
        wanted = list(dict.fromkeys(paths))
        pending = None
        if wanted:
            pending = self.start(
                "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin",
                input=b"\0".join(map(encode, wanted)) + b"\0",
            )  # fmt: skip
        return Query(pending, _parse_check_ignore, {}, ok=(0, 1))


def revision_input(revisions: Sequence[str]) -> tuple[list[str], bytes]:
    """`revisions` split for a `--stdin` walk: options (`--branches`, `--not`...)
    stay on the command line, names go to stdin, once each. A push of 60,000
    tags names 60,000 commits, more than a command line holds.

    `--stdin` comes first on the command line, where no `--not` is in force
    yet; a name after an odd number of `--not` is sent as `^name` instead."""
    options: list[str] = []
    names: dict[str, None] = {}
    negated = False
    for rev in revisions:
        if rev == "--not":
            negated = not negated
            options.append(rev)
        elif rev.startswith("-"):
            options.append(rev)
        elif negated and not rev.startswith("^"):
            names["^" + rev] = None
        elif negated:
            names[rev[1:]] = None
        else:
            names[rev] = None
    return options, b"".join(encode(name) + b"\n" for name in names)


class IgnoreSource(NamedTuple):
    """A line of an ignore file (`file` as git names it: relative to the top level)."""

    file: str
    line: int
    pattern: str

    @property
    def ignores(self) -> bool:
        return not self.pattern.startswith("!")


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
        self.git.run("init", "-q", root)
        if ignore_case:
            self.git.run("config", "core.ignoreCase", "true")
        if excludes_file is not None:
            self.git.run("config", "core.excludesFile", excludes_file)
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


# Anything that changes how git finds its repository: then git must find it.
_DISCOVERY_ENV = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)  # fmt: skip


def _plain_repository(cwd: str) -> RepoInfo | None:
    """The common case found without a process: a `.git` directory in `cwd` or above
    it. A `.git` file (linked worktree, submodule), an environment that steers
    discovery, or a start inside the git directory: None, and git is asked."""
    if any(name in os.environ for name in _DISCOVERY_ENV):
        return None
    here = os.path.realpath(cwd)
    top = here
    while True:
        dotgit = os.path.join(top, ".git")
        if os.path.isdir(dotgit) and not os.path.islink(dotgit):
            if not os.path.isfile(os.path.join(dotgit, "HEAD")):
                return None
            rel = os.path.relpath(here, top)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            if prefix == ".git/" or prefix.startswith(".git/"):
                return None
            return RepoInfo(top, dotgit, prefix)
        if os.path.lexists(dotgit):
            return None
        parent = os.path.dirname(top)
        if parent == top:
            return None
        top = parent


def _parse_paths(out: bytes) -> list[str]:
    return [decode(p) for p in out.split(b"\0") if p]


class RawRecord(NamedTuple):
    """One `--raw` record; a merge's combined record has one old mode and id per parent."""

    old_modes: list[str]
    old_oids: list[str]
    new_mode: str
    new_oid: str
    status: str
    path: bytes


def raw_record(meta: bytes, path: bytes) -> RawRecord:
    """One `--raw` record from its meta field and its path (with `-c`, a merge's)."""
    text = meta.decode()
    n = len(text) - len(text.lstrip(":"))
    parts = text[n:].split(" ")
    return RawRecord(
        parts[:n], parts[n + 1 : 2 * n + 1], parts[n], parts[2 * n + 1], parts[-1][:1], path
    )


class HistoryWalk(NamedTuple):
    entries: list[HistoryEntry]
    objects: set[bytes]  # the ids of the commits and trees of the walk


_TREE = b"040000"
_NOTHING = (b"000000", GITLINK.encode())
_MODES = {m: m.decode() for m in (b"100644", b"100755", b"120000")}


class WalkParser:
    """`git log --raw -z -c --format=%x01%H[ %T]` (with or without `-t`), parsed
    chunk by chunk as it arrives.

    Read field by field: a path may hold any byte but NUL, so only the order
    of the fields tells a commit's header from a path. A record is a meta
    field (`:` once per parent, the parents' modes, the new mode, the
    parents' ids, the new id, the status letters) and then its path.
    """

    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []
        self.objects: set[bytes] = set()  # commits and trees
        self._commit = ""
        self._meta: bytes | None = None
        self._fields = _Lines(b"\0")

    def feed(self, data: bytes) -> None:
        fields = self._fields.feed(data)
        add_entry, add_object = self.entries.append, self.objects.add
        commit, meta = self._commit, self._meta
        for field in fields:
            if meta is not None:
                parts = meta.split(b" ")
                if meta[1] == 0x3A:  # a merge's combined record: one ':' per parent
                    n = len(meta) - len(meta.lstrip(b":"))
                    mode, oid = parts[n], parts[2 * n + 1]
                else:
                    mode, oid = parts[1], parts[3]
                meta = None
                if mode == _TREE:
                    add_object(oid)
                elif mode not in _NOTHING and parts[-1][:1] != b"D":
                    mode_text = _MODES.get(mode) or mode.decode()
                    add_entry(HistoryEntry(commit, decode(field), oid.decode(), mode_text))
                continue
            field = field.lstrip(b"\n")
            if field[:1] == b":":
                meta = field
            elif field[:1] == b"\x01":
                ids = field[1:].split()
                add_object(ids[0])
                if len(ids) > 1:
                    add_object(ids[1])
                commit = ids[0].decode()
        self._commit, self._meta = commit, meta

    def result(self) -> HistoryWalk:
        return HistoryWalk(self.entries, self.objects)


def parse_history_walk(chunks: Iterable[bytes]) -> HistoryWalk:
    parser = WalkParser()
    for data in chunks:
        parser.feed(data)
    return parser.result()


class _Lines:
    """Complete lines out of chunks that split them anywhere."""

    def __init__(self, separator: bytes = b"\n") -> None:
        self._separator = separator
        self._carry = b""

    def feed(self, data: bytes) -> list[bytes]:
        lines = (self._carry + data).split(self._separator)
        self._carry = lines.pop()
        return lines


class Feed:
    """A git process fed while it runs: `send` queues its input, a thread writes
    it, another hands the output to `parse` as it arrives, and `finish` ends
    the input and waits for the last answer. The caller never waits on git:
    a slow reader of its input would otherwise stall whatever produces it."""

    def __init__(self, git: Git, args: Sequence[str], parse: Callable[[bytes], None]) -> None:
        import queue
        import threading

        self.pending = git.start(*args, stdin=True)
        self._parse = parse
        self._failure: BaseException | None = None
        self._queue: queue.SimpleQueue[bytes | Iterable[bytes] | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._reader.start()
        self._writer.start()

    def _drain(self) -> None:
        try:
            for chunk in self.pending.stream(fed=True):
                self._parse(chunk)
        except BaseException as exc:  # handed to the caller of finish()
            self._failure = exc

    def _write(self) -> None:
        proc = self.pending.proc
        try:
            while (data := self._queue.get()) is not None:
                for chunk in [data] if isinstance(data, bytes) else data:
                    proc.send(chunk)
        except BaseException as exc:  # handed to the caller of finish()
            self._failure = exc
        finally:
            # Whatever happened, git must see the end of its input, or the
            # reader would wait for an answer forever.
            proc.close_stdin()

    def send(self, data: bytes | Iterable[bytes]) -> None:
        """Queue input: bytes, or chunks the writer thread takes one by one (so a
        long input is never built whole)."""
        if data:
            self._queue.put(data)

    def alive(self) -> bool:
        return self._reader.is_alive()

    def finish(self) -> None:
        self._queue.put(None)
        self._writer.join()
        self._reader.join()
        if self._failure is not None:
            raise self._failure


_OBJECT_TYPE_NAMES = {t: t.decode() for t in (b"blob", b"tree", b"commit", b"tag")}


class _BlobQuestions:
    """One `cat-file --batch-command --buffer` asked, as ids arrive, for sizes and
    then for the contents of the blobs under `read_below` bytes.

    One process, so the pack is mapped once. Only the caller's thread
    writes, and it never waits on an answer while writing; the reader thread
    parses the answers in the order the questions were written (`_asked`)
    and never writes, so neither side can block the other.
    """

    def __init__(
        self,
        git: Git,
        read_below: int,
        keep: Callable[[bytes], bool] | None,
        info: dict[str, ObjectInfo],
        contents: dict[str, bytes],
    ) -> None:
        import threading

        self._read_below = read_below
        self._keep = keep
        self._info = info
        self._contents = contents
        self._answered = threading.Condition()
        self._asked: collections.deque[tuple[bool, list[str]]] = collections.deque()
        self._sizes_unanswered = 0
        self._small: list[str] = []  # sized, contents not asked for yet
        self._batch: tuple[bool, list[str]] | None = None
        self._k = 0
        self._buffer = bytearray()
        self.feed = Feed(git, ("cat-file", "--batch-command", "--buffer"), self._parse)

    def ask(self, oids: list[str]) -> None:
        """Sizes of `oids`, and contents of the small blobs sized since last time."""
        with self._answered:
            small, self._small = self._small, []
            lines = [b"info %s\n" % o.encode() for o in oids]
            if oids:
                self._asked.append((False, oids))
                self._sizes_unanswered += 1
            if small:
                self._asked.append((True, small))
                lines += [b"contents %s\n" % o.encode() for o in small]
        if lines:
            self.feed.send(b"".join(lines) + b"flush\n")

    def finish(self) -> None:
        """Wait for every size, ask for the last contents, and read them."""
        with self._answered:
            while self._sizes_unanswered and self.feed.alive():
                self._answered.wait(0.05)
        self.ask([])
        self.feed.finish()

    def _parse(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        pos = 0
        small: list[str] = []
        info, read_below = self._info, self._read_below
        while True:
            if self._batch is None:
                with self._answered:
                    if not self._asked:
                        break
                    self._batch, self._k = self._asked.popleft(), 0
            is_contents, oids = self._batch
            k = self._k
            if not is_contents:
                # Sizes come one line each: take every whole line at once.
                lines = bytes(buffer[pos:]).split(b"\n", len(oids) - k)
                for line in lines[:-1]:
                    pos += len(line) + 1
                    parts = line.split(b" ")
                    oid = oids[k]
                    k += 1
                    if len(parts) == 3:  # not "<oid> missing"
                        kind = _OBJECT_TYPE_NAMES.get(parts[1]) or parts[1].decode()
                        size = int(parts[2])
                        info[oid] = ObjectInfo(oid, kind, size)
                        if kind == "blob" and size < read_below:
                            small.append(oid)
            else:
                end = buffer.find(b"\n", pos)
                if end < 0:
                    break
                parts = bytes(buffer[pos:end]).split(b" ")
                if len(parts) != 3:  # "<oid> missing"
                    pos = end + 1
                else:
                    size = int(parts[2])
                    if len(buffer) < end + size + 2:
                        break
                    content = bytes(buffer[end + 1 : end + 1 + size])
                    pos = end + size + 2
                    if self._keep is None or self._keep(content):
                        self._contents[oids[k]] = content
                k += 1
            self._k = k
            if k < len(oids):
                if is_contents:
                    continue
                break  # the rest of the sizes are still to come
            self._batch = None
            if not is_contents:
                with self._answered:
                    self._sizes_unanswered -= 1
                    self._small += small
                    small = []
                    self._answered.notify_all()
        if small:
            with self._answered:
                self._small += small
        del buffer[:pos]


class HistoryScan:
    """The history walk, with the facts of each blob gathered while it goes.

    Each new blob id is asked of `cat-file` (its size, then the contents of
    the small ones, kept where `keep` says) and each new path of `check-attr`
    as soon as the walk meets them: both run beside `git log` instead of
    after it. Git without `cat-file --batch-command` (before 2.36) is asked
    once the walk is over.
    """

    def __init__(
        self,
        git: Git,
        revisions: Sequence[str],
        read_below: int,
        keep: Callable[[bytes], bool] | None,
        attributes: Sequence[str],
        objects: str | None = None,
        promised: Collection[str] = (),
    ) -> None:
        self.info: dict[str, ObjectInfo] = {}
        self._objects = objects
        self._promised = promised
        self.contents: dict[str, bytes] = {}
        self.attributes = _Attributes()
        self._git = git
        self._read_below = read_below
        self._keep = keep
        self._attr_fields = _Lines(b"\0")
        self._attr_carry: list[bytes] = []
        self._attr_paths: collections.deque[str] = collections.deque()
        self._attr_names = len(attributes)
        self._attr_answers = 0
        self._attr_path = ""
        self._log = git._history_log(revisions, trees=True)
        self._blobs = _BlobQuestions(git, read_below, keep, self.info, self.contents)
        self._attrs = Feed(
            git, ("check-attr", "-z", "--stdin", "--cached", *attributes), self._on_attributes
        )

    def _on_attributes(self, data: bytes) -> None:
        fields = self._attr_carry + self._attr_fields.feed(data)
        whole = len(fields) - len(fields) % 3
        self._attr_carry = fields[whole:]
        for k in range(0, whole, 3):
            # Answers come in the order asked, one per name: the path objects
            # the walk made are reused rather than decoded again.
            if self._attr_answers == 0:
                self._attr_path = self._attr_paths.popleft()
                self._attr_answers = self._attr_names
            self._attr_answers -= 1
            self.attributes.add(self._attr_path, fields[k + 1], fields[k + 2])

    def release(self) -> None:
        """Drop the facts once they are attached to the blobs."""
        self.info, self.contents, self.attributes = {}, {}, _Attributes()

    def get(self) -> HistoryWalk:
        parser = WalkParser()
        seen_oids: dict[str, None] = {}
        seen_paths: set[str] = set()
        done = 0
        # Loose objects are read here, as the hook reads them: git would hang
        # on a FIFO and believe a header that lies. A partial clone's absent
        # blobs are never asked: git would fetch them.
        objects = self._objects
        loose = loose_ids(objects) if objects is not None else set()
        asked: list[str] = []  # of git
        for data in self._log.stream():
            parser.feed(data)
            fresh = parser.entries[done:]
            done = len(parser.entries)
            oids = list(dict.fromkeys(e.oid for e in fresh if e.oid not in seen_oids))
            paths = list(
                dict.fromkeys(
                    e.path for e in fresh if e.mode != SYMLINK and e.path not in seen_paths
                )
            )
            seen_oids.update(dict.fromkeys(oids))
            seen_paths.update(paths)
            if self._promised:
                oids = [o for o in oids if o not in self._promised]
            if loose and objects is not None:
                here = [o for o in oids if o in loose]
                if here:
                    rest = read_loose(
                        objects, here, self._read_below, self._keep, self.info, self.contents
                    )
                    unread = set(here) - set(rest)
                    oids = [o for o in oids if o not in unread]
            asked += oids
            self._blobs.ask(oids)
            if paths:
                self._attr_paths.extend(paths)
                self._attrs.send(b"\0".join(map(encode, paths)) + b"\0")
        walk = parser.result()
        try:
            self._blobs.finish()
        except GitError:
            # Git died on an object: what it said is asked again, one object
            # at a time where it dies (see `BlobFacts`).
            for oid in asked:
                self.info.pop(oid, None)
                self.contents.pop(oid, None)
            facts = BlobFacts(self._git, asked, self._read_below, self._keep)
            info, contents = facts.get()
            self.info.update(info)
            self.contents.update(contents)
        self._attrs.finish()
        return walk


class DiskSizes:
    """`cat-file --batch-check=%(objectsize:disk)` over many ids, summed as the
    answers arrive."""

    def __init__(self, git: Git, oids: Iterable[bytes]) -> None:
        self._total = 0
        self._lines = _Lines()
        self._feed = Feed(git, ("cat-file", "--batch-check=%(objectsize:disk)"), self._add)
        self._feed.send(_batches(oids))

    def _add(self, data: bytes) -> None:
        for line in self._lines.feed(data):
            if not line.endswith(b" missing"):
                self._total += int(line)

    def get(self) -> int:
        self._feed.finish()
        return self._total


def _batches(oids: Iterable[bytes], size: int = 4096) -> Iterator[bytes]:
    batch: list[bytes] = []
    for oid in oids:
        batch.append(oid)
        if len(batch) == size:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"


def _parse_unique_paths(out: bytes) -> list[str]:
    return list(dict.fromkeys(_parse_paths(out)))


def _parse_check_ignore(out: bytes) -> dict[str, IgnoreSource]:
    fields = out.split(b"\0")
    result: dict[str, IgnoreSource] = {}
    for k in range(0, len(fields) - 3, 4):
        source, line, pattern, path = fields[k : k + 4]
        if source:
            result[decode(path)] = IgnoreSource(decode(source), int(line), decode(pattern))
    return result


def _parse_ls_files_under(out: bytes, wanted: set[bytes]) -> list[IndexEntry]:
    """`_parse_ls_files` of the records at or below the `wanted` paths.

    `pre-commit run --all-files` splits the whole index into dozens of command
    lines, each of which reads the whole index: the records of wanted files
    are found by searching the output (in C) and only those are decoded.
    """
    found = None if b"" in wanted else _records_at(out, wanted)
    if found is not None:
        return _parse_ls_files(b"".join(found))
    dirs = wanted - {b""}

    def keep(path: bytes) -> bool:
        if b"" in wanted or path in wanted:
            return True
        end = path.find(b"/")
        while end != -1:
            if path[:end] in dirs:
                return True
            end = path.find(b"/", end + 1)
        return False

    return _parse_ls_files(out, keep)


def _records_at(out: bytes, wanted: set[bytes]) -> list[bytes] | None:
    """The `ls-files --stage -z` records of the wanted paths (every stage), or None
    when one of them is not an index entry (a directory, say).

    The output is in index order, bytewise by path, so each path is searched
    from where the previous one was found: one pass over the output in all.
    """
    records: list[bytes] = []
    pos = 0
    for path in sorted(wanted):
        needle = b"\t" + path + b"\0"
        k = out.find(needle, pos)
        # The tab must be the record's first (a path may hold a tab itself).
        while k != -1 and b"\t" in out[out.rfind(b"\0", 0, k) + 1 : k]:
            k = out.find(needle, k + 1)
        if k == -1:
            return None
        start = out.rfind(b"\0", 0, k) + 1
        end = k + len(needle)
        records.append(out[start:end])
        while True:  # the other stages of a conflicted path come next
            tab = out.find(b"\t", end)
            if tab == -1 or not out.startswith(needle, tab):
                break
            records.append(out[end : tab + len(needle)])
            end = tab + len(needle)
        pos = end
    return records


def _parse_ls_files(out: bytes, keep: Callable[[bytes], bool] | None = None) -> list[IndexEntry]:
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        if keep is not None and not keep(path):
            continue
        mode, oid, stage = meta.split(b" ")
        mode_text = _MODES.get(mode) or mode.decode()
        entries.append(IndexEntry(mode_text, oid.decode(), int(stage), decode(path)))
    return entries


def _parse_batch_check(out: bytes) -> dict[str, ObjectInfo]:
    info: dict[str, ObjectInfo] = {}
    _parse_batch_check_into(out, info)
    return info


def _parse_batch_check_into(out: bytes, info: dict[str, ObjectInfo]) -> int:
    """Whole answer lines into `info`; returns how many there were."""
    lines = out.split(b"\n")[:-1]
    for line in lines:
        parts = line.decode().split(" ")
        if len(parts) == 3:  # not "<oid> missing"
            info[parts[0]] = ObjectInfo(parts[0], parts[1], int(parts[2]))
    return len(lines)


def _parse_batch(out: bytes) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    _parse_batch_into(out, contents)
    return contents


def _parse_batch_into(out: bytes, contents: dict[str, bytes]) -> int:
    """Whole `cat-file --batch` answers into `contents`; returns how many there were."""
    pos = answered = 0
    while pos < len(out):
        eol = out.find(b"\n", pos)
        if eol < 0:
            break
        header = out[pos:eol].split(b" ")
        if len(header) != 3:  # "<oid> missing"
            pos = eol + 1
            answered += 1
            continue
        size = int(header[2])
        if len(out) < eol + size + 2:
            break  # cut short: git died while writing it
        contents[header[0].decode()] = out[eol + 1 : eol + 1 + size]
        pos = eol + size + 2
        answered += 1
    return answered


class _Attributes(dict[str, dict[str, str]]):
    """{path: {attribute: value}} from `check-attr` answers, unspecified left out.
    Most paths get the same answer (filter=lfs): one dict serves them all."""

    def __init__(self) -> None:
        super().__init__()
        self._shared: dict[tuple[str, str], dict[str, str]] = {}

    def add(self, path: str, name: bytes, raw_value: bytes) -> None:
        value = raw_value.decode(errors="replace")
        if value == "unspecified":
            return
        key = name.decode()
        attrs = self.get(path)
        if attrs is None:
            self[path] = self._shared.setdefault((key, value), {key: value})
        elif key not in attrs:
            self[path] = {**attrs, key: value}


def _parse_check_attr(out: bytes) -> dict[str, dict[str, str]]:
    fields = out.split(b"\0")
    result = _Attributes()
    for k in range(0, len(fields) - 2, 3):
        result.add(decode(fields[k]), fields[k + 1], fields[k + 2])
    return result


def parse_raw_diff(out: bytes) -> list[Change]:
    """Parse `git diff --raw -z` output (renames and copies carry two paths)."""
    fields = out.split(b"\0")
    changes = []
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
        changes.append(Change(letter, old_mode, new_mode, old_oid, new_oid, decode(path)))
    return changes


# -- trees (require, frozen) --

# Bytes of pathspecs one command line may carry, well inside every OS's limit.
_MAX_ARGS = 100_000


def parse_commit_changes(out: bytes) -> list[CommitChanges]:
    """Parse `git log --raw -z -c` with the header `%x01%H %P%x02<trailers>%x02`.

    Read field by field, as `WalkParser` does: a path may hold \\x01 or \\x02,
    so only the order of the fields tells a header from a path.
    """
    commits: list[CommitChanges] = []
    header: bytes | None = None
    changes: list[TreeChange] = []
    meta: bytes | None = None

    def close() -> None:
        if header is None:
            return
        ids_text, _, rest = header.partition(b"\x02")
        trailers = rest.rpartition(b"\x02")[0]
        ids = ids_text.decode().split()
        allow = tuple(v.strip() for v in decode(trailers).split("\x1f") if v.strip())
        commits.append(CommitChanges(ids[0], tuple(ids[1:]), allow, tuple(changes)))

    for field in out.split(b"\0"):
        if meta is not None:
            record = raw_record(meta, field)
            meta = None
            present = [
                o for m, o in zip(record.old_modes, record.old_oids, strict=True) if m != "000000"
            ]
            zero = "0" * len(record.new_oid)
            changes.append(
                TreeChange(
                    decode(record.path),
                    bool(present),
                    record.new_mode != "000000",
                    present[0] if present else zero,
                    record.new_oid,
                )
            )
            continue
        field = field.lstrip(b"\n")
        if field[:1] == b":":
            meta = field
        elif field[:1] == b"\x01":
            close()
            header, changes = field[1:], []
    close()
    return commits


_OBJECT_TYPES = (b"blob", b"tree", b"commit", b"tag")


def _parse_object_ids(names: list[str], out: bytes) -> dict[str, str]:
    """`cat-file --batch-check=%(objectname)` answers in order; a name it cannot
    resolve comes back as "<name> missing", newlines in the name included."""
    lines = out.split(b"\n")
    ids: dict[str, str] = {}
    k = 0
    for name in names:
        if k >= len(lines):
            break
        line = lines[k]
        if len(line) in (40, 64) and not line.strip(b"0123456789abcdef"):
            ids[name] = line.decode()
            k += 1
        else:
            k += name.count("\n") + 1
    return ids


def _parse_tree_names(names: list[str], out: bytes, width: int) -> dict[str, list[str]]:
    """`cat-file --batch="%(objecttype) %(objectsize)"` answers in order: a header,
    the raw object and a newline, or "<name> missing" (the name as sent, newlines
    in it included). A raw tree is entries of `<mode> <name>\\0<binary id>`."""
    found: dict[str, list[str]] = {}
    pos = 0
    for name in names:
        raw = encode(name)
        if out.startswith(raw + b" ", pos):  # missing or ambiguous
            pos = out.index(b"\n", pos + len(raw)) + 1
            continue
        eol = out.find(b"\n", pos)
        if eol < 0:
            break
        kind, _, size_text = out[pos:eol].partition(b" ")
        size = int(size_text)
        body = out[eol + 1 : eol + 1 + size]
        pos = eol + 1 + size + 1
        if kind != b"tree":
            continue
        entries = []
        at = 0
        while at < len(body):
            space = body.index(b" ", at)
            nul = body.index(b"\0", space)
            entries.append(decode(body[space + 1 : nul]))
            at = nul + 1 + width
        found[name] = entries
    return found


def _parse_parent_diffs(
    pairs: list[tuple[str, str]], out: bytes
) -> list[tuple[str, str, tuple[TreeChange, ...]]]:
    """`diff-tree --stdin --always -z`: for each input pair in order, the commit id
    then its raw records (a path follows each record's meta field)."""
    result: list[tuple[str, str, tuple[TreeChange, ...]]] = []
    changes: list[TreeChange] = []
    meta: bytes | None = None
    for field in out.split(b"\0"):
        if meta is not None:
            old_mode, new_mode, old_oid, new_oid = meta[1:].split(b" ")[:4]
            changes.append(
                TreeChange(
                    decode(field),
                    old_mode != b"000000",
                    new_mode != b"000000",
                    old_oid.decode(),
                    new_oid.decode(),
                )
            )
            meta = None
            continue
        field = field.strip(b"\n")
        if field[:1] == b":":
            meta = field
        elif field:
            if result:
                result[-1] = (*result[-1][:2], tuple(changes))
            if len(result) == len(pairs):
                break
            result.append((*pairs[len(result)], ()))
            changes = []
    if result:
        result[-1] = (*result[-1][:2], tuple(changes))
    return result


def _parse_object_types(names: list[str], out: bytes) -> dict[str, str]:
    """`cat-file --batch-check=%(objecttype)` answers in order; a name it cannot
    resolve comes back as "<name> missing", newlines in the name included."""
    lines = out.split(b"\n")
    types: dict[str, str] = {}
    k = 0
    for name in names:
        if k >= len(lines):
            break
        line = lines[k]
        if line not in _OBJECT_TYPES:
            k += name.count("\n") + 1
            continue
        types[name] = line.decode()
        k += 1
    return types


def _parse_unique_paths_of_index(out: bytes) -> list[str]:
    # A conflicted path is listed once per stage.
    return list(dict.fromkeys(decode(p) for p in out.split(b"\0") if p))


def _parse_first_added(paths: list[str], out: bytes) -> dict[str, str]:
    wanted = set(paths)
    first: dict[str, str] = {}
    for chunk in out.split(b"\x01")[1:]:
        commit_raw, _, names = chunk.partition(b"\0")
        commit = commit_raw.decode().strip()
        if names.startswith(b"\n"):
            names = names[1:]
        for raw in names.split(b"\0"):
            name = decode(raw)
            # The file itself, or any directory above it that was asked about.
            candidates = [name] if name else []
            end = name.find("/")
            while end != -1:
                candidates.append(name[:end])
                end = name.find("/", end + 1)
            for path in candidates:
                if path in wanted and path not in first:
                    first[path] = commit
    return first


# -- init --


def _parse_remote_urls(out: bytes) -> list[tuple[str, str]]:
    """`git remote -v` lines (`<name>\t<url> (fetch|push)`), each pair once, in order."""
    pairs: dict[tuple[str, str], None] = {}
    for line in decode(out).splitlines():
        name, tab, rest = line.partition("\t")
        url, space, _kind = rest.rpartition(" ")
        if tab and space and url:
            pairs[(name, url)] = None
    return list(pairs)
