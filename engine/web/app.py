"""The application factory: one FastAPI app over one Engine.

    app = create_app(engine, WebConfig(secret=...))
    app.include_router(more_routes)        # other features add routes the same way

Routes find the workbench on `request.app.state.workbench` and the caller through the
dependencies of `context.py` (`ApiCaller`, `ApiPerson`, `PageCaller`; importable from here
too). An engine error becomes its HTTP status (engine.web.statuses); under /api as
`{error: message}`, elsewhere as a page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from ..errors import FulfilError, UsageError
from ..runtime import Engine
from . import api, jobs_api, operations, ops_api, pages
from .auth import Authenticator, WebConfig
from .context import (
    ApiCall,
    ApiCaller,
    ApiPerson,
    PageCaller,
    SignInNeeded,
    Workbench,
    api_call,
    api_person,
    checked_form,
    page_caller,
    signed_in,
    workbench,
)
from .credentials import Credentials
from .metrics import Metrics, MetricsMiddleware
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

HERE = Path(__file__).resolve().parent
log = logging.getLogger("fulfil.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def _error_response(request: Request, error: BaseException, status: int) -> Response:
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(error), status_code=status, headers=headers)
    bench = workbench(request)
    caller = signed_in(request)
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
