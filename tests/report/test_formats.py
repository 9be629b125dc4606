"""`--format sarif` and `--format github`: valid, complete, and saying what the JSON report says.

Every SARIF log produced here is validated against the official SARIF 2.1.0
schema (tests/data); every GitHub workflow command is parsed back, undoing
the toolkit's escaping, and compared with the JSON report of the same run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import jsonschema
import pytest
import yaml

from repolicy.checks import REGISTRY
from repolicy.report import Report, Violation, quote_c, safe_text
from repolicy.report.github import escape_data, escape_property, render_github
from repolicy.report.sarif import DESCRIPTION_LIMIT, render_sarif

from ..conftest import ROOT, Repo, Server

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
ZERO = "0" * 40

POLICY = """\
exclude: ["*.log"]
lfs: ["*.pth"]
budgets: {file: 1 KiB}
"""

ODD_NAMES = [
    "with space.log",
    "naïve ünïcode 模型.log",
    "100%.log",
    "%41%2F.log",
    "a,b.log",
    "c:d.log",
    "::error ::e.log",
    "new\nline.log",
    "cr\rreturn.log",
    b"not-utf8-\xff.log",
    "dir with space/x.log",
]


# -- running repolicy ---------------------------------------------------------------------------


def run_bytes(repo: Repo, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run the CLI; stdout decoded as git's bytes are (a name may not be UTF-8)."""
    proc = subprocess.run(
        [sys.executable, "-m", "repolicy", *args],
        cwd=repo.path,
        input=stdin,
        capture_output=True,
        check=False,
    )
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "surrogateescape"),
        proc.stderr.decode("utf-8", "replace"),
    )


