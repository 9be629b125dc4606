"""The staged diff asked early: taken over only when it is still the right answer."""

from __future__ import annotations

import pytest

from repolicy.git import Git, headstart
from repolicy.git.process import Process

from ..conftest import Repo


def staged(repo: Repo) -> list[tuple[str, str]]:
    """What the hook's engine gets from Git.staged_changes, as it asks."""
    info = Git(str(repo.path)).discover().get()
    changes = Git(info.toplevel).staged_changes(info.git_dir).get()
    return sorted((c.status, c.path) for c in changes)


@pytest.fixture
def started(repo: Repo) -> Repo:
    repo.write("a.txt", "a\n")
    repo.add("a.txt")
    repo.commit()
    repo.write("b.txt", "b\n")
    repo.add("b.txt")
    headstart.start(str(repo.path))
    assert headstart._started is not None
    return repo


def early_process() -> Process:
    assert headstart._started is not None
    return headstart._started[-1]


def test_the_early_diff_is_taken_when_nothing_changed(started: Repo) -> None:
    proc = early_process()
    assert staged(started) == [("A", "b.txt")]
    assert headstart._started is None
    assert proc.returncode == 0  # its answer was the one read


def test_a_file_staged_since_is_seen(started: Repo) -> None:
    proc = early_process()
    started.write("c.txt", "c\n")
    started.add("c.txt")
    assert staged(started) == [("A", "b.txt"), ("A", "c.txt")]
    assert proc.returncode is None  # dropped unread


def test_a_commit_since_is_seen(started: Repo) -> None:
    started.commit()
    assert staged(started) == []


def test_nothing_is_asked_when_the_cache_answers(started: Repo) -> None:
    info = Git(str(started.path)).discover().get()
    git = Git(info.toplevel)
    git.staged_changes(info.git_dir).get()
    git.store_answers()  # as the hook does once it has judged
    headstart.start(str(started.path))
    assert headstart._started is None
    assert staged(started) == [("A", "b.txt")]


def test_nothing_is_asked_for_another_index_or_outside_a_repository(
    repo: Repo, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("a.txt", "a\n")
    repo.add("a.txt")
    repo.commit()
    headstart.start(str(tmp_path_factory.mktemp("elsewhere")))
    assert headstart._started is None
    monkeypatch.setenv("GIT_INDEX_FILE", str(repo.path / ".git" / "index"))
    headstart.start(str(repo.path))
    assert headstart._started is None
