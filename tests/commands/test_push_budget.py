"""`budgets.push`: what one push sends, judged by the pre-push hook, the server's
pre-receive hook and `check --range`, through real pushes over file://."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo, Server

LIMIT = 10 * 1024  # 10 KiB


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def sha(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", rev).strip()


def disk_usage(repo: Repo | Server, *revs: str) -> int:
    """git's own answer, the oracle: `rev-list --disk-usage --objects`."""
    return int(repo.git("rev-list", "--disk-usage", "--objects", *revs, "--").strip())


def add_random(repo: Repo, path: str, size: int, message: str) -> str:
    repo.write(path, os.urandom(size))  # random bytes do not compress
    repo.add(path)
    return repo.commit(message)


@pytest.fixture
def origin(tmp_path: Path) -> Server:
    path = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return Server(path)


@pytest.fixture
def pushing(repo: Repo, origin: Server, tmp_path: Path) -> Repo:
    """A repository pushed once to `origin`, with a pre-push hook that runs
    `repolicy check --push` under a policy kept outside the repository
    (policy.yaml beside it), and writes its JSON report there too."""
    repo.git("remote", "add", "origin", f"file://{origin.path}")
    repo.write("train.py", "print(1)\n")
    repo.add("train.py")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    set_policy(repo, tmp_path, f"budgets: {{push: {LIMIT}}}\n")
    hook = repo.path / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f'#!/bin/sh\n"{sys.executable}" -m repolicy check --push "$@" --format json '
        f'--policy "{tmp_path / "policy.yaml"}" > "{tmp_path / "pre-push.json"}"\n'
    )
    hook.chmod(0o755)
    return repo


def set_policy(repo: Repo, tmp_path: Path, text: str) -> None:
    (tmp_path / "policy.yaml").write_text(text)


def last_report(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "pre-push.json").read_text())
    return data


def git_push(repo: Repo, *refs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "origin", *refs], cwd=repo.path, capture_output=True, text=True, timeout=300
    )


# -- the pre-push hook, through real pushes ----------------------------------------------------


def test_a_push_over_the_budget_is_refused_and_one_at_it_goes_through(
    pushing: Repo, origin: Server, tmp_path: Path
) -> None:
    add_random(pushing, "weights.bin", 12 * 1024, "weights")
    sent = disk_usage(pushing, "main", "--not", "--remotes=origin")
    assert sent > LIMIT
    proc = git_push(pushing, "main")
    assert proc.returncode != 0
    data = last_report(tmp_path)
    assert found(data) == {("push-budget", None)}
    assert data["budgets"]["push"] == {"used": sent, "limit": LIMIT}
    (violation,) = data["violations"]
    assert violation["size"] == sent
    # The exact byte counts beside the rounded figures.
    assert f"({sent:,} bytes)" in violation["message"]
    assert "(10,240 bytes)" in violation["message"]
    assert "weights.bin" in violation["fix"]
    assert origin.git("rev-parse", "main").strip() != sha(pushing, "main")
    # A budget of exactly what the push sends lets it through; one byte less does not.
    set_policy(pushing, tmp_path, f"budgets: {{push: {sent - 1}}}\n")
    assert git_push(pushing, "main").returncode != 0
    set_policy(pushing, tmp_path, f"budgets: {{push: {sent}}}\n")
    proc = git_push(pushing, "main")
    assert proc.returncode == 0, proc.stderr
    assert last_report(tmp_path)["violations"] == []
    assert origin.git("rev-parse", "main").strip() == sha(pushing, "main")


def test_a_push_under_the_budget_passes_and_says_how_much_it_sends(
    pushing: Repo, tmp_path: Path
) -> None:
    add_random(pushing, "small.bin", 2 * 1024, "small")
    sent = disk_usage(pushing, "main", "--not", "--remotes=origin")
    assert 2 * 1024 < sent < LIMIT
    proc = git_push(pushing, "main")
    assert proc.returncode == 0, proc.stderr
    assert last_report(tmp_path)["budgets"]["push"] == {"used": sent, "limit": LIMIT}


