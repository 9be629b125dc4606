"""The process layer: one input in, both outputs out, whatever their sizes."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from repolicy.git.process import Process


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_input_and_output_larger_than_a_pipe_do_not_deadlock() -> None:
    # `cat` writes while it still reads: with 1 MiB each way, a layer that wrote
    # everything before reading anything would hang here.
    data = os.urandom(1 << 20)
    proc = Process(["cat"], os.environ, stdin=True)
    out, err = proc.communicate(data)
    assert (out, err, proc.wait()) == (data, b"", 0)


def test_stderr_and_the_exit_code_come_back_with_stdout() -> None:
    script = (
        "import sys; sys.stdout.write('o' * 100000); sys.stderr.write('e' * 100000); sys.exit(3)"
    )
    proc = Process([sys.executable, "-c", script], os.environ, stdin=False)
    out, err = proc.communicate()
    assert (out, err, proc.wait()) == (b"o" * 100000, b"e" * 100000, 3)


def test_a_child_that_stops_reading_early_is_not_an_error_here() -> None:
    proc = Process(["head", "-c", "10"], os.environ, stdin=True)
    out, _err = proc.communicate(b"x" * (4 << 20))
    assert (out, proc.wait()) == (b"x" * 10, 0)


def test_children_get_the_default_sigpipe_action() -> None:
    # The interpreter ignores SIGPIPE and ignored signals are inherited: git
    # would then report write errors instead of ending quietly.
    proc = Process(["cat", "/proc/self/status"], os.environ, stdin=False)
    out, _err = proc.communicate()
    ignored = int(out.split(b"SigIgn:")[1].split()[0], 16)
    assert not ignored & (1 << (13 - 1))  # SIGPIPE is signal 13 on Linux


def test_a_missing_program_raises_and_leaks_no_descriptor() -> None:
    before = open_descriptors()
    with pytest.raises(FileNotFoundError):
        Process(["no-such-program-here"], os.environ, stdin=True)
    assert open_descriptors() == before


def program(directory: os.PathLike[str], name: str, says: str, mode: int = 0o755) -> None:
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\necho {says}\n")
    os.chmod(path, mode)


def run_found(name: str, path: str, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("PATH", path)
    out, _err = Process([name], os.environ, stdin=False).communicate()
    return out


@pytest.mark.parametrize("mode", [0o644, 0o000])
def test_a_program_is_found_on_path_as_execvp_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    # Each program's place on PATH is found once: it must be the one the
    # usual search finds, past a file of that name this process may not run
    # and past a directory of that name.
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    for directory in (first, second, third):
        directory.mkdir()
    program(first, "tool", "first", mode)
    (second / "tool").mkdir()
    program(third, "tool", "third")
    path = os.pathsep.join(map(str, (first, second, third)))
    assert run_found("tool", path, monkeypatch) == b"third\n"


def test_a_relative_path_entry_is_left_to_the_usual_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    program(tmp_path / "bin", "tool", "relative")
    monkeypatch.chdir(tmp_path)
    assert run_found("tool", "bin", monkeypatch) == b"relative\n"


def test_a_program_gone_since_it_was_found_is_searched_for_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    program(first, "tool", "first")
    program(second, "tool", "second")
    path = f"{first}{os.pathsep}{second}"
    assert run_found("tool", path, monkeypatch) == b"first\n"
    os.unlink(first / "tool")
    assert run_found("tool", path, monkeypatch) == b"second\n"


def test_a_finished_exchange_leaks_no_descriptor() -> None:
    before = open_descriptors()
    for _ in range(3):
        proc = Process(["git", "--version"], os.environ, stdin=False)
        proc.communicate()
    proc = Process(["cat"], os.environ, stdin=True)
    proc.close()
    assert proc.wait() == 0  # end of input: cat exits at once
    assert open_descriptors() == before


def test_only_the_three_pipes_are_inherited() -> None:
    keep_r, keep_w = os.pipe()
    os.set_inheritable(keep_w, True)  # as a parent may hand a descriptor down to us
    try:
        proc = Process(["ls", "/proc/self/fd"], os.environ, stdin=False)
        out, _err = proc.communicate()
    finally:
        os.close(keep_r)
        os.close(keep_w)
    seen = {int(name) for name in out.split()}
    assert keep_w not in seen
    # 0, 1, 2 and the descriptor of the directory ls is listing.
    assert {0, 1, 2} < seen and len(seen) == 4


def test_it_agrees_with_subprocess_on_a_git_answer() -> None:
    argv = ["git", "version"]
    proc = Process(argv, os.environ, stdin=False)
    out, _err = proc.communicate()
    assert out == subprocess.run(argv, capture_output=True, check=True).stdout


def test_quiet_until_the_process_writes_or_ends() -> None:
    # What the hook asks to know whether git is still computing the diff.
    proc = Process(["cat"], os.environ, stdin=True)
    assert proc.quiet()  # waits for its input, has written nothing
    proc.send(b"answer")
    proc.close_stdin()
    select.select([proc.stdout], [], [])  # until the answer is there
    assert not proc.quiet()
    assert proc.communicate(b"") == (b"answer", b"")
    assert not proc.quiet()  # read and reaped: nothing to wait for


def test_a_query_is_busy_while_git_works_on_it() -> None:
    from repolicy.git.query import Pending, Query

    proc = Process(["cat"], os.environ, stdin=True)
    query = Query(Pending(("cat",), proc, None), bytes.upper, b"")
    assert query.busy()
    proc.close_stdin()
    select.select([proc.stdout], [], [])
    assert not query.busy()
    assert query.get() == b""
    assert not query.busy() and not Query(None, bytes.upper, b"x").busy()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_a_widened_pipe_holds_a_mebibyte_and_loses_nothing() -> None:
    import fcntl

    # A long output (an audit's history) fills a 64 KiB pipe sixteen times as often.
    data = os.urandom(3 << 20)
    proc = Process(["cat"], os.environ, stdin=True)
    proc.widen()
    assert fcntl.fcntl(proc.stdout, fcntl.F_GETPIPE_SZ) == 1 << 20
    out, err = proc.communicate(data)
    assert (out, err, proc.wait()) == (data, b"", 0)


def test_read_ahead_gives_every_chunk_in_order_and_then_the_readers_error() -> None:
    from repolicy.errors import GitError
    from repolicy.git.query import read_ahead

    def chunks() -> Iterator[bytes]:
        yield b"one"
        yield b"two"
        raise GitError(("git", "log"), 128, "fatal: bad object")

    got: list[bytes] = []
    with pytest.raises(GitError, match="bad object"):
        for chunk in read_ahead(chunks()):
            got.append(chunk)
    assert got == [b"one", b"two"]


def test_read_ahead_reads_while_the_caller_parses_but_holds_no_more_than_asked() -> None:
    import threading
    import time

    from repolicy.git.query import read_ahead

    produced: list[int] = []
    done = threading.Event()

    def chunks() -> Iterator[bytes]:
        for k in range(100):
            produced.append(k)
            yield b"x"
        done.set()

    reader = read_ahead(chunks(), most=4)
    assert next(reader) == b"x"
    time.sleep(0.2)  # the caller is busy: the thread reads on, up to the bound
    assert 4 <= len(produced) <= 7, produced
    # A caller that stops early lets the source run to its end.
    reader.close()
    assert done.wait(5)
