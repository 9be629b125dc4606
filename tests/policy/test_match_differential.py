"""Differential test: `repolicy.policy.match` against `git check-ignore` as the oracle.

`Pattern.selects(path, is_dir)` claims to answer "would a root `.gitignore`
holding only this one line ignore this path?". Rather than trusting a table of
expectations written from memory, every verdict here is asked of git itself:

1. A seeded generator (`random.Random(SEED)`) builds a tree of real files and
   directories whose names come from a small alphabet, so that names collide
   and patterns match often: `a`, `ab`, `x.pth`, `logs`, names holding glob
   characters (`*`, `?`, `[`, `\\`), `#`, `!`, spaces (one trailing), a tab,
   multi-byte UTF-8 and bytes that are not UTF-8 at all.
2. Patterns are generated from the tree's own paths and names, mixed with the
   traps of gitignore syntax (`**` in every position, bracket corner cases,
   POSIX classes, escapes, trailing spaces, unclosed brackets, comments...).
   Every pattern line of the real-world `.gitignore` files in the shared
   corpus is tested too, on trees built from those patterns.
3. For each pattern, the pattern is written as the only line of a git
   directory's `info/exclude`, and ONE
   `git check-ignore --no-index --stdin -z -n -v` process is fed every path of
   the tree (sorted, NUL-terminated). Files and directories are both queried;
   git tells them apart with lstat(), and directory queries pass `is_dir=True`
   to `selects`. Two git directories (`--git-dir`/`--work-tree`) take turns so
   that two queries run at once.
4. Any disagreement fails the test, listing the first ones found. `Matcher`,
   given all the generated patterns at once, must name exactly the patterns
   that git ignored each path for.

The expected values are never written down, not even in the table of named
traps at the end: git is the reference. The tests also assert that there are
many cases and that both verdicts occur often enough to mean something.
"""

from __future__ import annotations

import os
import queue
import random
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from repolicy.policy.match import (
    _BULK,
    Matcher,
    Pattern,
    PatternError,
    _careful,
    _glob,
    _glob_fullmatch,
    compile_pattern,
    selects_by_automaton,
    validate,
)

from ..conftest import CORPUS, Repo

SEED = 20240611
MAX_DEPTH = 4  # path components, root entries included
SHOWN_DIFFERENCES = 20
CORPUS_GROUP = 100  # corpus patterns sharing one tree
GIT_WORKERS = 2  # git processes at once, each with a git directory of its own

# ---------------------------------------------------------------------------
# Names: a small alphabet so that patterns built from one name hit others too.
# ---------------------------------------------------------------------------

# fmt: off
NAMES: tuple[bytes, ...] = (
    b"a", b"b", b"ab", b"ba", b"A", b"aa", b"abc", b"a1b", b"aFb", b"a.b", b"a:b", b"a~",
    b"a.log", b".log", b"ab.log", b"b.LOG", b"x.pth", b"epoch_3.pth", b"epoch_9.pth",
    b"epoch_12.pth", b"best.pth", b"1", b"42", b"Z9", b"a1", b"-", b"a-b", b"a b", b"a ",
    b" a", b"#a", b"!a", b"[a]", b"a]", b"[", b"]", b"*", b"a*b", b"?", b"a?", b"\\",
    b"a\\b", b"a\tb", b"a\t", b"a\x0cb", b"foo", b"foobar", b"bar", b"foo.bar", b".hidden",
    b"x", b"y",
    "é".encode(), "日本".encode(), "é.log".encode(), "aé".encode(),
    b"\xff", b"caf\xe9", b"\xe9",  # not UTF-8
)
DIR_NAMES: tuple[bytes, ...] = (
    b"a", b"b", b"ab", b"logs", b"runs", b"wandb", b"outputs", b"checkpoints", b"foo",
    b"bar", b"dir", b"x", b"1", b"a b", b"a ", b"#d", b"[d]", b"**",
    "日本".encode(), "é".encode(), b"\xff",
)
# Extra names for the corpus trees, so that real-world patterns find targets.
ML_NAMES: tuple[bytes, ...] = (
    b"__pycache__", b"x.pyc", b"x.pyo", b".DS_Store", b".ipynb_checkpoints", b"build",
    b"dist", b".env", b"venv", b".venv", b"data", b"model.ckpt", b".idea", b"node_modules",
    b"x.egg-info", b"lightning_logs", b"mlruns", b".vscode", b"Icon\r", b"._x", b"x.so",
    b"x.onnx", b"x.pt", b"x.h5", b"x.bin", b"x.safetensors", b"htmlcov", b".coverage",
    b".tox", b"docs", b"_build", b"x~", b".#x", b"#x#", b"src", b"tests", b"x.swp",
)
# fmt: on

# ---------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    path: bytes  # relative to the work tree, '/'-separated, as git sees it
    is_dir: bool


def generate_tree(
    rng: random.Random, names: Sequence[bytes], dir_names: Sequence[bytes], root_width: int = 12
) -> list[Entry]:
    """A random tree, depth <= MAX_DEPTH; a name may be a file here and a dir there."""
    entries: list[Entry] = []

    def fill(prefix: bytes, depth: int) -> None:
        width = root_width + rng.randint(-2, 2) if depth == 0 else rng.randint(2, 6)
        dir_chance = (0.6, 0.5, 0.35)[depth] if depth < MAX_DEPTH - 1 else 0.0
        chosen: set[bytes] = set()
        for _ in range(width):
            is_dir = rng.random() < dir_chance
            name = rng.choice(dir_names if is_dir and rng.random() < 0.7 else names)
            if name in chosen:
                continue
            chosen.add(name)
            entries.append(Entry(prefix + name, is_dir))
            if is_dir:
                fill(prefix + name + b"/", depth + 1)

    fill(b"", 0)
    return sorted(entries, key=lambda e: e.path)


