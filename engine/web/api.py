"""The JSON API under /api: the CLI's JSON over HTTP, for programs in any language.

Every route names the person through `api_person` (a bearer token); the engine checks their
roles. Bodies and answers use the keys of `show --json`, `history --json`, `queue --json` and
`outbox --json`; errors are `{error: message}` with the status of engine.web.http.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..runtime.views import event_json, outbox_json
from .app import ApiPerson, workbench
from .search import decode_cursor, encode_cursor, parse_open, processes_of, search_pairs

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
def start(body: StartBody, request: Request, person: ApiPerson) -> Any:
    """Start an instance; answers 201 and the `show --json` object."""
    engine = workbench(request).engine
    view = engine.start(body.process, body.data, id=body.id, actor=person.id, role=body.role)
    return JSONResponse(view.to_json(), status_code=201)


@router.get("/instances", responses=ERRORS)
def search(
    request: Request,
    person: ApiPerson,
    process: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    open: str | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Instances by process, state, assignee (`none`: unassigned) and open/closed, least
    recently active first: `{items: [show objects], next: cursor|null}`."""
    engine = workbench(request).engine
    pairs = search_pairs(processes_of(engine), process=process, state=state, open_=parse_open(open))
    after = decode_cursor(cursor)
    who = "" if assignee == "none" else assignee
    with engine.store.transaction(write=False) as tx:
        records = tx.page_instances(pairs, after=after, limit=limit + 1, assignee=who, text=text)
    more = len(records) > limit
    records = records[:limit]
    views = [engine.show(r.id) for r in records]
    last = records[-1] if more else None
    return {
        "items": [v.to_json() for v in views],
        "next": encode_cursor(last.last_activity_at, last.id) if last else None,
    }


@router.get("/instances/{instance_id}", responses=ERRORS)
def show(instance_id: str, request: Request, person: ApiPerson) -> Any:
    """The `show --json` object."""
    return workbench(request).engine.show(instance_id).to_json()


@router.get("/instances/{instance_id}/history", responses=ERRORS)
def history(instance_id: str, request: Request, person: ApiPerson) -> Any:
    """The `history --json` list, oldest first."""
    return [event_json(e) for e in workbench(request).engine.history(instance_id)]


@router.get("/instances/{instance_id}/export", responses=ERRORS)
def export(instance_id: str, request: Request, person: ApiPerson) -> Any:
    """The instance, its history and the `verify --json` verdict on it, for an auditor."""
    engine = workbench(request).engine
    return {
        "instance": engine.show(instance_id).to_json(),
        "history": [event_json(e) for e in engine.history(instance_id)],
        "verify": engine.verify(instance_id).to_json(),
    }


@router.post("/instances/{instance_id}/fire", responses=ERRORS)
def fire(instance_id: str, body: FireBody, request: Request, person: ApiPerson) -> Any:
    """Fire a trigger as the caller; answers the `show --json` object."""
    view = workbench(request).engine.fire(
        instance_id,
        body.trigger,
        body.data,
        actor=person.id,
        role=body.role,
        expected_rev=body.expected_rev,
        idempotency_key=body.idempotency_key,
    )
    return view.to_json()


@router.post("/instances/{instance_id}/claim", responses=ERRORS)
def claim(instance_id: str, request: Request, person: ApiPerson) -> Any:
    """Take the work: the caller becomes its assignee."""
    return workbench(request).engine.claim(instance_id, actor=person.id).to_json()


@router.post("/instances/{instance_id}/assign", responses=ERRORS)
def assign(instance_id: str, body: AssignBody, request: Request, person: ApiPerson) -> Any:
    """Give the work to `person` (a lead's act)."""
    engine = workbench(request).engine
    return engine.assign(instance_id, body.person, actor=person.id).to_json()


@router.post("/instances/{instance_id}/release", responses=ERRORS)
def release(instance_id: str, request: Request, person: ApiPerson) -> Any:
    """Give the work back to its queue."""
    return workbench(request).engine.release(instance_id, actor=person.id).to_json()


@router.get("/queues", responses=ERRORS)
def queues(request: Request, person: ApiPerson) -> list[str]:
    """The names of the queues the processes put work in."""
    return workbench(request).engine.queues()


@router.get("/queues/{queue}", responses=ERRORS)
def queue(queue: str, request: Request, person: ApiPerson, mine: bool = False) -> Any:
    """The `queue --json` object: ready to start, and in progress."""
    engine = workbench(request).engine
    return engine.queue(queue, mine=person.id if mine else None).to_json()


@router.get("/outbox", responses=ERRORS)
def outbox(request: Request, person: ApiPerson, status: str | None = None) -> list[dict[str, Any]]:
    """The `outbox --json` list, oldest first."""
    return [outbox_json(m) for m in workbench(request).engine.outbox(status)]
