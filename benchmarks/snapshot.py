"""Record what repolicy reports on the benchmark repositories, one file per command.

Two snapshots of the same repositories, taken with two source trees, are
compared with `diff -r`: a change that must not alter any report (a move, a
speed-up) shows no difference. The repolicy that runs is the one on
`PYTHONPATH` (run as `python -m repolicy`), so any checkout can be measured:

    PYTHONPATH=/path/to/tree python benchmarks/snapshot.py OUT_DIR
    diff -r BEFORE_DIR OUT_DIR

The repositories are small versions of the ones `make_repo.py` and
`make_history.py` build (a whole snapshot takes a few minutes), generated once
under `--workdir` (default `/tmp/rp-bench`) and copied afresh for every
snapshot to the same place (`WORKDIR/run/`), so that no cache one tree writes
into `.git/` is read by the other, and every path in a report is the same in
both runs. Git runs with no system or user configuration and a fixed `HOME`.

Each command gives `OUT_DIR/<repository>/<command>.txt`: the argv, the exit
code, stdout and stderr. Nothing in them depends on the run (two snapshots of
one tree are byte-identical); the output of a run is normalised only for the
copy's location, replaced by `<run>`, should a report print it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_history
import make_repo
from make_repo import git, isolated_env

DEFAULT_WORKDIR = Path("/tmp/rp-bench")
# Small shapes: the same content rules as the benchmarks, a few seconds to build.
REPO = make_repo.Params(files=2_000, commits=300, staged=50)
HISTORY = make_history.HistoryParams(files=3_000, commits=400, unpushed=20)

FORMATS = ("text", "json", "sarif", "github")

# explain: a planted violation, ordinary files, a path only history holds (in
# the history repositories, the 120 MB checkpoint deleted again), and one that
# does not exist at all.
REPO_EXPLAIN = (
    make_repo.BIG_FILE,
    f"{make_repo.NEW_RUN}/train.log",
    f"{make_repo.NEW_RUN}/checkpoints/last.pth",
    ".gitattributes",
    "no/such/file.bin",
)
HISTORY_EXPLAIN = (
    make_history.BIG_FILE,
    make_history.EPOCH_FILE,
    make_history.LOG_FILE,
    ".repolicy.yaml",
    "no/such/file.bin",
)

PRE_RECEIVE_HOOK = """\
#!/bin/sh
# Run repolicy as the server's pre-receive hook, keep what it said, reject the push.
cat > {out}/stdin
{python} -m repolicy check --pre-receive {flags} < {out}/stdin > {out}/stdout 2> {out}/stderr
echo $? > {out}/rc
exit 1
"""


@dataclass
class Recorder:
    out: Path
    env: Mapping[str, str]
    run_dir: Path

    def normalise(self, data: bytes) -> bytes:
        return data.replace(str(self.run_dir).encode(), b"<run>")

    def write(self, name: str, argv: Sequence[str], rc: int, stdout: bytes, stderr: bytes) -> None:
        path = self.out / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        shown = " ".join(shlex.quote(a) for a in argv)
        head = f"$ {shown}\nexit {rc}\n--- stdout\n".encode()
        body = self.normalise(stdout) + b"\n--- stderr\n" + self.normalise(stderr)
        path.write_bytes(self.normalise(head) + body)

    def repolicy(
        self, name: str, cwd: Path, *args: str, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        argv = [sys.executable, "-m", "repolicy", *args]
        proc = subprocess.run(argv, cwd=cwd, env=self.env, input=stdin, capture_output=True)
        self.write(name, ["repolicy", *args], proc.returncode, proc.stdout, proc.stderr)
        return proc


def fresh_copy(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # --sparse=always keeps the 120 MB checkpoint of zeros a hole, not 120 MB of disk.
    subprocess.run(["cp", "-a", "--sparse=always", str(source), str(target)], check=True)


def snapshot_repo(rec: Recorder, workdir: Path, env: dict[str, str]) -> None:
    generated = make_repo.ensure(workdir / "cache", REPO, Path(env["HOME"]))
    base = rec.run_dir / "repo"
    fresh_copy(generated.root.parent, base)
    root, clean = base / "repo", base / "clean"
    git(root, env, "worktree", "repair", str(clean))
    for fmt in FORMATS:
        rec.repolicy(f"repo/check-staged-{fmt}", root, "--format", fmt, "check")
    rec.repolicy("repo/check-staged-narrowed", root, "check", "--", *REPO_EXPLAIN[:3])
    rec.repolicy("repo/check-clean", clean, "check")
    for fmt in FORMATS:
        rec.repolicy(f"repo/audit-{fmt}", root, "--format", fmt, "audit")
    rec.repolicy("repo/audit-include-allowed-json", root, "--format", "json", "audit",
                 "--include-allowed")  # fmt: skip
    for fmt in ("text", "json"):
        rec.repolicy(f"repo/explain-{fmt}", root, "--format", fmt, "explain", "--", *REPO_EXPLAIN)
        rec.repolicy(f"repo/fix-diff-{fmt}", root, "--format", fmt, "fix", "--diff")
    rec.repolicy("repo/fix-check", root, "fix", "--check")


def snapshot_history(rec: Recorder, workdir: Path, env: dict[str, str]) -> None:
    generated = make_history.ensure(workdir / "cache", HISTORY, Path(env["HOME"]))
    for name, variant in generated.variants.items():
        base = rec.run_dir / "history" / name
        fresh_copy(variant.root.parent, base)
        root, remote = base / "repo", base / "remote.git"
        git(root, env, "remote", "set-url", "origin", str(remote))
        tag = f"history-{name}"
        for fmt in FORMATS:
            rec.repolicy(f"{tag}/audit-{fmt}", root, "--format", fmt, "audit")
        rec.repolicy(f"{tag}/audit-quiet", root, "-q", "audit")

        local = git(root, env, "rev-parse", "main").decode().strip()
        pushed = git(root, env, "rev-parse", "origin/main").decode().strip()
        line = f"refs/heads/main {local} refs/heads/main {pushed}\n".encode()
        for fmt in FORMATS:
            rec.repolicy(
                f"{tag}/check-push-{fmt}", root, "--format", fmt, "check", "--push", "origin",
                str(remote), stdin=line,
            )  # fmt: skip
        new_branch = f"refs/heads/topic {local} refs/heads/topic {'0' * 40}\n".encode()
        rec.repolicy(f"{tag}/check-push-new-branch", root, "--format", "json", "check",
                     "--push", "origin", str(remote), stdin=new_branch)  # fmt: skip
        for fmt in ("text", "json"):
            rec.repolicy(f"{tag}/check-range-{fmt}", root, "--format", fmt, "check",
                         "--range", "origin/main..main")  # fmt: skip
        rec.repolicy(f"{tag}/check-base", root, "check", "--base", "origin/main")
        for fmt in ("text", "json"):
            rec.repolicy(f"{tag}/explain-{fmt}", root, "--format", fmt, "explain", "--",
                         *HISTORY_EXPLAIN)  # fmt: skip
        rec.repolicy(f"{tag}/fix-diff", root, "fix", "--diff")

        # The server side: a real push into a bare copy of the remote, whose
        # pre-receive hook runs repolicy and keeps its output, then rejects.
        for fmt in ("text", "json"):
            server = base / f"server-{fmt}.git"
            shutil.copytree(remote, server, symlinks=True)
            # Loose objects in the quarantine: a kept pack comes with a .keep file
            # naming receive-pack's pid, whose length shows in the size bound.
            git(server, env, "config", "receive.unpackLimit", "1000000")
            hook_out = base / f"hook-{fmt}"
            hook_out.mkdir()
            hook = server / "hooks" / "pre-receive"
            hook.write_text(
                PRE_RECEIVE_HOOK.format(
                    out=shlex.quote(str(hook_out)),
                    python=shlex.quote(sys.executable),
                    flags=f"--format {fmt}",
                )
            )
            hook.chmod(0o755)
            # One delta-search thread: with more, the pack pushed (and so the
            # disk sizes the budget reports) differs from run to run.
            push = subprocess.run(
                ["git", "-c", "pack.threads=1", "push", "--no-verify", f"file://{server}",
                 "main:refs/heads/main"],
                cwd=root, env=env, capture_output=True,
            )  # fmt: skip
            if push.returncode == 0:
                raise SystemExit(f"the pre-receive hook in {server} did not reject the push")
            rc = int((hook_out / "rc").read_text())
            rec.write(
                f"{tag}/check-pre-receive-{fmt}",
                ["repolicy", "--format", fmt, "check", "--pre-receive",
                 "<", (hook_out / "stdin").read_text().strip()],
                rc, (hook_out / "stdout").read_bytes(), (hook_out / "stderr").read_bytes(),
            )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("out", type=Path, help="directory for the snapshot (emptied first)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    if "PYTHONPATH" not in os.environ:
        parser.error("set PYTHONPATH to the repolicy source tree to snapshot")
    workdir: Path = args.workdir.resolve()
    env = isolated_env(workdir / "home")
    # The tree under test, not whatever is installed; no colour, no terminal.
    env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env["NO_COLOR"] = "1"
    env.pop("GITHUB_ACTIONS", None)
    out: Path = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    run_dir = workdir / "run"
    rec = Recorder(out, env, run_dir)
    snapshot_repo(rec, workdir, env)
    snapshot_history(rec, workdir, env)
    shutil.rmtree(run_dir)
    print(f"{sum(1 for _ in out.rglob('*.txt'))} outputs in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
