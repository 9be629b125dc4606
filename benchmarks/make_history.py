"""Generate the long-history ML repositories that `bench_history.py` measures.

Two variants of one history, written side by side by two `git fast-import`
processes fed from a single pass over the generated content:

- `plain/`: checkpoints (`*.pth`) stored raw in git, as on a machine where
  `git lfs install` never ran;
- `lfs/`: the same checkpoints as Git LFS pointers, their objects present
  under `.git/lfs/objects/ab/cd/<sha256>` (written here, not by git-lfs).

Each variant gets a bare remote `origin` holding all but the last `unpushed`
commits of `main` (pushed with `--no-verify`), so `main` has an unpushed range
with planted violations: an excluded `epoch_3.pth` and `train.log`, and a raw
120 MB `best.pth` added in one commit and deleted in the next. Everything is
deterministic for given parameters and cached like `make_repo.py` does.

Two shapes of history (`--shape`):

- `blobs` (the default): 100,000 files, ~4,000 checkpoint versions of 8-64 KiB
  of random bytes, which dominate what a walk of the objects reads;
- `paths`: 86,000 files, 90% of them added by the first commit (a project
  imported at once), then commits that each edit one or two files and add
  about one; every blob is small (checkpoints of 256 B to 2 KiB) but for a few
  large ones (four raw 6 MiB archives). Reading the objects is cheap, so the
  per-path work (the tree, the index, each path of the history) is what shows.

Usable on its own: `python benchmarks/make_history.py [--shape S --files N --commits N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

from make_repo import (
    DEFAULT_WORKDIR,
    EPOCH,
    GITATTRIBUTES,
    GITIGNORE,
    IDENTITY,
    POLICY,
    SEED,
    STAMP,
    _data,
    content,
    git,
    isolated_env,
)

# Bump when the generated content changes, so stale caches are rebuilt.
GENERATOR_VERSION = 1
VARIANTS = ("plain", "lfs")

# The run directory that only the unpushed range writes to, and what it plants.
PUSH_RUN = "outputs/run_unpushed"
EPOCH_FILE = f"{PUSH_RUN}/checkpoints/epoch_3.pth"  # a checkpoint, excluded by the preset
LOG_FILE = f"{PUSH_RUN}/train.log"
BIG_FILE = f"{PUSH_RUN}/checkpoints/best.pth"  # raw in both variants, then deleted
BIG_SIZE = 120 * 1000**2  # ~114 MiB: over the 100 MiB `budgets.file` of the preset
PLANTED: dict[str, tuple[str, ...]] = {
    EPOCH_FILE: ("excluded",),
    LOG_FILE: ("excluded",),
    BIG_FILE: ("file-too-large", "lfs-missing"),
}
# Where in the unpushed range (counted back from the tip) the planted changes go.
PLANT_EXCLUDED_AT = 18
PLANT_BIG_AT = 15  # deleted again by the next commit

# Checkpoints are random bytes (incompressible, like weights) of this many bytes.
CKPT_SIZES = (8 * 1024, 64 * 1024)
SHAPES = ("blobs", "paths")
# The `paths` shape: small checkpoints, and a few large raw archives spread
# over the history (random bytes, stored as they are in both variants).
SMALL_CKPT_SIZES = (256, 2 * 1024)
LARGE_FILES = 4
LARGE_SIZE = 6 * 1024 * 1024
LARGE_PATH = "datasets/x/raw/dump_{k}.bin"
DEFAULT_FILES = {"blobs": 100_000, "paths": 86_000}

FIXED_CONTENT = {
    ".repolicy.yaml": POLICY.encode(),
    ".gitattributes": GITATTRIBUTES.encode(),
    ".gitignore": GITIGNORE.encode(),
    "README.md": b"# mlproj\n\nSynthetic long-history repository for the repolicy benchmark.\n",
    "pyproject.toml": b'[project]\nname = "mlproj"\nversion = "0.0.0"\n',
    "requirements.txt": b"torch\nnumpy\npyyaml\n",
}


@dataclass(frozen=True)
class HistoryParams:
    files: int = 100_000
    commits: int = 10_000
    unpushed: int = 20
    generator: int = GENERATOR_VERSION
    shape: str = "blobs"

    def key(self) -> str:
        key = f"history-f{self.files}-c{self.commits}-u{self.unpushed}-v{self.generator}"
        # The first shape keeps the name its caches had before shapes existed.
        return key if self.shape == "blobs" else f"{key}-{self.shape}"


@dataclass
class Variant:
    """One generated repository, as `bench_history.py` needs it."""

    name: str  # "plain" or "lfs"
    root: Path  # the repository (work tree checked out at main)
    remote: Path  # the bare remote `origin`
    # (check, path) pairs at error severity `check --push` must report on the range.
    expected_push: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class History:
    params: HistoryParams
    base: Path
    variants: dict[str, Variant]
    facts: dict[str, object]  # counts and sizes written into the stamp
    generated_in: float | None = None  # seconds, None when reused from the cache


# -- content ----------------------------------------------------------------


def history_paths(n_files: int) -> list[str]:
    """`n_files` distinct paths, about 100 entries per directory (as a large project has).

    The shares are make_repo's (sources 40%, configs 15%, images 15%, run
    outputs 10%, dataset shards 20%), one level deeper so no directory holds
    thousands of entries; `outputs/` keeps one level of runs, which is what
    the preset's `outputs/*/checkpoints/...` patterns expect.
    """
    paths = list(FIXED_CONTENT)
    rest = max(0, n_files - len(paths))
    n_src, n_cfg, n_img, n_run = (rest * p // 100 for p in (40, 15, 15, 10))
    n_data = rest - n_src - n_cfg - n_img - n_run
    packages = ("data", "models", "train", "eval", "utils", "viz")
    paths += [
        f"src/mlproj/{packages[k % 6]}/part_{k // 600:03d}/mod_{k:06d}.py" for k in range(n_src)
    ]
    groups = ("sweep", "ablation", "baseline", "finetune")
    paths += [f"configs/{groups[k % 4]}/set_{k // 400:03d}/exp_{k:06d}.yaml" for k in range(n_cfg)]
    classes = ("cat", "dog", "bird", "fish", "frog")
    paths += [
        f"assets/images/{classes[k % 5]}/part_{k // 500:03d}/img_{k:06d}.png" for k in range(n_img)
    ]
    run_files = (
        "checkpoints/best.pth",
        "checkpoints/last.pth",
        "samples/grid.png",
        "samples/epoch_final.png",
        "evaluation/metrics.json",
        "config.yaml",
    )
    paths += [f"outputs/run{k // 6:05d}/{run_files[k % 6]}" for k in range(n_run)]
    splits = ("train", "val", "test")
    paths += [
        f"datasets/x/v1/{splits[k % 3]}/part_{k // 300:03d}/shard_{k:06d}.csv"
        for k in range(n_data)
    ]
    return paths[:n_files]


class Checkpoint(NamedTuple):
    """Checkpoint bytes: stored raw in `plain`, as an LFS pointer in `lfs`."""

    data: bytes


class Zeros(NamedTuple):
    """A large blob of zero bytes, stored raw in both variants (streamed, never built)."""

    size: int


Blob = bytes | Checkpoint | Zeros


class Commit(NamedTuple):
    number: int
    message: str
    changes: list[tuple[str, Blob | None]]  # None deletes the path


def checkpoint(rng: random.Random, sizes: tuple[int, int] = CKPT_SIZES) -> Checkpoint:
    return Checkpoint(rng.randbytes(rng.randrange(*sizes)))


def commits(params: HistoryParams) -> Iterator[Commit]:
    """The whole history, oldest first, the planted changes in the unpushed range."""
    rng = random.Random(SEED)
    paths = history_paths(params.files)
    fixed, rest = paths[: len(FIXED_CONTENT)], paths[len(FIXED_CONTENT) :]
    rng.shuffle(rest)
    n = max(1, params.commits)
    if params.unpushed >= n or params.unpushed <= PLANT_EXCLUDED_AT:
        raise ValueError(f"--unpushed must be in ({PLANT_EXCLUDED_AT}, --commits)")
    if params.shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}")
    chunks: list[list[str]] = [[] for _ in range(n)]
    if params.shape == "paths":
        # A project imported at once, then worked on: the first commit adds
        # 90% of the files, the others add the rest about one at a time.
        first = len(rest) * 9 // 10
        chunks[0] += rest[:first]
        later = rest[first:]
        for k, path in enumerate(later):
            chunks[1 + k * (n - 1) // max(1, len(later))].append(path)
    else:
        for k, path in enumerate(rest):
            chunks[k * n // max(1, len(rest))].append(path)
    chunks[0][:0] = fixed
    versions: dict[str, int] = {}
    modifiable: list[str] = []
    sizes = SMALL_CKPT_SIZES if params.shape == "paths" else CKPT_SIZES
    # Commit number -> the large archive it adds (`paths` shape only).
    large = (
        {n * (k + 1) // (LARGE_FILES + 1): k for k in range(LARGE_FILES)}
        if params.shape == "paths"
        else {}
    )

    def blob(path: str, version: int) -> Blob:
        if path in FIXED_CONTENT:
            return FIXED_CONTENT[path]
        if path.endswith(".pth"):
            return checkpoint(rng, sizes)
        return content(path, version, rng)

    for i, added in enumerate(chunks):
        changes: list[tuple[str, Blob | None]] = []
        for path in added:
            versions[path] = 0
            changes.append((path, blob(path, 0)))
            if path not in FIXED_CONTENT:
                modifiable.append(path)
        if i and modifiable:  # retrains and tweaks of files already there
            for _ in range(1 + rng.randrange(2 if params.shape == "paths" else 3)):
                path = rng.choice(modifiable)
                if path in added:
                    continue
                versions[path] += 1
                changes.append((path, blob(path, versions[path])))
        if i in large:
            changes.append((LARGE_PATH.format(k=large[i]), rng.randbytes(LARGE_SIZE)))
        back = n - i  # 1 for the tip
        if back == PLANT_EXCLUDED_AT:
            changes.append((EPOCH_FILE, checkpoint(rng)))
            log = "".join(f"step {k} loss {1 / (k + 1):.4f}\n" for k in range(500))
            changes.append((LOG_FILE, log.encode()))
        elif back == PLANT_BIG_AT:
            changes.append((BIG_FILE, Zeros(BIG_SIZE)))
        elif back == PLANT_BIG_AT - 1:
            changes.append((BIG_FILE, None))
        touched = sum(1 for _, b in changes if b is not None)
        message = f"commit {i}: {len(added)} added, {touched - len(added)} changed"
        yield Commit(i, message, changes)


# -- writing the two variants --------------------------------------------------


def lfs_pointer_for(data: bytes) -> tuple[str, bytes]:
    """The sha256 and canonical pointer text of an LFS object holding `data`."""
    oid = hashlib.sha256(data).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"
    return oid, pointer.encode()


class FastImport:
    """One `git fast-import` process, fed in 1 MiB writes."""

    _FLUSH = 1 << 20

    def __init__(self, root: Path, env: Mapping[str, str], lfs: bool) -> None:
        self.root = root
        self.lfs = lfs
        self.lfs_store = root / ".git" / "lfs" / "objects"
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=root,
            # glibc would give memory back after every object (a brk call per
            # zlib buffer): a top pad makes fast-import ~2x faster here.
            env={**env, "GLIBC_TUNABLES": "glibc.malloc.top_pad=67108864"},
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )
        self.buffer: list[bytes] = []
        self.size = 0
        self.lfs_objects = 0
        self.lfs_bytes = 0

    def write(self, piece: bytes) -> None:
        self.buffer.append(piece)
        self.size += len(piece)
        if self.size >= self._FLUSH:
            self.flush()

    def flush(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(self.buffer))
        self.buffer, self.size = [], 0

    def commit(self, c: Commit) -> None:
        name, email = IDENTITY
        when = EPOCH + c.number * 3600
        self.write(
            f"commit refs/heads/main\nmark :{c.number + 1}\n"
            f"author {name} <{email}> {when} +0000\n"
            f"committer {name} <{email}> {when} +0000\n".encode()
            + _data(c.message.encode() + b"\n")
            + (f"from :{c.number}\n".encode() if c.number else b"")
        )
        for path, blob in c.changes:
            if blob is None:
                self.write(f"D {path}\n".encode())
                continue
            self.write(f"M 100644 inline {path}\n".encode())
            if isinstance(blob, Zeros):
                self.write(b"data %d\n" % blob.size)
                chunk = bytes(1 << 20)
                for k in range(0, blob.size, len(chunk)):
                    self.write(chunk[: min(len(chunk), blob.size - k)])
                self.write(b"\n")
            elif isinstance(blob, Checkpoint):
                self.write(_data(self.store(blob.data) if self.lfs else blob.data))
            else:
                self.write(_data(blob))
        self.write(b"\n")

    def store(self, data: bytes) -> bytes:
        """Write `data` as an LFS object (as `git lfs` would have) and return its pointer."""
        oid, pointer = lfs_pointer_for(data)
        target = self.lfs_store / oid[0:2] / oid[2:4] / oid
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.lfs_objects += 1
            self.lfs_bytes += len(data)
        return pointer

    def close(self) -> None:
        self.write(b"done\n")
        self.flush()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            self.stderr.seek(0)
            stderr = self.stderr.read().decode(errors="replace")
            raise RuntimeError(f"git fast-import failed: {stderr}")
        self.stderr.close()


def expected_push(params: HistoryParams) -> dict[str, set[tuple[str, str]]]:
    """What `check --push` must report (errors) on the unpushed range, per variant.

    The planted violations in both; in `plain`, also `lfs-missing` for every
    ordinary checkpoint the range writes (they are raw there by design).
    """
    first = params.commits - params.unpushed
    planted = {(check, path) for path, checks in PLANTED.items() for check in checks}
    raw: set[tuple[str, str]] = set()
    for c in commits(params):
        if c.number < first:
            continue
        for path, blob in c.changes:
            if isinstance(blob, Checkpoint) and path not in PLANTED:
                raw.add(("lfs-missing", path))
    return {"plain": planted | raw, "lfs": set(planted)}


def run_all(argvs: Sequence[tuple[Path, list[str]]], env: Mapping[str, str]) -> None:
    """Start the git commands side by side (one per variant), then wait for all."""
    procs = [
        (argv, subprocess.Popen(["git", *argv], cwd=cwd, env=env, stderr=subprocess.PIPE))
        for cwd, argv in argvs
    ]
    for argv, proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(argv)} failed: {err.decode(errors='replace')}")


def variant_dirs(base: Path, name: str) -> tuple[Path, Path]:
    return base / name / "repo", base / name / "remote.git"


def generate(workdir: Path, params: HistoryParams, home: Path, *, log: bool = True) -> History:
    base = workdir / params.key()
    if base.exists():
        shutil.rmtree(base)
    env = isolated_env(home)
    start = time.perf_counter()
    timings: dict[str, float] = {}

    def step(what: str) -> None:
        timings[what] = round(time.perf_counter() - start, 3)
        if log:
            print(f"  {time.perf_counter() - start:6.2f}s  {what}", file=sys.stderr, flush=True)

    writers: dict[str, FastImport] = {}
    for name in VARIANTS:
        root, remote = variant_dirs(base, name)
        root.mkdir(parents=True)
        git(root, env, "init", "-q", "-b", "main")
        # No background gc or maintenance may start in the middle of a timing.
        git(root, env, "config", "gc.auto", "0")
        git(root, env, "config", "maintenance.auto", "false")
        git(remote.parent, env, "init", "-q", "--bare", remote.name)
        git(root, env, "remote", "add", "origin", str(remote))
        writers[name] = FastImport(root, env, lfs=name == "lfs")
    step(f"fast-import x{len(writers)}: {params.commits} commits, {params.files} files")
    blobs = checkpoints = 0
    for c in commits(params):
        for w in writers.values():
            w.commit(c)
        blobs += sum(1 for _, b in c.changes if b is not None)
        checkpoints += sum(1 for _, b in c.changes if isinstance(b, Checkpoint))
    for w in writers.values():
        w.close()
    # fast-import writes objects in stream order, trees between blobs; a clone or
    # `git gc` leaves pack-objects' order (commits, then trees, then blobs), which
    # every history walk reads far fewer pages of. Deltas are reused (no -f).
    step("repack as a clone or gc would")
    run_all([(variant_dirs(base, n)[0], ["repack", "-a", "-d", "-q"]) for n in VARIANTS], env)
    step("check out the work trees")
    run_all([(variant_dirs(base, n)[0], ["reset", "-q", "--hard", "main"]) for n in VARIANTS], env)
    step(f"push all but the last {params.unpushed} commits to origin")
    pushed = f"main~{params.unpushed}:refs/heads/main"
    push = ["push", "-q", "--no-verify", "origin", pushed]
    run_all([(variant_dirs(base, n)[0], push) for n in VARIANTS], env)
    for name in VARIANTS:
        root = variant_dirs(base, name)[0]
        git(root, env, "fetch", "-q", "origin")
        git(root, env, "branch", "-q", "--set-upstream-to=origin/main", "main")
    step("done")
    elapsed = time.perf_counter() - start
    facts: dict[str, object] = {
        "blob_writes": blobs,
        "checkpoint_writes": checkpoints,
        "lfs_objects": writers["lfs"].lfs_objects,
        "lfs_object_bytes": writers["lfs"].lfs_bytes,
        "big_blob_bytes": BIG_SIZE,
        "timings": timings,
    }
    for name in VARIANTS:
        root = variant_dirs(base, name)[0]
        out = git(root, env, "count-objects", "-v").decode()
        facts[f"{name}_count_objects"] = dict(line.split(": ", 1) for line in out.splitlines())
    stamp = {"params": asdict(params), "generated_in": round(elapsed, 3), "facts": facts}
    (base / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
    return History(params, base, make_variants(base, params), facts, generated_in=elapsed)


def make_variants(base: Path, params: HistoryParams) -> dict[str, Variant]:
    expected = expected_push(params)
    return {
        name: Variant(name, *variant_dirs(base, name), expected_push=expected[name])
        for name in VARIANTS
    }


def load(workdir: Path, params: HistoryParams) -> History | None:
    """The cached repositories for `params`, if they were completely generated."""
    base = workdir / params.key()
    try:
        stamp = json.loads((base / STAMP).read_text())
    except (OSError, ValueError):
        return None
    stamped = stamp.get("params")
    if isinstance(stamped, dict):
        stamped.setdefault("shape", "blobs")  # stamped before shapes existed
    if stamped != asdict(params):
        return None
    return History(params, base, make_variants(base, params), stamp.get("facts", {}))


def ensure(workdir: Path, params: HistoryParams, home: Path, *, log: bool = True) -> History:
    """The cached repositories for `params`, generated first if need be."""
    return load(workdir, params) or generate(workdir, params, home, log=log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--shape", choices=SHAPES, default="blobs")
    parser.add_argument("--files", type=int, help="default: 100000 (blobs), 86000 (paths)")
    parser.add_argument("--commits", type=int, default=HistoryParams.commits)
    parser.add_argument("--unpushed", type=int, default=HistoryParams.unpushed)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    files = args.files if args.files is not None else DEFAULT_FILES[args.shape]
    params = HistoryParams(files, args.commits, args.unpushed, shape=args.shape)
    with tempfile.TemporaryDirectory(prefix="repolicy-bench-home-") as home:
        if args.force:
            history = generate(args.workdir, params, Path(home))
        else:
            history = ensure(args.workdir, params, Path(home))
    state = "generated" if history.generated_in is not None else "reused"
    took = f" in {history.generated_in:.1f}s" if history.generated_in is not None else ""
    print(f"{state}{took}: {history.base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
