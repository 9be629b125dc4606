"""Differential test: after `repolicy fix`, git agrees with the policy, path by path.

A seeded generator makes random policies (the seed's patterns plus `**`,
`?`, classes, anchoring, directory-only patterns, spaces and unicode), random
trees, and random pre-existing user `.gitignore`/`.gitattributes` content,
including nested ignore files and lines that fight the policy. `fix` runs
(in-process, writing the real files), then git itself judges every path of
the tree and every example path of the policy:

- a path the policy excludes is ignored, one it includes is not, one it
  stores in LFS gets `filter=lfs` — unless `fix` reported a conflict for it,
  and then git must really disagree, because of exactly the line named;
- a path the policy says nothing about keeps the verdict the user's own
  lines gave it before `fix` ran;
- running `fix` again changes nothing.

The corpus variant runs the same on the real-world ignore files in
../shared/corpus/ (read in place) under the ml-checkpoints and datasets-lfs
presets, and checks `explain`'s attribute sources against `git check-attr`.
"""

from __future__ import annotations

import json
import os
import posixpath
import random
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from repolicy import managed, rulegen
from repolicy.fixer import Plan, make_plan
from repolicy.git import IgnoreSource, _parse_check_attr, _parse_check_ignore
from repolicy.ignorefiles import attribute_sources, lines_of, parse_attribute_line
from repolicy.match import compile_pattern
from repolicy.policy import load_policy

from .conftest import CORPUS

SEED = 7031
ROUNDS = 60

EXCLUDES = [
    "outputs/", "outputs/*/checkpoints/epoch_*.pth", "logs/", "*.log", "wandb/", "runs",
    "data/**/raw/", "*.pt?", "ckpt_[0-9].pt", "/build/", "docs/*.md", "my dir/", "résumé/",
    "**/tmp/", "cache", "a/**/b", "*.[ot]mp", "events.out.tfevents.*", "checkpoint-*/",
]  # fmt: skip
INCLUDES = [
    "outputs/*/checkpoints/best.pth", "logs/keep.txt", "**/important.log", "best.pth",
    "runs/*/final/", "wandb/settings", "outputs/**/last.pth", "/data/a/raw/README.md",
    "my dir/keep me.txt",
]  # fmt: skip
LFS = ["*.pth", "*.bin", "data/images/", "*.png", "my file.dat", "/weights/*.pt?", "résumé/*"]
DVC = ["data/images/", "/data/raw/"]
USER_IGNORE = [
    "*.pth", "outputs/", "!outputs/*/checkpoints/best.pth", "logs", "*.log", "# notes", "",
    "build/", "!keep.txt", "data/", "__pycache__/", "*.tmp", "!important.log", "runs/*/",
    "/weights/", "tmp", "wandb/**",
]  # fmt: skip
USER_NESTED = ["*", "*.tmp", "!best.pth", "final/", "!*.log", "keep.txt"]
USER_ATTRIBUTES = [
    "*.png binary", "*.dat filter=lfs diff=lfs merge=lfs -text", "*.bin -filter", "* text=auto",
    "*.pth filter=lfs diff=lfs merge=lfs -text", "data/** -text",
]  # fmt: skip
DIRS = [
    "outputs", "r1", "checkpoints", "logs", "runs", "wandb", "data", "images", "raw", "a", "b",
    "my dir", "résumé", "tmp", "cache", "final", "weights", "x.log", "build", "docs",
]  # fmt: skip
LEAVES = [
    "best.pth", "last.pth", "epoch_3.pth", "x.log", "important.log", "keep.txt", "settings",
    "img.png", "w.bin", "my file.dat", "ckpt_1.pt", "notes.md", "README.md", "a.tmp", "m.ptx",
    "keep me.txt", "events.out.tfevents.1", "model.pt1",
]  # fmt: skip


