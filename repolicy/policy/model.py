"""The policy as immutable typed records, and where a repository's policy comes from.

`load_policy` answers from a cache in the git directory when no policy file
has changed, so the pre-commit hook does not import or parse YAML on every
commit; on a miss, `repolicy.policy.loader` reads the YAML. Past this module no
code sees a raw mapping: checks receive `Policy`, `Rule` and `Requirement`.
"""

from __future__ import annotations

# Annotations are evaluated, not postponed: typing.NamedTuple compiles each
# string annotation at import, a cost the pre-commit hook pays on every commit.
import os
import re

from repolicy.policy.match import Pattern

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, made without compiling code at import: see repolicy.tuples
    from repolicy.tuples import NamedTuple

POLICY_FILE = ".repolicy.yaml"
DEFAULT_PRESET = "default"

LIST_KEYS = ("include", "exclude", "lfs", "frozen", "dvc")
# The lists every run matches paths against, through one `Matcher` each
# (`checks.Context.prepare`): their screens' programs are cached (`cache`).
SCREENED_KEYS = ("include", "exclude", "lfs")
TOP_KEYS = ("extends", "budgets", *LIST_KEYS, "require", "allow", "baseline")
BUDGET_KEYS = (
    "file", "file_warn", "file_binary", "repo", "lfs", "lfs_file", "push", "directory_entries",
)  # fmt: skip
# Budgets that count entries rather than bytes: no unit, never a size.
COUNT_BUDGET_KEYS = ("directory_entries",)
# What a `budgets.patterns` item may set.
PATTERN_BUDGET_KEYS = ("file", "file_warn", "file_binary")
ITEM_KEYS = ("pattern", "why", "severity")
LFS_ITEM_KEYS = (*ITEM_KEYS, "above")  # an `lfs` item may bound the sizes it covers
SEVERITIES = ("error", "warning")
ALLOW_KEYS = ("path", "checks", "reason", "empty")

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$"  # compiled by `re` when first used


