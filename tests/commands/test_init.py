"""`repolicy init`: the three seed layouts in real repositories, each given a policy
that `audit` accepts as they stand and that fails once a violation is committed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from repolicy.init.adopt import HOOKS, LOCAL_HOOKS
from repolicy.policy import load_policy

from ..conftest import ROOT, Repo
from .test_dvc import dvc

LFS = "filter=lfs diff=lfs merge=lfs -text"
MiB = 1024**2


def init(repo: Repo, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    proc = repo.run("init", "--format", "json", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def audit(repo: Repo) -> tuple[int, set[tuple[str, str | None]]]:
    proc = repo.run("audit", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    errors = {(v["check"], v["path"]) for v in data["violations"] if v["severity"] == "error"}
    return proc.returncode, errors


def extends(data: dict[str, Any]) -> list[str]:
    return [e["preset"] for e in data["extends"]]


def commit_raw(repo: Repo, path: str, content: bytes) -> None:
    """Commit `content` at `path` as a plain blob, as a machine without `git lfs
    install` would, whatever .gitattributes says."""
    repo.write(path, content)
    oid = repo.git("hash-object", "-w", "--no-filters", "--", path).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}")
    repo.commit(f"add {path}")


# -- seed 1: checkpoints of training runs --------------------------------------


def checkpoint_project(repo: Repo) -> None:
    """Training runs as the first source document keeps them: best/last in LFS, the
    epochs, logs and W&B files ignored by its own .gitignore."""
    repo.git("lfs", "install", "--local")
    repo.write(".gitattributes", f"*.pth {LFS}\n")
    repo.write(
        ".gitignore",
        "outputs/*/checkpoints/epoch_*.pth\noutputs/*/logs/\n*.log\nwandb/\n",
    )
    repo.write("train.py", "print('train')\n")
    repo.write("config/train.yaml", "lr: 0.001\n")
    for run in ("run1", "run2"):
        for name in ("best.pth", "last.pth", "epoch_1.pth", "epoch_2.pth"):
            repo.write(f"outputs/{run}/checkpoints/{name}", os.urandom(3000))
        repo.write(f"outputs/{run}/logs/events.out.tfevents.1714.gpu1", os.urandom(100))
    repo.write("wandb/run-20240501/files/output.log", "epoch 1\n")
    repo.git("add", "-A")
    repo.commit("run 2: val acc 0.91")


def test_checkpoints_seed_gets_ml_checkpoints_and_audit_accepts_it(repo: Repo) -> None:
    checkpoint_project(repo)
    repo.git("remote", "add", "origin", "git@github.com:ada/train.git")
    _, data = init(repo)
    assert extends(data) == ["github", "ml-checkpoints"]
    reasons = " | ".join(data["extends"][1]["reasons"])
    assert "found 2 runs with checkpoints" in reasons
    assert "found 8 *.pth files: 4 tracked, 4 ignored" in reasons
    assert "found wandb/ with 1 file: 1 ignored" in reasons
    assert audit(repo) == (0, set())

    repo.add("outputs/run2/checkpoints/epoch_2.pth")
    repo.commit("oops")
    assert audit(repo) == (1, {("excluded", "outputs/run2/checkpoints/epoch_2.pth")})


def test_a_raw_best_pth_fails_the_proposed_policy(repo: Repo) -> None:
    checkpoint_project(repo)
    init(repo)
    assert audit(repo)[0] == 0
    commit_raw(repo, "outputs/run3/checkpoints/best.pth", os.urandom(300_000))
    assert audit(repo) == (1, {("lfs-missing", "outputs/run3/checkpoints/best.pth")})


def test_the_printed_workflow_from_an_uncommitted_project(repo: Repo) -> None:
    """Nothing committed, no .gitignore: init, then `repolicy fix` and `git add -A`
    give a repository audit accepts."""
    repo.git("lfs", "install", "--local")
    for name in ("best.pth", "last.pth", "epoch_1.pth", "checkpoint_7.pth"):
        repo.write(f"outputs/run1/checkpoints/{name}", os.urandom(2000))
    repo.write("outputs/run1/samples/grid.png", b"png")
    repo.write("outputs/run1/samples/epoch_3.png", b"png")
    repo.write("lightning_logs/version_0/hparams.yaml", "lr: 1\n")
    repo.write("train.py", "print(1)\n")
    proc = repo.run("init")
    assert proc.returncode == 0, proc.stderr
    commands = [line.strip() for line in proc.stdout.split("Then run:", 1)[1].splitlines()]
    assert [c for c in commands if c] == [
        "repolicy fix",
        "pre-commit install --hook-type pre-commit --hook-type pre-push",
        "repolicy audit",
    ]
    assert repo.run("fix").returncode == 0
    repo.git("add", "-A")
    repo.commit("first run")
    tracked = set(repo.git("ls-files").split())
    assert "outputs/run1/checkpoints/epoch_1.pth" not in tracked
    assert "outputs/run1/samples/grid.png" in tracked
    assert audit(repo) == (0, set())


# -- seed 2: versioned datasets in LFS -------------------------------------------


def dataset_project(repo: Repo) -> None:
    repo.git("lfs", "install", "--local")
    repo.write(
        ".gitattributes",
        f"datasets/**/*.jpg {LFS}\ndatasets/**/*.png {LFS}\nmodels/versions/*.pth {LFS}\n"
        f"models/*.pth {LFS}\n",
    )
    repo.write(".gitignore", "data/monitor_state.json\nvenv/\n__pycache__/\n*.pyc\n")
    repo.write("data/labels.json", "{}\n")
    repo.write("data/monitor_state.json", "{}\n")
    for cls in ("good", "failed"):
        for k in range(3):
            repo.write(f"datasets/printer/v1/{cls}/{k}.jpg", os.urandom(1000))
    repo.write("datasets/printer/v1/README.md", "# printer v1\n196 images; resnet18 91%\n")
    repo.write("datasets/printer/v1/labels.json", '{"0.jpg": "good"}\n')
    repo.write("models/printer.pth", os.urandom(2000))
    repo.write("models/versions/printer-v1.pth", os.urandom(2000))
    repo.git("add", "-A")
    repo.commit("release printer v1")


def test_dataset_seed_gets_datasets_lfs_and_audit_accepts_it(repo: Repo) -> None:
    dataset_project(repo)
    repo.git("remote", "add", "origin", "https://github.com/ada/printer.git")
    _, data = init(repo)
    # models/*.pth are covered by datasets-lfs: no training-run rules.
    assert extends(data) == ["github", "datasets-lfs"]
    assert data["extends"][1]["reasons"] == ["found 1 dataset version: datasets/printer/v1/"]
    # Every .gitattributes line is one the preset lists already.
    assert data["lfs"] == []
    assert audit(repo) == (0, set())

    # A second version without its README, and an edit of the released labels.
    repo.write("datasets/printer/v2/good/0.jpg", os.urandom(1000))
    repo.write("datasets/printer/v2/labels.json", "{}\n")
    repo.write("datasets/printer/v1/labels.json", '{"0.jpg": "failed"}\n')
    repo.git("add", "-A")
    repo.commit("v2, and fix a label")
    assert audit(repo) == (
        1,
        {
            ("missing-required", "datasets/printer/v2/"),
            ("frozen-modified", "datasets/printer/v1/labels.json"),
        },
    )


def test_a_raw_dataset_image_fails_the_proposed_policy(repo: Repo) -> None:
    dataset_project(repo)
    init(repo)
    commit_raw(repo, "datasets/cats/v1/0.jpg", os.urandom(300_000))
    code, errors = audit(repo)
    assert code == 1
    assert ("lfs-missing", "datasets/cats/v1/0.jpg") in errors


# -- seed 3: DVC -------------------------------------------------------------------


def dvc_project(repo: Repo) -> None:
    dvc(repo, "init", "-q")
    (repo.path / ".dvc" / "config").write_text("[core]\n    analytics = false\n")
    for k in range(3):
        repo.write(f"data/images/img{k}.jpg", bytes([k]) * 1000)
    repo.write("models/model.pt", os.urandom(1500))
    dvc(repo, "add", "-q", "data/images", "models/model.pt")
    repo.write("train.py", "print(1)\n")
    repo.git("add", "-A")
    repo.commit("data and model under DVC")


def test_dvc_seed_gets_dvc_and_audit_accepts_it(repo: Repo) -> None:
    dvc_project(repo)
    repo.git("remote", "add", "origin", "git@gitlab.com:ada/printer.git")
    _, data = init(repo)
    # models/model.pt is DVC's to store: it calls for no LFS rules.
    assert extends(data) == ["dvc"]
    assert data["extends"][0]["reasons"] == [
        "found .dvc/ (a DVC project)",
        "found 2 .dvc files, e.g. data/images.dvc",
    ]
    assert data["budgets"]["repo"] == 10 * 1000**3
    assert audit(repo) == (0, set())

    repo.add("data/images/img0.jpg")  # `git add -f` after `dvc add`
    repo.commit("oops")
    assert audit(repo) == (1, {("dvc-in-git", "data/images/img0.jpg")})


# -- remotes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "forge", "presets", "budgets"),
    [
        ("git@github.com:ada/t.git", "github", ["github"], {"repo": 1024**3}),
        ("https://github.com/ada/t.git", "github", ["github"], {"file": 100 * MiB}),
        ("git@gitlab.com:ada/t.git", "gitlab.com", ["default"], {"repo": 10 * 1000**3}),
        ("https://gitlab.com/ada/t.git", "gitlab.com", ["default"], {"file": 100 * MiB}),
        ("git@hf.co:ada/model", "huggingface", ["huggingface"], {"file": 10 * MiB}),
        ("https://huggingface.co/ada/model", "huggingface", ["huggingface"], {"repo": None}),
        ("ssh://git@ssh.github.com:443/ada/t.git", "github", ["github"], {"repo": 1024**3}),
        ("/srv/git/t.git", None, ["default"], {}),
    ],
)
def test_the_remote_host_decides_presets_and_budgets(
    repo: Repo, url: str, forge: str | None, presets: list[str], budgets: dict[str, int | None]
) -> None:
    repo.git("remote", "add", "origin", url)
    _, data = init(repo)
    assert data["remotes"] == [
        {"name": "origin", "url": url, "host": data["remotes"][0]["host"], "forge": forge}
    ]
    assert extends(data) == presets
    assert budgets.items() <= data["budgets"].items()
    assert audit(repo)[0] == 0


def test_insteadof_shorthands_and_every_remote_count(repo: Repo) -> None:
    repo.git("config", "url.git@github.com:.insteadOf", "gh:")
    repo.git("remote", "add", "origin", "gh:ada/t.git")
    repo.git("remote", "add", "hub", "https://ada:hf_secret@huggingface.co/ada/t")
    _, data = init(repo)
    assert [r["forge"] for r in data["remotes"]] == ["github", "huggingface"]
    assert data["remotes"][1]["url"] == "https://ada:***@huggingface.co/ada/t"
    assert extends(data) == ["github", "huggingface"]
    assert data["budgets"]["file"] == 10 * MiB  # the Hub's, the stricter
    assert data["budgets"]["repo"] == 1024**3  # GitHub's
    assert "hf_secret" not in (repo.path / ".repolicy.yaml").read_text()


# -- writing -----------------------------------------------------------------------


def test_an_existing_policy_is_refused_and_left_unchanged(repo: Repo) -> None:
    policy = repo.write(".repolicy.yaml", "extends: [github]\n# mine\n")
    before = policy.stat()
    proc = repo.run("init")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("repolicy: error: .repolicy.yaml already exists: nothing was")
    assert "--force" in proc.stderr
    assert policy.read_text() == "extends: [github]\n# mine\n"
    assert policy.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in repo.path.iterdir()) == [".git", ".repolicy.yaml"]


def test_force_replaces_it_keeping_its_permissions(repo: Repo) -> None:
    policy = repo.write(".repolicy.yaml", "extends: [github]\n")
    policy.chmod(0o640)
    repo.write("wandb/run/x.log", "x")
    proc = repo.run("init", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "- ml-checkpoints" in policy.read_text()
    assert policy.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in repo.path.iterdir() if p.name.startswith(".repolicy-")] == []


def test_a_dangling_symlink_counts_as_an_existing_policy(repo: Repo) -> None:
    (repo.path / ".repolicy.yaml").symlink_to("elsewhere.yaml")
    assert repo.run("init").returncode == 2
    assert not (repo.path / "elsewhere.yaml").exists()


def test_preset_forces_the_base_and_an_unknown_one_lists_them(repo: Repo) -> None:
    repo.git("remote", "add", "origin", "git@github.com:ada/t.git")
    _, data = init(repo, "--preset", "huggingface")
    assert extends(data) == ["huggingface"]
    assert data["budgets"]["file"] == 10 * MiB
    proc = repo.run("init", "--force", "--preset", "gitlab")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "repolicy: error: unknown preset 'gitlab'; choose one of: datasets-lfs, default, dvc, "
        "github, huggingface, ml-checkpoints"
    )


def test_an_empty_repository_without_commits(repo: Repo) -> None:
    proc = repo.run("init")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wrote .repolicy.yaml: extends default\n")
    text = (repo.path / ".repolicy.yaml").read_text()
    assert "no remote yet" in text
    assert load_policy(str(repo.path)).name == ".repolicy.yaml"
    assert audit(repo) == (0, set())


def test_from_a_subdirectory_it_writes_at_the_top_level(repo: Repo) -> None:
    repo.write("src/pkg/model.py", "")
    _, data = init(repo, cwd=repo.path / "src")
    assert data["policy"] == ".repolicy.yaml"
    assert (repo.path / ".repolicy.yaml").is_file()
    assert not (repo.path / "src" / ".repolicy.yaml").exists()


def test_outside_a_repository_it_says_so(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    proc = repo.run("init", cwd=outside)
    assert proc.returncode == 2
    assert "not a git repository" in proc.stderr


def test_tracked_files_the_policy_excludes_are_named(repo: Repo) -> None:
    repo.write("runs/May01/events.out.tfevents.1.host", "x")
    repo.add("runs/May01/events.out.tfevents.1.host")
    repo.commit("logs")
    proc = repo.run("init")
    assert "note: 1 tracked file match the policy's exclude rules" in proc.stdout
    _, data = init(repo, "--force")
    assert data["tracked_excluded"] == ["runs/May01/events.out.tfevents.1.host"]


# -- the pre-commit entries --------------------------------------------------------


def test_the_pre_commit_entries_match_the_readme_and_the_published_hooks(repo: Repo) -> None:
    proc = repo.run("init")
    block = proc.stdout.split("Add to .pre-commit-config.yaml", 1)[1].split("Then run:", 1)[0]
    config = yaml.safe_load(block.split(":\n", 1)[1].replace("\n  ", "\n"))
    assert config == {"repos": [{"repo": "local", "hooks": list(LOCAL_HOOKS)}]}
    readme = (ROOT / "README.md").read_text()
    snippet = re.search(r"```yaml\n# \.pre-commit-config\.yaml\n(.*?)```", readme, re.DOTALL)
    assert snippet is not None
    assert yaml.safe_load(snippet.group(1)) == config, "README and init print the same entries"
    published = {hook["id"]: hook for hook in yaml.safe_load(
        (ROOT / ".pre-commit-hooks.yaml").read_text()
    )}  # fmt: skip
    for hook in LOCAL_HOOKS:
        assert hook["id"] in HOOKS
        assert hook["stages"] == published[hook["id"]]["stages"]
    _, data = init(repo, "--force")
    assert data["pre_commit"] == config
    assert [n["command"] for n in data["next"]] == [
        "repolicy fix",
        "pre-commit install --hook-type pre-commit --hook-type pre-push",
        "repolicy audit",
    ]


def test_the_printed_pre_commit_entries_work_as_pasted(repo: Repo, tmp_path: Path) -> None:
    """Pasted into a fresh repository and run by the real pre-commit, with the
    `repolicy` on PATH (here: this checkout)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "repolicy"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m repolicy "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
    }
    printed = repo.run("init").stdout
    block = printed.split("Add to .pre-commit-config.yaml", 1)[1].split("Then run:", 1)[0]
    repo.write(".pre-commit-config.yaml", block.split(":\n", 1)[1].replace("\n  ", "\n"))
    repo.write(".repolicy.yaml", 'exclude: ["*.log"]\n')

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=repo.path, env=env, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip

    installed = run(sys.executable, "-m", "pre_commit", "install", "--hook-type", "pre-commit")
    assert installed.returncode == 0, installed.stdout
    repo.write("-notes.txt", "a file name that looks like an option\n")
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", ".pre-commit-config.yaml", "-notes.txt", "train.py")
    clean = run("git", "commit", "-q", "-m", "start")
    assert clean.returncode == 0, clean.stdout
    assert "repolicy (repository policy)" in clean.stdout
    repo.write("wandb/debug.log", "step 1\n")
    repo.add("wandb/debug.log")
    blocked = run("git", "commit", "-q", "-m", "logs")
    assert blocked.returncode != 0
    assert "wandb/debug.log: error [excluded]" in blocked.stdout
    all_files = run(sys.executable, "-m", "pre_commit", "run", "--all-files")
    assert all_files.returncode == 1, all_files.stdout


