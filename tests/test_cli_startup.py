"""What `fulfil show` and `fulfil fire` load when they start: only what they use.

A person waits for every module a command imports. With the definitions cached, `show` reads
one instance and prints it: it needs the store, the runtime and the model, not the definition
checkers, the workbench, the language server, the diagrams, the model checker, the scenarios,
the other commands, nor the libraries behind them; and the model's classes come unpickled
from the cache, so they need not have their dataclass methods compiled (`engine.frozen`).
Not timed (see bench/bench_cli.py): what is pinned is what is imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-03-02T09:00:00Z"
START = '{"client": "Acme Motors", "client_email": "owner@acme.example", "fr_number": "FR-1"}'

# run the CLI in this process, then say what it imported and which model classes it built
PROBE = """
import json, runpy, sys
sys.argv = ["fulfil", *sys.argv[1:]]
try:
    runpy.run_module("fulfil.cli", run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
from fulfil.engine.frozen import is_built
def built(module):
    found = sys.modules.get(module)
    return [n for n, c in vars(found or object).items() if isinstance(c, type)
            and c.__module__ == module and "__dataclass_fields__" in vars(c) and is_built(c)]
compiled = built("fulfil.engine.expressions") + built("fulfil.engine.runtime.compiled")
print(json.dumps({"modules": sorted(sys.modules), "built": built("fulfil.engine.model"),
                  "compiled": compiled}), file=sys.stderr)
"""

# engine parts and modules a cached `show` or `fire` never needs
ENGINE_PARTS = ("web", "lsp", "render", "checking", "testing", "worker")
ENGINE_MODULES = (
    "definition.yamlsource",
    "definition.builder",
    "definition.validate",
    "commands.ops",
    "commands.jobs",
    "commands.people",
    "commands.schema",
    "commands.serve",
    "commands.lsp",
    "commands.validation",
    "runtime.search",
    "runtime.interventions",
    "runtime.migration",
    "runtime.listening",
    "runtime.verify",
    "runtime.lanes",
    "runtime.asyncengine",
    "runtime.assigning",
    "messages.delivering",
    "messages.smtp",
    "store.memory",
    "store.postgres",
)
LIBRARIES = ("yaml", "jsonschema", "networkx", "fastapi", "starlette", "pygls", "jinja2")
LIBRARIES += ("hypothesis", "psycopg", "asyncio", "zoneinfo")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A folder with the shipped processes, a store with two instances, the cache warm."""
    shutil.copytree(ROOT / "processes", tmp_path / "processes")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env.update(FULFIL_NOW=NOW, FULFIL_CACHE_DIR=str(tmp_path / "cache"))
    for _ in range(2):
        cli(env, tmp_path, "start", "facebook_access", "--as", "alex", "--data", START)
    return env


def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "fulfil.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def loaded(env: dict[str, str], cwd: Path, *args: str) -> tuple[set[str], list[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    return set(probe["modules"]), probe["built"], probe["compiled"]


def unwanted(modules: set[str]) -> list[str]:
    ours = [f"fulfil.engine.{name}" for name in (*ENGINE_PARTS, *ENGINE_MODULES)]
    return sorted(
        m
        for m in modules
        if any(m == name or m.startswith(f"{name}.") for name in (*ours, *LIBRARIES))
    )


@pytest.mark.parametrize(
    "command",
    [
        ("show", "facebook_access-1"),
        ("show", "facebook_access-1", "--json"),
        ("fire", "facebook_access-2", "begin", "--as", "sam"),
    ],
    ids=["show", "show --json", "fire"],
)
def test_a_cached_command_imports_only_what_it_uses(
    env: dict[str, str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    """With the cache warm, `show` and `fire` import none of the parts they do not use."""
    modules, _, _ = loaded(env, tmp_path, *command)
    assert "fulfil.engine.runtime.engine" in modules  # the probe ran the command
    assert unwanted(modules) == []


def test_a_cached_show_builds_no_model_class(env: dict[str, str], tmp_path: Path) -> None:
    """The processes come unpickled: no class of the model compiles its dataclass methods
    (the model's own default values are made `ahead`)."""
    _, built, compiled = loaded(env, tmp_path, "show", "facebook_access-1")
    assert built == []
    assert compiled == []  # nor compiles an expression: a show runs none


def test_the_other_commands_are_still_there(env: dict[str, str], tmp_path: Path) -> None:
    """The commands whose modules load on demand are listed in the help and run."""
    listed = cli(env, tmp_path, "--help")
    for name in ("list", "cancel", "migrate", "jobs", "people", "schema", "serve", "lsp"):
        assert f"  {name} " in listed
    assert cli(env, tmp_path, "list", "--json").count('"id"') == 2
