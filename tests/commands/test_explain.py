"""`repolicy explain`: "why is this file ignored / not in LFS / blocked?"."""

from __future__ import annotations

import json
from typing import Any

from ..conftest import ROOT, Repo

POLICY = """\
extends: [ml-checkpoints]
include:
  - outputs/*/checkpoints/best.pth
exclude:
  - outputs/
"""


def preset_line(needle: str) -> int:
    lines = (ROOT / "policies" / "ml-checkpoints.yaml").read_text().splitlines()
    return next(k for k, line in enumerate(lines, 1) if needle in line)


def explain(repo: Repo, *paths: str) -> list[dict[str, Any]]:
    proc = repo.run("explain", "--format", "json", "--", *paths)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["version"], data["command"]) == (1, "explain")
    return list(data["paths"])


def test_the_dead_negation_is_called_out_with_both_lines(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write(".gitignore", "# ours\noutputs/\n!outputs/*/checkpoints/best.pth\n")
    repo.write("outputs/r1/checkpoints/best.pth", "w")
    (entry,) = explain(repo, "outputs/r1/checkpoints/best.pth")
    assert entry["ignored"] is True
    assert entry["ignore_source"] == {"file": ".gitignore", "line": 2, "pattern": "outputs/"}
    assert entry["dead_negations"] == [
        {
            "file": ".gitignore",
            "line": 3,
            "pattern": "!outputs/*/checkpoints/best.pth",
            "blocked_by": {"file": ".gitignore", "line": 2, "pattern": "outputs/"},
        }
    ]
    assert [v["check"] for v in entry["violations"]] == ["include-ignored"]
    assert entry["verdict"] == "would be blocked by audit: include-ignored"
    text = repo.run("explain", "outputs/r1/checkpoints/best.pth").stdout
    assert ".gitignore:3: `!outputs/*/checkpoints/best.pth` can never apply" in text
    assert ".gitignore:2: `outputs/`" in text


def test_rules_say_which_of_include_and_exclude_wins(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY.replace("best.pth", "keep.pth"))
    kept, dropped = explain(repo, "outputs/r1/checkpoints/keep.pth", "outputs/r1/x.pth")
    rules = {(r["key"], r["pattern"], r["file"], r["line"], r["wins"]) for r in kept["rules"]}
    assert rules == {
        ("include", "outputs/*/checkpoints/keep.pth", ".repolicy.yaml", 3, True),
        ("exclude", "outputs/", ".repolicy.yaml", 5, False),
        ("lfs", "*.pth", "preset:ml-checkpoints", preset_line('"*.pth"'), None),
    }
    assert {(r["key"], r["wins"]) for r in dropped["rules"]} == {
        ("exclude", True),
        ("lfs", None),
    }
    assert (kept["index"], kept["exists"]) == ("absent", False)


def test_attributes_and_the_line_they_come_from(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write(".gitattributes", "* text=auto\n*.pth filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("models/.gitattributes", "*.pth -filter\n")
    (entry,) = explain(repo, "models/a.pth")
    assert entry["attributes"] == {
        "filter": "unset",
        "diff": "lfs",
        "merge": "lfs",
        "text": "unset",
    }
    assert entry["attribute_sources"]["filter"] == {
        "file": "models/.gitattributes",
        "line": 1,
        "text": "*.pth -filter",
    }
    assert entry["attribute_sources"]["diff"]["line"] == 2


def test_the_index_says_pointer_or_blob_and_check_would_block(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("raw.pth", "not a pointer")
    repo.write(
        "ptr.pth",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12\n",
    )
    repo.add("raw.pth", "ptr.pth")
    raw, ptr = explain(repo, "raw.pth", "ptr.pth")
    assert (raw["index"], ptr["index"]) == ("blob", "lfs-pointer")
    assert {v["check"] for v in raw["violations"]} >= {"lfs-missing"}
    assert raw["verdict"].startswith("would be blocked by check: ")
    assert ptr["verdict"] == "ok: nothing to report" or "lfs-missing" not in ptr["verdict"]


def test_paths_are_relative_to_where_it_runs(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("logs/a b.log", "x")
    proc = repo.run("explain", "--format", "json", "a b.log", cwd=repo.path / "logs")
    (entry,) = json.loads(proc.stdout)["paths"]
    assert entry["path"] == "logs/a b.log"
    assert {r["key"] for r in entry["rules"]} == {"exclude"}
    assert entry["ignored"] is False
    assert [v["check"] for v in entry["violations"]] == ["not-ignored"]


def test_an_empty_file_is_a_pointer_only_under_filter_lfs(repo: Repo) -> None:
    # No LFS anywhere: `logs/.gitkeep` is an empty file, not an LFS pointer.
    repo.write("logs/.gitkeep", b"")
    repo.write("weights/empty.pth", b"")
    repo.write(".gitattributes", "*.pth filter=lfs diff=lfs merge=lfs -text\n")
    repo.add("logs/.gitkeep", "weights/empty.pth", ".gitattributes")
    keep, empty = explain(repo, "logs/.gitkeep", "weights/empty.pth")
    assert (keep["index"], empty["index"]) == ("blob", "lfs-pointer")
    text = repo.run("explain", "logs/.gitkeep").stdout
    assert "tracked as an ordinary blob" in text


def test_a_path_only_history_holds_gets_the_verdict_audit_gives(repo: Repo) -> None:
    # An oversized file committed once and deleted since: only history holds it.
    repo.write(".repolicy.yaml", "budgets:\n  file: 1 KiB\n")
    repo.write("big.bin", "x" * 4096)
    repo.add(".repolicy.yaml", "big.bin")
    repo.commit("add a big file")
    repo.git("rm", "-q", "big.bin")
    repo.commit("drop it again")
    audit = json.loads(repo.run("audit", "--format", "json").stdout)
    from_audit = [v for v in audit["violations"] if v["path"] == "big.bin"]
    assert [v["check"] for v in from_audit] == ["file-too-large"]

    (entry,) = explain(repo, "big.bin")

    assert entry["violations"] == from_audit
    assert entry["tracked"] is False
    assert entry["verdict"] == "would be blocked by audit: file-too-large"


def test_explain_and_audit_agree_on_every_path_of_a_repository(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY + "budgets:\n  file: 1 KiB\n")
    repo.write("outputs/r1/checkpoints/best.pth", "w")
    repo.write("outputs/r1/epoch_3.pth", "w")
    repo.write("notes.log", "x")
    repo.write("data/huge.csv", "y" * 2048)
    repo.git("add", "-f", "--", ".")
    repo.commit("everything")
    audit = json.loads(repo.run("audit", "--format", "json").stdout)
    paths = sorted({v["path"] for v in audit["violations"] if v["path"]})
    assert len(paths) >= 3

    entries = explain(repo, *paths)

    for entry in entries:
        assert entry["violations"] == [v for v in audit["violations"] if v["path"] == entry["path"]]