# -- the layout init finds, not the seed's ----------------------------------------


LAYOUTS: dict[str, tuple[list[str], set[tuple[str, str]]]] = {
    "lightning": (
        [
            "lightning_logs/version_0/checkpoints/epoch=3-step=100.ckpt",
            "lightning_logs/version_1/checkpoints/epoch=9-step=400.ckpt",
            "lightning_logs/version_1/checkpoints/last.ckpt",
            "lightning_logs/version_1/hparams.yaml",
        ],
        {("include", "lightning_logs/version_*/checkpoints/last.ckpt")},
    ),
    "lightning-hydra-template": (
        [
            "logs/train/runs/2024-05-01_12-00-00/checkpoints/epoch_003.ckpt",
            "logs/train/runs/2024-05-01_12-00-00/checkpoints/last.ckpt",
            "logs/train/runs/2024-05-02_08-30-00/checkpoints/epoch_001.ckpt",
            "logs/train/runs/2024-05-02_08-30-00/checkpoints/last.ckpt",
        ],
        {("include", "logs/train/runs/*/checkpoints/last.ckpt")},
    ),
    "hydra": (
        [
            "outputs/2024-05-01/12-00-00/.hydra/config.yaml",
            "outputs/2024-05-01/12-00-00/train.log",
            "outputs/2024-05-01/12-00-00/model_best.pt",
            "outputs/2024-05-02/09-10-11/.hydra/config.yaml",
        ],
        {("exclude", "outputs/*/*/"), ("include", "outputs/*/*/model_best.pt")},
    ),
    "huggingface-trainer": (
        [
            "results/checkpoint-500/model.safetensors",
            "results/checkpoint-500/optimizer.pt",
            "results/checkpoint-1000/model.safetensors",
            "results/final/model.safetensors",
            "results/model.safetensors",
        ],
        {
            ("include", "results/final/model.safetensors"),
            ("include", "results/model.safetensors"),
        },
    ),
    "nanogpt": (
        ["out/ckpt.pt", "out-shakespeare-char/ckpt.pt"],
        {("exclude", "out*/ckpt.pt")},
    ),
    "trackers": (
        ["runs/May01/events.out.tfevents.1.host", "wandb/run-1/files/output.log",
         "mlruns/0/meta.yaml", "mlruns/0/abc/artifacts/model.pkl"],
        {("exclude", "/mlruns/")},
    ),
}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_init_proposes_rules_for_the_layout_it_finds(repo: Repo, layout: str) -> None:
    paths, expected = LAYOUTS[layout]
    repo.write("train.py", "print(1)\n")
    repo.add("train.py")
    repo.commit("start")
    for path in paths:
        repo.write(path, os.urandom(64))
    _, data = init(repo)
    assert {(r["key"], r["pattern"]) for r in data["rules"]} == expected
    text = (repo.path / ".repolicy.yaml").read_text()
    policy = load_policy(repo.path)
    from repolicy.checks import Context

    ctx = Context(policy)
    for rule in data["rules"]:
        # Each rule is commented with the paths that made it, and selects them.
        assert f"# found: {rule['paths'][0]}" in text
        for path in rule["paths"]:
            if rule["key"] == "include":
                assert ctx.including_rule(path) is not None, path
            else:
                assert ctx.excluding_rule(path) is not None, path
    # The seed's locations are not proposed where nothing is there.
    assert "outputs/*/checkpoints/best.pth" not in text
    # After `fix`, every kept model is visible to git and every dropped one ignored.
    assert repo.run("fix").returncode in (0, 1)
    untracked = set(repo.git("ls-files", "--others", "--exclude-standard", "-z").split("\0"))
    for rule in data["rules"]:
        for path in rule["paths"]:
            if rule["key"] == "include":
                assert path in untracked, path
            else:
                visible = [u for u in untracked if u.startswith(path)]
                assert all(ctx.including_rule(u) for u in visible), (path, visible)


