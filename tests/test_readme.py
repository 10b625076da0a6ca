"""The README's sessions and scripts run as written, in a fresh folder, printing what it shows.

The conventions are in `readme_blocks`: fenced `console` blocks are shell sessions (`$ ` commands,
the output the README promises after each), fenced `python` blocks are scripts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from readme_blocks import Block, Command, blocks, mismatch, parse_console, promised_prints

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CONSOLE = blocks(README, "console")
PYTHON = blocks(README, "python")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder like the repository's root after `make test`: ./processes and ./.venv."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "processes", work / "processes")
    if sys.prefix == sys.base_prefix:
        pytest.skip("the README's sessions start from a virtual environment (make test)")
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return work


def clean_env() -> dict[str, str]:
    """The environment without fulfil's own variables, the venv's scripts first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_session(commands: list[Command], work: Path, out: Path) -> list[tuple[str, int]]:
    """Run the commands in one bash session; each one's output (stdout and stderr) and exit."""
    out.mkdir()
    script = ["cd " + _quote(str(work))]
    for number, command in enumerate(commands):
        script += [
            "{ " + command.text,
            f"}} > {_quote(str(out / f'{number}.out'))} 2>&1 < /dev/null",
            f"echo $? > {_quote(str(out / f'{number}.rc'))}",
        ]
    subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input="\n".join(script) + "\n",
        text=True,
        env=clean_env(),
        timeout=600,
        check=False,
    )
    results = []
    for number in range(len(commands)):
        rc = out / f"{number}.rc"
        if not rc.exists():
            break
        results.append(((out / f"{number}.out").read_text(encoding="utf-8"), int(rc.read_text())))
    return results


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.mark.parametrize("block", CONSOLE, ids=lambda block: f"README.md:{block.line}")
def test_readme_session_runs_as_shown(block: Block, folder: Path, tmp_path: Path) -> None:
    """Every command of a README session exits as shown and prints what the README promises."""
    commands = block.commands()
    results = run_session(commands, folder, tmp_path / "out")
    assert len(results) == len(commands), "the session stopped early"
    problems = []
    for command, (output, status) in zip(commands, results, strict=True):
        where = f"README.md:{command.line}: $ {command.text}"
        if command.must_fail and status == 0:
            problems.append(f"{where}\nthe README shows an error, but it exited 0:\n{output}")
        elif not command.must_fail and status != 0:
            problems.append(f"{where}\nexited {status}:\n{output}")
        elif (why := mismatch(command.expected, output)) is not None:
            problems.append(f"{where}\n{why}")
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("block", PYTHON, ids=lambda block: f"README.md:{block.line}")
def test_readme_script_runs_as_shown(block: Block, folder: Path) -> None:
    """Every README python block runs and prints what its `print(...)  # TEXT` lines promise."""
    script = folder / "readme_block.py"
    script.write_text(block.text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    promised = tuple(["...", *promised_prints(block.text)])
    assert mismatch(promised, done.stdout) is None, done.stdout


def test_the_readme_has_the_tour_and_the_embedding_example() -> None:
    """The five-minute tour and the embedding example are runnable blocks, so they are tested."""
    assert any("fulfil start facebook_access" in block.text for block in CONSOLE)
    assert any("from fulfil.engine" in block.text for block in PYTHON)


def test_console_blocks_parse_commands_continuations_and_outputs() -> None:
    """`$ ` starts a command, a trailing backslash continues it, the lines after are output."""
    text = "$ a \\\n  --b c   # note\nout 1\n\n$ d\nerror: no\n"
    first, second = parse_console(text, first_line=10)
    assert first.line == 10 and first.text == "a \\\n  --b c   # note"
    assert first.expected == ("out 1",) and not first.must_fail
    assert second.line == 14 and second.expected == ("error: no",) and second.must_fail
    with pytest.raises(ValueError, match="line 3: output before any command"):
        parse_console("\n\nstray\n$ a\n")


def test_outputs_are_exact_unless_an_ellipsis_elides() -> None:
    """Without `...` the output must be exactly the lines shown; with it, those lines in order."""
    assert mismatch(("a", "b"), "a\nb\n") is None
    assert mismatch(("a", "b"), "a\nb\nc\n") is not None
    assert mismatch(("a", "...", "c"), "a\nb\nc\n") is None
    assert mismatch(("c", "...", "a"), "a\nb\nc\n") is not None  # order matters
    assert mismatch(("...", "error: ... Actions Taken ..."), "error: x Actions Taken y\n") is None
    assert mismatch(("...", "error: ... Actions Taken ..."), "error: Actions\n") is not None
