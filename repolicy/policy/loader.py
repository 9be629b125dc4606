"""Reading policy files: YAML nodes -> records, every error at its FILE:LINE:COL.

The YAML is composed into nodes (never constructed), so no tag can build an
object and every value keeps its position. Only a policy cache miss comes
here, which keeps PyYAML out of the hook's usual start-up.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import yaml

from repolicy.errors import PolicyError
from repolicy.policy import (
    ALLOW_KEYS,
    BUDGET_KEYS,
    DEFAULT_PRESET,
    ITEM_KEYS,
    LIST_KEYS,
    POLICY_FILE,
    SEVERITIES,
    TOP_KEYS,
    Allow,
    Budget,
    Policy,
    Requirement,
    Rule,
    Source,
    parse_size,
    preset_names,
    presets_dir,
)
from repolicy.policy.match import Pattern, PatternError, validate
from repolicy.policy.model import COUNT_BUDGET_KEYS, LFS_ITEM_KEYS
from repolicy.policy.positions import compose

SEVERITY_OFF = "off"  # in a policy file only: the item is removed while merging
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_STANDARD_TAGS = frozenset(
    {
        _STR,
        _INT,
        _NULL,
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    }
)


_MAX_SIZE = 2**63 - 1


class _Partial:
    """A policy file's contribution, merged parent-first into the final Policy."""

    def __init__(self) -> None:
        self.budgets: dict[str, Budget] = {}
        self.lists: dict[str, list[Rule]] = {k: [] for k in LIST_KEYS}
        self.require: list[Requirement] = []
        self.allow: list[Allow] = []
        self.baseline: str | None = None
        # Items already merged, by where they were written: a file reached twice
        # (extends: [b, b], or a diamond) contributes once, so nothing multiplies.
        self.seen: set[tuple[str, Source]] = set()

    def absorb(self, other: _Partial) -> None:
        self.budgets.update(other.budgets)
        if other.baseline is not None:
            self.baseline = other.baseline  # like a budget: the extending file decides
        for key in LIST_KEYS:
            self.lists[key] = _overlay(
                self.lists[key], list(_unseen(self.seen, key, other.lists[key]))
            )
        for req in other.require:
            if ("require", req.directory.source) not in self.seen:
                self.seen.add(("require", req.directory.source))
                self.require.append(req)
        for entry in other.allow:
            if ("allow", entry.source) not in self.seen:
                self.seen.add(("allow", entry.source))
                self.allow.append(entry)


def _overlay(base: list[Rule], extending: list[Rule]) -> list[Rule]:
    """`extending`'s items after `base`'s, except that an item with the same pattern
    replaces the one before it in place: the fields it sets win, the ones it leaves
    out are kept, and `severity: off` removes the item."""
    out = list(base)
    where = {rule.text: k for k, rule in enumerate(out)}
    for rule in extending:
        k = where.get(rule.text)
        if k is None:
            if rule.severity != SEVERITY_OFF:
                where[rule.text] = len(out)
                out.append(rule)
            continue
        old = out[k]
        out[k] = rule._replace(
            why=rule.why if rule.why is not None else old.why,
            severity=rule.severity if rule.severity is not None else old.severity,
            replaces=old.source,
            above=rule.above if rule.above is not None else old.above,
        )
    return [rule for rule in out if rule.severity != SEVERITY_OFF]


def _unseen(seen: set[tuple[str, Source]], key: str, rules: list[Rule]) -> Iterator[Rule]:
    for rule in rules:
        if (key, rule.source) not in seen:
            seen.add((key, rule.source))
            yield rule


# Bounds on what one policy may pull in through `extends`: a policy is read by
# every hook run, and a server reads one it did not write.
MAX_POLICY_FILES = 64
MAX_POLICY_BYTES = 1024 * 1024
MAX_EXTENDS_DEPTH = 32


class TreeFiles(Protocol):
    """Policy files read through git from one commit's tree (a server's view):
    `read` gives a file's bytes, or a one-line reason it cannot be a policy."""

    def read(self, path: str) -> bytes | str: ...


