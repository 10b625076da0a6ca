"""Fulfilment list CSVs and the email carrying them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone

from fulfil.engine.expressions import compile_template
from fulfil.engine.expressions.exprtypes import ExprType
from fulfil.engine.expressions.templates import format_value
from fulfil.engine.messages.csvbatch import (
    attachment_name,
    build_csv,
    build_message,
    safe_cell,
)
from fulfil.engine.model import Recipient, Template
from hypothesis import given
from hypothesis import strategies as st


def test_header_and_rows_in_column_order() -> None:
    """The header is the columns; each row's cells follow the columns, not the mapping's order."""
    text = build_csv(["name", "address"], [{"address": "1 Main St", "name": "Ann"}])
    assert text == "name,address\r\nAnn,1 Main St\r\n"


def test_empty_batch_is_just_the_header() -> None:
    """With no rows the CSV still has its header."""
    assert build_csv(["name"], []) == "name\r\n"


def test_values_are_rendered() -> None:
    """None is empty, dates are ISO, lists are joined by '; ', booleans are true/false."""
    row = {
        "none": None,
        "day": date(2026, 3, 2),
        "when": datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        "contacts": ["a@example.com", "b@example.com"],
        "flag": True,
        "count": 3,
    }
    columns = ["none", "day", "when", "contacts", "flag", "count", "missing"]
    lines = build_csv(columns, [row]).split("\r\n")
    assert lines[1] == (
        ',2026-03-02,2026-03-02T08:30:00+00:00,"a@example.com, b@example.com",true,3,'
    )


def test_cell_values_nested_and_false() -> None:
    """Nested lists flatten with the same separator; False is 'false', not empty; a duration
    is written as a definition writes it."""
    assert format_value(["a", [date(2026, 1, 1), None]]) == "a, 2026-01-01, "
    assert format_value(("a", "b")) == "a, b"
    assert format_value(False) == "false"
    assert format_value(0) == "0"
    assert format_value(timedelta(days=14)) == "14d"


def test_a_list_reads_the_same_in_a_batch_csv_and_a_sheet() -> None:
    """One list rendering: a batch CSV's cell is what a template (a sheet's column, a message)
    writes for the same list."""
    template = compile_template(Template("{contacts}"), {"contacts": ExprType.LIST})
    written = template.render({"contacts": ["a@example.com", "b@example.com"]})
    cell = build_csv(["contacts"], [{"contacts": ["a@example.com", "b@example.com"]}])
    assert written == "a@example.com, b@example.com"
    assert list(csv.reader(io.StringIO(cell)))[1] == [written]


def test_cells_needing_quotes_are_quoted() -> None:
    """Commas, quotes and line breaks inside a cell are quoted as RFC 4180 says."""
    text = build_csv(["a", "b"], [{"a": 'say "hi", then', "b": "two\nlines"}])
    assert text == 'a,b\r\n"say ""hi"", then","two\nlines"\r\n'


cells = st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text(alphabet="xyz ")))


@given(st.lists(st.fixed_dictionaries({"a": cells, "b": cells}), max_size=5))
def test_csv_reads_back(rows: list[dict[str, object]]) -> None:
    """Reading the CSV back gives the header and every rendered cell (neutralised), row by row."""
    parsed = list(csv.reader(io.StringIO(build_csv(["a", "b"], rows), newline="")))
    assert parsed[0] == ["a", "b"]
    expected = [[safe_cell(format_value(r["a"])), safe_cell(format_value(r["b"]))] for r in rows]
    assert parsed[1:] == expected


def test_attachment_name() -> None:
    """The file is `<name>-<period>.csv`: the UTC date, plus the time when not midnight."""
    assert attachment_name("list_step", datetime(2026, 3, 2, tzinfo=UTC)) == (
        "list_step-2026-03-02.csv"
    )
    eight_ny = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert attachment_name("list_step", eight_ny) == "list_step-2026-03-02T1300.csv"
    assert attachment_name("Packages / to send!", datetime(2026, 3, 2, tzinfo=UTC)) == (
        "Packages-to-send-2026-03-02.csv"
    )


def test_build_message() -> None:
    """One recipient, their subject, the note as body, the CSV attached as text/csv."""
    text = build_csv(["name"], [{"name": "Ann"}])
    message = build_message(
        batch_id="batch-1",
        sender="fulfil@example.com",
        recipient=Recipient("printer@example.com", "Packages to send", "Please send package X"),
        name="list_step",
        period=datetime(2026, 3, 2, tzinfo=UTC),
        csv_text=text,
        sent_at=datetime(2026, 3, 9, 8, tzinfo=UTC),
    )
    assert message["To"] == "printer@example.com"
    assert message["From"] == "fulfil@example.com"
    assert message["Subject"] == "Packages to send"
    assert message["Message-ID"] == "<fulfil.batch-1@example.com>"
    assert message["Date"] == "Mon, 09 Mar 2026 08:00:00 +0000"
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content() == "Please send package X\n"
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "text/csv"
    assert part.get_filename() == "list_step-2026-03-02.csv"
    assert part.get_content() == text


def test_cells_a_spreadsheet_would_run_are_neutralised() -> None:
    """Texts starting with =, +, -, @, tab or CR get a leading `'` (OWASP CSV injection);
    numbers, including negative ones, stay numbers."""
    values = ["=1+2", "+1 555 0100", "-2+3", "@SUM(A1)", "\tx", "\rx", "-5", "+3.5", "plain"]
    row = {f"c{i}": v for i, v in enumerate(values)} | {"n": -7}
    columns = [*(f"c{i}" for i in range(len(values))), "n"]
    [cells] = list(csv.reader(io.StringIO(build_csv(columns, [row]).split("\r\n", 1)[1])))
    assert cells == [
        "'=1+2",
        "'+1 555 0100",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "-5",
        "+3.5",
        "plain",
        "-7",
    ]


def test_a_list_starting_with_a_formula_is_neutralised() -> None:
    """A list cell is judged as the joined text the spreadsheet sees."""
    text = build_csv(["tags"], [{"tags": ["=cmd", "x"]}])
    assert text == 'tags\r\n"\'=cmd, x"\r\n'
