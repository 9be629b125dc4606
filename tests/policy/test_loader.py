"""Loading policies: what users write, and the one-line errors they get when it is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from repolicy.errors import PolicyError
from repolicy.policy import Policy, load_policy, parse_size, preset_names

from ..conftest import Repo


def write_policy(tmp_path: Path, text: str, name: str = ".repolicy.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_error(tmp_path: Path, text: str) -> PolicyError:
    write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    return info.value


# -- what a policy means --------------------------------------------------------


def run_bounded(repo: Repo, command: str) -> subprocess.CompletedProcess[str]:
    """`repolicy COMMAND` in the repository, with a timeout only so that a
    regression that blocks (a FIFO read) fails instead of hanging the suite."""
    return subprocess.run(
        [sys.executable, "-m", "repolicy", command],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_policy_file_means_the_default_preset(tmp_path: Path) -> None:
    policy = load_policy(tmp_path)
    assert policy.name == "preset:default"
    assert policy.limit("file") == 100 * 1024**2
    assert policy.limit("file_warn") == 50 * 1024**2
    assert policy.limit("repo") == 5 * 1024**3
    assert policy.limit("lfs_file") == 2 * 1024**3
    assert policy.limit("lfs") is None
    assert not (policy.include or policy.exclude or policy.lfs or policy.require or policy.frozen)


def test_an_empty_policy_file_means_the_default_preset(tmp_path: Path) -> None:
    write_policy(tmp_path, "# nothing yet\n")
    policy = load_policy(tmp_path)
    assert policy.name == ".repolicy.yaml"
    assert policy.limit("file") == 100 * 1024**2
    assert policy.limit("repo") == 5 * 1024**3


def test_the_first_seed_policy_loads_with_positions_and_reasons(tmp_path: Path) -> None:
    write_policy(
        tmp_path,
        """\
        extends: [github]
        include:
          - outputs/*/checkpoints/best.pth
        exclude:
          - pattern: outputs/*/checkpoints/epoch_*.pth
            why: intermediate checkpoints are rebuilt by training
            severity: warning
          - "*.log"
        lfs: ["*.pth"]
        require:
          "datasets/*/v*/": [README.md, labels.json]
        frozen: [datasets/*/v*/**]
        dvc: [data/images/]
        """,
    )
    policy = load_policy(tmp_path)
    assert [r.text for r in policy.include] == ["outputs/*/checkpoints/best.pth"]
    epoch, log = policy.exclude
    assert (epoch.why, epoch.severity) == (
        "intermediate checkpoints are rebuilt by training",
        "warning",
    )
    assert (epoch.source.file, epoch.source.line) == (".repolicy.yaml", 5)
    assert (log.why, log.severity, log.source.line) == (None, None, 8)
    assert str(log) == "exclude: *.log"
    assert policy.limit("repo") == 1024**3  # from the github preset
    (req,) = policy.require
    assert req.directory.text == "datasets/*/v*/"
    assert [f.text for f in req.files] == ["README.md", "labels.json"]
    assert [r.text for r in policy.frozen] == ["datasets/*/v*/**"]
    assert [r.text for r in policy.dvc] == ["data/images/"]


def test_extends_puts_parents_first_and_budgets_override(tmp_path: Path) -> None:
    write_policy(
        tmp_path, "exclude: [base.tmp]\nbudgets: {file: 10 MB, repo: 2 GB}\n", "team/base.yaml"
    )
    write_policy(
        tmp_path,
        "extends: [ml-checkpoints, team/base.yaml]\nexclude: [mine.tmp]\nbudgets: {file: 1 MiB}\n",
    )
    policy = load_policy(tmp_path)
    texts = [r.text for r in policy.exclude]
    assert texts[-2:] == ["base.tmp", "mine.tmp"]
    assert "outputs/*/checkpoints/epoch_*.pth" in texts[:-2]
    assert policy.limit("file") == 1024**2  # the extending file wins
    assert policy.limit("repo") == 2 * 1000**3  # the later parent beats the earlier
    rule = policy.exclude[-2]
    assert rule.source.file == "team/base.yaml"
    assert policy.exclude[0].source.file == "preset:ml-checkpoints"


def test_a_null_budget_lifts_the_presets_limit(tmp_path: Path) -> None:
    write_policy(tmp_path, "extends: [github]\nbudgets: {repo: null}\n")
    assert load_policy(tmp_path).limit("repo") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100 MiB", 100 * 1024**2),
        ("100MiB", 100 * 1024**2),
        ("100 mib", 100 * 1024**2),
        ("100 MB", 100 * 1000**2),
        ("1 GB", 1000**3),
        ("1 GiB", 1024**3),
        ("2 KB", 2000),
        ("2 KiB", 2048),
        ("512", 512),
        ("512 B", 512),
        ("1.5 GiB", 3 * 1024**3 // 2),
    ],
)
def test_sizes_use_decimal_and_binary_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_all_six_presets_ship_and_load(tmp_path: Path) -> None:
    assert set(preset_names()) >= {
        "default",
        "github",
        "huggingface",
        "ml-checkpoints",
        "datasets-lfs",
        "dvc",
    }
    for name in preset_names():
        write_policy(tmp_path, f"extends: [{name}]\n")
        policy = load_policy(tmp_path)
        assert policy.budgets, name


def test_presets_hold_the_documented_limits(tmp_path: Path) -> None:
    def preset(name: str):  # type: ignore[no-untyped-def]
        write_policy(tmp_path, f"extends: [{name}]\n")
        return load_policy(tmp_path)

    github = preset("github")
    assert (github.limit("file"), github.limit("file_warn"), github.limit("repo")) == (
        100 * 1024**2,
        50 * 1024**2,
        1024**3,
    )
    hub = preset("huggingface")
    assert (hub.limit("file"), hub.limit("file_binary")) == (10 * 1024**2, 1000**2)
    ml = preset("ml-checkpoints")
    assert ml.limit("repo") == 1024**3
    assert {"*.pth", "*.pt", "*.ckpt", "*.safetensors"} <= {r.text for r in ml.lfs}
    assert {"outputs/*/checkpoints/best.pth", "outputs/*/checkpoints/last.pth"} <= {
        r.text for r in ml.include
    }
    default = preset("default")
    assert not (default.include or default.exclude or default.lfs)


# -- errors: FILE:LINE:COL, never a traceback ------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        ("exclude:\n  - [unclosed\n", 3, 1, "invalid YAML"),
        ("exclude:\n  - *.log\n", 2, 5, "quote patterns that start with '*'"),
        ("exlude: [a]\n", 1, 1, "did you mean 'exclude'?"),
        ("budgets:\n  flie: 1 MB\n", 2, 3, "did you mean 'file'?"),
        ("exclude: '*.log'\n", 1, 10, "must be a list"),
        ("exclude:\n  - {pattern: a, wy: b}\n", 2, 18, "did you mean 'why'?"),
        ("exclude:\n  - {why: b}\n", 2, 5, "needs a 'pattern'"),
        (
            "exclude:\n  - {pattern: a, severity: fatal}\n",
            2,
            28,
            "severity must be 'error', 'warning' or 'off'",
        ),
        ("budgets:\n  file: 100 MiBs\n", 2, 9, "bad size"),
        ("budgets:\n  file: lots\n", 2, 9, "bad size"),
        ("budgets:\n  file: -5\n", 2, 9, "cannot be negative"),
        ("budgets: [1]\n", 1, 10, "must be a mapping"),
        ("exclude:\n  - '!'\n", 2, 6, "lone '!'"),
        ("exclude:\n  - '!keep.me'\n", 2, 6, "move the pattern to 'include'"),
        ("exclude:\n  - 'data[0-9'\n", 2, 10, "unclosed '['"),
        ("exclude:\n  - 'foo\\'\n", 2, 9, "trailing unescaped"),
        ("exclude:\n  - 'epoch_*.pth  '\n", 2, 17, "trailing spaces"),
        ("exclude:\n  - '[[:digits:]]'\n", 2, 6, "unknown character class"),
        ("exclude:\n  - '#notes'\n", 2, 6, "comment"),
        ("exclude:\n  - ''\n", 2, 5, "empty pattern"),
        ("exclude:\n  - a\nexclude:\n  - b\n", 3, 1, "duplicate key 'exclude'"),
        ("extends: [gihtub]\n", 1, 11, "did you mean 'github'?"),
        ("extends: [nosuch/file.yaml]\n", 1, 11, "no policy file"),
        ("exclude: !!python/object:os.system [a]\n", 1, 10, "not allowed"),
        ("exclude:\n  - 12\n", 2, 5, "must be a string"),
        ("- a\n- b\n", 1, 1, "must be a mapping"),
        ("budgets:\n  file_binary: 1 MiBs\n", 2, 16, "bad size"),
        ("budgets:\n  file_binry: 1 MB\n", 2, 3, "did you mean 'file_binary'?"),
        ("lfs:\n  - {pattern: '*.bin', above: ten}\n", 2, 31, "bad size 'ten'"),
        ("lfs:\n  - {pattern: '*.bin', abve: 1 MB}\n", 2, 24, "did you mean 'above'?"),
        ("lfs:\n  - {pattern: '*.bin', above: }\n", 2, 31, "'above' must be a size"),
        ("lfs:\n  - {pattern: '*.bin', above: [1]}\n", 2, 31, "'above' must be a size"),
        ("exclude:\n  - {pattern: '*.bin', above: 1 MB}\n", 2, 24, "unknown key 'above'"),
    ],
)
def test_policy_errors_point_at_file_line_and_column(
    tmp_path: Path, text: str, line: int, col: int, fragment: str
) -> None:
    error = load_error(tmp_path, text)
    assert (error.line, error.col) == (line, col), str(error)
    assert fragment in error.message
    assert str(error).startswith(f".repolicy.yaml:{line}:{col}: ") or str(error).startswith(
        f"{tmp_path / '.repolicy.yaml'}:{line}:{col}: "
    )


def test_extends_cycles_are_errors_that_name_the_chain(tmp_path: Path) -> None:
    write_policy(tmp_path, "extends: [b.yaml]\n", "a.yaml")
    write_policy(tmp_path, "exclude: [x]\nextends: [a.yaml]\n", "b.yaml")
    write_policy(tmp_path, "extends: [a.yaml]\n")
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    assert "extends cycle: a.yaml -> b.yaml -> a.yaml" in info.value.message
    assert info.value.line == 2
    assert info.value.path.endswith("b.yaml")


def test_a_file_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    write_policy(tmp_path, "extends: [.repolicy.yaml]\n")
    with pytest.raises(PolicyError, match="extends cycle"):
        load_policy(tmp_path)


def test_a_yaml_tag_never_builds_an_object(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    error = load_error(
        tmp_path, f"exclude:\n  - !!python/object/apply:os.system ['touch {marker}']\n"
    )
    assert "not allowed" in error.message
    assert not marker.exists()


def test_cli_prints_one_line_and_exits_2_for_a_broken_policy(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "exclude:\n  - '*.log'\nbudgets:\n  file: 100 MiBs\n")
    proc = repo.run("check")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        ".repolicy.yaml:4:9: bad size '100 MiBs': use a number with B, KB, MB, GB "
        "(powers of 1000) or KiB, MiB, GiB (powers of 1024)"
    ]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_cli_reports_the_policy_path_as_given_from_a_subdirectory(repo: Repo) -> None:
    repo.write("conf/strict.yaml", "exclude: ['a[']\n")
    repo.write("src/x.py", "")
    proc = repo.run("--policy", "../conf/strict.yaml", "check", cwd=repo.path / "src")
    assert proc.returncode == 2
    assert proc.stderr.startswith("../conf/strict.yaml:1:")


def test_policy_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".repolicy.yaml").write_bytes(b"exclude:\n  - caf\xe9\n")
    with pytest.raises(PolicyError, match="not valid UTF-8") as info:
        load_policy(tmp_path)
    assert info.value.line == 2


# -- same key, same pattern: the extending file's item replaces the parent's ----------------


def _stage_logs(repo: Repo, policy: str) -> dict[str, object]:
    import json

    repo.write(".repolicy.yaml", textwrap.dedent(policy))
    repo.write("logs/train.txt", "epoch 1\n")
    repo.add(".repolicy.yaml", "logs/train.txt")
    proc = repo.run("check", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    data["exit"] = proc.returncode
    return data


def test_a_child_item_with_the_parents_pattern_replaces_it(repo: Repo) -> None:
    data = _stage_logs(
        repo,
        """\
        extends: [ml-checkpoints]
        exclude:
          - pattern: logs/
            severity: warning
        """,
    )
    # One rule, softened: not the preset's error beside a second, softer one.
    assert data["exit"] == 0
    violations = data["violations"]
    assert isinstance(violations, list)
    assert [(v["check"], v["severity"]) for v in violations] == [("excluded", "warning")]
    # The preset's `why` is kept where the child gives none.
    assert "training logs" in violations[0]["why"]

    policy = load_policy(repo.path)
    logs = [r for r in policy.exclude if r.text == "logs/"]
    assert [(r.source.file, r.severity) for r in logs] == [(".repolicy.yaml", "warning")]
    # In place: the preset's order of rules is kept.
    preset = load_policy(
        None, str(Path(__file__).parent.parent.parent / "policies/ml-checkpoints.yaml")
    )
    assert [r.text for r in policy.exclude] == [r.text for r in preset.exclude]


def test_severity_off_removes_the_parents_item(repo: Repo) -> None:
    data = _stage_logs(
        repo,
        """\
        extends: [ml-checkpoints]
        exclude:
          - {pattern: logs/, severity: "off"}
          - pattern: "*.tmp"
            severity: "off"
        """,
    )
    assert (data["exit"], data["violations"]) == (0, [])
    policy = load_policy(repo.path)
    assert "logs/" not in [r.text for r in policy.exclude]
    assert "*.tmp" not in [r.text for r in policy.exclude]  # off with no parent: nothing
    assert "wandb/" in [r.text for r in policy.exclude]


def test_explain_names_the_file_whose_item_won(repo: Repo) -> None:
    import json

    repo.write(
        ".repolicy.yaml",
        "extends: [ml-checkpoints]\nexclude:\n  - {pattern: logs/, severity: warning}\n",
    )
    proc = repo.run("explain", "logs/a.txt", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)["paths"]
    (rule,) = [r for r in entry["rules"] if r["key"] == "exclude"]
    assert (rule["file"], rule["line"]) == (".repolicy.yaml", 3)
    assert rule["replaces"]["file"] == "preset:ml-checkpoints"
    text = repo.run("explain", "logs/a.txt").stdout
    assert f"[.repolicy.yaml:3, replacing preset:ml-checkpoints:{rule['replaces']['line']}]" in text


def round_trip(tmp_path: Path, text: str) -> tuple[Policy, Policy | None]:
    """The policy `text` loaded, and as the hook's cache gives it back."""
    import os

    from repolicy.policy import cache as policy_cache

    path = write_policy(tmp_path, text)
    old = path.stat().st_mtime - 60
    os.utime(path, (old, old))  # older than the cache's racy window
    fresh = load_policy(tmp_path)
    cache = str(tmp_path / "cache")
    policy_cache.write(cache, (str(tmp_path), None), fresh, [str(path)])
    return fresh, policy_cache.read(cache, (str(tmp_path), None))


