"""The loader: YAML text -> checked Process, files, folders and the catalog."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from fulfil.engine.definition.loader import load_directory, load_file, load_text
from fulfil.engine.errors import DefinitionError, NotFound, UsageError
from fulfil.engine.model import AppendLine, Notify, SetField
from hypothesis import given, settings
from hypothesis import strategies as st

ORDERS = Path(__file__).parents[1] / "processes" / "orders"
ORDER = ORDERS / "order.yaml"

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


def test_order_fixture_builds_the_model() -> None:
    """The fixture's ids, counts, types and defaults reach the model."""
    process = load_file(ORDER).process
    assert (process.id, process.version, process.title) == ("order", 1, "Customer order")
    assert [s.name for s in process.states] == [
        "received",
        "paid",
        "shipped",
        "closed",
        "cancelled",
    ]
    assert process.initial.name == "received"
    assert process.find_field("payment").values == ("card", "invoice")  # type: ignore[union-attr]
    assert process.find_field("quantity").default == 1  # type: ignore[union-attr]
    assert process.find_role("clerk").manager == "supervisor"  # type: ignore[union-attr]


def test_durations_become_timedeltas() -> None:
    """`after`, `sla.due` and `escalate_after` are parsed into timedelta."""
    process = load_file(ORDER).process
    paid, received = process.find_state("paid"), process.find_state("received")
    assert paid is not None and received is not None and received.sla is not None
    assert paid.timers[0].after == timedelta(days=2)
    assert (received.sla.due, received.sla.escalate_after) == (
        timedelta(hours=24),
        timedelta(days=1),
    )


def test_calendar_weekdays_become_numbers() -> None:
    """Weekday names become 0 (Monday) to 6, and hours split into start and end."""
    calendar = load_file(ORDER).process.calendars[0]
    assert calendar.weekdays == (0, 1, 2, 3, 4)
    assert (calendar.start, calendar.end, calendar.holidays) == ("09:00", "17:00", ("2026-12-25",))


def test_star_source_expands_to_every_non_terminal_state() -> None:
    """`source: "*"` lists each non-terminal state, in declaration order."""
    cancel = load_file(ORDER).process.transitions[-1]
    assert cancel.sources == ("received", "paid", "shipped")


def test_actions_are_typed() -> None:
    """Actions become SetField, AppendLine, Notify with their templates."""
    transitions = {t.trigger: t for t in load_file(ORDER).process.transitions}
    assert isinstance(transitions["pay"].actions[0], AppendLine)
    notify = transitions["remind"].actions[0]
    assert isinstance(notify, Notify) and notify.to == ("clerk",) and notify.cc == ("supervisor",)
    assert isinstance(transitions["ship"].actions[0], SetField)
    assert isinstance(transitions["ship"].actions[1], Notify)
    assert transitions["ship"].actions[1].to == ("customer",)  # type: ignore[union-attr]


def test_model_objects_carry_their_locations() -> None:
    """States point at their key, transitions at their list item, expressions inside quotes."""
    process = load_file(ORDER).process
    assert str(process.find_state("paid").loc) == f"{ORDER}:28:3"  # type: ignore[union-attr]
    pay = process.transitions[0]
    assert (pay.loc.line, pay.loc.column, pay.loc.path) == (47, 5, ("transitions", 0))
    assert pay.guard is not None and (pay.guard.loc.line, pay.guard.loc.column) == (50, 13)


def test_source_hash_is_the_sha256_of_the_text() -> None:
    """The hash identifies the exact text of a version."""
    text = ORDER.read_text(encoding="utf-8")
    assert load_text(text).process.source_hash == hashlib.sha256(text.encode()).hexdigest()


def test_warnings_are_returned_not_raised() -> None:
    """An unused field is a warning; the process still loads."""
    loaded = load_text(
        MINI.replace("  note: {type: text}\n", "  note: {type: text}\n  spare: {type: int}\n")
    )
    assert [w.message for w in loaded.warnings] == ["field 'spare' is never used"]
    assert all(not w.is_error for w in loaded.warnings)


def test_all_schema_errors_are_reported_together() -> None:
    """Several mistakes give several problems, sorted by location."""
    text = MINI.replace("version: 1", "version: x").replace(
        "    dest: done", "    dest: done\n    rols: []"
    )
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "m.yaml")
    assert [str(p.location) for p in caught.value.errors] == ["m.yaml:2:10", "m.yaml:12:5"]
    assert "did you mean 'roles'?" in caught.value.errors[1].message


