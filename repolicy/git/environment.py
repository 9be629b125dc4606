"""How git is started: neutral settings, a clean environment, no replace refs."""

from __future__ import annotations

import os

# Settings a user or a server may hold that change what plumbing prints:
# signature lines in `git log` (log.showSignature), colour codes, paths made
# relative, commit messages re-encoded, copies and renames detected. Each is
# given its neutral value on every call, after (so above) every config file
# and every `-c` the caller was run with. What the product reads on purpose
# (core.excludesFile, core.attributesFile, core.ignoreCase, lfs.*,
# extensions.*, repolicy.*) is left alone.
_NEUTRAL_CONFIG = (
    "log.showSignature=false", "color.ui=false", "color.diff=false",
    "color.branch=false", "color.status=false", "color.grep=false",
    "diff.noprefix=false", "diff.mnemonicPrefix=false", "diff.relative=false",
    "diff.renames=false", "log.abbrevCommit=false",
    "log.decorate=false", "log.follow=false", "log.showRoot=true",
    "log.mailmap=false", "i18n.logOutputEncoding=UTF-8", "core.abbrev=auto",
    "core.quotePath=true", "format.pretty=medium", "status.showUntrackedFiles=all",
    "diff.orderFile=" + os.devnull, "core.useReplaceRefs=false",
)  # fmt: skip


_NEUTRAL_ARGS = tuple(arg for setting in _NEUTRAL_CONFIG for arg in ("-c", setting))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # `git commit PATH` runs hooks against a temporary index; keep pointing at
    # it even when we run git from another directory (-C).
    index = env.get("GIT_INDEX_FILE")
    if index and not os.path.isabs(index):
        env["GIT_INDEX_FILE"] = os.path.abspath(index)
    env.setdefault("GIT_OPTIONAL_LOCKS", "0")
    # What is judged is what is stored and what a push sends: never the
    # object a `refs/replace/` ref shows instead (`read_loose` reads stored
    # objects too).
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    # Every git process here is given its whole input and read to its end
    # (cat-file is told when to flush): none answers one question at a time.
    # Into a pipe, `log`, `rev-list`, `check-attr` and `check-ignore` would
    # otherwise write each record on its own, a system call each: 12,800
    # writes for the path-heavy benchmark history's walk, 6,200 buffered,
    # and check-attr on its 86,000 paths takes a third of the time.
    env["GIT_FLUSH"] = "0"
    return env


# Anything that changes how git finds its repository: then git must find it.
_DISCOVERY_ENV = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
)  # fmt: skip
