"""Starting a process and trading bytes with it, in the few lines the hook needs.

`subprocess` costs about 2 ms to import, a twentieth of the whole pre-commit
hook, which runs on every commit. `os.posix_spawnp` and `select.poll` do the
same job for a process fed one input and read to the end: the child gets
the default SIGPIPE and SIGXFSZ actions (the interpreter ignores both, and
ignored signals are inherited), and only the three pipes set up here: Python
opens every descriptor non-inheritable (PEP 446), and the few this process
inherited as inheritable are closed in the child.
"""

from __future__ import annotations

import os

try:
    # The numbers alone, from the interpreter's own module: `signal` wraps them
    # in enums, half a millisecond of every commit's hook.
    from _signal import SIGPIPE, SIGXFSZ  # type: ignore[import-not-found]
except ImportError:  # another Python implementation
    from signal import SIGPIPE, SIGXFSZ
from collections.abc import Iterator, Mapping, Sequence

_CHUNK = 1 << 16  # a pipe's default capacity on Linux


def _inheritable() -> list[int]:
    """Descriptors above 2 a child would inherit: ones this process was given
    inheritable by its parent. `subprocess` closes them (close_fds); so do we."""
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(listing)
        except OSError:
            continue
        found = []
        for name in names:
            fd = int(name)
            try:
                if fd > 2 and os.get_inheritable(fd):
                    found.append(fd)
            except OSError:  # the descriptor of the listing itself, closed by now
                pass
        return found
    return []


# Each program's place on PATH, found once (see `_program`).
_programs: dict[tuple[str, str], str | None] = {}


