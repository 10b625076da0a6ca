"""E-mail addresses: what one valid recipient address is, and why a text is not one.

A recipient comes from a field's value, a role's contact, a person of the directory or a
queue's shared address, and ends up in a `To:` header. So a value is accepted only when it is
exactly one bare address, `local@domain`:

    refused   a line break or other control character   (header injection)
              a list: `a@x, b@y`, `a@x; b@y`            (one value mails one person)
              a display name or angle brackets: `"a@x" <evil@y>`, `Bob <b@y>`
              spaces, quotes, comments, several or no `@`, an empty part

`address_problem` says what is wrong (None when fine); `check_address` raises `ValueError`
with that reason. The `email` field type and the SMTP adapter both use them.

An `sms` goes to a phone number instead: `phone_problem` accepts what the people directory's
`phone` does (digits, spaces and `+ ( ) . -`, a `+` or a digit first, seven characters at
least).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["address_problem", "check_address", "phone_problem"]

# The patterns are compiled on first use (the `re` module keeps them).
# Characters RFC 5322 gives a meaning in headers, plus whitespace: none may appear in the bare
# dot-atom addresses fulfil accepts.
_SPECIALS = r"[\s<>()\[\]\\,;:\"]"
_CONTROL = r"[\x00-\x1f\x7f]"
_DOMAIN_LABEL = r"^[^\W_](?:[\w-]*[^\W_])?$"
_MAX_LENGTH = 254  # RFC 5321: the longest path a server must accept
_PHONE = r"\+?[0-9][0-9 ().-]{5,}"  # as `phone` in schemas/people.schema.json
# The common case in one match: an ASCII dot-atom local part and a domain of LDH labels.
_PLAIN = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def address_problem(value: object) -> str | None:
    """Why `value` is not one valid address, or None when it is one."""
    if not isinstance(value, str):
        return f"{value!r} is not text"
    return _text_problem(value)


@lru_cache(maxsize=4096)  # every message checks the same few addresses again
def _text_problem(value: str) -> str | None:
    if len(value) <= _MAX_LENGTH and re.fullmatch(_PLAIN, value):
        return None
    if re.search(_CONTROL, value):
        return "it contains a line break or control character"
    if not value:
        return "it is empty"
    if "," in value or ";" in value:
        return "it is a list of addresses; give one address"
    if "<" in value or ">" in value or '"' in value:
        return (
            "it has a display name or angle brackets; give the bare address, e.g. sam@example.com"
        )
    if re.search(_SPECIALS, value):
        return "it contains spaces or characters an address cannot have"
    if value.count("@") != 1:
        return "it is not one address of the form name@domain"
    local, domain = value.split("@")
    if not local or local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before '@' is empty or has misplaced dots"
    if not all(re.match(_DOMAIN_LABEL, label) for label in domain.split(".")):
        return "the domain after '@' is not a valid domain name"
    if len(value) > _MAX_LENGTH:
        return f"it is longer than {_MAX_LENGTH} characters"
    return None


def check_address(value: object) -> str:
    """`value` when it is one valid address.

    Raises:
        ValueError: it is not; the message says why (see `address_problem`).
    """
    problem = address_problem(value)
    if problem is not None:
        raise ValueError(problem)
    assert isinstance(value, str)
    return value


def phone_problem(value: object) -> str | None:
    """Why `value` is not a phone number an `sms` can go to, or None when it is one."""
    if not isinstance(value, str):
        return f"{value!r} is not text"
    if re.fullmatch(_PHONE, value) is None:
        return "it is not a phone number such as +1 555 0100 (digits, spaces, + ( ) . -)"
    return None
