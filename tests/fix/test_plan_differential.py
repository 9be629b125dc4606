"""Differential test: after `repolicy fix`, git agrees with the policy, path by path.

A seeded generator makes random policies (the seed's patterns plus `**`,
`?`, classes, anchoring, directory-only patterns, spaces and unicode), random
trees, and random pre-existing user `.gitignore`/`.gitattributes` content,
including nested ignore files with negations, kept files below directories
the user's lines ignore, and several ignored levels. `fix` runs (in-process,
writing the real files), then git itself judges every path of the tree and
every example path of the policy:

- a path the policy excludes is ignored, one it includes is not, one it
  stores in LFS gets `filter=lfs`; a conflict fix reports counts as a
  difference, since a line appended to the deciding file always wins;
- a path the policy says nothing about keeps the verdict the user's own
  lines gave it before `fix` ran;
- running `fix` again changes nothing.

The suite runs a few dozen repositories; `benchmarks/differential_fix.py`
runs thousands with the same generator. The corpus variant holds `fix` to
the seed's layout under the ml-checkpoints preset with each real-world
ignore file of ../shared/corpus/ (read in place) as the root `.gitignore`,
and checks `explain`'s attribute sources against `git check-attr`.
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

from repolicy.fix import blocks, patterns
from repolicy.fix.plan import Plan, example_paths, make_plan
from repolicy.fix.sources import attribute_sources, lines_of, parse_attribute_line
from repolicy.git import IgnoreSource
from repolicy.git.attributes import _parse_check_attr
from repolicy.git.repo import _parse_check_ignore
from repolicy.policy import load_policy
from repolicy.policy.match import compile_pattern

from ..conftest import CORPUS

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
    "my dir/keep me.txt", "checkpoints", "final/",
]  # fmt: skip
LFS = ["*.pth", "*.bin", "data/images/", "*.png", "my file.dat", "/weights/*.pt?", "résumé/*"]
DVC = ["data/images/", "/data/raw/"]
USER_IGNORE = [
    "*.pth", "outputs/", "!outputs/*/checkpoints/best.pth", "logs", "*.log", "# notes", "",
    "build/", "!keep.txt", "data/", "__pycache__/", "*.tmp", "!important.log", "runs/*/",
    "/weights/", "tmp", "wandb/**", "runs/", "checkpoints/", "r1/", "outputs/*", "**/r1/",
    "*", "!*/",
]  # fmt: skip
USER_NESTED = [
    "*", "*.tmp", "!best.pth", "final/", "!*.log", "keep.txt", "!*.pth", "!logs/", "*\n!*.txt",
    "checkpoints/", "!*",
]  # fmt: skip
NESTED_DIRS = ["outputs", "logs", "data", "runs/r1", "outputs/r1", "runs/r1/final", "r1"]
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
    # As `Git.ignore_sources` asks, each path as `./path`: a name starting with
    # ':' would otherwise be pathspec magic, which check-ignore refuses.
    data = b"".join(b"./" + os.fsencode(p) + b"\0" for p in paths)
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
        self.rescued = 0  # kept paths the user's lines ignored before fix
        self.differences: list[str] = []


def judge(root: Path, policy_file: str | None, outcome: Outcome) -> None:
    """Run fix on the repository at `root` and hold git's verdicts to the policy."""
    policy = load_policy(str(root), policy_file)
    files = [f for f in tree_files(root)]
    before_ignore = ignore_verdicts(root, files)
    before_filter = filters(root, files)
    plan: Plan = make_plan(str(root), policy, files, read_nested(root))
    for file, data in plan.new_contents():
        blocks.write(file, data)
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
        outcome.rescued += bool(need.keep and ignored(before_ignore, path))
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


def random_case(rng: random.Random, root: Path) -> None:
    """A repository with a random policy, tree and user ignore/attribute files."""
    root.mkdir()
    git(root, "init", "-q")
    (root / ".repolicy.yaml").write_text(policy_yaml(rng))
    write_tree(root, random_paths(rng, 40))
    # Kept files below directories that user lines are likely to ignore.
    write_tree(root, [f"outputs/{rng.choice(DIRS)}/checkpoints/best.pth" for _ in range(2)])
    write_tree(root, [f"{rng.choice(DIRS)}/{rng.choice(DIRS)}/best.pth" for _ in range(2)])
    if rng.random() < 0.8:
        user = rng.sample(USER_IGNORE, rng.randint(1, 5))
        (root / ".gitignore").write_text("\n".join(user) + "\n")
    for where in rng.sample(NESTED_DIRS, rng.choice([0, 0, 1, 2])):
        nested = root / where
        if not _blocked(root, where + "/.gitignore"):
            nested.mkdir(parents=True, exist_ok=True)
            (nested / ".gitignore").write_text(rng.choice(USER_NESTED) + "\n")
    if rng.random() < 0.5:
        attrs = rng.sample(USER_ATTRIBUTES, rng.randint(1, 3))
        (root / ".gitattributes").write_text("\n".join(attrs) + "\n")


