"""Generate the synthetic ML repository that `bench_check.py` runs hooks in.

The history is written with one `git fast-import` process (no `git commit`
per commit), the work tree is checked out once, then a set of changes is
staged with `git add`, a few of them planted policy violations. Everything is
deterministic for given parameters, and the result is cached: a directory
whose stamp file matches the parameters is reused as it is.

Usable on its own: `python benchmarks/make_repo.py [--files N --commits N --staged N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Bump when the generated content changes, so stale caches are rebuilt.
GENERATOR_VERSION = 1
STAMP = "bench-params.json"
SEED = 20240229
EPOCH = 1_700_000_000  # author/committer time of the first commit
IDENTITY = ("Bench Mark", "bench@example.invalid")

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORKDIR = BENCH_DIR / "work"

# Planted violations, relative to the repository top. `new_run` is a run
# directory that does not exist in the history.
NEW_RUN = "outputs/run_new"
PLANTED: dict[str, tuple[str, ...]] = {
    f"{NEW_RUN}/checkpoints/epoch_3.pth": ("excluded",),
    f"{NEW_RUN}/checkpoints/best.pth": ("file-too-large", "lfs-missing"),
    f"{NEW_RUN}/train.log": ("excluded",),
}
BIG_FILE = f"{NEW_RUN}/checkpoints/best.pth"
BIG_SIZE = 120 * 1000**2  # ~114 MiB: over the 100 MiB `budgets.file` of the preset

POLICY = """\
# Benchmark repository policy.
extends: [ml-checkpoints]
"""

GITATTRIBUTES = """\
*.pth filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
"""

GITIGNORE = """\
__pycache__/
*.py[cod]
.venv/
wandb/
lightning_logs/
"""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Params:
    files: int = 10_000
    commits: int = 2_000
    staged: int = 50
    generator: int = GENERATOR_VERSION

    def key(self) -> str:
        return f"repo-f{self.files}-c{self.commits}-s{self.staged}-v{self.generator}"


@dataclass
class Repo:
    """A generated repository, as `bench_check.py` needs it."""

    params: Params
    root: Path  # the repository with the staged changes
    clean: Path  # a linked worktree of HEAD with nothing staged
    planted: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(PLANTED))
    generated_in: float | None = None  # seconds, None when reused from the cache


# -- environment ----------------------------------------------------------


def isolated_env(home: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment minus every GIT_* variable, with no system or user git config.

    `home` gets a .gitconfig holding only an identity, so neither /etc/gitconfig
    nor the caller's ~/.gitconfig (filters, fsmonitor, hooks) reaches git.
    """
    env = {k: v for k, v in (base or os.environ).items() if not k.startswith("GIT_")}
    home.mkdir(parents=True, exist_ok=True)
    (home / ".config").mkdir(exist_ok=True)
    name, email = IDENTITY
    (home / ".gitconfig").write_text(
        f"[user]\n\tname = {name}\n\temail = {email}\n[init]\n\tdefaultBranch = main\n"
    )
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    return env


