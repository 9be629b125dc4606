"""`repolicy check --pre-receive`: a server's hook, through real pushes over file://."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo, Server

POLICY = 'exclude: ["*.log"]\nbudgets: {file: 1 MiB}\n'


@pytest.fixture
def work(repo: Repo, server: Server) -> Repo:
    """A clone-like work repository whose first push (with the policy) is accepted."""
    server.connect(repo)
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    server.install()
    return repo


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def test_a_clean_push_is_accepted(work: Repo, server: Server) -> None:
    work.write("model.py", "x = 1\n")
    work.add("model.py")
    head = work.commit("model")
    assert server.push(work, "main").returncode == 0
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
    proc = server.push(work, "main")
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
    proc = server.push(work, "main", "exp", "v1", ":old")
    assert proc.returncode != 0
    assert found(server.last()) == {("file-too-large", "big.bin")}
    assert server.git("branch", "--list", "old").strip() == "old"  # all or nothing
    proc = server.push(work, "main", ":old")
    assert proc.returncode == 0, proc.stderr
    assert server.git("branch", "--list", "old").strip() == ""


def test_a_push_cannot_loosen_its_own_policy(work: Repo, server: Server) -> None:
    work.write(".repolicy.yaml", "exclude: []\n")
    work.write("debug.log", "x")
    work.add(".repolicy.yaml", "debug.log")
    work.commit("no more rules")
    assert server.push(work, "main").returncode != 0
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
    assert server.push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "README.md")}
    assert server.last()["policy"] == str(strict)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("exclude: []\n")
    server.install("--policy", str(lenient))
    assert server.push(work, "main").returncode == 0


def test_a_policy_extending_a_file_of_its_branch(work: Repo, server: Server) -> None:
    work.write("policy/base.yaml", 'exclude: ["*.tmp"]\n')
    work.write(".repolicy.yaml", "extends: [policy/base.yaml]\n" + POLICY)
    work.add("policy/base.yaml", ".repolicy.yaml")
    work.commit("shared rules")
    assert server.push(work, "main").returncode == 0
    work.write("scratch.tmp", "x")
    work.add("scratch.tmp")
    work.commit("tmp")
    assert server.push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "scratch.tmp")}


def test_an_empty_server_judges_the_first_push_by_the_default_preset(
    repo: Repo, server: Server
) -> None:
    server.install()
    server.connect(repo)
    repo.write("w.bin", b"\0" * (101 * 1024 * 1024 // 64))  # small: passes
    repo.add("w.bin")
    repo.commit("first")
    assert server.push(repo, "main").returncode == 0
    assert server.last()["policy"] == "preset:default"
    assert "the repository is empty" in server.last()["notes"][0]


def test_the_servers_baseline_accepts_old_commits_but_not_new_ones(
    repo: Repo, server: Server
) -> None:
    server.connect(repo)
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
    assert server.push(repo, "legacy").returncode == 0
    assert server.last()["baseline"]["accepted"] == 1
    repo.git("checkout", "-q", "legacy")
    repo.write("new.log", "today\n")
    repo.add("new.log")
    repo.commit("a new mistake")
    assert server.push(repo, "legacy").returncode != 0
    assert found(server.last()) == {("excluded", "new.log")}


# -- nothing the push brings is trusted -----------------------------------------


def commit_log(work: Repo, name: str = "debug.log") -> str:
    work.write(name, "x\n")
    work.add(name)
    return work.commit(f"add {name}")


def test_a_replace_ref_is_refused_and_cannot_disguise_a_commit(work: Repo, server: Server) -> None:
    work.write("clean.py", "ok = 1\n")
    work.add("clean.py")
    clean = work.commit("clean")
    assert server.push(work, "main").returncode == 0
    bad = commit_log(work)
    work.git("replace", bad, clean)
    proc = server.push(work, f"refs/replace/{bad}")
    assert proc.returncode != 0
    assert f"refusing refs/replace/{bad}" in proc.stderr
    assert server.git("for-each-ref", "refs/replace").strip() == ""
    # One already on the server (its admin's, or from before the hook) makes git
    # read `bad` as `clean`; the hook still judges the commit that is pushed.
    server.git("update-ref", f"refs/replace/{bad}", clean)
    work.git("replace", "-d", bad)
    proc = server.push(work, "main")
    assert proc.returncode != 0
    assert found(server.last()) == {("excluded", "debug.log")}


FROZEN = 'frozen: ["datasets/*/v*/**"]\n'


@pytest.fixture
def released(work: Repo, server: Server) -> Repo:
    """The server holds datasets/a/v1/ under a policy that freezes it."""
    work.write(".repolicy.yaml", POLICY + FROZEN)
    work.write("datasets/a/v1/labels.json", "[1]\n")
    work.add(".repolicy.yaml", "datasets/a/v1/labels.json")
    work.commit("release v1")
    assert server.push(work, "main").returncode == 0
    return work


def test_escapes_on_the_server_are_the_servers_to_grant(released: Repo, server: Server) -> None:
    work = released
    work.write("datasets/a/v1/labels.json", "[2]\n")
    work.add("datasets/a/v1/labels.json")
    work.git("commit", "-q", "-m", "relabel\n\nRepolicy-Allow-Frozen: **")
    # The pusher's trailer and environment: neither lifts the server's gate.
    proc = server.push(work, "main", env={"REPOLICY_ALLOW_FROZEN": "**"})
    assert proc.returncode != 0
    assert found(server.last()) == {("frozen-modified", "datasets/a/v1/labels.json")}
    # Nor a config file the pusher's environment names.
    mine = work.path.parent / "mine.gitconfig"
    mine.write_text("[repolicy]\n\tallowEscapes = true\n")
    assert server.push(work, "main", env={"GIT_CONFIG_GLOBAL": str(mine)}).returncode != 0
    server.git("config", "repolicy.allowEscapes", "true")
    assert server.push(work, "main").returncode == 0
    # Enabled escapes are the trailers of the commits; the environment never.
    work.write("datasets/a/v1/labels.json", "[3]\n")
    work.add("datasets/a/v1/labels.json")
    work.commit("relabel again, no trailer")
    assert server.push(work, "main", env={"REPOLICY_ALLOW_FROZEN": "**"}).returncode != 0


def test_a_pushers_output_encoding_gets_the_report_with_names_escaped(
    work: Repo, server: Server
) -> None:
    server.install(format="text")
    work.write("é.log", "x\n")
    work.add("é.log")
    work.commit("log")
    # The pusher's environment reaches the hook over file://: its output
    # encoding cannot spell the name, which the report escapes.
    proc = server.push(work, "main", env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode != 0
    assert "internal error" not in proc.stderr, proc.stderr
    report = server.report.read_bytes().decode("ascii")
    assert "\\xe9.log: error [excluded]" in report
    assert "repolicy pre-receive: 1 error" in report
    # JSON keeps its own escapes, so the document stays valid.
    server.install(format="json")
    proc = server.push(work, "main", env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode != 0 and "internal error" not in proc.stderr, proc.stderr
    assert "\\u00e9.log" in server.report.read_bytes().decode("ascii")
    assert found(server.last()) == {("excluded", "é.log")}


def closed_output_hook(server: Server) -> None:
    """A pre-receive hook that closes its standard output: the report has nowhere
    to go, an internal error of the hook (which rejects the push)."""
    hook = server.path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec >&-\n{sys.executable} -m repolicy check --pre-receive\n")
    hook.chmod(0o755)


def test_tracebacks_on_the_server_are_the_servers_to_turn_on(work: Repo, server: Server) -> None:
    closed_output_hook(server)
    commit_log(work)
    proc = server.push(work, "main", env={"REPOLICY_DEBUG": "1"})
    assert proc.returncode != 0
    assert "repolicy: internal error: AttributeError" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nor a config file the pusher's environment names.
    mine = work.path.parent / "mine.gitconfig"
    mine.write_text("[repolicy]\n\tdebug = true\n")
    proc = server.push(work, "main", env={"GIT_CONFIG_GLOBAL": str(mine)})
    assert "repolicy: internal error" in proc.stderr and "Traceback" not in proc.stderr
    server.git("config", "--local", "repolicy.debug", "true")
    proc = server.push(work, "main")
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "repolicy: internal error: AttributeError" in proc.stderr


def test_the_servers_internal_error_names_the_switch_that_works_there(
    work: Repo, server: Server
) -> None:
    closed_output_hook(server)
    commit_log(work)
    proc = server.push(work, "main")
    assert proc.returncode != 0
    assert (
        "run `git config --local repolicy.debug true` in the server's repository "
        "to see the traceback" in proc.stderr
    )
    assert "REPOLICY_DEBUG" not in proc.stderr  # which the server ignores
    # On the pusher's own machine, the same error names the variable.
    local = subprocess.run(
        ["sh", "-c", f"exec >&-; {sys.executable} -m repolicy check"],
        cwd=work.path,
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    assert local.returncode == 2
    assert "(set REPOLICY_DEBUG=1 to see the traceback, and please report it)" in local.stderr


def test_an_unborn_head_on_the_server_refuses_pushes_until_configured(
    work: Repo, server: Server, tmp_path: Path
) -> None:
    server.git("symbolic-ref", "HEAD", "refs/heads/master")
    commit_log(work)
    proc = server.push(work, "main")
    assert proc.returncode != 0
    assert "HEAD names refs/heads/master, which does not exist" in proc.stderr
    assert "git symbolic-ref HEAD refs/heads/main" in proc.stderr
    assert "git config repolicy.policy PATH" in proc.stderr
    assert not server.report.read_text()  # nothing judged, nothing said clear
    policy = tmp_path / "server-policy.yaml"
    policy.write_text(POLICY)
    server.git("config", "repolicy.policy", str(policy))
    assert server.push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "debug.log")}


def test_the_branch_holding_the_servers_policy_cannot_be_deleted(
    work: Repo, server: Server, tmp_path: Path
) -> None:
    server.git("config", "receive.denyDeleteCurrent", "false")  # git's own guard, off
    work.git("push", "-q", "origin", "main:other")
    proc = server.push(work, ":main")
    assert proc.returncode != 0
    assert "refusing to delete refs/heads/main" in proc.stderr
    assert server.git("rev-parse", "--verify", "-q", "main", check=False).strip()
    assert server.push(work, ":other").returncode == 0
    policy = tmp_path / "server-policy.yaml"
    policy.write_text(POLICY)
    server.git("config", "repolicy.policy", str(policy))
    assert server.push(work, ":main").returncode == 0


def run_hook(server: Server, lines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repolicy", "check", "--pre-receive"],
        cwd=server.path,
        input=lines,
        capture_output=True,
        text=True,
        check=False,
    )


def test_hook_input_is_checked_before_git_sees_it(work: Repo, server: Server) -> None:
    head = server.git("rev-parse", "main").strip()
    target = server.path / "written-by-git"
    for line in (
        f"{head} --output={target} refs/heads/main",
        f"{head} {head} --output={target}",
        f"{head} {head[:-1]} refs/heads/main",
        f"{head} {head} refs/heads/a..b",
        f"{head} {head}",
    ):
        proc = run_hook(server, line + "\n")
        assert proc.returncode == 2, line
        assert "pre-receive input line 1" in proc.stderr
        assert not target.exists()
    # A well-formed id of an object the server does not have is not "all clear".
    proc = run_hook(server, f"{head} {'ab' * 20} refs/heads/main\n")
    assert proc.returncode == 2
    assert f"names object {'ab' * 20}, which this repository lacks" in proc.stderr


def test_hook_input_uses_the_repositorys_hash_length(tmp_path: Path) -> None:
    sha256 = Server.create(tmp_path / "sha256.git", "--object-format=sha256")
    proc = run_hook(sha256, f"{'0' * 40} {'1' * 40} refs/heads/main\n")
    assert proc.returncode == 2
    assert "64 hex digits" in proc.stderr


# -- the server reads its policy from the branch, through git --------------------


def test_extends_on_the_server_never_reads_the_servers_files(
    work: Repo, server: Server, tmp_path: Path
) -> None:
    secret = tmp_path / "server-secret.yaml"
    secret.write_text("x9Kq2: 19000\n")
    outside = os.path.relpath(secret, server.path)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("exclude: []\n")
    for target in (str(secret), outside):
        server.install("--policy", str(lenient))
        work.write(".repolicy.yaml", f"extends: {target}\n")
        work.add(".repolicy.yaml")
        work.commit(f"extend {target}")
        assert server.push(work, "main").returncode == 0
        server.install()  # from now on the branch's policy, which extends `target`
        commit_log(work, "x.txt")
        proc = server.push(work, "main")
        assert proc.returncode != 0
        assert "x9Kq2" not in proc.stderr + proc.stdout
        assert f".repolicy.yaml:1:10: extends {target!r}: " in proc.stderr
        work.git("reset", "-q", "--hard", "HEAD~1")


def test_a_branch_policy_that_is_a_link_is_refused_unfollowed(
    work: Repo, server: Server, tmp_path: Path
) -> None:
    secret = tmp_path / "server-secret.yaml"
    secret.write_text("x9Kq2: 19000\n")
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("exclude: []\n")
    server.install("--policy", str(lenient))
    (work.path / ".repolicy.yaml").unlink()
    (work.path / ".repolicy.yaml").symlink_to(secret)
    work.write("base.yaml", "exclude: []\n")
    work.add(".repolicy.yaml", "base.yaml")
    work.commit("the policy is a link")
    assert server.push(work, "main").returncode == 0
    server.install()
    commit_log(work, "x.txt")
    proc = server.push(work, "main")
    assert proc.returncode != 0
    assert "x9Kq2" not in proc.stderr
    assert ".repolicy.yaml:1:1: cannot read policy '.repolicy.yaml': it is a symbolic link" in (
        proc.stderr
    )


def test_a_policy_extending_a_yml_file_of_its_branch(work: Repo, server: Server) -> None:
    work.write("base.yml", 'exclude: ["*.tmp"]\n')
    work.write(".repolicy.yaml", "extends: [base.yml]\n" + POLICY)
    work.add("base.yml", ".repolicy.yaml")
    work.commit("shared rules, .yml")
    assert server.push(work, "main").returncode == 0
    work.write("notes.md", "fine\n")
    work.add("notes.md")
    work.commit("notes")
    assert server.push(work, "main").returncode == 0
    commit_log(work, "scratch.tmp")
    assert server.push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "scratch.tmp")}


def test_an_extends_fan_out_neither_hangs_nor_blocks_its_revert(work: Repo, server: Server) -> None:
    for i in range(1, 16):
        text = f"exclude: ['*.l{i}']\n"
        if i < 15:
            text += "extends: [" + ", ".join([f"p{i + 1}.yaml"] * 8) + "]\n"
        work.write(f"p/p{i}.yaml", text)
    work.write(".repolicy.yaml", "extends: p/p1.yaml\n")
    work.add("p", ".repolicy.yaml")
    work.commit("fan-out")
    assert server.push(work, "main").returncode == 0
    commit_log(work, "a.l7")
    assert server.push(work, "main").returncode != 0
    assert found(server.last()) == {("excluded", "a.l7")}
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.write(".repolicy.yaml", POLICY)
    work.add(".repolicy.yaml")
    work.commit("back to the plain policy")
    assert server.push(work, "main").returncode == 0


def test_an_extends_cycle_on_the_branch_is_reported_at_its_line(work: Repo, server: Server) -> None:
    work.write("a.yaml", "extends: [b.yaml]\n")
    work.write("b.yaml", "exclude: [x]\nextends: [a.yaml]\n")
    work.write(".repolicy.yaml", "extends: a.yaml\n")
    work.add("a.yaml", "b.yaml", ".repolicy.yaml")
    work.commit("cycle")
    assert server.push(work, "main").returncode == 0
    commit_log(work, "y.txt")
    proc = server.push(work, "main")
    assert proc.returncode != 0
    assert "b.yaml:2:11: extends cycle: a.yaml -> b.yaml -> a.yaml" in proc.stderr


# -- merges are judged against each parent ----------------------------------------


def merge_with_new_root(work: Repo) -> str:
    """main merged with a new root commit whose tree lacks datasets/; the merge
    keeps the root's tree, so `git log -c` shows nothing for it."""
    work.git("checkout", "-q", "--orphan", "fresh")
    work.git("rm", "-rq", "--cached", "datasets")
    shutil.rmtree(work.path / "datasets")
    root = work.commit("start afresh")
    merge = work.git(
        "commit-tree", f"{root}^{{tree}}", "-p", "main", "-p", root, "-m", "merge a fresh start"
    ).strip()
    work.git("checkout", "-q", "-B", "main", merge)
    return merge


