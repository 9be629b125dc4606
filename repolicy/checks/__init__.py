"""The check registry and the context checks run in.

Check names are API (CONTRACT §4): add new ones, never rename. Each family
module is named after the policy key it enforces and keeps the docs of its
checks next to their code; the registry below says which module that is, so
a run imports only the families it needs.
"""

from __future__ import annotations

import importlib
import itertools
import operator
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from repolicy.policy import SCREENED_KEYS, Policy, Rule
from repolicy.policy.match import Matcher
from repolicy.report import ERROR, WARNING, Violation

_PATH = operator.attrgetter("path")
_UNREADABLE = operator.attrgetter("unreadable")

if TYPE_CHECKING:
    from typing import NamedTuple

    from repolicy.advice import Advisor
    from repolicy.facts import BlobAtPath
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple


class CheckInfo(NamedTuple):
    name: str
    family: str  # module under repolicy.checks
    severity: str
    reported_by: tuple[str, ...]


REGISTRY: dict[str, CheckInfo] = {
    info.name: info
    for info in (
        CheckInfo("excluded", "exclude", ERROR, ("check", "push", "audit")),
        CheckInfo("lfs-missing", "lfs", ERROR, ("check", "push", "audit")),
        CheckInfo("lfs-pointer-invalid", "lfs", ERROR, ("check", "push", "audit")),
        CheckInfo("file-too-large", "budgets", ERROR, ("check", "push", "audit")),
        CheckInfo("file-large", "budgets", WARNING, ("check", "push", "audit")),
        CheckInfo("lfs-file-too-large", "lfs", ERROR, ("check", "push", "audit")),
        CheckInfo("repo-budget", "budgets", ERROR, ("push", "audit")),
        CheckInfo("lfs-budget", "budgets", ERROR, ("push", "audit")),
        CheckInfo("push-budget", "budgets", ERROR, ("push",)),
        CheckInfo("directory-large", "directories", WARNING, ("check", "push", "audit")),
        CheckInfo("include-ignored", "exclude", ERROR, ("audit",)),
        CheckInfo("include-untracked", "exclude", WARNING, ("audit",)),
        CheckInfo("not-ignored", "exclude", ERROR, ("audit",)),
        CheckInfo("lfs-attr-missing", "lfs", ERROR, ("check", "audit")),
        CheckInfo("missing-required", "require", ERROR, ("check", "push", "audit")),
        CheckInfo("frozen-modified", "frozen", ERROR, ("check", "push", "audit")),
        CheckInfo("dvc-in-git", "dvc", ERROR, ("check", "push", "audit")),
        CheckInfo("dvc-not-ignored", "dvc", ERROR, ("check", "audit")),
        CheckInfo("dvc-stale", "dvc", WARNING, ("audit",)),
        CheckInfo("unpushed", "unpushed", WARNING, ("audit",)),
        CheckInfo("lfs-object-missing", "lfs", ERROR, ("push",)),
        CheckInfo("baseline-unused", "baseline", WARNING, ("audit",)),
        CheckInfo("allow-unused", "allow", WARNING, ("audit",)),
        CheckInfo("blob-unreadable", "unreadable", ERROR, ("check", "push", "audit")),
    )
}


def doc(name: str) -> str:
    """The documentation of one check, kept in its family module's DOCS."""
    module = importlib.import_module(f"repolicy.checks.{REGISTRY[name].family}")
    docs: dict[str, str] = module.DOCS
    return docs[name]