def read_regular(path: Path) -> bytes:
    """A policy file's bytes; OSError (with a reason) for anything but a regular
    file. Opened without blocking, so a FIFO in its place cannot hang a hook."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if os.path.islink(path) and not os.path.exists(path):
            raise OSError(exc.errno, "a symbolic link to a file that does not exist") from None
        raise
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise OSError(0, f"{kind} (a policy is a YAML file)")
        data = fh.read(MAX_POLICY_BYTES + 1)
        if len(data) > MAX_POLICY_BYTES:
            raise OSError(0, "larger than any policy file (over 1 MiB)")
        return data


def _not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as a policy, when something is there that is
    not a regular file (None: a regular file, or nothing at all)."""
    if not os.path.lexists(path):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "it is a symbolic link to a file that does not exist"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a directory, not a file"
    return "it is not a regular file (a FIFO, socket or device)"


class _Loader:
    def __init__(self, root: Path | None, tree: TreeFiles | None = None) -> None:
        self.root = root
        self.tree = tree
        self.stack: list[str] = []
        self.files: list[str] = []
        # Each file is read and parsed once, however often it is extended.
        self.done: dict[str, _Partial] = {}
        self.top: Path | None = None  # the policy file the user named or wrote

    def display(self, path: Path) -> str:
        """Repository-relative for files inside the repository, else as resolved."""
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                pass
        return str(path)

    def inside(self, path: Path, top: Path | None) -> bool:
        """Whether an error in `path` may quote it: a file of the repository, or
        (with no repository) one beside the policy file the user named."""
        base = self.root if self.root is not None else (top.parent if top else None)
        if base is None:
            return False
        try:
            path.resolve().relative_to(base.resolve())
        except ValueError:
            return False
        return True

    def error_path(self, path: Path) -> str:
        """The path as the user can open it from where they stand."""
        try:
            rel = os.path.relpath(path)
        except ValueError:
            return str(path)
        climbs_out = rel.startswith("..") and not str(path).startswith("..")
        return str(path.absolute()) if climbs_out else rel

    def admit(self, identity: str) -> _Partial | None:
        """A file parsed before, or None once the bounds allow reading a new one."""
        if identity in self.done:
            return self.done[identity]
        if len(self.done) + len(self.stack) >= MAX_POLICY_FILES:
            raise _Excess(f"extends reaches more than {MAX_POLICY_FILES} policy files")
        if len(self.stack) >= MAX_EXTENDS_DEPTH:
            raise _Excess(f"extends nests deeper than {MAX_EXTENDS_DEPTH} files")
        return None

    def load_file(self, path: Path, name: str, errpath: str, quote: bool = True) -> _Partial:
        identity = str(path.resolve())
        known = self.admit(identity)
        if known is not None:
            return known
        self.files.append(str(path))
        try:
            data = read_regular(path)
        except OSError as exc:
            raise PolicyError(errpath, 1, 1, f"cannot read policy: {exc.strerror}") from None
        return self.parse_bytes(data, identity, _FileParser(self, path, name, errpath, quote))

    def load_tree_file(self, rel: str, fail: Callable[[str], PolicyError]) -> _Partial:
        """`rel` from the tree; `fail` makes the error for a file that cannot be read."""
        assert self.tree is not None
        identity = f"tree:{rel}"
        known = self.admit(identity)
        if known is not None:
            return known
        data = self.tree.read(rel)
        if isinstance(data, str):
            raise fail(f"cannot read policy {rel!r}: {data}")
        errpath = rel
        parser = _FileParser(self, Path(rel), rel, errpath, True, tree_path=rel)
        return self.parse_bytes(data, identity, parser)

    def parse_bytes(self, data: bytes, identity: str, parser: _FileParser) -> _Partial:
        errpath = parser.errpath
        root_node = compose(
            data, errpath, PolicyError, _alias_hint, "policy file is not valid UTF-8"
        )
        self.stack.append(identity)
        try:
            partial = parser.parse(root_node)
        finally:
            self.stack.pop()
        self.done[identity] = partial
        return partial

    def load_preset(self, preset: str) -> _Partial:
        path = Path(presets_dir()) / f"{preset}.yaml"
        return self.load_file(path, f"preset:{preset}", f"preset:{preset}")


