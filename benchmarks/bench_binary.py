"""What `budgets.file_binary` costs: the same repository judged with and without it.

    python benchmarks/bench_binary.py [--blobs 200 --size 2000000 --runs 5] [--workdir DIR]

A history of `--blobs` distinct blobs of `--size` bytes (half binary by git's
rule, half text), packed, all sized between `file_binary: 1 MB` and `file: 10
MiB`, so every one of them must be read for its first 8,000 bytes; the same
blobs staged loose for `check`. Each command is timed with a policy that sets
only `file` and with one that adds `file_binary`. Verdicts are checked first:
a fast wrong answer is not a result.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = "budgets:\n  file: 10 MiB\n"
BINARY = PLAIN + "  file_binary: 1 MB\n"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def blob(k: int, size: int) -> bytes:
    rng = random.Random(k)
    line = f"run {k}: " + "".join(rng.choice("abcdefgh ") for _ in range(70)) + "\n"
    data = bytearray((line.encode() * (size // len(line) + 1))[:size])
    if k % 2 == 0:
        data[rng.randrange(8000)] = 0  # binary by git's rule
    return bytes(data)


def build(root: Path, blobs: int, size: int) -> tuple[Path, Path]:
    history, staged = root / "history", root / "staged"
    for repo in (history, staged):
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.name", "Bench")
        git(repo, "config", "user.email", "bench@example.com")
    for k in range(blobs):
        (history / f"data/f{k:05d}.dat").parent.mkdir(exist_ok=True)
        (history / f"data/f{k:05d}.dat").write_bytes(blob(k, size))
        (staged / f"data/f{k:05d}.dat").parent.mkdir(exist_ok=True)
        (staged / f"data/f{k:05d}.dat").write_bytes(blob(k, size))
    git(history, "add", "-A")
    git(history, "commit", "-q", "-m", "data")
    git(history, "repack", "-a", "-d", "-q")
    git(staged, "add", "-A")
    return history, staged


def timed(argv: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    code = -1
    for _ in range(runs + 1):  # the first run warms the caches and is discarded
        start = time.perf_counter()
        code = subprocess.run(argv, cwd=cwd, env=env, capture_output=True).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blobs", type=int, default=200)
    parser.add_argument("--size", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-binary-", dir=args.workdir))
    try:
        history, staged = build(root, args.blobs, args.size)
        cli = [sys.executable, "-m", "repolicy"]
        rows = []
        for command, cwd in ((["audit", "-q"], history), (["check", "-q"], staged)):
            for name, policy in (("file only", PLAIN), ("file + file_binary", BINARY)):
                policy_file = root / "policy.yaml"
                policy_file.write_text(policy)
                argv = [*cli, "--policy", str(policy_file), *command]
                out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
                flagged = out.stdout.count("[file-too-large]")
                want = (args.blobs + 1) // 2 if policy is BINARY else 0
                if flagged != want:
                    print(f"wrong verdict: {command[0]} {name}: {flagged} != {want}")
                    return 3
                seconds, _ = timed(argv, cwd, args.runs)
                rows.append((command[0], name, seconds, flagged))
        total = args.blobs * args.size
        print(f"{args.blobs} blobs of {args.size:,} bytes ({total / 1e6:,.0f} MB), half binary")
        print("| command | policy | median s | file-too-large |")
        print("| --- | --- | --- | --- |")
        for command_name, name, seconds, flagged in rows:
            print(f"| {command_name} | {name} | {seconds:.2f} | {flagged} |")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
