"""`repolicy.init.detect`: what init finds in a list of paths, and the policy it proposes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from repolicy.git.repo import _parse_remote_urls
from repolicy.init.detect import (
    GITLAB_BUDGETS,
    Facts,
    Found,
    Inventory,
    LfsLine,
    Proposal,
    forge_of,
    format_size,
    gather,
    lfs_lines,
    propose,
    remotes_of,
    render,
    url_host,
)
from repolicy.policy import Policy, load_policy, preset_names, presets_dir

MiB = 1024**2
GiB = 1024**3


@pytest.fixture(scope="module")
def presets() -> dict[str, Policy]:
    return {n: load_policy(None, os.path.join(presets_dir(), f"{n}.yaml")) for n in preset_names()}


def facts(
    tracked: tuple[str, ...] = (),
    untracked: tuple[str, ...] = (),
    ignored: tuple[str, ...] = (),
    attributes: dict[str, str] | None = None,
    remotes: tuple[tuple[str, str], ...] = (),
    sizes: dict[str, int] | None = None,
) -> Facts:
    return gather(
        Inventory(tracked, untracked, ignored),
        attributes or {},
        remotes,
        (sizes or {}).get,
    )


def loads(proposal: Proposal, tmp_path: Path) -> Policy:
    """The rendered policy, read back by the project's loader."""
    path = tmp_path / ".repolicy.yaml"
    path.write_text(render(proposal))
    return load_policy(str(tmp_path), str(path))


# -- remotes --


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("git@github.com:ada/train.git", "github.com"),
        ("https://github.com/ada/train.git", "github.com"),
        ("https://ada:token@GitHub.com/ada/train", "github.com"),
        ("ssh://git@ssh.github.com:443/ada/train.git", "ssh.github.com"),
        ("git+ssh://git@gitlab.com/ada/train.git", "gitlab.com"),
        ("gitlab.example.org:group/train.git", "gitlab.example.org"),
        ("ssh://git@[2001:db8::1]:22/repo.git", "2001:db8::1"),
        ("hf.co:ada/model", "hf.co"),
        ("file:///srv/git/train.git", None),
        ("/srv/git/train.git", None),
        ("../train", None),
        ("./dir:with-colon", None),
        ("C:\\repos\\train", None),
    ],
)
def test_url_host_reads_urls_and_scp_like_addresses_as_git_does(url: str, host: str | None) -> None:
    assert url_host(url) == host


@pytest.mark.parametrize(
    ("host", "forge"),
    [
        ("github.com", "github"),
        ("ssh.github.com", "github"),
        ("huggingface.co", "huggingface"),
        ("hf.co", "huggingface"),
        ("gitlab.com", "gitlab.com"),
        ("altssh.gitlab.com", "gitlab.com"),
        ("gitlab.example.org", "gitlab"),
        ("notgithub.com", None),
        ("bitbucket.org", None),
        (None, None),
    ],
)
def test_forge_of_host(host: str | None, forge: str | None) -> None:
    assert forge_of(host) == forge


def test_origin_comes_first_and_remote_v_is_read_once_per_url() -> None:
    out = (
        b"backup\t/srv/backup.git (fetch)\nbackup\t/srv/backup.git (push)\n"
        b"origin\tgit@github.com:ada/t.git (fetch)\norigin\tgit@github.com:ada/t.git (push)\n"
    )
    pairs = _parse_remote_urls(out)
    assert pairs == [("backup", "/srv/backup.git"), ("origin", "git@github.com:ada/t.git")]
    assert [r.name for r in remotes_of(pairs)] == ["origin", "backup"]
    assert remotes_of(pairs)[0].forge == "github"


# -- .gitattributes --


def test_lfs_lines_of_the_root_and_of_a_nested_gitattributes() -> None:
    root = (
        "# images\n"
        "*.pth filter=lfs diff=lfs merge=lfs -text\n"
        "*.txt text eol=lf\n"
        "/weights/*.bin filter=lfs diff=lfs merge=lfs -text\n"
        "[attr]lfs filter=lfs diff=lfs merge=lfs -text\n"
        "*.psd -filter\n"
    )
    assert lfs_lines(".gitattributes", root) == [
        LfsLine(".gitattributes", 2, "*.pth filter=lfs diff=lfs merge=lfs -text", "*.pth"),
        LfsLine(
            ".gitattributes", 4, "/weights/*.bin filter=lfs diff=lfs merge=lfs -text",
            "/weights/*.bin",
        ),
    ]  # fmt: skip
    nested = "*.jpg filter=lfs\nraw/*.png filter=lfs\n"
    assert [line.pattern for line in lfs_lines("data/.gitattributes", nested)] == [
        "data/**/*.jpg",  # a name without '/' matches at any depth below data/
        "data/raw/*.png",  # one with a '/' is anchored at data/
    ]