def materialize(root: Path, entries: Iterable[Entry]) -> None:
    """Create every entry on disk: git's lstat() must see the real file type."""
    root.mkdir(exist_ok=True)
    base = os.fsencode(root)
    for entry in entries:
        target = os.path.join(base, entry.path)
        if entry.is_dir:
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb"):
                pass


def components(entries: Iterable[Entry]) -> list[bytes]:
    return sorted({part for e in entries for part in e.path.split(b"/")})


# ---------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------

GLOB_SPECIAL = b"*?[\\"
# fmt: off
CLASSES: tuple[bytes, ...] = (
    b"alnum", b"alpha", b"blank", b"cntrl", b"digit", b"graph", b"lower", b"print",
    b"punct", b"space", b"upper", b"xdigit",
)
# Filled in with names of the tree: {n} any name, {d} a directory name, {m} another name.
TRAP_TEMPLATES: tuple[bytes, ...] = (
    # '**' in every position, and where git treats it as a plain '*'
    b"{d}/**/", b"{d}/**/{n}", b"**/{n}", b"**/{n}/", b"{d}/**", b"/{d}/**", b"**/{d}/**",
    b"{d}/**/**/{n}", b"***", b"***/{n}", b"{n}***", b"{m}***{n}", b"{d}**/{n}", b"{d}**",
    b"{d}/{m}**", b"**{n}", b"{d}/**{n}", b"{d}/**\\/{n}", b"**\\/{n}", b"**/", b"/**",
    b"*/", b"*/*", b"*/{n}", b"/*", b"/*/", b"{d}/*", b"{d}/*/", b"*/**/{n}", b"{d}/*/{n}",
    # wildcards that must not cross a '/'
    b"{d}[!a]{n}", b"{d}[/]{n}", b"{d}[+-0]{n}", b"{d}[[:punct:]]{n}", b"{d}?{n}",
    b"{d}*{n}",
    # bracket expressions
    b"[[:digit:]]*", b"*[[:digit:]]*", b"[[:alpha:]]*", b"*[[:space:]]*", b"*[[:punct:]]",
    b"[[:upper:]]*", b"[[:lower:]][[:lower:]]", b"*[[:blank:]]", b"*[[:cntrl:]]*",
    b"[!a]*", b"[^a]*", b"[]a]*", b"[!]a]", b"[a-]*", b"[-a]", b"[a-c-e]*", b"[a-z]",
    b"[0-9]*", b"[b-a]*", b"[a-b-]", b"[[]*", b"[]]", b"[\\]]", b"[\\\\]*", b"[a\\-z]",
    b"[a-\\c]*", b"[\\a-c]*", b"[!\\]]*", b"[[:]", b"[[:a]]", b"[[:digit:]-z]",
    b"[a-[:digit:]]*", b"[!-]", b"[!!]*",
    # escapes
    b"\\*", b"*\\*", b"\\[a]", b"\\[*", b"\\ a", b"a\\ ", b"a\\  ", b"a \\ ", b"\\#a",
    b"\\!a", b"\\a", b"\\?", b"a\\*b", b"\\\\", b"*\\\\*",
    # '?' is one byte, also of a multi-byte character
    b"?", b"??", b"???", b"?.log", b"*?", b"a?", b"{d}/?",
    # trailing spaces, anchoring, directory-only
    b"{n}  ", b"{n} ", b"{n}\\ ", b"{n}\t", b"a\t", b"a\t ", b"/{n}", b"/{d}/{n}", b"{n}/",
    b"/{n}/", b"{d}/{n}/",
    b"//{n}", b"{d}//{n}", b"/", b"//", b"  ",
    # never matching: unclosed '[', unknown class, trailing backslash; comments
    b"[a", b"a[", b"[!", b"[[:alpha:]", b"[a-", b"*[", b"{n}[", b"[[:foo:]]", b"[[::]]",
    b"*[[:Alpha:]]", b"{n}\\", b"\\", b"{d}/\\", b"#{n}", b"#", b"\\#*",
    # what ML repositories write
    b"*.log", b"*.pth", b"**/*.pth", b"epoch_*.pth", b"epoch_[0-9].pth", b"*.[Ll][Oo][Gg]",
    b"checkpoints/", b"/outputs/**", b"runs/*/", b"logs/**/*.log", b"wandb", b"**/wandb/**",
)
# Wildcards that never match a '/', put where the path has one.
SLASH_STAND_INS: tuple[bytes, ...] = (
    b"?", b"*", b"[!a]", b"[^a]", b"[/]", b"[[:punct:]]", b"[+-0]", b"[!a-z]", b"**", b"***",
)
# fmt: on
# Every class, against a name of three bytes and negated.
CLASS_TEMPLATES: tuple[bytes, ...] = tuple(
    t for c in CLASSES for t in (b"a[[:" + c + b":]]b", b"*[![:" + c + b":]]*")
)


def escape_glob(literal: bytes) -> bytes:
    """Backslash-escape git's glob specials so the literal matches itself."""
    out = bytearray()
    for c in literal:
        if c in GLOB_SPECIAL:
            out += b"\\"
        out.append(c)
    return bytes(out)


def escape_some(literal: bytes, rng: random.Random) -> bytes:
    """Like `escape_glob`, sometimes also escaping ordinary bytes ('\\a' matches 'a'):
    an escape ends git's literal prefix, which decides where a '**' may start."""
    if rng.random() < 0.8:
        return escape_glob(literal)
    out = bytearray()
    for c in literal:
        if c in GLOB_SPECIAL or rng.random() < 0.3:
            out += b"\\"
        out.append(c)
    return bytes(out)