def test_the_policy_cache_keeps_allow_entries_and_replaced_items(tmp_path: Path) -> None:
    """The hook reads the policy from its cache: what `allow` and an override mean
    must survive it."""
    fresh, cached = round_trip(
        tmp_path,
        """\
        extends: [ml-checkpoints]
        exclude:
          - {pattern: logs/, severity: warning}
        allow:
          - {path: .gitignore, empty: true, checks: [excluded], reason: placeholder}
        """,
    )
    assert cached == fresh
    assert cached is not None and cached.allow[-1].empty
    assert next(r.replaces for r in cached.exclude if r.text == "logs/") is not None


# -- policies that are not plain files, and extends that reach too far ----------


@pytest.mark.parametrize("kind", ["dangling symlink", "directory", "fifo"])
def test_a_policy_that_is_not_a_file_stops_the_command(repo: Repo, kind: str) -> None:
    target = repo.path / ".repolicy.yaml"
    if kind == "dangling symlink":
        target.symlink_to("gone.yaml")
    elif kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)
    repo.write("debug.log", "x")
    repo.add("debug.log")
    proc = run_bounded(repo, "check")
    assert proc.returncode == 2, proc.stdout
    reason = {
        "dangling symlink": "symbolic link to a file that does not exist",
        "directory": "directory",
        "fifo": "not a regular file",
    }[kind]
    assert proc.stderr.startswith(".repolicy.yaml:1:1: cannot read the policy: ")
    assert reason in proc.stderr
    # The same file named with --policy, and a FIFO reached through extends.
    proc = repo.run("--policy", ".repolicy.yaml", "check")
    assert (proc.returncode, reason in proc.stderr) == (2, True)


