"""Sheets: the CSV files `sheet` actions append rows to, written afresh from the stored rows.

A step stores its sheet rows in its transaction; once it committed, the engine rewrites each
sheet it touched as `<folder>/<sheet>.csv` (a temporary file moved into place, so a reader never
sees half a file and a failed step never leaves one). The columns are the rows' names in the
order they first appear; text cells pass through `csvbatch.safe_cell` against formula injection.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..store.base import SheetRow
from .csvbatch import safe_cell

__all__ = ["check_sheet_name", "write_sheet"]

_SHEET_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_sheet_name(sheet: str) -> None:
    """Refuse a sheet name that is not a plain file name.

    Raises:
        UsageError: the name has characters other than letters, digits, `_`, `.` and `-`.
    """
    if not _SHEET_NAME.match(sheet):
        raise UsageError(f"sheet name '{sheet}' may use letters, digits, _ . - only")


def write_sheet(folder: Path, sheet: str, rows: Sequence[SheetRow]) -> Path:
    """Write `rows` as the sheet's CSV file in `folder` (made if missing); its path."""
    check_sheet_name(sheet)
    header = list(dict.fromkeys(name for row in rows for name, _ in row.values))
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, suffix=".csv.tmp")
    with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: _cell(value) for name, value in row.values})
    target = folder / f"{sheet}.csv"
    os.replace(temp, target)
    return target


def _cell(value: Any) -> Any:
    """A sheet cell: texts neutralised against formula injection."""
    return safe_cell(value) if isinstance(value, str) else value
