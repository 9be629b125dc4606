"""`budgets.directory_entries`: directories wider than the limit, where each command
knows the tree (audit: HEAD and the index; check: what the staged change grows;
a push: what the pushed tips grow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo, Server


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def wide(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in data["violations"] if v["check"] == "directory-large"]


def run_json(repo: Repo, *args: str, code: int = 0) -> dict[str, Any]:
    proc = repo.run(*args, "--format", "json")
    assert proc.returncode == code, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def policy(repo: Repo, text: str) -> None:
    repo.write(".repolicy.yaml", text)
    repo.add(".repolicy.yaml")
    repo.commit("policy")


def files(repo: Repo, *paths: str) -> None:
    for path in paths:
        repo.write(path, f"{path}\n")
    repo.add(*paths)


def stage_many(repo: Repo, directory: str, names: range) -> None:
    """Index entries without work-tree files: thousands in one git call."""
    blob = repo.git("hash-object", "-w", "--stdin", input=b"x\n").strip()
    lines = "".join(f"100644 {blob}\t{directory}/f{n:05d}\n" for n in names)
    repo.git("update-index", "--add", "--index-info", input=lines.encode())


# -- audit: HEAD's tree and the index ---------------------------------------------------------


def test_every_kind_of_entry_counts_and_only_what_is_directly_inside(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 4}\n")
    files(repo, "d/a.txt", "d/sub/x.txt", "d/sub/deeper/y.txt", "d/sub/deeper/z.txt")
    (repo.path / "d" / "link").symlink_to("a.txt")
    repo.add("d/link")
    module = repo.commit("files")
    # A submodule is an entry too (a gitlink, as `git ls-tree` lists it).
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{module},d/module")
    repo.commit("submodule")
    assert len(repo.git("ls-tree", "HEAD:d").splitlines()) == 4
    data = run_json(repo, "audit")
    assert wide(data) == []
    files(repo, "d/b.txt")
    repo.commit("a fifth entry")
    data = run_json(repo, "audit")
    (violation,) = wide(data)
    assert violation["path"] == "d/"
    assert violation["severity"] == "warning"
    assert violation["commit"] is None
    assert "holds 5 entries in HEAD, more than the 4" in violation["message"]
    assert violation["rule"] == "budgets.directory_entries: 4"
    # A warning: it fails the gate only under --strict.
    assert repo.run("audit", "--strict").returncode == 1


def test_a_directory_over_the_limit_only_in_the_index_is_reported_there(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 2}\n")
    files(repo, "d/a", "d/b")
    repo.commit("two")
    files(repo, "d/c")
    (violation,) = wide(run_json(repo, "audit"))
    assert (violation["path"], violation["commit"]) == ("d/", None)
    assert "in the index" in violation["message"]


def test_an_intent_to_add_entry_is_counted_in_the_index_not_taken_for_head(repo: Repo) -> None:
    # HEAD's tree is read from the index when the two are the same; `git add -N`
    # makes an entry HEAD lacks, so they are not, and each is counted for itself.
    policy(repo, "budgets: {directory_entries: 2}\n")
    files(repo, "d/a", "d/b")
    repo.commit("two")
    repo.write("d/c", "c\n")
    repo.git("add", "-N", "d/c")
    (violation,) = wide(run_json(repo, "audit"))
    assert (violation["path"], violation["commit"]) == ("d/", None)
    assert "in the index" in violation["message"]
    repo.git("rm", "-q", "--cached", "d/c")
    assert wide(run_json(repo, "audit")) == []


def test_the_top_of_the_repository_is_named_dot_slash(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "a", "b", "c/d")
    repo.commit("four entries at the top, with .repolicy.yaml")
    (violation,) = wide(run_json(repo, "audit"))
    assert violation["path"] == "./"
    assert "holds 4 entries in HEAD" in violation["message"]


def test_the_github_preset_allows_3000_entries_and_warns_at_3001(repo: Repo) -> None:
    policy(repo, "extends: [github]\n")
    stage_many(repo, "images", range(3000))
    # Staged: the check judges the index it grows, within the limit.
    assert wide(run_json(repo, "check")) == []
    repo.commit("3,000 images")
    assert len(repo.git("ls-tree", "HEAD:images").splitlines()) == 3000
    assert wide(run_json(repo, "audit")) == []
    stage_many(repo, "images", range(3000, 3001))
    (violation,) = wide(run_json(repo, "check"))
    assert violation["path"] == "images/"
    assert "holds 3,001 entries once this commit is made (up from 3,000)" in violation["message"]
    assert violation["rule"] == "budgets.directory_entries: 3,000"
    repo.commit("one more")
    (violation,) = wide(run_json(repo, "audit"))
    assert (violation["path"], violation["severity"]) == ("images/", "warning")


def test_a_baseline_accepts_a_wide_directory_while_head_moves_on(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 4}\n")
    files(repo, "d/a", "d/b", "d/c", "d/e", "d/g")
    repo.commit("wide already")
    assert repo.run("audit", "--write-baseline").returncode == 0
    repo.add(".repolicy-baseline")
    repo.commit("adopt the gate")
    files(repo, "src/model.py")
    repo.commit("unrelated work")
    assert wide(run_json(repo, "audit", "--strict")) == []
    # A push that grows it is still told.
    files(repo, "d/f")
    tip = repo.commit("wider")
    data = run_json(repo, "check", "--range", f"{tip}~1..{tip}")
    assert [v["path"] for v in wide(data)] == ["d/"]


def test_null_lifts_the_presets_limit(repo: Repo) -> None:
    policy(repo, "extends: [github]\nbudgets: {directory_entries: null}\n")
    stage_many(repo, "images", range(3001))
    repo.commit("wide")
    assert wide(run_json(repo, "audit")) == []


# -- check: what the staged change grows -------------------------------------------------------


def test_check_warns_when_the_staged_change_grows_a_directory_past_the_limit(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "d/a", "d/b", "d/c")
    repo.commit("at the limit")
    assert wide(run_json(repo, "check")) == []
    files(repo, "d/e")
    data = run_json(repo, "check")
    assert found(data) == {("directory-large", "d/")}
    assert "(up from 3)" in data["violations"][0]["message"]
    assert repo.run("check", "--strict").returncode == 1


def test_check_is_quiet_about_a_wide_directory_it_does_not_grow(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "d/a", "d/b", "d/c", "d/e")
    repo.commit("already over: audit's business")
    repo.write("d/a", "changed\n")
    repo.add("d/a")
    assert wide(run_json(repo, "check")) == []
    # One entry out, one in: no wider than before.
    repo.git("rm", "-q", "--cached", "d/b")
    files(repo, "d/f")
    assert wide(run_json(repo, "check")) == []
    # One more entry: it grows, and is over.
    files(repo, "d/g")
    (violation,) = wide(run_json(repo, "check"))
    assert "holds 5 entries once this commit is made (up from 4)" in violation["message"]


def test_check_counts_the_submodules_a_staged_change_adds(repo: Repo) -> None:
    # A submodule is no file to judge, yet an entry the commit adds: staging
    # submodules alone must not widen a directory unseen.
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "d/a")
    commit = repo.commit("one entry")
    for name in "pqr":
        repo.git("update-index", "--add", "--cacheinfo", f"160000,{commit},d/{name}")
    (violation,) = wide(run_json(repo, "check"))
    assert violation["path"] == "d/"
    assert "holds 4 entries once this commit is made (up from 1)" in violation["message"]


def test_a_new_subdirectory_is_a_new_entry_of_its_parent(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 2}\n")
    files(repo, "runs/a/x", "runs/b/x")
    repo.commit("two runs")
    files(repo, "runs/a/y")  # a file in a run: runs/ keeps two entries
    assert wide(run_json(repo, "check")) == []
    files(repo, "runs/c/deep/x")
    assert found(run_json(repo, "check")) == {("directory-large", "runs/")}


def test_the_first_commit_on_an_unborn_branch_is_judged(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets: {directory_entries: 3}\n")
    repo.add(".repolicy.yaml")
    files(repo, "d/a", "d/b", "d/c", "d/e")
    assert found(run_json(repo, "check")) == {("directory-large", "d/")}


def test_a_sha256_repository_reads_its_trees(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = Repo(path)
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "d/a", "d/b", "d/c")
    repo.commit("at the limit")
    files(repo, "d/e")
    (violation,) = wide(run_json(repo, "check"))
    assert "holds 4 entries once this commit is made (up from 3)" in violation["message"]


def short_entries(repo: Repo, names: list[bytes]) -> str:
    """A tree another tool wrote: one-digit modes (git reads them as submodules),
    24 bytes an entry where git's own take 28 or more."""
    commit = repo.git("rev-parse", "HEAD").strip()
    raw = b"".join(b"1 " + n + b"\0" + bytes.fromhex(commit) for n in names)
    return repo.git("hash-object", "-t", "tree", "-w", "--literally", "--stdin", input=raw).strip()