def random_bracket(rng: random.Random, alphabet: bytes) -> bytes:
    """A bracket expression, mostly valid, with git's odd corners in the mix."""
    out = bytearray(b"[")
    roll = rng.random()
    if roll < 0.15:
        out += b"!"
    elif roll < 0.25:
        out += b"^"
    if rng.random() < 0.1:
        out += b"]"
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.4:
            out.append(rng.choice(alphabet))
        elif kind < 0.65:
            lo, hi = sorted((rng.choice(alphabet), rng.choice(alphabet)))
            if rng.random() < 0.15:
                lo, hi = hi, lo
            escape = b"\\" if rng.random() < 0.2 else b""  # an escaped range end
            out += bytes([lo]) + b"-" + escape + bytes([hi])
        elif kind < 0.85:
            name = rng.choice(CLASSES) if rng.random() < 0.95 else b"foo"
            out += b"[:" + name + b":]"
        else:
            out += b"\\" + bytes([rng.choice(alphabet)])
    if rng.random() < 0.1:
        out += b"-"
    if rng.random() < 0.93:
        out += b"]"
    return bytes(out)


def random_literal(rng: random.Random, names: Sequence[bytes]) -> bytes:
    """A tree name or a piece of one, escaped or not (unescaped '[a]' is a bracket)."""
    name = rng.choice(names)
    if len(name) > 1 and rng.random() < 0.3:
        start = rng.randrange(len(name))
        name = name[start : rng.randint(start + 1, len(name))]
    return escape_glob(name) if rng.random() < 0.5 else name


def random_segment(rng: random.Random, names: Sequence[bytes], alphabet: bytes) -> bytes:
    """One '/'-free piece of a pattern, from literals and wildcards."""
    atoms: list[bytes] = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.45:
            atoms.append(random_literal(rng, names))
        elif roll < 0.6:
            atoms.append(b"*")
        elif roll < 0.7:
            atoms.append(b"**")
        elif roll < 0.8:
            atoms.append(b"?")
        elif roll < 0.95:
            atoms.append(random_bracket(rng, alphabet))
        else:
            atoms.append(b"\\" + bytes([rng.choice(alphabet)]))
    return b"".join(atoms)


