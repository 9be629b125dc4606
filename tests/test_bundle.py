"""The start-up bundle: repolicy's modules read from one file, never stale, never in the way."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys
import time
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest

from .conftest import ROOT, Repo

TAG = sys.implementation.cache_tag


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of repolicy (and its presets) to run from, with sources older than
    the two seconds within which an edit is never bundled."""
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "repolicy", src / "repolicy", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(ROOT / "policies", src / "policies")
    past = time.time() - 600
    for path in src.rglob("*.py"):
        os.utime(path, (past, past))
    return src


def run(
    package: Path, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPATH")
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(package), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def bundle_of(package: Path) -> Path:
    return package / "repolicy" / "__pycache__" / f"modules.{TAG}.bundle"


# Whether a module the hook imports came from the bundle (read as the command
# line reads it), and where Python says it came from.
SERVED = (
    "import repolicy.bundle as b; b.install(); import repolicy.engine.staged as m; "
    "print('repolicy.engine.staged' in b._finder.served, m.__file__)"
)


def bundled_code(package: Path) -> dict[str, object]:
    """The modules the bundle holds, with their code as read back."""
    data = bundle_of(package).read_bytes()
    length = int.from_bytes(data[:4], "little")
    _form, _magic, index = marshal.loads(data[4 : 4 + length])
    body = data[4 + length :]
    return {name: marshal.loads(body[e[4] : e[4] + e[5]]) for name, e in index.items()}


def bundle_bytes(form: int, magic: bytes, modules: dict[str, tuple[str, int, int, bytes]]) -> bytes:
    """A bundle file as written, of `modules` (name: source, mtime, size, code)."""
    index, codes, offset = {}, [], 0
    for name, (origin, mtime, size, code) in modules.items():
        index[name] = (origin, False, mtime, size, offset, len(code))
        codes.append(code)
        offset += len(code)
    head = marshal.dumps((form, magic, index))
    return len(head).to_bytes(4, "little") + head + b"".join(codes)


def hook_run(repo: Repo, package: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run(package, repo.path, "-m", "repolicy", "check", env=env)


def staged_log(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.write("train.log", "loss 0.1\n")
    repo.add(".repolicy.yaml", "train.log")


def test_the_hook_writes_the_bundle_and_the_next_run_reads_it(repo: Repo, package: Path) -> None:
    staged_log(repo)
    first = hook_run(repo, package)
    assert first.returncode == 1 and "train.log" in first.stdout
    assert bundle_of(package).is_file()
    second = hook_run(repo, package)
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    served = run(package, repo.path, "-c", SERVED).stdout.split()
    assert served == ["True", str(package / "repolicy" / "engine" / "staged.py")]
    bundled = set(bundled_code(package))
    assert {"repolicy.engine.staged", "repolicy.checks.exclude", "repolicy.facts"} <= bundled
    # What runs before the command line knows there is a command is read as
    # usual, and not bundled: `--version` reads no bundle at all.
    assert not bundled & {"repolicy", "repolicy.cli", "repolicy.bundle", "repolicy.options"}


def test_an_edited_module_runs_as_edited_never_from_the_bundle(repo: Repo, package: Path) -> None:
    staged_log(repo)
    hook_run(repo, package)
    assert bundle_of(package).is_file()
    # The same number of bytes: only the modification time tells the edit.
    exclude = package / "repolicy" / "checks" / "exclude.py"
    text = exclude.read_text()
    assert "must not be committed" in text
    edited = text.replace("must not be committed", "must stay out of git!")
    assert len(edited) == len(text)
    exclude.write_text(edited)
    out = hook_run(repo, package).stdout
    assert "must stay out of git!" in out and "must not be committed" not in out
    # An edit that looks old: bundled anew on this run, read from the bundle after.
    past = time.time() - 60
    os.utime(exclude, (past, past))
    assert "must stay out of git!" in hook_run(repo, package).stdout
    assert "must stay out of git!" in hook_run(repo, package).stdout
    probe = (
        "import repolicy.bundle as b; b.install(); "
        "import repolicy.checks.exclude; print(b._finder.served)"
    )
    assert "repolicy.checks.exclude" in run(package, repo.path, "-c", probe).stdout


def test_a_removed_module_is_not_served_from_the_bundle(repo: Repo, package: Path) -> None:
    staged_log(repo)
    hook_run(repo, package)
    (package / "repolicy" / "checks" / "exclude.py").unlink()
    probe = "import repolicy.bundle as b; b.install(); import repolicy.checks.exclude"
    proc = run(package, repo.path, "-c", probe)
    assert proc.returncode == 1 and "ModuleNotFoundError" in proc.stderr


def test_a_damaged_bundle_is_read_past_and_written_again(repo: Repo, package: Path) -> None:
    staged_log(repo)
    expected = hook_run(repo, package).stdout
    staged = package / "repolicy" / "engine" / "staged.py"
    st = staged.stat()
    # What another Python's bundle would hold: its own bytecode, under its own
    # magic; the same, damaged on disk under this Python's own; a file cut short.
    foreign = {"repolicy.engine.staged": (str(staged), st.st_mtime_ns, st.st_size, b"\xe3c")}
    whole = bundle_bytes(2, MAGIC_NUMBER, foreign)
    for damage in (
        b"",
        b"\x00garbage",
        bundle_bytes(2, b"\x00\x00\r\n", foreign),
        bundle_bytes(1, MAGIC_NUMBER, foreign),
        bundle_bytes(2, MAGIC_NUMBER, foreign),
        whole[:-2],
        marshal.dumps((2, MAGIC_NUMBER, [])),
    ):
        bundle_of(package).write_bytes(damage)
        proc = hook_run(repo, package)
        assert (proc.returncode, proc.stdout, proc.stderr) == (1, expected, "")
        # ... and written anew, whole: the next run reads every module from it.
        assert type(bundled_code(package)["repolicy.engine.staged"]).__name__ == "code"
        assert run(package, repo.path, "-c", SERVED).stdout.startswith("True ")


def test_no_bundle_where_python_writes_no_bytecode(repo: Repo, package: Path) -> None:
    staged_log(repo)
    assert hook_run(repo, package, PYTHONDONTWRITEBYTECODE="1").returncode == 1
    assert not bundle_of(package).exists()
    # Optimized runs compile other code (no asserts): they neither read nor write it.
    assert run(package, repo.path, "-O", "-m", "repolicy", "check").returncode == 1
    assert not bundle_of(package).exists()


def test_the_bundle_follows_the_bytecode_prefix(repo: Repo, package: Path, tmp_path: Path) -> None:
    staged_log(repo)
    prefix = tmp_path / "pycache"
    assert hook_run(repo, package, PYTHONPYCACHEPREFIX=str(prefix)).returncode == 1
    assert not bundle_of(package).exists()
    placed = prefix / str(package / "repolicy").lstrip(os.sep) / f"modules.{TAG}.bundle"
    assert placed.is_file()


def test_a_bundle_that_cannot_be_written_is_no_error(repo: Repo, package: Path) -> None:
    staged_log(repo)
    bundle_of(package).mkdir(parents=True)  # a directory where the file would go
    proc = hook_run(repo, package)
    assert proc.returncode == 1 and "train.log" in proc.stdout and proc.stderr == ""
    assert bundle_of(package).is_dir()


def test_version_reads_and_writes_no_bundle(repo: Repo, package: Path) -> None:
    proc = run(package, repo.path, "-m", "repolicy", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("repolicy ")
    assert not bundle_of(package).exists()
    staged_log(repo)
    hook_run(repo, package)
    written = bundle_of(package).stat().st_mtime_ns
    probe = "import sys, repolicy.cli as c; c.main(['--version']); print(sorted(sys.modules))"
    out = run(package, repo.path, "-c", probe).stdout
    assert "repolicy.bundle" not in out
    assert bundle_of(package).stat().st_mtime_ns == written
