"""Versioned datasets: `require` and `frozen` through `check`, `check --push` and `audit`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo
from .test_push import main_update, push_check

POLICY = """\
require:
  "datasets/*/v*/": [README.md, labels.json]
frozen:
  - datasets/*/v*/**
"""


def check(repo: Repo, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    proc = repo.run("check", "--format", "json", *args, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def audit(repo: Repo) -> tuple[int, dict[str, Any]]:
    proc = repo.run("audit", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def mine(data: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    """(check, path, commit) of the dataset checks' findings."""
    return {
        (v["check"], v["path"], v["commit"])
        for v in data["violations"]
        if v["check"] in ("missing-required", "frozen-modified")
    }


def version(repo: Repo, directory: str, images: tuple[str, ...] = ("ok/1.jpg",)) -> None:
    """Write and stage a complete dataset version."""
    repo.write(f"{directory}/README.md", f"# {directory}\nsource: camera 2\n")
    repo.write(f"{directory}/labels.json", '{"ok": 0}\n')
    for image in images:
        repo.write(f"{directory}/{image}", f"pixels of {image}")
    repo.git("add", "-A", "--", directory)


@pytest.fixture
def released(repo: Repo) -> Repo:
    """datasets/printer/v1 committed; HEAD is the release."""
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    version(repo, "datasets/printer/v1", ("ok/1.jpg", "ok/2.jpg", "bad/3.jpg"))
    repo.commit("release printer v1")
    return repo


@pytest.fixture
def published(released: Repo, tmp_path: Path) -> Repo:
    """`released`, pushed to a local bare remote `origin`."""
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "remote.git")], check=True)
    released.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    released.git("push", "-q", "origin", "main")
    return released


# -- check ----------------------------------------------------------------


def test_a_new_version_without_its_readme_fails_at_commit_time(released: Repo) -> None:
    released.write("datasets/printer/v2/ok/1.jpg", "pixels")
    released.write("datasets/printer/v2/labels.json", "{}")
    released.add("datasets/printer/v2")
    code, data = check(released)
    assert (code, mine(data)) == (1, {("missing-required", "datasets/printer/v2/", None)})
    (v,) = data["violations"]
    assert v["message"].startswith("lacks README.md,")
    assert v["fix"].endswith("git add -- datasets/printer/v2/README.md")
    released.write("datasets/printer/v2/README.md", "# v2\n")
    released.add("datasets/printer/v2/README.md")
    code, data = check(released)
    assert (code, data["violations"]) == (0, [])


def test_a_new_version_beside_the_old_one_is_fine(released: Repo) -> None:
    version(released, "datasets/printer/v2", ("ok/1.jpg", "ok/4.jpg"))
    code, data = check(released)
    assert (code, data["violations"]) == (0, [])


def test_an_old_gap_in_an_untouched_directory_does_not_block_commits(released: Repo) -> None:
    released.write("datasets/cats/v1/a.jpg", "pixels")
    released.add("datasets/cats/v1/a.jpg")
    released.commit("committed with --no-verify")
    released.write("train.py", "print(2)\n")
    released.add("train.py")
    code, data = check(released)
    assert (code, data["violations"]) == (0, [])
    # audit still reports it, at HEAD.
    head = released.git("rev-parse", "HEAD").strip()
    assert mine(audit(released)[1]) == {("missing-required", "datasets/cats/v1/", head)}


