"""History advice of `check --push`: the commits a push sends that no remote has are
rewritten on the pushed branch alone; one another remote already has is published
history, named as such."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..conftest import Repo
from ..test_advice import ODD_CKPT, only, push_check, pushed

__all__ = ["pushed"]  # the fixture, used by name


def test_a_pushed_commit_another_remote_has_is_published_history(
    pushed: Repo, tmp_path: Path
) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "backup.git")], check=True)
    pushed.git("remote", "add", "backup", str(tmp_path / "backup.git"))
    pushed.write(ODD_CKPT, os.urandom(2000))
    pushed.add(ODD_CKPT)
    pushed.commit("raw checkpoint")
    pushed.git("push", "-q", "backup", "main")
    fix = only(push_check(pushed), "lfs-missing", ODD_CKPT)["fix"]
    assert "already on backup/main" in fix and "force-push" in fix


def test_a_pushed_commit_no_remote_has_is_rewritten_on_the_pushed_branch(pushed: Repo) -> None:
    pushed.write(ODD_CKPT, os.urandom(2000))
    pushed.add(ODD_CKPT)
    pushed.commit("raw checkpoint")
    # Another local branch holds the commit too: only the pushed one is rewritten.
    pushed.git("branch", "copy")
    fix = only(push_check(pushed), "lfs-missing", ODD_CKPT)["fix"]
    assert "--include-ref=refs/heads/main --exclude-ref=refs/remotes/origin/main" in fix
    assert "copy" not in fix and "already" not in fix
