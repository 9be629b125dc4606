"""Policy patterns, matched exactly as one line of a root `.gitignore` would match.

Git matches bytes, not characters (`?` is one byte of a UTF-8 name), so patterns
compile to `bytes` regular expressions that mirror `wildmatch.c` and the
pattern handling of `dir.c`: trailing-space trimming, `/` anchoring, basename
matching for patterns without a slash, directory-only patterns, the `**`
rules (including git's quirk that a `**` right after the literal prefix counts
as a path boundary), bracket expressions with POSIX classes, and the rule that
a path inside a selected directory is selected too.

The differential test (`tests/test_match_differential.py`) holds this module
to `git check-ignore` on generated trees.
"""

from __future__ import annotations

# Annotations are evaluated, not postponed: typing.NamedTuple compiles each
# string annotation at import, a cost the pre-commit hook pays on every commit.
import operator
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence, Set

from repolicy.policy import programs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple

# What os.fsencode does, without its per-call checks (paths are matched by
# the hundred thousand in an audit).
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()

_NEVER = b"(?!)"
_FLAGS = int(re.DOTALL)  # every pattern regex: `?`, `*` and `[...]` match a newline too
# From this many paths on, `Matcher.selecting` screens them all at once.
_BULK = 256
_END = operator.methodcaller("end")
_GLOB_SPECIAL = b"*?[\\"

# git's ctype tables (git-compat-util.h, ctype.c): ASCII only, and git's
# isspace() knows only space, \t, \n and \r.
_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    b"alpha": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset([*range(0, 32), 127]),
    b"digit": frozenset(b"0123456789"),
    b"graph": frozenset(range(33, 127)),
    b"lower": frozenset(b"abcdefghijklmnopqrstuvwxyz"),
    b"print": frozenset(range(32, 127)),
    b"punct": frozenset(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    b"space": frozenset(b" \t\n\r"),
    b"upper": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"xdigit": frozenset(b"0123456789ABCDEFabcdef"),
}


class PatternError(ValueError):
    """A pattern git would never match, or would read differently than written."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset  # 0-based offset into the pattern text


class _Abort(Exception):
    """wildmatch's WM_ABORT_ALL at compile time: the pattern can never match."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_COMPILED: dict[bytes, re.Pattern[bytes]] = {}


def _compiled(body: bytes) -> re.Pattern[bytes]:
    regex = _COMPILED.get(body)
    if regex is None:
        regex = _COMPILED[body] = programs.compile(body, _FLAGS)
    return regex


# A pattern of literal bytes and single-component stars (`*.pth`,
# `outputs/*/checkpoints/epoch_*.pth`), as the pieces between its stars, per
# path component: matched with byte-string operations for its first uses,
# and compiled only once it is used often. The hook tests a few dozen paths
# against the patterns its screen lets through, and compiling each pattern's
# regex took longer than all those tests (1.8 ms against 1.2 for a commit of
# 50 files under the `ml-checkpoints` preset).
Glob = tuple[tuple[bytes, ...], ...]
_ANY_IN_COMPONENT = b"[^/]*"
_REGEX_SYNTAX = frozenset(b".^$*+?{}[]()|\\")
_GLOBS: dict[bytes, Glob | None] = {}
_GLOB_USES: dict[bytes, int] = {}
_GLOB_USES_BEFORE_COMPILING = 64


def _glob(body: bytes) -> Glob | None:
    """The pieces of `body` (a translated pattern's regex) when it is literal
    bytes (escaped as `re.escape` does) and `[^/]*` alone; None otherwise."""
    if body in _GLOBS:
        return _GLOBS[body]
    components: list[tuple[bytes, ...]] = []
    pieces: list[bytes] = []
    literal = bytearray()
    glob: Glob | None = None
    at = 0
    while at < len(body):
        if body.startswith(_ANY_IN_COMPONENT, at):
            pieces.append(bytes(literal))
            literal.clear()
            at += len(_ANY_IN_COMPONENT)
            continue
        byte = body[at]
        if byte == 0x5C:  # a backslash escapes one byte of punctuation
            if at + 1 >= len(body) or chr(body[at + 1]).isalnum():
                break  # a class such as \d, or something this reader does not know
            byte = body[at + 1]
            at += 2
        elif byte in _REGEX_SYNTAX:
            break
        else:
            at += 1
        if byte == 0x2F:  # '/' ends a path component
            pieces.append(bytes(literal))
            literal.clear()
            components.append(tuple(pieces))
            pieces = []
        else:
            literal.append(byte)
    else:
        pieces.append(bytes(literal))
        components.append(tuple(pieces))
        glob = tuple(components)
    _GLOBS[body] = glob
    return glob


