"""The application factory: one FastAPI app over one Engine.

    app = create_app(engine, WebConfig(secret=...))
    app.include_router(more_routes)        # other features add routes the same way

Routes find the workbench (engine, credentials, templates) on `request.app.state.workbench`
and the caller through the dependencies `api_person` (JSON API: bearer token or trusted
header; a session cookie for reading) and `page_caller` (pages: session cookie or trusted
header). An engine error becomes its HTTP status (engine.web.http); under /api as
`{error: message}`, elsewhere as a page.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from ..errors import FulfilError, UsageError
from ..people.directory import Directory, Person
from ..runtime import Engine
from .auth import CSRF_FIELD, SESSION_COOKIE, Authenticator, Caller, WebConfig
from .credentials import Credentials
from .http import WebError, error_body, status_of

__all__ = [
    "ApiPerson",
    "PageCaller",
    "Workbench",
    "api_person",
    "checked_form",
    "create_app",
    "page_caller",
    "workbench",
]

HERE = Path(__file__).resolve().parent
log = logging.getLogger("fulfil.web")


@dataclass
class Workbench:
    """What every route needs: the engine, who the people are, and how to sign them in."""

    engine: Engine
    people: Directory
    config: WebConfig
    credentials: Credentials
    auth: Authenticator
    templates: Jinja2Templates


class SignInNeeded(Exception):
    """A page was asked for without a session: the browser goes to /login."""


def workbench(request: Request) -> Workbench:
    found: Workbench = request.app.state.workbench
    return found


def api_person(request: Request) -> Person:
    """The person behind an API request (a FastAPI dependency).

    A bearer token or the trusted header always; a session cookie only to read (a write with
    a cookie alone could be a forged cross-site request).

    Raises:
        WebError: 401 when nobody is signed in.
    """
    bench = workbench(request)
    caller = bench.auth.from_header(request.headers)
    if caller is not None:
        return caller.person
    person = bench.auth.from_bearer(request.headers.get("authorization"))
    if person is not None:
        return person
    if request.method in ("GET", "HEAD"):
        caller = bench.auth.from_cookie(request.cookies.get(SESSION_COOKIE))
        if caller is not None:
            return caller.person
    raise WebError(
        401,
        "sign in first: send `Authorization: Bearer TOKEN` with a token from "
        "`fulfil people token PERSON`",
        "unauthenticated",
    )


ApiPerson = Annotated[Person, Depends(api_person)]
"""A route parameter: the person behind an API request (401 when nobody)."""


def page_caller(request: Request) -> Caller:
    """The person behind a page request (a FastAPI dependency); no session: to /login."""
    bench = workbench(request)
    caller = bench.auth.from_header(request.headers) or bench.auth.from_cookie(
        request.cookies.get(SESSION_COOKIE)
    )
    if caller is None:
        raise SignInNeeded
    return caller


PageCaller = Annotated[Caller, Depends(page_caller)]
"""A route parameter: the person behind a page request (to /login when nobody)."""


async def checked_form(request: Request, caller: Caller) -> dict[str, str]:
    """The fields of a posted form whose CSRF token belongs to the caller's session.

    Raises:
        WebError: 403 when the token is missing or is not this session's.
    """
    form = await request.form()
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if not workbench(request).auth.signer.check_csrf(caller.binding, fields.get(CSRF_FIELD)):
        log.warning(
            "refused a form without a valid CSRF token: %s %s by %s",
            request.method,
            request.url.path,
            caller.person.id,
        )
        raise WebError(
            403,
            "this form is not from a page of this workbench (its CSRF token is missing or "
            "belongs to another session): reload the page and submit it again",
            "csrf",
        )
    return fields


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def _error_response(request: Request, error: BaseException, status: int) -> Response:
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(error), status_code=status, headers=headers)
    bench = workbench(request)
    caller = None
    with contextlib.suppress(SignInNeeded):
        caller = page_caller(request)
    return bench.templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": error_body(error)["error"], "caller": caller},
        status_code=status,
    )


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in(request: Request, _: SignInNeeded) -> Response:
        if _is_api(request):
            return _error_response(request, WebError(401, "sign in first"), 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(WebError)
    async def web_error(request: Request, error: WebError) -> Response:
        return _error_response(request, error, error.status)

    @app.exception_handler(FulfilError)
    async def engine_error(request: Request, error: FulfilError) -> Response:
        status = status_of(error)
        if status == 503:
            log.error("the store failed: %s", error)
        return _error_response(request, error, status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> Response:
        return _error_response(request, UsageError(_validation_message(error)), 400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = "no such page" if error.status_code == 404 else str(error.detail)
        return _error_response(request, WebError(error.status_code, message), error.status_code)


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    return "bad request: " + "; ".join(parts)


def create_app(
    engine: Engine,
    config: WebConfig | None = None,
    *,
    collectors: Iterable[Any] = (),
    routers: Iterable[Any] = (),
) -> FastAPI:
    """The workbench application over `engine`.

    Args:
        engine: the engine every route works through (it needs a people directory).
        config: sessions, trusted header, page size (default: a random secret, 8 h sessions).
        collectors: more Prometheus collectors for /metrics, which serves the request
            counters and the engine's figures (the families of `fulfil worker --metrics-port`).
        routers: more `APIRouter`s to include (features that add routes).

    Raises:
        UsageError: the engine has no people directory (nobody could sign in).
    """
    from ..runtime.prometheus import FulfilCollector
    from . import api, jobs_api, operations, ops_api, pages
    from .metrics import Metrics, MetricsMiddleware

    if engine.people is None:
        raise UsageError(
            "the workbench needs a people directory to sign people in: add people.yaml to "
            "the processes folder or give --people FILE"
        )
    config = config or WebConfig()
    credentials = Credentials(engine.store, engine.clock, engine.people)
    templates = Jinja2Templates(
        env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    )
    templates.env.filters.update(when=when, span=span)
    templates.env.globals["may_operate"] = lambda person: operations.may_operate(engine, person)
    app = FastAPI(
        title="fulfil workbench",
        version=_version(),
        description="The JSON API of fulfil's workbench: start, fire, show, history, search, "
        "queues, outbox. Authenticate with `Authorization: Bearer TOKEN` "
        "(`fulfil people token PERSON`).",
    )
    app.state.workbench = Workbench(
        engine,
        engine.people,
        config,
        credentials,
        Authenticator(config, engine.people, credentials),
        templates,
    )
    metrics = Metrics((FulfilCollector(engine), *collectors))
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    _handlers(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(ops_api.router)
    app.include_router(jobs_api.router)
    app.include_router(metrics.router())
    app.include_router(operations.router)
    app.include_router(pages.router)
    for router in routers:
        app.include_router(router)
    return app


def when(moment: datetime) -> str:
    """A time as pages show it: minutes, UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(duration: timedelta) -> str:
    """A duration as pages show it: its two largest units (`3d 4h`, `2h 5m`, `40s`)."""
    seconds = int(duration.total_seconds())
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        if seconds >= size or (name == "s" and not parts):
            parts.append(f"{seconds // size}{name}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fulfil")
    except PackageNotFoundError:
        return "0"
