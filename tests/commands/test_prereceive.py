"""`repolicy check --pre-receive`: a server's hook, through real pushes over file://."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo

POLICY = 'exclude: ["*.log"]\nbudgets: {file: 1 MiB}\n'


class Server:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.report = path / "report.json"

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=False
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def install(self, *options: str) -> None:
        hook = self.path / "hooks" / "pre-receive"
        args = " ".join(["--pre-receive", "--format", "json", *options])
        hook.write_text(f"#!/bin/sh\n{sys.executable} -m repolicy check {args} > {self.report}\n")
        hook.chmod(0o755)

    def last(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.report.read_text())
        return data


@pytest.fixture
def server(tmp_path: Path) -> Server:
    path = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return Server(path)


@pytest.fixture
def work(repo: Repo, server: Server) -> Repo:
    """A clone-like work repository whose first push (with the policy) is accepted."""
    repo.git("remote", "add", "origin", f"file://{server.path}")
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    server.install()
    return repo


def push(repo: Repo, *refs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "--porcelain", "origin", *refs],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def test_a_clean_push_is_accepted(work: Repo, server: Server) -> None:
    work.write("model.py", "x = 1\n")
    work.add("model.py")
    head = work.commit("model")
    assert push(work, "main").returncode == 0
    assert server.git("rev-parse", "main").strip() == head
    data = server.last()
    assert (data["command"], data["violations"]) == ("pre-receive", [])
    assert data["policy"] == "refs/heads/main:.repolicy.yaml"


def test_a_bad_push_is_rejected_and_its_objects_never_land(work: Repo, server: Server) -> None:
    before = server.git("rev-parse", "main").strip()
    blob = work.write("logs/train.log", "loss 0.1\n")
    oid = work.git("hash-object", "--", str(blob)).strip()
    work.add("logs/train.log")
    bad = work.commit("log")
    work.git("rm", "-q", "logs/train.log")
    work.commit("remove it again")
    proc = push(work, "main")
    assert proc.returncode != 0 and "pre-receive hook declined" in proc.stdout + proc.stderr
    assert server.git("rev-parse", "main").strip() == before
    (violation,) = server.last()["violations"]
    assert (violation["check"], violation["path"], violation["commit"]) == (
        "excluded",
        "logs/train.log",
        bad,
    )
    # The quarantine is dropped with the push: the server never stored the blob.
    assert subprocess.run(["git", "cat-file", "-e", oid], cwd=server.path).returncode != 0


def test_several_refs_at_once_and_a_deletion(work: Repo, server: Server) -> None:
    work.git("push", "-q", "origin", "main:old")  # a branch to delete later
    work.git("checkout", "-q", "-b", "exp")
    work.write("big.bin", b"\0" * (2 * 1024 * 1024))
    work.add("big.bin")
    work.commit("big")
    work.git("tag", "v1")
    work.git("checkout", "-q", "main")
    work.write("notes.md", "fine\n")
    work.add("notes.md")
    work.commit("notes")
    proc = push(work, "main", "exp", "v1", ":old")
    assert proc.returncode != 0
    assert found(server.last()) == {("file-too-large", "big.bin")}
    assert server.git("branch", "--list", "old").strip() == "old"  # all or nothing
    proc = push(work, "main", ":old")
    assert proc.returncode == 0, proc.stderr
    assert server.git("branch", "--list", "old").strip() == ""


def test_a_push_cannot_loosen_its_own_policy(work: Repo, server: Server) -> None:
    work.write(".repolicy.yaml", "exclude: []\n")
    work.write("debug.log", "x")
    work.add(".repolicy.yaml", "debug.log")
    work.commit("no more rules")
    assert push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "debug.log")}


def test_the_servers_config_or_option_names_the_policy(
    work: Repo, server: Server, tmp_path: Path
) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text('exclude: ["*.md"]\n')
    server.git("config", "repolicy.policy", str(strict))
    work.write("README.md", "hello\n")
    work.add("README.md")
    work.commit("readme")
    assert push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "README.md")}
    assert server.last()["policy"] == str(strict)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("exclude: []\n")
    server.install("--policy", str(lenient))
    assert push(work, "main").returncode == 0


def test_a_policy_extending_a_file_of_its_branch(work: Repo, server: Server) -> None:
    work.write("policy/base.yaml", 'exclude: ["*.tmp"]\n')
    work.write(".repolicy.yaml", "extends: [policy/base.yaml]\n" + POLICY)
    work.add("policy/base.yaml", ".repolicy.yaml")
    work.commit("shared rules")
    assert push(work, "main").returncode == 0
    work.write("scratch.tmp", "x")
    work.add("scratch.tmp")
    work.commit("tmp")
    assert push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "scratch.tmp")}


def test_an_empty_server_judges_the_first_push_by_the_default_preset(
    repo: Repo, server: Server
) -> None:
    server.install()
    repo.git("remote", "add", "origin", f"file://{server.path}")
    repo.write("w.bin", b"\0" * (101 * 1024 * 1024 // 64))  # small: passes
    repo.add("w.bin")
    repo.commit("first")
    assert push(repo, "main").returncode == 0
    assert server.last()["policy"] == "preset:default"


def test_the_servers_baseline_accepts_old_commits_but_not_new_ones(
    repo: Repo, server: Server
) -> None:
    repo.git("remote", "add", "origin", f"file://{server.path}")
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.git("checkout", "-q", "-b", "legacy")
    repo.write("old.log", "from last year\n")
    repo.add("old.log")
    repo.commit("an old mistake, never pushed")
    repo.git("checkout", "-q", "main")
    assert repo.run("audit", "--write-baseline").returncode == 0
    repo.add(".repolicy-baseline")
    repo.commit("accept the past")
    repo.git("push", "-q", "origin", "main")
    server.install()
    assert push(repo, "legacy").returncode == 0
    assert server.last()["baseline"]["accepted"] == 1
    repo.git("checkout", "-q", "legacy")
    repo.write("new.log", "today\n")
    repo.add("new.log")
    repo.commit("a new mistake")
    assert push(repo, "legacy").returncode != 0
    assert found(server.last()) == {("excluded", "new.log")}
