"""What each start-up trick saves, measured against the same run without it.

The hook runs on every commit, so `repolicy` keeps five tricks; each stays
only while this benchmark shows it pays:

- the policy cache (`repolicy.policy.cache`): a warm hook run reads the
  resolved policy with marshal instead of composing the YAML of the policy
  and every preset it extends (`cold`: the cache directory removed first);
- `os._exit` after the output is flushed (`repolicy.cli.run`): no interpreter
  teardown (`teardown`: `sys.exit(main())`, the same command otherwise);
- `gc.disable()` for the run: an audit builds hundreds of thousands of small
  records and no cycles (`gc on`: the collector left running);
- record classes made by `repolicy.tuples` instead of `typing.NamedTuple`,
  which compiles each class's `__new__` at import (`typing`: the same hook
  run with `typing.NamedTuple` put in its place before anything is imported;
  both variants start through the same `-c` line);
- the start-up bundle (`repolicy.bundle`): repolicy's modules read from one
  file instead of a `.pyc` each (`no bundle`: the same `-c` line with the
  bundle's finder taken out before anything else is imported).

Every command runs as an installed hook does, writing bytecode (here under
a temporary PYTHONPYCACHEPREFIX, whatever PYTHONDONTWRITEBYTECODE says),
after one run that writes it.

    python benchmarks/bench_startup.py            # 30 runs of each
    python benchmarks/bench_startup.py --runs 10

It prints the median of each pair, in one run, on one small repository
(a commit's worth of staged files under the `ml-checkpoints` preset) and,
for the collector, an audit of a 20,000-file history.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The same command, but ending as a plain script does: sys.exit after main,
# so the interpreter tears itself down.
TEARDOWN = "import sys; from repolicy.cli import main; sys.exit(main())"
# `run` without its gc.disable(): the collector runs as it normally would.
GC_ON = "import sys, os; from repolicy.cli import main; c = main(); sys.stdout.flush(); os._exit(c)"
# The hook as `python -m repolicy` runs it, with the record classes made by
# `repolicy.tuples` (as shipped) or by `typing.NamedTuple` (what it replaces).
RECORDS = "import repolicy.tuples; from repolicy.cli import run; run()"
# The hook with its modules read from the bundle (as shipped) or each from its
# own `.pyc` (the bundle's finder removed, and nothing written at the end).
BUNDLE = "from repolicy.cli import run; run()"
NO_BUNDLE = (
    "import sys, repolicy.bundle as b; sys.meta_path.remove(b._finder); b._finder.path = None; "
    "from repolicy.cli import run; run()"
)
TYPING_RECORDS = (
    "import typing, repolicy.tuples; repolicy.tuples.NamedTuple = typing.NamedTuple; "
    "from repolicy.cli import run; run()"
)


def git(repo: Path, *args: str, input: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True, check=True)


def build(repo: Path, files: int, commits: int) -> None:
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Bench")
    git(repo, "config", "user.email", "bench@example.com")
    (repo / ".repolicy.yaml").write_text("extends: [ml-checkpoints]\n")
    per = max(1, files // commits)
    for c in range(commits):
        for k in range(per):
            path = repo / f"src/m{c}/f{k}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"x = {c * per + k}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"c{c}")
    (repo / "train.py").write_text("print('train')\n")
    git(repo, "add", "train.py")


ENV: dict[str, str] = {}


def median(repo: Path, argv: list[str], runs: int, before: object = None) -> float:
    subprocess.run(argv, cwd=repo, capture_output=True, check=False, env=ENV)  # writes bytecode
    times = []
    for _ in range(runs):
        if callable(before):
            before()
        started = time.perf_counter()
        subprocess.run(argv, cwd=repo, capture_output=True, check=False, env=ENV)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        ENV.update(os.environ)
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        small, big = Path(tmp) / "small", Path(tmp) / "big"
        small.mkdir()
        big.mkdir()
        build(small, 50, 5)
        build(big, 20_000, 200)
        hook = [py, "-m", "repolicy", "check"]
        cache = small / ".git" / "repolicy"
        subprocess.run(hook, cwd=small, capture_output=True, check=False, env=ENV)  # warm the cache
        rows = [
            ("policy cache", "warm", median(small, hook, args.runs)),
            (
                "policy cache",
                "cold",
                median(small, hook, args.runs, lambda: shutil.rmtree(cache, True)),
            ),
            ("os._exit", "os._exit", median(small, hook, args.runs)),
            ("os._exit", "teardown", median(small, [py, "-c", TEARDOWN, "check"], args.runs)),
            ("records", "tuples", median(small, [py, "-c", RECORDS, "check"], args.runs)),
            ("records", "typing", median(small, [py, "-c", TYPING_RECORDS, "check"], args.runs)),
            ("bundle", "bundle", median(small, [py, "-c", BUNDLE, "check"], args.runs)),
            ("bundle", "no bundle", median(small, [py, "-c", NO_BUNDLE, "check"], args.runs)),
        ]
        audit_runs = max(3, args.runs // 10)
        rows += [
            ("gc.disable", "gc off", median(big, [py, "-m", "repolicy", "audit"], audit_runs)),
            ("gc.disable", "gc on", median(big, [py, "-c", GC_ON, "audit"], audit_runs)),
        ]
    print(f"{'trick':<14}{'variant':<12}{'median':>10}")
    for trick, variant, seconds in rows:
        print(f"{trick:<14}{variant:<12}{seconds * 1000:>8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
