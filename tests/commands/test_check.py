"""`repolicy check`: the pre-commit hook, on real repositories with real git and git-lfs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from repolicy.errors import RepolicyError

from ..conftest import Repo

SEED_POLICY = """\
extends: [github]
include:
  - outputs/*/checkpoints/best.pth
  - outputs/*/checkpoints/last.pth
exclude:
  - pattern: outputs/*/checkpoints/epoch_*.pth
    why: intermediate checkpoints are rebuilt by training
  - outputs/*/logs/
  - "*.log"
  - wandb/
lfs:
  - "*.pth"
budgets:
  file: 1 MiB
  file_warn: 100 KiB
  lfs_file: 5 MiB
"""

LFS_ATTRIBUTES = "*.pth filter=lfs diff=lfs merge=lfs -text\n"


def report(repo: Repo, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    proc = repo.run("check", "--format", "json", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def found(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


@pytest.fixture
def seed(repo: Repo) -> Repo:
    """A training repository with the first seed's policy, committed."""
    repo.write(".repolicy.yaml", SEED_POLICY)
    repo.write("train.py", "print('train')\n")
    repo.add(".repolicy.yaml", "train.py")
    repo.commit("start")
    return repo


def lfs_ready(repo: Repo) -> Repo:
    repo.git("lfs", "install", "--local")
    repo.write(".gitattributes", LFS_ATTRIBUTES)
    repo.add(".gitattributes")
    repo.commit("track checkpoints")
    return repo


# -- the first seed's failures ------------------------------------------------------


def test_an_intermediate_checkpoint_is_blocked_with_the_command_that_fixes_it(seed: Repo) -> None:
    lfs_ready(seed)
    seed.write("outputs/run1/checkpoints/epoch_3.pth", b"weights")
    seed.add("outputs/run1/checkpoints/epoch_3.pth")
    code, data = report(seed)
    assert code == 1
    (v,) = data["violations"]
    assert (v["check"], v["path"], v["severity"]) == (
        "excluded",
        "outputs/run1/checkpoints/epoch_3.pth",
        "error",
    )
    assert v["rule"] == "exclude: outputs/*/checkpoints/epoch_*.pth"
    assert v["why"] == "intermediate checkpoints are rebuilt by training"
    assert "git rm --cached -- outputs/run1/checkpoints/epoch_3.pth" in v["fix"]
    assert "outputs/*/checkpoints/epoch_*.pth" in v["fix"].splitlines()[1]
    assert v["commit"] is None
    assert data["summary"] == {"errors": 1, "warnings": 0}
    # The fix works: after it, check passes.
    seed.git("rm", "-q", "--cached", "--", "outputs/run1/checkpoints/epoch_3.pth")
    assert report(seed)[0] == 0


def test_best_pth_through_lfs_passes_and_raw_best_pth_is_caught(seed: Repo) -> None:
    lfs_ready(seed)
    seed.write("outputs/run1/checkpoints/best.pth", size=2 * 1024 * 1024)
    seed.add("outputs/run1/checkpoints/best.pth")
    assert seed.git("cat-file", "-s", ":outputs/run1/checkpoints/best.pth").strip() != str(
        2 * 1024 * 1024
    )
    code, data = report(seed)
    assert (code, found(data)) == (0, set())


def test_raw_checkpoint_staged_without_git_lfs_installed_is_lfs_missing(seed: Repo) -> None:
    # .gitattributes says LFS, but this machine never ran `git lfs install`:
    # git stores the raw bytes. Judged on the staged blob, not the file on disk.
    seed.write(".gitattributes", LFS_ATTRIBUTES)
    seed.add(".gitattributes")
    seed.commit("attributes")
    seed.write("outputs/run1/checkpoints/best.pth", size=50 * 1024)
    seed.add("outputs/run1/checkpoints/best.pth")
    code, data = report(seed)
    assert code == 1
    assert found(data) == {("lfs-missing", "outputs/run1/checkpoints/best.pth")}
    (v,) = data["violations"]
    assert v["size"] == 50 * 1024
    assert "git add --renormalize -- outputs/run1/checkpoints/best.pth" in v["fix"]


