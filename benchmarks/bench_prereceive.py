"""Time `repolicy check --pre-receive` on a 2,000-commit push of the history workload.

Forges kill slow pre-receive hooks (GitHub Enterprise Server after 5 s), so
the hook must finish well inside that. A bare server is given the history
up to `main~2000` once; then, each round, `main` is pushed to it over
file:// with the hook installed: the hook times itself (around the
repolicy process only) and rejects the push, so every round starts from
the same server. In the same run, the floor: `git rev-list --objects
<new> --not --all | git cat-file --batch-check` inside the same quarantine.

    python benchmarks/bench_prereceive.py [--range 2000 --runs 5 --workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_history import DEFAULT_WORKDIR, HistoryParams, ensure
from make_repo import git, isolated_env

HOOK = """\
#!/bin/sh
# Time repolicy, then the floor, inside git's quarantine; always reject.
lines=$(cat)
start=$(date +%s%N)
printf '%s\\n' "$lines" | {python} -m repolicy check --pre-receive -q > /dev/null
code=$?
middle=$(date +%s%N)
new=$(printf '%s\\n' "$lines" | cut -d' ' -f2)
git rev-list --objects $new --not --all | git cat-file --batch-check > /dev/null
end=$(date +%s%N)
echo "$((middle - start)) $((end - middle)) $code" >> {log}
exit 1
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--range", type=int, default=2000, help="commits the push brings")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--variant", default="plain", choices=("plain", "lfs"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="repolicy-bench-home-") as home_dir:
        home = Path(home_dir)
        history = ensure(args.workdir, HistoryParams(), home)
        env = isolated_env(home)
        work = history.variants[args.variant].root
        server = history.base / f"prereceive-{args.variant}-{args.range}.git"
        base = f"main~{args.range}"
        if not (server / "HEAD").exists():
            git(history.base, env, "init", "-q", "--bare", str(server))
            git(work, env, "push", "-q", "--no-verify", str(server), f"{base}:refs/heads/main")
        git(
            server,
            env,
            "update-ref",
            "refs/heads/main",
            git(work, env, "rev-parse", base).strip().decode(),
        )
        log = server / "prereceive-times.txt"
        log.unlink(missing_ok=True)
        hook = server / "hooks" / "pre-receive"
        hook.write_text(HOOK.format(python=shlex.quote(sys.executable), log=shlex.quote(str(log))))
        hook.chmod(0o755)
        for _ in range(args.runs + 1):  # the first round warms the caches
            subprocess.run(
                ["git", "push", "--no-verify", f"file://{server}", "main:refs/heads/main"],
                cwd=work, env=env, capture_output=True, check=False,
            )  # fmt: skip
        rows = [line.split() for line in log.read_text().splitlines()][1:]
        hook.unlink()

    ours = [int(r[0]) / 1e9 for r in rows]
    floor = [int(r[1]) / 1e9 for r in rows]
    codes = {r[2] for r in rows}
    med, fmed = statistics.median(ours), statistics.median(floor)
    print(
        f"{args.range}-commit push of the history workload ({args.variant}), {len(rows)} rounds, "
        f"Python {platform.python_version()}; repolicy exit codes {sorted(codes)}\n"
    )
    print("| command | median s | max s |\n| --- | ---: | ---: |")
    print(f"| repolicy check --pre-receive | {med:.3f} | {max(ours):.3f} |")
    print(f"| floor rev-list --not --all \\| cat-file | {fmed:.3f} | {max(floor):.3f} |")
    verdict = "met" if max(ours) < 5 else "MISSED"
    print(f"\nslowest round {max(ours):.2f} s against the 5 s limit: {verdict}")
    out = args.json or (
        Path(__file__).resolve().parent
        / "results"
        / f"prereceive-py{platform.python_version()}-{sys.platform}-{platform.machine()}.json"
    )
    out.write_text(
        json.dumps(
            {"range": args.range, "variant": args.variant, "repolicy": ours, "floor": floor},
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