class Context:
    """The policy, with one matcher per list, shared by every check of a run."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._matchers: dict[str, Matcher] = {}
        # Several checks ask about the same path, and history holds each path
        # many times over: each question is answered once per path.
        self._lfs: dict[str, Rule | None] = {}
        self._excluding: dict[str, Rule | None] = {}
        # What the repository around the run says about fitting advice (which
        # commits a remote has, what .gitignore ignores); None: advice for any state.
        self.advice: Advisor | None = None

    def prepare(self) -> None:
        """Compile every matcher now: the hook does this while git computes the
        diff, rather than after it."""
        for key in SCREENED_KEYS:
            self.matcher(key)

    def matcher(self, key: str) -> Matcher:
        if key not in self._matchers:
            rules: tuple[Rule, ...] = getattr(self.policy, key)
            self._matchers[key] = Matcher([r.pattern for r in rules])
        return self._matchers[key]

    def rules_for(self, key: str, path: str) -> list[Rule]:
        """The rules under `key` that select `path`, in policy order."""
        rules: tuple[Rule, ...] = getattr(self.policy, key)
        return [rules[k] for k in self.matcher(key).hits(path)] if rules else []

    def file_rules(self, key: str, path: str) -> list[Rule]:
        """The rules under `key` that apply to the file `path`.

        `include` is read as `exclude` is, as a `.gitignore` line: a matching
        directory takes everything below it (`include: [checkpoints]` keeps
        `runs/a/checkpoints/best.pth`). `lfs` describes files, as
        `.gitattributes` does: a pattern matches the file itself, and only a
        pattern ending in '/' covers a directory's contents.
        """
        hits = self.rules_for(key, path)
        if not hits or key == "include":
            return hits
        raw = os.fsencode(path)
        return [r for r in hits if r.pattern.dir_only or r.pattern.matches(raw, False)]

    def including_rule(self, path: str) -> Rule | None:
        hits = self.file_rules("include", path)
        return hits[0] if hits else None

    def excluding_rule(self, path: str) -> Rule | None:
        """The first `exclude` rule that selects `path`, unless an `include` rule keeps it."""
        known = self._excluding
        return known[path] if path in known else self.excluding_rules((path,))[path]

    def excluding_rules(self, paths: Iterable[str]) -> Mapping[str, Rule | None]:
        """`excluding_rule` of each of `paths` (and of every path asked before)."""
        known = self._excluding
        rules: tuple[Rule, ...] = self.policy.exclude
        fresh = list(itertools.filterfalse(known.__contains__, paths))
        known.update(dict.fromkeys(fresh))
        if rules:
            # Most paths match no exclude pattern: the include question is
            # asked only of those that do, all at once.
            found = self.matcher("exclude").selecting(fresh)
            kept = self.matcher("include").selecting(list(found)) if self.policy.include else {}
            for path, hits in found.items():
                known[path] = rules[hits[0]] if path not in kept else None
        return known

    def path_rules(self, paths: list[str]) -> None:
        """Find which `exclude` and `lfs` rules apply to each of `paths`, for the
        checks to look up later: a history scan gives its paths as it meets them."""
        self.excluding_rules(paths)
        self.lfs_rules(paths)

    def excluding_rule_of(self, blobs: Iterable[BlobAtPath]) -> Callable[[str], Rule | None]:
        """`excluding_rule` as a lookup, the paths of `blobs` not asked before
        matched first (a history's were, as the walk met them)."""
        known = self._excluding
        self.excluding_rules(
            dict.fromkeys(itertools.filterfalse(known.__contains__, map(_PATH, blobs)))
        )
        return known.get

    def lfs_rule_of(self, blobs: Iterable[BlobAtPath]) -> Callable[[str], Rule | None]:
        """`lfs_rule` as a lookup, as `excluding_rule_of` is."""
        known = self._lfs
        self.lfs_rules(dict.fromkeys(itertools.filterfalse(known.__contains__, map(_PATH, blobs))))
        return known.get

    def excluding_rule_each(self, blobs: Sequence[BlobAtPath]) -> list[Rule | None]:
        """`excluding_rule` of each blob's path, in order (each path matched once,
        however many blobs history holds at it)."""
        return _each(self._excluding, self.excluding_rules, blobs)

    def lfs_rule_each(self, blobs: Sequence[BlobAtPath]) -> list[Rule | None]:
        """`lfs_rule` of each blob's path, in order, as `excluding_rule_each` is."""
        return _each(self._lfs, self.lfs_rules, blobs)

    def lfs_rule(self, path: str) -> Rule | None:
        known = self._lfs
        return known[path] if path in known else self.lfs_rules((path,))[path]

    def lfs_rules(self, paths: Iterable[str]) -> Mapping[str, Rule | None]:
        """The first `lfs` rule that applies to each file of `paths` (and of every
        path asked before)."""
        known = self._lfs
        rules: tuple[Rule, ...] = self.policy.lfs
        fresh = list(itertools.filterfalse(known.__contains__, paths))
        known.update(dict.fromkeys(fresh))
        if rules:
            # `file_rules("lfs", path)[0]`, without building the list: most
            # paths match no lfs pattern, and this runs for every one.
            for path, hits in self.matcher("lfs").selecting(fresh).items():
                raw = os.fsencode(path)
                for k in hits:
                    pattern = rules[k].pattern
                    if pattern.dir_only or pattern.matches(raw, False):
                        known[path] = rules[k]
                        break
        return known

    def severity(self, check: str, rule: Rule | None = None) -> str:
        if rule is not None and rule.severity:
            return rule.severity
        return REGISTRY[check].severity


# A rule no path has: what `_each` finds for a path never matched.
_UNASKED: Rule = tuple.__new__(Rule, ())


def _each(
    known: dict[str, Rule | None],
    match: Callable[[Iterable[str]], object],
    blobs: Sequence[BlobAtPath],
) -> list[Rule | None]:
    """The rule `known` holds for each blob's path, the paths it lacks matched
    first (`match`). A whole history's blobs, whose paths were matched as the
    walk met them, are looked up once each, without a Python-level loop."""
    found = list(map(known.get, map(_PATH, blobs), itertools.repeat(_UNASKED)))
    if any(map(operator.is_, found, itertools.repeat(_UNASKED))):
        match(dict.fromkeys(itertools.filterfalse(known.__contains__, map(_PATH, blobs))))
        found = list(map(known.__getitem__, map(_PATH, blobs)))
    return found


def check_blobs(ctx: Context, blobs: list[BlobAtPath]) -> list[Violation]:
    """Every per-blob check, for staged, pushed or historical blobs alike."""
    from repolicy.checks.budgets import check_file_sizes
    from repolicy.checks.exclude import check_excluded
    from repolicy.checks.lfs import check_lfs, check_lfs_attributes
    from repolicy.checks.unreadable import check_unreadable

    # A blob that cannot be read has no size or contents to judge: it is
    # reported as such, and no other check sees it as 0 bytes.
    unreadable = list(check_unreadable(ctx, filter(_UNREADABLE, blobs)))
    if unreadable:
        blobs = list(itertools.filterfalse(_UNREADABLE, blobs))
    # The rules of each blob's path, looked up once for every check that reads them.
    excluding = ctx.excluding_rule_each(blobs) if ctx.policy.exclude else None
    excluded = list(check_excluded(ctx, blobs, excluding)) if excluding else []
    # An excluded path must leave git altogether; LFS or size advice for it
    # would only contradict that fix. Every blob at such a path has a rule.
    kept = blobs
    if excluded and excluding:
        kept = list(itertools.compress(blobs, map(operator.not_, excluding)))
    lfs = ctx.lfs_rule_each(kept) if ctx.policy.lfs else None
    return [
        *unreadable,
        *excluded,
        *check_lfs(ctx, kept, lfs),
        *check_lfs_attributes(ctx, kept, lfs),
        *check_file_sizes(ctx, kept),
    ]


# Advice about how a blob is stored (LFS, size) is moot for a blob that must
# leave git altogether; showing both would contradict the one fix that matters.
_LEAVES_GIT = frozenset({"excluded", "dvc-in-git"})
_STORAGE_ADVICE = frozenset(
    {"lfs-missing", "lfs-pointer-invalid", "lfs-attr-missing", "file-too-large", "file-large",
     "lfs-file-too-large", "lfs-object-missing"}
)  # fmt: skip


def supersede(violations: list[Violation]) -> list[Violation]:
    """Drop storage advice for a blob another violation sends out of git."""
    leaving = {(v.path, v.commit) for v in violations if v.check in _LEAVES_GIT}
    if not leaving:
        return violations
    return [
        v for v in violations if v.check not in _STORAGE_ADVICE or (v.path, v.commit) not in leaving
    ]
