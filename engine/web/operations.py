"""The operations pages: find running work, intervene on it, migrate it, watch the numbers.

    GET  /ops                          search (the filters of `fulfil list`), paged, with the
                                       bulk form over the search
    POST /ops/bulk                     bulk cancel/set/move: a dry run first (what would
                                       change, what would be refused), then the confirm step
    POST /ops/instances/{id}/{action}  cancel, set, move one instance (from its page)
    POST /ops/messages/{id}/{action}   retry or drop an outbox message (from its instance page)
    GET  /ops/migrate, POST            `fulfil migrate`: a dry run per instance, then apply
    GET  /ops/stats                    `fulfil stats` of a process

Only people who hold `operator` or a manager role of some process see the area (403 for the
others); what each of them may change is decided by the engine, as for the CLI: a refusal is
shown beside its form with its status, nothing stored, and audited as a `refused` event.
Every intervention needs a reason; every form carries the session's CSRF token.

A bulk change applies to the instances its preview listed that the search still finds: one
that no longer matches is reported and left alone, one that matches only now is not touched
(it was not in what the person confirmed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..clock.clocks import parse_moment
from ..errors import FulfilError, NotFound, UsageError
from ..model import FieldType, Process
from ..people.directory import OPERATOR, Person
from ..runtime import Engine
from ..runtime.assigning import manager_roles
from ..runtime.interventions import INSTANCE_ACTIONS, BulkItem, BulkReport, change_of
from ..runtime.metrics import process_stats
from ..runtime.search import MAX_LIMIT, SearchRequest
from .auth import Caller
from .context import PageCaller, Workbench, checked_form, workbench
from .instance import render_instance, shown_value
from .statuses import WebError, status_of

__all__ = [
    "all_processes",
    "may_operate",
    "router",
]

router = APIRouter(include_in_schema=False)

SEARCH_KEYS = (
    "process",
    "version",
    "state",
    "status",
    "queue",
    "assignee",
    "open",
    "started_after",
    "started_before",
    "changed_after",
    "changed_before",
    "where",
    "sort",
    "limit",
)
SORTS = ("-created_at", "created_at", "-updated_at", "updated_at", "id", "-id")
BULK_ACTIONS = INSTANCE_ACTIONS  # cancel, set, move


# --- who may ----------------------------------------------------------------------------------
def all_processes(engine: Engine) -> list[Process]:
    """Every process version the engine knows (the catalog iterates them all)."""
    catalog: Any = engine.catalog
    return list(catalog) if hasattr(catalog, "__iter__") else []


def _latest(engine: Engine) -> list[Process]:
    latest: dict[str, Process] = {}
    for process in all_processes(engine):
        if process.id not in latest or process.version > latest[process.id].version:
            latest[process.id] = process
    return [latest[key] for key in sorted(latest)]


def operating_roles(processes: Iterable[Process]) -> tuple[str, ...]:
    """`operator` and every process's manager roles: the roles that may change running work."""
    roles = [OPERATOR]
    for process in processes:
        roles += manager_roles(process)
    return tuple(dict.fromkeys(roles))


def may_operate(engine: Engine, person: Person) -> bool:
    """Whether the person sees the operations area: they hold `operator` or a manager role."""
    return any(person.holds(role) for role in operating_roles(all_processes(engine)))


def _require(bench: Workbench, caller: Caller) -> None:
    if may_operate(bench.engine, caller.person):
        return
    roles = ", ".join(operating_roles(all_processes(bench.engine)))
    held = ", ".join(caller.person.roles) or "no role"
    raise WebError(
        403,
        f"the operations pages are for people holding one of these roles: {roles}; "
        f"{caller.person.id} holds {held}",
        "forbidden",
    )


# --- rendering --------------------------------------------------------------------------------
def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    bench = workbench(request)
    caller: Caller = context["caller"]
    context.setdefault("csrf", bench.auth.signer.csrf(caller.binding))
    context.setdefault("now", bench.engine.clock.now())
    context.setdefault("urlencode", urlencode)
    return bench.templates.TemplateResponse(request, name, context, status_code=status)


# --- search -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchForm:
    """The search as the form posted it (text), and the request it makes."""

    values: dict[str, str]
    states: tuple[str, ...]

    def query(self, **more: str) -> dict[str, str]:
        """The non-empty values as a query string's pairs (states repeated by the caller)."""
        return {k: v for k, v in {**self.values, **more}.items() if v}

    def pairs(self, **more: str) -> list[tuple[str, str]]:
        return [*self.query(**more).items(), *(("state", s) for s in self.states)]


def _form_of(values: Mapping[str, Any], states: Iterable[str]) -> SearchForm:
    shown = {key: str(values.get(key) or "").strip() for key in SEARCH_KEYS if key != "state"}
    return SearchForm(shown, tuple(s for s in states if s))


