"""Replacing a file so that a reader sees the old bytes or the new ones, never half.

The new bytes go to a temporary file in the same directory (same file
system, so the rename is atomic), are flushed to disk, take the old file's
permissions, and only then replace it. On any failure the temporary file is
removed and the original is untouched.

Every file repolicy writes goes through here, and is confined to the work
tree: a committed symbolic link (`h -> ~`) must not turn `h/.bashrc` into the
user's own `~/.bashrc`. Where the system allows, the temporary file has no
name until its bytes are complete (O_TMPFILE), so a process killed mid-write
leaves nothing `git add -A` could take; the named leftovers of a process
killed in the instant between naming and renaming are removed by the next
write in that directory.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterable

from repolicy.errors import RepolicyError

TEMP_PREFIX = ".repolicy-"
TEMP_SUFFIX = ".tmp"
# This module's names, and those of earlier versions (mkstemp's, no suffix):
# the prefix, eight of these, and the suffix or nothing. (Tested by hand, not
# by a regex: compiling one took the hook 0.2 ms, a regex's every write.)
_TEMP_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# A named temporary file lives for microseconds; an older one was left by a
# killed process. The margin keeps a concurrent writer's file alone.
_STALE_SECONDS = 2.0


def default_mode() -> int:
    """What a new file gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _work_tree_of(directory: str) -> str | None:
    """The nearest directory at or above `directory` (as written, links not
    followed) that holds a `.git`: the work tree a path was named in. A
    candidate that is itself a symbolic link is passed over for one further
    up (a committed `sub -> ../other-repo` must not make `other-repo` the
    work tree), unless there is none."""
    current = os.path.abspath(directory)
    linked: str | None = None
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            if not os.path.islink(current):
                return current
            linked = linked or current
        parent = os.path.dirname(current)
        if parent == current:
            return linked
        current = parent


def confined(path: str, shown: str, root: str | None = None) -> str:
    """The real location `path` would be written to, which must lie inside the
    work tree `root` (default: the one `path` is named in); a RepolicyError
    (exit 2) otherwise, or when `path` itself is a symbolic link."""
    directory, name = os.path.split(os.path.abspath(path))
    if root is None:
        root = _work_tree_of(directory)
    real_parent = os.path.realpath(directory)
    target = os.path.join(real_parent, name)
    if root is not None:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real_root, real_parent]) != real_root:
            raise RepolicyError(
                f"refusing to write {shown}: a symbolic link takes it to {target}, "
                f"outside the work tree {root}"
            )
    if os.path.islink(target):
        raise RepolicyError(
            f"refusing to write {shown}: it is a symbolic link (to {os.readlink(target)}); "
            "replace the link with a file first"
        )
    return target


