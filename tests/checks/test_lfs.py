"""An `lfs` item with `above: SIZE`: only the larger blobs must be LFS pointers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo

MB = 1000 * 1000

POLICY = 'lfs:\n  - {pattern: "*.bin", above: 10 MB}\n'
RULE = "lfs: *.bin above 9.5 MiB (10,000,000 bytes)"


def judged(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def staged(repo: Repo, policy: str, files: dict[str, int]) -> dict[str, Any]:
    repo.write(".repolicy.yaml", policy)
    for name, size in files.items():
        repo.write(name, size=size)
    repo.add(".repolicy.yaml", *files)
    return judged(repo.run("check", "--format", "json"))


def test_only_blobs_over_the_size_must_be_pointers(repo: Repo) -> None:
    data = staged(
        repo,
        POLICY,
        {"under.bin": 5 * MB, "at.bin": 10 * MB, "over.bin": 10 * MB + 1, "over.dat": 20 * MB},
    )
    assert found(data) == {("lfs-missing", "over.bin"), ("lfs-attr-missing", "over.bin")}
    missing = next(v for v in data["violations"] if v["check"] == "lfs-missing")
    assert missing["rule"] == RULE
    assert (
        "over the 9.5 MiB (10,000,000 bytes) from which the policy keeps it in LFS"
        in (missing["message"])
    )
    # A size cannot be a .gitattributes pattern: the advice names the file.
    assert "git lfs track --filename -- over.bin" in missing["fix"]


def test_a_large_file_stored_through_git_lfs_passes(repo: Repo) -> None:
    repo.git("lfs", "install", "--local")
    repo.git("lfs", "track", "--filename", "big.bin")
    repo.write(".repolicy.yaml", POLICY)
    repo.write("big.bin", b"\1" * (12 * MB))
    repo.write("small.bin", size=MB)  # stays an ordinary blob, with no attribute
    repo.add(".gitattributes", ".repolicy.yaml", "big.bin", "small.bin")
    assert repo.git("cat-file", "-p", ":big.bin").startswith("version https://git-lfs")
    assert judged(repo.run("check", "--format", "json"))["violations"] == []


def test_fix_writes_no_rule_and_prints_the_per_file_command(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY + '  - "*.pth"\n')
    repo.write("under.bin", size=MB)
    repo.write("over.bin", size=11 * MB)
    repo.add(".repolicy.yaml", "under.bin", "over.bin")
    repo.commit("raw blobs")
    proc = repo.run("fix")
    assert proc.returncode == 1, proc.stderr
    attributes = (repo.path / ".gitattributes").read_text()
    assert "*.pth filter=lfs" in attributes and ".bin" not in attributes
    lines = proc.stdout.splitlines()
    command = next(line.strip() for line in lines if "--filename" in line)
    assert command == (
        "git lfs install && git lfs track --filename -- over.bin && git add .gitattributes "
        "&& git add --renormalize -- over.bin"
    )
    why = lines[lines.index(next(line for line in lines if "--filename" in line)) - 1]
    assert ".gitattributes cannot express a size" in why and RULE in why
    assert "under.bin" not in proc.stdout
    # The printed command does what it says: afterwards the staged file is a pointer.
    subprocess.run(["sh", "-c", command], cwd=repo.path, check=True, capture_output=True)
    assert repo.git("cat-file", "-p", ":over.bin").startswith("version https://git-lfs")
    assert repo.git("check-attr", "filter", "--", "under.bin").endswith("unspecified\n")
    assert judged(repo.run("check", "--format", "json"))["violations"] == []


def test_the_first_matching_item_and_its_size_decide(repo: Repo) -> None:
    policy = 'lfs:\n  - {pattern: "models/**", above: 1 MB}\n  - "*.bin"\n'
    data = staged(repo, policy, {"models/small.bin": MB // 2, "other/small.bin": MB // 2})
    assert found(data) == {
        ("lfs-missing", "other/small.bin"),
        ("lfs-attr-missing", "other/small.bin"),
    }
    proc = repo.run("explain", "--format", "json", "models/small.bin")
    rules = json.loads(proc.stdout)["paths"][0]["rules"]
    assert [(r["pattern"], r["above"], r["wins"]) for r in rules if r["key"] == "lfs"] == [
        ("models/**", MB, True),
        ("*.bin", None, False),
    ]
    text = repo.run("explain", "models/small.bin").stdout
    assert "lfs: models/** above 976.6 KiB (1,000,000 bytes)  [.repolicy.yaml:2]  (wins)" in text


def test_a_size_on_a_preset_item_replaces_it_in_place(repo: Repo) -> None:
    """The huggingface preset keeps every `*.bin` in LFS; a team lets the small
    ones stay in git (text, so the Hub's binary limit does not apply)."""
    policy = 'extends: [huggingface]\nlfs:\n  - {pattern: "*.bin", above: 10 MB}\n'
    repo.write(".repolicy.yaml", policy)
    repo.write("vocab.bin", "token\n" * (2 * MB // 6))
    repo.write("merges.bin", "a b\n" * (10_200_000 // 4))
    repo.add(".repolicy.yaml", "vocab.bin", "merges.bin")
    data = judged(repo.run("check", "--format", "json"))
    assert found(data) == {("lfs-missing", "merges.bin"), ("lfs-attr-missing", "merges.bin")}


# -- history, push and the server ------------------------------------------------


def history(repo: Repo) -> tuple[str, str]:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    base = repo.commit("policy")
    repo.write("under.bin", size=5 * MB)
    repo.write("over.bin", size=11 * MB)
    repo.add("under.bin", "over.bin")
    added = repo.commit("raw weights")
    repo.git("rm", "-q", "over.bin")
    repo.commit("drop the large one")
    return base, added


def test_audit_push_and_range_judge_the_size_in_history(repo: Repo) -> None:
    base, added = history(repo)
    audit = judged(repo.run("audit", "--format", "json"))
    pushed = judged(repo.run("check", "--push", "--from-ref", base, "--to-ref", "HEAD",
                             "--format", "json"))  # fmt: skip
    ranged = judged(repo.run("check", "--range", f"{base}..HEAD", "--format", "json"))
    want = {(check, "over.bin", added, RULE) for check in ("lfs-missing", "lfs-attr-missing")}
    for data in (audit, pushed, ranged):
        got = {(v["check"], v["path"], v["commit"], v["rule"]) for v in data["violations"]}
        assert got == want
    assert ranged["violations"] == pushed["violations"]


@pytest.fixture
def server(tmp_path: Path) -> Path:
    path = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def test_the_server_refuses_only_the_large_raw_blob(repo: Repo, server: Path) -> None:
    repo.git("remote", "add", "origin", f"file://{server}")
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.git("push", "-q", "origin", "main")
    report = server / "report.json"
    hook = server / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\n{sys.executable} -m repolicy check --pre-receive --format json > {report}\n"
    )
    hook.chmod(0o755)

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.path,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    repo.write("under.bin", size=5 * MB)
    repo.add("under.bin")
    repo.commit("small weights")
    assert push().returncode == 0
    assert json.loads(report.read_text())["violations"] == []
    repo.write("over.bin", size=11 * MB)
    repo.add("over.bin")
    bad = repo.commit("large weights")
    proc = push()
    assert proc.returncode != 0 and "pre-receive hook declined" in proc.stderr
    data = json.loads(report.read_text())
    assert {(v["check"], v["path"], v["commit"]) for v in data["violations"]} == {
        ("lfs-missing", "over.bin", bad),
        ("lfs-attr-missing", "over.bin", bad),
    }


def test_audit_asks_the_attribute_only_of_large_untracked_files(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.write("new/small.bin", size=MB)
    repo.write("new/large.bin", size=11 * MB)
    data = judged(repo.run("audit", "--format", "json"))
    assert found(data) == {("lfs-attr-missing", "new/large.bin")}
