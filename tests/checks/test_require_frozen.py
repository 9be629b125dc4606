"""`require` and `frozen` on hand-made records: paths of one tree, and changes to it."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from repolicy.checks import Context
from repolicy.checks.frozen import (
    Edit,
    allow_list,
    check_frozen,
    classify,
    closed_directory,
    is_allowed,
)
from repolicy.checks.require import find_gaps, required_directories, violation
from repolicy.git import TreeChange
from repolicy.policy import load_policy

from ..conftest import Repo

ZERO = "0" * 40
A, B = "a" * 40, "b" * 40


def context(tmp_path: Path, text: str) -> Context:
    (tmp_path / ".repolicy.yaml").write_text(textwrap.dedent(text))
    return Context(load_policy(tmp_path))


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return context(
        tmp_path,
        """\
        require:
          "datasets/*/v*/": [README.md, labels.json]
          "docs/": ["*.md"]
        frozen:
          - pattern: datasets/*/v*/**
            why: a released version is immutable
          - "*.csv"
        """,
    )


def gaps(ctx: Context, files: list[str], judge: set[str] | None = None) -> dict[str, list[str]]:
    return {g.directory: [e.text for e in g.missing] for g in find_gaps(ctx, files, judge)}


def test_each_matching_directory_must_hold_every_listed_entry(ctx: Context) -> None:
    files = [
        "datasets/printer/v1/README.md",
        "datasets/printer/v1/labels.json",
        "datasets/printer/v1/ok/1.jpg",
        "datasets/printer/v2/ok/1.jpg",
        "datasets/printer/v2/README.md",
        "datasets/cats/v1/a.jpg",
        "datasets/printer/notes.txt",  # datasets/printer/ is not a version directory
    ]
    assert gaps(ctx, files) == {
        "datasets/cats/v1": ["README.md", "labels.json"],
        "datasets/printer/v2": ["labels.json"],
    }


def test_a_required_file_deeper_down_does_not_count(ctx: Context) -> None:
    files = ["datasets/printer/v1/ok/README.md", "datasets/printer/v1/ok/labels.json"]
    assert gaps(ctx, files) == {"datasets/printer/v1": ["README.md", "labels.json"]}


def test_a_pattern_entry_accepts_any_matching_name(ctx: Context) -> None:
    assert gaps(ctx, ["docs/guide.md"]) == {}
    assert gaps(ctx, ["docs/guide.txt", "docs/sub/deep.md"]) == {"docs": ["*.md"]}


def test_only_the_directories_asked_about_are_judged(ctx: Context) -> None:
    files = ["datasets/cats/v1/a.jpg", "datasets/dogs/v1/a.jpg"]
    touched = required_directories(ctx, ["datasets/dogs/v1/a.jpg", "train.py"])
    assert touched == {"datasets/dogs/v1"}
    assert gaps(ctx, files, touched) == {"datasets/dogs/v1": ["README.md", "labels.json"]}


def test_names_with_spaces_and_unicode(ctx: Context) -> None:
    files = ["datasets/zebra crossing/v1/IMG 1.jpg", "datasets/données/v1/README.md"]
    assert gaps(ctx, files) == {
        "datasets/données/v1": ["labels.json"],
        "datasets/zebra crossing/v1": ["README.md", "labels.json"],
    }


def test_the_violation_names_the_directory_with_a_slash(ctx: Context) -> None:
    (gap,) = find_gaps(ctx, ["datasets/cats/v1/a.jpg"])
    v = violation(ctx, gap, commit=B, stage="push")
    assert (v.check, v.severity, v.path, v.commit) == (
        "missing-required",
        "error",
        "datasets/cats/v1/",
        B,
    )
    assert v.message.startswith("lacks README.md and labels.json")
    assert v.rule == "require: datasets/*/v*/"
    assert f"git rebase -i {B[:12]}^" in (v.fix or "")
    staged = violation(ctx, gap, stage="check")
    assert staged.fix == (
        "create README.md and labels.json in datasets/cats/v1/, then: "
        "git add -- datasets/cats/v1/README.md datasets/cats/v1/labels.json"
    )


def test_closed_directory_is_the_one_a_pattern_freezes_whole(ctx: Context) -> None:
    rules = ctx.rules_for("frozen", "datasets/printer/v1/ok/1.jpg")
    assert closed_directory(rules, "datasets/printer/v1/ok/1.jpg") == "datasets/printer/v1"
    # "*.csv" names files, not a directory: there is nothing to close.
    csv = ctx.rules_for("frozen", "data/train.csv")
    assert closed_directory(csv, "data/train.csv") is None


def change(path: str, before: bool, after: bool, old: str = A, new: str = B) -> TreeChange:
    return TreeChange(path, before, after, old if before else ZERO, new if after else ZERO)


def test_classify_modified_deleted_renamed_and_added(ctx: Context) -> None:
    changes = [
        change("datasets/p/v1/labels.json", True, True),
        change("datasets/p/v1/README.md", True, False, old="d" * 40),
        change("datasets/p/v1/ok/1.jpg", True, False, old=A),
        change("datasets/p/v1/ok/2.jpg", False, True, new=A),  # the same blob: a rename
        change("datasets/p/v1/new.jpg", False, True, new=B),
        change("datasets/p/v2/README.md", False, True, new=B),
        change("train.py", True, True),
    ]
    edits, additions = classify(ctx, changes, "c" * 40)
    assert [(e.path, e.kind, e.renamed_to) for e in edits] == [
        ("datasets/p/v1/labels.json", "modified", None),
        ("datasets/p/v1/README.md", "deleted", None),
        ("datasets/p/v1/ok/1.jpg", "renamed", "datasets/p/v1/ok/2.jpg"),
    ]
    # The rename's new side is reported with the rename, not again as an addition;
    # whether an addition is frozen depends on the base holding its directory.
    assert [(e.path, e.directory) for e in additions] == [
        ("datasets/p/v1/new.jpg", "datasets/p/v1"),
        ("datasets/p/v2/README.md", "datasets/p/v2"),
    ]


def test_frozen_violation_names_the_first_commit_and_the_next_version(ctx: Context) -> None:
    first = {"datasets/p/v1/labels.json": A, "datasets/p/v3": B}
    edits = [
        Edit("datasets/p/v1/labels.json", "modified", commit="c" * 40),
        Edit("datasets/p/v3/x.jpg", "added", commit="c" * 40, directory="datasets/p/v3"),
    ]
    out = list(check_frozen(ctx, edits, first, "push"))
    assert [(v.check, v.path, v.commit) for v in out] == [
        ("frozen-modified", "datasets/p/v1/labels.json", "c" * 40),
        ("frozen-modified", "datasets/p/v3/x.jpg", "c" * 40),
    ]
    assert out[0].message == f"is frozen since commit {A[:12]} and must not be modified"
    assert out[0].why == "a released version is immutable"
    assert "create datasets/p/v2/ instead" in (out[0].fix or "")
    assert "Repolicy-Allow-Frozen: datasets/p/v1/labels.json" in (out[0].fix or "")
    assert out[1].message == (
        f"adds a file to datasets/p/v3/, which is frozen since commit {B[:12]}: "
        "a released directory takes no new files"
    )
    assert "create datasets/p/v4/ instead" in (out[1].fix or "")


def test_a_frozen_file_pattern_suggests_no_version(ctx: Context) -> None:
    (v,) = check_frozen(ctx, [Edit("data/train.csv", "deleted")], {}, "check")
    assert v.message == "is frozen and must not be deleted"
    assert v.fix == (
        "undo it: git restore --source=HEAD --staged --worktree -- data/train.csv\n"
        "and publish the change as a new file\n"
        "or, on purpose: REPOLICY_ALLOW_FROZEN=data/train.csv git commit"
    )


def test_the_escape_names_a_path_a_directory_or_a_pattern() -> None:
    assert allow_list("datasets/p/v1/labels.json: datasets/q/v1/ :") == (
        "datasets/p/v1/labels.json",
        "datasets/q/v1/",
    )
    path = "datasets/p/v1/ok/1 a.jpg"
    assert is_allowed(path, ["datasets/p/v1/ok/1 a.jpg"])
    assert is_allowed(path, ["datasets/p/v1"])
    assert is_allowed(path, ["datasets/p/v1/"])
    assert is_allowed(path, ["datasets/*/v1/**"])
    assert is_allowed(path, ["*.jpg"])
    assert not is_allowed(path, ["datasets/p/v2", "datasets/p/v1/ok/2.jpg", "*.png"])


def test_an_escaped_edit_is_not_reported(ctx: Context) -> None:
    edit = Edit("datasets/p/v1/labels.json", "modified", allow=("datasets/p/v1/labels.json",))
    assert list(check_frozen(ctx, [edit], {}, "check")) == []


def test_an_entry_with_a_slash_is_a_path_below_the_directory(tmp_path: Path) -> None:
    ctx = context(tmp_path, 'require: {"datasets/*/v*/": ["docs/index.md"]}\n')
    assert gaps(ctx, ["datasets/p/v1/index.md"]) == {"datasets/p/v1": ["docs/index.md"]}
    assert gaps(ctx, ["datasets/p/v1/docs/index.md"]) == {}


def test_audit_sees_a_merge_with_a_new_root_delete_a_frozen_dataset(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'frozen: ["datasets/*/v*/**"]\n')
    repo.write("datasets/a/v1/labels.json", "[1]\n")
    repo.add(".repolicy.yaml", "datasets")
    repo.commit("release v1")
    repo.git("checkout", "-q", "--orphan", "fresh")
    repo.git("rm", "-rq", "--cached", "datasets")
    shutil.rmtree(repo.path / "datasets")
    root = repo.commit("start afresh")
    merge = repo.git(
        "commit-tree", f"{root}^{{tree}}", "-p", "main", "-p", root, "-m", "merge a fresh start"
    ).strip()
    repo.git("checkout", "-q", "-B", "main", merge)
    repo.git("branch", "-q", "-D", "fresh")
    proc = repo.run("audit", "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = [(v["check"], v["path"], v["commit"]) for v in json.loads(proc.stdout)["violations"]]
    assert found == [("frozen-modified", "datasets/a/v1/labels.json", merge)]
