"""`repolicy check --pre-receive`: the server's hook, judging every object a push brings.

Runs in the receiving repository (bare, usually) before any ref moves. Git
keeps the pushed objects in a quarantine directory until the hook accepts
them, and tells child processes where it is (`GIT_QUARANTINE_PATH`,
`GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`): every git
process here inherits that environment, so the new objects are visible
and nothing is written among them.

The policy is the server's, never the push's: `--policy`, else the
`repolicy.policy` config of the repository, else `.repolicy.yaml` of the
default branch as it is before this push. Pushed content is untrusted; the
YAML is only ever read with the safe loader.
"""

from __future__ import annotations

import os
import posixpath
import tempfile

from repolicy.commands.push import is_zero, read_stdin
from repolicy.git import Git, decode, objects_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.cli import Options
    from repolicy.policy import Policy

POLICY_CONFIG = "repolicy.policy"
_MAX_POLICY_FILES = 16  # a policy extending files of its own branch: enough, and bounded
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


def parse_updates(text: str) -> list[RefUpdate]:
    updates = []
    for line in text.splitlines():
        if not line.strip():
            continue
        old, new, ref = line.split(" ", 2)
        updates.append(RefUpdate(old, new, ref))
    return updates


def revisions(updates: list[RefUpdate]) -> list[str] | None:
    """What the push brings: reachable from a new tip and from no ref the server has
    now (refs move only after this hook); None when only deletions arrive."""
    tips = list(dict.fromkeys(u.new for u in updates if not is_zero(u.new)))
    return [*tips, "--not", "--all"] if tips else None


def run(args: Options) -> int:
    from repolicy.commands.push import judge
    from repolicy.report import Report, emit

    git_dir = os.fsdecode(Git(os.getcwd()).run("rev-parse", "--absolute-git-dir").rstrip(b"\n"))
    git = Git(git_dir)
    updates = parse_updates(read_stdin())
    policy = server_policy(git, args.policy)
    revs = revisions(updates)
    report = Report("pre-receive", policy.name, budgets={})
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
        bound=stored_bound(git),
        baseline=accepted,
        objects=objects_directory(git_dir),
    )
    report.sort()
    emit(report, args.format, no_color=args.no_color, quiet=args.quiet)
    return report.exit_code(args.strict)


def server_policy(git: Git, explicit: str | None) -> Policy:
    from repolicy.policy import load_policy

    if explicit:
        return load_policy(None, explicit)
    configured = git.config("--get", POLICY_CONFIG)
    if configured:
        return load_policy(None, os.path.expanduser(configured))
    ref = default_branch(git)
    if ref:
        with tempfile.TemporaryDirectory(prefix="repolicy-policy-") as tmp:
            if _materialize(git, ref, tmp):
                policy = load_policy(tmp, None)
                return policy._replace(name=f"{ref}:.repolicy.yaml")
    return load_policy(None, None)


def default_branch(git: Git) -> str | None:
    """The branch HEAD names, if it exists yet (an empty repository has none)."""
    head = decode(git.run("symbolic-ref", "-q", "HEAD", ok=(0, 1)).strip())
    if not head or not git.run("rev-parse", "-q", "--verify", head, ok=(0, 1)).strip():
        return None
    return head


def _materialize(git: Git, ref: str, target: str) -> bool:
    """Copy `.repolicy.yaml` of `ref`, and the policy files it extends by path, from
    the tree into `target`; False when the branch holds no policy."""
    import yaml

    wanted = [".repolicy.yaml"]
    done: set[str] = set()
    while wanted and len(done) < _MAX_POLICY_FILES:
        rel = wanted.pop()
        if rel in done:
            continue
        done.add(rel)
        data = git.run("cat-file", "blob", f"{ref}:{rel}", ok=(0, 1, 128))
        if not data and rel == ".repolicy.yaml":
            exists = git.run("rev-parse", "-q", "--verify", f"{ref}:{rel}", ok=(0, 1, 128))
            if not exists.strip():
                return False
        path = os.path.join(target, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            parsed = yaml.safe_load(data) if data else None
        except yaml.YAMLError:
            continue  # the loader reports it with its line
        parents = parsed.get("extends") if isinstance(parsed, dict) else None
        for parent in parents if isinstance(parents, list) else [parents]:
            if isinstance(parent, str) and ("/" in parent or parent.endswith(".yaml")):
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), parent))
                if not joined.startswith("../") and joined != "..":
                    wanted.append(joined)
    return True


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
