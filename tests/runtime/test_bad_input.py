"""Bad data that used to get through: empty required texts, numbers too large, header breaks."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import DataError, NotFound
from fulfil.engine.messages.adapters import SmtpAdapter
from fulfil.engine.messages.smtp import SmtpSettings
from fulfil.engine.runtime import Engine
from runtime_support import CLIENT, OPS


@pytest.mark.parametrize("empty", ["", "   ", "\t\n"])
def test_a_required_text_given_empty_is_refused_and_nothing_stored(
    engine: Engine, empty: str
) -> None:
    """`client: ""` (or only spaces) does not satisfy `required: true`, at start or fire."""
    with pytest.raises(DataError, match="field 'client' is required: give it a value"):
        engine.start("access", {**CLIENT, "client": empty}, id="empty")
    with pytest.raises(NotFound):
        engine.show("empty")
    started = engine.start("access", CLIENT)
    with pytest.raises(DataError, match="field 'client_email' is required: give it a value"):
        engine.fire(started.id, "begin", {"client_email": empty}, **OPS)
    assert engine.show(started.id).data["client_email"] == CLIENT["client_email"]
    assert engine.show(started.id).state == "new"


@pytest.mark.parametrize(
    "number", [2**63, -(2**63) - 1, 10**4000], ids=["2**63", "-2**63-1", "10**4000"]
)
def test_an_int_field_beyond_64_bits_is_refused(engine: Engine, number: int) -> None:
    """A number no database column holds is refused with the range, not stored."""
    with pytest.raises(DataError, match="'attempt' must be a whole number between"):
        engine.start("access", {**CLIENT, "attempt": number})


def test_a_line_break_in_a_header_fails_the_message_at_once(
    engine: Engine, clock: ManualClock
) -> None:
    """A subject holding a CR/LF (from a field's value) is failed at the first attempt, not
    retried for hours: sending it again can never succeed."""
    started = engine.start("access", {**CLIENT, "client": "Acme\r\nBcc: all@example.com"})
    engine.fire(started.id, "begin", **OPS)
    engine.fire(started.id, "log_call", {"outcome": "no_answer"}, **OPS)
    # nothing listens on port 9: had the header passed, this would be a retryable failure
    adapter = SmtpAdapter(SmtpSettings(host="127.0.0.1", port=9, sender="ops@example.com"))
    [failed] = engine.deliver(adapter)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "line break" in failed.error and "Subject" in failed.error
    clock.advance(timedelta(days=1))
    assert engine.deliver(adapter) == []


def test_a_sheet_cell_a_spreadsheet_would_run_is_neutralised(
    engine: Engine, tmp_path: Path
) -> None:
    """A client named `=HYPERLINK(...)` reaches the sheet as text (a leading `'`), per OWASP."""
    formula = '=HYPERLINK("http://evil.test","x")'
    started = engine.start("access", {**CLIENT, "client": formula})
    engine.fire(started.id, "begin", **OPS)
    engine.fire(started.id, "log_call", {"outcome": "no_answer"}, **OPS)
    with (tmp_path / "sheets" / "calls.csv").open(newline="", encoding="utf-8") as sheet:
        rows = list(csv.reader(sheet))
    assert rows == [["Client", "Attempt"], ["'" + formula, "1"]]
