"""The signed webhook channel against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.runtime.channels.receivers import LOOPBACK, Answer, HttpReceiver
from trellis.runtime.channels import DeliveryError, OutgoingMessage, WebhookChannel, verify_signature

SECRET = "whsec-0123456789abcdef"
NOW = 1_770_000_000.0


def message(url: str) -> OutgoingMessage:
    return OutgoingMessage(id="d-7", channel="webhook", recipient=f"{url}/hook", subject="续约提醒", body="合同到期",
                           data={"object": "contract", "record_id": "r-1", "amount": Decimal("1234.50"),
                                 "end_date": date(2026, 3, 1)})


def channel() -> WebhookChannel:
    return WebhookChannel({"secret": SECRET, "timeout": 5}, LOOPBACK, clock=lambda: NOW)


def test_posts_the_data_signed(receiver: HttpReceiver):
    channel().send(message(receiver.url))
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.json() == {"object": "contract", "record_id": "r-1", "amount": "1234.50", "end_date": "2026-03-01",
                              "id": "d-7", "subject": "续约提醒", "body": "合同到期"}
    assert request.headers["X-Trellis-Delivery"] == "d-7"
    assert request.headers["X-Trellis-Timestamp"] == "1770000000"
    signature = request.headers["X-Trellis-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, "1770000000", request.body, signature, now=NOW + 10)
    assert verify_signature(SECRET, 1770000000, request.body, signature, now=datetime.fromtimestamp(NOW, UTC))


def test_a_wrong_secret_a_stale_timestamp_or_an_altered_body_fail(receiver: HttpReceiver):
    channel().send(message(receiver.url))
    [request] = receiver.requests
    stamp, signature = request.headers["X-Trellis-Timestamp"], request.headers["X-Trellis-Signature"]
    assert not verify_signature("whsec-something-else", stamp, request.body, signature, now=NOW)
    assert not verify_signature(SECRET, stamp, request.body, signature, now=NOW + 301)
    assert not verify_signature(SECRET, stamp, request.body, signature, now=NOW - 301)
    assert not verify_signature(SECRET, stamp, request.body + b" ", signature, now=NOW)
    assert not verify_signature(SECRET, str(int(NOW) + 1), request.body, signature, now=NOW)
    assert not verify_signature(SECRET, "soon", request.body, signature, now=NOW)
    assert not verify_signature(SECRET, stamp, request.body, "sha256=签名", now=NOW)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (429, True), (400, False),
                                                   (410, False), (301, False)])
def test_failures_are_classified_by_status(receiver: HttpReceiver, status: int, retryable: bool):
    receiver.answer(Answer(status=status, body="no thanks"))
    with pytest.raises(DeliveryError) as caught:
        channel().send(message(receiver.url))
    assert caught.value.retryable is retryable
    assert caught.value.reason == f"HTTP {status} from {receiver.url}/hook"  # never the receiver's answer


def test_a_recipient_that_is_no_url_is_not_retried():
    with pytest.raises(DeliveryError) as caught:
        channel().send(OutgoingMessage(id="d", channel="webhook", recipient="ftp://example.com/x", subject="",
                                       body=""))
    assert not caught.value.retryable
