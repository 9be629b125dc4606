"""Adopting the gate on a repository with a past: `audit --write-baseline`, with real git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo
from .test_push import ZERO, push_check, sha

POLICY = """\
exclude: ["*.log"]
budgets: {file: 1 MiB}
"""
MB2 = 2 * 1024 * 1024


def audit(repo: Repo, *args: str) -> tuple[int, dict[str, Any]]:
    proc = repo.run("audit", "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def write_baseline(repo: Repo, *args: str) -> str:
    proc = repo.run("audit", "--write-baseline", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def old(repo: Repo) -> Repo:
    """A repository whose history, several commits back, holds a 2 MB blob since deleted."""
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    repo.write("ckpt/model.bin", size=MB2)
    repo.add("ckpt/model.bin")
    repo.commit("save the model (last year)")
    repo.git("rm", "-q", "ckpt/model.bin")
    repo.commit("drop it")
    for k in range(3):
        repo.write("train.py", f"print({k})\n")
        repo.add("train.py")
        repo.commit(f"tune {k}")
    return repo


def test_a_baseline_accepts_old_history_but_not_a_new_violation(old: Repo) -> None:
    code, data = audit(old)
    assert (code, found(data)) == (1, {("file-too-large", "ckpt/model.bin")})
    out = write_baseline(old)
    assert out.strip() == "repolicy audit: wrote .repolicy-baseline (1 entry, 1 violation)"
    code, data = audit(old)
    assert (code, data["violations"]) == (0, [])
    assert data["baseline"] == {"file": ".repolicy-baseline", "accepted": 1, "unused": 0}
    text = old.run("audit").stdout
    assert "note: baseline .repolicy-baseline: 1 violation accepted" in text

    old.write("ckpt/other.bin", size=MB2 + 1)
    old.write("run.log", "loss 0.1\n")
    old.add("ckpt/other.bin", "run.log")
    old.commit("a new mistake")
    code, data = audit(old)
    assert (code, found(data)) == (
        1,
        {("file-too-large", "ckpt/other.bin"), ("excluded", "run.log")},
    )
    assert data["baseline"]["accepted"] == 1


def test_the_file_is_reviewable_text_without_line_numbers_or_dates(old: Repo) -> None:
    write_baseline(old)
    lines = (old.path / ".repolicy-baseline").read_text().splitlines()
    assert lines[0].startswith("# repolicy baseline, format 1")
    entries = [line for line in lines if not line.startswith("#")]
    blob = old.git("rev-parse", "HEAD~4:ckpt/model.bin").strip()
    assert entries == [f"file-too-large\t{blob}\tckpt/model.bin\t{sha(old, 'HEAD~4')}"]


def test_rewriting_with_nothing_changed_is_byte_identical(old: Repo) -> None:
    old.write("wandb/run-1/out.log", "x")  # a work-tree violation (not-ignored) too
    write_baseline(old)
    path = old.path / ".repolicy-baseline"
    first = path.read_bytes()
    assert b"not-ignored\t\twandb/run-1/out.log\n" in first
    assert "unchanged: .repolicy-baseline" in write_baseline(old)
    assert path.read_bytes() == first
    # Unrelated work, the baseline committed, a tag: still the same bytes.
    old.add(".repolicy-baseline")
    old.write("README.md", "# model\n")
    old.add("README.md")
    old.commit("docs")
    old.git("tag", "v1")
    write_baseline(old)
    assert path.read_bytes() == first


def test_an_entry_whose_blob_left_history_is_reported_unused(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("start")
    repo.git("checkout", "-q", "-b", "experiment")
    repo.write("ckpt/model.bin", size=MB2)
    repo.add("ckpt/model.bin")
    repo.commit("an experiment")
    repo.git("checkout", "-q", "main")
    write_baseline(repo)
    assert audit(repo)[0] == 0

    # The branch that held the only copy goes; reflogs are not history.
    repo.git("branch", "-q", "-D", "experiment")
    code, data = audit(repo)
    (v,) = data["violations"]
    assert (code, v["check"], v["severity"], v["path"]) == (
        0,
        "baseline-unused",
        "warning",
        ".repolicy-baseline",
    )
    assert v["rule"] == ".repolicy-baseline:4"
    assert "ckpt/model.bin" in v["message"]
    assert data["baseline"] == {"file": ".repolicy-baseline", "accepted": 0, "unused": 1}
    assert repo.run("audit", "--strict").returncode == 1
    # Rewriting it lets the file shrink.
    write_baseline(repo)
    assert audit(repo)[1]["violations"] == []
    body = (repo.path / ".repolicy-baseline").read_text().splitlines()
    assert [line for line in body if not line.startswith("#")] == []


def test_a_new_commit_re_adding_the_baselined_blob_is_reported_by_audit(old: Repo) -> None:
    write_baseline(old)
    old.git("checkout", "-q", "HEAD~4", "--", "ckpt/model.bin")  # the very same blob
    old.commit("bring the old model back")
    code, data = audit(old)
    assert (code, found(data)) == (1, {("file-too-large", "ckpt/model.bin")})
    assert data["baseline"]["accepted"] == 0


@pytest.fixture
def remote(old: Repo, tmp_path: Path) -> Repo:
    """`old` with an empty bare remote `origin`."""
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "remote.git")], check=True)
    old.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    return old


def first_push_line(repo: Repo) -> str:
    return f"refs/heads/main {sha(repo, 'HEAD')} refs/heads/main {ZERO}"


def test_the_first_push_of_old_history_to_an_empty_remote_is_accepted(remote: Repo) -> None:
    code, data = push_check(remote, [first_push_line(remote)], "origin")
    assert (code, found(data)) == (1, {("file-too-large", "ckpt/model.bin")})
    write_baseline(remote)
    code, data = push_check(remote, [first_push_line(remote)], "origin")
    assert (code, data["violations"]) == (0, [])
    # A push cannot judge an unused entry: it sees a part of history.
    assert data["baseline"] == {"file": ".repolicy-baseline", "accepted": 1, "unused": None}


def test_a_pushed_commit_re_adding_the_baselined_blob_is_still_reported(remote: Repo) -> None:
    write_baseline(remote)
    remote.git("push", "-q", "--no-verify", "origin", "main")
    remote.git("checkout", "-q", "HEAD~4", "--", "ckpt/model.bin")
    entered = remote.commit("bring the old model back")
    line = f"refs/heads/main {sha(remote, 'HEAD')} refs/heads/main {sha(remote, 'origin/main')}"
    code, data = push_check(remote, [line], "origin")
    assert (code, found(data)) == (1, {("file-too-large", "ckpt/model.bin")})
    assert data["violations"][0]["commit"] == entered
    # ... and on a first push of everything to another, empty remote as well:
    # the old commit is accepted, the new one is not.
    code, data = push_check(remote, [first_push_line(remote)], "nowhere")
    assert (code, found(data)) == (1, {("file-too-large", "ckpt/model.bin")})
    assert data["baseline"]["accepted"] == 0


def test_the_pre_commit_hook_ignores_the_baseline(old: Repo) -> None:
    write_baseline(old)
    old.git("checkout", "-q", "HEAD~4", "--", "ckpt/model.bin")  # staged again
    proc = old.run("check")
    assert proc.returncode == 1
    assert "[file-too-large]" in proc.stdout


def test_the_baseline_key_moves_the_file(old: Repo) -> None:
    old.write(".repolicy.yaml", POLICY + "baseline: ci/accepted.tsv\n")
    assert "wrote ci/accepted.tsv" in write_baseline(old)
    assert not (old.path / ".repolicy-baseline").exists()
    assert "file-too-large" in (old.path / "ci" / "accepted.tsv").read_text()
    code, data = audit(old)
    assert (code, data["baseline"]["file"]) == (0, "ci/accepted.tsv")
    # A file at the default place is not read when the policy names another.
    (old.path / "ci" / "accepted.tsv").rename(old.path / ".repolicy-baseline")
    code, data = audit(old)
    assert code == 1
    assert "baseline" not in data
    assert any("ci/accepted.tsv, which does not exist" in n for n in data["notes"])


def test_budgets_are_not_baselined(old: Repo) -> None:
    old.write(".repolicy.yaml", POLICY.replace("{file: 1 MiB}", "{file: 1 MiB, repo: 1 KiB}"))
    out = write_baseline(old)
    assert "a baseline cannot accept them: repo-budget" in out
    code, data = audit(old)
    assert (code, found(data)) == (1, {("repo-budget", None)})
    assert data["baseline"]["accepted"] == 1


def test_a_malformed_baseline_stops_audit_and_push_at_its_line(old: Repo) -> None:
    write_baseline(old)
    path = old.path / ".repolicy-baseline"
    path.write_text(path.read_text() + "fille-too-large\t\tx.bin\n")
    for args in (("audit",), ("check", "--push")):
        proc = old.run(*args)
        assert proc.returncode == 2, args
        assert proc.stderr.strip() == (
            ".repolicy-baseline:5:1: unknown check 'fille-too-large'; "
            "did you mean 'file-too-large'?"
        )
        assert proc.stdout == ""


def test_write_baseline_in_json(old: Repo) -> None:
    proc = old.run("audit", "--write-baseline", "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["baseline"] == {
        "file": ".repolicy-baseline",
        "entries": 1,
        "accepted": 1,
        "written": True,
        "not_baselinable": [],
    }


def test_odd_names_survive_a_round_trip_through_git(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    names = [b"tab\there.log", b"new\nline.log", b"latin-\xe9.log", b'q"uote.log']
    for name in names:
        repo.write(name, "x")
    repo.git("add", "-f", "--", *(n.decode("utf-8", "surrogateescape") for n in names))
    repo.commit("odd names")
    assert audit(repo)[0] == 1
    write_baseline(repo)
    data = (repo.path / ".repolicy-baseline").read_bytes()
    data.decode("utf-8")
    assert b'"latin-\\351.log"' in data and b'"new\\nline.log"' in data
    code, report = audit(repo)
    assert (code, report["violations"], report["baseline"]["accepted"]) == (0, [], 4)


def test_a_server_reads_the_baseline_a_commit_holds(old: Repo) -> None:
    from repolicy import baseline
    from repolicy.git import Git
    from repolicy.policy import load_policy

    policy = load_policy(str(old.path))
    git = Git(str(old.path))
    assert baseline.load_from_revision(git, "HEAD", policy) is None
    write_baseline(old)
    old.add(".repolicy-baseline")
    old.commit("accept the past")
    (old.path / ".repolicy-baseline").write_text("garbage\n")  # the work tree does not count
    held = baseline.load_from_revision(git, "HEAD", policy)
    assert held is not None
    assert held.file == "HEAD:.repolicy-baseline"
    assert [e.path for e in held.entries.values()] == ["ckpt/model.bin"]


# -- the baseline stays inside the work tree ------------------------------------------


def test_a_committed_link_cannot_lead_the_baseline_out_of_the_work_tree(
    old: Repo, tmp_path: Path
) -> None:
    # A cloned repository holds `h -> (a directory outside)` and names
    # `h/.bashrc` as its baseline: writing it would replace the user's file.
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("export PATH=$HOME/bin:$PATH\n")
    (old.path / "h").symlink_to(home)
    old.write(".repolicy.yaml", POLICY + "baseline: h/.bashrc\n")
    old.add("h", ".repolicy.yaml")
    old.commit("a baseline behind a link")

    proc = old.run("audit", "--write-baseline")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "outside the work tree" in proc.stderr
    assert (home / ".bashrc").read_text() == "export PATH=$HOME/bin:$PATH\n"
    assert sorted(p.name for p in home.iterdir()) == [".bashrc"]


def test_a_baseline_that_is_itself_a_link_is_not_written_through(old: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("keep me\n")
    (old.path / ".repolicy-baseline").symlink_to(outside)

    proc = old.run("audit", "--write-baseline")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "symbolic link" in proc.stderr
    assert outside.read_text() == "keep me\n"


def test_a_fifo_baseline_is_refused_not_waited_on(old: Repo) -> None:
    os.mkfifo(old.path / ".repolicy-baseline")
    for args in (["audit"], ["audit", "--write-baseline"]):
        proc = subprocess.run(
            [sys.executable, "-m", "repolicy", *args],
            cwd=old.path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "FIFO" in proc.stderr and ".repolicy-baseline" in proc.stderr
        assert "internal error" not in proc.stderr


def test_a_leftover_temporary_file_is_removed_by_the_next_write(old: Repo) -> None:
    # A writer killed between naming its temporary file and renaming it over
    # the baseline leaves one behind; the next write in that directory removes it.
    leftover = old.write(".repolicy-0a1b2c3d.tmp", "half a baseline")
    older = leftover.stat().st_mtime - 3600
    os.utime(leftover, (older, older))
    assert ".repolicy-0a1b2c3d.tmp" in old.git("status", "--porcelain", "--untracked-files=all")

    write_baseline(old)

    assert not leftover.exists()
    status = old.git("status", "--porcelain", "--untracked-files=all")
    assert ".repolicy-" not in status.replace(".repolicy-baseline", ""), status
