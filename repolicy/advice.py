"""History advice that fits where the offending commits lie.

A blob staged today is fixed with `git rm --cached`. A blob already
committed is fixed by rewriting commits, and which commits may be rewritten
depends on what the remotes have: commits that no remote-tracking ref
reaches are this clone's alone, so rewriting them costs nobody anything;
commits a remote already holds are published, and rewriting them means a
force-push after which everyone else must re-clone.

`HistoryScope` answers where a commit lies, and the functions below turn the
answer into commands each tool accepts: `git lfs migrate import` limited
with `--include-ref`/`--exclude-ref` to the unpushed range, `git commit
--amend` when the tip commit alone touched the path, `git filter-branch
--index-filter` over the range otherwise (git's own tool, so the advice
never depends on something that may not be installed). Every path is quoted
for a POSIX shell and follows `--` where the tool takes one.

The scope asks git only when a violation needs it, and caches each answer:
a run without history violations starts no process here.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import NamedTuple

    from repolicy.git import Git, HistoryEntry, Query
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple

_OID = operator.attrgetter("oid")
_PATH = operator.attrgetter("path")
_COMMIT = operator.attrgetter("commit")

HEADS = "refs/heads/"
REMOTES = "refs/remotes/"
_ONE_BY_ONE = 8  # commits asked about one at a time before every commit is placed at once


class Unpushed(NamedTuple):
    """The blob's commits are on these local branches and on no remote."""

    branches: tuple[str, ...]  # full ref names under refs/heads/
    excludes: tuple[str, ...]  # refs bounding the range: everything any remote has


class Published(NamedTuple):
    """A remote already has the commit: on these refs (remote-tracking first)."""

    refs: tuple[str, ...]
    branches: tuple[str, ...]  # local branches that carry it too


