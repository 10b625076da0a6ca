"""The application factory: one FastAPI app over one Engine.

    app = create_app(engine, WebConfig(secret=...))
    app.include_router(more_routes)        # other features add routes the same way

Routes find the workbench (engine, credentials, templates) on `request.app.state.workbench`
and the caller through the dependencies `api_call` / `api_person` (JSON API: bearer token or
trusted header; a session cookie for reading) and `page_caller` (pages: session cookie or
trusted header). The JSON API's routes are `async` and do their work in one worker thread
(`await caller.run(work)`), where a bearer token is checked too. An engine error becomes its
HTTP status (engine.web.statuses); under /api as `{error: message}`, elsewhere as a page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..errors import FulfilError, UsageError
from ..model import Process
from ..people.directory import Directory, Person
from ..render.html import diagram_html
from ..render.html import section as section_html
from ..runtime import Engine
from .auth import CSRF_FIELD, SESSION_COOKIE, Authenticator, Caller, WebConfig
from .credentials import Credentials
from .statuses import WebError, error_body, status_of

__all__ = [
    "ApiCall",
    "ApiCaller",
    "ApiPerson",
    "PageCaller",
    "Workbench",
    "api_call",
    "api_person",
    "checked_form",
    "create_app",
    "page_caller",
    "workbench",
]

T = TypeVar("T")
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
    drawn: dict[tuple[str, str, int, str], str] = field(default_factory=dict)

    def diagram(self, process: Process) -> str:
        """The process's diagram as HTML, drawn once per definition (Graphviz runs as a
        program of its own: tens of milliseconds a drawing)."""
        return self._once("diagram", process, diagram_html)

    def section(self, process: Process) -> str:
        """The auditor's section of the process (its diagram and tables), made once."""
        return self._once("section", process, section_html)

    def _once(self, kind: str, process: Process, make: Callable[[Process], str]) -> str:
        key = (kind, process.id, process.version, process.source_hash)
        made = self.drawn.get(key)
        if made is None:
            made = self.drawn[key] = make(process)
        return made


class SignInNeeded(Exception):
    """A page was asked for without a session: the browser goes to /login."""


def workbench(request: Request) -> Workbench:
    found: Workbench = request.app.state.workbench
    return found


def _unauthenticated() -> WebError:
    return WebError(
        401,
        "sign in first: send `Authorization: Bearer TOKEN` with a token from "
        "`fulfil people token PERSON`",
        "unauthenticated",
    )


@dataclass(frozen=True)
class ApiCall:
    """The caller of an API request, and the one trip to a worker thread that serves it.

    Identities known from the request alone (the trusted header, a session cookie: a
    signature check) are settled on the event loop. A bearer token needs the store, so it is
    checked in the worker thread that then does the route's work: one thread hop a request,
    not one for the identity and one for the work (each costs about as much as a fire).
    """

    bench: Workbench
    person: Person | None  # settled from the request
    token: str | None  # a bearer token, checked by `caller`

    def caller(self) -> Person:
        """The person behind the request (blocking: reads the store for a token).

        Raises:
            WebError: 401 when the token is not a live token of an active person.
        """
        if self.person is not None:
            return self.person
        person = self.bench.auth.from_token(self.token) if self.token else None
        if person is None:
            raise _unauthenticated()
        return person

    async def run(self, work: Callable[[Person], T]) -> T:
        """`work(caller)` in a worker thread: the engine's calls block on the store."""
        return await run_in_threadpool(lambda: work(self.caller()))


async def api_call(request: Request) -> ApiCall:
    """The caller of an API request, not yet checked when it is a bearer token (a FastAPI
    dependency; see `ApiCall`).

    A bearer token or the trusted header always; a session cookie only to read (a write with
    a cookie alone could be a forged cross-site request).

    Raises:
        WebError: 401 when the request names nobody.
    """
    bench = workbench(request)
    caller = bench.auth.from_header(request.headers)
    if caller is not None:
        return ApiCall(bench, caller.person, None)
    token = bench.auth.bearer_token(request.headers.get("authorization"))
    if token is not None:
        return ApiCall(bench, None, token)
    if request.method in ("GET", "HEAD"):
        caller = bench.auth.from_cookie(request.cookies.get(SESSION_COOKIE))
        if caller is not None:
            return ApiCall(bench, caller.person, None)
    raise _unauthenticated()


ApiCaller = Annotated[ApiCall, Depends(api_call)]
"""A route parameter: the caller of an API request; serve it with `await caller.run(work)`."""


async def api_person(request: Request) -> Person:
    """The person behind an API request (a FastAPI dependency), checked before the route runs.

    Raises:
        WebError: 401 when nobody is signed in.
    """
    call = await api_call(request)
    if call.person is not None:
        return call.person
    return await run_in_threadpool(call.caller)


ApiPerson = Annotated[Person, Depends(api_person)]
"""A route parameter: the person behind an API request (401 when nobody). A route that does
its work through `ApiCaller` instead saves a thread hop."""


def _page_caller(request: Request) -> Caller | None:
    bench = workbench(request)
    return bench.auth.from_header(request.headers) or bench.auth.from_cookie(
        request.cookies.get(SESSION_COOKIE)
    )


async def page_caller(request: Request) -> Caller:
    """The person behind a page request (a FastAPI dependency); no session: to /login.

    A signature check and a look-up in the directory: it runs on the event loop.
    """
    caller = _page_caller(request)
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
    caller = _page_caller(request)
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
