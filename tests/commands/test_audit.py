"""`repolicy audit`: history of every branch and tag, the index, and the work tree."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo

SEED = """\
include:
  - outputs/*/checkpoints/best.pth
exclude:
  - outputs/*/checkpoints/epoch_*.pth
  - "*.log"
lfs: ["*.pth"]
budgets: {file: 1 MiB, repo: 50 KiB}
"""


def audit(repo: Repo, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    proc = repo.run("audit", "--format", "json", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def test_history_of_every_branch_and_tag_is_audited(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.git("checkout", "-q", "-b", "old-experiment")
    repo.write("train.log", "x")
    repo.add("train.log")
    logged = repo.commit("log")
    repo.git("rm", "-q", "train.log")
    repo.commit("remove log")
    repo.git("tag", "exp-1")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-D", "-q", "old-experiment")  # only the tag keeps it
    repo.git("stash", "list")
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("excluded", "train.log")})
    assert data["violations"][0]["commit"] == logged
    # Only a tag keeps the commit: the rewrite must reach tags too.
    assert "--tag-name-filter cat -- --branches --tags" in data["violations"][0]["fix"]


def test_stashes_are_not_history(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.write("wip.log", "x")
    repo.add("wip.log")
    repo.git("stash", "-q")
    assert found(audit(repo)[1]) == set()


def test_the_lost_best_pth_and_the_parent_directory_trap(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.write(".gitignore", "outputs/\n!outputs/*/checkpoints/best.pth\n")
    repo.write(".gitattributes", "*.pth filter=lfs diff=lfs merge=lfs -text\n")
    repo.add(".repolicy.yaml", ".gitignore", ".gitattributes")
    repo.commit("policy")
    repo.write("outputs/run1/checkpoints/best.pth", "weights")
    repo.write("outputs/run1/checkpoints/epoch_1.pth", "weights")
    code, data = audit(repo)
    # git never looks inside outputs/: the '!' line cannot bring best.pth back.
    assert (code, found(data)) == (1, {("include-ignored", "outputs/run1/checkpoints/best.pth")})
    assert data["violations"][0]["fix"].startswith("repolicy fix")


def test_work_tree_files_git_add_would_take_or_skip(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.write(".gitattributes", "*.pth filter=lfs diff=lfs merge=lfs -text\n")
    repo.add(".repolicy.yaml", ".gitattributes")
    repo.commit("policy")
    repo.write("outputs/run1/checkpoints/best.pth", "weights")
    repo.write("outputs/run1/checkpoints/epoch_2.pth", "weights")
    repo.write("debug.log", "x")
    code, data = audit(repo)
    assert (code, found(data)) == (
        1,
        {
            ("include-untracked", "outputs/run1/checkpoints/best.pth"),
            ("not-ignored", "outputs/run1/checkpoints/epoch_2.pth"),
            ("not-ignored", "debug.log"),
        },
    )
    severities = {v["path"]: v["severity"] for v in data["violations"]}
    assert severities["outputs/run1/checkpoints/best.pth"] == "warning"
    # Once .gitignore agrees with the policy, the not-ignored findings go away.
    repo.write(".gitignore", "outputs/*/checkpoints/epoch_*.pth\n*.log\n")
    assert found(audit(repo)[1]) == {("include-untracked", "outputs/run1/checkpoints/best.pth")}


def test_lfs_attribute_missing_for_files_on_disk(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.write("models/current.pth", "weights")
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("lfs-attr-missing", "models/current.pth")})


def test_repository_budget_and_the_largest_blobs(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.write("data/noise.bin", random.Random(7).randbytes(200_000))  # does not compress
    repo.add("data/noise.bin")
    repo.commit("noise")
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("repo-budget", None)})
    assert data["budgets"]["repo"]["limit"] == 50 * 1024
    assert data["budgets"]["repo"]["used"] > 50 * 1024
    text = repo.run("audit").stdout
    assert "largest blobs in history" in text
    assert "data/noise.bin" in text.split("largest blobs in history", 1)[1]
    assert "budget repo: [" in text
    assert "on disk, as git stores it" in text and "uncompressed" in text


def test_unpushed_commits_and_no_upstream(repo: Repo, tmp_path: Path) -> None:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    data = audit(repo)[1]
    assert "the current branch has no upstream: nothing to compare with" in data["notes"]
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "r.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "r.git"))
    repo.git("push", "-q", "-u", "origin", "main")
    repo.commit("one more")
    repo.commit("and another")
    code, data = audit(repo)
    assert (code, found(data)) == (0, {("unpushed", None)})
    assert "2 commits origin/main lacks" in data["violations"][0]["message"]


def test_a_shallow_ci_checkout_audits_what_it_has(repo: Repo, tmp_path: Path) -> None:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.write("old.log", "x")
    repo.add(".repolicy.yaml", "old.log")
    repo.commit("old")
    repo.git("rm", "-q", "old.log")
    repo.commit("clean")
    repo.write("new.log", "x")
    repo.add("new.log")
    repo.commit("new")
    clone = tmp_path / "ci"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True
    )
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=clone, check=True)
    code, data = audit(repo, cwd=clone)
    assert (code, found(data)) == (1, {("excluded", "new.log")})
    assert any("shallow clone" in note for note in data["notes"])
    full = tmp_path / "ci-full"
    subprocess.run(["git", "clone", "-q", f"file://{repo.path}", str(full)], check=True)
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=full, check=True)
    subprocess.run(["git", "branch", "-q", "-D", "main"], cwd=full, check=True)
    # Only remote-tracking branches remain, as in many CI checkouts.
    assert found(audit(repo, cwd=full)[1]) == {("excluded", "new.log"), ("excluded", "old.log")}


def test_a_detached_head_no_branch_reaches_is_judged_through_the_index(repo: Repo) -> None:
    """A clean checkout of a commit no branch or tag reaches: history does not
    hold its files, so the index that holds them is judged instead."""
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.git("checkout", "-q", "--detach")
    repo.write("run.log", "x")
    repo.add("run.log")
    repo.commit("log on a detached head")
    assert repo.git("status", "--porcelain") == ""  # the index holds HEAD's tree
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("excluded", "run.log")})
    assert data["violations"][0]["commit"] is None
    # Once a branch reaches it, the same file is judged in history, at its commit.
    repo.git("branch", "kept")
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("excluded", "run.log")})
    assert data["violations"][0]["commit"] == repo.git("rev-parse", "HEAD").strip()


def test_a_users_git_flush_setting_changes_no_report(repo: Repo) -> None:
    """Git's output is fully buffered for every call (none is asked one question
    at a time): a GIT_FLUSH the user set, either way, changes no answer and
    hangs nothing, in the history walk, check-attr, check-ignore or the hook."""
    repo.write(".repolicy.yaml", SEED)
    repo.write(".gitignore", "ignored/\n")
    for k in range(300):
        repo.write(f"src/m{k}.py", f"x = {k}\n")
    repo.write("outputs/r/checkpoints/epoch_1.pth", "raw")
    repo.write("train.log", "x")
    repo.add(".repolicy.yaml", ".gitignore", "src", "outputs", "train.log")
    repo.commit("work")
    repo.write("ignored/a.log", "x")
    repo.write("loose.log", "x")
    repo.write("staged.log", "x")
    repo.add("staged.log")
    reports = [
        (repo.run("audit", "--format", "json", env=env).stdout,
         repo.run("check", "--format", "json", env=env).stdout)
        for env in ({}, {"GIT_FLUSH": "1"}, {"GIT_FLUSH": "0"})
    ]  # fmt: skip
    assert reports[0] == reports[1] == reports[2]
    assert {"excluded", "not-ignored"} <= {
        v["check"] for v in json.loads(reports[0][0])["violations"]
    }


def test_the_work_tree_is_walked_once_for_every_check_that_reads_it(repo: Repo) -> None:
    """`exclude`, `lfs`, `require`, `frozen`, `allow` and a DVC project each read
    the untracked files: one listing, and one `check-ignore` over it, serves all."""
    repo.write(
        ".repolicy.yaml",
        SEED + 'require: {"datasets/*/v*/": ["README.md"]}\nfrozen: ["datasets/*/v*/**"]\n'
        'allow: [{checks: [excluded], path: "*.log", reason: kept}]\n',
    )
    repo.write("datasets/x/v1/README.md", "x")
    repo.add(".repolicy.yaml", "datasets")
    repo.commit("policy")
    (repo.path / ".dvc").mkdir()
    repo.write("datasets/x/v1/new.csv", "a,b\n")
    repo.write("loose.log", "x")
    trace = repo.path.parent / "trace.txt"
    proc = repo.run("audit", "--format", "json", env={"GIT_TRACE": str(trace)})
    assert proc.returncode in (0, 1), proc.stderr
    checks = {v["check"] for v in json.loads(proc.stdout)["violations"]}
    assert {"not-ignored", "frozen-modified"} & checks, checks
    calls = [
        line for line in trace.read_text(errors="replace").splitlines() if "trace: built-in" in line
    ]
    assert sum(c.endswith("git ls-files -z --others") for c in calls) == 1, calls
    assert sum(c.endswith("git check-ignore -z --stdin") for c in calls) == 1, calls


def test_a_repository_without_commits_audits_index_and_work_tree(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.write("staged.log", "x")
    repo.add("staged.log")
    repo.write("loose.log", "x")
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("excluded", "staged.log"), ("not-ignored", "loose.log")})


def test_a_sha256_repository_is_audited(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = Repo(path)
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.write("a.log", "x")
    repo.add(".repolicy.yaml", "a.log")
    first = repo.commit("first")
    code, data = audit(repo)
    assert (code, found(data)) == (1, {("excluded", "a.log")})
    assert data["violations"][0]["commit"] == first and len(first) == 64


def test_progress_goes_to_a_terminal_and_nowhere_else(repo: Repo) -> None:
    import os
    import pty
    import sys

    repo.write(".repolicy.yaml", SEED)
    repo.write("a.log", "x")
    repo.add(".repolicy.yaml", "a.log")
    repo.commit("log")
    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "repolicy", "audit", "--format", "json"],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=follower,
        check=False,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal is gone: all was read
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    text = seen.decode()
    assert "objects scanned" in text and "s)" in text
    assert text.endswith("\r")  # the line is erased before the report
    assert json.loads(proc.stdout)["summary"]["errors"] == 1  # stdout untouched
    # Not a terminal: nothing at all on stderr.
    assert repo.run("audit").stderr == ""


def test_the_text_report_groups_by_check_worst_first(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.write("a.log", "x")
    repo.write("b.log", "x")
    repo.write("outputs/r1/checkpoints/best.pth", "w")
    repo.add(".repolicy.yaml", "a.log", "b.log")
    repo.commit("logs")
    out = repo.run("audit").stdout.splitlines()
    headers = [line for line in out if line.endswith(("error)", "errors)", "warning)"))]
    assert headers == [
        "excluded (2 errors)",
        "lfs-attr-missing (1 error)",
        "include-untracked (1 warning)",
    ]
    first = out.index("excluded (2 errors)")
    assert out[first + 1].startswith("a.log: error [excluded]")
    assert out[-1].startswith("repolicy audit: 3 errors, 1 warning")
    # No LFS object and no LFS budget: no `budget lfs` line.
    assert out[-2].startswith("budget repo: [") and not any("budget lfs" in ln for ln in out)


def rev_list_disk_usage(cwd: Path, *refs: str) -> int:
    out = subprocess.run(
        ["git", "rev-list", "--objects", "--disk-usage", "--branches", "--tags", *refs, "--"],
        cwd=cwd, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(out)


def tangled_history(repo: Repo, tmp_path: Path) -> None:
    """Merges, renames, reverts, deletions, tags of both kinds, a symlink, a submodule,
    and names git quotes: the shapes a walk can miss objects in."""
    sub = tmp_path / "sub"
    subprocess.run(["git", "init", "-q", str(sub)], check=True)
    subprocess.run(["git", "-C", str(sub), "commit", "-q", "--allow-empty", "-m", "s"], check=True)
    repo.write(".repolicy.yaml", "budgets: {repo: 1 GiB}\n")
    repo.write("a/b/c.txt", "one\n")
    repo.write(os.fsdecode(b"odd \x01:\nname\xff.txt"), "odd\n")
    repo.add(".")
    repo.commit("start")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    repo.commit("submodule")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("a/b/d.txt", "side\n")
    repo.write("a/x/deep/e.txt", "deep\n")
    repo.add("a")
    repo.commit("side work")
    repo.git("mv", "a/b/c.txt", "a/c-renamed.txt")
    os.symlink("c-renamed.txt", repo.path / "a" / "link")
    repo.add("a")
    repo.commit("rename and link")
    repo.git("checkout", "-q", "main")
    repo.write("a/b/c.txt", "two\n")
    repo.add("a")
    repo.commit("main work")
    repo.git("merge", "-q", "--no-edit", "side")
    repo.write("a/b/c.txt", "one\n")  # back to a tree seen before
    repo.add("a")
    repo.commit("revert")
    repo.git("rm", "-q", "-r", "a/x")
    repo.commit("drop a directory")
    repo.git("tag", "-a", "-m", "annotated", "v1")
    repo.git("tag", "light", "side")
    repo.git("checkout", "-q", "-b", "orphaned-side", "side~1")
    repo.write("only-here.bin", random.Random(3).randbytes(5000))
    repo.add("only-here.bin")
    repo.commit("only on a branch")
    repo.git("checkout", "-q", "main")


def test_the_repository_budget_counts_exactly_what_rev_list_counts(
    repo: Repo, tmp_path: Path
) -> None:
    # One walk of the history yields the blobs and every commit and tree, so
    # the disk usage is summed without rev-list's second walk: it must agree.
    tangled_history(repo, tmp_path)
    assert audit(repo)[1]["budgets"]["repo"]["used"] == rev_list_disk_usage(repo.path)
    repo.git("gc", "-q")  # packed: sizes on disk change, the agreement must not
    assert audit(repo)[1]["budgets"]["repo"]["used"] == rev_list_disk_usage(repo.path)
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--no-local", "--depth", "2", "--no-single-branch",
         f"file://{repo.path}", str(shallow)], check=True,
    )  # fmt: skip
    # A clone's other branches are remote-tracking ones, and audited as history.
    used = audit(repo, cwd=shallow)[1]["budgets"]["repo"]["used"]
    assert used == rev_list_disk_usage(shallow, "--remotes")


def asked_each_object(repo: Repo, cwd: Path | None = None) -> tuple[int, bool]:
    """The repository budget's figure, and whether git was asked the size of each object."""
    trace = (cwd or repo.path).parent / "trace.txt"
    trace.unlink(missing_ok=True)
    proc = repo.run("audit", "--format", "json", cwd=cwd, env={"GIT_TRACE": str(trace)})
    assert proc.returncode in (0, 1), proc.stderr
    used = json.loads(proc.stdout)["budgets"]["repo"]["used"]
    return used, "objectsize:disk" in trace.read_text(errors="replace")