def test_two_branches_sharing_their_objects_count_them_once(pushing: Repo, tmp_path: Path) -> None:
    add_random(pushing, "weights.bin", 6 * 1024, "weights")
    pushing.git("branch", "a")
    pushing.git("checkout", "-q", "-b", "b")
    pushing.write("notes.md", "b\n")
    pushing.add("notes.md")
    pushing.commit("b")
    one = disk_usage(pushing, "a", "--not", "--remotes=origin")
    both = disk_usage(pushing, "a", "b", "--not", "--remotes=origin")
    # Each branch alone is under the budget, as is the push of both: the
    # shared 6 KiB blob is sent once, not once per branch.
    assert both < LIMIT < 2 * one
    proc = git_push(pushing, "a", "b")
    assert proc.returncode == 0, proc.stderr
    assert last_report(tmp_path)["budgets"]["push"]["used"] == both


def test_objects_the_remote_already_has_count_nothing(
    pushing: Repo, origin: Server, tmp_path: Path
) -> None:
    set_policy(pushing, tmp_path, "budgets: {push: 1 MiB}\n")
    add_random(pushing, "weights.bin", 12 * 1024, "weights")
    assert git_push(pushing, "main").returncode == 0
    # A new branch at a commit the remote has, then a tag on it: nothing is sent.
    set_policy(pushing, tmp_path, "budgets: {push: 1}\n")
    pushing.git("branch", "copy")
    pushing.git("tag", "v1")
    proc = git_push(pushing, "copy", "v1")
    assert proc.returncode == 0, proc.stderr
    data = last_report(tmp_path)
    assert data["budgets"]["push"] == {"used": 0, "limit": 1}
    assert data["violations"] == []


def test_the_text_report_gives_the_push_budget_in_exact_bytes(pushing: Repo) -> None:
    add_random(pushing, "weights.bin", 12 * 1024, "weights")
    sent = disk_usage(pushing, "main", "--not", "--remotes=origin")
    proc = pushing.run(
        "check", "--push", "--to-ref", "main", "--policy", str(pushing.path.parent / "policy.yaml")
    )
    assert proc.returncode == 1
    assert (
        f"budget push: this push adds {sent / 1024:.1f} KiB ({sent:,} bytes); "
        "limit 10.0 KiB (10,240 bytes)" in proc.stdout
    )
    assert "push-budget" in proc.stdout


