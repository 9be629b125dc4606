"""Time `repolicy fix` and `repolicy explain` on the 10,000-file benchmark repository.

Target: under 0.5 s each. In the same run, the floor: the git work `fix`
cannot avoid (list every file, `ls-files --cached --others`, and have
`check-ignore --no-index --stdin` judge them all once).

    python benchmarks/bench_fix.py [--files N --commits N --runs N --workdir DIR]

`fix --check` does everything `fix` does except the final write, so it is
what is timed: the repository stays as generated from one round to the next.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_repo import DEFAULT_WORKDIR, Params, ensure, isolated_env

EXPLAINED = [
    "outputs/run_new/checkpoints/best.pth",
    "outputs/run_new/checkpoints/epoch_3.pth",
    "outputs/run_new/train.log",
    "src/model.py",
    "wandb/run-1/files/config.yaml",
]


def timed(argv: Sequence[str], cwd: Path, env: Mapping[str, str], ok: Sequence[int]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {proc.stderr.decode()}")
    return elapsed


def floor(cwd: Path, env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others"],
        cwd=cwd, env=env, capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        ["git", "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"],
        cwd=cwd, env=env, input=files, capture_output=True, check=False,
    )  # fmt: skip
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=Params.files)
    parser.add_argument("--commits", type=int, default=Params.commits)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="repolicy-bench-home-") as home_dir:
        home = Path(home_dir)
        repo = ensure(args.workdir, Params(args.files, args.commits), home)
        env = isolated_env(home)
        root = repo.root
        exe = [sys.executable, "-m", "repolicy"]
        cases = {
            "repolicy fix --check": (lambda: timed([*exe, "fix", "--check"], root, env, (0, 1))),
            "repolicy explain (5 paths)": (
                lambda: timed([*exe, "explain", "--", *EXPLAINED], root, env, (0,))
            ),
            "floor: ls-files + check-ignore --stdin": lambda: floor(root, env),
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"], root, env, (0,)),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for round_ in range(args.runs + 1):  # the first round warms caches
            shift = round_ % len(names)
            for name in [*names[shift:], *names[:shift]]:
                elapsed = cases[name]()
                if round_:
                    times[name].append(elapsed)
        files = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "-z"],
            cwd=root, env=env, capture_output=True, check=True,
        ).stdout.count(b"\0")  # fmt: skip

    medians = {name: statistics.median(ts) for name, ts in times.items()}
    lines = [
        f"{files} files in index and work tree; {args.runs} rounds; Python "
        f"{platform.python_version()}",
        "",
        "| command | median s | min s | target |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, ts in times.items():
        target = ""
        if name.startswith("repolicy"):
            target = "< 0.5 s: " + ("met" if medians[name] < 0.5 else "MISSED")
        lines.append(f"| {name} | {medians[name]:.3f} | {min(ts):.3f} | {target} |")
    print("\n".join(lines))
    out = args.json or (
        Path(__file__).resolve().parent
        / "results"
        / f"fix-py{platform.python_version()}-{sys.platform}-{platform.machine()}.json"
    )
    out.parent.mkdir(exist_ok=True)
    result = {"files": files, "runs": args.runs, "times": times, "medians": medians}
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