# -- history: budgets that hold today, and a baseline for what it already has --------


def test_init_fits_budgets_to_history_and_offers_the_old_violations_as_a_baseline(
    repo: Repo,
) -> None:
    repo.git("remote", "add", "origin", "git@github.com:onnx/models.git")
    repo.git("lfs", "install", "--local")
    repo.write(".gitattributes", f"*.onnx {LFS}\n")
    big = 3 * 1024**3  # over the 2 GiB of GitHub Free and Pro: allowed on Team
    for name in ("a", "b"):
        oid = f"{name * 64}"
        repo.write(
            f"vision/{name}.onnx",
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {big}\n",
        )
    repo.write("logs/train.log", "old log\n")
    repo.add(".gitattributes", "vision", "logs/train.log")
    repo.write("lightning_logs/version_0/checkpoints/epoch=0-step=1.ckpt", os.urandom(64))
    repo.add("lightning_logs")
    repo.commit("old history")

    proc = repo.run("init")
    assert proc.returncode == 0, proc.stderr
    policy = load_policy(repo.path)
    assert policy.limit("lfs_file") == 4 * 1000**3  # GitHub Team's, which holds today
    lines = (repo.path / ".repolicy.yaml").read_text().splitlines()
    comments = " ".join(line.strip().lstrip("# ") for line in lines)
    assert "2 GB per LFS file on Free and Pro, 4 GB on Team, 5 GB on Enterprise Cloud" in comments
    announced = re.search(r"already holds (\d+) violations of this policy", proc.stdout)
    assert announced is not None, proc.stdout
    steps = proc.stdout.split("Then run:", 1)[1].split()
    assert "--write-baseline" in steps

    code, errors = audit(repo)
    assert code == 1 and errors  # the old violations, until the baseline accepts them
    # The printed steps, in order: fix first (what is wrong on disk), then the baseline.
    repo.run("fix")
    written = repo.run("audit", "--write-baseline")
    assert written.returncode == 0, written.stderr
    assert f"{announced.group(1)} violations)" in written.stdout
    repo.add(".repolicy.yaml", ".repolicy-baseline", ".gitignore", ".gitattributes")
    repo.commit("adopt repolicy")
    assert audit(repo) == (0, set())

    repo.write("logs/new.log", "a new log\n")
    repo.add("logs/new.log")
    repo.commit("a new violation")
    assert audit(repo) == (1, {("excluded", "logs/new.log")})