def test_lfs_lines_git_would_never_apply_are_kept_with_the_reason() -> None:
    text = 'images/ filter=lfs\n"with space.bin" filter=lfs\n!x.bin filter=lfs\nbad[ filter=lfs\n'
    lines = lfs_lines(".gitattributes", text)
    assert [(line.line, line.pattern) for line in lines] == [
        (1, None),
        (2, None),
        (3, None),
        (4, None),
    ]
    assert all(line.problem for line in lines)


# -- facts --


def test_checkpoints_runs_and_trackers_are_found_tracked_or_ignored() -> None:
    found = facts(
        tracked=("outputs/run1/checkpoints/best.pth", "outputs/run1/checkpoints/last.pth"),
        untracked=("src/model.safetensors",),
        ignored=(
            "outputs/run1/checkpoints/epoch_1.pth",
            "outputs/run2/checkpoints/epoch_1.ckpt",
            "wandb/run-1/files/output.log",
            "wandb/run-1/files/config.yaml",
            "runs/May01/events.out.tfevents.1714.host",
            "lightning_logs/version_0/hparams.yaml",
            "venv/lib/python3.11/site-packages/torch/test/fixture.pt",
        ),
        sizes={"outputs/run1/checkpoints/best.pth": 95 * MiB},
    )
    by_label = {g.label: g for g in facts_groups(found)}
    pth = by_label["*.pth files"]
    assert (len(pth.paths), pth.tracked, pth.ignored, pth.largest) == (3, 2, 1, 95 * MiB)
    assert pth.describe() == "found 3 *.pth files: 2 tracked, 1 ignored, largest 95.0 MiB"
    assert "*.pt files" not in by_label  # inside a virtual environment: not the project's
    assert by_label["wandb/"].describe() == "found wandb/ with 2 files: 2 ignored"
    assert set(by_label) >= {"runs/", "lightning_logs/", "TensorBoard event files", "*.ckpt files"}
    assert found.runs == ("outputs/run1/checkpoints/", "outputs/run2/checkpoints/")


def facts_groups(found: Facts) -> list[Found]:
    return [*found.checkpoints, *found.trackers]


def test_dataset_versions_and_dvc_projects_are_found() -> None:
    found = facts(
        tracked=(
            "datasets/printer/v1/README.md",
            "datasets/printer/v1/good/1.jpg",
            "datasets/printer/v2/labels.json",
            "datasets/printer/latest/README.md",  # not a version directory
            "datasets/README.md",
            ".dvc/config",
            ".dvc/.gitignore",
            "data/images.dvc",
            "models/model.pt.dvc",
            "dvc.yaml",
        ),
        ignored=(
            ".dvc/cache/files/md5/3b/63b2858adb3fdeb149abef3325e297.dir",
            "data/images/img0.jpg",
            "models/model.pt",  # managed by DVC: not a checkpoint for git
        ),
    )
    assert found.datasets == ("datasets/printer/v1/", "datasets/printer/v2/")
    assert found.dvc_dirs == (".dvc/",)
    assert found.dvc_files == ("data/images.dvc", "dvc.yaml", "models/model.pt.dvc")
    assert found.checkpoints == ()


def test_an_empty_repository_has_no_facts() -> None:
    found = facts()
    assert found.empty
    assert (found.checkpoints, found.datasets, found.remotes) == ((), (), ())


# -- the proposal --


def names(proposal: Proposal) -> list[str]:
    return [c.name for c in proposal.extends]


def budgets(proposal: Proposal) -> dict[str, int | None]:
    return {b.key: b.limit for b in proposal.budgets}


def test_nothing_found_and_no_remote_means_the_default_preset(
    presets: dict[str, Policy], tmp_path: Path
) -> None:
    proposal = propose(facts(tracked=("train.py",)), presets)
    assert names(proposal) == ["default"]
    assert proposal.budgets == ()
    assert "no remote yet" in proposal.budgets_note
    assert loads(proposal, tmp_path).limit("repo") == 5 * GiB


