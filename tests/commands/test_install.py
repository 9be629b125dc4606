"""`repolicy install`: a pre-push hook for every pushed ref, next to git-lfs's and pre-commit's.

Real git, git-lfs and pre-commit, a local bare remote, real `git push`es.

Most tests install with the interpreter replaced by a recorder (`sys.executable`
is what the hook runs), so they prove the hook's contract — `-m repolicy check
--push REMOTE URL` with git's stdin lines, byte for byte, then the chained hook
with the same — whatever `check --push` does. The tests at the end run the
real `repolicy check --push` and the real `repolicy install` command line;
the others call `install.run` in-process, as the command line does.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repolicy.cli import main
from repolicy.hooks import CHAINED, HOOK, LEGACY, MARKER, hook_script

from ..conftest import Repo

Z40 = "0" * 40
PYTHON = sys.executable  # the real one: the `recorder` fixture replaces sys.executable
LFS_ATTRIBUTES = "*.bin filter=lfs diff=lfs merge=lfs -text\n"


Result = tuple[int, str, str]
Install = Callable[..., Result]


@pytest.fixture
def install(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Install:
    """`repolicy install [--uninstall] [--force]` in `cwd` (default: the repository)."""

    def call(
        *, uninstall: bool = False, force: bool = False, fmt: str = "text", cwd: Path | None = None
    ) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.chdir(cwd or repo.path)
            argv = ["install", "--format", fmt]
            argv += ["--uninstall"] * uninstall + ["--force"] * force
            # Through the command line's one error handler, as a user runs it.
            code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return call


class Recorder:
    """Shell scripts that stand in for repolicy and for a foreign hook, and log their calls."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.events = root / "events"
        self.events.touch()
        self.python = self.script("python", "repolicy")
        self.foreign = self.script("foreign-hook", "foreign")

    def script(self, name: str, label: str) -> Path:
        """A script logging `label ARGS` to `events`, saving its stdin and argv, exiting
        with the code in `<label>.status` (0 without it)."""
        path = self.root / name
        q = {k: shlex.quote(str(self.root / f"{label}.{k}")) for k in ("stdin", "args", "status")}
        path.write_text(
            "#!/bin/sh\n"
            f"printf '%s\\n' {shlex.quote(label)} >> {shlex.quote(str(self.events))}\n"
            f"printf '%s\\n' \"$@\" > {q['args']}\n"
            f"cat > {q['stdin']}\n"
            f'if [ -f {q["status"]} ]; then exit "$(cat {q["status"]})"; fi\n'
        )
        path.chmod(0o755)
        return path

    def calls(self) -> list[str]:
        """Who ran, in order (the first word of each event)."""
        return [line.split()[0] for line in self.events.read_text().splitlines()]

    def stdin(self, label: str) -> bytes:
        return (self.root / f"{label}.stdin").read_bytes()

    def args(self, label: str) -> list[str]:
        return (self.root / f"{label}.args").read_text().splitlines()

    def fail(self, label: str, code: int) -> None:
        (self.root / f"{label}.status").write_text(str(code))


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Installs made after this write hooks that run the recorder instead of Python."""
    rec = Recorder(tmp_path / "recorder")
    monkeypatch.setattr(sys, "executable", str(rec.python))
    return rec


@pytest.fixture
def remote(repo: Repo, tmp_path: Path) -> Path:
    """A bare remote `origin` holding `main` with one commit."""
    path = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    repo.git("remote", "add", "origin", str(path))
    repo.write("README.md", "a training repository\n")
    repo.add("README.md")
    repo.commit("start")
    repo.git("push", "-q", "--no-verify", "origin", "main")
    return path


def push(repo: Repo, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", *args],
        cwd=cwd or repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def hooks(repo: Repo) -> Path:
    return repo.path / ".git" / "hooks"


Snapshot = dict[str, tuple[bytes, int, str | None]]


def snapshot(directory: Path) -> Snapshot:
    """Every file in a directory, byte for byte, with its mode (and a symlink's target)."""
    files: Snapshot = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_symlink():
            files[entry.name] = (b"", 0, os.readlink(entry))
        else:
            files[entry.name] = (entry.read_bytes(), stat.S_IMODE(entry.stat().st_mode), None)
    return files


def mtimes(directory: Path) -> dict[str, int]:
    return {e.name: e.lstat().st_mtime_ns for e in directory.iterdir()}


def lfs_hook(repo: Repo) -> bytes:
    repo.git("lfs", "install", "--local")
    return (hooks(repo) / HOOK).read_bytes()


def pre_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [PYTHON, "-m", "pre_commit", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def with_pre_commit(repo: Repo, events: Path) -> None:
    """pre-commit's pre-push hook, with a local hook logging `pre-commit FROM TO` to `events`."""
    entry = shlex.join(["sh", "-c", 'echo pre-commit "$PRE_COMMIT_TO_REF" >> "$0"', str(events)])
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n  - repo: local\n    hooks:\n"
        "      - id: log-push\n        name: log the push\n        language: system\n"
        f"        entry: {entry}\n        stages: [pre-push]\n"
        "        always_run: true\n        pass_filenames: false\n",
    )
    repo.add(".pre-commit-config.yaml")
    repo.commit("pre-commit config")
    pre_commit(repo, "install", "--hook-type", "pre-push")


def two_branches(repo: Repo) -> tuple[str, str]:
    """New commits on `main` and on a new branch `topic`: (main sha, topic sha)."""
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("topic.py", "t = 1\n")
    repo.add("topic.py")
    topic = repo.commit("topic work")
    repo.git("checkout", "-q", "main")
    repo.write("main.py", "m = 1\n")
    repo.add("main.py")
    return repo.commit("main work"), topic


def sha(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", rev).strip()


# -- what gets written where ---------------------------------------------------


def test_install_into_a_repository_without_a_hook(repo: Repo, install: Install) -> None:
    code, out, err = install()

    hook = hooks(repo) / HOOK
    assert code == 0, err
    assert hook.read_bytes() == hook_script(sys.executable)
    assert hook.read_bytes().startswith(b"#!/bin/sh\n")
    assert os.access(hook, os.X_OK)
    assert not (hooks(repo) / CHAINED).exists()
    assert out == "installed .git/hooks/pre-push: runs repolicy check --push\n"


def test_hook_runs_this_interpreter_then_repolicy_on_path() -> None:
    script = hook_script("/opt/my env/bin/python").decode()
    assert "REPOLICY_PYTHON='/opt/my env/bin/python'\n" in script
    assert '"$REPOLICY_PYTHON" -m repolicy check --push "$1" "$2"' in script
    assert 'repolicy check --push "$1" "$2"' in script.split("elif command -v repolicy")[1]
    assert MARKER in script
    subprocess.run(["sh", "-n"], input=script, text=True, check=True)


def test_install_twice_changes_nothing(repo: Repo, install: Install) -> None:
    lfs_hook(repo)
    install()
    before, times = snapshot(hooks(repo)), mtimes(hooks(repo))

    code, out, _ = install()

    assert code == 0
    assert snapshot(hooks(repo)) == before
    assert mtimes(hooks(repo)) == times
    assert out.startswith("already installed: .git/hooks/pre-push")
    assert "then .git/hooks/pre-push.repolicy-chained" in out


def test_install_moves_git_lfs_hook_aside_byte_for_byte(repo: Repo, install: Install) -> None:
    samples = set(snapshot(hooks(repo)))
    lfs = lfs_hook(repo)
    mode = stat.S_IMODE((hooks(repo) / HOOK).stat().st_mode)

    code, out, _ = install()

    assert code == 0
    assert (hooks(repo) / CHAINED).read_bytes() == lfs
    assert stat.S_IMODE((hooks(repo) / CHAINED).stat().st_mode) == mode
    assert (hooks(repo) / HOOK).read_bytes() == hook_script(sys.executable)
    assert out.splitlines() == [
        f"moved .git/hooks/{HOOK} (git-lfs's hook) to .git/hooks/{CHAINED}",
        f"installed .git/hooks/{HOOK}: runs repolicy check --push, then .git/hooks/{CHAINED}",
    ]
    assert samples and samples <= set(snapshot(hooks(repo)))  # git's samples stay


def test_install_next_to_pre_commit_becomes_its_legacy_hook(repo: Repo, install: Install) -> None:
    with_pre_commit(repo, repo.path.parent / "events")
    theirs = (hooks(repo) / HOOK).read_bytes()

    code, out, _ = install()

    assert code == 0
    assert (hooks(repo) / HOOK).read_bytes() == theirs
    assert (hooks(repo) / LEGACY).read_bytes() == hook_script(sys.executable)
    assert os.access(hooks(repo) / LEGACY, os.X_OK)
    assert not (hooks(repo) / CHAINED).exists()
    assert out.splitlines() == [
        f"installed .git/hooks/{LEGACY} (pre-commit's .git/hooks/{HOOK} runs it first, "
        "with every pushed ref): runs repolicy check --push"
    ]
    assert install()[1].startswith(f"already installed: .git/hooks/{LEGACY}")


def test_pre_commit_in_migration_mode_keeps_git_lfs_chained(repo: Repo, install: Install) -> None:
    lfs = lfs_hook(repo)
    with_pre_commit(repo, repo.path.parent / "events")  # moves git-lfs's hook to .legacy
    assert (hooks(repo) / LEGACY).read_bytes() == lfs
    theirs = (hooks(repo) / HOOK).read_bytes()

    code, out, _ = install()

    assert code == 0
    assert (hooks(repo) / HOOK).read_bytes() == theirs
    assert (hooks(repo) / LEGACY).read_bytes() == hook_script(sys.executable)
    assert (hooks(repo) / CHAINED).read_bytes() == lfs
    assert (
        out.splitlines()[0] == f"moved .git/hooks/{LEGACY} (git-lfs's hook) to .git/hooks/{CHAINED}"
    )


def _setup_none(repo: Repo) -> None:
    pass


def _setup_lfs(repo: Repo) -> None:
    lfs_hook(repo)


def _setup_pre_commit(repo: Repo) -> None:
    with_pre_commit(repo, repo.path.parent / "events")


def _setup_lfs_and_pre_commit(repo: Repo) -> None:
    lfs_hook(repo)
    with_pre_commit(repo, repo.path.parent / "events")


def _setup_symlink(repo: Repo) -> None:
    repo.write("tools/pre-push", "#!/bin/sh\nexit 0\n").chmod(0o755)
    (hooks(repo) / HOOK).symlink_to("../../tools/pre-push")


def _setup_not_executable(repo: Repo) -> None:
    (hooks(repo) / HOOK).write_bytes(b"#!/bin/sh\r\nexit 1\r\n")  # git ignores it


SETUPS = {
    "no hook": _setup_none,
    "git-lfs": _setup_lfs,
    "pre-commit": _setup_pre_commit,
    "git-lfs then pre-commit": _setup_lfs_and_pre_commit,
    "symlink": _setup_symlink,
    "not executable": _setup_not_executable,
}


@pytest.mark.parametrize("setup", list(SETUPS))
def test_uninstall_restores_the_hooks_byte_for_byte(
    repo: Repo, install: Install, setup: str
) -> None:
    SETUPS[setup](repo)
    before = snapshot(hooks(repo))
    assert install()[0] == 0
    assert snapshot(hooks(repo)) != before

    code, out, _ = install(uninstall=True)

    assert code == 0
    assert snapshot(hooks(repo)) == before
    assert out.startswith("removed .git/hooks/pre-push")
    code, out, _ = install(uninstall=True)
    assert (code, out) == (0, "repolicy's pre-push hook is not installed\n")


def test_running_pre_commit_install_afterwards_keeps_both(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    lfs = lfs_hook(repo)
    install()
    ours = (hooks(repo) / HOOK).read_bytes()

    with_pre_commit(repo, recorder.events)  # pre-commit moves ours to pre-push.legacy

    assert (hooks(repo) / LEGACY).read_bytes() == ours
    assert install()[1].startswith(f"already installed: .git/hooks/{LEGACY}")
    repo.write(".gitattributes", LFS_ATTRIBUTES)
    repo.write("w.bin", b"weights")
    repo.add(".gitattributes", "w.bin")
    repo.commit("weights")
    result = push(repo, "origin", "main")
    assert result.returncode == 0, result.stdout
    assert recorder.calls() == ["repolicy", "pre-commit"]
    assert list((remote / "lfs" / "objects").rglob("*"))  # git-lfs uploaded, still chained
    pre_commit(repo, "uninstall", "--hook-type", "pre-push")  # puts ours back
    assert (hooks(repo) / HOOK).read_bytes() == ours
    install(uninstall=True)
    assert (hooks(repo) / HOOK).read_bytes() == lfs


# -- real pushes through the hook -----------------------------------------------


def test_every_pushed_ref_reaches_repolicy_and_the_chained_hook(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    shutil.copy(recorder.foreign, hooks(repo) / HOOK)
    install()
    main, topic = two_branches(repo)
    old = sha(repo, "origin/main")

    result = push(repo, "origin", "main", "topic")

    assert result.returncode == 0, result.stdout
    assert recorder.calls() == ["repolicy", "foreign"]
    assert recorder.args("repolicy") == ["-m", "repolicy", "check", "--push", "origin", str(remote)]
    lines = (
        f"refs/heads/main {main} refs/heads/main {old}\n"
        f"refs/heads/topic {topic} refs/heads/topic {Z40}\n"
    ).encode()
    assert recorder.stdin("repolicy") == lines
    assert recorder.args("foreign") == ["origin", str(remote)]
    assert recorder.stdin("foreign") == lines


def test_a_local_ref_with_spaces_passes_through_unchanged(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    shutil.copy(recorder.foreign, hooks(repo) / HOOK)
    install()
    repo.commit("fix it now")
    target = sha(repo, "HEAD")
    repo.commit("later")

    result = push(repo, "origin", "HEAD^{/fix it}:refs/heads/fix")

    assert result.returncode == 0, result.stdout
    line = f"HEAD^{{/fix it}} {target} refs/heads/fix {Z40}\n".encode()
    assert recorder.stdin("repolicy") == line
    assert recorder.stdin("foreign") == line


def test_a_push_with_nothing_to_send_passes_empty_stdin(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    shutil.copy(recorder.foreign, hooks(repo) / HOOK)
    install()

    result = push(repo, "origin", "main")  # git runs the hook with no lines at all

    assert result.returncode == 0, result.stdout
    assert recorder.calls() == ["repolicy", "foreign"]
    assert recorder.stdin("repolicy") == b""
    assert recorder.stdin("foreign") == b""


def test_git_lfs_still_uploads_through_the_chain(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    lfs_hook(repo)
    install()
    repo.write(".gitattributes", LFS_ATTRIBUTES)
    repo.write("model.bin", b"weights v1\n")
    repo.add(".gitattributes", "model.bin")
    repo.commit("model")
    oid = repo.git("lfs", "ls-files", "--long").split()[0]
    stored = remote / "lfs" / "objects" / oid[:2] / oid[2:4] / oid

    recorder.fail("repolicy", 1)
    result = push(repo, "origin", "main")
    assert result.returncode != 0, result.stdout
    assert not stored.exists()  # refused: nothing uploaded
    assert sha(repo, "origin/main") != sha(repo, "main")

    recorder.fail("repolicy", 0)
    result = push(repo, "origin", "main")
    assert result.returncode == 0, result.stdout
    assert stored.read_bytes() == b"weights v1\n"
    assert recorder.calls() == ["repolicy", "repolicy"]


def test_with_pre_commit_repolicy_sees_every_ref_and_pre_commit_still_runs(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    lfs_hook(repo)
    with_pre_commit(repo, recorder.events)
    install()
    repo.git("push", "-q", "--no-verify", "origin", "main")
    main, topic = two_branches(repo)
    old = sha(repo, "origin/main")

    result = push(repo, "origin", "main", "topic")

    assert result.returncode == 0, result.stdout
    lines = (
        f"refs/heads/main {main} refs/heads/main {old}\n"
        f"refs/heads/topic {topic} refs/heads/topic {Z40}\n"
    ).encode()
    assert recorder.stdin("repolicy") == lines
    # pre-commit's own hooks run once, for the first ref only.
    assert recorder.events.read_text().splitlines() == ["repolicy", f"pre-commit {main}"]

    # A new branch whose commits the remote has: pre-commit runs no hook at all;
    # its legacy hook, ours, still gets the line.
    repo.git("branch", "copy", "main")
    result = push(repo, "origin", "copy")
    assert result.returncode == 0, result.stdout
    assert recorder.stdin("repolicy") == f"refs/heads/copy {main} refs/heads/copy {Z40}\n".encode()
    assert recorder.calls()[2:] == ["repolicy"]

    recorder.fail("repolicy", 1)
    repo.commit("more")
    result = push(repo, "origin", "main")
    assert result.returncode != 0, result.stdout
    assert sha(repo, "origin/main") == main


@pytest.mark.parametrize(
    ("repolicy", "chained", "expected"), [(0, 0, 0), (1, 0, 1), (2, 0, 2), (0, 3, 3)]
)
def test_the_hook_fails_when_either_fails(
    repo: Repo,
    install: Install,
    recorder: Recorder,
    repolicy: int,
    chained: int,
    expected: int,
) -> None:
    shutil.copy(recorder.foreign, hooks(repo) / HOOK)
    install()
    recorder.fail("repolicy", repolicy)
    recorder.fail("foreign", chained)
    lines = f"refs/heads/main {'1' * 40} refs/heads/main {Z40}\n"

    proc = subprocess.run(
        [str(hooks(repo) / HOOK), "origin", "/remote"],
        input=lines,
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == expected
    # When repolicy refuses the push, the chained hook (git-lfs's upload) does not run.
    assert recorder.calls() == (["repolicy"] if repolicy else ["repolicy", "foreign"])


def test_hook_falls_back_to_repolicy_on_path(
    repo: Repo, install: Install, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(recorder.root / "gone" / "python"))
    install()
    bin_dir = recorder.root / "bin"
    bin_dir.mkdir()
    shutil.copy(recorder.python, bin_dir / "repolicy")
    git_dir = os.path.dirname(shutil.which("git") or "/usr/bin/git")
    hook = str(hooks(repo) / HOOK)

    def run(path: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [hook, "origin", "/remote"],
            input="refs/heads/main 1 refs/heads/main 0\n",
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": path},
            check=False,
        )

    found = run(f"{bin_dir}:{git_dir}:/bin:/usr/bin")
    assert found.returncode == 0, found.stderr
    assert recorder.args("repolicy") == ["check", "--push", "origin", "/remote"]
    assert recorder.stdin("repolicy") == b"refs/heads/main 1 refs/heads/main 0\n"

    if shutil.which("repolicy", path=f"{git_dir}:/bin:/usr/bin"):
        pytest.skip("repolicy is installed next to git")
    missing = run(f"{git_dir}:/bin:/usr/bin")
    assert missing.returncode == 1
    assert missing.stderr.startswith("repolicy: not found")


# -- where the hooks are ---------------------------------------------------------


def test_core_hooks_path_is_respected(
    repo: Repo, install: Install, recorder: Recorder, remote: Path
) -> None:
    repo.git("config", "core.hooksPath", "my-hooks")
    (repo.path / "sub").mkdir()

    code, out, _ = install(cwd=repo.path / "sub")

    assert code == 0
    assert out.splitlines() == [
        f"created ..{os.sep}my-hooks{os.sep}",
        "installed ../my-hooks/pre-push: runs repolicy check --push",
    ]
    assert (repo.path / "my-hooks" / HOOK).read_bytes() == hook_script(str(recorder.python))
    assert not (hooks(repo) / HOOK).exists()
    repo.commit("x")
    assert push(repo, "origin", "main").returncode == 0
    assert recorder.calls() == ["repolicy"]


def test_a_tracked_hook_in_the_work_tree_needs_force(repo: Repo, install: Install) -> None:
    repo.write(".githooks/pre-push", "#!/bin/sh\necho team hook\n").chmod(0o755)
    repo.add(".githooks/pre-push")
    repo.commit("team hooks")
    repo.git("config", "core.hooksPath", ".githooks")
    before = snapshot(repo.path / ".githooks")

    code, out, err = install()

    assert (code, out) == (2, "")
    assert err.startswith("repolicy: error: .githooks/pre-push: tracked in this repository")
    assert len(err.splitlines()) == 1
    assert snapshot(repo.path / ".githooks") == before

    code, out, err = install(force=True)
    assert code == 0, err
    assert (repo.path / ".githooks" / CHAINED).read_bytes() == b"#!/bin/sh\necho team hook\n"


def test_a_linked_worktree_installs_into_the_common_hooks(
    repo: Repo, install: Install, recorder: Recorder, remote: Path, tmp_path: Path
) -> None:
    repo.git("worktree", "add", "-q", "-b", "wt", str(tmp_path / "wt"))

    code, out, _ = install(cwd=tmp_path / "wt")

    assert code == 0
    assert (hooks(repo) / HOOK).read_bytes() == hook_script(str(recorder.python))
    assert str(hooks(repo) / HOOK) in out
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "w"], cwd=tmp_path / "wt", check=True
    )
    assert push(repo, "origin", "wt", cwd=tmp_path / "wt").returncode == 0
    assert recorder.calls() == ["repolicy"]
    assert recorder.stdin("repolicy").startswith(b"refs/heads/wt ")


# -- refusals ---------------------------------------------------------------------


def test_not_a_repository(
    tmp_path: Path, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "plain").mkdir()

    code, out, err = install(cwd=tmp_path / "plain")

    assert (code, out) == (2, "")
    assert err == f"repolicy: error: not a git repository: {tmp_path / 'plain'}\n"


def test_an_unrelated_chained_hook_is_never_overwritten(repo: Repo, install: Install) -> None:
    (hooks(repo) / HOOK).write_text("#!/bin/sh\necho mine\n")
    (hooks(repo) / CHAINED).write_text("#!/bin/sh\necho left over\n")
    before = snapshot(hooks(repo))

    code, out, err = install()

    assert (code, out) == (2, "")
    assert "already holds another hook" in err and len(err.splitlines()) == 1
    assert snapshot(hooks(repo)) == before


def test_a_hook_replaced_by_git_lfs_update_force_is_chained_once(
    repo: Repo, install: Install
) -> None:
    lfs = lfs_hook(repo)
    install()
    repo.git("lfs", "update", "--force")  # git-lfs overwrites ours with its hook again
    assert (hooks(repo) / HOOK).read_bytes() == lfs

    code, out, _ = install()

    assert code == 0
    assert out.splitlines()[0] == (
        f"removed .git/hooks/{HOOK}: the same hook is already chained as .git/hooks/{CHAINED}"
    )
    assert (hooks(repo) / HOOK).read_bytes() == hook_script(sys.executable)
    assert (hooks(repo) / CHAINED).read_bytes() == lfs


def test_json_output(repo: Repo, install: Install) -> None:
    code, out, _ = install(fmt="json")

    assert code == 0
    assert json.loads(out) == {
        "version": 1,
        "command": "install",
        "hook": ".git/hooks/pre-push",
        "actions": ["installed .git/hooks/pre-push: runs repolicy check --push"],
    }


# -- the real command line and the real `repolicy check --push` -------------------


@pytest.fixture
def policed(repo: Repo, remote: Path) -> Iterator[Repo]:
    repo.write(".repolicy.yaml", "exclude: ['*.log']\n")
    repo.add(".repolicy.yaml")
    repo.commit("policy")
    repo.git("push", "-q", "--no-verify", "origin", "main")
    yield repo


def test_cli_install_and_uninstall(repo: Repo) -> None:
    lfs = lfs_hook(repo)

    installed = repo.run("install")
    assert installed.returncode == 0, installed.stderr
    assert (hooks(repo) / HOOK).read_bytes() == hook_script(sys.executable)
    assert repo.run("install").stdout.startswith("already installed")

    removed = repo.run("install", "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert (hooks(repo) / HOOK).read_bytes() == lfs


def test_real_check_blocks_a_violation_on_the_second_pushed_ref(
    policed: Repo, install: Install, remote: Path
) -> None:
    lfs_hook(policed)
    install()
    two_branches(policed)
    policed.git("checkout", "-q", "topic")
    policed.write("debug.log", "noise\n")
    policed.add("debug.log")
    policed.commit("a log on the second ref")
    policed.git("checkout", "-q", "main")
    main = sha(policed, "origin/main")

    result = push(policed, "origin", "main", "topic")

    assert result.returncode != 0, result.stdout
    assert "debug.log" in result.stdout
    assert sha(policed, "origin/main") == main
    assert "topic" not in policed.git("ls-remote", "--heads", "origin")

    # Without the log, both refs go, and git-lfs (chained) uploads the model.
    policed.git("branch", "-f", "topic", "main")
    policed.write(".gitattributes", LFS_ATTRIBUTES)
    policed.write("model.bin", b"weights\n")
    policed.add(".gitattributes", "model.bin")
    policed.commit("model")
    oid = policed.git("lfs", "ls-files", "--long").split()[0]
    result = push(policed, "origin", "main", "topic")
    assert result.returncode == 0, result.stdout
    stored = remote / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    assert stored.read_bytes() == b"weights\n"


def test_real_check_through_pre_commit_blocks_the_second_ref(
    policed: Repo, install: Install, tmp_path: Path
) -> None:
    with_pre_commit(policed, tmp_path / "events")
    policed.git("push", "-q", "--no-verify", "origin", "main")
    install()
    policed.git("checkout", "-q", "-b", "zz-topic")
    policed.write("debug.log", "noise\n")
    policed.add("debug.log")
    policed.commit("a log on the second ref")
    policed.git("checkout", "-q", "main")
    policed.commit("clean work")

    result = push(policed, "origin", "main", "zz-topic")

    assert result.returncode != 0, result.stdout
    assert "debug.log" in result.stdout
    assert "zz-topic" not in policed.git("ls-remote", "--heads", "origin")
