"""What a run examines, and the parsing of what git tells a hook about it.

A scope is plain data, built by a command from its options and stdin and
handed to the engine (`repolicy.engine.judge`):

- `Staged`: the index against HEAD, or some of its paths (the pre-commit hook)
- `Pushed`: what a push sends (git's pre-push lines, or a from/to pair)
- `Received`: what a push brings to a server (git's pre-receive lines)
- `Range`: the commits of `A..B`, or of what a branch adds to a base (CI)
- `Repository`: every branch and tag, the index and the work tree (`audit`),
  or only some paths of them (`explain`)

The lines git writes to a hook are checked here before any of them reaches
git: they become git arguments, so a line that is not exactly what git writes
stops the run (exit 2).
"""

from __future__ import annotations

import re
import sys

from repolicy.errors import RepolicyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    from repolicy.git import Git
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple


class Staged(NamedTuple):
    paths: list[str]  # as given on the command line; empty: every staged path


class Pushed(NamedTuple):
    updates: list[PushUpdate]
    remote: str | None
    from_ref: str | None
    to_ref: str | None


class Received(NamedTuple):
    updates: list[ReceiveUpdate]


class Range(NamedTuple):
    range: str | None  # `A..B`
    base: str | None  # what HEAD adds to this revision: merge-base(base, HEAD)..HEAD


class Repository(NamedTuple):
    paths: tuple[str, ...] | None = None  # None: all of it; else only these paths


Scope = Staged | Pushed | Received | Range | Repository


class PushUpdate:
    """One line git gives a pre-push hook."""

    __slots__ = ("local_ref", "local_sha", "remote_ref", "remote_sha")

    def __init__(self, local_ref: str, local_sha: str, remote_ref: str, remote_sha: str) -> None:
        self.local_ref = local_ref
        self.local_sha = local_sha
        self.remote_ref = remote_ref
        self.remote_sha = remote_sha


def is_zero(sha: str) -> bool:
    """The all-zero id (40 hex digits for SHA-1, 64 for SHA-256): no such object."""
    return len(sha) in (40, 64) and not sha.strip("0")


def parse_push_lines(text: str, length: int = 40) -> list[PushUpdate]:
    """Git's pre-push lines, each checked: they become git arguments, so a line
    that is not exactly what git writes stops the hook (exit 2)."""
    updates = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.rsplit(" ", 3)
        if len(fields) != 4:
            raise bad_line("pre-push", number, "expected <local ref> <sha> <remote ref> <sha>")
        local_ref, local_sha, remote_ref, remote_sha = fields
        for sha in (local_sha, remote_sha):
            if not is_object_id(sha, length):
                raise bad_line("pre-push", number, f"not an object id of {length} hex digits")
        if not local_ref or local_ref.startswith("-") or not printable(local_ref):
            raise bad_line("pre-push", number, "the local ref is not a name git gives")
        if not sane_ref(remote_ref):
            raise bad_line("pre-push", number, "the remote ref is not a valid ref name")
        updates.append(PushUpdate(local_ref, local_sha, remote_ref, remote_sha))
    return updates


# Object ids as git writes them to hooks: lower-case hex only.
_LOWER_HEX = "0123456789abcdef"


def is_object_id(text: str, length: int) -> bool:
    return len(text) == length and not text.strip(_LOWER_HEX)


def printable(text: str) -> bool:
    return all(" " <= c != "\x7f" for c in text)


def sane_ref(name: str) -> bool:
    """A full ref name as `git check-ref-format` accepts it, below refs/."""
    parts = name.split("/")
    return (
        name.startswith("refs/")
        and printable(name)
        and not any(c in name for c in " ~^:?*[\\")
        and ".." not in name
        and "@{" not in name
        and not name.endswith((".", ".lock"))
        and all(p and not p.startswith(".") and not p.endswith(".lock") for p in parts)
    )


def bad_line(hook: str, number: int, why: str) -> RepolicyError:
    return RepolicyError(f"{hook} input line {number}: {why}; refusing to judge it")


def push_revisions(
    git: Git,
    updates: list[PushUpdate],
    remote: str | None,
    from_ref: str | None,
    to_ref: str | None,
) -> list[str] | None:
    """`log`/`rev-list` arguments for what the push sends; None when nothing is sent."""
    known_remote = f"--remotes={remote}" if remote else "--remotes"
    if updates:
        sent = [u for u in updates if not is_zero(u.local_sha)]  # deletions send nothing
        if not sent:
            return None
        theirs = [u.remote_sha for u in sent if not is_zero(u.remote_sha)]
        # A remote sha we have never fetched cannot bound the range; --ignore-missing
        # drops it and the remote-tracking refs still do.
        return [*(u.local_sha for u in sent), "--not", *theirs, known_remote]
    if to_ref:
        bound = [from_ref] if from_ref and not is_zero(from_ref) else []
        return [to_ref, "--not", *bound, known_remote]
    # A first push through pre-commit, or a manual run: all that no remote has.
    return ["HEAD", "--not", known_remote]


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    try:
        return sys.stdin.read()
    except (OSError, ValueError):
        return ""