def report_json(repo: Repo, *args: str, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    code, out, err = run_bytes(repo, *args, "--format", "json", stdin=stdin)
    assert code in (0, 1), err
    return code, json.loads(out)


def report_sarif(repo: Repo, *args: str, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    code, out, err = run_bytes(repo, *args, "--format", "sarif", stdin=stdin)
    assert code in (0, 1), err
    out.encode("utf-8")  # strict: a SARIF log is UTF-8 whatever the file names
    log = json.loads(out)
    valid(log)
    return code, log


def report_github(repo: Repo, *args: str, stdin: bytes | None = None) -> tuple[int, list[str]]:
    code, out, err = run_bytes(repo, *args, "--format", "github", stdin=stdin)
    assert code in (0, 1), err
    assert out.endswith("\n")
    return code, out[:-1].split("\n")


def valid(log: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    for run in log["runs"]:
        for result in run.get("results", []):
            for location in result.get("locations", []):
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                assert URI_REFERENCE.fullmatch(uri), uri
                # No scheme: the first segment must not read as one.
                assert ":" not in uri.split("/")[0], uri


# A relative-path reference of RFC 3986 (no query or fragment): the format the schema
# names, which jsonschema checks only with optional packages installed.
URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*")


# -- comparing with the JSON report ---------------------------------------------------------------


def expected_text(v: dict[str, Any]) -> str:
    """What a violation says in one message: the text report's lines, in its order."""
    lines = [v["message"]]
    for key in ("commit", "rule", "why", "fix"):
        if v.get(key):
            lines.append(f"{key}: {v[key]}")
    return "\n".join(lines)


def uri_path(result: dict[str, Any]) -> str:
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    return os.fsdecode(unquote_to_bytes(uri))


def assert_sarif_matches(log: dict[str, Any], data: dict[str, Any]) -> None:
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    rules = [rule["id"] for rule in driver["rules"]]
    assert rules[: len(REGISTRY)] == list(REGISTRY)
    assert run["properties"]["summary"] == data["summary"]
    assert len(run["results"]) == len(data["violations"])
    for result, v in zip(run["results"], data["violations"], strict=True):
        assert result["ruleId"] == v["check"]
        assert rules[result["ruleIndex"]] == v["check"]
        assert result["level"] == v["severity"]
        assert result["message"]["text"] == expected_text(v)
        props = result["properties"]
        for key in ("commit", "size", "rule", "why", "fix"):
            assert props.get(key) == v[key]
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert "region" not in location["physicalLocation"]
        if v["path"] is None:
            assert props["repositoryWide"] is True
            assert "message" in location
        else:
            assert uri_path(result) == v["path"] == props["path"]
        assert re.fullmatch("[0-9a-f]{64}", result["partialFingerprints"]["repolicy/v1"])


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


COMMAND = re.compile(r"::(?P<name>[a-z]+)(?: (?P<props>[^:]*))?::(?P<data>.*)")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """One workflow command, as the runner reads it."""
    match = COMMAND.fullmatch(line)
    assert match, line
    props = {}
    for item in (match["props"] or "").split(","):
        if item:
            key, _, value = item.partition("=")
            props[key] = unescape_property(value)
    return match["name"], props, unescape_data(match["data"])


def assert_github_matches(lines: list[str], data: dict[str, Any]) -> None:
    *commands, summary = lines
    parsed = [parse_command(line) for line in commands]
    annotations = [p for p in parsed if p[0] != "notice"]
    notices = [p[2] for p in parsed if p[0] == "notice"]
    expected = []
    for v in data["violations"]:
        props = {"title": v["check"]}
        if v["path"] is not None:
            # A name with control characters is quoted as git quotes it.
            path = v["path"]
            plain = path.replace("\n", "").replace("\r", "").isprintable()
            props["file"] = path if plain else quote_c(path)
        expected.append((v["severity"], props, safe_text(expected_text(v))))
    assert annotations == expected
    assert notices == [safe_text(note) for note in data.get("notes", [])]
    assert summary == summary_line(data)


def summary_line(data: dict[str, Any]) -> str:
    errors, warnings = data["summary"]["errors"], data["summary"]["warnings"]
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    counts = ", ".join(parts) or "all clear"
    return f"repolicy {data['command']}: {counts} ({data['policy']})"


def all_formats(repo: Repo, *args: str, stdin: bytes | None = None) -> dict[str, Any]:
    """The JSON report, once SARIF and GitHub output are seen to say the same (one exit code)."""
    code, data = report_json(repo, *args, stdin=stdin)
    sarif_code, log = report_sarif(repo, *args, stdin=stdin)
    github_code, lines = report_github(repo, *args, stdin=stdin)
    text_code = run_bytes(repo, *args, stdin=stdin)[0]
    assert code == sarif_code == github_code == text_code
    assert_sarif_matches(log, data)
    assert_github_matches(lines, data)
    data["sarif"] = log
    data["code"] = code
    return data


def add(repo: Repo, *paths: str) -> None:
    """`git add` that takes names as they are (`:` starts pathspec magic otherwise)."""
    repo.git("--literal-pathspecs", "add", "-f", "--", *paths)


def found(data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(v["check"], v["path"]) for v in data["violations"]}


def results(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data["sarif"]["runs"][0]["results"])


# -- rules -------------------------------------------------------------------------------------


def test_every_check_is_a_rule_with_its_documentation() -> None:
    log = json.loads(render_sarif(Report("audit", "preset:default", budgets={})))
    valid(log)
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "repolicy"
    from repolicy import __version__

    assert driver["version"] == __version__
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert [r["id"] for r in driver["rules"]] == list(REGISTRY)
    for rule in driver["rules"]:
        info = REGISTRY[rule["id"]]
        assert rule["defaultConfiguration"]["level"] == info.severity
        for key in ("shortDescription", "fullDescription"):
            assert 0 < len(rule[key]["text"]) <= DESCRIPTION_LIMIT
        assert rule["fullDescription"]["text"].startswith(rule["shortDescription"]["text"])
        assert rule["help"]["text"].startswith("What it does\n")
        markdown = rule["help"]["markdown"]
        for heading in ("What it does", "Why it matters", "Example", "How to fix"):
            assert f"**{heading}**" in markdown
        assert markdown.count("```") % 2 == 0
    assert run["results"] == []


def test_a_check_missing_from_the_registry_still_gets_a_rule() -> None:
    report = Report("audit", ".repolicy.yaml", [Violation("future-check", "warning", "a", "m")])
    log = json.loads(render_sarif(report))
    valid(log)
    (result,) = log["runs"][0]["results"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "future-check"
    assert result["level"] == "warning"


# -- check: staged files ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ODD_NAMES, ids=repr)
def test_check_reports_odd_names_exactly(repo: Repo, name: str | bytes) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write(name, "x")
    repo.write("keep.py", "print(1)\n")
    add(repo, ".repolicy.yaml", os.fsdecode(name), "keep.py")
    data = all_formats(repo, "check")
    assert data["code"] == 1
    assert found(data) == {("excluded", os.fsdecode(name))}
    (result,) = results(data)
    assert "commit" not in result["properties"]


def test_check_with_nothing_wrong_is_an_empty_run_and_a_clear_summary(repo: Repo) -> None:
    repo.write("train.py", "print(1)\n")
    repo.add("train.py")
    data = all_formats(repo, "check")
    assert (data["code"], data["violations"]) == (0, [])
    assert report_github(repo, "check")[1] == ["repolicy check: all clear (preset:default)"]


def test_warnings_are_warnings_and_strict_still_fails(repo: Repo) -> None:
    repo.write(".repolicy.yaml", "budgets: {file_warn: 1 KiB}\n")
    repo.write("model.bin", size=2048)
    repo.add(".repolicy.yaml", "model.bin")
    data = all_formats(repo, "check")
    assert (data["code"], found(data)) == (0, {("file-large", "model.bin")})
    assert results(data)[0]["level"] == "warning"
    code, lines = report_github(repo, "check", "--strict")
    assert code == 1
    assert lines[0].startswith("::warning file=model.bin,title=file-large::")


# -- audit: history, the work tree, repository-wide -----------------------------------------------


def test_audit_names_the_commit_of_a_history_blob(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("data/big,1:2.bin", size=4096)
    add(repo, ".repolicy.yaml", "data/big,1:2.bin")
    entered = repo.commit("add big")
    repo.git("--literal-pathspecs", "rm", "-q", "data/big,1:2.bin")
    repo.commit("remove it")
    data = all_formats(repo, "audit")
    assert data["code"] == 1
    assert found(data) == {("file-too-large", "data/big,1:2.bin")}
    (result,) = results(data)
    assert result["properties"]["commit"] == entered
    assert result["properties"]["size"] == 4096
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "data/big%2C1%3A2.bin"
    )
    # The same violation keeps its fingerprint from run to run.
    again = report_sarif(repo, "audit")[1]["runs"][0]["results"][0]
    assert again["partialFingerprints"] == result["partialFingerprints"]


def test_the_same_path_in_two_commits_is_two_alerts(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("w.bin", size=2048)
    repo.add(".repolicy.yaml", "w.bin")
    first = repo.commit("one")
    repo.write("w.bin", size=3072)
    repo.add("w.bin")
    second = repo.commit("two")
    data = all_formats(repo, "audit")
    commits = {r["properties"]["commit"] for r in results(data)}
    assert commits == {first, second}
    prints = {r["partialFingerprints"]["repolicy/v1"] for r in results(data)}
    assert len(prints) == 2


def test_a_repository_wide_violation_is_placed_at_the_policy_file(repo: Repo) -> None:
    repo.write("team/policy.yaml", "budgets: {repo: 1 KiB}\n")
    repo.write("noise.bin", os.urandom(4096))
    repo.add("team/policy.yaml", "noise.bin")
    repo.commit("big")
    data = all_formats(repo, "audit", "--policy", "team/policy.yaml")
    assert (data["code"], found(data)) == (1, {("repo-budget", None)})
    (result,) = results(data)
    assert uri_path(result) == "team/policy.yaml"
    assert result["properties"]["repositoryWide"] is True
    lines = report_github(repo, "audit", "--policy", "team/policy.yaml")[1]
    assert lines[0].startswith("::error title=repo-budget::")


def test_without_a_policy_file_a_repository_wide_result_points_where_one_would_be(
    repo: Repo, tmp_path: Path
) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "r.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "r.git"))
    repo.commit("start")
    repo.git("push", "-q", "-u", "origin", "main")
    repo.commit("not pushed yet")
    data = all_formats(repo, "audit")
    assert (data["code"], found(data)) == (0, {("unpushed", None)})
    assert data["policy"] == "preset:default"
    assert uri_path(results(data)[0]) == ".repolicy.yaml"


def test_audit_notes_become_notices_and_invocation_notifications(repo: Repo) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write("x.log", "x")
    repo.add(".repolicy.yaml", "x.log")
    repo.commit("start")
    data = all_formats(repo, "audit")
    assert data["notes"]  # no upstream
    (invocation,) = data["sarif"]["runs"][0]["invocations"]
    assert [n["message"]["text"] for n in invocation["toolExecutionNotifications"]] == data["notes"]


@pytest.mark.parametrize("name", ["odd, name: 100%.log", "new\nline.log", b"bytes-\xfe.log"])
def test_audit_of_odd_names_in_history_and_on_disk(repo: Repo, name: str | bytes) -> None:
    repo.write(".repolicy.yaml", POLICY)
    repo.write(name, "x")
    add(repo, ".repolicy.yaml", os.fsdecode(name))
    repo.commit("with a log")
    repo.git("--literal-pathspecs", "rm", "-q", "--cached", "--", os.fsdecode(name))
    repo.commit("untrack it")
    data = all_formats(repo, "audit")
    assert found(data) == {("excluded", os.fsdecode(name)), ("not-ignored", os.fsdecode(name))}


def test_a_directory_violation_keeps_its_trailing_slash(repo: Repo) -> None:
    repo.write(".repolicy.yaml", 'require:\n  "datasets/*/v*/": [README.md]\n')
    repo.write("datasets/cats and dogs/v1/a.png", "x")
    repo.add(".repolicy.yaml", "datasets/cats and dogs/v1/a.png")
    data = all_formats(repo, "check")
    assert found(data) == {("missing-required", "datasets/cats and dogs/v1/")}
    uri = results(data)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "datasets/cats%20and%20dogs/v1/"


# -- check --push ------------------------------------------------------------------------------


def test_push_reports_every_pushed_blob_with_its_commit(repo: Repo, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "remote.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    repo.write("run 1/epoch:3.log", "x")
    repo.write("model.bin", size=2048)
    add(repo, "run 1/epoch:3.log", "model.bin")
    entered = repo.commit("train")
    repo.git("rm", "-q", "--cached", "model.bin")
    repo.commit("oops")
    head = repo.git("rev-parse", "HEAD").strip()
    base = repo.git("rev-parse", "origin/main").strip()
    stdin = f"refs/heads/main {head} refs/heads/main {base}\n".encode()
    data = all_formats(repo, "check", "--push", "origin", stdin=stdin)
    assert data["command"] == "push"
    assert (data["code"], found(data)) == (
        1,
        {("excluded", "run 1/epoch:3.log"), ("file-too-large", "model.bin")},
    )
    assert {r["properties"]["commit"] for r in results(data)} == {entered}
    assert data["sarif"]["runs"][0]["properties"]["budgets"] == data["budgets"]
    # A deletion sends nothing: an empty, valid log.
    stdin = f"(delete) {ZERO} refs/heads/gone {base}\n".encode()
    assert all_formats(repo, "check", "--push", "origin", stdin=stdin)["violations"] == []


def test_pre_receive_reports_in_every_format(repo: Repo, server: Server, tmp_path: Path) -> None:
    server.connect(repo)
    repo.write(".repolicy.yaml", POLICY)
    repo.add(".repolicy.yaml")
    repo.commit("start")
    repo.git("push", "-q", "origin", "main")
    # The hook reads git's lines once and reports them in each format, then
    # rejects the push on the JSON run's verdict.
    hook = server.path / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "lines=$(cat)\n"
        "for f in sarif github json; do\n"
        f'  printf "%s\\n" "$lines" | "{sys.executable}" -m repolicy check --pre-receive'
        f' --format $f > "{tmp_path}/report.$f"\n'
        "done\n"
    )
    hook.chmod(0o755)
    repo.write("logs/train, run:1.log", "x")
    add(repo, "logs/train, run:1.log")
    entered = repo.commit("logs")
    assert server.push(repo, "main").returncode != 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["command"] == "pre-receive"
    assert found(data) == {("excluded", "logs/train, run:1.log")}
    log = json.loads((tmp_path / "report.sarif").read_text())
    valid(log)
    assert_sarif_matches(log, data)
    assert log["runs"][0]["results"][0]["properties"]["commit"] == entered
    lines = (tmp_path / "report.github").read_text().rstrip("\n").split("\n")
    assert_github_matches(lines, data)


# -- escaping ----------------------------------------------------------------------------------


def test_escaping_is_the_toolkits() -> None:
    assert escape_data("100%\r\n::x, y:z") == "100%25%0D%0A::x, y:z"
    assert escape_property("100%\r\n::x, y:z") == "100%25%0D%0A%3A%3Ax%2C y%3Az"
    # `%` first: an escape already in the text is not taken for one.
    assert escape_data("%0A") == "%250A"
    for text in ["%0A%25", "a\nb", ":,%\r", "%%3A"]:
        assert unescape_property(escape_property(text)) == text
        assert unescape_data(escape_data(text)) == text


def test_a_file_name_cannot_inject_a_workflow_command() -> None:
    name = "x.log\n::add-mask::secret\n::warning::fake"
    report = Report("check", "preset:default", [Violation("excluded", "error", name, "msg")])
    lines = render_github(report).split("\n")
    assert len(lines) == 2
    assert parse_command(lines[0]) == ("error", {"file": name, "title": "excluded"}, "msg")


# -- commands that print no report -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["sarif", "github"])
@pytest.mark.parametrize(
    "args", [["fix"], ["fix", "--check"], ["explain", "a.pth"], ["rule"], ["install"]]
)
def test_commands_without_a_report_refuse_report_formats(
    repo: Repo, fmt: str, args: list[str]
) -> None:
    code, out, err = run_bytes(repo, *args, "--format", fmt)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and f"--format {fmt}" in err
    assert not (repo.path / ".gitignore").exists()


def test_the_hook_does_not_import_the_report_formats(repo: Repo) -> None:
    repo.write("a.log", "x")
    repo.add("a.log")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "repolicy", "check", "a.log"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "repolicy.report" in modules
    assert not {"repolicy.report.sarif", "repolicy.report.github", "json"} & modules


# -- the CI examples -------------------------------------------------------------------------------

EXAMPLES = ROOT / "examples"


def readme_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## In CI\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.S)


def test_the_readme_shows_the_example_files_as_they_are() -> None:
    blocks = readme_blocks()
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        assert (EXAMPLES / name).read_text() in blocks, name


def github_workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    return data


def gitlab_job() -> dict[str, Any]:
    """The default branch's audit job, with the variables it inherits."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    return {"variables": data["variables"], **data["repolicy-audit"]}


def test_the_github_workflow_fetches_history_and_uploads_sarif() -> None:
    job = github_workflow()["jobs"]["audit"]
    steps = job["steps"]
    (checkout,) = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0
    (upload,) = [
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")
    ]
    runs = [s["run"] for s in steps if "run" in s]
    (writes,) = [r for r in runs if "--format sarif" in r]
    assert f"> {upload['with']['sarif_file']} " in writes
    assert "repolicy audit --format github" in runs
    assert job["permissions"]["security-events"] == "write"


def test_the_gitlab_job_clones_the_whole_history() -> None:
    job = gitlab_job()
    assert str(job["variables"]["GIT_DEPTH"]) == "0"
    assert "repolicy audit" in job["script"]


def example_commands() -> list[str]:
    """The steps of both examples that run repolicy (installing it is the reader's business)."""
    job = github_workflow()["jobs"]["audit"]
    lines = [s["run"] for s in job["steps"] if "run" in s] + gitlab_job()["script"]
    return [line for line in lines if line.startswith("repolicy ")]


@pytest.mark.parametrize("dirty", [False, True], ids=["clean", "violation"])
def test_the_example_commands_run_as_written(repo: Repo, tmp_path: Path, dirty: bool) -> None:
    shim = tmp_path / "bin" / "repolicy"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m repolicy "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    repo.write(".repolicy.yaml", POLICY)
    repo.write("train.py", "print(1)\n")
    repo.add(".repolicy.yaml", "train.py")
    if dirty:
        repo.write("run.log", "x")
        repo.add("run.log")
    repo.commit("start")
    commands = example_commands()
    assert len(commands) == 3
    for line in commands:
        proc = subprocess.run(
            ["bash", "-e", "-c", line], cwd=repo.path, env=env, capture_output=True, check=False
        )
        gate = "sarif" not in line  # the SARIF step lets violations through to the upload
        assert proc.returncode == (1 if dirty and gate else 0), (line, proc.stderr)
    log = json.loads((repo.path / "repolicy.sarif").read_text())
    valid(log)
    assert bool(log["runs"][0]["results"]) is dirty


# -- control characters in names ---------------------------------------------------------------

CONTROL_NAMES = [
    "esc-\x1b[31mred\x1b[0m.log",
    "cr\roverwritten.log",
    "new\nline.log",
    b"bad\xe9.log",
]


@pytest.mark.parametrize("command", ["check", "audit"])
@pytest.mark.parametrize("name", CONTROL_NAMES, ids=repr)
def test_control_characters_in_names_never_reach_the_output_raw(
    repo: Repo, command: str, name: str | bytes
) -> None:
    path = os.fsdecode(name)
    repo.write(".repolicy.yaml", POLICY)
    repo.write(name, "x")
    add(repo, ".repolicy.yaml", path)
    if command == "audit":
        repo.commit("with a log")
    # git is the oracle for how the name is shown (its default quoting).
    shown_by_git = os.fsdecode(
        subprocess.run(
            ["git", "ls-files", "--", path], cwd=repo.path, capture_output=True, check=True
        ).stdout.rstrip(b"\n")
    )
    assert shown_by_git.startswith('"'), shown_by_git
    for fmt in ("text", "json", "sarif", "github"):
        proc = subprocess.run(
            [sys.executable, "-m", "repolicy", command, "--format", fmt],
            cwd=repo.path,
            capture_output=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        out = proc.stdout
        out.decode("utf-8")  # strict: every format is valid UTF-8
        assert b"\x1b" not in out and b"\r" not in out, (fmt, out)
        if fmt == "text":
            assert f"{shown_by_git}: error [excluded]".encode() in out, out
        if fmt == "json":
            paths = {v["path"] for v in json.loads(out)["violations"]}
            assert path in paths
    data = all_formats(repo, command)
    assert ("excluded", path) in found(data)


def test_explain_and_fix_json_is_valid_utf8_for_a_name_that_is_not(repo: Repo) -> None:
    name = b"bad\xe9.log"
    repo.write(".repolicy.yaml", POLICY)
    repo.write(name, "x")
    add(repo, ".repolicy.yaml", os.fsdecode(name))
    repo.commit("with a log")
    for args in (["explain", "--format", "json", os.fsdecode(name)], ["fix", "--format", "json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "repolicy", *args],
            cwd=repo.path,
            capture_output=True,
            check=False,
        )
        assert proc.returncode in (0, 1), proc.stderr
        text = proc.stdout.decode("utf-8")  # strict
        assert "bad\\udce9.log" in text, text
        json.loads(text)


def test_explain_and_fix_text_never_print_a_raw_control_character(repo: Repo) -> None:
    name = "esc-\x1b]0;title\x07.log"
    repo.write(".repolicy.yaml", POLICY)
    repo.write(name, "x")
    add(repo, ".repolicy.yaml", name)
    repo.commit("with a log")
    for args in (["explain", name], ["fix", "--check"]):
        proc = subprocess.run(
            [sys.executable, "-m", "repolicy", *args],
            cwd=repo.path,
            capture_output=True,
            check=False,
        )
        assert proc.returncode in (0, 1), proc.stderr
        assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout, proc.stdout
        assert b"\\033]0;title\\007.log" in proc.stdout, proc.stdout
