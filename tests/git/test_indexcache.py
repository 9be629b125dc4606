"""The cached index listing, in blocks: each command line of `pre-commit run
--all-files` reads the blocks its paths sort into, and never a stale or damaged one."""

from __future__ import annotations

import os
import time
from pathlib import Path

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
