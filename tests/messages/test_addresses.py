"""One valid address per recipient: what engine.messages.addresses accepts and refuses, and why."""

from __future__ import annotations

import pytest
from fulfil.engine.messages.addresses import address_problem, check_address


@pytest.mark.parametrize(
    "value",
    ["sam@example.com", "sam.lee+ops@mail.example.co.uk", "a@x", "o'neil@example.com"],
)
def test_plain_addresses_are_accepted(value: str) -> None:
    """A bare local@domain address is one valid address."""
    assert address_problem(value) is None
    assert check_address(value) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a@x, other@evil", "list"),
        ("a@x;other@evil", "list"),
        ("a@x\r\nBcc: other@evil", "line break"),
        ("a@x\nother@evil", "line break"),
        ('"a@x" <evil@y>', "display name"),
        ("Bob <bob@example.com>", "display name"),
        ("bob @example.com", "spaces"),
        ("bob(comment)@example.com", "characters"),
        ("bob", "name@domain"),
        ("a@b@c", "name@domain"),
        ("@example.com", "before '@'"),
        ("a..b@example.com", "before '@'"),
        ("bob@-example.com", "domain"),
        ("bob@example..com", "domain"),
        ("", "empty"),
        (None, "not text"),
        (42, "not text"),
    ],
)
def test_anything_but_one_bare_address_is_refused_with_its_reason(
    value: object, reason: str
) -> None:
    """Lists, header injection, display-name tricks and malformed text are refused, saying why."""
    problem = address_problem(value)
    assert problem is not None and reason in problem
    with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
        check_address(value)
