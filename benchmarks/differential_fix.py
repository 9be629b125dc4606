"""Run the random `fix` differential (tests/fix/test_plan_differential.py) at scale.

Each case is a fresh repository with a random policy, tree, user `.gitignore`
(root and nested, with negations and ignored parent directories) and
`.gitattributes`; `fix` plans and writes its blocks, then git judges every
path. The test suite runs a few dozen cases; this runs thousands:

    python benchmarks/differential_fix.py [--cases N] [--seed S]

Exit 1 when git disagrees with the policy anywhere.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fix.test_plan_differential import SEED, run_random_cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="repolicy-differential-") as tmp:
        outcome = run_random_cases(Path(tmp), args.seed, args.cases)
    elapsed = time.perf_counter() - start
    print(
        f"{args.cases} repositories (seed {args.seed}), {outcome.cases} path verdicts, "
        f"{outcome.constrained} constrained by the policy, {outcome.rescued} kept files "
        f"the user's lines hid; {len(outcome.differences)} differences from git; "
        f"{elapsed:.1f} s"
    )
    for line in outcome.differences[:20]:
        print("  " + line)
    return 1 if outcome.differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