def _program(name: str) -> str | None:
    """Where `posix_spawnp` would find `name` on PATH, when that is an absolute
    path; None leaves the search to it (a name with a slash, no PATH, a
    relative entry, nothing found).

    `posix_spawnp` searches in the child, which tries every PATH entry before
    the program's own with an `execve` of its own, and this process waits
    until the child has run its program (vfork): about 0.1 ms of each git
    process started on this machine's PATH of nine entries. Found once here,
    each start takes the program's path at once. The search is the one
    `execvp` makes: the first regular file this process may execute."""
    path = os.environ.get("PATH")
    if path is None or "/" in name:
        return None
    key = (name, path)
    if key not in _programs:
        found = None
        for entry in path.split(os.pathsep):
            if not entry.startswith("/"):
                break  # a relative entry depends on the directory of the moment
            candidate = os.path.join(entry, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                found = candidate
                break
        _programs[key] = found
    return _programs[key]


class Process:
    """A started process with stdout and stderr piped, and stdin piped or empty."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        stdin: bool,
    ) -> None:
        """Start `argv`; with `stdin`, its input is given to `communicate` later."""
        child_in = parent_in = None
        if stdin:
            child_in, parent_in = os.pipe()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = []
        if child_in is None:
            actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        else:
            actions.append((os.POSIX_SPAWN_DUP2, child_in, 0))
        actions += [(os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable()]
        program = _program(argv[0])
        pid = None
        try:
            if program is not None:
                try:
                    pid = os.posix_spawn(
                        program, list(argv), env, file_actions=actions, setsigdef=(SIGPIPE, SIGXFSZ)
                    )
                except OSError:  # gone since, or refused (a noexec mount): the usual search
                    pid = None
            if pid is None:
                pid = os.posix_spawnp(
                    argv[0], list(argv), env, file_actions=actions, setsigdef=(SIGPIPE, SIGXFSZ)
                )
        except OSError:
            for fd in (child_in, parent_in, out_read, out_write, err_read, err_write):
                if fd is not None:
                    os.close(fd)
            raise
        self.pid = pid
        for fd in (child_in, out_write, err_write):
            if fd is not None:
                os.close(fd)
        self.chunk = _CHUNK  # the most one read of stdout takes
        self.stdin = parent_in
        self.stdout = out_read
        self.stderr = err_read
        self.returncode: int | None = None
        self.error = b""  # stderr, once the exchange is over

    def communicate(self, input: bytes = b"") -> tuple[bytes, bytes]:
        """Feed the input, read both outputs to the end, and reap the process."""
        out = b"".join(self.stream(input))
        return out, self.error

    def stream(self, input: bytes | None = b"") -> Iterator[bytes]:
        """Feed the input and yield stdout as it arrives; at the end the process is
        reaped and its stderr is in `error`. A long output can so be parsed while
        it is produced, without ever being held whole. With `input` None, stdin
        is left to someone else (see `send`), who must close it (`close_stdin`)."""
        # Imported here: the hook starts its diff before it reads anything,
        # and loading `select` (a shared library) took 0.3 ms before the start.
        import select

        errors: list[bytes] = []
        poller = select.poll()
        poller.register(self.stdout, select.POLLIN)
        poller.register(self.stderr, select.POLLIN)
        view = memoryview(input or b"")
        stdin = self.stdin if input is not None else None
        if stdin is not None:
            if view:
                os.set_blocking(stdin, False)
                poller.register(stdin, select.POLLOUT)
            else:
                os.close(stdin)
                stdin = None
        open_fds = 2 + (stdin is not None)
        try:
            while open_fds:
                for fd, _event in poller.poll():
                    if fd == stdin:
                        try:
                            view = view[os.write(fd, view[:_CHUNK]) :]
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:  # it stopped reading: its output says why
                            view = view[:0]
                        if not view:
                            poller.unregister(fd)
                            os.close(fd)
                            stdin = None
                            open_fds -= 1
                        continue
                    data = os.read(fd, self.chunk)
                    if not data:
                        poller.unregister(fd)
                        open_fds -= 1
                    elif fd == self.stdout:
                        yield data
                    else:
                        errors.append(data)
        finally:
            for end in (stdin, self.stdout, self.stderr):
                if end is not None:
                    os.close(end)
            self.wait()
            self.error = b"".join(errors)

    def widen(self) -> None:
        """Give stdout a pipe of 1 MiB (Linux; elsewhere, or past the user's quota
        of pipe memory, it keeps its size), read as much at a time.

        For the long outputs an audit parses while they stream: git blocks
        less often on a full pipe, and each read (which wakes a thread and
        takes the interpreter's lock back) brings sixteen times as much. On
        the path-heavy benchmark history this took 0.3 s off an audit's
        median time."""
        import fcntl

        size = 1 << 20
        try:
            fcntl.fcntl(self.stdout, getattr(fcntl, "F_SETPIPE_SZ", -1), size)
        except (OSError, ValueError):
            return
        self.chunk = size

    def quiet(self) -> bool:
        """Whether nothing can be read yet: the process has neither written to
        stdout nor closed it."""
        if self.returncode is not None:  # read to the end (its pipes closed) and reaped
            return False
        import select

        poller = select.poll()
        poller.register(self.stdout, select.POLLIN)
        return not poller.poll(0)

    def send(self, data: bytes) -> None:
        """Write to stdin, waiting while the pipe is full (someone must be reading
        the output meanwhile: see `stream(None)`). A process that stopped
        reading is not an error here: its exit status and stderr will say why."""
        assert self.stdin is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.stdin, view) :]
        except BrokenPipeError:
            pass

    def feed(self, data: bytes) -> bytes:
        """Write what of `data` the pipe takes without waiting, closing stdin once
        all of it is written; the rest is returned, for `stream` to write. The
        process then works on its input while this one does something else."""
        assert self.stdin is not None
        os.set_blocking(self.stdin, False)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.stdin, view[:_CHUNK]) :]
        except BlockingIOError:
            return bytes(view)
        except BrokenPipeError:  # it stopped reading: its output says why
            pass
        self.close_stdin()
        return b""

    def close_stdin(self) -> None:
        if self.stdin is not None:
            os.close(self.stdin)
            self.stdin = None

    def close(self) -> None:
        """Close every pipe without reading: the process sees end of input and
        exits; it is reaped when this process ends."""
        for fd in (self.stdin, self.stdout, self.stderr):
            if fd is not None:
                os.close(fd)
        self.stdin = None

    def wait(self) -> int:
        if self.returncode is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode
