"""The repolicy block: every byte outside it survives, whatever the file looks like."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repolicy.errors import RepolicyError
from repolicy.fix import blocks

BLOCK = ["*.log", "!keep.log"]


def roundtrip(tmp_path: Path, data: bytes, block: list[str]) -> bytes:
    (tmp_path / ".gitignore").write_bytes(data)
    file = blocks.read(str(tmp_path), ".gitignore")
    blocks.write(file, blocks.render(file, block))
    return (tmp_path / ".gitignore").read_bytes()


def test_a_block_is_appended_and_the_users_lines_kept(tmp_path: Path) -> None:
    out = roundtrip(tmp_path, b"# mine\n*.tmp\n", BLOCK)
    assert out.startswith(b"# mine\n*.tmp\n")
    assert b"\n*.log\n!keep.log\n" in out
    file = blocks.read(str(tmp_path), ".gitignore")
    assert file.block == [b"*.log", b"!keep.log"]
    assert file.user_lines == [b"# mine", b"*.tmp"]


def test_rewriting_the_same_block_changes_no_byte(tmp_path: Path) -> None:
    first = roundtrip(tmp_path, b"a\n", BLOCK)
    assert roundtrip(tmp_path, first, BLOCK) == first


def test_a_block_in_the_middle_moves_to_the_end_below_the_users_lines(tmp_path: Path) -> None:
    first = roundtrip(tmp_path, b"top\n", BLOCK)
    with_after = first + b"bottom\n"
    out = roundtrip(tmp_path, with_after, ["*.bin"])
    # The last matching line wins in an ignore file: the block must stay last.
    assert out == b"top\nbottom\n" + blocks.BEGIN + b"\n*.bin\n# <<< repolicy\n"


def test_crlf_files_stay_crlf_and_a_bom_stays(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf# mine\r\n*.tmp\r\n"
    out = roundtrip(tmp_path, data, BLOCK)
    assert out.startswith(data)
    assert b"\r\n*.log\r\n!keep.log\r\n" in out
    assert out.count(b"\n") == out.count(b"\r\n")
    assert roundtrip(tmp_path, out, BLOCK) == out


def test_a_missing_final_newline_is_added_before_the_block_only(tmp_path: Path) -> None:
    assert roundtrip(tmp_path, b"a\nb", BLOCK).startswith(b"a\nb\n# >>> repolicy")
    # With nothing to write, the file is left exactly as it was.
    assert roundtrip(tmp_path, b"a\nb", []) == b"a\nb"


def test_an_empty_block_removes_the_block_and_nothing_else(tmp_path: Path) -> None:
    with_block = roundtrip(tmp_path, b"a\n", BLOCK) + b"z\n"
    assert roundtrip(tmp_path, with_block, []) == b"a\nz\n"


def test_damaged_markers_are_refused(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_bytes(blocks.BEGIN + b"\n*.log\n")
    with pytest.raises(RepolicyError, match="markers are damaged"):
        blocks.read(str(tmp_path), ".gitignore")


def test_a_symlink_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.write_bytes(b"precious\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(outside, repo / ".gitignore")
    with pytest.raises(RepolicyError, match=r"symbolic link.*outside the repository"):
        blocks.read(str(repo), ".gitignore")
    assert outside.read_bytes() == b"precious\n"


def test_a_read_only_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_bytes(b"a\n")
    path.chmod(0o444)
    file = blocks.read(str(tmp_path), ".gitignore")
    with pytest.raises(RepolicyError, match="read-only"):
        blocks.write(file, blocks.render(file, BLOCK))
    assert path.read_bytes() == b"a\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o444)


def test_the_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / ".gitignore"
    path.write_bytes(b"a\n")
    path.chmod(0o640)
    roundtrip(tmp_path, b"a\n", BLOCK)
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == [".gitignore"]  # no temporary left
