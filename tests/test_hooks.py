"""The `repolicy` hook through the real pre-commit framework, blocking real `git commit`s.

The hook repository is a snapshot of this checkout (uncommitted edits included),
committed in a temporary directory and referenced as `repo: file://...`, exactly
as a user references the project on GitHub. pre-commit builds its environment
once per module (PRE_COMMIT_HOME is shared), so only the first test pays for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

if TYPE_CHECKING:
    from .conftest import Repo

ROOT = Path(__file__).resolve().parent.parent

# What pre-commit prints for the hook ("<name>....Passed/Failed"): proof that it ran.
HOOK_NAME = next(
    hook["name"]
    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    if hook["id"] == "repolicy"
)
PROJECT_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "repolicy", "policies")
CACHES = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)

EPOCH = "outputs/run1/checkpoints/epoch_3.pth"
BEST = "outputs/run1/checkpoints/best.pth"
ML_POLICY = "extends: [ml-checkpoints]\n"
LFS_ATTRIBUTES = "*.pth filter=lfs diff=lfs merge=lfs -text\n"


def _clean_env(home: Path) -> dict[str, str]:
    """The caller's environment without its git or pre-commit settings (module fixtures
    run before the per-test isolation in conftest)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Hook Author",
        GIT_AUTHOR_EMAIL="hooks@example.com",
        GIT_COMMITTER_NAME="Hook Author",
        GIT_COMMITTER_EMAIL="hooks@example.com",
    )
    return env


