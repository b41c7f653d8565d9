"""The SMS channel against a real HTTP gateway stand-in on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.runtime.channels.receivers import LOOPBACK, Answer, HttpReceiver, closed_port
from trellis.runtime.channels import ChannelConfigError, DeliveryError, OutgoingMessage, SmsChannel

MESSAGE = OutgoingMessage(id="d-1", channel="sms", recipient="13800138000", subject="到期提醒",
                          body='合同 "HT-001" 将于 3月1日 到期\n请续约')
JSON_BODY = '{"to": {{ phone|tojson }}, "content": {{ text|tojson }}, "ref": {{ id|tojson }}}'


def sms(config: dict[str, object]) -> SmsChannel:
    """The channel, allowed to reach the gateway stand-in on 127.0.0.1."""
    return SmsChannel(config, LOOPBACK)


def gateway(url: str, **extra: object) -> dict[str, object]:
    return {"url": f"{url}/send", "headers": {"Authorization": "Bearer sms-key-123"}, "body_template": JSON_BODY,
            "timeout": 5, **extra}


def test_posts_the_rendered_json_body_with_the_secret_headers(receiver: HttpReceiver):
    sms(gateway(receiver.url)).send(MESSAGE)
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/send")
    assert request.json() == {"to": "13800138000", "content": MESSAGE.body, "ref": "d-1"}
    assert request.headers["Authorization"] == "Bearer sms-key-123"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Trellis-Delivery"] == "d-1"


def test_get_sends_the_rendered_text_as_the_query_string(receiver: HttpReceiver):
    template = "to={{ phone|urlencode }}&msg={{ text|urlencode }}"
    sms(gateway(receiver.url, method="GET", body_template=template)).send(MESSAGE)
    [request] = receiver.requests
    assert request.method == "GET"
    assert request.path.startswith("/send?to=13800138000&msg=%E5%90%88")
    assert request.body == b""


def test_any_2xx_is_success(receiver: HttpReceiver):
    receiver.answer(Answer(status=202, body="queued"))
    sms(gateway(receiver.url)).send(MESSAGE)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (408, True),
                                                   (400, False), (401, False), (404, False)])
def test_failures_are_classified_by_status(receiver: HttpReceiver, status: int, retryable: bool):
    receiver.answer(Answer(status=status, body={"error": "x" * 300}))
    with pytest.raises(DeliveryError) as caught:
        sms(gateway(receiver.url)).send(MESSAGE)
    assert caught.value.retryable is retryable
    assert caught.value.reason == f"HTTP {status} from {receiver.url}/send"  # never the gateway's answer


def test_a_refused_connection_and_a_timeout_are_retried(receiver: HttpReceiver):
    with pytest.raises(DeliveryError) as refused:
        sms(gateway(f"http://127.0.0.1:{closed_port()}")).send(MESSAGE)
    assert refused.value.retryable and "could not connect" in refused.value.reason
    receiver.answer(Answer(delay=1.0))
    with pytest.raises(DeliveryError) as slow:
        sms(gateway(receiver.url, timeout=0.2)).send(MESSAGE)
    assert slow.value.retryable and "did not answer within 0.2 s" in slow.value.reason


def test_a_template_that_makes_no_json_is_refused_before_sending(receiver: HttpReceiver):
    with pytest.raises(DeliveryError) as caught:
        sms(gateway(receiver.url, body_template='{"content": "{{ text }}"}')).send(MESSAGE)
    assert not caught.value.retryable and "valid JSON" in caught.value.reason
    assert receiver.requests == []


def test_a_bad_body_template_is_a_settings_error(receiver: HttpReceiver):
    with pytest.raises(ChannelConfigError) as caught:
        sms(gateway(receiver.url, body_template="{{ phone "))
    [problem] = caught.value.problems
    assert problem.path == "sms.body_template" and problem.message.startswith("line 1:")