def _glob_fullmatch(glob: Glob, subject: bytes) -> bool:
    parts = subject.split(b"/")
    if len(parts) != len(glob):
        return False
    for pieces, part in zip(glob, parts, strict=True):
        if len(pieces) == 1:
            if part != pieces[0]:
                return False
            continue
        first, last = pieces[0], pieces[-1]
        end = len(part) - len(last)
        if end < len(first) or not part.startswith(first) or not part.endswith(last):
            return False
        # Each middle piece at its leftmost place leaves the most room for the rest.
        at = len(first)
        for piece in pieces[1:-1]:
            found = part.find(piece, at, end)
            if found < 0:
                return False
            at = found + len(piece)
    return True


def _fullmatch(body: bytes, subject: bytes) -> bool:
    regex = _COMPILED.get(body)
    if regex is None:
        glob = _glob(body)
        uses = _GLOB_USES.get(body, 0)
        if glob is not None and uses < _GLOB_USES_BEFORE_COMPILING:
            _GLOB_USES[body] = uses + 1
            return _glob_fullmatch(glob, subject)
        regex = _compiled(body)
    return regex.fullmatch(subject) is not None


class Pattern(NamedTuple):
    """One translated pattern.

    `body` (the regex source) is None when git would never match the pattern
    (an unclosed `[`, an unknown `[:class:]`, a trailing backslash); `problem`
    then says why.
    """

    text: str
    basename_only: bool
    dir_only: bool
    body: bytes | None
    problem: str | None = None
    problem_offset: int = 0

    @property
    def regex(self) -> re.Pattern[bytes] | None:
        """Compiled on first use: compiling is most of a policy's load time, and
        the hook tests only the few patterns a quick screen lets through."""
        return None if self.body is None else _compiled(self.body)

    def matches(self, path: bytes, is_dir: bool) -> bool:
        """Whether this pattern matches `path` itself (not its parents)."""
        if self.body is None or (self.dir_only and not is_dir):
            return False
        subject = path.rpartition(b"/")[2] if self.basename_only else path
        automaton = _careful(self)
        if automaton is not None:
            return automaton.fullmatch(subject)
        return _fullmatch(self.body, subject)

    def selects(self, path: str | bytes, is_dir: bool = False) -> bool:
        """Whether a `.gitignore` holding only this line ignores `path`."""
        raw = os.fsencode(path)
        if self.matches(raw, is_dir):
            return True
        end = raw.find(b"/")
        while end != -1:
            if self.matches(raw[:end], True):
                return True
            end = raw.find(b"/", end + 1)
        return False


def _trim_trailing_spaces(raw: bytes) -> bytes:
    """dir.c's trim_trailing_spaces: drop unescaped trailing spaces."""
    last_space = -1
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x20:
            if last_space < 0:
                last_space = i
        elif c == 0x5C:  # backslash: the next byte is literal
            i += 1
            if i >= len(raw):
                return raw
            last_space = -1
        else:
            last_space = -1
        i += 1
    return raw[:last_space] if last_space >= 0 else raw