def test_modifying_deleting_and_renaming_a_released_file(released: Repo) -> None:
    first = released.git("rev-parse", "HEAD").strip()
    released.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    released.git("rm", "-q", "--", "datasets/printer/v1/bad/3.jpg")
    released.git("mv", "datasets/printer/v1/ok/2.jpg", "datasets/printer/v1/ok/2b.jpg")
    released.add("datasets/printer/v1/labels.json")
    code, data = check(released)
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", "datasets/printer/v1/labels.json", None),
            ("frozen-modified", "datasets/printer/v1/bad/3.jpg", None),
            ("frozen-modified", "datasets/printer/v1/ok/2.jpg", None),
        },
    )
    messages = {v["path"]: v["message"] for v in data["violations"]}
    since = f"is frozen since commit {first[:12]}"
    assert messages == {
        "datasets/printer/v1/labels.json": f"{since} and must not be modified",
        "datasets/printer/v1/bad/3.jpg": f"{since} and must not be deleted",
        "datasets/printer/v1/ok/2.jpg": (
            f"{since} and must not be renamed (here to datasets/printer/v1/ok/2b.jpg)"
        ),
    }
    assert all("create datasets/printer/v2/ instead" in v["fix"] for v in data["violations"])


def test_deleting_a_released_readme_is_caught_even_when_paths_narrow(released: Repo) -> None:
    # pre-commit passes only the files that still exist; the deletion must still count.
    released.git("rm", "-q", "--", "datasets/printer/v1/README.md")
    released.write("train.py", "print(3)\n")
    released.add("train.py")
    code, data = check(released, "train.py")
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", "datasets/printer/v1/README.md", None),
            ("missing-required", "datasets/printer/v1/", None),
        },
    )


def test_adding_a_file_to_a_released_version_is_frozen_modified(released: Repo) -> None:
    released.write("datasets/printer/v1/ok/9.jpg", "late image")
    released.write("datasets/printer/v1/new-class/1.jpg", "new class")
    released.add("datasets/printer/v1")
    code, data = check(released)
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", "datasets/printer/v1/ok/9.jpg", None),
            ("frozen-modified", "datasets/printer/v1/new-class/1.jpg", None),
        },
    )
    assert data["violations"][0]["message"].startswith(
        "adds a file to datasets/printer/v1/, which is frozen since commit"
    )


def test_the_environment_escape_allows_what_it_names(released: Repo) -> None:
    released.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    released.write("datasets/printer/v1/README.md", "# fixed typo\n")
    released.add("datasets/printer/v1")
    allow = {"REPOLICY_ALLOW_FROZEN": "datasets/printer/v1/labels.json"}
    code, data = check(released, env=allow)
    assert (code, mine(data)) == (
        1,
        {("frozen-modified", "datasets/printer/v1/README.md", None)},
    )
    allow = {"REPOLICY_ALLOW_FROZEN": "datasets/printer/v1/labels.json:datasets/*/v1/*.md"}
    assert check(released, env=allow)[0] == 0
    assert check(released, env={"REPOLICY_ALLOW_FROZEN": "datasets/printer/v1/"})[0] == 0


def test_a_pattern_entry_is_satisfied_by_any_matching_name(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'require: {"docs/*/": ["*.md", "images/"]}\n')
    repo.write("docs/setup/index.txt", "x")
    repo.add(".repolicy.yaml", "docs")
    code, data = check(repo)
    assert (code, mine(data)) == (1, {("missing-required", "docs/setup/", None)})
    assert data["violations"][0]["message"].startswith(
        "lacks an entry matching '*.md' and an entry matching 'images/'"
    )
    repo.write("docs/setup/Guide.md", "# guide\n")
    repo.write("docs/setup/images/a.png", "png")
    repo.add("docs")
    code, data = check(repo)
    assert (code, data["violations"]) == (0, [])


@pytest.mark.parametrize("task", ["zebra crossing", "données-été", "-dash"])
def test_odd_names_are_judged_as_git_stores_them(repo: Repo, task: str) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    version(repo, f"datasets/{task}/v1", ("ok/a b.jpg", "ok/é.jpg"))
    repo.commit("release")
    repo.write(f"datasets/{task}/v1/ok/é.jpg", "changed")
    repo.git("rm", "-q", "--", f"datasets/{task}/v1/labels.json")
    repo.add(f"datasets/{task}/v1/ok/é.jpg")
    code, data = check(repo)
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", f"datasets/{task}/v1/ok/é.jpg", None),
            ("frozen-modified", f"datasets/{task}/v1/labels.json", None),
            ("missing-required", f"datasets/{task}/v1/", None),
        },
    )
    allow = {"REPOLICY_ALLOW_FROZEN": f"datasets/{task}/v1/ok/é.jpg:datasets/{task}/v1/labels.json"}
    assert mine(check(repo, env=allow)[1]) == {("missing-required", f"datasets/{task}/v1/", None)}


