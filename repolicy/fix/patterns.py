"""The policy as `.gitignore` and `.gitattributes` lines that git reads as the policy means.

Git never looks inside a directory it ignores, so `outputs/` followed by
`!outputs/run1/best.pth` can never keep best.pth: "it is not possible to
re-include a file if a parent directory of that file is excluded". Where a
line (the policy's or the user's) ignores a directory on the way to a file an
`include` keeps, that directory is opened, its contents ignored again and its
subdirectories opened, so a later `!` line can keep the file while everything
else below stays ignored:

    outputs/       ->   !/outputs/
    (user's line)       /outputs/**
                        !/outputs/**/
                        !outputs/*/checkpoints/best.pth

A directory excluded wholly stays one line (`wandb/`), so git still skips it
whole. The lines here are pure functions of patterns; `repolicy.fix.plan`
decides which of them a repository needs, and git checks the result.
"""

from __future__ import annotations

from typing import NamedTuple

from repolicy.policy import Policy, Rule
from repolicy.policy.match import Pattern, compile_pattern

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


_NONE = "none"  # two components that share no name
_UNKNOWN = "unknown"  # two globs whose common names no single glob is known to name


def _common(a: str, b: str) -> str:
    """A component naming exactly the names both components match, or _NONE, or
    _UNKNOWN (two different globs)."""
    if a == b:
        return a
    if _is_literal(a):
        return a if compile_pattern(b).matches(_unescape(a).encode(), True) else _NONE
    if _is_literal(b):
        return b if compile_pattern(a).matches(_unescape(b).encode(), True) else _NONE
    if a == "*":
        return b
    if b == "*":
        return a
    return _UNKNOWN


def parents(pattern: Pattern) -> list[str]:
    """The components of the directories above what `pattern` names (`**` for any)."""
    if pattern.basename_only:
        return ["**"]
    return _components(pattern)[:-1]


def openings(hider: Pattern, include: Pattern, globs: bool = True) -> list[str] | None:
    """The directories `hider` ignores on the way to what `include` keeps, as
    anchored patterns without the trailing '/' (both patterns relative to the same
    directory); [] when there are none, None when no pattern names them exactly.

    Git never looks inside an ignored directory, so each of them must be opened
    (`!D/`), its contents ignored again (`D/**`) and its subdirectories opened
    (`!D/**/`) before a `!` line for the kept file can take effect. With `globs`
    false, a directory the include names only through a one-level glob (`*`)
    does not count: the tree, not the patterns, says whether one exists.
    """
    chain = parents(include)
    own = _components(hider)
    if hider.basename_only:
        name = own[0]
        found: list[str] = []
        for k, part in enumerate(chain):
            if part == "**":
                found.append("/".join([*chain[:k], "**", name]))
                break
            if not globs and not _is_literal(part) and part != name:
                continue
            common = _common(part, name)
            if common == _UNKNOWN:
                return None
            if common != _NONE:
                found.append("/".join([*chain[:k], common]))
                if common == part:
                    break  # opening this level opens every directory below it
        return ["/" + f if not f.startswith("**") else f for f in found]
    if "**" in own or "**" in chain[: len(own)]:
        return None
    if len(own) > len(chain):
        return []
    merged = []
    for a, b in zip(chain, own, strict=False):
        if not globs and not _is_literal(a) and a != b:
            return []
        common = _common(a, b)
        if common == _UNKNOWN:
            return None
        if common == _NONE:
            return []
        merged.append(common)
    return ["/" + "/".join(merged)]


def opening_lines(directory: str) -> list[str]:
    return [f"!{directory}/", f"{directory}/**", f"!{directory}/**/"]


def contents_form(pattern: Pattern) -> list[str]:
    """`pattern` written so that it ignores what it ignores, yet opens every directory
    it matches: a later `!` line can then keep a file at any depth below."""
    inner = contents_glob(pattern)
    lines = [] if pattern.dir_only else [pattern.text]
    return [*lines, f"!{_body(pattern)}/", inner, f"!{inner}/"]


def include_lines(pattern: Pattern, contents: bool) -> list[str]:
    """`!P`, and `!P/**` (in its form for P's anchoring) when P names a directory
    whose contents are kept."""
    lines = [f"!{pattern.text}"]
    if pattern.dir_only or contents:
        lines.append(f"!{contents_glob(pattern)}")
    return lines


def relativize(pattern: Pattern, base: str) -> Pattern | None:
    """`pattern` (relative to the top level) as a line of `base/.gitignore` that
    names the same paths below `base`; None when no such line is known (a `**` on
    the way, or a pattern that does not lead below `base`)."""
    if not base or pattern.basename_only:
        return pattern
    own = _components(pattern)
    dirs = base.split("/")
    for part, name in zip(own, dirs, strict=False):
        if part == "**" or not compile_pattern(part).matches(name.encode(), True):
            return None
    if len(own) <= len(dirs):
        return compile_pattern("*")  # base lies in a directory the pattern names: all of it
    rest = "/" + "/".join(own[len(dirs) :]) + ("/" if pattern.dir_only else "")
    return compile_pattern(rest)


def escape_name(path: str) -> str:
    """A path as literal gitignore text: every glob character, and a leading '!' or
    '#', escaped; every space escaped (git drops trailing ones)."""
    escaped = "".join("\\" + ch if ch in "*?[\\ " else ch for ch in path)
    return "\\" + escaped if escaped[:1] in ("!", "#") else escaped


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