def git(cwd: Path, env: Mapping[str, str], *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=input, capture_output=True, check=False
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        raise RuntimeError(f"git {' '.join(args)} failed ({proc.returncode}): {stderr}")
    return proc.stdout


# -- content ----------------------------------------------------------------


def lfs_pointer(seed: str, size: int) -> bytes:
    oid = hashlib.sha256(seed.encode()).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def content(path: str, version: int, rng: random.Random) -> bytes:
    """The bytes of `path` at its `version`-th change (0 = when it is added)."""
    if path.endswith(".pth"):
        # Checkpoints in the history went through LFS: ~100 MB pointers.
        return lfs_pointer(f"{path}@{version}", 80_000_000 + rng.randrange(20_000_000))
    if path.endswith(".png"):
        return PNG_MAGIC + rng.randbytes(200 + rng.randrange(1800))
    if path.endswith(".py"):
        name = Path(path).stem
        body = "".join(
            f"\n\ndef {name}_step_{k}(x: float, scale: float = {k + version}.0) -> float:\n"
            f'    """Step {k} of {name} (revision {version})."""\n'
            f"    return x * scale + {rng.randrange(1000)}\n"
            for k in range(3 + rng.randrange(8))
        )
        return f'"""{path}: generated for the repolicy benchmark."""\n{body}'.encode()
    if path.endswith((".yaml", ".yml")):
        lines = [f"# {path} (revision {version})", "model:", f"  width: {rng.choice([64, 128])}"]
        lines += [f"  layer_{k}: {rng.random():.6f}" for k in range(4 + rng.randrange(20))]
        lines += ["train:", f"  lr: {rng.random() / 100:.6f}", f"  epochs: {rng.randrange(100)}"]
        return ("\n".join(lines) + "\n").encode()
    if path.endswith(".csv"):
        rows = [f"{rng.randrange(10**6)},{rng.random():.5f},label_{rng.randrange(10)}"]
        rows += [f"{k},{rng.random():.5f},label_{rng.randrange(10)}" for k in range(5 + version)]
        return ("id,value,label\n" + "\n".join(rows) + "\n").encode()
    if path.endswith(".json"):
        metrics = {"path": path, "revision": version, "accuracy": round(rng.random(), 4)}
        return (json.dumps(metrics, indent=2) + "\n").encode()
    return f"{path} (revision {version}) {rng.random()}\n".encode()


def tree_paths(n_files: int) -> list[str]:
    """`n_files` distinct paths: sources, configs, images, run outputs, a dataset."""
    fixed = [
        ".repolicy.yaml",
        ".gitattributes",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "requirements.txt",
    ]
    rest = max(0, n_files - len(fixed))
    n_src, n_cfg, n_img, n_run = (rest * p // 100 for p in (40, 15, 15, 10))
    n_data = rest - n_src - n_cfg - n_img - n_run
    paths = list(fixed)
    packages = ("data", "models", "train", "eval", "utils", "viz")
    paths += [f"src/mlproj/{packages[k % 6]}/mod_{k:05d}.py" for k in range(n_src)]
    groups = ("sweep", "ablation", "baseline", "finetune")
    paths += [f"configs/{groups[k % 4]}/exp_{k:05d}.yaml" for k in range(n_cfg)]
    classes = ("cat", "dog", "bird", "fish", "frog")
    paths += [f"assets/images/{classes[k % 5]}/img_{k:05d}.png" for k in range(n_img)]
    run_files = (
        "checkpoints/best.pth",
        "checkpoints/last.pth",
        "samples/grid.png",
        "samples/epoch_final.png",
        "evaluation/metrics.json",
        "config.yaml",
    )
    paths += [f"outputs/run{k // 6:04d}/{run_files[k % 6]}" for k in range(n_run)]
    splits = ("train", "val", "test")
    paths += [f"datasets/x/v1/{splits[k % 3]}/shard_{k:05d}.csv" for k in range(n_data)]
    return paths[:n_files]


# -- history ----------------------------------------------------------------


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def fast_import_stream(params: Params) -> Iterator[bytes]:
    """The commands of a `git fast-import` stream for the whole history."""
    rng = random.Random(SEED)
    paths = tree_paths(params.files)
    fixed, rest = paths[:6], paths[6:]
    rng.shuffle(rest)
    n_commits = max(1, params.commits)
    # Commit 0 adds the fixed files; the others are spread over all commits.
    chunks: list[list[str]] = [[] for _ in range(n_commits)]
    for k, path in enumerate(rest):
        chunks[k * n_commits // max(1, len(rest))].append(path)
    chunks[0][:0] = fixed
    fixed_content = {
        ".repolicy.yaml": POLICY.encode(),
        ".gitattributes": GITATTRIBUTES.encode(),
        ".gitignore": GITIGNORE.encode(),
        "README.md": b"# mlproj\n\nSynthetic repository for the repolicy benchmark.\n",
        "pyproject.toml": b'[project]\nname = "mlproj"\nversion = "0.0.0"\n',
        "requirements.txt": b"torch\nnumpy\npyyaml\n",
    }
    versions: dict[str, int] = {}
    modifiable: list[str] = []
    for i, added in enumerate(chunks):
        changes: list[tuple[str, bytes]] = []
        for path in added:
            versions[path] = 0
            data = fixed_content.get(path) or content(path, 0, rng)
            changes.append((path, data))
            if not path.startswith((".", "README", "pyproject", "requirements")):
                modifiable.append(path)
        # Each commit also edits a few files already there (retrains, tweaks).
        if i and modifiable:
            for _ in range(1 + rng.randrange(3)):
                path = rng.choice(modifiable)
                if path in added:
                    continue
                versions[path] += 1
                changes.append((path, content(path, versions[path], rng)))
        when = EPOCH + i * 3600
        name, email = IDENTITY
        message = f"commit {i}: {len(added)} added, {len(changes) - len(added)} changed\n"
        header = (
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"author {name} <{email}> {when} +0000\n"
            f"committer {name} <{email}> {when} +0000\n"
        ).encode() + _data(message.encode())
        if i:
            header += f"from :{i}\n".encode()
        yield header
        for path, data in changes:
            yield f"M 100644 inline {path}\n".encode() + _data(data)
        yield b"\n"
    yield b"done\n"


def write_history(root: Path, env: Mapping[str, str], params: Params) -> None:
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    with proc.stdin:
        buffer: list[bytes] = []
        size = 0
        for piece in fast_import_stream(params):
            buffer.append(piece)
            size += len(piece)
            if size > 1 << 20:
                proc.stdin.write(b"".join(buffer))
                buffer, size = [], 0
        proc.stdin.write(b"".join(buffer))
    stderr = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        raise RuntimeError(f"git fast-import failed: {stderr.decode(errors='replace')}")


# -- staged changes -----------------------------------------------------------


def stage_changes(root: Path, env: Mapping[str, str], params: Params) -> list[str]:
    """Write and `git add` `params.staged` files, the planted violations among them."""
    rng = random.Random(SEED + 1)
    ordinary = params.staged - len(PLANTED) - 2  # 2: a valid LFS pointer and a kept grid.png
    if ordinary < 0:
        raise ValueError(f"--staged must be at least {len(PLANTED) + 2}")
    tracked = [
        p
        for p in tree_paths(params.files)
        if p.startswith(("src/", "configs/", "datasets/")) and (root / p).is_file()
    ]
    n_modified = min(len(tracked), ordinary * 3 // 5)
    modified = rng.sample(tracked, n_modified)
    added: list[str] = []
    kinds = (
        "src/mlproj/models/new_{k:03d}.py",
        "configs/sweep/new_{k:03d}.yaml",
        "assets/images/new/img_{k:03d}.png",
        "datasets/x/v2/train/shard_{k:03d}.csv",
    )
    for k in range(ordinary - n_modified):
        added.append(kinds[k % len(kinds)].format(k=k))

    for path in modified:
        with open(root / path, "ab") as f:
            f.write(b"# staged edit for the benchmark\n" if path.endswith(".py") else b"\n")
    for path in added:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content(path, 0, rng))
    run = root / NEW_RUN
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    (run / "samples").mkdir(parents=True, exist_ok=True)
    # Ordinary run output: an LFS pointer (git-lfs did its job) and a kept sample.
    (run / "checkpoints/last.pth").write_bytes(lfs_pointer("last", 95_000_000))
    (run / "samples/grid.png").write_bytes(content("grid.png", 0, rng))
    # The violations. git-lfs is not configured in the isolated environment,
    # so `git add` stores best.pth raw although .gitattributes says filter=lfs:
    # the "forgot `git lfs install` on this machine" case.
    (run / "checkpoints/epoch_3.pth").write_bytes(rng.randbytes(4096))
    (run / "train.log").write_text(
        "".join(f"step {k} loss {1 / (k + 1):.4f}\n" for k in range(500))
    )
    with open(root / BIG_FILE, "wb") as f:
        f.truncate(BIG_SIZE)  # sparse: no disk blocks, still BIG_SIZE bytes to git
    paths = [
        *modified,
        *added,
        f"{NEW_RUN}/checkpoints/last.pth",
        f"{NEW_RUN}/samples/grid.png",
        *PLANTED,
    ]
    git(root, env, "add", "--", *paths)
    return paths


# -- the whole repository -----------------------------------------------------


def repo_dirs(workdir: Path, params: Params) -> tuple[Path, Path, Path]:
    base = workdir / params.key()
    return base, base / "repo", base / "clean"


def load(workdir: Path, params: Params) -> Repo | None:
    """The cached repository for `params`, if one was completely generated."""
    base, root, clean = repo_dirs(workdir, params)
    try:
        stamp = json.loads((base / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if stamp.get("params") != asdict(params):
        return None
    return Repo(params, root, clean)


def generate(workdir: Path, params: Params, home: Path, *, log: bool = True) -> Repo:
    base, root, clean = repo_dirs(workdir, params)
    if base.exists():
        shutil.rmtree(base)
    root.mkdir(parents=True)
    env = isolated_env(home)
    start = time.perf_counter()

    def step(what: str) -> None:
        if log:
            print(f"  {time.perf_counter() - start:6.2f}s  {what}", file=sys.stderr, flush=True)

    git(root, env, "init", "-q", "-b", "main")
    step(f"fast-import: {params.commits} commits, {params.files} files")
    write_history(root, env, params)
    step("check out the work tree")
    git(root, env, "reset", "-q", "--hard", "main")
    step("linked worktree with nothing staged")
    git(root, env, "worktree", "add", "-q", "--detach", str(clean), "main")
    step(f"stage {params.staged} files")
    stage_changes(root, env, params)
    elapsed = time.perf_counter() - start
    step("done")
    stamp = {"params": asdict(params), "generated_in": round(elapsed, 3)}
    (base / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    return Repo(params, root, clean, generated_in=elapsed)


def ensure(workdir: Path, params: Params, home: Path, *, log: bool = True) -> Repo:
    """The cached repository for `params`, generated first if need be."""
    return load(workdir, params) or generate(workdir, params, home, log=log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=Params.files)
    parser.add_argument("--commits", type=int, default=Params.commits)
    parser.add_argument("--staged", type=int, default=Params.staged)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    params = Params(args.files, args.commits, args.staged)
    with tempfile.TemporaryDirectory(prefix="repolicy-bench-home-") as home:
        if args.force:
            repo = generate(args.workdir, params, Path(home))
        else:
            repo = ensure(args.workdir, params, Path(home))
    state = "generated" if repo.generated_in is not None else "reused"
    print(f"{state}: {repo.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
