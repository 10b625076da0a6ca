"""An example service embedding fulfil: a FastAPI app sharing one Engine, a CRM job worker and a
read model kept in step by a listener.

    uvicorn --factory app:main    # from this folder; FULFIL_DB picks the store (default SQLite)

- `POST /clients` starts an onboarding, `POST /clients/{id}/approve` approves it (the page's
  revision as `rev`, an `Idempotency-Key` header so a double click steps once);
- approving creates a `crm.create_task` job in the same transaction; the worker (an asyncio
  task of the app) fetches it, calls the CRM with the job's key, and completes the job, which
  fires `crm_task_created` with the CRM's task id;
- a listener keeps the app's own table `app_clients` in step with every committed event,
  whoever made it (a request, the worker, another process);
- `GET /clients/{id}` reads that table.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from crm import FakeCRM
from fastapi import FastAPI, Header, HTTPException
from fulfil.engine.clock import SystemClock
from fulfil.engine.errors import ConflictError, ExecutionError, FulfilError, NotFound
from fulfil.engine.worker import JobHandlers
from fulfil.engine.definition import load_directory
from fulfil.engine.runtime import AsyncEngine, Engine
from fulfil.engine.runtime.listening import CommittedEvent
from fulfil.engine.runtime.views import JobView
from fulfil.engine.store import open_store
from fulfil.engine.worker import Worker
from pydantic import BaseModel

HERE = Path(__file__).parent
OPS = {"actor": "ops-desk", "role": "ops"}


class NewClient(BaseModel):
    client: str
    seats: int = 1


class Approval(BaseModel):
    rev: int | None = None


class ReadModel:
    """The application's own table, written by the listener (its own SQLite file)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS app_clients (id TEXT PRIMARY KEY, client TEXT, "
            "state TEXT, crm_task TEXT, seq INTEGER NOT NULL)"
        )

    def apply(self, item: CommittedEvent) -> None:
        """One committed event; idempotent (an event given twice changes nothing)."""
        event = item.event
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM app_clients WHERE id = ?", (item.instance,)
            ).fetchone()
            if row is not None and row[0] >= event.seq:
                return
            if row is None:
                self._db.execute(
                    "INSERT INTO app_clients (id, client, state, crm_task, seq) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (item.instance, event.data.get("client"), event.dest, None, event.seq),
                )
                return
            self._db.execute(
                "UPDATE app_clients SET state = COALESCE(?, state), "
                "crm_task = COALESCE(?, crm_task), seq = ? WHERE id = ?",
                (event.dest, event.data.get("crm_task"), event.seq, item.instance),
            )

    def get(self, instance: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, client, state, crm_task FROM app_clients WHERE id = ?", (instance,)
            ).fetchone()
        columns = ("id", "client", "state", "crm_task")
        return None if row is None else dict(zip(columns, row, strict=True))


def refuse(exc: FulfilError) -> HTTPException:
    """The engine's refusal as an HTTP error: its message, code and details."""
    status = 400
    for kind, code in ((NotFound, 404), (ConflictError, 409), (ExecutionError, 422)):
        if isinstance(exc, kind):
            status = code
            break
    return HTTPException(status, {"error": str(exc), "code": exc.code, **exc.details})


def crm_handlers(crm: FakeCRM) -> JobHandlers:
    handlers = JobHandlers()

    @handlers.worker("crm.create_task")
    def create_task(job: JobView) -> dict[str, str]:
        return {"crm_task": crm.create_task(job.payload, idempotency_key=job.key)}

    return handlers


def create_app(folder: Path, *, crm: FakeCRM | None = None, poll: float = 0.2) -> FastAPI:
    """The service over the SQLite files of `folder` (the engine's and the read model's)."""
    crm = crm or FakeCRM()
    store = open_store(os.environ.get("FULFIL_DB", f"sqlite:///{folder / 'service.db'}"))
    engine = Engine(load_directory(HERE / "processes"), store=store, clock=SystemClock())
    reads = ReadModel(folder / "read_model.db")
    engine.subscribe(reads.apply, name="read-model", process="client_onboarding", from_start=True)
    calls = AsyncEngine(engine)
    worker = Worker(engine, jobs=crm_handlers(crm), poll=poll, name="crm-worker")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = asyncio.create_task(worker.run_async())
        try:
            yield
        finally:
            running.cancel()
            with suppress(asyncio.CancelledError):
                await running
            store.close()

    app = FastAPI(title="Onboarding (fulfil example)", lifespan=lifespan)
    app.state.crm, app.state.engine, app.state.reads = crm, engine, reads

    @app.post("/clients", status_code=201)
    async def start(body: NewClient) -> dict[str, Any]:
        try:
            view = await calls.start("client_onboarding", body.model_dump(), **OPS)
        except FulfilError as exc:
            raise refuse(exc) from None
        return {"id": view.id, "state": view.state, "rev": view.rev}

    @app.post("/clients/{instance}/approve")
    async def approve(
        instance: str, body: Approval, idempotency_key: str | None = Header(default=None)
    ) -> dict[str, Any]:
        try:
            view = await calls.fire(
                instance, "approve", expected_rev=body.rev, idempotency_key=idempotency_key, **OPS
            )
        except FulfilError as exc:
            raise refuse(exc) from None
        return {"id": view.id, "state": view.state, "rev": view.rev}

    @app.get("/clients/{instance}")
    async def read(instance: str) -> dict[str, Any]:
        row = reads.get(instance)
        if row is None:
            raise HTTPException(404, {"error": f"no client onboarding '{instance}'"})
        return row

    @app.get("/crm/tasks")
    async def crm_tasks() -> list[dict[str, Any]]:
        return list(crm.tasks.values())

    return app


def main() -> FastAPI:
    """The app over the current folder's files (`uvicorn --factory app:main`)."""
    return create_app(Path(os.environ.get("FULFIL_EXAMPLE_DIR", ".")))
