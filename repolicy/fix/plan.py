"""What `repolicy fix` would change, decided with git as the judge.

The paths that matter are every file in the index and the work tree plus a
few examples made from each policy pattern (so a rule is right before its
first file exists). For each, the policy says whether it must be ignored,
must be kept, or must get `filter=lfs`; a path the policy says nothing about
must keep the verdict the user's own lines give it. Git, run in a scratch
repository holding copies of the ignore and attribute files (and the
repository's `info/exclude` and `core.excludesFile`), judges every candidate.

The root `.gitignore` block is built in layers, each only where git shows
it is needed: the policy's `exclude` lines; openings for the directories an
ignoring line hides a kept file in (`!D/`, `D/**`, `!D/**/`); the `include`
lines; and last, exact lines for single paths that the pattern lines did not
settle. A block is last in its file and the last matching line wins, so the
block decides every path its file decides. A nested `.gitignore` whose own
lines would overrule the root block gets a block of its own.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from repolicy.checks import Context
from repolicy.fix import blocks as managed_blocks
from repolicy.fix import patterns
from repolicy.fix.blocks import ManagedFile
from repolicy.fix.sources import attribute_sources
from repolicy.git import IgnoreSource
from repolicy.git.scratch import Scratch
from repolicy.policy import Policy, Rule, Source
from repolicy.policy.match import Matcher, compile_pattern

GITIGNORE = ".gitignore"
GITATTRIBUTES = ".gitattributes"
_ROUNDS = 32  # each round settles one more directory level; real trees need a few


class Need(NamedTuple):
    """What the policy asks of one path."""

    ignore: Rule | None  # must be ignored (excluded, or managed by DVC)
    keep: Rule | None  # must not be ignored (included)
    lfs: Rule | None  # must get filter=lfs


class Conflict(NamedTuple):
    """Something no line repolicy may write can settle."""

    file: str
    line: int | None
    pattern: str
    paths: list[str]
    message: str
    edit: str


class Plan(NamedTuple):
    gitignore: ManagedFile
    ignore_block: list[str]
    gitattributes: ManagedFile
    attribute_block: list[str]
    conflicts: list[Conflict]
    needs: dict[str, Need]
    nested: tuple[tuple[ManagedFile, list[str]], ...] = ()  # nested .gitignore blocks

    def blocks(self) -> list[tuple[ManagedFile, list[str]]]:
        return [
            (self.gitignore, self.ignore_block),
            *self.nested,
            (self.gitattributes, self.attribute_block),
        ]

    def new_contents(self) -> list[tuple[ManagedFile, bytes]]:
        """The files whose bytes would change, with their new bytes."""
        out = []
        for file, block in self.blocks():
            data = managed_blocks.render(file, block)
            if data != file.original:
                out.append((file, data))
        return out


def needs(ctx: Context, paths: Iterable[str]) -> dict[str, Need]:
    out = {}
    for path in paths:
        dvc = ctx.rules_for("dvc", path)
        lfs = ctx.lfs_rule(path)
        need = Need(
            ignore=ctx.excluding_rule(path) or (dvc[0] if dvc else None),
            keep=ctx.including_rule(path),
            # An item with `above` has no .gitattributes line: a line cannot say
            # "only the large ones" (`fix` prints per-file advice instead).
            lfs=None if lfs is not None and lfs.sized else lfs,
        )
        if need.ignore or need.keep or need.lfs:
            out[path] = need
    return out


def example_paths(policy: Policy) -> list[str]:
    rules = [*policy.exclude, *policy.include, *policy.lfs, *policy.dvc]
    return [p for rule in rules for p in patterns.examples(rule.pattern)]


def _nested(files: Sequence[str], name: str) -> list[str]:
    return [f for f in files if f.endswith("/" + name)]


def dvc_rules(outs: Iterable[tuple[str, bool, str, int]]) -> list[Rule]:
    """Rules for the outputs `.dvc` files record, (path, is_dir, source, line): each
    anchored as `dvc add` writes it (`/name` beside it; here, from the top level)."""
    rules = []
    for path, _is_dir, source, line in outs:
        escaped = "".join("\\" + ch if ch in "*?[\\" else ch for ch in path)
        if escaped.endswith(" "):
            escaped = escaped[:-1] + "\\ "
        rules.append(
            Rule(
                key="dvc",
                pattern=compile_pattern("/" + escaped),
                source=Source(source, line, 1),
                why="DVC manages this output; git must ignore it",
            )
        )
    return rules


def _ancestors(path: str) -> list[str]:
    """`a`, `a/b` for `a/b/c`: the directories above a path, top first."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: k + 1]) for k in range(len(parts))]


