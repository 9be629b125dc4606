"""Reading policy files: YAML nodes -> records, every error at its FILE:LINE:COL.

The YAML is composed into nodes (never constructed), so no tag can build an
object and every value keeps its position. Only a policy cache miss comes
here, which keeps PyYAML out of the hook's usual start-up.
"""

from __future__ import annotations

import difflib
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

import yaml

from repolicy.errors import PolicyError
from repolicy.match import Pattern, PatternError, validate
from repolicy.policy import (
    BUDGET_KEYS,
    DEFAULT_PRESET,
    ITEM_KEYS,
    LIST_KEYS,
    POLICY_FILE,
    SEVERITIES,
    TOP_KEYS,
    Budget,
    Policy,
    Requirement,
    Rule,
    Source,
    parse_size,
    preset_names,
    presets_dir,
)

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


class _Partial:
    """A policy file's contribution, merged parent-first into the final Policy."""

    def __init__(self) -> None:
        self.budgets: dict[str, Budget] = {}
        self.lists: dict[str, list[Rule]] = {k: [] for k in LIST_KEYS}
        self.require: list[Requirement] = []
        self.baseline: str | None = None

    def absorb(self, other: _Partial) -> None:
        self.budgets.update(other.budgets)
        if other.baseline is not None:
            self.baseline = other.baseline  # like a budget: the extending file decides
        for key in LIST_KEYS:
            self.lists[key].extend(other.lists[key])
        self.require.extend(other.require)


class _Loader:
    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.stack: list[str] = []
        self.files: list[str] = []

    def display(self, path: Path) -> str:
        """Repository-relative for files inside the repository, else as resolved."""
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                pass
        return str(path)

    def error_path(self, path: Path) -> str:
        """The path as the user can open it from where they stand."""
        try:
            rel = os.path.relpath(path)
        except ValueError:
            return str(path)
        climbs_out = rel.startswith("..") and not str(path).startswith("..")
        return str(path.absolute()) if climbs_out else rel

    def load_file(self, path: Path, name: str, errpath: str) -> _Partial:
        identity = str(path.resolve())
        self.files.append(str(path))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PolicyError(errpath, 1, 1, f"cannot read policy: {exc.strerror}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise PolicyError(errpath, line, 1, "policy file is not valid UTF-8") from None
        try:
            loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            root_node = yaml.compose(text, Loader=loader_cls)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message = exc.problem or exc.context or "invalid YAML"
            if "alias" in f"{exc.context} {message}":
                # An unquoted `*.log` is a YAML alias; point at the '*'.
                mark = exc.context_mark or mark
                message += " (quote patterns that start with '*', e.g. \"*.log\")"
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise PolicyError(errpath, line, col, f"invalid YAML: {message}") from None
        except yaml.YAMLError as exc:
            raise PolicyError(errpath, 1, 1, f"invalid YAML: {exc}") from None
        self.stack.append(identity)
        try:
            return _FileParser(self, path, name, errpath).parse(root_node)
        finally:
            self.stack.pop()

    def load_preset(self, preset: str) -> _Partial:
        path = Path(presets_dir()) / f"{preset}.yaml"
        return self.load_file(path, f"preset:{preset}", f"preset:{preset}")


class _FileParser:
    def __init__(self, loader: _Loader, path: Path, name: str, errpath: str) -> None:
        self.loader = loader
        self.path = path
        self.name = name
        self.errpath = errpath

    # -- helpers ------------------------------------------------------------

    def fail(self, node: yaml.Node, message: str, offset: int = 0) -> PolicyError:
        col = node.start_mark.column + 1 + offset
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
        path = (
            (self.path.parent / target)
            if not self.name.startswith("preset:")
            else (Path(presets_dir()) / target)
        )
        if not path.is_file():
            raise self.fail(
                item, f"extends: no policy file at {target!r} (relative to {self.errpath})"
            )
        if str(path.resolve()) in self.loader.stack:
            raise self.fail(item, f"extends cycle: {self.cycle(str(path.resolve()))}")
        return self.loader.load_file(path, self.loader.display(path), self.loader.error_path(path))

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
        return self.loader.load_preset(preset)

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
                        raise self.fail(item, f"{where} sets no budget (file or file_warn)")
                    items.append(PatternBudget(pattern, limits, self.source(item)))
                out[key] = Budget(None, self.source(value), tuple(items))
                continue
            if key not in BUDGET_KEYS:
                raise self.unknown(key_node, key, (*BUDGET_KEYS, "patterns"), "'budgets'")
            out[key] = Budget(self.size(value, key), self.source(value))
        return out

    def size(self, node: yaml.Node, key: str) -> int | None:
        self.check_tag(node)
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"budgets.{key} must be a size such as '100 MiB'")
        if node.tag == _NULL:
            return None  # explicitly unlimited, e.g. to lift a preset's budget
        if node.tag == _INT:
            try:
                value = int(str(node.value).replace("_", ""), 0)
            except ValueError:
                raise self.fail(node, f"bad size {node.value!r}") from None
            if value < 0:
                raise self.fail(node, "a size cannot be negative")
            return value
        if node.tag != _STR:
            raise self.fail(
                node, f"budgets.{key} must be a size such as '100 MiB', not {node.value!r}"
            )
        try:
            return parse_size(str(node.value))
        except ValueError as exc:
            raise self.fail(node, str(exc)) from None

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
        for name, name_node, value in self.mapping(node, f"an entry of '{key}'"):
            if name not in ITEM_KEYS:
                raise self.unknown(name_node, name, ITEM_KEYS, f"an entry of '{key}'")
            fields[name] = value
        if "pattern" not in fields:
            raise self.fail(node, f"an entry of '{key}' needs a 'pattern'")
        pattern = self.pattern(fields["pattern"], "'pattern'")
        why = self.string(fields["why"], "'why'") if "why" in fields else None
        severity = None
        if "severity" in fields:
            severity = self.string(fields["severity"], "'severity'")
            if severity not in SEVERITIES:
                raise self.fail(
                    fields["severity"], f"severity must be 'error' or 'warning', not {severity!r}"
                )
        return Rule(key, pattern, self.source(fields["pattern"]), why, severity)

    def baseline_path(self, node: yaml.Node) -> str:
        """`baseline: PATH`, relative to the repository root and inside it."""
        text = self.string(node, "'baseline'")
        if not text.strip():
            raise self.fail(node, "'baseline' must name a file, e.g. .repolicy-baseline")
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


def read_policy(root: str | None, explicit: str | None) -> tuple[Policy, list[str]]:
    """Read the policy and list every file it was read from (for the cache)."""
    loader = _Loader(Path(root) if root is not None else None)
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise PolicyError(explicit, 1, 1, "policy file not found")
        name = loader.display(path)
        partial = loader.load_file(path, name, loader.error_path(path))
    elif root is not None and (Path(root) / POLICY_FILE).is_file():
        path = Path(root) / POLICY_FILE
        name = POLICY_FILE
        partial = loader.load_file(path, name, loader.error_path(path))
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
        baseline=partial.baseline,
    )
    return policy, loader.files
