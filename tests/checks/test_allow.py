"""`allow:` exempts named paths from named checks in every command (CONTRACT §1, rev. 2).

The case from the field: a template tracks an empty `logs/.gitkeep` to keep the
directory, and `ml-checkpoints` excludes `logs/`. With an `allow` entry every
command lets it be, and still fails on the next real log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo, Server
from ..report.test_formats import valid

POLICY = """\
extends: [github]
exclude:
  - logs/
  - "*.tmp"
allow:
  - path: logs/.gitkeep
    checks: [excluded]
    reason: keeps the empty logs/ directory
"""


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def report(repo: Repo, *args: str) -> tuple[int, dict[str, Any]]:
    proc = repo.run(*args, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, data


@pytest.fixture
def kept(repo: Repo) -> Repo:
    """A repository that tracks logs/.gitkeep under a policy that excludes logs/."""
    repo.write(".repolicy.yaml", POLICY)
    repo.write("logs/.gitkeep")
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "logs/.gitkeep", "train.py")
    return repo


def test_check_lets_the_allowed_path_pass_and_still_blocks_the_rest(kept: Repo) -> None:
    code, data = report(kept, "check")
    assert (code, found(data)) == (0, set())

    kept.write("logs/train.tmp", "x")
    kept.add("logs/train.tmp")
    code, data = report(kept, "check")
    assert code == 1
    assert found(data) == {("excluded", "logs/train.tmp")}


def test_the_hook_with_file_names_and_pre_commit_all_files_pass(kept: Repo) -> None:
    kept.commit("start")
    proc = kept.run("check", "--", "logs/.gitkeep", "train.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_the_named_checks_are_allowed(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY.replace("checks: [excluded]", "checks: [lfs-missing]"))
    repo.write("logs/.gitkeep")
    repo.add(".repolicy.yaml", "logs/.gitkeep")
    code, data = report(repo, "check")
    assert (code, found(data)) == (1, {("excluded", "logs/.gitkeep")})


def test_without_checks_every_check_is_allowed(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY.replace("    checks: [excluded]\n", ""))
    repo.write("logs/.gitkeep")
    repo.add(".repolicy.yaml", "logs/.gitkeep")
    code, data = report(repo, "check")
    assert (code, found(data)) == (0, set())


def test_audit_and_push_honour_it_across_history(kept: Repo, tmp_path: Path) -> None:
    kept.commit("start")
    code, data = report(kept, "audit")
    assert code == 0, data
    assert ("excluded", "logs/.gitkeep") not in found(data)

    code, data = report(kept, "check", "--push", "--to-ref", "HEAD")
    assert (code, found(data)) == (0, set())

    kept.write("logs/run.tmp", "x")
    kept.add("logs/run.tmp")
    kept.commit("a log")
    code, data = report(kept, "check", "--push", "--to-ref", "HEAD")
    assert (code, found(data)) == (1, {("excluded", "logs/run.tmp")})


def test_allowed_and_baselined_counts_as_allowed_in_push_as_in_audit(repo: Repo) -> None:
    """`allow` is the policy's own word; the baseline records only what it does not
    exempt. A violation an older baseline holds and a newer `allow` entry covers
    is allowed, not accepted by the baseline."""
    without_allow = POLICY[: POLICY.index("allow:")]
    repo.write(".repolicy.yaml", without_allow)
    repo.write("logs/.gitkeep")
    repo.add(".repolicy.yaml", "logs/.gitkeep")
    repo.commit("start")
    written = repo.run("audit", "--write-baseline")
    assert written.returncode == 0, written.stderr
    assert "logs/.gitkeep" in (repo.path / ".repolicy-baseline").read_text()
    repo.write(".repolicy.yaml", POLICY)

    for command in (["check", "--push", "--to-ref", "HEAD"], ["audit"]):
        code, data = report(repo, *command, "--include-allowed")
        assert (code, found(data) - {("baseline-unused", ".repolicy-baseline")}) == (0, set())
        assert data["baseline"]["accepted"] == 0, command
        allowed = [(v["check"], v["path"]) for v in data["allowed"]]
        assert allowed == [("excluded", "logs/.gitkeep")], command


def test_the_server_honours_the_allow_list_of_its_policy(kept: Repo, server: Server) -> None:
    (server.path / "policy.yaml").write_text(POLICY)
    server.install("--policy", str(server.path / "policy.yaml"))
    kept.commit("start")
    server.connect(kept)
    pushed = server.push(kept, "main")
    assert pushed.returncode == 0, pushed.stderr
    assert found(server.last()) == set()


def test_explain_shows_the_entry_and_its_reason(kept: Repo) -> None:
    proc = kept.run("explain", "logs/.gitkeep", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)["paths"]
    assert entry["violations"] == []
    (allowed,) = entry["allowed"]
    assert allowed["check"] == "excluded"
    assert allowed["allow"] == {
        "path": "logs/.gitkeep",
        "checks": ["excluded"],
        "reason": "keeps the empty logs/ directory",
        "file": ".repolicy.yaml",
        "line": 6,
    }
    text = kept.run("explain", "logs/.gitkeep").stdout
    assert "allowed:    excluded, by allow: logs/.gitkeep" in text
    assert "keeps the empty logs/ directory" in text


def test_sarif_lists_an_allowed_finding_as_suppressed_only_when_asked(kept: Repo) -> None:
    plain = json.loads(kept.run("check", "--format", "sarif").stdout)
    assert plain["runs"][0]["results"] == []

    proc = kept.run("check", "--format", "sarif", "--include-allowed")
    assert proc.returncode == 0, proc.stderr
    log = json.loads(proc.stdout)
    valid(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "excluded"
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["justification"] == "keeps the empty logs/ directory"
    location = suppression["location"]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == ".repolicy.yaml"
    assert location["region"]["startLine"] == 6


def test_fix_neither_untracks_an_allowed_file_nor_hides_a_new_one(kept: Repo) -> None:
    kept.commit("start")
    kept.write("logs/.gitignore", "")  # stays visible to git as well
    kept.write(
        ".repolicy.yaml",
        POLICY + "  - path: logs/.gitignore\n    reason: keeps logs/ in a fresh clone\n",
    )
    kept.write("logs/run1.tmp", "x")
    proc = kept.run("fix")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "git rm --cached" not in proc.stdout
    untracked = kept.git("ls-files", "--others", "--exclude-standard").split()
    assert "logs/.gitignore" in untracked
    assert "logs/run1.tmp" not in untracked
    assert kept.run("fix", "--check").returncode == 0


def test_audit_warns_about_an_entry_that_matches_nothing(kept: Repo) -> None:
    kept.write(
        ".repolicy.yaml",
        POLICY + "  - path: old/.keep\n    reason: the old layout\n",
    )
    kept.add(".repolicy.yaml")
    kept.commit("start")
    code, data = report(kept, "audit")
    assert code == 0
    unused = [v for v in data["violations"] if v["check"] == "allow-unused"]
    assert [(v["severity"], v["path"], v["rule"]) for v in unused] == [
        ("warning", None, "allow: old/.keep")
    ]
    assert ".repolicy.yaml:9" in unused[0]["message"]
    assert kept.run("audit", "--strict").returncode == 1


@pytest.mark.parametrize(
    ("entry", "line", "col", "fragment"),
    [
        ("  - path: logs/.gitkeep\n", 6, 5, "needs a 'reason'"),
        ("  - {path: a, reason: ''}\n", 6, 23, "'reason' must say why"),
        ("  - {path: a, reason: r, checks: [exluded]}\n", 6, 35, "did you mean 'excluded'?"),
        ("  - {path: a, reason: r, check: [excluded]}\n", 6, 26, "did you mean 'checks'?"),
        ("  - logs/.gitkeep\n", 6, 5, "must be a mapping"),
    ],
)
def test_a_broken_entry_is_a_policy_error(
    repo: Repo, entry: str, line: int, col: int, fragment: str
) -> None:
    repo.write(".repolicy.yaml", POLICY.split("  - path:")[0] + entry)
    proc = repo.run("check")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f".repolicy.yaml:{line}:{col}: "), proc.stderr
    assert fragment in proc.stderr


def test_the_presets_let_placeholders_keep_an_excluded_directory(repo: Repo) -> None:
    """lightning-hydra-template: `logs/.gitkeep` (and an old `project/logs/.gitkeep`)."""
    repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n")
    for path in ("logs/.gitkeep", "project/logs/.gitkeep", "runs/.keep", "wandb/.gitignore"):
        repo.write(path)
    repo.write("lightning_logs/.gitignore", "*\n")  # not empty: not a mere placeholder
    repo.add(".repolicy.yaml", "logs", "project", "runs", "wandb", "lightning_logs")
    code, data = report(repo, "check")
    assert (code, found(data)) == (1, {("excluded", "lightning_logs/.gitignore")})
    repo.git("rm", "-q", "--cached", "lightning_logs/.gitignore")
    repo.commit("start")
    code, data = report(repo, "audit")
    assert code == 0, data
    assert not [v for v in data["violations"] if v["check"] == "allow-unused"]
    fixed = repo.run("fix")
    assert fixed.returncode == 0, fixed.stdout
    assert "git rm --cached" not in fixed.stdout
    assert repo.run("fix", "--check").returncode == 0
    every = repo.git("ls-files").split()
    assert repo.run("check", "--", *every).returncode == 0  # pre-commit run --all-files
    doc = repo.run("rule", "excluded").stdout
    assert "`.gitkeep`" in doc and "`.keep`" in doc and "`.gitignore`" in doc


def test_the_baseline_never_records_what_allow_exempts(kept: Repo) -> None:
    kept.write("old.tmp", "x")
    kept.add("old.tmp")
    kept.commit("start")
    assert kept.run("audit", "--write-baseline").returncode == 0
    recorded = (kept.path / ".repolicy-baseline").read_text()
    assert "old.tmp" in recorded
    assert "logs/.gitkeep" not in recorded