def _alias_hint(context: str, message: str) -> str:
    return message + " (quote patterns that start with '*', e.g. \"*.log\")"


_NOT_SHOWN = "not a valid policy (not shown: the file lies outside the repository)"


class _Excess(Exception):
    """Too many policy files, or too deep: reported at the `extends` entry."""


class _FileParser:
    def __init__(
        self,
        loader: _Loader,
        path: Path,
        name: str,
        errpath: str,
        quote: bool = True,
        tree_path: str | None = None,
    ) -> None:
        self.loader = loader
        self.path = path
        self.name = name
        self.errpath = errpath
        # False for a file outside the repository: an error there never shows
        # what the file holds (a policy may name any file, e.g. /etc/shadow).
        self.quote = quote
        self.tree_path = tree_path  # the file's path in a commit's tree, if read from one

    # -- helpers ------------------------------------------------------------

    def fail(self, node: yaml.Node, message: str, offset: int = 0) -> PolicyError:
        col = node.start_mark.column + 1 + offset
        if not self.quote:
            message = _NOT_SHOWN
        return PolicyError(self.errpath, node.start_mark.line + 1, col, message)

    def source(self, node: yaml.Node) -> Source:
        return Source(self.name, node.start_mark.line + 1, node.start_mark.column + 1)

    def check_tag(self, node: yaml.Node) -> None:
        if node.tag not in _STANDARD_TAGS:
            raise self.fail(node, f"YAML tag {node.tag!r} is not allowed in a policy")

    def mapping(self, node: yaml.Node, what: str) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
        self.check_tag(node)
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            self.check_tag(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, f"keys of {what} must be strings")
            key = str(key_node.value)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self.fail(key_node, f"duplicate key {key!r} (first defined on line {first})")
            seen[key] = key_node
            yield key, key_node, value_node

    def unknown(
        self, key_node: yaml.Node, key: str, allowed: tuple[str, ...], where: str
    ) -> PolicyError:
        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        suggestion = (
            f"; did you mean {hint[0]!r}?" if hint else f" (expected one of: {', '.join(allowed)})"
        )
        return self.fail(key_node, f"unknown key {key!r} in {where}{suggestion}")

    def string(self, node: yaml.Node, what: str) -> str:
        self.check_tag(node)
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            kind = (
                "a list"
                if isinstance(node, yaml.SequenceNode)
                else ("a mapping" if isinstance(node, yaml.MappingNode) else f"{node.value!r}")
            )
            raise self.fail(node, f"{what} must be a string, not {kind}")
        return str(node.value)

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        self.check_tag(node)
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def pattern(self, node: yaml.Node, what: str) -> Pattern:
        text = self.string(node, what)
        try:
            return validate(text)
        except PatternError as exc:
            quote = 1 if text and getattr(node, "style", None) in ("'", '"') else 0
            raise self.fail(
                node, f"bad pattern {text!r}: {exc.message}", quote + exc.offset
            ) from None

    # -- sections -----------------------------------------------------------

    def parse(self, root: yaml.Node | None) -> _Partial:
        result = _Partial()
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL):
            # An empty policy file means the default preset.
            result.absorb(self.extend_preset(DEFAULT_PRESET, None))
            return result
        own = _Partial()
        parents: list[_Partial] = []
        for key, key_node, value in self.mapping(root, "the policy"):
            if key == "extends":
                parents = self.extends(value)
            elif key == "budgets":
                own.budgets = self.budgets(value)
            elif key in LIST_KEYS:
                own.lists[key] = self.rules(key, value)
            elif key == "require":
                own.require = self.requirements(value)
            elif key == "allow":
                own.allow = self.allow_entries(value)
            elif key == "baseline":
                own.baseline = self.baseline_path(value)
            else:
                raise self.unknown(key_node, key, TOP_KEYS, "the policy")
        for parent in parents:
            result.absorb(parent)
        result.absorb(own)
        return result

    def extends(self, node: yaml.Node) -> list[_Partial]:
        items = (
            [node]
            if isinstance(node, yaml.ScalarNode) and node.tag == _STR
            else self.sequence(node, "'extends'")
        )
        return [self.extend_one(item) for item in items]

    def extend_one(self, item: yaml.Node) -> _Partial:
        target = self.string(item, "an 'extends' entry")
        if "/" not in target and not target.endswith((".yaml", ".yml")):
            return self.extend_preset(target, item)
        if self.tree_path is not None:
            return self.extend_in_tree(item, target)
        path = (
            (self.path.parent / target)
            if not self.name.startswith("preset:")
            else (Path(presets_dir()) / target)
        )
        problem = _not_a_file(path)
        if problem is not None:
            raise self.fail(item, f"extends: cannot read {target!r}: {problem}")
        if not path.is_file():
            raise self.fail(
                item, f"extends: no policy file at {target!r} (relative to {self.errpath})"
            )
        if str(path.resolve()) in self.loader.stack:
            raise self.fail(item, f"extends cycle: {self.cycle(str(path.resolve()))}")
        quote = self.name.startswith("preset:") or self.loader.inside(path, self.loader.top)
        errpath = self.loader.error_path(path)
        try:
            return self.loader.load_file(path, self.loader.display(path), errpath, quote)
        except _Excess as exc:
            raise self.fail(item, str(exc)) from None
        except PolicyError as exc:
            if quote or not self.quote:
                raise
            here = exc.path == errpath
            where = f"line {exc.line}, column {exc.col}" if here else "a file it extends"
            raise self.fail(
                item,
                f"extends {target!r}: not a valid policy at {where} "
                "(not shown: the file lies outside the repository)",
            ) from None

    def extend_in_tree(self, item: yaml.Node, target: str) -> _Partial:
        """On a server: a file of the same commit, read through git, never the
        server's own files."""
        assert self.tree_path is not None
        if target.startswith("/") or "\\" in target:
            raise self.fail(
                item,
                f"extends {target!r}: on the server a policy extends presets and files of "
                "its own commit only, by a relative path",
            )
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self.tree_path), target))
        if joined in (".", "..") or joined.startswith("../"):
            raise self.fail(item, f"extends {target!r}: the file is outside the repository")
        if f"tree:{joined}" in self.loader.stack:
            chain = [e.removeprefix("tree:") for e in self.loader.stack]
            start = chain.index(joined)
            raise self.fail(item, f"extends cycle: {' -> '.join([*chain[start:], joined])}")
        try:
            return self.loader.load_tree_file(joined, lambda why: self.fail(item, why))
        except _Excess as exc:
            raise self.fail(item, str(exc)) from None

    def extend_preset(self, preset: str, item: yaml.Node | None) -> _Partial:
        names = preset_names()
        if preset not in names:
            hint = difflib.get_close_matches(preset, names, n=1, cutoff=0.5)
            suggestion = (
                f"; did you mean {hint[0]!r}?" if hint else f" (presets: {', '.join(names)})"
            )
            assert item is not None
            raise self.fail(item, f"unknown preset {preset!r}{suggestion}")
        identity = str((Path(presets_dir()) / f"{preset}.yaml").resolve())
        if identity in self.loader.stack:
            where = item if item is not None else None
            message = f"extends cycle: {self.cycle(identity)}"
            if where is None:
                raise PolicyError(self.errpath, 1, 1, message)
            raise self.fail(where, message)
        try:
            return self.loader.load_preset(preset)
        except _Excess as exc:
            if item is None:
                raise PolicyError(self.errpath, 1, 1, str(exc)) from None
            raise self.fail(item, str(exc)) from None

    def cycle(self, identity: str) -> str:
        chain = [*self.loader.stack[self.loader.stack.index(identity) :], identity]
        names = []
        for entry in chain:
            p = Path(entry)
            names.append(
                f"preset:{p.stem}"
                if p.parent == Path(presets_dir()).resolve()
                else self.loader.display(p)
            )
        return " -> ".join(names)

    def budgets(self, node: yaml.Node) -> dict[str, Budget]:
        from repolicy.policy import PATTERN_BUDGET_KEYS, PatternBudget

        out: dict[str, Budget] = {}
        for key, key_node, value in self.mapping(node, "'budgets'"):
            if key == "patterns":
                items = []
                for item in self.sequence(value, "budgets.patterns"):
                    pattern: Pattern | None = None
                    limits: dict[str, int | None] = {}
                    where = "an item of budgets.patterns"
                    for sub, sub_node, sub_value in self.mapping(item, where):
                        if sub == "pattern":
                            pattern = self.pattern(sub_value, "budgets.patterns pattern")
                        elif sub in PATTERN_BUDGET_KEYS:
                            limits[sub] = self.size(sub_value, f"patterns {sub}")
                        else:
                            allowed = ("pattern", *PATTERN_BUDGET_KEYS)
                            raise self.unknown(sub_node, sub, allowed, where)
                    if pattern is None:
                        raise self.fail(item, f"{where} needs a 'pattern'")
                    if not limits:
                        raise self.fail(
                            item, f"{where} sets no budget (file, file_warn or file_binary)"
                        )
                    items.append(PatternBudget(pattern, limits, self.source(item)))
                out[key] = Budget(None, self.source(value), tuple(items))
                continue
            if key not in BUDGET_KEYS:
                raise self.unknown(key_node, key, (*BUDGET_KEYS, "patterns"), "'budgets'")
            if key in COUNT_BUDGET_KEYS:
                out[key] = Budget(self.count(value, key), self.source(value))
                continue
            out[key] = Budget(self.size(value, key), self.source(value))
        return out

    def count(self, node: yaml.Node, key: str) -> int | None:
        """A number of entries: a plain integer (null lifts it). A unit would make
        it read as a size, which it is not."""
        self.check_tag(node)
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return None
        value = None
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT:
            try:
                value = int(str(node.value).replace("_", ""), 10)
            except ValueError:
                value = None
        if value is None:
            shown = f", not {node.value!r}" if isinstance(node, yaml.ScalarNode) else ""
            raise self.fail(
                node, f"budgets.{key} must be a whole number of entries such as 3000{shown}"
            )
        if value < 1:
            raise self.fail(node, f"budgets.{key} must be at least 1")
        return self.bounded(node, value)

    def size(self, node: yaml.Node, key: str, label: str | None = None) -> int | None:
        """A size; `label` names the value in messages (default `budgets.KEY`)."""
        label = label or f"budgets.{key}"
        self.check_tag(node)
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{label} must be a size such as '100 MiB'")
        if node.tag == _NULL:
            return None  # explicitly unlimited, e.g. to lift a preset's budget
        if node.tag == _INT:
            try:
                value = int(str(node.value).replace("_", ""), 0)
            except ValueError:
                raise self.fail(node, f"bad size {node.value!r}") from None
            if value < 0:
                raise self.fail(node, "a size cannot be negative")
            return self.bounded(node, value)
        if node.tag != _STR:
            raise self.fail(node, f"{label} must be a size such as '100 MiB', not {node.value!r}")
        try:
            return self.bounded(node, parse_size(str(node.value)))
        except ValueError as exc:
            raise self.fail(node, str(exc)) from None
        except OverflowError:
            raise self.fail(node, f"size {node.value!r} is too large") from None

    def bounded(self, node: yaml.Node, value: int) -> int:
        # Past what git (and a file's size) can hold, a figure is a typo, and
        # it would overflow every count it meets.
        if value > _MAX_SIZE:
            raise self.fail(node, "a size cannot exceed 8 EiB (2**63 - 1 bytes)")
        return value

    def rules(self, key: str, node: yaml.Node) -> list[Rule]:
        out: list[Rule] = []
        for item in self.sequence(node, f"'{key}'"):
            if isinstance(item, yaml.MappingNode):
                out.append(self.rule_mapping(key, item))
            else:
                out.append(Rule(key, self.pattern(item, f"an entry of '{key}'"), self.source(item)))
        return out

    def rule_mapping(self, key: str, node: yaml.Node) -> Rule:
        fields: dict[str, yaml.Node] = {}
        allowed = LFS_ITEM_KEYS if key == "lfs" else ITEM_KEYS
        for name, name_node, value in self.mapping(node, f"an entry of '{key}'"):
            if name not in allowed:
                raise self.unknown(name_node, name, allowed, f"an entry of '{key}'")
            fields[name] = value
        if "pattern" not in fields:
            raise self.fail(node, f"an entry of '{key}' needs a 'pattern'")
        pattern = self.pattern(fields["pattern"], "'pattern'")
        why = self.string(fields["why"], "'why'") if "why" in fields else None
        severity = None
        if "severity" in fields:
            severity = self.string(fields["severity"], "'severity'")
            if severity not in (*SEVERITIES, SEVERITY_OFF):
                raise self.fail(
                    fields["severity"],
                    f"severity must be 'error', 'warning' or 'off', not {severity!r}",
                )
        above = None
        if "above" in fields:
            above_node = fields["above"]
            if isinstance(above_node, yaml.ScalarNode) and above_node.tag == _NULL:
                raise self.fail(
                    above_node,
                    "'above' must be a size such as '10 MB' (0: every size must be a pointer)",
                )
            above = self.size(above_node, "above", "'above'")
        return Rule(key, pattern, self.source(fields["pattern"]), why, severity, above=above)

    def allow_entries(self, node: yaml.Node) -> list[Allow]:
        """`allow: [{path, checks, reason}]`; `reason` is required, as a review needs it."""
        from repolicy.checks import REGISTRY

        out: list[Allow] = []
        for item in self.sequence(node, "'allow'"):
            if not isinstance(item, yaml.MappingNode):
                raise self.fail(
                    item, "an entry of 'allow' must be a mapping with 'path' and 'reason'"
                )
            fields: dict[str, yaml.Node] = {}
            for name, name_node, value in self.mapping(item, "an entry of 'allow'"):
                if name not in ALLOW_KEYS:
                    raise self.unknown(name_node, name, ALLOW_KEYS, "an entry of 'allow'")
                fields[name] = value
            for required in ("path", "reason"):
                if required not in fields:
                    raise self.fail(item, f"an entry of 'allow' needs a '{required}'")
            pattern = self.pattern(fields["path"], "'path'")
            reason = self.string(fields["reason"], "'reason'")
            if not reason.strip():
                raise self.fail(fields["reason"], "'reason' must say why the path is allowed")
            checks: tuple[str, ...] | None = None
            if "checks" in fields:
                names = []
                for check_node in self.sequence(fields["checks"], "'checks'"):
                    name = self.string(check_node, "a check name")
                    if name not in REGISTRY:
                        hint = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.6)
                        more = (
                            f"; did you mean {hint[0]!r}?"
                            if hint
                            else " (`repolicy rule` lists them)"
                        )
                        raise self.fail(check_node, f"unknown check {name!r}{more}")
                    names.append(name)
                if not names:
                    raise self.fail(
                        fields["checks"], "'checks' is empty: leave it out to allow every check"
                    )
                checks = tuple(names)
            empty = False
            if "empty" in fields:
                node_empty = fields["empty"]
                if node_empty.tag != "tag:yaml.org,2002:bool":
                    raise self.fail(node_empty, "'empty' must be true or false")
                empty = str(node_empty.value).lower() in ("true", "yes", "on", "y")
            out.append(Allow(pattern, checks, reason, self.source(fields["path"]), empty))
        return out

    def baseline_path(self, node: yaml.Node) -> str:
        """`baseline: PATH`, relative to the repository root and inside it."""
        text = self.string(node, "'baseline'")
        if not text.strip():
            raise self.fail(node, "'baseline' must name a file, e.g. .repolicy-baseline")
        if "\0" in text:
            raise self.fail(node, f"baseline {text!r} holds a NUL byte, which no file name can")
        if text.startswith("/") or (len(text) > 1 and text[1] == ":") or "\\" in text:
            raise self.fail(
                node, f"baseline {text!r} must be a path relative to the repository root, with /"
            )
        norm = posixpath.normpath(text)
        if text.endswith("/") or norm == ".":
            raise self.fail(node, f"baseline {text!r} names a directory, not a file")
        if norm == ".." or norm.startswith("../"):
            raise self.fail(node, f"baseline {text!r} is outside the repository")
        if norm == ".git" or norm.startswith(".git/"):
            raise self.fail(node, f"baseline {text!r} is inside .git, where it cannot be committed")
        return norm

    def requirements(self, node: yaml.Node) -> list[Requirement]:
        out: list[Requirement] = []
        for _key, key_node, value in self.mapping(node, "'require'"):
            directory = Rule(
                "require", self.pattern(key_node, "a 'require' key"), self.source(key_node)
            )
            if isinstance(value, yaml.ScalarNode) and value.tag == _STR:
                items: list[yaml.Node] = [value]
            else:
                items = self.sequence(value, f"'require: {key_node.value}'")
            files = tuple(self.pattern(item, "a required file") for item in items)
            if not files:
                raise self.fail(value, "a 'require' entry needs at least one file")
            out.append(Requirement(directory, files))
        return out