def read_regular(path: str, shown: str) -> bytes:
    """A file's bytes; FileNotFoundError when it is absent, a RepolicyError when it
    is not a regular file (a FIFO would block the reader for ever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise RepolicyError(f"cannot read {shown}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RepolicyError(f"cannot read {shown}: {_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    except OSError as exc:
        raise RepolicyError(f"cannot read {shown}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "it is a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if stat.S_ISSOCK(mode):
        return "it is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device"
    return "it is a special file"


def refuse_special_rule_files(top: str, git_dir: str, directories: Iterable[str]) -> None:
    """Refuse to run git over a `.gitignore` or `.gitattributes` (in `top` and the
    given repository-relative directories) or an `info/exclude` or
    `info/attributes` that is a FIFO or other special file: git opens them
    without a timeout and would wait for ever."""
    candidates = [
        os.path.join(git_dir, "info", "exclude"),
        os.path.join(git_dir, "info", "attributes"),
    ]
    # An audit asks this of every directory of its history (13,000 names on
    # the path-heavy benchmark, nearly all absent): the names are joined by
    # hand, and whether each is there at all is asked without raising an
    # error for an absent one, as `lstat` does (30 ms rather than 60).
    prefix = os.path.join(top, "")
    candidates += [prefix + ".gitignore", prefix + ".gitattributes"]
    candidates += [
        f"{prefix}{rel}/{name}"
        for rel in dict.fromkeys(directories)
        if rel
        for name in (".gitignore", ".gitattributes")
    ]
    if os.access in os.supports_follow_symlinks:
        candidates = [p for p in candidates if os.access(p, os.F_OK, follow_symlinks=False)]
    for path in candidates:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode) or stat.S_ISDIR(mode)):
            shown = os.path.relpath(path, top)
            raise RepolicyError(
                f"{shown}: {_kind(mode)}, not a file; git would wait on it for ever "
                "(remove it, or replace it with a regular file)"
            )


def parent_directories(paths: Iterable[str]) -> set[str]:
    """Every directory above the given repository paths ("" excluded)."""
    out: set[str] = set()
    for path in paths:
        parent = path.rpartition("/")[0]
        while parent and parent not in out:
            out.add(parent)
            parent = parent.rpartition("/")[0]
    return out


def _is_temp_name(name: str) -> bool:
    if not name.startswith(TEMP_PREFIX):
        return False
    rest = name[len(TEMP_PREFIX) :]
    if len(rest) == 8 + len(TEMP_SUFFIX) and rest.endswith(TEMP_SUFFIX):
        rest = rest[:8]
    return len(rest) == 8 and _TEMP_NAME_CHARS.issuperset(rest)


def _remove_leftovers(directory: str) -> None:
    """Remove the temporary files killed writers left in `directory`."""
    now = time.time()
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not _is_temp_name(name):
            continue
        path = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > _STALE_SECONDS:
                os.unlink(path)


def _anonymous(directory: str) -> int | None:
    """An unnamed file in `directory` (O_TMPFILE), or None where that is not offered."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError:
        return None  # the file system or kernel does not offer it


def _name(fd: int, directory: str) -> str | None:
    """Give the unnamed file a temporary name; None when the system refuses."""
    for _ in range(8):
        tmp = os.path.join(directory, f"{TEMP_PREFIX}{os.urandom(4).hex()}{TEMP_SUFFIX}")
        try:
            os.link(f"/proc/self/fd/{fd}", tmp, follow_symlinks=True)
        except FileExistsError:
            continue
        except OSError:
            return None
        return tmp
    return None


def replace_file(
    path: str,
    data: bytes,
    shown: str,
    mode: int | None = None,
    before_replace: Callable[[str], None] | None = None,
    *,
    root: str | None = None,
    durable: bool = True,
) -> None:
    """Atomically make `path` hold `data`, with permissions `mode` (None: a new
    file's). `before_replace` sees the finished temporary file and may raise to
    stop the replacement (e.g. a policy the loader refuses). `shown` names the
    file in errors; `root` is the work tree the file must stay in (default:
    the one `path` is named in). Without `durable`, the bytes are not forced
    to disk first: for a cache, which a crash may cost but never corrupt
    unseen (its reader checks what it reads), and which the hook writes on
    every commit."""
    target = confined(path, shown, root)
    directory = os.path.dirname(target)
    _remove_leftovers(directory)
    tmp: str | None = None
    final_mode = stat.S_IMODE(mode) if mode is not None else default_mode()
    try:
        fd = _anonymous(directory)
        if fd is not None:
            try:
                _fill(fd, data, final_mode, durable)
                tmp = _name(fd, directory)
            finally:
                os.close(fd)
        if tmp is None:
            # No unnamed files here (or no /proc to name one by): a named one.
            # (Imported here: the hook writes its caches through this module,
            # and tempfile costs it a few milliseconds it rarely needs.)
            import tempfile

            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
            try:
                _fill(fd, data, final_mode, durable)
            finally:
                os.close(fd)
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise RepolicyError(f"cannot write {shown}: {exc.strerror}") from None
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _fill(fd: int, data: bytes, mode: int, durable: bool) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    if durable:
        os.fsync(fd)
    os.fchmod(fd, mode)
