"""`fulfil jobs`: the external work steps handed out, and `worker --jobs MODULE`'s handlers."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from ..errors import UsageError
from ..store.base import JOB_STATES
from .common import JSON_OPTION, emit_json, guarded, opened_engine
from .options import Settings

__all__ = ["jobs_command", "load_handlers"]


def load_handlers(module: str) -> Any:
    """The handlers module `module` registers (`@fulfil.engine.worker.worker`), imported from
    the current folder or `sys.path`.

    Raises:
        UsageError: the module cannot be imported, or registers no handler.
    """
    from ..worker import REGISTRY

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(
            f"cannot import the jobs module '{module}': {exc}; give a module name importable "
            "from this folder (e.g. crm_jobs for ./crm_jobs.py)"
        ) from None
    if not REGISTRY.handlers:
        raise UsageError(
            f"module '{module}' registers no job handler: decorate a function with "
            '@fulfil.engine.worker.worker("TYPE")'
        )
    return REGISTRY


@click.command("jobs")
@click.option("--type", "job_type", default=None, metavar="TYPE", help="Only jobs of this type.")
@click.option(
    "--state",
    type=click.Choice(JOB_STATES),
    default=None,
    help="Only jobs in this state (open, locked, failed, incident, completed, cancelled).",
)
@click.option(
    "--retry",
    "retry",
    type=int,
    default=None,
    metavar="JOB",
    help="Give an incident (or failed job) back to workers now, its retries afresh.",
)
@JSON_OPTION
@click.pass_obj
@guarded
def jobs_command(
    settings: Settings,
    job_type: str | None,
    state: str | None,
    retry: int | None,
    as_json: bool,
) -> None:
    """The jobs steps created for other systems, oldest first, with their state and errors."""
    from ..runtime.text import job_line

    with opened_engine(settings) as engine:
        if retry is not None:
            again = engine.retry_job(retry)
            if as_json:
                emit_json(again.to_json())
            else:
                click.echo(job_line(again).strip())
            return
        jobs = engine.jobs(type=job_type, state=state)
    if as_json:
        emit_json([job.to_json() for job in jobs])
        return
    if not jobs:
        click.echo("no jobs")
    for job in jobs:
        click.echo(job_line(job).strip())
