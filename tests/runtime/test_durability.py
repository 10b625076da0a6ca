"""Atomic steps, concurrent writers, version pinning and tamper detection."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file, load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.expressions import CompiledTemplate, EvaluationError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore, Store
from runtime_support import CLIENT, FIXTURES, OPS, T0
from test_engine import snapshot, started


def test_failure_inside_an_action_leaves_nothing(
    engine: Engine, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template failing mid-way through the actions stores no part of the step."""
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    sheet = (tmp_path / "sheets" / "calls.csv").read_text()
    before = snapshot(store, instance)
    real = CompiledTemplate.render

    def failing(self: CompiledTemplate, variables: object) -> str:
        if self.source.startswith("Email"):  # the notify subject, after set/activity/append
            raise EvaluationError(self.source, "injected failure")
        return real(self, variables)  # type: ignore[arg-type]

    monkeypatch.setattr(CompiledTemplate, "render", failing)
    with pytest.raises(EvaluationError, match="injected"):
        engine.fire(instance, "log_call", {"outcome": "left_voicemail"}, **OPS)
    assert snapshot(store, instance) == before
    assert (tmp_path / "sheets" / "calls.csv").read_text() == sheet


def test_two_engines_on_one_file_lose_no_update(catalog: Catalog, tmp_path: Path) -> None:
    """Two engines firing concurrently on one SQLite file: every increment survives."""
    path = tmp_path / "shared.db"
    first = Engine(catalog, store=SQLiteStore(path), clock=ManualClock(T0), sheets_dir=tmp_path)
    second = Engine(catalog, store=SQLiteStore(path), clock=ManualClock(T0), sheets_dir=tmp_path)
    instance = started(first)
    assert second.show(instance).state == first.show(instance).state == "in_progress"
    errors: list[BaseException] = []

    def work(engine: Engine) -> None:
        try:
            for _ in range(15):
                engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert first.show(instance).data["attempt"] == 30
    assert second.verify().ok


def test_pinned_version_keeps_running_after_the_catalog_moves_on(tmp_path: Path) -> None:
    """An instance started on v1 fires on v1 (from the stored source) once the catalog has v2."""
    text = (FIXTURES / "access.yaml").read_text()
    v1 = load_text(text, "access.yaml").process
    v2_text = text.replace("version: 1", "version: 2").replace(
        'Call {attempt}: {outcome}"}\n      - notify', 'v2 call {attempt}"}\n      - notify'
    )
    v2 = load_text(v2_text, "access.yaml").process
    store = SQLiteStore(tmp_path / "p.db")
    source = tmp_path / "access.yaml"
    source.write_text(text)
    v1_from_file = load_file(source).process
    old = Engine(Catalog((v1_from_file,)), store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    instance = started(old)
    new = Engine(Catalog((v2,)), store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    view = new.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    assert view.version == 1 and view.data["log"].endswith("Call 1: no_answer")
    fresh = new.start("access", CLIENT)
    new.fire(fresh.id, "begin", **OPS)
    assert (
        new.fire(fresh.id, "log_call", {"outcome": "no_answer"}, **OPS)
        .data["log"]
        .endswith("v2 call 1")
    )
    assert v1.source_hash == v1_from_file.source_hash


def test_same_version_changed_content_is_refused(tmp_path: Path) -> None:
    """Starting on a version whose stored text differs asks to bump `version`."""
    text = (FIXTURES / "access.yaml").read_text()
    store = SQLiteStore(tmp_path / "c.db")
    first = Engine(
        Catalog((load_text(text, "a.yaml").process,)),
        store=store,
        clock=ManualClock(T0),
        sheets_dir=tmp_path,
    )
    first.start("access", CLIENT)
    edited = load_text(text.replace("title: Obtain", "title: Get"), "a.yaml").process
    second = Engine(Catalog((edited,)), store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    with pytest.raises(DefinitionError, match="bump `version`"):
        second.start("access", CLIENT)


def test_tampered_event_is_reported(catalog: Catalog, tmp_path: Path) -> None:
    """Editing a stored event or the instance's data with raw SQL is found by verify: an event
    before a verify mark by `--full` (a verify after one that passed reads only what changed)."""
    store = SQLiteStore(tmp_path / "t.db")
    engine = Engine(catalog, store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    other = started(engine)
    assert engine.verify().ok and engine.verify().checked == 2
    store.execute(
        "UPDATE events SET data = ? WHERE instance = ? AND seq = 3",
        (
            '{"attempt": 5, "outcome": "no_answer", "log": "2026-03-02: Call 1: no_answer"}',
            instance,
        ),
    )
    report = engine.verify(full=True)
    assert not report.ok
    messages = [str(p) for p in report.problems]
    assert f"{instance} event 3: its content does not match its hash (edited?)" in messages
    assert any("field 'attempt' is stored as 1, replay gives 5" in m for m in messages)
    assert all(p.instance == instance for p in report.problems)
    store.execute("UPDATE instances SET state = 'closed' WHERE id = ?", (other,))
    assert any("stored state 'closed'" in str(p) for p in engine.verify(other).problems)


def test_deleted_event_breaks_the_chain(catalog: Catalog, tmp_path: Path) -> None:
    """Removing an event from the middle of a history is reported."""
    store = SQLiteStore(tmp_path / "d.db")
    engine = Engine(catalog, store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    store.execute("DELETE FROM events WHERE instance = ? AND seq = 2", (instance,))
    messages = [str(p) for p in engine.verify(instance).problems]
    assert f"{instance} event 3: event 2 before it is missing (deleted?)" in messages
