"""`repolicy check --pre-receive`: the server's hook, judging every object a push brings.

Runs in the receiving repository (bare, usually) before any ref moves. Git
keeps the pushed objects in a quarantine directory until the hook accepts
them, and tells child processes where it is (`GIT_QUARANTINE_PATH`,
`GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`): every git
process here inherits that environment, so the new objects are visible
and nothing is written among them.

The policy is the server's, never the push's: `--policy`, else the
`repolicy.policy` config of the repository, else `.repolicy.yaml` of the
default branch as it is before this push, with the files it extends read
from that same commit through git (never from the server's file system).
Nothing the push brings is trusted: its lines are checked before git sees
them, refs/replace/ is refused, the pusher's environment grants no escape,
and commit trailers do only where the server enables them
(`repolicy.allowEscapes`).
"""

from __future__ import annotations

import os

from repolicy.commands.push import (
    Escapes,
    bad_line,
    is_object_id,
    is_zero,
    read_stdin,
    require_objects,
    sane_ref,
)
from repolicy.errors import RepolicyError
from repolicy.git import SYMLINK, Git, decode, objects_directory
from repolicy.policy.loader import MAX_POLICY_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.advice import Advisor
    from repolicy.options import Options
    from repolicy.policy import Policy

POLICY_CONFIG = "repolicy.policy"
ESCAPES_CONFIG = "repolicy.allowEscapes"
_QUARANTINE_ENV = (
    "GIT_QUARANTINE_PATH",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
)


class RefUpdate:
    """One line git gives a pre-receive hook."""

    __slots__ = ("new", "old", "ref")

    def __init__(self, old: str, new: str, ref: str) -> None:
        self.old = old
        self.new = new
        self.ref = ref


def parse_updates(text: str, length: int = 40) -> list[RefUpdate]:
    """Git's pre-receive lines, each checked before any of it reaches git."""
    updates = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(" ", 2)
        if len(fields) != 3:
            raise bad_line("pre-receive", number, "expected <old sha> <new sha> <ref>")
        old, new, ref = fields
        if not (is_object_id(old, length) and is_object_id(new, length)):
            raise bad_line("pre-receive", number, f"not an object id of {length} hex digits")
        if not sane_ref(ref):
            raise bad_line("pre-receive", number, "not a valid ref name")
        updates.append(RefUpdate(old, new, ref))
    return updates


def refuse_replace_refs(updates: list[RefUpdate]) -> None:
    """refs/replace/ would make git read one object as another on this server
    (for every later reader too): no push may create or move one."""
    for update in updates:
        if update.ref.startswith("refs/replace/") and not is_zero(update.new):
            raise RepolicyError(
                f"refusing {update.ref}: a replace ref makes git show one object in place "
                "of another, so this server accepts none (delete it: git push origin "
                f":{update.ref})"
            )


def revisions(updates: list[RefUpdate]) -> list[str] | None:
    """What the push brings: reachable from a new tip and from no ref the server has
    now (refs move only after this hook); None when only deletions arrive."""
    tips = list(dict.fromkeys(u.new for u in updates if not is_zero(u.new)))
    return [*tips, "--not", "--all"] if tips else None


def run(args: Options) -> int:
    from repolicy.commands.push import judge
    from repolicy.report import Report, finish

    # Objects are judged as what they are, whatever refs/replace/ holds here.
    os.environ["GIT_NO_REPLACE_OBJECTS"] = "1"
    git_dir = os.fsdecode(Git(os.getcwd()).run("rev-parse", "--absolute-git-dir").rstrip(b"\n"))
    git = Git(git_dir)
    updates = parse_updates(read_stdin(), git.hash_length())
    refuse_replace_refs(updates)
    require_objects(git, [u.old for u in updates], "the pre-receive input")
    require_objects(git, [u.new for u in updates], "the pre-receive input")
    policy, note = server_policy(git, args.policy)
    if not args.policy and not git.config("--get", POLICY_CONFIG):
        refuse_losing_the_policy(git, updates)
    revs = revisions(updates)
    report = Report("pre-receive", policy, budgets={})
    if note:
        report.notes.append(note)
    accepted = None
    default = default_branch(git)
    if revs is not None and default:
        from repolicy.baseline import load_from_revision

        # The baseline, like the policy, is the one the server already has.
        accepted = load_from_revision(git, default, policy)
    judge(
        git,
        policy,
        revs,
        report,
        lfs_objects=False,
        escapes=Escapes(None, trailers=escapes_enabled(git)),
        bound=stored_bound(git),
        baseline=accepted,
        advisor=server_advisor(git, updates),
        names={u.new: u.ref for u in updates},
        objects=objects_directory(git_dir),
    )
    return finish(report, args)


def server_advisor(git: Git, updates: list[RefUpdate]) -> Advisor:
    """Advice for the pusher: rewrite the pushed branch down to what the server has."""
    from repolicy.advice import Advisor, ServerScope

    pushed = [(u.ref, u.new) for u in updates if not is_zero(u.new)]
    return Advisor(git, ServerScope(git, pushed), work_tree=False)


def refuse_losing_the_policy(git: Git, updates: list[RefUpdate]) -> None:
    """The branch HEAD names holds this server's policy: deleting it would leave
    the next push to be judged by a policy it brings itself."""
    head = default_branch(git)
    for update in updates:
        if update.ref == head and is_zero(update.new):
            raise RepolicyError(
                f"refusing to delete {head}: this server reads its policy from that branch "
                f"(name one first: git config {POLICY_CONFIG} PATH)"
            )


def escapes_enabled(git: Git) -> bool:
    """Whether the server honours `Repolicy-Allow-Frozen:` trailers in pushed
    commits: only the repository's own config file decides (not a global or
    system file, which a local pusher's environment could name)."""
    return (git.config("--local", "--bool", "--get", ESCAPES_CONFIG) or "") == "true"


def server_policy(git: Git, explicit: str | None) -> tuple[Policy, str | None]:
    """The policy, and a note for the report when it is the default preset."""
    from repolicy.policy import load_policy

    if explicit:
        return load_policy(None, explicit), None
    configured = git.config("--get", POLICY_CONFIG)
    if configured:
        return load_policy(None, os.path.expanduser(configured)), None
    head = decode(git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).strip())
    ref = default_branch(git)
    if ref is None:
        if git.run("for-each-ref", "--count=1", "--format=x").strip():
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
    head = decode(git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).strip())
    if not head or not git.run("rev-parse", "-q", "--verify", head, ok=(0, 1)).strip():
        return None
    return head


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