def test_unknown_process_in_task_is_an_error_when_known_processes_given() -> None:
    """Tasks must start a known process when the caller says which exist."""
    text = MINI + "tasks:\n  t: {process: nowhere}\n"
    assert load_text(text).process.tasks[0].process == "nowhere"
    with pytest.raises(DefinitionError, match="unknown process 'nowhere'"):
        load_text(text, known_processes=["mini"])


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_directory_builds_a_catalog(tmp_path: Path) -> None:
    """Every *.yaml except *.scenarios.yaml is loaded; get() finds by id and version."""
    _write(tmp_path, "mini.yaml", MINI)
    _write(tmp_path, "mini2.yaml", MINI.replace("version: 1", "version: 2"))
    _write(tmp_path, "mini.scenarios.yaml", "not: a process\n")
    catalog = load_directory(tmp_path)
    assert catalog.ids == ["mini"] and len(catalog) == 2
    assert catalog.get("mini").version == 2
    assert catalog.get("mini", 1).version == 1


def test_catalog_lookup_errors_name_what_exists(tmp_path: Path) -> None:
    """An unknown id suggests the closest one; an unknown version lists the versions."""
    _write(tmp_path, "mini.yaml", MINI)
    catalog = load_directory(tmp_path)
    with pytest.raises(NotFound, match="unknown process 'minni'; did you mean 'mini'"):
        catalog.get("minni")
    with pytest.raises(NotFound, match="has no version 5; it has 1"):
        catalog.get("mini", 5)


def test_load_directory_collects_the_errors_of_every_file(tmp_path: Path) -> None:
    """Two broken files give the problems of both."""
    _write(tmp_path, "a.yaml", MINI.replace("version: 1", "version: x"))
    _write(tmp_path, "b.yaml", MINI.replace("dest: done", "dest: dnoe"))
    with pytest.raises(DefinitionError) as caught:
        load_directory(tmp_path)
    files = {Path(p.location.file).name for p in caught.value.errors}
    assert files == {"a.yaml", "b.yaml"}


def test_tasks_may_start_processes_of_the_same_folder(tmp_path: Path) -> None:
    """known_processes is the set of ids declared in the folder."""
    _write(tmp_path, "mini.yaml", MINI)
    _write(
        tmp_path,
        "parent.yaml",
        MINI.replace("id: mini", "id: parent") + "tasks:\n  t: {process: mini}\n",
    )
    assert load_directory(tmp_path).get("parent").tasks[0].process == "mini"
    _write(
        tmp_path,
        "other.yaml",
        MINI.replace("id: mini", "id: other") + "tasks:\n  t: {process: mnii}\n",
    )
    with pytest.raises(DefinitionError, match="unknown process 'mnii'"):
        load_directory(tmp_path)


def test_same_id_and_version_in_two_files_is_refused(tmp_path: Path) -> None:
    """Two files may not both define mini v1."""
    _write(tmp_path, "a.yaml", MINI)
    _write(tmp_path, "b.yaml", MINI)
    with pytest.raises(DefinitionError, match="also defined in"):
        load_directory(tmp_path)


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    """A folder that does not exist is the caller's mistake, not the definition's."""
    with pytest.raises(UsageError, match="no such folder"):
        load_directory(tmp_path / "nope")


def test_non_utf8_file_is_a_definition_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give a located problem, not a UnicodeDecodeError."""
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"id: \xff\n")
    with pytest.raises(DefinitionError, match="not UTF-8"):
        load_file(path)


def test_shipped_processes_all_load() -> None:
    """Every definition in processes/ loads with the others as its known processes."""
    folder = Path(__file__).resolve().parents[2] / "processes"
    catalog = load_directory(folder)
    assert len(catalog) == len(list(folder.glob("*.yaml"))) - len(
        list(folder.glob("*.scenarios.yaml"))
    ) - len(list(folder.glob("people.yaml")))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mangled_definitions_fail_only_with_definition_errors(data: st.DataObject) -> None:
    """Deleting, doubling or replacing text anywhere raises nothing but DefinitionError."""
    text = ORDER.read_text(encoding="utf-8")
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    middle = data.draw(st.sampled_from(["", text[start:end] * 2, "x", ": ", "- ", "{", "1", "'"]))
    try:
        load_text(text[:start] + middle + text[end:])
    except DefinitionError as exc:
        assert exc.errors
