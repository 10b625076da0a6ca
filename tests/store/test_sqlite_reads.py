"""SQLite instance reads: a row read back is the row in the file, whatever was remembered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fulfil.engine.store import InstanceRecord, SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "reads.db")
    with store.transaction() as tx:
        tx.insert_instance(InstanceRecord("i-1", "p", 1, "a", {"n": 1}, T0, T0, T0))
    return store


def step(store: SQLiteStore, **changes: object) -> InstanceRecord:
    with store.transaction() as tx:
        record = tx.get_instance("i-1")
        assert record is not None
        new = replace(record, rev=record.rev + 1, **changes)  # type: ignore[arg-type]
        tx.update_instance(new, expected_rev=record.rev)
    return new


def read(store: SQLiteStore) -> InstanceRecord:
    with store.transaction(write=False) as tx:
        record = tx.get_instance("i-1")
    assert record is not None
    return record


def test_the_row_just_written_reads_back_as_written(store: SQLiteStore) -> None:
    """A step's update reads back equal to the record it wrote."""
    new = step(store, state="b", data={"n": 2, "note": "é"}, updated_at=T0 + timedelta(hours=1))
    assert read(store) == new


def test_a_row_changed_behind_the_store_is_read_afresh(store: SQLiteStore) -> None:
    """Raw SQL that changes a row without its revision is seen by the next read."""
    step(store, data={"n": 2})
    read(store)
    store.execute(
        "UPDATE instances SET data = ?, state = ? WHERE id = ?", ('{"n": 41}', "z", "i-1")
    )
    record = read(store)
    assert (record.state, record.data, record.rev) == ("z", {"n": 41}, 2)


def test_a_rolled_back_update_is_not_read(store: SQLiteStore) -> None:
    """An update in a transaction that rolled back leaves the old row to be read."""
    with pytest.raises(RuntimeError), store.transaction() as tx:
        record = tx.get_instance("i-1")
        assert record is not None
        tx.update_instance(replace(record, state="b", rev=2), expected_rev=1)
        raise RuntimeError("abandon the step")
    assert (read(store).state, read(store).rev) == ("a", 1)


def test_times_of_another_zone_read_back_in_utc(store: SQLiteStore) -> None:
    """A record written with times in another zone reads back with the same moments in UTC."""
    plus_two = timezone(timedelta(hours=2))
    later = (T0 + timedelta(hours=3)).astimezone(plus_two)
    step(store, updated_at=later, last_activity_at=later)
    record = read(store)
    assert record.updated_at == later
    assert record.updated_at.tzinfo is UTC
    assert record.last_activity_at.tzinfo is UTC
