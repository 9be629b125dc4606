"""Work trees built to break a tool: paths a thousand levels deep, FIFOs where git
reads its rules. Each command answers, or refuses in one line; none hangs or
crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from repolicy.atomic import replace_file
from repolicy.errors import RepolicyError

from ..conftest import Repo

DEEP = "/".join(["d"] * 1000)  # legal in git; 2,000 bytes, within PATH_MAX
POLICY = 'exclude: ["*.log"]\nrequire:\n  "d/*/": [README.md]\nfrozen: ["d/d/**"]\n'
TIMEOUT = 120


def run(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, stopped if it waits for ever (a hang fails the test)."""
    return subprocess.run(
        [sys.executable, "-m", "repolicy", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def no_crash(proc: subprocess.CompletedProcess[str]) -> None:
    assert "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


@pytest.fixture
def deep(repo: Repo) -> Iterator[Repo]:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("d/README.md", "the d tree\n")
    repo.add(".repolicy.yaml", "d/README.md")
    repo.commit("policy")
    # One level at a time: pathlib's and os's own makedirs recurse per level.
    path = str(repo.path)
    for part in DEEP.split("/"):
        path = os.path.join(path, part)
        if not os.path.isdir(path):
            os.mkdir(path)
    repo.write(f"{DEEP}/train.log", "loss 0.1\n")
    repo.write(f"{DEEP}/model.py", "x = 1\n")
    yield repo
    # shutil.rmtree (pytest's clean-up of old temporary directories) recurses
    # per level: take the tree down one level at a time, deepest first.
    levels = DEEP.split("/")
    for depth in range(len(levels), 0, -1):
        here = repo.path / "/".join(levels[:depth])
        for child in here.iterdir():
            if not child.is_dir() or child.is_symlink():
                child.unlink()
        here.rmdir()


def violations(proc: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    data: dict[str, Any] = json.loads(proc.stdout)
    return {(v["check"], v["path"]) for v in data["violations"]}


def test_check_judges_a_path_a_thousand_levels_deep(deep: Repo) -> None:
    deep.add(f"{DEEP}/train.log", f"{DEEP}/model.py")
    proc = run(deep, "check", "--format", "json")
    no_crash(proc)
    assert proc.returncode == 1, proc.stderr
    assert ("excluded", f"{DEEP}/train.log") in violations(proc)
    # The hook's own form, with the path after `--`, narrows to it.
    narrowed = run(deep, "check", "--format", "json", "--", f"{DEEP}/train.log")
    no_crash(narrowed)
    assert ("excluded", f"{DEEP}/train.log") in violations(narrowed)


def test_audit_judges_history_a_thousand_levels_deep(deep: Repo) -> None:
    deep.add(f"{DEEP}/train.log", f"{DEEP}/model.py")
    deep.commit("deep")
    proc = run(deep, "audit", "--format", "json")
    no_crash(proc)
    assert proc.returncode == 1, proc.stderr
    found = violations(proc)
    assert ("excluded", f"{DEEP}/train.log") in found
    assert ("missing-required", "d/d/") in found


def test_explain_answers_for_a_path_a_thousand_levels_deep(deep: Repo) -> None:
    deep.add(f"{DEEP}/train.log")
    proc = run(deep, "explain", "--format", "json", f"{DEEP}/train.log")
    no_crash(proc)
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)["paths"]
    assert entry["path"] == f"{DEEP}/train.log"
    assert {r["pattern"] for r in entry["rules"]} >= {"*.log"}


def test_fix_does_not_crash_on_a_path_a_thousand_levels_deep(deep: Repo) -> None:
    deep.add(f"{DEEP}/model.py")
    deep.commit("deep")
    proc = run(deep, "fix")
    no_crash(proc)
    # git 2.39's own `check-ignore -v` dies on such a path with a matching rule;
    # then fix says so and stops (exit 2), writing nothing.
    assert proc.returncode in (0, 1, 2), proc.stderr
    if proc.returncode == 2:
        assert proc.stderr.startswith("repolicy: error: git "), proc.stderr


RULE_FILE_COMMANDS = [["fix"], ["fix", "--check"], ["explain", "a.log"], ["audit"]]
# Git reads the rules of every directory it walks: history's, and untracked
# ones and ones only the index has (which `explain a.log` never reads).
FIFO_CASES = [
    *((where, command) for where in (".gitignore", "sub/.gitignore", ".gitattributes")
      for command in RULE_FILE_COMMANDS),
    *((where, command) for where in ("new/.gitignore", "new/deeper/.gitattributes",
                                     "staged/.gitignore")
      for command in RULE_FILE_COMMANDS if command[0] != "explain"),
]  # fmt: skip


@pytest.mark.parametrize("where, command", FIFO_CASES)
def test_a_fifo_where_git_reads_rules_is_refused_not_waited_on(
    repo: Repo, command: list[str], where: str
) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\nlfs: ["*.pth"]\n')
    repo.write("sub/kept.txt", "x")
    repo.write("a.log", "x")
    repo.add(".repolicy.yaml", "sub/kept.txt")
    repo.commit("start")
    repo.write("new/notes.txt", "x")
    repo.write("new/deeper/model.pth", "x")
    repo.write("staged/s.txt", "x")
    repo.add("staged/s.txt")
    os.mkfifo(repo.path / where)

    proc = run(repo, *command)

    no_crash(proc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{where}: it is a FIFO" in proc.stderr, proc.stderr


@pytest.mark.parametrize("leftover", [".repolicy-0a1b2c3d.tmp", ".repolicy-k3_x9q2z"])
def test_a_killed_writers_temporary_file_is_gone_after_the_next_fix(
    repo: Repo, leftover: str
) -> None:
    # What a fix killed between naming its temporary file and renaming it left
    # behind (this version's name, and an earlier version's); `git add -A`
    # would commit it.
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    stale = repo.write(leftover, "half a .gitignore")
    older = stale.stat().st_mtime - 3600
    os.utime(stale, (older, older))
    assert leftover in repo.git("status", "--porcelain")

    proc = run(repo, "fix")

    no_crash(proc)
    assert (repo.path / ".gitignore").is_file(), proc.stdout + proc.stderr
    assert not stale.exists()
    assert ".repolicy-" not in repo.git("status", "--porcelain", "--untracked-files=all")


def test_no_write_follows_a_committed_link_into_another_repository(
    repo: Repo, tmp_path: Path
) -> None:
    # `sub -> ../other` where `other` is a repository of its own: its `.git` must
    # not make it the work tree a write to `sub/.gitignore` is confined to.
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    (repo.path / "sub").symlink_to(other)
    with pytest.raises(RepolicyError, match="outside the work tree"):
        replace_file(str(repo.path / "sub" / ".gitignore"), b"*\n", "sub/.gitignore")
    assert not (other / ".gitignore").exists()
    # Inside the work tree, through `..`, the write happens.
    replace_file(str(repo.path / "sub" / ".." / ".gitignore"), b"*.log\n", ".gitignore")
    assert (repo.path / ".gitignore").read_bytes() == b"*.log\n"
