"""Engine errors as HTTP: one status per kind of refusal, `{error: message}` bodies.

400  the request is wrong: bad JSON, data that does not fit, a guard or a required field
401  nobody signed in (no session, token or trusted header)
403  the person may not do it (the engine's role check), or a form without its CSRF token
404  no such instance, process or queue
409  the instance is not where the request thought: it moved on (stale form, expected
     revision), the trigger does not fire in its state, it is closed, or the id exists
503  the database is locked or unreachable: nothing was done, try again
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    AlreadyExists,
    ConflictError,
    FulfilError,
    InstanceClosed,
    JobRefused,
    NotFound,
    RoleRefused,
    StoreError,
    TriggerNotAllowed,
)

__all__ = ["WebError", "error_body", "status_of"]


class WebError(Exception):
    """A refusal of the web layer itself (sign-in, CSRF, bad request body)."""

    def __init__(self, status: int, message: str, code: str = "web") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def status_of(error: BaseException) -> int:
    """The HTTP status of an error the engine or the web layer raised."""
    if isinstance(error, WebError):
        return error.status
    if isinstance(error, RoleRefused):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(
        error, ConflictError | AlreadyExists | InstanceClosed | TriggerNotAllowed | JobRefused
    ):
        return 409
    if isinstance(error, StoreError):
        return 503
    return 400


def error_body(error: BaseException) -> dict[str, Any]:
    """`{error: message}`, with the engine's stable `code` and `details` when it has them."""
    if isinstance(error, WebError):
        return {"error": error.message, "code": error.code}
    body: dict[str, Any] = {"error": str(error)}
    if isinstance(error, FulfilError):
        body["code"] = getattr(error, "code", "error")
        details = getattr(error, "details", None)
        if details:
            body["details"] = dict(details)
    return body
