"""What every route of the workbench needs: the workbench itself and who calls.

Routes find the workbench (engine, credentials, templates) on `request.app.state.workbench`
and the caller through the dependencies `api_call` / `api_person` (JSON API: bearer token or
trusted header; a session cookie for reading) and `page_caller` (pages: session cookie or
trusted header). The JSON API's routes are `async` and do their work in one worker thread
(`await caller.run(work)`), where a bearer token is checked too. The router modules import
these from here; `app.py` puts the routers together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from ..model import Process
from ..people.directory import Directory, Person
from ..render.frame import CSS as FRAME_CSS
from ..render.html import diagram_html
from ..render.html import section as section_html
from ..runtime import Engine
from .auth import CSRF_FIELD, SESSION_COOKIE, Authenticator, Caller, WebConfig
from .credentials import Credentials
from .statuses import WebError

__all__ = [
    "ApiCall",
    "ApiCaller",
    "ApiPerson",
    "PageCaller",
    "SignInNeeded",
    "Workbench",
    "api_call",
    "api_person",
    "checked_form",
    "page_caller",
    "render_page",
    "signed_in",
    "workbench",
]

T = TypeVar("T")
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


def signed_in(request: Request) -> Caller | None:
    """The person a page request comes from (the trusted header or a session cookie), if any."""
    bench = workbench(request)
    return bench.auth.from_header(request.headers) or bench.auth.from_cookie(
        request.cookies.get(SESSION_COOKIE)
    )


async def page_caller(request: Request) -> Caller:
    """The person behind a page request (a FastAPI dependency); no session: to /login.

    A signature check and a look-up in the directory: it runs on the event loop.
    """
    caller = signed_in(request)
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


def render_page(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    """A page from its template, with the caller's CSRF token, the time and the frame's CSS."""
    bench = workbench(request)
    caller: Caller | None = context.get("caller")
    if caller is not None:
        context.setdefault("csrf", bench.auth.signer.csrf(caller.binding))
    context.setdefault("now", bench.engine.clock.now())
    context.setdefault("frame_css", FRAME_CSS)
    return bench.templates.TemplateResponse(request, name, context, status_code=status)
