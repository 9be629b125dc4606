"""The wheel users install: it carries the presets and works away from the source tree.

A snapshot of this checkout is built into an sdist and a wheel; the wheel is
installed with `--no-deps --no-index` into a fresh virtual environment that
sees the site-packages of the interpreter running the tests (for the declared
dependencies). Every command then
runs from that environment with its current directory outside the checkout, so
nothing can be found in the source tree by accident.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli, the same parser
    import tomli as tomllib

if TYPE_CHECKING:
    from .conftest import Repo

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "repolicy", "policies")
CACHES = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)
# CONTRACT.md section 1: the presets shipped inside the installed package.
CONTRACT_PRESETS = {"default", "github", "huggingface", "ml-checkpoints", "datasets-lfs", "dvc"}


def declared_dependencies() -> list[str]:
    """The distribution names `[project] dependencies` lists, normalized (PEP 503)."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        requirements = tomllib.load(file)["project"]["dependencies"]
    names = []
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert match, requirement
        names.append(re.sub(r"[-_.]+", "-", match.group(0)).lower())
    return names


def import_names(distribution: str) -> set[str]:
    """The top-level modules an installed distribution provides (PyYAML gives `yaml`)."""
    return {
        module
        for module, owners in importlib.metadata.packages_distributions().items()
        if any(re.sub(r"[-_.]+", "-", owner).lower() == distribution for owner in owners)
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout as it is on disk now, caches left out."""
    src = tmp_path_factory.mktemp("source") / "repolicy"
    src.mkdir()
    for name in PROJECT_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=CACHES)
        else:
            shutil.copy2(ROOT / name, src / name)
    return src


@pytest.fixture(scope="module")
def version(source: Path) -> str:
    text = (source / "repolicy" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "no __version__ in repolicy/__init__.py"
    return match.group(1)


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built as a release is: the sdist first, then the wheel from the unpacked sdist,
    so a file the sdist leaves out is missing from the wheel too."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist)],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (whl,) = dist.glob("repolicy-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel, with the dependencies of the
    environment running the tests and no index reached.

    `--system-site-packages` would show the base interpreter's packages, which
    is not where the dependencies are when the tests run inside a virtual
    environment themselves (`python -m venv` from a venv builds on the base).
    A `.pth` file names this interpreter's own site directories instead; its
    plain lines add those directories and run none of their `.pth` files, so
    the checkout's editable install stays out of sight.
    """
    path = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
    purelib = subprocess.run(
        [
            str(path / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = [p for p in (*site.getsitepackages(), site.getusersitepackages()) if os.path.isdir(p)]
    Path(purelib, "zz_tested_interpreter.pth").write_text("".join(f"{p}\n" for p in here))
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index"]
    installed = subprocess.run(
        # --ignore-installed: an install of the checkout seen through the .pth
        # file must not satisfy the wheel.
        [*pip, "--no-deps", "--ignore-installed", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        env=_venv_env(path),
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    modules = sorted(m for d in declared_dependencies() for m in import_names(d))
    deps = in_venv(path, "python", "-c", f"import {', '.join(modules)}", cwd=path)
    assert deps.returncode == 0, f"the dependencies are not importable: {deps.stderr}"
    return path


def _venv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def in_venv(venv: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a program of the virtual environment, as a user who activated it."""
    assert not cwd.resolve().is_relative_to(ROOT), cwd
    return subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=_venv_env(venv),
    )


def test_every_declared_dependency_is_imported_by_repolicy() -> None:
    """A dependency nothing imports still costs every user an install."""
    imported: set[str] = set()
    for file in (ROOT / "repolicy").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_bytes(), str(file))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.partition(".")[0])
    declared = declared_dependencies()
    assert declared, "no [project] dependencies read from pyproject.toml"
    unused = {}
    for distribution in declared:
        modules = import_names(distribution)
        assert modules, f"{distribution} is declared but not installed here"
        if not modules & imported:
            unused[distribution] = sorted(modules)
    assert not unused, f"declared in pyproject.toml, never imported under repolicy/: {unused}"


def test_wheel_ships_every_preset_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    presets = {p.stem for p in (ROOT / "policies").glob("*.yaml")}

    shipped = {
        Path(n).stem for n in names if n.startswith("repolicy/policies/") and n.endswith(".yaml")
    }
    assert shipped == presets
    assert shipped >= CONTRACT_PRESETS
    assert not any(n.startswith("policies/") for n in names), "presets leaked to site-packages/"
    assert {"repolicy/__init__.py", "repolicy/__main__.py", "repolicy/py.typed"} <= names


def test_installed_wheel_runs_from_the_virtual_environment(venv: Path, tmp_path: Path) -> None:
    where = in_venv(
        venv,
        "python",
        "-c",
        "import repolicy, repolicy.policy; print(repolicy.__file__); "
        "print(repolicy.policy.presets_dir())",
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    module_file, presets = (Path(line) for line in where.stdout.splitlines())
    assert module_file.resolve().is_relative_to(venv.resolve())
    assert presets.resolve().is_relative_to(venv.resolve())
    assert (presets / "default.yaml").is_file()


def test_version_from_the_console_script_and_the_module(
    venv: Path, version: str, tmp_path: Path
) -> None:
    script = in_venv(venv, "repolicy", "--version", cwd=tmp_path)
    module = in_venv(venv, "python", "-m", "repolicy", "--version", cwd=tmp_path)

    assert (script.returncode, script.stdout.strip()) == (0, f"repolicy {version}")
    assert (module.returncode, module.stdout.strip()) == (0, f"repolicy {version}")


def test_default_preset_applies_without_a_policy_file(venv: Path, repo: Repo) -> None:
    repo.write("weights.bin", size=101 * 1024 * 1024)  # sparse: GitHub refuses > 100 MiB
    repo.add("weights.bin")
    assert not (repo.path / ".repolicy.yaml").exists()

    result = in_venv(venv, "repolicy", "check", "--format", "json", cwd=repo.path)

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["policy"] == "preset:default"
    [violation] = [v for v in report["violations"] if v["check"] == "file-too-large"]
    assert violation["path"] == "weights.bin"
    assert violation["severity"] == "error"
    assert violation["size"] == 101 * 1024 * 1024


def test_extends_a_preset_shipped_in_the_wheel(venv: Path, repo: Repo) -> None:
    repo.write(".repolicy.yaml", "extends: [ml-checkpoints]\n")
    repo.write("outputs/run1/checkpoints/epoch_3.pth", os.urandom(1024))
    repo.add(".repolicy.yaml", "outputs/run1/checkpoints/epoch_3.pth")

    result = in_venv(venv, "repolicy", "check", "--format", "json", cwd=repo.path)

    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["policy"] == ".repolicy.yaml"
    assert {(v["check"], v["path"], v["rule"]) for v in report["violations"]} == {
        (
            "excluded",
            "outputs/run1/checkpoints/epoch_3.pth",
            "exclude: outputs/*/checkpoints/epoch_*.pth",
        )
    }