class ReceiveUpdate:
    """One line git gives a pre-receive hook."""

    __slots__ = ("new", "old", "ref")

    def __init__(self, old: str, new: str, ref: str) -> None:
        self.old = old
        self.new = new
        self.ref = ref


def parse_receive_lines(text: str, length: int = 40) -> list[ReceiveUpdate]:
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
        updates.append(ReceiveUpdate(old, new, ref))
    return updates


def refuse_replace_refs(updates: list[ReceiveUpdate]) -> None:
    """refs/replace/ would make git read one object as another on this server
    (for every later reader too): no push may create or move one."""
    for update in updates:
        if update.ref.startswith("refs/replace/") and not is_zero(update.new):
            raise RepolicyError(
                f"refusing {update.ref}: a replace ref makes git show one object in place "
                "of another, so this server accepts none (delete it: git push origin "
                f":{update.ref})"
            )


def receive_revisions(updates: list[ReceiveUpdate]) -> list[str] | None:
    """What the push brings: reachable from a new tip and from no ref the server has
    now (refs move only after this hook); None when only deletions arrive."""
    tips = list(dict.fromkeys(u.new for u in updates if not is_zero(u.new)))
    return [*tips, "--not", "--all"] if tips else None


FETCH_ALL = (
    "fetch the whole history (`git fetch --unshallow`; GitHub Actions: "
    '`actions/checkout` with `fetch-depth: 0`; GitLab CI: `GIT_DEPTH: "0"`)'
)


def split_range(text: str) -> tuple[str, str]:
    """`A..B` as its two revisions; an empty side is HEAD, as git reads it."""
    if "..." in text:
        raise RepolicyError(
            f"--range {text!r}: `A...B` is not supported; use `A..B`, or "
            "`--base A` for what a pull request into A brings"
        )
    base, sep, tip = text.partition("..")
    if not sep or ".." in tip:
        raise RepolicyError(f"--range {text!r}: expected A..B (two revisions)")
    return base or "HEAD", tip or "HEAD"


def fetch_hint(rev: str) -> str:
    """What to fetch for a missing revision: the branch it names, when it names one."""
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._/-]*", rev) and not rev.endswith((".", "/")):
        branch = rev.removeprefix("refs/remotes/").removeprefix("origin/")
        return (
            f"fetch it (`git fetch origin +refs/heads/{branch}:refs/remotes/origin/{branch}`) "
            f"or {FETCH_ALL}"
        )
    return FETCH_ALL


def resolve(git: Git, rev: str, role: str, shallow: bool) -> str:
    """The commit `rev` names, or a one-line refusal saying what to fetch."""
    if not rev or rev.startswith("-"):
        # No ref name starts with `-`; such a revision is a mistyped option.
        raise RepolicyError(f"{role} {rev!r} is not a revision")
    sha = git.commit_named(rev)
    if sha is not None:
        return sha
    named = f"{role} {rev!r}" if role != rev else rev
    if shallow:
        raise RepolicyError(f"{named} is not in this shallow clone: {fetch_hint(rev)}")
    raise RepolicyError(f"{named} names no commit in this repository")


def range_bounds(
    git: Git, range_text: str | None, base_rev: str | None, shallow: bool
) -> tuple[str, str]:
    """The range's two commits: what is excluded, and its tip."""
    if base_rev is not None:
        tip = resolve(git, "HEAD", "HEAD", shallow)
        target = resolve(git, base_rev, "--base", shallow)
        base = git.merge_base(target, tip)
        if base is None:
            if shallow:
                raise RepolicyError(
                    f"--base {base_rev}: no common ancestor of {base_rev} and HEAD is in "
                    f"this shallow clone; deepen it (`git fetch --deepen=N`, N at least the "
                    f"branch's commits since it forked) or {FETCH_ALL}"
                )
            raise RepolicyError(f"--base {base_rev}: {base_rev} and HEAD share no history")
        return base, tip
    assert range_text is not None
    first, last = split_range(range_text)
    return resolve(git, first, "--range start", shallow), resolve(git, last, "--range end", shallow)
