"""Why a path is treated as it is: the facts `repolicy explain` shows.

For each path: the policy rules that match it (and which of include and
exclude wins), the ignore line git applies (`check-ignore -v`), the
attributes git gives it and the `.gitattributes` line each comes from, how
the index stores it, what `audit` reports for it (the engine's verdicts on
the repository, for these paths), and any `!` line that can never apply
because a parent directory is ignored.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from repolicy.git import Git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.checks import Context
    from repolicy.facts import BlobAtPath
    from repolicy.git import IgnoreSource
    from repolicy.policy import Rule


ATTRIBUTES = ("filter", "diff", "merge", "text")


_KEYS = ("include", "exclude", "lfs", "frozen", "dvc")


def _index_kind(blob: BlobAtPath | None) -> str:
    """How the index stores the path. The empty blob is the pointer to an empty
    file only where git-lfs would have written it (`filter=lfs`); anywhere else
    it is an empty file such as `logs/.gitkeep`."""
    if blob is None:
        return "absent"
    if blob.is_lfs_pointer and (blob.size > 0 or blob.lfs_filter):
        return "lfs-pointer"
    return "blob"


def _source_json(source: IgnoreSource | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"file": source.file, "line": source.line, "pattern": source.pattern}


def _rule_json(rule: Rule, key: str, wins: bool | None) -> dict[str, Any]:
    replaced = rule.replaces
    out = {
        "key": key,
        "pattern": rule.text,
        "file": rule.source.file,
        "line": rule.source.line,
        "wins": wins,
        # The extended policy's item with the same pattern that this one replaced.
        "replaces": {"file": replaced.file, "line": replaced.line} if replaced else None,
    }
    if key == "lfs":
        out["above"] = rule.above if rule.sized else None
    return out


def _budget_rules(ctx: Context, path: str) -> list[dict[str, Any]]:
    """The `budgets.patterns` items that select the path; an item wins when it
    decides at least one budget for it (the last item setting a key does)."""
    from repolicy.policy import PATTERN_BUDGET_KEYS

    patterns = ctx.policy.budgets.get("patterns")
    items = [i for i in patterns.patterns if i.pattern.selects(path)] if patterns else []
    deciding = {id(ctx.policy.file_limit(key, path)[1]) for key in PATTERN_BUDGET_KEYS}
    return [
        {
            "key": "budgets.patterns",
            "pattern": item.pattern.text,
            "file": item.source.file,
            "line": item.source.line,
            "wins": id(item) in deciding,
            "replaces": None,
            "limits": dict(item.limits),
        }
        for item in items
    ]


def _rules(ctx: Context, path: str) -> list[dict[str, Any]]:
    included = ctx.file_rules("include", path)
    out = []
    for key in _KEYS:
        if key == "include":
            hits = included
        elif key == "lfs":
            hits = ctx.file_rules("lfs", path)
        else:
            hits = ctx.rules_for(key, path)
        for k, rule in enumerate(hits):
            wins: bool | None = None
            if key == "include":
                wins = k == 0
            elif key == "exclude":
                wins = k == 0 and not included
            elif key == "lfs" and len(hits) > 1:
                wins = k == 0  # the first matching item decides (and its `above`)
            out.append(_rule_json(rule, key, wins))
    out += _budget_rules(ctx, path)
    directory = posixpath.dirname(path)
    for requirement in ctx.policy.require:
        if directory and requirement.directory.pattern.matches(
            directory.encode("utf-8", "surrogateescape"), True
        ):
            out.append(_rule_json(requirement.directory, "require", None))
    return out


def _files_along(root: str, path: str, name: str) -> list[tuple[str, bytes]]:
    """`name` files from the top level down to the path's directory, as git reads them."""
    parts = path.split("/")[:-1]
    out = []
    for depth in range(len(parts) + 1):
        rel = "/".join([*parts[:depth], name])
        full = os.path.join(root, rel)
        if os.path.isfile(full) and not os.path.islink(full):
            with open(full, "rb") as fh:
                out.append((rel, fh.read()))
    return out


def _info_file(git_dir: str, name: str) -> list[tuple[str, bytes]]:
    full = os.path.join(git_dir, "info", name)
    try:
        with open(full, "rb") as fh:
            return [(f".git/info/{name}", fh.read())]
    except OSError:
        return []


