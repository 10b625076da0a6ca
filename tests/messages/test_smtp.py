"""SMTP delivery against a real SMTP server (aiosmtpd) on 127.0.0.1, started by the tests."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import DeliveryError, FulfilError, UsageError
from fulfil.engine.messages.adapters import SmtpAdapter
from fulfil.engine.messages.csvbatch import build_csv, build_message
from fulfil.engine.messages.smtp import (
    Attachment,
    SmtpDelivery,
    SmtpSettings,
    backoff,
    message_id,
    to_email,
)
from fulfil.engine.model import Recipient
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore
from fulfil.engine.store.base import OutboxRecord

SENDER = "fulfil@ops.example.com"


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives and refuses chosen addresses."""

    refuse: dict[str, str] = field(default_factory=dict)  # address -> reply
    data_reply: str | None = None
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ops", b"secret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[SmtpSettings]:
    """A running SMTP server on a free local port; yields settings to reach it."""
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    finally:
        controller.stop()


def plain(outbox_id: str = "ob-1", **overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "outbox_id": outbox_id,
        "sender": SENDER,
        "to": ["client@example.com"],
        "subject": "Your order",
        "body": "Hello,\nyour package is on its way.\n",
    }
    fields.update(overrides)
    return to_email(**fields)


def test_plain_message_is_received(server: SmtpSettings, recorder: Recorder) -> None:
    """A message sent is received with its sender, recipient, subject, body and Message-ID."""
    SmtpDelivery(server).send(plain())
    [(mail_from, rcpt, message)] = recorder.received
    assert mail_from == SENDER
    assert rcpt == ["client@example.com"]
    assert message["Subject"] == "Your order"
    assert message["Message-ID"] == "<fulfil.ob-1@ops.example.com>"
    body = message.get_body(("plain",))
    assert body is not None
    # Text travels with CRLF line ends on the wire.
    assert body.get_content() == "Hello,\r\nyour package is on its way.\r\n"


def test_cc_receives_a_copy(server: SmtpSettings, recorder: Recorder) -> None:
    """Cc addresses are envelope recipients and appear in the Cc header."""
    SmtpDelivery(server).send(plain(cc=["manager@example.com", "owner@example.com"]))
    [(_, rcpt, message)] = recorder.received
    assert rcpt == ["client@example.com", "manager@example.com", "owner@example.com"]
    assert message["Cc"] == "manager@example.com, owner@example.com"


def test_csv_attachment_arrives_intact(server: SmtpSettings, recorder: Recorder) -> None:
    """A fulfilment list's CSV arrives as a text/csv attachment with the same content."""
    text = build_csv(["name", "address"], [{"name": "Ann, Jr.", "address": "1 Main St\nApt 2"}])
    message = build_message(
        batch_id="batch-7",
        sender=SENDER,
        recipient=Recipient("printer@example.com", "Packages to send", "Please send package X"),
        name="list_step",
        period=datetime(2026, 3, 2, tzinfo=UTC),
        csv_text=text,
    )
    SmtpDelivery(server).send(message)
    [(_, rcpt, received)] = recorder.received
    assert rcpt == ["printer@example.com"]
    [part] = list(received.iter_attachments())
    assert part.get_content_type() == "text/csv"
    assert part.get_filename() == "list_step-2026-03-02.csv"
    assert part.get_content() == text
    body = received.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Please send package X"


def test_binary_attachment_round_trips(server: SmtpSettings, recorder: Recorder) -> None:
    """Bytes attachments keep their type and bytes."""
    blob = bytes(range(256))
    SmtpDelivery(server).send(plain(attachments=[Attachment("a.bin", blob)]))
    [part] = list(recorder.received[0][2].iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_content() == blob


def test_refused_recipient_is_permanent(server: SmtpSettings, recorder: Recorder) -> None:
    """A 5xx refusal of the only recipient is a permanent DeliveryError naming it."""
    recorder.refuse["client@example.com"] = "550 No such user"
    with pytest.raises(
        DeliveryError, match=re.escape("client@example.com: 550 No such user")
    ) as info:
        SmtpDelivery(server).send(plain())
    assert info.value.retryable is False
    assert info.value.reply_code == 550
    assert isinstance(info.value, FulfilError)
    assert recorder.received == []


def test_temporary_refusal_is_retryable(server: SmtpSettings, recorder: Recorder) -> None:
    """A 4xx refusal (mailbox busy) is retryable."""
    recorder.refuse["client@example.com"] = "451 Try again later"
    with pytest.raises(DeliveryError) as info:
        SmtpDelivery(server).send(plain())
    assert (info.value.retryable, info.value.reply_code) == (True, 451)


@pytest.mark.parametrize(("reply", "retryable"), [("554 Rejected", False), ("452 Full", True)])
def test_refused_data(
    server: SmtpSettings, recorder: Recorder, reply: str, retryable: bool
) -> None:
    """A refusal after DATA is permanent for 5xx and retryable for 4xx."""
    recorder.data_reply = reply
    with pytest.raises(DeliveryError, match=reply) as info:
        SmtpDelivery(server).send(plain())
    assert info.value.retryable is retryable


def test_partly_refused_is_not_retried(server: SmtpSettings, recorder: Recorder) -> None:
    """When some recipients got the message, a retry would duplicate it: not retryable."""
    recorder.refuse["owner@example.com"] = "550 No such user"
    with pytest.raises(DeliveryError, match="refused some recipients: owner@") as info:
        SmtpDelivery(server).send(plain(cc=["owner@example.com"]))
    assert info.value.retryable is False
    assert recorder.received[0][1] == ["client@example.com"]


def test_server_down_is_retryable() -> None:
    """Nothing listening on the port: a retryable DeliveryError naming the server."""
    port = free_port()
    settings = SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, timeout=2)
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port}") as info:
        SmtpDelivery(settings).send(plain())
    assert info.value.retryable is True
    assert info.value.reply_code is None


