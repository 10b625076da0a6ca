"""`fulfil people set-password|token|revoke-tokens`: the credentials of the workbench.

Passwords are read from stdin (or `FULFIL_PASSWORD`), never from the command line where `ps`
and the shell's history would show them; a token is printed once, as the last word of stdout.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from ..errors import UsageError
from .common import guarded, opened_engine
from .options import FulfilGroup, Settings

if TYPE_CHECKING:
    from ..web.credentials import Credentials

__all__ = ["people_group"]


@click.group("people", cls=FulfilGroup)
def people_group() -> None:
    """Credentials of the people of the directory for `fulfil serve` (the workbench)."""


def _credentials(engine: Any) -> Credentials:
    from ..web.credentials import Credentials

    people = engine.people
    if people is None:
        raise UsageError(
            "credentials need a people directory: add people.yaml to the processes folder or "
            "give --people FILE"
        )
    return Credentials(engine.store, engine.clock, people)


def _read_password() -> str:
    given = os.environ.get("FULFIL_PASSWORD")
    if given is not None:
        return given
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@people_group.command("set-password")
@click.argument("person")
@click.pass_obj
@guarded
def set_password_command(settings: Settings, person: str) -> None:
    """Set PERSON's workbench password, read from stdin (or FULFIL_PASSWORD)."""
    password = _read_password()
    with opened_engine(settings) as engine:
        _credentials(engine).set_password(person, password)
    click.echo(f"password set for {person}")


@people_group.command("token")
@click.argument("person")
@click.pass_obj
@guarded
def token_command(settings: Settings, person: str) -> None:
    """Make an API token for PERSON (`Authorization: Bearer TOKEN`), printed once."""
    with opened_engine(settings) as engine:
        token = _credentials(engine).new_token(person)
    click.echo(f"API token for {person} (shown once, keep it secret): {token}")


@people_group.command("revoke-tokens")
@click.argument("person")
@click.pass_obj
@guarded
def revoke_tokens_command(settings: Settings, person: str) -> None:
    """Revoke every API token of PERSON (requests with them get 401 from now on)."""
    with opened_engine(settings) as engine:
        count = _credentials(engine).revoke_tokens(person)
    click.echo(f"revoked {count} token{'' if count == 1 else 's'} of {person}")
