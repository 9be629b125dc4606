"""The policy of a server: never the push's own.

`--policy`, else the `repolicy.policy` config of the repository, else
`.repolicy.yaml` of the default branch as it is before this push, with the
files it extends read from that same commit through git (never from the
server's file system).
"""

from __future__ import annotations

import os

from repolicy.errors import RepolicyError
from repolicy.git import SYMLINK, Git
from repolicy.policy.loader import MAX_POLICY_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.policy import Policy

POLICY_CONFIG = "repolicy.policy"


def server_policy(git: Git, explicit: str | None) -> tuple[Policy, str | None]:
    """The policy, and a note for the report when it is the default preset."""
    from repolicy.policy import load_policy

    if explicit:
        return load_policy(None, explicit), None
    configured = git.config("--get", POLICY_CONFIG)
    if configured:
        return load_policy(None, os.path.expanduser(configured)), None
    head = git.symbolic_head()
    ref = default_branch(git)
    if ref is None:
        if git.has_refs():
            named = f"names {head}, which does not exist" if head else "is not a branch"
            raise RepolicyError(
                f"cannot tell this server's policy: HEAD {named}; point HEAD at the "
                "default branch (git symbolic-ref HEAD refs/heads/main) or name a policy "
                f"(git config {POLICY_CONFIG} PATH)"
            )
        # An empty repository: nothing to protect yet and no branch to read a
        # policy from; its first push is judged by the default preset.
        return load_policy(None, None), (
            "the repository is empty: this first push was judged by preset:default; later "
            f"pushes by .repolicy.yaml of {head or 'HEAD'} (or set git config {POLICY_CONFIG})"
        )
    from repolicy.policy.loader import read_policy

    branch = BranchFiles(git, ref)
    if branch.read(".repolicy.yaml") == _ABSENT:
        return load_policy(None, None), None
    policy, _files = read_policy(None, None, tree=branch)
    return policy._replace(name=f"{ref}:.repolicy.yaml"), None


_ABSENT = "no such file"


class BranchFiles:
    """Policy files as one commit of this repository holds them (see
    `repolicy.policy.loader.TreeFiles`)."""

    def __init__(self, git: Git, rev: str) -> None:
        self.git = git
        self.rev = rev

    def read(self, path: str) -> bytes | str:
        entry = self.git.tree_entry(self.rev, path)
        if entry is None:
            return _ABSENT
        mode, oid = entry
        if mode == SYMLINK:
            return "it is a symbolic link (the server reads policy files only as regular files)"
        if mode not in ("100644", "100755"):
            return "it is not a file"
        info = self.git.object_info([oid]).get().get(oid)
        if info is None or info.size > MAX_POLICY_BYTES:
            return "it is larger than any policy file (over 1 MiB)"
        return self.git.blob_contents([oid]).get().get(oid, b"")


def default_branch(git: Git) -> str | None:
    """The branch HEAD names, if it exists yet (an empty repository has none)."""
    head = git.symbolic_head()
    if not head or not git.ref_exists(head):
        return None
    return head
