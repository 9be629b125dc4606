"""The git module: batched plumbing answers, exactly as git stores names and objects."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from repolicy.errors import GitError, RepolicyError
from repolicy.git import BlobFacts, Git, Query, objects_directory
from repolicy.git.history import parse_history_walk, revision_input

from ..conftest import Repo


def test_blob_facts_batch_command_and_fallback_agree(repo: Repo) -> None:
    repo.write("small.txt", "tiny\n")
    repo.write("big.bin", size=5000)
    repo.write("pointer.pth", "version https://git-lfs.github.com/spec/v1\n")
    os.symlink("small.txt", repo.path / "link")
    repo.add("small.txt", "big.bin", "pointer.pth", "link")
    entries = Git(str(repo.path)).index_entries().get()
    oids = [e.oid for e in entries] + ["0" * 40]  # a missing object is simply absent
    git = Git(str(repo.path))
    facts = BlobFacts(git, oids, 1024)
    info, contents = facts.get()
    assert (info, contents) == BlobFacts(git, oids, 1024)._fallback()
    by_path = {e.path: e.oid for e in entries}
    assert info[by_path["big.bin"]].size == 5000
    assert contents[by_path["small.txt"]] == b"tiny\n"
    assert contents[by_path["link"]] == b"small.txt"
    assert by_path["big.bin"] not in contents
    assert "0" * 40 not in info


def test_blob_facts_handles_more_objects_than_one_chunk(repo: Repo) -> None:
    for k in range(1200):
        repo.write(f"d/{k}.txt", f"{k}\n")
    repo.add("d")
    git = Git(str(repo.path))
    entries = git.index_entries().get()
    info, contents = git.blob_facts([e.oid for e in entries], 1024).get()
    assert len(info) == len(contents) == 1200
    assert sorted(int(c) for c in contents.values()) == list(range(1200))


def test_sizes_read_a_batch_at_a_time_agree_with_one_question_per_object(repo: Repo) -> None:
    """Blobs on both sides of the pointer size, in batches with and without a
    tree or a missing id among them: the same facts as the plain fallback."""
    for k in range(1500):
        repo.write(f"d/{k}.bin", f"{k}\n".encode() * ((k * 37) % 512))
    for size in (1023, 1024, 1025):
        repo.write(f"e/{size}.bin", b"x" * size)
    repo.add("d", "e")
    git = Git(str(repo.path))
    blobs = [e.oid for e in git.index_entries().get()]
    tree = repo.git("write-tree").strip()
    batches = (blobs, [*blobs[:700], tree, *blobs[700:]], [*blobs[:700], "0" * 40, *blobs[700:]])
    for oids in batches:
        facts = BlobFacts(git, oids, 1024)
        info, contents = facts.get()
        assert (info, contents) == BlobFacts(git, oids, 1024)._fallback()
        small = {o for o in oids if o in info and info[o].type == "blob" and info[o].size < 1024}
        assert small == set(contents)


def test_staged_changes_keep_odd_names_and_split_renames(repo: Repo) -> None:
    odd = os.fsdecode(b"we\xffird\nname -x.pth")
    repo.write("old.txt", "same content\n" * 20)
    repo.add("old.txt")
    repo.commit()
    repo.git("mv", "old.txt", "new.txt")
    repo.write(odd, "x")
    repo.add(odd)
    changes = Git(str(repo.path)).staged_changes().get()
    assert sorted((c.status, c.path) for c in changes) == sorted(
        [("D", "old.txt"), ("A", "new.txt"), ("A", odd)]
    )


def test_attributes_are_asked_of_the_index_when_cached(repo: Repo) -> None:
    repo.write(".gitattributes", "*.pth filter=lfs\n")
    repo.add(".gitattributes")
    repo.write(".gitattributes", "")  # the work tree says otherwise; the index wins
    git = Git(str(repo.path))
    assert git.attributes(["a.pth", "b.txt"], ("filter",), cached=True).get() == {
        "a.pth": {"filter": "lfs"}
    }
    assert git.attributes(["a.pth"], ("filter",), cached=False).get() == {}


def rev_parse(cwd: Path) -> tuple[str, str, str]:
    out = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-prefix"],
        cwd=cwd, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    return out[0], out[1], out[2]


def test_finding_the_repository_without_git_agrees_with_rev_parse(
    repo: Repo, tmp_path: Path
) -> None:
    deep = repo.path / "a b" / "ünï"
    deep.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(repo.path)
    for cwd in (repo.path, deep, link / "a b"):
        info = Git(str(cwd)).discover().get()
        assert (info.toplevel, info.git_dir, info.prefix) == rev_parse(cwd), cwd


@pytest.mark.parametrize("setting", ["core.worktree", "core.bare"])
def test_a_config_that_moves_or_removes_the_work_tree_is_left_to_git(
    repo: Repo, tmp_path: Path, setting: str
) -> None:
    # The work tree is not beside `.git` (core.worktree), or there is none
    # (core.bare): the directory walk would judge the wrong files by the wrong
    # policy, or files git does not take for a work tree at all.
    if setting == "core.worktree":
        (tmp_path / "elsewhere").mkdir()
        repo.git("config", setting, str(tmp_path / "elsewhere"))
        info = Git(str(repo.path)).discover().get()
        assert (info.toplevel, info.git_dir, info.prefix) == rev_parse(repo.path)
    else:
        repo.git("config", setting, "true")
        with pytest.raises(RepolicyError, match="not a work tree"):
            Git(str(repo.path)).discover().get()


def test_a_linked_worktree_and_a_steering_environment_are_left_to_git(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("start")
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "--detach", str(other))
    info = Git(str(other)).discover().get()
    assert (info.toplevel, info.git_dir, info.prefix) == rev_parse(other)
    # GIT_DIR names another repository: git, not the directory walk, decides.
    second = tmp_path / "second"
    subprocess.run(["git", "init", "-q", str(second)], check=True)
    monkeypatch.setenv("GIT_DIR", str(second / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo.path))
    info = Git(str(repo.path)).discover().get()
    assert info.git_dir == str((second / ".git").resolve())


def facts_from_git(git: Git, oids: list[str]) -> tuple[dict[str, object], dict[str, bytes]]:
    info, contents = BlobFacts(git, oids, 1024)._fallback()
    return dict(info), contents


def stage_assorted(repo: Repo) -> list[str]:
    repo.write("small.txt", "tiny\n")
    repo.write("big.bin", os.urandom(300_000))
    repo.write("pointer.pth", "version https://git-lfs.github.com/spec/v1\n")
    repo.write("empty", "")
    os.symlink("small.txt", repo.path / "link")
    repo.add("small.txt", "big.bin", "pointer.pth", "empty", "link")
    return [e.oid for e in Git(str(repo.path)).index_entries().get()]


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_loose_objects_read_in_process_agree_with_cat_file(
    tmp_path: Path, object_format: str
) -> None:
    repo = Repo(tmp_path / "r")
    repo.path.mkdir()
    repo.git("init", "-q", f"--object-format={object_format}")
    oids = stage_assorted(repo)
    git = Git(str(repo.path))
    objects = objects_directory(str(repo.path / ".git"))
    loose = BlobFacts(git, oids, 1024, objects=objects)
    assert loose.questions is None  # everything just staged is loose: no process at all
    assert loose.get() == facts_from_git(git, oids)


def test_packed_objects_are_asked_of_git_and_a_damaged_loose_one_is_unreadable(
    repo: Repo,
) -> None:
    oids = stage_assorted(repo)
    repo.commit()
    repo.git("gc", "-q")  # everything moves into a pack
    repo.write("new.txt", "staged after the gc\n")
    repo.write("broken.txt", "this loose object gets damaged\n")
    repo.add("new.txt", "broken.txt")
    entries = {e.path: e.oid for e in Git(str(repo.path)).index_entries().get()}
    broken = repo.path / ".git" / "objects" / entries["broken.txt"][:2] / entries["broken.txt"][2:]
    broken.chmod(0o644)
    broken.write_bytes(broken.read_bytes()[:8])  # truncated: zlib cannot finish it
    oids = list(entries.values())
    git = Git(str(repo.path))
    facts = BlobFacts(git, oids, 1024, objects=objects_directory(str(repo.path / ".git")))
    loose = {entries["new.txt"], entries["broken.txt"]}
    assert facts.oids == sorted(set(oids) - loose, key=oids.index)
    info, contents = facts.get()
    assert contents[entries["new.txt"]] == b"staged after the gc\n"
    assert info[entries["big.bin"]].size == 300_000
    # Damaged: no facts at all (the caller reports it), and git is not asked.
    assert entries["broken.txt"] not in info


def test_a_linked_worktree_finds_the_objects_of_its_repository(repo: Repo, tmp_path: Path) -> None:
    repo.commit("start")
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "--detach", str(other))
    info = Git(str(other)).discover().get()
    assert objects_directory(info.git_dir) == str(repo.path / ".git" / "objects")


def test_an_attribute_reader_started_early_answers_like_check_attr(repo: Repo) -> None:
    repo.write(".gitattributes", "*.pth filter=lfs\n")
    repo.add(".gitattributes")
    git = Git(str(repo.path))
    reader = git.attribute_reader(("filter",), cached=True)
    paths = ["a.pth", "b.txt", os.fsdecode(b"odd \xff\nname.pth")]
    expected = git.attributes(paths, ("filter",), cached=True).get()
    assert reader.ask(paths).get() == expected
    assert set(expected) == {"a.pth", paths[2]}
    unasked = git.attribute_reader(("filter",))
    unasked.discard()  # nothing staged: git gets end of input and exits
    assert unasked._pending.proc.wait() == 0


def test_the_history_parser_does_not_care_where_the_output_is_cut(repo: Repo) -> None:
    # Paths may hold any byte but NUL, including the \x01 that starts a header.
    names = ["plain.txt", os.fsdecode(b"\x01:odd\nname \xff"), ":colon", "d/e/f.txt"]
    for k, name in enumerate(names):
        repo.write(name, f"{k}\n")
        repo.git("add", "-f", "--", f":(literal){name}")
        repo.commit(f"add {k}")
    repo.git("checkout", "-q", "-b", "side", "HEAD~2")
    repo.write("d/side.txt", "side\n")
    repo.add("d/side.txt")
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "side")
    git = Git(str(repo.path))
    whole = git.history_walk(["--branches"]).get()
    assert {e.path for e in whole.entries} == {*names, "d/side.txt"}
    out = subprocess.run(
        ["git", "log", "--raw", "-t", "-z", "-c", "--no-abbrev", "--no-renames", "--root",
         "--reverse", "--topo-order", "--format=%x01%H %T", "--branches", "--"],
        cwd=repo.path, capture_output=True, check=True,
    ).stdout  # fmt: skip
    for cut in range(1, len(out)):
        assert parse_history_walk([out[:cut], out[cut:]]) == whole, cut
    assert parse_history_walk([out[k : k + 1] for k in range(len(out))]) == whole


def test_the_history_scan_hands_on_each_new_path_once_as_the_walk_meets_it(repo: Repo) -> None:
    names = ["a.txt", os.fsdecode(b"odd \xff name"), "d/b.txt"]
    for k, name in enumerate(names):
        repo.write(name, f"{k}\n")
        repo.git("add", "-f", "--", f":(literal){name}")
        repo.commit(f"add {k}")
    repo.write("a.txt", "again\n")  # a new blob at a path already met
    repo.add("a.txt")
    repo.commit("change a")
    os.symlink("a.txt", repo.path / "link")
    repo.add("link")
    repo.commit("a link")
    met: list[str] = []
    scan = Git(str(repo.path)).history_scan(
        ["--branches"], 1024, None, ("filter",), on_paths=met.extend
    )
    walk = scan.get()
    # Oldest first, once each; a symbolic link has no attributes to ask, nor paths to hand on.
    assert met == names
    assert {e.path for e in walk.entries} == {*names, "link"}


def test_a_failure_in_the_background_reaches_the_caller(repo: Repo) -> None:
    git = Git(str(repo.path))
    query = Query(git._start("rev-parse", "--verify", "no-such-branch"), bytes, b"")
    with pytest.raises(GitError, match="single revision"):
        query.background().get()


def test_input_that_fails_midway_ends_git_instead_of_hanging(repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.add("a.txt")
    oid = Git(str(repo.path)).index_entries().get()[0].oid

    def ids() -> Iterator[bytes]:
        yield oid.encode()
        raise RuntimeError("the caller's data went wrong")

    sizes = Git(str(repo.path)).disk_sizes(ids())
    with pytest.raises(RuntimeError, match="went wrong"):
        sizes.get()


def test_revisions_go_on_stdin_with_the_negations_they_had(repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.add("a.txt")
    first = repo.commit("a")
    repo.write("b.txt", "b\n")
    repo.add("b.txt")
    second = repo.commit("b")
    options, names = revision_input([second, second, "--not", first, "--remotes=origin"])
    assert options == ["--not", "--remotes=origin"]
    assert names == f"{second}\n^{first}\n".encode()
    # As git reads them: only what `second` adds.
    history = (
        Git(str(repo.path)).history([second, "--not", first, "--remotes=origin"]).get().entries
    )
    assert [(e.commit, e.path) for e in history] == [(second, "b.txt")]


ATTRIBUTE_NAMES = ("filter", "diff", "merge", "text", "eol", "binary", "linguist-vendored")
ODD_NAMES = [
    "-h", "--cached", "a b.pth", "tab\t.gitattributes", "x.gitattributes",
    "dir.gitattributes/m.pth",
    os.fsdecode(b"odd \xff\nname.pth"), "\u00e9t\u00e9/model.bin", "*.pth", "[ab].bin", "\\x.pth",
]  # fmt: skip


def corpus_attribute_paths(text: str) -> list[str]:
    """Names a `.gitattributes` file's own patterns are about, so its lines take part."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(("#", "[attr]")):
            continue
        name = fields[0].replace("**/", "a/").replace("**", "b").replace("*", "x")
        name = name.replace("?", "q").strip("/").replace("[", "").replace("]", "")
        if name:
            out += [name, f"sub/{name}", f"deep/er/{name}.tail"]
    return out