def candidate_paths(files: Sequence[str], examples: Iterable[str]) -> list[str]:
    """The files, and each example that can be a file beside them (not a directory
    above one, nor below a file)."""
    chosen = list(dict.fromkeys(files))
    taken = set(chosen)
    extra = [e for e in dict.fromkeys(examples) if e not in taken]
    dirs = {d for p in [*chosen, *extra] for d in _ancestors(p)}
    kept = [e for e in extra if e not in dirs]
    as_files = taken | set(kept)
    return chosen + [e for e in kept if not any(d in as_files for d in _ancestors(e))]


def make_plan(
    root: str,
    policy: Policy,
    files: Sequence[str],
    read_file: Callable[[str], bytes | None],
    dvc_outs: Sequence[tuple[str, bool, str, int]] = (),
    info_exclude: bytes = b"",
    excludes_file: str | None = None,
) -> Plan:
    """Decide every block. `files` are the repository's files (index and work tree);
    `read_file` returns a nested ignore/attribute file's bytes (None: git does not
    read it); `dvc_outs` are the outputs DVC files record, which git must ignore too;
    `info_exclude` and `excludes_file` are the ignore files git reads from outside
    the work tree (a block in `.gitignore` overrides both)."""
    examples = example_paths(policy)
    if dvc_outs:
        policy = policy._replace(dvc=(*policy.dvc, *dvc_rules(dvc_outs)))
        examples += [f"{p}/f.bin" if is_dir else p for p, is_dir, _, _ in dvc_outs]
    ctx = Context(policy)
    paths = candidate_paths(files, examples)
    gitignore = managed_blocks.read(root, GITIGNORE)
    gitattributes = managed_blocks.read(root, GITATTRIBUTES)

    nested: dict[str, bytes] = {}
    for rel in [*_nested(files, GITIGNORE), *_nested(files, GITATTRIBUTES)]:
        data = read_file(rel)
        if data is not None:
            nested[rel] = data
    ignore_files = {GITIGNORE: gitignore}
    for rel in sorted(f for f in nested if f.endswith(GITIGNORE)):
        ignore_files[rel] = managed_blocks.read(root, rel)

    with Scratch(nested, info_exclude=info_exclude, excludes_file=excludes_file) as scratch:
        need = needs(ctx, paths)
        builder = _IgnoreBuilder(scratch, ignore_files, policy, need, paths)
        blocks, conflicts = builder.build()

        attribute_block = _attribute_block(scratch, gitattributes, policy, need)
        scratch.put(GITATTRIBUTES, managed_blocks.render(gitattributes, attribute_block))
        lfs_paths = [p for p, n in need.items() if n.lfs]
        attrs = scratch.git.attributes(lfs_paths, ("filter",)).get()
        attribute_files = [(GITATTRIBUTES, managed_blocks.render(gitattributes, attribute_block))]
        attribute_files += sorted(
            ((f, d) for f, d in nested.items() if f.endswith(GITATTRIBUTES)),
            key=lambda item: item[0].count("/"),
        )
        conflicts += _attribute_conflicts(need, attrs, attribute_files)
    nested_blocks = [(f, blocks[rel]) for rel, f in ignore_files.items() if rel != GITIGNORE]
    return Plan(
        gitignore,
        blocks[GITIGNORE],
        gitattributes,
        attribute_block,
        conflicts,
        need,
        tuple((f, b) for f, b in nested_blocks if b or f.block is not None),
    )


def _ignored(verdicts: dict[str, IgnoreSource], path: str) -> bool:
    source = verdicts.get(path)
    return source is not None and source.ignores


class _Draft:
    """One file's block while it is worked out: sections in the order git must read
    them, each line once."""

    def __init__(self) -> None:
        self.excludes: list[str] = []
        self.openings: list[str] = []
        self.includes: list[str] = []
        self.exact: list[str] = []

    def lines(self, policy_lines: Sequence[list[str]] = ([], [], [])) -> list[str]:
        excludes, openings, includes = policy_lines
        lines = [
            *excludes, *self.excludes, *openings, *self.openings,
            *includes, *self.includes, *self.exact,
        ]  # fmt: skip
        # A line written twice counts where it is written last: exact lines are
        # there to win over what comes before them.
        return list(reversed(_unique(reversed(lines))))

    @staticmethod
    def add(section: list[str], lines: Iterable[str]) -> bool:
        new = [ln for ln in lines if ln not in section]
        section.extend(new)
        return bool(new)