class Source(NamedTuple):
    """Where a value was written: a policy file (repository-relative) or a preset."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Rule(NamedTuple):
    """One pattern under a list key (`include`, `exclude`, `lfs`, `frozen`, `dvc`)."""

    key: str
    pattern: Pattern
    source: Source
    why: str | None = None
    severity: str | None = None
    # The item of an extended policy this one replaced (same key and pattern).
    replaces: Source | None = None
    # `lfs` only: blobs of at most this many bytes may stay in git (None or 0:
    # every blob must be a pointer). .gitattributes cannot say this.
    above: int | None = None

    @property
    def sized(self) -> bool:
        """An `lfs` item that covers only blobs over a size."""
        return bool(self.above)

    @property
    def text(self) -> str:
        return self.pattern.text

    def __str__(self) -> str:
        return f"{self.key}: {self.pattern.text}"


class Allow(NamedTuple):
    """`allow`: violations of `checks` (None: every check) at paths `pattern` selects."""

    pattern: Pattern
    checks: tuple[str, ...] | None
    reason: str
    source: Source
    # Only while the file is empty (a placeholder such as an empty .gitignore).
    empty: bool = False

    def covers(self, check: str) -> bool:
        return self.checks is None or check in self.checks


class Requirement(NamedTuple):
    """`require`: directories matching `directory` must hold each of `files`."""

    directory: Rule
    files: tuple[Pattern, ...]


class PatternBudget(NamedTuple):
    """A `budgets.patterns` item: file budgets for the paths its pattern selects.
    `limits` holds only the keys the item sets (None: explicitly unlimited)."""

    pattern: Pattern
    limits: dict[str, int | None]
    source: Source


class Budget(NamedTuple):
    limit: int | None
    source: Source | None = None
    # Only under the key `patterns`: a child policy's list replaces its parent's,
    # as every budgets key does.
    patterns: tuple[PatternBudget, ...] = ()


class Policy(NamedTuple):
    name: str
    budgets: dict[str, Budget]
    include: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()
    lfs: tuple[Rule, ...] = ()
    frozen: tuple[Rule, ...] = ()
    dvc: tuple[Rule, ...] = ()
    require: tuple[Requirement, ...] = ()
    allow: tuple[Allow, ...] = ()
    # The baseline file, relative to the repository root; None: .repolicy-baseline.
    baseline: str | None = None

    def limit(self, key: str) -> int | None:
        budget = self.budgets.get(key)
        return budget.limit if budget else None

    def file_limit(self, key: str, path: str) -> tuple[int | None, PatternBudget | None]:
        """`file` or `file_warn` for one path, and the `budgets.patterns` item that set
        it (None: the top-level figure). Of the items whose pattern selects the path,
        the last one in policy order that sets `key` wins, as the last matching
        line of a .gitignore does: write the general items first, the narrow ones after."""
        patterns = self.budgets.get("patterns")
        if patterns is not None:
            for item in reversed(patterns.patterns):
                if key in item.limits and item.pattern.selects(path):
                    return item.limits[key], item
        return self.limit(key), None

    def binary_window(self) -> tuple[int, int] | None:
        """The sizes at which whether a blob is binary can change a verdict: over
        the smallest `file_binary` figure, and not over the largest `file` figure
        (a larger blob is too large either way). None when no budget tells binary
        from text: then no blob's contents are read for it."""
        figures = [self.budgets["file_binary"].limit] if "file_binary" in self.budgets else []
        files = [self.limit("file")]
        patterns = self.budgets.get("patterns")
        for item in patterns.patterns if patterns is not None else ():
            if "file_binary" in item.limits:
                figures.append(item.limits["file_binary"])
            if "file" in item.limits:
                files.append(item.limits["file"])
        bounded = [f for f in figures if f is not None]
        if not bounded:
            return None
        highest = max((f for f in files if f is not None), default=None)
        if highest is None or None in files:
            highest = _UNBOUNDED
        return min(bounded), highest


_UNBOUNDED = 2**63 - 1


def parse_size(text: str) -> int:
    """'100 MiB' -> 104857600. Raises ValueError with a message for the user."""
    m = re.match(_SIZE_RE, text, re.IGNORECASE)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(
            f"bad size {text!r}: use a number with B, KB, MB, GB (powers of 1000) "
            "or KiB, MiB, GiB (powers of 1024)"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def presets_dir() -> str:
    # Plain paths, not importlib.resources: the hook starts on every commit and
    # the wheel installs the presets as ordinary files in the package folder. A
    # source checkout keeps them in the top-level policies/ folder.
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    installed = os.path.join(package, "policies")
    return (
        installed
        if os.path.isdir(installed)
        else os.path.join(os.path.dirname(package), "policies")
    )


def preset_names() -> list[str]:
    return sorted(n[: -len(".yaml")] for n in os.listdir(presets_dir()) if n.endswith(".yaml"))


def load_policy(
    root: str | os.PathLike[str] | None,
    explicit: str | None = None,
    cache_dir: str | None = None,
) -> Policy:
    """The policy for a repository: `--policy`, else `.repolicy.yaml`, else preset default.

    With `cache_dir`, a policy resolved before is reused while none of the
    files it was read from (nor the absence of `.repolicy.yaml`) has changed.
    """
    from repolicy.policy import cache

    root_str = os.fspath(root) if root is not None else None
    key = (root_str, explicit)
    if cache_dir is not None:
        cached = cache.read(cache_dir, key)
        if cached is not None:
            return cached
    from repolicy.policy.loader import read_policy

    policy, files = read_policy(root_str, explicit)
    if cache_dir is not None:
        if explicit is None and root_str is not None:
            files.append(os.path.join(root_str, POLICY_FILE))  # its absence matters too
        cache.write(cache_dir, key, policy, files)
    return policy
