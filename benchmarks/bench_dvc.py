"""Benchmark `repolicy audit` with `dvc-stale` on a DVC-tracked dataset against `dvc status`.

    python benchmarks/bench_dvc.py [--files 2000 --mb 200 --runs 3] [--workdir DIR] [--json [OUT]]

Builds (or reuses) a git + DVC project whose `data/` directory (2,000 files,
200 MB of random bytes) was added with `dvc add`, checks that both tools call
it up to date and both see one changed file, then times, round-robin:

- `repolicy audit` with no hash cache (the first run: every byte is read),
- `repolicy audit` with the hash cache of the previous run,
- `dvc status` with an empty state database (its first run), and with its state,
- the floor: md5 of every byte in this process (one thread, no start-up).

Every command runs with the page cache warm (the data was just read): the
numbers compare hashing and bookkeeping, not the disk.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from make_repo import BENCH_DIR, DEFAULT_WORKDIR, isolated_env

GENERATOR = 1
TARGET_WARM = 0.3  # seconds: the second audit of the dataset


class BenchmarkError(Exception):
    """The benchmark cannot produce a trustworthy result."""


def run(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode not in ok:
        raise BenchmarkError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def build(root: Path, files: int, megabytes: int, env: dict[str, str]) -> Path:
    """The project, cached in `root` behind a stamp written last."""
    stamp = root / "stamp.json"
    params = {"files": files, "mb": megabytes, "generator": GENERATOR}
    repo = root / "repo"
    if stamp.is_file() and json.loads(stamp.read_text()) == params:
        return repo
    shutil.rmtree(root, ignore_errors=True)
    (repo / "data").mkdir(parents=True)
    rng = random.Random(7)
    size = megabytes * 1_000_000 // files
    past = time.time() - 3600
    for k in range(files):
        target = repo / "data" / f"class{k % 20:02d}" / f"img{k:05d}.bin"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(rng.randbytes(size))
        os.utime(target, (past, past))
    dvc = [sys.executable, "-m", "dvc"]
    run(["git", "init", "-q"], repo, env)
    run([*dvc, "init", "-q"], repo, env)
    # DVC's own hash cache (its state database) is kept where the benchmark can empty it.
    (repo / ".dvc" / "config").write_text(
        f"[core]\n    analytics = false\n    site_cache_dir = {root / 'dvc-site'}\n"
    )
    run([*dvc, "add", "-q", "data"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-q", "--no-verify", "-m", "dataset"], repo, env)
    stamp.write_text(json.dumps(params))
    return repo


def audit_stale(repo: Path, env: dict[str, str], repolicy: list[str]) -> set[str]:
    out = run([*repolicy, "audit", "--format", "json"], repo, env, ok=(0, 1))
    data = json.loads(out)
    return {v["path"] for v in data["violations"] if v["check"] == "dvc-stale"}


def dvc_changed(repo: Path, env: dict[str, str]) -> set[str]:
    out = run([sys.executable, "-m", "dvc", "status", "--json"], repo, env)
    changed: set[str] = set()
    for entries in json.loads(out).values():
        for entry in entries:
            if isinstance(entry, dict):
                changed.update(entry.get("changed outs", {}))
    return changed


def verify(repo: Path, env: dict[str, str], repolicy: list[str], cache: Path) -> None:
    """Both tools call the dataset up to date, and both see the same change."""
    cache.unlink(missing_ok=True)
    if audit_stale(repo, env, repolicy) or dvc_changed(repo, env):
        raise BenchmarkError("the fresh dataset is reported stale")
    victim = next((repo / "data").rglob("*.bin"))
    original = victim.read_bytes()
    st = victim.stat()
    try:
        victim.write_bytes(original[::-1])
        got, expected = audit_stale(repo, env, repolicy), dvc_changed(repo, env)
        if got != expected or got != {"data"}:
            raise BenchmarkError(f"repolicy saw {got}, dvc status saw {expected}")
    finally:
        victim.write_bytes(original)
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    if audit_stale(repo, env, repolicy):
        raise BenchmarkError("the restored dataset is reported stale")


def floor(repo: Path) -> Callable[[], None]:
    paths = sorted((repo / "data").rglob("*.bin"))

    def read_once() -> None:
        for path in paths:
            with open(path, "rb") as fh:
                digest = hashlib.md5(usedforsecurity=False)
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)

    return read_once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", nargs="?", const="", default=None)
    args = parser.parse_args(argv)

    root = args.workdir / f"dvc-f{args.files}-m{args.mb}-v{GENERATOR}"
    env = isolated_env(args.workdir / "home-dvc")
    env["DVC_NO_ANALYTICS"] = "1"
    print(f"building {root} ...", file=sys.stderr)
    repo = build(root, args.files, args.mb, env)
    git_dir = Path(run(["git", "rev-parse", "--absolute-git-dir"], repo, env).strip())
    cache = git_dir / "repolicy" / "dvc-hashes"
    site = root / "dvc-site"
    scripts = Path(sys.executable).parent
    repolicy = [str(scripts / "repolicy")]
    dvc = [sys.executable, "-m", "dvc", "status", "-q"]
    total = sum(p.stat().st_size for p in (repo / "data").rglob("*.bin"))

    try:
        verify(repo, env, repolicy, cache)
    except BenchmarkError as exc:
        print(f"aborted: {exc}", file=sys.stderr)
        return 3

    def proc(argv: list[str], before: Callable[[], None] | None = None) -> Callable[[], float]:
        def once() -> float:
            if before is not None:
                before()
            start = time.perf_counter()
            subprocess.run(argv, cwd=repo, env=env, stdout=subprocess.DEVNULL, check=True)
            return time.perf_counter() - start

        return once

    def in_process(func: Callable[[], None]) -> Callable[[], float]:
        def once() -> float:
            start = time.perf_counter()
            func()
            return time.perf_counter() - start

        return once

    audit = [*repolicy, "audit", "-q"]
    cases: dict[str, Callable[[], float]] = {
        "repolicy audit, no hash cache (first run)": proc(
            audit, lambda: cache.unlink(missing_ok=True)
        ),
        "repolicy audit, hash cache (second run)": proc(audit),
        "dvc status, empty state (first run)": proc(
            dvc, lambda: shutil.rmtree(site, ignore_errors=True)
        ),
        "dvc status, with its state": proc(dvc),
        "floor: md5 of every byte, one thread": in_process(floor(repo)),
    }
    for case in cases.values():  # warm-up: page cache, bytecode, both tools' caches
        case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for k in range(args.runs):
        for name in names[k % len(names) :] + names[: k % len(names)]:
            times[name].append(cases[name]())
        # the second-run rows must find the caches their first-run rows emptied
        proc(audit)()
        proc(dvc)()

    rows = []
    print(f"\n{args.files} files, {total / 1e6:.0f} MB, {args.runs} runs, page cache warm\n")
    print("| command | median s | min s | MB/s |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in times.items():
        median = statistics.median(values)
        rows.append({"name": name, "median": median, "min": min(values), "times": values})
        print(f"| {name} | {median:.3f} | {min(values):.3f} | {total / 1e6 / median:.0f} |")
    med = {r["name"]: r["median"] for r in rows}
    first, second = med[names[0]], med[names[1]]
    ratios = {
        "first audit / floor": first / med[names[4]],
        "first audit / first dvc status": first / med[names[2]],
        "second audit (s)": second,
    }
    print()
    for name, value in ratios.items():
        print(f"- {name}: {value:.2f}")
    met = second < TARGET_WARM
    print(f"- target: second audit < {TARGET_WARM} s: {'met' if met else 'MISSED'}")

    if args.json is not None:
        out = (
            Path(args.json)
            if args.json
            else BENCH_DIR
            / "results"
            / f"dvc-py{platform.python_version()}-{sys.platform}-{platform.machine()}.json"
        )
        result: dict[str, Any] = {
            "files": args.files,
            "bytes": total,
            "runs": args.runs,
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "rows": rows,
            "ratios": ratios,
            "target_second_audit_s": TARGET_WARM,
            "target_met": met,
            "dvc_version": run([sys.executable, "-m", "dvc", "--version"], repo, env).strip(),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
