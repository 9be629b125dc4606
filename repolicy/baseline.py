"""The baseline: violations a repository accepted when it adopted the gate.

`repolicy audit --write-baseline` records today's violations; `audit`,
`check --push` and `check --pre-receive` then report only what the file does
not hold. The file is text made to be reviewed in a diff:

    # repolicy baseline, format 1 ...
    check<TAB>blob<TAB>path<TAB>commit,commit...

One line per entry, sorted by check, path and blob; no line numbers, no
sizes, no dates, so it changes only when the accepted violations do. `blob`
is empty for a violation that has none (the work tree). `commit` lists every
commit of the audited history that wrote that blob at that path: a violation
is hidden only while every commit that brings it is one of those, so a new
commit that writes the same blob at the same path again is still reported.

A path is written as git stores it, unless it holds a tab, a newline, a
quote, a backslash, anything unprintable (including bytes that are not
UTF-8) or a character a shell would act on (`$`, `;`, `|`, a space...); then
it is quoted as git quotes paths: `"..."` with `\\t`, `\\n`, `\\"`, `\\\\`
and `\\ooo` (octal) for the other bytes and for `$`, backquote and `!`, which
a shell expands even between double quotes. Both forms are read back.

`repolicy check` (pre-commit) never reads the baseline: staged content is new.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from repolicy.errors import FileError, RepolicyError
from repolicy.git import Git, HistoryEntry
from repolicy.policy import Policy
from repolicy.report import Report, Violation, plural

DEFAULT_FILE = ".repolicy-baseline"
FORMAT = 1
HEADER = (
    f"# repolicy baseline, format {FORMAT}: violations accepted when the gate was adopted.\n"
    "# Written by `repolicy audit --write-baseline`; let it shrink, do not add to it by hand.\n"
    "# check<TAB>blob<TAB>path<TAB>commits that wrote the blob there\n"
)

# What a baseline can never accept. Budgets are repository-wide: raising the
# budget in the policy is the honest fix, and it shows in review. `unpushed`
# and `missing-required` describe the current branch and are fixed by one
# ordinary commit or push. `lfs-object-missing` is a push's own problem (the
# object is not here), never something history holds.
NOT_BASELINABLE = frozenset(
    {
        "repo-budget",
        "lfs-budget",
        "push-budget",
        "unpushed",
        "missing-required",
        "lfs-object-missing",
        "baseline-unused",
    }
)

# Checks that judge one blob at one path: in the index too, where they have no
# commit, the staged blob names them.
PER_BLOB = frozenset(
    {
        "excluded",
        "lfs-missing",
        "lfs-pointer-invalid",
        "lfs-attr-missing",
        "file-too-large",
        "file-large",
        "lfs-file-too-large",
        "dvc-in-git",
    }
)

_HEX = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
# A path holding any of these is quoted: copied into a shell bare, it would run
# or expand something (`$(...)`, `;`, `|`, globs, a leading `~`).
_SHELL_SPECIAL = frozenset(" \t\n\r!\"#$&'()*;<>?[\\]`{|}~^")
_EXPANDED_IN_QUOTES = frozenset("$`!")
_UNESCAPES = {
    "t": b"\t",
    "n": b"\n",
    "r": b"\r",
    '"': b'"',
    "\\": b"\\",
    "a": b"\a",
    "b": b"\b",
    "f": b"\f",
    "v": b"\v",
}


class Key(NamedTuple):
    check: str
    blob: str  # "" when the violation is not about a blob
    path: str


class Entry(NamedTuple):
    check: str
    blob: str
    path: str
    commits: tuple[str, ...] = ()  # sorted
    line: int = 0  # where it was read, for `baseline-unused`; 0 when made here

    @property
    def key(self) -> Key:
        return Key(self.check, self.blob, self.path)


class Baseline(NamedTuple):
    file: str  # as shown to the user: repository-relative
    entries: dict[Key, Entry]


def baselinable(check: str) -> bool:
    from repolicy.checks import REGISTRY

    return check in REGISTRY and check not in NOT_BASELINABLE


def relative_path(policy: Policy) -> str:
    """Where the baseline lives, relative to the repository root."""
    return policy.baseline or DEFAULT_FILE


def load(root: str, policy: Policy, report: Report | None = None) -> Baseline | None:
    """The repository's baseline, or None when there is none. A policy that names a
    file which does not exist gets a note in `report`: it may be a typo."""
    rel = relative_path(policy)
    from repolicy.atomic import read_regular

    try:
        data = read_regular(os.path.join(root, rel), f"the baseline {rel}")
    except FileNotFoundError:
        if policy.baseline is not None and report is not None:
            report.notes.append(
                f"the policy names the baseline {rel}, which does not exist: nothing is accepted "
                "(write it with `repolicy audit --write-baseline`)"
            )
        return None
    return parse(data, rel)


def load_from_revision(git: Git, rev: str, policy: Policy) -> Baseline | None:
    """The baseline as commit `rev` holds it (for a server, which has no work
    tree and must not trust the pushed commits), or None when it holds none."""
    rel = relative_path(policy)
    data = git.file_at(rev, rel)
    return None if data is None else parse(data, f"{rev}:{rel}")


# -- the file format ---------------------------------------------------------


def quote_path(path: str) -> str:
    """The path as written in the file: bare when that is unambiguous and no
    shell would read anything into it, else quoted."""
    if path.isprintable() and not _SHELL_SPECIAL.intersection(path):
        return path
    out = ['"']
    for ch in path:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() and ch not in _EXPANDED_IN_QUOTES:
            out.append(ch)
        else:
            # Control characters, invisible format characters, bytes that are
            # not UTF-8 (surrogate escapes), and what a shell expands even
            # between double quotes (`$`, backquote, `!`): their bytes, in octal
            # as git writes unusual bytes.
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogateescape"))
    out.append('"')
    return "".join(out)


def unquote_path(field: str) -> tuple[str, int] | str:
    """The path a field holds, or (message, 0-based column within the field)."""
    if not field.startswith('"'):
        return field
    raw = bytearray()
    k = 1
    while k < len(field):
        ch = field[k]
        if ch == '"':
            if k != len(field) - 1:
                return ("text after the closing quote of the path", k + 1)
            return bytes(raw).decode("utf-8", "surrogateescape")
        if ch != "\\":
            raw += ch.encode("utf-8", "surrogateescape")
            k += 1
            continue
        nxt = field[k + 1 : k + 2]
        if nxt in _UNESCAPES:
            raw += _UNESCAPES[nxt]
            k += 2
        elif re.fullmatch(r"[0-3][0-7]{2}", field[k + 1 : k + 4]):
            raw.append(int(field[k + 1 : k + 4], 8))
            k += 4
        else:
            return (f"bad escape '\\{nxt}' in a quoted path", k)
    return ("the quoted path has no closing quote", 0)


def render(entries: Iterable[Entry]) -> bytes:
    """The file's bytes: the header, then one sorted line per entry."""
    lines = [HEADER]
    for e in sorted(entries, key=lambda e: (e.check, e.path, e.blob)):
        fields = [e.check, e.blob, quote_path(e.path)]
        if e.commits:
            fields.append(",".join(e.commits))
        lines.append("\t".join(fields) + "\n")
    return "".join(lines).encode("utf-8")


