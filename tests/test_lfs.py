"""Git LFS pointers: what git-lfs itself writes and judges is the reference.

Valid pointers come from real `git lfs` (clean filter, `git lfs pointer`).
Broken ones are committed at a `*.pth` path with the LFS filter bypassed, and
`git lfs fsck --pointers` says which it rejects. git-lfs 3.3 reports two kinds:

* "nonCanonicalPointer": git-lfs decodes the blob as a pointer (it would
  smudge it) but the bytes are not what it writes;
* "unexpectedGitObject": the blob is not a pointer at all ("should have been
  a pointer but was not"), which is also what it says of ordinary content.

Our verdicts map onto them: `Pointer` is exactly what git-lfs accepts;
`Malformed` (lfs-pointer-invalid) is a blob that starts like a pointer and
that git-lfs rejects either way; `None` (ordinary content) is never one that
git-lfs decodes as a pointer.

Deliberate differences from git-lfs, checked in `test_git_lfs_fsck_agrees...`:

* We are stricter about what is "malformed" rather than "not a pointer": a
  blob whose first line is `version <a git-lfs URL>` but which git-lfs cannot
  decode at all (an indented pointer, `version  https://...` with two spaces,
  an unknown key, `size -5`, an oid without `sha256:`) is Malformed for us,
  "not a pointer" for git-lfs. At an LFS path both are errors; elsewhere we
  report a broken pointer where git-lfs (which only looks at LFS paths)
  says nothing.
* git-lfs also decodes pointer text whose `ext-N-name` lines come before the
  `version` line. We call that ordinary content (None): at an LFS path the
  user still gets an error (lfs-missing instead of lfs-pointer-invalid).
* An extension key containing a tab or another control character is
  Malformed for us; git-lfs would keep it as part of the extension name.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable

import pytest

from repolicy.lfs import (
    Malformed,
    Pointer,
    _is_extension,
    _is_oid,
    _is_size,
    format_pointer,
    looks_like_pointer,
    parse_pointer,
)

from .conftest import Repo

V1 = "https://git-lfs.github.com/spec/v1"
HELLO_OID = hashlib.sha256(b"hello").hexdigest()
EMPTY_OID = hashlib.sha256(b"").hexdigest()
OTHER_OID = hashlib.sha256(b"other").hexdigest()


def use_lfs(repo: Repo) -> None:
    """What a user does once per clone: install git-lfs hooks and track checkpoints."""
    repo.git("lfs", "install", "--local")
    repo.git("lfs", "track", "*.pth")
    repo.add(".gitattributes")


def blob(repo: Repo, spec: str) -> bytes:
    """The raw bytes git stores for `spec` (`:path` for staged, `HEAD:path` for committed)."""
    return repo.git("cat-file", "-p", spec).encode("utf-8", "surrogateescape")


def commit_raw(repo: Repo, files: dict[str, bytes]) -> dict[str, str]:
    """Commit exact bytes, bypassing the LFS filter, as a broken tool would; path -> blob id."""
    ids = {}
    for path, data in files.items():
        oid = repo.git("hash-object", "-w", "--stdin", input=data).strip()
        repo.git("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}")
        ids[path] = oid
    repo.commit("commit bytes as they are")
    return ids


def fsck_pointers(repo: Repo, ids: dict[str, str]) -> dict[str, str]:
    """`git lfs fsck --pointers` per path: 'ok', 'non-canonical' or 'not a pointer'."""
    out = repo.git("lfs", "fsck", "--pointers", check=False)
    verdict = dict.fromkeys(ids, "ok")
    for line in out.splitlines():
        if "nonCanonicalPointer" in line:
            blob_id = line.split("(blob ", 1)[1].split(")", 1)[0]
            for path, oid in ids.items():
                if oid == blob_id:
                    verdict[path] = "non-canonical"
        elif "unexpectedGitObject" in line:
            verdict[line.split('"')[1]] = "not a pointer"
        else:
            assert line == "Git LFS fsck OK", f"unexpected git-lfs output: {line}"
    return verdict


def real_pointer(repo: Repo, content: bytes = b"hello") -> bytes:
    """The pointer git-lfs writes for a file with `content`."""
    path = repo.write("model.pth", content)
    return repo.git("lfs", "pointer", "--file", str(path)).encode()


# ---------------------------------------------------------------------------
# 1. What git-lfs writes parses back to the file's sha256 and size.


def test_checkpoints_of_every_size_committed_through_git_lfs_are_pointers(repo: Repo) -> None:
    use_lfs(repo)
    contents = {
        "empty.pth": b"",
        "one-byte.pth": b"\x00",
        "small.pth": bytes(range(256)) * 20,  # 5 KB
    }
    for name, data in contents.items():
        repo.write(name, data)
    repo.write("sparse-2mb.pth", size=2 * 1024 * 1024)
    contents["sparse-2mb.pth"] = b"\x00" * (2 * 1024 * 1024)
    repo.add(*contents)
    staged = {name: blob(repo, f":{name}") for name in contents}
    repo.commit("add checkpoints")

    for name, data in contents.items():
        oid, size = hashlib.sha256(data).hexdigest(), len(data)
        expected = Pointer(None, 0) if size == 0 else Pointer(oid, size)
        committed = blob(repo, f"HEAD:{name}")
        assert committed == staged[name], name
        assert parse_pointer(committed) == expected, name
        assert format_pointer(oid, size) == committed, name
        from_cli = repo.git("lfs", "pointer", "--file", name).encode()
        assert from_cli == committed, name
        assert parse_pointer(from_cli) == expected, name
    assert repo.git("lfs", "fsck", "--pointers").strip() == "Git LFS fsck OK"


def test_pointers_with_git_lfs_extensions_are_valid(repo: Repo) -> None:
    # A user with two LFS extensions configured; one has a hyphen in its name.
    use_lfs(repo)
    repo.git("config", "lfs.extension.up-case.clean", "tr a-z A-Z")
    repo.git("config", "lfs.extension.up-case.smudge", "tr A-Z a-z")
    repo.git("config", "lfs.extension.up-case.priority", "0")
    repo.git("config", "lfs.extension.rot13.clean", "tr A-Za-z N-ZA-Mn-za-m")
    repo.git("config", "lfs.extension.rot13.smudge", "tr N-ZA-Mn-za-m A-Za-z")
    repo.git("config", "lfs.extension.rot13.priority", "1")
    repo.write("weights.pth", b"hello weights\n")
    repo.add("weights.pth")
    repo.commit("add weights")

    data = blob(repo, "HEAD:weights.pth")
    assert b"\next-0-up-case sha256:" in data and b"\next-1-rot13 sha256:" in data
    stored = hashlib.sha256(b"URYYB JRVTUGF\n").hexdigest()  # upper-cased, then rot13
    assert parse_pointer(data) == Pointer(stored, len(b"hello weights\n"))
    assert repo.git("lfs", "fsck", "--pointers").strip() == "Git LFS fsck OK"


# ---------------------------------------------------------------------------
# 2. Broken pointers: each is Malformed with a reason naming the problem.

Edit = Callable[[bytes], bytes]


def sub(old: str, new: str) -> Edit:
    return lambda p: p.replace(old.encode(), new.encode())


def ext(*lines: str) -> str:
    """Extension lines as `git lfs` would place them before `oid`."""
    return "".join(f"\n{key} sha256:{OTHER_OID}" for key in lines)


def _swap_oid_and_size(p: bytes) -> bytes:
    version, oid, size, _ = p.split(b"\n")
    return b"\n".join([version, size, oid, b""])


H = HELLO_OID
MALFORMED: list[tuple[str, Edit, str]] = [
    ("crlf", sub("\n", "\r\n"), "CRLF"),
    ("no-final-newline", lambda p: p[:-1], "newline"),
    ("keys-out-of-order", _swap_oid_and_size, "order"),
    ("oid-twice", sub("\nsize", f"\noid sha256:{H}\nsize"), "twice"),
    ("size-twice", sub("size 5\n", "size 5\nsize 5\n"), "twice"),
    ("uppercase-oid", sub(H, H.upper()), "lowercase"),
    ("short-oid", sub(H, H[:-1]), "64"),
    ("md5-oid", sub(f"sha256:{H}", f"md5:{H[:32]}"), "sha256"),
    ("oid-without-type", sub("sha256:", ""), "sha256"),
    ("no-size", sub("size 5\n", ""), "'size' line is missing"),
    ("no-oid", sub(f"oid sha256:{H}\n", ""), "'oid' line is missing"),
    ("negative-size", sub("size 5", "size -5"), "sign"),
    ("plus-size", sub("size 5", "size +5"), "sign"),
    ("leading-zero-size", sub("size 5", "size 05"), "leading zeros"),
    ("word-size", sub("size 5", "size five"), "decimal"),
    ("huge-size", sub("size 5", "size 99999999999999999999"), "larger"),
    ("size-0-text", lambda p: sub(H, EMPTY_OID)(sub("size 5", "size 0")(p)), "empty blob"),
    ("two-spaces", sub("oid ", "oid  "), "single space"),
    ("trailing-space", sub("size 5\n", "size 5 \n"), "single space"),
    ("tab", sub("oid ", "oid\t"), "single space"),
    ("blank-line", sub("\noid", "\n\noid"), "blank"),
    ("trailing-blank-line", lambda p: p + b"\n", "blank"),
    ("leading-blank-line", lambda p: b"\n" + p, "before the 'version' line"),
    ("leading-space", lambda p: b" " + p, "before the 'version' line"),
    ("indented", lambda p: b"    " + p.replace(b"\n", b"\n    ")[:-4], "before the 'version' line"),
    ("version-two-spaces", sub("version ", "version  "), "single space"),
    ("padded-to-1023", lambda p: p.ljust(1023, b" "), "newline"),
    ("unknown-key", lambda p: p + b"tool repolicy\n", "unknown key 'tool'"),
    ("non-ascii", lambda p: p + "comment caf\u00e9\n".encode(), "ASCII"),
    ("hawser-alias", sub(V1, "https://hawser.github.com/spec/v1"), "old alias"),
    ("git-media-alias", sub(V1, "http://git-media.io/v/2"), "old alias"),
    ("spec-v2", sub("spec/v1", "spec/v2"), "unknown pointer version"),
    ("ext-bad-oid", sub("\noid", "\next-0-foo not-an-oid\noid"), "extension 'ext-0-foo'"),
    ("ext-same-priority", sub("\noid", ext("ext-0-a", "ext-0-b") + "\noid"), "priority 0"),
    ("ext-out-of-order", sub("\noid", ext("ext-1-b", "ext-0-a") + "\noid"), "order"),
    ("ext-after-oid", sub("\nsize", ext("ext-0-a") + "\nsize"), "order"),
    ("ext-two-digit-priority", sub("\noid", ext("ext-10-a") + "\noid"), "unknown key"),
]


@pytest.mark.parametrize(
    ("edit", "reason"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_damaged_pointer_is_reported_with_what_is_wrong(
    repo: Repo, edit: Edit, reason: str
) -> None:
    pointer = real_pointer(repo)
    assert parse_pointer(pointer) == Pointer(HELLO_OID, 5)
    damaged = edit(pointer)
    assert damaged != pointer
    verdict = parse_pointer(damaged)
    assert isinstance(verdict, Malformed), verdict
    assert reason in verdict.reason
    assert looks_like_pointer(damaged)


def test_no_blob_the_pointer_reader_keeps_starts_with_a_byte_it_may_turn_away(
    repo: Repo,
) -> None:
    # An audit reads every small blob of history and keeps only those whose
    # first byte is in `might_be_pointer.first`: the others are never copied.
    from repolicy.lfs import might_be_pointer

    pointer = real_pointer(repo)
    kept = [pointer, *(edit(pointer) for _name, edit, _reason in MALFORMED)]
    assert all(might_be_pointer(data) for data in kept)
    assert {data[0] for data in kept} <= might_be_pointer.first
    for byte in set(range(256)) - might_be_pointer.first:
        assert not any(might_be_pointer(bytes([byte]) + data) for data in kept), byte


def test_lookalikes_in_history_that_start_with_blank_space_are_still_reported(
    repo: Repo,
) -> None:
    pointer = real_pointer(repo)
    repo.write(".repolicy.yaml", "lfs: []\n")
    repo.write("spaced.bin", b"  " + pointer)
    repo.write("blank.bin", b"\n" + pointer)
    repo.write("plain.txt", b"an ordinary small file\n")
    repo.add(".repolicy.yaml", "spaced.bin", "blank.bin", "plain.txt")
    repo.commit("lookalikes")
    repo.git("rm", "-q", "spaced.bin", "blank.bin")
    repo.commit("gone from HEAD, still in history")
    repo.git("gc", "-q")  # packed: their contents come from cat-file, not the loose files
    proc = repo.run("audit", "--format", "json")
    found = {
        v["path"]
        for v in json.loads(proc.stdout)["violations"]
        if v["check"] == "lfs-pointer-invalid"
    }
    assert found == {"spaced.bin", "blank.bin"}, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------
# 3. Ordinary content that merely resembles a pointer is left alone.

NEAR_MISSES: dict[str, bytes] = {
    "readme": b"# Checkpoints\n\nStored with git-lfs: run `git lfs pull` after cloning.\n",
    "version-2": b"version 2\nswitched the optimizer to AdamW\n",
    "changelog": b"version 2.0: checkpoints now live in git-lfs\n",
    "lfs-version": b"version git-lfs/3.3.0 (GitHub; linux amd64; go 1.19.8)\n",
    "quoted-spec": b"A pointer looks like:\n" + format_pointer(HELLO_OID, 5),
    "1024-bytes": format_pointer(HELLO_OID, 5).ljust(1024, b"\n"),
    "random-binary": random.Random(7).randbytes(700),
    "random-binary-large": random.Random(8).randbytes(4096),
    "whitespace-only": b"\n\n  \n",
}


@pytest.mark.parametrize("data", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_ordinary_content_is_not_mistaken_for_a_pointer(data: bytes) -> None:
    assert parse_pointer(data) is None
    assert not looks_like_pointer(data)


# ---------------------------------------------------------------------------
# 4. The empty blob.


def test_the_empty_blob_is_the_pointer_to_an_empty_file(repo: Repo) -> None:
    assert parse_pointer(b"") == Pointer(None, 0)
    use_lfs(repo)
    repo.write("untrained.pth", b"")
    repo.add("untrained.pth")
    assert blob(repo, ":untrained.pth") == b""
    assert format_pointer(EMPTY_OID, 0) == b""
    # Spelling it out as pointer text is what git-lfs never writes.
    spelled_out = f"version {V1}\noid sha256:{EMPTY_OID}\nsize 0\n".encode()
    assert isinstance(parse_pointer(spelled_out), Malformed)


# ---------------------------------------------------------------------------
# git-lfs as the oracle for every variant at once.

# Where our verdict is stricter than git-lfs's kind of complaint (see the
# module docstring): Malformed for us, "not a pointer" for git-lfs.
STRICTER = {
    "no-oid",
    "no-size",
    "oid-twice",
    "size-twice",
    "keys-out-of-order",
    "uppercase-oid",
    "short-oid",
    "md5-oid",
    "oid-without-type",
    "negative-size",
    "word-size",
    "huge-size",
    "two-spaces",
    "tab",
    "unknown-key",
    "non-ascii",
    "spec-v2",
    "ext-bad-oid",
    "ext-same-priority",
    "ext-two-digit-priority",
    "indented",
    "version-two-spaces",
}
# git-lfs decodes this (and calls it non-canonical); we call it ordinary content.
EXT_BEFORE_VERSION = f"ext-0-a sha256:{OTHER_OID}\n".encode() + format_pointer(HELLO_OID, 5)


def test_git_lfs_fsck_agrees_with_every_verdict(repo: Repo) -> None:
    use_lfs(repo)
    pointer = real_pointer(repo)
    files = {f"{name}.pth": edit(pointer) for name, edit, _ in MALFORMED}
    files |= {f"{name}.pth": data for name, data in NEAR_MISSES.items()}
    files |= {
        "canonical.pth": pointer,
        "empty.pth": b"",
        "huge-but-valid.pth": format_pointer(HELLO_OID, 2**63 - 1),
        "ext-before-version.pth": EXT_BEFORE_VERSION,
        "with-extension.pth": sub("\noid", ext("ext-0-a", "ext-1-b-c.d") + "\noid")(pointer),
    }
    ids = commit_raw(repo, files)
    git_lfs = fsck_pointers(repo, ids)

    ours = {path: parse_pointer(data) for path, data in files.items()}
    for path, verdict in ours.items():
        name = path.removesuffix(".pth")
        if isinstance(verdict, Pointer):
            assert git_lfs[path] == "ok", path
        elif isinstance(verdict, Malformed):
            expected = "not a pointer" if name in STRICTER else "non-canonical"
            assert git_lfs[path] == expected, path
        else:
            expected = "non-canonical" if name == "ext-before-version" else "not a pointer"
            assert git_lfs[path] == expected, path
    assert {p for p, v in ours.items() if isinstance(v, Pointer)} == {
        "canonical.pth",
        "empty.pth",
        "huge-but-valid.pth",
        "with-extension.pth",
    }


def test_the_pointer_reader_agrees_with_the_specs_grammar() -> None:
    # The grammar as git-lfs states it, as regexes; the reader uses none, so
    # the hook compiles none. Random lines from the pieces that matter.
    version = re.compile(rb"version[ \t]+https?://[^\s]*(?:git-lfs|hawser|git-media)")
    pieces = [b"version", b" ", b"\t", b"\x0b", b"\x0c", b"\r", b"https://", b"http://", b"git-lfs",
              b"hawser", b"git-media", b"git-", b"x", b"/", b"\x00", b"\xe9"]  # fmt: skip
    rng = random.Random(7)
    lines = [b"version https://git-lfs.github.com/spec/v1"]
    lines += [b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 7))) for _ in range(20_000)]
    lines += [b"version" + line for line in lines[:5_000]]
    for line in lines:
        first = (line + b"\n").lstrip().split(b"\n", 1)[0]  # git-lfs trims leading whitespace
        assert looks_like_pointer(line + b"\n") == (version.match(first) is not None), line
    oid, size = re.compile(r"sha256:[0-9a-f]{64}"), re.compile(r"0|[1-9][0-9]*")
    ext = re.compile(r"ext-[0-9]-[A-Za-z0-9_][!-~]*")
    words = ["sha256:" + "a" * 64, "sha256:" + "A" * 64, "sha256:" + "0" * 63, "0", "00", "10",
             "-1", "", "7", "ext-0-foo", "ext-9-_", "ext-a-x", "ext-1-", "ext-1-x y", "ext-1-x~",
             "ext-1--", "ext-11-x", "sha256:" + "f" * 65]  # fmt: skip
    for word in words:
        assert _is_oid(word) == bool(oid.fullmatch(word)), word
        assert _is_size(word) == bool(size.fullmatch(word)), word
        assert _is_extension(word) == bool(ext.fullmatch(word)), word
