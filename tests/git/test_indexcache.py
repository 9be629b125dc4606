"""The cached index listing, in blocks: each command line of `pre-commit run
--all-files` reads the blocks its paths sort into, and never a stale or damaged one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repolicy.git import indexcache

OID = "ab" * 20


def listing_of(count: int) -> tuple[bytes, dict[bytes, list[bytes]]]:
    """An `ls-files --stage -z` listing in index order; every third path is in a
    conflict (three stages), so block ends fall among a path's stages."""
    records: dict[bytes, list[bytes]] = {}
    for k in range(count):
        path = b"dir%03d/%sfile\t%05d.py" % (k % 300, b"x" * (k % 7), k)
        stages = (1, 2, 3) if k % 3 == 0 else (0,)
        records[path] = [b"100644 %s %d\t%s\0" % (OID.encode(), s, path) for s in stages]
    ordered = sorted(records)
    return b"".join(r for p in ordered for r in records[p]), records


def records_in(part: bytes, path: bytes) -> list[bytes]:
    return [r + b"\0" for r in part.split(b"\0") if r.partition(b"\t")[2] == path]


def test_each_path_is_read_with_all_its_stages_from_its_block_alone(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.write_bytes(b"an index")
    past = time.time() - 60
    os.utime(index, (past, past))
    cache = str(tmp_path / "cache")
    listing, records = listing_of(9000)
    assert len(listing) > 8 * 65536
    indexcache.write_listing(cache, str(index), indexcache.stamp(str(index)), listing)
    assert indexcache.read_listing(cache, str(index)) == listing
    blocks = set()
    for path in sorted(p for p in records if len(records[p]) == 3 or p.endswith(b"7.py")):
        part = indexcache.read_listing(cache, str(index), [path])
        assert part is not None and len(part) < len(listing) // 4
        assert records_in(part, path) == records[path]
        blocks.add(part)
    assert len(blocks) > 8
    wanted = sorted(records)[1000:1500]
    part = indexcache.read_listing(cache, str(index), wanted)
    assert part is not None
    for path in wanted:
        assert records_in(part, path) == records[path]

    # One damaged byte: what needs its block misses, the rest still reads.
    file = Path(cache) / indexcache.LISTING
    data = bytearray(file.read_bytes())
    where = len(data) - len(listing) + listing.index(sorted(records)[4000])
    data[where] ^= 1
    file.write_bytes(data)
    assert indexcache.read_listing(cache, str(index)) is None
    assert indexcache.read_listing(cache, str(index), [sorted(records)[4000]]) is None
    assert indexcache.read_listing(cache, str(index), [sorted(records)[10]]) is not None
    # Cut short, or grown: nothing is read.
    for broken in (bytes(data[:-1]), bytes(data) + b"\0"):
        file.write_bytes(broken)
        assert indexcache.read_listing(cache, str(index), [sorted(records)[10]]) is None


def test_a_listing_of_another_index_is_never_read(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.write_bytes(b"an index")
    past = time.time() - 60
    os.utime(index, (past, past))
    cache = str(tmp_path / "cache")
    listing, records = listing_of(50)
    before = indexcache.stamp(str(index))
    indexcache.write_listing(cache, str(index), before, listing)
    first = sorted(records)[0]
    assert indexcache.read_listing(cache, str(index), [first]) == listing
    # Rewritten as git does (a new file), even with the old times given back.
    (tmp_path / "index.lock").write_bytes(b"an index")
    os.replace(tmp_path / "index.lock", index)
    os.utime(index, (past, past))
    assert indexcache.read_listing(cache, str(index), [first]) is None
    # Not stored for an index written in the last two seconds.
    fresh = tmp_path / "fresh"
    fresh.write_bytes(b"x")
    indexcache.write_listing(cache + "2", str(fresh), indexcache.stamp(str(fresh)), listing)
    assert indexcache.read_listing(cache + "2", str(fresh)) is None


def test_an_index_git_just_wrote_is_cached_on_its_checksum(tmp_path: Path) -> None:
    # The checksum git writes at the end of the index vouches for its content,
    # so an answer is kept even for an index written a moment ago (pre-commit
    # runs its command lines right after the commit that wrote the index).
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "a.py"], cwd=repo, check=True)
    index = str(repo / ".git" / "index")
    listing = subprocess.run(
        ["git", "ls-files", "--stage", "-z"], cwd=repo, capture_output=True, check=True
    ).stdout
    cache = str(tmp_path / "cache")
    indexcache.write_listing(cache, index, indexcache.stamp(index), listing)
    assert indexcache.read_listing(cache, index) == listing
    # The same bytes with the checksum zeroed (git's index.skipHash): nothing
    # vouches for the content, and a fresh index is not cached.
    data = Path(index).read_bytes()
    unsigned = tmp_path / "unsigned"
    unsigned.write_bytes(data[:-20] + bytes(20))
    indexcache.write_listing(cache + "2", str(unsigned), indexcache.stamp(str(unsigned)), listing)
    assert indexcache.read_listing(cache + "2", str(unsigned)) is None


def test_a_staged_answer_another_user_wrote_is_never_taken(tmp_path: Path) -> None:
    # In a repository shared with others, anyone who can write the git
    # directory can read the index and so write a cache entry that matches it
    # exactly, saying "nothing staged": only this user's own is read.
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".repolicy.yaml").write_text("budgets: {file: 10}\n")
    subprocess.run(["git", "add", ".repolicy.yaml"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "policy"], cwd=repo, check=True)
    (repo / "big.txt").write_text("x" * 100)
    subprocess.run(["git", "add", "big.txt"], cwd=repo, check=True)
    git_dir = repo / ".git"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    index = str(git_dir / "index")
    cache = str(git_dir / "repolicy")

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "repolicy", "check"], cwd=repo, capture_output=True, text=True
        )

    indexcache.write(cache, indexcache.STAGED, index, indexcache.stamp(index), b"", head.encode())
    assert check().returncode == 0  # the forged answer, when it is this user's
    try:
        os.chown(os.path.join(cache, indexcache.STAGED), 65534, 65534)
    except PermissionError:
        pytest.skip("giving a file to another user needs root")
    proc = check()
    assert proc.returncode == 1 and "big.txt" in proc.stdout, proc.stdout + proc.stderr