@pytest.mark.shared
def test_attributes_asked_of_a_scratch_index_are_git_answers_on_the_whole_index(
    repo: Repo,
) -> None:
    """`index_attribute_reader` copies the index's `.gitattributes` entries into a
    scratch index: its answers must be `check-attr --cached`'s on the real one, for
    every corpus file at several depths, conflicted and odd entries, odd names."""
    from ..conftest import CORPUS

    sources = sorted(CORPUS.glob("*gitattributes"))
    assert len(sources) >= 10

    def blob(data: bytes) -> str:
        return repo.git("hash-object", "-w", "--stdin", input=data).strip()

    records, asked = [], list(ODD_NAMES)
    for k, source in enumerate(sources):
        data = source.read_bytes()
        where = ["", f"p{k}/", f"p{k}/q/"][k % 3]
        records.append(f"100644 {blob(data)} 0\t{where}.gitattributes")
        asked += [where + name for name in corpus_attribute_paths(data.decode(errors="replace"))]
    # Entries that are not attribute files, however named, and one in a conflict.
    other = blob(b"* filter=other\n")
    base, ours, theirs = (blob(b"*.pth filter=%s\n" % side) for side in (b"base", b"ours", b"x"))
    records += [
        f"100644 {other} 0\ttab\t.gitattributes",
        f"100644 {other} 0\tx.gitattributes",
        f"100644 {other} 0\tdir.gitattributes/.keep",
        f"100644 {base} 1\tconflict/.gitattributes",
        f"100644 {ours} 2\tconflict/.gitattributes",
        f"100644 {theirs} 3\tconflict/.gitattributes",
        f"100644 {blob(b'x')} 0\tplain.txt",
    ]
    asked += ["conflict/m.pth", "conflict/deeper/n.pth", "dir.gitattributes/m.pth"]
    repo.git("update-index", "--index-info", input="".join(r + "\n" for r in records).encode())
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "attributes").write_text("*.bin diff=info\n")

    git = Git(str(repo.path))
    git_dir = str(repo.path / ".git")
    expected = git.attributes(asked, ATTRIBUTE_NAMES, cached=True).get()
    assert expected["conflict/m.pth"]["filter"] == "ours"  # git reads "ours"
    assert any(v.get("filter") == "lfs" for v in expected.values())
    reader = git.index_attribute_reader(ATTRIBUTE_NAMES, git_dir)
    assert reader.ask(asked).get() == expected
    # The scratch index is gone once git has answered, and so when never asked.
    git.index_attribute_reader(ATTRIBUTE_NAMES, git_dir).discard()
    assert not list((repo.path / ".git" / "repolicy").glob("attributes-*"))


