"""`/metrics`: Prometheus text for the workbench's requests, and any collectors given.

The workbench counts its requests by method, route and status and times them; a feature with
figures of its own (instances per state, timers due) passes its collectors to `create_app`,
and they are served here too. Reading /metrics needs an identity like every route (a scraper
sends `Authorization: Bearer TOKEN`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .app import ApiPerson

__all__ = ["Metrics"]


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

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.requests.labels(request.method, name, str(response.status_code)).inc()
        self.seconds.labels(name).observe(time.perf_counter() - started)
        return response

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/metrics", include_in_schema=False)
        def metrics(person: ApiPerson) -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return router
