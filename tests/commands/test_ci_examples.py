"""The CI examples (examples/github-actions.yml, examples/gitlab-ci.yml), parsed with a
YAML parser and their commands run in checkouts shaped as CI makes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT, Repo
from .test_range import ci_commands

EXAMPLES = ROOT / "examples"

GITHUB = ("github-actions.yml", "pull_request", {"GITHUB_BASE_REF": "main"})
GITLAB = ("gitlab-ci.yml", "merge_request_event", {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"})


@pytest.fixture
def origin(repo: Repo) -> Repo:
    """main, whose history already holds a violation (old.log), and two pull
    requests forked from it: `clean` adds nothing wrong, `dirty` adds a log.
    main moves on after the fork, as it does while a pull request waits."""
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.write("train.py", "print(1)\n")
    repo.write("old.log", "from before the gate\n")
    repo.add(".repolicy.yaml", "train.py", "old.log")
    repo.commit("start, with a log nobody will rewrite history for")
    repo.git("checkout", "-q", "-b", "clean")
    repo.write("model.py", "x = 1\n")
    repo.add("model.py")
    repo.commit("a clean change")
    repo.git("checkout", "-q", "-b", "dirty", "main")
    repo.write("model.py", "x = 2\n")
    repo.write("debug.log", "loss 0.1\n")
    repo.add("model.py", "debug.log")
    repo.commit("a change with a log")
    repo.git("checkout", "-q", "main")
    repo.write("later.py", "y = 1\n")
    repo.add("later.py")
    repo.commit("main moves on")
    return repo


def checkout(origin: Repo, tmp_path: Path, branch: str, *options: str) -> Repo:
    """A CI checkout: a clone over file:// holding the branch's head, detached."""
    path = tmp_path / f"ci-{branch}"
    subprocess.run(
        ["git", "clone", "-q", *options, "--branch", branch, f"file://{origin.path}", str(path)],
        check=True,
        capture_output=True,
    )
    clone = Repo(path)
    clone.git("checkout", "-q", "--detach")
    return clone


def shell(
    tmp_path: Path, clone: Repo, line: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """One `run:`/`script:` line, as the runner's shell runs it, with `repolicy` on PATH."""
    shim = tmp_path / "bin" / "repolicy"
    if not shim.exists():
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m repolicy "$@"\n')
        shim.chmod(0o755)
    return subprocess.run(
        ["bash", "-e", "-c", line],
        cwd=clone.path,
        env={**os.environ, **env, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )


def test_the_examples_fetch_the_whole_history() -> None:
    actions = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    checkouts = [
        step
        for job in actions["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts and all(step["with"]["fetch-depth"] == 0 for step in checkouts)
    gitlab = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    assert str(gitlab["variables"]["GIT_DEPTH"]) == "0"


@pytest.mark.parametrize(("name", "event", "env"), [GITHUB, GITLAB])
@pytest.mark.parametrize(("branch", "expected"), [("clean", 0), ("dirty", 1)])
def test_the_pull_request_gate_fails_only_on_what_the_request_adds(
    origin: Repo,
    tmp_path: Path,
    name: str,
    event: str,
    env: dict[str, str],
    branch: str,
    expected: int,
) -> None:
    clone = checkout(origin, tmp_path, branch)
    commands = ci_commands(name, event)
    assert any(line.startswith("repolicy check --base ") for line in commands), commands
    output = ""
    for line in commands:
        proc = shell(tmp_path, clone, line, env)
        want = expected if line.startswith("repolicy ") else 0
        assert proc.returncode == want, (line, proc.stdout, proc.stderr)
        output += proc.stdout
    # History's old log is not the pull request's business.
    assert "old.log" not in output
    assert ("debug.log" in output) == (branch == "dirty")


@pytest.mark.parametrize(("name", "event", "env"), [GITHUB, GITLAB])
def test_in_a_shallow_checkout_the_gate_says_what_to_fetch_and_fetches_nothing(
    origin: Repo, tmp_path: Path, name: str, event: str, env: dict[str, str]
) -> None:
    # What CI gives without the examples' depth setting: the head commit alone.
    clone = checkout(origin, tmp_path, "dirty", "--depth", "1")
    shallow = (clone.path / ".git" / "shallow").read_text()
    gate = [line for line in ci_commands(name, event) if line.startswith("repolicy ")]
    for line in [line for line in ci_commands(name, event) if line.startswith("git ")]:
        assert shell(tmp_path, clone, line, env).returncode == 0
    for line in gate:
        proc = shell(tmp_path, clone, line, env)
        assert proc.returncode == 2, (line, proc.stdout, proc.stderr)
        assert "shallow clone" in proc.stderr
        assert "fetch-depth: 0" in proc.stderr and 'GIT_DEPTH: "0"' in proc.stderr
        assert "debug.log" not in proc.stdout  # nothing judged in part
    if name == "github-actions.yml":
        # No fetch of its own: the clone is exactly as shallow as before.
        assert (clone.path / ".git" / "shallow").read_text() == shallow


def test_the_default_branch_audit_runs_as_the_example_writes_it(
    origin: Repo, tmp_path: Path
) -> None:
    clone = checkout(origin, tmp_path, "main")
    lines = ci_commands("github-actions.yml", "push")
    assert [line.split()[:2] for line in lines] == [["repolicy", "audit"]] * len(lines)
    sarif_step, gate = lines
    # The SARIF step lets violations through to the upload...
    assert shell(tmp_path, clone, sarif_step, {}).returncode == 0
    results = json.loads((clone.path / "repolicy.sarif").read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"excluded"}
    # ...and the annotated step is the gate: history holds old.log.
    proc = shell(tmp_path, clone, gate, {})
    assert proc.returncode == 1
    assert "::error file=old.log,title=excluded::" in proc.stdout
