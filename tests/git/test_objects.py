"""Reading objects without git: what a repository stores, counted from its files."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from repolicy.git import largest_copies, stored_objects

from ..conftest import Repo


def counted_by_git(repo: Repo) -> tuple[int, int]:
    """Every object git stores (duplicates included) and their disk sizes, summed."""
    fields = dict(
        line.split(": ") for line in repo.git("count-objects", "-v").splitlines() if ": " in line
    )
    sizes = repo.git("cat-file", "--batch-all-objects", "--batch-check=%(objectsize:disk)")
    return int(fields["count"]) + int(fields["in-pack"]), sum(map(int, sizes.split()))


def history_in_two_packs_and_loose(repo: Repo) -> None:
    repo.write("a.txt", "a\n" * 100)
    repo.write("dir/b.bin", os.urandom(3000))
    repo.add(".")
    repo.commit("first")
    repo.git("repack", "-q", "-d")
    repo.write("a.txt", "a\n" * 101)
    repo.add(".")
    repo.commit("second")
    repo.git("repack", "-q", "-d")  # a second pack, of what the first lacks
    repo.write("c.txt", "loose\n")
    repo.add(".")
    repo.commit("third")


def objects_of(repo: Repo) -> str:
    return str(repo.path / ".git" / "objects")


def test_packs_and_loose_objects_are_counted_as_git_counts_them(repo: Repo) -> None:
    history_in_two_packs_and_loose(repo)
    packs = [n for n in os.listdir(repo.path / ".git/objects/pack") if n.endswith(".pack")]
    assert len(packs) == 2 and int(repo.git("count-objects").split()[0]) > 0
    assert stored_objects(objects_of(repo), 20) == counted_by_git(repo)


def test_an_object_stored_twice_is_counted_twice(repo: Repo) -> None:
    # What tells the audit that the repository holds more than its history.
    history_in_two_packs_and_loose(repo)
    repo.git("repack", "-q")  # packs the loose objects, and keeps them
    distinct = repo.git("cat-file", "--batch-all-objects", "--batch-check").count("\n")
    stored = stored_objects(objects_of(repo), 20)
    assert stored is not None and stored[0] == distinct + 3


def test_a_sha256_repository_is_counted_with_its_longer_checksums(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = Repo(path)
    history_in_two_packs_and_loose(repo)
    assert stored_objects(objects_of(repo), 32) == counted_by_git(repo)


def test_objects_kept_elsewhere_are_not_counted_at_all(repo: Repo, tmp_path: Path) -> None:
    history_in_two_packs_and_loose(repo)
    clone = tmp_path / "shared-clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(clone)], check=True)
    # The clone's objects are its source's: counting its own directory would say "none".
    assert stored_objects(str(clone / ".git" / "objects"), 20) is None


def test_a_pack_without_its_index_makes_the_count_unknown(repo: Repo) -> None:
    history_in_two_packs_and_loose(repo)
    pack_dir = repo.path / ".git/objects/pack"
    index = next(n for n in os.listdir(pack_dir) if n.endswith(".idx"))
    os.rename(pack_dir / index, repo.path / "moved.idx")
    assert stored_objects(objects_of(repo), 20) is None


def test_an_index_of_an_unknown_version_makes_the_count_unknown(repo: Repo) -> None:
    history_in_two_packs_and_loose(repo)
    pack_dir = repo.path / ".git/objects/pack"
    index = pack_dir / next(n for n in os.listdir(pack_dir) if n.endswith(".idx"))
    data = bytearray(index.read_bytes())
    data[4:8] = (3).to_bytes(4, "big")
    os.chmod(index, 0o644)
    index.write_bytes(bytes(data))
    assert stored_objects(objects_of(repo), 20) is None


def test_a_fifo_in_place_of_a_pack_index_is_left_to_git_without_waiting(repo: Repo) -> None:
    # A stranger's repository decides what its object directory holds.
    history_in_two_packs_and_loose(repo)
    pack_dir = repo.path / ".git/objects/pack"
    index = pack_dir / next(n for n in os.listdir(pack_dir) if n.endswith(".idx"))
    os.chmod(index, 0o644)
    index.unlink()
    os.mkfifo(index)
    assert stored_objects(objects_of(repo), 20) is None
    assert largest_copies(objects_of(repo)) is None  # nor are its copies counted


def copies_by_git(repo: Repo, pack_dir: Path | None = None) -> dict[str, list[int]]:
    """Each packed object's entry sizes, one per pack holding it (`verify-pack -v`)."""
    copies: dict[str, list[int]] = {}
    pack_dir = pack_dir or repo.path / ".git/objects/pack"
    for name in sorted(os.listdir(pack_dir)):
        if name.endswith(".idx"):
            out = subprocess.run(
                ["git", "verify-pack", "-v", str(pack_dir / name)],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            for line in out.splitlines():
                fields = line.split()
                if len(fields) >= 5 and fields[1] in ("blob", "tree", "commit", "tag"):
                    copies.setdefault(fields[0], []).append(int(fields[3]))
    return copies


def model_in_two_packs(repo: Repo) -> str:
    """A model kept whole in an older pack, and as a delta against its first
    version in a newer pack (the one git looks in first); returns its id."""
    first = random.Random(7).randbytes(30_000)
    second = first[:24_000]
    repo.write("model.bin", second)
    oid = repo.git("hash-object", "-w", "model.bin").strip()
    repo.git("pack-objects", "-q", ".git/objects/pack/pack", input=f"{oid}\n".encode())
    for name in os.listdir(repo.path / ".git/objects/pack"):
        os.utime(repo.path / ".git/objects/pack" / name, (1_000_000_000, 1_000_000_000))
    repo.write("model.bin", first)
    repo.add("model.bin")
    repo.commit("first model")
    repo.write("model.bin", second)
    repo.add("model.bin")
    repo.commit("second model")
    everything = repo.git("rev-list", "--objects", "--all").encode()
    repo.git("pack-objects", "-q", ".git/objects/pack/pack", input=everything)
    repo.git("prune-packed")
    return oid


def test_an_object_in_two_packs_is_sized_by_its_largest_copy(repo: Repo) -> None:
    oid = model_in_two_packs(repo)
    copies = copies_by_git(repo)
    assert len(copies[oid]) == 2 and min(copies[oid]) < 1000 < max(copies[oid])
    twice = {o.encode(): max(sizes) for o, sizes in copies.items() if len(sizes) > 1}
    assert largest_copies(objects_of(repo)) == twice


@pytest.mark.parametrize("version", ["1", "2,0x10"])
def test_older_and_wider_pack_indexes_give_the_same_sizes(repo: Repo, version: str) -> None:
    # Version 1 indexes, and version 2 with 8-byte offsets (git writes those
    # past 2 GiB; here past 16 bytes).
    oid = model_in_two_packs(repo)
    pack_dir = repo.path / ".git/objects/pack"
    for name in os.listdir(pack_dir):
        if name.endswith(".pack"):
            index = pack_dir / (name[:-5] + ".idx")
            os.chmod(index, 0o644)
            index.unlink()
            repo.git("index-pack", f"--index-version={version}", str(pack_dir / name))
    assert largest_copies(objects_of(repo)) == {oid.encode(): max(copies_by_git(repo)[oid])}


def test_one_pack_holds_no_object_twice(repo: Repo) -> None:
    history_in_two_packs_and_loose(repo)
    repo.git("repack", "-q", "-a", "-d")
    assert largest_copies(objects_of(repo)) == {}


def test_a_borrowed_store_is_searched_for_copies_too(repo: Repo, tmp_path: Path) -> None:
    oid = model_in_two_packs(repo)
    clone = tmp_path / "shared-clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(clone)], check=True)
    found = largest_copies(str(clone / ".git" / "objects"))
    assert found == {oid.encode(): max(copies_by_git(repo)[oid])}


def test_an_index_that_places_an_object_outside_its_pack_is_left_to_git(repo: Repo) -> None:
    # A stranger's repository can hold any index: a size taken from it could
    # only lower the figure, so git's own answer is taken instead.
    oid = model_in_two_packs(repo)
    pack_dir = repo.path / ".git/objects/pack"
    for name in os.listdir(pack_dir):
        index = pack_dir / name
        if not name.endswith(".idx") or oid not in repo.git("show-index", input=index.read_bytes()):
            continue
        data = bytearray(index.read_bytes())
        count = int.from_bytes(data[8 + 255 * 4 : 8 + 1024], "big")
        offsets = 8 + 1024 + count * 24
        data[offsets : offsets + 4 * count] = (0x7FFFFFFF).to_bytes(4, "big") * count
        os.chmod(index, 0o644)
        index.write_bytes(bytes(data))
    assert largest_copies(objects_of(repo)) is None


def test_stores_borrowed_through_another_are_searched_too(repo: Repo, tmp_path: Path) -> None:
    # Git follows alternates of alternates (five levels deep): so must the count.
    oid = model_in_two_packs(repo)
    middle, last = tmp_path / "middle", tmp_path / "last"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(middle)], check=True)
    subprocess.run(["git", "clone", "-q", "--shared", str(middle), str(last)], check=True)
    found = largest_copies(str(last / ".git" / "objects"))
    assert found == {oid.encode(): max(copies_by_git(repo)[oid])}