class HistoryScope:
    """Which commits no remote has, asked of git lazily.

    A commit is unpushed when no remote-tracking ref contains it.
    `branches`: the local branches a push sends (None: every
    local branch that contains the commit). `preferred`: remote-tracking refs
    the advice names as the boundary when they exclude as much as every
    remote does (the push line's remote ref; else each branch's upstream).
    `entries`: the history the run walked; a blob that a published commit
    wrote at the same path too stays published whatever the unpushed range
    becomes. `firsts`: the same walk's first write of each (blob, path).
    """

    def __init__(
        self,
        git: Git,
        *,
        branches: Sequence[str] | None = None,
        preferred: Sequence[str] = (),
        entries: Sequence[HistoryEntry] = (),
        firsts: Mapping[tuple[str, str], HistoryEntry] | None = None,
    ) -> None:
        self.git = git
        self.branches = tuple(branches) if branches is not None else None
        self.preferred = tuple(preferred)
        self.entries = entries
        # The walk's first write of each (blob, path) (`HistoryWalk.firsts`);
        # none known: every pair is taken as written more than once.
        self.firsts: Mapping[tuple[str, str], HistoryEntry] = firsts or {}
        self._also: dict[tuple[str, str], bool] = {}
        self._writers: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]] | None = None
        self._remote_refs: list[str] | None = None
        self._containing: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._reach: dict[str, int] | None = None  # commit -> one bit per ref that has it
        self._reach_refs: list[str] = []
        self._early_reach: Callable[[], tuple[list[str], dict[str, int]]] | None = None
        self._marked: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._excludes: dict[str, tuple[str, ...]] = {}
        self._upstream: dict[str, list[str]] = {}
        self._ranges: dict[
            tuple[tuple[str, ...], tuple[str, ...]], tuple[list[str], dict[str, list[str]]]
        ] = {}
        self._tracked: dict[tuple[str, str], bool] = {}
        self._head: str | bool | None = False
        self.texts: dict[tuple[str, Unpushed | Published], str] = {}  # see lfs_history_fix

    sees_work_tree = True  # the work tree the advice is followed in is this one

    def remote_refs(self) -> list[str]:
        """Remote-tracking branches, without the symbolic `<remote>/HEAD`."""
        if self._remote_refs is None:
            self._remote_refs = self.git.remote_tracking_refs()
        return self._remote_refs

    def also_published(self, oid: str, path: str, commit: str) -> bool:
        """Whether a published commit wrote the same blob at the same path too (the
        same content committed twice): no rewrite of the unpushed range removes it."""
        key = (oid, path)
        if not self.remote_refs():
            return False  # nothing is published: no need to read the history
        if key not in self._also and len(self.firsts) == len(self.entries):
            # No (blob, path) was written twice (as in most histories): the
            # one commit that wrote it is the first.
            first_write = self.firsts.get(key)
            others = {first_write.commit} if first_write is not None else set()
            others.discard(commit)
            self._also[key] = any(self.containing(c)[0] for c in others)
        if key not in self._also:
            if self._writers is None:
                # The first and the last commit that wrote each (blob, path),
                # read once, by C loops: a scan of the whole history per
                # question would cost more. Where they differ, more than one
                # commit wrote it (rare), and the history is read for it.
                keys = list(zip(map(_OID, self.entries), map(_PATH, self.entries), strict=True))
                commits = list(map(_COMMIT, self.entries))
                self._writers = (
                    dict(zip(reversed(keys), reversed(commits), strict=True)),
                    dict(zip(keys, commits, strict=True)),
                )
            first, last = self._writers
            if first.get(key) == last.get(key):
                others = {first[key]} if key in first else set()
            else:
                others = {e.commit for e in self.entries if e.oid == oid and e.path == path}
            others.discard(commit)
            self._also[key] = any(self.containing(c)[0] for c in others)
        return self._also[key]

    def branch_named(self, name: str) -> str:
        """The full name of the local branch `name` stands for (`HEAD`, `main`), or ""."""
        if name.startswith(HEADS):
            return name
        return next((r for r in self.git.full_ref_names(name) if r.startswith(HEADS)), "")

    def checked_out(self) -> str | None:
        """The branch HEAD names (None when detached or unborn)."""
        if self._head is False:
            self._head = self.git.symbolic_head() or None
        return self._head if isinstance(self._head, str) else None

    def containing(self, commit: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The remote-tracking refs (without the symbolic `<remote>/HEAD`) and the
        local branches that contain `commit`. A few commits are asked one at a
        time (one `for-each-ref` each); past them, one `rev-list` of every
        branch answers for every commit: an audit of a history with hundreds of
        offending commits would otherwise start hundreds of processes."""
        known = self._containing.get(commit)
        if known is not None:
            return known
        # A run that walked the whole history (`entries`) pays little more for
        # one `rev-list` of it; each `for-each-ref --contains` may walk it all.
        if self._reach is None and not self.entries and len(self._containing) < _ONE_BY_ONE:
            refs = self.git.ref_names(REMOTES, HEADS, contains=commit)
            remote = set(self.remote_refs())
            known = (
                tuple(r for r in refs if r in remote),
                tuple(r for r in refs if r.startswith(HEADS)),
            )
        else:
            known = self._reached(commit)
        self._containing[commit] = known
        return known

    def _reached(self, commit: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`containing`, from which branches reach each commit: every branch tip
        marks its commit, and each commit hands its marks on to its parents
        (children come first in the walk)."""
        if self._reach is None:
            early = self._early_reach
            self._early_reach = None
            self._reach_refs, self._reach = early() if early is not None else self._reach_marks()
        mark = self._reach.get(commit, 0)
        # Most commits share their marks with many others: each set is read once.
        known = self._marked.get(mark)
        if known is None:
            refs: list[str] = []
            rest = mark
            while rest:
                low = rest & -rest
                refs.append(self._reach_refs[low.bit_length() - 1])
                rest ^= low
            known = self._marked[mark] = (
                tuple(r for r in refs if r.startswith(REMOTES)),
                tuple(r for r in refs if r.startswith(HEADS)),
            )
        return known

    def _reach_marks(self) -> tuple[list[str], dict[str, int]]:
        """The refs `_reached` knows, and each commit's marks."""
        remote = self.remote_refs()
        tips = self.git.ref_commits(HEADS)
        tips.update((r, c) for r, c in self.git.ref_commits(REMOTES).items() if r in remote)
        # One bit per ref, in ref-name order (for-each-ref's): a set of
        # bits then reads back as the refs sorted.
        refs = sorted(tips)
        marks: dict[str, int] = {}
        for bit, ref in enumerate(refs):
            marks[tips[ref]] = marks.get(tips[ref], 0) | 1 << bit
        for commit_and_parents in self.git.ancestry(dict.fromkeys(tips.values())):
            mark = marks.get(commit_and_parents[0], 0)
            for parent in commit_and_parents[1:]:
                marks[parent] = marks.get(parent, 0) | mark
        return refs, marks

    def read_ahead(self) -> None:
        """Start reading which refs reach each commit, in a thread, for the first
        `containing` question to find ready. An audit asks it once its checks
        find a blob of history to advise on, and then waited on git for a
        tenth of a second with nothing else to do; read from the end of its
        walk, git answers on the CPU the rest of the audit leaves idle. A
        failure is not kept: the question is then asked again, as it would
        have been."""
        import threading

        if self._reach is not None or self._early_reach is not None:
            return
        box: list[tuple[list[str], dict[str, int]] | Exception] = []

        def work() -> None:
            try:
                box.append(self._reach_marks())
            except Exception as exc:
                box.append(exc)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()

        def joined() -> tuple[list[str], dict[str, int]]:
            thread.join()
            found = box[0]
            # A failure is asked again here, where it raises as it would have.
            return self._reach_marks() if isinstance(found, Exception) else found

        self._early_reach = joined

    def upstream(self, branch: str) -> list[str]:
        if branch not in self._upstream:
            found = self.git.upstream(branch)
            self._upstream[branch] = [found] if found and found.startswith(REMOTES) else []
        return self._upstream[branch]

    def excludes(self, branch: str) -> tuple[str, ...]:
        """The fewest remote-tracking refs that bound `branch`'s unpushed commits: the
        preferred ones when they exclude as much as every remote does, else them all."""
        if branch not in self._excludes:
            everything = self.remote_refs()
            chosen: list[str] = []
            preferred = [r for r in self.preferred or self.upstream(branch) if r in everything]
            if preferred and everything:
                wanted = self._count(branch, everything)
                if self._count(branch, preferred) == wanted:
                    chosen = preferred
            self._excludes[branch] = tuple(chosen or everything)
        return self._excludes[branch]

    def _count(self, branch: str, bounds: Sequence[str]) -> int:
        return self.git.count_commits([branch], bounds)

    def where(self, commit: str, oid: str, path: str) -> Unpushed | Published | None:
        """Where the blob `oid` that `commit` wrote at `path` lies (None: on no ref
        this clone has, so none can be named)."""
        remote, local = self.containing(commit)
        if remote or self.also_published(oid, path, commit):
            return Published(remote, local) if remote or local else None
        return self.unpushed_on(self.branches if self.branches is not None else local)

    def unpushed_on(self, branches: Sequence[str]) -> Unpushed | None:
        """An unpushed commit's place: the local branches of `branches`, each
        rewritten from what it excludes (None: no local branch to name)."""
        heads = tuple(b for b in branches if b.startswith(HEADS))
        if not heads:
            return None
        excludes: list[str] = []
        for branch in heads:
            excludes.extend(r for r in self.excludes(branch) if r not in excludes)
        return Unpushed(heads, tuple(excludes))

    def _range(self, place: Unpushed) -> tuple[list[str], dict[str, list[str]]]:
        """The unpushed commits of `place`, children first, and for each path they
        change, the commits that change it: one `git log` per range, however many
        violations ask."""
        key = (place.branches, place.excludes)
        if key not in self._ranges:
            self._ranges[key] = self.git.changed_paths(place.branches, place.excludes)
        return self._ranges[key]

    def touching(self, place: Unpushed, path: str) -> list[str]:
        """The unpushed commits that change `path` (a file, or a directory's contents),
        children first."""
        commits, by_path = self._range(place)
        below = path.rstrip("/") + "/"
        hits = {c for p, cs in by_path.items() if p == path or p.startswith(below) for c in cs}
        return [c for c in commits if c in hits]

    def tip_changes(self, place: Unpushed) -> tuple[str | None, list[str]]:
        """The newest unpushed commit of a one-branch range, and the paths it changes."""
        commits, by_path = self._range(place)
        if not commits:
            return None, []
        tip = commits[0]
        return tip, [p for p, cs in by_path.items() if tip in cs]

    def tracks(self, rev: str, path: str) -> bool:
        """Whether the tree of `rev` holds `path` (a file, or files below it)."""
        # One entry looked up by name, not the whole tree listed: a tree of
        # 100,000 files took a tenth of a second per commit asked about.
        key = (rev, path)
        if key not in self._tracked:
            self._tracked[key] = self.git.tree_entry(rev, path.rstrip("/")) is not None
        return self._tracked[key]


# -- text ---------------------------------------------------------------------


def q(text: str) -> str:
    from repolicy.report.names import shell_quote

    return shell_quote(text)


def _short(ref: str) -> str:
    for prefix in (HEADS, REMOTES, "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _names(refs: Iterable[str]) -> str:
    return ", ".join(_short(r) for r in refs)


def _range_words(place: Unpushed) -> str:
    where = _names(place.branches)
    if place.excludes:
        return f"the commits of {where} that no remote has (not on {_names(place.excludes)})"
    return f"the commits of {where} (no remote has any of them)"


def _ref_args(place: Unpushed) -> str:
    return " ".join(
        [*(f"--include-ref={q(b)}" for b in place.branches),
         *(f"--exclude-ref={q(r)}" for r in place.excludes)]
    )  # fmt: skip


def _push_words(place: Published) -> str:
    remote = [r for r in place.refs if r.startswith(REMOTES)]
    where = f"already on {_names(remote)}" if remote else "already published"
    return (
        f"this commit is {where}: the rewrite changes published history, so it needs "
        "a force-push, and everyone else must re-clone (or rebase onto the new history)"
    )


def _force_push(scope: HistoryScope, place: Published) -> str:
    """The force-pushes that publish the rewritten branches: each to its upstream,
    else to the branch of the same name on a remote that has the commit."""
    pushes = []
    for branch in place.branches:
        targets = scope.upstream(branch) or [
            r for r in place.refs if r.endswith("/" + _short(branch))
        ]
        for ref in targets:
            remote, _, name = _short(ref).partition("/")
            pushes.append(f"git push --force-with-lease {q(remote)} {q(f'{branch}:{HEADS}{name}')}")
    return "\n".join(dict.fromkeys(pushes))


def lfs_history_fix(
    scope: HistoryScope | None, pattern: str, oid: str, path: str, commit: str
) -> str:
    """Commands that move a committed blob into LFS, rewriting no more than needed."""
    place = scope.where(commit, oid, path) if scope is not None else None
    if scope is None or place is None:
        return _lfs_history_fix(scope, pattern, place)
    # Thousands of blobs of one commit share their place: the text is written once.
    key = (pattern, place)
    text = scope.texts.get(key)
    if text is None:
        text = scope.texts[key] = _lfs_history_fix(scope, pattern, place)
    return text


def _lfs_history_fix(
    scope: HistoryScope | None, pattern: str, place: Unpushed | Published | None
) -> str:
    include = f"--include={q(pattern.lstrip('/'))}"
    if isinstance(place, Unpushed):
        return (
            f"rewrite {_range_words(place)}, storing {q(pattern)} in LFS:\n"
            f"git lfs migrate import {include} {_ref_args(place)}"
        )
    if isinstance(place, Published) and scope is not None:
        branches = " ".join(f"--include-ref={q(b)}" for b in place.branches)
        command = f"git lfs migrate import {include} {branches or '--everything'}"
        return "\n".join(
            filter(None, [f"{_push_words(place)}:", command, _force_push(scope, place)])
        )
    return (
        "rewrite history to store it in LFS (every branch: then force-push, and everyone "
        f"else re-clones):\ngit lfs migrate import {include} --everything"
    )


def _index_filter(path: str) -> str:
    from repolicy.report import quote_pathspecs

    return q(f"git rm -r -q --cached --ignore-unmatch -- {quote_pathspecs([path])}")


def remove_history_fix(
    scope: HistoryScope | None, path: str, oid: str, blob_path: str, commit: str
) -> str:
    """Commands that take a committed `path` (a file, or the directory holding the
    blob `oid` that `commit` wrote at `blob_path`) out of history, keeping it on
    disk, rewriting no more than needed."""
    place = scope.where(commit, oid, blob_path) if scope is not None else None
    if isinstance(place, Unpushed) and scope is not None:
        return _remove_unpushed(scope, place, path)
    if isinstance(place, Published) and place.branches and scope is not None:
        refs = " ".join(q(b) for b in place.branches)
        return "\n".join(
            filter(
                None,
                [
                    f"{_push_words(place)}:",
                    f"git filter-branch --prune-empty --index-filter {_index_filter(path)} "
                    f"-- {refs}",
                    _force_push(scope, place),
                ],
            )
        )
    return (
        "drop it from history (rewrites every branch and tag: then force-push, and everyone "
        f"else re-clones):\ngit filter-branch --prune-empty --index-filter {_index_filter(path)} "
        "--tag-name-filter cat -- --branches --tags"
    )


def _remove_unpushed(scope: HistoryScope, place: Unpushed, path: str) -> str:
    from repolicy.report import quote_pathspecs

    spec = quote_pathspecs([path])
    head = scope.checked_out()
    touching = scope.touching(place, path) if place.branches == (head,) else []
    if len(touching) == 1:
        tip, changed = scope.tip_changes(place)
        others = [p for p in changed if p != path and not p.startswith(path.rstrip("/") + "/")]
        if touching[0] == tip and others:
            return (
                "only the last commit, which no remote has, holds it: amend it (the "
                "file stays on disk; what else is staged joins the commit):\n"
                f"git rm -r -q --cached -- {spec}\n"
                "git commit -q --amend --no-edit"
            )
    keeps = (
        "the file stays on disk"
        if scope.sees_work_tree
        else "if the branch is checked out and its last commit has it, the rewrite "
        "deletes it from the work tree: copy it aside first"
    )
    lines = [f"rewrite {_range_words(place)} without it ({keeps}):"]
    if head in place.branches and scope.tracks(head or "HEAD", path):
        # The rewrite checks out the new tip: a path the old tip tracked would be
        # deleted from disk. Untracking it first leaves it where it is.
        lines += [
            f"git rm -r -q --cached -- {spec}",
            f"git commit -q -m {q('Stop tracking ' + path)}",
        ]
    refs = " ".join([*(q(b) for b in place.branches), *(q("^" + r) for r in place.excludes)])
    lines.append(f"git filter-branch --prune-empty --index-filter {_index_filter(path)} -- {refs}")
    return "\n".join(lines)


class ServerScope(HistoryScope):
    """Where a pushed commit lies, seen from the server a pre-receive hook runs on.

    The commits a push brings are on no remote yet: the server is the remote,
    and it rejects them. The pusher rewrites the pushed branch, bounded by the
    commits the server already has next to the range (`rev-list --boundary`),
    named by id, which `git lfs migrate --exclude-ref` and `^` both take.
    """

    def __init__(self, git: Git, updates: Sequence[tuple[str, str]]) -> None:
        super().__init__(git)
        self.updates = [(ref, new) for ref, new in updates if ref.startswith(HEADS)]
        self._brought: dict[str, tuple[set[str], tuple[str, ...]]] = {}

    sees_work_tree = False  # the server's repository is bare; the pusher's is elsewhere

    def checked_out(self) -> str | None:
        return None

    def _update(self, new: str) -> tuple[set[str], tuple[str, ...]]:
        if new not in self._brought:
            self._brought[new] = self.git.boundary(new)
        return self._brought[new]

    def where(self, commit: str, oid: str, path: str) -> Unpushed | Published | None:
        for ref, new in self.updates:
            commits, bounds = self._update(new)
            if commit in commits:
                return Unpushed((ref,), bounds)
        return None


class Advisor:
    """The facts a command hands its checks so their advice fits the repository:
    where committed blobs lie (`history`), and what git's ignore rules already
    ignore (asked only for paths a check names, in one `check-ignore`)."""

    def __init__(
        self, git: Git, history: HistoryScope | None = None, *, work_tree: bool = True
    ) -> None:
        self.git = git
        self.history = history
        self.work_tree = work_tree
        self._expected: tuple[set[str], Query[set[str]]] | None = None

    def expect_ignored(self, paths: Iterable[str]) -> None:
        """Ask git now about paths `ignored` will be asked about: the hook knows
        which staged paths an exclude rule names before it judges them."""
        if self.work_tree:
            wanted = set(paths)
            self._expected = (wanted, self.git.ignored_by_rules_later(wanted))

    def ignored(self, paths: Iterable[str]) -> set[str]:
        # A bare repository has no .gitignore to consult: ask for every line.
        if not self.work_tree:
            return set()
        wanted = set(paths)
        if self._expected is not None and wanted <= self._expected[0]:
            return self._expected[1].get() & wanted
        return self.git.ignored_by_rules(wanted)