# -- check --push -------------------------------------------------------------


def test_push_flags_a_change_to_what_the_remote_has(published: Repo) -> None:
    published.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    published.add("datasets/printer/v1/labels.json")
    edit = published.commit("fix a label")
    published.git("rm", "-q", "--", "datasets/printer/v1/bad/3.jpg")
    delete = published.commit("drop a bad image")
    published.git("mv", "datasets/printer/v1/ok/1.jpg", "datasets/printer/ok-1.jpg")
    move = published.commit("move an image out")
    code, data = push_check(published, [main_update(published)], "origin")
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", "datasets/printer/v1/labels.json", edit),
            ("frozen-modified", "datasets/printer/v1/bad/3.jpg", delete),
            ("frozen-modified", "datasets/printer/v1/ok/1.jpg", move),
        },
    )
    fixes = {v["path"]: v["fix"] for v in data["violations"]}
    assert (
        "Repolicy-Allow-Frozen: datasets/printer/v1/labels.json"
        in fixes["datasets/printer/v1/labels.json"]
    )


def test_an_unpushed_version_can_still_change_and_a_new_one_is_fine(published: Repo) -> None:
    version(published, "datasets/printer/v2")
    published.commit("printer v2")
    published.write("datasets/printer/v2/labels.json", '{"ok": 2}\n')
    published.write("datasets/printer/v2/ok/5.jpg", "one more")
    published.add("datasets/printer/v2")
    published.commit("v2: one more image, before anyone has it")
    code, data = push_check(published, [main_update(published)], "origin")
    assert (code, data["violations"]) == (0, [])


def test_push_flags_a_file_added_to_a_released_version(published: Repo) -> None:
    published.write("datasets/printer/v1/ok/9.jpg", "late image")
    published.add("datasets/printer/v1/ok/9.jpg")
    late = published.commit("late image")
    code, data = push_check(published, [main_update(published)], "origin")
    assert (code, mine(data)) == (1, {("frozen-modified", "datasets/printer/v1/ok/9.jpg", late)})


def test_the_commit_trailer_and_the_environment_escape_a_push(published: Repo) -> None:
    published.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    published.add("datasets/printer/v1/labels.json")
    published.commit(
        "Relabel image 2 of v1 after review\n\n"
        "Repolicy-Allow-Frozen: datasets/printer/v1/labels.json\n"
    )
    published.write("datasets/printer/v1/README.md", "# amended\n")
    published.add("datasets/printer/v1/README.md")
    readme = published.commit("README typo")
    code, data = push_check(published, [main_update(published)], "origin")
    assert (code, mine(data)) == (
        1,
        {("frozen-modified", "datasets/printer/v1/README.md", readme)},
    )
    stdin = f"{main_update(published)}\n".encode()
    proc = published.run(
        "check", "--push", "origin",
        input=stdin, env={"REPOLICY_ALLOW_FROZEN": "datasets/printer/v1/README.md"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout


def test_a_trailer_in_the_wrong_commit_does_not_help(published: Repo) -> None:
    published.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    published.add("datasets/printer/v1/labels.json")
    edit = published.commit("relabel")
    published.commit("later\n\nRepolicy-Allow-Frozen: datasets/printer/v1/labels.json\n")
    code, data = push_check(published, [main_update(published)], "origin")
    assert (code, mine(data)) == (1, {("frozen-modified", "datasets/printer/v1/labels.json", edit)})


def test_every_pushed_commit_must_hold_the_required_files(published: Repo) -> None:
    published.write("datasets/printer/v2/ok/1.jpg", "pixels")
    published.add("datasets/printer/v2/ok/1.jpg")
    bare = published.commit("v2 images, docs to follow")
    published.write("datasets/printer/v2/ok/2.jpg", "pixels")
    published.add("datasets/printer/v2/ok/2.jpg")
    published.commit("more images")
    version(published, "datasets/printer/v2")
    published.commit("v2 docs and labels")
    code, data = push_check(published, [main_update(published)], "origin")
    # The gap both early commits share is reported once, where it started.
    assert (code, mine(data)) == (1, {("missing-required", "datasets/printer/v2/", bare)})


# -- audit --------------------------------------------------------------------


def test_audit_walks_history_and_honours_the_trailer(released: Repo) -> None:
    released.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    released.add("datasets/printer/v1/labels.json")
    edit = released.commit("relabel")
    released.write("datasets/printer/v1/README.md", "# accuracy 0.93\n")
    released.add("datasets/printer/v1/README.md")
    released.commit("record accuracy\n\nRepolicy-Allow-Frozen: datasets/printer/v1/README.md\n")
    released.git("checkout", "-q", "-b", "cleanup")
    released.git("rm", "-q", "--", "datasets/printer/v1/ok/1.jpg")
    gone = released.commit("drop an image on a side branch")
    released.git("checkout", "-q", "main")
    code, data = audit(released)
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", "datasets/printer/v1/labels.json", edit),
            ("frozen-modified", "datasets/printer/v1/ok/1.jpg", gone),
        },
    )


