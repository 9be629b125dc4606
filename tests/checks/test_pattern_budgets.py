"""`budgets.patterns`: file budgets per pattern, the last matching item winning."""

from __future__ import annotations

import json
import os
import time

import pytest

from ..conftest import Repo

MiB = 1024 * 1024

POLICY = """\
budgets:
  file: 100 MiB
  file_warn: 50 MiB
  patterns:
    - {pattern: "*.ipynb", file: 2 MB, file_warn: 1 MB}
    - {pattern: "data/**", file: 1 MiB}
    - {pattern: data/raw/, file: null}
"""


def staged(repo: Repo, policy: str, files: dict[str, int]) -> tuple[int, dict[str, object]]:
    repo.write(".repolicy.yaml", policy)
    for name, size in files.items():
        repo.write(name, size=size)
    repo.add(".repolicy.yaml", *files)
    proc = repo.run("check", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_a_pattern_budget_bounds_only_the_paths_it_selects(repo: Repo) -> None:
    code, data = staged(
        repo,
        POLICY,
        {
            "nb/big.ipynb": 3 * MiB,
            "nb/mid.ipynb": 1_500_000,
            "nb/small.ipynb": 900_000,
            "src/model.py": 3 * MiB,
        },
    )
    got = {(v["check"], v["path"], v["rule"]) for v in data["violations"]}  # type: ignore[index]
    assert code == 1
    assert got == {
        (
            "file-too-large",
            "nb/big.ipynb",
            "budgets.patterns[*.ipynb].file: 1.9 MiB (2,000,000 bytes)",
        ),
        (
            "file-large",
            "nb/mid.ipynb",
            "budgets.patterns[*.ipynb].file_warn: 976.6 KiB (1,000,000 bytes)",
        ),
    }


def test_the_last_matching_item_wins_and_null_lifts_the_limit(repo: Repo) -> None:
    code, data = staged(repo, POLICY, {"data/raw/dump.bin": 5 * MiB, "data/clean.bin": 2 * MiB})
    got = {(v["check"], v["path"]) for v in data["violations"]}  # type: ignore[index]
    assert (code, got) == (1, {("file-too-large", "data/clean.bin")})


def test_a_pattern_budget_survives_the_policy_cache(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    past = time.time() - 60  # older than the cache's racy window, so it is cached
    os.utime(repo.path / ".repolicy.yaml", (past, past))
    repo.write("nb/big.ipynb", size=3 * MiB)
    repo.add(".repolicy.yaml", "nb/big.ipynb")
    first = repo.run("check", "-q")
    assert (repo.path / ".git" / "repolicy" / "policy.cache").exists()
    second = repo.run("check", "-q")
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    assert "budgets.patterns" not in first.stdout  # -q: one line, the message
    assert "over the 1.9 MiB (2,000,000 bytes) limit" in second.stdout


@pytest.mark.parametrize(
    ("budgets", "where", "said"),
    [
        ("  patterns:\n    - {file: 1 MB}\n", "3:7", "needs a 'pattern'"),
        ('  patterns:\n    - {pattern: "*.bin"}\n', "3:7", "sets no budget"),
        ('  patterns:\n    - {pattern: "*.bin", fle: 1 MB}\n', "3:26", "did you mean 'file'"),
        ('  patterns:\n    - {pattern: "*.bin", file: 1 XB}\n', "3:32", "bad size '1 XB'"),
        ('  patterns:\n    - {pattern: "[a", file: 1 MB}\n', "3:18", "bad pattern"),
        ("  patterns: {file: 1 MB}\n", "2:13", "budgets.patterns must be a list"),
        ("  pattern: []\n", "2:3", "did you mean 'patterns'"),
    ],
)
def test_a_broken_pattern_budget_is_reported_at_its_place(
    repo: Repo, budgets: str, where: str, said: str
) -> None:
    repo.write(".repolicy.yaml", "budgets:\n" + budgets)
    proc = repo.run("check")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f".repolicy.yaml:{where}: "), proc.stderr
    assert said in proc.stderr