def test_login(server: SmtpSettings, recorder: Recorder) -> None:
    """With a user name the adapter logs in; a wrong password is a permanent refusal."""
    good = SmtpSettings(**{**vars(server), "username": "ops", "password": "secret"})
    SmtpDelivery(good).send(plain())
    assert len(recorder.received) == 1
    bad = SmtpSettings(**{**vars(server), "username": "ops", "password": "wrong"})
    with pytest.raises(DeliveryError, match="login as ops") as info:
        SmtpDelivery(bad).send(plain())
    assert (info.value.retryable, info.value.reply_code) == (False, 535)


def test_starttls_unsupported_is_permanent(server: SmtpSettings) -> None:
    """Asking for STARTTLS from a server that does not offer it fails without retry."""
    settings = SmtpSettings(**{**vars(server), "starttls": True})
    with pytest.raises(DeliveryError, match="STARTTLS") as info:
        SmtpDelivery(settings).send(plain())
    assert info.value.retryable is False


# --- messages, settings, backoff ----------------------------------------------------------


def test_message_id_is_stable_per_outbox_id() -> None:
    """The same outbox id gives the same Message-ID (receivers can drop a re-sent duplicate)."""
    assert plain("ob-1")["Message-ID"] == plain("ob-1")["Message-ID"]
    assert plain("ob-1")["Message-ID"] != plain("ob-2")["Message-ID"]
    odd = message_id("weird id/with spaces", "Ops <ops@example.org>")
    assert odd == message_id("weird id/with spaces", "ops@example.org")
    assert odd.endswith("@example.org>") and " " not in odd


def test_date_header_comes_from_the_caller() -> None:
    """The Date header is the time given (the engine's clock), never the machine's."""
    assert "Date" not in plain()
    sent = plain(sent_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert sent["Date"] == "Mon, 02 Mar 2026 08:00:00 +0000"


def test_only_email_channel_with_recipients() -> None:
    """An SMS entry or an entry without recipients is a permanent DeliveryError."""
    with pytest.raises(DeliveryError, match="channel 'sms'") as info:
        plain(channel="sms")
    assert info.value.retryable is False
    with pytest.raises(DeliveryError, match="no recipient"):
        plain(to=[])


def test_settings_from_env() -> None:
    """FULFIL_SMTP_* variables fill the settings; the password stays out of repr."""
    env = {
        "FULFIL_SMTP_HOST": "smtp.example.com",
        "FULFIL_SMTP_FROM": SENDER,
        "FULFIL_SMTP_STARTTLS": "yes",
        "FULFIL_SMTP_USER": "ops",
        "FULFIL_SMTP_PASSWORD": "hunter2",
        "FULFIL_SMTP_TIMEOUT": "7.5",
    }
    settings = SmtpSettings.from_env(env)
    assert settings == SmtpSettings(
        host="smtp.example.com",
        sender=SENDER,
        port=587,
        starttls=True,
        username="ops",
        password="hunter2",
        timeout=7.5,
    )
    assert "hunter2" not in repr(settings)
    ssl_env = {"FULFIL_SMTP_HOST": "h", "FULFIL_SMTP_FROM": "f@x", "FULFIL_SMTP_SSL": "1"}
    assert SmtpSettings.from_env(ssl_env).port == 465
    plain_env = {"FULFIL_SMTP_HOST": "h", "FULFIL_SMTP_FROM": "f@x", "FULFIL_SMTP_PORT": "2525"}
    assert (SmtpSettings.from_env(plain_env).port, SmtpSettings.from_env(plain_env).ssl) == (
        2525,
        False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "set FULFIL_SMTP_HOST and FULFIL_SMTP_FROM"),
        ({"FULFIL_SMTP_HOST": "h"}, "set FULFIL_SMTP_FROM"),
        ({"FULFIL_SMTP_SSL": "maybe"}, "not a yes/no"),
        ({"FULFIL_SMTP_SSL": "1", "FULFIL_SMTP_STARTTLS": "1"}, "only one"),
        ({"FULFIL_SMTP_PORT": "smtp"}, "not a number"),
        ({"FULFIL_SMTP_PORT": "70000"}, "not a port"),
        ({"FULFIL_SMTP_TIMEOUT": "0"}, "positive"),
    ],
)
def test_bad_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    """Missing or malformed variables are UsageErrors naming the variable."""
    if env and "FULFIL_SMTP_HOST" not in env:
        env = {"FULFIL_SMTP_HOST": "h", "FULFIL_SMTP_FROM": "f@x", **env}
    with pytest.raises(UsageError, match=message):
        SmtpSettings.from_env(env)


