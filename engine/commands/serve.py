"""`fulfil serve`: the workbench (web pages and the JSON API) under uvicorn."""

from __future__ import annotations

import os

import click

from ..errors import UsageError
from .common import guarded, open_engine
from .options import Settings

__all__ = ["serve_command"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="The port to listen on.")
@click.option(
    "--trusted-header",
    envvar="FULFIL_TRUSTED_HEADER",
    show_envvar=True,
    default=None,
    metavar="NAME",
    help="Take the person id from this request header, set by an SSO proxy in front of the "
    "workbench (off by default; see docs/workbench.md before turning it on).",
)
@click.option(
    "--session-hours",
    envvar="FULFIL_SESSION_HOURS",
    show_envvar=True,
    default=8.0,
    show_default=True,
    type=float,
    help="How long a sign-in lasts.",
)
@click.pass_obj
@guarded
def serve_command(
    settings: Settings, host: str, port: int, trusted_header: str | None, session_hours: float
) -> None:
    """Serve the workbench: sign-in, My work, instance and process pages, the JSON API.

    Sessions are signed with FULFIL_SESSION_SECRET (set it to keep sign-ins across restarts
    and to run several servers); without it a random secret is made at each start.
    """
    import uvicorn

    from ..web.app import create_app
    from ..web.auth import WebConfig

    if session_hours <= 0:
        raise UsageError("--session-hours must be more than 0")
    secret = os.environ.get("FULFIL_SESSION_SECRET")
    config = WebConfig(session_seconds=int(session_hours * 3600), trusted_header=trusted_header)
    if secret:
        config = WebConfig(
            secret=secret.encode(),
            session_seconds=config.session_seconds,
            trusted_header=trusted_header,
        )
    engine = open_engine(settings)
    try:
        app = create_app(engine, config)
        click.echo(f"fulfil workbench on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        engine.store.close()
