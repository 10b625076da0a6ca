"""The operations part of the JSON API: the interventions, bulk changes, migration and stats
of `fulfil cancel/set/move/retry-message/drop-message`, `fulfil migrate`, `fulfil stats`.

Every route acts as the caller (`api_person`: a bearer token); the engine checks that they hold
`operator` or a manager role of the process (403 otherwise, recorded in the instance's history)
and that the reason is given (400). Answers use the CLI's JSON keys.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ..errors import UsageError
from ..runtime.metrics import process_stats
from ..runtime.search import SearchRequest
from ..runtime.views import outbox_json
from .api import ERRORS
from .app import ApiPerson, workbench
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


def _moment(text: str | None, key: str) -> Any:
    from ..clock import parse_now

    if text is None:
        return None
    try:
        return parse_now(text)
    except Exception:
        raise UsageError(f"{key} takes an ISO-8601 date or time (got '{text}')") from None


def _search(body: SearchBody) -> SearchRequest:
    return SearchRequest(
        process=body.process,
        version=body.version,
        state=tuple(body.state) if body.state else None,
        status=body.status,
        queue=body.queue,
        assignee=body.assignee,
        open=body.open,
        started_after=_moment(body.started_after, "started_after"),
        started_before=_moment(body.started_before, "started_before"),
        changed_after=_moment(body.changed_after, "changed_after"),
        changed_before=_moment(body.changed_before, "changed_before"),
        where=body.where,
    )


def _require_operator(request: Request, person: Any) -> None:
    from .http import WebError

    engine = workbench(request).engine
    roles = operating_roles(all_processes(engine))
    if not any(person.holds(role) for role in roles):
        raise WebError(
            403,
            f"changing running work needs one of these roles: {', '.join(roles)}",
            "forbidden",
        )


@router.post("/instances/{instance_id}/cancel", responses=ERRORS)
def cancel(instance_id: str, body: Reason, request: Request, person: ApiPerson) -> Any:
    """Cancel the instance (and a request's open tasks); answers the `show --json` object."""
    engine = workbench(request).engine
    reason = required_reason(body.reason, "cancel", WHERE)
    view = engine.cancel(instance_id, reason=reason, actor=person.id, role=body.role)
    return view.to_json()


@router.post("/instances/{instance_id}/set", responses=ERRORS)
def set_fields(instance_id: str, body: SetBody, request: Request, person: ApiPerson) -> Any:
    """Correct field values, checked like a fire's data; answers the `show --json` object."""
    engine = workbench(request).engine
    reason = required_reason(body.reason, "set", WHERE)
    view = engine.set_fields(instance_id, body.data, reason=reason, actor=person.id, role=body.role)
    return view.to_json()


@router.post("/instances/{instance_id}/move", responses=ERRORS)
def move(instance_id: str, body: MoveBody, request: Request, person: ApiPerson) -> Any:
    """Put the instance in another state of its version; answers the `show --json` object."""
    engine = workbench(request).engine
    reason = required_reason(body.reason, "move", WHERE)
    view = engine.move(instance_id, body.state, reason=reason, actor=person.id, role=body.role)
    return view.to_json()


@router.post("/outbox/{message_id}/retry", responses=ERRORS)
def retry_message(message_id: int, body: Reason, request: Request, person: ApiPerson) -> Any:
    """Queue a failed message again; answers its `outbox --json` object."""
    engine = workbench(request).engine
    reason = required_reason(body.reason, "retry of a message", WHERE)
    return outbox_json(
        engine.retry_message(message_id, reason=reason, actor=person.id, role=body.role)
    )


@router.post("/outbox/{message_id}/drop", responses=ERRORS)
def drop_message(message_id: int, body: Reason, request: Request, person: ApiPerson) -> Any:
    """Give up on a failed or pending message; answers its `outbox --json` object."""
    engine = workbench(request).engine
    reason = required_reason(body.reason, "drop of a message", WHERE)
    return outbox_json(
        engine.drop_message(message_id, reason=reason, actor=person.id, role=body.role)
    )


@router.post("/bulk/{action}", responses=ERRORS)
def bulk(action: str, body: BulkBody, request: Request, person: ApiPerson) -> Any:
    """`cancel`, `set` or `move` every instance the search finds, each in its own transaction;
    `dry_run` says what would change and stores nothing. Answers
    `{action, dry_run, done, refused, items: [{instance, done, error, changes}]}`."""
    _require_operator(request, person)
    engine = workbench(request).engine
    reason = required_reason(body.reason, action, WHERE)
    report = engine.intervene_many(
        action,
        _search(body.search),
        reason=reason,
        actor=person.id,
        role=body.role,
        data=body.data,
        state=body.state,
        dry_run=body.dry_run,
    )
    return report.to_json()


@router.post("/processes/{process_id}/migrate", responses=ERRORS)
def migrate(process_id: str, body: MigrateBody, request: Request, person: ApiPerson) -> Any:
    """Move the open instances on other versions to `to` (`dry_run`: only say which can);
    answers the `migrate --json` list."""
    engine = workbench(request).engine
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


@router.get("/processes/{process_id}/stats", responses=ERRORS)
def stats(process_id: str, request: Request, person: ApiPerson) -> Any:
    """The `stats --json` object of the process."""
    _require_operator(request, person)
    return process_stats(workbench(request).engine, process_id).to_json()