def random_pattern(rng: random.Random, names: Sequence[bytes], alphabet: bytes) -> bytes:
    segments = [random_segment(rng, names, alphabet) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
    pattern = b"/".join(segments)
    if rng.random() < 0.15:
        pattern = b"/" + pattern
    if rng.random() < 0.2:
        pattern += b"/"
    if rng.random() < 0.05:
        pattern += b" " * rng.randint(1, 2)
    return pattern


def mutate_name(name: bytes, rng: random.Random, alphabet: bytes) -> bytes:
    """A glob for `name` that usually still matches it: '?' for a byte (even one
    byte of a multi-byte character), '*' for a slice, a bracket around a byte."""
    if rng.random() < 0.1:
        return rng.choice((b"*", b"**", b"?*"))
    start = rng.randrange(len(name))
    end = rng.randint(start + 1, min(len(name), start + 3))
    before, middle, after = name[:start], name[start:end], name[end:]

    def lit(b: bytes) -> bytes:
        return escape_some(b, rng) if keep_literal else b

    keep_literal = rng.random() < 0.85
    roll = rng.random()
    if roll < 0.3:
        glob = b"?" * len(middle) if rng.random() < 0.7 else b"?"
    elif roll < 0.55:
        glob = rng.choice((b"*", b"**", b"***"))
    elif roll < 0.85:
        member = middle[:1]
        member = b"\\" + member if member in (b"]", b"\\", b"!", b"^", b"-", b"[") else member
        glob = b"[" + bytes([rng.choice(alphabet)]) + member + b"]"
        if rng.random() < 0.3:
            glob = b"[!" + member + b"]"  # a near miss
        after = middle[1:] + after
    else:
        glob = lit(middle) + rng.choice((b"*", b"?", b""))
    return lit(before) + glob + lit(after)


def path_pattern(rng: random.Random, entry: Entry, alphabet: bytes) -> bytes:
    """A pattern made from a real path of the tree, so that it matches often."""
    parts = entry.path.split(b"/")
    roll = rng.random()
    if roll < 0.35:
        chosen, lead = parts[-1:], b""  # basename, matched at any depth
    elif roll < 0.6:
        k = rng.randrange(len(parts))
        chosen, lead = parts[k:], (b"**/" if k and rng.random() < 0.7 else b"")
    elif roll < 0.8:
        chosen, lead = parts, rng.choice((b"", b"/"))
    else:
        chosen, lead = parts[: rng.randint(1, len(parts))], rng.choice((b"", b"/", b"//"))
    globs = [
        mutate_name(p, rng, alphabet) if rng.random() < 0.5 else escape_some(p, rng) for p in chosen
    ]
    if len(globs) > 1 and rng.random() < 0.2:
        globs.insert(rng.randrange(1, len(globs)), b"**")
    pattern = globs[0]
    for glob in globs[1:]:
        # Now and then a wildcard stands where the path has a '/': it must not match.
        pattern += b"/" if rng.random() < 0.85 else rng.choice(SLASH_STAND_INS)
        pattern += glob
    if b"/" not in pattern.replace(b"[/]", b"") and len(globs) > 1:
        lead = b"/"  # keep it a pathname pattern, or '?' would meet no '/'
    pattern = lead + pattern
    if rng.random() < (0.4 if entry.is_dir else 0.1):
        pattern += b"/"
    return pattern


def slash_trap(rng: random.Random, entries: Sequence[Entry], stand_in: bytes) -> bytes:
    """A real nested path with one '/' replaced by a wildcard that must not match it."""
    nested = [e for e in entries if b"/" in e.path]
    parts = [escape_glob(p) for p in rng.choice(nested).path.split(b"/")]
    k = rng.randrange(1, len(parts))
    pattern = b"/".join([*parts[: k - 1], parts[k - 1] + stand_in + parts[k], *parts[k + 1 :]])
    return pattern if b"/" in pattern else b"/" + pattern


def fill_template(
    template: bytes, rng: random.Random, names: Sequence[bytes], dir_names: Sequence[bytes]
) -> bytes:
    literal = escape_glob if rng.random() < 0.7 else (lambda b: b)
    return (
        template.replace(b"{n}", literal(rng.choice(names)))
        .replace(b"{m}", literal(rng.choice(names)))
        .replace(b"{d}", literal(rng.choice(dir_names)))
    )


def make_line_safe(pattern: bytes, rng: random.Random) -> bytes:
    """One line of an ignore file: no newline/CR/NUL; a leading '!' is escaped
    because a lone negative line ignores nothing, which `selects` does not model."""
    pattern = pattern.replace(b"\n", b"n").replace(b"\r", b"r").replace(b"\0", b"0")
    if pattern.startswith(b"!"):
        pattern = b"\\" + pattern
    if pattern.startswith(b"#") and rng.random() < 0.7:
        pattern = b"\\" + pattern  # keep some comment lines, but not most
    return pattern


def generate_patterns(rng: random.Random, entries: Sequence[Entry], count: int) -> list[bytes]:
    names = components(entries)
    dir_names = sorted({part for e in entries if e.is_dir for part in e.path.split(b"/")})
    alphabet = bytes(sorted({c for name in names for c in name} | set(b"-]![^:\\az09")))
    patterns: set[bytes] = set()
    for template in TRAP_TEMPLATES + CLASS_TEMPLATES:  # every trap at least once per tree
        patterns.add(make_line_safe(fill_template(template, rng, names, dir_names), rng))
    for stand_in in SLASH_STAND_INS:
        patterns.add(make_line_safe(slash_trap(rng, entries, stand_in), rng))
    while len(patterns) < count:
        roll = rng.random()
        if roll < 0.5:
            raw = path_pattern(rng, rng.choice(entries), alphabet)
        elif roll < 0.75:
            raw = fill_template(rng.choice(TRAP_TEMPLATES), rng, names, dir_names)
        else:
            raw = random_pattern(rng, names, alphabet)
        patterns.add(make_line_safe(raw, rng))
    return sorted(patterns)


def corpus_patterns() -> list[bytes]:
    """Every pattern line of the shared real-world .gitignore files, '!' stripped."""
    assert CORPUS.is_dir(), (
        f"the shared ignore-file corpus is missing: expected it at {CORPUS} "
        "(shared/ beside the project checkout); this test needs it and must not be skipped"
    )
    files = sorted(CORPUS.glob("*.gitignore"))
    assert files, f"no *.gitignore files in {CORPUS}"
    patterns: set[bytes] = set()
    for file in files:
        for line in file.read_bytes().split(b"\n"):
            line = line[:-1] if line.endswith(b"\r") else line  # git drops CR before LF
            if not line.strip() or line.startswith(b"#"):
                continue
            if line.startswith(b"!"):
                line = line[1:]  # alone, a negation ignores nothing: test its positive half
                if line.startswith((b"#", b"!")):
                    line = b"\\" + line  # still the pattern it was, not a comment
            patterns.add(line)
    return sorted(patterns)


def instantiate(pattern: bytes, rng: random.Random) -> bytes:
    """A path that `pattern` plausibly matches: its wildcards filled in with name bytes."""
    out = bytearray()
    body = pattern.strip(b"/ ")
    i = 0
    while i < len(body):
        c = body[i]
        if c == ord("*"):
            stars = 0
            while i < len(body) and body[i] == ord("*"):
                i, stars = i + 1, stars + 1
            out += rng.choice((b"", b"x", b"a.b", b"d/e") if stars > 1 else (b"", b"x", b"ab"))
            continue
        if c == ord("?"):
            out += rng.choice((b"q", b"1", b"."))
        elif c == ord("\\") and i + 1 < len(body):
            i += 1
            out.append(body[i])
        elif c == ord("["):
            end = body.find(b"]", i + 2)
            if end < 0:
                break
            member = body[i + 1 : end].lstrip(b"!^")[:1]
            out += member if member not in (b"[", b"\\", b"") else b"a"
            i = end
        else:
            out.append(c)
        i += 1
    parts = [p for p in bytes(out).split(b"/") if p not in (b"", b".", b"..", b".git")]
    return b"/".join(parts[:MAX_DEPTH])


def add_path(entries: dict[bytes, Entry], path: bytes, is_dir: bool) -> None:
    """Add `path` and its parent directories, unless a file is in the way."""
    parts = path.split(b"/")
    if b"" in parts or parts[0].startswith(b":"):  # ':' starts pathspec magic for git
        return
    for k in range(1, len(parts)):
        prefix = b"/".join(parts[:k])
        if prefix in entries and not entries[prefix].is_dir:
            return
    for k in range(1, len(parts)):
        prefix = b"/".join(parts[:k])
        entries[prefix] = Entry(prefix, True)
    if path not in entries or entries[path].is_dir == is_dir:
        entries[path] = Entry(path, is_dir)


def corpus_tree(
    rng: random.Random, patterns: Sequence[bytes], base: Sequence[Entry]
) -> list[Entry]:
    """The `base` tree plus a path instantiated from each of `patterns`; a
    directory gets an entry inside, which is ignored along with it."""
    entries = {e.path: e for e in base}
    for pattern in patterns:
        path = instantiate(pattern, rng)
        if path and (pattern.rstrip(b" ").endswith(b"/") or rng.random() < 0.3):
            directory = b"/".join(path.split(b"/")[: MAX_DEPTH - 1])
            add_path(entries, directory + b"/" + rng.choice(ML_NAMES), False)
        else:
            add_path(entries, path, False)
    return sorted(entries.values(), key=lambda e: e.path)


# ---------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------


# -n lists the paths that no pattern matched too; -v says which pattern did.
CHECK_IGNORE = ("check-ignore", "--no-index", "--stdin", "-z", "-n", "-v")


def git_ignored(
    git_dir: Path, work_tree: Path, pattern: bytes, paths: Sequence[bytes]
) -> list[bool]:
    """Ask git: with `pattern` as the only line of `info/exclude`, which paths are ignored?

    With -z -n -v each path yields exactly four NUL-terminated fields,
    `source, line number, pattern, path`; the first three are empty when no
    pattern matched (`-n`), so the records stay aligned with the input.
    """
    exclude = git_dir / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_bytes(pattern + b"\n")
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", f"--work-tree={work_tree}", *CHECK_IGNORE],
        cwd=work_tree,
        input=b"".join(path + b"\0" for path in paths),
        capture_output=True,
        check=False,
    )
    # Exit 1 only means "nothing ignored"; anything else is a broken query.
    assert proc.returncode in (0, 1), (pattern, proc.returncode, proc.stderr)
    fields = proc.stdout.split(b"\0")
    assert fields.pop() == b"", "output must end with a NUL"
    assert len(fields) == 4 * len(paths), (pattern, len(fields), len(paths))
    verdicts: list[bool] = []
    for k, path in enumerate(paths):
        source, lineno, _shown, echoed = fields[4 * k : 4 * k + 4]
        assert echoed == path, (pattern, echoed, path)
        assert source == b"" or source.endswith(b"info/exclude"), source
        assert lineno in (b"", b"1"), lineno
        verdicts.append(source != b"")
    return verdicts