def test_a_github_training_repository(presets: dict[str, Policy], tmp_path: Path) -> None:
    found = facts(
        tracked=("outputs/run1/checkpoints/best.pth",),
        remotes=(("origin", "git@github.com:ada/train.git"),),
    )
    proposal = propose(found, presets)
    assert names(proposal) == ["github", "ml-checkpoints"]
    assert budgets(proposal) == {
        "file": 100 * MiB, "file_warn": 50 * MiB, "repo": GiB, "lfs_file": 2 * GiB,
        "push": 2 * 1000**3, "directory_entries": 3000,
    }  # fmt: skip
    assert proposal.extends[0].reasons == ("remote origin is github.com",)
    policy = loads(proposal, tmp_path)
    assert policy.limit("repo") == GiB
    assert any(r.text == "outputs/*/checkpoints/epoch_*.pth" for r in policy.exclude)


def test_gitlab_limits_are_written_with_their_source(
    presets: dict[str, Policy], tmp_path: Path
) -> None:
    proposal = propose(facts(remotes=(("origin", "https://gitlab.com/ada/t.git"),)), presets)
    assert names(proposal) == ["default"]
    assert budgets(proposal) == {key: value for key, (value, _why) in GITLAB_BUDGETS.items()}
    assert budgets(proposal)["repo"] == 10 * 1000**3
    text = render(proposal)
    assert "  repo: 10 GB\n" in text and "GitLab.com's repository size limit" in text
    assert loads(proposal, tmp_path).limit("lfs") == 10 * 1000**3


def test_a_self_managed_gitlab_says_its_admin_sets_the_limits(presets: dict[str, Policy]) -> None:
    proposal = propose(facts(remotes=(("origin", "git@gitlab.example.org:a/b.git"),)), presets)
    assert budgets(proposal)["file"] == 100 * MiB
    assert "self-managed GitLab" in proposal.budgets_note


def test_the_hub_lifts_the_repository_budget_github_presets_bring(
    presets: dict[str, Policy], tmp_path: Path
) -> None:
    found = facts(
        tracked=("outputs/run1/checkpoints/best.pth",),
        remotes=(("origin", "https://huggingface.co/ada/model"),),
    )
    proposal = propose(found, presets)
    assert names(proposal) == ["huggingface", "ml-checkpoints"]
    assert budgets(proposal)["repo"] is None
    assert budgets(proposal)["file"] == 10 * MiB
    policy = loads(proposal, tmp_path)
    assert policy.limit("repo") is None  # ml-checkpoints' (GitHub's) 1 GiB is lifted
    assert policy.limit("file") == 10 * MiB


def test_two_hosts_get_the_strictest_budget_of_each(
    presets: dict[str, Policy], tmp_path: Path
) -> None:
    found = facts(
        tracked=("datasets/printer/v1/README.md",),
        remotes=(("hub", "git@hf.co:datasets/ada/p"), ("origin", "git@github.com:ada/p.git")),
    )
    proposal = propose(found, presets)
    assert names(proposal) == ["github", "huggingface", "datasets-lfs"]
    # The Hub's binary limit is its own key now; GitHub's warning stays.
    assert budgets(proposal) == {
        "file": 10 * MiB, "file_warn": 50 * MiB, "file_binary": 1000 * 1000, "repo": GiB,
        "lfs_file": 2 * GiB, "push": 2 * 1000**3, "directory_entries": 3000,
    }  # fmt: skip
    # GitHub leaves `lfs` to the presets, so datasets-lfs's GitHub LFS quota stays.
    assert loads(proposal, tmp_path).limit("lfs") == 10 * GiB


def test_models_of_a_dataset_project_do_not_call_for_ml_checkpoints(
    presets: dict[str, Policy],
) -> None:
    found = facts(
        tracked=(
            "datasets/printer/v1/README.md",
            "models/printer.pth",
            "models/versions/printer-v1.pth",
        )
    )
    proposal = propose(found, presets)
    assert names(proposal) == ["datasets-lfs"]
    assert any("covered by datasets-lfs" in note for note in proposal.notes)
    # A checkpoint elsewhere does.
    found = facts(tracked=("datasets/printer/v1/README.md", "train/ckpt.pt"))
    assert names(propose(found, presets)) == ["ml-checkpoints", "datasets-lfs"]


def test_a_tracker_directory_alone_calls_for_ml_checkpoints(presets: dict[str, Policy]) -> None:
    proposal = propose(facts(ignored=("wandb/latest-run",)), presets)
    assert names(proposal) == ["ml-checkpoints"]
    assert proposal.extends[0].reasons == ("found wandb/ with 1 file: 1 ignored",)


def test_dvc_is_proposed_for_a_dvc_project(presets: dict[str, Policy]) -> None:
    proposal = propose(facts(tracked=(".dvc/config", "data/images.dvc")), presets)
    assert names(proposal) == ["dvc"]
    assert proposal.extends[0].reasons == (
        "found .dvc/ (a DVC project)",
        "found 1 .dvc file, e.g. data/images.dvc",
    )