@pytest.mark.parametrize("way", ["inflating", "looking", "sorting"])
@pytest.mark.parametrize("deltas", ["offset", "id"])
def test_each_entry_ends_where_its_data_ends_as_git_says(
    repo: Repo, deltas: str, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where an entry ends is found the cheapest way: each must give git's
    # sizes, for whole objects and for deltas named by offset or by id.
    from repolicy.git.objects import _entry_head, _Pack, _stream_end

    costs = {"inflating": (0, 1, 1), "looking": (10**9, 0, 10**9), "sorting": (10**9, 10**9, 0)}
    for name, cost in zip(("INFLATE_COST", "LOOK_COST", "SORT_COST"), costs[way], strict=True):
        monkeypatch.setattr(_Pack, name, cost)

    model_in_two_packs(repo)
    use_offsets = "true" if deltas == "offset" else "false"
    repo.git("-c", f"repack.useDeltaBaseOffset={use_offsets}", "repack", "-a", "-d", "-f", "-q")
    pack_dir = repo.path / ".git/objects/pack"
    (name,) = [n for n in os.listdir(pack_dir) if n.endswith(".idx")]
    pack = _Pack.open(str(pack_dir / name[:-4]))
    assert pack is not None
    expected = {oid: sizes[0] for oid, sizes in copies_by_git(repo).items()}
    listing = repo.git("verify-pack", "-v", str(pack_dir / name)).splitlines()
    assert any(len(line.split()) == 7 for line in listing), "no delta in the pack"
    end = len(pack.pack) - pack.hash_size
    positions = [pack.position(bytes.fromhex(oid)) for oid in expected]
    by_inflating = {}
    for oid, k in zip(expected, positions, strict=True):
        start = pack.offset(k) if k is not None else None
        head = _entry_head(pack.pack, start, end, pack.hash_size)
        assert start is not None and head is not None
        stream_end = _stream_end(pack.pack, head[0], end)
        assert stream_end is not None
        by_inflating[oid] = stream_end - start
    sizes = pack.entry_sizes([k for k in positions if k is not None])
    assert sizes is not None
    by_sorting = dict(zip(expected, sizes, strict=True))
    assert by_inflating == by_sorting == expected


def test_alternates_that_borrow_from_each_other_are_read_once(repo: Repo, tmp_path: Path) -> None:
    # A stranger's repository decides what its alternates say: a cycle ends.
    oid = model_in_two_packs(repo)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(clone)], check=True)
    own = objects_of(repo)
    with open(os.path.join(own, "info", "alternates"), "w") as f:
        f.write(str(clone / ".git" / "objects") + "\n")
    found = largest_copies(str(clone / ".git" / "objects"))
    assert found == {oid.encode(): max(copies_by_git(repo)[oid])}


def test_a_quoted_alternate_is_left_to_git(repo: Repo, tmp_path: Path) -> None:
    model_in_two_packs(repo)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(clone)], check=True)
    (clone / ".git" / "objects" / "info" / "alternates").write_text(f'"{objects_of(repo)}"\n')
    assert largest_copies(str(clone / ".git" / "objects")) is None
