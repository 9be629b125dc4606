"""Whole `.gitignore` files of the corpus: `pathspec` and `repolicy.policy.match` against git.

For every `.gitignore` in the shared corpus, a real repository gets that file
as its root `.gitignore` and a tree of real files and directories: paths made
from the file's own patterns (hits and near misses, the helpers of
tests/policy/test_match_differential.py), a directory entry inside each matched
directory, and odd names (spaces, trailing spaces, backslashes, a directory
named `**`, names starting with `!` or `#`, multi-byte and non-UTF-8 names).
`git check-ignore --no-index --stdin -z` answers for every path, files and
directories alike (git tells them apart with lstat()); then

- `pathspec.GitIgnoreSpec.from_lines(...)` answers `match_file(path)`, a
  directory given with a trailing `/` as pathspec expects;
- `repolicy.policy.match` answers with git's reading of a whole file put on top of
  `compile_pattern`: the last matching line decides, `!` lines re-include, and
  a path inside an ignored directory stays ignored whatever comes later.

    python benchmarks/differential_pathspec.py [--seed S] [--rounds N] [--show N]

Prints the divergence counts per file and in total, and the first divergences
of each side. Exit 1 when repolicy's matcher disagrees with git anywhere
(pathspec's disagreements are what this measures, not a failure).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pathspec

from repolicy.fix.sources import lines_of
from repolicy.policy.match import Pattern, compile_pattern
from tests.conftest import CORPUS
from tests.policy.test_match_differential import (
    DIR_NAMES,
    ML_NAMES,
    NAMES,
    SEED,
    TRAPS,
    Entry,
    add_path,
    corpus_tree,
    generate_tree,
    materialize,
)

# Names git reads oddly, beside the generated ones: each as a file at the top,
# inside a directory, and as a directory holding a file.
# fmt: off
ODD_NAMES: tuple[bytes, ...] = (
    b"a b", b"a ", b"a  ", b" a", b"trailing space ", b"\\", b"a\\b", b"a\\", b"**",
    b"a**b", b"!a", b"!important.log", b"#a", b"#", b"a#", b"[a]", b"*", b"?", b"a.log ",
    b"logs ", "é".encode(), "日本.log".encode(), "café".encode(), b"caf\xe9", b"\xff",
)
# fmt: on


@dataclass
class Tally:
    cases: int = 0
    ignored: int = 0  # by git
    # None where pathspec refused the file: every path of it counts as a divergence.
    pathspec: list[tuple[str, bytes, bool, bool | None, bool]] = field(default_factory=list)
    ours: list[tuple[str, bytes, bool, bool, bool]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # files pathspec gave no answer for


def odd_entries() -> list[Entry]:
    out: list[Entry] = []
    for name in ODD_NAMES:
        out += [Entry(name, False), Entry(b"d/" + name, False), Entry(b"o/" + name + b"/x", False)]
    return out


def tree_for(rng: random.Random, lines: Sequence[str], rounds: int) -> list[Entry]:
    """The paths one ignore file is judged on; every parent directory is an entry too."""
    patterns = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        raw = os.fsencode(line.removeprefix("!"))
        patterns.append(raw)
    base = generate_tree(rng, NAMES + ML_NAMES, DIR_NAMES + ML_NAMES, root_width=2)
    tree = base
    for _ in range(rounds):  # each round instantiates every pattern afresh
        tree = corpus_tree(rng, patterns, tree)
    entries = {e.path: e for e in tree}
    for odd in odd_entries():
        add_path(entries, odd.path, odd.is_dir)
    entries.pop(b".gitignore", None)
    entries.pop(b".git", None)
    return sorted(entries.values(), key=lambda e: e.path)


def git_ignored(work_tree: Path, paths: Sequence[bytes]) -> set[bytes]:
    """The paths git ignores: without -v, check-ignore prints only those (a path whose
    last match is a `!` line is not printed)."""
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin", "-z"],
        cwd=work_tree,
        input=b"".join(p + b"\0" for p in paths),
        capture_output=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"git check-ignore failed: {proc.stderr.decode(errors='replace')}")
    return set(proc.stdout.split(b"\0")[:-1])


class WholeFile:
    """A root `.gitignore` as git reads it, built from repolicy's pattern compiler."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.rules: list[tuple[Pattern, bool]] = []
        for line in lines:
            negated = line.startswith("!")
            pattern = compile_pattern(line[1:] if negated else line)
            if pattern.body is not None:
                self.rules.append((pattern, negated))
        self._dirs: dict[bytes, bool] = {}

    def _last(self, path: bytes, is_dir: bool) -> bool:
        for pattern, negated in reversed(self.rules):
            if pattern.matches(path, is_dir):
                return not negated
        return False

    def _dir_ignored(self, directory: bytes) -> bool:
        known = self._dirs.get(directory)
        if known is None:
            parent, slash, _ = directory.rpartition(b"/")
            known = (bool(slash) and self._dir_ignored(parent)) or self._last(directory, True)
            self._dirs[directory] = known
        return known

    def ignores(self, path: bytes, is_dir: bool) -> bool:
        parent, slash, _ = path.rpartition(b"/")
        return (bool(slash) and self._dir_ignored(parent)) or self._last(path, is_dir)


def judge(
    name: str,
    data: bytes,
    rng: random.Random,
    rounds: int,
    root: Path,
    tally: Tally,
    timeout: float,
) -> None:
    judge_entries(name, data, tree_for(rng, lines_of(data), rounds), root, tally, timeout)


def text_of(entry: Entry) -> str:
    """A path as pathspec takes it: text, a directory with a trailing '/'."""
    return entry.path.decode("utf-8", "surrogateescape") + ("/" if entry.is_dir else "")


