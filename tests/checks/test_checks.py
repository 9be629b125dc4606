"""Checks are pure functions from facts to violations: tested here on hand-made records."""

from __future__ import annotations

import shlex
import textwrap
from pathlib import Path

import pytest

from repolicy.checks import Context
from repolicy.checks.budgets import check_file_sizes
from repolicy.checks.exclude import check_excluded
from repolicy.checks.lfs import check_lfs, check_lfs_attributes
from repolicy.facts import BlobAtPath
from repolicy.lfs import Malformed, Pointer
from repolicy.policy import Policy, load_policy

MiB = 1024 * 1024


def policy(tmp_path: Path, text: str) -> Policy:
    (tmp_path / ".repolicy.yaml").write_text(textwrap.dedent(text))
    return load_policy(tmp_path)


def blob(
    path: str,
    size: int = 10,
    *,
    mode: str = "100644",
    pointer: Pointer | Malformed | None = None,
    lfs_filter: bool = False,
) -> BlobAtPath:
    return BlobAtPath(path, "0" * 40, mode, size, pointer=pointer, lfs_filter=lfs_filter)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(
        policy(
            tmp_path,
            """\
            include: [outputs/*/checkpoints/best.pth]
            exclude:
              - outputs/*/checkpoints/*.pth
              - pattern: "*.log"
                severity: warning
                why: logs are regenerated
            lfs: ["*.pth", "weights/"]
            budgets: {file: 1 MiB, file_warn: 512 KiB, lfs_file: 10 MiB}
            """,
        )
    )


def test_excluded_respects_include_and_rule_severity(ctx: Context) -> None:
    found = list(
        check_excluded(
            ctx,
            [
                blob("outputs/r1/checkpoints/best.pth"),
                blob("outputs/r1/checkpoints/epoch_1.pth"),
                blob("deep/down/train.log"),
                blob("train.py"),
            ],
        )
    )
    assert [(v.check, v.path, v.severity) for v in found] == [
        ("excluded", "outputs/r1/checkpoints/epoch_1.pth", "error"),
        ("excluded", "deep/down/train.log", "warning"),
    ]
    assert found[1].why == "logs are regenerated"
    assert found[1].rule == "exclude: *.log"


def test_lfs_missing_for_raw_blobs_at_lfs_paths_or_under_filter_lfs(ctx: Context) -> None:
    found = list(
        check_lfs(
            ctx,
            [
                blob("models/best.pth", size=2 * MiB),
                blob("weights/layer1.bin", size=100),
                blob("notes.txt", size=100, lfs_filter=True),
                blob("models/ok.pth", size=130, pointer=Pointer("a" * 64, 5 * MiB)),
                blob("models/link.pth", mode="120000"),
                blob("plain.txt"),
            ],
        )
    )
    assert [(v.check, v.path, v.rule) for v in found] == [
        ("lfs-missing", "models/best.pth", "lfs: *.pth"),
        ("lfs-missing", "weights/layer1.bin", "lfs: weights/"),
        ("lfs-missing", "notes.txt", "gitattributes: filter=lfs"),
    ]
    assert "git lfs track '*.pth'" in (found[0].fix or "")
    assert "git lfs track '*.bin'" in (found[1].fix or "")
    assert "--renormalize" in (found[2].fix or "")


def test_malformed_pointer_and_oversized_lfs_object(ctx: Context) -> None:
    found = list(
        check_lfs(
            ctx,
            [
                blob("a.pth", size=140, pointer=Malformed("it has CRLF line endings")),
                blob("b.pth", size=130, pointer=Pointer("b" * 64, 11 * MiB)),
                blob("c.pth", size=130, pointer=Pointer("c" * 64, 10 * MiB)),
            ],
        )
    )
    assert [(v.check, v.path) for v in found] == [
        ("lfs-pointer-invalid", "a.pth"),
        ("lfs-file-too-large", "b.pth"),
    ]
    assert "CRLF" in found[0].message
    assert found[1].size == 11 * MiB


def test_lfs_attr_missing_only_where_the_policy_wants_lfs(ctx: Context) -> None:
    found = list(
        check_lfs_attributes(
            ctx,
            [
                blob("x.pth", lfs_filter=False),
                blob("y.pth", lfs_filter=True),
                blob("z.txt", lfs_filter=False),
            ],
        )
    )
    assert [(v.check, v.path) for v in found] == [("lfs-attr-missing", "x.pth")]


def test_file_sizes_are_strictly_over_the_budget_and_pointers_are_exempt(ctx: Context) -> None:
    found = list(
        check_file_sizes(
            ctx,
            [
                blob("exact.bin", size=MiB),
                blob("over.bin", size=MiB + 1),
                blob("warn.bin", size=512 * 1024 + 1),
                blob("at-warn.bin", size=512 * 1024),
                blob("ptr.pth", size=130, pointer=Pointer("d" * 64, 50 * MiB)),
            ],
        )
    )
    assert [(v.check, v.path, v.severity) for v in found] == [
        ("file-large", "exact.bin", "warning"),
        ("file-too-large", "over.bin", "error"),
        ("file-large", "warn.bin", "warning"),
    ]


def test_no_budgets_means_no_size_findings(tmp_path: Path) -> None:
    ctx = Context(policy(tmp_path, "exclude: [x]\n"))
    assert list(check_file_sizes(ctx, [blob("huge.bin", size=10**10)])) == []


def test_advice_without_repository_facts_never_hides_a_rewrite(ctx: Context) -> None:
    # With no remote facts (a server, a hand-made record), history advice covers
    # every branch and says what a rewrite costs; staged advice quotes odd names.
    committed = blob("-odd train.log")._replace(commit="c" * 40)
    (history,) = check_excluded(ctx, [committed])
    assert history.fix is not None
    assert "force-push" in history.fix and "re-clones" in history.fix
    inner = "git rm -r -q --cached --ignore-unmatch -- " + shlex.quote("-odd train.log")
    assert f"--index-filter {shlex.quote(inner)}" in history.fix
    assert "filter-repo" not in history.fix
    (staged,) = check_excluded(ctx, [blob("-odd train.log")])
    assert staged.fix == (
        "git rm --cached -- '-odd train.log'\n"
        "and add this line to .gitignore (or run `repolicy fix`): *.log"
    )
    raw = blob("w/-big model.pth", size=2 * MiB)._replace(commit="c" * 40)
    (lfs,) = check_lfs(ctx, [raw])
    assert lfs.fix is not None and "--everything" in lfs.fix and "force-push" in lfs.fix