def test_backoff_doubles_up_to_an_hour() -> None:
    """Retries wait 1m, 2m, 4m, ... and never more than an hour."""
    waits = [backoff(n) for n in range(1, 9)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[6:] == [timedelta(hours=1), timedelta(hours=1)]
    assert backoff(10_000) == timedelta(hours=1)
    with pytest.raises(ValueError):
        backoff(0)


@pytest.mark.parametrize(
    ("header", "overrides"),
    [
        ("Subject", {"subject": "Your order\r\nBcc: all@example.com"}),
        ("To", {"to": ["client@example.com\nBcc: all@example.com"]}),
        ("Cc", {"cc": ["copy@example.com\r\n"]}),
        ("From", {"sender": "ops@example.com\n"}),
    ],
)
def test_a_line_break_in_a_header_is_a_permanent_error(
    header: str, overrides: dict[str, Any]
) -> None:
    """A CR/LF in any header is refused before sending and is not retryable: a trailing CRLF
    in Cc used to end the headers early, moving the Subject into the body."""
    with pytest.raises(DeliveryError) as caught:
        plain(**overrides)
    assert caught.value.retryable is False
    assert f"the {header} header holds a line break" in str(caught.value)


# --- the engine's messages to people, delivered ------------------------------------------------

TEAM = (
    Person("ana", "Ana", "ana@example.com", ("agent",), "lee"),
    Person("bo", "Bo", "bo@example.com", ("agent",), "lee"),
    Person("lee", "Lee", "lee@example.com", ("lead",), None),
)
CARE = Path(__file__).parents[1] / "runtime" / "cases" / "care.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def care_engine(server: SmtpSettings, clock: ManualClock) -> Engine:
    adapter = SmtpAdapter(server, clock=clock)
    catalog = Catalog((load_file(CARE).process,))
    people = PeopleDirectory.of(TEAM)
    return Engine(catalog, store=MemoryStore(), clock=clock, delivery=adapter, people=people)


def test_a_role_message_reaches_its_holders_over_smtp_with_a_date(
    server: SmtpSettings, recorder: Recorder
) -> None:
    """A message to a role arrives at its holders' addresses, dated by the engine's clock."""
    clock = ManualClock(T0)
    engine = care_engine(server, clock)
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    engine.fire(case.id, "ping", {"note": "hi"}, actor="lee", role="lead")
    engine.deliver()  # a fire queues the message; delivery is the worker's (or this) call
    [(_, rcpt, message)] = recorder.received
    assert rcpt == ["ana@example.com", "bo@example.com"]
    assert message["To"] == "ana@example.com, bo@example.com"
    assert message["Date"] == "Mon, 02 Mar 2026 09:00:00 +0000"
    assert [m.status for m in engine.outbox()] == ["sent"]


def test_a_two_address_value_never_reaches_the_server(
    server: SmtpSettings, recorder: Recorder
) -> None:
    """A string field holding two addresses makes a failed entry; the server gets nothing."""
    engine = care_engine(server, ManualClock(T0))
    case = engine.start(
        "care", {"backup": "a@example.com, other@evil.example"}, actor="ana", role="agent"
    )
    engine.fire(case.id, "tell_backup", actor="ana", role="agent")
    engine.deliver()
    [entry] = engine.outbox()
    assert entry.status == "failed" and "is a list of addresses" in entry.error
    assert recorder.received == []


@pytest.mark.parametrize(
    "address",
    ["ana@example.com\r\nBcc: spy@evil.example", "ana@example.com, spy@evil.example"],
)
def test_the_smtp_adapter_refuses_an_injected_or_listed_recipient(
    server: SmtpSettings, recorder: Recorder, address: str
) -> None:
    """An outbox row with a bad address (e.g. stored before the check) is refused, not sent."""
    adapter = SmtpAdapter(server, clock=ManualClock(T0))
    row = OutboxRecord("case-1", "email", (address,), (), "Hi", "Body", T0, id=7)
    with pytest.raises(DeliveryError, match=r"refused|line break") as refused:
        adapter.send(row)
    assert refused.value.retryable is False
    assert recorder.received == []


def test_a_subject_with_a_line_break_is_refused() -> None:
    """A rendered subject cannot add headers."""
    with pytest.raises(DeliveryError, match="line break"):
        plain(subject="Hi\r\nBcc: spy@evil.example")
