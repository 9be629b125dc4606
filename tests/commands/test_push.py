"""`repolicy check --push`: every object a push sends, through git's own pre-push hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo, Server

POLICY = """\
exclude: ["*.log"]
lfs: ["*.pth"]
budgets: {file: 1 MiB}
"""
ZERO = "0" * 40


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


@pytest.fixture
def pushing(repo: Repo, server: Server) -> Repo:
    """A repository with a policy, pushed once to a bare remote `origin` (no server hook)."""
    server.connect(repo)
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    return repo


def sha(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", rev).strip()


def main_update(repo: Repo) -> str:
    """The pre-push line for pushing HEAD to main over what origin/main has."""
    return f"refs/heads/main {sha(repo, 'HEAD')} refs/heads/main {sha(repo, 'origin/main')}"


def push_check(repo: Repo, lines: list[str], *args: str) -> tuple[int, dict[str, Any]]:
    stdin = "".join(f"{line}\n" for line in lines).encode()
    proc = repo.run("check", "--push", "--format", "json", *args, input=stdin)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def install_hook(repo: Repo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-push"
    hook.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m repolicy check --push "$@"\n')
    hook.chmod(0o755)


def test_a_big_blob_added_then_deleted_is_still_caught(pushing: Repo) -> None:
    pushing.write("data/big.bin", size=2 * 1024 * 1024)
    pushing.add("data/big.bin")
    entered = pushing.commit("add big")
    pushing.git("rm", "-q", "data/big.bin")
    pushing.commit("oops, remove it")
    code, data = push_check(pushing, [main_update(pushing)], "origin")
    assert (code, found(data)) == (1, {("file-too-large", "data/big.bin")})
    (v,) = data["violations"]
    assert v["commit"] == entered
    # Only the unpushed commits are rewritten (tests/test_advice.py runs the advice).
    assert (
        "git lfs migrate import --include='*.bin' --include-ref=refs/heads/main "
        "--exclude-ref=refs/remotes/origin/main"
    ) in v["fix"]
    assert data["command"] == "push"
    assert data["budgets"]["repo"]["used"] > 0


def test_every_pushed_ref_is_judged_and_deletions_pass(pushing: Repo) -> None:
    pushing.git("checkout", "-q", "-b", "exp")
    pushing.write("exp.log", "x")
    pushing.add("exp.log")
    pushing.commit("exp")
    pushing.git("tag", "v1")
    pushing.git("checkout", "-q", "main")
    pushing.write("main.log", "x")
    pushing.add("main.log")
    pushing.commit("main")
    lines = [
        f"refs/heads/main {sha(pushing, 'main')} refs/heads/main {sha(pushing, 'origin/main')}",
        f"refs/heads/exp {sha(pushing, 'exp')} refs/heads/exp {ZERO}",
        f"refs/tags/v1 {sha(pushing, 'v1')} refs/tags/v1 {ZERO}",
        f"(delete) {ZERO} refs/heads/gone {sha(pushing, 'origin/main')}",
    ]
    code, data = push_check(pushing, lines, "origin", "unused-url")
    assert (code, found(data)) == (1, {("excluded", "exp.log"), ("excluded", "main.log")})
    assert push_check(pushing, [lines[3]], "origin")[0] == 0


def test_a_new_branch_already_on_the_remote_scans_nothing(pushing: Repo) -> None:
    pushing.write("old.log", "x")
    pushing.add("old.log")
    pushing.commit("log that the remote already has")
    pushing.git("push", "-q", "--no-verify", "origin", "main")
    pushing.git("branch", "copy")
    code, data = push_check(
        pushing, [f"refs/heads/copy {sha(pushing, 'copy')} refs/heads/copy {ZERO}"], "origin"
    )
    assert (code, found(data)) == (0, set())
    assert data["budgets"]["repo"]["added"] == 0


def test_a_renamed_file_is_judged_at_its_new_path(pushing: Repo) -> None:
    pushing.write("notes.txt", "notes\n" * 100)
    pushing.add("notes.txt")
    pushing.commit("notes")
    pushing.git("push", "-q", "--no-verify", "origin", "main")
    pushing.git("mv", "notes.txt", "notes.log")
    pushing.commit("rename")
    _code, data = push_check(pushing, [main_update(pushing)])
    assert found(data) == {("excluded", "notes.log")}


def test_the_same_blob_at_two_paths_is_reported_at_both(pushing: Repo) -> None:
    pushing.write("a/run.log", "same\n")
    pushing.write("b/run.log", "same\n")
    pushing.add("a", "b")
    pushing.commit("two copies")
    _code, data = push_check(pushing, [main_update(pushing)])
    assert found(data) == {("excluded", "a/run.log"), ("excluded", "b/run.log")}


def test_pre_commit_variables_and_explicit_refs(pushing: Repo) -> None:
    pushing.write("x.log", "x")
    pushing.add("x.log")
    pushing.commit("x")
    pushing.write("y.log", "y")
    pushing.add("y.log")
    pushing.commit("y")
    # Every commit in the range counts, not the net diff: x.log is still in HEAD.
    env = {
        "PRE_COMMIT_FROM_REF": sha(pushing, "origin/main"),
        "PRE_COMMIT_TO_REF": sha(pushing, "HEAD"),
        "PRE_COMMIT_REMOTE_NAME": "origin",
    }
    proc = pushing.run("check", "--push", "--format", "json", env=env)
    assert found(json.loads(proc.stdout)) == {("excluded", "x.log"), ("excluded", "y.log")}
    proc = pushing.run(
        "check",
        "--push",
        "--from-ref",
        sha(pushing, "HEAD~1"),
        "--to-ref",
        "HEAD",
        "--format",
        "json",
    )
    assert found(json.loads(proc.stdout)) == {("excluded", "y.log")}
    # No refs at all: everything reachable from HEAD that no remote has.
    proc = pushing.run("check", "--push", "--format", "json", input=b"")
    assert found(json.loads(proc.stdout)) == {("excluded", "x.log"), ("excluded", "y.log")}


def test_a_pointer_whose_object_is_missing_is_reported(pushing: Repo) -> None:
    pushing.write(".gitattributes", "*.pth filter=lfs diff=lfs merge=lfs -text\n")
    pushing.add(".gitattributes")
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{'ef' * 32}\nsize 1234\n"
    oid = pushing.git("hash-object", "-w", "--stdin", input=pointer.encode()).strip()
    pushing.git("update-index", "--add", "--cacheinfo", f"100644,{oid},models/best.pth")
    pushing.commit("pointer without its object")
    code, data = push_check(pushing, [main_update(pushing)])
    assert (code, found(data)) == (1, {("lfs-object-missing", "models/best.pth")})
    assert "git lfs fetch --all" in data["violations"][0]["fix"]


def test_odd_names_travel_through_the_push(pushing: Repo) -> None:
    names = ["new\nline.log", "café.log", os.fsdecode(b"\xff.log")]
    for name in names:
        pushing.write(name, "x")
        pushing.add(name)
    pushing.commit("odd")
    _code, data = push_check(pushing, [main_update(pushing)])
    assert found(data) == {("excluded", name) for name in names}


def test_a_real_git_push_of_several_refs_is_blocked_by_the_hook(
    pushing: Repo, server: Server
) -> None:
    install_hook(pushing)
    pushing.git("checkout", "-q", "-b", "feature")
    pushing.write("feature.log", "x")
    pushing.add("feature.log")
    pushing.commit("feature")
    pushing.git("checkout", "-q", "main")
    pushing.write("ok.py", "x = 1\n")
    pushing.add("ok.py")
    pushing.commit("fine")
    proc = server.push(pushing, "main", "feature")
    assert proc.returncode != 0
    assert "feature.log" in proc.stdout + proc.stderr
    # Nothing reached the remote: neither ref moved.
    remote = pushing.git("ls-remote", "origin").split()
    assert sha(pushing, "main") not in remote
    pushing.git("branch", "-q", "-D", "feature")
    proc = server.push(pushing, "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_force_push_judges_only_what_the_remote_lacks(pushing: Repo) -> None:
    pushing.write("bad.log", "x")
    pushing.add("bad.log")
    pushing.commit("bad")
    pushing.git("reset", "-q", "--hard", "HEAD~1")
    pushing.write("good.py", "x\n")
    pushing.add("good.py")
    pushing.commit("good")
    code, data = push_check(pushing, [main_update(pushing)])
    assert (code, found(data)) == (0, set())


def test_a_sha256_repository_pushes_with_64_digit_zeros(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = Repo(path)
    repo.write(".repolicy.yaml", POLICY)
    repo.write("a.log", "x")
    repo.add(".repolicy.yaml", "a.log")
    repo.commit("first")
    head = sha(repo, "HEAD")
    assert len(head) == 64
    code, data = push_check(repo, [f"refs/heads/main {head} refs/heads/main {'0' * 64}"])
    assert (code, found(data)) == (1, {("excluded", "a.log")})
    assert push_check(repo, [f"(delete) {'0' * 64} refs/heads/x {head}"])[0] == 0


def budget_policy(repo: Repo, repo_limit: str) -> None:
    repo.write(".repolicy.yaml", f"budgets: {{file: 10 MiB, repo: {repo_limit}}}\n")
    repo.add(".repolicy.yaml")
    repo.commit("budget")


def test_a_push_that_takes_the_remote_over_its_repo_budget_fails(pushing: Repo) -> None:
    budget_policy(pushing, "1 MiB")
    pushing.write("data/weights.bin", os.urandom(2 * 1024 * 1024))
    pushing.add("data/weights.bin")
    pushing.commit("weights")
    code, data = push_check(pushing, [main_update(pushing)], "origin")
    assert (code, found(data)) == (1, {("repo-budget", None)})
    assert data["budgets"]["repo"]["limit"] == 1024 * 1024
    # Random bytes do not compress: the push adds at least the blob itself.
    assert data["budgets"]["repo"]["used"] >= 2 * 1024 * 1024


def test_a_push_under_the_repo_budget_passes(pushing: Repo) -> None:
    budget_policy(pushing, "5 MiB")
    pushing.write("data/weights.bin", os.urandom(2 * 1024 * 1024))
    pushing.add("data/weights.bin")
    pushing.commit("weights")
    code, data = push_check(pushing, [main_update(pushing)], "origin")
    assert (code, found(data)) == (0, set())


def test_unreachable_objects_do_not_count_against_the_repo_budget(pushing: Repo) -> None:
    # A big object that is stored here but reachable from nothing: the cheap
    # bound exceeds the budget, so the walk decides, and the walk ignores it.
    junk = pushing.write("junk.bin", os.urandom(3 * 1024 * 1024))
    pushing.git("hash-object", "-w", "--", str(junk))
    junk.unlink()
    budget_policy(pushing, "1 MiB")
    code, data = push_check(pushing, [main_update(pushing)], "origin")
    assert (code, found(data)) == (0, set())


# -- hook input is checked; merges are judged against each parent ----------------


def test_pre_push_input_is_checked_before_git_sees_it(pushing: Repo) -> None:
    head, theirs = sha(pushing, "HEAD"), sha(pushing, "origin/main")
    target = pushing.path / "written-by-git"
    for line in (
        f"refs/heads/main --output={target} refs/heads/main {theirs}",
        f"refs/heads/main {head} refs/heads/main --output={target}",
        f"refs/heads/main {head} --output={target} {theirs}",
        f"refs/heads/main {head.upper()} refs/heads/main {theirs}",
        f"refs/heads/main {head}",
    ):
        proc = pushing.run("check", "--push", input=f"{line}\n".encode())
        assert proc.returncode == 2, line
        assert "pre-push input line 1" in proc.stderr
        assert not target.exists()
    # A well-formed id that names nothing here is not an empty push.
    proc = pushing.run(
        "check", "--push", input=f"refs/heads/main {'ab' * 20} refs/heads/main {theirs}\n".encode()
    )
    assert proc.returncode == 2
    assert "which this repository lacks" in proc.stderr
    proc = pushing.run("check", "--push", "--to-ref", "no-such-branch")
    assert proc.returncode == 2


def test_a_merge_with_a_new_root_cannot_delete_a_frozen_dataset(pushing: Repo) -> None:
    pushing.write(".repolicy.yaml", POLICY + 'frozen: ["datasets/*/v*/**"]\n')
    pushing.write("datasets/a/v1/labels.json", "[1]\n")
    pushing.add(".repolicy.yaml", "datasets")
    pushing.commit("release v1")
    pushing.git("push", "-q", "origin", "main")
    pushing.git("checkout", "-q", "--orphan", "fresh")
    pushing.git("rm", "-rq", "--cached", "datasets")
    shutil.rmtree(pushing.path / "datasets")
    root = pushing.commit("start afresh")
    merge = pushing.git(
        "commit-tree", f"{root}^{{tree}}", "-p", "main", "-p", root, "-m", "merge a fresh start"
    ).strip()
    pushing.git("checkout", "-q", "-B", "main", merge)
    install_hook(pushing)
    proc = subprocess.run(
        ["git", "push", "origin", "main"], cwd=pushing.path, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "datasets/a/v1/labels.json" in proc.stdout + proc.stderr
    code, data = push_check(pushing, [main_update(pushing)], "origin")
    assert code == 1
    assert [(v["check"], v["path"], v["commit"]) for v in data["violations"]] == [
        ("frozen-modified", "datasets/a/v1/labels.json", merge)
    ]


def test_tags_naming_a_tree_or_a_blob_are_judged_by_push_and_audit(pushing: Repo) -> None:
    pushing.write("sub/a.log", os.urandom(300 * 1000))
    pushing.git("add", "-f", "sub")
    tree = pushing.git("write-tree").strip()
    pushing.git("reset", "-q")
    shutil.rmtree(pushing.path / "sub")
    big = pushing.write("huge.bin", os.urandom(2 * 1024 * 1024))
    blob = pushing.git("hash-object", "-w", "--", str(big)).strip()
    big.unlink()
    install_hook(pushing)
    for ref, shown in (
        (f"{tree}:refs/tags/t", "sub/a.log"),
        (f"{blob}:refs/tags/b", "refs/tags/b"),
    ):
        proc = subprocess.run(
            ["git", "push", "origin", ref], cwd=pushing.path, capture_output=True, text=True
        )
        assert proc.returncode != 0
        assert shown in proc.stdout + proc.stderr
    assert pushing.git("ls-remote", "--tags", "origin").strip() == ""
    # The same tags, made here: audit judges them and counts what they hold.
    pushing.git("tag", "-a", "t", "-m", "a tree", tree)
    pushing.git("tag", "b", blob)
    proc = pushing.run("audit", "--format", "json")
    data = json.loads(proc.stdout)
    assert found(data) >= {("excluded", "sub/a.log"), ("file-too-large", "refs/tags/b")}
    usage = int(pushing.git("rev-list", "--disk-usage", "--objects", "--branches", "--tags"))
    assert data["budgets"]["repo"]["used"] == usage > 2 * 1024 * 1024
