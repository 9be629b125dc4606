"""DVC's files and hashes: repolicy's answers against the real `dvc` command."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repolicy.dvc.files import DvcFileError, DvcOut, outs_from, parse_dvc_file, parse_dvc_lock
from repolicy.dvc.hashing import CHUNK, Hasher, file_md5, looks_text, manifest

from ..conftest import Repo

CRLF_TEXT = b"epoch,loss\r\n1,0.9\r\n2,0.7\r\n"
BINARY = bytes(range(256)) * 4
# Over one 1 MiB read: a binary first chunk, then CRLF text DVC 2 rewrites.
MIXED = b"\0" * CHUNK + b"label\r\n" * 30_000


def dvc(repo: Repo, *args: str) -> str:
    """Run the real dvc (a test dependency: a missing dvc fails, never skips)."""
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        check=False,
    )
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed: {proc.stdout}{proc.stderr}"
    return proc.stdout


def dvc_init(repo: Repo) -> None:
    dvc(repo, "init", "-q")
    (repo.path / ".dvc" / "config").write_text("[core]\n    analytics = false\n")


def recorded(repo: Repo, dvc_file: str) -> list[DvcOut]:
    return parse_dvc_file(dvc_file, (repo.path / dvc_file).read_bytes())


def test_hashes_match_what_dvc_add_records(repo: Repo) -> None:
    dvc_init(repo)
    repo.write("data/metrics.csv", CRLF_TEXT)
    repo.write("data/weights.bin", BINARY)
    repo.write("data/mixed.bin", MIXED)
    repo.write("data/images/cat/001.jpg", BINARY[:100])
    repo.write("data/images/cat/notes.txt", b"tabby\r\n")
    repo.write("data/images/dog/\u00e9t\u00e9.txt", b"")
    repo.write("data/images/README", "dogs and cats\n")
    dvc(repo, "add", "-q", "data/metrics.csv", "data/weights.bin", "data/mixed.bin", "data/images")

    outs = [
        out
        for name in ("metrics.csv", "weights.bin", "mixed.bin", "images")
        for out in recorded(repo, f"data/{name}.dvc")
    ]
    assert [o.path for o in outs] == [
        "data/metrics.csv",
        "data/weights.bin",
        "data/mixed.bin",
        "data/images",
    ]
    assert all(o.hash == "md5" and o.md5 for o in outs)
    images = outs[3]
    assert images.is_dir and images.nfiles == 4 and images.md5 and images.md5.endswith(".dir")
    assert outs[0].md5 == hashlib.md5(CRLF_TEXT).hexdigest()  # DVC 3: the raw bytes

    computed = Hasher(str(repo.path), None).hashes(outs)
    assert computed == {o.path: o.md5 for o in outs}

    # The manifest itself, byte for byte, as dvc stored it in its cache.
    assert images.md5 is not None
    stored = repo.path / ".dvc/cache/files/md5" / images.md5[:2] / images.md5[2:]
    files = sorted(
        (p.relative_to(repo.path / "data/images").as_posix(), hashlib.md5(p.read_bytes()))
        for p in (repo.path / "data/images").rglob("*")
        if p.is_file()
    )
    assert manifest((rel, h.hexdigest()) for rel, h in files) == stored.read_bytes()


def test_dvc2_outputs_hash_text_after_crlf_to_lf(repo: Repo) -> None:
    """A .dvc file without `hash:` (DVC 2) is hashed as dvc 3 reads it: CRLF -> LF
    in text chunks. `dvc status` agrees once the objects are in the legacy cache."""
    dvc_init(repo)
    repo.write("data/metrics.csv", CRLF_TEXT)
    repo.write("data/weights.bin", BINARY)
    repo.write("data/mixed.bin", MIXED)
    repo.write("data/set/a.txt", b"one\r\ntwo\r\n")
    repo.write("data/set/b.bin", BINARY)

    expected = {
        "metrics.csv": hashlib.md5(CRLF_TEXT.replace(b"\r\n", b"\n")).hexdigest(),
        "weights.bin": hashlib.md5(BINARY).hexdigest(),
        # each 1 MiB read is judged on its own first 512 bytes
        "mixed.bin": hashlib.md5(b"\0" * CHUNK + b"label\n" * 30_000).hexdigest(),
    }
    entries = [
        {"md5": hashlib.md5(b"one\ntwo\n").hexdigest(), "relpath": "a.txt"},
        {"md5": hashlib.md5(BINARY).hexdigest(), "relpath": "b.bin"},
    ]
    listing = json.dumps(entries, sort_keys=True).encode()
    expected["set"] = hashlib.md5(listing).hexdigest() + ".dir"

    legacy = repo.path / ".dvc" / "cache"

    def cache(md5: str, data: bytes) -> None:
        target = legacy / md5[:2] / md5[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    for name, md5 in expected.items():
        repo.write(f"data/{name}.dvc", f"outs:\n- md5: {md5}\n  path: {name}\n")
        if name != "set":
            cache(md5, (repo.path / "data" / name).read_bytes())
    cache(expected["set"], listing)
    cache(entries[0]["md5"], b"one\ntwo\n")
    cache(entries[1]["md5"], BINARY)

    outs = [o for name in expected for o in recorded(repo, f"data/{name}.dvc")]
    assert all(o.hash is None for o in outs)
    computed = Hasher(str(repo.path), None).hashes(outs)
    assert computed == {f"data/{name}": md5 for name, md5 in expected.items()}
    assert file_md5(str(repo.path / "data/mixed.bin")) == hashlib.md5(MIXED).hexdigest()
    assert json.loads(dvc(repo, "status", "--json")) == {}


def test_the_text_heuristic() -> None:
    assert looks_text(b"")
    assert looks_text(b"plain\r\ntext\tand\x0cform feeds\x08")
    assert not looks_text(b"text with a NUL\0")
    assert looks_text(b"\xff" * 3 + b"a" * 7)  # 30% outside ASCII: still text
    assert not looks_text(b"\xff" * 4 + b"a" * 6)


def test_manifest_is_dvc_json() -> None:
    data = manifest([("b/\u00e9.txt", "2" * 32), ("a.txt", "1" * 32)])
    assert data == (
        b'[{"md5": "11111111111111111111111111111111", "relpath": "a.txt"}, '
        b'{"md5": "22222222222222222222222222222222", "relpath": "b/\\u00e9.txt"}]'
    )


def test_dvc_file_paths_are_repository_relative() -> None:
    outs = parse_dvc_file(
        "data/raw.dvc",
        b"wdir: ..\nouts:\n- md5: abc\n  path: data/raw\n- path: s3://bucket/x\n"
        b"- path: /abs/path\n- path: ../../outside\n- path: plain.csv\n  cache: false\n",
    )
    assert [(o.path, o.cache, o.line) for o in outs] == [
        ("data/raw", True, 3),
        ("plain.csv", False, 8),
    ]


def test_dvc_lock_outs_with_wdir_and_uncached_metrics() -> None:
    project = (
        b"stages:\n  train:\n    wdir: src\n    cmd: python train.py\n"
        b"    outs:\n    - ../models/model.pt\n    metrics:\n    - ../metrics.json:\n"
        b"        cache: false\n"
    )
    lock = (
        b"schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n"
        b"    - path: ../models/model.pt\n      hash: md5\n      md5: aa\n      size: 3\n"
        b"    - path: ../metrics.json\n      hash: md5\n      md5: bb\n      size: 2\n"
    )
    outs = parse_dvc_lock("dvc.lock", lock, project)
    assert [(o.path, o.cache) for o in outs] == [("models/model.pt", True), ("metrics.json", False)]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (b"outs:\n- md5: abc\n  path: [unclosed\n", "x.dvc:4:1:", "invalid YAML"),
        (b"outs:\n- md5: abc\n  size: big\n  path: a\n", "x.dvc:3:9:", "whole number"),
        (b"outs:\n- md5: abc\n", "x.dvc:2:3:", "needs a 'path'"),
        (b"outs: data\n", "x.dvc:1:7:", "must be a list"),
        (b"outs:\n- path: a\n  path: b\n", "x.dvc:3:3:", "duplicate key"),
    ],
)
def test_a_malformed_dvc_file_is_an_error_at_its_line(text: bytes, where: str, words: str) -> None:
    with pytest.raises(DvcFileError) as info:
        parse_dvc_file("x.dvc", text)
    assert str(info.value).startswith(where), str(info.value)
    assert words in str(info.value)


def test_old_malformed_history_is_skipped_not_fatal() -> None:
    assert outs_from({"x.dvc": b"outs: [\n"}, strict=False) == []
    with pytest.raises(DvcFileError):
        outs_from({"x.dvc": b"outs: [\n"})


def test_dvc_is_installed_for_the_tests() -> None:
    """The DVC tests need the real dvc; CI installs it with the `test` extra."""
    assert shutil.which("git")
    proc = subprocess.run([sys.executable, "-m", "dvc", "--version"], capture_output=True)
    assert proc.returncode == 0, "install dvc: pip install -e '.[test]'"


def test_hashing_streams_and_honours_dvcignore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "keep").mkdir(parents=True)
    (data / "keep" / "a.txt").write_bytes(b"a\n")
    (data / "skip.tmp").write_bytes(b"junk")
    (data / ".git").write_text("gitdir: elsewhere\n")
    (tmp_path / ".dvcignore").write_text("*.tmp\n")
    out = DvcOut("data", None, "md5", True, None, None, "data.dvc", 1)
    got = Hasher(str(tmp_path), None).hashes([out])
    assert got == {
        "data": hashlib.md5(manifest([("keep/a.txt", hashlib.md5(b"a\n").hexdigest())])).hexdigest()
        + ".dir"
    }
