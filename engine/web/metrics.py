"""`/metrics`: Prometheus text for the workbench's requests and the engine's figures.

The workbench counts its requests by method, route and status and times them, and serves the
engine's figures (instances per state, steps, refusals, outbox, timers, jobs: the families of
`fulfil worker --metrics-port`, engine.runtime.prometheus); a feature with figures of its own
passes its collectors to `create_app`, and they are served here too. Reading /metrics needs an
identity like every route (a scraper sends `Authorization: Bearer TOKEN`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import ApiPerson

__all__ = ["Metrics", "MetricsMiddleware"]


class Metrics:
    """The registry of one application and its request instruments."""

    def __init__(self, collectors: Iterable[Any] = ()) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fulfil_http_requests",
            "Workbench HTTP requests, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "fulfil_http_request_seconds",
            "Workbench HTTP request durations in seconds, by route.",
            ["route"],
            registry=self.registry,
        )
        for collector in collectors:
            self.registry.register(collector)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one finished request (its route is in the scope once routing matched it)."""
        name = getattr(scope.get("route"), "path", "unmatched")
        self.requests.labels(scope["method"], name, str(status)).inc()
        self.seconds.labels(name).observe(seconds)

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/metrics", include_in_schema=False)
        def metrics(person: ApiPerson) -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return router


class MetricsMiddleware:
    """Counts and times every HTTP request for `Metrics`.

    A plain ASGI middleware: it passes the request through untouched and only reads the
    status of the response as it is sent (a `BaseHTTPMiddleware` would run each request in a
    task of its own and copy its body through a stream, which costs more than a fire).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the application raises

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)
