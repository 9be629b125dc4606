"""`repolicy fix`: ignore and attribute rules that git itself agrees with."""

from __future__ import annotations

import json
import os
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
  - outputs/
  - "*.log"
lfs:
  - "*.pth"
"""


def fix(repo: Repo, *args: str) -> tuple[int, dict[str, Any]]:
    proc = repo.run("fix", "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def ignored(repo: Repo, *paths: str) -> set[str]:
    out = repo.git("check-ignore", "--no-index", "--", *paths, check=False)
    return set(out.splitlines())


def filter_of(repo: Repo, path: str) -> str:
    return repo.git("check-attr", "filter", "--", path).rsplit(": ", 1)[1].strip()


def seed_tree(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    for path in (
        "outputs/run1/checkpoints/best.pth",
        "outputs/run1/checkpoints/epoch_3.pth",
        "outputs/run1/samples/grid.png",
        "train.log",
        "src/model.py",
    ):
        repo.write(path, "x")


def test_the_parent_directory_trap_is_solved_the_way_git_reads_it(repo: Repo) -> None:
    seed_tree(repo)
    code, data = fix(repo)
    assert (code, data["conflicts"], data["commands"]) == (0, [], [])
    assert ignored(
        repo,
        "outputs/run1/checkpoints/best.pth",
        "outputs/run1/checkpoints/epoch_3.pth",
        "outputs/run1/samples/grid.png",
        "outputs/new/checkpoints/best.pth",
        "train.log",
        "src/model.py",
    ) == {"outputs/run1/checkpoints/epoch_3.pth", "outputs/run1/samples/grid.png", "train.log"}
    assert filter_of(repo, "outputs/run1/checkpoints/best.pth") == "lfs"
    # `git add -A` takes exactly what the policy keeps.
    repo.git("add", "-A")
    staged = set(repo.git("diff", "--cached", "--name-only").splitlines())
    assert staged == {
        ".gitattributes",
        ".gitignore",
        ".repolicy.yaml",
        "outputs/run1/checkpoints/best.pth",
        "src/model.py",
    }


def test_fix_is_idempotent_and_check_then_passes(repo: Repo) -> None:
    seed_tree(repo)
    fix(repo)
    before = {n: (repo.path / n).read_bytes() for n in (".gitignore", ".gitattributes")}
    code, data = fix(repo)
    assert (code, data["changed"]) == (0, [])
    assert {n: (repo.path / n).read_bytes() for n in before} == before
    assert repo.run("fix", "--check").returncode == 0


def test_check_and_diff_write_nothing_and_fail_when_a_change_is_needed(repo: Repo) -> None:
    seed_tree(repo)
    repo.write(".gitignore", "# mine\n")
    check = repo.run("fix", "--check")
    diff = repo.run("fix", "--diff")
    assert (check.returncode, diff.returncode) == (1, 1)
    assert (repo.path / ".gitignore").read_bytes() == b"# mine\n"
    assert not (repo.path / ".gitattributes").exists()
    assert "+++ b/.gitignore" in diff.stdout and "+*.log" in diff.stdout
    assert "--- /dev/null" in diff.stdout and "+*.pth filter=lfs" in diff.stdout


def test_hand_written_rules_that_work_are_left_alone(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log", wandb/]\nlfs: ["*.pth"]\n')
    repo.write(".gitignore", "*.log\nwandb/\n")
    repo.write(".gitattributes", "*.pth filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("wandb/run/x.txt", "x")
    repo.write("a.log", "x")
    code, data = fix(repo)
    assert (code, data["changed"], data["blocks"]) == (
        0,
        [],
        {".gitignore": [], ".gitattributes": []},
    )
    assert (repo.path / ".gitignore").read_bytes() == b"*.log\nwandb/\n"


def test_attribute_lines_are_what_git_lfs_track_writes(repo: Repo) -> None:
    if shutil.which("git-lfs") is None:
        pytest.fail("git-lfs is required (CI installs it)")
    repo.write(".repolicy.yaml", 'lfs: ["*.safetensors"]\n')
    fix(repo)
    ours = (repo.path / ".gitattributes").read_text().splitlines()[1:-1]
    os.remove(repo.path / ".gitattributes")
    repo.git("lfs", "track", "*.safetensors")
    assert ours == (repo.path / ".gitattributes").read_text().splitlines()


def test_the_seed_case_is_fixed_not_reported(repo: Repo) -> None:
    # The user's own `!` line cannot work: git never looks inside outputs/.
    repo.write(".gitignore", "outputs/\n!outputs/best.pth\n")
    repo.write(".repolicy.yaml", "include: [outputs/best.pth]\n")
    repo.write("outputs/best.pth", "x")
    repo.write("outputs/other.pth", "x")
    repo.write("outputs/run1/notes.txt", "x")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    assert ignored(repo, "outputs/best.pth", "outputs/other.pth", "outputs/run1/notes.txt") == {
        "outputs/other.pth",
        "outputs/run1/notes.txt",
    }
    assert (repo.path / ".gitignore").read_text().startswith("outputs/\n!outputs/best.pth\n# >>>")
    assert repo.run("fix", "--check").returncode == 0


def test_a_kept_file_survives_several_ignored_levels_wherever_the_lines_are(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n")
    user = "# mine\n*.pth\n__pycache__/\noutputs/\n*.tmp\nruns/\n"
    repo.write(".gitignore", user)
    kept = "outputs/runs/checkpoints/best.pth"
    siblings = ["outputs/runs/checkpoints/epoch_3.pth", "outputs/runs/notes.txt", "outputs/a.tmp"]
    for path in (kept, *siblings, "src/model.pth"):
        repo.write(path, "x")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    assert ignored(repo, kept, *siblings, "src/model.pth") == {*siblings, "src/model.pth"}
    assert (repo.path / ".gitignore").read_text().startswith(user)
    # A run that does not exist yet is kept too.
    assert ignored(repo, "outputs/run9/checkpoints/best.pth") == set()


def test_a_nested_negation_against_an_exclude_gets_a_nested_block(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.write("sub/.gitignore", "!*.log\n")
    repo.write("sub/deep/a.log", "x")
    repo.write("sub/keep.txt", "x")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    assert ignored(repo, "sub/deep/a.log", "sub/keep.txt", "sub/new.log") == {
        "sub/deep/a.log",
        "sub/new.log",
    }
    text = (repo.path / "sub/.gitignore").read_text()
    assert text.startswith("!*.log\n# >>> repolicy") and text.endswith("# <<< repolicy\n")
    assert data["blocks"]["sub/.gitignore"] == ["*.log"]
    assert repo.run("fix", "--check").returncode == 0


def test_a_nested_star_above_an_include_gets_a_nested_block(repo: Repo) -> None:
    seed_tree(repo)
    repo.write("outputs/.gitignore", "*\n")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    assert ignored(
        repo,
        "outputs/run1/checkpoints/best.pth",
        "outputs/run1/checkpoints/epoch_3.pth",
        "outputs/run2/checkpoints/best.pth",
    ) == {"outputs/run1/checkpoints/epoch_3.pth"}
    assert (repo.path / "outputs/.gitignore").read_text().startswith("*\n# >>> repolicy")


def test_info_exclude_and_the_global_excludes_file_are_overruled(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "include: [outputs/*/best.pth, keep.pth]\n")
    (repo.path / ".git/info/exclude").write_text("outputs/\n")
    global_file = repo.path.parent / "global-ignore"
    global_file.write_text("*.pth\n")
    repo.git("config", "core.excludesFile", str(global_file))
    for path in ("outputs/r1/best.pth", "outputs/r1/other.pth", "keep.pth", "drop.pth"):
        repo.write(path, "x")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    assert "?? outputs/r1/best.pth" in status and "?? keep.pth" in status
    assert "other.pth" not in status and "drop.pth" not in status


def test_a_wholly_excluded_directory_stays_one_entry_in_git_status(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n")
    for path in (
        "wandb/run-1/files/a.yaml",
        "wandb/run-2/b.txt",
        "outputs/r1/checkpoints/best.pth",
    ):
        repo.write(path, "x")
    code, data = fix(repo)
    assert code == 0
    assert "wandb/" in data["blocks"][".gitignore"]
    assert not [ln for ln in data["blocks"][".gitignore"] if "wandb/*" in ln]
    status = repo.git("status", "--porcelain", "--ignored")
    assert [ln for ln in status.splitlines() if "wandb" in ln] == ["!! wandb/"]


def test_an_include_keeps_the_contents_of_a_directory_it_matches(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "include: [checkpoints]\nexclude: [runs/]\n")
    repo.write(".gitignore", "*.pth\n")
    for path in ("runs/a/checkpoints/best.pth", "runs/a/checkpoints/sub/x.pth", "runs/a/e.txt"):
        repo.write(path, "x")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    assert ignored(
        repo, "runs/a/checkpoints/best.pth", "runs/a/checkpoints/sub/x.pth", "runs/a/e.txt"
    ) == {"runs/a/e.txt"}
    audit = repo.run("audit", "--format", "json")
    checks = {v["check"] for v in json.loads(audit.stdout)["violations"]}
    assert "include-ignored" not in checks


def test_an_unwritable_nested_file_stops_fix_before_anything_is_written(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    nested = repo.write("sub/.gitignore", "!*.log\n")
    nested.chmod(0o444)
    repo.write("sub/a.log", "x")
    repo.write("b.log", "x")
    proc = repo.run("fix")
    assert proc.returncode == 2 and "read-only" in proc.stderr
    assert not (repo.path / ".gitignore").exists()
    assert nested.read_bytes() == b"!*.log\n"


def test_tracked_files_to_untrack_and_raw_checkpoints_get_commands(repo: Repo) -> None:
    repo.write(".repolicy.yaml", SEED)
    repo.write("train.log", "x")
    repo.write("outputs/run1/checkpoints/best.pth", "raw weights")
    repo.write("weird name -x.log", "x")
    repo.add("train.log", "outputs/run1/checkpoints/best.pth", "weird name -x.log")
    repo.commit("oops")
    code, data = fix(repo)
    assert code == 1
    commands = [c["command"] for c in data["commands"]]
    assert commands[0] == "git rm --cached -- train.log 'weird name -x.log'"
    assert commands[1].endswith("git add --renormalize -- outputs/run1/checkpoints/best.pth")
    # History is audit's business: fix never prints a rewrite of every branch,
    # which would rewrite what a remote already has.
    why = data["commands"][1]["why"]
    assert "--everything" not in why and "repolicy audit" in why
    # Followed as printed (in a shell, as the user pastes them), the commands
    # leave nothing for the next fix to ask.
    for command in commands:
        subprocess.run(["sh", "-c", command], cwd=repo.path, check=True, capture_output=True)
    repo.commit("follow fix's advice")
    assert fix(repo)[0] == 0
    assert "version https://git-lfs" in repo.git("show", "HEAD:outputs/run1/checkpoints/best.pth")


def test_crlf_bom_and_comments_survive(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    original = b"\xef\xbb\xbf# keep me\r\n*.tmp\r\n"
    repo.write(".gitignore", original)
    repo.write("a.log", "x")
    fix(repo)
    data = (repo.path / ".gitignore").read_bytes()
    assert data.startswith(original)
    assert data.count(b"\n") == data.count(b"\r\n")
    assert ignored(repo, "a.log", "b.tmp") == {"a.log", "b.tmp"}


def test_a_symlinked_gitignore_is_refused_with_exit_2(repo: Repo, tmp_path: Path) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    os.symlink(outside, repo.path / ".gitignore")
    proc = repo.run("fix")
    assert proc.returncode == 2
    assert "symbolic link" in proc.stderr and "outside the repository" in proc.stderr
    assert outside.read_text() == "precious\n"


def test_a_read_only_gitignore_is_refused_with_nothing_lost(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    path = repo.write(".gitignore", "mine\n")
    path.chmod(0o444)
    repo.write("a.log", "x")
    proc = repo.run("fix")
    assert proc.returncode == 2 and "read-only" in proc.stderr
    assert path.read_bytes() == b"mine\n"


def test_lines_git_reads_differently_are_warned_about(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.write(".gitignore", "*.tmp \n")
    proc = repo.run("fix", "--check")
    assert ".gitignore:1: trailing space" in proc.stdout


def test_dvc_paths_are_ignored_by_the_block(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "dvc: [data/images/]\n")
    repo.write("data/images/1.jpg", "x")
    repo.write("data/images.dvc", "outs: []\n")
    code, _ = fix(repo)
    assert code == 0
    assert ignored(repo, "data/images/1.jpg", "data/images.dvc") == {"data/images/1.jpg"}


def test_fix_then_audit_reports_nothing_in_the_work_tree(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n")
    for path in (
        "outputs/r1/checkpoints/best.pth",
        "outputs/r1/checkpoints/epoch_1.pth",
        "wandb/run-1/log.txt",
        "train.log",
        "runs/a/events.out.tfevents.1",
    ):
        repo.write(path, "x")
    repo.write(".gitignore", "*.pth\n")
    code, _ = fix(repo)
    assert code == 0
    audit = repo.run("audit", "--format", "json")
    checks = {(v["check"], v["path"]) for v in json.loads(audit.stdout)["violations"]}
    assert checks == {("include-untracked", "outputs/r1/checkpoints/best.pth")}


DVC_FILE = """\
outs:
- md5: 0123456789abcdef0123456789abcdef.dir
  size: 1
  nfiles: 1
  hash: md5
  path: images