class _IgnoreBuilder:
    """Works out the `.gitignore` blocks, asking git after each layer."""

    def __init__(
        self,
        scratch: Scratch,
        files: dict[str, ManagedFile],
        policy: Policy,
        need: dict[str, Need],
        paths: list[str],
    ) -> None:
        self.scratch = scratch
        self.files = files
        self.policy = policy
        self.need = need
        self.paths = paths
        self.drafts = {rel: _Draft() for rel in files}
        self.excluded: list[Rule] = []  # exclude/dvc rules the root block writes
        self.included: list[Rule] = []
        self.opened: set[Rule] = set()  # exclude rules written in their contents form
        self.desired: dict[str, bool] = {}  # path -> must be ignored
        self._tried: set[tuple[Rule, IgnoreSource, str]] = set()
        # The last blocks git judged, and its verdicts (None: no line matched).
        self._last: tuple[dict[str, list[str]], dict[str, IgnoreSource | None]] | None = None
        # Include rules that keep some path through a directory they match: `!P/**` too.
        self.contents = {
            n.keep
            for p, n in need.items()
            if n.keep and not n.keep.pattern.matches(p.encode("utf-8", "surrogateescape"), False)
        }

    # -- rendering -------------------------------------------------------

    def _policy_lines(self) -> tuple[list[str], list[str], list[str]]:
        excludes: list[str] = []
        openings: list[str] = []
        for rule in patterns.ignore_rules(self.policy):
            if rule not in self.excluded:
                continue
            pattern = rule.pattern
            if rule in self.opened:
                excludes += patterns.contents_form(pattern)
                continue
            excludes.append(pattern.text)
            if not pattern.dir_only:
                continue
            # A directory the policy names, on a path an include spells out: open it
            # now, so files that do not exist yet are kept too.
            for inc in self.policy.include:
                found = patterns.openings(pattern, inc.pattern, globs=False)
                for directory in found or []:
                    openings += patterns.opening_lines(directory)
                    if inc not in self.included:
                        self.included.append(inc)
        includes: list[str] = []
        for rule in self.policy.include:
            if rule in self.included:
                includes += patterns.include_lines(rule.pattern, rule in self.contents)
        return excludes, openings, includes

    def blocks(self) -> dict[str, list[str]]:
        out = {}
        for rel, draft in self.drafts.items():
            out[rel] = draft.lines(self._policy_lines()) if rel == GITIGNORE else draft.lines()
        return out

    def _judge(
        self, paths: Iterable[str], blocks: dict[str, list[str]] | None = None
    ) -> dict[str, IgnoreSource]:
        blocks = self.blocks() if blocks is None else blocks
        wanted = list(paths)
        last = self._last
        if last is not None and last[0] == blocks and set(wanted) <= last[1].keys():
            return {p: v for p in wanted if (v := last[1][p]) is not None}
        for rel, file in self.files.items():
            self.scratch.put(rel, managed_blocks.render(file, blocks[rel]))
        verdicts = self.scratch.git.ignore_sources(wanted).get()
        self._last = (blocks, {p: verdicts.get(p) for p in wanted})
        return verdicts

    # -- the decision ----------------------------------------------------

    def build(self) -> tuple[dict[str, list[str]], list[Conflict]]:
        """The blocks. A path the policy names must be kept or ignored as it says;
        any other path must keep the verdict the user's lines give it."""
        named = [p for p in self.paths if p in self.need]
        empty: dict[str, list[str]] = {rel: [] for rel in self.files}
        verdicts = self._judge(named, empty)
        for path in named:
            n = self.need[path]
            self.desired[path] = not n.keep and (bool(n.ignore) or _ignored(verdicts, path))
        for _ in range(_ROUNDS):
            if not self._pattern_round(named, verdicts):
                break
            verdicts = self._judge(named)
        # Other paths only where a block line can change them.
        unsettled: list[str] = []
        for attempt in range(_ROUNDS + 1):
            affected = self._affected()
            self._learn_desired(affected, empty)
            verdicts = self._judge(affected)
            wrong = [p for p in affected if self.desired[p] != _ignored(verdicts, p)]
            if not wrong or attempt == _ROUNDS:
                break
            unsettled = self._exact_round(wrong, verdicts)
        return self.blocks(), self._conflicts(wrong, unsettled, verdicts)

    def _learn_desired(self, paths: list[str], empty: dict[str, list[str]]) -> None:
        """The user's own verdict, for paths not yet judged without the blocks."""
        unknown = [p for p in paths if p not in self.desired]
        if unknown:
            before = self._judge(unknown, empty)
            for path in unknown:
                self.desired[path] = _ignored(before, path)

    def _affected(self) -> list[str]:
        """The paths the blocks can change: those the policy names, and those below a
        directory a `!D/` line opens (every other block line names only what the
        policy names, or one path)."""
        openers = {}
        for rel, lines in self.blocks().items():
            opened = [compile_pattern(ln[1:]) for ln in lines if ln[:1] == "!" and ln[-1:] == "/"]
            if opened:
                openers["" if rel == GITIGNORE else posixpath.dirname(rel)] = Matcher(opened)
        if not openers:
            return [p for p in self.paths if p in self.need]
        affected = []
        for path in self.paths:
            if path in self.need:
                affected.append(path)
                continue
            for base, matcher in openers.items():
                if base and not path.startswith(base + "/"):
                    continue
                if matcher.hits(path[len(base) + 1 :] if base else path):
                    affected.append(path)
                    break
        return affected

    def _target(self, source: IgnoreSource | None) -> str:
        """The file whose block can overrule `source`: its own, if it is a `.gitignore`
        in the work tree; the root's for `info/exclude` and `core.excludesFile`."""
        if source is not None and source.file in self.files:
            return source.file
        return GITIGNORE

    def _is_ours(self, source: IgnoreSource) -> bool:
        file = self.files.get(source.file)
        return file is not None and source.line > len(file.user_lines) + 1

    def _pattern_round(self, paths: list[str], verdicts: dict[str, IgnoreSource]) -> bool:
        """One layer of pattern lines for what is still wrong; False when none helps."""
        progress = False
        for path in paths:
            want = self.desired[path]
            if want == _ignored(verdicts, path):
                continue
            n = self.need.get(path)
            source = verdicts.get(path)
            if want:
                rule = n.ignore if n else None
                if rule is None:
                    continue
                if rule not in self.excluded:
                    self.excluded.append(rule)
                    progress = True
                elif source is not None and source.file != GITIGNORE and source.file in self.files:
                    # A nested file's `!` line overrules the root block below it.
                    base = posixpath.dirname(source.file)
                    rel = patterns.relativize(rule.pattern, base)
                    if rel is not None and not self._is_ours(source):
                        progress |= _Draft.add(self.drafts[source.file].excludes, [rel.text])
                continue
            rule = n.keep if n else None
            if rule is None:
                continue
            if rule not in self.included:
                self.included.append(rule)
                progress = True
            elif source is not None:
                progress |= self._keep(path, rule, source)
        return progress

    def _keep(self, path: str, rule: Rule, source: IgnoreSource) -> bool:
        """Pattern lines that let the kept `path` through the line `source`."""
        # Paths kept by one rule and hidden by one line mostly need the same lines:
        # work them out once per directory.
        key = (rule, source, posixpath.dirname(path))
        if key in self._tried:
            return False
        self._tried.add(key)
        target = self._target(source)
        base = "" if target == GITIGNORE else posixpath.dirname(target)
        include = patterns.relativize(rule.pattern, base)
        if include is None:
            return False
        line = compile_pattern(source.pattern)
        draft = self.drafts[target]
        contents = rule in self.contents
        hider = None
        if self._is_ours(source):
            if target == GITIGNORE:
                hider = next((r for r in self.excluded if r.pattern.text == source.pattern), None)
            if hider is None and source.pattern not in draft.excludes:
                # The block's own re-ignoring of what it opened: keep the file after it
                # (the root block's `!` line already comes after it).
                return target != GITIGNORE and _Draft.add(
                    draft.includes, patterns.include_lines(include, contents)
                )
        rel = path[len(base) + 1 :] if base else path
        above = (d.encode("utf-8", "surrogateescape") for d in _ancestors(rel))
        if not any(line.matches(d, True) for d in above):
            # The line names the file itself. The root block's `!` line comes after
            # every root line; a nested file's block needs one of its own.
            return target != GITIGNORE and _Draft.add(
                draft.includes, patterns.include_lines(include, contents)
            )
        if hider is not None:
            if hider in self.opened:
                return False
            found = patterns.openings(hider.pattern, include)
            if found is None:
                self.opened.add(hider)
                return True
            return _Draft.add(draft.openings, _opening_lines(found))
        # A line (the user's, or a nested block's) hides a directory on the way.
        found = patterns.openings(line, include)
        if found is None:
            lines = patterns.contents_form(line)[0 if line.dir_only else 1 :]
            return _Draft.add(draft.openings, lines)
        return _Draft.add(draft.openings, _opening_lines(found))

    def _exact_round(self, wrong: list[str], verdicts: dict[str, IgnoreSource]) -> list[str]:
        """Exact lines for single paths; returns the paths no line can name."""
        dirs = list(dict.fromkeys(d for p in wrong for d in _ancestors(p)))
        self.scratch.make_dirs(dirs)
        dir_verdicts = self.scratch.git.ignore_sources(dirs).get() if dirs else {}
        unsettled = []
        for path in wrong:
            if any(ch in path for ch in "\n\r"):
                unsettled.append(path)  # an ignore file cannot hold such a name
                continue
            if self.desired[path]:
                target = self._target(verdicts.get(path))
                _Draft.add(self.drafts[target].exact, [_exact(path, target, "")])
                continue
            for directory in _ancestors(path):
                source = dir_verdicts.get(directory)
                if source is not None and source.ignores:
                    target = self._target(source)
                    _Draft.add(
                        self.drafts[target].exact,
                        [_exact(directory, target, "!", "/"), _exact(directory, target, "", "/*")],
                    )
                    break
            else:
                target = self._target(verdicts.get(path))
                _Draft.add(self.drafts[target].exact, [_exact(path, target, "!")])
        return unsettled

    def _conflicts(
        self, wrong: list[str], unsettled: list[str], verdicts: dict[str, IgnoreSource]
    ) -> list[Conflict]:
        if not wrong:
            return []
        grouped: dict[tuple[str, int, str], list[str]] = {}
        for path in wrong:
            source = verdicts.get(path)
            key = (source.file, source.line, source.pattern) if source else (GITIGNORE, 0, "")
            grouped.setdefault(key, []).append(path)
        out = []
        for (file, line, pattern), paths in sorted(grouped.items()):
            paths.sort()
            what = "kept" if not self.desired[paths[0]] else "ignored"
            if any(p in unsettled for p in paths):
                message = f"{_some(paths)}: no ignore line can name a path holding a line break"
                edit = "rename the file"
            else:
                message = f"git does not agree that {_some(paths)} should be {what}"
                edit = "report this: the repolicy block should have settled it"
            out.append(Conflict(file, line or None, pattern, paths, message, edit))
        return out