@dataclass(frozen=True)
class Oracle:
    """Git directories that answer for any work tree, one query per git dir at a time.

    A work tree need not hold a `.git` of its own: `--work-tree` points git
    at it, so each tree is written once and several git processes can read
    it at the same time.
    """

    git_dirs: tuple[Path, ...]

    @classmethod
    def beside(cls, repo: Repo, workers: int) -> Oracle:
        """`repo`'s own .git plus `workers - 1` more, each with its own info/exclude."""
        git_dirs = [repo.path / ".git"]
        for k in range(1, workers):
            spare = repo.path.parent / f"{repo.path.name}-git-{k}"
            subprocess.run(["git", "init", "-q", str(spare)], check=True)
            git_dirs.append(spare / ".git")
        return cls(tuple(git_dirs))

    def ask(
        self, work_tree: Path, patterns: Sequence[bytes], paths: Sequence[bytes]
    ) -> Iterator[list[bool]]:
        """`git_ignored` for each pattern, in order, with the git dirs working in parallel."""
        free: queue.SimpleQueue[Path] = queue.SimpleQueue()
        for git_dir in self.git_dirs:
            free.put(git_dir)

        def one(pattern: bytes) -> list[bool]:
            git_dir = free.get()
            try:
                return git_ignored(git_dir, work_tree, pattern, paths)
            finally:
                free.put(git_dir)

        with ThreadPoolExecutor(max_workers=len(self.git_dirs)) as pool:
            yield from pool.map(one, patterns)


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

Difference = tuple[bytes, bytes, bool, bool, bool]  # pattern, path, is_dir, ours, git


@dataclass
class Tally:
    cases: int = 0
    ignored: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.cases - self.ignored


def compare(
    oracle: Oracle,
    work_tree: Path,
    entries: Sequence[Entry],
    patterns: Sequence[bytes],
    tally: Tally,
) -> dict[bytes, list[bool]]:
    """Run every pattern through git and `selects`; record verdicts and differences."""
    paths = [e.path for e in entries]
    by_pattern: dict[bytes, list[bool]] = {}
    for pattern, theirs in zip(patterns, oracle.ask(work_tree, patterns, paths), strict=True):
        compiled = compile_pattern(os.fsdecode(pattern))
        ours = [compiled.selects(e.path, e.is_dir) for e in entries]
        # The automaton (what patterns a regex would backtrack on use) is held
        # to git on every pattern, not only on the ones that need it.
        automaton = [selects_by_automaton(compiled, e.path, e.is_dir) for e in entries]
        if automaton != theirs:
            tally.differences += [
                (b"automaton: " + pattern, e.path, e.is_dir, o, t)
                for e, o, t in zip(entries, automaton, theirs, strict=True)
                if o != t
            ]
        by_pattern[pattern] = theirs
        tally.cases += len(ours)
        tally.ignored += sum(theirs)
        if ours != theirs:
            tally.differences += [
                (pattern, e.path, e.is_dir, o, t)
                for e, o, t in zip(entries, ours, theirs, strict=True)
                if o != t
            ]
    return by_pattern


def report(differences: Sequence[Difference]) -> str:
    lines = [f"{len(differences)} verdicts differ from git check-ignore; first ones:"]
    lines += [
        f"  pattern={pattern!r} path={path!r} is_dir={is_dir} ours={ours} git={git}"
        for pattern, path, is_dir, ours, git in differences[:SHOWN_DIFFERENCES]
    ]
    return "\n".join(lines)


