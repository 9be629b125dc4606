"""The policy as `.gitignore` and `.gitattributes` lines that git reads as the policy means.

Git never looks inside a directory it ignores, so `outputs/` followed by
`!outputs/run1/best.pth` can never keep best.pth. Where an `exclude` pattern
could match a directory above a file an `include` pattern keeps, it is
written in its contents form instead: every file below the directory is
ignored, the directories themselves are not, so a later `!` line can
re-include a file at any depth:

    logs/          ->   **/logs/**
                        !**/logs/**/

The lines here are pure functions of the policy; `repolicy.commands.fix`
decides which of them a repository needs, and git checks the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from repolicy.match import Pattern, compile_pattern
from repolicy.policy import Policy, Rule

LFS_ATTRIBUTES = "filter=lfs diff=lfs merge=lfs -text"  # what `git lfs track` writes
_GLOB = "*?["


class Line(NamedTuple):
    """One generated line and the policy rule it serves."""

    text: str
    rule: Rule


def _body(pattern: Pattern) -> str:
    """The pattern without the trailing '/' that makes it directory-only."""
    return pattern.text[:-1] if pattern.dir_only else pattern.text


def contents_glob(pattern: Pattern) -> str:
    """A pattern for everything below the directories `pattern` matches."""
    body = _body(pattern)
    return f"**/{body}/**" if pattern.basename_only else f"{body}/**"


def _components(pattern: Pattern) -> list[str]:
    return _body(pattern).lstrip("/").split("/")


def _is_literal(component: str) -> bool:
    escaped = False
    for ch in component:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in _GLOB:
            return False
    return True


def _unescape(component: str) -> str:
    out, escaped = [], False
    for ch in component:
        if not escaped and ch == "\\":
            escaped = True
            continue
        out.append(ch)
        escaped = False
    return "".join(out)


def _may_share_a_name(a: str, b: str) -> bool:
    """Whether two single path components (globs) can match the same name.

    Exact when either is literal; otherwise assumed (safe: it only means the
    longer, always-correct form is written)."""
    if a == "**" or b == "**":
        return True
    if _is_literal(a):
        return compile_pattern(b).matches(_unescape(a).encode(), True)
    if _is_literal(b):
        return compile_pattern(a).matches(_unescape(b).encode(), True)
    return True


def may_hide(exclude: Pattern, include: Pattern) -> bool:
    """Whether `exclude` could match a directory above a file `include` keeps."""
    if include.dir_only or include.basename_only:
        return True  # files at any depth, below any directory
    parents = _components(include)[:-1]
    if "**" in parents:
        return True
    if exclude.basename_only:
        name = _components(exclude)[0]
        return any(_may_share_a_name(name, part) for part in parents)
    own = _components(exclude)
    if "**" in own:
        return True
    return len(own) <= len(parents) and all(map(_may_share_a_name, own, parents))


def exclude_lines(rule: Rule, includes: Iterable[Rule]) -> list[Line]:
    """`rule` as ignore lines: itself, or its contents form when an include needs it."""
    pattern = rule.pattern
    if not any(may_hide(pattern, inc.pattern) for inc in includes):
        return [Line(pattern.text, rule)]
    inner = contents_glob(pattern)
    lines = []
    if not pattern.dir_only:
        # A file of that name is excluded; a directory of that name is opened.
        lines += [pattern.text, f"!{_body(pattern)}/"]
    lines += [inner, f"!{inner}/"]
    return [Line(text, rule) for text in lines]


def include_lines(rule: Rule) -> list[Line]:
    pattern = rule.pattern
    lines = [f"!{pattern.text}"]
    if pattern.dir_only:
        lines.append(f"!{contents_glob(pattern)}")
    return [Line(text, rule) for text in lines]


def attribute_pattern(pattern: Pattern) -> str:
    """`pattern` as a `.gitattributes` pattern: attributes name files, never directories."""
    text = contents_glob(pattern) if pattern.dir_only else pattern.text
    if any(ch.isspace() or ch == '"' for ch in text):
        # .gitattributes splits on whitespace; git reads a C-quoted pattern whole.
        quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        return f'"{quoted}"'
    return text


def lfs_line(rule: Rule) -> Line:
    return Line(f"{attribute_pattern(rule.pattern)} {LFS_ATTRIBUTES}", rule)


def ignore_rules(policy: Policy) -> list[Rule]:
    """What `.gitignore` must ignore: `exclude`, and data DVC manages."""
    return [*policy.exclude, *policy.dvc]


def examples(pattern: Pattern) -> list[str]:
    """A few file paths the pattern is about, to test git's verdict on paths that
    do not exist yet (the verdict for each is the policy's, not assumed)."""
    parts: list[list[str]] = [[]]
    for component in _components(pattern):
        if component == "**":
            parts = [*parts, *[[*p, "d1", "d2"] for p in parts]]
            continue
        name = _concrete(component)
        parts = [[*p, name] for p in parts]
    paths = ["/".join(p) for p in parts if p]
    if pattern.dir_only:
        paths = [f"{p}/{leaf}" for p in paths for leaf in ("f.txt", "sub/f.bin")]
    if pattern.basename_only:
        paths = [*paths, *(f"a/b c/{p}" for p in paths)]
    return [p for p in paths if p]


def _concrete(component: str) -> str:
    """A name the glob component matches (or close to it: the caller never relies on it)."""
    out: list[str] = []
    i = 0
    while i < len(component):
        ch = component[i]
        if ch == "\\" and i + 1 < len(component):
            out.append(component[i + 1])
            i += 2
        elif ch == "*":
            out.append("x")
            i += 1
        elif ch == "?":
            out.append("q")
            i += 1
        elif ch == "[":
            end = component.find("]", i + 2)
            if end == -1:
                out.append("[")
                i += 1
                continue
            bracket = compile_pattern(component[i : end + 1])
            out.append(next((c for c in "a0_Z.-x9" if bracket.matches(c.encode(), False)), "a"))
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out) or "x"
