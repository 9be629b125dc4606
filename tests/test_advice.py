"""The advice repolicy prints is safe to follow: each printed command runs as
printed (real git, git-lfs and DVC), clears the violation it was printed for,
and rewrites no commit a remote already has unless it says so.

File names hold a space and a leading dash, so a command that forgets to quote
a path or to put `--` before it fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import Repo, Server

ODD_CKPT = "-odd last.ckpt"
ODD_LOG = "-odd train.log"


def alternatives(fix: str) -> list[list[str]]:
    """The commands a fix prints, grouped by alternative (a line starting "or"
    opens the next one). A command is a line, or the part after ": ", that
    starts with `git ` or `dvc `."""
    groups: list[list[str]] = [[]]
    for line in fix.splitlines():
        if line.startswith("or") and groups[-1]:
            groups.append([])
        for tool in ("git ", "dvc "):
            k = line.find(tool)
            if k == 0 or (k > 1 and line[k - 2 : k] == ": "):
                groups[-1].append(line[k:])
                break
    return [g for g in groups if g]


def run_commands(repo: Repo, commands: list[str]) -> None:
    """Run each printed command in a POSIX shell, as a user pasting it would."""
    bin_dir = repo.path.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    dvc = bin_dir / "dvc"
    dvc.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dvc "$@"\n')
    dvc.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        # git filter-branch otherwise pauses 10 s after its general warning.
        "FILTER_BRANCH_SQUELCH_WARNING": "1",
    }
    for command in commands:
        proc = subprocess.run(
            ["sh", "-c", command], cwd=repo.path, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, f"{command!r} failed: {proc.stdout}{proc.stderr}"


def copy(repo: Repo, name: str) -> Repo:
    target = repo.path.parent / name
    shutil.copytree(repo.path, target, symlinks=True)
    return Repo(target)


def as_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def only(data: dict[str, Any], check: str, path: str | None = None) -> dict[str, Any]:
    hits = [v for v in data["violations"] if v["check"] == check and path in (None, v["path"])]
    assert len(hits) == 1, data["violations"]
    return hits[0]


def checks(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    """What was found, less `unpushed` (these repositories have unpushed commits
    on purpose)."""
    return {(v["check"], v["path"]) for v in data["violations"] if v["check"] != "unpushed"}


@pytest.fixture
def pushed(repo: Repo, tmp_path: Path) -> Repo:
    """A repository whose `main` is pushed to a bare `origin` and tracks it."""
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "remote.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\nlfs: ["*.ckpt"]\nbudgets: {file: 4 KiB}\n')
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    for k in range(3):
        repo.write("notes.md", f"note {k}\n")
        repo.add("notes.md")
        repo.commit(f"note {k}")
    repo.git("push", "-q", "-u", "origin", "main")
    return repo


def push_line(repo: Repo) -> bytes:
    head = repo.git("rev-parse", "main").strip()
    theirs = repo.git("rev-parse", "origin/main").strip()
    return f"refs/heads/main {head} refs/heads/main {theirs}\n".encode()


def push_check(repo: Repo) -> dict[str, Any]:
    url = str(repo.path.parent / "remote.git")
    return as_json(
        repo.run("check", "--push", "origin", url, "--format", "json", input=push_line(repo))
    )


def blob_id(repo: Repo, data: bytes) -> str:
    return repo.git("hash-object", "--stdin", input=data).strip()


def assert_unpushed_rewrite(repo: Repo, before: str, blob: str) -> None:
    """The remote's commits are untouched and the blob left the rewritten range."""
    remote = repo.git("rev-parse", "origin/main").strip()
    repo.git("merge-base", "--is-ancestor", remote, "main")
    assert repo.git("rev-parse", "main").strip() != before
    objects = repo.git("rev-list", "--objects", "main", "--not", "origin/main")
    assert blob not in objects.split()


def add_then_delete(repo: Repo, name: str, data: bytes) -> str:
    """Two unpushed commits: one adds `name` raw, the next deletes it."""
    repo.write(name, data)
    repo.write("train.py", "print(2)\n")
    repo.add(name, "train.py")
    repo.commit("add")
    repo.git("rm", "-q", "--", name)
    repo.commit("delete")
    return repo.git("rev-parse", "HEAD").strip()


def test_lfs_advice_for_unpushed_commits_rewrites_only_them(pushed: Repo) -> None:
    data = os.urandom(2000)
    before = add_then_delete(pushed, ODD_CKPT, data)
    fix = only(push_check(pushed), "lfs-missing", ODD_CKPT)["fix"]
    assert "--everything" not in fix and "--exclude-ref=refs/remotes/origin/main" in fix
    [commands] = alternatives(fix)
    run_commands(pushed, commands)
    assert_unpushed_rewrite(pushed, before, blob_id(pushed, data))
    assert checks(push_check(pushed)) == set()


