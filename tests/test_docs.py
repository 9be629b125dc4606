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
# The project's own copy of the contract's check table (CONTRACT.md section 4):
# a fresh clone has no ../shared, and its tests must still know every name.
CHECKS_TABLE = ROOT / "docs" / "checks.md"
HEADINGS = ("What it does", "Why it matters", "Example", "How to fix", "Policy keys")


_ROW = re.compile(r"^\| `([a-z-]+)` \|[^|]*\| (\w+)[^|]* \| ([^|]+) \|$", re.MULTILINE)


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if _ROW.match(line)]


def contract_checks() -> dict[str, tuple[str, str]]:
    """{check: (default severity, reported by)} from docs/checks.md, the contract's table."""
    rows = _ROW.findall(CHECKS_TABLE.read_text())
    assert len(rows) >= 19
    return {name: (severity, by.strip()) for name, severity, by in rows}


@pytest.mark.shared
def test_the_check_table_is_the_contracts() -> None:
    section = CONTRACT.read_text().split("## 4. Check names", 1)[1].split("## 5.", 1)[0]
    # Checks added since the contract's table was written follow it, under their own heading.
    ours = CHECKS_TABLE.read_text().split("## Beyond the contract's table", 1)[0]
    assert table_rows(ours) == table_rows(section), (
        f"{CHECKS_TABLE.relative_to(ROOT)} differs from CONTRACT.md section 4; copy its rows"
    )


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


COMMANDS = ("check", "audit", "fix", "explain", "init", "install", "rule")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_two_examples_and_its_exit_codes(
    repo: Repo, tmp_path: Path, command: str
) -> None:
    proc = repo.run(command, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    examples = proc.stdout.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(examples) == 2 and all(e.startswith("  repolicy ") for e in examples), examples
    codes = proc.stdout.split("\nexit codes:\n", 1)[1].splitlines()
    assert next(c.split()[0] for c in codes if c.strip()) == "0"
    assert any(c.split()[0] == "2" for c in codes if c.strip())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_only_the_formats_a_command_accepts(
    repo: Repo, tmp_path: Path, command: str
) -> None:
    helped = repo.run(command, "--help", cwd=tmp_path).stdout
    listed = set(re.search(r"--format \{([a-z,]+)\}", helped).group(1).split(","))  # type: ignore[union-attr]
    for fmt in ("text", "json", "sarif", "github"):
        path = ["a.pth"] if command == "explain" else []
        proc = repo.run(command, *path, "--format", fmt, "--not-an-option", cwd=tmp_path)
        # An accepted format gets as far as the unknown option; a refused one stops at --format.
        assert ("--format" in proc.stderr) == (fmt not in listed), (fmt, proc.stderr)
