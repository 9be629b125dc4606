"""What the text reports leave out: lines that repeat or say nothing."""

from __future__ import annotations

from ..conftest import Repo


def test_largest_blobs_name_each_path_once_with_its_versions(repo: Repo) -> None:
    for k in range(6):
        repo.write("data/table.csv", "x" * (1000 + k))
        repo.add("data/table.csv")
        repo.commit(f"table {k}")
    repo.write("model.bin", b"\0" * 500)
    repo.add("model.bin")
    repo.commit("model")
    text = repo.run("audit").stdout
    section = text.split("largest blobs in history\n", 1)[1].split("\n")
    listed = [line for line in section if line.startswith("  ") and "(" in line]
    assert [line.split()[2] for line in listed] == ["data/table.csv", "model.bin"]
    assert "1005" in listed[0] or "1.0 KiB" in listed[0]
    assert listed[0].endswith(", 6 versions")
    assert not listed[1].endswith("versions")


def test_no_budget_line_where_nothing_is_used_and_nothing_is_set(repo: Repo) -> None:
    repo.write("train.py", "print(1)\n")
    repo.add("train.py")
    repo.commit("start")
    audit = repo.run("audit").stdout
    assert "budget repo:" in audit  # set by the default preset
    assert "budget lfs:" not in audit  # no LFS object, no limit
    push = repo.run("check", "--push", "--to-ref", "HEAD").stdout
    assert "budget lfs" not in push


def test_a_push_with_a_baseline_that_accepts_nothing_says_nothing_of_it(repo: Repo) -> None:
    repo.write("train.py", "print(1)\n")
    repo.add("train.py")
    repo.commit("start")
    assert repo.run("audit", "--write-baseline").returncode == 0
    repo.add(".repolicy-baseline")
    repo.commit("baseline")
    push = repo.run("check", "--push", "--to-ref", "HEAD").stdout
    assert "accepted" not in push
