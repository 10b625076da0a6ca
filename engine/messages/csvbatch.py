"""Fulfilment lists: the CSV of a batch and the email that carries it.

`build_csv` renders the instances of one batch period as CSV text, the chosen fields as columns,
every text cell passed through `safe_cell` (OWASP's CSV injection guidance: a cell starting with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it as
text instead of running it as a formula; plain numbers such as `-5` stay numbers);
`build_message` wraps it as an attachment to one recipient with the recipient's subject and
note. Both are pure: the runtime decides what goes in a batch and delivers the message (through
the outbox and `engine.messages.smtp`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from ..expressions.templates import format_value
from ..model import Recipient

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = [
    "CSV_CONTENT_TYPE",
    "attachment_name",
    "build_csv",
    "build_message",
    "safe_cell",
]

CSV_CONTENT_TYPE = "text/csv"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula, prefixed with `'` so it is shown as text.

    Cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return are neutralised, except
    a plain number (`-5`, `+3.5`), which no spreadsheet runs.
    """
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def build_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """The CSV text of a batch: a header of `columns`, then one line per row.

    A column missing from a row is an empty cell; keys not in `columns` are left out. Values are
    written as templates and sheets write them (`format_value`: a list's items joined by `", "`).
    Lines end with CRLF (RFC 4180) and cells are quoted only when they need it. Text cells go
    through `safe_cell`.

    Args:
        columns: the header, in order.
        rows: one mapping of field name to value per instance.

    Returns:
        The CSV text, header included even when there are no rows.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(format_value(row.get(column))) for column in columns])
    return out.getvalue()


def attachment_name(name: str, period: datetime) -> str:
    """The file name `<name>-<period>.csv` for the batch of the period starting at `period`.

    The period is written as its UTC date (`2026-03-02`), with the time added (`2026-03-02T0800`)
    when the period does not start at midnight UTC, so batches more frequent than daily still get
    distinct names. Characters unsafe in file names become `-`.
    """
    moment = period.astimezone(UTC) if period.tzinfo else period
    label = moment.date().isoformat()
    if moment.time() != time(0):
        label += moment.strftime("T%H%M")
    safe = _UNSAFE_NAME.sub("-", name).strip("-") or "batch"
    return f"{safe}-{label}.csv"


def build_message(
    *,
    batch_id: str,
    sender: str,
    recipient: Recipient,
    name: str,
    period: datetime,
    csv_text: str,
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The email that sends one batch's CSV to one recipient.

    Args:
        batch_id: a stable id for this batch and recipient (e.g. the outbox id); it becomes the
            Message-ID, so a retried send can be recognised as the same message.
        sender: the From address.
        recipient: address, subject and note (the note is the body).
        name: the batch's name (the state or list name), used in the attachment's file name.
        period: the start of the batch period, used in the attachment's file name.
        csv_text: the CSV from `build_csv`.
        sent_at: the Date header, when given.

    Returns:
        A message with the note as text and the CSV attached as `text/csv`.
    """
    from .smtp import Attachment, to_email

    attachment = Attachment(attachment_name(name, period), csv_text, CSV_CONTENT_TYPE)
    return to_email(
        outbox_id=batch_id,
        sender=sender,
        to=(recipient.address,),
        subject=recipient.subject,
        body=recipient.note,
        attachments=(attachment,),
        sent_at=sent_at,
    )
