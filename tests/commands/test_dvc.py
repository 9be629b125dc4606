"""dvc-in-git, dvc-not-ignored and dvc-stale through check, check --push and audit,
in projects set up by the real `dvc`."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from ..conftest import Repo
from ..dvc.test_files import dvc
from ..test_advice import alternatives, copy, run_commands
from ..test_startup import imported_modules

PAST = time.time() - 3600


def project(repo: Repo) -> None:
    """`dvc init`, then one `dvc add` of a directory and a file, committed as DVC
    users do (the .dvc files and .gitignore). The data is an hour old, so the hash
    cache may keep it."""
    dvc(repo, "init", "-q")
    (repo.path / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    for k in range(3):
        os.utime(repo.write(f"data/images/img{k}.jpg", bytes([k]) * 1000), (PAST, PAST))
    os.utime(repo.write("data/labels.csv", "id,label\r\n1,cat\r\n"), (PAST, PAST))
    dvc(repo, "add", "-q", "data/images", "data/labels.csv")
    repo.git("add", "-A")
    repo.commit("data under DVC")


def run_json(repo: Repo, *args: str) -> tuple[int, dict[str, Any]]:
    proc = repo.run(*args, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def found(data: dict[str, Any], prefix: str = "dvc-") -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"] if v["check"].startswith(prefix)}


def stale_by_dvc(repo: Repo) -> set[str]:
    """The outputs `dvc status` reports as changed in the work tree."""
    changed = set()
    for entries in json.loads(dvc(repo, "status", "--json")).values():
        for entry in entries:
            if isinstance(entry, dict):
                changed.update(entry.get("changed outs", {}))
    return changed


def test_a_committed_project_is_clear(repo: Repo) -> None:
    project(repo)
    assert (repo.path / "data/.gitignore").read_text().split() == ["/images", "/labels.csv"]
    code, data = run_json(repo, "audit")
    assert found(data) == set()
    assert code == 0
    # DVC's hashes come from repolicy itself: dvc is never imported.
    modules = imported_modules(repo, "audit")
    assert "repolicy.dvc.files" in modules
    assert not {m for m in modules if m.split(".")[0] in ("dvc", "dvc_data", "dvc_objects")}


def test_stale_exactly_when_dvc_status_reports_a_change(repo: Repo) -> None:
    project(repo)
    # A new mtime with the same bytes is no change; new bytes in the directory are.
    os.utime(repo.path / "data/labels.csv")
    (repo.path / "data/images/img1.jpg").write_bytes(b"\1" * 999 + b"\2")
    code, data = run_json(repo, "audit")
    stale = {path for check, path in found(data) if check == "dvc-stale"}
    assert stale == stale_by_dvc(repo) == {"data/images"}
    assert code == 0  # a warning
    (violation,) = [v for v in data["violations"] if v["check"] == "dvc-stale"]
    assert violation["severity"] == "warning"
    # Each alternative DVC accepts, and each clears the warning.
    keep, restore = alternatives(violation["fix"])
    for name, commands in (("keep", keep), ("restore", restore)):
        clone = copy(repo, name)
        run_commands(clone, commands)
        assert found(run_json(clone, "audit")[1]) == set(), name


def test_force_added_data_is_dvc_in_git_for_check_push_and_audit(repo: Repo) -> None:
    project(repo)
    remote = repo.path.parent / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "--no-verify", "origin", "main")

    repo.git("add", "-f", "data/images/img0.jpg")
    code, data = run_json(repo, "check")
    assert code == 1
    assert found(data) == {("dvc-in-git", "data/images/img0.jpg")}
    (violation,) = data["violations"]
    assert violation["rule"] == "outs of data/images.dvc"
    assert violation["fix"].startswith("git rm -r -q --cached -- data/images")
    # as pre-commit runs it, with the staged file names
    assert repo.run("check", "data/images/img0.jpg").returncode == 1

    head = repo.commit("oops: the data went to git too")
    code, data = run_json(repo, "audit")
    assert code == 1
    assert found(data) == {("dvc-in-git", "data/images/img0.jpg")}
    assert data["violations"][0]["commit"] == head
    # Only the commit no remote has is rewritten.
    assert "-- refs/heads/main '^refs/remotes/origin/main'" in data["violations"][0]["fix"]

    line = (
        f"refs/heads/main {head} refs/heads/main {repo.git('rev-parse', 'origin/main').strip()}\n"
    )
    proc = repo.run(
        "check", "--push", "origin", str(remote), "--format", "json", input=line.encode()
    )
    assert proc.returncode == 1, proc.stderr
    assert found(json.loads(proc.stdout)) == {("dvc-in-git", "data/images/img0.jpg")}


def test_a_lost_gitignore_line_is_dvc_not_ignored(repo: Repo) -> None:
    project(repo)
    (repo.path / "data/.gitignore").write_text("/labels.csv\n")
    code, data = run_json(repo, "audit")
    assert code == 1
    assert found(data) == {("dvc-not-ignored", "data/images")}
    (violation,) = data["violations"]
    assert violation["fix"] == "echo /images >> data/.gitignore"
    repo.git("add", "data/.gitignore")
    code, data = run_json(repo, "check")
    assert code == 1
    assert found(data) == {("dvc-not-ignored", "data/images")}
    # Following the fix clears it.
    subprocess.run(violation["fix"], shell=True, cwd=repo.path, check=True)
    assert found(run_json(repo, "audit")[1]) == set()


def test_the_second_audit_trusts_the_hash_cache(repo: Repo) -> None:
    project(repo)
    assert found(run_json(repo, "audit")[1]) == set()
    cache = Path(repo.git("rev-parse", "--absolute-git-dir").strip()) / "repolicy" / "dvc-hashes"
    assert cache.is_file()
    # Same size, same mtime, same inode: the cache answers without reading,
    # so this edit (made behind its back) goes unseen...
    target = repo.path / "data/images/img2.jpg"
    st = target.stat()
    with open(target, "r+b") as fh:
        fh.write(b"X")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert found(run_json(repo, "audit")[1]) == set()
    # ... and without the cache, the data is read again and the change is found.
    cache.unlink()
    assert found(run_json(repo, "audit")[1]) == {("dvc-stale", "data/images")}


def test_a_malformed_dvc_file_stops_check_with_its_line(repo: Repo) -> None:
    repo.write("data/raw.dvc", "outs:\n- md5: abc\n  size: lots\n  path: raw\n")
    repo.add("data/raw.dvc")
    proc = repo.run("check")
    assert proc.returncode == 2
    # The same FILE:LINE:COL form as a broken policy, alone on its line.
    assert proc.stderr.strip() == "data/raw.dvc:3:9: 'size' must be a whole number, not 'lots'"


def test_policy_dvc_paths_without_dvc_files(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "dvc: [raw/]\n")
    repo.write("raw/a.bin", b"\0" * 10)
    repo.write("raw/b.bin", b"\0" * 10)
    repo.add(".repolicy.yaml", "raw/a.bin")
    code, data = run_json(repo, "check")
    assert code == 1
    assert found(data) == {("dvc-in-git", "raw/a.bin")}
    assert data["violations"][0]["rule"] == "dvc: raw/"
    repo.commit("raw data")
    code, data = run_json(repo, "audit")
    assert found(data) == {("dvc-in-git", "raw/a.bin"), ("dvc-not-ignored", "raw/b.bin")}


def test_check_without_dvc_stays_lean(repo: Repo) -> None:
    policy = repo.write(".repolicy.yaml", "exclude: ['*.tmp']\n")
    os.utime(policy, (PAST, PAST))
    repo.write("a.txt", "x")
    repo.add("a.txt")
    imported_modules(repo, "check")  # caches the policy
    modules = imported_modules(repo, "check")
    assert "yaml" not in modules
    assert "repolicy.dvc.files" not in modules
    assert "repolicy.checks.dvc" not in modules


def test_a_subdirectory_project_is_found_by_check(repo: Repo) -> None:
    # `dvc init --subdir` keeps .dvc/ inside the project, not at the top.
    (repo.path / "proj" / ".dvc").mkdir(parents=True)
    repo.write("proj/data.dvc", "outs:\n- md5: " + "0" * 32 + ".dir\n  hash: md5\n  path: data\n")
    repo.add("proj/data.dvc")
    repo.commit("dvc add proj/data")
    repo.write("proj/data/x.csv", "1,2\n")
    repo.add("proj/data/x.csv")
    code, data = run_json(repo, "check")
    assert code == 1
    assert ("dvc-in-git", "proj/data/x.csv") in found(data)


def test_data_that_must_leave_git_gets_no_storage_advice(repo: Repo) -> None:
    # LFS and size advice would contradict the fix: the data belongs to DVC.
    (repo.path / ".dvc").mkdir()
    repo.write(".repolicy.yaml", 'lfs: ["*.jpg"]\nbudgets: {file_warn: 1 KiB}\n')
    repo.write(
        "data/images.dvc", "outs:\n- md5: " + "0" * 32 + ".dir\n  hash: md5\n  path: images\n"
    )
    repo.add(".repolicy.yaml", "data/images.dvc")
    repo.commit("dvc add data/images")
    repo.write("data/images/big.jpg", b"\xff" * 4096)
    repo.write("photos/other.jpg", b"\xff" * 4096)
    repo.add("data/images/big.jpg", "photos/other.jpg")
    for args in (("check",), ("audit",)):
        _code, data = run_json(repo, *args)
        on_dvc_data = {v["check"] for v in data["violations"] if v["path"] == "data/images/big.jpg"}
        assert on_dvc_data == {"dvc-in-git"}, args
        elsewhere = {v["check"] for v in data["violations"] if v["path"] == "photos/other.jpg"}
        assert {"lfs-missing", "file-large"} <= elsewhere, args


def pipeline(repo: Repo) -> None:
    """A DVC pipeline whose stage writes `data/prepared/`, run and committed, and
    pushed to a bare `origin`."""
    dvc(repo, "init", "-q")
    (repo.path / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    dvc(
        repo, "stage", "add", "-q", "-n", "prepare", "-o", "data/prepared",
        "mkdir -p data/prepared && echo rows > data/prepared/rows.csv",
    )  # fmt: skip
    dvc(repo, "repro", "-q")
    repo.git("add", "-A")
    repo.commit("pipeline")
    remote = repo.path.parent / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "-u", "--no-verify", "origin", "main")


def test_a_stale_pipeline_output_gets_commands_dvc_accepts(repo: Repo) -> None:
    pipeline(repo)
    (repo.path / "data/prepared/rows.csv").write_text("edited\n")
    _code, data = run_json(repo, "audit")
    (violation,) = [v for v in data["violations"] if v["check"] == "dvc-stale"]
    assert "dvc commit dvc.lock" not in violation["fix"]
    commit, repro = alternatives(violation["fix"])
    for name, commands in (("commit", commit), ("repro", repro)):
        clone = copy(repo, name)
        run_commands(clone, commands)
        assert found(run_json(clone, "audit")[1]) == set(), name
        assert stale_by_dvc(clone) == set(), name


def test_a_force_added_pipeline_output_is_recorded_with_dvc_commit(repo: Repo) -> None:
    pipeline(repo)
    (repo.path / "data/prepared/rows.csv").write_text("changed\n")
    repo.git("add", "-f", "data/prepared/rows.csv")
    code, data = run_json(repo, "check")
    assert (code, found(data)) == (1, {("dvc-in-git", "data/prepared/rows.csv")})
    fix = data["violations"][0]["fix"]
    assert "dvc add" not in fix  # DVC refuses it: the path is a stage's output
    [commands] = alternatives(fix)
    run_commands(repo, commands)
    assert found(run_json(repo, "check")[1]) == set()
    assert stale_by_dvc(repo) == set()


def test_committed_pipeline_output_leaves_only_unpushed_history(repo: Repo) -> None:
    pipeline(repo)
    repo.git("add", "-f", "data/prepared/rows.csv")
    repo.write("notes.md", "why\n")
    repo.git("add", "notes.md")
    repo.commit("oops: the output went to git")
    repo.write("notes.md", "why not\n")
    repo.git("add", "notes.md")
    before = repo.commit("more notes")
    blob = repo.git("rev-parse", "HEAD:data/prepared/rows.csv").strip()
    _code, data = run_json(repo, "audit")
    (violation,) = [v for v in data["violations"] if v["check"] == "dvc-in-git"]
    [commands] = alternatives(violation["fix"])
    run_commands(repo, commands)
    repo.git("merge-base", "--is-ancestor", "origin/main", "main")
    assert repo.git("rev-parse", "main").strip() != before
    assert blob not in repo.git("rev-list", "--objects", "origin/main..main").split()
    assert "dvc-in-git" not in {check for check, _ in found(run_json(repo, "audit")[1])}
    # The data stayed on disk, where DVC expects it.
    assert (repo.path / "data/prepared/rows.csv").read_text() == "rows\n"
    assert stale_by_dvc(repo) == set()


def test_policy_data_staged_in_git_is_handed_to_dvc_as_advised(repo: Repo) -> None:
    dvc(repo, "init", "-q")
    (repo.path / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    repo.write(".repolicy.yaml", "dvc: [raw/]\n")
    repo.git("add", "-A")
    repo.commit("dvc init")
    repo.write("raw/-odd a.bin", b"\0" * 10)
    repo.add("raw/-odd a.bin")
    code, data = run_json(repo, "check")
    assert (code, found(data)) == (1, {("dvc-in-git", "raw/-odd a.bin")})
    [commands] = alternatives(data["violations"][0]["fix"])
    run_commands(repo, commands)
    repo.git("add", "-A")  # what the user commits next: the .dvc file and .gitignore
    assert found(run_json(repo, "check")[1]) == set()
    assert repo.git("ls-files", "--", "raw").split("\n") == [
        "raw/-odd a.bin.dvc",
        "raw/.gitignore",
        "",
    ]
