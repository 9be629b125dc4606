"""Adversarial patterns against the matcher, side by side with git.

Each case is one pattern and paths built to make a backtracking matcher try
every way of splitting the path among the pattern's stars. For each case the
matcher's verdicts are timed and compared with `git check-ignore --no-index`
on the same paths (the pattern as the only line of `info/exclude`), in one run:

    python benchmarks/bench_match.py             # --bound 1.0 (seconds per case)

The exit status is 0 when every case agrees with git within the bound, 1 when
one does not, so a regression shows without a timed test in the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repolicy.policy.match import Matcher, compile_pattern

Case = tuple[str, str, list[tuple[str, bool]]]  # name, pattern, (path, is_dir)


def cases() -> list[Case]:
    deep_a = "/".join(["a"] * 60)
    deep_ab = "/".join(["a", "b"] * 30)
    thousand = "/".join(["d"] * 1000)
    return [
        ("stars in one name, 250 bytes", "*a*a*a*a*a*b", [("a" * 250, False)]),
        ("stars in one name, match", "*a*a*a*a*a*b", [("a" * 249 + "b", False)]),
        ("**/a/ six times, 60 deep", "**/a/" * 6, [(deep_a + "/x", False)]),
        ("**/a/ six times, 60 deep, miss", "**/a/" * 6 + "c", [(deep_a + "/x", False)]),
        ("**/a/**/b alternating", "**/a/**/b/**/a/**/b/**/c", [(deep_ab + "/x", False)]),
        ("** and stars", "**/a*a*a*/**/*b*b*b", [(deep_a + "/" + "a" * 200, False)]),
        ("1,000 levels", "**/d/**/d/**/f.log", [(thousand + "/f.log", False)]),
        ("1,000 levels, plain", "*.log", [(thousand + "/f.log", False)]),
    ]


def git_verdicts(pattern: str, paths: list[tuple[str, bool]]) -> tuple[list[bool], float]:
    with tempfile.TemporaryDirectory() as tmp:
        git_dir = Path(tmp) / "g"
        subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
        (git_dir / "info").mkdir(exist_ok=True)
        (git_dir / "info" / "exclude").write_bytes(os.fsencode(pattern) + b"\n")
        # --no-index asks about paths, not files: directories end in '/'.
        query = b"".join(os.fsencode(p + ("/" if d else "")) + b"\0" for p, d in paths)
        started = time.perf_counter()
        proc = subprocess.run(
            [
                "git",
                f"--git-dir={git_dir}",
                f"--work-tree={tmp}",
                "check-ignore",
                "--no-index",
                "--stdin",
                "-z",
                "-n",
                "-v",
            ],
            input=query,
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    fields = proc.stdout.split(b"\0")
    # -v -n: source, line, pattern, path per query; an empty source means not ignored.
    return [fields[4 * k] != b"" for k in range(len(paths))], elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound", type=float, default=1.0, help="seconds allowed per case")
    args = parser.parse_args()
    failed = 0
    print(f"{'case':<36} {'ours':>9} {'git':>9}  verdict")
    for name, pattern, paths in cases():
        compiled = compile_pattern(pattern)
        started = time.perf_counter()
        ours = [compiled.selects(p, d) for p, d in paths]
        matcher = Matcher([compiled])
        ours_matcher = [bool(matcher.hits(p, d)) for p, d in paths]
        elapsed = time.perf_counter() - started
        theirs, git_time = git_verdicts(pattern, paths)
        bound = args.bound * (10 if name.startswith("1,000 levels") else 1)
        ok = ours == theirs == ours_matcher and elapsed <= bound
        failed += not ok
        verdict = "ok" if ok else f"FAIL ours={ours} matcher={ours_matcher} git={theirs}"
        print(f"{name:<36} {elapsed * 1000:>7.1f}ms {git_time * 1000:>7.1f}ms  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
