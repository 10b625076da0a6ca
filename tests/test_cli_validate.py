"""`fulfil validate`: the report, the exit codes, and no traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fulfil.cli import main

ORDER = Path(__file__).parent / "processes" / "orders" / "order.yaml"
MINI = """\
id: mini
version: 1
fields:
  note: {type: text}
states:
  open: {initial: true}
  done: {terminal: true}
transitions:
  - trigger: finish
    source: open
    dest: done
    actions:
      - append: {field: note, line: "done"}
"""


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_valid_file_prints_one_summary_line() -> None:
    """A valid file gives `OK  path  (id vN: S states, T transitions)` and exit 0."""
    code, out, _ = _run("validate", str(ORDER))
    assert code == 0
    assert out == f"OK  {ORDER}  (order v1: 5 states, 5 transitions)\n"


def test_warnings_are_counted_and_listed(tmp_path: Path) -> None:
    """Warnings do not fail validation; they are counted and printed with their location."""
    path = tmp_path / "mini.yaml"
    path.write_text(
        MINI.replace("  note: {type: text}\n", "  note: {type: text}\n  x: {type: int}\n")
    )
    code, out, _ = _run("validate", str(path))
    assert code == 0
    assert out.splitlines() == [
        f"OK  {path}  (mini v1: 2 states, 1 transitions, 1 warning)",
        f"{path}:5:3: warning: field 'x' is never used",
    ]


def test_errors_of_every_file_are_listed_sorted(tmp_path: Path) -> None:
    """Every error of every file is printed as FILE:LINE:COL: message, sorted; exit 1."""
    (tmp_path / "a.yaml").write_text(MINI.replace("dest: done", "dest: done\n    rols: []"))
    (tmp_path / "b.yaml").write_text(
        MINI.replace("version: 1", "version: x").replace("id: mini", "id: b")
    )
    (tmp_path / "c.yaml").write_text(MINI.replace("id: mini", "id: c"))
    code, out, err = _run("validate", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path / 'a.yaml'}:12:5: unknown key 'rols' in transition; did you mean 'roles'?",
        f"{tmp_path / 'b.yaml'}:2:10: expected an integer, got 'x'",
        f"OK  {tmp_path / 'c.yaml'}  (c v1: 2 states, 1 transitions)",
    ]
    assert err == "error: 2 errors in 2 of 3 files\n"


def test_default_is_the_processes_folder(tmp_path: Path) -> None:
    """Without paths, the --processes folder is validated."""
    (tmp_path / "mini.yaml").write_text(MINI)
    code, out, _ = _run("--processes", str(tmp_path), "validate")
    assert (code, out.split()[0:2]) == (0, ["OK", str(tmp_path / "mini.yaml")])


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    """A path that does not exist exits 2 with a clear message."""
    code, out, err = _run("validate", str(tmp_path / "nope.yaml"))
    assert (code, out) == (2, "")
    assert err == f"error: no such file or folder: {tmp_path / 'nope.yaml'}\n"


def test_folder_without_definitions_is_a_usage_error(tmp_path: Path) -> None:
    """An empty folder exits 2: there is nothing to validate."""
    code, _, err = _run("validate", str(tmp_path))
    assert code == 2 and "no process definitions found" in err


def test_broken_yaml_gives_no_traceback(tmp_path: Path) -> None:
    """Syntax errors, binary junk and Python tags are reported, never raised."""
    (tmp_path / "a.yaml").write_text("id: [\n")
    (tmp_path / "b.yaml").write_bytes(b"\xff\xfe\x00junk")
    (tmp_path / "c.yaml").write_text("id: !!python/object/apply:os.system ['echo hi']\n")
    code, out, _ = _run("validate", str(tmp_path))
    assert code == 1
    assert [line.split(": ", 1)[1].split(":")[0] for line in out.splitlines()] == [
        "the list opened here with `[` is never closed",
        "the file is not UTF-8 text (invalid start byte)",
        "tag '!!python/object/apply",
    ]


def test_same_process_in_two_files_is_an_error(tmp_path: Path) -> None:
    """Two files defining the same id and version: the second is reported."""
    (tmp_path / "a.yaml").write_text(MINI)
    (tmp_path / "b.yaml").write_text(MINI)
    code, out, _ = _run("validate", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'b.yaml'}:1:1: process 'mini' version 1 is also defined in" in out