def test_the_scratch_index_is_never_written_where_a_link_leads(repo: Repo, tmp_path: Path) -> None:
    # The git directory's `repolicy` directory may be a link to elsewhere (moved
    # to another disk, or in a repository someone else made): git would write
    # the scratch index there, outside the repository. It is asked of the
    # real index instead, with the same answers.
    repo.write(".gitattributes", "*.pth filter=lfs\n")
    repo.write("m.pth", "x")
    repo.add(".gitattributes", "m.pth")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo.path / ".git" / "repolicy").symlink_to(outside)
    os.utime(outside, (1_000_000_000, 1_000_000_000))
    git = Git(str(repo.path))
    expected = git.attributes(["m.pth"], ATTRIBUTE_NAMES, cached=True).get()
    reader = git.index_attribute_reader(ATTRIBUTE_NAMES, str(repo.path / ".git"))
    assert reader.ask(["m.pth"]).get() == expected
    assert list(outside.iterdir()) == []
    assert outside.stat().st_mtime == 1_000_000_000  # nothing was even made and removed


def test_a_trees_size_never_undercounts_its_entries(repo: Repo) -> None:
    # The hook skips reading a tree its size shows too small to be over a
    # directory budget: the bound must hold for the shortest entries git
    # writes (one-byte names; five-digit modes for subdirectories; links and
    # submodules too), and the names read must be ls-tree's.
    names = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    for name in names:
        repo.write(f"d/{name}", name)
        repo.write(f"d/{name.upper()}/x", name)
    os.symlink("a", repo.path / "d" / "0")
    repo.add("d")
    commit = repo.git("commit-tree", repo.git("write-tree").strip(), "-m", "x").strip()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{commit},d/1")
    repo.commit("wide and short")
    listed = repo.git("ls-tree", "-z", "--name-only", "HEAD:d").split("\0")[:-1]
    git = Git(str(repo.path))
    assert git.tree_names(["HEAD:d", "HEAD:missing"]).get() == {"HEAD:d": listed}
    bounds = git.tree_entry_bounds(["HEAD:d", "HEAD:missing"]).get()
    assert set(bounds) == {"HEAD:d"}
    assert bounds["HEAD:d"] >= len(listed) == 2 * 26 + 2
    # And the bound is close: a budget far above it is known safe from size alone.
    assert bounds["HEAD:d"] < 2 * len(listed)


