"""Benchmark `repolicy check --push` and `repolicy audit` on a long history.

    python benchmarks/bench_history.py [--shapes blobs,paths --commits 10000 --unpushed 20]
                                       [--runs 15 --audit-runs 7 --slow-runs 3] [--no-peers]

Generates (or reuses) two variants of a synthetic ML repository with a long
history (see make_history.py): checkpoints raw, and checkpoints in Git LFS;
each in two shapes, `blobs` (100,000 files, checkpoints of 8-64 KiB) and
`paths` (86,000 files imported at once, then small edits; small blobs).
Checks that `check --push` reports exactly the violations planted in the
unpushed range, then times, round-robin and with warm-up rounds discarded:

- `check --push origin` on the unpushed range against the least git work any
  push check must do (`rev-list --objects origin/main..main | cat-file
  --batch-check`) and against `python -c pass`;
- `audit` against the same pipeline over `--all`, and against the tools one
  would otherwise reach for: `git lfs migrate info --everything` and
  `git filter-repo --analyze` (slow: fewer rounds);
- the peak memory of each repolicy command and of its floor, per process.

Prints Markdown tables and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench_check import BenchmarkError, Case, bytecode_env, git_version, measure, script
from make_history import (
    DEFAULT_FILES,
    PLANTED,
    SHAPES,
    History,
    HistoryParams,
    Variant,
    ensure,
    generate,
)
from make_repo import BENCH_DIR, DEFAULT_WORKDIR, isolated_env

# What a blob-size listing needs: `%(rest)` makes cat-file split the object name
# from the path rev-list prints after it (without it every line is "missing").
BATCH_CHECK = "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"

# Targets, each "at most" (<=) or "at least" (>=) the value.
TARGETS: dict[str, tuple[str, float]] = {
    "check --push: (repolicy - python -c pass) / floor": ("<=", 2.0),
    "audit / floor": ("<=", 2.0),
    "git lfs migrate info / audit": (">=", 10.0),
    "check --push memory / floor memory": ("<=", 2.0),
    "audit memory / floor memory": ("<=", 2.0),
}

# Run inside a fresh interpreter per memory measurement: start the pipeline,
# wait, and report the largest peak RSS among everything it started.
MEMORY_WRAPPER = r"""
import json, resource, subprocess, sys
spec = json.loads(sys.argv[1])
procs, prev = [], None
for k, argv in enumerate(spec["pipeline"]):
    last = k == len(spec["pipeline"]) - 1
    if prev is not None:
        stdin = prev.stdout
    elif spec["input"] is not None:
        stdin = subprocess.PIPE
    else:
        stdin = subprocess.DEVNULL
    proc = subprocess.Popen(argv, stdin=stdin, stderr=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL if last else subprocess.PIPE)
    if prev is not None:
        prev.stdout.close()
    procs.append(proc)
    prev = proc
if spec["input"] is not None:
    procs[0].stdin.write(spec["input"].encode())
    procs[0].stdin.close()
