"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.runtime.channels.receivers import closed_port, smtp_server
from trellis.runtime.channels import ChannelConfigError, DeliveryError, EmailChannel, OutgoingMessage

MESSAGE = OutgoingMessage(id="0190a0b0-0000-7000-8000-000000000001", channel="email", recipient="ann@example.com",
                          subject="合同即将到期：HT-2026-001", body="您好，\n合同 HT-2026-001 将于 30 天后到期。\n")


def settings(port: int, **extra: object) -> dict[str, object]:
    return {"host": "127.0.0.1", "port": port, "security": "none", "from_address": "noreply@acme.example",
            "from_name": "Trellis 提醒", "timeout": 5, **extra}


def test_a_message_arrives_with_its_headers_and_chinese_body():
    with smtp_server() as (server, port):
        EmailChannel(settings(port)).send(MESSAGE)
    [envelope] = server.envelopes
    assert envelope.mail_from == "noreply@acme.example"
    assert envelope.rcpt_tos == ["ann@example.com"]
    [mail] = server.messages()
    assert mail["Subject"] == "合同即将到期：HT-2026-001"
    assert mail["From"].addresses[0].display_name == "Trellis 提醒"
    assert mail["From"].addresses[0].addr_spec == "noreply@acme.example"
    assert mail["To"] == "ann@example.com"
    assert mail["Message-ID"] == f"<{MESSAGE.id}@trellis>"
    assert mail["Date"] is not None
    assert mail.get_content().replace("\r\n", "\n") == MESSAGE.body  # SMTP sends CRLF line ends
    assert mail.get_content_charset() == "utf-8"


def test_logs_in_when_a_username_is_given():
    with smtp_server(auth=True) as (server, port):
        EmailChannel(settings(port, username="mailer", password="right horse battery")).send(MESSAGE)
    assert server.logins == [("mailer", "right horse battery")]
    assert len(server.envelopes) == 1


def test_a_refused_login_is_not_retried():
    with smtp_server(auth=True) as (server, port):
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings(port, username="mailer", password="wrong")).send(MESSAGE)
    assert not caught.value.retryable
    assert "refused the login of mailer" in caught.value.reason
    assert "wrong" not in caught.value.reason
    assert server.envelopes == []


def test_a_permanent_rejection_is_not_retried():
    with smtp_server() as (server, port):
        server.reject_rcpt = "550 5.1.1 mailbox unavailable"
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings(port)).send(MESSAGE)
    assert not caught.value.retryable
    assert "550" in caught.value.reason and "ann@example.com" in caught.value.reason


def test_a_temporary_rejection_is_retried():
    with smtp_server() as (server, port):
        server.reject_data = "451 4.3.0 try again later"
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings(port)).send(MESSAGE)
    assert caught.value.retryable
    assert "451" in caught.value.reason


def test_a_refused_connection_is_retried():
    port = closed_port()
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(settings(port)).send(MESSAGE)
    assert caught.value.retryable
    assert caught.value.reason == f"SMTP server 127.0.0.1:{port} refused the connection"


def test_starttls_against_a_server_without_it_is_a_settings_problem():
    with smtp_server() as (server, port):
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings(port, security="starttls")).send(MESSAGE)
    assert not caught.value.retryable
    assert "STARTTLS" in caught.value.reason


@pytest.mark.parametrize("recipient", ["ann at example", "ann@", "a@b@c", "ann@example.com\nBcc: eve@example.com"])
def test_a_recipient_that_is_no_address_is_not_retried(recipient: str):
    with smtp_server() as (server, port):
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(settings(port)).send(OutgoingMessage(id="x", channel="email", recipient=recipient,
                                                              subject="s", body="b"))
    assert not caught.value.retryable
    assert server.envelopes == []


def test_a_line_break_in_the_subject_cannot_add_headers():
    with smtp_server() as (server, port):
        EmailChannel(settings(port)).send(OutgoingMessage(id="x", channel="email", recipient="ann@example.com",
                                                          subject="到期\r\nBcc: eve@example.com", body="b"))
    [mail] = server.messages()
    assert mail["Subject"] == "到期 Bcc: eve@example.com"
    assert mail["Bcc"] is None
    assert server.envelopes[0].rcpt_tos == ["ann@example.com"]


def test_settings_are_checked_when_the_channel_is_built():
    with pytest.raises(ChannelConfigError) as caught:
        EmailChannel({"host": "", "port": 70000, "security": "tls", "from_address": "noreply@acme.example"})
    paths = [p.path for p in caught.value.problems]
    assert paths == ["email.host", "email.port", "email.security"]