def _bracket(pat: bytes, i: int) -> tuple[frozenset[int], int]:
    """Read the bracket expression starting at pat[i] == '['.

    Returns the bytes it accepts and the index after the closing ']'. Mirrors
    the bracket branch of git's dowild() step by step, so the odd corners
    (']' first, '-' at the ends, escapes, '[' not starting a class) agree.
    """
    start = i
    n = len(pat)
    members: set[int] = set()
    p = i + 1

    def at(k: int) -> int:
        return pat[k] if k < n else 0

    p_ch = at(p)
    if p_ch == ord("^"):
        p_ch = ord("!")
    negated = p_ch == ord("!")
    if negated:
        p += 1
        p_ch = at(p)
    prev_ch = 0
    while True:
        if not p_ch:
            raise _Abort("unclosed '[' never matches; escape it as '\\['", start)
        if p_ch == 0x5C:
            p += 1
            p_ch = at(p)
            if not p_ch:
                raise _Abort("unclosed '[' never matches; escape it as '\\['", start)
            members.add(p_ch)
        elif p_ch == ord("-") and prev_ch and at(p + 1) and at(p + 1) != ord("]"):
            p += 1
            p_ch = at(p)
            if p_ch == 0x5C:
                p += 1
                p_ch = at(p)
                if not p_ch:
                    raise _Abort("unclosed '[' never matches; escape it as '\\['", start)
            members.update(range(prev_ch, p_ch + 1))
            p_ch = 0
        elif p_ch == ord("[") and at(p + 1) == ord(":"):
            s = p + 2
            q = s
            while at(q) and at(q) != ord("]"):
                q += 1
            if not at(q):
                raise _Abort("unclosed '[' never matches; escape it as '\\['", start)
            length = q - s - 1
            if length < 0 or pat[q - 1] != ord(":"):
                # Not a "[:class:]": the '[' is an ordinary member.
                p = s - 2
                p_ch = ord("[")
                members.add(p_ch)
            else:
                name = pat[s : s + length]
                if name not in _CLASSES:
                    raise _Abort(
                        f"unknown character class '[:{os.fsdecode(name)}:]' never matches",
                        start,
                    )
                members.update(_CLASSES[name])
                p = q
                p_ch = 0
        else:
            members.add(p_ch)
        prev_ch = p_ch
        p += 1
        p_ch = at(p)
        if p_ch == ord("]"):
            break
    # A bracket never matches '/' (WM_PATHNAME) nor NUL (paths cannot hold it).
    chosen = set(range(1, 256)) - members if negated else members
    chosen.discard(ord("/"))
    chosen.discard(0)
    return frozenset(chosen), p + 1


# The steps of a translated pattern: one byte from a set, or a run of stars.
_ONE = 0  # one byte of `accepts`
_STAR = 1  # '*': any bytes but '/'
_ANY = 2  # '**' that spans directories: any bytes
_DIRS = 3  # '**/': nothing, or any bytes ending in '/'
_NOT_SLASH = frozenset(range(256)) - {ord("/")}

Step = tuple[int, frozenset[int], bytes]  # kind, accepted bytes (_ONE), regex fragment


def _steps(pat: bytes, pathname: bool, prefix: int) -> list[Step]:
    """wildmatch(pat) as steps; `pathname` is WM_PATHNAME (pattern has a '/')."""
    out: list[Step] = []
    none: frozenset[int] = frozenset()
    n = len(pat)
    i = 0
    while i < n:
        c = pat[i]
        if c == 0x5C:
            if i + 1 >= n:
                raise _Abort("a trailing unescaped '\\' never matches", i)
            out.append((_ONE, frozenset(pat[i + 1 : i + 2]), re.escape(pat[i + 1 : i + 2])))
            i += 2
        elif c == ord("?"):
            out.append((_ONE, _NOT_SLASH, b"[^/]"))
            i += 1
        elif c == ord("*"):
            j = i
            while j < n and pat[j] == ord("*"):
                j += 1
            if j - i >= 2 and pathname:
                # match_pathname() compares the literal prefix first and runs
                # wildmatch on the rest, so a '**' right after it is at "start".
                before_ok = i == 0 or i == prefix or pat[i - 1] == ord("/")
                after_ok = (
                    j == n
                    or pat[j] == ord("/")
                    or (pat[j] == 0x5C and j + 1 < n and pat[j + 1] == ord("/"))
                )
                if before_ok and after_ok:
                    if j < n and pat[j] == ord("/"):
                        out.append((_DIRS, none, b"(?:.*/)?"))
                        i = j + 1
                    else:
                        out.append((_ANY, none, b".*"))
                        i = j
                    continue
            out.append((_STAR, none, b"[^/]*"))
            i = j
        elif c == ord("["):
            chosen, i = _bracket(pat, i)
            if chosen:
                body = b"".join(re.escape(bytes([m])) for m in sorted(chosen))
                out.append((_ONE, chosen, b"[" + body + b"]"))
            else:
                out.append((_ONE, chosen, _NEVER))
        else:
            out.append((_ONE, frozenset(pat[i : i + 1]), re.escape(pat[i : i + 1])))
            i += 1
    return out