def assert_agrees(tally: Tally, min_cases: int, min_each: int) -> None:
    assert not tally.differences, report(tally.differences)
    # The run must mean something: many cases, and plenty of both answers.
    assert tally.cases >= min_cases, tally
    assert tally.ignored >= min_each, tally
    assert tally.kept >= min_each, tally


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("tree", range(2))
def test_generated_patterns_agree_with_git(repo: Repo, tree: int) -> None:
    rng = random.Random(SEED + tree)
    entries = generate_tree(rng, NAMES, DIR_NAMES)
    assert sum(e.is_dir for e in entries) >= 10, "the tree needs directories"
    patterns = generate_patterns(rng, entries, count=260)

    materialize(repo.path, entries)
    tally = Tally()
    verdicts = compare(Oracle.beside(repo, GIT_WORKERS), repo.path, entries, patterns, tally)
    assert_agrees(tally, min_cases=20_000, min_each=2_000)

    # Matcher combines many patterns with a directory cache; it must report
    # exactly the patterns git ignored each path for.
    matcher = Matcher([compile_pattern(os.fsdecode(p)) for p in patterns])
    for k, entry in enumerate(entries):
        expected = [i for i, p in enumerate(patterns) if verdicts[p][k]]
        assert matcher.hits(entry.path, is_dir=entry.is_dir) == expected, entry

    # A whole history's files at once (a fresh matcher: its own directory
    # cache): the files some pattern selects, with exactly git's patterns.
    files = [(k, e) for k, e in enumerate(entries) if not e.is_dir]
    wanted = {
        os.fsdecode(e.path): hits
        for k, e in files
        if (hits := [i for i, p in enumerate(patterns) if verdicts[p][k]])
    }
    assert wanted, "some files must be selected"
    fresh = Matcher([compile_pattern(os.fsdecode(p)) for p in patterns])
    assert fresh.selecting(os.fsdecode(e.path) for _, e in files) == wanted
    assert screened_at_once(patterns, entries, verdicts) > 0


