"""Regexes built from remembered programs behave exactly as freshly compiled ones."""

from __future__ import annotations

import json
import marshal
import os
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from repolicy.policy import programs
from repolicy.policy.match import Matcher, compile_pattern

from ..conftest import Repo

PATTERNS = [
    "*.log",
    "outputs/*/checkpoints/epoch_*.pth",
    "wandb/",
    "**/tensorboard/**",
    "data/[a-c]?/*.csv",
    "[[:digit:]]*.tmp",
    "a\\*b",
    "logs",
    "/abs/**/x",
    "caf\u00e9/*.png",
]
SUBJECTS = [
    b"train.log",
    b"outputs/run1/checkpoints/epoch_3.pth",
    b"outputs/run1/checkpoints/best.pth",
    b"wandb",
    b"x/tensorboard/events",
    b"data/b7/part.csv",
    b"data/d7/part.csv",
    b"7.tmp",
    b"a*b",
    b"ab",
    b"logs",
    b"abs/q/r/x",
    "caf\u00e9/cat.png".encode(),
    b"new\nline.log",
    b"\xff\xfe.log",
]


def screens() -> list[tuple[bytes, int]]:
    return Matcher([compile_pattern(p) for p in PATTERNS]).sources()


def test_a_regex_built_from_its_program_is_the_regex_re_compiles() -> None:
    sources = screens()
    assert len(sources) == 2  # basename and whole-path screens
    made = [programs.compile(s, f) for s, f in sources]  # compiled, programs remembered
    remembered = programs.known(sources)
    assert [(s, f) for s, f, _ in remembered] == sources
    marshal.loads(marshal.dumps(remembered))  # the cache can hold them
    for (source, flags), first in zip(sources, made, strict=True):
        again = programs.compile(source, flags)  # now from the program
        fresh = re.compile(source, flags)
        for regex in (first, again):
            assert (regex.pattern, regex.flags, regex.groups, regex.groupindex) == (
                fresh.pattern,
                fresh.flags,
                fresh.groups,
                fresh.groupindex,
            )
            for subject in SUBJECTS:
                for probe in ("fullmatch", "match", "search"):
                    got = getattr(regex, probe)(subject)
                    want = getattr(fresh, probe)(subject)
                    assert (got and got.span()) == (want and want.span()), (probe, subject)


def test_a_program_the_engine_refuses_is_compiled_again() -> None:
    source, flags = screens()[0]
    programs.remember([(source, flags, (flags, [999, 999], 0, {}, (None,)))])
    regex = programs.compile(source, flags)
    assert regex.fullmatch(b"train.log") and not regex.fullmatch(b"train.pth")


def matcher_counting_compiles(repo: Repo) -> tuple[int, str]:
    """`repolicy check` run once more, counting the regexes parsed (every
    compilation parses its pattern; a regex built from a program does not)."""
    script = (
        "import re._parser as p, sys, os, json\n"
        "n = [0]; real = p.parse\n"
        "def counted(*a, **k):\n    n[0] += 1; return real(*a, **k)\n"
        "p.parse = counted\n"
        "from repolicy.cli import main\n"
        "code = main(['check'])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(json.dumps(n[0]))\n"
        "os._exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=repo.path, capture_output=True, text=True, check=False
    )
    return json.loads(proc.stderr.strip().splitlines()[-1]), proc.stdout


@pytest.fixture
def staged(repo: Repo) -> Repo:
    policy = repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n")
    past = time.time() - 60  # the policy cache skips files written just now
    os.utime(policy, (past, past))
    repo.write("outputs/r1/checkpoints/epoch_3.pth", "x")
    repo.write("train.log", "loss\n")
    repo.add("outputs", "train.log")
    return repo


def test_a_warm_hook_run_compiles_no_pattern(staged: Repo) -> None:
    cold, expected = matcher_counting_compiles(staged)
    assert cold > 0 and "epoch_3.pth" in expected and "train.log" in expected
    warm, out = matcher_counting_compiles(staged)
    assert warm == 0
    assert out == expected


def rewrite_cache(repo: Repo, change: object) -> None:
    path = Path(repo.path) / ".git" / "repolicy" / "policy.cache"
    data = path.read_bytes()
    entry = marshal.loads(data[4:])
    change(entry)  # type: ignore[operator]
    body = marshal.dumps(entry)
    path.write_bytes(zlib.crc32(body).to_bytes(4, "little") + body)


def test_programs_of_another_engine_or_refused_ones_change_no_verdict(staged: Repo) -> None:
    _, expected = matcher_counting_compiles(staged)

    def foreign(entry: dict[str, object]) -> None:
        entry["engine"] = ("cpython", (2, 7), 0, 0)

    rewrite_cache(staged, foreign)
    compiled, out = matcher_counting_compiles(staged)
    assert compiled > 0 and out == expected

    def refused(entry: dict[str, object]) -> None:
        held = entry["programs"]
        assert isinstance(held, list) and held
        entry["programs"] = [(s, f, (f, [999], 0, {}, (None,))) for s, f, _ in held]

    rewrite_cache(staged, refused)
    compiled, out = matcher_counting_compiles(staged)
    assert compiled > 0 and out == expected