def _translate(pat: bytes, pathname: bool, prefix: int) -> bytes:
    """wildmatch(pat) as a regex; `pathname` is WM_PATHNAME (pattern has a '/')."""
    return b"".join(fragment for _, _, fragment in _steps(pat, pathname, prefix))


def _backtracks(steps: Sequence[Step]) -> bool:
    """Whether a backtracking regex engine could take polynomial time of a high
    degree (or exponential) on this pattern: three or more stars that can slide
    against each other. Stars in different segments of a path slide only
    within their own segment; a '**' slides over the whole path, unless it
    ends the pattern (then it just takes the rest)."""
    spanning = 0
    in_segment = 0
    worst = 0
    for k, (kind, accepts, _) in enumerate(steps):
        if kind in (_ANY, _DIRS):
            if k < len(steps) - 1:
                spanning += 1
            in_segment = 0
        elif kind == _STAR:
            in_segment += 1
            worst = max(worst, in_segment)
        elif ord("/") in accepts:
            in_segment = 0
    return spanning + worst >= 3


class _Automaton:
    """A pattern as a nondeterministic automaton, run over all its states at once:
    time linear in the subject for a given pattern, whatever the pattern.

    Each state reads one byte: it may stay (`loop`), move to the next state
    (`step`), and is entered together with the states of its `closure`.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        loops: list[bytes | None] = []
        moves: list[bytes | None] = []
        skips: list[tuple[int, ...]] = []
        everything = bytes([1]) * 256
        for kind, accepts, _ in steps:
            here = len(loops)
            if kind == _ONE:
                loops.append(None)
                moves.append(bytes(1 if b in accepts else 0 for b in range(256)))
                skips.append(())
            elif kind == _STAR:
                loops.append(bytes(1 if b in _NOT_SLASH else 0 for b in range(256)))
                moves.append(None)
                skips.append((here + 1,))
            elif kind == _ANY:
                loops.append(everything)
                moves.append(None)
                skips.append((here + 1,))
            else:  # _DIRS: skip it whole, or read anything up to a '/'
                loops.append(None)
                moves.append(None)
                skips.append((here + 2, here + 1))
                loops.append(everything)
                moves.append(bytes(1 if b == ord("/") else 0 for b in range(256)))
                skips.append(())
        self.final = len(loops)
        self.loops = loops
        self.moves = moves
        closures: list[frozenset[int]] = [frozenset([self.final])]
        # Skips only go forward, so each closure is built from later ones.
        for state in range(self.final - 1, -1, -1):
            reach = {state}
            for target in skips[state]:
                reach |= closures[self.final - target]
            closures.append(frozenset(reach))
        closures.reverse()
        self.closures = closures

    def fullmatch(self, subject: bytes) -> bool:
        final, loops, moves, closures = self.final, self.loops, self.moves, self.closures
        current: Set[int] = closures[0]
        for byte in subject:
            reached: set[int] = set()
            for state in current:
                if state == final:
                    continue
                loop = loops[state]
                if loop is not None and loop[byte]:
                    reached.add(state)
                move = moves[state]
                if move is not None and move[byte]:
                    reached |= closures[state + 1]
            if not reached:
                return False
            for state in list(reached):
                reached |= closures[state]
            current = reached
        return final in current


def _simple_length(pat: bytes) -> int:
    for k, c in enumerate(pat):
        if c in _GLOB_SPECIAL:
            return k
    return len(pat)


def _prepare(text: str) -> tuple[bytes, bool, bool] | Pattern:
    """The pattern bytes wildmatch sees, basename_only and dir_only; or the
    Pattern that never matches."""
    raw = _trim_trailing_spaces(os.fsencode(text))
    if not raw or raw.startswith(b"#"):
        return Pattern(text, True, False, None, "a blank or '#' line is not a pattern")
    if raw.startswith(b"!"):
        # Alone in a .gitignore, a negated line ignores nothing.
        return Pattern(text, True, False, None, "a negated pattern ignores nothing on its own")
    dir_only = raw.endswith(b"/")
    if dir_only:
        raw = raw[:-1]
    basename_only = b"/" not in raw
    if raw.startswith(b"/"):
        raw = raw[1:]
    if not raw:
        return Pattern(text, basename_only, dir_only, None, "the pattern is empty")
    return raw, basename_only, dir_only


def compile_pattern(text: str) -> Pattern:
    """Compile one pattern as git reads a `.gitignore` line.

    Never raises for syntax git accepts; a pattern git would skip or never
    match compiles with `regex=None` and a `problem`. Use `validate()` to
    reject patterns a policy should not contain.
    """
    prepared = _prepare(text)
    if isinstance(prepared, Pattern):
        return prepared
    raw, basename_only, dir_only = prepared
    try:
        body = _translate(raw, not basename_only, _simple_length(raw))
    except _Abort as exc:
        return Pattern(text, basename_only, dir_only, None, exc.message, exc.offset)
    return Pattern(text, basename_only, dir_only, body)


# Per pattern text: the automaton to run instead of its regex, or None where
# the regex is safe (and faster).
_CAREFUL: dict[str, _Automaton | None] = {}
_UNSET = object()


def _automaton(text: str, always: bool = False) -> _Automaton | None:
    prepared = _prepare(text)
    if isinstance(prepared, Pattern):
        return None
    raw, basename_only, _ = prepared
    try:
        steps = _steps(raw, not basename_only, _simple_length(raw))
    except _Abort:
        return None
    return _Automaton(steps) if always or _backtracks(steps) else None


def _careful(pattern: Pattern) -> _Automaton | None:
    text = pattern.text
    automaton = _CAREFUL.get(text, _UNSET)
    if automaton is _UNSET:
        # Fewer than three stars can never backtrack badly: no need to look.
        automaton = _CAREFUL[text] = _automaton(text) if text.count("*") >= 3 else None
    return automaton  # type: ignore[return-value]


def selects_by_automaton(pattern: Pattern, path: str | bytes, is_dir: bool = False) -> bool:
    """`pattern.selects`, always answered by the automaton (never the regex):
    the differential tests hold both to git."""
    automaton = _automaton(pattern.text, always=True)
    if automaton is None or pattern.body is None:
        return False
    built = automaton

    def matches(subject: bytes, as_dir: bool) -> bool:
        if pattern.dir_only and not as_dir:
            return False
        if pattern.basename_only:
            subject = subject.rpartition(b"/")[2]
        return built.fullmatch(subject)

    raw = os.fsencode(path)
    if matches(raw, is_dir):
        return True
    end = raw.find(b"/")
    while end != -1:
        if matches(raw[:end], True):
            return True
        end = raw.find(b"/", end + 1)
    return False


def validate(text: str) -> Pattern:
    """Compile a policy pattern, raising PatternError where git would disagree.

    Policy lists hold positive patterns only (`include` is how to re-include),
    so a leading '!' is refused rather than silently meaning something else.
    """
    if not text.strip():
        raise PatternError("empty pattern")
    for k, ch in enumerate(text):
        if ch in "\n\r\0":
            raise PatternError("a pattern cannot contain a newline, carriage return or NUL byte", k)
    if text == "!":
        raise PatternError("a lone '!' matches nothing; write '\\!' for a file named '!'")
    if text.startswith("!"):
        raise PatternError(
            "negation is not allowed in a policy list; move the pattern to 'include' "
            "(or write '\\!' for a name that starts with '!')"
        )
    if text.startswith("#"):
        raise PatternError("a leading '#' makes this a comment; write '\\#' for a literal '#'")
    trimmed = _trim_trailing_spaces(os.fsencode(text))
    if len(trimmed) != len(os.fsencode(text)):
        raise PatternError(
            "git drops trailing spaces in ignore patterns; remove them, or escape the "
            "last one as '\\ '",
            len(os.fsdecode(trimmed)),
        )
    if text.strip("/") == "" or text.lstrip("/") == "":
        raise PatternError("'/' alone matches nothing")
    if "//" in text:
        raise PatternError(
            "'//' never matches: git paths have no empty components", text.index("//")
        )
    pattern = compile_pattern(text)
    if pattern.body is None:
        raise PatternError(pattern.problem or "this pattern never matches", pattern.problem_offset)
    return pattern


# A translated step as it reads inside NUL-separated paths: as in `_steps`,
# but no step may read a NUL (no path holds one, so on one path alone each
# reads what its `_steps` fragment reads).
_BOUNDED = {_STAR: b"[^/\x00]*", _ANY: b"[^\x00]*", _DIRS: b"(?:[^\x00]*/)?"}


def _bounded(pattern: Pattern) -> bytes | None:
    """`pattern.body` for a subject inside NUL-separated paths, never reading past
    one; None for a pattern that holds a NUL itself."""
    prepared = _prepare(pattern.text)
    if isinstance(prepared, Pattern):
        return _NEVER
    raw, basename_only, _ = prepared
    if b"\0" in raw:
        return None
    try:
        steps = _steps(raw, not basename_only, _simple_length(raw))
    except _Abort:
        return _NEVER
    # A bracket never holds a NUL (`_bracket`), an escaped byte is not one:
    # only `?` and the stars are read differently.
    return b"".join(
        _BOUNDED[kind] if kind != _ONE else b"[^/\x00]" if accepts is _NOT_SLASH else fragment
        for kind, accepts, fragment in steps
    )


class _Bulk:
    """Patterns read over many paths at once: the paths joined by NULs (which
    no path holds) into one text, so that a regex scan of it replaces a
    Python-level loop over them.

    A pattern selects a path when it matches the path itself (a file: never
    for a directory-only pattern) or a directory above it. Inside the text,
    a basename pattern matches a component (it starts after a NUL or a '/'),
    a path pattern a leading part (it starts after a NUL); either ends before
    a '/' (a directory above the path) or a NUL (the path itself).
    """

    def __init__(self, live: Sequence[tuple[int, Pattern, bytes]]) -> None:
        star = _BOUNDED[_STAR]

        def anchored(pattern: Pattern, body: bytes) -> tuple[bytes, bytes]:
            # A basename pattern that starts with a star (`*.log`) is looked
            # for anywhere, without its star: with it, a regex would read each
            # component to its end and back.
            if not pattern.basename_only:
                return b"\x00", body
            if body.startswith(star):
                return b"", body[len(star) :]
            return b"[\x00/]", body

        # Screens: which paths any pattern may select (through either end).
        groups: dict[bytes, list[bytes]] = {}
        for _, pattern, body in live:
            start, rest = anchored(pattern, body)
            groups.setdefault(start, []).append(rest)
        self.screens = [
            re.compile(start + b"(?:" + b"|".join(bodies) + b")(?=[/\x00])")
            for start, bodies in groups.items()
        ]
        # Each pattern on its own, ending only where it selects: a directory-
        # only pattern before a '/' alone, so that a regex looking for the
        # longest match tries the shorter ones too.
        self.each: list[tuple[int, re.Pattern[bytes]]] = []
        for k, pattern, body in live:
            start, rest = anchored(pattern, body)
            end = b"/" if pattern.dir_only else b"[/\x00]"
            self.each.append((k, re.compile(start + b"(?:" + rest + b")(?=" + end + b")")))

    def selecting(self, paths: list[str]) -> dict[str, list[int]] | None:
        """`Matcher.selecting` of `paths`; None if a path holds a NUL."""
        text = b"\0" + "\0".join(paths).encode(_FS_ENCODING, _FS_ERRORS) + b"\0"
        if text.count(b"\0") != len(paths) + 1:
            return None
        # The screens first: the few paths they keep are read pattern by pattern.
        starts: set[int] = set()
        for regex in self.screens:
            starts.update(_starts(text, regex))
        if not starts:
            return {}
        ends = [text.find(b"\0", s) for s in sorted(starts)]
        kept = [text[s:e] for s, e in zip(sorted(starts), ends, strict=True)]
        text = b"\0" + b"\0".join(kept) + b"\0"
        hits: dict[int, list[int]] = {}
        for k, regex in self.each:  # in policy order
            for start in _starts(text, regex):
                found = hits.setdefault(start, [])
                if not found or found[-1] != k:
                    found.append(k)
        return {
            text[s : text.find(b"\0", s)].decode(_FS_ENCODING, _FS_ERRORS): hits[s]
            for s in sorted(hits)
        }


def _starts(text: bytes, regex: re.Pattern[bytes]) -> Iterator[int]:
    """Where the paths of `text` that `regex` matches in start (a path more than
    once if it matches more than once). Each match ends where a component
    ends, before a '/' or a NUL: its path starts after the NUL before that."""
    find = text.rfind
    return (find(b"\0", 0, end) + 1 for end in map(_END, regex.finditer(text)) if end)


class _Screen:
    """One regex per subject (basename, whole path) that any of the patterns match.

    Most paths match no pattern at all; one combined search says so without
    trying each pattern in turn. Patterns a regex would backtrack on are left
    out (`careful`: their indices) and always tried by their automaton.
    """

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.careful = [
            k for k, p in enumerate(patterns) if p.body is not None and _careful(p) is not None
        ]
        left_out = set(self.careful)
        live = [k for k, p in enumerate(patterns) if p.body is not None and k not in left_out]
        # Each screen passes a subject only if one of its members may match it:
        # only those are then tried.
        self.base_members = [k for k in live if patterns[k].basename_only]
        self.path_members = [k for k in live if not patterns[k].basename_only]
        # Compiled from a remembered program when the policy cache holds one
        # (see `programs`); `sources` says what the cache should remember.
        base = _union(patterns[k] for k in self.base_members)
        path = _union(patterns[k] for k in self.path_members)
        self.sources = [(s, _FLAGS) for s in (base, path) if s is not None]
        self.base = None if base is None else programs.compile(base, _FLAGS)
        self.path = None if path is None else programs.compile(path, _FLAGS)
        self._bulk: _Bulk | None = None
        self._bulk_built = False

    def bulk(self, patterns: Sequence[Pattern]) -> _Bulk | None:
        """The regexes that read many NUL-separated paths at once (`_Bulk`);
        None when some pattern cannot be read so (a careful one).

        Compiled on first use: only a whole history's paths are read so."""
        if not self._bulk_built:
            self._bulk_built = True
            live = [(k, p) for k, p in enumerate(patterns) if p.body is not None]
            bounded = [_bounded(p) for _, p in live]
            if not self.careful and all(b is not None for b in bounded):
                self._bulk = _Bulk(
                    [(k, p, b) for (k, p), b in zip(live, bounded, strict=True) if b is not None]
                )
        return self._bulk

    def own(self, patterns: Sequence[Pattern], path: bytes, base: bytes, is_dir: bool) -> list[int]:
        """The indices of `patterns` that match `path` itself (`base`: its last
        component), in no particular order."""
        own: list[int] = []
        if self.path is not None and self.path.fullmatch(path):
            own = [k for k in self.path_members if patterns[k].matches(path, is_dir)]
        if self.base is not None and self.base.fullmatch(base):
            own += [k for k in self.base_members if patterns[k].matches(path, is_dir)]
        if self.careful:
            own += [k for k in self.careful if patterns[k].matches(path, is_dir)]
        return own


