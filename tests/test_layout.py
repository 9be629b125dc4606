"""The shape of the code, as tests: git is asked in one place, checks live in checks/,
and module-level imports form no circle. Each test names the rule it keeps."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from repolicy.checks import REGISTRY, doc

PACKAGE = Path(__file__).resolve().parent.parent / "repolicy"


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        yield name, ast.parse(path.read_text(encoding="utf-8"), str(path))


def imported(node: ast.AST, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against the importing package
            base = module.rsplit(".", node.level)[0]
            return [f"{base}.{node.module}" if node.module else base]
        return [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
    return []


def test_only_the_git_package_runs_processes() -> None:
    found = []
    for name, tree in modules():
        if name == "repolicy.git" or name.startswith("repolicy.git."):
            continue
        for node in ast.walk(tree):
            for target in imported(node, name):
                if target in ("subprocess", "repolicy.git.process") or target.startswith(
                    "repolicy.git.process."
                ):
                    found.append(f"{name} imports {target}")
            if isinstance(node, ast.Attribute) and node.attr in ("_run", "_start", "Popen"):
                found.append(f"{name} uses .{node.attr}")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr.startswith(("system", "popen", "exec", "spawn", "posix_spawn"))
            ):
                found.append(f"{name} uses os.{node.attr}")
    assert found == []


def test_the_layout_test_sees_a_module_that_runs_git(tmp_path: Path) -> None:
    # The scan above must be able to fail: a stray call is caught.
    tree = ast.parse("import subprocess\ngit._run('status')\n")
    attrs = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    assert "_run" in attrs
    assert imported(tree.body[0], "repolicy.x") == ["subprocess"]


def asks_git(tree: ast.Module, module: str) -> list[str]:
    """Where a module could ask git: an import of `Git` (or the git package whole),
    and a function parameter named `git`."""
    found = []
    for node in ast.walk(tree):
        for target in imported(node, module):
            if target == "repolicy.git" and isinstance(node, ast.Import):
                found.append("imports repolicy.git")
            if target.startswith("repolicy.git.") and target.endswith(".Git"):
                found.append(f"imports {target}")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            if any(a is not None and a.arg == "git" for a in every):
                name = getattr(node, "name", "lambda")
                found.append(f"{name}() takes git")
    return found


def test_checks_judge_facts_and_never_ask_git() -> None:
    # A check is a function from facts to violations: the engine asks git
    # (repolicy/engine/), even when one question depends on another's answer.
    found = [
        f"{name}: {where}"
        for name, tree in modules()
        if name == "repolicy.checks" or name.startswith("repolicy.checks.")
        for where in asks_git(tree, name)
    ]
    assert found == []


def test_the_layout_test_sees_a_check_that_asks_git() -> None:
    # The scan above must be able to fail: each way of reaching git is caught,
    # under TYPE_CHECKING and inside a function too.
    source = (
        "from repolicy.git import Git\n"
        "if TYPE_CHECKING:\n"
        "    from repolicy.git.repo import Git as G\n"
        "import repolicy.git\n"
        "def staged(ctx, git, changes): ...\n"
        "def later(ctx, *, git=None):\n"
        "    from repolicy.git import TreeChange\n"
    )
    assert sorted(asks_git(ast.parse(source), "repolicy.checks.x")) == [
        "imports repolicy.git",
        "imports repolicy.git.Git",
        "imports repolicy.git.repo.Git",
        "later() takes git",
        "staged() takes git",
    ]


def violations_built(tree: ast.Module) -> Iterator[tuple[ast.Call, str | None]]:
    """Each `Violation(...)` call, with its literal `check=` name (None if not literal)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Violation"
        ):
            name = None
            for kw in node.keywords:
                if kw.arg == "check" and isinstance(kw.value, ast.Constant):
                    name = str(kw.value.value)
            yield node, name


def test_violations_are_built_only_by_the_checks() -> None:
    outside = [
        name
        for name, tree in modules()
        if not name.startswith("repolicy.checks")
        for _call in violations_built(tree)
    ]
    assert outside == []


def strings_of(tree: ast.Module) -> set[str]:
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


@pytest.mark.parametrize("check", sorted(REGISTRY))
def test_each_registered_check_is_produced_by_its_family_and_documented(check: str) -> None:
    family = REGISTRY[check].family
    tree = ast.parse((PACKAGE / "checks" / f"{family}.py").read_text(encoding="utf-8"))
    produced = {name for _call, name in violations_built(tree)}
    # A family may pass the name through a variable; the name still appears in its code
    # outside its docs.
    code_strings = strings_of(tree) - set(
        __import__(f"repolicy.checks.{family}", fromlist=["DOCS"]).DOCS.values()
    )
    assert check in produced or check in code_strings
    text = doc(check)
    for part in ("What it does", "Why it matters", "Example", "How to fix"):
        assert part in text


def test_every_check_name_in_the_code_is_registered() -> None:
    used = {
        name
        for modname, tree in modules()
        if modname.startswith("repolicy.checks")
        for _call, name in violations_built(tree)
        if name is not None
    }
    assert used - set(REGISTRY) == set()


def module_level_imports() -> dict[str, set[str]]:
    """Imports a module runs when it is imported (not those inside functions or
    under TYPE_CHECKING), between repolicy's own modules."""
    names = {name for name, _tree in modules()}
    graph: dict[str, set[str]] = {}
    for name, tree in modules():
        edges: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.If):
                continue  # `if TYPE_CHECKING:` imports nothing at run time
            for target in imported(node, name):
                while target and target not in names:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def circles(graph: dict[str, set[str]]) -> list[str]:
    found = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ importing its own submodules is how packages re-export.
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                found.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
    assert circles({"p": {"p.m"}, "p.m": {"q"}, "q": set()}) == []


def test_module_level_imports_form_no_circle() -> None:
    assert circles(module_level_imports()) == []


# json.dumps for other ends than a report: YAML string quoting in the policy
# init writes, and DVC's own manifest format, whose bytes its hash covers.
_JSON_ELSEWHERE = {"repolicy.init.detect", "repolicy.dvc.hashing"}


def test_every_command_prints_json_through_the_one_writer() -> None:
    found = []
    for name, tree in modules():
        if name == "repolicy.report.json" or name in _JSON_ELSEWHERE:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "json"
                and node.attr in ("dump", "dumps")
            ):
                found.append(f"{name}: json.{node.attr}")
    assert found == []
