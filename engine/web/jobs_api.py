"""The external workers' API under /api/jobs: fetch and lock jobs, complete them, fail them.

A worker in any language authenticates as a person of the directory (a bearer token) and works
jobs through the same engine calls as the Python worker (engine.runtime.jobs): a fetch locks
jobs for `worker` under a lease; a completion fires the job's declared trigger with its result
data; a failure schedules a retry or, with no retries left, records an incident. Giving back
the `worker` and `attempt` of the fetch makes the engine refuse (409) a completion whose lease
ended and whose job another worker fetched since.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..people.directory import Person
from .api import ERRORS
from .context import ApiCaller

__all__ = ["router"]

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class FetchBody(BaseModel):
    """`POST /api/jobs/fetch`: lock up to `max` jobs of `type` for `worker`."""

    type: str
    worker: Annotated[str, Field(min_length=1)]
    lease_seconds: Annotated[float, Field(gt=0)] | None = None
    max: Annotated[int, Field(ge=1, le=100)] = 1


class CompleteBody(BaseModel):
    """`POST /api/jobs/{id}/complete`: the result data of the job's completion trigger."""

    data: dict[str, Any] = Field(default_factory=dict)
    worker: str | None = None
    attempt: int | None = None


class FailBody(BaseModel):
    """`POST /api/jobs/{id}/fail`: why it failed, and when to try again (seconds)."""

    message: Annotated[str, Field(min_length=1)]
    retry_in: Annotated[float, Field(ge=0)] | None = None
    worker: str | None = None
    attempt: int | None = None


@router.post("/fetch", responses=ERRORS)
async def fetch(body: FetchBody, caller: ApiCaller) -> Any:
    """Jobs locked for the worker: `[{id, type, instance, payload, attempt, key}]`."""
    engine = caller.bench.engine

    def work(_: Person) -> Any:
        jobs = engine.fetch_jobs(
            body.type, worker=body.worker, lease_seconds=body.lease_seconds, max=body.max
        )
        return [job.task_json() for job in jobs]

    return JSONResponse(await caller.run(work))


@router.post("/{job_id}/complete", responses=ERRORS)
async def complete(job_id: int, body: CompleteBody, caller: ApiCaller) -> Any:
    """Complete a job: its trigger fires with `data`; answers the instance (`show --json`)."""
    engine = caller.bench.engine

    def work(_: Person) -> Any:
        view = engine.complete_job(job_id, body.data, worker=body.worker, attempt=body.attempt)
        return view.to_json()

    return JSONResponse(await caller.run(work))


@router.post("/{job_id}/fail", responses=ERRORS)
async def fail(job_id: int, body: FailBody, caller: ApiCaller) -> Any:
    """Report a job failed: it is retried later, or becomes an incident; answers the job."""
    engine = caller.bench.engine

    def work(_: Person) -> Any:
        job = engine.fail_job(
            job_id, body.message, retry_in=body.retry_in, worker=body.worker, attempt=body.attempt
        )
        return job.to_json()

    return JSONResponse(await caller.run(work))