def seven_short_entries_in_z(repo: Repo) -> None:
    """HEAD gains `z/`, a tree of seven entries of the shortest kind, and the
    index takes HEAD's tree."""
    tree = short_entries(repo, [bytes([c]) for c in b"abcdefg"])
    root = repo.git("ls-tree", "HEAD") + f"040000 tree {tree}\tz\n"
    top = repo.git("mktree", input=root.encode()).strip()
    tip = repo.git("commit-tree", "-p", "HEAD", "-m", "seven short entries", top).strip()
    repo.git("update-ref", "HEAD", tip)
    repo.git("read-tree", "HEAD")


def test_check_counts_a_head_tree_of_the_shortest_entries(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 7}\n")
    seven_short_entries_in_z(repo)  # 7 entries in 168 bytes
    files(repo, "z/h")
    (violation,) = wide(run_json(repo, "check"))
    assert violation["path"] == "z/"
    assert "holds 8 entries once this commit is made (up from 7)" in violation["message"]


def test_check_reads_a_head_tree_whose_size_allows_it_to_end_up_over(repo: Repo) -> None:
    # The hook asks only the sizes of HEAD's trees, and reads a tree's names
    # when its size allows more entries than the limit less those gained. At
    # the shortest entries the size bound is exact: one entry too many must
    # still be seen.
    policy(repo, "budgets: {directory_entries: 8}\n")
    seven_short_entries_in_z(repo)  # its size bounds it at exactly 7
    files(repo, "z/h")
    assert wide(run_json(repo, "check")) == []  # 8: at the limit, from the size alone
    files(repo, "z/i")
    (violation,) = wide(run_json(repo, "check"))
    assert "holds 9 entries once this commit is made (up from 7)" in violation["message"]