def test_a_merge_with_a_new_root_cannot_delete_a_frozen_dataset(
    released: Repo, server: Server
) -> None:
    merge = merge_with_new_root(released)
    assert server.push(released, "main").returncode != 0
    (violation,) = server.last()["violations"]
    assert (violation["check"], violation["path"], violation["commit"]) == (
        "frozen-modified",
        "datasets/a/v1/labels.json",
        merge,
    )


def test_a_merge_that_drops_a_required_file_is_judged(work: Repo, server: Server) -> None:
    work.write(".repolicy.yaml", POLICY + 'require: {"datasets/*/v*/": [README.md]}\n')
    work.add(".repolicy.yaml")
    work.commit("every version has a README")
    work.git("branch", "side")  # from before the dataset
    work.write("datasets/a/v1/README.md", "about v1\n")
    work.write("datasets/a/v1/labels.json", "[1]\n")
    work.add("datasets")
    work.commit("release v1")
    assert server.push(work, "main").returncode == 0
    work.git("checkout", "-q", "side")
    work.write("other.txt", "side work\n")
    work.add("other.txt")
    work.commit("side work")
    work.git("checkout", "-q", "main")
    # The merge keeps the side's missing README: it differs from one parent only.
    work.git("merge", "-q", "--no-commit", "-s", "ours", "side")
    work.git("rm", "-q", "datasets/a/v1/README.md")
    merge = work.commit("merge side")
    assert server.push(work, "main").returncode != 0
    (violation,) = server.last()["violations"]
    assert (violation["check"], violation["path"], violation["commit"]) == (
        "missing-required",
        "datasets/a/v1/",
        merge,
    )