def test_audit_judges_the_work_tree_against_head(released: Repo) -> None:
    released.write("datasets/printer/v1/labels.json", "edited on disk\n")
    released.write("datasets/printer/v1/ok/untracked.jpg", "dropped in")
    released.write("datasets/printer/v3/ok/1.jpg", "a version in progress")
    (released.path / "datasets/printer/v1/bad/3.jpg").unlink()
    code, data = audit(released)
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", "datasets/printer/v1/labels.json", None),
            ("frozen-modified", "datasets/printer/v1/ok/untracked.jpg", None),
            ("frozen-modified", "datasets/printer/v1/bad/3.jpg", None),
            ("missing-required", "datasets/printer/v3/", None),
        },
    )
    assert all(
        v["message"].endswith("(in the work tree, not committed yet)")
        for v in data["violations"]
        if v["check"] == "frozen-modified"
    )


def test_audit_flags_a_merge_that_rewrites_a_released_file(released: Repo) -> None:
    released.git("checkout", "-q", "-b", "relabel")
    released.write("datasets/printer/v1/labels.json", '{"ok": 1}\n')
    released.add("datasets/printer/v1/labels.json")
    theirs = released.commit("relabel on a branch")
    released.git("checkout", "-q", "main")
    released.write("datasets/printer/v1/labels.json", '{"ok": 2}\n')
    released.add("datasets/printer/v1/labels.json")
    ours = released.commit("relabel on main")
    released.git("merge", "-q", "relabel", check=False)  # conflicts
    released.write("datasets/printer/v1/labels.json", '{"ok": 3}\n')
    released.add("datasets/printer/v1/labels.json")
    merge = released.commit("merge relabel")
    code, data = audit(released)
    path = "datasets/printer/v1/labels.json"
    assert (code, mine(data)) == (
        1,
        {
            ("frozen-modified", path, theirs),
            ("frozen-modified", path, ours),
            ("frozen-modified", path, merge),
        },
    )


def test_audit_reads_history_whatever_bytes_the_names_hold(repo: Repo) -> None:
    # \x01 and \x02 mark commit headers in the log repolicy reads: a file name
    # holding them must still be read as a name.
    odd = "datasets/odd/v1/ok/\x01weird\x02 name.jpg"
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    version(repo, "datasets/odd/v1", ("ok/\x01weird\x02 name.jpg", "ok/plain.jpg"))
    repo.commit("release")
    repo.write(odd, "changed")
    repo.git("add", "--", odd)
    edit = repo.commit("touch the odd one")
    code, data = audit(repo)
    assert (code, mine(data)) == (1, {("frozen-modified", odd, edit)})
