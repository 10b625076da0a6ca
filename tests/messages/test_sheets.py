"""Sheets' CSV files (engine.messages.sheets): columns, safe cells, names, whole files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.errors import UsageError
from fulfil.engine.messages.sheets import write_sheet
from fulfil.engine.store.base import SheetRow

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_columns_in_first_seen_order_and_formulas_neutralised(tmp_path: Path) -> None:
    """The header is every column in the order rows first name it; a row without a column
    leaves it empty; a text that a spreadsheet would run as a formula is shown as text."""
    rows = [
        SheetRow("calls", "a-1", AT, (("client", "Acme"), ("note", "=HYPERLINK(1)"))),
        SheetRow("calls", "a-2", AT, (("agent", "ana"), ("client", "Beta"))),
    ]
    written = write_sheet(tmp_path / "sheets", "calls", rows)
    assert written == tmp_path / "sheets" / "calls.csv"
    assert written.read_text("utf-8").splitlines() == [
        "client,note,agent",
        "Acme,'=HYPERLINK(1),",
        "Beta,,ana",
    ]
    assert [p.name for p in written.parent.iterdir()] == ["calls.csv"]  # no temporary left


def test_a_sheet_name_is_a_plain_file_name(tmp_path: Path) -> None:
    """A name that could leave the folder is refused before anything is written."""
    with pytest.raises(UsageError, match="may use letters, digits"):
        write_sheet(tmp_path, "../escape", [])
    assert not list(tmp_path.iterdir())
