"""`budgets.file_binary`: binary blobs (git's rule: a NUL byte in the first 8,000
bytes) bounded apart from text, in every command that judges blobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo

MB = 1000 * 1000
MiB = 1024 * 1024

POLICY = "budgets:\n  file: 10 MiB\n  file_binary: 1 MB\n"
BINARY_RULE = "budgets.file_binary: 976.6 KiB (1,000,000 bytes)"


def text(size: int) -> bytes:
    """`size` bytes of lines, with no NUL byte anywhere."""
    line = b"step 1000: loss 0.125, accuracy 0.97\n"
    return (line * (size // len(line) + 1))[:size]


def nul_at(size: int, where: int) -> bytes:
    """Text of `size` bytes with one NUL byte at offset `where`."""
    data = bytearray(text(size))
    data[where] = 0
    return bytes(data)


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def judged(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def git_binary(repo: Repo, *args: str) -> set[str]:
    """The paths git's own diff takes for binary: `--numstat` shows `-` for them."""
    out = repo.git("diff", "--numstat", "-z", *args)
    fields = out.split("\0")
    return {f.split("\t")[2] for f in fields if f.startswith("-\t-\t")}


# Around git's 8,000-byte probe, and either side of the budget.
FILES = {
    "nul-at-0.dat": nul_at(2 * MB, 0),
    "nul-at-7999.dat": nul_at(2 * MB, 7999),
    "nul-at-8000.dat": nul_at(2 * MB, 8000),
    "nul-at-end.dat": nul_at(2 * MB, 2 * MB - 1),
    "plain.txt": text(2 * MB),
    "small-binary.dat": nul_at(MB, 10),  # at the budget, not over it
}


