"""The operations part of the JSON API: the interventions, bulk changes, migration and stats
of `fulfil cancel/set/move/retry-message/drop-message`, `fulfil migrate`, `fulfil stats`.

Every route acts as the caller (`api_person`: a bearer token); the engine checks that they hold
`operator` or a manager role of the process (403 otherwise, recorded in the instance's history)
and that the reason is given (400). Answers use the CLI's JSON keys.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..clock.clocks import parse_moment
from ..people.directory import Person
from ..runtime import Engine
from ..runtime.metrics import process_stats
from ..runtime.search import SearchRequest
from ..runtime.views import outbox_json
from .api import ERRORS
from .context import ApiCaller
from .operations import all_processes, operating_roles, required_reason

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["operations"])
WHERE = 'the body\'s "reason"'


class Reason(BaseModel):
    """Why (required): kept in the history with the change."""

    reason: str = ""
    role: str | None = None


class SetBody(Reason):
    data: dict[str, Any] = Field(default_factory=dict)


class MoveBody(Reason):
    state: str


class SearchBody(BaseModel):
    """The filters of `GET /api/instances` / `fulfil list` (dates as ISO-8601 text)."""

    process: str | None = None
    version: int | None = None
    state: list[str] | None = None
    status: str | None = None
    queue: str | None = None
    assignee: str | None = None
    open: bool | None = None
    started_after: str | None = None
    started_before: str | None = None
    changed_after: str | None = None
    changed_before: str | None = None
    where: str | None = None


class BulkBody(Reason):
    """`POST /api/bulk/{action}`: cancel, set or move every instance a search finds."""

    search: SearchBody = Field(default_factory=SearchBody)
    data: dict[str, Any] | None = None
    state: str | None = None
    dry_run: bool = False


class MigrateBody(BaseModel):
    to: int
    map: dict[str, str] = Field(default_factory=dict)
    dry_run: bool = False
    reason: str | None = None
    role: str | None = None


def _search(body: SearchBody) -> SearchRequest:
    return SearchRequest(
        process=body.process,
        version=body.version,
        state=tuple(body.state) if body.state else None,
        status=body.status,
        queue=body.queue,
        assignee=body.assignee,
        open=body.open,
        started_after=parse_moment(body.started_after, "started_after"),
        started_before=parse_moment(body.started_before, "started_before"),
        changed_after=parse_moment(body.changed_after, "changed_after"),
        changed_before=parse_moment(body.changed_before, "changed_before"),
        where=body.where,
    )


def _require_operator(engine: Engine, person: Person) -> None:
    from .statuses import WebError

    roles = operating_roles(all_processes(engine))
    if not any(person.holds(role) for role in roles):
        raise WebError(
            403,
            f"changing running work needs one of these roles: {', '.join(roles)}",
            "forbidden",
        )


@router.post("/instances/{instance_id}/cancel", responses=ERRORS)
async def cancel(instance_id: str, body: Reason, caller: ApiCaller) -> Any:
    """Cancel the instance (and a request's open tasks); answers the `show --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        reason = required_reason(body.reason, "cancel", WHERE)
        return engine.cancel(instance_id, reason=reason, actor=person.id, role=body.role)

    return JSONResponse((await caller.run(work)).to_json())


@router.post("/instances/{instance_id}/set", responses=ERRORS)
async def set_fields(instance_id: str, body: SetBody, caller: ApiCaller) -> Any:
    """Correct field values, checked like a fire's data; answers the `show --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        reason = required_reason(body.reason, "set", WHERE)
        return engine.set_fields(
            instance_id, body.data, reason=reason, actor=person.id, role=body.role
        )

    return JSONResponse((await caller.run(work)).to_json())


@router.post("/instances/{instance_id}/move", responses=ERRORS)
async def move(instance_id: str, body: MoveBody, caller: ApiCaller) -> Any:
    """Put the instance in another state of its version; answers the `show --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        reason = required_reason(body.reason, "move", WHERE)
        return engine.move(instance_id, body.state, reason=reason, actor=person.id, role=body.role)

    return JSONResponse((await caller.run(work)).to_json())


@router.post("/outbox/{message_id}/retry", responses=ERRORS)
async def retry_message(message_id: int, body: Reason, caller: ApiCaller) -> Any:
    """Queue a failed message again; answers its `outbox --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        reason = required_reason(body.reason, "retry of a message", WHERE)
        return engine.retry_message(message_id, reason=reason, actor=person.id, role=body.role)

    return JSONResponse(outbox_json(await caller.run(work)))


@router.post("/outbox/{message_id}/drop", responses=ERRORS)
async def drop_message(message_id: int, body: Reason, caller: ApiCaller) -> Any:
    """Give up on a failed or pending message; answers its `outbox --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        reason = required_reason(body.reason, "drop of a message", WHERE)
        return engine.drop_message(message_id, reason=reason, actor=person.id, role=body.role)

    return JSONResponse(outbox_json(await caller.run(work)))


@router.post("/bulk/{action}", responses=ERRORS)
async def bulk(action: str, body: BulkBody, caller: ApiCaller) -> Any:
    """`cancel`, `set` or `move` every instance the search finds, each in its own transaction;
    `dry_run` says what would change and stores nothing. Answers
    `{action, dry_run, done, refused, items: [{instance, done, error, changes}]}`."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        _require_operator(engine, person)
        reason = required_reason(body.reason, action, WHERE)
        return engine.intervene_many(
            action,
            _search(body.search),
            reason=reason,
            actor=person.id,
            role=body.role,
            data=body.data,
            state=body.state,
            dry_run=body.dry_run,
        ).to_json()

    return JSONResponse(await caller.run(work))


@router.post("/processes/{process_id}/migrate", responses=ERRORS)
async def migrate(process_id: str, body: MigrateBody, caller: ApiCaller) -> Any:
    """Move the open instances on other versions to `to` (`dry_run`: only say which can);
    answers the `migrate --json` list."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        items = engine.migrate(
            process_id,
            body.to,
            mapping=body.map,
            dry_run=body.dry_run,
            actor=person.id,
            role=body.role,
            reason=body.reason,
        )
        return [item.to_json() for item in items]

    return JSONResponse(await caller.run(work))


@router.get("/processes/{process_id}/stats", responses=ERRORS)
async def stats(process_id: str, caller: ApiCaller) -> Any:
    """The `stats --json` object of the process."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        _require_operator(engine, person)
        return process_stats(engine, process_id).to_json()

    return JSONResponse(await caller.run(work))