rcs = [p.wait() for p in procs]
print(json.dumps({"rcs": rcs, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

# `repolicy`, reporting the interpreter's own peak RSS when the command is done.
# (The console script leaves with os._exit, so an atexit hook would never run.)
SELF_RSS = r"""
import gc, os, resource, sys
from repolicy.cli import main
gc.disable()  # as the console script does
code = main(sys.argv[1:])
with open(os.environ["BENCH_PY_LOG"], "a") as f:
    f.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
sys.stdout.flush()
os._exit(code)
"""

# Put first on PATH during memory measurements: runs the real git under GNU
# time, which logs its start, wall time, CPU time and peak RSS, one line per
# process. (A shim in Python would not do: a child inherits the RSS high-water
# mark of the process that forked it, so every git would start at ~10 MB.)
GIT_SHIM = """#!/bin/sh
exec /usr/bin/time -a -o "$BENCH_GIT_LOG" -f "$(date +%s.%N) %e %U %S %M %C" "$BENCH_REAL_GIT" "$@"
"""


@dataclass
class HistoryCase(Case):
    """A timed command: one process (with stdin), or a pipeline of processes.

    A `wrapped` command runs under MEMORY_WRAPPER, which also records the peak
    RSS of the largest process it started.
    """

    group: str = ""
    variant: str = ""
    stdin: bytes | None = None
    pipeline: list[list[str]] | None = None
    wrapped: bool = False
    rss_kb: list[int] = field(default_factory=list)  # per run, when wrapped
    memory: dict[str, Any] | None = None  # the per-process measurement

    def run_once(self, env: Mapping[str, str]) -> float:
        if self.wrapped:
            return self._run_wrapped(env)
        argvs = self.pipeline or ([self.argv] if self.argv else [])
        start = time.perf_counter()
        procs: list[subprocess.Popen[bytes]] = []
        prev: subprocess.Popen[bytes] | None = None
        for k, argv in enumerate(argvs):
            last = k == len(argvs) - 1
            if prev is not None:
                stdin: Any = prev.stdout
            else:
                stdin = subprocess.PIPE if self.stdin is not None else subprocess.DEVNULL
            proc = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=env,
                stdin=stdin,
                stdout=subprocess.DEVNULL if last else subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            if prev is not None and prev.stdout is not None:
                prev.stdout.close()  # only the next process reads it
            procs.append(proc)
            prev = proc
        if self.stdin is not None and procs[0].stdin is not None:
            procs[0].stdin.write(self.stdin)
            procs[0].stdin.close()
        rc = 0
        for proc in procs:
            rc = rc or proc.wait()
        return self._done(time.perf_counter() - start, rc)

    def _run_wrapped(self, env: Mapping[str, str]) -> float:
        """Through MEMORY_WRAPPER, which also reports the largest process's peak RSS.

        Only for commands that run for seconds (the wrapper's start-up is ~20 ms):
        a child inherits the RSS high-water mark of the process that forked it
        until it execs, so `wait4` from this (large) process would report at least
        this process's own peak for every command.
        """
        assert self.argv is not None
        spec = {"pipeline": [self.argv], "input": self.stdin.decode() if self.stdin else None}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-S", "-c", MEMORY_WRAPPER, json.dumps(spec)],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchmarkError(f"{self.name}: wrapper failed: {proc.stderr.decode()}")
        result = json.loads(proc.stdout)
        self.rss_kb.append(int(result["maxrss_kb"]))
        return self._done(elapsed, max(result["rcs"]))

    def _done(self, elapsed: float, rc: int) -> float:
        if self.expect_rc is not None and rc != self.expect_rc:
            raise BenchmarkError(f"{self.name}: exit {rc}, expected {self.expect_rc}")
        self.rcs.add(rc)
        if len(self.rcs) > 1:
            raise BenchmarkError(f"{self.name}: exit status changed between runs: {self.rcs}")
        return elapsed

    def timed_rss(self) -> list[int]:
        """The RSS of the timed runs (warm-up rounds excluded)."""
        return self.rss_kb[len(self.rss_kb) - len(self.times) :]


# -- the commands -------------------------------------------------------------


def git_out(cwd: Path, env: Mapping[str, str], *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode()


def push_line(variant: Variant, env: Mapping[str, str]) -> bytes:
    """What git gives the pre-push hook for `git push origin main`."""
    local = git_out(variant.root, env, "rev-parse", "main").strip()
    remote = git_out(variant.root, env, "rev-parse", "origin/main").strip()
    return f"refs/heads/main {local} refs/heads/main {remote}\n".encode()


def build_cases(
    targets: Mapping[str, Variant], env: Mapping[str, str], peers: bool
) -> list[HistoryCase]:
    """The timed commands of each repository in `targets` (keyed "shape/variant")."""
    repolicy = script("repolicy")
    cases: list[HistoryCase] = []
    for name, v in targets.items():
        line = push_line(v, env)
        cases += [
            HistoryCase(
                f"{name}: repolicy check --push origin",
                [repolicy, "check", "--push", "origin"],
                v.root,
                expect_rc=1,
                group="push",
                variant=name,
                stdin=line,
            ),
            HistoryCase(
                f"{name}: floor rev-list origin/main..main | cat-file",
                cwd=v.root,
                expect_rc=0,
                group="push",
                variant=name,
                pipeline=[
                    ["git", "rev-list", "--objects", "origin/main..main"],
                    ["git", "cat-file", BATCH_CHECK],
                ],
            ),
            HistoryCase(
                f"{name}: repolicy audit",
                [repolicy, "audit"],
                v.root,
                expect_rc=1,
                group="audit",
                variant=name,
            ),
            HistoryCase(
                f"{name}: floor rev-list --all | cat-file",
                cwd=v.root,
                expect_rc=0,
                group="audit",
                variant=name,
                pipeline=[
                    ["git", "rev-list", "--objects", "--all"],
                    ["git", "cat-file", BATCH_CHECK],
                ],
            ),
        ]
        if peers:
            cases += [
                HistoryCase(
                    f"{name}: git lfs migrate info --everything",
                    ["git", "lfs", "migrate", "info", "--everything"],
                    v.root,
                    expect_rc=0,
                    group="slow",
                    variant=name,
                    wrapped=True,
                ),
                HistoryCase(
                    f"{name}: git filter-repo --analyze --force",
                    [script("git-filter-repo"), "--analyze", "--force"],
                    v.root,
                    expect_rc=0,
                    group="slow",
                    variant=name,
                    wrapped=True,
                ),
            ]
    cases.append(
        HistoryCase(
            "python -c pass", [sys.executable, "-c", "pass"], BENCH_DIR, expect_rc=0, group="push"
        )
    )
    return cases


def find(cases: Sequence[HistoryCase], variant: str, suffix: str) -> HistoryCase | None:
    return next((c for c in cases if c.variant == variant and c.name.endswith(suffix)), None)


def by_name(cases: Sequence[HistoryCase], variant: str, suffix: str) -> HistoryCase:
    case = find(cases, variant, suffix)
    if case is None:
        raise KeyError(f"{variant}: {suffix}")
    return case


# -- correctness --------------------------------------------------------------


def errors_reported(
    argv: list[str], cwd: Path, env: Mapping[str, str], stdin: bytes | None
) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [*argv, "--format", "json"], cwd=cwd, env=env, input=stdin, capture_output=True, check=False
    )
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError as exc:
        raise BenchmarkError(
            f"{' '.join(argv)} --format json: not JSON ({exc}): "
            f"{proc.stderr.decode(errors='replace')}"
        ) from None


def verify(
    targets: Mapping[str, Variant], env: Mapping[str, str], cases: Sequence[HistoryCase]
) -> dict[str, Any]:
    """Abort unless `check --push` reports exactly the expected errors on the range,
    `audit` reports the planted ones too, and the floors see every object."""
    found: dict[str, Any] = {}
    planted = {(check, path) for path, checks in PLANTED.items() for check in checks}
    for name, v in targets.items():
        push = by_name(cases, name, "repolicy check --push origin")
        assert push.argv is not None
        rc, pushed = errors_reported(push.argv, v.root, env, push.stdin)
        errors = {(x["check"], x["path"]) for x in pushed["violations"] if x["severity"] == "error"}
        if rc != 1 or errors != v.expected_push:
            raise BenchmarkError(
                f"{push.name}: exit {rc}; missing {sorted(v.expected_push - errors)}, "
                f"unexpected {sorted(errors - v.expected_push)} "
                f"(if {v.root} was changed by hand, pass --regenerate)"
            )
        audit = by_name(cases, name, "repolicy audit")
        assert audit.argv is not None
        rc, report = errors_reported(audit.argv, v.root, env, None)
        reported = {(x["check"], x["path"]) for x in report["violations"]}
        if rc != 1 or not planted <= reported or ("unpushed", None) not in reported:
            raise BenchmarkError(
                f"{audit.name}: exit {rc}; missing "
                f"{sorted(map(str, (planted | {('unpushed', None)}) - reported))}"
            )
        counts: dict[str, int] = {}
        for floor in (c for c in cases if c.variant == name and c.pipeline):
            assert floor.pipeline is not None
            rev_list, cat_file = floor.pipeline
            objects = subprocess.run(
                rev_list, cwd=v.root, env=env, capture_output=True, check=True
            ).stdout
            sizes = subprocess.run(
                cat_file, cwd=v.root, env=env, input=objects, capture_output=True, check=True
            ).stdout.splitlines()
            if not sizes or any(line.endswith(b" missing") for line in sizes):
                raise BenchmarkError(f"{floor.name}: {len(sizes)} lines, some objects missing")
            counts[floor.name] = len(sizes)
        found[name] = {
            "push_errors": sorted(map(list, errors)),
            "push_budgets": pushed.get("budgets"),
            "audit_violations": len(report["violations"]),
            "audit_budgets": report.get("budgets"),
            "objects_listed": counts,
        }
    return found


# -- memory ---------------------------------------------------------------------


def git_shim(workdir: Path) -> Path | None:
    """A directory whose `git` logs every real git process (see GIT_SHIM), if GNU time is
    installed."""
    probe = (
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "true"], capture_output=True, text=True, check=False
        )
        if os.path.exists("/usr/bin/time")
        else None
    )
    if probe is None or not probe.stderr.strip().isdigit():
        print("note: no GNU /usr/bin/time: no per-process memory breakdown", file=sys.stderr)
        return None
    shim_dir = workdir / "git-shim"
    shim_dir.mkdir(parents=True, exist_ok=True)
    shim = shim_dir / "git"
    shim.write_text(GIT_SHIM)
    shim.chmod(0o755)
    return shim_dir


def parse_shim_log(text: str) -> list[dict[str, Any]]:
    """GIT_SHIM's lines: start, wall, user, system, peak RSS (KB), command line."""
    gits = []
    for line in text.splitlines():
        fields = line.split(" ", 5)
        if len(fields) < 6 or not fields[4].isdigit():
            continue  # "Command exited with non-zero status N" precedes a line
        start, wall, user, system = map(float, fields[:4])
        argv = fields[5].split(" ")[1:]  # the real git's path first
        gits.append(
            {
                "argv": argv,
                "start": start,
                "end": start + wall,
                "cpu": user + system,
                "maxrss_kb": int(fields[4]),
            }
        )
    return gits


def footprint(python_kb: int, gits: Sequence[Mapping[str, Any]]) -> int:
    """Peak RSS of what ran at once: the interpreter (alive throughout) plus, at the
    busiest moment, the peaks of every git process alive then (an upper bound)."""
    busiest = 0
    for g in gits:
        alive = [h for h in gits if h["start"] <= g["start"] < h["end"] or h is g]
        busiest = max(busiest, sum(int(h["maxrss_kb"]) for h in alive))
    return python_kb + busiest


def measure_memory(
    case: HistoryCase, env: Mapping[str, str], shim_dir: Path | None
) -> dict[str, Any]:
    """One run in a fresh interpreter, git behind the logging shim: per-process peaks."""
    with tempfile.TemporaryDirectory(prefix="repolicy-bench-mem-") as tmp:
        git_log, py_log = Path(tmp) / "git.jsonl", Path(tmp) / "python.txt"
        real_git = shutil.which("git", path=env.get("PATH"))
        if real_git is None:
            raise BenchmarkError("git not on PATH")
        menv = {
            **env,
            "PATH": os.pathsep.join([*([str(shim_dir)] if shim_dir else []), env.get("PATH", "")]),
            "BENCH_REAL_GIT": real_git,
            "BENCH_GIT_LOG": str(git_log),
            "BENCH_PY_LOG": str(py_log),
        }
        if case.pipeline is not None:
            pipeline = case.pipeline
        else:
            assert case.argv is not None
            # The console script's code path, with the interpreter's own peak reported.
            pipeline = [[sys.executable, "-c", SELF_RSS, *case.argv[1:]]]
        spec = {"pipeline": pipeline, "input": case.stdin.decode() if case.stdin else None}
        proc = subprocess.run(
            [sys.executable, "-S", "-c", MEMORY_WRAPPER, json.dumps(spec)],
            cwd=case.cwd,
            env=menv,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BenchmarkError(f"{case.name}: memory wrapper failed: {proc.stderr.decode()}")
        result = json.loads(proc.stdout)
        gits = parse_shim_log(git_log.read_text()) if git_log.exists() else []
        python_kb = 0
        if case.pipeline is None:
            # A repolicy run that did not report its own peak would read as 0 MB.
            if not py_log.exists():
                raise BenchmarkError(f"{case.name}: the interpreter's peak RSS was not reported")
            python_kb = int(py_log.read_text().split()[0])
    if max(result["rcs"]) != (case.expect_rc or 0):
        raise BenchmarkError(f"{case.name}: exit {result['rcs']} under the memory wrapper")
    t0 = min((g["start"] for g in gits), default=0.0)
    return {
        "tree_max_kb": result["maxrss_kb"],
        "python_kb": python_kb,
        "git_max_kb": max((g["maxrss_kb"] for g in gits), default=0),
        "git_sum_kb": sum(g["maxrss_kb"] for g in gits),
        "footprint_kb": footprint(python_kb, gits),
        "git": [
            {
                "argv": g["argv"],
                "start": round(g["start"] - t0, 3),
                "wall": round(g["end"] - g["start"], 3),
                "cpu": round(g["cpu"], 3),
                "maxrss_kb": g["maxrss_kb"],
            }
            for g in sorted(gits, key=lambda g: g["start"])
        ],
    }


# -- report -----------------------------------------------------------------------


def ratios(cases: Sequence[HistoryCase], variants: Sequence[str]) -> dict[str, dict[str, float]]:
    med = {c.name: c.stats()["median"] for c in cases if c.times}
    out: dict[str, dict[str, float]] = {}
    for name in variants:

        def t(suffix: str, variant: str = name) -> float | None:
            case = find(cases, variant, suffix)
            return med.get(case.name) if case else None

        def mem(suffix: str, key: str, variant: str = name) -> float:
            memory = by_name(cases, variant, suffix).memory or {}
            return float(memory.get(key, 0))

        python = med["python -c pass"]
        push, push_floor = t("check --push origin"), t("origin/main..main | cat-file")
        audit, audit_floor = t("repolicy audit"), t("--all | cat-file")
        assert push and push_floor and audit and audit_floor
        r = {
            "check --push / floor": push / push_floor,
            "check --push: (repolicy - python -c pass) / floor": (push - python) / push_floor,
            "audit / floor": audit / audit_floor,
        }
        migrate, analyze = t("lfs migrate info --everything"), t("filter-repo --analyze --force")
        if migrate:
            r["git lfs migrate info / audit"] = migrate / audit
        if analyze:
            r["git filter-repo --analyze / audit"] = analyze / audit
        for label, ours, floor in (
            ("check --push", "check --push origin", "origin/main..main | cat-file"),
            ("audit", "repolicy audit", "--all | cat-file"),
        ):
            if mem(floor, "footprint_kb"):
                r[f"{label} memory / floor memory"] = mem(ours, "footprint_kb") / mem(
                    floor, "footprint_kb"
                )
                r[f"{label} largest process / floor's largest"] = mem(ours, "tree_max_kb") / mem(
                    floor, "tree_max_kb"
                )
        out[name] = r
    return out


def verdict(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    op, target = TARGETS[name]
    met = value <= target if op == "<=" else value >= target
    return f"{op} {target:.1f}x: {'met' if met else 'MISSED'}"


def cell(text: str) -> str:
    """Text for a Markdown table cell."""
    return text.replace("|", "\\|")


def short(argv: Sequence[str]) -> str:
    """A git command line for a table: object ids cut to 7 digits, long lines cut."""
    words = [a[:7] if len(a) in (40, 64) and not a.strip("0123456789abcdef") else a for a in argv]
    text = cell(" ".join(words))
    return text if len(text) <= 100 else text[:97] + "..."


def markdown(
    cases: Sequence[HistoryCase], rat: Mapping[str, Mapping[str, float]], env: Mapping[str, Any]
) -> str:
    load = "/".join(f"{x:.1f}" for x in env["loadavg_before"])
    shapes = "; ".join(
        f"{shape}: {p['files']} files, {p['commits']} commits ({p['unpushed']} unpushed)"
        for shape, p in env["shapes"].items()
    )
    lines = [
        f"{shapes}; repolicy {env['repolicy']}; rounds "
        f"timed/warm-up: push {env['runs']}/{env['warmup']}, audit {env['audit_runs']}/"
        f"{env['warmup']}, slow peers {env['slow_runs']}/{env['slow_warmup']}; Python "
        f"{env['python']}, git {env['git']}, git-lfs {env['git_lfs']}, filter-repo "
        f"{env['filter_repo']}, {env['machine']}, {env['cpus']} CPUs, load average {load} before",
        "",
        "| command | runs | median s | p90 s | min s | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in cases:
        if not c.times:
            continue
        s = c.stats()
        rss = c.timed_rss()
        peak = f"{max(rss) / 1024:.0f}" if rss else "see below"
        lines.append(
            f"| {cell(c.name)} | {len(c.times)} | {s['median']:.3f} | {s['p90']:.3f} "
            f"| {s['min']:.3f} | {peak} |"
        )
    lines += [
        "",
        "| memory, MB | python | largest git | largest process | sum of git peaks "
        "| footprint (at once) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in cases:
        if c.memory is None:
            continue
        m = c.memory
        lines.append(
            f"| {cell(c.name)} | {m['python_kb'] / 1024:.0f} | {m['git_max_kb'] / 1024:.0f} "
            f"| {m['tree_max_kb'] / 1024:.0f} | {m['git_sum_kb'] / 1024:.0f} "
            f"| {m['footprint_kb'] / 1024:.0f} |"
        )
    lines += ["", "| variant | ratio (of medians) | value | target |", "| --- | --- | ---: | --- |"]
    for variant, values in rat.items():
        for name, value in values.items():
            lines.append(f"| {variant} | {name} | {value:.2f}x | {verdict(name, value)} |")
    for c in cases:
        if c.memory is None or c.pipeline is not None:
            continue
        lines += [
            "",
            f"git processes of `{c.name}` (memory run; wall includes waiting on a full pipe):",
            "",
            "| git command | start s | wall s | CPU s | peak RSS MB |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for g in c.memory["git"]:
            lines.append(
                f"| `{short(g['argv'])}` | {g['start']:.2f} | {g['wall']:.2f} | {g['cpu']:.2f} "
                f"| {g['maxrss_kb'] / 1024:.0f} |"
            )
    return "\n".join(lines)


def tool_version(argv: Sequence[str], env: Mapping[str, str]) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, env=env, check=False)
    except OSError:
        return "missing"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def repolicy_revision(env: Mapping[str, str]) -> str:
    """The commit of the repolicy source measured, `+dirty` when repolicy/ has changes."""
    top = BENCH_DIR.parent
    try:
        head = git_out(top, env, "rev-parse", "--short=12", "HEAD").strip()
        dirty = git_out(top, env, "status", "--porcelain", "--", "repolicy").strip()
    except BenchmarkError:
        return "unknown"
    return head + ("+dirty" if dirty else "")


def default_json_path() -> Path:
    machine = f"{platform.system()}-{platform.machine()}".lower()
    return BENCH_DIR / "results" / f"history-py{platform.python_version()}-{machine}.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time `repolicy check --push` and `repolicy audit` on a long history."
    )
    parser.add_argument(
        "--shapes", default="blobs,paths", help=f"comma-separated: {', '.join(SHAPES)}"
    )
    parser.add_argument(
        "--files",
        type=int,
        help="default: " + ", ".join(f"{n} ({s})" for s, n in DEFAULT_FILES.items()),
    )
    parser.add_argument("--commits", type=int, default=HistoryParams.commits)
    parser.add_argument("--unpushed", type=int, default=HistoryParams.unpushed)
    parser.add_argument("--variants", default="plain,lfs", help="comma-separated: plain, lfs")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds of the push group")
    parser.add_argument("--audit-runs", type=int, default=7, help="timed rounds of the audits")
    parser.add_argument("--slow-runs", type=int, default=3, help="rounds of the slow peers")
    parser.add_argument("--warmup", type=int, default=2, help="discarded rounds (push, audit)")
    parser.add_argument(
        "--slow-warmup", type=int, default=0, help="discarded rounds of the slow peers"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip lfs migrate / filter-repo")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-process memory runs")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached repositories")
    parser.add_argument(
        "--json", type=Path, help=f"default: {default_json_path().relative_to(BENCH_DIR)}"
    )
    parser.add_argument("--bytecode-as-is", action="store_true", help="see bench_check.py")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if not variants or set(variants) - {"plain", "lfs"}:
        parser.error("--variants takes plain, lfs or both")
    shapes = [s for s in args.shapes.split(",") if s]
    if not shapes or set(shapes) - set(SHAPES):
        parser.error(f"--shapes takes {', '.join(SHAPES)}")
    rounds = (args.runs, args.audit_runs, args.slow_runs)
    if min(rounds) < 1 or min(args.warmup, args.slow_warmup) < 0:
        parser.error("rounds must be >= 1 and warm-up rounds >= 0")
    all_params = {
        shape: HistoryParams(
            args.files if args.files is not None else DEFAULT_FILES[shape],
            args.commits,
            args.unpushed,
            shape=shape,
        )
        for shape in shapes
    }
    load_before = os.getloadavg()
    histories: dict[str, History] = {}

    with tempfile.TemporaryDirectory(prefix="repolicy-bench-home-") as home_dir:
        home = Path(home_dir)
        env = isolated_env(home)
        if not args.bytecode_as_is:
            bytecode_env(env, args.workdir)
        revision = repolicy_revision(env)
        try:
            targets: dict[str, Variant] = {}
            for shape, params in all_params.items():
                history = (
                    generate(args.workdir, params, home)
                    if args.regenerate
                    else ensure(args.workdir, params, home)
                )
                histories[shape] = history
                how = "generated in" if history.generated_in is not None else "reused"
                took = f" {history.generated_in:.1f}s" if history.generated_in is not None else ""
                print(f"repositories: {history.base} ({how}{took})", file=sys.stderr)
                targets.update({f"{shape}/{name}": history.variants[name] for name in variants})
            cases = build_cases(targets, env, peers=not args.no_peers)
            found = verify(targets, env, cases)
            print("verified: check --push reports exactly the planted errors", file=sys.stderr)
            groups = (
                ("push", args.runs, args.warmup),
                ("audit", args.audit_runs, args.warmup),
                ("slow", args.slow_runs, args.slow_warmup),
            )
            for group, runs, warmup in groups:
                members = [c for c in cases if c.group == group]
                if not members:
                    continue
                print(f"timing {group}: {warmup} + {runs} rounds x {len(members)}", file=sys.stderr)
                # bench_check's measure runs at least one warm-up round; a slow
                # peer's rounds are too long to throw one away unless asked to.
                if warmup == 0:
                    for round_ in range(runs):
                        shift = round_ % len(members)
                        for case in [*members[shift:], *members[:shift]]:
                            case.times.append(case.run_once(env))
                else:
                    measure(members, env, runs, warmup)
            if not args.no_memory:
                shim = git_shim(args.workdir)
                for case in cases:
                    if case.group in ("push", "audit") and case.variant:
                        print(f"memory: {case.name}", file=sys.stderr)
                        case.memory = measure_memory(case, env, shim)
        except BenchmarkError as exc:
            print(f"bench_history: aborted: {exc}", file=sys.stderr)
            return 3
        finally:
            for history in histories.values():
                for v in history.variants.values():
                    shutil.rmtree(v.root / ".git" / "filter-repo", True)  # --analyze's reports

        environment: dict[str, Any] = {
            "shapes": {shape: asdict(params) for shape, params in all_params.items()},
            "variants": variants,
            "runs": args.runs,
            "audit_runs": args.audit_runs,
            "slow_runs": args.slow_runs,
            "warmup": max(1, args.warmup),
            "slow_warmup": args.slow_warmup,
            "repolicy": revision
            if repolicy_revision(env) == revision
            else f"{revision}, changed during the run",
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "bytecode": "as is" if args.bytecode_as_is else "cached (PYTHONPYCACHEPREFIX)",
            "git": git_version(),
            "git_lfs": tool_version(["git", "lfs", "version"], env),
            "filter_repo": tool_version([script("git-filter-repo"), "--version"], env)
            if not args.no_peers
            else None,
            "machine": platform.machine(),
            "system": platform.system(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "repository": {shape: h.facts for shape, h in histories.items()},
        }
    rat = ratios(cases, list(targets))
    print(markdown(cases, rat, environment))
    out = args.json or default_json_path()
    result = {
        "environment": environment,
        "commands": {
            c.name: {
                "group": c.group,
                "variant": c.variant,
                "argv": c.argv,
                "pipeline": c.pipeline,
                "exit": sorted(c.rcs),
                **(c.stats() if c.times else {}),
                "seconds": c.times,
                "peak_rss_kb": c.timed_rss(),
                "memory": c.memory,
            }
            for c in cases
        },
        "ratios": rat,
        "targets": {k: {"op": op, "value": v} for k, (op, v) in TARGETS.items()},
        "verified": found,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