def test_raw_checkpoint_without_any_lfs_set_up_gets_both_lfs_findings(seed: Repo) -> None:
    seed.write("outputs/run1/checkpoints/last.pth", b"raw weights")
    seed.add("outputs/run1/checkpoints/last.pth")
    code, data = report(seed)
    assert code == 1
    assert found(data) == {
        ("lfs-missing", "outputs/run1/checkpoints/last.pth"),
        ("lfs-attr-missing", "outputs/run1/checkpoints/last.pth"),
    }
    fixes = {v["check"]: v["fix"] for v in data["violations"]}
    assert "git lfs track '*.pth'" in fixes["lfs-attr-missing"]
    assert "git lfs track '*.pth'" in fixes["lfs-missing"]


def test_a_file_over_the_budget_is_blocked_and_one_over_the_warning_only_warns(seed: Repo) -> None:
    seed.write("data/big.bin", size=2 * 1024 * 1024)
    seed.write("data/medium.bin", size=200 * 1024)
    seed.write("data/small.bin", size=50 * 1024)
    seed.add("data")
    code, data = report(seed)
    assert code == 1
    assert found(data) == {("file-too-large", "data/big.bin"), ("file-large", "data/medium.bin")}
    severities = {v["path"]: v["severity"] for v in data["violations"]}
    assert severities == {"data/big.bin": "error", "data/medium.bin": "warning"}
    big = next(v for v in data["violations"] if v["path"] == "data/big.bin")
    assert big["size"] == 2 * 1024 * 1024
    assert "2.0 MiB" in big["message"] and "1.0 MiB" in big["message"]


def test_a_modified_file_that_grew_is_judged_on_its_new_size(seed: Repo) -> None:
    seed.write("results.csv", "a,b\n")
    seed.add("results.csv")
    seed.commit("results")
    seed.write("results.csv", size=150 * 1024)
    seed.add("results.csv")
    code, data = report(seed)
    assert (code, found(data)) == (0, {("file-large", "results.csv")})
    assert report(seed, "--strict")[0] == 1


def test_a_file_restored_from_a_packed_history_is_judged_like_a_new_one(seed: Repo) -> None:
    # The staged blobs are already in a pack, not loose: their facts come from git.
    seed.write("data/raw.bin", size=2 * 1024 * 1024)
    seed.write("outputs/run1/checkpoints/last.pth", "version https://git-lfs.github.com/spec/v1\n")
    seed.add("data/raw.bin", "outputs/run1/checkpoints/last.pth")
    seed.commit("data")
    seed.git("rm", "-q", "--cached", "data/raw.bin", "outputs/run1/checkpoints/last.pth")
    seed.commit("drop it")
    seed.git("gc", "-q")
    seed.add("data/raw.bin", "outputs/run1/checkpoints/last.pth")
    code, data = report(seed)
    assert code == 1
    assert found(data) == {
        ("file-too-large", "data/raw.bin"),
        ("lfs-pointer-invalid", "outputs/run1/checkpoints/last.pth"),  # read from the pack
        ("lfs-attr-missing", "outputs/run1/checkpoints/last.pth"),
    }


def test_a_real_100_mib_limit_blocks_a_120_mib_file(repo: Repo) -> None:
    repo.write("model.bin", size=120 * 1024 * 1024)
    repo.add("model.bin")
    code, data = report(repo)
    assert data["policy"] == "preset:default"
    assert (code, found(data)) == (1, {("file-too-large", "model.bin")})


def test_include_beats_exclude(repo: Repo) -> None:
    repo.write(
        ".repolicy.yaml",
        "exclude: [outputs/*/samples/*.png]\ninclude: [outputs/*/samples/grid.png]\n",
    )
    repo.write("outputs/r1/samples/grid.png", b"png")
    repo.write("outputs/r1/samples/epoch_7.png", b"png")
    repo.add("outputs")
    assert found(report(repo)[1]) == {("excluded", "outputs/r1/samples/epoch_7.png")}


