"""DVC's files as plain records: the outputs `.dvc` files and `dvc.lock` record.

A `.dvc` file (and a `dvc.lock`) lists outputs: a path relative to the
file's directory (or to its `wdir`), the `md5` of the content (`hash: md5`
for DVC 3, none for DVC 2), and for a directory the md5 of a `.dir`
manifest. How those hashes are computed lives in `repolicy.dvc.hashing`.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from typing import Any, NamedTuple

from repolicy.errors import FileError
from repolicy.policy.positions import NodeReader, compose

# The names DVC gives its files; `*.dvc` at any depth, `dvc.lock`/`dvc.yaml` in any directory.
DVC_SUFFIX = ".dvc"
LOCK_FILE = "dvc.lock"
PROJECT_FILE = "dvc.yaml"

# How an output's md5 was computed, by the `hash` field DVC writes.
MD5 = "md5"  # DVC 3: raw bytes
MD5_DOS2UNIX = "md5-dos2unix"  # DVC 2 (no `hash`): CRLF -> LF in text chunks


class DvcFileError(FileError):
    """A DVC file that cannot be read, at its FILE:LINE:COL."""


class DvcOut(NamedTuple):
    """One output a DVC file records."""

    path: str  # repository-relative, '/' separators, no trailing '/'
    md5: str | None  # as recorded; a directory's ends in ".dir"
    hash: str | None  # the `hash` field: "md5" for DVC 3 outputs, None for DVC 2
    is_dir: bool
    size: int | None
    nfiles: int | None
    source: str  # the DVC file that records it, repository-relative
    line: int  # where its entry starts in that file (1-based)
    cache: bool = True  # `cache: false` outputs are meant to be in git

    @property
    def algorithm(self) -> str:
        return MD5_DOS2UNIX if self.hash is None else self.hash


def is_dvc_file(path: str) -> bool:
    name = posixpath.basename(path)
    return (path.endswith(DVC_SUFFIX) and name != DVC_SUFFIX) or name == LOCK_FILE


# -- parsing ------------------------------------------------------------------


def _repo_path(base: str, path: str) -> str | None:
    """An output path as a repository path; None when it lies outside the repository
    (an absolute path, a URL such as s3://, or `..` past the root): not git's business."""
    if "://" in path or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return None
    joined = posixpath.normpath(posixpath.join(base, path.replace("\\", "/")))
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined


def _outs(reader: NodeReader, node: Any, base: str, cache_off: set[str]) -> list[DvcOut]:
    outs = []
    for item in reader.sequence(node, "'outs'"):
        fields = reader.mapping(item, "an entry of 'outs'")
        if "path" not in fields:
            raise reader.fail(item, "an entry of 'outs' needs a 'path'")
        raw_path = reader.scalar(fields["path"], "'path'")
        path = _repo_path(base, raw_path)
        if path is None or path == "":
            continue
        md5 = reader.scalar(fields["md5"], "'md5'") if "md5" in fields else None
        hash_name = reader.scalar(fields["hash"], "'hash'") if "hash" in fields else None
        size = reader.integer(fields["size"], "'size'") if "size" in fields else None
        nfiles = reader.integer(fields["nfiles"], "'nfiles'") if "nfiles" in fields else None
        cache = reader.boolean(fields["cache"], "'cache'") if "cache" in fields else True
        is_dir = (md5 is not None and md5.endswith(".dir")) or nfiles is not None
        outs.append(
            DvcOut(
                path=path,
                md5=md5,
                hash=hash_name,
                is_dir=is_dir,
                size=size,
                nfiles=nfiles,
                source=reader.source,
                line=item.start_mark.line + 1,
                cache=cache and path not in cache_off,
            )
        )
    return outs


def parse_dvc_file(source: str, data: bytes) -> list[DvcOut]:
    """The outputs of a `.dvc` file (`source` is its repository-relative path)."""
    import yaml

    root = compose(data, source, DvcFileError)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return []
    reader = NodeReader(source, DvcFileError)
    fields = reader.mapping(root, "a .dvc file")
    base = posixpath.dirname(source)
    if "wdir" in fields:
        base = posixpath.normpath(posixpath.join(base, reader.scalar(fields["wdir"], "'wdir'")))
    return _outs(reader, fields["outs"], base, set()) if "outs" in fields else []


def parse_dvc_lock(source: str, data: bytes, project: bytes | None = None) -> list[DvcOut]:
    """The outputs every stage of a `dvc.lock` records, relative to its directory
    (or the stage's `wdir` in the `dvc.yaml` beside it, `project`, when given).

    Outputs that `dvc.yaml` declares with `cache: false` (metrics and plots,
    usually) are marked so: they are meant to be committed to git.
    """
    import yaml

    base = posixpath.dirname(source)
    wdirs, cache_off = _project_facts(posixpath.join(base, PROJECT_FILE), base, project)
    root = compose(data, source, DvcFileError)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null")):
        return []
    reader = NodeReader(source, DvcFileError)
    fields = reader.mapping(root, "a dvc.lock file")
    if "stages" not in fields:
        return []
    outs = []
    for name, stage in reader.mapping(fields["stages"], "'stages'").items():
        stage_fields = reader.mapping(stage, f"stage {name!r}")
        if "outs" in stage_fields:
            stage_base = wdirs.get(name, base)
            outs.extend(_outs(reader, stage_fields["outs"], stage_base, cache_off))
    return outs


def _project_facts(source: str, base: str, data: bytes | None) -> tuple[dict[str, str], set[str]]:
    """From `dvc.yaml`: each stage's working directory, and the outputs declared
    `cache: false`. A `dvc.yaml` this cannot read is DVC's to complain about."""
    import yaml

    wdirs: dict[str, str] = {}
    cache_off: set[str] = set()
    if data is None:
        return wdirs, cache_off
    try:
        root = compose(data, source, DvcFileError)
        reader = NodeReader(source, DvcFileError)
        stages = reader.mapping(reader.mapping(root, "dvc.yaml").get("stages"), "'stages'")
        for name, stage in stages.items():
            fields = reader.mapping(stage, "a stage")
            stage_base = base
            if "wdir" in fields:
                wdir = reader.scalar(fields["wdir"], "'wdir'")
                stage_base = posixpath.normpath(posixpath.join(base, wdir))
                wdirs[name] = stage_base
            for key in ("outs", "metrics", "plots"):
                if key not in fields or not isinstance(fields[key], yaml.SequenceNode):
                    continue
                for item in fields[key].value:
                    if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
                        continue
                    path_node, flags = item.value[0]
                    if not isinstance(flags, yaml.MappingNode):
                        continue
                    for flag, value in flags.value:
                        if flag.value == "cache" and str(value.value).lower() == "false":
                            path = _repo_path(stage_base, str(path_node.value))
                            if path:
                                cache_off.add(path)
    except (DvcFileError, AttributeError):
        pass
    return wdirs, cache_off


# -- gathering ------------------------------------------------------------------


class DvcSource(NamedTuple):
    """A DVC file as git knows it: its path and the blob holding it."""

    path: str
    oid: str


def _parse_any(path: str, data: bytes, projects: dict[str, bytes]) -> list[DvcOut]:
    if posixpath.basename(path) == LOCK_FILE:
        project = projects.get(posixpath.join(posixpath.dirname(path), PROJECT_FILE))
        return parse_dvc_lock(path, data, project)
    return parse_dvc_file(path, data)


def outs_from(
    sources: dict[str, bytes], *, strict: bool = True, projects: dict[str, bytes] | None = None
) -> list[DvcOut]:
    """Parse DVC files given as {repository path: contents}. With `strict`, a malformed
    file stops the command (DvcFileError); otherwise it is skipped (old history)."""
    outs: list[DvcOut] = []
    project_files = dict(projects or {})
    project_files.update(
        (p, d) for p, d in sources.items() if posixpath.basename(p) == PROJECT_FILE
    )
    for path in sorted(sources):
        if not is_dvc_file(path):
            continue
        try:
            outs.extend(_parse_any(path, sources[path], project_files))
        except DvcFileError:
            if strict:
                raise
    return outs


def read_work_tree(root: str, paths: Iterable[str]) -> dict[str, bytes]:
    """Contents of the DVC files that exist in the work tree (what DVC itself reads)."""
    found: dict[str, bytes] = {}
    for path in paths:
        try:
            with open(os.path.join(root, path), "rb") as fh:
                found[path] = fh.read()
        except OSError:
            continue
    return found
