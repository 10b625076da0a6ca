"""Operating running work: `fulfil list` (search), interventions, migration, stats.

The commands are thin: each reads its options, calls one Engine method and prints the result
(text, or the contract's JSON with `--json`).
"""

from __future__ import annotations

from typing import Any

import click

from .common import JSON_OPTION, emit_json, guarded, opened_engine
from .options import Settings

__all__ = ["list_command"]


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
@click.option(
    "--queue",
    default=None,
    help="Only the work in this queue (its states, and the tasks a request puts in it).",
)
@click.option("--assignee", default=None, help="Only the work assigned to this person.")
@click.option("--open/--closed", "is_open", default=None, help="Only open, or only closed work.")
@click.option("--started-after", default=None, help="Started at or after (ISO-8601).")
@click.option("--started-before", default=None, help="Started before (ISO-8601).")
@click.option("--changed-after", default=None, help="Last changed at or after (ISO-8601).")
@click.option("--changed-before", default=None, help="Last changed before (ISO-8601).")
@click.option(
    "--text",
    default=None,
    help="In the id or any field's value, case-insensitive (e.g. an FR number).",
)
@click.option(
    "--where",
    default=None,
    help="An expression over the process's fields, e.g. 'client == \"Acme Motors\"'.",
)
@click.option(
    "--sort",
    default="-created_at",
    show_default=True,
    help="created_at, updated_at, last_activity_at or id; a leading '-' sorts newest (or "
    "last) first.",
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
    text: str | None,
    where: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Find instances, open or closed, by process, state, assignee, dates or field values."""
    from ..clock.clocks import parse_moment
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
        started_after=parse_moment(started_after, "--started-after"),
        started_before=parse_moment(started_before, "--started-before"),
        changed_after=parse_moment(changed_after, "--changed-after"),
        changed_before=parse_moment(changed_before, "--changed-before"),
        text=text,
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


# interventions ----------------------------------------------------------------------------
REASON_OPTION = click.option(
    "--reason", default=None, help="Why (required): kept in the history with the change."
)
DRY_RUN_OPTION = click.option(
    "--dry-run", is_flag=True, help="With a search: show what would change, change nothing."
)
ACTING_OPTION = click.option(
    "--as", "who", default=None, metavar="PERSON[:ROLE]", help="Who is acting."
)


def bulk_options(func: Any) -> Any:
    """The search options that turn an intervention into its bulk form."""
    for option in reversed(
        (
            click.option("--process", default=None, help="Bulk: instances of this process."),
            click.option("--state", "states", multiple=True, help="Bulk: in this state."),
            click.option("--status", default=None, help="Bulk: with this display status."),
            click.option("--assignee", default=None, help="Bulk: assigned to this person."),
            click.option("--open/--closed", "is_open", default=None, help="Bulk: open/closed."),
            click.option("--where", default=None, help="Bulk: an expression over fields."),
        )
    ):
        func = option(func)
    return func


def _bulk_request(filters: dict[str, Any]) -> Any:
    from ..runtime.search import SearchRequest

    return SearchRequest(
        process=filters["process"],
        state=filters["states"] or None,
        status=filters["status"],
        assignee=filters["assignee"],
        open=filters["is_open"],
        where=filters["where"],
        sort="id",
    )


def _intervene(
    settings: Settings,
    action: str,
    instance: str | None,
    who: str | None,
    reason: str | None,
    dry_run: bool,
    as_json: bool,
    filters: dict[str, Any],
    **extra: Any,
) -> None:
    from ..errors import UsageError
    from ..runtime.interventions import check_reason
    from .common import echo_view, parse_as

    check_reason(reason, action)
    actor = parse_as(who)
    bulk = any(value not in (None, ()) for value in filters.values())
    if instance is not None and bulk:
        raise UsageError("give either an instance id or a search (--where ...), not both")
    if instance is None and not bulk:
        raise UsageError(
            f"say which instances to {action}: an id, or a search such as "
            "--process P --where EXPR (try --dry-run first)"
        )
    with opened_engine(settings) as engine:
        if instance is not None:
            if dry_run:
                raise UsageError("--dry-run goes with a search (--where ...); show the id first")
            method = {"cancel": engine.cancel, "set": engine.set_fields, "move": engine.move}
            args = {"set": (extra.get("data"),), "move": (extra.get("state"),)}.get(action, ())
            view = method[action](instance, *args, reason=reason, **actor)
            echo_view(view, as_json)
            return
        report = engine.intervene_many(
            action,
            _bulk_request(filters),
            reason=reason or "",
            dry_run=dry_run,
            **actor,
            **extra,
        )
    if as_json:
        emit_json(report.to_json())
        return
    verb = f"would {action}" if dry_run else f"{action}"
    for item in report.items:
        if item.done:
            shown = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in item.changes.items())
            click.echo(f"{verb} {item.instance}: {shown or 'no change'}")
        else:
            click.echo(f"refused {item.instance}: {item.error}")
    done = "would change" if dry_run else "done"
    click.echo(f"{done} {report.done}, refused {report.refused}")


@click.command("cancel")
@click.argument("instance", required=False)
@REASON_OPTION
@ACTING_OPTION
@bulk_options
@DRY_RUN_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def cancel_command(
    settings: Settings,
    /,
    instance: str | None,
    reason: str | None,
    who: str | None,
    dry_run: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """Cancel INSTANCE (or every instance a search finds): Closed / Cancelled, its timers and
    pending messages dropped, a request's open tasks cancelled with it; audited with --reason."""
    _intervene(settings, "cancel", instance, who, reason, dry_run, as_json, filters)


@click.command("set")
@click.argument("instance", required=False)
@click.option("--data", "data", required=True, help="The corrected field values, as JSON.")
@REASON_OPTION
@ACTING_OPTION
@bulk_options
@DRY_RUN_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def set_command(
    settings: Settings,
    /,
    instance: str | None,
    data: str,
    reason: str | None,
    who: str | None,
    dry_run: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """Correct field values of INSTANCE (or of every instance a search finds), checked like
    the data of a fire; audited with --reason and the values before and after."""
    from .common import parse_data

    values = parse_data(data)
    _intervene(settings, "set", instance, who, reason, dry_run, as_json, filters, data=values)


@click.command("move")
@click.argument("instance", required=False)
@click.argument("state", required=False)
@REASON_OPTION
@ACTING_OPTION
@click.option("--to", "to_state", default=None, help="Bulk: the state to move them to.")
@bulk_options
@DRY_RUN_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def move_command(
    settings: Settings,
    /,
    instance: str | None,
    state: str | None,
    reason: str | None,
    who: str | None,
    to_state: str | None,
    dry_run: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """Move INSTANCE to STATE of its version (the old state's timers cancelled, the new
    state's armed); `--to STATE` with a search moves many. Audited with --reason."""
    from ..errors import UsageError

    if instance is not None and state is None and to_state is None:
        raise UsageError(f"say which state to move to: fulfil move {instance} STATE --reason ...")
    target = state or to_state
    if target is None:
        raise UsageError("say which state to move to: --to STATE")
    _intervene(settings, "move", instance, who, reason, dry_run, as_json, filters, state=target)


def _message_command(action: str) -> Any:
    @click.command(f"{action}-message")
    @click.argument("message", type=int)
    @REASON_OPTION
    @ACTING_OPTION
    @JSON_OPTION
    @click.pass_obj
    @guarded
    def command(
        settings: Settings, message: int, reason: str | None, who: str | None, as_json: bool
    ) -> None:
        from ..runtime.interventions import check_reason
        from ..runtime.views import outbox_json
        from .common import parse_as

        check_reason(reason, f"{action} of a message")
        with opened_engine(settings) as engine:
            method = engine.retry_message if action == "retry" else engine.drop_message
            record = method(message, reason=reason or "", **parse_as(who))
        if as_json:
            emit_json(outbox_json(record))
        else:
            click.echo(f"message {record.id} of {record.instance} is {record.status} now")

    command.__doc__ = (
        "Queue a failed outbox MESSAGE again (attempts start over); audited with --reason."
        if action == "retry"
        else "Give up on a failed or pending outbox MESSAGE; audited with --reason."
    )
    return command


retry_message_command = _message_command("retry")
drop_message_command = _message_command("drop")


# stats and migration ----------------------------------------------------------------------
@click.command("stats")
@click.argument("process")
@click.option(
    "--sample",
    type=int,
    default=10_000,
    show_default=True,
    help="Time in state from the histories of this many most recently changed instances.",
)
@JSON_OPTION
@click.pass_obj
@guarded
def stats_command(settings: Settings, process: str, sample: int, as_json: bool) -> None:
    """Instances per state, transitions, refusals, SLA breaches and escalations, outbox and
    timers, and time in state (median, p90) from the history."""
    from ..runtime.metrics import process_stats

    with opened_engine(settings) as engine:
        stats = process_stats(engine, process, sample=sample)
    if as_json:
        emit_json(stats.to_json())
        return
    for line in stats.lines():
        click.echo(line)


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    from ..errors import UsageError

    out: dict[str, str] = {}
    for pair in pairs:
        old, equals, new = pair.partition("=")
        if not equals or not old or not new:
            raise UsageError(f"--map takes OLD=NEW, e.g. --map waiting=in_progress (got '{pair}')")
        out[old.strip()] = new.strip()
    return out


@click.command("migrate")
@click.argument("process")
@click.option("--to", "to_version", type=int, required=True, help="The version to move to.")
@click.option(
    "--map", "pairs", multiple=True, metavar="OLD=NEW", help="Put instances in OLD in NEW."
)
@click.option("--dry-run", is_flag=True, help="Say per instance whether it can move; move none.")
@click.option("--reason", default=None, help="Why (kept in each instance's history).")
@ACTING_OPTION
@JSON_OPTION
@click.pass_obj
@guarded
def migrate_command(
    settings: Settings,
    process: str,
    to_version: int,
    pairs: tuple[str, ...],
    dry_run: bool,
    reason: str | None,
    who: str | None,
    as_json: bool,
) -> None:
    """Move the open instances of PROCESS on other versions to version --to: each that can
    (its state exists or is mapped, its data fits, its timers exist), one transaction each."""
    from .common import parse_as

    with opened_engine(settings) as engine:
        items = engine.migrate(
            process,
            to_version,
            mapping=_mapping(pairs),
            dry_run=dry_run,
            reason=reason,
            **parse_as(who),
        )
    if as_json:
        emit_json([item.to_json() for item in items])
        return
    for item in items:
        if item.can_move:
            verb = "can move" if dry_run else "moved"
            shown = ", ".join(
                f"{k} {v[0]} -> {v[1]}" for k, v in item.changes.items() if k != "data"
            )
            data = item.changes.get("data")
            extra = f"; data: {', '.join(data)}" if data else ""
            click.echo(f"{verb} {item.instance}: {shown}{extra}")
        else:
            click.echo(f"stays {item.instance}: {item.reason}")
    moved = sum(1 for item in items if item.can_move)
    click.echo(
        f"{'can move' if dry_run else 'moved'} {moved}, stay {len(items) - moved} "
        f"(of {len(items)} open instance(s) on other versions)"
    )
