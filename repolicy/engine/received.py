"""The received scope: every object a push brings to a server (the pre-receive hook).

Runs in the receiving repository (bare, usually) before any ref moves. Git
keeps the pushed objects in a quarantine directory until the hook accepts
them, and tells child processes where it is (`GIT_QUARANTINE_PATH`,
`GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`): every git
process here inherits that environment, so the new objects are visible
and nothing is written among them.

The policy is the server's, never the push's (`repolicy.policy.server`).
Nothing the push brings is trusted: its lines are checked before git sees
them (`repolicy.scope`), refs/replace/ is refused, the pusher's environment
grants no escape, and commit trailers do only where the server enables them
(`repolicy.allowEscapes`); tracebacks of internal errors likewise show only
where the server's `repolicy.debug` asks for them, never for the pusher's
REPOLICY_DEBUG (`repolicy.commands.prereceive`).
"""

from __future__ import annotations

import os

from repolicy.engine.commits import Escapes, judge_commits, require_objects, settle
from repolicy.errors import RepolicyError
from repolicy.git import Git, objects_directory
from repolicy.policy.server import POLICY_CONFIG, default_branch, server_policy
from repolicy.scope import Received, ReceiveUpdate, is_zero, receive_revisions, refuse_replace_refs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.advice import Advisor
    from repolicy.report import Report

ESCAPES_CONFIG = "repolicy.allowEscapes"
DEBUG_CONFIG = "repolicy.debug"
_QUARANTINE_ENV = (
    "GIT_QUARANTINE_PATH",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
)


def judge(scope: Received, policy_arg: str | None) -> Report:
    from repolicy.report import Report

    # Objects are judged as what they are, whatever refs/replace/ holds here.
    os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
    git_dir = Git(os.getcwd()).absolute_git_dir()
    git = Git(git_dir)
    updates = scope.updates
    refuse_replace_refs(updates)
    require_objects(git, [u.old for u in updates], "the pre-receive input")
    require_objects(git, [u.new for u in updates], "the pre-receive input")
    policy, note = server_policy(git, policy_arg)
    if not policy_arg and not git.config("--get", POLICY_CONFIG):
        refuse_losing_the_policy(git, updates)
    revs = receive_revisions(updates)
    report = Report("pre-receive", policy, budgets={})
    if note:
        report.notes.append(note)
    accepted = None
    default = default_branch(git)
    if revs is not None and default:
        from repolicy.baseline import load_from_revision

        # The baseline, like the policy, is the one the server already has.
        accepted = load_from_revision(git, default, policy)
    found = judge_commits(
        git,
        policy,
        revs,
        lfs_objects=False,
        escapes=Escapes(None, trailers=server_enables(git, ESCAPES_CONFIG)),
        bound=stored_bound(git),
        advisor=server_advisor(git, updates),
        names={u.new: u.ref for u in updates},
        objects=objects_directory(git_dir),
    )
    settle(report, found, accepted)
    return report


def server_advisor(git: Git, updates: list[ReceiveUpdate]) -> Advisor:
    """Advice for the pusher: rewrite the pushed branch down to what the server has."""
    from repolicy.advice import Advisor, ServerScope

    pushed = [(u.ref, u.new) for u in updates if not is_zero(u.new)]
    return Advisor(git, ServerScope(git, pushed), work_tree=False)


def refuse_losing_the_policy(git: Git, updates: list[ReceiveUpdate]) -> None:
    """The branch HEAD names holds this server's policy: deleting it would leave
    the next push to be judged by a policy it brings itself."""
    head = default_branch(git)
    for update in updates:
        if update.ref == head and is_zero(update.new):
            raise RepolicyError(
                f"refusing to delete {head}: this server reads its policy from that branch "
                f"(name one first: git config {POLICY_CONFIG} PATH)"
            )


def server_enables(git: Git, key: str) -> bool:
    """Whether the repository's own config file turns `key` on (ESCAPES_CONFIG:
    `Repolicy-Allow-Frozen:` trailers count; DEBUG_CONFIG: internal errors show
    their traceback). Not a global or system file, which a local pusher's
    environment could name."""
    return (git.config("--local", "--bool", "--get", key) or "") == "true"


def stored_bound(git: Git) -> int | None:
    """An upper bound on what the repository holds once the push is accepted: its
    own objects plus the quarantined ones; None when it cannot be known cheaply."""
    own = Git(git.cwd)
    for name in _QUARANTINE_ENV:
        own.env.pop(name, None)
    bound = own.stored_bound()
    quarantine = os.environ.get("GIT_QUARANTINE_PATH")
    if bound is None or not quarantine:
        return bound
    for folder, _dirs, files in os.walk(quarantine):
        for name in files:
            try:
                bound += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return bound
