"""`fulfil render`: by file or process id, every format, to stdout or a file, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.render import FORMATS
from fulfil.engine.render import svg as svg_module

FOLDER = Path(__file__).parent / "processes" / "render"
TICKET = FOLDER / "ticket.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--processes", str(FOLDER), "render", *args])
    return result.exit_code, result.stdout, result.stderr


def test_render_a_file_as_mermaid_by_default() -> None:
    """A .yaml path renders that file; Mermaid is the default format."""
    code, out, _ = run(str(TICKET))
    assert code == 0
    assert out.splitlines()[3] == "stateDiagram-v2"
    assert "open --> closed : solve [solved == true] (agent)" in out


def test_render_a_process_id_from_the_processes_folder() -> None:
    """A process id is looked up in the --processes folder."""
    code, out, _ = run("ticket", "--format", "dot")
    assert code == 0
    assert out.startswith('digraph "ticket" {')
    assert '<FONT POINT-SIZE="12" COLOR="#b35c00">timer 3d chase → chase</FONT>' in out


def test_render_html_to_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-o writes the page to a file; text from the YAML is escaped in it."""
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    target = tmp_path / "ticket.html"
    code, out, err = run("ticket", "--format", "html", "-o", str(target))
    assert (code, out) == (0, "")
    assert err == f"wrote {target}\n"
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "&lt;script&gt;" in page
    assert "<script" not in page


def test_svg_without_graphviz_exits_2_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `dot`, svg is a usage error (exit 2) saying how to install Graphviz."""
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    code, out, err = run("ticket", "--format", "svg")
    assert code == 2
    assert out == ""
    assert "apt-get install graphviz" in err
    assert "Traceback" not in err


def test_unknown_format_is_a_choice_error() -> None:
    """An unknown format is refused by click with exit code 2, listing the formats."""
    code, _, err = run("ticket", "--format", "png")
    assert code == 2
    assert "'png' is not one of 'mermaid', 'dot', 'svg', 'html'" in err


def test_cli_formats_match_the_registry() -> None:
    """The CLI offers exactly the registered formats."""
    option = next(p for p in main.commands["render"].params if p.name == "fmt")
    assert tuple(option.type.choices) == FORMATS  # type: ignore[attr-defined]


def test_unknown_process_id_suggests_the_close_one() -> None:
    """An unknown id fails with exit 1 and a did-you-mean hint, no traceback."""
    code, _, err = run("tickt")
    assert code == 1
    assert err == "error: unknown process 'tickt'; did you mean 'ticket'?\n"


def test_missing_yaml_file_is_a_usage_error(tmp_path: Path) -> None:
    """A .yaml path that does not exist is a usage error."""
    code, _, err = run(str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err == f"error: no such file: {tmp_path / 'nope.yaml'}\n"


def test_invalid_definition_exits_1_with_location(tmp_path: Path) -> None:
    """An invalid file: every error with FILE:LINE:COL on stderr, then exit 1."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(TICKET.read_text().replace("dest: closed", "dest: closd"))
    code, _, err = run(str(broken))
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"{broken}:30:11: error: transition 'solve' goes to")
    assert "'closd'" in lines[0]
    assert lines[-1] == "error: cannot render an invalid definition (1 error)"


def test_fulfil_dot_off_renders_the_builtin_drawing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`FULFIL_DOT=off fulfil render X --format html` draws without Graphviz, as docs/diagrams.md
    says, even where `dot` is installed."""
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setenv("FULFIL_DOT", "off")
    target = tmp_path / "ticket.html"
    code, _, _ = run("ticket", "--format", "html", "-o", str(target))
    page = target.read_text(encoding="utf-8")
    assert code == 0
    assert "the diagram below is fulfil's built-in drawing" in page
    assert 'class="node"' in page