def test_merging_a_side_whose_frozen_change_was_allowed_is_not_blamed(
    released: Repo, server: Server
) -> None:
    server.git("config", "repolicy.allowEscapes", "true")
    work = released
    work.git("checkout", "-q", "-b", "fix")
    work.write("datasets/a/v1/labels.json", "[2]\n")
    work.add("datasets/a/v1/labels.json")
    work.git("commit", "-q", "-m", "relabel\n\nRepolicy-Allow-Frozen: datasets/a/v1/")
    work.git("checkout", "-q", "main")
    work.write("notes.md", "main moves on\n")
    work.add("notes.md")
    work.commit("notes")
    work.git("merge", "-q", "--no-edit", "fix")
    assert server.push(work, "main").returncode == 0, server.last()


# -- tags that name a tree or a blob ---------------------------------------------


def loose_content(work: Repo) -> tuple[str, str]:
    """A tree holding an excluded file and a 300 kB blob, and the id of a 2 MiB
    blob (over the 1 MiB budget); none of it in any commit."""
    work.write("sub/a.log", "loss 0.1\n")
    work.write("sub/big.bin", os.urandom(300 * 1000))
    big = work.write("huge.bin", os.urandom(2 * 1024 * 1024))
    work.git("add", "-f", "sub")
    tree = work.git("write-tree").strip()
    work.git("reset", "-q")
    blob = work.git("hash-object", "-w", "--", str(big)).strip()
    shutil.rmtree(work.path / "sub")
    big.unlink()
    return tree, blob