def _pathspec_child(lines: Sequence[str], texts: Sequence[str], out: Connection) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Python's note on '[[' in a regex
            spec = pathspec.GitIgnoreSpec.from_lines(lines)
        out.send([spec.match_file(text) for text in texts])
    except (ValueError, re.error) as exc:  # git reads every line; pathspec refuses some
        out.send(f"raised {type(exc).__name__}: {exc}")


def pathspec_answers(
    lines: Sequence[str], texts: Sequence[str], timeout: float
) -> list[bool] | str:
    """pathspec's verdicts, or why there are none: a line it raises on, or a regex
    that backtracks past `timeout` (run in a child process, which can be stopped)."""
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_pathspec_child, args=(lines, texts, send)
    )
    child.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return f"no answer within {timeout:g} s (the regex backtracks)"
        answer: list[bool] | str = receive.recv()
        return answer
    finally:
        child.kill()
        child.join()


def judge_entries(
    name: str, data: bytes, entries: Sequence[Entry], root: Path, tally: Tally, timeout: float
) -> None:
    lines = lines_of(data)
    work_tree = root / name
    subprocess.run(["git", "init", "-q", str(work_tree)], check=True)
    materialize(work_tree, entries)
    (work_tree / ".gitignore").write_bytes(data)
    theirs = git_ignored(work_tree, [e.path for e in entries])
    answers = pathspec_answers(lines, [text_of(e) for e in entries], timeout)
    if isinstance(answers, str):
        tally.refused.append(answers)
    ours = WholeFile(lines)
    for k, entry in enumerate(entries):
        git = entry.path in theirs
        by_pathspec = None if isinstance(answers, str) else answers[k]
        by_us = ours.ignores(entry.path, entry.is_dir)
        tally.cases += 1
        tally.ignored += git
        if by_pathspec != git:
            tally.pathspec.append((name, entry.path, entry.is_dir, by_pathspec, git))
        if by_us != git:
            tally.ours.append((name, entry.path, entry.is_dir, by_us, git))


def judge_traps(root: Path, tally: Tally, timeout: float) -> None:
    """The named traps of gitignore syntax (tests/policy/test_match_differential.py), each
    pattern alone in a `.gitignore`, on its hand-picked paths."""
    for k, (_, pattern, paths) in enumerate(TRAPS):
        entries: dict[bytes, Entry] = {}
        for text in paths:
            add_path(entries, os.fsencode(text.rstrip("/")), text.endswith("/"))
        one = Tally()
        data = os.fsencode(pattern) + b"\n"
        judge_entries(
            f"trap{k}", data, sorted(entries.values(), key=lambda e: e.path), root, one, timeout
        )
        tally.cases += one.cases
        tally.ignored += one.ignored
        tally.pathspec += [(repr(pattern), *d[1:]) for d in one.pathspec]
        tally.ours += [(repr(pattern), *d[1:]) for d in one.ours]
        tally.refused += [f"{pattern!r}: {r}" for r in one.refused]


def summarize(tally: Tally, show: int) -> None:
    files = len({d[0] for d in tally.pathspec})
    print(
        f"pathspec {pathspec.__version__} GitIgnoreSpec: {len(tally.pathspec)} of "
        f"{tally.cases} disagree with git (in {files} files or patterns)"
    )
    if tally.refused:
        print(
            f"  of which unanswered (pathspec raised on a line git reads, or hung): "
            f"{len(tally.refused)} files"
        )
        for refusal in tally.refused[:show]:
            print(f"  pathspec: {refusal}")
    print(f"repolicy.policy.match: {len(tally.ours)} of {tally.cases} disagree with git")
    for label, diffs in (("pathspec", tally.pathspec), ("repolicy", tally.ours)):
        for file_name, path, is_dir, said, git in diffs[:show]:
            kind = "dir " if is_dir else "file"
            shown = repr(path) if len(path) <= 60 else f"{path[:40]!r}...({len(path)} bytes)"
            print(f"  {label}: {file_name} {kind} {shown}: says {said}, git {git}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rounds", type=int, default=4, help="paths made from each pattern")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds pathspec gets per file"
    )
    parser.add_argument("--show", type=int, default=10, help="divergences listed per side")
    args = parser.parse_args(argv)
    files = sorted(CORPUS.glob("*.gitignore"))
    if not files:
        print(f"no .gitignore files in {CORPUS}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    total = Tally()
    print(f"{'file':<60} {'paths':>6} {'pathspec':>9} {'repolicy':>9}")
    with tempfile.TemporaryDirectory(prefix="differential-pathspec-") as tmp:
        for k, file in enumerate(files):
            tally = Tally()
            judge(f"f{k}", file.read_bytes(), rng, args.rounds, Path(tmp), tally, args.timeout)
            print(
                f"{file.name[:60]:<60} {tally.cases:>6} {len(tally.pathspec):>9} "
                f"{len(tally.ours):>9}"
            )
            total.cases += tally.cases
            total.ignored += tally.ignored
            total.pathspec += [(file.name, *d[1:]) for d in tally.pathspec]
            total.ours += [(file.name, *d[1:]) for d in tally.ours]
            total.refused += [f"{file.name}: {r}" for r in tally.refused]
        print(
            f"\n{len(files)} .gitignore files, {total.cases} paths "
            f"({total.ignored} ignored by git, {total.cases - total.ignored} not)"
        )
        summarize(total, args.show)
        traps = Tally()
        judge_traps(Path(tmp), traps, args.timeout)
        print(f"\n{len(TRAPS)} named traps, one line each, {traps.cases} paths")
        summarize(traps, args.show)
    return 1 if total.ours or traps.ours else 0


if __name__ == "__main__":
    sys.exit(main())
