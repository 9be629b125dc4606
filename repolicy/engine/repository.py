"""The repository scope: the work tree, the index and the history of every branch and tag.

What `audit` judges, and what `explain` judges for its paths. History: every
blob any commit of any branch or tag wrote, at every path, with the commit
that wrote it first. Work tree: what the next `git add -A` would do with the
policy's paths. Repository-wide facts (budgets, unpushed commits) come last.
"""

from __future__ import annotations

import itertools
import operator
import os
from typing import NamedTuple

from repolicy.git import (
    Git,
    HistoryEntry,
    Query,
    decode,
    is_partial_clone,
    largest_copies,
    objects_directory,
    stored_objects,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

    from repolicy.checks import Context
    from repolicy.facts import BlobAtPath, Candidate
    from repolicy.git.objects import DiskSizes
    from repolicy.policy import Policy
    from repolicy.report import Report, Violation
    from repolicy.scope import Repository

# What the last `examine` built, kept until the process ends (see there).
_HELD: list[object] = []

_PATH = operator.attrgetter("path")
_SIZE = operator.attrgetter("size")
_OID = operator.attrgetter("oid")


def emptied(ids: set[bytes]) -> Iterator[bytes]:
    """The ids, then none: the set is emptied once read."""
    yield from ids
    ids.clear()


def history_revisions(git: Git) -> list[str]:
    """Branches and tags, and remote-tracking branches no local branch stands for
    (a CI checkout often has only those). Stashes and reflogs are not history.

    A remote-tracking ref that names anything but a commit (a fetch can map
    tags, or any object, there) is no branch a local one stands for: it is
    always taken, and what it names is judged as a tag's would be."""
    refs = git.ref_kinds("refs/heads", "refs/remotes")
    local = {n[len("refs/heads/") :] for n, _ in refs if n.startswith("refs/heads/")}
    revs = ["--branches", "--tags"]
    for name, kind in refs:
        if not name.startswith("refs/remotes/"):
            continue
        _remote, _, short = name[len("refs/remotes/") :].partition("/")
        if kind != "commit" or (short and short != "HEAD" and short not in local):
            revs.append(name)
    return revs


# Where the refs that can name a tag object, a tree or a blob live (a branch
# names a commit): those of them `named_refs` keeps are in scope.
NAMING_PREFIXES = ("refs/tags", "refs/remotes")


def named_refs(revs: Sequence[str]) -> Callable[[str], bool]:
    """Whether a ref under `NAMING_PREFIXES` is one `revs` take: every tag, and
    the remote-tracking refs taken."""
    taken = frozenset(r for r in revs if r.startswith("refs/"))
    return lambda name: name.startswith("refs/tags/") or name in taken


def tag_contents(
    git: Git,
    walked: set[bytes],
    blobs: Mapping[str, object],
    tags: list[str],
    report: Report,
    revs: Sequence[str],
    origin: dict[str, str],
) -> tuple[list[Candidate], list[str]]:
    """The tags and the remote-tracking refs `revs` take (see `history_revisions`)
    that name a tree or a blob, which the history walk never meets: their
    blobs to judge, and the objects they add to what the repository holds.
    `origin` receives the ref of each blob's path."""
    from repolicy.engine.commits import content_candidates

    # The remote-tracking refs are those `revs` took: listed once already.
    refs = [*git.ref_names("refs/tags"), *(r for r in revs if r.startswith("refs/"))]
    tips = git.content_tips(refs)
    if not tips:
        return [], []
    brought: list[str] = []
    found = content_candidates(git, tips, [], {t: t for t in tips}, report.notes, origin, brought)
    known = set(tags)
    extra = {o for o in brought if o.encode() not in walked and o not in blobs and o not in known}
    return found, sorted(extra)


def disk_usage(
    git: Git,
    objects: str,
    walked: set[bytes],
    present: list[str],
    contents: list[str],
    promised: Collection[str],
) -> Query[int] | DiskSizes:
    """What the history takes on disk: its commits and trees (`walked`), the
    tags and blobs the run read (`present`), and what tags of trees bring.

    When the repository stores exactly as many objects as the history holds,
    it stores those and nothing else: every one of them is known to be there,
    so the count leaves no room for another. The figure is then the size of
    the packs and loose files, and git is not asked about 200,000 ids. A clone
    fresh from its remote (what CI audits) is such a repository; one with any
    unreachable object, or objects it may lack, is summed object by object.
    """
    if not walked and not present and not contents:
        return Query(None, int, 0)
    some = next(iter(walked)) if walked else [*present, *contents][0].encode()
    hash_size = len(some) // 2
    if not promised and not contents:
        stored = stored_objects(objects, hash_size)
        if stored is not None and stored[0] == len(walked) + len(present):
            walked.clear()
            return Query(None, int, stored[1])  # answered already
    # An object stored twice counts its largest copy: git's answer for it
    # depends on what was asked before it (see `largest_copies`). Packs this
    # process cannot read are left to git's answer.
    largest = largest_copies(objects)
    ids = itertools.chain(emptied(walked), map(str.encode, [*present, *contents]))
    return git.disk_sizes(ids, largest)


def examine(scope: Repository, policy_arg: str | None, quiet: bool = False) -> Examined:
    """Every check of the whole repository, before the baseline is applied."""
    from repolicy.checks import Context, check_blobs, supersede
    from repolicy.checks.budgets import history_budgets
    from repolicy.facts import attach, entry_facts, gather, index_candidates, index_judged
    from repolicy.lfs import MAX_POINTER_SIZE, might_be_pointer
    from repolicy.progress import Progress
    from repolicy.report import Report, exact_size, human_size

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    from repolicy.engine import work_tree_policy

    policy = work_tree_policy(git, info, policy_arg)
    ctx = Context(policy)
    report = Report("audit", policy)

    revs = history_revisions(git)
    # Every independent question is asked now; git answers them side by side
    # while the history is parsed and judged. One walk of the history answers
    # three: the blobs at their paths (whose sizes, contents and attributes
    # are asked as the walk meets them) and, with the commits and trees it
    # passes, what the history takes on disk.
    objects = objects_directory(info.git_dir)
    promised = git.promised(revs).get() if is_partial_clone(objects) else set()
    window = policy.binary_window()
    scan = git.history_scan(
        revs,
        MAX_POINTER_SIZE,
        might_be_pointer,
        ("filter",),
        objects,
        promised,
        window,
        on_paths=ctx.path_rules if policy.exclude or policy.lfs else None,
    )
    tags = git.tag_objects(NAMING_PREFIXES, named_refs(revs))
    head = git.head()
    # Whether the index holds HEAD's tree (what a fresh clone, and so CI, has):
    # answered in milliseconds while the history is walked.
    holds_head = git.index_holds(head) if head is not None else None
    progress = Progress(enabled=None if not quiet else False)
    progress.say("reading the history of every branch and tag, and its blobs")
    walk = scan.get()
    head_walked = head is not None and head.encode() in walk.objects
    from repolicy.advice import Advisor, HistoryScope

    # Read from now on, for the checks' first advice on a blob of history.
    history = HistoryScope(git, entries=walk.entries, firsts=walk.firsts)
    history.read_ahead()
    # Listed after the walk, not beside it: each listing holds the index in
    # memory, and the walk is when this command's processes hold the most
    # (started beside it, the index's listings took the benchmark's memory
    # footprint over twice its floor's).
    index = git.whole_index()
    directories = None
    if policy.limit("directory_entries") is not None:
        from repolicy.engine import tree_facts

        directories = tree_facts.directories_audited_later(ctx, git, head, holds_head)
    on_disk = WorkTree(git) if policy.include or policy.exclude or policy.lfs else None
    # Hundreds of thousands of ids: a thread hands them to git a batch at a time.
    blob_ids = list(scan.info)
    origin: dict[str, str] = {}
    contents, content_ids = tag_contents(
        git, walk.objects, scan.info, tags.get(), report, revs, origin
    )
    usage = disk_usage(git, objects, walk.objects, [*tags.get(), *blob_ids], content_ids, promised)
    raw = sum(i.size for i in scan.info.values())  # distinct blobs of history
    progress.say(f"{len(scan.info):,} objects scanned, {human_size(raw)}; judging")
    listing = index.get()
    if head_walked and holds_head is not None and holds_head.get():
        # The index holds HEAD's tree, and history holds every blob of it at
        # its path: nothing is staged, and the index's entries are never parsed.
        staged: list[Candidate] = []
    else:
        # Nearly every index entry is in history: the few that are not are
        # judged as staged blobs. Found without a Python-level loop, as there
        # is one entry per file of the index.
        entries = index_judged(listing.entries)
        keys = zip(map(_OID, entries), map(_PATH, entries), strict=True)
        in_history = map(walk.firsts.__contains__, keys)
        staged = index_candidates(itertools.compress(entries, map(operator.not_, in_history)))
    if policy.include or policy.exclude or policy.lfs:
        from repolicy.atomic import parent_directories, refuse_special_rule_files

        # The checks ask git which of these paths the rules ignore and which
        # attributes they have, and git opens the rule files of their
        # directories: a FIFO there would hang it. The directories of history
        # are the trees the walk met; staged files may add a few.
        dirs = {decode(d) for d in walk.directories}
        dirs.update(parent_directories(c.path for c in staged))
        refuse_special_rule_files(info.toplevel, info.git_dir, dirs)
    tracked: list[str] = []
    if on_disk is not None:
        # What a `git add -A` would do on disk: the attributes it needs are
        # asked now, answered while history is judged. The index's files are
        # what `index_judged` keeps: all, unless a submodule or a conflict.
        tracked = listing.paths if listing.plain else [*map(_PATH, index_judged(listing.entries))]
        on_disk.ask(ctx, tracked)
    blobs = [
        *attach(
            entry_facts(walk.firsts.values()),
            scan.info,
            scan.contents,
            scan.attributes,
            promised,
            scan.binary,
        ),
        *gather(
            git, staged, cached_attributes=True, objects=objects, promised=promised, binary=window
        ),
    ]
    if contents:
        blobs += gather(
            git,
            contents,
            cached_attributes=True,
            objects=objects,
            promised=promised,
            binary=window,
        )
    scan.release()
    ctx.advice = Advisor(git, history)
    report.violations.extend(check_blobs(ctx, blobs))
    # Files only a ref names, outside any commit and not in the index: their
    # advice is to delete the ref (`ref_content_advice`, and `repo_budget_fix`
    # when one of them is the largest).
    in_index = {c.path for c in staged}
    named = {path: ref for path, ref in origin.items() if path not in in_index}
    if named:
        report.violations = ref_content_advice(report.violations, named)
    if policy.require or policy.frozen:
        from repolicy.engine import tree_facts

        report.violations.extend(tree_facts.require_audited(ctx, git, head))
        report.violations.extend(tree_facts.frozen_audited(ctx, git, revs, head))
    if directories is not None:
        report.violations.extend(directories(listing.paths))

    lfs_sizes = {b.lfs_oid: b.lfs_size for b in blobs if b.pointer is not None and b.lfs_oid}
    report.budgets = {
        "repo": {"used": usage.get(), "limit": policy.limit("repo")},
        "lfs": {"used": sum(lfs_sizes.values()), "limit": policy.limit("lfs")},
    }
    report.violations.extend(history_budgets(ctx, report, blobs, named))
    if on_disk is not None:
        report.violations.extend(on_disk.violations(ctx, tracked))
    from repolicy.engine import dvc_facts as dvc

    untracked = on_disk.untracked() if on_disk is not None else None
    report.violations.extend(dvc.for_audit(ctx, git, info.git_dir, blobs, listing, untracked))
    report.violations = supersede(report.violations)
    report.violations.extend(unpushed(ctx, git, report))
    if policy.allow:
        report.violations.extend(allow_unused(git, policy, blobs))
    shallow = git.is_shallow()
    if shallow:
        report.notes.append(
            "this is a shallow clone: only the history it has was audited "
            "(fetch it all with `git fetch --unshallow`)"
        )
    report.sections.append(
        (
            "repository size",
            [
                f"{exact_size(usage.get())} on disk, as git stores it (what budgets.repo counts)",
                f"{human_size(raw)} of distinct blobs in history, uncompressed",
            ],
        )
    )
    # One line per path (its largest version, and how many it had): a file
    # rewritten at every commit would otherwise fill the list alone.
    largest = largest_paths(blobs, 10)
    if largest:
        report.sections.append(
            (
                "largest blobs in history",
                [
                    f"{human_size(b.size):>10}  {b.path}  ({(b.commit or '')[:12]})"
                    + (f", {versions} versions" if versions > 1 else "")
                    for b, versions in largest
                ],
            )
        )
    progress.clear()
    staged_map = {c.path: c.oid for c in staged}
    if scope.paths is not None:
        wanted = set(scope.paths)
        report.violations = [v for v in report.violations if v.path in wanted]
    report.sort()  # settles `allow` first: the baseline never records what it exempts
    # The command ends with os._exit (`repolicy.cli.run`): the records of the
    # whole history are never freed one by one, which on a history of 100,000
    # blobs would cost a tenth of a second as this frame ends.
    _HELD[:] = [blobs, walk, listing, staged, ctx, scan, on_disk, index]
    return Examined(info.toplevel, policy, report, walk.entries, staged_map, shallow)


def ref_content_advice(violations: list[Violation], named: Mapping[str, str]) -> list[Violation]:
    """A file of a tree, or a blob, that a ref names outside any commit
    (`named`: its path, with that ref; none in the index) is removed by
    removing the ref (its remote's too, for a remote-tracking one): the advice
    for a file of history or of the index would not reach it."""
    from repolicy.report import quote_paths

    advised = []
    for v in violations:
        ref = named.get(v.path) if v.path is not None and v.commit is None else None
        if ref is not None:
            v = v._replace(
                fix=f"delete or move {ref}, which names it outside any commit:\n"
                f"git update-ref -d {quote_paths([ref])}"
            )
        advised.append(v)
    return advised


def largest_paths(blobs: Sequence[BlobAtPath], count: int) -> list[tuple[BlobAtPath, int]]:
    """The `count` paths whose largest blob stored in git (not an LFS pointer) is
    largest, each with that blob (the first of equal ones) and its number of
    versions; largest first, paths of equal size in the order history met them."""
    import heapq

    kept = [
        b
        for b in blobs
        if b.commit and not b.unreadable and (b.pointer is None or not b.is_lfs_pointer)
    ]
    # Only the largest blobs are sorted, not all of a history's: enough of them
    # that the paths they hold reach `count` with a size no blob left out has.
    wanted = count * 4
    while True:
        top = heapq.nlargest(wanted, kept, key=_SIZE)  # stable: equal ones in order
        first: dict[str, BlobAtPath] = {}
        for b in top:
            first.setdefault(b.path, b)
        sizes = sorted((b.size for b in first.values()), reverse=True)
        if wanted >= len(kept) or (len(sizes) >= count and sizes[count - 1] > top[-1].size):
            break
        wanted *= 4
    # Where each candidate's path was first met, and its number of versions:
    # tallied for the candidates' paths only, not for all of a history's.
    met: dict[str, int] = {}
    versions = dict.fromkeys(first, 0)
    for k, path in enumerate(map(_PATH, kept)):
        if path in versions:
            versions[path] += 1
            met.setdefault(path, k)
    chosen = sorted(first.values(), key=lambda b: (-b.size, met[b.path]))[:count]
    return [(b, versions[b.path]) for b in chosen]


class Examined(NamedTuple):
    """A repository's report before the baseline, with what the baseline needs."""

    toplevel: str
    policy: Policy
    report: Report
    entries: list[HistoryEntry]  # every blob of history at its path, with its commit
    staged: dict[str, str]  # path -> blob id, for index entries history lacks
    shallow: bool


def judge(scope: Repository, policy_arg: str | None, quiet: bool = False) -> Report:
    """The repository's report: every check, then the baseline (`audit`, `explain`)."""
    from repolicy import baseline

    found = examine(scope, policy_arg, quiet)
    report = found.report
    accepted = baseline.load(found.toplevel, found.policy, report)
    if accepted is not None:
        # A shallow clone lacks the history that old entries match: it cannot
        # tell an unused entry from one it does not see. Nor can a judgment of
        # some paths tell that an entry for other paths is unused.
        baseline.apply(
            report,
            accepted,
            found.entries,
            staged=found.staged,
            judge_unused=not found.shallow and scope.paths is None,
        )
    return report


def write_baseline(policy_arg: str | None, quiet: bool = False) -> dict[str, object]:
    """Record every violation of the repository as accepted (`audit --write-baseline`)."""
    from repolicy import baseline
    from repolicy.scope import Repository

    found = examine(Repository(), policy_arg, quiet)
    return baseline.rewrite(
        found.toplevel, found.policy, found.report.violations, found.entries, found.staged
    )


def unpushed(ctx: Context, git: Git, report: Report) -> list[Violation]:
    """`unpushed`: the current branch's commits its upstream lacks (none without one)."""
    from repolicy.checks.unpushed import unpushed as check_unpushed

    upstream = git.upstream()
    if not upstream:
        if git.head() is not None:
            report.notes.append("the current branch has no upstream: nothing to compare with")
        return []
    return check_unpushed(ctx, upstream, git.count_commits(["HEAD"], [upstream]))


def allow_unused(git: Git, policy: Policy, blobs: list[BlobAtPath]) -> list[Violation]:
    """`allow` entries that select no path of history, the index or the work tree."""
    from repolicy.checks.allow import unused

    examined = {b.path for b in blobs}
    others = git.others().get()
    examined.update(others.ignored)
    examined.update(others.untracked)
    return unused(policy, examined)


class WorkTree:
    """include-ignored, include-untracked, not-ignored and lfs-attr-missing on disk."""

    def __init__(self, git: Git) -> None:
        self.git = git
        git.others()  # listed from now on
        # The files with an `lfs` rule, and git's answer on their attributes (`ask`).
        self._asked: tuple[list[str], Query[dict[str, dict[str, str]]]] | None = None

    def untracked(self) -> list[str]:
        return self.git.others().get().untracked

    def ignored(self) -> list[str]:
        return self.git.others().get().ignored

    def ask(self, ctx: Context, tracked: list[str]) -> None:
        """Ask git now the attributes `violations` reads, so that it answers
        while the caller judges history. Only once the rule files above
        `tracked` are known not to be FIFOs: git reads those on disk."""
        if ctx.policy.lfs and self._asked is None:
            paths = [*tracked, *self.untracked()]
            wanted = list(filter(ctx.lfs_rules(paths).get, paths))
            self._asked = (wanted, self.git.attributes(wanted, ("filter",)))

    def violations(self, ctx: Context, tracked: list[str]) -> list[Violation]:
        from repolicy.checks.exclude import check_work_tree
        from repolicy.checks.lfs import check_lfs_attributes
        from repolicy.facts import BlobAtPath

        out = list(check_work_tree(ctx, self.ignored(), self.untracked()))
        if ctx.policy.lfs:
            self.ask(ctx, tracked)
            assert self._asked is not None
            wanted, attributes = self._asked
            attrs = attributes.get()
            # Only a file git does not give filter=lfs can be lfs-attr-missing;
            # with its size on disk, as an `lfs` item with `above` asks only larger files.
            files = [
                BlobAtPath(p, "", "100644", size)
                for p in wanted
                if attrs.get(p, {}).get("filter") != "lfs"
                and (size := _file_size(os.path.join(self.git.cwd, p))) is not None
            ]
            out.extend(check_lfs_attributes(ctx, files))
        return out


def _file_size(path: str) -> int | None:
    """A regular file's size, or None for anything else (or nothing) there."""
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None