def run_random_cases(tmp_path: Path, seed: int, count: int) -> Outcome:
    rng = random.Random(seed)
    outcome = Outcome()
    for k in range(count):
        root = tmp_path / f"r{k}"
        random_case(rng, root)
        judge(root, None, outcome)
    return outcome


def test_fix_makes_git_agree_with_random_policies(tmp_path: Path) -> None:
    # benchmarks/differential_fix.py runs thousands of these cases; the suite runs a few.
    outcome = run_random_cases(tmp_path, SEED, ROUNDS)
    assert outcome.differences[:20] == []
    assert outcome.cases > 40 * ROUNDS
    assert outcome.constrained > 15 * ROUNDS
    assert outcome.rescued >= ROUNDS // 3  # kept files that user lines hid before fix


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
        out += patterns.examples(pattern)[:2]
    return [
        p
        for p in out
        if "\n" not in p and "\r" not in p and len(p) < 200 and posixpath.normpath(p) == p
    ][:150]


SEED_RUN_FILES = [
    "checkpoints/best.pth", "checkpoints/last.pth", "checkpoints/epoch_3.pth",
    "checkpoints/checkpoint_2.pth", "logs/events.out.tfevents.1", "tensorboard/e.txt",
    "samples/grid.png", "samples/epoch_final.png", "samples/epoch_3.png",
    "evaluation/report.md", "notes.txt",
]  # fmt: skip
SEED_FILES = [
    "data/processed_1/metadata.json", "data/processed_1/a.png", "data/fonts/a.ttf",
    "data/skeleton_db/x.bin", "models/pretrained/w.bin", "train.log", "README.md",
    "wandb/run-1/files/config.yaml", "config/train.yaml", "runs/exp1/events.out.tfevents.1",
    "logs/x.txt", "lightning_logs/version_0/hparams.yaml", "checkpoint-500/model.bin",
]  # fmt: skip
FAVOURITE_RUNS = ("build", "logs", "runs", "dist")


def run_names(lines: list[str]) -> list[str]:
    """Run directories named after the file's own bare patterns (`build/`, `logs`), the
    names its lines would ignore: a run called `build` must keep its best.pth."""
    bare = []
    for text in lines:
        name = text.strip().rstrip("/")
        if name and all(ch.isalnum() or ch in "._-" for ch in name) and name not in bare:
            bare.append(name)
    chosen = [n for n in FAVOURITE_RUNS if n in bare]
    chosen += [n for n in bare if n not in chosen][: max(0, 5 - len(chosen))]
    return ["run1", *chosen]


def seed_layout(runs: list[str], policy_examples: list[str], lines: list[str]) -> list[str]:
    paths = [f"outputs/{run}/{leaf}" for run in runs for leaf in SEED_RUN_FILES]
    paths += [*SEED_FILES, *policy_examples]
    for text in lines:  # one path derived from every pattern line of the file
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        pattern = compile_pattern(text.lstrip("!"))
        if pattern.body is not None:
            paths += patterns.examples(pattern)[:1]
    return [
        p
        for p in dict.fromkeys(paths)
        if "\n" not in p and "\r" not in p and len(p) < 200 and posixpath.normpath(p) == p
    ]


@pytest.mark.shared
@pytest.mark.parametrize("source", CORPUS_FILES, ids=lambda p: p.name)
def test_fix_keeps_the_seed_layout_on_real_ignore_files(
    tmp_path: Path,
    source: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from repolicy.checks import Context
    from repolicy.cli import main

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".repolicy.yaml").write_text("extends: [ml-checkpoints]\n")
    data = source.read_bytes()
    (root / ".gitignore").write_bytes(data)
    policy = load_policy(str(root))
    lines = lines_of(data)
    write_tree(root, seed_layout(run_names(lines), example_paths(policy), lines))
    paths = [p for p in tree_files(root) if p not in (".gitignore", ".repolicy.yaml")]
    before = ignore_verdicts(root, paths)
    monkeypatch.chdir(root)
    codes = [main(["fix", "-q"])]
    first = (root / ".gitignore").read_bytes()
    codes += [main(["fix", "-q"]), main(["fix", "--check", "-q"])]
    output = capsys.readouterr().out
    assert codes == [0, 0, 0], output
    assert (root / ".gitignore").read_bytes() == first  # a second fix changes no byte

    ctx = Context(policy)
    after = ignore_verdicts(root, paths)
    wrong = []
    for path in paths:
        got = path in after and after[path].ignores
        if ctx.including_rule(path):
            wrong += [f"{path}: included, but ignored by {after[path]}"] if got else []
        elif ctx.excluding_rule(path):
            wrong += [] if got else [f"{path}: excluded, but not ignored"]
        elif got != (path in before and before[path].ignores):
            wrong.append(f"{path}: the policy says nothing, but fix changed its verdict")
    assert wrong[:10] == []
    # The user's lines are all still there, in order, byte for byte.
    assert first.startswith(data if data.endswith(b"\n") or not data else data + b"\n")
    kept = [p for p in paths if ctx.including_rule(p)]
    assert len(kept) >= 2 * len(run_names(lines))


@pytest.mark.shared
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


@pytest.mark.shared
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
