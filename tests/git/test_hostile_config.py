"""Repositories that try to mislead the gates: replace refs, config that changes
what plumbing prints, damaged or absent objects, more revisions than a
command line holds. Each gate must judge what is stored, or say it cannot."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Repo

POLICY = """\
exclude: ["*.log", "*.ckpt"]
budgets: {file: 100 KiB}
require:
  "datasets/*/": [README.md]
frozen: ["datasets/**/*.csv"]
"""


def report(repo: Repo, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    proc = repo.run(*args, "--format", "json", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def object_file(repo: Repo, oid: str) -> Path:
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


# -- replace refs ------------------------------------------------------------


def test_a_replace_ref_never_hides_the_stored_commit(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    start = repo.commit("policy")
    repo.write("weights.ckpt", os.urandom(300_000))
    repo.add("weights.ckpt")
    bad = repo.commit("weights")
    # A commit that looks clean stands in for the bad one wherever git honours
    # refs/replace/: `git log`, `ls-tree`, `cat-file`...
    tree = repo.git("rev-parse", f"{start}^{{tree}}").strip()
    clean = repo.git("commit-tree", tree, "-p", start, "-m", "weights").strip()
    repo.git("replace", bad, clean)
    assert "weights.ckpt" not in repo.git("ls-tree", "-r", "--name-only", bad)

    code, data = report(repo, "audit")
    assert code == 1
    assert ("excluded", "weights.ckpt") in found(data)
    code, data = report(repo, "check", "--push", "--from-ref", start, "--to-ref", bad)
    assert code == 1
    assert ("excluded", "weights.ckpt") in found(data)


# -- config that changes what git prints ---------------------------------------------


def build_judged_repository(repo: Repo, sign: bool) -> tuple[str, str]:
    """History with an excluded log, a file over budget, a frozen file modified and a
    dataset without its README; more of the same staged. Returns (first, last) commit."""
    if sign:
        key = repo.path.parent / f"{repo.path.name}-signing-key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ada", "-f", str(key)],
            check=True,
        )
        repo.git("config", "gpg.format", "ssh")
        repo.git("config", "user.signingkey", str(key))
        repo.git("config", "commit.gpgsign", "true")
        signers = repo.path.parent / f"{repo.path.name}-allowed-signers"
        signers.write_text(f"ada@example.com {(key.with_suffix('.pub')).read_text()}")
        repo.git("config", "gpg.ssh.allowedSignersFile", str(signers))
    repo.write(".repolicy.yaml", POLICY)
    repo.write("datasets/faces/README.md", "faces\n")
    repo.write("datasets/faces/données.csv", "a,b\n")
    repo.add(".repolicy.yaml", "datasets")
    first = repo.commit("datasets")
    repo.write("datasets/faces/données.csv", "a,b\n1,2\n")
    repo.write("runs/élan/train.log", "loss 1\n")
    repo.write("big.bin", os.urandom(200_000))
    repo.write("datasets/cars/labels.csv", "x\n")
    repo.add("datasets", "runs", "big.bin")
    last = repo.commit("training, with a message in latin letters: déjà vu")
    if sign:
        assert "Good" in repo.git("log", "-1", "--show-signature")
    repo.write("datasets/faces/données.csv", "a,b\n1,2\n3,4\n")
    repo.write("runs/élan/eval.log", "acc 1\n")
    repo.write("datasets/boats/x.csv", "x\n")
    repo.add("datasets", "runs")
    return first, last


def verdicts(repo: Repo, first: str, last: str) -> dict[str, tuple[int, set[Any]]]:
    out = {}
    for name, args in (
        ("audit", ("audit",)),
        ("check", ("check",)),
        ("push", ("check", "--push", "--from-ref", first, "--to-ref", last)),
    ):
        code, data = report(repo, *args)
        out[name] = (code, found(data))
    return out


HOSTILE = [
    ("color.ui", "always"),
    ("color.diff", "always"),
    ("log.showSignature", "true"),
    ("diff.noprefix", "true"),
    ("diff.mnemonicPrefix", "true"),
    ("log.abbrevCommit", "true"),
    ("format.pretty", "oneline"),
    ("core.quotePath", "false"),
    ("core.quotePath", "true"),
    ("diff.relative", "true"),
    ("log.decorate", "full"),
    ("diff.external", "false-program"),
    ("diff.renames", "copies"),
    ("status.showUntrackedFiles", "no"),
    ("core.abbrev", "4"),
    ("i18n.logOutputEncoding", "latin1"),
    ("log.follow", "true"),
    ("log.showRoot", "false"),
    ("log.mailmap", "true"),
    ("diff.orderFile", "no-such-file"),
    ("grep.patternType", "perl"),
    ("core.pager", "false-pager"),
    ("pager.log", "true"),
]
_EXPECTED: dict[bool, dict[str, tuple[int, set[Any]]]] = {}


def expected(tmp_path: Path, sign: bool) -> dict[str, tuple[int, set[Any]]]:
    """The verdicts without any hostile setting (the same for every test: computed once)."""
    if sign not in _EXPECTED:
        plain = Repo(tmp_path / "plain")
        plain.path.mkdir()
        plain.git("init", "-q")
        first, last = build_judged_repository(plain, sign)
        _EXPECTED[sign] = verdicts(plain, first, last)
    return _EXPECTED[sign]


def needs_ssh_keygen(sign: bool) -> None:
    if sign and shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed: commits cannot be ssh-signed")


@pytest.mark.parametrize(("key", "value"), HOSTILE, ids=[f"{k}={v}" for k, v in HOSTILE])
def test_repository_config_does_not_change_a_verdict(
    tmp_path: Path, repo: Repo, key: str, value: str
) -> None:
    sign = key == "log.showSignature"
    needs_ssh_keygen(sign)
    want = expected(tmp_path, sign)
    # The run is judged: every gate finds something.
    assert {name: code for name, (code, _) in want.items()} == {
        "audit": 1,
        "check": 1,
        "push": 1,
    }
    assert ("frozen-modified", "datasets/faces/données.csv") in want["push"][1]
    assert ("missing-required", "datasets/cars/") in want["push"][1]
    first, last = build_judged_repository(repo, sign)
    repo.git("config", key, value)
    assert verdicts(repo, first, last) == want


def test_user_config_does_not_change_a_verdict(tmp_path: Path, repo: Repo) -> None:
    needs_ssh_keygen(True)
    want = expected(tmp_path, True)
    first, last = build_judged_repository(repo, True)
    with open(Path(os.environ["HOME"]) / ".gitconfig", "a") as fh:
        for key, value in HOSTILE:
            if key != "core.quotePath" or value == "false":
                section, _, name = key.rpartition(".")
                fh.write(f"[{section}]\n\t{name} = {value}\n")
    assert verdicts(repo, first, last) == want


# -- objects that cannot be read ----------------------------------------------------------


def loose(header: bytes, body: bytes) -> bytes:
    return zlib.compress(header + b"\0" + body)


def zlib_bomb() -> bytes:
    """About 1 MB that inflates to 1 GB, under a header that claims 100 bytes."""
    deflate = zlib.compressobj(9)
    chunk = bytes(1 << 24)
    parts = [deflate.compress(b"blob 100\0")]
    for _ in range(64):
        parts.append(deflate.compress(chunk))
    parts.append(deflate.flush())
    return b"".join(parts)


DAMAGE = {
    "random bytes": lambda path: path.write_bytes(random.Random(7).randbytes(5000)),
    "a header smaller than the object": lambda path: path.write_bytes(
        loose(b"blob 10", random.Random(7).randbytes(300_000))
    ),
    "a header larger than the object": lambda path: path.write_bytes(loose(b"blob 300000", b"x")),
    "a negative size": lambda path: path.write_bytes(loose(b"blob -5", b"")),
    "a symlink to /dev/zero": lambda path: path.symlink_to("/dev/zero"),
    # Tests run as root, which reads any file whatever its mode; a directory
    # is what root cannot read either.
    "a directory": lambda path: path.mkdir(),
    "a FIFO": lambda path: os.mkfifo(path),
    "a zlib bomb": lambda path: path.write_bytes(zlib_bomb()),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_staged_blob_that_cannot_be_read_is_never_all_clear(repo: Repo, damage: str) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.write("model/weights.bin", os.urandom(200_000))
    repo.add("model/weights.bin")
    oid = repo.git("rev-parse", ":model/weights.bin").strip()
    path = object_file(repo, oid)
    path.chmod(0o644)
    path.unlink()
    DAMAGE[damage](path)
    code, data = report(repo, "check")
    assert code == 1
    assert found(data) == {("blob-unreadable", "model/weights.bin")}
    assert oid in data["violations"][0]["message"]


def test_a_history_blob_whose_object_is_gone_is_reported_not_counted_as_zero(
    repo: Repo,
) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("small.txt", "kept\n")
    repo.add(".repolicy.yaml", "small.txt")
    start = repo.commit("policy")
    repo.write("big.bin", os.urandom(200_000))
    repo.add("big.bin")
    last = repo.commit("over budget")
    oid = repo.git("rev-parse", f"{last}:big.bin").strip()
    object_file(repo, oid).unlink()
    for args in (("audit",), ("check", "--push", "--from-ref", start, "--to-ref", last)):
        code, data = report(repo, *args)
        assert code == 1, args
        gone = [v for v in data["violations"] if v["check"] == "blob-unreadable"]
        assert [(v["path"], v["commit"]) for v in gone] == [("big.bin", last)], args
        assert oid in gone[0]["message"]
    text = repo.run("audit").stdout
    assert "0 Bytes  big.bin" not in text


# -- partial clones ------------------------------------------------------------------


def missing_objects(clone: Path) -> list[str]:
    out = subprocess.run(
        ["git", "rev-list", "--objects", "--all", "--missing=print"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line for line in out.splitlines() if line.startswith("?"))


def test_a_partial_clone_is_judged_without_fetching(repo: Repo, tmp_path: Path) -> None:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.write("notes.log", "x")
    repo.write("small.txt", "small\n")
    for k in range(3):
        repo.write(f"data/blob{k}.bin", os.urandom(5000 + k))
    repo.add(".repolicy.yaml", "notes.log", "small.txt", "data")
    repo.commit("start")
    repo.git("rm", "-q", "data/blob0.bin")
    repo.commit("drop one")
    server = tmp_path / "server.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(server)], check=True)
    subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=server, check=True)
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--filter=blob:limit=1k", f"file://{server}",
         str(clone)],
        check=True,
    )  # fmt: skip
    before = missing_objects(clone)
    assert len(before) == 3

    # The clone has no work tree yet: the policy comes from outside it.
    policy = tmp_path / "policy.yaml"
    policy.write_text("exclude: ['*.log']\n")
    code, data = report(repo, "audit", "--policy", str(policy), cwd=clone)
    assert missing_objects(clone) == before  # nothing was fetched
    assert code == 1  # the excluded log, read from what is here
    warnings = [v for v in data["violations"] if v["check"] == "blob-unreadable"]
    assert len(warnings) == 1
    assert warnings[0]["severity"] == "warning"
    assert "3 blobs" in warnings[0]["message"]
    for k in range(3):
        assert f"data/blob{k}.bin" in warnings[0]["message"]
    assert ("excluded", "notes.log") in found(data)

    # Without the error, the warning alone does not fail the run (unless --strict).
    clean = tmp_path / "clean.yaml"
    clean.write_text("exclude: ['*.tmp']\n")
    proc = repo.run("audit", "--policy", str(clean), cwd=clone)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert repo.run("audit", "--policy", str(clean), "--strict", cwd=clone).returncode == 1
    assert missing_objects(clone) == before

    # The hook judging the index (`pre-commit run --all-files`): it cannot read
    # what the clone left out either, says so, and fetches nothing.
    subprocess.run(["git", "read-tree", "HEAD"], cwd=clone, check=True)
    code, data = report(repo, "check", "--policy", str(clean), "data", cwd=clone)
    assert missing_objects(clone) == before
    assert (code, found(data)) == (0, {("blob-unreadable", None)})
    assert "2 blobs" in data["violations"][0]["message"]


# -- many revisions --------------------------------------------------------------------


def sixty_thousand_commits(repo: Repo) -> list[str]:
    """A chain of 60,000 commits on top of main; three of them add an excluded log."""
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.add(".repolicy.yaml")
    start = repo.commit("policy")
    stream = []
    for k in range(1, 60_001):
        stream.append(
            f"commit refs/heads/chain\nmark :{k}\n"
            f"committer Ada Trainer <ada@example.com> {1700000000 + k} +0000\ndata 0\n"
            + (f"from {start}\n" if k == 1 else "")
        )
        if k in (1, 30_000, 60_000):
            stream.append(f"M 100644 inline run{k}.log\ndata 2\nx\n")
        stream.append("\n")
    marks = repo.path.parent / "marks"
    repo.git("fast-import", "--quiet", f"--export-marks={marks}", input="".join(stream).encode())
    return [line.split()[1] for line in marks.read_text().splitlines()]


EXPECTED_LOGS = {("excluded", f"run{k}.log") for k in (1, 30_000, 60_000)}


def test_a_push_of_sixty_thousand_refs_fits(repo: Repo, tmp_path: Path) -> None:
    tips = sixty_thousand_commits(repo)
    assert len(set(tips)) == 60_000
    zero = "0" * 40
    # What git gives the pre-push hook for `git push --tags` of one tag per commit.
    lines = "".join(
        f"refs/tags/t{k:05d} {tip} refs/tags/t{k:05d} {zero}\n" for k, tip in enumerate(tips)
    )
    proc = repo.run("check", "--push", "--format", "json", input=lines.encode())
    assert proc.returncode == 1, proc.stderr
    assert found(json.loads(proc.stdout)) == EXPECTED_LOGS

    # The server's side: the objects are there, no ref names them yet.
    server = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(server)], check=True)
    repo.git("push", "-q", str(server), "main", "chain:refs/heads/incoming")
    subprocess.run(["git", "update-ref", "-d", "refs/heads/incoming"], cwd=server, check=True)
    lines = "".join(f"{zero} {tip} refs/tags/t{k:05d}\n" for k, tip in enumerate(tips))
    proc = repo.run("check", "--pre-receive", "--format", "json", input=lines.encode(), cwd=server)
    assert proc.returncode == 1, proc.stderr
    assert found(json.loads(proc.stdout)) == EXPECTED_LOGS

    # A CI checkout with 60,000 remote-tracking branches and no local one for
    # them: audit names each (written as packed refs, as a fetch would).
    repo.git("branch", "-q", "-D", "chain")
    refs = "".join(f"{tip} refs/remotes/origin/b{k:05d}\n" for k, tip in enumerate(tips))
    (repo.path / ".git" / "packed-refs").write_text(
        "# pack-refs with: peeled fully-peeled sorted \n" + refs
    )
    assert len(repo.git("for-each-ref", "refs/remotes").splitlines()) == 60_000
    code, data = report(repo, "audit")
    assert code == 1
    assert found(data) >= EXPECTED_LOGS


@pytest.mark.parametrize("damage", ["a FIFO", "a header smaller than the object"])
def test_a_damaged_loose_object_in_history_is_read_here_not_by_git(repo: Repo, damage: str) -> None:
    # git cat-file would wait forever on the FIFO, and take the header's word.
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    start = repo.commit("policy")
    repo.write("model/weights.bin", os.urandom(200_000))
    repo.add("model/weights.bin")
    last = repo.commit("weights")
    oid = repo.git("rev-parse", "HEAD:model/weights.bin").strip()
    path = object_file(repo, oid)
    path.unlink()
    DAMAGE[damage](path)
    for args in (("audit",), ("check", "--push", "--from-ref", start, "--to-ref", last)):
        code, data = report(repo, *args)
        assert code == 1, args
        assert found(data) == {("blob-unreadable", "model/weights.bin")}, args


def test_git_dying_on_a_damaged_packed_blob_makes_it_unreadable(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    start = repo.commit("policy")
    repo.write("notes/small.bin", random.Random(3).randbytes(600))  # stored whole, not a delta
    repo.add("notes")
    last = repo.commit("notes")
    repo.git("repack", "-a", "-d", "-q")
    oid = repo.git("rev-parse", "HEAD:notes/small.bin").strip()
    (idx,) = (repo.path / ".git" / "objects" / "pack").glob("*.idx")
    listing = repo.git("verify-pack", "-v", str(idx))
    offset = next(int(line.split()[4]) for line in listing.splitlines() if line.startswith(oid))
    pack = idx.with_suffix(".pack")
    data = bytearray(pack.read_bytes())
    data[offset + 10 : offset + 40] = bytes(30)  # inside its compressed contents
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    assert repo.git("cat-file", "-p", oid, check=False) == ""  # git dies on it
    for args in (("audit",), ("check", "--push", "--from-ref", start, "--to-ref", last)):
        code, data_ = report(repo, *args)
        assert code == 1, args
        assert ("blob-unreadable", "notes/small.bin") in found(data_), args
