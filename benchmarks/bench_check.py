"""Benchmark `repolicy check` as a pre-commit hook against its peers and the git floor.

    python benchmarks/bench_check.py [--files 10000 --commits 2000 --staged 50 --runs 15]
                                     [--warmup 3] [--workdir DIR] [--json [OUT]]

Generates (or reuses) a synthetic ML repository (see make_repo.py), checks
that `repolicy check` finds the planted violations -- a fast wrong answer is
not a result -- then times every command round-robin in one process, warm-up
rounds discarded, and prints a Markdown table of medians, p90s and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from make_repo import BENCH_DIR, DEFAULT_WORKDIR, Params, Repo, ensure, isolated_env

MAXKB = 102_400  # check-added-large-files --maxkb: the 100 MiB of `budgets.file`

# Targets: ratio name -> the ratio must be at most this.
TARGETS = {
    # Issue 14: the hook at most 0.9x the peer, on the run a commit sees.
    "repolicy check / check-added-large-files": 0.9,
    "repolicy --version / python -c pass": 1.5,
}


class BenchmarkError(Exception):
    """The benchmark cannot produce a trustworthy result."""


@dataclass
class Case:
    """One timed command: an argv run as a process, or an in-process callable."""

    name: str
    argv: list[str] | None = None
    cwd: Path | None = None
    func: Callable[[], int] | None = None
    expect_rc: int | None = None  # None: whatever it is, as long as it never changes
    times: list[float] = field(default_factory=list)  # seconds, warm-up excluded
    rcs: set[int] = field(default_factory=set)
    processes: int | None = None  # processes started (strace), when measured
    before: Callable[[], None] | None = None  # run before each round, untimed

    def run_once(self, env: Mapping[str, str]) -> float:
        if self.before is not None:
            self.before()
        start = time.perf_counter()
        if self.func is not None:
            rc = self.func()
        else:
            assert self.argv is not None
            rc = subprocess.run(
                self.argv,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            ).returncode
        elapsed = time.perf_counter() - start
        if self.expect_rc is not None and rc != self.expect_rc:
            raise BenchmarkError(f"{self.name}: exit {rc}, expected {self.expect_rc}")
        self.rcs.add(rc)
        if len(self.rcs) > 1:
            raise BenchmarkError(f"{self.name}: exit status changed between runs: {self.rcs}")
        return elapsed

    def stats(self) -> dict[str, float]:
        xs = sorted(self.times)
        return {
            "median": statistics.median(xs),
            "p90": percentile(xs, 90),
            "min": xs[0],
            "max": xs[-1],
            "mean": statistics.fmean(xs),
            "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0,
        }


def percentile(sorted_xs: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(sorted_xs) == 1:
        return sorted_xs[0]
    pos = (len(sorted_xs) - 1) * pct / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


# -- the commands -------------------------------------------------------------


def script(name: str) -> str:
    """The console script `name` of this interpreter's environment.

    Taken from the interpreter's own scripts directory, not from PATH, so a
    version-manager shim (pyenv's is a shell script that re-execs) does not
    add its own start-up to every run.
    """
    scripts = sysconfig.get_path("scripts")
    found = shutil.which(name, path=scripts) or shutil.which(name)
    if found is None:
        hint = " (pip install -e '.[bench]')" if name != "repolicy" else ""
        raise BenchmarkError(f"{name}: not found in {scripts} nor on PATH{hint}")
    return found


def git_out(cwd: Path, env: Mapping[str, str], *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def plumbing_floor(cwd: Path, env: Mapping[str, str]) -> int:
    """What any staged-size check must do at least: list the staged blobs, ask their sizes.

    `git diff --cached --raw -z` then `git cat-file --batch-check` on the new
    blob ids, as `git diff ... | cut ... | git cat-file --batch-check` would;
    returns the number of sizes read.
    """
    diff = subprocess.run(
        ["git", "diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames"],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    fields = diff.split(b"\0")
    oids = [
        meta.split(b" ")[3]
        for meta in fields[0::2]
        if meta.startswith(b":") and not meta.endswith(b" D")
    ]
    sizes = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objectsize)"],
        cwd=cwd,
        env=env,
        input=b"\n".join(oids) + b"\n",
        capture_output=True,
        check=True,
    ).stdout
    return len(sizes.split())


def staged_names(repo: Repo, env: Mapping[str, str]) -> list[str]:
    """The file names pre-commit passes a hook: staged, not deleted."""
    out = git_out(repo.root, env, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMRTUXB")
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


@dataclass(frozen=True)
class Interpreter:
    """How Python commands are started: this interpreter as it is, or a bare venv of it."""

    python: str
    wrap_scripts: bool  # run console scripts as `python SCRIPT` rather than by their shebang

    def script(self, name: str) -> list[str]:
        path = script(name)
        return [self.python, path] if self.wrap_scripts else [path]


def clean_site(workdir: Path, env: dict[str, str]) -> Interpreter:
    """A venv of this interpreter with an empty site-packages; packages come via PYTHONPATH.

    Entries of PYTHONPATH are not site directories, so no `.pth` file of the
    real site-packages runs at start-up (some environments add one that
    imports half the standard library into every process, `python -c pass`
    included). The editable install's project path is on sys.path already.
    """
    venv = workdir / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    stdlib = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib")}
    paths = [
        p
        for p in sys.path[1:]  # [0] is this script's directory
        if p and Path(p).is_dir() and p not in stdlib and "lib-dynload" not in p
    ]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return Interpreter(str(python), wrap_scripts=True)


def forget_index_answers(root: Path) -> Callable[[], None]:
    """Remove what repolicy keeps of git's answers about the index (the staged
    diff, the listing), as a commit finds it: every commit has a new index, so
    the hook of a real commit never finds them. The policy cache stays, as it
    does between commits."""
    cache = root / ".git" / "repolicy"

    def forget() -> None:
        for name in ("staged.cache", "index.cache", "summary.cache"):
            (cache / name).unlink(missing_ok=True)

    return forget


def after_a_run(argv: list[str], root: Path, env: Mapping[str, str]) -> Callable[[], None]:
    """Make sure `argv` found what a run on the same index keeps (the staged
    diff): run it once, untimed, where that is gone (another row forgot it)."""

    def warm() -> None:
        if not (root / ".git" / "repolicy" / "staged.cache").exists():
            subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)

    return warm


def build_cases(repo: Repo, env: Mapping[str, str], interp: Interpreter) -> list[Case]:
    repolicy, py = interp.script("repolicy"), interp.python
    names = staged_names(repo, env)
    first = forget_index_answers(repo.root)
    # As the pre-commit framework runs the hook: the staged names after `--`.
    framework = [*repolicy, "check", "--", *names]
    return [
        Case("repolicy check", [*repolicy, "check"], repo.root, expect_rc=1, before=first),
        Case(
            "repolicy check, again on the same index",
            framework,
            repo.root,
            expect_rc=1,
            before=after_a_run(framework, repo.root, env),
        ),
        Case(
            "python -m repolicy check",
            [py, "-m", "repolicy", "check"],
            repo.root,
            expect_rc=1,
            before=first,
        ),
        Case(
            "check-added-large-files",
            [*interp.script("check-added-large-files"), f"--maxkb={MAXKB}", *names],
            repo.root,
        ),
        Case("plumbing floor (diff + cat-file)", func=lambda: plumbing_floor(repo.root, env)),
        Case("repolicy check, nothing staged", [*repolicy, "check"], repo.clean, expect_rc=0),
        Case("repolicy --version", [*repolicy, "--version"], repo.root, expect_rc=0),
        Case("python -c pass", [py, "-c", "pass"], repo.root, expect_rc=0),
    ]


# -- correctness --------------------------------------------------------------


def verify(repo: Repo, env: Mapping[str, str], cases: Sequence[Case]) -> dict[str, Any]:
    """Abort unless repolicy reports exactly the planted violations; note what the peer says."""
    by_name = {c.name: c for c in cases}
    found: dict[str, Any] = {}
    planted = {(check, path) for path, checks in repo.planted.items() for check in checks}
    for label in (
        "repolicy check",
        "python -m repolicy check",
        "repolicy check, again on the same index",
    ):
        case = by_name[label]
        assert case.argv is not None
        # Before the file names, if any.
        cut = case.argv.index("--") if "--" in case.argv else len(case.argv)
        argv = [*case.argv[:cut], "--format", "json", *case.argv[cut:]]
        proc = subprocess.run(argv, cwd=case.cwd, env=env, capture_output=True, check=False)
        if proc.returncode != 1:
            raise BenchmarkError(
                f"{label}: exit {proc.returncode}, expected 1 (violations staged)\n"
                f"{proc.stderr.decode(errors='replace')}"
            )
        try:
            report = json.loads(proc.stdout)
        except ValueError as exc:
            raise BenchmarkError(f"{label} --format json: not JSON ({exc})") from None
        reported = {(v["check"], v["path"]) for v in report["violations"]}
        missing = planted - reported
        extra = {
            (v["check"], v["path"])
            for v in report["violations"]
            if v["severity"] == "error" and v["path"] not in repo.planted
        }
        if missing or extra:
            raise BenchmarkError(
                f"{label}: wrong answer; missing {sorted(missing)}, false errors {sorted(extra)} "
                f"(if {repo.root} was changed by hand, pass --regenerate)"
            )
        found[label] = sorted(reported)

    case = by_name["repolicy check, nothing staged"]
    assert case.argv is not None
    clean = subprocess.run(
        [*case.argv, "--format", "json"], cwd=case.cwd, env=env, capture_output=True, check=False
    )
    if clean.returncode != 0 or json.loads(clean.stdout)["violations"]:
        raise BenchmarkError(f"repolicy check with nothing staged: exit {clean.returncode}")

    sizes = plumbing_floor(repo.root, env)
    if sizes != repo.params.staged:
        raise BenchmarkError(
            f"{repo.root}: {sizes} staged blobs, expected {repo.params.staged}; "
            "the cached repository was changed: delete it or pass --regenerate"
        )

    peer = next(c for c in cases if c.name == "check-added-large-files")
    assert peer.argv is not None
    proc = subprocess.run(peer.argv, cwd=peer.cwd, env=env, capture_output=True, check=False)
    found["check-added-large-files"] = {
        "exit": proc.returncode,
        "output": proc.stdout.decode(errors="replace").strip(),
    }
    return found


def count_processes(case: Case, env: Mapping[str, str]) -> int | None:
    """Processes a command starts, itself included: execve calls that succeeded (strace -f)."""
    strace = shutil.which("strace")
    if strace is None or case.argv is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".strace") as log:
        proc = subprocess.run(
            [strace, "-f", "-qq", "-e", "trace=execve", "-o", log.name, *case.argv],
            cwd=case.cwd,
            env=env,
            capture_output=True,
            check=False,
        )
        lines = Path(log.name).read_text(errors="replace").splitlines()
    if proc.returncode != case.expect_rc and case.expect_rc is not None:
        return None  # e.g. ptrace not permitted in this container
    # A call another process interrupted is split in two lines, the second
    # `<... execve resumed>) = 0`: counted too, or processes started side by
    # side go missing from the count.
    calls = ("execve(", "<... execve resumed>")
    return sum(
        1 for line in lines if line.rstrip().endswith("= 0") and any(c in line for c in calls)
    )


# -- timing and report ----------------------------------------------------------


def measure(cases: Sequence[Case], env: Mapping[str, str], runs: int, warmup: int) -> None:
    """Round-robin: each round runs every case once, starting one case later each round."""
    warmup = max(1, warmup)  # the first round may compile bytecode
    for round_ in range(warmup + runs):
        shift = round_ % len(cases)
        for case in [*cases[shift:], *cases[:shift]]:
            elapsed = case.run_once(env)
            if round_ >= warmup:
                case.times.append(elapsed)


def ratios(cases: Sequence[Case]) -> dict[str, float]:
    med = {c.name: c.stats()["median"] for c in cases}
    return {
        "repolicy check / check-added-large-files": med["repolicy check"]
        / med["check-added-large-files"],
        "python -m repolicy check / check-added-large-files": med["python -m repolicy check"]
        / med["check-added-large-files"],
        "repolicy check, again on the same index / check-added-large-files": med[
            "repolicy check, again on the same index"
        ]
        / med["check-added-large-files"],
        "repolicy check / plumbing floor": med["repolicy check"]
        / med["plumbing floor (diff + cat-file)"],
        "repolicy check, nothing staged / python -c pass": med["repolicy check, nothing staged"]
        / med["python -c pass"],
        "repolicy --version / python -c pass": med["repolicy --version"] / med["python -c pass"],
    }


def markdown(cases: Sequence[Case], rat: Mapping[str, float], env: Mapping[str, Any]) -> str:
    load = "/".join(f"{x:.1f}" for x in env["loadavg_before"])
    lines = [
        f"{env['files']} files, {env['commits']} commits, {env['staged']} staged; "
        f"{env['runs']} timed rounds after {env['warmup']} warm-up; Python {env['python']} "
        f"({env['site']}), git {env['git']}, {env['machine']}, {env['cpus']} CPUs, "
        f"load average {load} before",
        "",
        "| command | median ms | p90 ms | min ms | processes |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for c in cases:
        s = c.stats()
        procs = "" if c.processes is None else str(c.processes)
        lines.append(
            f"| {c.name} | {s['median'] * 1e3:.1f} | {s['p90'] * 1e3:.1f} "
            f"| {s['min'] * 1e3:.1f} | {procs} |"
        )
    lines += ["", "| ratio (of medians) | value | target |", "| --- | ---: | --- |"]
    for name, value in rat.items():
        target = TARGETS.get(name)
        met = target is not None and value <= target
        verdict = "" if target is None else f"<= {target:.1f}x: {'met' if met else 'MISSED'}"
        lines.append(f"| {name} | {value:.2f}x | {verdict} |")
    return "\n".join(lines)


def git_version() -> str:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().removeprefix("git version ")


def bytecode_env(env: dict[str, str], workdir: Path) -> None:
    """Let every Python command cache its bytecode, outside the source tree.

    With PYTHONDONTWRITEBYTECODE set and an editable install (no __pycache__
    under repolicy/), each run would compile repolicy from source, which no
    installed hook does. PYTHONPYCACHEPREFIX puts the .pyc files of every
    command (stdlib included) under WORKDIR/pycache; the warm-up rounds fill it.
    """
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        print("note: PYTHONDONTWRITEBYTECODE unset for the timed commands", file=sys.stderr)
    env["PYTHONPYCACHEPREFIX"] = str((workdir / "pycache").resolve())


def default_json_path(clean_site: bool = False) -> Path:
    machine = f"{platform.system()}-{platform.machine()}".lower()
    suffix = "-clean-site" if clean_site else ""
    return BENCH_DIR / "results" / f"py{platform.python_version()}-{machine}{suffix}.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time `repolicy check` against check-added-large-files and the git floor."
    )
    parser.add_argument("--files", type=int, default=Params.files, help="tracked files")
    parser.add_argument("--commits", type=int, default=Params.commits, help="commits of history")
    parser.add_argument("--staged", type=int, default=Params.staged, help="staged files (≥ 5)")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds")
    parser.add_argument(
        "--warmup", type=int, default=3, help="discarded rounds first (at least 1 is run)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=DEFAULT_WORKDIR, help="where repositories are cached"
    )
    parser.add_argument("--regenerate", action="store_true", help="ignore the cached repository")
    parser.add_argument(
        "--json",
        nargs="?",
        const="auto",
        metavar="OUT",
        help="write results as JSON (default OUT: "
        f"{default_json_path().relative_to(BENCH_DIR)}, -clean-site before .json with that)",
    )
    parser.add_argument("--no-strace", action="store_true", help="do not count processes")
    parser.add_argument(
        "--clean-site",
        action="store_true",
        help="run Python commands in a bare venv (packages on PYTHONPATH), so no .pth file "
        "of this environment's site-packages adds to every start-up",
    )
    parser.add_argument(
        "--bytecode-as-is",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE and the usual __pycache__ places "
        "(default: bytecode cached under WORKDIR/pycache, as an installed hook has it)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be ≥ 1 and --warmup ≥ 0")
    params = Params(args.files, args.commits, args.staged)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="repolicy-bench-home-") as home_dir:
        home = Path(home_dir)
        env = isolated_env(home)
        if not args.bytecode_as_is:
            bytecode_env(env, args.workdir)
        try:
            if args.regenerate:
                from make_repo import generate

                repo = generate(args.workdir, params, home)
            else:
                repo = ensure(args.workdir, params, home)
            how = "generated in" if repo.generated_in is not None else "reused"
            took = f" {repo.generated_in:.1f}s" if repo.generated_in is not None else ""
            print(f"repository: {repo.root} ({how}{took})", file=sys.stderr)
            interp = (
                clean_site(args.workdir, env)
                if args.clean_site
                else Interpreter(sys.executable, wrap_scripts=False)
            )
            cases = build_cases(repo, env, interp)
            found = verify(repo, env, cases)
            print("verified: repolicy reports the planted violations", file=sys.stderr)
            if not args.no_strace:
                for case in cases:
                    case.processes = count_processes(case, env)
            rounds = max(1, args.warmup) + args.runs
            print(f"timing: {rounds} rounds x {len(cases)} commands...", file=sys.stderr)
            measure(cases, env, args.runs, args.warmup)
        except BenchmarkError as exc:
            print(f"bench_check: aborted: {exc}", file=sys.stderr)
            return 3

    environment: dict[str, Any] = {
        **asdict(params),
        "runs": args.runs,
        "warmup": max(1, args.warmup),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "site": "clean site (bare venv)" if args.clean_site else "site as is",
        "bytecode": "as is" if args.bytecode_as_is else "cached (PYTHONPYCACHEPREFIX)",
        "git": git_version(),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    rat = ratios(cases)
    print(markdown(cases, rat, environment))
    peer = found["check-added-large-files"]
    print(f"\ncheck-added-large-files exit {peer['exit']}: {peer['output'] or '(no output)'}")
    if args.json is not None:
        out = default_json_path(args.clean_site) if args.json == "auto" else Path(args.json)
        result = {
            "environment": environment,
            "commands": {
                c.name: {
                    "argv": c.argv,
                    "exit": sorted(c.rcs),
                    "processes": c.processes,
                    **c.stats(),
                    "seconds": c.times,
                }
                for c in cases
            },
            "ratios": rat,
            "targets": TARGETS,
            "verified": found,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
