"""The workbench's pages: sign-in, My work, an instance, a process.

Every page needs a signed-in person (`page_caller`); every form carries the session's CSRF
token (`checked_form`); every change goes through the engine as that person, which checks
their roles. A refused change re-renders the page with the engine's message beside the form,
with the status of the refusal, and nothing stored.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import FulfilError, NotFound
from ..model import Process
from .auth import CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE, Caller
from .context import PageCaller, Workbench, checked_form, render_page, workbench
from .figures import state_figures
from .forms import read_form, trigger_forms
from .instance import compiled_of, render_instance
from .search import processes_of
from .statuses import WebError, status_of
from .titles import Titles
from .worklist import Filters, person_queues, queue_table

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _processes(bench: Workbench) -> list[Process]:
    return processes_of(bench.engine)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never `//host` or a scheme): no open redirect after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- sign-in ----------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    return _login(request, nonce, next, None, 200)


def _login(request: Request, nonce: str, target: str, error: str | None, status: int) -> Response:
    bench = workbench(request)
    response = render_page(
        request,
        "login.html",
        {
            "csrf": bench.auth.signer.csrf(f"login:{nonce}"),
            "next": _safe_next(target),
            "error": error,
            "trusted_header": bench.config.trusted_header,
        },
        status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="lax",
        secure=bench.config.secure_cookies,
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    bench = workbench(request)
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    nonce = request.cookies.get(LOGIN_COOKIE)
    target = fields.get("next", "/")
    if nonce is None or not bench.auth.signer.check_csrf(f"login:{nonce}", fields.get(CSRF_FIELD)):
        raise WebError(
            403,
            "this sign-in form is not from this workbench or has expired: reload the sign-in "
            "page and try again",
            "csrf",
        )
    username = fields.get("username", "").strip()
    person = bench.credentials.check_password(username, fields.get("password", ""))
    if person is None:
        return _login(request, nonce, target, "Wrong username or password.", 401)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        bench.auth.signer.issue(person.id),
        max_age=bench.config.session_seconds,
        httponly=True,
        samesite="lax",
        secure=bench.config.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, caller: PageCaller) -> Response:
    await checked_form(request, caller)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- my work ----------------------------------------------------------------------------------
@router.get("/")
def home(
    request: Request,
    caller: PageCaller,
    queue: str | None = None,
    process: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    text: str | None = None,
    ready_after: str | None = None,
    progress_after: str | None = None,
) -> Response:
    bench = workbench(request)
    processes = _processes(bench)
    mine = person_queues(processes, caller.person)
    queues = mine or bench.engine.queues()
    if queue and queue not in bench.engine.queues():
        raise NotFound(f"no queue '{queue}'; the queues: {', '.join(bench.engine.queues())}")
    filters = Filters(
        process or None,
        state or None,
        "" if assignee == "none" else (assignee or None),
        text or None,
    )
    titles = Titles(processes)

    def tables_of(chosen: str) -> dict[str, Any]:
        return {
            key: queue_table(
                bench.engine,
                chosen,
                ready=ready,
                filters=filters,
                cursor=cursor,
                size=bench.config.page_size,
                titles=titles,
            )
            for key, ready, cursor in (
                ("ready", True, ready_after),
                ("progress", False, progress_after),
            )
        }

    # Without a queue asked for, the first of the person's queues that has work in it: the
    # home page answers "what do I do now" rather than opening on an empty tab.
    chosen = queue or (queues[0] if queues else None)
    tables = tables_of(chosen) if chosen is not None else {}
    if queue is None:
        for other in queues[1:]:
            if any(table.rows for table in tables.values()):
                break
            found = tables_of(other)
            if any(table.rows for table in found.values()):
                chosen, tables = other, found
    query = {
        k: v
        for k, v in (
            ("queue", chosen),
            ("process", process),
            ("state", state),
            ("assignee", assignee),
            ("text", text),
        )
        if v
    }
    return render_page(
        request,
        "home.html",
        {
            "caller": caller,
            "queues": queues,
            "mine": mine,
            "queue": chosen,
            "tables": tables,
            "filters": filters,
            "query": query,
            "urlencode": urlencode,
            "processes": processes,
            "states": sorted({s.name for p in processes for s in p.states if not s.terminal}),
            "people": list(getattr(bench.people, "people", {}).values()),
            "assignee": assignee or "",
        },
    )


# --- an instance ------------------------------------------------------------------------------
@router.get("/instances/{instance_id}")
def instance_page(request: Request, caller: PageCaller, instance_id: str) -> Response:
    return render_instance(request, caller, instance_id)


def _expected_rev(fields: dict[str, str]) -> int | None:
    try:
        return int(fields["rev"]) if fields.get("rev") else None
    except ValueError:
        raise WebError(400, "the form's revision is not a number: reload the page") from None


@router.post("/instances/{instance_id}/fire")
async def fire_form(request: Request, caller: PageCaller, instance_id: str) -> Response:
    fields = await checked_form(request, caller)
    bench = workbench(request)
    trigger = fields.get("trigger", "")

    def work() -> Response:
        try:
            view = bench.engine.show(instance_id)
            cp = compiled_of(bench, view)
            form = next(
                (f for f in trigger_forms(cp, view.state, (trigger,), caller.person)),
                None,
            )
            data = read_form(cp.process, form, fields) if form is not None else {}
            bench.engine.fire(
                instance_id,
                trigger,
                data,
                actor=caller.person.id,
                expected_rev=_expected_rev(fields),
            )
        except FulfilError as refused:
            if isinstance(refused, NotFound):
                raise
            return _refused(request, caller, instance_id, refused, trigger, fields)
        return RedirectResponse(f"/instances/{instance_id}", status_code=303)

    # the engine waits on the store (a SQLite lock up to its busy timeout): off the event loop
    return await run_in_threadpool(work)


def _refused(
    request: Request,
    caller: Caller,
    instance_id: str,
    refused: FulfilError,
    where: str,
    fields: dict[str, str],
) -> Response:
    status = status_of(refused)
    message = str(refused)
    if status == 409 and "expected" in getattr(refused, "details", {}):
        message = (
            "This instance moved on since you opened the page (someone else changed it); "
            "nothing was stored. Check what changed below and try again."
        )
    return render_instance(
        request,
        caller,
        instance_id,
        error=message,
        error_for=where,
        posted=fields,
        status=status,
    )


@router.post("/instances/{instance_id}/{action}")
async def assignment_form(
    request: Request, caller: PageCaller, instance_id: str, action: str
) -> Response:
    if action not in ("claim", "release", "assign"):
        raise WebError(404, "no such page")
    fields = await checked_form(request, caller)
    engine = workbench(request).engine

    def work() -> Response:
        try:
            if action == "claim":
                engine.claim(instance_id, actor=caller.person.id)
            elif action == "release":
                engine.release(instance_id, actor=caller.person.id)
            else:
                engine.assign(instance_id, fields.get("person", ""), actor=caller.person.id)
        except FulfilError as refused:
            if isinstance(refused, NotFound):
                raise
            return _refused(request, caller, instance_id, refused, action, fields)
        return RedirectResponse(f"/instances/{instance_id}", status_code=303)

    return await run_in_threadpool(work)


# --- processes --------------------------------------------------------------------------------
@router.get("/processes")
def processes_page(request: Request, caller: PageCaller) -> Response:
    return render_page(
        request, "processes.html", {"caller": caller, "processes": _processes(workbench(request))}
    )


@router.get("/processes/{process_id}")
def process_page(request: Request, caller: PageCaller, process_id: str) -> Response:
    bench = workbench(request)
    process = next((p for p in _processes(bench) if p.id == process_id), None)
    if process is None:
        known = ", ".join(sorted(p.id for p in _processes(bench)))
        raise NotFound(f"no process '{process_id}'; the processes: {known}")
    return render_page(
        request,
        "process.html",
        {
            "caller": caller,
            "process": process,
            "section": bench.section(process),
            "figures": state_figures(bench.engine, process),
        },
    )