def test_a_fifo_reached_through_extends_is_refused_unread(repo: Repo) -> None:
    os.mkfifo(repo.path / "base.yaml")
    repo.write(".repolicy.yaml", "extends: [base.yaml]\n")
    proc = run_bounded(repo, "audit")
    assert proc.returncode == 2
    assert proc.stderr.startswith(".repolicy.yaml:1:11: extends: cannot read 'base.yaml'")


def test_an_error_in_a_file_outside_the_repository_never_shows_its_content(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("x9Kq2: 19000\n")
    root = tmp_path / "repo"
    root.mkdir()
    write_policy(root, f"exclude: [a]\nextends: {secret}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(root)
    assert info.value.path.endswith(".repolicy.yaml")
    assert (info.value.line, info.value.col) == (2, 10)
    assert "x9Kq2" not in str(info.value) and "19000" not in str(info.value)
    assert "outside the repository" in info.value.message
    # Nor when the repository's policy is a link to that file.
    (root / ".repolicy.yaml").unlink()
    (root / ".repolicy.yaml").symlink_to(secret)
    with pytest.raises(PolicyError) as info:
        load_policy(root)
    assert "x9Kq2" not in str(info.value) and "outside the repository" in info.value.message
    (root / ".repolicy.yaml").unlink()
    # Inside the repository the key is named, so the user can fix it.
    write_policy(root, "exclud: [a]\n", "team/base.yaml")
    write_policy(root, "extends: team/base.yaml\n")
    with pytest.raises(PolicyError, match="unknown key 'exclud'"):
        load_policy(root)


def fan_out(root: Path, count: int, fan: int) -> None:
    """`count` files, each extending the next `fan` times over."""
    for i in range(1, count + 1):
        text = f"exclude: ['*.l{i}']\n"
        if i < count:
            text += "extends: [" + ", ".join([f"p{i + 1}.yaml"] * fan) + "]\n"
        write_policy(root, text, f"p{i}.yaml")
    write_policy(root, "extends: p1.yaml\n")


def test_each_extended_file_is_read_once_and_counts_once(tmp_path: Path) -> None:
    fan_out(tmp_path, 15, 8)  # 8**14 paths through the files: read each once
    policy = load_policy(tmp_path)
    assert [r.text for r in policy.exclude] == [f"*.l{i}" for i in range(15, 0, -1)]
    # A diamond: both sides extend one file; its rules appear once.
    write_policy(tmp_path, "exclude: [shared]\n", "d.yaml")
    write_policy(tmp_path, "extends: d.yaml\nexclude: [left]\n", "b.yaml")
    write_policy(tmp_path, "extends: d.yaml\nexclude: [right]\n", "c.yaml")
    write_policy(tmp_path, "extends: [b.yaml, c.yaml]\n")
    assert [r.text for r in load_policy(tmp_path).exclude] == ["shared", "left", "right"]


def test_extends_is_bounded_in_files_and_reports_where_it_overflows(tmp_path: Path) -> None:
    for i in range(1, 71):
        write_policy(tmp_path, f"exclude: [f{i}]\n", f"many/f{i}.yaml")
    names = ", ".join(f"many/f{i}.yaml" for i in range(1, 71))
    write_policy(tmp_path, f"extends: [{names}]\n")
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    assert "more than 64 policy files" in info.value.message
    assert (info.value.line, info.value.col) == (1, 11 + names.index("many/f64.yaml"))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty"])
def test_a_torn_policy_cache_is_never_read(tmp_path: Path, damage: str) -> None:
    # The cache is not forced to disk when written (the hook writes it on
    # commits): after a crash it may be torn, and must then be ignored.
    from repolicy.policy import cache as policy_cache

    fresh, cached = round_trip(tmp_path, "extends: [ml-checkpoints]\nexclude: ['*.tmp']\n")
    assert cached == fresh
    cache = tmp_path / "cache"
    stored = cache / "policy.cache"
    data = stored.read_bytes()
    if damage == "truncated":
        stored.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        stored.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    else:
        stored.write_bytes(b"")
    assert policy_cache.read(str(cache), (str(tmp_path), None)) is None


def test_a_broken_link_replacing_an_absent_policy_is_not_served_from_the_cache(
    repo: Repo,
) -> None:
    assert repo.run("check").returncode == 0  # no policy: the default preset, cached
    assert (repo.path / ".git" / "repolicy" / "policy.cache").exists()
    (repo.path / ".repolicy.yaml").symlink_to("gone.yaml")
    proc = repo.run("check")
    assert proc.returncode == 2
    assert "symbolic link to a file that does not exist" in proc.stderr


def test_the_policy_cache_keeps_binary_budgets_and_lfs_sizes(tmp_path: Path) -> None:
    fresh, cached = round_trip(
        tmp_path,
        """\
        extends: [huggingface]
        budgets:
          patterns:
            - {pattern: "docs/**", file_binary: 500 KB}
        lfs:
          - {pattern: "*.bin", above: 10 MB}
        """,
    )
    assert cached == fresh
    assert cached is not None and cached.limit("file_binary") == 1000**2
    assert cached.file_limit("file_binary", "docs/a.png")[0] == 500 * 1000
    # The preset's `*.bin` item is replaced in place, gaining the size.
    (item,) = [r for r in cached.lfs if r.text == "*.bin"]
    assert (item.above, item.sized, item.replaces is not None) == (10 * 1000**2, True, True)


@pytest.mark.parametrize("planted", ["fifo", "another user's"])
def test_the_hook_takes_no_policy_from_a_cache_it_did_not_write(
    repo: Repo, tmp_path: Path, planted: str
) -> None:
    """The policy cache is read only when it is a regular file this user owns: a
    FIFO would hold the commit for ever, and in a repository shared with others
    a cache someone else wrote could hold any policy. Either is passed over
    and the policy files are read."""
    from repolicy.policy import cache as policy_cache

    policy = repo.write(".repolicy.yaml", "budgets: {file: 10}\n")
    old = policy.stat().st_mtime - 60
    os.utime(policy, (old, old))  # older than the cache's racy window
    repo.write("big.txt", "x" * 100)
    repo.add("big.txt")
    cache_dir = repo.path / ".git" / "repolicy"
    stored = cache_dir / "policy.cache"
    # A cache holding a looser policy for these very files: taken when it is
    # this user's own (so the forgery itself is sound).
    loose = load_policy(write_policy(tmp_path / "loose", "budgets: {file: 1 MiB}\n").parent)
    key = (str(repo.path), None)
    policy_cache.write(str(cache_dir), key, loose, [str(policy)])
    assert repo.run("check").returncode == 0
    if planted == "fifo":
        stored.unlink()
        os.mkfifo(stored)
    else:
        try:
            os.chown(stored, 65534, 65534)
        except PermissionError:
            pytest.skip("giving a file to another user needs root")
    proc = run_bounded(repo, "check")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "big.txt" in proc.stdout