def _number(text: str, label: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{label} takes a whole number (got '{text}')") from None


def search_request(form: SearchForm, cursor: str | None = None) -> SearchRequest:
    """The engine's request of a search form.

    Raises:
        UsageError: a date, version or page size that is not one; the engine checks the rest.
    """
    v = form.values
    version = _number(v["version"], "version")
    if version is not None and not v["process"]:
        raise UsageError("a version needs a process: choose the process too")
    is_open = {"open": True, "closed": False, "": None}.get(v["open"])
    if v["open"] and is_open is None:
        raise UsageError(f"open takes 'open' or 'closed' (got '{v['open']}')")
    return SearchRequest(
        process=v["process"] or None,
        version=version,
        state=form.states or None,
        status=v["status"] or None,
        queue=v["queue"] or None,
        assignee=v["assignee"] or None,
        open=is_open,
        started_after=parse_moment(v["started_after"], "started after"),
        started_before=parse_moment(v["started_before"], "started before"),
        changed_after=parse_moment(v["changed_after"], "changed after"),
        changed_before=parse_moment(v["changed_before"], "changed before"),
        where=v["where"] or None,
        sort=v["sort"] or "-created_at",
        limit=_number(v["limit"], "page size") or 50,
        cursor=cursor or None,
    )


def _choices(bench: Workbench) -> dict[str, Any]:
    processes = _latest(bench.engine)
    versions = all_processes(bench.engine)
    people = list(getattr(bench.people, "people", {}).values())
    return {
        "processes": processes,
        "versions": {p.id: sorted(q.version for q in versions if q.id == p.id) for p in processes},
        # every version's: running work of an older version may sit in a state the latest lacks
        "all_states": sorted({s.name for p in versions for s in p.states} | {"Cancelled"}),
        "statuses": sorted({s.status for p in versions for s in p.states if s.status}),
        "queues": bench.engine.queues(),
        "people": people,
        "sorts": SORTS,
    }


@router.get("/ops")
def search_page(request: Request, caller: PageCaller, cursor: str | None = None) -> Response:
    bench = workbench(request)
    _require(bench, caller)
    params = request.query_params
    form = _form_of(params, params.getlist("state"))
    return _search(request, caller, form, cursor)


def _search(
    request: Request,
    caller: Caller,
    form: SearchForm,
    cursor: str | None,
    *,
    bulk_error: str | None = None,
    posted: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    bench = workbench(request)
    error = None
    page = None
    asked = any(form.query().values()) or bool(form.states) or cursor is not None
    if asked:
        try:
            page = bench.engine.search(search_request(form, cursor))
        except FulfilError as refused:
            error, status = str(refused), status_of(refused)
    chosen = _chosen_process(bench, form)
    return _render(
        request,
        "ops_search.html",
        {
            "caller": caller,
            "form": form,
            "page": page,
            "error": error,
            "bulk_error": bulk_error,
            "posted": posted or {},
            "chosen": chosen,
            "actions": BULK_ACTIONS,
            **_choices(bench),
        },
        status,
    )


def _chosen_process(bench: Workbench, form: SearchForm) -> Process | None:
    process_id = form.values.get("process")
    if not process_id:
        return None
    try:
        version = _number(form.values.get("version", ""), "version")
        return bench.engine.catalog.get(process_id, version)
    except FulfilError:
        return None


# --- the values of a correction ---------------------------------------------------------------
def typed_value(process: Process, name: str, raw: str) -> Any:
    """A field's value from its form text: numbers, booleans and lists as their JSON types,
    an empty text as None (clearing the field); the engine checks the rest.

    Raises:
        UsageError: an unknown field. DataError-like messages come from the engine.
    """
    spec = process.find_field(name)
    if spec is None:
        known = ", ".join(f.name for f in process.fields)
        raise UsageError(f"{process.id} has no field '{name}'; its fields: {known}")
    text = raw.strip()
    if not text:
        return None
    if spec.type is FieldType.INT:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"field '{name}' takes a whole number (got '{raw}')") from None
    if spec.type is FieldType.BOOL:
        if text.lower() not in ("true", "false"):
            raise UsageError(f"field '{name}' takes true or false (got '{raw}')")
        return text.lower() == "true"
    if spec.type is FieldType.LIST:
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if spec.type is FieldType.TEXT:
        return raw
    return text


def corrections(
    process: Process, stored: Mapping[str, Any], posted: Mapping[str, str]
) -> dict[str, Any]:
    """The fields whose posted text differs from what the form showed of the stored value."""
    data: dict[str, Any] = {}
    for spec in process.fields:
        key = f"field.{spec.name}"
        if key not in posted:
            continue
        raw = posted[key].replace("\r\n", "\n")
        if raw.strip() == shown_value(stored.get(spec.name)).strip():
            continue
        data[spec.name] = typed_value(process, spec.name, raw)
    return data


def required_reason(reason: str | None, action: str, where: str = "the Reason box") -> str:
    """The reason of an intervention, trimmed.

    Raises:
        UsageError: none given (before anything is read or written).
    """
    text = (reason or "").strip()
    if not text:
        raise UsageError(
            f"{action} needs a reason for the audit trail: say why in {where} "
            '(e.g. "duplicate of facebook_access-3")'
        )
    return text


def _instance_refused(
    request: Request,
    caller: Caller,
    instance_id: str,
    refused: BaseException,
    where: str,
    fields: dict[str, str],
) -> Response:
    return render_instance(
        request,
        caller,
        instance_id,
        error=str(refused) if not isinstance(refused, WebError) else refused.message,
        error_for=f"ops:{where}",
        posted=fields,
        status=status_of(refused),
    )


@router.post("/ops/instances/{instance_id}/{action}")
async def intervene(
    request: Request, caller: PageCaller, instance_id: str, action: str
) -> Response:
    if action not in INSTANCE_ACTIONS:
        raise WebError(404, "no such page")
    fields = await checked_form(request, caller)

    def work() -> Response:
        engine = workbench(request).engine
        try:
            reason = required_reason(fields.get("reason"), action)
            if action == "cancel":
                engine.cancel(instance_id, reason=reason, actor=caller.person.id)
            elif action == "move":
                engine.move(
                    instance_id, fields.get("dest", ""), reason=reason, actor=caller.person.id
                )
            else:
                view = engine.show(instance_id)
                process = engine.catalog.get(view.process, view.version)
                data = corrections(process, view.to_json()["data"], fields)
                if not data:
                    raise UsageError("change at least one value to correct: nothing differs")
                engine.set_fields(instance_id, data, reason=reason, actor=caller.person.id)
        except (FulfilError, WebError) as refused:
            if isinstance(refused, NotFound):
                raise
            return _instance_refused(request, caller, instance_id, refused, action, fields)
        return RedirectResponse(f"/instances/{instance_id}#history", status_code=303)

    return await run_in_threadpool(work)


@router.post("/ops/messages/{message_id}/{action}")
async def message_action(
    request: Request, caller: PageCaller, message_id: int, action: str
) -> Response:
    if action not in ("retry", "drop"):
        raise WebError(404, "no such page")
    fields = await checked_form(request, caller)

    def work() -> Response:
        engine = workbench(request).engine
        found = [m for m in engine.outbox() if m.id == message_id]
        if not found:
            raise NotFound(f"no outbox message {message_id}")
        instance_id = found[0].instance
        try:
            reason = required_reason(
                fields.get("reason"), f"{action} of a message", "its reason box"
            )
            if action == "retry":
                engine.retry_message(message_id, reason=reason, actor=caller.person.id)
            else:
                engine.drop_message(message_id, reason=reason, actor=caller.person.id)
        except FulfilError as refused:
            if isinstance(refused, NotFound):
                raise
            where = f"{action}:{message_id}"
            return _instance_refused(request, caller, instance_id, refused, where, fields)
        return RedirectResponse(f"/instances/{instance_id}#history", status_code=303)

    return await run_in_threadpool(work)


# --- bulk -------------------------------------------------------------------------------------
def _bulk_values(bench: Workbench, form: SearchForm, fields: Mapping[str, str]) -> dict[str, Any]:
    """The action, its reason and its data or state, checked before anything runs."""
    action = fields.get("action", "")
    if action not in BULK_ACTIONS:
        raise UsageError(f"choose what to do: one of {', '.join(BULK_ACTIONS)}")
    values: dict[str, Any] = {
        "action": action,
        "reason": required_reason(fields.get("reason"), action),
    }
    if action in ("set", "move"):
        process = _chosen_process(bench, form)
        if process is None:
            raise UsageError(f"a bulk {action} needs a process: choose it in the search")
        if action == "set":
            name = fields.get("field", "")
            values["data"] = {name: typed_value(process, name, fields.get("value", ""))}
        else:
            values["state"] = fields.get("dest", "")
            if not values["state"]:
                raise UsageError("choose the state to move the instances to")
    return values


def _matching_ids(engine: Engine, request: SearchRequest) -> list[str]:
    ids: list[str] = []
    page_request = replace(request, limit=MAX_LIMIT, cursor=None)
    while True:
        page = engine.search(page_request)
        ids += [item.id for item in page.items]
        if page.next is None:
            return ids
        page_request = replace(page_request, cursor=page.next)


def _apply(engine: Engine, actor: str, values: Mapping[str, Any], instance_id: str) -> Any:
    action, reason = values["action"], values["reason"]
    if action == "cancel":
        return engine.cancel(instance_id, reason=reason, actor=actor)
    if action == "move":
        return engine.move(instance_id, values["state"], reason=reason, actor=actor)
    return engine.set_fields(instance_id, values["data"], reason=reason, actor=actor)


@router.post("/ops/bulk")
async def bulk(request: Request, caller: PageCaller) -> Response:
    fields = await checked_form(request, caller)
    bench = workbench(request)
    _require(bench, caller)
    form_data = await request.form()

    def work() -> Response:
        form = _form_of(fields, [v for v in form_data.getlist("state") if isinstance(v, str)])
        engine = bench.engine
        try:
            values = _bulk_values(bench, form, fields)
            search = search_request(form)
            if fields.get("confirm") != "yes":
                report = engine.intervene_many(
                    values["action"],
                    search,
                    reason=values["reason"],
                    actor=caller.person.id,
                    data=values.get("data"),
                    state=values.get("state"),
                    dry_run=True,
                )
                return _bulk_page(request, caller, form, fields, values, report)
            still = set(_matching_ids(engine, search))
        except FulfilError as refused:
            return _search(
                request,
                caller,
                form,
                None,
                bulk_error=str(refused),
                posted=fields,
                status=status_of(refused),
            )
        previewed = [i for i in fields.get("ids", "").split() if i]
        items = []
        for instance_id in previewed:
            if instance_id not in still:
                items.append(
                    BulkItem(instance_id, False, "no longer matches the search: left alone", {})
                )
                continue
            try:
                before = engine.show(instance_id)
                after = _apply(engine, caller.person.id, values, instance_id)
                items.append(BulkItem(instance_id, True, "", change_of(before, after)))
            except FulfilError as refused:
                items.append(BulkItem(instance_id, False, str(refused), {}))
        report = BulkReport(values["action"], False, tuple(items))
        return _bulk_page(request, caller, form, fields, values, report)

    return await run_in_threadpool(work)


def _bulk_page(
    request: Request,
    caller: Caller,
    form: SearchForm,
    fields: Mapping[str, str],
    values: Mapping[str, Any],
    report: BulkReport,
) -> Response:
    return _render(
        request,
        "ops_bulk.html",
        {
            "caller": caller,
            "form": form,
            "fields": fields,
            "values": values,
            "report": report,
            "ids": " ".join(item.instance for item in report.items if item.done),
        },
    )


# --- migrate ----------------------------------------------------------------------------------
def _mapping(text: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for line in text.replace(",", "\n").splitlines():
        if not line.strip():
            continue
        old, sep, new = line.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(
                f"a state map line reads OLD=NEW, e.g. waiting=in_progress (got '{line}')"
            )
        mapping[old.strip()] = new.strip()
    return mapping


@router.get("/ops/migrate")
def migrate_page(request: Request, caller: PageCaller, process: str = "", to: str = "") -> Response:
    bench = workbench(request)
    _require(bench, caller)
    return _migrate(request, caller, {"process": process, "to": to}, None, None)


def _migrate(
    request: Request,
    caller: Caller,
    fields: Mapping[str, str],
    items: list[Any] | None,
    error: str | None,
    *,
    applied: bool = False,
    status: int = 200,
) -> Response:
    bench = workbench(request)
    return _render(
        request,
        "ops_migrate.html",
        {
            "caller": caller,
            "fields": fields,
            "items": items,
            "error": error,
            "applied": applied,
            "movable": sum(1 for i in items or () if i.can_move),
            **_choices(bench),
        },
        status,
    )


@router.post("/ops/migrate")
async def migrate(request: Request, caller: PageCaller) -> Response:
    fields = await checked_form(request, caller)

    def work() -> Response:
        bench = workbench(request)
        _require(bench, caller)
        apply = fields.get("confirm") == "yes"
        try:
            process = fields.get("process", "").strip()
            if not process:
                raise UsageError("choose the process whose running work moves")
            to = _number(fields.get("to", "").strip(), "version")
            if to is None:
                raise UsageError("choose the version to move the running work to")
            items = bench.engine.migrate(
                process,
                to,
                mapping=_mapping(fields.get("map", "")),
                dry_run=not apply,
                actor=caller.person.id,
                reason=fields.get("reason") or None,
            )
        except FulfilError as refused:
            return _migrate(request, caller, fields, None, str(refused), status=status_of(refused))
        return _migrate(request, caller, fields, items, None, applied=apply)

    return await run_in_threadpool(work)


# --- stats ------------------------------------------------------------------------------------
@router.get("/ops/stats")
def stats_page(request: Request, caller: PageCaller, process: str = "") -> Response:
    bench = workbench(request)
    _require(bench, caller)
    stats = process_stats(bench.engine, process) if process else None
    return _render(
        request,
        "ops_stats.html",
        {"caller": caller, "process": process, "stats": stats, **_choices(bench)},
    )