def test_a_forced_host_preset_replaces_the_remotes_budgets(presets: dict[str, Policy]) -> None:
    found = facts(remotes=(("origin", "git@github.com:a/b.git"),))
    proposal = propose(found, presets, forced="huggingface")
    assert names(proposal) == ["huggingface"]
    assert budgets(proposal)["file"] == 10 * MiB
    assert proposal.extends[0].reasons == ("chosen with --preset",)


def test_a_forced_layout_preset_comes_first_and_detection_still_adds(
    presets: dict[str, Policy],
) -> None:
    found = facts(tracked=(".dvc/config",), remotes=(("origin", "git@github.com:a/b.git"),))
    proposal = propose(found, presets, forced="ml-checkpoints")
    assert names(proposal) == ["ml-checkpoints", "github", "dvc"]
    assert budgets(proposal)["repo"] == GiB


def test_existing_lfs_lines_join_the_policy_unless_a_preset_lists_them(
    presets: dict[str, Policy], tmp_path: Path
) -> None:
    found = facts(
        tracked=("outputs/r/checkpoints/best.pth", ".gitattributes", "assets/.gitattributes"),
        attributes={
            ".gitattributes": "*.pth filter=lfs diff=lfs merge=lfs -text\n"
            "*.onnx filter=lfs diff=lfs merge=lfs -text\nimages/ filter=lfs\n",
            "assets/.gitattributes": "*.psd filter=lfs -text\n",
        },
    )
    proposal = propose(found, presets)
    assert [(e.pattern, e.why) for e in proposal.lfs] == [
        ("*.onnx", "already stored in Git LFS by .gitattributes:2"),
        ("assets/**/*.psd", "already stored in Git LFS by assets/.gitattributes:1"),
    ]
    assert any(n.startswith(".gitattributes:3: `images/ filter=lfs`") for n in proposal.notes)
    policy = loads(proposal, tmp_path)
    assert [r.text for r in policy.lfs][-2:] == ["*.onnx", "assets/**/*.psd"]


def test_every_comment_is_a_comment_whatever_the_file_names(
    presets: dict[str, Policy], tmp_path: Path
) -> None:
    found = facts(tracked=("outputs/run\n1/checkpoints/best.pth", "datasets/a\nb/v1/x"))
    text = render(propose(found, presets))
    assert all(line == "" or line.startswith(("#", " ", "extends")) for line in text.splitlines())
    assert "\\n" in text
    loads(propose(found, presets), tmp_path)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (100 * MiB, "100 MiB"),
        (2 * GiB, "2 GiB"),
        (10 * 1000**3, "10 GB"),
        (500 * 1000**3, "500 GB"),
        (1024, "1 KiB"),
        (1000, "1 KB"),
        (123, "123"),
    ],
)
def test_format_size_is_exact_and_short(size: int, text: str) -> None:
    assert format_size(size) == text


def test_one_file_is_one_file() -> None:
    from repolicy.init.detect import Found

    assert (
        Found("*.pt files", ("out/ckpt.pt",), 0, 0).describe() == "found 1 *.pt file: 1 untracked"
    )
    assert Found("*.pt files", ("a.pt", "b.pt"), 2, 0).describe() == "found 2 *.pt files: 2 tracked"


def test_a_top_level_layout_is_anchored_at_the_top() -> None:
    """A Trainer writing to the repository root: its final model is kept, and the
    proposed include must not reach into checkpoint-N/ (include beats exclude)."""
    from repolicy.checks import Context
    from repolicy.init.detect import layout_rules
    from repolicy.policy import load_policy, presets_dir

    preset = load_policy(None, os.path.join(presets_dir(), "ml-checkpoints.yaml"))
    states = {
        p: "untracked"
        for p in ("checkpoint-500/model.safetensors", "model.safetensors", "config.json")
    }
    rules = layout_rules(states, [Context(preset)])
    assert [(r.key, r.pattern) for r in rules] == [("include", "/model.safetensors")]
    ctx = Context(preset._replace(include=(*preset.include, *_as_rules(rules))))
    assert ctx.excluding_rule("checkpoint-500/model.safetensors") is not None
    assert ctx.including_rule("model.safetensors") is not None


def _as_rules(entries: list[Any]) -> list[Any]:
    from repolicy.policy import Rule, Source
    from repolicy.policy.match import compile_pattern

    return [Rule(e.key, compile_pattern(e.pattern), Source("t", 1, 1)) for e in entries]
