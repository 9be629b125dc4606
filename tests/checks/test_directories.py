"""`checks.directories`: how many entries each directory holds, as git's own trees say."""

from __future__ import annotations

import collections
import random

from repolicy.checks.directories import count_entries

from ..conftest import Repo


def test_entries_are_counted_as_the_trees_git_writes_hold_them(repo: Repo) -> None:
    """Files, and directories as one entry of their parent, at every depth; a
    conflicted path listed once per stage is one entry."""
    rng = random.Random(20261205)
    names = ["a", "b", "c", "d e", "é", "x.pth", "-h", ":x", "*"]
    paths = sorted(
        {"/".join(rng.choice(names) + str(rng.randrange(3)) for _ in range(rng.randint(1, 5)))
         for _ in range(3_000)}
    )  # fmt: skip
    # A name can be a file here and a directory there, but not both in one tree.
    files = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    blob = repo.git("hash-object", "-w", "--stdin", input=b"x\n").strip()
    lines = "".join(f"100644 {blob}\t{p}\n" for p in files)
    repo.git("update-index", "--add", "--index-info", input=lines.encode())
    tree = repo.git("write-tree").strip()
    listed = repo.git("ls-tree", "-r", "-t", "-z", "--name-only", tree).split("\0")[:-1]
    theirs = collections.Counter(p.rpartition("/")[0] for p in listed)
    # As a conflicted index lists it: some paths three times in a row.
    staged = [p for p in files for _ in range(3 if rng.random() < 0.1 else 1)]
    assert count_entries(staged) == dict(theirs)
    some = set(rng.sample(sorted(theirs), 20))
    assert count_entries(staged, some) == {d: theirs[d] for d in some}
