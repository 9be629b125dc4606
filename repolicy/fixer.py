"""What `repolicy fix` would change, decided with git as the judge.

The paths that matter are every file in the index and the work tree plus a
few examples made from each policy pattern (so a rule is right before its
first file exists). For each, the policy says whether it must be ignored,
must be kept, or must get `filter=lfs`. Git, run in a scratch repository
that holds copies of the ignore and attribute files, says what the user's
own lines already do; the block gets only the rules those lines miss. Then
git judges the candidate files once more: any path still wrong is a
conflict, named by the line (outside the block) that causes it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from repolicy import managed, rulegen
from repolicy.checks import Context
from repolicy.git import IgnoreSource, Scratch
from repolicy.ignorefiles import attribute_sources, relative_to
from repolicy.match import compile_pattern
from repolicy.policy import Policy, Rule, Source

GITIGNORE = ".gitignore"
GITATTRIBUTES = ".gitattributes"


class Need(NamedTuple):
    """What the policy asks of one path."""

    ignore: Rule | None  # must be ignored (excluded, or managed by DVC)
    keep: Rule | None  # must not be ignored (included)
    lfs: Rule | None  # must get filter=lfs


class Conflict(NamedTuple):
    """A line outside the block that keeps git from agreeing with the policy."""

    file: str
    line: int | None
    pattern: str
    paths: list[str]
    message: str
    edit: str


class Plan(NamedTuple):
    gitignore: managed.ManagedFile
    ignore_block: list[str]
    gitattributes: managed.ManagedFile
    attribute_block: list[str]
    conflicts: list[Conflict]
    needs: dict[str, Need]

    def new_contents(self) -> list[tuple[managed.ManagedFile, bytes]]:
        """The files whose bytes would change, with their new bytes."""
        out = []
        for file, block in (
            (self.gitignore, self.ignore_block),
            (self.gitattributes, self.attribute_block),
        ):
            data = managed.render(file, block)
            if data != file.original:
                out.append((file, data))
        return out


def needs(ctx: Context, paths: Iterable[str]) -> dict[str, Need]:
    out = {}
    for path in paths:
        dvc = ctx.rules_for("dvc", path)
        need = Need(
            ignore=ctx.excluding_rule(path) or (dvc[0] if dvc else None),
            keep=ctx.including_rule(path),
            lfs=ctx.lfs_rule(path),
        )
        if need.ignore or need.keep or need.lfs:
            out[path] = need
    return out


def example_paths(policy: Policy) -> list[str]:
    rules = [*policy.exclude, *policy.include, *policy.lfs, *policy.dvc]
    return [p for rule in rules for p in rulegen.examples(rule.pattern)]


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


def make_plan(
    root: str,
    policy: Policy,
    files: Sequence[str],
    read_file: Callable[[str], bytes | None],
    dvc_outs: Sequence[tuple[str, bool, str, int]] = (),
) -> Plan:
    """Decide both blocks. `files` are the repository's files (index and work tree);
    `read_file` returns a nested ignore/attribute file's bytes (None: unreadable);
    `dvc_outs` are the outputs DVC files record, which git must ignore too."""
    examples = example_paths(policy)
    if dvc_outs:
        policy = policy._replace(dvc=(*policy.dvc, *dvc_rules(dvc_outs)))
        examples += [f"{p}/f.bin" if is_dir else p for p, is_dir, _, _ in dvc_outs]
    ctx = Context(policy)
    paths = list(dict.fromkeys([*files, *examples]))
    need = needs(ctx, paths)
    gitignore = managed.read(root, GITIGNORE)
    gitattributes = managed.read(root, GITATTRIBUTES)

    nested: dict[str, bytes] = {}
    for rel in [*_nested(files, GITIGNORE), *_nested(files, GITATTRIBUTES)]:
        data = read_file(rel)
        if data is not None:
            nested[rel] = data

    with Scratch(nested) as scratch:
        ignore_block = _ignore_block(scratch, gitignore, policy, need)
        scratch.put(GITIGNORE, managed.render(gitignore, ignore_block))
        verdicts = scratch.git.ignore_sources(need).get()
        conflicts = _ignore_conflicts(gitignore, ignore_block, need, verdicts, nested)

        attribute_block = _attribute_block(scratch, gitattributes, policy, need)
        scratch.put(GITATTRIBUTES, managed.render(gitattributes, attribute_block))
        lfs_paths = [p for p, n in need.items() if n.lfs]
        attrs = scratch.git.attributes(lfs_paths, ("filter",)).get()
        attribute_files = [(GITATTRIBUTES, managed.render(gitattributes, attribute_block))]
        attribute_files += sorted(
            ((f, d) for f, d in nested.items() if f.endswith(GITATTRIBUTES)),
            key=lambda item: item[0].count("/"),
        )
        conflicts += _attribute_conflicts(need, attrs, attribute_files)
    return Plan(gitignore, ignore_block, gitattributes, attribute_block, conflicts, need)


def _ignored(verdicts: dict[str, IgnoreSource], path: str) -> bool:
    source = verdicts.get(path)
    return source is not None and source.ignores


def _ignore_block(
    scratch: Scratch, gitignore: managed.ManagedFile, policy: Policy, need: dict[str, Need]
) -> list[str]:
    scratch.put(GITIGNORE, managed.render(gitignore, []))
    before = scratch.git.ignore_sources(need).get()
    wanted = {n.ignore for p, n in need.items() if n.ignore and not _ignored(before, p)}
    lines: list[str] = []
    for rule in rulegen.ignore_rules(policy):
        if rule in wanted:
            lines += [line.text for line in rulegen.exclude_lines(rule, policy.include)]
    if policy.include:
        scratch.put(GITIGNORE, managed.render(gitignore, lines))
        after = scratch.git.ignore_sources(need).get()
        keep = {n.keep for p, n in need.items() if n.keep and _ignored(after, p)}
        for rule in policy.include:
            if rule in keep:
                lines += [line.text for line in rulegen.include_lines(rule)]
    return _unique(lines)


def _attribute_block(
    scratch: Scratch, gitattributes: managed.ManagedFile, policy: Policy, need: dict[str, Need]
) -> list[str]:
    scratch.put(GITATTRIBUTES, managed.render(gitattributes, []))
    lfs_paths = [p for p, n in need.items() if n.lfs]
    before = scratch.git.attributes(lfs_paths, ("filter",)).get()
    wanted = {need[p].lfs for p in lfs_paths if before.get(p, {}).get("filter") != "lfs"}
    return _unique(rulegen.lfs_line(rule).text for rule in policy.lfs if rule in wanted)


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _ignore_conflicts(
    gitignore: managed.ManagedFile,
    block: list[str],
    need: dict[str, Need],
    verdicts: dict[str, IgnoreSource],
    nested: dict[str, bytes],
) -> list[Conflict]:
    grouped: dict[tuple[str, int, str, str], list[str]] = {}
    for path, n in need.items():
        ignored = _ignored(verdicts, path)
        source = verdicts.get(path)
        if n.keep and ignored and source is not None:
            grouped.setdefault((source.file, source.line, source.pattern, "keep"), []).append(path)
        elif n.ignore and not n.keep and not ignored:
            key = ("", 0, "", "ignore")
            if source is not None:
                key = (source.file, source.line, source.pattern, "ignore")
            grouped.setdefault(key, []).append(path)
    out = []
    for (file, line, pattern, kind), paths in sorted(grouped.items()):
        paths.sort()
        first = paths[0]
        block_end = len(gitignore.before) + len(block) + 2
        after_block = file == GITIGNORE and bool(block) and line >= block_end
        if kind == "keep":
            rule = need[first].keep
            hides_parent = not _matches_itself(file, pattern, first)
            if hides_parent:
                inner = rulegen.contents_glob(compile_pattern(pattern))
                edit = (
                    f"git does not look inside a directory it ignores: replace line {line} with "
                    f"the two lines `{inner}` and `!{inner}/`"
                )
                if file != GITIGNORE or after_block:
                    edit += f", then add `!{relative_to(file, first)[1:]}` after them"
            elif file == GITIGNORE and after_block:
                edit = f"move line {line} above the repolicy block, or delete it"
            else:
                edit = f"delete line {line}, or add `!{relative_to(file, first)[1:]}` after it"
            message = f"`{pattern}` ignores {_some(paths)}, which the policy keeps ({rule})"
        else:
            rule = need[first].ignore
            if not file:
                out.append(
                    Conflict(
                        GITIGNORE, None, "", paths,
                        f"no ignore line applies to {_some(paths)}, which the policy excludes "
                        f"({rule})",
                        "report this: the repolicy block should have covered it",
                    )
                )  # fmt: skip
                continue
            message = f"`{pattern}` re-includes {_some(paths)}, which the policy excludes ({rule})"
            edit = f"delete line {line}"
        out.append(Conflict(file, line, pattern, paths, message, edit))
    return out


def _matches_itself(file: str, pattern: str, path: str) -> bool:
    base = posixpath.dirname(file)
    rel = path[len(base) + 1 :] if base else path
    compiled = compile_pattern(pattern.lstrip("!"))
    return compiled.matches(rel.encode("utf-8", "surrogateescape"), False)


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