def screened_at_once(
    patterns: Sequence[bytes], entries: Sequence[Entry], verdicts: dict[bytes, list[bool]]
) -> int:
    """`Matcher.selecting` given a list of every file at once, as an audit gives
    a history's paths (screened by regexes over the whole list, not one path
    at a time), names exactly git's patterns for each file; how many files
    some pattern selects. Patterns a regex would backtrack on make the screen
    step aside, so they are left out here."""
    readable = [p for p in patterns if _careful(compile_pattern(os.fsdecode(p))) is None]
    matcher = Matcher([compile_pattern(os.fsdecode(p)) for p in readable])
    assert matcher._screen.bulk(matcher.patterns) is not None
    files = [(k, os.fsdecode(e.path)) for k, e in enumerate(entries) if not e.is_dir]
    wanted = {
        path: hits
        for k, path in files
        if (hits := [i for i, p in enumerate(readable) if verdicts[p][k]])
    }
    # Repeated until the list is long enough to be screened at once.
    paths = [path for _, path in files] * (_BULK // len(files) + 1)
    assert matcher.selecting(paths) == wanted
    return len(wanted)


def test_include_selects_what_the_same_gitignore_line_ignores(repo: Repo) -> None:
    """CONTRACT §1: `include: [P]` keeps exactly the files a root `.gitignore` holding
    the line P would ignore, a matched directory's contents included."""
    from repolicy.checks import Context
    from repolicy.policy import Policy, Rule, Source

    rng = random.Random(SEED + 7)
    entries = generate_tree(rng, NAMES, DIR_NAMES)
    patterns = []
    for pattern in generate_patterns(rng, entries, count=200):
        try:
            validate(os.fsdecode(pattern))
        except PatternError:
            continue  # a policy refuses it: nothing to compare
        patterns.append(pattern)
    assert len(patterns) >= 100
    materialize(repo.path, entries)
    files = [e for e in entries if not e.is_dir]
    oracle = Oracle.beside(repo, GIT_WORKERS)
    tally = Tally()
    through_parent = 0
    paths = [e.path for e in files]
    for pattern, theirs in zip(patterns, oracle.ask(repo.path, patterns, paths), strict=True):
        rule = Rule("include", validate(os.fsdecode(pattern)), Source("t.yaml", 1, 1))
        ctx = Context(Policy("t", {}, include=(rule,)))
        ours = [ctx.including_rule(os.fsdecode(e.path)) is not None for e in files]
        tally.cases += len(ours)
        tally.ignored += sum(theirs)
        through_parent += sum(
            t and not rule.pattern.matches(e.path, False)
            for e, t in zip(files, theirs, strict=True)
        )
        tally.differences += [
            (pattern, e.path, False, o, t)
            for e, o, t in zip(files, ours, theirs, strict=True)
            if o != t
        ]
    assert_agrees(tally, min_cases=2_000, min_each=200)
    assert through_parent >= 100, "too few files kept through a matched directory"


@pytest.mark.shared
def test_corpus_patterns_agree_with_git(repo: Repo) -> None:
    patterns = corpus_patterns()
    assert len(patterns) >= 500, f"only {len(patterns)} corpus patterns in {CORPUS}"
    rng = random.Random(SEED)
    rng.shuffle(patterns)
    oracle = Oracle.beside(repo, GIT_WORKERS)
    base = generate_tree(rng, NAMES + ML_NAMES, DIR_NAMES + ML_NAMES, root_width=2)
    tally = Tally()
    matching = screened = 0
    # Groups keep the trees small: each pattern meets paths made from its own
    # group (hits and near misses), not from all thousand of them.
    for start in range(0, len(patterns), CORPUS_GROUP):
        group = patterns[start : start + CORPUS_GROUP]
        entries = corpus_tree(rng, group, base)
        work_tree = repo.path.parent / f"corpus-{start}"
        materialize(work_tree, entries)
        verdicts = compare(oracle, work_tree, entries, group, tally)
        matching += sum(any(v) for v in verdicts.values())
        screened += screened_at_once(group, entries, verdicts)
    assert_agrees(tally, min_cases=50_000, min_each=1_000)
    assert screened >= 1_000, f"only {screened} files selected when screened at once"
    assert matching >= len(patterns) * 3 // 4, f"only {matching} corpus patterns matched anything"


# Each trap of gitignore syntax, named, with hand-picked paths (a trailing '/'
# makes a directory). The expected verdicts are asked of git, not written here.
# fmt: off
TRAPS: list[tuple[str, str, list[str]]] = [
    ("dir/**/ selects dirs below, not dir", "logs/**/",
     ["logs/", "logs/a", "logs/x/", "logs/x/a", "logs/x/y/", "a/logs/x/"]),
    ("**/x at any depth, root included", "**/best.pth",
     ["best.pth", "a/best.pth", "a/b/best.pth", "best.pth.bak", "xbest.pth"]),
    ("x/** everything inside, not x", "runs/**", ["runs/", "runs/a", "runs/b/c", "a/runs/b"]),
    ("a/**/b zero or more dirs", "a/**/b", ["a/b", "a/x/b", "a/x/y/b", "a/xb", "ab", "x/a/b"]),
    ("**\\/ is ** then a slash: one dir at least", "a/**\\/b", ["a/b", "a/x/b", "a/x/y/b"]),
    ("*** is **", "***/x.pth", ["x.pth", "a/x.pth", "a/b/x.pth"]),
    ("a***b is a*b", "a***b", ["ab", "aXb", "a/b", "c/ab"]),
    ("a***b in a path", "d/a***b", ["d/ab", "d/a/b", "d/a/x/b"]),
    ("foo**/bar: ** right after the literal prefix is at a boundary", "foo**/bar",
     ["foo/bar", "foobar", "foox/bar", "foo/x/bar", "fooxbar"]),
    ("an escape ends the literal prefix", "fo\\o**/bar",
     ["foo/bar", "foobar", "foo/x/bar", "foox/bar"]),
    ("foo/x**: a trailing ** after the literal prefix crosses '/'", "foo/x**",
     ["foo/x", "foo/xy/", "foo/xy/z", "foo/y/x"]),
    ("a**b inside a segment is a*b", "d/a**b", ["d/ab", "d/azb", "d/a/b"]),
    ("[[:digit:]]", "epoch_[[:digit:]].pth", ["epoch_3.pth", "epoch_12.pth", "epoch_a.pth"]),
    ("[[:alpha:]] is ASCII only", "[[:alpha:]]", ["a", "Z", "1", "é"]),
    ("[[:print:]] includes space", "a[[:print:]]b", ["a b", "a\tb", "a-b"]),
    ("[!a]", "[!a]", ["a", "b", "!"]),
    ("[^a] means [!a]", "[^a]", ["a", "b", "^"]),
    ("[]a]: ']' first is literal", "[]a]", ["]", "a", "b"]),
    ("[a-]: '-' last is literal", "[a-]", ["a", "-", "b"]),
    ("[a-c-e]: a range, then '-' and 'e'", "[a-c-e]", ["a", "b", "d", "e", "-"]),
    ("a reversed range is empty", "[c-a]", ["a", "b", "c"]),
    ("an escaped range end", "[a-\\c]", ["a", "b", "\\", "c"]),
    ("a bracket never matches '/'", "d/a[+-0]b", ["d/a/b", "d/a.b", "d/a0b"]),
    ("[[:punct:]] never matches '/'", "d/a[[:punct:]]b", ["d/a/b", "d/a.b"]),
    ("\\* is a literal star", "\\*", ["*", "a", "a*b"]),
    ("\\[ is a literal bracket", "\\[a]", ["[a]", "a"]),
    ("\\  keeps a trailing space", "a\\ ", ["a ", "a"]),
    ("\\# is not a comment", "\\#a", ["#a", "a"]),
    ("\\! is not a negation", "\\!a", ["!a", "a"]),
    ("? is one byte, not one character", "?", ["a", "é", "日本", "ab"]),
    ("?? matches a two-byte character", "??", ["é", "ab", "a"]),
    ("? matches a byte that is not UTF-8", "caf?", ["caf\udce9", "café"]),
    ("trailing spaces are trimmed", "a  ", ["a", "a ", "a  "]),
    ("a leading / anchors to the root", "/a", ["a", "b/a", "b/c/a"]),
    ("a trailing / selects directories only", "a/", ["a/", "b/a", "c/a/", "c/a/x"]),
    ("a second leading / never matches", "//a", ["a", "b/a"]),
    ("a trailing tab is kept", "a\t", ["a", "a\t"]),
    ("a slash in the middle anchors too", "b/a", ["b/a", "x/b/a"]),
    ("an unclosed [ never matches", "a[b", ["a[b", "ab"]),
    ("an unknown class never matches", "[[:foo:]]", ["f", ":", "]"]),
    ("[[:] is a set of '[' and ':'", "x[[:]", ["x[", "x:", "x]"]),
    ("a trailing backslash never matches", "a\\", ["a", "a\\"]),
    ("# starts a comment", "#a", ["#a", "a"]),
    ("inside an ignored dir everything is ignored", "wandb",
     ["wandb/", "wandb/run/", "wandb/run/x"]),
    # Patterns a backtracking regex takes exponential time on; git answers at once.
    ("many stars in one name", "*a*a*a*a*a*b",
     ["a" * 250, "a" * 249 + "b", "ab" * 120, "b" * 250, "d/" + "a" * 200 + "b"]),
    ("many stars in an anchored name", "d/*a*a*a*a*?[ab]",
     ["d/" + "a" * 240, "d/" + "a" * 239 + "b/x", "d/" + "b" * 240]),
    ("many **/ in a row", "**/a/" * 6,
     ["/".join(["a"] * 60) + "/x", "/".join(["a"] * 5) + "/b", "/".join(["a", "b"] * 20) + "/"]),
    ("** and stars together", "**/a*a*/**/*b*b/**",
     ["/".join(["aaa"] * 30) + "/bb/x", "/".join(["aa"] * 30), "aa/bb"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("pattern", "paths"), [(p, paths) for _, p, paths in TRAPS], ids=[name for name, _, _ in TRAPS]
)
def test_named_traps_agree_with_git(repo: Repo, pattern: str, paths: list[str]) -> None:
    entries = sorted(
        {Entry(os.fsencode(p.rstrip("/")), p.endswith("/")) for p in paths}, key=lambda e: e.path
    )
    materialize(repo.path, entries)
    compiled: Pattern = compile_pattern(pattern)
    theirs = git_ignored(
        repo.path / ".git", repo.path, os.fsencode(pattern), [e.path for e in entries]
    )
    ours = [compiled.selects(e.path, is_dir=e.is_dir) for e in entries]
    automaton = [selects_by_automaton(compiled, e.path, e.is_dir) for e in entries]
    assert automaton == theirs, f"automaton for {pattern!r}: {automaton} vs git {theirs}"
    matcher = Matcher([compiled])
    combined = [bool(matcher.hits(e.path, is_dir=e.is_dir)) for e in entries]
    assert combined == theirs, f"Matcher for {pattern!r}: {combined} vs git {theirs}"
    table = [(e.path, e.is_dir, o, t) for e, o, t in zip(entries, ours, theirs, strict=True)]
    assert ours == theirs, f"pattern {pattern!r}: (path, is_dir, ours, git) = {table}"


def glob_disagreements(patterns: Sequence[bytes], entries: Sequence[Entry]) -> list[str]:
    """Where the byte-string reading of a star-only pattern (its first uses)
    and its compiled regex (every later use) answer differently."""
    out = []
    for pattern in patterns:
        compiled = compile_pattern(os.fsdecode(pattern))
        glob = None if compiled.body is None else _glob(compiled.body)
        if glob is None or compiled.body is None:
            continue
        regex = re.compile(compiled.body, re.DOTALL)
        for entry in entries:
            subjects = [entry.path, entry.path.rpartition(b"/")[2]]
            for subject in subjects:
                if _glob_fullmatch(glob, subject) != (regex.fullmatch(subject) is not None):
                    out.append(f"{pattern!r} on {subject!r}")
    return out


def test_star_only_patterns_read_without_a_regex_agree_with_it() -> None:
    rng = random.Random(SEED)
    entries = generate_tree(rng, NAMES + ML_NAMES, DIR_NAMES + ML_NAMES)
    patterns = [
        *generate_patterns(rng, entries, count=400),
        *(p.encode() for _, p, _ in TRAPS),
        b"*.pth", b"outputs/*/checkpoints/epoch_*.pth", b"a*b*a", b"*a*", b"**", b"*/*",
    ]  # fmt: skip
    read = [p for p in patterns if (c := compile_pattern(os.fsdecode(p))).body and _glob(c.body)]
    assert len(read) >= 50, "too few star-only patterns to compare"
    assert not glob_disagreements(patterns, entries)


@pytest.mark.shared
def test_star_only_corpus_patterns_read_without_a_regex_agree_with_it() -> None:
    patterns = corpus_patterns()
    rng = random.Random(SEED)
    base = generate_tree(rng, NAMES + ML_NAMES, DIR_NAMES + ML_NAMES, root_width=2)
    entries = [e for start in range(0, len(patterns), CORPUS_GROUP)
               for e in corpus_tree(rng, patterns[start : start + CORPUS_GROUP], base)]  # fmt: skip
    assert not glob_disagreements(patterns, entries)


def test_paths_screened_at_once_keep_names_git_allows_anywhere() -> None:
    """A history's paths are screened as one NUL-separated text: a name with a
    newline, a tab, a byte that is not UTF-8 or a glob character, and patterns
    that match anything (`*`, `**`), must find what one path at a time finds
    (`hits`, held to git above)."""
    names = ["a", "b", "a\nb", "x.log\n", "\nlogs", "a\tb", "caf\udce9", "*", "[a]", "é", "ab.log"]
    dirs = ["", "logs/", "a/", "a\nb/", "d/x/", "caf\udce9/", "**/", "d/logs/e/"]
    paths = [d + n for d in dirs for n in names] * 4
    assert len(paths) >= _BULK
    lines = [
        "*", "**", "a", "*.log", "logs/", "a/**", "**/b", "x?y", "[!a]*", "a*b", "/d/x",
        "d/*/e", "caf?", "\\*", "a?b", "*\\nb", "**/logs/**", "é", "d/**/e/",
    ]  # fmt: skip
    patterns = [compile_pattern(line) for line in lines]
    for chosen in [[p] for p in patterns] + [patterns]:
        matcher = Matcher(chosen)
        assert matcher._screen.bulk(matcher.patterns) is not None
        one_by_one = {p: hits for p in paths if (hits := Matcher(chosen).hits(p))}
        assert matcher.selecting(paths) == one_by_one, [p.text for p in chosen]
