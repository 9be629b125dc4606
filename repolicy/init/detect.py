"""What `repolicy init` proposes: facts about a repository in, a commented policy out.

Everything here is a pure function of path lists, `.gitattributes` texts and
remote URLs, so each detection rule can be tested without git. The command
(`repolicy.commands.init`) asks git and the file system for those inputs.

The proposal is built from the shipped presets, never from rules invented
here: a preset carries the reasons its rules exist, and stays current when
the preset is improved. What init adds itself is what only this repository
can say: which remote hosts it (and so which size limits apply) and which
paths its `.gitattributes` already stores in Git LFS.
"""

from __future__ import annotations

import json
import posixpath
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from repolicy.checks import Context
from repolicy.policy import BUDGET_KEYS, Policy
from repolicy.policy.match import PatternError, validate
from repolicy.policy.model import COUNT_BUDGET_KEYS

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
# Directories experiment trackers write by default, and the file TensorBoard writes.
TRACKER_DIRS = ("wandb", "runs", "lightning_logs", "mlruns")
TFEVENTS_PREFIX = "events.out.tfevents."
# Installed or generated trees: a `.pt` inside a virtual environment is a
# library's test fixture, not this project's checkpoint.
_FOREIGN_DIRS = frozenset(
    {"venv", ".venv", "site-packages", "node_modules", "__pycache__", ".tox", ".git", ".dvc"}
)
_VERSION_DIR = re.compile(r"v[0-9]+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

# The presets that describe a host (budgets, and for the Hub its LFS file types),
# as opposed to the ones that describe a layout.
HOST_PRESETS = ("default", "github", "huggingface")
LAYOUT_PRESETS = ("ml-checkpoints", "datasets-lfs", "dvc")

STATES = ("tracked", "untracked", "ignored")


class Inventory(NamedTuple):
    """Every file of the work tree and the index, by what git does with it."""

    tracked: Sequence[str]
    untracked: Sequence[str]  # not ignored: `git add -A` would take them
    ignored: Sequence[str]

    def states(self) -> dict[str, str]:
        state: dict[str, str] = {}
        for name, paths in zip(STATES, self, strict=True):
            for path in paths:
                state.setdefault(path, name)
        return state


class Found(NamedTuple):
    """Files found for one reason, and how git treats them."""

    label: str  # "*.pth files", "wandb/"
    paths: tuple[str, ...]
    tracked: int
    ignored: int
    largest: int | None = None  # bytes on disk, where known

    def describe(self) -> str:
        """'found 12 *.pth files: 2 tracked, 10 ignored, largest 95.4 MiB'."""
        n = len(self.paths)
        if self.label.endswith("files"):
            what = f"{n} {self.label if n != 1 else self.label[:-1]}"
        else:
            what = f"{self.label} with {n} file{'s' * (n != 1)}"
        parts = []
        if self.tracked:
            parts.append(f"{self.tracked} tracked")
        if n - self.tracked - self.ignored:
            parts.append(f"{n - self.tracked - self.ignored} untracked")
        if self.ignored:
            parts.append(f"{self.ignored} ignored")
        if self.largest:
            parts.append(f"largest {_human(self.largest)}")
        return f"found {what}" + (f": {', '.join(parts)}" if parts else "")


class Remote(NamedTuple):
    name: str
    url: str
    host: str | None  # lower case; None for a local path or file:// URL
    forge: str | None  # "github", "gitlab.com", "gitlab", "huggingface", or None


class LfsLine(NamedTuple):
    """A `.gitattributes` line that gives `filter=lfs`."""

    file: str  # the .gitattributes file, repository-relative
    line: int
    text: str
    pattern: str | None  # the same selection as a policy pattern; None when none exists
    problem: str | None = None  # why it was not translated


class Facts(NamedTuple):
    checkpoints: tuple[Found, ...]  # one per suffix found
    runs: tuple[str, ...]  # outputs/<run>/checkpoints/
    datasets: tuple[str, ...]  # datasets/<task>/v<N>/
    dvc_dirs: tuple[str, ...]  # .dvc/ (or sub/.dvc/ for `dvc init --subdir`)
    dvc_files: tuple[str, ...]  # *.dvc, dvc.yaml, dvc.lock
    trackers: tuple[Found, ...]  # wandb/, runs/, lightning_logs/, TensorBoard event files
    lfs_lines: tuple[LfsLine, ...]
    remotes: tuple[Remote, ...]
    states: Mapping[str, str]  # path -> tracked | untracked | ignored

    @property
    def empty(self) -> bool:
        return not self.states


# -- remotes --


def url_host(url: str) -> str | None:
    """The host a git URL names, lower case; None for a local path.

    `scheme://[user@]host[:port]/path` and git's scp-like `[user@]host:path`
    (a colon before any slash), as git itself tells them apart.
    """
    m = _SCHEME.match(url)
    if m:
        if url.lower().startswith("file://"):
            return None
        authority = url[m.end() :].split("/", 1)[0].rpartition("@")[2]
        if authority.startswith("["):  # [IPv6]:port
            host = authority[1:].partition("]")[0]
        else:
            host = authority.partition(":")[0]
        return host.lower() or None
    colon = url.find(":")
    slash = url.find("/")
    if colon > 0 and (slash == -1 or colon < slash):
        host = url[:colon].rpartition("@")[2]
        # `C:\repo` is a Windows path, not a host called `c`.
        return host.lower() if len(host) > 1 else None
    return None


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def forge_of(host: str | None) -> str | None:
    """Which forge's limits apply to a host."""
    if host is None:
        return None
    if _under(host, "github.com"):  # ssh.github.com serves ssh over port 443
        return "github"
    if _under(host, "huggingface.co") or _under(host, "hf.co"):
        return "huggingface"
    if _under(host, "gitlab.com"):  # altssh.gitlab.com likewise
        return "gitlab.com"
    if "gitlab" in host.split("."):
        return "gitlab"  # a self-managed instance, by the usual naming
    return None


def remotes_of(pairs: Iterable[tuple[str, str]]) -> tuple[Remote, ...]:
    """Remotes with their hosts; `origin` first, as it is the one pushed to by default."""
    found = [Remote(name, url, url_host(url), forge_of(url_host(url))) for name, url in pairs]
    return tuple(sorted(found, key=lambda r: r.name != "origin"))


# -- .gitattributes --


def lfs_lines(file: str, text: str) -> list[LfsLine]:
    """The lines of one `.gitattributes` that give `filter=lfs`, each with the policy
    pattern that selects the same files (a nested file's patterns are relative to
    its directory, and one without a `/` matches at any depth below it)."""
    base = posixpath.dirname(file)
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("[attr]"):
            continue
        if line.startswith('"'):
            if "filter=lfs" in line.split():
                out.append(LfsLine(file, number, line, None, "a quoted pattern is not translated"))
            continue
        pattern, *attrs = line.split()
        if "filter=lfs" not in attrs:
            continue
        out.append(_lfs_line(file, number, line, base, pattern))
    return out


def _lfs_line(file: str, number: int, line: str, base: str, pattern: str) -> LfsLine:
    if pattern.endswith("/"):
        # git never applies attributes to a directory, so the line does nothing.
        return LfsLine(file, number, line, None, "a pattern ending in '/' matches no file")
    if pattern.startswith("!"):
        return LfsLine(file, number, line, None, "git forbids negative attribute patterns")
    if base:
        anchored = "/" in pattern.rstrip("/")
        pattern = f"{base}/{pattern.lstrip('/')}" if anchored else f"{base}/**/{pattern}"
    try:
        validate(pattern)
    except PatternError as exc:
        return LfsLine(file, number, line, None, exc.message)
    return LfsLine(file, number, line, pattern)


# -- the work tree --


def _foreign(parts: Sequence[str]) -> bool:
    return any(p in _FOREIGN_DIRS for p in parts[:-1])


def dvc_outputs(paths: Iterable[str]) -> set[str]:
    """The outputs `dvc add` names its `.dvc` files after: `data/images.dvc` stands
    for `data/images` (a file, or a directory and all below it)."""
    return {p[: -len(".dvc")] for p in paths if p.endswith(".dvc") and len(p) > len(".dvc")}


def _dvc_managed(path: str, outputs: set[str]) -> bool:
    if path in outputs:
        return True
    end = path.find("/")
    while end != -1:
        if path[:end] in outputs:
            return True
        end = path.find("/", end + 1)
    return False


def gather(
    inventory: Inventory,
    attributes: Mapping[str, str],
    remotes: Iterable[tuple[str, str]],
    size_of: Callable[[str], int | None] = lambda path: None,
) -> Facts:
    """The facts init decides on. `attributes` maps each `.gitattributes` file to its
    text; `size_of` gives a file's size on disk (None when unknown)."""
    states = inventory.states()
    paths = sorted(states)
    outputs = dvc_outputs(paths)
    by_suffix: dict[str, list[str]] = {}
    runs: set[str] = set()
    datasets: set[str] = set()
    dvc_dirs: set[str] = set()
    dvc_files: list[str] = []
    trackers: dict[str, list[str]] = {}
    for path in paths:
        parts = path.split("/")
        name = parts[-1]
        if ".dvc" in parts[:-1]:
            dvc_dirs.add("/".join(parts[: parts.index(".dvc") + 1]) + "/")
            continue
        if name.endswith(".dvc") or name in ("dvc.yaml", "dvc.lock"):
            dvc_files.append(path)
        if _foreign(parts) or _dvc_managed(path, outputs):
            continue
        suffix = posixpath.splitext(name)[1]
        if suffix in CHECKPOINT_SUFFIXES:
            by_suffix.setdefault(suffix, []).append(path)
        if len(parts) >= 4 and parts[0] == "outputs" and parts[2] == "checkpoints":
            runs.add("/".join(parts[:3]) + "/")
        if len(parts) >= 4 and parts[0] == "datasets" and _VERSION_DIR.fullmatch(parts[2]):
            datasets.add("/".join(parts[:3]) + "/")
        for directory in TRACKER_DIRS:
            if directory in parts[:-1]:
                trackers.setdefault(f"{directory}/", []).append(path)
        if name.startswith(TFEVENTS_PREFIX):
            trackers.setdefault("TensorBoard event files", []).append(path)

    def found(label: str, members: list[str], sizes: bool = False) -> Found:
        largest = max((s for p in members if (s := size_of(p)) is not None), default=None)
        return Found(
            label,
            tuple(members),
            sum(states[p] == "tracked" for p in members),
            sum(states[p] == "ignored" for p in members),
            largest if sizes else None,
        )

    lines: list[LfsLine] = []
    for file in sorted(attributes):
        lines.extend(lfs_lines(file, attributes[file]))
    return Facts(
        checkpoints=tuple(
            found(f"*{suffix} files", by_suffix[suffix], sizes=True)
            for suffix in CHECKPOINT_SUFFIXES
            if suffix in by_suffix
        ),
        runs=tuple(sorted(runs)),
        datasets=tuple(sorted(datasets)),
        dvc_dirs=tuple(sorted(dvc_dirs)),
        dvc_files=tuple(dvc_files),
        trackers=tuple(found(label, members) for label, members in trackers.items()),
        lfs_lines=tuple(lines),
        remotes=remotes_of(remotes),
        states=states,
    )


# -- the proposal --


class Choice(NamedTuple):
    """A preset to extend, and what in the repository made init choose it."""

    name: str
    reasons: tuple[str, ...]


class BudgetLine(NamedTuple):
    key: str
    limit: int | None  # None: written as null, lifting what a preset sets
    why: str


class LfsEntry(NamedTuple):
    pattern: str
    why: str
    source: str  # the .gitattributes line it comes from


class RuleEntry(NamedTuple):
    """An `include` or `exclude` rule init writes for a layout it found."""

    key: str
    pattern: str
    why: str
    paths: tuple[str, ...]  # the files that made it (every one matches the pattern)


class Proposal(NamedTuple):
    extends: tuple[Choice, ...]
    budgets: tuple[BudgetLine, ...]
    budgets_note: str  # why these budgets (or why none are written)
    lfs: tuple[LfsEntry, ...]
    notes: tuple[str, ...]  # facts that did not become rules
    rules: tuple[RuleEntry, ...] = ()  # include/exclude for the layout found


# -- the layout of training output --

# A checkpoint whose name says it is the model a run keeps.
_KEPT = re.compile(r"(?:^|[^a-z])(best|last|final)(?:[^a-z]|$)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
# A checkpoint named for its epoch or step: one of many a run writes.
_INTERMEDIATE = re.compile(r"(epoch|step|iter|ckpt|checkpoint)[=_-]?\*", re.IGNORECASE)
_ONLY_STARS = re.compile(r"[*_.:=+-]*\*[*_.:=+-]*")


def _general(component: str) -> str:
    """A path component with its numbers made globs: `version_3` -> `version_*`,
    `2024-05-01` -> `*` (a date or time of day is one star), `epoch=3-step=9.ckpt`
    -> `epoch=*-step=*.ckpt`."""
    out = _DIGITS.sub("*", component)
    return "*" if _ONLY_STARS.fullmatch(out) else out


def _escape(component: str) -> str:
    return "".join("\\" + ch if ch in "[]\\!#" else ch for ch in component)


def _templates(paths: Iterable[str]) -> dict[str, list[str]]:
    """Paths grouped by the pattern that names their kind: numbers generalised, and a
    component that differs between otherwise equal patterns made a glob of its
    common prefix (`out/ckpt.pt`, `out-shakespeare/ckpt.pt` -> `out*/ckpt.pt`)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in paths:
        parts = path.split("/")
        key = tuple(_general(_escape(p)) for p in parts)
        groups.setdefault(key, []).append(path)
    for position in range(max((len(k) for k in groups), default=0) - 1):
        merged: dict[tuple[str, ...], list[str]] = {}
        names: dict[tuple[str, ...], set[str]] = {}
        for key, members in groups.items():
            if position >= len(key) - 1:
                merged.setdefault(key, []).extend(members)
                continue
            rest = (*key[:position], "\0", *key[position + 1 :])
            merged.setdefault(rest, []).extend(members)
            names.setdefault(rest, set()).add(key[position])
        groups = {}
        for rest, members in merged.items():
            values = names.get(rest)
            if values is None:
                groups[rest] = members
                continue
            value = next(iter(values)) if len(values) == 1 else _common_start(values) + "*"
            groups[tuple(value if c == "\0" else c for c in rest)] = members
    # A pattern with no '/' but a trailing one matches at any depth; what was found
    # at the top level is anchored there.
    return {
        ("/" if "/" not in "/".join(key).rstrip("/") else "") + "/".join(key): sorted(members)
        for key, members in groups.items()
    }


def _common_start(names: Iterable[str]) -> str:
    """The characters every name starts with, cut before a glob or a lone escape."""
    first, *rest = sorted(names)
    n = 0
    while n < len(first) and all(n < len(r) and r[n] == first[n] for r in rest):
        n += 1
    start = first[:n].rstrip("*")
    if (len(start) - len(start.rstrip("\\"))) % 2:
        start = start[:-1]
    return start


def _dir_pattern(path: str, upto: int) -> str:
    return "/".join(path.split("/")[: upto + 1]) + "/"


def layout_rules(
    states: Mapping[str, str], presets: Sequence[Context], checkpoints_too: bool = True
) -> list[RuleEntry]:
    """`include`/`exclude` rules for the training output this repository has, in
    its own locations and names; only rules the chosen presets do not already
    make (a file they already decide the same way is left to them)."""
    checkpoints = []
    run_dirs: dict[str, list[str]] = {}  # Hydra run and Trainer checkpoint directories
    trackers: dict[str, list[str]] = {}
    for path in sorted(states):
        parts = path.split("/")
        if _foreign(parts) or ".dvc" in parts[:-1]:
            continue
        home = None  # the excluded directory the file lies in, if any
        whole = False  # that directory goes out of git with everything in it
        for k, part in enumerate(parts[:-1]):
            if part == ".hydra" and k > 0:
                home = run_dirs.setdefault(_dir_pattern(path, k - 1), [])
            elif re.fullmatch(r"checkpoint-[0-9]+", part):
                home = run_dirs.setdefault(_dir_pattern(path, k), [])
                whole = True  # checkpoints and all
            elif part == "mlruns":
                home = trackers.setdefault(_dir_pattern(path, k), [])
            if home is not None:
                home.append(path)
                break
        if (
            checkpoints_too
            and not whole
            and posixpath.splitext(parts[-1])[1] in CHECKPOINT_SUFFIXES
        ):
            checkpoints.append(path)

    def decided(key: str, paths: Sequence[str]) -> bool:
        for ctx in presets:
            verdict = ctx.excluding_rule if key == "exclude" else ctx.including_rule
            if all(verdict(p) is not None for p in paths):
                return True
        return False

    out: list[RuleEntry] = []
    # Where a Hugging Face Trainer wrote checkpoint-N/: its final model sits there too.
    trainer_outputs = {
        posixpath.dirname(d.rstrip("/"))
        for d in run_dirs
        if re.fullmatch(r"checkpoint-[0-9]+", posixpath.basename(d.rstrip("/")))
    }
    for pattern, members in _templates(sorted(run_dirs)).items():
        files = [f for d in members for f in run_dirs[d]]
        what = (
            "Hugging Face Trainer intermediate checkpoints (weights and optimizer state); "
            "keep the final save_pretrained() output instead"
            if "checkpoint-" in pattern.rstrip("/").rpartition("/")[2]
            else "Hydra run directories (outputs/<date>/<time>/: config, logs, outputs of one run)"
        )
        if not decided("exclude", files):
            out.append(RuleEntry("exclude", pattern, what, tuple(members)))
    for pattern, members in _templates(sorted(trackers)).items():
        files = [f for d in members for f in trackers[d]]
        if not decided("exclude", files):
            out.append(
                RuleEntry(
                    "exclude",
                    pattern,
                    "MLflow's local tracking store; log to a tracking server instead",
                    tuple(members),
                )
            )
    for pattern, members in _templates(checkpoints).items():
        name = pattern.rpartition("/")[2]
        tracked = any(states.get(p) == "tracked" for p in members)
        if _KEPT.search(pattern):
            key, why = "include", "the model this run keeps (best/last/final): commit it, in LFS"
        elif all(posixpath.dirname(p) in trainer_outputs for p in members):
            key = "include"
            why = "the final model the Trainer saved beside its checkpoint-N/ directories"
        elif _INTERMEDIATE.search(name):
            key = "exclude"
            why = "intermediate checkpoints, one per epoch or step: keep the best and last"
        elif tracked:
            key, why = "include", "committed here already: the checkpoint this project keeps"
        else:
            key = "exclude"
            why = "training output, written over as training goes; to keep it, make this an include"
        inside = [p for p in members if any(p.startswith(d) for d in [*run_dirs, *trackers])]
        if key == "exclude" and len(inside) == len(members):
            continue  # its directory is excluded whole above
        if not decided(key, members):
            out.append(RuleEntry(key, pattern, why, tuple(members)))
    # Every rule must select the files that made it, as git would.
    return [r for r in out if all(_selects(r, p) for p in r.paths)]


def _selects(rule: RuleEntry, path: str) -> bool:
    from repolicy.policy.match import compile_pattern

    pattern = compile_pattern(rule.pattern)
    raw = path.encode("utf-8", "surrogateescape")
    parts = raw.rstrip(b"/").split(b"/")
    if pattern.matches(raw.rstrip(b"/"), path.endswith("/")):
        return True
    return any(pattern.matches(b"/".join(parts[:k]), True) for k in range(1, len(parts)))


# GitLab.com's limits, from GitLab's documentation (nothing to read from a preset):
# - "Free push limit" (docs.gitlab.com/ee/user/free_push_limit.html): a 100 MiB
#   per-file limit applies when pushing new files to projects in the Free tier;
#   the push is rejected by a pre-receive hook.
# - "Account and limit settings" (docs.gitlab.com/ee/user/admin_area/settings/
#   account_and_limit_settings.html): "For GitLab.com, the repository size limit
#   is 10 GB", and LFS objects count towards it (gitlab-org/gitlab-ee commit
#   5716841f, "Document that LFS is included in the 10GB repository limit on
#   gitlab.com"). The page does not say GB or GiB; 10 GB is the smaller reading.
# GitLab publishes no separate per-object LFS limit for GitLab.com, so one object
# is bounded by the whole repository limit.
GITLAB_BUDGETS: dict[str, tuple[int | None, str]] = {
    "file": (
        100 * 1024**2,
        "GitLab.com rejects a push of a new file of 100 MiB on the Free tier "
        '(GitLab docs, "Free push limit")',
    ),
    "file_warn": (
        50 * 1024**2,
        "GitLab does not warn; half the file limit gives notice before a push fails",
    ),
    "repo": (
        10 * 1000**3,
        "GitLab.com's repository size limit is 10 GB, LFS objects included "
        '(GitLab docs, "Account and limit settings")',
    ),
    "lfs": (10 * 1000**3, "LFS objects count towards the same 10 GB repository limit"),
    "lfs_file": (10 * 1000**3, "no separate LFS object limit: one object is bounded by the 10 GB"),
}

_HOST_WHY: dict[str, dict[str, str]] = {
    "github": {
        "file": "GitHub blocks files over this size",
        "file_warn": "git warns when pushing a file over this size to GitHub",
        "repo": "GitHub recommends repositories stay under 1 GB",
        "lfs_file": "GitHub's LFS object limit on Free and Pro",
        "push": "GitHub rejects a single push over 2 GB",
        "directory_entries": "GitHub recommends at most 3,000 entries per directory",
    },
    "default": {
        "file": "GitHub blocks files over this size",
        "file_warn": "git warns when pushing a file over this size to GitHub",
        "repo": "GitHub strongly recommends repositories stay under 5 GB",
        "lfs_file": "GitHub's LFS object limit on Free and Pro",
    },
    "huggingface": {
        "file": "the Hub rejects plain-git text files over 10 MiB: larger ones need LFS/Xet",
        "file_warn": "no warning threshold: the Hub's two limits, file and file_binary, are errors",
        "file_binary": "the Hub rejects binary files over 1 MB that are not in LFS/Xet",
        "repo": "the Hub publishes no repository size limit (lifts GitHub's from other presets)",
        "lfs": "Hub storage is metered per account, not per repository",
        "lfs_file": "the Hub's hard limit for one file",
        "push": "the Hub publishes no per-push limit (lifts GitHub's from other presets)",
        "directory_entries": "the Hub recommends under 10,000 entries per folder; "
        "this lifts GitHub's 3,000 (write 10000 to be warned)",
    },
}

_FORGE_LABEL = {
    "github": "GitHub",
    "gitlab.com": "GitLab.com",
    "gitlab": "GitLab",
    "huggingface": "the Hugging Face Hub",
}


def _host_budgets(forge: str, presets: Mapping[str, Policy]) -> dict[str, tuple[int | None, str]]:
    """{budget key: (limit, why)} a forge (or a host preset) imposes."""
    if forge in ("gitlab.com", "gitlab"):
        return dict(GITLAB_BUDGETS)
    preset = "github" if forge == "github" else forge
    policy = presets[preset]
    why = _HOST_WHY[preset]
    if preset == "huggingface":
        # Every key, unset ones as null: the layout presets extend `github`,
        # whose repository budget means nothing on the Hub.
        return {key: (policy.limit(key), why.get(key, "")) for key in BUDGET_KEYS}
    return {
        key: (policy.limit(key), why.get(key, "")) for key in BUDGET_KEYS if key in policy.budgets
    }


def _combine(
    hosts: Sequence[tuple[str, dict[str, tuple[int | None, str]]]],
) -> list[BudgetLine]:
    """One budget per key: the strictest host's, so a push to any of them passes."""
    lines = []
    for key in BUDGET_KEYS:
        offers = [(label, b[key]) for label, b in hosts if key in b]
        if not offers:
            continue
        limited = [(label, v) for label, v in offers if v[0] is not None]
        if not limited:
            # Lifted only when every host says so: a host that leaves the key to
            # the presets (GitHub meters LFS per account) keeps theirs.
            if len(offers) == len(hosts):
                lines.append(BudgetLine(key, None, offers[0][1][1]))
            continue
        label, (limit, why) = min(limited, key=lambda o: o[1][0] or 0)
        if len(hosts) > 1:
            why = f"{label}: {why}" + (
                f" (the strictest of {len(hosts)} hosts)" if len(limited) > 1 else ""
            )
        lines.append(BudgetLine(key, limit, why))
    return lines


def propose(facts: Facts, presets: Mapping[str, Policy], forced: str | None = None) -> Proposal:
    """The policy for these facts. `presets` holds every shipped preset, loaded;
    `forced` (`--preset NAME`) is extended first whatever was found, and when it
    is a host preset its budgets replace the remote's."""
    layout: dict[str, list[str]] = {}
    notes: list[str] = []

    if facts.datasets:
        shown = ", ".join(facts.datasets[:3]) + (", ..." if len(facts.datasets) > 3 else "")
        n = len(facts.datasets)
        layout["datasets-lfs"] = [f"found {n} dataset version{'s' * (n != 1)}: {shown}"]
    if facts.dvc_dirs or facts.dvc_files:
        reasons = [f"found {d} (a DVC project)" for d in facts.dvc_dirs]
        dvc_files = [f for f in facts.dvc_files if f.endswith(".dvc")]
        if dvc_files:
            n = len(dvc_files)
            reasons.append(f"found {n} .dvc file{'s' * (n != 1)}, e.g. {dvc_files[0]}")
        elif facts.dvc_files:
            reasons.append(f"found {facts.dvc_files[0]}")
        layout["dvc"] = reasons

    training: list[str] = []
    if facts.runs:
        n = len(facts.runs)
        training.append(
            f"found {n} run{'s' * (n != 1)} with checkpoints: {facts.runs[0]}"
            + (", ..." if n > 1 else "")
        )
    chosen_so_far = [name for name in LAYOUT_PRESETS if name in layout]
    contexts = [Context(presets[name]) for name in chosen_so_far]
    for group in facts.checkpoints:
        # A dataset project's models/*.pth are covered by datasets-lfs already.
        if any(not any(c.lfs_rule(p) for c in contexts) for p in group.paths):
            training.append(group.describe())
        else:
            notes.append(f"{group.describe()}: covered by {', '.join(chosen_so_far)}")
    training.extend(group.describe() for group in facts.trackers)
    if training:
        layout["ml-checkpoints"] = training

    extends: list[Choice] = []
    if forced is not None:
        extends.append(Choice(forced, ("chosen with --preset",)))

    # Budgets: the remotes' hosts, unless a host preset was forced.
    hosts: list[tuple[str, dict[str, tuple[int | None, str]]]] = []
    budgets_note: str
    if forced in HOST_PRESETS:
        hosts.append((f"preset {forced}", _host_budgets(forced, presets)))
        budgets_note = f"the limits of the {forced} preset, chosen with --preset"
    else:
        seen: set[str] = set()
        for remote in facts.remotes:
            if remote.forge is None or remote.forge in seen:
                continue
            seen.add(remote.forge)
            label = f"{remote.name} is {remote.host}"
            hosts.append((label, _host_budgets(remote.forge, presets)))
            if remote.forge in ("github", "huggingface"):
                preset = remote.forge
                extends.append(Choice(preset, (f"remote {remote.name} is {remote.host}",)))
        unknown = [r for r in facts.remotes if r.forge is None and r.host]
        for remote in unknown:
            notes.append(
                f"remote {remote.name} is {remote.host}: no limits known for that host, "
                "so the presets' (GitHub's) apply"
            )
        if hosts:
            budgets_note = "; ".join(
                f"remote {r.name} is {r.host} ({_FORGE_LABEL[r.forge or '']})"
                for r in _first_per_forge(facts.remotes)
            )
            if any(r.forge == "gitlab" for r in facts.remotes):
                budgets_note += (
                    "; a self-managed GitLab sets its own limits (Admin area > Settings > "
                    "General > Account and limit): GitLab.com's are written as a start"
                )
        elif facts.remotes:
            budgets_note = "no remote on a known host: the presets' budgets (GitHub's) apply"
        else:
            budgets_note = (
                "no remote yet: the presets' budgets (GitHub's) apply; after "
                "`git remote add`, `repolicy init --force` picks the host's limits"
            )

    for name in LAYOUT_PRESETS:
        if name in layout:
            extends.append(Choice(name, tuple(layout[name])))
    extends = _dedupe(extends)
    if not extends:
        extends.append(
            Choice(
                "default",
                (
                    "found no checkpoints, datasets, DVC or experiment-tracking output: "
                    "size limits only",
                ),
            )
        )

    budgets = _combine(hosts)

    # LFS lines the repository already has, unless a chosen preset lists the same pattern.
    listed = {rule.text for c in extends for rule in presets[c.name].lfs}
    lfs: list[LfsEntry] = []
    for line in facts.lfs_lines:
        where = f"{line.file}:{line.line}"
        if line.pattern is None:
            notes.append(f"{where}: `{line.text}` not carried over: {line.problem}")
            continue
        if line.pattern in listed:
            continue
        listed.add(line.pattern)
        lfs.append(
            LfsEntry(line.pattern, f"already stored in Git LFS by {where}", f"{where}: {line.text}")
        )
    chosen = [c.name for c in extends]
    rules = layout_rules(
        facts.states, [Context(presets[n]) for n in chosen], "ml-checkpoints" in chosen
    )
    return Proposal(
        tuple(extends), tuple(budgets), budgets_note, tuple(lfs), tuple(notes), tuple(rules)
    )


def _first_per_forge(remotes: Iterable[Remote]) -> list[Remote]:
    seen: set[str] = set()
    out = []
    for r in remotes:
        if r.forge is not None and r.forge not in seen:
            seen.add(r.forge)
            out.append(r)
    return out


def _dedupe(choices: list[Choice]) -> list[Choice]:
    merged: dict[str, tuple[str, ...]] = {}
    for c in choices:
        merged[c.name] = merged.get(c.name, ()) + tuple(
            r for r in c.reasons if r not in merged.get(c.name, ())
        )
    return [Choice(name, reasons) for name, reasons in merged.items()]


# -- the file --

HEADER = """\
# repolicy policy, proposed by `repolicy init` from what this repository holds.
# Each comment says what was found; edit freely. `repolicy fix` then writes
# .gitignore and .gitattributes to match, `repolicy explain PATH` says which
# rule decides a path, and `repolicy rule NAME` explains a check.
# Sizes: KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.
"""


def format_size(size: int) -> str:
    """The size exactly, in the unit that writes it shortest: 104857600 -> '100 MiB',
    10**10 -> '10 GB' (not '9765625 KiB'); binary units win a tie."""
    best = str(size)
    for unit, factor in (
        ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024),
        ("GB", 1000**3), ("MB", 1000**2), ("KB", 1000),
    ):  # fmt: skip
        if size >= factor and size % factor == 0:
            text = f"{size // factor} {unit}"
            if len(str(size // factor)) < len(best.split(" ")[0]):
                best = text
    return best


def _human(size: int) -> str:
    from repolicy.report import human_size

    return human_size(size)


def _comment(text: str, indent: str = "") -> list[str]:
    """Comment lines, wrapped; control characters (a newline in a file name) are escaped."""
    safe = "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)
    lines = textwrap.wrap(safe, width=88 - len(indent), break_long_words=False)
    return [f"{indent}# {line}" for line in lines or [""]]


def _some(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > 3 else "")


def _scalar(text: str) -> str:
    # A JSON string is a YAML double-quoted scalar; every pattern is quoted so a
    # leading '*' or ':' is never read as YAML syntax.
    return json.dumps(text)


def render(proposal: Proposal) -> str:
    """The commented `.repolicy.yaml`."""
    out = [HEADER]
    out.append("extends:")
    for choice in proposal.extends:
        for reason in choice.reasons:
            out.extend(_comment(reason, "  "))
        out.append(f"  - {choice.name}")
    out.append("")
    out.extend(_comment(f"Budgets: {proposal.budgets_note}."))
    if proposal.budgets:
        out.append("budgets:")
        for line in proposal.budgets:
            out.extend(_comment(line.why, "  "))
            value = "null" if line.limit is None else format_size(line.limit)
            if line.limit is not None and line.key in COUNT_BUDGET_KEYS:
                value = str(line.limit)  # a number of entries, never a size
            out.append(f"  {line.key}: {value}")
    for key in ("include", "exclude"):
        entries = [r for r in proposal.rules if r.key == key]
        if not entries:
            continue
        out.append("")
        out.append(f"{key}:")
        for rule in entries:
            out.extend(_comment(f"found: {_some(rule.paths)}", "  "))
            out.append(f"  - pattern: {_scalar(rule.pattern)}")
            out.append(f"    why: {_scalar(rule.why)}")
    if proposal.lfs:
        out.append("")
        out.append("lfs:")
        for entry in proposal.lfs:
            out.extend(_comment(entry.source, "  "))
            out.append(f"  - pattern: {_scalar(entry.pattern)}")
            out.append(f"    why: {_scalar(entry.why)}")
    if proposal.notes:
        out.append("")
        out.append("# Also found:")
        for note in proposal.notes:
            # "# - first line", then "#   more": a list item the eye can follow.
            for k, row in enumerate(_comment(note, "  ")):
                out.append(("# -" if k == 0 else "#  ") + row[3:])
    return "\n".join(out).rstrip("\n") + "\n"