def read_policy(
    root: str | None, explicit: str | None, tree: TreeFiles | None = None
) -> tuple[Policy, list[str]]:
    """Read the policy and list every file it was read from (for the cache).

    With `tree`, the policy is `.repolicy.yaml` of that tree and everything it
    extends by path comes from the same tree (how a server reads a branch's
    policy: never from its own file system)."""
    loader = _Loader(Path(root) if root is not None else None, tree)
    if tree is not None:
        name = POLICY_FILE
        partial = loader.load_tree_file(
            POLICY_FILE, lambda why: PolicyError(POLICY_FILE, 1, 1, why)
        )
    elif explicit is not None:
        path = Path(explicit)
        problem = _not_a_file(path)
        if problem is not None:
            raise PolicyError(explicit, 1, 1, f"cannot read the policy: {problem}")
        if not path.is_file():
            raise PolicyError(explicit, 1, 1, "policy file not found")
        name = loader.display(path)
        loader.top = path
        partial = loader.load_file(path, name, loader.error_path(path))
    elif root is not None and os.path.lexists(Path(root) / POLICY_FILE):
        path = Path(root) / POLICY_FILE
        problem = _not_a_file(path)
        if problem is not None:
            # Never the default preset in its place: the team meant a policy.
            raise PolicyError(POLICY_FILE, 1, 1, f"cannot read the policy: {problem}")
        name = POLICY_FILE
        loader.top = path
        # A link to a file outside the repository (a pull request can add
        # one) is read, but an error never shows what that file holds.
        quote = loader.inside(path, None)
        partial = loader.load_file(path, name, loader.error_path(path), quote)
    else:
        name = f"preset:{DEFAULT_PRESET}"
        partial = loader.load_preset(DEFAULT_PRESET)
    policy = Policy(
        name=name,
        budgets=partial.budgets,
        include=tuple(partial.lists["include"]),
        exclude=tuple(partial.lists["exclude"]),
        lfs=tuple(partial.lists["lfs"]),
        frozen=tuple(partial.lists["frozen"]),
        dvc=tuple(partial.lists["dvc"]),
        require=tuple(partial.require),
        allow=tuple(partial.allow),
        baseline=partial.baseline,
    )
    return policy, loader.files
