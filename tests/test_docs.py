"""Every check explains itself: `repolicy rule`, the README, and the contract's name table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from repolicy.checks import REGISTRY, doc

from .conftest import ROOT, Repo

CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"
HEADINGS = ("What it does", "Why it matters", "Example", "How to fix", "Policy keys")


def contract_checks() -> dict[str, tuple[str, str]]:
    """{check: (default severity, reported by)} from CONTRACT.md §4."""
    assert CONTRACT.is_file(), f"the contract is expected at {CONTRACT}"
    section = CONTRACT.read_text().split("## 4. Check names", 1)[1].split("## 5.", 1)[0]
    # A severity may carry a note: "error (warning in a partial clone)".
    rows = re.findall(r"^\| `([a-z-]+)` \|[^|]*\| (\w+)[^|]* \| ([^|]+) \|$", section, re.MULTILINE)
    assert len(rows) >= 19
    return {name: (severity, by.strip()) for name, severity, by in rows}


def readme_table() -> str:
    lines = ["| check | severity | reported by | what it means |", "| --- | --- | --- | --- |"]
    for name, info in REGISTRY.items():
        summary = " ".join(line.strip() for line in doc(name).split("\n\n")[0].splitlines()[1:])
        lines.append(f"| `{name}` | {info.severity} | {', '.join(info.reported_by)} | {summary} |")
    return "\n".join(lines)


def test_every_contract_check_is_registered_with_its_severity() -> None:
    contract = contract_checks()
    # The contract's names are stable; a check it does not list yet is an
    # extension, documented like the others (the README table below).
    assert set(contract) <= set(REGISTRY)
    assert set(REGISTRY) - set(contract) <= {"baseline-unused"}
    for name, (severity, _by) in contract.items():
        assert REGISTRY[name].severity == severity, name


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_check_has_a_doc_with_the_fixed_headings(name: str) -> None:
    text = doc(name)
    positions = [text.find(f"{heading}\n") for heading in HEADINGS]
    assert all(p >= 0 for p in positions), f"{name}: missing a heading"
    assert positions == sorted(positions), f"{name}: headings out of order"
    for heading in HEADINGS:
        body = text.split(f"{heading}\n", 1)[1].split("\n\n", 1)[0]
        assert body.strip(), f"{name}: '{heading}' is empty"


def test_rule_prints_one_doc_and_works_outside_a_repository(repo: Repo, tmp_path: Path) -> None:
    proc = repo.run("rule", "lfs-missing", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith(
        "lfs-missing  (default severity: error; reported by: check, push, audit)"
    )
    assert doc("lfs-missing") in proc.stdout


def test_rule_without_names_lists_every_check(repo: Repo, tmp_path: Path) -> None:
    proc = repo.run("rule", cwd=tmp_path)
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.splitlines()[: len(REGISTRY)]]
    assert listed == list(REGISTRY)


def test_rule_json_carries_the_docs(repo: Repo, tmp_path: Path) -> None:
    proc = repo.run("rule", "excluded", "file-large", "--format", "json", cwd=tmp_path)
    entries = json.loads(proc.stdout)
    assert [e["name"] for e in entries] == ["excluded", "file-large"]
    assert entries[1]["severity"] == "warning"
    assert entries[0]["doc"] == doc("excluded")


def test_an_unknown_rule_suggests_the_nearest_and_exits_2(repo: Repo, tmp_path: Path) -> None:
    proc = repo.run("rule", "lfs-mising", cwd=tmp_path)
    assert proc.returncode == 2
    assert "did you mean 'lfs-missing'?" in proc.stderr


def test_the_readme_check_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme_table() in readme, "README check table is stale; expected:\n" + readme_table()


def test_the_readme_starts_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|console|bash)\n(.*?)```", readme, re.DOTALL)
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert run_cmd.startswith("pip install ") and "repolicy " in run_cmd
    assert test_cmd.startswith("pip install ") and "pytest" in test_cmd
    assert readme.index(run_cmd) < readme.index("## ")  # before any section
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines()


def test_every_published_hook_is_in_the_readme() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    readme = (ROOT / "README.md").read_text()
    for hook in hooks:
        assert f"id: {hook['id']}" in readme, hook["id"]