def _attribute_sources(root: str, git_dir: str, path: str) -> dict[str, Any]:
    from repolicy.fix.sources import attribute_sources

    files = [*_files_along(root, path, ".gitattributes"), *_info_file(git_dir, "attributes")]
    found = attribute_sources(files, path, ATTRIBUTES)
    return {name: {"file": s.file, "line": s.line, "text": s.text} for name, s in found.items()}


def _dead_negations(
    root: str, git_dir: str, path: str, source: IgnoreSource | None
) -> list[dict[str, Any]]:
    """`!` lines that match the path but cannot apply: git never looks inside the
    ignored parent directory that `source` names."""
    from repolicy.fix.sources import ignore_lines_matching

    if source is None or not source.ignores:
        return []
    files = [*_info_file(git_dir, "exclude"), *_files_along(root, path, ".gitignore")]
    deciding = [(f, d) for f, d in files if f == source.file]
    if any(ln.line == source.line for ln in ignore_lines_matching(deciding, path, False)):
        return []  # the deciding line names the path itself: a later `!` would have won
    return [
        {
            "file": line.file,
            "line": line.line,
            "pattern": line.text,
            "blocked_by": {"file": source.file, "line": source.line, "pattern": source.pattern},
        }
        for line in ignore_lines_matching(files, path, True)
    ]


def _verdict(entry: dict[str, Any]) -> str:
    errors = [v for v in entry["violations"] if v["severity"] == "error"]
    warnings = [v for v in entry["violations"] if v["severity"] != "error"]
    if errors:
        checks = ", ".join(sorted({v["check"] for v in errors}))
        where = "check" if entry["tracked"] else "audit"
        return f"would be blocked by {where}: {checks}"
    if warnings:
        return "warning: " + ", ".join(sorted({v["check"] for v in warnings}))
    return "ok: nothing to report"


def explain(given: list[str], policy_arg: str | None) -> list[dict[str, Any]]:
    """One entry per path (as given on the command line, relative to here)."""
    from repolicy.checks import Context
    from repolicy.facts import gather, index_candidates, repository_paths
    from repolicy.git import GITLINK
    from repolicy.report import allow_json

    here = Git(os.getcwd())
    info = here.discover().get()
    git = Git(info.toplevel)
    paths = [p for p in repository_paths(info, given) if p]
    from repolicy.atomic import parent_directories, refuse_special_rule_files

    # Before any git command reads the ignore files: one that is a FIFO would hang it.
    listed = [*git.files().get(), *paths]
    refuse_special_rule_files(info.toplevel, info.git_dir, parent_directories(listed))
    index_query = git.index_entries()
    ignore_query = git.ignore_sources(paths)
    attr_query = git.attributes(paths, ATTRIBUTES)
    from repolicy.engine import work_tree_policy

    policy = work_tree_policy(git, info, policy_arg)
    ctx = Context(policy)  # for the rules that match each path; the verdicts are the engine's

    # The verdicts are the engine's on the repository, for these paths: exactly
    # what `audit` reports for them, history included.
    from repolicy.engine import judge
    from repolicy.scope import Repository

    judged = judge(Repository(tuple(paths)), policy_arg, quiet=True)
    wanted = set(paths)
    entries = [e for e in index_query.get() if e.path in wanted and e.mode != GITLINK]
    # How the index stores each path (pointer or blob): the facts, not a verdict.
    blobs = {b.path: b for b in gather(git, index_candidates(entries), cached_attributes=True)}
    sources = ignore_query.get()
    attrs = attr_query.get()
    git_dir = info.git_dir

    results = []
    for path in paths:
        blob = blobs.get(path)
        source = sources.get(path)
        ignored = source is not None and source.ignores
        on_disk = os.path.isfile(os.path.join(info.toplevel, path))
        entry: dict[str, Any] = {
            "path": path,
            "ignored": ignored,
            "ignore_source": _source_json(source),
            "attributes": {name: attrs.get(path, {}).get(name) for name in ATTRIBUTES},
            "attribute_sources": _attribute_sources(info.toplevel, git_dir, path),
            "index": _index_kind(blob),
            "tracked": blob is not None,
            "exists": on_disk,
            "rules": _rules(ctx, path),
            "dead_negations": _dead_negations(info.toplevel, git_dir, path, source),
            "violations": [v.as_json() for v in judged.violations if v.path == path],
            "allowed": [
                {"check": v.check, "message": v.message, "allow": allow_json(entry)}
                for v, entry in judged.allowed
                if v.path == path
            ],
        }
        entry["verdict"] = _verdict(entry)
        results.append(entry)

    return results
