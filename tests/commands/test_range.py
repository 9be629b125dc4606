"""`repolicy check --range A..B` and `--base REF`: a pull request's commits, judged as a push."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..conftest import ROOT, Repo

POLICY = """\
exclude: ["*.log"]
budgets: {file: 1 MiB}
require:
  "datasets/*/": [README.md]
frozen: ["datasets/a/**"]
"""


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def sha(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", rev).strip()


@pytest.fixture
def feature(repo: Repo) -> Repo:
    """main with an old violation, and a branch `feature` forked from it that adds
    violations of every kind a push judges; main moves on after the fork."""
    for n in range(3):
        repo.write("README.md", f"history before the policy, {n}\n")
        repo.add("README.md")
        repo.commit(f"genesis {n}")
    repo.write(".repolicy.yaml", POLICY)
    repo.write("datasets/a/README.md", "a\n")
    repo.write("datasets/a/labels.json", "[]\n")
    repo.write("old.log", "from before the gate\n")
    repo.add(".repolicy.yaml", "datasets", "old.log")
    repo.commit("start")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("run.log", "x")
    repo.add("run.log")
    repo.commit("a log")
    repo.write("weights.bin", size=2 * 1024 * 1024)
    repo.add("weights.bin")
    repo.commit("weights")
    repo.write("datasets/a/labels.json", "[1]\n")
    repo.write("datasets/b/x.csv", "1\n")
    repo.add("datasets")
    repo.commit("edit a frozen file, add a dataset without README")
    repo.git("checkout", "-q", "main")
    repo.write("later.log", "main moved on\n")
    repo.add("later.log")
    repo.commit("main moves on")
    repo.git("checkout", "-q", "feature")
    return repo


FEATURE_FINDINGS = {
    ("excluded", "run.log"),
    ("file-too-large", "weights.bin"),
    ("frozen-modified", "datasets/a/labels.json"),
    ("missing-required", "datasets/b/"),
}


def test_range_reports_exactly_what_the_same_push_reports(feature: Repo) -> None:
    base, tip = sha(feature, "main~1"), sha(feature, "feature")
    ranged = feature.run("check", "--range", f"{base}..{tip}", "--format", "json")
    pushed = feature.run("check", "--push", "--from-ref", base, "--to-ref", tip, "--format", "json")
    assert (ranged.returncode, pushed.returncode) == (1, 1), ranged.stderr + pushed.stderr
    got, want = json.loads(ranged.stdout), json.loads(pushed.stdout)
    assert found(got) == FEATURE_FINDINGS
    assert got["violations"] == want["violations"]
    assert (got["command"], want["command"]) == ("range", "push")


def test_base_judges_what_the_branch_brings_since_it_forked(feature: Repo) -> None:
    proc = feature.run("check", "--base", "main", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    # Neither main's old violation nor what main added after the fork.
    assert found(data) == FEATURE_FINDINGS
    assert data["command"] == "range"
    assert {v["commit"] for v in data["violations"]} <= set(
        feature.git("rev-list", "main..feature").split()
    )


def test_base_on_a_branch_with_nothing_new_is_clear(feature: Repo) -> None:
    feature.git("checkout", "-q", "main")
    proc = feature.run("check", "--base", "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "repolicy range: all clear" in proc.stdout


def test_range_speaks_every_report_format(feature: Repo) -> None:
    github = feature.run("check", "--base", "main", "--format", "github")
    assert github.returncode == 1
    assert "::error file=weights.bin,title=file-too-large::" in github.stdout
    sarif = feature.run("check", "--base", "main", "--format", "sarif")
    assert sarif.returncode == 1
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {check for check, _ in FEATURE_FINDINGS}
    text = feature.run("check", "--base", "main")
    assert "repolicy range: 4 errors" in text.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--range=--output=stolen..HEAD"], "is not a revision"),
        (["--range", "nosuch..HEAD"], "'nosuch' names no commit"),
        (["--range", "main"], "expected A..B"),
        (["--range", "main...feature"], "use `A..B`"),
        (["--base", "nosuch"], "'nosuch' names no commit"),
        (["--range", "main..feature", "--base", "main"], "not both"),
        (["--range", "main..feature", "--push"], "no paths and no push options"),
    ],
)
def test_a_revision_that_names_no_commit_is_refused(
    feature: Repo, args: list[str], said: str
) -> None:
    proc = feature.run("check", *args)
    assert proc.returncode == 2
    assert said in proc.stderr
    assert proc.stdout == ""
    assert not (feature.path / "stolen").exists()


def test_a_tree_is_not_a_commit(feature: Repo) -> None:
    tree = sha(feature, "HEAD^{tree}")
    proc = feature.run("check", "--range", f"{tree}..HEAD")
    assert proc.returncode == 2
    assert "names no commit" in proc.stderr


def shallow_clone(origin: Repo, tmp_path: Path, *args: str) -> Repo:
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", *args, f"file://{origin.path}", str(clone)],
        check=True,
        capture_output=True,
    )
    return Repo(clone)


def test_a_shallow_clone_without_the_base_is_refused_with_the_fetch_it_needs(
    feature: Repo, tmp_path: Path
) -> None:
    clone = shallow_clone(feature, tmp_path, "--depth", "1", "--branch", "feature")
    proc = clone.run("check", "--base", "origin/main")
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    assert "not in this shallow clone" in proc.stderr
    assert "fetch-depth: 0" in proc.stderr
    assert "git fetch origin +refs/heads/main:refs/remotes/origin/main" in proc.stderr
    # Nothing was fetched on the way.
    assert (clone.path / ".git" / "shallow").read_text().split() == [sha(feature, "feature")]


def test_a_range_cut_by_the_shallow_boundary_is_refused_until_deepened(
    feature: Repo, tmp_path: Path
) -> None:
    clone = shallow_clone(feature, tmp_path, "--depth", "1", "--no-single-branch")
    # Both branch tips are here, their common ancestor is not.
    proc = clone.run("check", "--base", "origin/main")
    assert proc.returncode == 2, proc.stdout
    assert "git fetch --deepen=N" in proc.stderr
    # The base's tip is here, but the range from it runs past the boundary.
    proc = clone.run("check", "--range", "origin/main..origin/feature")
    assert proc.returncode == 2, proc.stdout
    assert "reaches the edge of this shallow clone" in proc.stderr
    # Deep enough for the range; the clone stays shallow below its base.
    clone.git("fetch", "-q", "--deepen=3")
    assert (clone.path / ".git" / "shallow").exists()
    proc = clone.run("check", "--range", "origin/main..origin/feature", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert found(data) == FEATURE_FINDINGS
    # The repo budget of a shallow clone is only a lower bound, and is said to be.
    assert data["budgets"]["repo"].get("at_least") or data["budgets"]["repo"]["used"] is None
    assert any("shallow" in note for note in data["notes"])


# -- the CI examples ---------------------------------------------------------------------------

EXAMPLES = ROOT / "examples"


def ci_commands(name: str, job_filter: str) -> list[str]:
    """The shell lines of the example's jobs whose condition names `job_filter` that
    run git or repolicy (installing repolicy is the reader's business)."""
    data = yaml.safe_load((EXAMPLES / name).read_text())
    lines: list[str] = []
    for key, job in data.items():
        if not isinstance(job, dict) or str(key).startswith("."):
            continue
        if name == "github-actions.yml":
            if key != "jobs":
                continue
            for gh_job in job.values():
                if job_filter in gh_job.get("if", ""):
                    lines += [s["run"] for s in gh_job["steps"] if "run" in s]
        elif any(job_filter in rule.get("if", "") for rule in job.get("rules", [])):
            lines += job["script"]
    return [line for line in lines if re.match(r"(repolicy|git) ", line)]


@pytest.mark.parametrize(
    ("name", "event", "env"),
    [
        ("github-actions.yml", "pull_request", {"GITHUB_BASE_REF": "main"}),
        (
            "gitlab-ci.yml",
            "merge_request_event",
            {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"},
        ),
    ],
)
def test_the_examples_gate_a_pull_request_on_its_own_commits(
    feature: Repo, tmp_path: Path, name: str, event: str, env: dict[str, str]
) -> None:
    shim = tmp_path / "bin" / "repolicy"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m repolicy "$@"\n')
    shim.chmod(0o755)
    # The CI checkout: a clone holding the pull request's head, detached.
    clone = shallow_clone(feature, tmp_path, "--branch", "feature")
    clone.git("checkout", "-q", "--detach")
    run_env = {
        **os.environ,
        **env,
        "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
    }
    commands = ci_commands(name, event)
    assert any("check --base" in line for line in commands), commands
    outputs = []
    for line in commands:
        proc = subprocess.run(
            ["bash", "-e", "-c", line], cwd=clone.path, env=run_env, capture_output=True, text=True
        )
        expected = 1 if line.startswith("repolicy ") else 0
        assert proc.returncode == expected, (line, proc.stderr)
        outputs.append(proc.stdout)
    report = "".join(outputs)
    # The branch's own violations, not main's `old.log` or `later.log`.
    for _, path in FEATURE_FINDINGS:
        assert str(path) in report
    assert "old.log" not in report and "later.log" not in report


@pytest.mark.parametrize(
    ("name", "event"), [("github-actions.yml", "push"), ("gitlab-ci.yml", "CI_DEFAULT_BRANCH")]
)
def test_the_examples_audit_the_default_branch(
    feature: Repo, tmp_path: Path, name: str, event: str
) -> None:
    commands = ci_commands(name, event)
    assert commands and all(line.startswith("repolicy audit") for line in commands)
