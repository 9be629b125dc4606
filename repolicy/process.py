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
import select
import signal
from collections.abc import Mapping, Sequence

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
        try:
            self.pid = os.posix_spawnp(
                argv[0],
                list(argv),
                env,
                file_actions=actions,
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
            )
        except OSError:
            for fd in (child_in, parent_in, out_read, out_write, err_read, err_write):
                if fd is not None:
                    os.close(fd)
            raise
        for fd in (child_in, out_write, err_write):
            if fd is not None:
                os.close(fd)
        self.stdin = parent_in
        self.stdout = out_read
        self.stderr = err_read
        self.returncode: int | None = None

    def communicate(self, input: bytes = b"") -> tuple[bytes, bytes]:
        """Feed the input, read both outputs to the end, and reap the process."""
        chunks: dict[int, list[bytes]] = {self.stdout: [], self.stderr: []}
        poller = select.poll()
        poller.register(self.stdout, select.POLLIN)
        poller.register(self.stderr, select.POLLIN)
        view = memoryview(input)
        stdin = self.stdin
        if stdin is not None:
            if view:
                os.set_blocking(stdin, False)
                poller.register(stdin, select.POLLOUT)
            else:
                os.close(stdin)
                stdin = None
        open_fds = len(chunks) + (stdin is not None)
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
                    data = os.read(fd, _CHUNK)
                    if data:
                        chunks[fd].append(data)
                    else:
                        poller.unregister(fd)
                        open_fds -= 1
        finally:
            for end in (stdin, self.stdout, self.stderr):
                if end is not None:
                    os.close(end)
            self.wait()
        return b"".join(chunks[self.stdout]), b"".join(chunks[self.stderr])

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
