"""The baseline file: its format, its errors, and which violations it accepts."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from repolicy import baseline
from repolicy.baseline import Entry, Key, parse, quote_path, render, unquote_path
from repolicy.errors import FileError, PolicyError
from repolicy.git import HistoryEntry
from repolicy.policy.loader import read_policy
from repolicy.report import ERROR, Report, Violation

BLOB = "a" * 40
BLOB2 = "b" * 40
OLD = "1" * 40
NEW = "2" * 40

ODD_NAMES = [
    "plain/model.pth",
    "with space/and  two.bin",
    " leading and trailing ",
    "tab\there.bin",
    "new\nline.bin",
    'quote"d.bin',
    "back\\slash.bin",
    "caf\u00e9/\u6a21\u578b.pth",
    os.fsdecode(b"latin1-\xe9.bin"),  # not UTF-8: a surrogate escape
    "bidi-\u202etxt.exe",  # an invisible format character
    "cr\rlf.bin",
    "#not-a-comment.bin",
    '"starts-with-quote',
    "$(curl example.com|sh).ckpt",
    "`id`.bin",
    "a;b|c&d.bin",
    "!bang.bin",
    "~tilde.bin",
]


def entries_for(names: list[str]) -> list[Entry]:
    return [Entry("file-too-large", BLOB, name, (OLD,)) for name in names]


def test_a_written_baseline_reads_back_the_same_entries() -> None:
    written = [
        *entries_for(ODD_NAMES),
        Entry("not-ignored", "", "wandb/run-1/log.txt"),
        Entry("excluded", BLOB2, "logs/a.log", (OLD, NEW)),
    ]
    back = parse(render(written), ".repolicy-baseline")
    assert {e.key: e.commits for e in back.entries.values()} == {e.key: e.commits for e in written}


@pytest.mark.parametrize("name", ODD_NAMES)
def test_every_line_is_one_entry_whatever_the_name(name: str) -> None:
    data = render(entries_for([name]))
    body = [line for line in data.decode().split("\n") if line and not line.startswith("#")]
    assert len(body) == 1
    assert body[0].count("\t") == 3
    data.decode("utf-8")  # the file itself is always UTF-8
    assert unquote_path(quote_path(name)) == name


def test_names_are_bare_unless_quoting_is_needed() -> None:
    assert quote_path("outputs/r1/best.pth") == "outputs/r1/best.pth"
    assert quote_path("caf\u00e9.pth") == "caf\u00e9.pth"
    assert quote_path("a\tb") == '"a\\tb"'
    assert quote_path(os.fsdecode(b"x\xff")) == '"x\\377"'
    assert quote_path('"q') == '"\\"q"'


@pytest.mark.parametrize("name", ["$(echo ran|sh).ckpt", "`id`.bin", "x;rm -rf y", "!!"])
def test_a_shell_expands_nothing_in_a_written_path(name: str) -> None:
    # A reviewer pasting a path from the baseline into a shell, quoted as
    # written, must get the file name back, not run it.
    field = render(entries_for([name])).decode().split("\n")[3].split("\t")[2]
    echoed = subprocess.run(
        ["sh", "-c", f"printf '%s' {field}"], capture_output=True, text=True, check=True
    ).stdout
    # Between double quotes the shell keeps every byte as written: nothing ran.
    assert field.startswith('"') and echoed == field[1:-1]
    assert unquote_path(field) == name
    assert "$" not in field and "`" not in field and "!" not in field


def test_a_baseline_written_before_shell_quoting_still_reads() -> None:
    old_line = f"excluded\t{BLOB}\t$(echo x).ckpt\t{OLD}\n"
    back = parse(old_line.encode(), ".repolicy-baseline")
    assert [e.path for e in back.entries.values()] == ["$(echo x).ckpt"]


def test_entries_are_sorted_by_check_then_path_whatever_the_order_found() -> None:
    entries = [
        Entry("lfs-missing", BLOB, "b.pth", (OLD,)),
        Entry("excluded", BLOB2, "z.log", (OLD,)),
        Entry("excluded", BLOB, "a.log", (NEW, OLD)),
        Entry("not-ignored", "", "wandb/x"),
    ]
    first = render(entries)
    for _ in range(5):
        random.shuffle(entries)
        assert render(entries) == first
    body = [line.split("\t")[:3] for line in first.decode().splitlines() if line[0] != "#"]
    assert body == [
        ["excluded", BLOB, "a.log"],
        ["excluded", BLOB2, "z.log"],
        ["lfs-missing", BLOB, "b.pth"],
        ["not-ignored", "", "wandb/x"],
    ]


def test_comments_blank_lines_and_crlf_are_read() -> None:
    data = b"# a comment\r\n\r\nexcluded\t\ta.log\r\nfile-large\t" + BLOB.encode() + b"\tb.bin\t\n"
    keys = set(parse(data, "b").entries)
    assert keys == {Key("excluded", "", "a.log"), Key("file-large", BLOB, "b.bin")}


@pytest.mark.parametrize(
    ("line", "col", "message"),
    [
        (b"exluded\t\ta.log", 1, "unknown check 'exluded'; did you mean 'excluded'?"),
        (b"repo-budget\t\tx", 1, "'repo-budget' cannot be baselined"),
        (b"excluded\tnothex\ta.log", 10, "bad blob id 'nothex'"),
        (b"excluded\t\t", 11, "the path is empty"),
        (b'excluded\t\t"a\\qb"', 13, "bad escape '\\q'"),
        (b'excluded\t\t"abc', 11, "no closing quote"),
        (b'excluded\t\t"a"b', 14, "text after the closing quote"),
        (b"excluded\t\ta.log\tabc", 17, "bad commit id 'abc'"),
        (b"excluded\t\ta.log\t" + OLD.encode() + b",zz", 58, "bad commit id 'zz'"),
        (b"excluded\ta.log", 1, "3 or 4 tab-separated fields"),
    ],
)
def test_a_malformed_entry_is_an_error_at_its_line_and_column(
    line: bytes, col: int, message: str
) -> None:
    data = b"# header\nexcluded\t\tok.log\n" + line + b"\n"
    with pytest.raises(FileError) as info:
        parse(data, "ci/baseline")
    assert (info.value.path, info.value.line, info.value.col) == ("ci/baseline", 3, col)
    assert message in info.value.message
    assert str(info.value).startswith(f"ci/baseline:3:{col}: ")


def test_a_duplicate_entry_names_the_first() -> None:
    with pytest.raises(FileError, match=r"^b:4:1: duplicate baseline entry \(first on line 2\)"):
        parse(b"#\nexcluded\t\ta\nexcluded\t\tb\nexcluded\t\ta\n", "b")


def test_a_baseline_that_is_not_utf8_is_an_error_where_it_breaks() -> None:
    with pytest.raises(FileError, match=r"^b:2:11: the baseline is not valid UTF-8"):
        parse(b"#\nexcluded\t\t\xff.log\n", "b")


# -- which violations it accepts ---------------------------------------------


def violation(check: str, path: str | None, commit: str | None = None) -> Violation:
    return Violation(check, ERROR, path, "m", commit=commit)


def test_a_violation_is_accepted_only_while_every_commit_that_brings_it_is_recorded() -> None:
    old = [HistoryEntry(OLD, "big.bin", BLOB, "100644")]
    accepted = baseline.Baseline(
        "b", {e.key: e for e in baseline.record([violation("file-too-large", "big.bin", OLD)], old)}
    )
    assert list(accepted.entries.values()) == [Entry("file-too-large", BLOB, "big.bin", (OLD,))]

    report = Report("audit", "p", [violation("file-too-large", "big.bin", OLD)])
    baseline.apply(report, accepted, old, judge_unused=True)
    assert report.violations == []
    assert report.extensions["baseline"] == {"file": "b", "accepted": 1, "unused": 0}

    # A later commit writes the same blob at the same path again: still reported.
    again = [*old, HistoryEntry(NEW, "big.bin", BLOB, "100644")]
    report = Report("audit", "p", [violation("file-too-large", "big.bin", OLD)])
    baseline.apply(report, accepted, again, judge_unused=True)
    assert [v.check for v in report.violations] == ["file-too-large"]
    assert report.extensions["baseline"]["accepted"] == 0


def test_budgets_and_unpushed_are_never_recorded() -> None:
    found = [
        violation("repo-budget", None),
        violation("lfs-budget", None),
        violation("unpushed", None),
        violation("missing-required", "datasets/a/v1/", OLD),
        violation("not-ignored", "wandb/x"),
    ]
    assert baseline.record(found, []) == [Entry("not-ignored", "", "wandb/x")]


def test_unused_entries_become_warnings_only_when_asked() -> None:
    data = render([Entry("excluded", "", "gone.log"), Entry("excluded", "", "here.log")])
    accepted = parse(data, ".repolicy-baseline")
    report = Report("push", "p", [violation("excluded", "here.log")])
    baseline.apply(report, accepted, [])
    assert report.violations == []
    assert report.extensions["baseline"]["unused"] is None  # not judged
    report = Report("audit", "p", [violation("excluded", "here.log")])
    baseline.apply(report, accepted, [], judge_unused=True)
    (unused,) = report.violations
    assert (unused.check, unused.severity, unused.path) == (
        "baseline-unused",
        "warning",
        ".repolicy-baseline",
    )
    assert "line 4" in unused.message and "gone.log" in unused.message
    assert report.notes == [
        "baseline .repolicy-baseline: 1 violation accepted, 1 entry no longer matches anything"
    ]


# -- the policy key ------------------------------------------------------------


def test_the_baseline_key_is_read_normalised_and_inherited(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text("baseline: ./ci//accepted.tsv\n")
    (tmp_path / ".repolicy.yaml").write_text("extends: [team.yaml]\n")
    policy, _ = read_policy(str(tmp_path), None)
    assert policy.baseline == "ci/accepted.tsv"
    (tmp_path / ".repolicy.yaml").write_text("extends: [team.yaml]\nbaseline: mine\n")
    assert read_policy(str(tmp_path), None)[0].baseline == "mine"
    (tmp_path / ".repolicy.yaml").write_text("exclude: ['*.log']\n")
    assert read_policy(str(tmp_path), None)[0].baseline is None


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("baselne: x\n", "1:1", "unknown key 'baselne' in the policy; did you mean 'baseline'?"),
        ("baseline: [a]\n", "1:11", "'baseline' must be a string, not a list"),
        ("baseline: /etc/accepted\n", "1:11", "must be a path relative to the repository root"),
        ("baseline: ../outside\n", "1:11", "is outside the repository"),
        ("baseline: .git/accepted\n", "1:11", "is inside .git"),
        ("baseline: ci/\n", "1:11", "names a directory"),
        ("exclude: []\nbaseline: ''\n", "2:11", "'baseline' must name a file"),
        ('baseline: "a\\0b"\n', "1:11", "NUL byte"),
    ],
)
def test_a_bad_baseline_key_is_a_policy_error_at_its_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, where: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".repolicy.yaml").write_text(text)
    with pytest.raises(PolicyError) as info:
        read_policy(str(tmp_path), None)
    assert str(info.value).startswith(f".repolicy.yaml:{where}: ")
    assert message in str(info.value)
