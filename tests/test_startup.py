"""The hook starts lean: a cached policy skips YAML, and the cache never serves a stale policy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .conftest import Repo


def imported_modules(repo: Repo, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "repolicy", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def age(path: Path, seconds: float = 60) -> None:
    """Make a file look written a while ago (the cache skips files edited just now)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_version_imports_neither_argparse_nor_yaml(repo: Repo) -> None:
    modules = imported_modules(repo, "--version")
    assert "argparse" not in modules
    assert "yaml" not in modules
    assert "repolicy.commands.check" not in modules


def test_a_warm_hook_run_does_not_import_yaml_or_argparse(repo: Repo) -> None:
    age(repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\nexclude: ['*.tmp']\n"))
    repo.write("a.tmp", "x")
    repo.add("a.tmp")
    first = imported_modules(repo, "check", "a.tmp")
    assert "yaml" in first  # cold: the policy is read from YAML once
    second = imported_modules(repo, "check", "a.tmp")
    assert "yaml" not in second
    assert "argparse" not in second
    # ... and it still finds the violation.
    assert repo.run("check", "a.tmp").returncode == 1


def test_a_clean_commit_imports_no_subprocess(repo: Repo) -> None:
    # It costs milliseconds on every commit: git runs through `repolicy.git.process`.
    age(repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n"))
    repo.write("train.py", "print('train')\n")
    repo.add("train.py")
    repo.run("check")  # warm the policy cache
    modules = imported_modules(repo, "check")
    assert "repolicy.commands.check" in modules
    assert "subprocess" not in modules
    repo.write("big.bin", size=60 * 1024 * 1024)
    repo.add("big.bin")
    assert "60.0 MiB" in repo.run("check").stdout


def test_editing_the_policy_is_seen_at_once(repo: Repo) -> None:
    policy = repo.write(".repolicy.yaml", "exclude: ['*.tmp']\n")
    age(policy)
    repo.write("a.tmp", "x")
    repo.write("b.bak", "x")
    repo.add("a.tmp", "b.bak")
    assert "a.tmp" in repo.run("check").stdout
    policy.write_text("exclude: ['*.bak']\n")
    age(policy, 30)  # even an edit that keeps an old-looking mtime
    out = repo.run("check").stdout
    assert "b.bak" in out and "a.tmp" not in out


def test_creating_or_deleting_the_policy_file_is_seen(repo: Repo) -> None:
    repo.write("a.log", "x")
    repo.add("a.log")
    assert repo.run("check").returncode == 0  # preset default: nothing about logs
    age(repo.write(".repolicy.yaml", "exclude: ['*.log']\n"))
    assert repo.run("check").returncode == 1
    (repo.path / ".repolicy.yaml").unlink()
    assert repo.run("check").returncode == 0


def test_an_edited_parent_policy_is_seen(repo: Repo) -> None:
    age(repo.write(".repolicy.yaml", "extends: [team.yaml]\n"))
    parent = repo.write("team.yaml", "exclude: ['*.tmp']\n")
    age(parent)
    repo.write("x.ckpt", "x")
    repo.add("x.ckpt")
    assert repo.run("check").returncode == 0
    parent.write_text("exclude: ['*.ckpt']\n")
    age(parent, 10)
    assert repo.run("check").returncode == 1


def test_a_corrupt_cache_is_ignored(repo: Repo) -> None:
    age(repo.write(".repolicy.yaml", "exclude: ['*.tmp']\n"))
    repo.write("a.tmp", "x")
    repo.add("a.tmp")
    assert repo.run("check").returncode == 1
    cache = repo.path / ".git" / "repolicy" / "policy.cache"
    assert cache.is_file()
    cache.write_bytes(b"\x00garbage")
    assert repo.run("check").returncode == 1