def test_removal_advice_survives_add_modify_delete(pushed: Repo) -> None:
    repo = pushed
    repo.write(ODD_LOG, "epoch 1\n")
    repo.add(ODD_LOG)
    repo.commit("log")
    repo.write(ODD_LOG, "epoch 1\nepoch 2\n")
    repo.write("train.py", "print(3)\n")
    repo.add(ODD_LOG, "train.py")
    repo.commit("more log")
    repo.git("rm", "-q", "--", ODD_LOG)
    repo.commit("drop log")
    before = repo.git("rev-parse", "main").strip()
    violations = [v for v in push_check(repo)["violations"] if v["check"] == "excluded"]
    assert {v["path"] for v in violations} == {ODD_LOG}
    fix = violations[0]["fix"]
    assert "filter-repo" not in fix and "^refs/remotes/origin/main" in fix
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    for data in (b"epoch 1\n", b"epoch 1\nepoch 2\n"):
        assert_unpushed_rewrite(repo, before, blob_id(repo, data))
    assert checks(push_check(repo)) == set()
    assert checks(as_json(repo.run("audit", "--format", "json"))) == set()


def test_one_unpushed_commit_is_amended_and_the_file_stays(pushed: Repo) -> None:
    repo = pushed
    repo.write(ODD_LOG, "epoch 1\n")
    repo.write("train.py", "print(4)\n")
    repo.add(ODD_LOG, "train.py")
    before = repo.commit("train and log")
    fix = only(as_json(repo.run("audit", "--format", "json")), "excluded", ODD_LOG)["fix"]
    [commands] = alternatives(fix)
    assert commands[-1] == "git commit -q --amend --no-edit"
    run_commands(repo, commands)
    assert_unpushed_rewrite(repo, before, blob_id(repo, b"epoch 1\n"))
    assert (repo.path / ODD_LOG).read_text() == "epoch 1\n"
    assert repo.git("show", "main:train.py") == "print(4)\n"
    found = checks(as_json(repo.run("audit", "--format", "json")))
    # Still on disk and not yet ignored: the advice's other half (.gitignore).
    assert found == {("not-ignored", ODD_LOG)}


def test_a_tracked_file_leaves_history_but_not_the_disk(pushed: Repo) -> None:
    repo = pushed
    repo.write(ODD_LOG, "epoch 1\n")
    repo.add(ODD_LOG)
    repo.commit("log only")
    repo.write("train.py", "print(5)\n")
    repo.add("train.py")
    before = repo.commit("train")
    fix = only(push_check(repo), "excluded", ODD_LOG)["fix"]
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    assert_unpushed_rewrite(repo, before, blob_id(repo, b"epoch 1\n"))
    assert (repo.path / ODD_LOG).read_text() == "epoch 1\n"
    # The commit that only added the log is gone; the other keeps its change.
    assert repo.git("log", "--format=%s", "origin/main..main").split("\n")[0] == "train"
    assert checks(push_check(repo)) == set()


def test_file_too_large_both_alternatives_work(pushed: Repo) -> None:
    data = os.urandom(8000)
    before = add_then_delete(pushed, "-big model.bin", data)
    fix = only(push_check(pushed), "file-too-large", "-big model.bin")["fix"]
    store, drop = alternatives(fix)
    for name, commands in (("lfs", store), ("drop", drop)):
        clone = copy(pushed, name)
        run_commands(clone, commands)
        assert_unpushed_rewrite(clone, before, blob_id(clone, data))
        assert checks(push_check(clone)) == set()


def test_pushed_history_is_named_and_force_push_said(pushed: Repo) -> None:
    repo = pushed
    data = os.urandom(2000)
    repo.write(ODD_CKPT, data)
    repo.add(ODD_CKPT)
    repo.commit("raw checkpoint")
    repo.git("push", "-q", "origin", "main")
    fix = only(as_json(repo.run("audit", "--format", "json")), "lfs-missing", ODD_CKPT)["fix"]
    assert "already on origin/main" in fix and "force-push" in fix and "re-clone" in fix
    [commands] = alternatives(fix)
    assert commands[-1] == "git push --force-with-lease origin refs/heads/main:refs/heads/main"
    run_commands(repo, commands)
    blob = blob_id(repo, data)
    assert blob not in repo.git("rev-list", "--objects", "main").split()
    remote = Repo(repo.path.parent / "remote.git")
    assert blob not in remote.git("rev-list", "--objects", "main").split()
    assert ("lfs-missing", ODD_CKPT) not in checks(as_json(repo.run("audit", "--format", "json")))