def _opening_lines(directories: Iterable[str]) -> list[str]:
    return [line for d in directories for line in patterns.opening_lines(d)]


def _exact(path: str, target: str, prefix: str, suffix: str = "") -> str:
    base = posixpath.dirname(target)
    rel = path[len(base) + 1 :] if base else path
    return f"{prefix}/{patterns.escape_name(rel)}{suffix}"


def _attribute_block(
    scratch: Scratch,
    gitattributes: ManagedFile,
    policy: Policy,
    need: dict[str, Need],
) -> list[str]:
    scratch.put(GITATTRIBUTES, managed_blocks.render(gitattributes, []))
    lfs_paths = [p for p, n in need.items() if n.lfs]
    before = scratch.git.attributes(lfs_paths, ("filter",)).get()
    wanted = {need[p].lfs for p in lfs_paths if before.get(p, {}).get("filter") != "lfs"}
    return _unique(patterns.lfs_line(rule).text for rule in policy.lfs if rule in wanted)


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _attribute_conflicts(
    need: dict[str, Need],
    attrs: dict[str, dict[str, str]],
    attribute_files: list[tuple[str, bytes]],
) -> list[Conflict]:
    grouped: dict[tuple[str, int, str], list[str]] = {}
    for path, n in need.items():
        if not n.lfs or attrs.get(path, {}).get("filter") == "lfs":
            continue
        source = attribute_sources(attribute_files, path, ("filter",)).get("filter")
        key = (source.file, source.line, source.text) if source else ("", 0, "")
        grouped.setdefault(key, []).append(path)
    out = []
    for (file, line, text), paths in sorted(grouped.items()):
        paths.sort()
        rule = need[paths[0]].lfs
        out.append(
            Conflict(
                file or GITATTRIBUTES,
                line or None,
                text,
                paths,
                f"`{text}` takes filter=lfs away from {_some(paths)}, which the policy stores "
                f"in LFS ({rule})",
                f"remove the filter setting from line {line}, or delete the line",
            )
        )
    return out


def _some(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