def test_a_path_under_an_excluded_directory_is_excluded(seed: Repo) -> None:
    seed.write("outputs/run1/logs/events.out.tfevents.1", b"tb")
    seed.write("wandb/run-1/files/config.yaml", b"x")
    seed.add("outputs", "wandb")
    assert found(report(seed)[1]) == {
        ("excluded", "outputs/run1/logs/events.out.tfevents.1"),
        ("excluded", "wandb/run-1/files/config.yaml"),
    }


def test_a_warning_severity_rule_warns_instead_of_failing(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "exclude:\n  - {pattern: '*.ipynb', severity: warning}\n")
    repo.write("explore.ipynb", "{}")
    repo.add("explore.ipynb")
    code, data = report(repo)
    assert (code, data["summary"]) == (0, {"errors": 0, "warnings": 1})
    assert report(repo, "--strict")[0] == 1


# -- what counts as staged -----------------------------------------------------------


def test_deletions_never_fail(seed: Repo) -> None:
    seed.write("debug.log", "x")
    seed.add("debug.log")
    seed.commit("oops")
    seed.git("rm", "-q", "--", "debug.log")
    code, data = report(seed)
    assert (code, found(data)) == (0, set())


def test_a_rename_and_a_copy_to_an_excluded_name_are_caught(seed: Repo) -> None:
    seed.write("notes.txt", "training notes\n" * 50)
    seed.add("notes.txt")
    seed.commit("notes")
    seed.git("mv", "notes.txt", "notes.log")
    seed.write("copy.log", "training notes\n" * 50)
    seed.add("copy.log")
    assert found(report(seed)[1]) == {("excluded", "notes.log"), ("excluded", "copy.log")}


def test_a_symlink_at_an_lfs_path_is_exempt(seed: Repo) -> None:
    os.symlink("elsewhere/best.pth", seed.path / "model.pth")
    seed.add("model.pth")
    assert report(seed)[0] == 0
    assert found(report(seed)[1]) == set()


def test_an_unborn_branch_works(repo: Repo) -> None:
    repo.write("a.log", "x")
    repo.add("a.log")
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    assert found(report(repo)[1]) == {("excluded", "a.log")}