def test_a_pushed_file_is_removed_with_the_refs_named(pushed: Repo) -> None:
    repo = pushed
    repo.write(ODD_LOG, "epoch 1\n")
    repo.add(ODD_LOG)
    repo.commit("log")
    repo.git("push", "-q", "origin", "main")
    repo.git("rm", "-q", "--cached", "--", ODD_LOG)
    repo.commit("untrack the log")
    fix = only(as_json(repo.run("audit", "--format", "json")), "excluded", ODD_LOG)["fix"]
    assert "already on origin/main" in fix and "force-push" in fix
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    remote = Repo(repo.path.parent / "remote.git")
    blob = blob_id(repo, b"epoch 1\n")
    assert blob not in remote.git("rev-list", "--objects", "main").split()
    assert (repo.path / ODD_LOG).read_text() == "epoch 1\n"


def test_a_new_branch_is_bounded_by_what_the_remote_has(pushed: Repo) -> None:
    repo = pushed
    repo.git("checkout", "-q", "-b", "exp")
    data = os.urandom(2000)
    before = add_then_delete(repo, ODD_CKPT, data)
    line = f"refs/heads/exp {before} refs/heads/exp {'0' * 40}\n".encode()
    url = str(repo.path.parent / "remote.git")
    proc = repo.run("check", "--push", "origin", url, "--format", "json", input=line)
    fix = only(as_json(proc), "lfs-missing", ODD_CKPT)["fix"]
    assert "--include-ref=refs/heads/exp --exclude-ref=refs/remotes/origin/main" in fix
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    repo.git("merge-base", "--is-ancestor", "origin/main", "exp")
    assert blob_id(repo, data) not in repo.git("rev-list", "--objects", "exp", "^origin/main")
    assert repo.git("rev-parse", "main").strip() == repo.git("rev-parse", "origin/main").strip()


def test_every_published_commit_is_named_by_every_branch_that_has_it(
    pushed: Repo, tmp_path: Path
) -> None:
    """Past the first few offending commits, the advice is worked out for all of
    them at once: it must name the same refs as for the first ones. A clone's
    symbolic `origin/HEAD` is no branch a rewrite would publish to."""
    repo = pushed
    for k in range(12):  # more commits than are asked about one at a time
        repo.write(f"run{k:02}.ckpt", os.urandom(2000))
        repo.add(f"run{k:02}.ckpt")
        repo.commit(f"checkpoint {k}")
    repo.git("push", "-q", "origin", "main", "main:refs/heads/archive")
    clone = Repo(tmp_path / "clone")
    repo.git("clone", "-q", str(tmp_path / "remote.git"), str(clone.path))
    assert "origin/HEAD" in clone.git("branch", "-r")
    found = as_json(clone.run("audit", "--format", "json"))["violations"]
    fixes = [v["fix"] for v in found if v["check"] == "lfs-missing"]
    assert len(fixes) == 12
    for fix in fixes:
        assert "this commit is already on origin/archive, origin/main:" in fix, fix
        assert "--include-ref=refs/heads/main" in fix, fix


def test_a_remote_ref_naming_a_tag_of_a_tag_publishes_every_commit_it_reaches(
    pushed: Repo,
) -> None:
    """A remote-tracking ref may name a tag of a tag of a commit (a fetch of tags
    into refs/remotes). `git for-each-ref --contains` peels every tag: the
    commits past the first few, placed all at once, are published too, and no
    rewrite of them is advised as if no remote had them."""
    repo = pushed
    for k in range(12):  # more commits than are asked about one at a time
        repo.write(f"run{k:02}.ckpt", os.urandom(2000))
        repo.add(f"run{k:02}.ckpt")
        repo.commit(f"checkpoint {k}")
    repo.git("tag", "-a", "-m", "inner", "inner", "main")
    repo.git("tag", "-a", "-m", "outer", "outer", "inner")
    repo.git("update-ref", "refs/remotes/backup/main", repo.git("rev-parse", "outer").strip())
    contains = repo.git("for-each-ref", "--contains", "main~11", "refs/remotes/backup")
    assert "refs/remotes/backup/main" in contains
    found = as_json(repo.run("audit", "--format", "json"))["violations"]
    fixes = [v["fix"] for v in found if v["check"] == "lfs-missing"]
    assert len(fixes) == 12
    for fix in fixes:
        assert "this commit is already on backup/main:" in fix, fix