@pytest.mark.parametrize(
    "head",
    [
        "branch", "detached", "packed", "worktree", "symref",
        "empty-component", "lock-component", "sha256", "sha256-short-id",
    ],
)  # fmt: skip
def test_the_staged_diff_is_against_the_head_git_resolves(
    repo: Repo, tmp_path: Path, head: str
) -> None:
    # HEAD's commit is read from its file when the refs are plain; every other
    # layout is left to git. Either way the diff is against git's HEAD, and so
    # is the answer kept for the next run on the same index. A HEAD naming a
    # ref git refuses, or a SHA-1-long id where ids are SHA-256 (git: a broken
    # ref), is no HEAD to git, which then diffs against nothing: never
    # against the file such a name spells, nor an object the id abbreviates.
    if head.startswith("sha256"):
        (tmp_path / "sha256").mkdir()
        repo = Repo(tmp_path / "sha256")
        repo.git("init", "-q", "--object-format=sha256", str(repo.path))
    repo.write("a.txt", "a")
    repo.add("a.txt")
    first = repo.commit("first")
    repo.write("b.txt", "b")
    repo.add("b.txt")
    repo.commit("second")
    work = repo.path
    if head == "detached":
        repo.git("checkout", "-q", "--detach", first)
    elif head == "packed":
        repo.git("pack-refs", "--all", "--prune")
        assert not (repo.path / ".git" / "refs" / "heads" / "main").exists()
    elif head == "worktree":
        work = tmp_path / "linked"
        repo.git("worktree", "add", "-q", "--detach", str(work), first)
    elif head == "symref":
        repo.git("symbolic-ref", "refs/heads/alias", "refs/heads/main")
        repo.git("symbolic-ref", "HEAD", "refs/heads/alias")
    elif head in ("empty-component", "lock-component"):
        name = "refs/heads//main" if head == "empty-component" else "refs/heads/x.lock/main"
        (repo.path / ".git" / "refs" / "heads" / "x.lock").mkdir()
        (repo.path / ".git" / "refs" / "heads" / "x.lock" / "main").write_text(first + "\n")
        (repo.path / ".git" / "HEAD").write_text(f"ref: {name}\n")
    elif head == "sha256-short-id":
        (repo.path / ".git" / "refs" / "heads" / "main").write_text(first[:40] + "\n")
    (work / "c.txt").write_text("c")
    subprocess.run(["git", "add", "c.txt"], cwd=work, check=True)
    expected = subprocess.run(
        ["git", "diff", "--cached", "--name-status", "-z"],
        cwd=work,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")[:-1]
    git = Git(str(work))
    info = git.discover().get()
    for _ in range(2):  # asked, then taken from the cache
        changes = git.staged_changes(info.git_dir).get()
        git.store_answers()
        got = [x for c in changes for x in (c.status.encode(), c.path.encode())]
        assert got == expected


def ls_files_others(repo: Repo, where: str, *options: str) -> list[str]:
    """What `git ls-files --others --exclude-standard` lists: the walk that applies
    the ignore rules as it goes, which `Git.others` does not run."""
    out = repo.git("-C", where, "ls-files", "-z", "--others", "--exclude-standard", *options)
    return out.split("\0")[:-1]


def assert_others_agree_with_git(repo: Repo, where: str = ".") -> None:
    others = Git(str(repo.path / where)).others().get()
    assert others.untracked == ls_files_others(repo, where)
    assert others.ignored == ls_files_others(repo, where, "--ignored")


def test_untracked_and_ignored_files_are_split_as_git_add_sees_them(repo: Repo) -> None:
    # One walk of the work tree and `check-ignore` on what it found must give
    # git's own two listings: negations under an ignored directory, nested
    # rule files, a nested repository, links, and names git could take for
    # options or pathspec magic.
    repo.write(".gitignore", "*.log\n!keep.log\nbuild/\n!build/x.txt\nignored-repo/\n")
    repo.write("nested/.gitignore", "*.tmp\n!important.tmp\n/local-only\n")
    repo.write("tracked/t.txt", "t")
    repo.add(".gitignore", "nested/.gitignore", "tracked/t.txt")
    repo.commit("rules")
    names = [
        "a.log", "keep.log", "build/x.txt", "build/sub/y", "nested/a.tmp",
        "nested/important.tmp", "nested/local-only", "nested/deeper/local-only",
        "tracked/new.log", "tracked/u", "d/-h", "d/--cached", "d/new\nline", "d/#x", "d/!y",
        ":!z.log", ":(top)q", ":(icase)A.LOG", "*.log", "[ab].log", "sp ace.txt",
        os.fsdecode(b"caf\xe9.log"),
    ]  # fmt: skip
    for name in names:
        repo.write(name, "x")
    for inner in ("inner-repo", "ignored-repo"):
        subprocess.run(["git", "init", "-q", str(repo.path / inner)], check=True)
        (repo.path / inner / "f").write_text("x")
    os.symlink("tracked", repo.path / "link")
    os.symlink("/nowhere", repo.path / "dangling.log")

    assert_others_agree_with_git(repo)
    others = Git(str(repo.path)).others().get()
    assert ":!z.log" in others.ignored and "d/-h" in others.untracked  # they took part
    # And from a subdirectory, where git lists paths relative to it.
    assert_others_agree_with_git(repo, "nested")
    assert Git(str(repo.path / "nested")).others().get().ignored == ["a.tmp", "local-only"]


def test_a_clean_work_tree_asks_nothing_more(repo: Repo) -> None:
    repo.write("a.txt", "a")
    repo.add("a.txt")
    repo.commit("a")
    assert Git(str(repo.path)).others().get() == ([], [])


@pytest.mark.shared
def test_untracked_files_are_split_as_git_does_under_every_corpus_ignore_file(
    repo: Repo,
) -> None:
    from ..conftest import CORPUS

    sources = sorted(CORPUS.glob("*gitignore"))
    assert len(sources) >= 50
    tracked = []
    for k, source in enumerate(sources):
        data = source.read_bytes()
        # At the top, one level down and two: nested rule files stack.
        # At the top (one file, the others' names below it), one level down, two.
        where = [f"t{k}/", f"p{k % 7}/", f"p{k % 7}/q{k}/"][k % 3] if k else ""
        tracked.append(repo.write(where + ".gitignore", data))
        for name in corpus_attribute_paths(data.decode(errors="replace")):
            for base in (name, f"{name}/inside.txt", f"{name}.keep"):
                try:
                    repo.write(f"{where}w{k}/{base}", "x")
                    repo.write(f"{where}{base}", "x")
                except OSError:  # a name that is already a file, or too long
                    pass
    repo.add(*(str(p.relative_to(repo.path)) for p in tracked))
    repo.commit("the corpus's rules")

    assert_others_agree_with_git(repo)
    others = Git(str(repo.path)).others().get()
    assert len(others.ignored) >= 1000 and len(others.untracked) >= 100


def test_the_walk_names_every_directory_history_held_a_file_in(repo: Repo) -> None:
    # Audit refuses special rule files in the directories of history, read
    # from the trees the walk names rather than from every path split.
    from repolicy.atomic import parent_directories

    repo.write("a/b/c/f.txt", "1")
    repo.write(os.fsdecode(b"odd\xff\ndir/-h/f"), "2")
    repo.add("a", os.fsdecode(b"odd\xff\ndir"))
    repo.commit("deep")
    repo.git("rm", "-q", "-r", "a/b")
    repo.write("a/top.txt", "3")
    repo.add("a/top.txt")
    repo.commit("gone")
    repo.git("checkout", "-q", "-b", "side", "HEAD~1")
    repo.write("s/t/u.txt", "4")
    repo.add("s")
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-edit", "side")

    walk = Git(str(repo.path)).history_walk(["--all"]).get()
    named = {os.fsdecode(d) for d in walk.directories}
    assert named == parent_directories(e.path for e in walk.entries)
    assert {"a/b/c", "s/t", os.fsdecode(b"odd\xff\ndir/-h")} <= named


def test_the_whole_index_reads_paths_as_its_entries_hold_them(repo: Repo) -> None:
    """`IndexListing.paths` (one regex scan) names exactly the paths of its parsed
    entries, odd names included, and `plain` says when they hold a submodule or
    a conflict's stages."""
    names = ["a.txt", "tab\there", "new\nline", os.fsdecode(b"bad\xe9.log"), "-h", " lead"]
    names += ["d/x\t0 y", "d/160000 z", "e/100644 " + "0" * 40 + " 1\tq"]
    for name in names:
        repo.write(name, os.fsencode(name))
    repo.add(*names)
    git = Git(str(repo.path))
    listing = git.whole_index().get()
    assert listing.paths == [e.path for e in listing.entries] == sorted(names, key=os.fsencode)
    assert listing.plain
    repo.commit()
    assert git.index_holds("HEAD").get()

    # A submodule's entry.
    sub = repo.path / "sub"
    sub.mkdir()
    subprocess.run(["git", "init", "-q", str(sub)], check=True)
    (sub / "f").write_text("f")
    subprocess.run(["git", "-C", str(sub), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(sub), "commit", "-qm", "f"], check=True)
    repo.git("add", "sub")
    listing = git.whole_index().get()
    assert listing.paths == [e.path for e in listing.entries]
    assert not listing.plain
    assert not git.index_holds("HEAD").get()
    repo.git("rm", "-q", "-f", "--cached", "sub")

    # A conflict: the path once per stage.
    blob = repo.git("hash-object", "-w", "--stdin", input=b"theirs\n").strip()
    stages = f"0 {'0' * 40}\ta.txt\n"  # stage 0 leaves, the three stages come
    stages += "".join(f"100644 {blob} {n}\ta.txt\n" for n in (1, 2, 3))
    repo.git("update-index", "--index-info", input=stages.encode())
    listing = git.whole_index().get()
    assert listing.paths == [e.path for e in listing.entries]
    assert listing.paths.count("a.txt") == 3
    assert not listing.plain
    assert not git.index_holds("HEAD").get()
    # Whatever git says but "same" is "not the same": a revision it cannot read.
    assert not git.index_holds("no-such-revision").get()