def test_a_fresh_clone_is_measured_from_its_packs_and_agrees_with_rev_list(
    repo: Repo, tmp_path: Path
) -> None:
    # A clone holds its history and nothing else: the size of its packs is the
    # figure, and git need not be asked about each object.
    tangled_history(repo, tmp_path)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-local", f"file://{repo.path}", str(clone)])
    used, asked = asked_each_object(repo, cwd=clone)
    assert used == rev_list_disk_usage(clone, "--remotes")
    assert not asked


def test_objects_no_branch_reaches_do_not_count_against_the_budget(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets: {repo: 1 GiB}\n")
    repo.write("model.bin", random.Random(1).randbytes(20_000))
    repo.add(".")
    repo.commit("a model")
    repo.git("gc", "-q")
    repo.write("model.bin", random.Random(2).randbytes(20_000))
    repo.add(".")
    repo.git("commit", "-q", "--amend", "-m", "another model")  # the first is unreachable
    repo.git("repack", "-q", "-a", "-d")  # ... and packed beside the rest
    used, asked = asked_each_object(repo)
    assert used == rev_list_disk_usage(repo.path)
    assert used < 30_000 and asked  # one model, not both


def test_an_object_stored_both_loose_and_packed_counts_once(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets: {repo: 1 GiB}\n")
    repo.write("model.bin", random.Random(1).randbytes(20_000))
    repo.add(".")
    repo.commit("a model")
    repo.git("repack", "-q")  # packed, and the loose copies kept
    used, asked = asked_each_object(repo)
    assert used == rev_list_disk_usage(repo.path)
    assert used < 30_000 and asked


def test_an_object_in_two_packs_counts_its_larger_copy_in_every_run(repo: Repo) -> None:
    # Git sizes an object kept twice by whichever copy its last lookups lead
    # to: summed in another order, the same history would weigh less, and a
    # budget could pass one run and fail the next.
    from ..git.test_objects import copies_by_git, model_in_two_packs

    repo.write(".repolicy.yaml", "budgets: {repo: 1 GiB}\n")
    oid = model_in_two_packs(repo)
    reachable = {
        line.split()[0] for line in repo.git("rev-list", "--objects", "--all").splitlines()
    }
    copies = copies_by_git(repo)
    expected = sum(max(copies[o]) for o in reachable)
    runs = set()
    for seed in ("0", "1", "2", "3"):
        proc = repo.run("audit", "--format", "json", env={"PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        runs.add(json.loads(proc.stdout)["budgets"]["repo"]["used"])
    assert runs == {expected}
    # Git's own walk meets the smaller copy first: the audit says more, never less.
    assert expected - rev_list_disk_usage(repo.path) == max(copies[oid]) - min(copies[oid])


def test_a_tag_of_a_tag_counts_both_tag_objects(repo: Repo, tmp_path: Path) -> None:
    # The walk peels both and lists neither; the inner one keeps no ref of its own.
    repo.write(".repolicy.yaml", "budgets: {repo: 1 GiB}\n")
    repo.add(".repolicy.yaml")
    repo.commit("start")
    message = tmp_path / "message.txt"
    message.write_bytes(random.Random(4).randbytes(30_000).hex().encode())
    repo.git("-c", "advice.nestedTag=false", "tag", "-a", "-F", str(message), "inner")
    repo.git("-c", "advice.nestedTag=false", "tag", "-a", "-m", "outer", "outer", "inner")
    repo.git("tag", "-d", "inner")
    used = audit(repo)[1]["budgets"]["repo"]["used"]
    assert used == rev_list_disk_usage(repo.path) > 30_000


def test_remote_tracking_refs_naming_a_blob_a_tree_or_a_tag_are_judged_and_counted(
    repo: Repo,
) -> None:
    # A fetch can map any object into refs/remotes/ (tags, say): `git log`
    # passes over all but commits, yet the repository stores each.
    repo.write(".repolicy.yaml", "budgets: {repo: 1 GiB, file: 10 KiB}\n")
    repo.add(".repolicy.yaml")
    repo.commit("start")

    def blob(seed: int) -> str:
        data = random.Random(seed).randbytes(20_000)
        return repo.git("hash-object", "-w", "--stdin", input=data).strip()

    repo.git("update-ref", "refs/remotes/origin/weights", blob(1))
    # Named like a local branch, yet no branch stands for a blob.
    repo.git("update-ref", "refs/remotes/origin/main", blob(2))
    listing = f"100644 blob {blob(3)}\tmodel.bin\n".encode()
    tree = repo.git("mktree", input=listing).strip()
    repo.git("update-ref", "refs/remotes/origin/snapshot", tree)
    repo.git("tag", "-a", "-m", "x" * 40_000, "release")
    tag = repo.git("rev-parse", "release").strip()
    repo.git("tag", "-d", "release")
    repo.git("update-ref", "refs/remotes/origin/tags/release", tag)
    code, data = audit(repo)
    assert code == 1
    assert found(data) == {
        ("file-too-large", "refs/remotes/origin/weights"),
        ("file-too-large", "refs/remotes/origin/main"),
        ("file-too-large", "model.bin"),
    }
    assert data["budgets"]["repo"]["used"] == rev_list_disk_usage(repo.path, "--remotes")


def test_blobs_read_beside_the_walk_get_the_same_verdicts_as_git_gives(
    repo: Repo, tmp_path: Path
) -> None:
    """Sizes, pointers and attributes gathered while the walk streams, for more
    names than one pipe holds, match what the plumbing says blob by blob."""
    repo.write(".repolicy.yaml", "lfs: ['*.pth']\nbudgets: {file: 3 KiB}\n")
    repo.write(".gitattributes", "*.pth filter=lfs diff=lfs merge=lfs -text\n")
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 12345\n"
    for k in range(1500):
        repo.write(f"d{k % 7}/file {k}.txt", f"{k}\n" * (k % 5))
        repo.write(f"m/{k}.pth", pointer.format(f"{k:064x}"))
    repo.write("m/raw.pth", b"\x00raw weights" * 400)
    repo.write("big.bin", random.Random(5).randbytes(4000))
    repo.add(".")
    repo.commit("many")
    code, data = audit(repo)
    assert (code, found(data)) == (
        1, {("lfs-missing", "m/raw.pth"), ("file-too-large", "m/raw.pth"),
            ("file-too-large", "big.bin")},
    )  # fmt: skip
    assert data["budgets"]["lfs"]["used"] == 12345 * 1500


def test_an_old_git_without_batch_command_still_gets_every_fact(repo: Repo, tmp_path: Path) -> None:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\nbudgets: {file: 100 B}\n")
    repo.write("a.log", "x")
    repo.write("big.txt", "y" * 500)
    repo.add(".")
    repo.commit("start")
    shim = tmp_path / "bin"
    shim.mkdir()
    real = shutil.which("git")
    assert real is not None
    (shim / "git").write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do [ "$arg" = --batch-command ] && '
        "{ echo 'error: unknown option `batch-command'\"'\"'' >&2; exit 129; }; done\n"
        f'exec {real} "$@"\n'
    )
    (shim / "git").chmod(0o755)
    path = f"{shim}{os.pathsep}{os.environ['PATH']}"
    proc = repo.run("audit", "--format", "json", env={"PATH": path})
    assert proc.returncode == 1, proc.stderr
    assert found(json.loads(proc.stdout)) == {("excluded", "a.log"), ("file-too-large", "big.txt")}


def simply_largest(blobs: list[Any], count: int) -> list[tuple[Any, int]]:
    """The report's "largest blobs" by its definition, one pass over every blob."""
    versions: dict[str, int] = {}
    biggest: dict[str, Any] = {}
    for b in blobs:
        if b.commit and not b.unreadable and (b.pointer is None or not b.is_lfs_pointer):
            versions[b.path] = versions.get(b.path, 0) + 1
            if b.path not in biggest or b.size > biggest[b.path].size:
                biggest[b.path] = b
    chosen = sorted(biggest.values(), key=lambda b: -b.size)[:count]
    return [(b, versions[b.path]) for b in chosen]


@pytest.mark.parametrize("seed", range(40))
def test_the_largest_blobs_are_those_of_the_definition_ties_and_all(seed: int) -> None:
    # Only the largest blobs are sorted: paths met early that reach a tied
    # size late, many versions of one large file, pointers, unreadable blobs
    # and staged ones (no commit) must leave the list as the definition has it.
    from repolicy.engine.repository import largest_paths
    from repolicy.facts import BlobAtPath
    from repolicy.lfs import Pointer

    rng = random.Random(seed)
    sizes = [rng.choice([0, 1, 5, 5, 7, 100, 100, 10**6]) for _ in range(6)]
    blobs = []
    for k in range(rng.randint(0, 300)):
        path = f"p{rng.randint(0, rng.choice([3, 15, 200]))}"
        pointer = Pointer("a" * 64, 9) if rng.random() < 0.05 else None
        blobs.append(
            BlobAtPath(
                path, f"{k:040x}", "100644", rng.choice(sizes), pointer,
                commit=None if rng.random() < 0.05 else f"c{k}",
                unreadable="unreadable" if rng.random() < 0.03 else "",
            )
        )  # fmt: skip
    for count in (1, 3, 10):
        assert largest_paths(blobs, count) == simply_largest(blobs, count), (seed, count)


def test_the_index_is_judged_on_its_ours_side_without_submodules() -> None:
    # What `index_candidates` keeps: in a conflict only "ours" (stage 2), and
    # never a submodule (its commit is not a blob to read).
    from repolicy.facts import index_candidates, index_judged
    from repolicy.git import IndexEntry

    plain = [IndexEntry("100644", "a" * 40, 0, "x"), IndexEntry("120000", "b" * 40, 0, "l")]
    assert index_judged(plain) == plain
    mixed = [
        *plain,
        IndexEntry("160000", "c" * 40, 0, "sub"),
        *(IndexEntry("100644", str(k) * 40, k, "y") for k in (1, 2, 3)),
    ]
    judged = index_judged(mixed)
    assert [(e.path, e.stage) for e in judged] == [("x", 0), ("l", 0), ("y", 2)]
    assert [tuple(c) for c in index_candidates(mixed)] == [
        (e.path, e.oid, e.mode, None) for e in judged
    ]