def _union(patterns: Iterable[Pattern]) -> bytes | None:
    """The source of one regex any of `patterns` matches; None for none."""
    bodies = [p.body for p in patterns if p.body is not None]
    if not bodies:
        return None
    return b"|".join(b"(?:" + body + b")" for body in bodies)


class Matcher:
    """Answers "which of these patterns select this path?" for many paths.

    Directory verdicts are cached: paths in one repository share most of
    their parents, so each directory is matched once per run.
    """

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = patterns
        self._dir_cache: dict[bytes, frozenset[int]] = {}
        # One screen for files and directories: a directory-only pattern lets
        # a file through, and the exact test below turns it away.
        self._screen = _Screen(patterns)

    def sources(self) -> list[tuple[bytes, int]]:
        """The regexes (source, flags) this matcher compiled when it was made."""
        return list(self._screen.sources)

    def _own(self, path: bytes, is_dir: bool) -> Iterable[int]:
        return self._screen.own(self.patterns, path, path.rpartition(b"/")[2], is_dir)

    def _dir_hits(self, directory: bytes) -> frozenset[int]:
        cache = self._dir_cache
        cached = cache.get(directory)
        if cached is not None:
            return cached
        # The uncached ancestors, deepest first, then each from its parent's
        # verdict: a loop, not recursion, as a path may be thousands deep.
        pending = [directory]
        parent, slash, _ = directory.rpartition(b"/")
        inherited: frozenset[int] = frozenset()
        while slash:
            known = cache.get(parent)
            if known is not None:
                inherited = known
                break
            pending.append(parent)
            parent, slash, _ = parent.rpartition(b"/")
        for current in reversed(pending):
            own = self._own(current, True)
            inherited = inherited.union(own) if own else inherited
            cache[current] = inherited
        return inherited

    def selecting(self, paths: Iterable[str]) -> dict[str, list[int]]:
        """`hits` of each file of `paths` that some pattern selects; the others
        are left out. One loop for a whole history's paths, most of which match
        nothing: for those, only the cached directory and the screen are read."""
        found: dict[str, list[int]] = {}
        if not self.patterns:
            return found
        screen = self._screen
        if isinstance(paths, list) and len(paths) >= _BULK:
            bulk = screen.bulk(self.patterns)
            at_once = bulk.selecting(paths) if bulk is not None else None
            if at_once is not None:
                return at_once
        dir_cache, dir_hits, hits = self._dir_cache, self._dir_hits, self.hits
        whole = screen.path.fullmatch if screen.path is not None else None
        base_of = screen.base.fullmatch if screen.base is not None else None
        careful = bool(screen.careful)
        for path in paths:
            raw = path.encode(_FS_ENCODING, _FS_ERRORS)
            parent, slash, base = raw.rpartition(b"/")
            inherited = dir_cache.get(parent) if slash else None
            if inherited is None and slash:
                inherited = dir_hits(parent)
            if (
                careful
                or (whole is not None and whole(raw))
                or (base_of is not None and base_of(base))
            ):
                selected = hits(raw)
                if selected:
                    found[path] = selected
            elif inherited:
                found[path] = sorted(inherited)
        return found

    def hits(self, path: str | bytes, is_dir: bool = False) -> list[int]:
        """Indices (in policy order) of the patterns that select `path`."""
        if not self.patterns:
            return []
        raw = path if isinstance(path, bytes) else path.encode(_FS_ENCODING, _FS_ERRORS)
        parent, slash, base = raw.rpartition(b"/")
        # Called once for every path a history holds, and most paths match
        # nothing: the cached directory and the screen are looked at inline.
        inherited = self._dir_cache.get(parent) if slash else None
        if inherited is None and slash:
            inherited = self._dir_hits(parent)
        own = self._screen.own(self.patterns, raw, base, is_dir)
        if not own:
            return sorted(inherited) if inherited else []
        return sorted(inherited.union(own)) if inherited else sorted(own)
