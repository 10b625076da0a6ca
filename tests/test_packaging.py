"""The distribution: what the wheel holds, and fulfil installed as the README says, run elsewhere.

The slow tests build the wheel with setuptools' own backend (no warning may be printed), install
the repository into a fresh virtual environment with the README's `pip install` lines, and run
`fulfil validate`, `render` and `demo` from an empty folder.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_LEFT_OUT = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".*_cache",
    "build",
    "dist",
    "*.egg-info",
    "*.db",
    "*.db-*",
    "sheets",
    "demo-sheets",
    "*.html",
)


def LEFT_OUT(folder: str, names: list[str]) -> set[str]:
    """What the copy leaves out: build and run litter, and generated HTML pages (not the
    workbench's page templates)."""
    left = set(_LEFT_OUT(folder, names))
    if Path(folder).name == "templates":
        left = {name for name in left if not name.endswith(".html")}
    return left


def listed_packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["setuptools"]["packages"])


def test_every_engine_package_is_listed_for_the_wheel() -> None:
    """Each folder of Python modules under engine/ is a package pyproject.toml ships."""
    wanted = {
        "fulfil." + ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "engine").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert wanted - set(listed_packages()) == set()


def readme_install_lines() -> list[str]:
    """The `pip install` lines of the README's code blocks, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.split("  #")[0].strip() for line in text.splitlines()]
    return list(dict.fromkeys(line for line in lines if line.startswith("pip install ")))


def test_the_readme_installs_from_this_repository() -> None:
    """The README's pip lines install this checkout (`.`), never a name PyPI would resolve."""
    lines = readme_install_lines()
    assert "pip install ." in lines and "pip install '.[postgres]'" in lines
    for line in lines:
        assert shlex.split(line)[2].startswith("."), line


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository as a clean clone has it (no venv, no build output)."""
    copy = tmp_path_factory.mktemp("checkout") / "fulfil"
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT)
    return copy


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Path:
    """A fresh virtual environment where the README's `pip install` lines were run."""
    home = tmp_path_factory.mktemp("venv") / "env"
    made = run([sys.executable, "-m", "venv", str(home)], cwd=source)
    assert made.returncode == 0, made.stderr
    env = {**os.environ, "PATH": f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    for line in readme_install_lines():
        args = shlex.split(line)
        done = run([str(home / "bin" / "python"), "-m", *args, "--quiet"], cwd=source, env=env)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    return home


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, source: Path, venv: Path) -> tuple[Path, str]:
    """The wheel built by setuptools' backend, and everything the build printed."""
    python = str(venv / "bin" / "python")
    need = run([python, "-m", "pip", "install", "--quiet", "setuptools>=68"], cwd=source)
    assert need.returncode == 0, need.stderr
    out = tmp_path_factory.mktemp("dist")
    build = (
        "import sys, warnings; warnings.simplefilter('default');"
        "from setuptools import build_meta;"
        f"print(build_meta.build_wheel({str(out)!r}))"
    )
    # PYTHONDONTWRITEBYTECODE would make distutils warn that it skips byte-compiling
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = run([python, "-c", build], cwd=source, env=env)
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip().splitlines()[-1]
    return out / name, done.stdout + done.stderr


@pytest.mark.slow
def test_building_the_wheel_prints_no_warning(wheel: tuple[Path, str]) -> None:
    """setuptools builds the wheel without a warning (no ambiguous packages, no missing data)."""
    _, printed = wheel
    warnings = [line for line in printed.splitlines() if re.search(r"(?i)warn", line)]
    assert warnings == [], "\n".join(warnings)


@pytest.mark.slow
def test_the_wheel_holds_one_package_with_its_data(wheel: tuple[Path, str]) -> None:
    """Everything is under fulfil/ (no top-level engine or cli), schemas and processes too."""
    path, _ = wheel
    names = zipfile.ZipFile(path).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"fulfil", f"{path.name.split('-')[0]}-{path.name.split('-')[1]}.dist-info"}
    for package in listed_packages():
        folder = package.replace(".", "/") + "/"
        assert any(name.startswith(folder) for name in names), package
    for name in (
        "fulfil/cli.py",
        "fulfil/engine/commands/options.py",
        "fulfil/engine/runtime/engine.py",
        "fulfil/schemas/process.schema.json",
        "fulfil/processes/facebook_access.yaml",
        "fulfil/processes/facebook_access.scenarios.yaml",
    ):
        assert name in names


@pytest.mark.slow
def test_installed_fulfil_has_no_top_level_engine_or_cli(venv: Path) -> None:
    """site-packages gets `fulfil` only: no module called `engine` or `cli` to collide with."""
    python = str(venv / "bin" / "python")
    where = run([python, "-c", "import fulfil, sys; print(fulfil.__file__)"], cwd=venv)
    package = Path(where.stdout.strip()).parent
    site = package.parent
    assert site.name == "site-packages" and package.name == "fulfil"
    for name in ("engine", "engine.py", "cli", "cli.py", "schemas", "processes"):
        assert not (site / name).exists(), name
    driver = run([python, "-c", "import psycopg"], cwd=venv)
    assert driver.returncode == 0, "the [postgres] extra did not install psycopg"


@pytest.mark.slow
def test_installed_fulfil_validates_renders_and_runs_the_demo_anywhere(
    venv: Path, tmp_path: Path
) -> None:
    """From an empty folder: validate, render and demo work on the processes shipped inside."""
    fulfil = str(venv / "bin" / "fulfil")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env.pop("PYTHONPATH", None)
    validated = run([fulfil, "validate"], cwd=tmp_path, env=env)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "OK  " in validated.stdout and "facebook_access.yaml" in validated.stdout
    assert "the processes shipped with fulfil are used" in validated.stderr
    assert "site-packages" in validated.stderr
    drawn = run([fulfil, "render", "facebook_access", "--format", "mermaid"], cwd=tmp_path, env=env)
    assert drawn.returncode == 0 and "stateDiagram-v2" in drawn.stdout, drawn.stderr
    page = run(
        [fulfil, "render", "facebook_access", "--format", "html", "-o", "fa.html"],
        cwd=tmp_path,
        env=env,
    )
    assert page.returncode == 0 and "<svg" in (tmp_path / "fa.html").read_text(encoding="utf-8")
    demo = run([fulfil, "demo"], cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "8 of 8 processes ran through their scenario" in demo.stdout
    assert (tmp_path / "demo.db").is_file() and (tmp_path / "demo-report.html").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    own = run([fulfil, "--processes", str(mine), "validate"], cwd=tmp_path, env=env)
    assert "shipped" not in own.stderr  # a folder given is used, even an empty one
