"""Atomic writes clean up only what a killed writer of theirs left behind."""

from __future__ import annotations

import os
import time

from repolicy.atomic import replace_file

from .conftest import Repo

LEFT_BY_A_KILLED_WRITER = [".repolicy-0a1b2c3d.tmp", ".repolicy-Zz_90aB1", ".repolicy-________.tmp"]
NOT_OURS = [
    ".repolicy-0a1b2c3.tmp",  # seven characters
    ".repolicy-0a1b2c3d4.tmp",  # nine
    ".repolicy-0a1b-c3d.tmp",
    ".repolicy-0a1b2c3d.tmp.tmp",
    ".repolicy-0a1b2c3d.TMP",
    ".repolicy-0a1b2c3\u00e9.tmp",
    "x.repolicy-0a1b2c3d.tmp",
    ".repolicy-0a1b2c3d.tmpx",
    ".repolicy.yaml",
]


def test_a_write_removes_its_own_stale_leftovers_and_nothing_else(repo: Repo) -> None:
    past = time.time() - 3600
    for name in LEFT_BY_A_KILLED_WRITER + NOT_OURS:
        os.utime(repo.write(name, "x"), (past, past))
    fresh = repo.write(".repolicy-fresh000.tmp", "a writer at work right now")
    replace_file(str(repo.path / "baseline.json"), b"{}", "baseline.json")
    left = set(os.listdir(repo.path))
    assert not left & set(LEFT_BY_A_KILLED_WRITER)
    assert set(NOT_OURS) <= left
    assert fresh.name in left