@pytest.fixture(scope="module")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(url, rev) of a git repository holding this checkout as it is on disk now."""
    src = tmp_path_factory.mktemp("hook-source")
    for name in PROJECT_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=CACHES)
        else:
            shutil.copy2(ROOT / name, src / name)
    env = _clean_env(tmp_path_factory.mktemp("hook-source-home"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=src, env=env, check=True, capture_output=True)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=src, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    return src.as_uri(), rev


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )


def git_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """`git commit` as a user types it, hooks enabled; stdout and stderr together."""
    return subprocess.run(
        ["git", "commit", *args],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def head(repo: Repo) -> str:
    return repo.git("rev-parse", "HEAD").strip()


@pytest.fixture
def hooked(
    repo: Repo,
    hook_source: tuple[str, str],
    pre_commit_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Repo:
    """A repository whose git pre-commit hook is pre-commit, configured to run `repolicy`
    from the snapshot (its environment built now, so a build error shows here)."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    url, rev = hook_source
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {url}\n    rev: {rev}\n    hooks:\n      - id: repolicy\n",
    )
    installed = pre_commit(repo, "install", "--install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (repo.path / ".git" / "hooks" / "pre-commit").is_file()
    return repo


def start(repo: Repo, policy: str, **files: str) -> str:
    """Commit the policy and pre-commit config (plus `files`) as the first commit."""
    repo.write(".repolicy.yaml", policy)
    for name, content in files.items():
        repo.write(name, content)
    repo.add(".repolicy.yaml", ".pre-commit-config.yaml", *files)
    return repo.commit("adopt repolicy")


def assert_blocked(result: subprocess.CompletedProcess[str], path: str, *checks: str) -> None:
    assert result.returncode != 0, result.stdout
    assert HOOK_NAME in result.stdout, result.stdout
    assert "Failed" in result.stdout, result.stdout
    assert path in result.stdout, result.stdout
    for check in checks:
        assert f"[{check}]" in result.stdout, result.stdout


def test_commit_of_an_excluded_checkpoint_is_blocked(hooked: Repo) -> None:
    before = start(hooked, ML_POLICY)
    hooked.write(EPOCH, os.urandom(4096))
    hooked.add(EPOCH)

    result = git_commit(hooked, "-m", "add epoch 3")

    assert_blocked(result, EPOCH, "excluded")
    assert head(hooked) == before
    # The user's staged work is left as it was, for them to fix.
    assert EPOCH in hooked.git("diff", "--cached", "--name-only")


def test_commit_of_a_checkpoint_stored_in_lfs_passes(hooked: Repo) -> None:
    hooked.git("lfs", "install", "--local")
    before = start(hooked, ML_POLICY, **{".gitattributes": LFS_ATTRIBUTES})
    hooked.write(BEST, os.urandom(64 * 1024))
    hooked.add(BEST)
    staged = hooked.git("cat-file", "-p", f":{BEST}")
    assert staged.startswith("version https://git-lfs.github.com/spec/v1\n"), staged

    result = git_commit(hooked, "-m", "best model of run1")

    assert result.returncode == 0, result.stdout
    assert HOOK_NAME in result.stdout, result.stdout
    assert "Passed" in result.stdout, result.stdout
    assert head(hooked) != before
    assert hooked.git("ls-tree", "-r", "--name-only", "HEAD", "--", BEST).strip() == BEST


def test_raw_checkpoint_over_the_file_budget_is_blocked(hooked: Repo) -> None:
    before = start(hooked, "budgets:\n  file: 1 MiB\nlfs:\n  - '*.pth'\n")
    hooked.write(BEST, size=2 * 1024 * 1024)
    hooked.add(BEST)

    result = git_commit(hooked, "-m", "best model, no LFS")

    assert_blocked(result, BEST, "file-too-large", "lfs-missing")
    assert head(hooked) == before


@pytest.mark.parametrize(
    "args",
    [["-m", "epoch 3 again", "--", EPOCH], ["-a", "-m", "more training"]],
    ids=["commit-path", "commit-all"],
)
def test_commit_through_a_temporary_index_is_still_blocked(hooked: Repo, args: list[str]) -> None:
    # An intermediate checkpoint committed before the policy arrived, then
    # overwritten by training. Nothing is staged in .git/index: `git commit
    # -- PATH` and `git commit -a` stage it into a temporary index and point
    # the hook at it with GIT_INDEX_FILE, so a hook reading .git/index would
    # see nothing to check and let the commit through.
    start(hooked, ML_POLICY)
    hooked.write(EPOCH, os.urandom(4096))
    hooked.add(EPOCH)
    before = hooked.commit("old checkpoint, committed without hooks")
    hooked.write(EPOCH, os.urandom(4096))
    assert hooked.git("diff", "--cached", "--name-only") == ""

    result = git_commit(hooked, *args)

    assert_blocked(result, EPOCH, "excluded")
    assert head(hooked) == before


@pytest.fixture
def push_hooked(
    repo: Repo,
    hook_source: tuple[str, str],
    pre_commit_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Repo:
    """A repository with the `repolicy-push` hook installed by pre-commit and a bare remote."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    url, rev = hook_source
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {url}\n    rev: {rev}\n    hooks:\n      - id: repolicy-push\n",
    )
    installed = pre_commit(repo, "install", "--hook-type", "pre-push", "--install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "remote.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    start(repo, "exclude: ['*.log']\n")
    repo.git("push", "-q", "--no-verify", "origin", "main")
    return repo


def git_push(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", *args],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def test_push_hook_blocks_a_log_added_and_deleted_before_the_push(push_hooked: Repo) -> None:
    push_hooked.write("train.log", "loss 0.1\n")
    push_hooked.add("train.log")
    push_hooked.commit("log")
    push_hooked.git("rm", "-q", "train.log")
    push_hooked.commit("drop the log again")

    result = git_push(push_hooked, "origin", "main")

    assert result.returncode != 0, result.stdout
    assert "train.log" in result.stdout and "[excluded]" in result.stdout, result.stdout
    assert push_hooked.git("rev-parse", "origin/main") != push_hooked.git("rev-parse", "main")


def test_push_hook_through_pre_commit_sees_only_the_first_pushed_ref(push_hooked: Repo) -> None:
    # pre-commit exports one ref to its hooks: a violation on a second ref of the
    # same push goes through. `repolicy install` exists for this (see the README).
    push_hooked.git("checkout", "-q", "-b", "zz-feature")
    push_hooked.write("feature.log", "x")
    push_hooked.add("feature.log")
    push_hooked.commit("feature log")
    push_hooked.git("checkout", "-q", "main")
    push_hooked.write("clean.py", "x = 1\n")
    push_hooked.add("clean.py")
    push_hooked.commit("clean work")

    result = git_push(push_hooked, "origin", "main", "zz-feature")

    assert result.returncode == 0, result.stdout
    assert "zz-feature" in push_hooked.git("ls-remote", "--heads", "origin")


# -- file names that look like options -------------------------------------------------

OPTION_NAMES = ["-h", "--policy=allow.yaml", "--push", "-Cx", "--strict"]


def _old_entry(repo: Repo, serial: bool) -> None:
    """A local hook written the old way: `check` with the names appended, no `--`."""
    entry = f"{sys.executable} -m repolicy check"
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n  - repo: local\n    hooks:\n      - id: repolicy\n"
        f"        name: {HOOK_NAME}\n        entry: {entry}\n        language: system\n"
        f"        require_serial: {str(serial).lower()}\n",
    )
    installed = pre_commit(repo, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr


@pytest.mark.parametrize("config", ["shipped", "old-entry", "old-entry-shuffled"])
def test_staged_names_that_look_like_options_never_open_the_gate(hooked: Repo, config: str) -> None:
    if config != "shipped":
        _old_entry(hooked, serial=config == "old-entry")
    before = start(
        hooked,
        "exclude: ['*.log']\nbudgets:\n  file: 1 KiB\n",
        # The policy a `--policy=allow.yaml` name would swap in: nothing forbidden.
        **{"allow.yaml": "budgets:\n  file: 1 GiB\n"},
    )
    for name in OPTION_NAMES:
        hooked.write(name, "x")
    hooked.write("x/keep.txt", "x")
    hooked.write("train.log", "loss\n")
    hooked.write("big.bin", size=4096)
    hooked.git("add", "--", *OPTION_NAMES, "x/keep.txt", "train.log", "big.bin")

    result = git_commit(hooked, "-m", "names that look like options")

    assert result.returncode != 0, result.stdout
    assert "Failed" in result.stdout, result.stdout
    assert head(hooked) == before
    if config == "shipped":
        # The names are files: each violation is reported, nothing else is judged.
        assert "train.log" in result.stdout and "[excluded]" in result.stdout, result.stdout
        assert "big.bin" in result.stdout and "[file-too-large]" in result.stdout, result.stdout
    else:
        # Without `--` the names are ambiguous, and the hook refuses to guess.
        assert "both an option and a file" in result.stdout, result.stdout


def test_users_args_still_apply_after_the_shipped_entry(hooked: Repo) -> None:
    config = (hooked.path / ".pre-commit-config.yaml").read_text()
    hooked.write(".pre-commit-config.yaml", config + "        args: [--strict]\n")
    before = start(hooked, "budgets:\n  file: 1 MiB\n  file_warn: 1 KiB\n")
    hooked.write("-h", "x")
    hooked.write("medium.bin", size=4096)
    hooked.add("-h", "medium.bin")

    result = git_commit(hooked, "-m", "a warning, made fatal by --strict")

    assert result.returncode != 0, result.stdout
    assert "medium.bin" in result.stdout and "[file-large]" in result.stdout, result.stdout
    assert head(hooked) == before