def test_a_sha256_repository_works(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = Repo(path)
    repo.write(".repolicy.yaml", "exclude: ['*.log']\nbudgets: {file: 1 KiB}\n")
    repo.write("a.log", "x")
    repo.write("big.bin", size=4096)
    repo.add("a.log", "big.bin")
    code, data = report(repo)
    assert (code, found(data)) == (1, {("excluded", "a.log"), ("file-too-large", "big.bin")})


def test_paths_narrow_the_check_and_are_relative_to_the_current_directory(seed: Repo) -> None:
    seed.write("src/a.log", "x")
    seed.write("src/b.log", "x")
    seed.write("other/c.log", "x")
    seed.add("src", "other")
    assert found(report(seed, "src/a.log")[1]) == {("excluded", "src/a.log")}
    assert found(report(seed, "src")[1]) == {("excluded", "src/a.log"), ("excluded", "src/b.log")}
    assert found(report(seed, "b.log", cwd=seed.path / "src")[1]) == {("excluded", "src/b.log")}
    assert found(report(seed, cwd=seed.path / "src")[1]) == {
        ("excluded", "src/a.log"),
        ("excluded", "src/b.log"),
        ("excluded", "other/c.log"),
    }


def test_with_nothing_staged_the_given_paths_are_checked_in_the_index(seed: Repo) -> None:
    # `pre-commit run --all-files` passes every file with nothing staged.
    seed.write("old.log", "x")
    seed.add("old.log")
    seed.commit("history")
    assert found(report(seed)[1]) == set()
    assert found(report(seed, "old.log", "train.py")[1]) == {("excluded", "old.log")}


def test_minus_c_runs_in_another_directory(seed: Repo, tmp_path: Path) -> None:
    seed.write("x.log", "x")
    seed.add("x.log")
    proc = seed.run("-C", str(seed.path), "check", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert found(json.loads(proc.stdout)) == {("excluded", "x.log")}
    proc = seed.run("check", "-C", str(seed.path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot change to" in proc.stderr


def test_a_linked_worktree_uses_its_own_index(seed: Repo, tmp_path: Path) -> None:
    seed.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "exp")
    wt = Repo(tmp_path / "wt")
    wt.write("exp.log", "x")
    wt.add("exp.log")
    assert found(report(wt)[1]) == {("excluded", "exp.log")}
    assert found(report(seed)[1]) == set()


def test_a_submodule_gitlink_is_never_read(seed: Repo, tmp_path: Path) -> None:
    sub = Repo(tmp_path / "lib")
    sub.path.mkdir()
    sub.git("init", "-q")
    sub.write("lib.log", "x")
    sub.add("lib.log")
    sub.commit("lib")
    seed.git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(sub.path),
        "vendor/lib.log",
    )
    code, data = report(seed)
    assert (code, found(data)) == (0, set())


# -- odd names -------------------------------------------------------------------------

ODD_NAMES = [
    "with space.log",
    "café/naïve.log",
    "new\nline.log",
    "-rf.log",
    "#hash.log",
    "!bang.log",
    "glob[1]*?.log",
    "back\\slash.log",
    os.fsdecode(b"latin1-\xe9.log"),
]


@pytest.mark.parametrize("name", ODD_NAMES, ids=repr)
def test_odd_file_names_are_reported_exactly_as_git_stores_them(seed: Repo, name: str) -> None:
    seed.write(name, "x")
    seed.write("fine.txt", "x")
    seed.add(name, "fine.txt")
    code, data = report(seed)
    assert code == 1
    assert found(data) == {("excluded", name)}
    # The path given back on the command line narrows to that very file.
    assert found(report(seed, name)[1]) == {("excluded", name)}


def test_a_non_utf8_name_travels_as_surrogate_escapes_in_json(seed: Repo) -> None:
    name = os.fsdecode(b"raw-\xff.log")
    seed.write(name, "x")
    seed.git("add", "-f", "--", name)
    proc = seed.run("check", "--format", "json")
    assert '"path": "raw-\\udcff.log"' in proc.stdout


# -- output and exit codes ----------------------------------------------------------------


def test_text_output_names_path_check_rule_why_and_fix(seed: Repo) -> None:
    seed.write("outputs/r/checkpoints/epoch_1.pth", "x")
    seed.add("outputs")
    proc = seed.run("check")
    assert proc.returncode == 1
    out = proc.stdout
    assert "outputs/r/checkpoints/epoch_1.pth: error [excluded]" in out
    assert "rule:   exclude: outputs/*/checkpoints/epoch_*.pth" in out
    assert "why:    intermediate checkpoints are rebuilt by training" in out
    assert "fix:    git rm --cached -- outputs/r/checkpoints/epoch_1.pth" in out
    assert out.rstrip().endswith("repolicy check: 1 error (.repolicy.yaml)")
    assert "\033[" not in out
    quiet = seed.run("check", "-q").stdout
    assert "fix:" not in quiet and "[excluded]" in quiet


def test_colour_follows_no_color_and_force_color(seed: Repo) -> None:
    seed.write("x.log", "x")
    seed.add("x.log")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = subprocess.run(
        ["python", "-m", "repolicy", "check"], cwd=seed.path, env={**env, "FORCE_COLOR": "1"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "\033[31m" in coloured.stdout
    plain = subprocess.run(
        ["python", "-m", "repolicy", "check", "--no-color"], cwd=seed.path,
        env={**env, "FORCE_COLOR": "1"}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "\033[" not in plain.stdout


def test_a_clean_commit_says_so_and_exits_0(seed: Repo) -> None:
    seed.write("model.py", "x = 1\n")
    seed.add("model.py")
    proc = seed.run("check")
    assert (proc.returncode, proc.stdout.strip()) == (
        0,
        "repolicy check: all clear (.repolicy.yaml)",
    )
    assert seed.run("check", "-q").stdout == ""


def test_not_a_repository_is_one_line_and_exit_2(tmp_path: Path, repo: Repo) -> None:
    proc = repo.run("check", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"repolicy: error: not a git repository: {tmp_path}"
    ]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("check", "--format", "yaml"), "invalid choice: 'yaml'"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("check", "--no-such-option"), "unrecognized arguments: --no-such-option"),
        ((), "required: COMMAND"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    repo: Repo, args: tuple[str, ...], fragment: str
) -> None:
    proc = repo.run(*args)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("repolicy: error: ") and fragment in line


@pytest.mark.parametrize("spelled", ["in the branch's file", "in HEAD itself"])
def test_a_head_that_names_a_blob_is_refused_saying_so(repo: Repo, spelled: str) -> None:
    # Git cannot compare the index with a blob: nothing staged can be judged.
    # (A HEAD naming a tree is compared with that tree, as git compares it.)
    repo.write("a.txt", "a\n")
    repo.add("a.txt")
    repo.commit("first")
    named = repo.git("rev-parse", "HEAD:a.txt").strip()
    if spelled == "in HEAD itself":
        (repo.path / ".git" / "HEAD").write_text(named + "\n")
    else:
        branch = repo.git("symbolic-ref", "HEAD").strip()
        (repo.path / ".git" / branch).write_text(named + "\n")
    repo.write("b.txt", "b\n")
    repo.git("update-index", "--add", "b.txt")
    proc = repo.run("check")
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.strip().splitlines() == [
        f"repolicy: error: HEAD names a blob ({named}), not a commit: "
        "there is nothing to compare the staged files with"
    ]


def test_git_missing_is_one_line_and_exit_2(repo: Repo, tmp_path: Path) -> None:
    empty = tmp_path / "nobin"
    empty.mkdir()
    python = sys.executable  # the interpreter itself: a shim on PATH needs PATH
    proc = subprocess.run(
        [python, "-m", "repolicy", "check"], cwd=repo.path, env={**os.environ, "PATH": str(empty)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "repolicy: error: git is not installed or not on PATH"


def test_version_and_module_entry_point(repo: Repo) -> None:
    from repolicy import __version__

    assert repo.run("--version").stdout.strip() == f"repolicy {__version__}"


def test_a_pointer_to_an_lfs_object_over_budget_is_blocked(seed: Repo) -> None:
    lfs_ready(seed)
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{'ab' * 32}\nsize {6 * 1024 * 1024}\n"
    )
    # Written as the pointer itself, as a clone without the object would have it.
    oid = seed.git("hash-object", "-w", "--stdin", input=pointer.encode()).strip()
    seed.git("update-index", "--add", "--cacheinfo", f"100644,{oid},models/huge.pth")
    code, data = report(seed)
    assert (code, found(data)) == (1, {("lfs-file-too-large", "models/huge.pth")})
    assert data["violations"][0]["size"] == 6 * 1024 * 1024


def test_a_pointer_saved_with_crlf_is_invalid(seed: Repo) -> None:
    lfs_ready(seed)
    pointer = f"version https://git-lfs.github.com/spec/v1\r\noid sha256:{'cd' * 32}\r\nsize 12\r\n"
    oid = seed.git("hash-object", "-w", "--stdin", input=pointer.encode()).strip()
    seed.git("update-index", "--add", "--cacheinfo", f"100644,{oid},models/best.pth")
    code, data = report(seed)
    assert (code, found(data)) == (1, {("lfs-pointer-invalid", "models/best.pth")})
    assert "CRLF" in data["violations"][0]["message"]


# -- pre-commit run --all-files: many paths, nothing staged ------------------------------------


def test_all_files_judges_exactly_the_index_entries_it_is_given(seed: Repo) -> None:
    logs = ["runs/a.log", "runs/deep/b.log", "run.log", "runsx/c.log", "other/d.log"]
    for name in logs:
        seed.write(name, "x")
    seed.add(*logs)
    seed.commit("logs, committed before the policy took effect")
    assert seed.git("diff", "--cached", "--name-only") == ""

    # Files, as pre-commit gives them, after `--`.
    _, data = report(seed, "--", "run.log", "other/d.log", "train.py")
    assert found(data) == {("excluded", "run.log"), ("excluded", "other/d.log")}
    # A directory selects what is below it, and only that: `runs` is not `runsx`.
    _, data = report(seed, "--", "runs")
    assert found(data) == {("excluded", "runs/a.log"), ("excluded", "runs/deep/b.log")}
    _, data = report(seed, "--", "runs/", "run.log")
    assert found(data) == {
        ("excluded", "runs/a.log"),
        ("excluded", "runs/deep/b.log"),
        ("excluded", "run.log"),
    }
    # A name that ends like another, after a tab, is not that other one.
    seed.write("a\tb.log", "x")
    seed.write("b.log", "x")
    seed.add("a\tb.log", "b.log")
    seed.commit("tabs")
    _, data = report(seed, "--", "b.log")
    assert found(data) == {("excluded", "b.log")}
    _, data = report(seed, "--", "a\tb.log")
    assert found(data) == {("excluded", "a\tb.log")}
    # A path the index does not hold judges nothing, and fails nothing.
    code, data = report(seed, "--", "nowhere.log")
    assert (code, found(data)) == (0, set())


def test_names_on_the_command_line_are_read_as_normalised_repository_paths() -> None:
    import posixpath

    from repolicy.facts import repository_paths
    from repolicy.git import RepoInfo

    info = RepoInfo("/top", "/top/.git", "")
    names = ["a.log", "./a.log", "d//a.log", "d/", "d/.", "d/./a", "d/../a", ".", "x/.."]
    names += [".hidden", "d/.h/a", "..a", "a..", "d/..a/b", "-h", "a b", "d/a\tb"]
    expected = ["" if posixpath.normpath(n) == "." else posixpath.normpath(n) for n in names]
    # All at once and one by one: a list of names already normal takes a quicker way.
    assert repository_paths(info, names) == expected
    assert [repository_paths(info, [n])[0] for n in names] == expected
    assert repository_paths(info, ["a", "b/c"]) == ["a", "b/c"]
    assert repository_paths(RepoInfo("/top", "/top/.git", "sub/"), ["a", "b/c"]) == [
        "sub/a",
        "sub/b/c",
    ]
    for outside in ("..", "../a", "a/../.."):
        with pytest.raises(RepolicyError, match="outside the repository"):
            repository_paths(info, ["a", outside])


def test_all_files_on_a_conflicted_index_judges_our_side(seed: Repo) -> None:
    seed.git("checkout", "-q", "-b", "side")
    seed.write("x.log", "theirs")
    seed.add("x.log")
    seed.commit("theirs")
    seed.git("checkout", "-q", "main")
    seed.write("x.log", "ours")
    seed.add("x.log")
    seed.commit("ours")
    seed.git("merge", "-q", "side", check=False)
    assert "x.log" in seed.git("ls-files", "-u")

    _, data = report(seed, "--", "x.log", "train.py")
    assert found(data) == {("excluded", "x.log")}
    # The hook itself (no file names) judges the same side, never a zero id.
    _, data = report(seed)
    assert found(data) == {("excluded", "x.log")}


# -- the cached index listing that the command lines of --all-files share --------------------


def aged_index(repo: Repo) -> None:
    """Make the index old enough (past the racy window) for its listing to be cached."""
    past = os.stat(repo.path / ".git" / "index").st_mtime - 60
    os.utime(repo.path / ".git" / "index", (past, past))


def committed_log(seed: Repo) -> Path:
    """`x.log` committed (nothing staged), and the index listing cached."""
    seed.write("x.log", "x")
    seed.add("x.log")
    seed.commit("a log, committed before the policy took effect")
    aged_index(seed)
    _, data = report(seed, "--", "x.log", "train.py")
    assert found(data) == {("excluded", "x.log")}
    cache = seed.path / ".git" / "repolicy" / "index.cache"
    assert cache.is_file()
    return cache


def test_all_files_from_the_caches_finds_what_one_check_finds(seed: Repo) -> None:
    """pre-commit's later command lines take the listing, the index's attribute
    files and what decides the DVC check from caches: each must find what one
    `check` finds of the same files staged."""
    seed.write("models/.gitattributes", LFS_ATTRIBUTES)
    seed.write("models/a/best.pth", b"raw weights")  # the attributes say LFS
    seed.write("other/best.pth", b"raw weights")  # no attributes say so
    (seed.path / "proj" / ".dvc").mkdir(parents=True)  # `dvc init --subdir`
    seed.write("proj/data.dvc", "outs:\n- md5: " + "0" * 32 + ".dir\n  hash: md5\n  path: data\n")
    seed.write("proj/data/x.csv", "1,2\n")
    names = ["models/.gitattributes", "models/a/best.pth", "other/best.pth"]
    names += ["proj/data.dvc", "proj/data/x.csv"]
    seed.add(*names)
    _, data = report(seed)
    staged = found(data)
    assert staged == {
        ("lfs-missing", "models/a/best.pth"),
        ("lfs-missing", "other/best.pth"),
        ("lfs-attr-missing", "other/best.pth"),
        ("dvc-in-git", "proj/data/x.csv"),
        ("dvc-not-ignored", "proj/data"),
    }
    seed.commit("everything")
    aged_index(seed)
    for _ in range(3):  # the first stores what git says, the others read it
        _, data = report(seed, "--", *names, "train.py")
        assert found(data) == staged
    cached = {p.name for p in (seed.path / ".git" / "repolicy").iterdir()}
    assert {"index.cache", "staged.cache", "summary.cache"} <= cached
    assert not [name for name in cached if name.startswith("attributes-")]


def test_all_files_never_judges_a_cached_listing_of_an_older_index(seed: Repo) -> None:
    cache = committed_log(seed)
    # Unstaging the file rewrites the index but leaves HEAD and the cache as they were.
    seed.git("rm", "-q", "--cached", "--", "x.log")
    code, data = report(seed, "--", "x.log", "train.py")
    assert (code, found(data)) == (0, set())
    # Even with the old index's times given back to the new one.
    before = os.stat(cache)
    aged_index(seed)
    assert os.stat(cache).st_mtime_ns == before.st_mtime_ns
    code, data = report(seed, "--", "x.log", "train.py")
    assert (code, found(data)) == (0, set())
    # Staged again and committed: judged again.
    seed.add("x.log")
    seed.commit("back")
    _, data = report(seed, "--", "x.log")
    assert found(data) == {("excluded", "x.log")}


def test_all_files_ignores_a_corrupt_cached_listing(seed: Repo) -> None:
    cache = committed_log(seed)
    data_before = cache.read_bytes()
    # The same length, the log's record renamed: not the listing git gave.
    cache.write_bytes(data_before.replace(b"\tx.log\0", b"\ty.log\0"))
    _, data = report(seed, "--", "x.log")
    assert found(data) == {("excluded", "x.log")}
    for broken in (b"", b"garbage", data_before[: len(data_before) // 2]):
        cache.write_bytes(broken)
        _, data = report(seed, "--", "x.log")
        assert found(data) == {("excluded", "x.log")}


def test_all_files_never_follows_a_cached_listing_that_is_a_link_or_a_fifo(seed: Repo) -> None:
    from repolicy.git import indexcache

    cache = committed_log(seed)
    git_dir = seed.path / ".git"
    index = str(git_dir / "index")
    assert indexcache.read_listing(str(cache.parent), index) is not None
    # A link to a listing that would be valid is still not read.
    moved = seed.path.parent / "elsewhere.cache"
    cache.rename(moved)
    cache.symlink_to(moved)
    assert indexcache.read_listing(str(cache.parent), index) is None
    _, data = report(seed, "--", "x.log")
    assert found(data) == {("excluded", "x.log")}
    # A FIFO (or a link to one) never blocks the hook.
    for fifo_at in (cache, moved):
        cache.unlink(missing_ok=True)
        moved.unlink(missing_ok=True)
        os.mkfifo(fifo_at)
        if fifo_at != cache:
            cache.symlink_to(moved)
        proc = subprocess.run(
            [sys.executable, "-m", "repolicy", "check", "--format", "json", "--", "x.log"],
            cwd=seed.path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert found(json.loads(proc.stdout)) == {("excluded", "x.log")}


def test_all_files_with_another_index_file_judges_that_index(seed: Repo) -> None:
    committed_log(seed)
    # `git commit -a` and `git commit PATH` run the hook on an index of their own.
    other = seed.path / ".git" / "other-index"
    tree = seed.git("write-tree").strip()
    env = {**os.environ, "GIT_INDEX_FILE": str(other)}
    subprocess.run(["git", "read-tree", tree], cwd=seed.path, env=env, check=True)
    subprocess.run(
        ["git", "rm", "-q", "--cached", "--", "x.log"], cwd=seed.path, env=env, check=True
    )
    proc = seed.run("check", "--format", "json", "--", "x.log", env={"GIT_INDEX_FILE": str(other)})
    assert (proc.returncode, found(json.loads(proc.stdout))) == (0, set()), proc.stderr


def test_check_never_judges_a_cached_staged_diff_of_another_index_or_head(seed: Repo) -> None:
    cache = committed_log(seed)
    assert (cache.parent / "staged.cache").is_file()
    code, data = report(seed)
    assert (code, found(data)) == (0, set())
    # HEAD moves back, the index file stays as it was: the log is staged again.
    index = seed.path / ".git" / "index"
    before = os.stat(index)
    seed.git("reset", "-q", "--soft", "HEAD~")
    assert os.stat(index).st_mtime_ns == before.st_mtime_ns
    _, data = report(seed)
    assert found(data) == {("excluded", "x.log")}
    seed.commit("again")
    aged_index(seed)
    code, data = report(seed)
    assert (code, found(data)) == (0, set())
    # `git add` rewrites the index: what it staged is judged.
    seed.write("y.log", "y")
    seed.add("y.log")
    _, data = report(seed)
    assert found(data) == {("excluded", "y.log")}


def policy_left_out(repo: Repo, how: str) -> None:
    """A committed policy the work tree lacks, and a log staged against it."""
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')
    repo.write("data/a.txt", "a\n")
    repo.add(".repolicy.yaml", "data/a.txt")
    repo.commit("policy")
    if how == "sparse":
        repo.git("sparse-checkout", "set", "--no-cone", "/data/")
    else:
        (repo.path / ".repolicy.yaml").unlink()
    assert not (repo.path / ".repolicy.yaml").exists()
    repo.write("data/debug.log", "noise\n")
    repo.add("data/debug.log")


@pytest.mark.parametrize("how", ["sparse", "deleted"])
def test_a_tracked_policy_missing_from_the_work_tree_is_never_replaced_by_the_preset(
    repo: Repo, how: str
) -> None:
    # The team's policy forbids the log; the default preset alone would let it in.
    policy_left_out(repo, how)
    for args in (["check"], ["check", "--", "data/debug.log"], ["audit"]):
        proc = repo.run(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "all clear" not in proc.stdout
        assert proc.stderr.startswith(".repolicy.yaml:1:1: the index tracks this file")
    # As the message says, for each case.
    command = (
        "git sparse-checkout add /.repolicy.yaml"
        if how == "sparse"
        else "git checkout -- .repolicy.yaml"
    )
    assert command in proc.stderr
    subprocess.run(["sh", "-c", command], cwd=repo.path, check=True)
    code, data = report(repo)
    assert code == 1 and {v["check"] for v in data["violations"]} == {"excluded"}


def test_a_policy_removed_with_git_rm_leaves_the_preset_to_judge(repo: Repo) -> None:
    # Staging its removal is the change being committed: nothing is tracked.
    policy_left_out(repo, "deleted")
    repo.git("rm", "-q", "--cached", ".repolicy.yaml")
    proc = repo.run("check")
    assert proc.returncode == 0 and "(preset:default)" in proc.stdout