@pytest.mark.parametrize("shape", ["tree", "annotated", "tag of a tag"])
def test_a_tag_naming_a_tree_has_its_files_judged(work: Repo, server: Server, shape: str) -> None:
    tree, _blob = loose_content(work)
    if shape == "tree":
        ref = f"{tree}:refs/tags/t"
    else:
        work.git("tag", "-a", "inner", "-m", "a tree", tree)
        ref = "refs/tags/inner"
        if shape == "tag of a tag":
            work.git("-c", "advice.nestedTag=false", "tag", "-a", "outer", "-m", "again", "inner")
            ref = "refs/tags/outer"
    proc = server.push(work, ref)
    assert proc.returncode != 0
    data = server.last()
    assert found(data) == {("excluded", "sub/a.log")}
    assert data["budgets"]["repo"]["used"] >= 300 * 1000
    assert server.git("tag", "--list").strip() == ""


def test_a_tag_naming_a_blob_is_judged_under_the_refs_name(work: Repo, server: Server) -> None:
    _tree, blob = loose_content(work)
    assert server.push(work, f"{blob}:refs/tags/b").returncode != 0
    (violation,) = server.last()["violations"]
    assert (violation["check"], violation["path"], violation["size"]) == (
        "file-too-large",
        "refs/tags/b",
        2 * 1024 * 1024,
    )
    assert "refs/tags/b names a blob" in server.last()["notes"][0]
    assert violation["fix"].startswith("delete or move refs/tags/b")


def test_merging_a_side_that_adds_a_new_version_is_accepted(released: Repo, server: Server) -> None:
    work = released
    work.git("checkout", "-q", "-b", "v2")
    work.write("datasets/a/v2/labels.json", "[2]\n")
    work.add("datasets")
    work.commit("release v2")
    work.git("checkout", "-q", "main")
    work.write("notes.md", "main moves on\n")
    work.add("notes.md")
    work.commit("notes")
    work.git("merge", "-q", "--no-edit", "v2")
    assert server.push(work, "main").returncode == 0, server.last()
    # The other way round: main merged into the side, then the side pushed.
    work.git("checkout", "-q", "-b", "v3", "main~1")
    work.write("datasets/a/v3/labels.json", "[3]\n")
    work.add("datasets")
    work.commit("release v3")
    work.git("merge", "-q", "--no-edit", "main")
    assert server.push(work, "v3").returncode == 0, server.last()