def test_a_blob_a_pushed_commit_wrote_too_is_published_advice(
    pushed: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A branch no remote has wrote the very blob that a pushed commit wrote at the
    same path: rewriting the branch alone would leave it in published history."""
    repo = pushed
    data = os.urandom(2000)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2030-01-01T00:00:10Z")
    repo.write("model.ckpt", data)
    repo.add("model.ckpt")
    theirs = repo.commit("a checkpoint on main")
    repo.git("push", "-q", "origin", "main")
    # Older, so the audit's walk (parents first, then by date) meets it first.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2030-01-01T00:00:05Z")
    repo.git("checkout", "-q", "-b", "work", "HEAD~1")
    repo.write("model.ckpt", data)
    repo.add("model.ckpt")
    mine = repo.commit("the same checkpoint on work")
    walk = repo.git("log", "--reverse", "--topo-order", "--branches", "--format=%H").split()
    assert walk.index(mine) < walk.index(theirs)
    violation = only(as_json(repo.run("audit", "--format", "json")), "lfs-missing")
    assert violation["commit"] == mine
    assert "already published" in violation["fix"], violation["fix"]
    assert "--exclude-ref" not in violation["fix"], violation["fix"]


def test_a_force_added_file_gets_only_git_rm_cached(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.write(".gitignore", "*.log\n")
    repo.add(".repolicy.yaml", ".gitignore")
    repo.commit("start")
    repo.write(ODD_LOG, "x\n")
    repo.add(ODD_LOG)  # git add -f
    fix = only(as_json(repo.run("check", "--format", "json")), "excluded", ODD_LOG)["fix"]
    assert "already ignores it" in fix and "add this line" not in fix
    assert alternatives(fix) == [["git rm --cached -- '-odd train.log'"]]
    run_commands(repo, alternatives(fix)[0])
    assert checks(as_json(repo.run("check", "--format", "json"))) == set()


@pytest.mark.parametrize("name", [":!x.log", ":(top)x.log", "*.log", "[ab].log", "a?log"])
def test_removal_advice_takes_out_that_one_file_whatever_its_name(repo: Repo, name: str) -> None:
    # Git reads the paths of `git rm` as patterns, and a leading ':' as magic:
    # `git rm --cached -- '*.log'` would untrack every .log file, and ':!x.log'
    # every file but x.log. Each `git rm` printed must take out `name` alone.
    repo.write(".repolicy.yaml", 'exclude: ["*.log", "a?log"]\ninclude: [a.log, b.log]\n')
    for kept in ("a.log", "b.log", "train.py"):
        repo.write(kept, "kept\n")
    repo.add(".repolicy.yaml", "a.log", "b.log", "train.py")
    repo.commit("start")
    kept = repo.git("ls-files").splitlines()
    repo.write(name, "x\n")
    repo.git("add", "-f", "--", f":(literal){name}")

    # Staged: `check` says to unstage it.
    staged = only(as_json(repo.run("check", "--format", "json")), "excluded", name)["fix"]
    unstaged = copy(repo, "unstaged")
    run_commands(unstaged, alternatives(staged)[0])
    assert unstaged.git("ls-files").splitlines() == kept
    assert checks(as_json(unstaged.run("check", "--format", "json"))) == set()

    # Committed, not pushed: `audit` says to amend the commit without it.
    repo.write("train.py", "changed\n")
    repo.add("train.py")
    repo.commit("with it")
    fix = only(as_json(repo.run("audit", "--format", "json")), "excluded", name)["fix"]
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    assert repo.git("ls-tree", "-r", "--name-only", "HEAD").splitlines() == kept
    assert repo.git("show", "HEAD:train.py") == "changed\n"
    assert (repo.path / name).read_text() == "x\n"  # still on disk


def test_a_file_not_yet_ignored_gets_the_line_too(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.add(".repolicy.yaml")
    repo.commit("start")
    repo.write(ODD_LOG, "x\n")
    repo.add(ODD_LOG)
    fix = only(as_json(repo.run("check", "--format", "json")), "excluded", ODD_LOG)["fix"]
    assert fix.endswith("add this line to .gitignore (or run `repolicy fix`): *.log")


def budget_push(repo: Repo, limit: str) -> dict[str, Any]:
    repo.write(".repolicy.yaml", f"budgets: {{repo: {limit}}}\n")
    repo.write("weights.bin", os.urandom(600 * 1024))
    repo.add(".repolicy.yaml", "weights.bin")
    repo.commit("weights")
    return push_check(repo)


def test_a_failing_push_budget_reads_as_what_the_remote_would_hold(pushed: Repo) -> None:
    data = budget_push(pushed, "500 KiB")
    error = only(data, "repo-budget")
    repo_budget = data["budgets"]["repo"]
    # `used` is what the remote would hold afterwards (the figure the error
    # judges), `added` the push's share of it.
    held = pushed.git("rev-list", "--objects", "--disk-usage", "main", "origin/main")
    assert repo_budget["used"] == int(held) > 500 * 1024
    assert 600 * 1024 <= repo_budget["added"] < repo_budget["used"]
    assert "at_most" not in repo_budget
    url = str(pushed.path.parent / "remote.git")
    text = pushed.run("check", "--push", "origin", url, input=push_line(pushed)).stdout
    (line,) = [ln for ln in text.splitlines() if ln.startswith("budget repo:")]
    assert line.startswith("budget repo: after this push the remote would hold ")
    # Every figure carries its exact byte count beside the rounded one.
    held_exact = f"({repo_budget['used']:,} bytes)"
    assert f"{held_exact}, over the limit of 500.0 KiB (512,000 bytes); this push adds " in line
    assert line.endswith(f"({repo_budget['added']:,} bytes)")
    figure = " ".join(line.split()[9:13]).rstrip(",")  # e.g. "601.7 KiB (616,171 bytes)"
    assert figure.endswith(held_exact)
    assert error["message"].startswith(f"after this push the remote would hold {figure}, over")


def test_a_passing_push_budget_gives_an_upper_bound_and_the_share(pushed: Repo) -> None:
    data = budget_push(pushed, "1 GiB")
    repo_budget = data["budgets"]["repo"]
    assert data["violations"] == []
    assert repo_budget["at_most"] is True
    assert repo_budget["used"] >= repo_budget["added"] >= 600 * 1024
    text = pushed.run("check", "--push", "origin", "x", input=push_line(pushed)).stdout
    assert "the remote would hold at most" in text and "over the limit" not in text
    assert "within the limit of 1.0 GiB (1,073,741,824 bytes)" in text


def test_a_push_of_head_is_scoped_to_the_branch_it_is_on(pushed: Repo) -> None:
    # `git push origin HEAD:main` gives the hook `HEAD` as the local ref.
    head = add_then_delete(pushed, ODD_CKPT, os.urandom(2000))
    theirs = pushed.git("rev-parse", "origin/main").strip()
    line = f"HEAD {head} refs/heads/main {theirs}\n".encode()
    proc = pushed.run("check", "--push", "origin", "x", "--format", "json", input=line)
    fix = only(as_json(proc), "lfs-missing", ODD_CKPT)["fix"]
    assert "--include-ref=refs/heads/main --exclude-ref=refs/remotes/origin/main" in fix


STAGED = {
    # name: (policy, path, attributes, check)
    "lfs-missing": ('lfs: ["*.ckpt"]\n', ODD_CKPT, None, "lfs-missing"),
    "lfs-missing-filtered": (
        'lfs: ["*.ckpt"]\n',
        ODD_CKPT,
        "*.ckpt filter=lfs diff=lfs merge=lfs -text\n",
        "lfs-missing",
    ),
    "lfs-attr-missing": ('lfs: ["*.ckpt"]\n', ODD_CKPT, None, "lfs-attr-missing"),
    "file-too-large": ("budgets: {file: 1 KiB}\n", "-big model.bin", None, "file-too-large"),
    # Names git would read as a pattern or as pathspec magic.
    "lfs-missing-pattern-name": ('lfs: ["*.ckpt"]\n', "[ab] *.ckpt", None, "lfs-missing"),
    "file-too-large-magic-name": ("budgets: {file: 1 KiB}\n", ":!x.bin", None, "file-too-large"),
}


@pytest.mark.parametrize("name", sorted(STAGED))
def test_staged_advice_runs_and_clears_the_check(repo: Repo, name: str) -> None:
    policy, path, attributes, check = STAGED[name]
    repo.write(".repolicy.yaml", policy)
    if attributes:
        repo.write(".gitattributes", attributes)
        repo.add(".gitattributes")
    repo.add(".repolicy.yaml")
    repo.commit("start")
    repo.write(path, os.urandom(3000))
    # Staged the way a machine without `git lfs install` stages it: raw.
    repo.add(f":(literal){path}")
    fix = only(as_json(repo.run("check", "--format", "json")), check, path)["fix"]
    for k, commands in enumerate(alternatives(fix)):
        clone = copy(repo, f"{name}-{k}")
        run_commands(clone, commands)
        after = as_json(clone.run("check", "--format", "json"))
        assert (check, path) not in checks(after), (commands, after["violations"])
        assert clone.git("ls-files", "--", f":(literal){path}").strip() in ("", path)


def test_a_broken_pointer_is_replaced_once_the_real_file_is_back(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'lfs: ["*.ckpt"]\n')
    repo.write(".gitattributes", "*.ckpt filter=lfs diff=lfs merge=lfs -text\n")
    repo.add(".repolicy.yaml", ".gitattributes")
    repo.commit("start")
    # A pointer an editor saved with CRLF endings, staged without git-lfs.
    pointer = "version https://git-lfs.github.com/spec/v1\r\noid sha256:" + "a" * 64
    repo.write(ODD_CKPT, pointer + "\r\nsize 12\r\n")
    repo.add(ODD_CKPT)
    fix = only(as_json(repo.run("check", "--format", "json")), "lfs-pointer-invalid")["fix"]
    assert fix.startswith("restore the real file")
    repo.write(ODD_CKPT, os.urandom(3000))  # the restore the advice asks for
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    assert checks(as_json(repo.run("check", "--format", "json"))) == set()


def test_repo_budget_advice_brings_the_push_under_the_budget(pushed: Repo) -> None:
    data = budget_push(pushed, "500 KiB")
    fix = only(data, "repo-budget")["fix"]
    assert "filter-repo" not in fix and "largest file this push sends is weights.bin" in fix
    [commands] = alternatives(fix)
    assert commands == [
        "git lfs migrate import --include='*.bin' --include-ref=refs/heads/main "
        "--exclude-ref=refs/remotes/origin/main"
    ]
    run_commands(pushed, commands)
    pushed.git("merge-base", "--is-ancestor", "origin/main", "main")
    assert checks(push_check(pushed)) == set()


def test_repo_budget_advice_of_audit_rewrites_everything_and_says_so(pushed: Repo) -> None:
    budget_push(pushed, "500 KiB")
    pushed.git("push", "-q", "origin", "main")
    fix = only(as_json(pushed.run("audit", "--format", "json")), "repo-budget")["fix"]
    assert "force-push" in fix and "filter-repo" not in fix
    [commands] = alternatives(fix)
    assert commands == ["git lfs migrate import --include='*.bin' --everything"]
    run_commands(pushed, commands)
    assert ("repo-budget", None) not in checks(as_json(pushed.run("audit", "--format", "json")))


def test_a_missing_lfs_object_is_fetched_as_advised(tmp_path: Path) -> None:
    # One machine pushes a checkpoint through git-lfs; a clone that skipped the
    # LFS download pushes the same commit to a second remote.
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"}
    subprocess.run(["git", "lfs", "install"], check=True, capture_output=True)
    for name in ("first.git", "second.git"):
        subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / name)], check=True)
    author = Repo(tmp_path / "author")
    author.path.mkdir()
    author.git("init", "-q")
    author.git("remote", "add", "origin", str(tmp_path / "first.git"))
    author.git("lfs", "track", "*.ckpt")
    author.write(ODD_CKPT, os.urandom(3000))
    author.add(".gitattributes", ODD_CKPT)
    author.commit("checkpoint")
    author.git("push", "-q", "origin", "main")
    subprocess.run(
        ["git", "clone", "-q", str(tmp_path / "first.git"), str(tmp_path / "clone")],
        check=True,
        env=env,
    )
    clone = Repo(tmp_path / "clone")
    clone.git("remote", "add", "mirror", str(tmp_path / "second.git"))
    line = f"refs/heads/main {clone.git('rev-parse', 'main').strip()} refs/heads/main {'0' * 40}\n"
    url = str(tmp_path / "second.git")

    def push_check_mirror() -> dict[str, Any]:
        proc = clone.run("check", "--push", "mirror", url, "--format", "json", input=line.encode())
        return as_json(proc)

    fix = only(push_check_mirror(), "lfs-object-missing", ODD_CKPT)["fix"]
    fetch, _restore = alternatives(fix)
    run_commands(clone, fetch)
    assert checks(push_check_mirror()) == set()


def test_a_rejected_push_is_fixed_by_the_servers_advice(pushed: Repo) -> None:
    # The server's hook rejects the push; its advice rewrites only what the
    # server lacks, and the push that follows is accepted.
    server = Server(pushed.path.parent / "remote.git")
    policy = server.path / "policy.yaml"
    policy.write_text('exclude: ["*.log"]\nbudgets: {file: 4 KiB}\n')
    server.install("--policy", str(policy))
    data = os.urandom(8000)
    add_then_delete(pushed, "-big model.bin", data)
    pushed.write(ODD_LOG, "epoch 1\n")
    pushed.add(ODD_LOG)
    pushed.commit("log")
    pushed.write("train.py", "print(9)\n")
    pushed.add("train.py")
    pushed.commit("train")
    assert pushed.git("push", "-q", "origin", "main", check=False) == ""
    assert pushed.git("rev-parse", "origin/main") != pushed.git("rev-parse", "main")
    found = server.last()
    fixes = {v["check"]: v["fix"] for v in found["violations"]}
    assert set(fixes) == {"file-too-large", "excluded"}
    for fix in fixes.values():
        assert "force-push" not in fix and "--everything" not in fix
        assert "--exclude-ref=refs/remotes" not in fix  # the server names what it has by id
    store, _drop = alternatives(fixes["file-too-large"])
    [remove] = alternatives(fixes["excluded"])
    # The server cannot see the pusher's work tree: it says what the rewrite may delete.
    assert "copy it aside first" in fixes["excluded"]
    run_commands(pushed, [*store, *remove])
    pushed.git("push", "-q", "origin", "main")
    assert server.last()["violations"] == []


def _branches_and_commits(repo: Repo) -> list[str]:
    """`pushed`, with a local branch no remote has: commits on main alone, on
    main and origin, and on the branch alone."""
    repo.git("branch", "side")
    for branch in ("side", "main"):
        repo.git("checkout", "-q", branch)
        repo.write(f"{branch}.md", f"only on {branch}\n")
        repo.add(f"{branch}.md")
        repo.commit(f"only on {branch}")
    return repo.git("rev-list", "--branches", "--remotes").split()


def _audit_scope(git: Any) -> Any:
    """The scope an audit makes: with the walk's entries (any will do here), so
    that commits are placed all at once, as `read_ahead` prepares."""
    from repolicy.advice import HistoryScope

    return HistoryScope(git, entries=[object()])


def test_refs_read_ahead_place_every_commit_as_asking_later_does(pushed: Repo) -> None:
    from repolicy.git import Git

    commits = _branches_and_commits(pushed)
    git = Git(str(pushed.path))
    ahead = _audit_scope(git)
    ahead.read_ahead()
    answers = [ahead.containing(c) for c in commits]
    assert answers == [_audit_scope(git).containing(c) for c in commits]
    # Each kind of commit is placed: on a remote and main, on main alone, on side alone.
    assert (("refs/remotes/origin/main",), ("refs/heads/main", "refs/heads/side")) in answers
    assert ((), ("refs/heads/main",)) in answers
    assert ((), ("refs/heads/side",)) in answers


def test_a_read_ahead_that_failed_is_asked_again_not_kept(
    pushed: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repolicy.errors import GitError
    from repolicy.git import Git

    commits = _branches_and_commits(pushed)
    git = Git(str(pushed.path))
    real = git.ancestry
    calls: list[int] = []

    def fails_once(tips: Any) -> list[list[str]]:
        calls.append(1)
        if len(calls) == 1:
            raise GitError(("git", "rev-list"), 128, "fatal: the walk went away")
        return real(tips)

    monkeypatch.setattr(git, "ancestry", fails_once)
    ahead = _audit_scope(git)
    ahead.read_ahead()
    answers = [ahead.containing(c) for c in commits]
    assert len(calls) == 2
    assert answers == [_audit_scope(Git(str(pushed.path))).containing(c) for c in commits]


def test_content_a_remote_ref_or_a_tag_names_is_removed_with_the_ref(repo: Repo) -> None:
    # Neither file is in any commit or in the index: `git rm --cached` and an
    # LFS migration could not reach them; deleting the ref does. The names
    # hold what a shell would read otherwise.
    repo.write(".repolicy.yaml", "budgets: {file: 10 KiB}\n")
    repo.add(".repolicy.yaml")
    repo.commit("start")
    data = os.urandom(20_000)
    blob = repo.git("hash-object", "-w", "--stdin", input=data).strip()
    tree = repo.git("mktree", input=f"100644 blob {blob}\tmodel.bin\n".encode()).strip()
    name = "refs/remotes/origin/$(touch${IFS}pwned);`touch${IFS}pwned`&x"
    repo.git("update-ref", name, blob)
    repo.git("tag", "it's-a-tree", tree)
    proc = repo.run("audit", "--format", "json")
    violations = as_json(proc)["violations"]
    assert {(v["check"], v["path"]) for v in violations} == {
        ("file-too-large", name),
        ("file-too-large", "model.bin"),
    }
    for v in violations:
        (commands,) = alternatives(v["fix"])
        assert commands[0].startswith("git update-ref -d ")
        run_commands(repo, commands)
    assert not (repo.path / "pwned").exists()
    after = repo.run("audit", "--format", "json")
    assert after.returncode == 0 and as_json(after)["violations"] == []


def test_a_repository_budget_a_ref_fills_is_met_by_deleting_the_ref(repo: Repo) -> None:
    # The weight is a file only a tag names: migrating the files of history
    # to LFS (the 40-byte policy and a note) would rewrite every branch and
    # leave the weight where it is. Deleting the tag meets the budget.
    repo.write(".repolicy.yaml", "budgets: {repo: 100 KiB}\n")
    repo.write("notes.txt", "small\n")
    repo.add(".repolicy.yaml", "notes.txt")
    repo.commit("start")
    blob = repo.git("hash-object", "-w", "--stdin", input=os.urandom(300_000)).strip()
    tree = repo.git("mktree", input=f"100644 blob {blob}\tweights.bin\n".encode()).strip()
    repo.git("tag", "$(touch${IFS}pwned);x", tree)
    violation = only(as_json(repo.run("audit", "--format", "json")), "repo-budget")
    assert "weights.bin" in violation["fix"] and "lfs migrate" not in violation["fix"]
    (commands,) = alternatives(violation["fix"])
    assert commands[0].startswith("git update-ref -d ")
    run_commands(repo, commands)
    assert not (repo.path / "pwned").exists()
    after = repo.run("audit", "--format", "json")
    assert after.returncode == 0 and as_json(after)["violations"] == []


def test_a_repository_budget_history_fills_keeps_its_migration_advice(repo: Repo) -> None:
    # A tag names a file too, but the commits' own is the larger: the advice
    # is the migration it was, the ref not named.
    repo.write(".repolicy.yaml", "budgets: {repo: 100 KiB}\n")
    repo.add(".repolicy.yaml")
    (repo.path / "model.pt").write_bytes(os.urandom(300_000))
    repo.add("model.pt")
    repo.commit("a model")
    blob = repo.git("hash-object", "-w", "--stdin", input=os.urandom(20_000)).strip()
    repo.git("tag", "small-blob", blob)
    violation = only(as_json(repo.run("audit", "--format", "json")), "repo-budget")
    assert "model.pt" in violation["fix"] and "lfs migrate import" in violation["fix"]
    assert "update-ref" not in violation["fix"]


def test_a_repository_budget_no_file_fills_gets_no_migration_advice(
    repo: Repo, tmp_path: Path
) -> None:
    # A tag message of 300 KB weighs; the files of history are a few bytes. No
    # LFS migration lifts that, and rewriting every branch would be for nothing.
    repo.write(".repolicy.yaml", "budgets: {repo: 100 KiB}\n")
    repo.add(".repolicy.yaml")
    repo.commit("start")
    message = tmp_path / "message.txt"
    message.write_bytes(os.urandom(150_000).hex().encode())
    repo.git("tag", "-a", "-F", str(message), "release")
    violation = only(as_json(repo.run("audit", "--format", "json")), "repo-budget")
    assert "commits, trees and tags take the rest" in violation["fix"]
    assert alternatives(violation["fix"]) == []


def test_a_repository_budget_many_small_files_fill_keeps_its_migration_advice(
    repo: Repo,
) -> None:
    # No one file weighs, yet the files together do: moving them to LFS lifts
    # the figure, and the advice says so; it does not blame commits and trees.
    repo.write(".repolicy.yaml", "budgets: {repo: 100 KiB}\n")
    repo.add(".repolicy.yaml")
    for k in range(250):
        (repo.path / f"img_{k:03}.png").write_bytes(os.urandom(800))
    repo.add(".")
    repo.commit("a dataset of small images")
    violation = only(as_json(repo.run("audit", "--format", "json")), "repo-budget")
    assert "commits, trees and tags" not in violation["fix"]
    assert "git lfs migrate import --include='*.png'" in violation["fix"]


def test_a_link_whose_blob_is_over_the_budget_is_reported_and_dropped(repo: Repo) -> None:
    # A symbolic link's blob names its target; only crafted by hand is it
    # large, and then it is stored and pushed like any blob. Git LFS stores no
    # links: the advice is to drop it, at the index and in history.
    repo.write(".repolicy.yaml", "budgets: {file: 1 KiB}\n")
    repo.add(".repolicy.yaml")
    repo.commit("start")
    oid = repo.git("hash-object", "-w", "--stdin", input=b"t" * 5000).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"120000,{oid},-odd link")
    proc = repo.run("check", "--format", "json")
    (violation,) = as_json(proc)["violations"]
    assert (violation["check"], violation["path"]) == ("file-too-large", "-odd link")
    (commands,) = alternatives(violation["fix"])
    run_commands(repo, commands)
    assert repo.run("check").returncode == 0

    repo.git("update-index", "--add", "--cacheinfo", f"120000,{oid},-odd link")
    repo.commit("a crafted link")
    proc = repo.run("audit", "--format", "json")
    (violation,) = as_json(proc)["violations"]
    assert (violation["check"], violation["path"]) == ("file-too-large", "-odd link")
    (commands,) = alternatives(violation["fix"])
    run_commands(repo, commands)
    after = repo.run("audit", "--format", "json")
    assert after.returncode == 0, after.stdout