def test_binary_is_what_git_calls_binary_at_the_8000th_byte(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    for name, data in FILES.items():
        repo.write(name, data)
    repo.add(".repolicy.yaml", *FILES)
    data = judged(repo.run("check", "--format", "json"))
    flagged = {v["path"] for v in data["violations"]}
    binary = git_binary(repo, "--cached")
    assert binary == {"nul-at-0.dat", "nul-at-7999.dat", "small-binary.dat"}
    assert flagged == binary - {"small-binary.dat"}
    (first, *_) = sorted(data["violations"], key=lambda v: v["path"])
    assert (first["check"], first["rule"], first["size"]) == (
        "file-too-large",
        BINARY_RULE,
        2 * MB,
    )
    assert (
        "1.9 MiB (2,000,000 bytes), over the 976.6 KiB (1,000,000 bytes) limit for a "
        in (first["message"])
    )


def test_packed_history_is_judged_by_the_same_rule(repo: Repo) -> None:
    """Packed blobs come through cat-file, whose answers are read past after
    8,000 bytes; what audit finds is still what git's diff calls binary."""
    repo.write(".repolicy.yaml", POLICY)
    for name, data in FILES.items():
        repo.write(name, data)
    repo.add(".repolicy.yaml", *FILES)
    first = repo.commit("files")
    repo.git("rm", "-q", "--", *FILES)
    repo.commit("gone again")
    repo.git("gc", "-q")
    assert not list((repo.path / ".git" / "objects").glob("??/*")), "all packed"
    data = judged(repo.run("audit", "--format", "json"))
    got = {(v["path"], v["commit"], v["rule"]) for v in data["violations"]}
    empty_tree = repo.git("hash-object", "-t", "tree", "/dev/null").strip()
    binary = git_binary(repo, empty_tree, first)
    assert got == {(p, first, BINARY_RULE) for p in binary - {"small-binary.dat"}}
    assert binary - {"small-binary.dat"} == {"nul-at-0.dat", "nul-at-7999.dat"}


def test_without_file_binary_a_binary_blob_is_bounded_as_any_file(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets: {file: 10 MiB}\n")
    repo.write("weights.dat", nul_at(2 * MB, 0))
    repo.add(".repolicy.yaml", "weights.dat")
    assert judged(repo.run("check", "--format", "json"))["violations"] == []


def test_a_pattern_item_sets_its_own_binary_budget(repo: Repo) -> None:
    repo.write(
        ".repolicy.yaml",
        POLICY
        + "  patterns:\n"
        + '    - {pattern: "assets/**", file_binary: 5 MB}\n'
        + '    - {pattern: "*.ico", file_binary: null}\n',
    )
    files = {
        "assets/logo.dat": nul_at(2 * MB, 0),  # under its item's 5 MB
        "assets/video.dat": nul_at(6 * MB, 0),  # over it
        "assets/favicon.ico": nul_at(6 * MB, 0),  # the later item lifts the budget
        "elsewhere.dat": nul_at(2 * MB, 0),  # the top-level 1 MB
    }
    for name, data in files.items():
        repo.write(name, data)
    repo.add(".repolicy.yaml", *files)
    data = judged(repo.run("check", "--format", "json"))
    assert {(v["path"], v["rule"]) for v in data["violations"]} == {
        ("assets/video.dat", "budgets.patterns[assets/**].file_binary: 4.8 MiB (5,000,000 bytes)"),
        ("elsewhere.dat", BINARY_RULE),
    }
    explained = json.loads(repo.run("explain", "--format", "json", "assets/video.dat").stdout)[
        "paths"
    ][0]
    items = [r for r in explained["rules"] if r["key"] == "budgets.patterns"]
    assert [(r["pattern"], r["wins"], r["limits"]) for r in items] == [
        ("assets/**", True, {"file_binary": 5 * MB})
    ]


def test_the_text_limit_still_bounds_a_binary_blob(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("huge.dat", nul_at(11 * MiB, 0))
    repo.add(".repolicy.yaml", "huge.dat")
    (violation,) = judged(repo.run("check", "--format", "json"))["violations"]
    assert violation["rule"] == "budgets.file: 10.0 MiB (10,485,760 bytes)"


def test_file_binary_survives_the_policy_cache(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    past = time.time() - 60  # older than the cache's racy window, so it is cached
    os.utime(repo.path / ".repolicy.yaml", (past, past))
    repo.write("weights.dat", nul_at(2 * MB, 0))
    repo.add(".repolicy.yaml", "weights.dat")
    first = repo.run("check", "--format", "json")
    assert (repo.path / ".git" / "repolicy" / "policy.cache").exists()
    second = repo.run("check", "--format", "json")
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    assert json.loads(second.stdout)["violations"][0]["rule"] == BINARY_RULE


# -- the Hugging Face Hub preset against the Hub's own figures ------------------


@pytest.mark.parametrize(
    ("name", "data", "rule"),
    [
        # A raw binary under an extension the preset's lfs list does not name:
        # the Hub refuses binary files over 1 MB outside LFS.
        pytest.param("weights.dat", nul_at(2 * MB, 100), BINARY_RULE, id="binary-2MB"),
        # Text is refused only over 10 MiB.
        pytest.param("notes.txt", text(2 * MB), None, id="text-2MB"),
        pytest.param("corpus.txt", text(10 * MiB), None, id="text-10MiB"),
        pytest.param(
            "corpus.txt",
            text(11 * MiB),
            "budgets.file: 10.0 MiB (10,485,760 bytes)",
            id="text-11MiB",
        ),
    ],
)
def test_the_huggingface_preset_has_the_hubs_figures(
    repo: Repo, name: str, data: bytes, rule: str | None
) -> None:
    repo.write(".repolicy.yaml", "extends: [huggingface]\n")
    repo.write(name, data)
    repo.add(".repolicy.yaml", name)
    proc = repo.run("check", "--format", "json")
    got = [(v["check"], v["path"], v["rule"]) for v in judged(proc)["violations"]]
    assert got == ([("file-too-large", name, rule)] if rule else [])
    assert proc.returncode == (1 if rule else 0)


# -- push, range and the server --------------------------------------------------


def history(repo: Repo) -> tuple[str, str]:
    """A policy commit, then one with a 2 MB binary and a 2 MB text file; the
    binary is deleted again in a third. Returns (base, the commit that added it)."""
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    base = repo.commit("start")
    repo.write("weights.dat", nul_at(2 * MB, 7999))
    repo.write("log.txt", nul_at(2 * MB, 8000))
    repo.add("weights.dat", "log.txt")
    added = repo.commit("weights")
    repo.git("rm", "-q", "weights.dat")
    repo.commit("drop the weights")
    return base, added


def test_push_and_range_judge_the_binary_in_every_pushed_commit(repo: Repo) -> None:
    base, added = history(repo)
    pushed = judged(repo.run("check", "--push", "--from-ref", base, "--to-ref", "HEAD",
                             "--format", "json"))  # fmt: skip
    ranged = judged(repo.run("check", "--range", f"{base}..HEAD", "--format", "json"))
    assert found(pushed) == {("file-too-large", "weights.dat")}
    assert pushed["violations"][0]["commit"] == added
    assert pushed["violations"][0]["rule"] == BINARY_RULE
    assert ranged["violations"] == pushed["violations"]


def test_audit_finds_the_binary_in_history(repo: Repo) -> None:
    _, added = history(repo)
    data = judged(repo.run("audit", "--format", "json"))
    assert {(v["check"], v["path"], v["commit"]) for v in data["violations"]} == {
        ("file-too-large", "weights.dat", added)
    }


@pytest.fixture
def server(tmp_path: Path) -> Path:
    path = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def install(server: Path) -> Path:
    report = server / "report.json"
    hook = server / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\n{sys.executable} -m repolicy check --pre-receive --format json > {report}\n"
    )
    hook.chmod(0o755)
    return report


def test_the_server_refuses_a_push_that_brings_a_binary(repo: Repo, server: Path) -> None:
    repo.git("remote", "add", "origin", f"file://{server}")
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.git("push", "-q", "origin", "main")
    report = install(server)
    repo.write("log.txt", nul_at(2 * MB, 8000))  # text by git's rule: accepted
    repo.add("log.txt")
    accepted = repo.commit("a long log")
    proc = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(report.read_text())["violations"] == []
    repo.write("weights.dat", nul_at(2 * MB, 7999))
    repo.add("weights.dat")
    bad = repo.commit("weights")
    repo.git("rm", "-q", "weights.dat")
    repo.commit("drop them")
    proc = subprocess.run(["git", "push", "-q", "origin", "main"], cwd=repo.path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode != 0 and "pre-receive hook declined" in proc.stderr
    data = json.loads(report.read_text())
    assert [(v["check"], v["path"], v["commit"], v["rule"]) for v in data["violations"]] == [
        ("file-too-large", "weights.dat", bad, BINARY_RULE)
    ]
    assert data["command"] == "pre-receive"
    server_main = subprocess.run(["git", "rev-parse", "main"], cwd=server,
                                 capture_output=True, text=True, check=True)  # fmt: skip
    assert server_main.stdout.strip() == accepted


# -- a broken budget is reported where it is written -----------------------------


@pytest.mark.parametrize(
    ("budgets", "where", "said"),
    [
        ("  file_binary: 1 XB\n", "2:16", "bad size '1 XB'"),
        ("  file_bianry: 1 MB\n", "2:3", "did you mean 'file_binary'"),
        ("  file_binary: [1]\n", "2:16", "budgets.file_binary must be a size"),
        ('  patterns:\n    - {pattern: "*.png", file_binary: 2 ZB}\n', "3:39", "bad size"),
        ('  patterns:\n    - {pattern: "*.png", file_binay: 2 MB}\n', "3:26", "'file_binary'"),
    ],
)
def test_a_broken_binary_budget_is_reported_at_its_place(
    repo: Repo, budgets: str, where: str, said: str
) -> None:
    repo.write(".repolicy.yaml", "budgets:\n" + budgets)
    proc = repo.run("check")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f".repolicy.yaml:{where}: "), proc.stderr
    assert said in proc.stderr


def test_a_damaged_packed_blob_leaves_the_others_judged(repo: Repo) -> None:
    """Git dies reading one blob's contents: that blob is unreadable, and the
    blobs asked with it are read again and still judged binary or text."""
    import random

    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    start = repo.commit("policy")
    repo.write("damaged.dat", random.Random(7).randbytes(2 * MB))  # stored whole
    repo.write("weights.dat", nul_at(2 * MB, 7999))
    repo.write("log.txt", nul_at(2 * MB, 8000))
    repo.add("damaged.dat", "weights.dat", "log.txt")
    last = repo.commit("files")
    repo.git("repack", "-a", "-d", "-q")
    oid = repo.git("rev-parse", "HEAD:damaged.dat").strip()
    (idx,) = (repo.path / ".git" / "objects" / "pack").glob("*.idx")
    listing = repo.git("verify-pack", "-v", str(idx))
    offset = next(int(line.split()[4]) for line in listing.splitlines() if line.startswith(oid))
    pack = idx.with_suffix(".pack")
    data = bytearray(pack.read_bytes())
    data[offset + 10 : offset + 40] = bytes(30)  # inside its compressed contents
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    assert repo.git("cat-file", "-p", oid, check=False) == ""  # git dies on it
    for args in (("audit",), ("check", "--push", "--from-ref", start, "--to-ref", last)):
        got = judged(repo.run(*args, "--format", "json"))
        assert {(v["check"], v["path"]) for v in got["violations"]} == {
            ("blob-unreadable", "damaged.dat"),
            ("file-too-large", "weights.dat"),
        }, args