# -- pushes: the pre-push hook and the server's pre-receive hook -------------------------------


@pytest.fixture
def pushing(repo: Repo, tmp_path: Path) -> Repo:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    repo.git("remote", "add", "origin", f"file://{origin}")
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "d/a", "d/b", "d/c")
    repo.commit("at the limit")
    repo.git("push", "-q", "origin", "main")
    hook = repo.path / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f'#!/bin/sh\n"{sys.executable}" -m repolicy check --push "$@" --format json '
        f'> "{tmp_path / "pre-push.json"}"\n'
    )
    hook.chmod(0o755)
    return repo


def git_push(repo: Repo, *refs: str) -> dict[str, Any]:
    """Push through the hook; the directory warning never blocks it."""
    proc = subprocess.run(
        ["git", "push", "-q", "origin", *refs], cwd=repo.path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads((repo.path.parent / "pre-push.json").read_text())
    return data


def test_a_push_warns_about_the_directories_it_grows_past_the_limit(pushing: Repo) -> None:
    files(pushing, "d/e")
    tip = pushing.commit("a fourth entry")
    (violation,) = wide(git_push(pushing, "main"))
    assert (violation["path"], violation["commit"]) == ("d/", tip)
    assert "(up from 3)" in violation["message"]
    # Already over on the remote: changing a file in it grows nothing.
    pushing.write("d/a", "changed\n")
    pushing.add("d/a")
    pushing.commit("edit")
    assert wide(git_push(pushing, "main")) == []
    # A new branch from main that only edits a file there: still nothing grows.
    pushing.git("checkout", "-q", "-b", "topic")
    pushing.write("d/b", "changed\n")
    pushing.add("d/b")
    pushing.commit("edit on a branch")
    assert wide(git_push(pushing, "topic")) == []
    # One more entry grows it again.
    files(pushing, "d/f")
    pushing.commit("a fifth entry")
    (violation,) = wide(git_push(pushing, "topic"))
    assert "holds 5 entries" in violation["message"] and "(up from 4)" in violation["message"]


def test_entries_added_then_removed_before_the_push_grow_nothing(pushing: Repo) -> None:
    files(pushing, "d/e")
    pushing.commit("a fourth entry")
    pushing.git("rm", "-q", "d/e")
    pushing.commit("and gone again")
    assert wide(git_push(pushing, "main")) == []


def test_a_directory_at_the_limit_whose_tree_could_hold_more_is_counted(pushing: Repo) -> None:
    # Long names make a tree of three entries big enough to hold more: it is
    # read, counted, and not reported; one more entry is.
    long = ["x" * 200 + n for n in "abc"]
    files(pushing, *(f"w/{n}" for n in long))
    pushing.commit("three long names")
    assert wide(git_push(pushing, "main")) == []
    files(pushing, "w/" + "x" * 200 + "d")
    tip = pushing.commit("a fourth long name")
    (violation,) = wide(git_push(pushing, "main"))
    assert (violation["path"], violation["commit"]) == ("w/", tip)
    assert "holds 4 entries" in violation["message"] and "(up from 3)" in violation["message"]


def test_a_tree_written_with_the_shortest_entries_is_still_counted(pushing: Repo) -> None:
    # Git writes modes of five or six digits; a tree another tool wrote may hold
    # one-digit modes (git reads them as submodules). Four entries in 101 bytes:
    # a bound that assumed git's own modes would take it for at most three.
    blob = pushing.git("hash-object", "-w", "--stdin", input=b"file\n").strip()
    commit = pushing.git("rev-parse", "HEAD").strip()
    raw = b"".join(b"1 " + n + b"\0" + bytes.fromhex(commit) for n in (b"p", b"q", b"r"))
    raw += b"100644 s\0" + bytes.fromhex(blob)
    assert len(raw) == 101
    tree = pushing.git(
        "hash-object", "-t", "tree", "-w", "--literally", "--stdin", input=raw
    ).strip()
    root = pushing.git("ls-tree", "HEAD") + f"040000 tree {tree}\tz\n"
    top = pushing.git("mktree", input=root.encode()).strip()
    tip = pushing.git("commit-tree", "-p", "HEAD", "-m", "a tree of short entries", top).strip()
    pushing.git("update-ref", "refs/heads/main", tip)
    (violation,) = wide(git_push(pushing, "main"))
    assert (violation["path"], violation["commit"]) == ("z/", tip)
    assert "holds 4 entries" in violation["message"]


def test_merging_a_history_the_remote_has_grows_the_directory_it_fills(pushing: Repo) -> None:
    # An unrelated history already on the remote, merged in: `git log -c`
    # shows the merge nowhere (each path is as one parent has it), yet the
    # merged tip's directory holds both sides' entries.
    pushing.git("checkout", "-q", "--orphan", "side")
    pushing.git("rm", "-rq", "--cached", ".")
    pushing.git("clean", "-fdq")
    files(pushing, "d/x", "d/y")
    pushing.commit("an unrelated history")
    pushing.git("push", "-q", "--no-verify", "origin", "side")
    pushing.git("checkout", "-q", "main")
    pushing.git("merge", "-q", "--allow-unrelated-histories", "--no-edit", "side")
    tip = pushing.git("rev-parse", "HEAD").strip()
    (violation,) = wide(git_push(pushing, "main"))
    assert (violation["path"], violation["commit"]) == ("d/", tip)
    assert "holds 5 entries" in violation["message"] and "(up from 3)" in violation["message"]


def test_a_push_that_adds_submodules_grows_the_directory_they_land_in(pushing: Repo) -> None:
    # A submodule is an entry of its directory, as audit and the hook count it;
    # the pushed commits write it as a gitlink, not a blob.
    commit = pushing.git("rev-parse", "HEAD").strip()
    for name in ("p", "q"):
        pushing.git("update-index", "--add", "--cacheinfo", f"160000,{commit},d/{name}")
    tip = pushing.commit("two submodules")
    (violation,) = wide(git_push(pushing, "main"))
    assert (violation["path"], violation["commit"]) == ("d/", tip)
    assert "holds 5 entries" in violation["message"] and "(up from 3)" in violation["message"]


def test_the_server_warns_and_accepts_a_push_that_grows_a_directory(
    repo: Repo, tmp_path: Path
) -> None:
    path = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    server = Server(path)
    repo.git("remote", "add", "origin", f"file://{path}")
    policy(repo, "budgets: {directory_entries: 3}\n")
    files(repo, "d/a", "d/b", "d/c")
    repo.commit("at the limit")
    repo.git("push", "-q", "origin", "main")
    server.install()
    files(repo, "d/e")
    tip = repo.commit("a fourth entry")
    proc = server.push(repo, "main")
    assert proc.returncode == 0, proc.stderr
    data = server.last()
    assert data["command"] == "pre-receive"
    (violation,) = wide(data)
    assert (violation["path"], violation["commit"]) == ("d/", tip)
    assert server.git("rev-parse", "main").strip() == tip


def test_range_warns_about_what_the_branch_grows(repo: Repo) -> None:
    policy(repo, "budgets: {directory_entries: 2}\n")
    files(repo, "old/a", "old/b", "old/c", "new/a", "new/b")
    repo.commit("old/ is already wide on main")
    repo.git("checkout", "-q", "-b", "feature")
    files(repo, "new/c", "old/d")
    repo.commit("both grow")
    data = run_json(repo, "check", "--base", "main")
    assert {v["path"] for v in wide(data)} == {"new/", "old/"}


# -- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("3 KB", "2:22: budgets.directory_entries must be a whole number of entries"),
        ("1.5", "2:22: budgets.directory_entries must be a whole number of entries"),
        ("true", "2:22: budgets.directory_entries must be a whole number of entries"),
        ("[3000]", "2:22: budgets.directory_entries must be a whole number of entries"),
        ("0", "2:22: budgets.directory_entries must be at least 1"),
        ("-5", "2:22: budgets.directory_entries must be at least 1"),
    ],
)
def test_a_bad_entry_count_is_reported_at_its_line(repo: Repo, value: str, said: str) -> None:
    repo.write(".repolicy.yaml", f"budgets:\n  directory_entries: {value}\n")
    proc = repo.run("audit")
    assert proc.returncode == 2
    assert f".repolicy.yaml:{said}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_misspelt_key_gets_a_suggestion(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets:\n  directory_entry: 3000\n")
    proc = repo.run("audit")
    assert proc.returncode == 2
    assert ".repolicy.yaml:2:3:" in proc.stderr
    assert "did you mean 'directory_entries'?" in proc.stderr


def test_rule_documents_the_check(repo: Repo, tmp_path: Path) -> None:
    proc = repo.run("rule", "directory-large", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("directory-large  (default severity: warning")
    assert "budgets.directory_entries" in proc.stdout
