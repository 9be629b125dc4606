"""Answers that arrive later: a git process started now, parsed when read.

Every question is asked as soon as it is known and answered side by side;
a command reads each answer only when it needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

from repolicy.errors import GitError
from repolicy.git.process import Process

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.git.repo import Git


T = TypeVar("T")


class Pending:
    """A started git process; `result()` feeds its stdin and collects stdout."""

    def __init__(self, argv: tuple[str, ...], proc: Process, input: bytes | None) -> None:
        self.argv = argv
        self.proc = proc
        # Given at once, as far as the pipe holds it: git starts on a question
        # the moment it is asked, not when its answer is read.
        self.input = proc.feed(input) if input else input

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

    @property
    def answered(self) -> bool:
        """Whether the answer is at hand (cached, or read already): `get()` won't wait."""
        return self._pending is None

    def busy(self) -> bool:
        """Whether git is still at work on the answer: nothing of it written
        yet, so `get()` would wait. What to do meanwhile can be chosen by it."""
        return self._pending is not None and self._joined is None and self._pending.proc.quiet()

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


def read_ahead(chunks: Iterator[bytes], most: int = 64) -> Iterator[bytes]:
    """`chunks` as they come, read by a thread up to `most` chunks ahead of the
    caller (and its exception, raised where it happened).

    For an output parsed while git writes it: without a reader of its own,
    git stops at each full pipe until the parser gets to it. The first commit
    of an imported project lists tens of thousands of files at once, which
    git writes in a moment and Python takes a third of a second to parse;
    read ahead, git meanwhile walks on through the rest of the history. On
    the path-heavy benchmark history, 0.3-0.5 s off an audit's median time.
    A bounded queue: at most `most` chunks (1 MiB each at most, see
    `Process.widen`) are held, however far git gets ahead."""
    import queue
    import threading

    box: queue.Queue[bytes | BaseException | None] = queue.Queue(most)
    abandoned = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                if not abandoned.is_set():
                    box.put(chunk)
        except BaseException as exc:  # raised in the caller's thread, below
            box.put(exc)
        else:
            box.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        while (item := box.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # A caller that stops early (its parse failed) leaves the rest to be
        # read and dropped: git runs to its end rather than wait on a full pipe.
        abandoned.set()
        while not box.empty():
            box.get_nowait()


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

        self.pending = git._start(*args, stdin=True)
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
