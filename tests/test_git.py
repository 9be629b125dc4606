"""The git module: batched plumbing answers, exactly as git stores names and objects."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from repolicy.git import BlobFacts, Git

from .conftest import Repo


def test_blob_facts_batch_command_and_fallback_agree(repo: Repo) -> None:
    repo.write("small.txt", "tiny\n")
    repo.write("big.bin", size=5000)
    repo.write("pointer.pth", "version https://git-lfs.github.com/spec/v1\n")
    os.symlink("small.txt", repo.path / "link")
    repo.add("small.txt", "big.bin", "pointer.pth", "link")
    entries = Git(str(repo.path)).index_entries().get()
    oids = [e.oid for e in entries] + ["0" * 40]  # a missing object is simply absent
    git = Git(str(repo.path))
    facts = BlobFacts(git, oids, 1024)
    info, contents = facts.get()
    assert (info, contents) == BlobFacts(git, oids, 1024)._fallback()
    by_path = {e.path: e.oid for e in entries}
    assert info[by_path["big.bin"]].size == 5000
    assert contents[by_path["small.txt"]] == b"tiny\n"
    assert contents[by_path["link"]] == b"small.txt"
    assert by_path["big.bin"] not in contents
    assert "0" * 40 not in info


def test_blob_facts_handles_more_objects_than_one_chunk(repo: Repo) -> None:
    for k in range(1200):
        repo.write(f"d/{k}.txt", f"{k}\n")
    repo.add("d")
    git = Git(str(repo.path))
    entries = git.index_entries().get()
    info, contents = git.blob_facts([e.oid for e in entries], 1024).get()
    assert len(info) == len(contents) == 1200
    assert sorted(int(c) for c in contents.values()) == list(range(1200))


def test_staged_changes_keep_odd_names_and_split_renames(repo: Repo) -> None:
    odd = os.fsdecode(b"we\xffird\nname -x.pth")
    repo.write("old.txt", "same content\n" * 20)
    repo.add("old.txt")
    repo.commit()
    repo.git("mv", "old.txt", "new.txt")
    repo.write(odd, "x")
    repo.add(odd)
    changes = Git(str(repo.path)).staged_changes().get()
    assert sorted((c.status, c.path) for c in changes) == sorted(
        [("D", "old.txt"), ("A", "new.txt"), ("A", odd)]
    )


def test_attributes_are_asked_of_the_index_when_cached(repo: Repo) -> None:
    repo.write(".gitattributes", "*.pth filter=lfs\n")
    repo.add(".gitattributes")
    repo.write(".gitattributes", "")  # the work tree says otherwise; the index wins
    git = Git(str(repo.path))
    assert git.attributes(["a.pth", "b.txt"], ("filter",), cached=True).get() == {
        "a.pth": {"filter": "lfs"}
    }
    assert git.attributes(["a.pth"], ("filter",), cached=False).get() == {}


def rev_parse(cwd: Path) -> tuple[str, str, str]:
    out = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-prefix"],
        cwd=cwd, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    return out[0], out[1], out[2]


def test_finding_the_repository_without_git_agrees_with_rev_parse(
    repo: Repo, tmp_path: Path
) -> None:
    deep = repo.path / "a b" / "ünï"
    deep.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(repo.path)
    for cwd in (repo.path, deep, link / "a b"):
        info = Git(str(cwd)).discover().get()
        assert (info.toplevel, info.git_dir, info.prefix) == rev_parse(cwd), cwd


def test_a_linked_worktree_and_a_steering_environment_are_left_to_git(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("start")
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "--detach", str(other))
    info = Git(str(other)).discover().get()
    assert (info.toplevel, info.git_dir, info.prefix) == rev_parse(other)
    # GIT_DIR names another repository: git, not the directory walk, decides.
    second = tmp_path / "second"
    subprocess.run(["git", "init", "-q", str(second)], check=True)
    monkeypatch.setenv("GIT_DIR", str(second / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo.path))
    info = Git(str(repo.path)).discover().get()
    assert info.git_dir == str((second / ".git").resolve())