def git(root: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=root, input=input, capture_output=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.stdout


def ignore_verdicts(root: Path, paths: Iterable[str]) -> dict[str, IgnoreSource]:
    data = b"\0".join(os.fsencode(p) for p in paths) + b"\0"
    out = git(root, "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin", input=data)
    return _parse_check_ignore(out)


def filters(root: Path, paths: Iterable[str]) -> dict[str, str | None]:
    wanted = list(paths)
    data = b"\0".join(os.fsencode(p) for p in wanted) + b"\0"
    found = _parse_check_attr(git(root, "check-attr", "-z", "--stdin", "filter", input=data))
    return {p: found.get(p, {}).get("filter") for p in wanted}


def write_tree(root: Path, paths: Iterable[str]) -> None:
    for rel in paths:
        target = root / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(b"")
        except OSError:
            continue  # a file where the path needs a directory, or the reverse


def _blocked(root: Path, rel: str) -> bool:
    parts = rel.split("/")
    return any((root / "/".join(parts[:k])).is_file() for k in range(1, len(parts)))


def read_nested(root: Path):  # type: ignore[no-untyped-def]
    def read(rel: str) -> bytes | None:
        path = root / rel
        return path.read_bytes() if path.is_file() else None

    return read


def policy_yaml(rng: random.Random) -> str:
    def items(pool: list[str], most: int) -> list[str]:
        return rng.sample(pool, rng.randint(0, most))

    lines = []
    for key, pool, most in (
        ("exclude", EXCLUDES, 4),
        ("include", INCLUDES, 3),
        ("lfs", LFS, 3),
        ("dvc", DVC, 1),
    ):
        chosen = items(pool, most)
        if chosen:
            lines.append(f"{key}:")
            lines += [f"  - {p!r}".replace("'", '"') for p in chosen]
    return "\n".join(lines) + "\n" if lines else "exclude: []\n"


def random_paths(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        depth = rng.randint(0, 3)
        out.append("/".join([*rng.choices(DIRS, k=depth), rng.choice(LEAVES)]))
    return out


def tree_files(root: Path) -> list[str]:
    out = git(root, "ls-files", "-z", "--others", "--cached")
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


class Outcome:
    def __init__(self) -> None:
        self.cases = 0
        self.constrained = 0
        self.conflicts = 0
        self.differences: list[str] = []


def judge(root: Path, policy_file: str | None, outcome: Outcome) -> None:
    """Run fix on the repository at `root` and hold git's verdicts to the policy."""
    policy = load_policy(str(root), policy_file)
    files = [f for f in tree_files(root)]
    before_ignore = ignore_verdicts(root, files)
    before_filter = filters(root, files)
    plan: Plan = make_plan(str(root), policy, files, read_nested(root))
    for file, data in plan.new_contents():
        managed.write(file, data)
    # An example path may name what is a directory (or lies below a file) in
    # this tree; git would judge that directory, not the file the policy means.
    paths = [
        p
        for p in [*plan.needs, *(p for p in files if p not in plan.needs)]
        if (root / p).is_file() or (not os.path.lexists(root / p) and not _blocked(root, p))
    ]
    after_ignore = ignore_verdicts(root, paths)
    after_filter = filters(root, paths)
    in_conflict: dict[str, tuple[str, int | None]] = {}
    for c in plan.conflicts:
        for p in c.paths:
            in_conflict[p] = (c.file, c.line)
    outcome.conflicts += len(plan.conflicts)
    for c in plan.conflicts:
        outcome.differences.append(f"{root.name}: conflict {c.file}:{c.line}: {c.message}")

    def ignored(verdicts: dict[str, IgnoreSource], path: str) -> bool:
        source = verdicts.get(path)
        return source is not None and source.ignores

    for path in paths:
        outcome.cases += 1
        need = plan.needs.get(path)
        got = ignored(after_ignore, path)
        if need is None:
            if got != ignored(before_ignore, path):
                outcome.differences.append(f"{root.name}: {path!r} changed without a rule")
            if after_filter[path] != before_filter.get(path):
                outcome.differences.append(f"{root.name}: {path!r} filter changed")
            continue
        outcome.constrained += 1
        wrong = []
        if need.keep and got:
            wrong.append("ignored, but included")
        elif need.ignore and not need.keep and not got:
            wrong.append("not ignored, but excluded")
        if need.lfs and after_filter[path] != "lfs":
            wrong.append("no filter=lfs, but lfs")
        if not wrong and path in in_conflict:
            outcome.differences.append(f"{root.name}: {path!r} reported in a false conflict")
        for problem in wrong:
            if path not in in_conflict:
                outcome.differences.append(f"{root.name}: {path!r} {problem}, no conflict")
                continue
            file, line = in_conflict[path]
            source = after_ignore.get(path)
            if "filter" not in problem and (
                source is None or (source.file, source.line) != (file, line)
            ):
                outcome.differences.append(
                    f"{root.name}: {path!r} conflict names {file}:{line}, git says {source}"
                )
    again = make_plan(str(root), policy, tree_files(root), read_nested(root))
    if again.new_contents():
        outcome.differences.append(f"{root.name}: a second fix would change the files")


def test_fix_makes_git_agree_with_random_policies(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    outcome = Outcome()
    for k in range(ROUNDS):
        root = tmp_path / f"r{k}"
        root.mkdir()
        git(root, "init", "-q")
        (root / ".repolicy.yaml").write_text(policy_yaml(rng))
        write_tree(root, random_paths(rng, 40))
        if rng.random() < 0.8:
            user = rng.sample(USER_IGNORE, rng.randint(1, 5))
            (root / ".gitignore").write_text("\n".join(user) + "\n")
        if rng.random() < 0.3:
            nested = root / rng.choice(["outputs", "logs", "data", "runs/r1"])
            nested.mkdir(parents=True, exist_ok=True)
            (nested / ".gitignore").write_text(rng.choice(USER_NESTED) + "\n")
        if rng.random() < 0.5:
            attrs = rng.sample(USER_ATTRIBUTES, rng.randint(1, 3))
            (root / ".gitattributes").write_text("\n".join(attrs) + "\n")
        judge(root, None, outcome)
    assert outcome.differences[:20] == []
    assert outcome.cases > 3000
    assert outcome.constrained > 1000
    assert outcome.conflicts >= 5  # the generator does produce fights with user lines


CORPUS_FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []
CORPUS_POLICY = "extends: [ml-checkpoints, datasets-lfs]\ndvc: [data/raw/]\n"
ML_TREE = [
    "outputs/run1/checkpoints/best.pth", "outputs/run1/checkpoints/last.pth",
    "outputs/run1/checkpoints/epoch_3.pth", "outputs/run1/logs/train.log", "train.log",
    "runs/exp1/events.out.tfevents.1", "wandb/run-1/files/config.yaml", "model.ckpt",
    "datasets/cats/v1/images/1.jpg", "datasets/cats/v1/labels.json", "data/raw/a.csv",
    "src/model.py", "__pycache__/m.pyc", "notebooks/.ipynb_checkpoints/a.ipynb", ".env",
    "lightning_logs/version_0/hparams.yaml", "weights/model.safetensors", "build/lib/x.so",
]  # fmt: skip


def corpus_repo(tmp_path: Path, source: Path) -> tuple[Path, str, bytes]:
    """A repository under the corpus policy whose root ignore or attribute file is
    the corpus file, byte for byte: (its root, the file's name, its bytes)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".repolicy.yaml").write_text(CORPUS_POLICY)
    data = source.read_bytes()
    name = ".gitattributes" if source.name.endswith("gitattributes") else ".gitignore"
    (root / name).write_bytes(data)
    return root, name, data


def corpus_paths(lines: list[str]) -> list[str]:
    """Paths the corpus file's own patterns are about, so its rules get exercised."""
    out = []
    for text in lines:
        text = text.strip()
        if text.startswith("#") or not text:
            continue
        pattern_text = text.split()[0] if " " in text and "\\ " not in text else text
        pattern = compile_pattern(pattern_text.lstrip("!"))
        if pattern.body is None:
            continue
        out += rulegen.examples(pattern)[:2]
    return [
        p
        for p in out
        if "\n" not in p and "\r" not in p and len(p) < 200 and posixpath.normpath(p) == p
    ][:150]


@pytest.mark.parametrize("source", CORPUS_FILES, ids=lambda p: p.name)
def test_fix_makes_git_agree_with_real_ignore_files(tmp_path: Path, source: Path) -> None:
    root, name, data = corpus_repo(tmp_path, source)
    write_tree(root, [*ML_TREE, *corpus_paths(lines_of(data))])
    outcome = Outcome()
    judge(root, None, outcome)
    assert outcome.differences[:20] == []
    assert outcome.constrained > 20
    # Lines outside the block are the user's, byte for byte.
    after = (root / name).read_bytes()
    assert after.startswith(data.rstrip(b"\n")) or after == data


@pytest.mark.parametrize(
    "source", [p for p in CORPUS_FILES if p.name.endswith("gitattributes")], ids=lambda p: p.name
)
def test_attribute_sources_agree_with_check_attr(tmp_path: Path, source: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    data = source.read_bytes()
    (root / ".gitattributes").write_bytes(data)
    paths = list(dict.fromkeys([*ML_TREE, *corpus_paths(lines_of(data))]))
    # Every attribute the file mentions, plus the ones explain shows.
    names = ["filter", "diff", "merge", "text"]
    for text in lines_of(data):
        parsed = parse_attribute_line(text)
        for state in parsed[1] if parsed else []:
            name = state.lstrip("-!").partition("=")[0]
            if name and name not in names:
                names.append(name)
    raw = b"\0".join(os.fsencode(p) for p in paths) + b"\0"
    found = _parse_check_attr(git(root, "check-attr", "-z", "--stdin", *names, input=raw))
    checked = 0
    for path in paths:
        ours = attribute_sources([(".gitattributes", data)], path, names)
        for attr in names:
            expected = found.get(path, {}).get(attr)
            source_line = ours.get(attr)
            value = source_line.value if source_line else None
            assert (value if value != "unspecified" else None) == expected, (path, attr)
            checked += expected is not None
    assert checked > 0


@pytest.mark.parametrize("source", CORPUS_FILES, ids=lambda p: p.name)
def test_explain_agrees_with_git_on_real_ignore_files(
    tmp_path: Path,
    source: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from repolicy.cli import main

    root, name, data = corpus_repo(tmp_path, source)
    paths = [p for p in dict.fromkeys([*ML_TREE, *corpus_paths(lines_of(data))])][:60]
    write_tree(root, paths)
    paths = [p for p in paths if (root / p).is_file()]
    monkeypatch.chdir(root)
    capsys.readouterr()
    assert main(["explain", "--format", "json", "--", *paths]) == 0
    entries = json.loads(capsys.readouterr().out)["paths"]
    assert [e["path"] for e in entries] == paths
    verdicts = ignore_verdicts(root, paths)
    names = ("filter", "diff", "merge", "text")
    raw = b"\0".join(os.fsencode(p) for p in paths) + b"\0"
    attrs = _parse_check_attr(git(root, "check-attr", "-z", "--stdin", *names, input=raw))
    for entry in entries:
        path = entry["path"]
        source_line = verdicts.get(path)
        expected = source_line._asdict() if source_line else None
        assert entry["ignore_source"] == expected, path
        assert entry["ignored"] == bool(source_line and source_line.ignores), path
        assert entry["attributes"] == {n: attrs.get(path, {}).get(n) for n in names}, path
        for attr, where in entry["attribute_sources"].items():
            # The line named is one that really sets this attribute for the path.
            text = lines_of(data)[where["line"] - 1] if where["file"] == name else ""
            assert attr in text or "binary" in text, (path, attr, where)