def test_without_a_push_budget_the_report_says_it_is_unlimited(pushing: Repo) -> None:
    add_random(pushing, "weights.bin", 12 * 1024, "weights")
    proc = pushing.run("check", "--push", "--to-ref", "main", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    sent = disk_usage(pushing, "main", "--not", "--remotes")
    assert data["budgets"]["push"] == {"used": sent, "limit": None}
    # The text report does not repeat what the repo line already says.
    text = pushing.run("check", "--push", "--to-ref", "main").stdout
    assert "budget push" not in text and "this push adds" in text


# -- the server's pre-receive hook ------------------------------------------------------------


@pytest.fixture
def work(repo: Repo, server: Server) -> Repo:
    repo.git("remote", "add", "origin", f"file://{server.path}")
    repo.write(".repolicy.yaml", f"budgets: {{push: {LIMIT}}}\n")
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    server.install()
    return repo


def test_the_server_refuses_a_push_over_its_budget(work: Repo, server: Server) -> None:
    before = server.git("rev-parse", "main").strip()
    add_random(work, "weights.bin", 12 * 1024, "weights")
    proc = server.push(work, "main")
    assert proc.returncode != 0 and "pre-receive hook declined" in proc.stdout + proc.stderr
    data = server.last()
    assert (data["command"], found(data)) == ("pre-receive", {("push-budget", None)})
    assert data["budgets"]["push"]["limit"] == LIMIT
    # Whatever form the quarantine kept them in, they are at least the blob.
    assert data["budgets"]["push"]["used"] > 12 * 1024
    assert server.git("rev-parse", "main").strip() == before


def test_the_server_counts_what_the_push_brings_once_and_nothing_it_has(
    work: Repo, server: Server
) -> None:
    old = server.git("rev-parse", "main").strip()
    add_random(work, "weights.bin", 3 * 1024, "weights")
    work.git("branch", "copy")  # a second ref to the same objects
    proc = server.push(work, "main", "copy")
    assert proc.returncode == 0, proc.stderr
    data = server.last()
    assert data["violations"] == []
    # Now stored on the server, the objects the push brought are what it counted.
    new = server.git("rev-parse", "main").strip()
    assert data["budgets"]["push"] == {
        "used": disk_usage(server, new, "--not", old),
        "limit": LIMIT,
    }
    # A ref to what the server already holds brings nothing.
    work.git("tag", "v1")
    assert server.push(work, "v1").returncode == 0
    assert server.last()["budgets"]["push"]["used"] == 0


def models_in_two_packs(where: Repo | Server, pack_dir: Path) -> None:
    """Every object `where` holds, packed whole, and again with deltas in a newer
    pack (`repack` without `-d` keeps the first): two copies of unequal sizes,
    the smaller where git looks first."""
    where.git("repack", "-a", "-d", "-q", "-f", "--depth=0", "--window=0")
    for name in os.listdir(pack_dir):
        os.utime(pack_dir / name, (1_000_000_000, 1_000_000_000))
    where.git("repack", "-a", "-q", "-f")
    assert len([n for n in os.listdir(pack_dir) if n.endswith(".pack")]) == 2


def largest_sum(pack_dir: Path, ids: list[str]) -> int:
    from ..git.test_objects import copies_by_git

    copies = copies_by_git(Repo(pack_dir), pack_dir)
    assert any(len(set(c)) > 1 for c in copies.values())  # copies that differ
    return sum(max(copies[o]) for o in ids)


def commit_models(repo: Repo, count: int) -> None:
    first = random.Random(9).randbytes(40_000)
    for k in range(count):
        repo.write("model.bin", first[: 40_000 - 3000 * k])  # deltas against the first
        repo.add("model.bin")
        repo.commit(f"model {k}")


def test_the_server_counts_the_larger_copy_of_an_object_it_keeps_twice(
    work: Repo, server: Server, tmp_path: Path
) -> None:
    # As `audit` of the same store counts it: git's own sum takes whichever
    # copy its previous lookups lead to.
    policy = tmp_path / "server-policy.yaml"
    policy.write_text("budgets: {repo: 1 GiB}\n")
    server.git("config", "repolicy.policy", str(policy))
    commit_models(work, 3)
    assert server.push(work, "main").returncode == 0
    models_in_two_packs(server, server.path / "objects" / "pack")
    held = server.git("rev-list", "--objects", "--no-object-names", "--all").split()
    policy.write_text("budgets: {repo: 1}\n")
    add_random(work, "b.bin", 100, "b")
    assert server.push(work, "main").returncode != 0
    repo_budget = server.last()["budgets"]["repo"]
    assert repo_budget["used"] - repo_budget["added"] == largest_sum(
        server.path / "objects" / "pack", held
    )


def test_the_pre_push_hook_counts_the_larger_copy_of_an_object_stored_twice(
    pushing: Repo, tmp_path: Path
) -> None:
    # What the remote would hold after the push, as `audit` counts a store.
    commit_models(pushing, 3)
    models_in_two_packs(pushing, pushing.path / ".git" / "objects" / "pack")
    set_policy(pushing, tmp_path, "budgets: {repo: 1}\n")
    held = pushing.git("rev-list", "--objects", "--no-object-names", "main", "--remotes")
    expected = largest_sum(pushing.path / ".git" / "objects" / "pack", held.split())
    assert git_push(pushing, "main").returncode != 0
    assert last_report(tmp_path)["budgets"]["repo"]["used"] == expected


# -- check --range -----------------------------------------------------------------------------


def test_range_judges_the_push_budget_of_the_range(repo: Repo) -> None:
    repo.write(".repolicy.yaml", f"budgets: {{push: {LIMIT}}}\n")
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    add_random(repo, "old.bin", 40 * 1024, "history already holds more than one push may send")
    repo.git("checkout", "-q", "-b", "feature")
    add_random(repo, "small.bin", 2 * 1024, "small")
    proc = repo.run("check", "--base", "main", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["budgets"]["push"] == {
        "used": disk_usage(repo, "feature", "--not", "main"),
        "limit": LIMIT,
    }
    add_random(repo, "big.bin", 12 * 1024, "big")
    proc = repo.run("check", "--base", "main", "--format", "json")
    assert proc.returncode == 1
    assert found(json.loads(proc.stdout)) == {("push-budget", None)}


# -- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("budgets:\n  push: 2 GX\n", ".repolicy.yaml:2:9: bad size '2 GX'"),
        ("budgets:\n  push: -1\n", ".repolicy.yaml:2:9: a size cannot be negative"),
        ("budgets:\n  pushes: 2 GB\n", "did you mean 'push'?"),
    ],
)
def test_a_bad_push_budget_is_reported_at_its_line(repo: Repo, text: str, said: str) -> None:
    repo.write(".repolicy.yaml", text)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    proc = repo.run("check", "--push", "--to-ref", "HEAD")
    assert proc.returncode == 2
    assert said in proc.stderr
