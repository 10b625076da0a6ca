"""Operating running work: `fulfil list` (search), interventions, migration, stats.

The commands are thin: each reads its options, calls one Engine method and prints the result
(text, or the contract's JSON with `--json`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from .common import JSON_OPTION, emit_json, guarded, opened_engine
from .options import Settings

__all__ = ["list_command"]


def _moment(text: str | None, option: str) -> datetime | None:
    from ..clock import parse_now
    from ..errors import UsageError

    if text is None:
        return None
    try:
        return parse_now(text)
    except Exception:
        raise UsageError(
            f"{option} takes an ISO-8601 date or time, e.g. 2026-03-01 or 2026-03-01T09:30:00Z "
            f"(got '{text}')"
        ) from None


def _list_line(item: Any) -> str:
    shown = item.status + (f" / {item.closure_reason}" if item.closure_reason else "")
    who = f"  @{item.assignee}" if item.assignee else ""
    changed = item.updated_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{item.id}  {item.process} v{item.version}  {item.state} ({shown}){who}  changed {changed}"
    )


@click.command("list")
@click.option("--process", default=None, help="Only instances of this process.")
@click.option("--version", "version", type=int, default=None, help="Only this version.")
@click.option("--state", "states", multiple=True, help="Only in this state (repeatable).")
@click.option("--status", default=None, help="Only with this display status (e.g. 'On Hold').")
@click.option("--queue", default=None, help="Only in states of this queue.")
@click.option("--assignee", default=None, help="Only the work assigned to this person.")
@click.option("--open/--closed", "is_open", default=None, help="Only open, or only closed work.")
@click.option("--started-after", default=None, help="Started at or after (ISO-8601).")
@click.option("--started-before", default=None, help="Started before (ISO-8601).")
@click.option("--changed-after", default=None, help="Last changed at or after (ISO-8601).")
@click.option("--changed-before", default=None, help="Last changed before (ISO-8601).")
@click.option(
    "--where",
    default=None,
    help="An expression over the process's fields, e.g. 'client == \"Acme Motors\"'.",
)
@click.option(
    "--sort",
    default="-created_at",
    show_default=True,
    help="created_at, updated_at or id; a leading '-' sorts newest (or last) first.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Instances per page.")
@click.option("--cursor", default=None, help="The `next` cursor of the previous page.")
@JSON_OPTION
@click.pass_obj
@guarded
def list_command(
    settings: Settings,
    process: str | None,
    version: int | None,
    states: tuple[str, ...],
    status: str | None,
    queue: str | None,
    assignee: str | None,
    is_open: bool | None,
    started_after: str | None,
    started_before: str | None,
    changed_after: str | None,
    changed_before: str | None,
    where: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Find instances, open or closed, by process, state, assignee, dates or field values."""
    from ..errors import UsageError
    from ..runtime.search import SearchRequest

    if version is not None and process is None:
        raise UsageError("--version needs --process: say whose version")
    request = SearchRequest(
        process=process,
        version=version,
        state=states or None,
        status=status,
        queue=queue,
        assignee=assignee,
        open=is_open,
        started_after=_moment(started_after, "--started-after"),
        started_before=_moment(started_before, "--started-before"),
        changed_after=_moment(changed_after, "--changed-after"),
        changed_before=_moment(changed_before, "--changed-before"),
        where=where,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    with opened_engine(settings) as engine:
        page = engine.search(request)
    if as_json:
        emit_json(page.to_json())
        return
    if not page.items:
        click.echo("no instances match")
    for item in page.items:
        click.echo(_list_line(item))
    if page.next:
        click.echo(f"next page: add --cursor {page.next}")
