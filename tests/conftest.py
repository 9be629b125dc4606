"""Real repositories for tests: real git and git-lfs, a fixed identity, no user config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "ignore-files"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "shared: needs ../shared beside the checkout (the real-world corpus, the contract)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared (a fresh clone), the tests that read it are collected as one
    skip that says so, rather than as failures or a scatter of empty parameter sets.
    CI runs where ../shared exists, and `.ci/run` fails when it does not."""
    if (SHARED / "CONTRACT.md").is_file() and CORPUS.is_dir():
        return
    needing = [item for item in items if item.get_closest_marker("shared") is not None]
    if not needing:
        return
    names = sorted({item.originalname for item in needing if isinstance(item, pytest.Function)})
    first = needing[0]
    first.add_marker(
        pytest.mark.skip(
            reason=f"../shared is not beside this checkout: {len(names)} tests of the "
            f"real-world corpus and the contract not run ({', '.join(names)})"
        ),
        append=False,  # before an "empty parameter set" skip of its own
    )
    dropped = {id(item) for item in needing[1:]}
    items[:] = [item for item in items if id(item) not in dropped]


@pytest.fixture(autouse=True)
def _isolated_git(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test sees git as a fresh machine does: no global config, fixed identity."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("GIT_") or name.startswith("PRE_COMMIT"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Trainer")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada Trainer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        '[protocol "file"]\n\tallow = always\n'
    )


class Repo:
    """A real git repository in a temporary directory, with helpers named for what users do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, input=input, capture_output=True, check=False
        )
        if check and proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace")
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {stderr}")
        return proc.stdout.decode("utf-8", "surrogateescape")

    def write(self, rel: str | bytes, content: bytes | str = b"", size: int | None = None) -> Path:
        target = self.path / os.fsdecode(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if size is not None:
            with open(target, "wb") as fh:
                fh.truncate(size)
        else:
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        return target

    def add(self, *paths: str) -> None:
        self.git("add", "-f", "--", *paths)

    def commit(self, message: str = "commit") -> str:
        self.git("commit", "-q", "--no-verify", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed `repolicy` CLI the way a user or a hook does."""
        return subprocess.run(
            [sys.executable, "-m", "repolicy", *args],
            cwd=cwd or self.path,
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    path = tmp_path / "repo"
    path.mkdir()
    r = Repo(path)
    r.git("init", "-q")
    yield r


class Server:
    """A bare repository as a hosting server holds one, pushed to over file://.

    `install` makes `repolicy check --pre-receive` its pre-receive hook, which
    writes its report to `report`; `push` is a user's `git push` to it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.report = path / "report.json"

    @classmethod
    def create(cls, path: Path, *options: str) -> Server:
        """`git init --bare` with `options` (`-b main`, `--object-format=sha256`)."""
        subprocess.run(["git", "init", "-q", "--bare", *options, str(path)], check=True)
        return cls(path)

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=False
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def install(self, *options: str, format: str = "json") -> None:
        """The pre-receive hook: `check --pre-receive --format FORMAT OPTIONS`."""
        hook = self.path / "hooks" / "pre-receive"
        args = " ".join(["--pre-receive", "--format", format, *options])
        hook.write_text(f"#!/bin/sh\n{sys.executable} -m repolicy check {args} > {self.report}\n")
        hook.chmod(0o755)

    def last(self) -> dict[str, Any]:
        """The report of the hook's last run."""
        data: dict[str, Any] = json.loads(self.report.read_text())
        return data

    def connect(self, repo: Repo, name: str = "origin") -> None:
        """Make this server the remote `name` of `repo`."""
        repo.git("remote", "add", name, self.url)

    def push(
        self, repo: Repo, *refs: str, remote: str = "origin", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`git push --porcelain REMOTE REFS` from `repo`, as its user runs it."""
        # A timeout only so that a hanging hook fails the test instead of the suite.
        return subprocess.run(
            ["git", "push", "--porcelain", remote, *refs],
            cwd=repo.path,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **(env or {})},
            timeout=300,
        )


@pytest.fixture
def server(tmp_path: Path) -> Server:
    """An empty server whose HEAD is `main`, without a hook until `install`."""
    return Server.create(tmp_path / "server.git", "-b", "main")