"""


def test_outputs_of_dvc_files_get_ignored_and_audit_agrees(repo: Repo) -> None:
    repo.write("data/images.dvc", DVC_FILE)
    repo.write("data/images/1.jpg", "x")
    repo.write("data/notes.md", "x")
    repo.add("data/images.dvc")
    repo.commit("dvc add data/images")
    before = repo.run("audit", "--format", "json")
    assert "dvc-not-ignored" in {v["check"] for v in json.loads(before.stdout)["violations"]}
    code, data = fix(repo)
    assert code == 0
    assert data["blocks"][".gitignore"] == ["/data/images"]
    assert ignored(repo, "data/images/1.jpg", "data/notes.md", "data/images.dvc") == {
        "data/images/1.jpg"
    }
    after = repo.run("audit", "--format", "json")
    assert "dvc-not-ignored" not in {v["check"] for v in json.loads(after.stdout)["violations"]}


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("data/images.dvc", "outs:\n- path: [unclosed\n", "data/images.dvc:3:1: invalid YAML"),
        ("dvc.lock", "schema: '2.0'\nstages: [\n", "dvc.lock:3:1: invalid YAML"),
    ],
)
def test_a_broken_dvc_file_is_a_warning_and_fix_goes_on(
    repo: Repo, name: str, content: str, where: str
) -> None:
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.write(name, content)
    repo.write("a.log", "x")
    proc = repo.run("fix")
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {where}" in proc.stdout
    assert ignored(repo, "a.log") == {"a.log"}


def test_a_nested_block_keeps_crlf_and_a_second_fix_changes_no_byte(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "include: [keep.log]\nexclude: ['*.log']\n")
    nested = repo.write("sub/.gitignore", b"# mine\r\n*\r\n!*/\r\n")
    repo.write("sub/a/keep.log", "x")
    repo.write("sub/a/drop.log", "x")
    code, data = fix(repo)
    assert (code, data["conflicts"]) == (0, [])
    assert ignored(repo, "sub/a/keep.log", "sub/a/drop.log") == {"sub/a/drop.log"}
    first = nested.read_bytes()
    assert first.startswith(b"# mine\r\n*\r\n!*/\r\n# >>> repolicy")
    assert first.count(b"\n") == first.count(b"\r\n")
    code, data = fix(repo)
    assert (code, data["changed"]) == (0, [])
    assert nested.read_bytes() == first
