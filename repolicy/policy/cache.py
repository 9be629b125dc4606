"""A resolved policy, cached in the git directory so the hook skips YAML.

The cache holds the policy as plain tuples (marshal: no imports, no code
execution on load) with the identity (size, mtime, ctime, inode) of every
file it was read from. Any change, or a file appearing or vanishing, is a
miss. A file modified in the last two seconds is not cached at all, so an
edit within the file system's timestamp granularity cannot go unseen.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import time
import zlib
from typing import Any

from repolicy import __version__
from repolicy.policy import (
    LIST_KEYS,
    SCREENED_KEYS,
    Allow,
    Budget,
    PatternBudget,
    Policy,
    Requirement,
    Rule,
    Source,
    programs,
)
from repolicy.policy.match import Matcher, Pattern

_FILE = "policy.cache"
_FORMAT = 8  # 6: file_binary, and an lfs item's `above`; 7: a checksum; 8: programs
_RACY_SECONDS = 2.0


def _stamp(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        try:
            # A dangling symlink is something, not nothing: a policy that was
            # absent must not stay "absent" once a broken link takes its place.
            st = os.lstat(path)
        except OSError:
            return None
        return (-1, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _source(source: Source | None) -> tuple[str, int, int] | None:
    return (source.file, source.line, source.col) if source else None


def _rule(rule: Rule) -> tuple[Any, ...]:
    # The translated pattern is stored whole: translating is most of a load.
    return (
        rule.key,
        tuple(rule.pattern),
        _source(rule.source),
        rule.why,
        rule.severity,
        _source(rule.replaces),
        rule.above,
    )


def _unrule(data: tuple[Any, ...]) -> Rule:
    key, pattern, source, why, severity, replaces, above = data
    return Rule(
        key,
        Pattern(*pattern),
        Source(*source),
        why,
        severity,
        Source(*replaces) if replaces else None,
        above,
    )


def _dump(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "budgets": {
            k: (
                b.limit,
                _source(b.source),
                [(tuple(p.pattern), p.limits, _source(p.source)) for p in b.patterns],
            )
            for k, b in policy.budgets.items()
        },
        "lists": {key: [_rule(r) for r in getattr(policy, key)] for key in LIST_KEYS},
        "require": [
            (_rule(req.directory), [tuple(f) for f in req.files]) for req in policy.require
        ],
        "allow": [
            (tuple(a.pattern), a.checks, a.reason, _source(a.source), a.empty) for a in policy.allow
        ],
        "baseline": policy.baseline,
    }


def _load(data: dict[str, Any]) -> Policy:
    budgets = {
        k: Budget(
            limit,
            Source(*src) if src else None,
            tuple(PatternBudget(Pattern(*p), limits, Source(*at)) for p, limits, at in patterns),
        )
        for k, (limit, src, patterns) in data["budgets"].items()
    }
    lists = {key: tuple(_unrule(r) for r in data["lists"][key]) for key in LIST_KEYS}
    require = tuple(
        Requirement(_unrule(d), tuple(Pattern(*f) for f in files)) for d, files in data["require"]
    )
    allow = tuple(
        Allow(Pattern(*pattern), checks, reason, Source(*source), empty)
        for pattern, checks, reason, source, empty in data["allow"]
    )
    return Policy(
        name=data["name"],
        budgets=budgets,
        require=require,
        allow=allow,
        baseline=data["baseline"],
        **lists,
    )


def read(cache_dir: str, key: tuple[str | None, str | None]) -> Policy | None:
    from repolicy.git.indexcache import open_own

    # Never a FIFO (it would block the hook for ever), a link, or a file
    # someone else wrote: a policy is what this user's files say.
    fd = open_own(os.path.join(cache_dir, _FILE))
    if fd is None:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
        # Written without forcing it to disk: a crash may leave it torn.
        if zlib.crc32(data[4:]).to_bytes(4, "little") != data[:4]:
            return None
        entry = marshal.loads(data[4:])
        if entry["format"] != _FORMAT or entry["version"] != __version__ or entry["key"] != key:
            return None
        if any(_stamp(path) != stamp for path, stamp in entry["files"]):
            return None
        policy = _load(entry["policy"])
        if entry["engine"] == programs.ENGINE is not None:
            programs.remember(entry["programs"])
        return policy
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        return None


def write(
    cache_dir: str, key: tuple[str | None, str | None], policy: Policy, files: list[str]
) -> None:
    stamps = [(path, _stamp(path)) for path in dict.fromkeys(files)]
    now = time.time_ns()
    if any(s is not None and now - s[1] < _RACY_SECONDS * 1e9 for _, s in stamps):
        return
    # The screens every run compiles (`checks.Context.prepare`), compiled here
    # once, for later runs to build from their programs.
    screens = [
        s for k in SCREENED_KEYS for s in Matcher([r.pattern for r in getattr(policy, k)]).sources()
    ]
    entry = {
        "format": _FORMAT,
        "version": __version__,
        "key": key,
        "files": stamps,
        "policy": _dump(policy),
        "engine": programs.ENGINE,
        "programs": programs.known(screens),
    }
    data = marshal.dumps(entry)
    from repolicy.atomic import replace_file
    from repolicy.errors import RepolicyError

    # A read-only repository just runs without the cache.
    with contextlib.suppress(OSError, RepolicyError):
        os.makedirs(cache_dir, exist_ok=True)
        replace_file(
            os.path.join(cache_dir, _FILE),
            zlib.crc32(data).to_bytes(4, "little") + data,
            _FILE,
            root=os.path.dirname(cache_dir),
            durable=False,
        )
