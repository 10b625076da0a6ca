"""The JSON API under /api: the CLI's JSON over HTTP, for programs in any language.

Every route names the person through `api_call` (a bearer token) and does its work in one
worker thread (`caller.run`), where the token is checked too; the engine checks their roles.
Bodies and answers use the keys of `show --json`, `history --json`, `queue --json` and
`outbox --json`, sent as `JSONResponse`s (FastAPI does not encode them again); errors are
`{error: message}` with the status of engine.web.statuses.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..people.directory import Person
from ..runtime.views import event_json, outbox_json
from .context import ApiCaller
from .search import WORK_ORDER, parse_open

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["instances"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "model": None}
    for status, text in (
        (400, "Bad request: `{error: message}`"),
        (401, "Nobody signed in"),
        (403, "The person may not do this (the engine's role check)"),
        (404, "No such instance, process or queue"),
        (409, "The instance moved on, or the trigger does not fire in its state"),
        (503, "The database is locked or unreachable"),
    )
}


class StartBody(BaseModel):
    """`POST /api/instances`: start an instance of the process's latest version."""

    process: str
    data: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None
    role: str | None = None


class FireBody(BaseModel):
    """`POST /api/instances/{id}/fire`: fire a trigger with data."""

    trigger: str
    data: dict[str, Any] = Field(default_factory=dict)
    role: str | None = None
    expected_rev: int | None = None
    idempotency_key: str | None = None


class AssignBody(BaseModel):
    person: str


@router.post("/instances", status_code=201, responses=ERRORS)
async def start(body: StartBody, caller: ApiCaller) -> Any:
    """Start an instance; answers 201 and the `show --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        view = engine.start(body.process, body.data, id=body.id, actor=person.id, role=body.role)
        return view.to_json()

    return JSONResponse(await caller.run(work), status_code=201)


@router.get("/instances", responses=ERRORS)
async def search(
    caller: ApiCaller,
    process: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    open: str | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Instances by process, state, assignee (`none`: unassigned), open/closed and text (in
    the id or a field's value), least recently active first (`Engine.search`):
    `{items: [show objects], next: cursor|null}`."""
    engine = caller.bench.engine

    def work(_: Person) -> Any:
        page = engine.search(
            process=process,
            state=state,
            assignee="" if assignee == "none" else assignee,
            open=parse_open(open),
            text=text,
            sort=WORK_ORDER,
            limit=limit,
            cursor=cursor,
        )
        return page.to_json()

    return JSONResponse(await caller.run(work))


@router.get("/instances/{instance_id}", responses=ERRORS)
async def show(instance_id: str, caller: ApiCaller) -> Any:
    """The `show --json` object."""
    engine = caller.bench.engine
    return JSONResponse(await caller.run(lambda _: engine.show(instance_id).to_json()))


@router.get("/instances/{instance_id}/history", responses=ERRORS)
async def history(instance_id: str, caller: ApiCaller) -> Any:
    """The `history --json` list, oldest first."""
    engine = caller.bench.engine
    return JSONResponse(
        await caller.run(lambda _: [event_json(e) for e in engine.history(instance_id)])
    )


@router.get("/instances/{instance_id}/export", responses=ERRORS)
async def export(instance_id: str, caller: ApiCaller) -> Any:
    """The instance, its history and the `verify --json` verdict on it, for an auditor."""
    engine = caller.bench.engine

    def work(_: Person) -> Any:
        return {
            "instance": engine.show(instance_id).to_json(),
            "history": [event_json(e) for e in engine.history(instance_id)],
            "verify": engine.verify(instance_id).to_json(),
        }

    return JSONResponse(await caller.run(work))


@router.post("/instances/{instance_id}/fire", responses=ERRORS)
async def fire(instance_id: str, body: FireBody, caller: ApiCaller) -> Any:
    """Fire a trigger as the caller; answers the `show --json` object."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        view = engine.fire(
            instance_id,
            body.trigger,
            body.data,
            actor=person.id,
            role=body.role,
            expected_rev=body.expected_rev,
            idempotency_key=body.idempotency_key,
        )
        return view.to_json()

    return JSONResponse(await caller.run(work))


@router.post("/instances/{instance_id}/claim", responses=ERRORS)
async def claim(instance_id: str, caller: ApiCaller) -> Any:
    """Take the work: the caller becomes its assignee."""
    engine = caller.bench.engine
    return JSONResponse(
        await caller.run(lambda person: engine.claim(instance_id, actor=person.id).to_json())
    )


@router.post("/instances/{instance_id}/assign", responses=ERRORS)
async def assign(instance_id: str, body: AssignBody, caller: ApiCaller) -> Any:
    """Give the work to `person` (a lead's act)."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        return engine.assign(instance_id, body.person, actor=person.id).to_json()

    return JSONResponse(await caller.run(work))


@router.post("/instances/{instance_id}/release", responses=ERRORS)
async def release(instance_id: str, caller: ApiCaller) -> Any:
    """Give the work back to its queue."""
    engine = caller.bench.engine
    return JSONResponse(
        await caller.run(lambda person: engine.release(instance_id, actor=person.id).to_json())
    )


@router.get("/queues", responses=ERRORS)
async def queues(caller: ApiCaller) -> list[str]:
    """The names of the queues the processes put work in."""
    engine = caller.bench.engine
    return await caller.run(lambda _: engine.queues())


@router.get("/queues/{queue}", responses=ERRORS)
async def queue(queue: str, caller: ApiCaller, mine: bool = False) -> Any:
    """The `queue --json` object: ready to start, and in progress."""
    engine = caller.bench.engine

    def work(person: Person) -> Any:
        return engine.queue(queue, mine=person.id if mine else None).to_json()

    return JSONResponse(await caller.run(work))


@router.get("/outbox", responses=ERRORS)
async def outbox(caller: ApiCaller, status: str | None = None) -> list[dict[str, Any]]:
    """The `outbox --json` list, oldest first."""
    engine = caller.bench.engine
    return await caller.run(lambda _: [outbox_json(m) for m in engine.outbox(status)])