def parse(data: bytes, file: str) -> Baseline:
    """Read a baseline; anything malformed is a `FILE:LINE:COL: message` error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileError(file, row, col, "the baseline is not valid UTF-8") from None
    entries: dict[Key, Entry] = {}
    for number, raw in enumerate(text.split("\n"), 1):
        # A checkout with core.autocrlf hands the file back with CRLF.
        line = raw.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        entry = _parse_line(file, number, line)
        first = entries.get(entry.key)
        if first is not None:
            raise FileError(
                file, number, 1, f"duplicate baseline entry (first on line {first.line})"
            )
        entries[entry.key] = entry
    return Baseline(file, entries)


def _parse_line(file: str, number: int, line: str) -> Entry:
    fields = line.split("\t")
    starts = [0]
    for f in fields[:-1]:
        starts.append(starts[-1] + len(f) + 1)

    def fail(field: int, message: str, offset: int = 0) -> FileError:
        return FileError(file, number, starts[field] + offset + 1, message)

    if len(fields) not in (3, 4):
        raise FileError(
            file,
            number,
            1,
            f"a baseline entry has 3 or 4 tab-separated fields "
            f"(check, blob, path, commits), not {len(fields)}",
        )
    check, blob, path_field = fields[:3]
    from repolicy.checks import REGISTRY

    if check not in REGISTRY:
        hint = difflib.get_close_matches(check, list(REGISTRY), n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        raise fail(0, f"unknown check {check!r}{suggestion}")
    if check in NOT_BASELINABLE:
        raise fail(0, f"{check!r} cannot be baselined ({_why_not(check)})")
    if blob and not _HEX.fullmatch(blob):
        raise fail(1, f"bad blob id {blob!r}: expected a full hexadecimal object id or nothing")
    if not path_field:
        raise fail(2, "the path is empty")
    path = unquote_path(path_field)
    if isinstance(path, tuple):
        message, offset = path
        raise fail(2, message, offset)
    commits: list[str] = []
    if len(fields) == 4 and fields[3]:
        offset = 0
        for commit in fields[3].split(","):
            if not _HEX.fullmatch(commit):
                raise fail(3, f"bad commit id {commit!r}: expected a full hexadecimal id", offset)
            commits.append(commit)
            offset += len(commit) + 1
    return Entry(check, blob, path, tuple(sorted(set(commits))), number)


def _why_not(check: str) -> str:
    if check in ("repo-budget", "lfs-budget"):
        return "a budget covers the whole repository: raise it in the policy on purpose"
    if check == "push-budget":
        return "a push budget judges one push: push in parts, or raise it in the policy"
    if check == "missing-required":
        return "add the missing file in a commit"
    if check == "unpushed":
        return "push the branch"
    return "it is not a violation history holds"


def write(root: str, rel: str, data: bytes) -> bool:
    """Atomically write the baseline; False when it already holds exactly `data`."""
    from repolicy.atomic import confined, read_regular, replace_file

    shown = f"the baseline {rel}"
    # Resolved before anything is read or made: a committed symbolic link must
    # not lead the write (or the directories made for it) out of the work tree.
    path = confined(os.path.join(root, rel), shown, root)
    try:
        if read_regular(path, shown) == data:
            return False  # nothing changed: leave the file (and its mtime) alone
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise RepolicyError(f"cannot read the baseline {rel}: {exc.strerror}") from None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as exc:
        raise RepolicyError(f"cannot write the baseline {rel}: {exc.strerror}") from None
    replace_file(path, data, shown, mode, root=root)
    return True


# -- matching ------------------------------------------------------------------


class Writers:
    """Which blob each commit wrote at each path, and which commits wrote each
    blob at each path, over the history a command examined."""

    def __init__(self, entries: Iterable[HistoryEntry], staged: Mapping[str, str] = {}) -> None:
        self.blob_at: dict[tuple[str | None, str], str] = {
            (None, path): oid for path, oid in staged.items()
        }
        self.commits: dict[tuple[str, str], set[str]] = {}
        for e in entries:
            self.blob_at[(e.commit, e.path)] = e.oid
            self.commits.setdefault((e.oid, e.path), set()).add(e.commit)

    def key(self, v: Violation) -> Key | None:
        """The baseline key of a violation; None when it cannot be baselined."""
        if v.path is None or not baselinable(v.check):
            return None
        if v.commit is None and v.check not in PER_BLOB:
            return Key(v.check, "", v.path)  # the work tree: no blob to name
        return Key(v.check, self.blob_at.get((v.commit, v.path), ""), v.path)

    def brought_by(self, key: Key, v: Violation) -> set[str]:
        """Every examined commit that brings this violation: each commit that wrote
        its blob at its path, else the commit it names (none for the work tree)."""
        if key.blob:
            return self.commits.get((key.blob, key.path), set())
        return {v.commit} if v.commit else set()


def record(
    violations: Iterable[Violation],
    entries: Iterable[HistoryEntry],
    staged: Mapping[str, str] = {},
) -> list[Entry]:
    """The baseline entries that accept every baselinable violation."""
    writers = Writers(entries, staged)
    commits: dict[Key, set[str]] = {}
    for v in violations:
        key = writers.key(v)
        if key is not None:
            commits.setdefault(key, set()).update(writers.brought_by(key, v))
    return [Entry(*key, tuple(sorted(c))) for key, c in commits.items()]


def apply(
    report: Report,
    baseline: Baseline,
    entries: Iterable[HistoryEntry],
    *,
    staged: Mapping[str, str] = {},
    judge_unused: bool = False,
) -> None:
    """Drop from `report` the violations `baseline` accepts, and say so.

    `entries` is what `Git.history` gave for the examined revisions (the
    pushed range for a push); `staged` maps index paths to blob ids for
    violations without a commit. A violation is accepted when the baseline
    holds its key and every examined commit that brings it is one the entry
    lists. Only a command that sees all history may `judge_unused`: then
    entries nothing matched become `baseline-unused` warnings.
    """
    writers = Writers(entries, staged)
    kept: list[Violation] = []
    matched: set[Key] = set()
    accepted = 0
    for v in report.violations:
        key = writers.key(v)
        entry = baseline.entries.get(key) if key is not None else None
        if entry is None or key is None:
            kept.append(v)
            continue
        matched.add(key)
        if writers.brought_by(key, v) <= set(entry.commits):
            accepted += 1
        else:
            kept.append(v)
    unused = [e for k, e in baseline.entries.items() if k not in matched] if judge_unused else []
    from repolicy.checks.baseline import unused_entry

    kept.extend(unused_entry(baseline.file, e) for e in sorted(unused, key=lambda e: e.line))
    report.violations = kept
    summary: dict[str, object] = {"file": baseline.file, "accepted": accepted}
    summary["unused"] = len(unused) if judge_unused else None
    report.extensions["baseline"] = summary
    note = f"baseline {baseline.file}: {plural(accepted, 'violation')} accepted"
    if unused:
        entries_word = "entry no longer matches" if len(unused) == 1 else "entries no longer match"
        note += f", {len(unused)} {entries_word} anything"
    if accepted or unused:  # "0 accepted" on every push says nothing
        report.notes.append(note)


def rewrite(
    root: str,
    policy: Policy,
    violations: Iterable[Violation],
    entries: Iterable[HistoryEntry],
    staged: Mapping[str, str] = {},
) -> dict[str, object]:
    """`audit --write-baseline`: record every baselinable violation; what was done."""
    found = list(violations)
    recorded = record(found, entries, staged)
    rel = relative_path(policy)
    changed = write(root, rel, render(recorded))
    left = sorted({v.check for v in found if not baselinable(v.check)})
    return {
        "file": rel,
        "entries": len(recorded),
        "accepted": sum(1 for v in found if baselinable(v.check) and v.path is not None),
        "written": changed,
        "not_baselinable": left,
    }


def describe(result: Mapping[str, object]) -> str:
    """The line `audit --write-baseline` prints."""
    entries = result["entries"]
    assert isinstance(entries, int)
    what = f"{entries} {'entry' if entries == 1 else 'entries'}"
    done = "wrote" if result["written"] else "unchanged:"
    accepted = result["accepted"]
    assert isinstance(accepted, int)
    line = f"repolicy audit: {done} {result['file']} ({what}, {plural(accepted, 'violation')})"
    left = result["not_baselinable"]
    if isinstance(left, list) and left:
        line += f"; still reported, a baseline cannot accept them: {', '.join(left)}"
    return line
