"""`pre-commit run --all-files` against `repolicy check` on the same index.

With nothing staged, pre-commit hands the hook every file of the index as
arguments, split into command lines of at most 128 KiB as its xargs splits
them; each `repolicy check -- PATH...` then judges the index entries of its
paths. This script builds an index of `--files` entries (one shared blob, no
work tree needed), then times:

- `check`: one `repolicy check` with every entry staged (no commit yet);
- `all-files`: after a commit, the command lines pre-commit would run, one
  after the other (its `partition`, the same code it runs, over `git
  ls-files` in its order, as pre-commit gives a `require_serial` hook);
- `floor`: as many `repolicy --version` (interpreter start-up, nothing
  judged), the part of `all-files` no change to `check` can remove.

    python benchmarks/bench_narrow.py                # --files 200000
    python benchmarks/bench_narrow.py --files 20000  # quicker

The target: `all-files` within 2x of `check`.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, check=True
    ).stdout


def paths(count: int) -> list[str]:
    return [f"src/pkg{k % 97}/mod{k % 1009}/file_{k}.py" for k in range(count)]


def build(repo: Path, names: list[str]) -> None:
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Bench")
    git(repo, "config", "user.email", "bench@example.com")
    # The commit writes ~100,000 trees: no gc may start in the background mid-timing.
    git(repo, "config", "gc.auto", "0")
    git(repo, "config", "maintenance.auto", "false")
    (repo / ".repolicy.yaml").write_text('exclude: ["*.log"]\nbudgets: {file: 1 MiB}\n')
    git(repo, "add", ".repolicy.yaml")
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"x = 1\n").decode().strip()
    lines = "".join(f"100644 {blob}\t{name}\n" for name in names)
    git(repo, "update-index", "--index-info", input=lines.encode())
    # The blob packed, as a clone has it, for `check` and the command lines alike.
    git(repo, "repack", "-a", "-d", "-q")


def timed(repo: Path, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time, and CPU time (user and system) of the command and the git
    processes it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "repolicy", *argv], cwd=repo, env=env, capture_output=True
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"repolicy {argv[:3]} failed: {proc.stderr.decode()[-500:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def total(times: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(t[0] for t in times), sum(t[1] for t in times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument(
        "--repolicy", type=Path, default=ROOT, help="the source tree to time (before/after)"
    )
    args = parser.parse_args()
    from pre_commit.xargs import partition

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(args.repolicy.resolve()), GIT_CONFIG_NOSYSTEM="1")
    names = paths(args.files)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        # Bytecode cached as an installed hook has it (see bench_check's
        # "Bytecode"): else every one of pre-commit's command lines compiles
        # repolicy from source.
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        repo = Path(tmp) / "repo"
        repo.mkdir()
        build(repo, names)
        timed(repo, ["--version"], env)  # writes the bytecode
        check = timed(repo, ["check"], env)
        git(repo, "commit", "-q", "--no-verify", "-m", "all")
        timed(repo, ["check", "--", names[0]], env)  # the rest of the bytecode
        entry = ["check", "--"]
        # The files in the order pre-commit hands them: `git ls-files`, kept
        # as is for a hook with `require_serial` (others get them shuffled).
        files = git(repo, "ls-files", "-z").decode().split("\0")[:-1]
        chunks = partition(entry, files, 1, 2**17)
        all_files = total([timed(repo, list(chunk), env) for chunk in chunks])
        floor = total([timed(repo, ["--version"], env) for _ in chunks])
    n = len(chunks)
    print(f"files: {args.files}  (wall, and CPU of repolicy and the git processes it ran)")
    rows = [
        ("check (all staged)", check),
        (f"all-files ({n} command lines)", all_files),
        (f"floor ({n} x `repolicy --version`)", floor),
    ]
    for label, (wall, cpu) in rows:
        print(f"{label + ':':38} {wall:7.2f} s  {cpu:7.2f} s CPU")
    wall_ratio, cpu_ratio = all_files[0] / check[0], all_files[1] / check[1]
    print(f"ratio: {wall_ratio:.2f} wall, {cpu_ratio:.2f} CPU (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
