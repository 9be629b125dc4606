"""Sizes where a budget is at stake carry their exact byte count beside the rounded figure."""

from __future__ import annotations

import json
import random
import re

import pytest

from repolicy.report import exact_size

from .conftest import Repo


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (512, "512 bytes"),
        (1023, "1,023 bytes"),
        (1024, "1.0 KiB (1,024 bytes)"),
        (100 * 1024**2, "100.0 MiB (104,857,600 bytes)"),
        (100 * 1000**2, "95.4 MiB (100,000,000 bytes)"),
        (5 * 1024**3, "5.0 GiB (5,368,709,120 bytes)"),
    ],
)
def test_a_size_with_a_unit_also_gives_its_bytes(size: int, shown: str) -> None:
    assert exact_size(size) == shown


def staged_check(repo: Repo, policy: str, name: str, size: int, code: int = 1) -> dict[str, object]:
    repo.write(".repolicy.yaml", policy)
    repo.write(name, size=size)
    repo.add(".repolicy.yaml", name)
    proc = repo.run("check", "--format", "json")
    assert proc.returncode == code, proc.stderr
    (violation,) = json.loads(proc.stdout)["violations"]
    assert isinstance(violation, dict)
    return violation


def test_one_byte_over_the_limit_reads_as_over_it(repo: Repo) -> None:
    v = staged_check(repo, "budgets: {file: 1 MiB}\n", "model.bin", 1024**2 + 1)
    # Rounded alone, both figures read "1.0 MiB".
    assert v["message"] == (
        "is 1.0 MiB (1,048,577 bytes), over the 1.0 MiB (1,048,576 bytes) limit "
        "for a file stored in git"
    )
    assert v["rule"] == "budgets.file: 1.0 MiB (1,048,576 bytes)"


def test_a_decimal_budget_is_not_mistaken_for_a_binary_one(repo: Repo) -> None:
    v = staged_check(repo, "budgets: {file: 1 MB, file_warn: 1 KB}\n", "model.bin", 10**6 + 1)
    assert v["check"] == "file-too-large"
    assert "over the 976.6 KiB (1,000,000 bytes) limit" in str(v["message"])


def test_the_warning_threshold_gives_bytes_too(repo: Repo) -> None:
    v = staged_check(repo, "budgets: {file_warn: 2 KiB}\n", "notes.bin", 3000, code=0)
    assert v["check"] == "file-large"
    assert v["message"] == (
        "is 2.9 KiB (3,000 bytes), over the 2.0 KiB (2,048 bytes) warning threshold "
        "for a file stored in git"
    )


def test_audit_budget_lines_give_bytes(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets: {repo: 1 KiB, lfs: 1 GiB}\n")
    repo.write("data.bin", random.Random(7).randbytes(10_000))  # does not compress
    repo.add(".repolicy.yaml", "data.bin")
    repo.commit("start")
    proc = repo.run("audit")
    assert proc.returncode == 1, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("budget repo:")]
    assert re.search(r"\] [\d.]+ KiB \([\d,]+ bytes\) / 1\.0 KiB \(1,024 bytes\)$", line), line
    (error,) = [ln for ln in proc.stdout.splitlines() if "[repo-budget]" in ln]
    assert "over the 1.0 KiB (1,024 bytes) budget" in error
    assert "the largest file in history is data.bin, 9.8 KiB (10,000 bytes);" in proc.stdout
